/*
 * api_send.c - POST /v1/messages, /v1/messages/raw and /v1/messages/batch
 * (docs/api.md): the request is composed (src/compose), each message enters
 * the queue as any other does (src/msg: a submission each; origin api;
 * auth_user "apikey:ID", which lets that key delete it), and the reply, 202
 * with the queue ids, waits until every message of the request is durable:
 * the promise of SMTP's 250. A batch's submissions all end together, so the
 * spool's group commit makes them durable with one flush. An
 * Idempotency-Key replays the first accepted reply, across restarts too:
 * each message carries it in its envelope and adds a line to the keys'
 * journal once committed (idempotency.h).
 */
#include "http/api_send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "compose/compose.h"
#include "http/idempotency.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

#define IDEM_KEY_MAX 255
#define WAITING_MAX 1000		/* requests waiting for the queue to be read back */

/* A request with a key the table may not know yet: handled again once the queue is read. */
struct waiting {
	struct http_req *r;
	void (*handler)(struct http_req *r, void *arg);
	struct waiting *next;
};

struct api_send {
	struct msg_core *msg;
	struct compose_limits lim;
	struct idem *idem;
	struct waiting *waiting, **waiting_tail;
	size_t nwaiting;
};

/* One request's messages on their way into the queue. */
struct send_req {
	struct api_send *a;
	struct http_req *r;
	char key_id[HTTP_KEY_ID_LEN + 1];
	char *idem_key;			/* its Idempotency-Key, or NULL */
	char body_hash[65];		/* with a key: the SHA-256 of the body, hex */
	uint64_t time_s;		/* when it came */
	int is_batch;
	size_t n, pending, failed;
	char **qids, **tos;		/* per message: its queue id once durable; its first recipient */
};

struct one {
	struct send_req *sr;
	size_t i;
};

static uint64_t
now_s(void)
{
	return clock_wall_us() / 1000000u;
}

static struct send_req *
send_req_new(struct api_send *a, struct http_req *r, size_t n, int is_batch)
{
	struct send_req *sr = xcalloc(1, sizeof(*sr));

	sr->a = a;
	sr->r = r;
	sr->time_s = now_s();
	(void)snprintf(sr->key_id, sizeof(sr->key_id), "%s", http_req_key(r)->id);
	sr->n = n;
	sr->is_batch = is_batch;
	sr->qids = xcalloc(n, sizeof(*sr->qids));
	sr->tos = xcalloc(n, sizeof(*sr->tos));
	return sr;
}

static void
send_req_free(struct send_req *sr)
{
	for (size_t i = 0; i < sr->n; i++) {
		free(sr->qids[i]);
		free(sr->tos[i]);
	}
	free(sr->qids);
	free(sr->tos);
	free(sr->idem_key);
	free(sr);
}

/* A request that ends without a message queued: its Idempotency-Key may be used again. */
static void
abandon(struct send_req *sr)
{
	if (sr->idem_key != NULL)
		idem_end(sr->a->idem, sr->key_id, sr->idem_key, 0, NULL);
	send_req_free(sr);
}

static void
reply_compose_err(struct http_req *r, const struct compose_err *e)
{
	if (e->http_status == 413)
		http_reply_error(r, HTTP_ERR_BODY_TOO_LARGE, "%s", e->message);
	else if (strcmp(e->code, "too_many_recipients") == 0)
		http_reply_error(r, HTTP_ERR_TOO_MANY_RECIPIENTS, "%s", e->message);
	else if (e->http_status == 422)
		http_reply_field(r, e->field, "%s", e->message);
	else
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "%s", e->message);
}

