/*
 * request.c - POST /v1/messages and /v1/messages/batch: the request read
 * once into a template (struct compose_tpl), then one message built from
 * it, or one per recipient of a batch with its substitutions. Every check
 * that can fail on the client's input is done before the first build.
 */
#include "compose/compose_int.h"

#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "util/xalloc.h"

void
compose_limits_init(struct compose_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->hostname = "localhost";
	/* what the transactional relay services allow per message */
	lim->max_rcpts = 50;
	lim->max_batch = 1000;
	lim->max_message_bytes = 35 * 1024 * 1024;	/* smtp.max_message_bytes' default */
	lim->max_send_ahead_s = 30 * 86400;		/* as FUTURERELEASE's default */
}

void
compose_tpl_init(struct compose_tpl *t)
{
	memset(t, 0, sizeof(*t));
	/* folded fields, bounded by the number and size of fields a request may give */
	buf_init(&t->extra, COMPOSE_MAX_HEADERS * (COMPOSE_MAX_HEADER_VALUE * 4 + 256));
}

static void
text_clear(struct compose_text *x)
{
	free(x->s);
	free(x->segs);
	memset(x, 0, sizeof(*x));
}

void
compose_tpl_clear(struct compose_tpl *t)
{
	compose_addr_clear(&t->from);
	compose_addr_clear(&t->reply_to);
	for (size_t i = 0; i < t->nto; i++)
		compose_addr_clear(&t->to[i]);
	for (size_t i = 0; i < t->ncc; i++)
		compose_addr_clear(&t->cc[i]);
	free(t->to);
	free(t->cc);
	for (size_t i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	text_clear(&t->subject);
	text_clear(&t->text);
	text_clear(&t->html);
	compose_tpl_atts_clear(t);
	buf_clear(&t->extra);
	json_decref(t->tags);
	json_decref(t->metadata);
	memset(t, 0, sizeof(*t));
}

void
compose_result_clear(struct compose_result *r)
{
	free(r->sender);
	for (size_t i = 0; i < r->nrcpts; i++)
		free(r->rcpts[i]);
	free(r->rcpts);
	json_decref(r->tags);
	json_decref(r->metadata);
	buf_clear(&r->message);
	memset(r, 0, sizeof(*r));
}

/* ---- reading ---- */

static int
text_read(const json_t *req, const char *key, size_t max, unsigned flags,
    struct compose_text *x, struct compose_err *err)
{
	const json_t *v = json_object_get(req, key);
	const char *s;
	size_t len;

	if (v == NULL || json_is_null(v))
		return 0;
	/* a body too large for any message is a matter of size, not of the field's form */
	if (flags == 0 && json_is_string(v) && json_string_length(v) > max)
		return compose_fail(err, 413, "body_too_large", key, "larger than a message may "
		    "be (%zu bytes)", max);
	if (compose_string(v, key, max, flags, &s, &len, err) == -1)
		return -1;
	x->s = xstrndup(s, len);
	x->len = len;
	x->is_set = 1;
	return 0;
}

/* The fields every sending request shares (a batch gives no to, cc or bcc). */
static int
tpl_read(const json_t *req, const struct compose_limits *lim, int is_batch,
    struct compose_tpl *t, struct compose_err *err)
{
	static const char *const known_msg[] = { "from", "to", "cc", "bcc", "reply_to",
		"subject", "text", "html", "attachments", "headers", "tags", "metadata", "send_at",
		NULL };
	static const char *const known_batch[] = { "from", "reply_to", "subject", "text", "html",
		"attachments", "headers", "tags", "metadata", "send_at", "recipients", NULL };
	static const char *const per_rcpt[] = { "to", "cc", "bcc" };
	const json_t *v;
	size_t entries = 0;
	int is_utf8;

	if (!json_is_object(req))
		return compose_fail(err, 400, "invalid_request", "", "the body must be a JSON object");
	for (size_t i = 0; is_batch && i < NELEM(per_rcpt); i++)
		if (json_object_get(req, per_rcpt[i]) != NULL)
			return compose_bad(err, per_rcpt[i], "a batch names its recipients in "
			    "recipients, one message each");
	if (compose_known_keys(req, "", is_batch ? known_batch : known_msg, err) == -1)
		return -1;
	if ((v = json_object_get(req, "from")) == NULL || json_is_null(v))
		return compose_bad(err, "from", "is missing");
	if (compose_addr_read(v, "from", &t->from, &is_utf8, err) == -1)
		return -1;
	t->is_smtputf8 |= is_utf8;
	if ((v = json_object_get(req, "reply_to")) != NULL && !json_is_null(v)) {
		/* a header field only: not a recipient, and SMTPUTF8 is for the envelope's sake */
		if (compose_addr_read(v, "reply_to", &t->reply_to, &is_utf8, err) == -1)
			return -1;
		t->is_smtputf8 |= is_utf8;
	}
	if (!is_batch) {
		if (compose_addr_list(req, "to", lim, t, &t->to, &t->nto, &entries, err) == -1 ||
		    compose_addr_list(req, "cc", lim, t, &t->cc, &t->ncc, &entries, err) == -1 ||
		    compose_addr_list(req, "bcc", lim, t, NULL, NULL, &entries, err) == -1)
			return -1;
		if (t->nrcpts == 0)
			return compose_bad(err, "to", "no recipient in to, cc or bcc");
	}
	if (text_read(req, "subject", COMPOSE_MAX_SUBJECT, CF_NO_CTL, &t->subject, err) == -1 ||
	    text_read(req, "text", lim->max_message_bytes, 0, &t->text, err) == -1 ||
	    text_read(req, "html", lim->max_message_bytes, 0, &t->html, err) == -1)
		return -1;
	if (!t->text.is_set && !t->html.is_set)
		return compose_bad(err, "text", "a message needs text, html or both");
	if (compose_headers_read(json_object_get(req, "headers"), t, err) == -1 ||
	    compose_attachments_read(req, lim, t, err) == -1 ||
	    compose_tags_read(req, t, err) == -1 || compose_send_at_read(req, lim, t, err) == -1)
		return -1;
	t->fixed_bytes += t->extra.len;
	return 0;
}

/* ---- building ---- */

/* The texts of one message into subj/text/html (set up by the caller), filled from vals. */
static int
texts_expand(const struct compose_tpl *t, const char *const *vals, const size_t *vlens,
    struct buf *subj, struct buf *text, struct buf *html, struct buf *tmp)
{
	if (t->subject.is_set && compose_text_expand(&t->subject, vals, vlens, 0, subj) == -1)
		return -1;
	if (t->text.is_set) {
		if (compose_text_expand(&t->text, vals, vlens, 0, tmp) == -1 ||
		    compose_crlf((const char *)tmp->data, tmp->len, text) == -1)
			return -1;
		buf_reset(tmp);
	}
	if (t->html.is_set && (compose_text_expand(&t->html, vals, vlens, 1, tmp) == -1 ||
	    compose_crlf((const char *)tmp->data, tmp->len, html) == -1))
		return -1;
	return 0;
}

static struct slice
slice_of(const struct compose_text *x, struct buf *b)
{
	struct slice s = { NULL, 0 };

	if (x->is_set) {
		s.p = b->data != NULL ? b->data : (const uint8_t *)"";
		s.len = b->len;
	}
	return s;
}

/*
 * One message of t into out (rcpts[0..n): its envelope; to: its To, or
 * NULL for t's own). 0, or -1 with err and out cleared.
 */
static int
build_one(const struct compose_tpl *t, const struct compose_limits *lim,
    const struct compose_addr *to, const char *const *vals, const size_t *vlens,
    char *const *rcpts, size_t n, const char *id_left, struct compose_result *out,
    struct compose_err *err)
{
	struct buf subj, text, html, tmp;
	struct compose_parts p;
	int r = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&out->message, lim->max_message_bytes);
	buf_init(&subj, lim->max_message_bytes);
	buf_init(&text, lim->max_message_bytes);
	buf_init(&html, lim->max_message_bytes);
	buf_init(&tmp, lim->max_message_bytes);
	if (texts_expand(t, vals, vlens, &subj, &text, &html, &tmp) == -1) {
		compose_fail(err, 413, "body_too_large", "", "the message is larger than the limit "
		    "of %llu bytes", (unsigned long long)lim->max_message_bytes);
		goto done;
	}
	p.to = to;
	p.subject = slice_of(&t->subject, &subj);
	p.text = slice_of(&t->text, &text);
	p.html = slice_of(&t->html, &html);
	if (compose_build(t, &p, id_left, lim->hostname, &out->message, err) == -1)
		goto done;
	out->sender = xstrdup(t->from.email);
	out->rcpts = xcalloc(n, sizeof(*out->rcpts));
	for (out->nrcpts = 0; out->nrcpts < n; out->nrcpts++)
		out->rcpts[out->nrcpts] = xstrdup(rcpts[out->nrcpts]);
	out->send_at_s = t->send_at_s;
	/* copies: a result may go to another thread, and jansson's counts are no lock */
	out->tags = t->tags != NULL ? json_deep_copy(t->tags) : NULL;
	out->metadata = t->metadata != NULL ? json_deep_copy(t->metadata) : NULL;
	r = 0;
done:
	buf_clear(&subj);
	buf_clear(&text);
	buf_clear(&html);
	buf_clear(&tmp);
	if (r == -1)
		compose_result_clear(out);
	return r;
}

