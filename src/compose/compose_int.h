/*
 * compose_int.h - what the files of src/compose share: a request read and
 * checked once (struct compose_tpl), from which one message (or one per
 * recipient of a batch) is built. Nothing outside src/compose includes it
 * but the module's unit test.
 */
#ifndef STERNA_COMPOSE_COMPOSE_INT_H
#define STERNA_COMPOSE_COMPOSE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "compose/compose.h"
#include "util/buf.h"

/* An address of a header field. */
struct compose_addr {
	char *email;	/* formatted (smtp_addr_format), the domain in A-labels */
	char *name;	/* display name (UTF-8), or NULL */
};

struct compose_att {
	char *filename;
	char *content_type;	/* checked; "application/octet-stream" when none was given */
	char *content_id;	/* without angle brackets; NULL for an attachment (not inline) */
	/*
	 * The content in base64, lines of 76 ended by LF, encoded once and
	 * read (never changed) by every build: each build reads it through a
	 * stream of its own.
	 */
	GByteArray *b64;
};

/* A piece of a text: literal bytes, or a {{NAME}} (var >= 0, off/len cover the braces too). */
struct compose_seg {
	size_t off, len;
	int var;
};

/* subject, text or html as given; segs only in a batch whose text names variables. */
struct compose_text {
	char *s;
	size_t len;
	int is_set;
	struct compose_seg *segs;
	size_t nsegs;
};

/* A request read and checked, everything but what a batch gives per recipient. */
struct compose_tpl {
	struct compose_addr from, reply_to;	/* reply_to.email NULL when absent */
	struct compose_addr *to, *cc;		/* header fields; bcc is envelope only */
	size_t nto, ncc;
	char **rcpts;				/* the envelope: formatted, deduplicated */
	size_t nrcpts;
	int is_smtputf8;
	struct compose_text subject, text, html;
	struct compose_att *atts;
	size_t natts;
	struct buf extra;			/* the extra header fields, folded, CRLF lines */
	json_t *tags, *metadata;		/* copies, or NULL */
	int64_t send_at_s;
	int64_t now_s;
	uint64_t fixed_bytes;			/* attachments and header fields, as built */
};

void compose_tpl_init(struct compose_tpl *t);
void compose_tpl_clear(struct compose_tpl *t);
void compose_addr_clear(struct compose_addr *a);

/* ---- refusals (field.c) ---- */

