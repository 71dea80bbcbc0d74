/*
 * dashboard.c - the dashboard's routes: the page and its assets with a
 * strict Content-Security-Policy, the login (an admin API key for a
 * session cookie), and the figures as one JSON object that the page polls
 * (traffic per minute, the queue by state, sessions, TLS share, top
 * destinations, recent bounces and events). Everything is read from
 * memory on the loop thread: a poll costs no disk and no queue walk (the
 * queue's counts come from a paced walk at most every 5 s; the page lists
 * the queue through /v1/queue, paged).
 */
#include "dashboard/dashboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config/config.h"
#include "dashboard/assets.h"
#include "dashboard/session.h"
#include "http/http.h"
#include "events/destinations.h"
#include "events/recent.h"
#include "events/traffic.h"
#include "qview/qview.h"
#include "sched/queue.h"
#include "server/server.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/xalloc.h"

#define TOP_DESTINATIONS 15
#define RECENT_SHOWN 25
#define BOUNCES_SHOWN 20
#define HISTORY_MAX 200
#define COUNT_EVERY_MS 5000	/* the queue is counted again at most this often */

/* Only what the daemon serves: no inline script or style, no other origin, no frames. */
#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; " \
	"object-src 'none'"

/*
 * The queue by state, counted by a walk of the whole queue through qview's
 * pager (a slice per turn of the loop, paced, on its background priority):
 * a queue of 100,000 messages never stalls the loop for a poll, and however
 * many pages poll, the queue is walked at most every COUNT_EVERY_MS.
 */
struct queue_count {
	struct qview_pager *pager;	/* the walk in progress; NULL between walks */
	size_t by_state[SCHED_NSTATES], recipients;
	uint64_t oldest_us;
	int has_oldest;
	struct sched_stats last;	/* what the last whole walk found */
	int has_last;
	uint64_t done_ms;		/* when it ended (monotonic) */
};

struct dashboard {
	struct http *srv;
	struct dashboard_deps d;
	struct dash_sessions *sessions;
	struct queue_count qc;
};

static uint64_t
now_s(void)
{
	return clock_mono_ms() / 1000;
}

static const struct dash_asset *
asset_find(const char *name)
{
	for (size_t i = 0; i < dash_nassets; i++)
		if (strcmp(dash_assets[i].name, name) == 0)
			return &dash_assets[i];
	return NULL;
}

/* The headers every page and asset goes out with. */
static void
add_page_headers(struct http_req *r)
{
	http_req_add_header(r, "Content-Security-Policy", CSP);
	http_req_add_header(r, "X-Content-Type-Options", "nosniff");
	http_req_add_header(r, "X-Frame-Options", "DENY");
	http_req_add_header(r, "Referrer-Policy", "no-referrer");
}

/*
 * The asset name, with the first placeholder marker replaced by with (a
 * value of ours: tokens, fixed sentences), as a page.
 */
static void
reply_page(struct http_req *r, int status, const char *name, const char *marker,
    const char *with)
{
	const struct dash_asset *a = asset_find(name);
	struct buf out;
	const char *p = NULL;

	ASSERT(a != NULL);
	buf_init(&out, SIZE_MAX);
	if (marker != NULL)
		p = memmem(a->data, a->len, marker, strlen(marker));
	if (p == NULL) {
		(void)buf_append(&out, a->data, a->len);
	} else {
		size_t before = (size_t)(p - (const char *)a->data);

		(void)buf_append(&out, a->data, before);
		(void)buf_append_str(&out, with);
		(void)buf_append(&out, p + strlen(marker), a->len - before - strlen(marker));
	}
	add_page_headers(r);
	http_reply_bytes(r, status, a->content_type, out.data, out.len);
	buf_clear(&out);
}

static void
redirect(struct http_req *r, const char *to, const char *cookie)
{
	static const char body[] = "see other\n";

	http_req_add_header(r, "Location", to);
	if (cookie != NULL)
		http_req_add_header(r, "Set-Cookie", cookie);
	add_page_headers(r);
	http_reply_bytes(r, 303, "text/plain; charset=utf-8", body, sizeof(body) - 1);
}