/* Every message of sr is durable, or could not be: the reply, once. */
static void
finish(struct send_req *sr)
{
	json_t *body;

	if (sr->failed == sr->n) {
		http_reply_retry(sr->r, HTTP_ERR_UNAVAILABLE, 60,
		    "the queue cannot take messages now (its disk is full or failing)");
		abandon(sr);
		return;
	}
	if (!sr->is_batch) {
		body = json_pack("{s:s}", "id", sr->qids[0]);
	} else {
		json_t *msgs = json_array();

		/* a message the spool could not take is named, so that it alone is sent again */
		for (size_t i = 0; i < sr->n; i++)
			json_array_append_new(msgs, sr->qids[i] != NULL ?
			    json_pack("{s:s, s:s}", "id", sr->qids[i], "to", sr->tos[i]) :
			    json_pack("{s:s, s:{s:s, s:s}}", "to", sr->tos[i], "error", "code",
			    "unavailable", "message", "the queue could not take this message"));
		body = json_pack("{s:o}", "messages", msgs);
	}
	if (sr->idem_key != NULL)
		idem_end(sr->a->idem, sr->key_id, sr->idem_key, 202, body);
	http_reply_json(sr->r, 202, body);
	send_req_free(sr);
}

/* Message i of sr as its Idempotency-Key's records name it (qid: once committed). */
static struct idem_msg
idem_msg_of(const struct send_req *sr, size_t i, const char *qid)
{
	return (struct idem_msg){ .key_id = sr->key_id, .client_key = sr->idem_key,
		.hash = sr->body_hash, .n = sr->is_batch ? sr->n : 0, .i = i, .to = sr->tos[i],
		.qid = qid, .time_s = sr->time_s };
}

static void
on_committed(void *ctx, const struct msg_result *res)
{
	struct one *o = ctx;
	struct send_req *sr = o->sr;

	if (res->status == MSG_QUEUED) {
		sr->qids[o->i] = xstrdup(res->qid);
		/* into the journal before the scheduler has it (idempotency.h) */
		if (sr->idem_key != NULL) {
			struct idem_msg m = idem_msg_of(sr, o->i, res->qid);

			idem_committed(sr->a->idem, &m);
		}
	} else {
		sr->failed++;
	}
	free(o);
	if (--sr->pending == 0)
		finish(sr);
}

/*
 * The envelope of message i, res (env, new from the core) from sr's key: 0,
 * or -1 with the reply given when a recipient is refused (a local address
 * that does not exist).
 */
static int
fill_envelope(struct send_req *sr, size_t i, struct spool_msg *env,
    const struct compose_result *res, const char *field)
{
	char err[256], owner[64];

	for (size_t k = 0; k < res->nrcpts; k++)
		if (msg_env_add_rcpt(sr->a->msg, env, res->rcpts[k], err, sizeof(err)) == -1) {
			http_reply_field(sr->r, field, "%s", err);
			return -1;
		}
	free(env->sender);
	env->sender = xstrdup(res->sender);
	(void)snprintf(owner, sizeof(owner), "%s%s", HTTP_KEY_OWNER_PREFIX, sr->key_id);
	env->auth_user = xstrdup(owner);
	env->release_s = res->send_at_s > 0 ? (uint64_t)res->send_at_s : 0;
	env->is_8bitmime = res->is_8bitmime;
	env->is_smtputf8 = res->is_smtputf8;
	if (res->tags != NULL || res->metadata != NULL) {
		json_t *meta = json_object();

		if (res->tags != NULL)
			json_object_set(meta, "tags", res->tags);
		if (res->metadata != NULL)
			json_object_set(meta, "metadata", res->metadata);
		env->api_meta = json_dumps(meta, JSON_COMPACT);
		json_decref(meta);
	}
	/* the key is committed with the message: a crash before the reply keeps it */
	if (sr->idem_key != NULL) {
		struct idem_msg m = idem_msg_of(sr, i, NULL);

		env->api_idem = idem_msg_text(&m);
	}
	return 0;
}

/* Message i of sr into a submission: NULL with the reply given (env freed) when refused. */
static struct msg_sub *
start(struct send_req *sr, size_t i, struct spool_msg *env, struct compose_result *res,
    const char *field)
{
	struct msg_sub *sub;

	sr->tos[i] = xstrdup(res->nrcpts > 0 ? res->rcpts[0] : "");
	if (fill_envelope(sr, i, env, res, field) == -1) {
		spool_msg_free(&env);
		return NULL;
	}
	sub = msg_sub_new(sr->a->msg, env, http_req_id(sr->r));
	/* the message is in memory already: it goes in pieces, as the step and the spool take them */
	msg_sub_write_whole(sub, &res->message);
	return sub;
}

