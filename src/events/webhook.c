/*
 * webhook.c - one state machine per webhook: read the next events after
 * its cursor from the event log (a page at a time), skip the types it does
 * not want, POST the next one, and on a 2xx move the cursor on; on a
 * failure wait and send the same event again. One request out per webhook,
 * so receivers see events in order. The cursor is saved (write, rename) a
 * second after it moves, and at the end.
 */
#include "events/webhook.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "tls/tls.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define PAGE 100			/* events read from the log at once */
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS (5 * 60 * 1000)
#define SAVE_DELAY_MS 1000
#define WAKE_DELAY_MS 100		/* a caught-up webhook looks for new events this long after one */

struct webhooks;

struct hook {
	struct webhooks *w;
	const struct config_webhook *conf;
	unsigned types;			/* bit per enum event_type; all when none named */
	char host[256];			/* from the URL: a name or an address (brackets gone) */
	char host_header[300];		/* as the URL writes it, with its port */
	unsigned port;
	char path[1024];		/* path and query, "/" at least */
	int is_tls;
	char addr[256];			/* the host's address (text), once known */
	struct dns_query *lookup;
	struct evhttp_connection *conn;
	struct evhttp_connection *dead;	/* failed: freed on the next turn, not in its callback */
	struct evhttp_request *req;	/* out */
	json_t *page;			/* events after cursor, read from the log */
	size_t at;			/* the next one in page */
	uint64_t cursor;		/* the last event taken (or skipped) */
	uint64_t saved;			/* the cursor in the file */
	unsigned retry_ms;		/* the pause before the next try; 0 after a success */
	struct event *timer;		/* retry pauses, and the deferred free of a dead connection */
	struct event *save_timer;
	int is_busy;			/* a lookup or a request out, or a pause */
};

struct webhooks {
	const struct config *cfg;
	struct evlog *log;
	struct event_base *base;
	struct dns *dns;
	char *state_dir;
	SSL_CTX *ssl_ctx;		/* verifies receivers against the system's trust store */
	struct hook *hooks;
	size_t n;
};

static void hook_next(struct hook *h);

/* ---- the cursor's file ---- */

static void
cursor_path(const struct hook *h, char *out, size_t size)
{
	(void)snprintf(out, size, "%s/%s.cursor", h->w->state_dir, h->conf->name);
}

static int
cursor_load(struct hook *h)
{
	char path[4096], text[32];
	int fd;
	ssize_t n;

	cursor_path(h, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	h->cursor = h->saved = strtoull(text, NULL, 10);
	return 0;
}

static void
cursor_save(struct hook *h)
{
	char path[4096], tmp[4200], text[32];
	int fd, len;

	if (h->saved == h->cursor)
		return;
	cursor_path(h, path, sizeof(path));
	(void)snprintf(tmp, sizeof(tmp), "%s.new", path);
	len = snprintf(text, sizeof(text), "%" PRIu64 "\n", h->cursor);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, text, (size_t)len) == -1 || rename(tmp, path) == -1) {
		log_warn("webhook %s: cannot save its cursor in %s: %s", h->conf->name, path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	h->saved = h->cursor;
}

static void
on_save_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	cursor_save(arg);
}

/* The cursor moved: saved within a second. */
static void
moved(struct hook *h, uint64_t cursor)
{
	struct timeval tv = { SAVE_DELAY_MS / 1000, 0 };

	h->cursor = cursor;
	if (!evtimer_pending(h->save_timer, NULL))
		evtimer_add(h->save_timer, &tv);
}

/* ---- sending ---- */

static void
drop_conn(struct hook *h)
{
	if (h->conn == NULL)
		return;
	/* a connection cannot be freed inside its own callback: on the next turn */
	if (h->dead != NULL)
		evhttp_connection_free(h->dead);
	h->dead = h->conn;
	h->conn = NULL;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;

	(void)fd, (void)what;
	if (h->dead != NULL) {
		evhttp_connection_free(h->dead);
		h->dead = NULL;
	}
	h->is_busy = 0;
	hook_next(h);
}

/* Goes on after ms (0: on the next turn of the loop). */
static void
later(struct hook *h, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	h->is_busy = 1;
	evtimer_add(h->timer, &tv);
}

/* The event in hand was not taken: the same again, after a pause that grows. */
static void
failed(struct hook *h, const char *why)
{
	h->retry_ms = h->retry_ms == 0 ? RETRY_MIN_MS : h->retry_ms * 2;
	if (h->retry_ms > RETRY_MAX_MS)
		h->retry_ms = RETRY_MAX_MS;
	log_warn("webhook %s: %s; again in %u s", h->conf->name, why, h->retry_ms / 1000);
	drop_conn(h);
	later(h, h->retry_ms);
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct hook *h = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	json_t *e = json_array_get(h->page, h->at);
	char why[64];

	h->req = NULL;
	if (code >= 200 && code <= 299) {
		h->retry_ms = 0;
		moved(h, strtoull(json_string_value(json_object_get(e, "cursor")), NULL, 10));
		h->at++;
		later(h, 0);
		return;
	}
	if (code == 0)
		(void)snprintf(why, sizeof(why), "no answer (connection failed or timed out)");
	else
		(void)snprintf(why, sizeof(why), "answered %d", code);
	failed(h, why);
}

