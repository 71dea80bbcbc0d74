/*
 * dashboard.h - the live web dashboard (docs/dashboard.md), served by the
 * daemon's HTTP server beside the API:
 *   GET  /dashboard              the page (a session, else to the login)
 *   GET  /dashboard/login        the login form: an admin API key
 *   POST /dashboard/login        opens a session: a cookie, HttpOnly,
 *                                SameSite=Strict, Secure over TLS
 *   POST /dashboard/logout       ends it (X-CSRF-Token)
 *   GET  /dashboard/assets/NAME  style and script (no key: nothing secret)
 *   GET  /v1/dashboard           the figures, as JSON (admin key or session)
 *   GET  /v1/dashboard/messages/{id}  a message's latest events
 * The page reads and acts on the queue through /v1/queue (src/http's
 * api_queue.c, which takes the session too), the CLI's operations. Every
 * page goes out with a Content-Security-Policy of 'self' only.
 *   session.c    pure: sessions, tokens, the cookie's value
 *   dashboard.c  the routes, the figures as JSON
 */
#ifndef STERNA_DASHBOARD_DASHBOARD_H
#define STERNA_DASHBOARD_DASHBOARD_H

#include <stddef.h>

struct http;
struct event_base;
struct config;
struct sched;
struct server;
struct traffic;
struct destinations;
struct recent;

/* What the figures are read from: borrowed, they must outlive the server. */
struct dashboard_deps {
	struct event_base *base;	/* the loop: the queue is counted on it, paced */
	const struct config *cfg;
	struct sched *sched;
	struct server *server;		/* SMTP sessions open; may be NULL */
	struct traffic *traffic;
	struct destinations *dests;
	struct recent *recent;
};

struct dashboard;

/* Adds the routes above to srv (before http_start()): a new dashboard, or NULL with err. */
struct dashboard *dashboard_add(struct http *srv, const struct dashboard_deps *d, char *err,
    size_t errsize);
/* Frees *db (after the server, whose routes borrow it); db may point to NULL. */
void dashboard_free(struct dashboard **db);

#endif
