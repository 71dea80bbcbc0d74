/*
 * keys.c - API keys (docs/api.md, "Keys"): a key is "sterna_" ID "_"
 * SECRET, both in lowercase base32, made of the kernel's random bytes; the
 * keys file holds one line per key with the id, the SHA-256 of the secret,
 * the scopes, an optional rate and name:
 *
 *   # billing service
 *   k7d2mq4xj3fz5a6b sha256:9f86d0... scopes=send,read rate=600/min name=billing
 *
 * Pure: the file's bytes come from keyring.c, any bytes, and every line is
 * checked; a bad one is "PATH:LINE: reason". The secret never reaches the
 * file or a log: a key is 256 random bits, so a plain SHA-256 suffices (no
 * slow hash: nobody guesses 2^256), and a stolen file gives no key.
 */
#include "http/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define MAX_KEYS 100000
#define LINE_SHOWN 60

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static int
is_b32(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/* n random bytes as base32 into out (out holds (n * 8 + 4) / 5 + 1 bytes). */
static void
b32_encode(const uint8_t *p, size_t n, char *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

/* ---- scopes and rates ---- */

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{ "send", HTTP_SCOPE_SEND },
	{ "read", HTTP_SCOPE_READ },
	{ "admin", HTTP_SCOPE_ADMIN },
};

int
http_scopes_parse(const char *s, unsigned *scopes_out)
{
	unsigned scopes = 0;

	for (;;) {
		size_t n = strcspn(s, ","), i;

		for (i = 0; i < NELEM(scope_names); i++)
			if (strlen(scope_names[i].name) == n && memcmp(s, scope_names[i].name, n) == 0)
				break;
		if (i == NELEM(scope_names) || (scopes & scope_names[i].bit))
			return -1;
		scopes |= scope_names[i].bit;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	*scopes_out = scopes;
	return 0;
}

const char *
http_scopes_str(unsigned scopes, char out[32])
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NELEM(scope_names); i++)
		if (scopes & scope_names[i].bit)
			o += (size_t)snprintf(out + o, 32 - o, "%s%s", o ? "," : "",
			    scope_names[i].name);
	return out;
}

int
http_rate_parse(const char *s, unsigned *rate_out, uint32_t *window_ms_out)
{
	static const struct { const char *unit; uint32_t ms; } units[] = {
		{ "s", 1000 }, { "min", 60000 }, { "h", 3600000 },
	};
	const char *slash = strchr(s, '/');
	uint64_t n;

	if (strcmp(s, "none") == 0) {
		*rate_out = 0;
		*window_ms_out = 0;
		return 0;
	}
	if (slash == NULL || ascii_parse_u64((struct slice){ (const uint8_t *)s,
	    (size_t)(slash - s) }, &n) == -1 || n < 1 || n > 1000000)
		return -1;
	for (size_t i = 0; i < NELEM(units); i++)
		if (strcmp(slash + 1, units[i].unit) == 0) {
			*rate_out = (unsigned)n;
			*window_ms_out = units[i].ms;
			return 0;
		}
	return -1;
}

/* ---- the file ---- */

