/*
 * reply.c - the replies: a status and a JSON body, the error shape, the
 * headers that go with some of them (Retry-After, Allow,
 * WWW-Authenticate), Connection: close on a connection's last request;
 * one log line per request; and the guard's own refusals as bytes.
 */
#include "http/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/clock.h"
#include "util/log_event.h"
#include "util/xalloc.h"

void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nextra == NELEM(r->extra_name))
		return;
	r->extra_name[r->nextra] = name;
	snprintf(r->extra_value[r->nextra], sizeof(r->extra_value[0]), "%s", value);
	r->nextra++;
}

void
http_req_free(struct http_req *r)
{
	http_path_clear(&r->path);
	if (r->query != NULL) {
		evhttp_clear_headers(r->query);
		free(r->query);
	}
	json_decref(r->json);
	free(r->path_raw);
	memset(&r->key, 0, sizeof(r->key));
	free(r);
}

static int
to_evbuffer(const char *p, size_t n, void *ctx)
{
	return evbuffer_add(ctx, p, n);
}

/*
 * The reply to r: status, ctype, and the body in buf (taken; NULL for
 * none); sent, logged, and r freed. The connection's next request may come.
 */
static void
send_reply(struct http_req *r, int status, const char *ctype, struct evbuffer *buf,
    const char *code)
{
	struct http *srv = r->srv;
	struct http_conn *c = r->conn;
	struct evkeyvalq *h;

	log_ev_http(r->id, r->peer, http_method_name(r->method), r->path_raw, status,
	    r->has_key ? r->key.id : NULL, code, (clock_mono_us() - r->start_us) / 1000);
	ASSERT(srv->nreqs > 0);
	srv->nreqs--;
	if (c == NULL) {
		/* the client left: nobody to tell; the request is ours to free */
		evhttp_request_free(r->evreq);
		if (buf != NULL)
			evbuffer_free(buf);
		http_req_free(r);
		return;
	}
	c->req = NULL;
	h = evhttp_request_get_output_headers(r->evreq);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	for (size_t i = 0; i < r->nextra; i++)
		evhttp_add_header(h, r->extra_name[i], r->extra_value[i]);
	/* evhttp closes after the reply that says so: no connection lives for ever */
	if (c->is_last || srv->is_draining ||
	    c->nrequests >= srv->cfg->http_max_requests_per_connection)
		evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply(r->evreq, status, http_status_text(status), buf);
	if (buf != NULL)
		evbuffer_free(buf);
	http_req_free(r);
	http_conn_flush(c);
}

/* body (taken) as one compact line, in a new evbuffer; NULL for no body. */
static struct evbuffer *
json_buf(json_t *body)
{
	struct evbuffer *buf;

	if (body == NULL)
		return NULL;
	buf = evbuffer_new();
	ASSERT(buf != NULL && json_dump_callback(body, to_evbuffer, buf, JSON_COMPACT) == 0);
	evbuffer_add(buf, "\n", 1);
	json_decref(body);
	return buf;
}

void
http_reply_json(struct http_req *r, int status, json_t *body)
{
	send_reply(r, status, "application/json", json_buf(body), NULL);
}

void
http_reply_bytes(struct http_req *r, int status, const char *content_type, const void *body,
    size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	ASSERT(buf != NULL && evbuffer_add(buf, body, len) == 0);
	send_reply(r, status, content_type, buf, NULL);
}

static void
reply_error_v(struct http_req *r, enum http_err e, const char *field, const char *fmt,
    va_list ap)
{
	char msg[512];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	send_reply(r, http_err_status(e), "application/json",
	    json_buf(http_error_json(e, msg, field)), http_err_code(e));
}

void
http_reply_error(struct http_req *r, enum http_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(r, e, NULL, fmt, ap);
	va_end(ap);
}

void
http_reply_retry(struct http_req *r, enum http_err e, unsigned retry_after_s, const char *fmt,
    ...)
{
	char v[16];
	va_list ap;

	snprintf(v, sizeof(v), "%u", retry_after_s > 0 ? retry_after_s : 1);
	http_req_add_header(r, "Retry-After", v);
	va_start(ap, fmt);
	reply_error_v(r, e, NULL, fmt, ap);
	va_end(ap);
}

void
http_reply_field(struct http_req *r, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(r, HTTP_ERR_INVALID_FIELD, field, fmt, ap);
	va_end(ap);
}

void
http_refusal_bytes(enum http_err e, const char *why, struct evbuffer *out)
{
	json_t *j = http_error_json(e, why, NULL);
	char *body = json_dumps(j, JSON_COMPACT), date[64];
	time_t now = time(NULL);
	struct tm tm;
	int status = http_err_status(e);

	ASSERT(body != NULL);
	/* RFC 9110 5.6.7: IMF-fixdate (the C locale's names are the right ones) */
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 GMT");
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
	    "Cache-Control: no-store\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	    status, http_status_text(status), date, strlen(body) + 1, body);
	free(body);
	json_decref(j);
}
