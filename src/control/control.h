/*
 * control.h - the control socket: how `sterna queue`, `sterna status`,
 * mailq and `sendmail -q` talk to the daemon. A UNIX stream socket,
 * <spool.dir>/control (mode 0660, server.user's), and one JSON object per
 * line each way; docs/control.md is the protocol.
 *
 *   proto.c    request lines into requests, and queue views, results and
 *              errors into JSON (pure: no sockets, no libevent)
 *   control.c  the daemon's side: the socket, who may use it, connections,
 *              listings streamed a slice per turn of the loop, operations
 *              through the scheduler's queue interface (sched/queue.h)
 *   client.c   the command line's side: connect, send, read reply lines
 *   print.c    replies as text for people (mailq's table, show, status)
 *   top.c      sterna top's frame, from two samples of the metrics op
 */
#ifndef STERNA_CONTROL_CONTROL_H
#define STERNA_CONTROL_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "qview/qview.h"
#include "sched/queue.h"
#include "util/qid.h"

#define CTL_SOCKET_NAME "control"	/* in spool.dir */
#define CTL_MAX_LINE 4096		/* a request line, its LF included */
#define CTL_MAX_DEPTH 8			/* arrays and objects nested in a request */
#define CTL_MAX_TEXT QVIEW_MAX_TEXT	/* a string of a filter (sender, recipient, domain) */
#define CTL_MAX_REPLY_LINE (64u << 20)	/* what the client reads as one reply line */

/* ---- requests (proto.c) ---- */

enum ctl_line {
	CTL_LINE_OK,		/* a whole line: *len_out bytes, then the LF */
	CTL_LINE_MORE,		/* no LF yet, and room for more */
	CTL_LINE_TOO_LONG,	/* CTL_MAX_LINE bytes without an LF */
};

/*
 * Finds the first request line in p[0..n): its length without the LF in
 * *len_out (the caller then drops len + 1 bytes). Bytes inside the line
 * are not judged here (ctl_req_parse does).
 */
enum ctl_line ctl_line_find(const uint8_t *p, size_t n, size_t *len_out);

/* Every error a reply can carry; each has a stable code (ctl_err_code). */
enum ctl_err {
	CTL_ERR_NONE,
	CTL_ERR_LINE_TOO_LONG,	/* "line_too_long": the connection is closed after it */
	CTL_ERR_BAD_JSON,	/* "bad_json": not one JSON text, not UTF-8, a NUL */
	CTL_ERR_TOO_DEEP,	/* "too_deep": nested deeper than CTL_MAX_DEPTH */
	CTL_ERR_BAD_REQUEST,	/* "bad_request": not an object, no op, unknown key, wrong type */
	CTL_ERR_UNKNOWN_OP,	/* "unknown_op" */
	CTL_ERR_BAD_FILTER,	/* "bad_filter": an unknown key or a bad value in "filter" */
	CTL_ERR_FILTER_REQUIRED, /* "filter_required": an operation with no filter and no "all" */
	CTL_ERR_NOT_FOUND,	/* "not_found": show of a queue id that is not in the queue */
	CTL_ERR_FORBIDDEN,	/* "forbidden": the peer may not use the socket; then closed */
	CTL_ERR_BUSY,		/* "busy": too many control connections; then closed */
	CTL_ERR_RELOAD_REFUSED,	/* "reload_refused": the new configuration is bad; the old stays */
	CTL_NERRS
};

/* The stable code of e ("bad_json", ...); "" for CTL_ERR_NONE. */
const char *ctl_err_code(enum ctl_err e);
/* The error whose code is code: 0, or -1 for a code this version does not know. */
int ctl_err_parse(const char *code, enum ctl_err *out);

enum ctl_kind {
	CTL_LIST,	/* every message the filter matches, streamed */
	CTL_SHOW,	/* one message, with its whole envelope */
	CTL_STATUS,	/* the daemon and the queue in numbers */
	CTL_APPLY,	/* flush, hold, release, delete, bounce (sched_apply) */
	CTL_SUPPRESSIONS,	/* the suppression list, whole */
	CTL_SUPPRESS,	/* an address onto it ("email", "reason") */
	CTL_UNSUPPRESS,	/* an address off it ("email") */
	CTL_METRICS,	/* every figure of the metrics registry (sterna top) */
	CTL_RELOAD,	/* read the configuration again (sterna reload) */
};