/* Ends every submission at once: one flush of the spool can make them all durable. */
static void
end_all(struct send_req *sr, struct msg_sub **subs)
{
	sr->pending = sr->n;
	for (size_t i = 0; i < sr->n; i++) {
		struct one *o = xcalloc(1, sizeof(*o));

		o->sr = sr;
		o->i = i;
		msg_sub_end(subs[i], on_committed, o);
	}
}

/* The queue has been read back (or will not be): the requests that waited, again. */
static void
on_queue_read(void *ctx)
{
	struct api_send *a = ctx;
	struct waiting *w = a->waiting;

	a->waiting = NULL;
	a->waiting_tail = &a->waiting;
	a->nwaiting = 0;
	while (w != NULL) {
		struct waiting *next = w->next;

		w->handler(w->r, a);
		free(w);
		w = next;
	}
}

/*
 * The Idempotency-Key of r, if any: 1 when r was answered here (a replay,
 * a conflict, a bad key) or waits (to be handled by again() once the queue
 * is read back at start), else 0 and sr->idem_key set for a new one.
 */
static int
idem_first(struct send_req *sr, void (*again)(struct http_req *r, void *arg))
{
	const char *key = http_req_header(sr->r, "Idempotency-Key");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	const uint8_t *body;
	size_t len;
	json_t *reply = NULL;
	int status = 0;

	if (key == NULL)
		return 0;
	if (key[0] == '\0' || strlen(key) > IDEM_KEY_MAX) {
		http_reply_error(sr->r, HTTP_ERR_INVALID_REQUEST,
		    "Idempotency-Key must be 1 to %d characters", IDEM_KEY_MAX);
		return 1;
	}
	body = http_req_body(sr->r, &len);
	(void)EVP_Digest(body, len, md, &md_len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < md_len; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * md_len] = '\0';
	(void)snprintf(sr->body_hash, sizeof(sr->body_hash), "%.64s", hex);
	switch (idem_begin(sr->a->idem, sr->key_id, key, hex, sr->time_s, &status, &reply)) {
	case IDEM_REPLAY:
		http_reply_json(sr->r, status, reply);
		return 1;
	case IDEM_CONFLICT:
		http_reply_error(sr->r, HTTP_ERR_IDEMPOTENCY_CONFLICT,
		    "this Idempotency-Key was used with another request");
		return 1;
	case IDEM_BUSY:
		http_reply_error(sr->r, HTTP_ERR_IDEMPOTENCY_CONFLICT,
		    "the first request with this Idempotency-Key is not answered yet");
		return 1;
	case IDEM_WAIT:
		if (sr->a->nwaiting < WAITING_MAX) {
			struct waiting *w = xcalloc(1, sizeof(*w));

			w->r = sr->r;
			w->handler = again;
			*sr->a->waiting_tail = w;
			sr->a->waiting_tail = &w->next;
			sr->a->nwaiting++;
			return 1;
		}
		/* FALLTHROUGH */
	case IDEM_UNAVAILABLE:
		http_reply_retry(sr->r, HTTP_ERR_UNAVAILABLE, 5, "the queue is being read back "
		    "after a restart: an Idempotency-Key may be in it");
		return 1;
	case IDEM_NEW:
	default:
		sr->idem_key = xstrdup(key);
		return 0;
	}
}

static void post_message(struct http_req *r, void *arg);
static void post_raw(struct http_req *r, void *arg);
static void post_batch(struct http_req *r, void *arg);