static int
line_error(char *err, size_t errsize, const char *path, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
line_error(char *err, size_t errsize, const char *path, unsigned line, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	(void)snprintf(err, errsize, "%s:%u: %s", path, line, why);
	return -1;
}

/* A field for a message: printable ASCII as it is, other bytes as \xNN, cut; out: 256 bytes. */
static const char *
shown(const uint8_t *p, size_t len, char out[256])
{
	size_t o = 0;

	for (size_t i = 0; i < len && i < LINE_SHOWN; i++) {
		if (ascii_isgraph(p[i]) && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", p[i]);
	}
	if (len > LINE_SHOWN) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static int
is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int
is_name_char(uint8_t c)
{
	return ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

static int
hex_val(uint8_t c)
{
	return ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* "name=value" field f[0..n) whose name is key: the value (NUL-terminated copy into v), 1; else 0. */
static int
field_value(const uint8_t *f, size_t n, const char *key, char *v, size_t vsize, size_t *vlen)
{
	size_t klen = strlen(key);

	if (n <= klen || memcmp(f, key, klen) != 0 || f[klen] != '=')
		return 0;
	*vlen = n - klen - 1;
	if (*vlen >= vsize)
		*vlen = vsize - 1;	/* too long: the caller's check says so */
	memcpy(v, f + klen + 1, *vlen);
	v[*vlen] = '\0';
	return 1;
}

/* One line's fields (comment and blanks gone) into *k: 0, or -1 with err. */
static int
parse_line(const char *path, unsigned line, const uint8_t *p, size_t n, struct http_key *k,
    char *err, size_t errsize)
{
	const uint8_t *f[8];
	size_t flen[8], nf = 0;
	char v[256], sh[256];
	size_t vlen;

	for (size_t i = 0; i < n;) {
		size_t s = i;

		while (i < n && !is_blank(p[i]))
			i++;
		if (nf == NELEM(f))
			return line_error(err, errsize, path, line, "too many fields");
		f[nf] = p + s;
		flen[nf++] = i - s;
		while (i < n && is_blank(p[i]))
			i++;
	}
	memset(k, 0, sizeof(*k));
	k->line = line;
	if (flen[0] != HTTP_KEY_ID_LEN)
		return line_error(err, errsize, path, line, "'%s' is not a key id (%d characters of "
		    "a-z and 2-7, as sterna apikey new writes it)", shown(f[0], flen[0], sh),
		    HTTP_KEY_ID_LEN);
	for (size_t i = 0; i < flen[0]; i++)
		if (!is_b32(f[0][i]))
			return line_error(err, errsize, path, line, "'%s' is not a key id (%d "
			    "characters of a-z and 2-7, as sterna apikey new writes it)",
			    shown(f[0], flen[0], sh), HTTP_KEY_ID_LEN);
	memcpy(k->id, f[0], HTTP_KEY_ID_LEN);
	if (nf < 2 || flen[1] != 7 + 64 || memcmp(f[1], "sha256:", 7) != 0)
		return line_error(err, errsize, path, line, "the second field is the key's hash, "
		    "sha256: and 64 hex digits");
	for (size_t i = 0; i < 32; i++) {
		uint8_t hi = f[1][7 + 2 * i], lo = f[1][8 + 2 * i];

		if (!ascii_isxdigit(hi) || !ascii_isxdigit(lo))
			return line_error(err, errsize, path, line, "the second field is the key's "
			    "hash, sha256: and 64 hex digits");
		k->hash[i] = (uint8_t)(hex_val(hi) << 4 | hex_val(lo));
	}
	for (size_t i = 2; i < nf; i++) {
		if (field_value(f[i], flen[i], "scopes", v, sizeof(v), &vlen)) {
			if (k->scopes != 0 || vlen != strlen(v) ||
			    http_scopes_parse(v, &k->scopes) == -1)
				return line_error(err, errsize, path, line, "scopes: '%s' is not a list "
				    "of send, read, admin (once each, comma-separated)",
				    shown(f[i] + 7, flen[i] - 7, sh));
		} else if (field_value(f[i], flen[i], "rate", v, sizeof(v), &vlen)) {
			if (k->has_rate || vlen != strlen(v) ||
			    http_rate_parse(v, &k->rate, &k->rate_window_ms) == -1)
				return line_error(err, errsize, path, line, "rate: '%s' is not N/s, N/min "
				    "or N/h (N from 1 to 1000000), or none",
				    shown(f[i] + 5, flen[i] - 5, sh));
			k->has_rate = 1;
		} else if (field_value(f[i], flen[i], "name", v, sizeof(v), &vlen)) {
			int ok = k->name[0] == '\0' && flen[i] - 5 <= HTTP_KEY_NAME_MAX;

			for (size_t j = 5; j < flen[i] && ok; j++)
				ok = is_name_char(f[i][j]);
			if (!ok)
				return line_error(err, errsize, path, line, "name: '%s' is not a name "
				    "(1 to %d of A-Z a-z 0-9 . _ -, once)",
				    shown(f[i] + 5, flen[i] - 5, sh), HTTP_KEY_NAME_MAX);
			memcpy(k->name, v, vlen + 1);
		} else {
			return line_error(err, errsize, path, line, "unknown field '%s' (scopes=, "
			    "rate=, name=)", shown(f[i], flen[i], sh));
		}
	}
	if (k->scopes == 0)
		return line_error(err, errsize, path, line, "no scopes= (send, read, admin)");
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct http_key *)a)->id, ((const struct http_key *)b)->id);
}

int
http_keys_parse(const char *path, const uint8_t *data, size_t len,
    struct http_key **keys_out, size_t *n_out, char *err, size_t errsize)
{
	struct http_key *keys = NULL;
	size_t n = 0, cap = 0;
	unsigned line = 0;

	for (size_t pos = 0; pos < len;) {
		const uint8_t *p = data + pos, *nl = memchr(p, '\n', len - pos);
		size_t m = nl != NULL ? (size_t)(nl - p) : len - pos;

		line++;
		pos += m + (nl != NULL);
		if (m > 0 && p[m - 1] == '\r')
			m--;	/* CRLF: a file written on another system */
		/* a comment starts a line or follows a blank */
		for (size_t i = 0; i < m; i++)
			if (p[i] == '#' && (i == 0 || is_blank(p[i - 1]))) {
				m = i;
				break;
			}
		while (m > 0 && is_blank(p[m - 1]))
			m--;
		while (m > 0 && is_blank(p[0]))
			p++, m--;
		if (m == 0)
			continue;
		if (n == MAX_KEYS) {
			free(keys);
			return line_error(err, errsize, path, line, "more than %d keys", MAX_KEYS);
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			keys = xrealloc(keys, cap * sizeof(*keys));
		}
		if (parse_line(path, line, p, m, &keys[n], err, errsize) == -1) {
			free(keys);
			return -1;
		}
		n++;
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(keys[i].id, keys[i - 1].id) == 0) {
			const struct http_key *a = &keys[i - 1], *b = &keys[i];
			unsigned first = a->line < b->line ? a->line : b->line;
			unsigned again = a->line < b->line ? b->line : a->line;

			line_error(err, errsize, path, again, "key %s is at line %u already", a->id,
			    first);
			free(keys);
			return -1;
		}
	*keys_out = keys;
	*n_out = n;
	return 0;
}

/* ---- new keys, presented keys ---- */

int
http_key_generate(char key_out[HTTP_KEY_LEN + 1], struct http_key *k)
{
	uint8_t idb[10], secret[32];
	char ids[HTTP_KEY_ID_LEN + 1], sec[HTTP_KEY_SECRET_LEN + 1];
	int n;

	if (RAND_bytes(idb, sizeof(idb)) != 1 || RAND_bytes(secret, sizeof(secret)) != 1)
		return -1;
	b32_encode(idb, sizeof(idb), ids);
	b32_encode(secret, sizeof(secret), sec);
	OPENSSL_cleanse(secret, sizeof(secret));
	memset(k, 0, sizeof(*k));
	memcpy(k->id, ids, sizeof(k->id));
	SHA256((const uint8_t *)sec, HTTP_KEY_SECRET_LEN, k->hash);
	n = snprintf(key_out, HTTP_KEY_LEN + 1, "%s%s_%s", HTTP_KEY_PREFIX, ids, sec);
	OPENSSL_cleanse(sec, sizeof(sec));
	ASSERT(n == (int)HTTP_KEY_LEN);
	return 0;
}

int
http_key_line(const struct http_key *k, char *out, size_t size)
{
	char hex[65], scopes[32], rate[32] = "";
	int n;

	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", k->hash[i]);
	if (k->has_rate && k->rate == 0)
		snprintf(rate, sizeof(rate), " rate=none");
	else if (k->has_rate)
		snprintf(rate, sizeof(rate), " rate=%u/%s", k->rate,
		    k->rate_window_ms == 1000 ? "s" : k->rate_window_ms == 60000 ? "min" : "h");
	n = snprintf(out, size, "%s sha256:%s scopes=%s%s%s%s\n", k->id, hex,
	    http_scopes_str(k->scopes, scopes), rate, k->name[0] ? " name=" : "", k->name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
http_key_split(const char *token, size_t len, char id_out[HTTP_KEY_ID_LEN + 1],
    uint8_t hash_out[32])
{
	const size_t plen = sizeof(HTTP_KEY_PREFIX) - 1;
	const char *id = token + plen, *sec = id + HTTP_KEY_ID_LEN + 1;

	if (len != HTTP_KEY_LEN || memcmp(token, HTTP_KEY_PREFIX, plen) != 0 ||
	    id[HTTP_KEY_ID_LEN] != '_')
		return -1;
	for (size_t i = 0; i < HTTP_KEY_ID_LEN; i++)
		if (!is_b32((uint8_t)id[i]))
			return -1;
	for (size_t i = 0; i < HTTP_KEY_SECRET_LEN; i++)
		if (!is_b32((uint8_t)sec[i]))
			return -1;
	memcpy(id_out, id, HTTP_KEY_ID_LEN);
	id_out[HTTP_KEY_ID_LEN] = '\0';
	SHA256((const uint8_t *)sec, HTTP_KEY_SECRET_LEN, hash_out);
	return 0;
}

const struct http_key *
http_keys_find(const struct http_key *keys, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, keys[mid].id);

		if (c == 0)
			return &keys[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct http_key *
http_keys_match(const struct http_key *keys, size_t n, const char *token, size_t len)
{
	char id[HTTP_KEY_ID_LEN + 1];
	uint8_t hash[32];
	const struct http_key *k;

	if (http_key_split(token, len, id, hash) == -1 || (k = http_keys_find(keys, n, id)) == NULL)
		return NULL;
	/* the id is no secret; the hash of the secret is compared in constant time */
	return CRYPTO_memcmp(hash, k->hash, sizeof(hash)) == 0 ? k : NULL;
}