/* A request, parsed: it owns the strings its filter points to. */
struct ctl_req {
	enum ctl_kind kind;
	enum sched_op op;		/* CTL_APPLY */
	struct qview_filter qf;		/* CTL_LIST, CTL_SHOW (qid only), CTL_APPLY */
	int is_all;			/* "all": true: an operation's empty filter needs it */
	char *email;			/* CTL_SUPPRESS, CTL_UNSUPPRESS */
	char *reason;			/* CTL_SUPPRESS: may be NULL */
};

/*
 * Parses one request line p[0..len) (without its LF; any bytes). Returns
 * CTL_ERR_NONE with r filled (ctl_req_clear() frees it), or the error
 * with a sentence for people in why (r then needs no clearing). Checked in
 * this order: depth (before any parsing, so that no parser recurses
 * deeply), JSON, the object's keys, op, filter, and "all".
 */
enum ctl_err ctl_req_parse(const uint8_t *p, size_t len, struct ctl_req *r, char *why,
    size_t whysize);
void ctl_req_clear(struct ctl_req *r);
/*
 * "list", "show", "status", "suppressions", "suppress", "unsuppress",
 * "metrics", "reload", or the operation's name.
 */
const char *ctl_req_op_name(const struct ctl_req *r);
/*
 * A request for the daemon: op is "list", "status", an operation's name,
 * ...; f (may be NULL) becomes its "filter", is_all its "all". For show,
 * use op "show" and f->qid. Returns a new object.
 */
json_t *ctl_req_new(const char *op, const struct sched_filter *f, int is_all);

/* ---- replies (proto.c) ---- */

/* {"ok":false,"error":{"code":...,"message":...}}: a new object. */
json_t *ctl_reply_error(enum ctl_err e, const char *message);
/* {"ok":true,"count":N}: the end of a listing. */
json_t *ctl_reply_end(size_t count);
/* {"ok":true,"op":...,"matched":N,"done":N,"failed":N}. */
json_t *ctl_reply_result(enum sched_op op, const struct sched_op_result *r);

/* What a status reply says besides the scheduler's numbers. */
struct ctl_status {
	struct sched_stats st;
	uint64_t started_s;		/* when the daemon started (seconds since the epoch) */
	uint64_t uptime_s;
	unsigned sessions;		/* SMTP sessions open */
	unsigned controls;		/* control connections open, this one included */
};

/* {"ok":true,"status":{...}}. */
json_t *ctl_reply_status(const struct ctl_status *s);
struct metrics;
/*
 * {"ok":true,"metrics":{NAME:{"type","help","labels":[...],"series":[...]}}}:
 * every family of m (read now; its read hooks run) and each of its series:
 * {"labels":{NAME:VALUE},"value":N}, for a histogram "count", "sum" and
 * "buckets": [[upper bound, observations at or under it], ...] (+Inf is
 * "count"). docs/control.md, "Metrics".
 */
json_t *ctl_reply_metrics(struct metrics *m);
/* What a reload did: the daemon's answer to the reload op (serve.c makes it). */
struct ctl_reload {
	int is_done;			/* a new generation is in use */
	uint64_t generation;		/* the one in use now */
	char error[1024];		/* !is_done: "FILE:LINE: reason" */
	char restart_keys[2048];	/* is_done: "key, key": changed, waiting for a restart */
};
/*
 * {"ok":true,"op":"reload","generation":N,"restart":[KEY,...]}, or the
 * error reload_refused with its reason and "generation" (the one that
 * stays). A new object.
 */
json_t *ctl_reply_reload(const struct ctl_reload *r);
/* {"msg": msg}, taking msg. */
json_t *ctl_reply_msg(json_t *msg);
/*
 * Writes j as one line (compact, LF-terminated) through write(p, n, ctx),
 * which returns 0, or -1 to stop (jansson's dump callback). Returns 0, or -1.
 */
int ctl_json_line(const json_t *j, json_dump_callback_t write, void *ctx);

/* ---- the daemon's side (control.c) ---- */

struct control;
struct event_base;
struct server;
struct sched;