/*
 * The session of r whose key is still in the keys file with the admin
 * scope, or NULL (a session of a key since removed is closed).
 */
static const struct dash_session *
session_of(struct dashboard *db, struct http_req *r)
{
	const char *cookie = http_req_header(r, "Cookie");
	const struct dash_session *s;
	struct http_keyring *kr = http_keys(db->srv);
	const struct http_key *k;

	if (cookie == NULL || (s = dash_session_find(db->sessions, cookie, now_s())) == NULL)
		return NULL;
	if (kr == NULL || (k = http_keyring_find(kr, s->key_id)) == NULL ||
	    !(k->scopes & HTTP_SCOPE_ADMIN)) {
		dash_session_close(db->sessions, cookie);
		return NULL;
	}
	return s;
}

/* For route.c: the sessions of routes that take them. */
static int
check_session(void *ctx, const char *cookie, char key_id_out[HTTP_KEY_ID_LEN + 1],
    const char **csrf_out)
{
	struct dashboard *db = ctx;
	const struct dash_session *s = dash_session_find(db->sessions, cookie, now_s());

	if (s == NULL)
		return -1;
	memcpy(key_id_out, s->key_id, sizeof(s->key_id));
	*csrf_out = s->csrf;
	return 0;
}

/* ---- the page, the login ---- */

static void
get_page(struct http_req *r, void *arg)
{
	struct dashboard *db = arg;
	const struct dash_session *s = session_of(db, r);

	if (s == NULL) {
		redirect(r, "/dashboard/login", NULL);
		return;
	}
	/* the page's script reads the token from its meta element, for X-CSRF-Token */
	reply_page(r, 200, "index.html", "{{csrf}}", s->csrf);
}

static void
get_login(struct http_req *r, void *arg)
{
	(void)arg;
	reply_page(r, 200, "login.html", "<!--error-->", "");
}

static void
get_asset(struct http_req *r, void *arg)
{
	const char *name = http_req_param(r, "name");
	const struct dash_asset *a = name != NULL ? asset_find(name) : NULL;

	(void)arg;
	/* the pages are served by their routes, with their tokens filled in */
	if (a == NULL || strstr(name, ".html") != NULL) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "no such asset");
		return;
	}
	add_page_headers(r);
	http_reply_bytes(r, 200, a->content_type, a->data, a->len);
}

/* The form's key (application/x-www-form-urlencoded: key=...), in a new string; NULL. */
static char *
form_key(struct http_req *r)
{
	struct evkeyvalq q;
	const uint8_t *body;
	size_t len;
	char *copy, *key = NULL;
	const char *v;

	body = http_req_body(r, &len);
	if (body == NULL || len > 4096 || memchr(body, '\0', len) != NULL)
		return NULL;
	copy = xstrndup((const char *)body, len);
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(copy, &q) == 0 && (v = evhttp_find_header(&q, "key")) != NULL)
		key = xstrdup(v);
	evhttp_clear_headers(&q);
	explicit_bzero(copy, len);
	free(copy);
	return key;
}