/* Refuses early (413) what cannot fit however it is encoded: no GMime work for it. */
static int
size_check(const struct compose_tpl *t, const struct compose_limits *lim, uint64_t texts,
    const char *field, struct compose_err *err)
{
	if (t->fixed_bytes + texts > lim->max_message_bytes)
		return compose_fail(err, 413, "body_too_large", field, "the message would be over "
		    "the limit of %llu bytes", (unsigned long long)lim->max_message_bytes);
	return 0;
}

int
compose_message(const json_t *req, const struct compose_limits *lim, int64_t now_s,
    const char *id_left, struct compose_result *out, struct compose_err *err)
{
	struct compose_tpl t;
	int r = -1;

	mime_init();	/* GMime reads addresses and encodes header text from the first field on */
	memset(out, 0, sizeof(*out));
	compose_tpl_init(&t);
	t.now_s = now_s;
	if (tpl_read(req, lim, 0, &t, err) == -1 ||
	    size_check(&t, lim, t.subject.len + t.text.len + t.html.len, "", err) == -1 ||
	    build_one(&t, lim, NULL, NULL, NULL, t.rcpts, t.nrcpts, id_left, out, err) == -1)
		goto done;
	out->is_smtputf8 = t.is_smtputf8;
	r = 0;
done:
	compose_tpl_clear(&t);
	return r;
}

