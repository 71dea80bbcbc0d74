/*
 * fuzz_config.c - libFuzzer target for the configuration parser (ucl*.c) and
 * the key table walk (keys.c, load.c) behind it.
 * The input is up to four files separated by NUL bytes (a NUL inside a file
 * is an error anyway): "etc/a" is parsed, and .include finds "etc/b",
 * "etc/c" and "etc/d" through an in-memory reader, so that includes,
 * cycles and errors in included files are fuzzed without touching the disk.
 * Checked: one well-formed "FILE:LINE: " or "FILE: " error or a tree whose
 * every node is consistent, and a loaded config that obeys its own rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/ucl_int.h"
#include "util/ascii.h"
#include "util/xalloc.h"

#define NFILES 4

static const char *const names[NFILES] = { "etc/a", "etc/b", "etc/c", "etc/d" };

struct files {
	const uint8_t *p[NFILES];
	size_t len[NFILES];
	size_t n;
};

static int
mem_read(void *ctx, const char *name, size_t max, uint8_t **data_out, size_t *len_out,
    uint64_t id_out[2], char *why, size_t whysize)
{
	const struct files *f = ctx;

	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(name, names[i]) != 0)
			continue;
		if (f->len[i] > max) {
			*len_out = max + 1;
			return -1;
		}
		*data_out = xmalloc(f->len[i] ? f->len[i] : 1);
		memcpy(*data_out, f->p[i], f->len[i]);
		*len_out = f->len[i];
		id_out[0] = 7;
		id_out[1] = i;
		return 0;
	}
	*len_out = 0;
	if (whysize > 0)
		why[0] = '\0';
	return -1;
}

/* The error starts with a file we know, then ":LINE: " or ": ". */
static void
check_error(const char *err)
{
	for (size_t i = 0; i < NFILES; i++) {
		size_t n = strlen(names[i]);
		const char *p = err + n;

		if (strncmp(err, names[i], n) != 0 || *p != ':')
			continue;
		p++;
		if (*p == ' ' && p[1] != '\0')
			return;
		if (!ascii_isdigit((uint8_t)*p) || *p == '0')
			abort();
		while (ascii_isdigit((uint8_t)*p))
			p++;
		if (p[0] != ':' || p[1] != ' ' || p[2] == '\0')
			abort();
		return;
	}
	abort();
}

static void
check_node(const struct ucl_node *n, const struct ucl_doc *d, unsigned depth)
{
	int known = 0;

	for (size_t i = 0; i < d->nfiles; i++)
		known |= n->file == d->files[i];
	if (!known || n->line == 0 || n->vline < n->line || depth > UCL_MAX_DEPTH + 1)
		abort();
	if (n->key != NULL) {
		size_t len = strlen(n->key);

		if (len == 0 || len > UCL_MAX_STRING_BYTES)
			abort();
		for (size_t i = 0; i < len; i++)
			if (!ascii_isalnum((uint8_t)n->key[i]) && n->key[i] != '_' && n->key[i] != '-')
				abort();
	}
	switch (n->type) {
	case UCL_OBJECT:
		for (size_t i = 0; i < n->nkids; i++) {
			if (n->kids[i]->key == NULL || ucl_get(n, n->kids[i]->key) != n->kids[i])
				abort();	/* keys are unique and found */
			check_node(n->kids[i], d, depth + 1);
		}
		break;
	case UCL_ARRAY:
		for (size_t i = 0; i < n->nkids; i++) {
			if (n->kids[i]->key != NULL)
				abort();
			check_node(n->kids[i], d, depth + 1);
		}
		break;
	default:
		if (n->str == NULL || strlen(n->str) != n->len || n->len > UCL_MAX_STRING_BYTES)
			abort();
		if (n->type == UCL_NUMBER && n->is_negative && n->num == 0)
			abort();
		break;
	}
}

static void
check_config(const struct config *c)
{
	if (c->nlisteners == 0 || c->hostname == NULL || c->spool_dir[0] != '/' ||
	    c->mailbox_root[0] != '/' || c->min_free_bytes == 0 ||
	    c->retry_min_s > c->retry_max_s || c->max_line_bytes < 512)
		abort();
	for (size_t i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].sa_len == 0 || c->listeners[i].address == NULL)
			abort();
	for (size_t i = 0; i < c->nlocal_domains; i++)
		if (!config_is_local_domain(c, c->local_domains[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct files f = { 0 };
	struct ucl_reader rd = { mem_read, &f };
	const uint64_t id[2] = { 7, 0 };
	struct ucl_doc *d;
	struct config *c;
	char err[512];
	const uint8_t *p = data, *end = data + size;

	while (f.n < NFILES) {
		const uint8_t *nul = p == end ? NULL : memchr(p, '\0', (size_t)(end - p));

		f.p[f.n] = p;
		f.len[f.n] = nul && f.n + 1 < NFILES ? (size_t)(nul - p) : (size_t)(end - p);
		f.n++;
		if (nul == NULL || f.n == NFILES)
			break;
		p = nul + 1;
	}
	err[0] = '\0';
	d = ucl_parse_mem(f.p[0], f.len[0], names[0], id, &rd, err, sizeof(err));
	if (d == NULL) {
		check_error(err);
		return 0;
	}
	check_node(d->root, d, 0);
	c = config_load_doc(d, names[0], err, sizeof(err));
	if (c == NULL)
		check_error(err);
	else
		check_config(c);
	config_free(&c);
	ucl_doc_free(&d);
	return 0;
}