/* POST /v1/messages and /v1/messages/raw: one message. */
static void
send_one(struct http_req *r, struct api_send *a, int is_raw)
{
	struct send_req *sr = send_req_new(a, r, 1, 0);
	struct spool_msg *env;
	struct compose_result res;
	struct compose_err e;
	struct msg_sub *sub;
	int rc;

	if (idem_first(sr, is_raw ? post_raw : post_message)) {
		send_req_free(sr);
		return;
	}
	env = msg_env_new(a->msg, SPOOL_FROM_API);
	rc = is_raw ? compose_raw(http_req_json(r), &a->lim, (int64_t)now_s(), &res, &e) :
	    compose_message(http_req_json(r), &a->lim, (int64_t)now_s(), env->qid, &res, &e);
	if (rc == -1) {
		spool_msg_free(&env);
		reply_compose_err(r, &e);
		abandon(sr);
		return;
	}
	sub = start(sr, 0, env, &res, "to");
	compose_result_clear(&res);
	if (sub == NULL) {
		abandon(sr);
		return;
	}
	end_all(sr, &sub);
}

static void
post_message(struct http_req *r, void *arg)
{
	send_one(r, arg, 0);
}

static void
post_raw(struct http_req *r, void *arg)
{
	send_one(r, arg, 1);
}

/* POST /v1/messages/batch: a message per recipient, all or none. */
static void
post_batch(struct http_req *r, void *arg)
{
	struct api_send *a = arg;
	struct compose_batch *b;
	struct compose_err e;
	struct send_req *sr;
	struct msg_sub **subs;
	size_t n, i;

	if ((b = compose_batch_new(http_req_json(r), &a->lim, (int64_t)now_s(), &e)) == NULL) {
		reply_compose_err(r, &e);
		return;
	}
	n = compose_batch_count(b);
	sr = send_req_new(a, r, n, 1);
	if (idem_first(sr, post_batch)) {
		send_req_free(sr);
		compose_batch_free(&b);
		return;
	}
	subs = xcalloc(n, sizeof(*subs));
	for (i = 0; i < n; i++) {
		struct spool_msg *env = msg_env_new(a->msg, SPOOL_FROM_API);
		struct compose_result res;
		char field[48];

		if (compose_batch_build(b, i, env->qid, &res, &e) == -1) {
			spool_msg_free(&env);
			reply_compose_err(r, &e);
			break;
		}
		(void)snprintf(field, sizeof(field), "recipients[%zu].to", i);
		subs[i] = start(sr, i, env, &res, field);
		compose_result_clear(&res);
		if (subs[i] == NULL)
			break;
	}
	compose_batch_free(&b);
	if (i < n) {
		/* refused whole: nothing of it is kept */
		for (size_t k = 0; k < i; k++)
			msg_sub_abort(&subs[k]);
		free(subs);
		abandon(sr);
		return;
	}
	end_all(sr, subs);
	free(subs);
}

struct api_send *
http_api_send_add(struct http *srv, const struct config *cfg, struct msg_core *msg,
    struct idem *idem, char *err, size_t errsize)
{
	struct api_send *a = xcalloc(1, sizeof(*a));
	const struct http_route routes[] = {
		{ "POST", "/v1/messages", HTTP_SCOPE_SEND, HTTP_ROUTE_JSON_BODY, post_message, a },
		{ "POST", "/v1/messages/raw", HTTP_SCOPE_SEND, HTTP_ROUTE_JSON_BODY, post_raw, a },
		{ "POST", "/v1/messages/batch", HTTP_SCOPE_SEND, HTTP_ROUTE_JSON_BODY, post_batch, a },
	};

	a->msg = msg;
	compose_limits_init(&a->lim);
	a->lim.hostname = cfg->hostname;
	a->lim.max_message_bytes = cfg->max_message_bytes;
	a->lim.max_send_ahead_s = cfg->max_future_release_s;
	a->idem = idem;
	a->waiting_tail = &a->waiting;
	idem_set_waiter(idem, on_queue_read, a);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (http_route_add(srv, &routes[i], err, errsize) == -1) {
			http_api_send_free(&a);
			return NULL;
		}
	return a;
}

void
http_api_send_free(struct api_send **ap)
{
	struct api_send *a = *ap;

	if (a == NULL)
		return;
	idem_set_waiter(a->idem, NULL, NULL);
	while (a->waiting != NULL) {
		struct waiting *w = a->waiting;

		a->waiting = w->next;
		free(w);
	}
	free(a);
	*ap = NULL;
}