/* ---- batches ---- */

struct compose_batch {
	struct compose_tpl t;		/* t.rcpts: one address per recipient, in order */
	struct compose_limits lim;
	json_t *req;			/* a reference: vals point into it */
	struct compose_vars vars;
	int is_subject_var[COMPOSE_MAX_VARS];
	size_t n;
	struct compose_addr *to;	/* per recipient */
	int *is_utf8;			/* per recipient: its address needs SMTPUTF8 */
	const char **vals;		/* n rows of vars.n values; NULL where a name is not given */
	size_t *vlens;
};

size_t
compose_batch_count(const struct compose_batch *b)
{
	return b->n;
}

void
compose_batch_free(struct compose_batch **bp)
{
	struct compose_batch *b = *bp;

	if (b == NULL)
		return;
	compose_tpl_clear(&b->t);
	for (size_t i = 0; i < b->vars.n; i++)
		free(b->vars.names[i]);
	for (size_t i = 0; i < b->n; i++)
		compose_addr_clear(&b->to[i]);
	free(b->to);
	free(b->is_utf8);
	free(b->vals);
	free(b->vlens);
	json_decref(b->req);
	free(b);
	*bp = NULL;
}

/* The length of x filled with row's values. */
static uint64_t
expanded_len(const struct compose_text *x, const char *const *vals, const size_t *vlens,
    int is_html)
{
	uint64_t n = 0;

	if (x->nsegs == 0)
		return x->len;
	for (size_t i = 0; i < x->nsegs; i++) {
		const struct compose_seg *g = &x->segs[i];

		if (g->var < 0 || vals[g->var] == NULL)
			n += g->len;
		else
			n += is_html ? compose_html_len(vals[g->var], vlens[g->var]) :
			    vlens[g->var];
	}
	return n;
}

/* Recipient i's substitutions into its row of vals. */
static int
subst_read(struct compose_batch *b, size_t i, const json_t *subs, const char *path,
    struct compose_err *err)
{
	const char **row = b->vals + i * b->vars.n;
	size_t *lrow = b->vlens + i * b->vars.n, total = 0;
	const char *key;
	json_t *v;
	char p[128];

	if (subs == NULL || json_is_null(subs))
		return 0;
	if (!json_is_object(subs))
		return compose_bad(err, path, "must be an object of names and strings");
	if (json_object_size(subs) > COMPOSE_MAX_VARS)
		return compose_bad(err, path, "more than %d names", COMPOSE_MAX_VARS);
	json_object_foreach((json_t *)subs, key, v) {
		const char *s;
		size_t len, k;

		compose_path(p, sizeof(p), path, key, 0);
		if (!compose_var_name_ok(key, strlen(key)))
			return compose_bad(err, p, "a name is 1 to 64 of A-Z a-z 0-9 _ . -");
		for (k = 0; k < b->vars.n && strcmp(b->vars.names[k], key) != 0; k++)
			;
		/* a value of the subject goes into a header field: one line, no controls */
		if (compose_string(v, p, COMPOSE_MAX_SUBST_BYTES,
		    k < b->vars.n && b->is_subject_var[k] ? CF_NO_CTL : 0, &s, &len, err) == -1)
			return -1;
		if ((total += len) > COMPOSE_MAX_SUBST_BYTES)
			return compose_bad(err, path, "the values are more than %d bytes together",
			    COMPOSE_MAX_SUBST_BYTES);
		if (k < b->vars.n) {
			row[k] = s;
			lrow[k] = len;
		}
	}
	return 0;
}