static void
post_login(struct http_req *r, void *arg)
{
	struct dashboard *db = arg;
	struct http_keyring *kr = http_keys(db->srv);
	char *key = form_key(r), cookie[256];
	const struct http_key *k = NULL;
	const struct dash_session *s;

	if (key != NULL && kr != NULL) {
		/* the key's own spaces and line ends, pasted with it, are not part of it */
		size_t n = strlen(key);

		while (n > 0 && (key[n - 1] == ' ' || key[n - 1] == '\n' || key[n - 1] == '\r'))
			key[--n] = '\0';
		http_keyring_refresh(kr, clock_mono_ms(), 0);
		k = http_keyring_check(kr, key, n);
	}
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (k == NULL) {
		log_ev_dashboard_login(http_req_id(r), "-", "refused", "not a key of this server");
		reply_page(r, 401, "login.html", "<!--error-->",
		    "<p class=\"error\" role=\"alert\">That is not an API key of this server.</p>");
		return;
	}
	if (!(k->scopes & HTTP_SCOPE_ADMIN)) {
		log_ev_dashboard_login(http_req_id(r), k->id, "refused", "no admin scope");
		reply_page(r, 403, "login.html", "<!--error-->",
		    "<p class=\"error\" role=\"alert\">That key has no admin scope: the dashboard "
		    "needs one.</p>");
		return;
	}
	s = dash_session_open(db->sessions, k->id, now_s());
	log_ev_dashboard_login(http_req_id(r), k->id, "ok", NULL);
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
	    DASH_COOKIE, s->token, DASH_SESSION_MAX_S, http_req_is_tls(r) ? "; Secure" : "");
	redirect(r, "/dashboard", cookie);
}

static void
post_logout(struct http_req *r, void *arg)
{
	struct dashboard *db = arg;
	const char *cookie = http_req_header(r, "Cookie");
	char gone[160];

	if (cookie != NULL)
		dash_session_close(db->sessions, cookie);
	snprintf(gone, sizeof(gone), "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
	    DASH_COOKIE, http_req_is_tls(r) ? "; Secure" : "");
	http_req_add_header(r, "Set-Cookie", gone);
	http_reply_json(r, 200, json_pack("{s:s}", "status", "logged_out"));
}

/* ---- the figures ---- */

static json_t *
time_us_json(uint64_t t_us)
{
	return qview_time_json(t_us / 1000000u);
}

static json_t *
event_json(const struct recent_event *x)
{
	json_t *o = json_pack("{s:s,s:o,s:s,s:o}", "type", event_type_name(x->type),
	    "time", time_us_json(x->time_us), "message_id", x->message_id,
	    "recipient", qview_str(x->recipient));

	ASSERT(o != NULL);
	if (x->type == EVENT_RECEIVED)
		json_object_set_new(o, "entrance", json_string(x->entrance));
	if (x->code != 0)
		json_object_set_new(o, "code", json_integer(x->code));
	if (x->dsn[0] != '\0')
		json_object_set_new(o, "dsn", qview_str(x->dsn));
	if (x->reply[0] != '\0')
		json_object_set_new(o, "reply", qview_str(x->reply));
	if (x->relay[0] != '\0')
		json_object_set_new(o, "relay", qview_str(x->relay));
	if (x->type == EVENT_DEFERRED) {
		json_object_set_new(o, "attempt", json_integer(x->attempt));
		json_object_set_new(o, "next_attempt", qview_time_json(x->next_attempt_s));
	}
	if (x->bounce_class != BOUNCE_CLASS_NONE)
		json_object_set_new(o, "bounce", json_pack("{s:s,s:s}",
		    "class", bounce_class_name(x->bounce_class),
		    "category", bounce_category_name(x->bounce_category)));
	if (x->type != EVENT_SUPPRESSED && x->type != EVENT_EXPIRED)
		json_object_set_new(o, "tls", json_boolean(x->is_tls));
	return o;
}

static json_t *
minutes_json(const struct dashboard *db, uint64_t now_us, json_t *tls)
{
	struct traffic_minute m[TRAFFIC_MINUTES];
	json_t *in = json_array(), *out = json_array(), *def = json_array(), *fail = json_array();
	uint64_t in_all = 0, in_tls = 0, relayed = 0, out_tls = 0;

	traffic_read(db->d.traffic, now_us, m);
	for (size_t i = 0; i < TRAFFIC_MINUTES; i++) {
		json_array_append_new(in, json_integer(m[i].in));
		json_array_append_new(out, json_integer(m[i].out));
		json_array_append_new(def, json_integer(m[i].deferred));
		json_array_append_new(fail, json_integer(m[i].failed));
		in_all += m[i].in;
		in_tls += m[i].in_tls;
		relayed += m[i].out_relayed;
		out_tls += m[i].out_tls;
	}
	json_object_set_new(tls, "in", json_pack("{s:I,s:I}", "tls", (json_int_t)in_tls,
	    "total", (json_int_t)in_all));
	json_object_set_new(tls, "out", json_pack("{s:I,s:I}", "tls", (json_int_t)out_tls,
	    "total", (json_int_t)relayed));
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "start", qview_time_json(m[0].minute * 60),
	    "in", in, "out", out, "deferred", def, "failed", fail);
}