static struct evhttp_connection *
connect_to(struct hook *h)
{
	struct webhooks *w = h->w;
	struct evhttp_connection *c;

	if (h->is_tls) {
		SSL *ssl = SSL_new(w->ssl_ctx);
		struct bufferevent *bev;

		if (ssl == NULL)
			return NULL;
		/* SNI (for a name: RFC 6066 3 allows no address), and the certificate must name the host */
		if (!config_is_ip(h->host))
			(void)SSL_set_tlsext_host_name(ssl, h->host);
		if (tls_client_verify_peer(ssl, h->host) == -1) {
			SSL_free(ssl);
			return NULL;
		}
		bev = bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL)
			return NULL;
		c = evhttp_connection_base_bufferevent_new(w->base, NULL, bev, h->addr,
		    (unsigned short)h->port);
	} else {
		c = evhttp_connection_base_new(w->base, NULL, h->addr, (unsigned short)h->port);
	}
	if (c != NULL)
		evhttp_connection_set_timeout(c, (int)((w->cfg->webhook_timeout_ms + 999) / 1000));
	return c;
}

static void
post(struct hook *h, json_t *e)
{
	struct evkeyvalq *hdrs;
	char sig[160], *body;
	size_t len;

	if (h->conn == NULL && (h->conn = connect_to(h)) == NULL) {
		failed(h, "cannot set up a connection");
		return;
	}
	body = json_dumps(e, JSON_COMPACT);
	if (body == NULL) {
		failed(h, "cannot write the event");
		return;
	}
	len = strlen(body);
	webhook_signature(h->conf->secret, (long long)(clock_wall_us() / 1000000u), body, len, sig,
	    sizeof(sig));
	h->req = evhttp_request_new(on_response, h);
	hdrs = evhttp_request_get_output_headers(h->req);
	evhttp_add_header(hdrs, "Host", h->host_header);
	evhttp_add_header(hdrs, "Content-Type", "application/json");
	evhttp_add_header(hdrs, "User-Agent", "sterna");
	evhttp_add_header(hdrs, "Sterna-Signature", sig);
	evbuffer_add(evhttp_request_get_output_buffer(h->req), body, len);
	free(body);
	h->is_busy = 1;
	if (evhttp_make_request(h->conn, h->req, EVHTTP_REQ_POST, h->path) == -1) {
		h->req = NULL;	/* evhttp freed it */
		failed(h, "cannot send the request");
	}
}

static void
on_resolved(void *ctx, const struct dns_reply *r)
{
	struct hook *h = ctx;

	h->lookup = NULL;
	if (r->status != DNS_Q_FOUND || r->naddrs == 0) {
		failed(h, r->status == DNS_Q_NONE ? "its host has no address" :
		    "its host cannot be looked up for now");
		return;
	}
	(void)snprintf(h->addr, sizeof(h->addr), "%s", r->addrs[0]);
	h->is_busy = 0;
	hook_next(h);
}

/* 1 if the event's type is one h wants. */
static int
wanted(const struct hook *h, json_t *e)
{
	const char *type = json_string_value(json_object_get(e, "type"));

	for (unsigned t = 0; t < EVENT_TYPE_N; t++)
		if (type != NULL && strcmp(type, event_type_name((enum event_type)t)) == 0)
			return (h->types >> t) & 1;
	return 0;
}

/* Seconds since the event (its "time", RFC 3339 UTC), or 0 when it cannot be read. */
static uint64_t
age_s(json_t *e)
{
	const char *t = json_string_value(json_object_get(e, "time"));
	struct tm tm;
	uint64_t now = clock_wall_us() / 1000000u, then;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	then = (uint64_t)timegm(&tm);
	return now > then ? now - then : 0;
}

static void
hook_next(struct hook *h)
{
	struct webhooks *w = h->w;

	if (h->is_busy)
		return;
	for (;;) {
		json_t *e;
		uint64_t next;

		if (h->at >= json_array_size(h->page)) {
			json_array_clear(h->page);
			h->at = 0;
			if (evlog_read(w->log, h->cursor, PAGE, h->page, &next) == -1 ||
			    json_array_size(h->page) == 0)
				return;	/* idle until webhooks_sink() says there is more */
		}
		e = json_array_get(h->page, h->at);
		if (!wanted(h, e) || (h->retry_ms > 0 && age_s(e) > w->cfg->webhook_retry_for_s)) {
			if (wanted(h, e))
				log_warn("webhook %s: event %s dropped: not taken within %u s",
				    h->conf->name, json_string_value(json_object_get(e, "cursor")),
				    w->cfg->webhook_retry_for_s);
			h->retry_ms = 0;
			moved(h, strtoull(json_string_value(json_object_get(e, "cursor")), NULL, 10));
			h->at++;
			continue;
		}
		break;
	}
	if (h->addr[0] == '\0') {
		h->is_busy = 1;
		h->lookup = dns_query_addrs(w->dns, h->host, AF_UNSPEC, on_resolved, h);
		return;
	}
	post(h, json_array_get(h->page, h->at));
}

