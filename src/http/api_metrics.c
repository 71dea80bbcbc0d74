/*
 * api_metrics.c - GET /metrics: the registry (src/metrics) in Prometheus's
 * text exposition format, for scrapers, which carry no API key: the
 * figures say how much mail, never whose (no address is a label).
 */
#include "http/api_send.h"

#include "util/buf.h"

static void
get_metrics(struct http_req *r, void *arg)
{
	struct buf out;

	buf_init(&out, SIZE_MAX);
	metrics_write(arg, &out);
	http_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	buf_clear(&out);
}

int
http_api_metrics_add(struct http *srv, struct metrics *m, char *err, size_t errsize)
{
	const struct http_route route = { "GET", "/metrics", 0, 0, get_metrics, m };

	return http_route_add(srv, &route, err, errsize);
}
