/*
 * api_events.c - GET /v1/events (the event log, a page after a cursor) and
 * the suppression list under /v1/suppressions (docs/api.md). Cursors are
 * the event log's: decimal, opaque to clients, ordered.
 */
#include "http/api_send.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define PAGE_DEFAULT 100

struct api_events {
	struct evlog *log;
	struct suppress *sup;
};

/* "limit" of r: 1 to max, PAGE_DEFAULT when absent; 0 with the reply given when bad. */
static size_t
limit_of(struct http_req *r, size_t max)
{
	const char *s = http_req_query(r, "limit");
	char *end;
	unsigned long v;

	if (s == NULL)
		return PAGE_DEFAULT;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v == 0 || v > max) {
		http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "limit must be 1 to %zu", max);
		return 0;
	}
	return v;
}

/* 1 if the query has nothing but names; else the reply is given. */
static int
query_only(struct http_req *r, const char *const *names)
{
	const char *other;

	if (!http_req_query_has_other(r, names, &other))
		return 1;
	http_reply_error(r, HTTP_ERR_INVALID_REQUEST, "unknown query parameter '%.64s'", other);
	return 0;
}

static void
get_events(struct http_req *r, void *arg)
{
	static const char *const names[] = { "after", "limit", NULL };
	struct api_events *a = arg;
	const char *after_s = http_req_query(r, "after");
	uint64_t after = 0, next;
	char *end, cursor[24];
	size_t limit;
	json_t *evs;

	if (!query_only(r, names) || (limit = limit_of(r, EVLOG_PAGE_MAX)) == 0)
		return;
	if (after_s != NULL) {
		errno = 0;
		after = strtoull(after_s, &end, 10);
		if (after_s[0] < '0' || after_s[0] > '9' || *end != '\0' || errno != 0) {
			http_reply_field(r, "after", "not a cursor of this server's events");
			return;
		}
	}
	evs = json_array();
	if (evlog_read(a->log, after, limit, evs, &next) == -1) {
		json_decref(evs);
		http_reply_retry(r, HTTP_ERR_UNAVAILABLE, 5, "the event log cannot be read now");
		return;
	}
	(void)snprintf(cursor, sizeof(cursor), "%" PRIu64, next);
	http_reply_json(r, 200, json_pack("{s:o, s:s}", "events", evs, "next", cursor));
}

/* The {email} of r, checked as an address: NULL with the reply given when it is not one. */
static const char *
email_of(struct http_req *r)
{
	const char *e = http_req_param(r, "email");
	struct smtp_addr a;

	if (e == NULL || smtp_addr_parse(slice_str(e), 1, &a) != SMTP_ADDR_OK || a.is_null) {
		http_reply_field(r, "email", "not an email address");
		return NULL;
	}
	return e;
}

static void
get_suppressions(struct http_req *r, void *arg)
{
	static const char *const names[] = { "after", "limit", NULL };
	struct api_events *a = arg;
	const char *after = http_req_query(r, "after");
	json_t *list, *next;
	size_t limit, n;

	if (!query_only(r, names) || (limit = limit_of(r, 1000)) == 0)
		return;
	list = json_array();
	n = suppress_list(a->sup, after != NULL ? after : "", limit, list);
	/* a full page may have more after it: its last address is where the next one starts */
	next = n == limit ? json_incref(json_object_get(json_array_get(list, n - 1), "email")) :
	    json_null();
	http_reply_json(r, 200, json_pack("{s:o, s:I, s:o}", "suppressions", list,
	    "total", (json_int_t)suppress_count(a->sup), "next", next));
}

static void
get_suppression(struct http_req *r, void *arg)
{
	struct api_events *a = arg;
	const char *email = email_of(r);
	json_t *one;

	if (email == NULL)
		return;
	if ((one = suppress_get(a->sup, email)) == NULL) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "not on the suppression list");
		return;
	}
	http_reply_json(r, 200, one);
}

static void
put_suppression(struct http_req *r, void *arg)
{
	struct api_events *a = arg;
	const char *email = email_of(r);
	json_t *body = http_req_json(r), *reason;
	int added;

	if (email == NULL)
		return;
	reason = body != NULL ? json_object_get(body, "reason") : NULL;
	if (reason != NULL && (!json_is_string(reason) ||
	    json_string_length(reason) > SUPPRESS_REASON_MAX ||
	    strlen(json_string_value(reason)) != json_string_length(reason))) {
		http_reply_field(r, "reason", "a string of at most %d bytes", SUPPRESS_REASON_MAX);
		return;
	}
	added = suppress_add(a->sup, email, reason != NULL ? json_string_value(reason) :
	    "added through the API", clock_wall_us() / 1000000u);
	http_reply_json(r, added ? 201 : 200, json_pack("{s:s, s:b}", "email", email, "added",
	    added));
}

static void
delete_suppression(struct http_req *r, void *arg)
{
	struct api_events *a = arg;
	const char *email = email_of(r);

	if (email == NULL)
		return;
	if (!suppress_remove(a->sup, email)) {
		http_reply_error(r, HTTP_ERR_NOT_FOUND, "not on the suppression list");
		return;
	}
	http_reply_json(r, 200, json_pack("{s:s, s:b}", "email", email, "removed", 1));
}

struct api_events *
http_api_events_add(struct http *srv, struct evlog *log, struct suppress *sup, char *err,
    size_t errsize)
{
	struct api_events *a = xcalloc(1, sizeof(*a));
	const unsigned read = HTTP_SCOPE_READ | HTTP_SCOPE_ADMIN;
	const struct http_route routes[] = {
		{ "GET", "/v1/events", read, 0, get_events, a },
		{ "GET", "/v1/suppressions", HTTP_SCOPE_ADMIN, 0, get_suppressions, a },
		{ "GET", "/v1/suppressions/{email}", HTTP_SCOPE_ADMIN, 0, get_suppression, a },
		{ "PUT", "/v1/suppressions/{email}", HTTP_SCOPE_ADMIN, HTTP_ROUTE_JSON_BODY,
		  put_suppression, a },
		{ "DELETE", "/v1/suppressions/{email}", HTTP_SCOPE_ADMIN, 0, delete_suppression, a },
	};

	a->log = log;
	a->sup = sup;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (http_route_add(srv, &routes[i], err, errsize) == -1) {
			http_api_events_free(&a);
			return NULL;
		}
	return a;
}

void
http_api_events_free(struct api_events **ap)
{
	free(*ap);
	*ap = NULL;
}
