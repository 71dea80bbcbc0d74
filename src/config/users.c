/*
 * users.c - the users file of auth.users_file: who may log in (SMTP AUTH)
 * and with which password hash. One user per line:
 *
 *     # comment
 *     alice:$y$j9T$...$...
 *     bob:$2b$12$...:any_sender
 *     carol:$6$...$...:sender=sales@example.test,sender=carol@example.org
 *
 * NAME:HASH[:OPTIONS]. NAME is a login name as local users are named
 * ([a-z0-9._-], lowercased); HASH is a crypt(3) hash from libxcrypt:
 * yescrypt ($y$), bcrypt ($2b$, $2a$, $2y$) or sha512-crypt ($6$).
 * OPTIONS, separated by commas: any_sender (may use any envelope sender),
 * sender=ADDRESS (one more sender address the user may use). Blank lines
 * and lines starting with '#' are skipped. Errors are "FILE:LINE: reason".
 */
#include "config/ucl_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

#define USERS_MAX_FILE_BYTES (1024 * 1024)

static int
is_hash_char(uint8_t c)
{
	return ascii_isalnum(c) || c == '$' || c == '.' || c == '/' || c == '=' || c == ',' ||
	    c == '-' || c == '_' || c == '+';
}

int
cfg_is_supported_hash(const char *h)
{
	static const char *const prefixes[] = { "$y$", "$2b$", "$2a$", "$2y$", "$6$" };
	size_t len = strlen(h);

	for (size_t i = 0; i < len; i++)
		if (!is_hash_char((uint8_t)h[i]))
			return 0;
	for (size_t i = 0; i < NELEM(prefixes); i++)
		if (strncmp(h, prefixes[i], strlen(prefixes[i])) == 0)
			return len > strlen(prefixes[i]) + 8;
	return 0;
}

/* ADDRESS of sender=: local@domain, no blanks, a domain name after the one '@'. */
static int
is_sender_address(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || at - s > 64)
		return 0;
	for (const char *p = s; p < at; p++)
		if (!ascii_isgraph((uint8_t)*p) || *p == '"' || *p == '\\')
			return 0;
	return cfg_is_domain(at + 1);
}

static void
user_clear(struct config_user *u)
{
	free(u->name);
	free(u->hash);
	for (size_t i = 0; i < u->nsenders; i++)
		free(u->senders[i]);
	free(u->senders);
	memset(u, 0, sizeof(*u));
}

void
cfg_users_free(struct config *c)
{
	for (size_t i = 0; i < c->nusers; i++)
		user_clear(&c->users[i]);
	free(c->users);
	c->users = NULL;
	c->nusers = 0;
}

/* The options field of one line into u; 0, or -1 with err set. */
static int
read_options(const char *file, unsigned line, char *opts, struct config_user *u, char *err,
    size_t errsize)
{
	char shown[64];

	for (char *o = opts, *next; o != NULL; o = next) {
		next = strchr(o, ',');
		if (next != NULL)
			*next++ = '\0';
		if (strcmp(o, "any_sender") == 0) {
			u->may_send_as_any = 1;
		} else if (strncmp(o, "sender=", 7) == 0) {
			char *addr = xstrdup(o + 7);

			ascii_lower(addr);
			if (!is_sender_address(addr)) {
				free(addr);
				return cfg_error(err, errsize, file, line,
				    "'%s' is not an address such as sender=name@example.org",
				    cfg_shorten(o + 7, shown));
			}
			u->senders = xrealloc(u->senders, (u->nsenders + 1) * sizeof(char *));
			u->senders[u->nsenders++] = addr;
		} else {
			return cfg_error(err, errsize, file, line, "unknown option '%s' (options are "
			    "any_sender and sender=ADDRESS, separated by commas)", cfg_shorten(o, shown));
		}
	}
	return 0;
}

int
cfg_users_parse(struct config *c, const char *path, const uint8_t *data, size_t len,
    char *err, size_t errsize)
{
	size_t cap = 0;
	char shown[64];
	unsigned line = 0;
	int rc = -1;

	for (size_t pos = 0; pos < len;) {
		const uint8_t *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		char *text, *hash, *opts;
		struct config_user *u;

		line++;
		if (memchr(data + pos, '\0', n) != NULL) {
			cfg_error(err, errsize, path, line, "NUL byte");
			goto out;
		}
		text = xstrndup((const char *)data + pos, n);
		pos += n + (nl != NULL);
		if (n > 0 && text[n - 1] == '\r')
			text[--n] = '\0';
		if (n == 0 || text[0] == '#') {
			free(text);
			continue;
		}
		if ((hash = strchr(text, ':')) == NULL) {
			free(text);
			cfg_error(err, errsize, path, line, "expected NAME:HASH[:OPTIONS]");
			goto out;
		}
		*hash++ = '\0';
		if ((opts = strchr(hash, ':')) != NULL)
			*opts++ = '\0';
		if (c->nusers == cap) {
			cap = cap ? cap * 2 : 8;
			c->users = xrealloc(c->users, cap * sizeof(*c->users));
		}
		u = &c->users[c->nusers++];
		memset(u, 0, sizeof(*u));
		u->name = xstrdup(text);
		ascii_lower(u->name);
		u->hash = xstrdup(hash);
		u->line = line;
		if (!cfg_is_local_name(u->name)) {
			cfg_error(err, errsize, path, line, "'%s' is not a valid user name (a-z, 0-9, "
			    "'.', '_', '-', 1 to 64 of them, not starting with '.')",
			    cfg_shorten(u->name, shown));
		} else if (!cfg_is_supported_hash(u->hash)) {
			cfg_error(err, errsize, path, line, "%s: the hash is not yescrypt ($y$), bcrypt "
			    "($2b$) or sha512-crypt ($6$); make one with 'sterna passwd'", u->name);
		} else if (opts != NULL && read_options(path, line, opts, u, err, errsize) == -1) {
			/* err is set */
		} else {
			for (size_t i = 0; i + 1 < c->nusers; i++) {
				if (strcmp(c->users[i].name, u->name) == 0) {
					cfg_error(err, errsize, path, line, "user '%s' already set at line %u",
					    u->name, c->users[i].line);
					free(text);
					goto out;
				}
			}
			free(text);
			continue;
		}
		free(text);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		cfg_users_free(c);
	return rc;
}

int
cfg_users_load(struct config *c, const char *path, const char *at_file, unsigned at_line,
    char *err, size_t errsize)
{
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t id[2];
	char why[256] = "";
	int rc;

	if (ucl_disk_reader.read(NULL, path, USERS_MAX_FILE_BYTES, &data, &len, id, why,
	    sizeof(why)) == -1) {
		/* said where the file is named: that line is what the reader can fix */
		if (len > USERS_MAX_FILE_BYTES)
			cfg_error(err, errsize, at_file, at_line, "auth.users_file: '%s' is larger "
			    "than 1 MiB", path);
		else
			cfg_error(err, errsize, at_file, at_line, "auth.users_file: cannot read '%s': %s",
			    path, why);
		free(data);
		return -1;
	}
	rc = cfg_users_parse(c, path, data, len, err, errsize);
	/* hashes are not secrets, but there is no reason to leave the file about */
	memset(data, 0, len);
	free(data);
	return rc;
}

const struct config_user *
config_find_user(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, name) == 0)
			return &c->users[i];
	return NULL;
}
