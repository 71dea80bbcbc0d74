/*
 * header_list.h - a message's header section as a list of fields that
 * content filters read and change (add, insert, change, delete), as pure
 * code: no I/O, no libevent; the unit tests and fuzzers link it alone.
 *
 * The content step (content.c) fills it as the header section streams by
 * (the fields the header stage added first, then the message's own), and
 * filters change it at the end of the message. Each field is kept as its
 * raw bytes, "Name:value" with its folded lines and the final CRLF, so an
 * unchanged field is written on exactly as it came (a DKIM signature over
 * it stays good). A field a filter writes is checked first: a name of
 * ftext (RFC 5322 3.6.8), a value whose line ends only fold (CRLF or LF,
 * then a space or tab: never a new field or the end of the header
 * section smuggled in), no NUL, no bare CR, lines of at most 998 bytes.
 * The whole list is bounded by HEADER_LIST_MAX bytes.
 */
#ifndef STERNA_MSG_HEADER_LIST_H
#define STERNA_MSG_HEADER_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The header section held for filters, and written whole into one queue record (F). */
#define HEADER_LIST_MAX (512 * 1024)

/* One header field, borrowed from its list (valid until the list changes). */
struct header_field {
	const uint8_t *raw;	/* "Name:value\r\n", folded lines included */
	size_t len;
	size_t name_len;	/* raw[0..name_len) is the name; raw[name_len] is ':' */
};

struct header_list {
	struct header_field *fields;	/* private: the order of the header section */
	size_t nfields, cap;		/* private */
	struct buf arena;		/* private: the bytes of every field ever held */
	size_t bytes;			/* the fields' bytes now (what header_list_write writes) */
	int is_changed;			/* a change was made since header_list_init */
};

void header_list_init(struct header_list *l);
void header_list_clear(struct header_list *l);

/*
 * Appends a field as it came: raw[0..len) must be one whole field (a name,
 * ':', the value, CRLF; folded lines allowed), which the caller's scan
 * found. Not a change (is_changed stays). 0, or -1 past HEADER_LIST_MAX.
 */
int header_list_append_raw(struct header_list *l, const uint8_t *raw, size_t len);

/* The number of fields, and field i < count (0 is the topmost), borrowing until the list changes. */
size_t header_list_count(const struct header_list *l);
struct header_field header_list_get(const struct header_list *l, size_t i);
/* 1 if f's name is name (ASCII, any case). */
int header_field_is(const struct header_field *f, const char *name);
/* f's value: the bytes after ':' up to (not with) the final CRLF, folds included. */
struct slice header_field_value(const struct header_field *f);

/*
 * The changes a filter may make (the milter's SMFIR_ADDHEADER,
 * SMFIR_INSHEADER, SMFIR_CHGHEADER). name is the field name (no ':');
 * value the text after the colon: a space is put before it unless it
 * starts with one; a LF or CRLF inside it must be followed by a space or
 * tab (a fold), and a final CRLF is added. Each returns 0, or -1 with
 * the reason in err (a bad name or value, HEADER_LIST_MAX passed) and
 * the list unchanged.
 */
/* Adds the field at the end of the header section. */
int header_list_add(struct header_list *l, const char *name, const char *value, char *err,
    size_t errsize);
/* Inserts the field before field index (0: topmost; past the end: at the end). */
int header_list_insert(struct header_list *l, size_t index, const char *name, const char *value,
    char *err, size_t errsize);
/*
 * Changes the nth (from 1) field named name: value NULL (or "") deletes it;
 * with fewer than nth such fields, a value is added at the end and NULL
 * does nothing (sendmail's smfi_chgheader).
 */
int header_list_change(struct header_list *l, const char *name, unsigned nth, const char *value,
    char *err, size_t errsize);

/* Appends every field, in order, to out: 0, or -1 if out is full. */
int header_list_write(const struct header_list *l, struct buf *out);

#endif
