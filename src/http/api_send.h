/*
 * api_send.h - the HTTP API's sending endpoints (api_send.c), its event
 * feed and suppression list (api_events.c), and GET /metrics
 * (api_metrics.c): their routes, added to a server by the daemon, which
 * owns what they borrow.
 */
#ifndef STERNA_HTTP_API_SEND_H
#define STERNA_HTTP_API_SEND_H

#include <stddef.h>

#include "config/config.h"
#include "events/evlog.h"
#include "events/suppress.h"
#include "http/http.h"
#include "metrics/metrics.h"
#include "msg/msg.h"

struct api_send;

struct idem;

/*
 * POST /v1/messages, /v1/messages/raw and /v1/messages/batch on srv, into
 * the queue through msg, their Idempotency-Keys in idem (cfg, msg, idem
 * borrowed; they must outlive the server). NULL with err when a route
 * cannot be added. Free it after the server.
 */
struct api_send *http_api_send_add(struct http *srv, const struct config *cfg,
    struct msg_core *msg, struct idem *idem, char *err, size_t errsize);
void http_api_send_free(struct api_send **a);

struct api_events;

/*
 * GET /v1/events from log, and /v1/suppressions (GET; PUT and DELETE of
 * /v1/suppressions/{email}) over sup, on srv (borrowed, as above).
 */
struct api_events *http_api_events_add(struct http *srv, struct evlog *log,
    struct suppress *sup, char *err, size_t errsize);
void http_api_events_free(struct api_events **a);

/* GET /metrics on srv, without a key, from m (borrowed): 0, or -1 with err. */
int http_api_metrics_add(struct http *srv, struct metrics *m, char *err, size_t errsize);

#endif