static void
count_each(void *ctx, const struct sched_view *v)
{
	struct queue_count *qc = ctx;

	qc->by_state[v->state]++;
	for (size_t i = 0; i < v->m->nrcpts; i++)
		qc->recipients += !v->m->rcpts[i].is_done;
	/* in queue id order: the first is the oldest */
	if (!qc->has_oldest) {
		qc->oldest_us = v->m->arrival_us;
		qc->has_oldest = 1;
	}
}

static void
count_done(void *ctx, size_t count, int has_more)
{
	struct queue_count *qc = ctx;

	(void)count, (void)has_more;
	qview_pager_free(&qc->pager);
	memset(&qc->last, 0, sizeof(qc->last));
	memcpy(qc->last.by_state, qc->by_state, sizeof(qc->by_state));
	qc->last.recipients = qc->recipients;
	qc->last.oldest_arrival_us = qc->has_oldest ? qc->oldest_us : 0;
	qc->has_last = 1;
	qc->done_ms = clock_mono_ms();
}

static const struct qview_pager_ops count_ops = { .each = count_each, .done = count_done };

/* The queue's counts as the last walk found them; a new walk starts when they are old. */
static const struct sched_stats *
queue_counts(struct dashboard *db)
{
	struct queue_count *qc = &db->qc;
	static const struct sched_filter all;

	if (!qc->has_last) {
		/* the first poll: counted at once, this once */
		sched_stats(db->d.sched, &qc->last);
		qc->has_last = 1;
		qc->done_ms = clock_mono_ms();
	}
	if (qc->pager == NULL && clock_mono_ms() - qc->done_ms >= COUNT_EVERY_MS) {
		memset(qc->by_state, 0, sizeof(qc->by_state));
		qc->recipients = 0;
		qc->has_oldest = 0;
		qc->pager = qview_pager_new(db->d.base, db->d.sched, &all, NULL, SIZE_MAX,
		    &count_ops, qc);
	}
	return &qc->last;
}

static json_t *
queue_json(struct dashboard *db, uint64_t now_us)
{
	struct sched_stats st = *queue_counts(db);
	json_t *o = json_object();
	size_t total = 0;

	st.connections = sched_connections(db->d.sched);
	for (unsigned i = 0; i < SCHED_NSTATES; i++) {
		json_object_set_new(o, sched_state_name((enum sched_state)i),
		    json_integer((json_int_t)st.by_state[i]));
		total += st.by_state[i];
	}
	json_object_set_new(o, "total", json_integer((json_int_t)total));
	json_object_set_new(o, "recipients", json_integer((json_int_t)st.recipients));
	json_object_set_new(o, "oldest_age_s", json_integer(st.oldest_arrival_us == 0 ||
	    st.oldest_arrival_us > now_us ? 0 : (json_int_t)((now_us - st.oldest_arrival_us) /
	    1000000u)));
	json_object_set_new(o, "outbound_connections", json_integer(st.connections));
	return o;
}

static json_t *
destinations_json(const struct dashboard *db, uint64_t now_us)
{
	struct destination top[TOP_DESTINATIONS];
	size_t n = destinations_top(db->d.dests, now_us, top, TOP_DESTINATIONS);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:o,s:I,s:I,s:I,s:I,s:f,s:o}",
		    "name", qview_str(top[i].name), "connections", (json_int_t)top[i].connections,
		    "delivered", (json_int_t)top[i].delivered, "deferred",
		    (json_int_t)top[i].deferred, "failed", (json_int_t)top[i].failed,
		    "deferral_rate", top[i].deferral_rate, "since", time_us_json(top[i].since_us)));
	return a;
}