/* Fills err and returns -1. */
int compose_fail(struct compose_err *err, int http_status, const char *code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 422 invalid_field for field. */
int compose_bad(struct compose_err *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * prefix "." key (or prefix "[" i "]" when key is NULL) into out, for a
 * field path: a key's control bytes become '?', and it is cut to fit.
 */
void compose_path(char *out, size_t size, const char *prefix, const char *key, size_t i);

/* ---- fields (field.c) ---- */

enum {
	CF_NONEMPTY = 1 << 0,	/* "" is refused */
	CF_NO_CTL = 1 << 1,	/* C0 controls but TAB, and DEL, are refused (CR and LF too) */
};

/*
 * v as a string of at most max bytes: 0 with *s_out (borrowed from v) and
 * *len_out, or -1 (err) when it is no string, holds a NUL, is too long, or
 * breaks flags.
 */
int compose_string(const json_t *v, const char *path, size_t max, unsigned flags,
    const char **s_out, size_t *len_out, struct compose_err *err);
/*
 * Refuses (422, the key named) a key of obj that is not in known (NULL-ended),
 * under path ("" at the top).
 */
int compose_known_keys(const json_t *obj, const char *path, const char *const *known,
    struct compose_err *err);
/*
 * An address: "user@example.org" or {"email", "name"}; *out filled (owned),
 * *is_utf8_out set when the address needs SMTPUTF8. 0, or -1 with err.
 */
int compose_addr_read(const json_t *v, const char *path, struct compose_addr *out,
    int *is_utf8_out, struct compose_err *err);
/*
 * The list at key (a list of addresses, or one address) appended to
 * hdr and nhdr (hdr NULL: not kept) and to t's envelope, counting *entries
 * against lim->max_rcpts. 0, or -1 with err.
 */
int compose_addr_list(const json_t *req, const char *key, const struct compose_limits *lim,
    struct compose_tpl *t, struct compose_addr **hdr, size_t *nhdr, size_t *entries,
    struct compose_err *err);
/* email into t's envelope unless there already (ASCII case ignored): 1 added, 0 not. */
int compose_rcpt_add(struct compose_tpl *t, const char *email);
/* "headers" into t->extra, folded. 0, or -1 with err. */
int compose_headers_read(const json_t *v, struct compose_tpl *t, struct compose_err *err);
/* "tags" and "metadata" of req into t (copies). 0, or -1 with err. */
int compose_tags_read(const json_t *req, struct compose_tpl *t, struct compose_err *err);
/* "send_at" of req (if any) into t->send_at_s against t->now_s. 0, or -1 with err. */
int compose_send_at_read(const json_t *req, const struct compose_limits *lim,
    struct compose_tpl *t, struct compose_err *err);
/*
 * "Name: value" CRLF into out, folded at white space so that lines keep to
 * 78 bytes where they can; value ASCII. 0, or -1 when a line would pass
 * 998 bytes or out is full.
 */
int compose_fold(struct buf *out, const char *name, const char *value);

/* ---- attachments (attach.c) ---- */

/*
 * Strict base64 (RFC 4648 4: the standard alphabet, '=' padding only at the
 * end; CR, LF, space and tab between the characters are skipped) of
 * in[0..len) appended to out. 0, -1 when it is no base64, -2 when out is full.
 */
int compose_b64_decode(const char *in, size_t len, struct buf *out);
/* "attachments" of req into t. 0, or -1 with err. */
int compose_attachments_read(const json_t *req, const struct compose_limits *lim,
    struct compose_tpl *t, struct compose_err *err);
/* Frees t's attachments. */
void compose_tpl_atts_clear(struct compose_tpl *t);

/* ---- variables (template.c) ---- */

/* The distinct {{NAME}}s of a batch's texts. */
struct compose_vars {
	char *names[COMPOSE_MAX_VARS];
	size_t n;
};

/* 1 if s[0..len) is a variable name: 1 to 64 of A-Z a-z 0-9 _ . - */
int compose_var_name_ok(const char *s, size_t len);
/*
 * Splits t into literal pieces and {{NAME}}s, adding new names to vars.
 * 0, or -1 when vars would pass COMPOSE_MAX_VARS.
 */
int compose_text_split(struct compose_text *t, struct compose_vars *vars);
/*
 * t with each {{NAME}} replaced by vals[var] (vlens[var] bytes; escaped for
 * HTML when is_html), or left as written when vals[var] is NULL, appended
 * to out. vals may be NULL when t has no pieces. 0, or -1 when out is full.
 */
int compose_text_expand(const struct compose_text *t, const char *const *vals,
    const size_t *vlens, int is_html, struct buf *out);
/* Bytes the HTML escape makes of s[0..len). */
size_t compose_html_len(const char *s, size_t len);
/*
 * in[0..len) with every line end (CRLF, LF, a lone CR) made CRLF, and one
 * added at the end when a text that is not empty has none, appended to out.
 * 0, or -1 when out is full.
 */
int compose_crlf(const char *in, size_t len, struct buf *out);

/* ---- building (build.c) ---- */

/* What differs between the messages of a batch. */
struct compose_parts {
	const struct compose_addr *to;	/* the batch's recipient, or NULL: t->to and t->cc */
	struct slice subject, text, html;	/* p NULL when absent; text and html CRLF */
};

/*
 * The message of t with p into out (set up by the caller with its ceiling):
 * Date (t->now_s), Message-ID <id_left@hostname>, MIME-Version, the
 * addresses, Subject, the MIME tree, t->extra. 0, or -1 with err
 * (body_too_large, or a line over 998 bytes).
 */
int compose_build(const struct compose_tpl *t, const struct compose_parts *p,
    const char *id_left, const char *hostname, struct buf *out, struct compose_err *err);

#endif