/* ---- set-up ---- */

static int
hook_init(struct hook *h, struct webhooks *w, const struct config_webhook *conf, char *err,
    size_t errsize)
{
	struct evhttp_uri *u = evhttp_uri_parse(conf->url);
	const char *host, *path, *query;
	int port;

	h->w = w;
	h->conf = conf;
	if (u == NULL || (host = evhttp_uri_get_host(u)) == NULL || host[0] == '\0' ||
	    strlen(host) >= sizeof(h->host)) {
		(void)snprintf(err, errsize, "webhook %s: cannot read its url", conf->name);
		evhttp_uri_free(u);
		return -1;
	}
	h->is_tls = strcmp(evhttp_uri_get_scheme(u), "https") == 0;
	(void)snprintf(h->host, sizeof(h->host), "%s", host);
	port = evhttp_uri_get_port(u);
	h->port = port > 0 ? (unsigned)port : h->is_tls ? 443 : 80;
	if (port > 0)
		(void)snprintf(h->host_header, sizeof(h->host_header), "%s%s%s:%u",
		    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", h->port);
	else
		(void)snprintf(h->host_header, sizeof(h->host_header), "%s%s%s",
		    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "");
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	(void)snprintf(h->path, sizeof(h->path), "%s%s%s", path && path[0] ? path : "/",
	    query ? "?" : "", query ? query : "");
	/* a numeric host needs no lookup */
	if (config_is_ip(h->host))
		(void)snprintf(h->addr, sizeof(h->addr), "%s", h->host);
	evhttp_uri_free(u);
	/* checked when the configuration was read; none named means every type */
	if (config_names_parse(conf->types, config_event_types, CONFIG_EVENT_TYPES,
	    &h->types) == -1 || h->types == 0)
		h->types = (1u << EVENT_TYPE_N) - 1;
	h->page = json_array();
	h->timer = evtimer_new(w->base, on_timer, h);
	h->save_timer = evtimer_new(w->base, on_save_timer, h);
	ASSERT(h->timer != NULL && h->save_timer != NULL);
	if (cursor_load(h) == -1) {
		/* a new webhook hears of what happens from now on, not of the past */
		h->cursor = evlog_last(w->log);
		h->saved = UINT64_MAX;
		cursor_save(h);
	}
	return 0;
}

struct webhooks *
webhooks_new(const struct config *c, struct evlog *log, struct event_base *base,
    struct dns *dns, const char *state_dir, char *err, size_t errsize)
{
	struct webhooks *w = xcalloc(1, sizeof(*w));

	w->cfg = c;
	w->log = log;
	w->base = base;
	w->dns = dns;
	w->state_dir = xstrdup(state_dir);
	if (mkdir_p(state_dir, 0700) == -1) {
		(void)snprintf(err, errsize, "cannot make %s: %s", state_dir, strerror(errno));
		webhooks_free(&w);
		return NULL;
	}
	/* receivers are verified against the system's trust store, as a browser would */
	if ((w->ssl_ctx = tls_client_ctx_new(TLS_PROFILE_STRICT, "", err, errsize)) == NULL) {
		webhooks_free(&w);
		return NULL;
	}
	w->hooks = xcalloc(c->nwebhooks ? c->nwebhooks : 1, sizeof(*w->hooks));
	for (size_t i = 0; i < c->nwebhooks; i++, w->n++)
		if (hook_init(&w->hooks[i], w, &c->webhooks[i], err, errsize) == -1) {
			webhooks_free(&w);
			return NULL;
		}
	for (size_t i = 0; i < w->n; i++)
		hook_next(&w->hooks[i]);
	return w;
}

void
webhooks_sink(void *ctx, const struct event *e)
{
	struct webhooks *w = ctx;

	(void)e;
	for (size_t i = 0; i < w->n; i++)
		if (!w->hooks[i].is_busy && !evtimer_pending(w->hooks[i].timer, NULL))
			/*
			 * A look a tenth of a second later, with whatever came meanwhile:
			 * a busy server wakes a caught-up webhook ten times a second, not
			 * once per event (each look reads the log's current file).
			 */
			later(&w->hooks[i], WAKE_DELAY_MS);
}

void
webhooks_free(struct webhooks **wp)
{
	struct webhooks *w = *wp;

	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++) {
		struct hook *h = &w->hooks[i];

		dns_query_cancel(&h->lookup);
		if (h->req != NULL)
			evhttp_cancel_request(h->req);
		if (h->conn != NULL)
			evhttp_connection_free(h->conn);
		if (h->dead != NULL)
			evhttp_connection_free(h->dead);
		cursor_save(h);
		event_free(h->timer);
		event_free(h->save_timer);
		json_decref(h->page);
	}
	free(w->hooks);
	if (w->ssl_ctx != NULL)
		SSL_CTX_free(w->ssl_ctx);
	free(w->state_dir);
	free(w);
	*wp = NULL;
}
