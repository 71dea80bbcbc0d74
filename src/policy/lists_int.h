/*
 * lists_int.h - what the allow and block lists share inside src/policy:
 * the table of one list's entries (listset.c) and a list file that is
 * read again when it changes (listfile.c). lists.c builds and judges with
 * them; nothing outside src/policy includes this.
 */
#ifndef STERNA_POLICY_LISTS_INT_H
#define STERNA_POLICY_LISTS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config/config.h"
#include "smtp/smtp.h"
#include "util/buf.h"

/* A list file may hold this many bytes: big published lists fit, a runaway file does not. */
#define LISTS_FILE_MAX (16u * 1024u * 1024u)
/* A list file is looked at (stat) at most this often: a check per SMTP command would cost. */
#define LISTS_CHECK_EVERY_MS 1000

struct lists_slot {
	uint32_t hash;
	uint32_t idx1;		/* the entry's position + 1; 0: an empty slot */
	uint32_t off, len;	/* the key's bytes in keys */
};

/*
 * One list's entries, for lookups: a hash set of keys (a tag byte, then
 * the name, domain, address or masked network) to the position of the
 * first entry that gave the key, and which network prefix lengths occur,
 * so that an address costs one probe per length present, not one per
 * network. Entries of a file keep their text and line here too (text, at);
 * entries of the configuration are found in struct config by position.
 */
struct lists_table {
	struct lists_slot *slots;
	size_t nslots, nkeys;	/* nslots a power of two, at least twice nkeys */
	struct buf keys;
	uint64_t lens4;		/* bit b: an IPv4 network with a prefix of b bits (0..32) */
	uint64_t lens6[3];	/* bit b: an IPv6 network with a prefix of b bits (0..128) */
	uint32_t null_idx1;	/* "<>": its position + 1; 0 if absent */
	size_t n;		/* entries added */
	struct buf text;	/* a file's entries as written, each followed by NUL */
	struct lists_at {
		uint32_t off;	/* in text */
		uint32_t line;
	} *at;			/* per entry, for a file's table; NULL for the configuration's */
	size_t at_cap;
};

/* listset.c */
void lists_table_init(struct lists_table *t);
void lists_table_clear(struct lists_table *t);
/* Adds e as entry number t->n (the first entry with a key keeps it). */
void lists_table_add(struct lists_table *t, const struct config_entry *e);
/* Keeps text (len bytes, as written) and line for the entry just added. */
void lists_table_keep_text(struct lists_table *t, const uint8_t *text, size_t len, unsigned line);
/*
 * The position + 1 of an entry that matches, the most specific first; 0
 * for none. An address is AF_INET (4 bytes) or AF_INET6 (16 bytes); an
 * IPv4 one also matches IPv6 networks by its mapped form (::ffff:a.b.c.d),
 * as cidr.c does. A name is lowercased, without a trailing dot.
 */
uint32_t lists_table_find_ip(const struct lists_table *t, int family, const uint8_t *addr);
uint32_t lists_table_find_name(const struct lists_table *t, const char *name, size_t len);
uint32_t lists_table_find_addr(const struct lists_table *t, const struct smtp_addr *a);

/* A list file: its last good entries, and what it was when last read. */
struct lists_file {
	const char *path;		/* borrowed from the configuration */
	enum config_list_id id;
	struct lists_table t;
	dev_t dev;			/* what was last read, well or not: a change is a new read */
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int has_read;
	uint64_t checked_ms;		/* when it was last looked at */
	int is_missing;			/* said once, until it is back */
};

/* lists_file_read(): the file cannot be read (missing, unreadable, not a file, too large). */
#define LISTS_FILE_UNREADABLE (-2)
/*
 * Reads f->path into f->t: 0; -1 for a bad entry, with "PATH:LINE:
 * reason" in err; LISTS_FILE_UNREADABLE with why alone in err ("No such
 * file or directory"). On failure f->t is as it was.
 */
int lists_file_read(struct lists_file *f, char *err, size_t errsize);
/*
 * When LISTS_CHECK_EVERY_MS has passed since the last look (now_ms on the
 * monotonic clock): reads f again if it changed (device, inode, size or
 * modification time). A file that no longer reads keeps its entries, with
 * a warning in the log (once per change, or once while it is missing).
 */
void lists_file_refresh(struct lists_file *f, uint64_t now_ms);
/*
 * Parses a list file's bytes (untrusted, any bytes) into t (initialised
 * by the caller): one entry per line, '#' comments, blank lines skipped.
 * 0, or -1 with "PATH:LINE: reason" in err.
 */
int lists_file_parse(enum config_list_kind kind, const char *path, const uint8_t *data,
    size_t len, struct lists_table *t, char *err, size_t errsize);

#endif