/* Recipient i: its address (each once in the batch) and substitutions. */
static int
rcpt_read(struct compose_batch *b, size_t i, const json_t *e, struct compose_err *err)
{
	static const char *const known[] = { "to", "substitutions", NULL };
	const char *const *row;
	const json_t *to;
	char path[64], p[96];
	uint64_t texts;

	compose_path(path, sizeof(path), "recipients", NULL, i);
	if (!json_is_object(e))
		return compose_bad(err, path, "must be an object with to and substitutions");
	if (compose_known_keys(e, path, known, err) == -1)
		return -1;
	compose_path(p, sizeof(p), path, "to", 0);
	if ((to = json_object_get(e, "to")) == NULL)
		return compose_bad(err, p, "is missing");
	if (compose_addr_read(to, p, &b->to[i], &b->is_utf8[i], err) == -1)
		return -1;
	/* one message per address: a newsletter must not reach anyone twice */
	if (compose_rcpt_add(&b->t, b->to[i].email) == 0)
		return compose_bad(err, p, "is in the batch twice");
	compose_path(p, sizeof(p), path, "substitutions", 0);
	if (subst_read(b, i, json_object_get(e, "substitutions"), p, err) == -1)
		return -1;
	row = b->vals + i * b->vars.n;
	texts = expanded_len(&b->t.subject, row, b->vlens + i * b->vars.n, 0) +
	    expanded_len(&b->t.text, row, b->vlens + i * b->vars.n, 0) +
	    expanded_len(&b->t.html, row, b->vlens + i * b->vars.n, 1);
	return size_check(&b->t, &b->lim, texts, path, err);
}

/* The {{NAME}}s of subject, text and html; which ones the subject holds. */
static int
vars_find(struct compose_batch *b, struct compose_err *err)
{
	struct compose_text *x[] = { &b->t.subject, &b->t.text, &b->t.html };
	static const char *const names[] = { "subject", "text", "html" };

	for (size_t i = 0; i < NELEM(x); i++)
		if (compose_text_split(x[i], &b->vars) == -1)
			return compose_bad(err, names[i], "more than %d distinct {{NAME}}s",
			    COMPOSE_MAX_VARS);
	for (size_t i = 0; i < b->t.subject.nsegs; i++)
		if (b->t.subject.segs[i].var >= 0)
			b->is_subject_var[b->t.subject.segs[i].var] = 1;
	return 0;
}

struct compose_batch *
compose_batch_new(const json_t *req, const struct compose_limits *lim, int64_t now_s,
    struct compose_err *err)
{
	struct compose_batch *b = xcalloc(1, sizeof(*b));
	const json_t *rv;

	mime_init();
	compose_tpl_init(&b->t);
	b->t.now_s = now_s;
	b->lim = *lim;
	b->req = json_incref((json_t *)req);
	if (tpl_read(req, lim, 1, &b->t, err) == -1 || vars_find(b, err) == -1)
		goto fail;
	rv = json_object_get(req, "recipients");
	if (rv == NULL || !json_is_array(rv) || json_array_size(rv) == 0) {
		compose_bad(err, "recipients", "must be a list of at least one recipient");
		goto fail;
	}
	if (json_array_size(rv) > lim->max_batch) {
		compose_fail(err, 422, "too_many_recipients", "recipients", "more than %zu "
		    "recipients in a batch", lim->max_batch);
		goto fail;
	}
	b->n = json_array_size(rv);
	b->to = xcalloc(b->n, sizeof(*b->to));
	b->is_utf8 = xcalloc(b->n, sizeof(*b->is_utf8));
	/* no overflow: n <= max_batch and vars.n <= COMPOSE_MAX_VARS */
	b->vals = xcalloc(b->n * b->vars.n + 1, sizeof(*b->vals));
	b->vlens = xcalloc(b->n * b->vars.n + 1, sizeof(*b->vlens));
	for (size_t i = 0; i < b->n; i++)
		if (rcpt_read(b, i, json_array_get(rv, i), err) == -1)
			goto fail;
	return b;
fail:
	compose_batch_free(&b);
	return NULL;
}

int
compose_batch_build(struct compose_batch *b, size_t i, const char *id_left,
    struct compose_result *out, struct compose_err *err)
{
	ASSERT(i < b->n);
	if (build_one(&b->t, &b->lim, &b->to[i], b->vals + i * b->vars.n,
	    b->vlens + i * b->vars.n, &b->t.rcpts[i], 1, id_left, out, err) == -1)
		return -1;
	out->is_smtputf8 = b->t.is_smtputf8 || b->is_utf8[i];
	return 0;
}
