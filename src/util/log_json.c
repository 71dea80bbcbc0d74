/*
 * log_json.c - a text line as one JSON object, for log shippers:
 *
 *   TIME LEVEL ID EVENT k1=v1 k2="v 2"
 *   {"time":"TIME","level":"LEVEL","id":"ID","event":"EVENT","k1":"v1","k2":"v 2"}
 *
 * The text line is the one source, so both forms carry the same fields.
 * A bare value that is a plain decimal number (25, 0.840) becomes a JSON
 * number; every other value a string, with \" and \\ undone and each \xNN
 * (a control or 8-bit byte) written \u00NN.
 */
#include "util/log_int.h"

#include <string.h>

struct jout {
	char *p;
	size_t len, size;
	int is_full;
};

static void
put(struct jout *o, const char *s, size_t n)
{
	if (o->is_full || o->len + n > o->size) {
		o->is_full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
put_char_escaped(struct jout *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	if (c == '"' || c == '\\') {
		char e[2] = { '\\', (char)c };

		put(o, e, 2);
	} else if (c < 0x20 || c >= 0x7f) {
		put(o, u, 6);
	} else {
		put(o, (const char *)&c, 1);
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1 if s[0..n) is a JSON number as we write them: 0, 25, 0.840, -3 (no leading zeros). */
static int
is_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0' && i + 1 < n && s[i + 1] != '.')
		return 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (digits == 0 || digits > 15)
		return 0;
	if (i < n && s[i] == '.') {
		size_t frac = 0;

		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			frac++;
		if (frac == 0)
			return 0;
	}
	return i == n;
}

/*
 * The value at *pos of line (bare or quoted) as a JSON value; *pos moves
 * past it. A line cut inside quotes still gives a closed string.
 */
static void
put_value(struct jout *o, const char *line, size_t len, size_t *pos)
{
	size_t i = *pos;
	int is_quoted = i < len && line[i] == '"';
	size_t start = is_quoted ? ++i : i;

	if (!is_quoted) {
		while (i < len && line[i] != ' ')
			i++;
		if (is_number(line + start, i - start)) {
			put(o, line + start, i - start);
			*pos = i;
			return;
		}
	}
	put(o, "\"", 1);
	for (i = start; i < len; i++) {
		char c = line[i];

		if (!is_quoted && c == ' ')
			break;
		if (is_quoted && c == '"') {
			i++;
			break;
		}
		if (c == '\\' && i + 3 < len && line[i + 1] == 'x' && hexval(line[i + 2]) >= 0 &&
		    hexval(line[i + 3]) >= 0) {
			put_char_escaped(o, (unsigned char)(hexval(line[i + 2]) * 16 +
			    hexval(line[i + 3])));
			i += 3;
		} else if (is_quoted && c == '\\' && i + 1 < len) {
			put_char_escaped(o, (unsigned char)line[++i]);
		} else {
			put_char_escaped(o, (unsigned char)c);
		}
	}
	put(o, "\"", 1);
	*pos = i;
}

/* The word at *pos up to a space (or the end) as a JSON string; *pos moves past the space. */
static void
put_word(struct jout *o, const char *line, size_t len, size_t *pos)
{
	put_value(o, line, len, pos);
	if (*pos < len && line[*pos] == ' ')
		(*pos)++;
}

size_t
log_json_from_line(const char *line, size_t len, char *out, size_t size)
{
	static const char *const heads[] = {
		"{\"time\":", ",\"level\":", ",\"id\":", ",\"event\":",
	};
	struct jout o = { out, 0, size, 0 };
	size_t pos = 0;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		put(&o, heads[i], strlen(heads[i]));
		/* the head's words are never numbers, not even an id such as "1234" */
		put(&o, "\"", 1);
		while (pos < len && line[pos] != ' ')
			put_char_escaped(&o, (unsigned char)line[pos++]);
		put(&o, "\"", 1);
		if (pos < len)
			pos++;
	}
	while (pos < len) {
		size_t key = pos;

		while (pos < len && line[pos] != '=' && line[pos] != ' ')
			pos++;
		put(&o, ",\"", 2);
		for (size_t i = key; i < pos; i++)
			put_char_escaped(&o, (unsigned char)line[i]);
		put(&o, "\":", 2);
		if (pos < len && line[pos] == '=') {
			pos++;
			put_word(&o, line, len, &pos);
		} else {
			put(&o, "\"\"", 2);	/* a word without a value: not in our lines */
			if (pos < len)
				pos++;
		}
	}
	put(&o, "}\n", 2);
	return o.is_full ? 0 : o.len;
}