struct control_deps {
	struct event_base *base;
	const char *spool_dir;		/* the socket is spool_dir/control */
	struct sched *sched;		/* borrowed; must outlive the control */
	struct server *server;		/* for its session count; borrowed */
	struct suppress *suppress;	/* the suppression list; borrowed */
	struct metrics *metrics;	/* the figures of the metrics op; borrowed */
	/* the reload op: reads the configuration again, on the loop, and says what it did */
	void (*reload)(void *ctx, struct ctl_reload *out);
	void *reload_ctx;
	uint64_t started_us;		/* the daemon's start, wall clock */
};

/*
 * Makes the socket (a stale one left by an earlier daemon is replaced: the
 * spool lock says none runs), mode 0660, and serves it. Run it as
 * server.user, after privileges are dropped, so that the socket is that
 * user's. Returns a new control, or NULL with the reason in err.
 */
struct control *control_new(const struct control_deps *d, char *err, size_t errsize);
/*
 * Closes every connection (operations in hand go on in the scheduler),
 * removes the socket, frees *c; c may point to NULL.
 */
void control_free(struct control **c);

/* ---- the command line's side (client.c) ---- */

struct ctl_client;

/*
 * Connects to the socket at path: a new client, or NULL with errno
 * (ENOENT, ECONNREFUSED: no daemon; EACCES: the socket's mode refuses us).
 */
struct ctl_client *ctl_client_connect(const char *path);
/*
 * The daemon's socket for the configuration at config (read as
 * config_load_submit() reads it): a new client, or NULL with a sentence in
 * err and the sysexits.h code in *code_out (EX_CONFIG, EX_NOPERM,
 * EX_UNAVAILABLE).
 */
struct ctl_client *ctl_client_open(const char *config, int *code_out, char *err,
    size_t errsize);
/* Sends req as one line: 0, or -1 with errno. */
int ctl_client_send(struct ctl_client *c, const json_t *req);
/*
 * Reads the next reply line: a new JSON object, or NULL with why in err
 * (the daemon closed the connection: *is_closed_out set; a line that is
 * no JSON object, or longer than CTL_MAX_REPLY_LINE).
 */
json_t *ctl_client_read(struct ctl_client *c, int *is_closed_out, char *err, size_t errsize);
/*
 * ctl_client_read() in two steps: the next line (no LF; valid until the
 * next read), 0, or -1 as ctl_client_read() fails; then, if wanted, its
 * JSON object (NULL with the reason in err when it is none).
 */
int ctl_client_next(struct ctl_client *c, const char **line_out, size_t *len_out, int *is_closed_out,
    char *err, size_t errsize);
json_t *ctl_client_parse(const char *line, size_t len, char *err, size_t errsize);
void ctl_client_free(struct ctl_client **c);

/* ---- text for people (print.c); every time in local time ---- */

/* mailq's heading ("-Queue ID- --Size-- ..."). */
void ctl_print_list_head(FILE *f);
/*
 * One message of a listing as mailq shows it: id with '*' (active) or '!'
 * (held), size, arrival, sender, then each recipient still to deliver,
 * under its last reply. Adds its size to *bytes.
 */
void ctl_print_list_msg(FILE *f, const json_t *msg, uint64_t *bytes);
/* "-- N Kbytes in M Requests." or "Mail queue is empty". */
void ctl_print_list_tail(FILE *f, uint64_t bytes, size_t count);
/* One message, every field on its own line (sterna queue show). */
void ctl_print_show(FILE *f, const json_t *msg);
/* A status reply's "status" object (sterna status). */
void ctl_print_status(FILE *f, const json_t *st);

/* ---- sterna top's frame (top.c) ---- */

/*
 * One frame of sterna top from replies of the metrics op: cur, and prev
 * (NULL for none yet: rates are shown as "-") taken dt_s seconds before
 * it; interval_s is the refresh interval and now the time of cur, for the
 * heading. Writes at most height lines of at most width columns each,
 * printable ASCII, each ended by LF, to f; returns how many.
 */
unsigned ctl_top_frame(FILE *f, const json_t *prev, const json_t *cur, double dt_s,
    double interval_s, time_t now, unsigned width, unsigned height);

#endif
