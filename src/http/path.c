/*
 * path.c - the paths of routes and of requests: a route's pattern
 * ("/v1/messages/{id}") read once, a request's path cut into decoded
 * segments, and how well one matches the other. Pure (tests/unit/
 * test_http.c). A request path is hostile: percent-escapes are decoded
 * once, per segment, after cutting, so that "%2F" never makes a segment
 * boundary; a decoded NUL or '/', a dot segment, an empty segment are
 * refused rather than normalised (no route has them).
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"
#include "util/xalloc.h"

static int
is_param_name_char(uint8_t c)
{
	return ascii_isalnum(c) || c == '_';
}

int
http_pattern_parse(const char *path, struct http_pattern *pat, const char **why_out)
{
	const char *p = path;

	memset(pat, 0, sizeof(*pat));
	if (p[0] != '/') {
		*why_out = "a path starts with /";
		return -1;
	}
	while (*p == '/') {
		size_t n = strcspn(p + 1, "/");
		const char *s = p + 1;
		int is_param = n >= 3 && s[0] == '{' && s[n - 1] == '}';

		if (pat->nseg == HTTP_MAX_SEGMENTS) {
			*why_out = "too many segments";
			goto bad;
		}
		if (n == 0) {
			*why_out = "an empty segment";
			goto bad;
		}
		for (size_t i = is_param; i < n - is_param; i++)
			if (is_param ? !is_param_name_char((uint8_t)s[i]) :
			    !(ascii_isgraph((uint8_t)s[i]) && strchr("{}%?#", s[i]) == NULL)) {
				*why_out = is_param ? "a {NAME} is letters, digits and _" :
				    "a literal segment holds a character it may not";
				goto bad;
			}
		pat->seg[pat->nseg].is_param = is_param;
		pat->seg[pat->nseg].text = xstrndup(s + is_param, n - 2 * (size_t)is_param);
		pat->nseg++;
		p += n + 1;
	}
	return 0;
bad:
	http_pattern_clear(pat);
	return -1;
}

void
http_pattern_clear(struct http_pattern *pat)
{
	for (size_t i = 0; i < pat->nseg; i++)
		free(pat->seg[i].text);
	memset(pat, 0, sizeof(*pat));
}

static int
hexval(uint8_t c)
{
	if (ascii_isdigit(c))
		return c - '0';
	c = ascii_tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) percent-decoded into a new string, or NULL for a bad escape, a NUL or a '/'. */
static char *
decode_segment(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		uint8_t c = (uint8_t)s[i];

		if (c == '%') {
			if (i + 2 >= n)
				goto bad;
			if ((hi = hexval((uint8_t)s[i + 1])) < 0 || (lo = hexval((uint8_t)s[i + 2])) < 0)
				goto bad;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
			if (c == 0 || c == '/')
				goto bad;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

int
http_path_split(const char *path, struct http_path *p)
{
	const char *s = path;

	memset(p, 0, sizeof(*p));
	if (s[0] != '/')
		return -1;
	while (*s == '/') {
		size_t n = strcspn(s + 1, "/");
		char *seg;

		if (n == 0 || p->nseg == HTTP_MAX_SEGMENTS ||
		    (seg = decode_segment(s + 1, n)) == NULL)
			goto bad;
		p->seg[p->nseg++] = seg;
		if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
			goto bad;
		s += n + 1;
	}
	return 0;
bad:
	http_path_clear(p);
	return -1;
}

void
http_path_clear(struct http_path *p)
{
	for (size_t i = 0; i < p->nseg; i++)
		free(p->seg[i]);
	memset(p, 0, sizeof(*p));
}

unsigned
http_pattern_match(const struct http_pattern *pat, const struct http_path *p,
    const char **params)
{
	unsigned literals = 0;
	size_t np = 0;

	if (pat->nseg != p->nseg)
		return 0;
	for (size_t i = 0; i < p->nseg; i++) {
		if (pat->seg[i].is_param)
			continue;
		if (strcmp(pat->seg[i].text, p->seg[i]) != 0)
			return 0;
		literals++;
	}
	for (size_t i = 0; params != NULL && i < p->nseg; i++)
		if (pat->seg[i].is_param && np < HTTP_MAX_PARAMS)
			params[np++] = p->seg[i];
	return 1 + literals;
}
