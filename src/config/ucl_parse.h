/*
 * ucl_parse.h - what the pieces of the UCL parser share and nothing else
 * includes: the file being read, the parser's state, and the functions that
 * ucl.c (the grammar) calls in ucl_lex.c (bytes into tokens and scalars) and
 * ucl_tree.c (the nodes and their per-object key index).
 */
#ifndef STERNA_CONFIG_UCL_PARSE_H
#define STERNA_CONFIG_UCL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "config/ucl_int.h"
#include "util/buf.h"

/* One file being read; parent is the file that included it. */
struct src {
	const uint8_t *p, *end;
	const char *name;
	unsigned line;
	uint64_t id[2];
	const struct src *parent;
	unsigned include_depth;
};

struct parser {
	struct ucl_doc *doc;
	const struct ucl_reader *rd;
	char *err;
	size_t errsize;
	size_t total_bytes;	/* every file read so far, includes counted each time */
	struct buf path;	/* dotted path of the object being filled, for messages */
	struct buf tok;		/* the string being decoded */
};

/* ucl_lex.c */
/* Writes "FILE:LINE: " and the message into the parser's error; returns -1. */
int ucl_perr(struct parser *ps, const struct src *s, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The next byte for a message: "'x'", "a newline", "byte 0x01", "the end of the file". */
const char *ucl_show_next(const struct src *s, char out[24]);
int ucl_is_key_char(uint8_t c);
int ucl_is_word_char(uint8_t c);
int ucl_is_valid_key(const char *k, size_t len);
/* Blanks and comments (and newlines when nl is set); *crossed_out: a newline was passed. */
int ucl_skip(struct parser *ps, struct src *s, int nl, int *crossed_out);
/* A quoted string into ps->tok. */
int ucl_read_quoted(struct parser *ps, struct src *s);
/* A bare word into ps->tok. */
int ucl_read_word(struct parser *ps, struct src *s);
/* The type and value of the word in ps->tok, into n. */
int ucl_classify_word(struct parser *ps, const struct src *s, struct ucl_node *n);

/* ucl_tree.c */
struct ucl_node *ucl_node_new(enum ucl_type type, char *key, const struct src *s,
    unsigned line);
void ucl_node_free(struct ucl_node *n);
/* Appends kid (taken over) to obj, keeping the key index current. */
void ucl_obj_append(struct ucl_node *obj, struct ucl_node *kid);
/* The member called key of obj, or NULL. */
struct ucl_node *ucl_obj_find(const struct ucl_node *obj, const char *key);

#endif