static json_t *
events_json(const struct recent_event *x, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, event_json(&x[i]));
	return a;
}

static void
get_figures(struct http_req *r, void *arg)
{
	struct dashboard *db = arg;
	uint64_t now_us = clock_wall_us();
	struct recent_event *x = xcalloc(RECENT_SHOWN + BOUNCES_SHOWN, sizeof(*x));
	size_t nrecent = recent_events(db->d.recent, x, RECENT_SHOWN);
	size_t nbounces = recent_failures(db->d.recent, x + RECENT_SHOWN, BOUNCES_SHOWN);
	json_t *tls = json_object(), *o;

	o = json_pack("{s:s,s:o,s:o,s:o,s:{s:I,s:I},s:o,s:o,s:o}",
	    "host", db->d.cfg->hostname,
	    "now", time_us_json(now_us),
	    "minutes", minutes_json(db, now_us, tls),
	    "queue", queue_json(db, now_us),
	    "sessions",
	    "smtp", (json_int_t)(db->d.server != NULL ? server_sessions(db->d.server) : 0),
	    "dashboard", (json_int_t)dash_sessions_count(db->sessions),
	    "destinations", destinations_json(db, now_us),
	    "bounces", events_json(x + RECENT_SHOWN, nbounces),
	    "recent", events_json(x, nrecent));
	ASSERT(o != NULL);
	json_object_set_new(o, "tls", tls);
	free(x);
	http_reply_json(r, 200, o);
}

static void
get_history(struct http_req *r, void *arg)
{
	struct dashboard *db = arg;
	const char *id = http_req_param(r, "id");
	struct recent_event *x;
	size_t n;

	if (id == NULL || !qid_valid(id, strlen(id))) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "not a queue id");
		return;
	}
	x = xcalloc(HISTORY_MAX, sizeof(*x));
	n = recent_of_message(db->d.recent, id, x, HISTORY_MAX);
	http_reply_json(r, 200, json_pack("{s:s,s:o,s:i}", "id", id, "events", events_json(x, n),
	    "kept", RECENT_EVENTS));
	free(x);
}

/* ---- the table ---- */

struct dashboard *
dashboard_add(struct http *srv, const struct dashboard_deps *d, char *err, size_t errsize)
{
	struct dashboard *db = xcalloc(1, sizeof(*db));
	const unsigned admin = HTTP_SCOPE_ADMIN;
	const struct http_route routes[] = {
		{ "GET", "/dashboard", 0, 0, get_page, db },
		{ "GET", "/dashboard/login", 0, 0, get_login, db },
		{ "POST", "/dashboard/login", 0, 0, post_login, db },
		{ "POST", "/dashboard/logout", admin, HTTP_ROUTE_SESSION, post_logout, db },
		{ "GET", "/dashboard/assets/{name}", 0, 0, get_asset, db },
		{ "GET", "/v1/dashboard", admin, HTTP_ROUTE_SESSION, get_figures, db },
		{ "GET", "/v1/dashboard/messages/{id}", admin, HTTP_ROUTE_SESSION, get_history,
			db },
	};

	db->srv = srv;
	db->d = *d;
	db->sessions = dash_sessions_new();
	for (size_t i = 0; i < NELEM(routes); i++)
		if (http_route_add(srv, &routes[i], err, errsize) == -1) {
			dashboard_free(&db);
			return NULL;
		}
	http_set_sessions(srv, check_session, db);
	return db;
}

void
dashboard_free(struct dashboard **dbp)
{
	struct dashboard *db = *dbp;

	if (db == NULL)
		return;
	qview_pager_free(&db->qc.pager);
	dash_sessions_free(&db->sessions);
	free(db);
	*dbp = NULL;
}
