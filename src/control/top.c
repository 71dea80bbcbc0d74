/*
 * top.c - sterna top's frame: what the daemon is doing, from two replies
 * of the control socket's metrics op (docs/control.md) taken some seconds
 * apart. Counters become rates per second between the two samples (a
 * daemon that restarted between them starts from zero again); gauges are
 * shown as they are in the newer one. Pure: the terminal, the keys and
 * the samples' timing are main/top_cli.c's.
 *
 * A frame is a few lines of at most the given width, ASCII only (a byte
 * that is not printable from a label value becomes '?', so a name cannot
 * move the cursor), never more lines than the given height.
 */
#include "control/control.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

#define LINE_MAX_BYTES 512
#define PARTS_MAX 32		/* the label values one line breaks a figure into */

struct frame {
	FILE *f;
	const json_t *prev, *cur;	/* the families of each sample ("metrics"); prev may be NULL */
	double dt;			/* seconds between them */
	unsigned width, height, nlines;
};

/* ---- figures out of a sample ---- */

static const json_t *
series_of(const json_t *families, const char *name)
{
	return json_object_get(json_object_get(families, name), "series");
}

/* Whether a series' label key has the value want (key NULL: any series). */
static int
label_is(const json_t *s, const char *key, const char *want)
{
	const char *v;

	if (key == NULL)
		return 1;
	v = json_string_value(json_object_get(json_object_get(s, "labels"), key));
	return v != NULL && strcmp(v, want) == 0;
}

/* field ("value", "count", "sum") of family name, summed over the series with key = want. */
static double
sum(const json_t *families, const char *name, const char *field, const char *key,
    const char *want)
{
	const json_t *s;
	size_t i;
	double total = 0;

	json_array_foreach(series_of(families, name), i, s)
		if (label_is(s, key, want))
			total += json_number_value(json_object_get(s, field));
	return total;
}

/* A counter's growth between the samples: what it is now, after a restart (it went down). */
static double
growth(const struct frame *fr, const char *name, const char *field, const char *key,
    const char *want)
{
	double now = sum(fr->cur, name, field, key, want);
	double before = sum(fr->prev, name, field, key, want);

	return now >= before ? now - before : now;
}

/* The rate per second of a counter, or NAN when there is one sample only. */
static double
rate(const struct frame *fr, const char *name, const char *key, const char *want)
{
	if (fr->prev == NULL || fr->dt <= 0)
		return NAN;
	return growth(fr, name, "value", key, want) / fr->dt;
}

struct part {
	const char *name;	/* a label value, borrowed from the newer sample */
	double n;		/* its rate, or its value */
};

static int
part_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->name, y->name);
}

/*
 * Family name (counters: rates, is_rate; gauges: values) split by the
 * label by, over the series whose key is want (key NULL: all), largest
 * first, those that are 0 left out; returns how many there are.
 */
static size_t
parts(const struct frame *fr, const char *name, const char *by, const char *key, const char *want,
    int is_rate, struct part *out)
{
	const json_t *s;
	size_t i, n = 0;

	if (is_rate && (fr->prev == NULL || fr->dt <= 0))
		return 0;
	json_array_foreach(series_of(fr->cur, name), i, s) {
		const char *v = json_string_value(json_object_get(json_object_get(s, "labels"), by));
		size_t k;

		if (v == NULL || !label_is(s, key, want))
			continue;
		for (k = 0; k < n && strcmp(out[k].name, v) != 0; k++)
			;
		if (k == n) {
			if (n == PARTS_MAX)
				continue;
			out[n++] = (struct part){ v, is_rate ? growth(fr, name, "value", by, v) / fr->dt :
			    sum(fr->cur, name, "value", by, v) };
		}
	}
	/* a value is counted once per label value: the sums above cover every series of it */
	qsort(out, n, sizeof(*out), part_cmp);
	while (n > 0 && out[n - 1].n <= 0)
		n--;
	return n;
}

/* ---- text ---- */

/* A line, cut at the width, with what is not printable ASCII made '?'. */
static void
emit(struct frame *fr, const char *line)
{
	size_t n = strlen(line);

	if (fr->nlines >= fr->height)
		return;
	if (n > fr->width)
		n = fr->width;
	for (size_t i = 0; i < n; i++)
		fputc(line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?', fr->f);
	fputc('\n', fr->f);
	fr->nlines++;
}

/* Appends to line (LINE_MAX_BYTES), cutting what does not fit. */
static void
add(char *line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(char *line, const char *fmt, ...)
{
	size_t len = strlen(line);
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line + len, LINE_MAX_BYTES - len, fmt, ap);
	va_end(ap);
}

/* "12.5/s", "-" for no rate yet. */
static const char *
per_s(double r, char *buf, size_t size)
{
	if (isnan(r))
		snprintf(buf, size, "-");
	else if (r >= 1000)
		snprintf(buf, size, "%.0f/s", r);
	else
		snprintf(buf, size, "%.1f/s", r);
	return buf;
}

static const char *
bytes_per_s(double r, char *buf, size_t size)
{
	if (isnan(r))
		snprintf(buf, size, "-");
	else if (r >= 1024 * 1024)
		snprintf(buf, size, "%.1f MiB/s", r / (1024 * 1024));
	else if (r >= 1024)
		snprintf(buf, size, "%.1f KiB/s", r / 1024);
	else
		snprintf(buf, size, "%.0f B/s", r);
	return buf;
}

/* "42s", "5m 03s", "2h 03m", "3d 04h". */
static const char *
age(double s, char *buf, size_t size)
{
	unsigned long long t = s > 0 ? (unsigned long long)s : 0;

	if (t < 60)
		snprintf(buf, size, "%llus", t);
	else if (t < 3600)
		snprintf(buf, size, "%llum %02llus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, size, "%lluh %02llum", t / 3600, t / 60 % 60);
	else
		snprintf(buf, size, "%llud %02lluh", t / 86400, t / 3600 % 24);
	return buf;
}

/* ": a 1.0  b 0.5" after a figure: its parts, as many as the line holds. */
static void
add_parts(char *line, const struct part *p, size_t n, int is_rate)
{
	for (size_t i = 0; i < n; i++) {
		if (is_rate)
			add(line, "%s%s %.1f", i ? "  " : ": ", p[i].name, p[i].n);
		else
			add(line, "%s%s %.0f", i ? "  " : ": ", p[i].name, p[i].n);
	}
}

/* A rate per second broken down by a label: "Label  12.0/s: x 10.0  y 2.0". */
static void
rate_line(struct frame *fr, const char *label, const char *name, const char *by,
    const char *key, const char *want, const char *tail)
{
	char line[LINE_MAX_BYTES] = "", r[32];
	struct part p[PARTS_MAX];
	size_t n = parts(fr, name, by, key, want, 1, p);

	add(line, "%-11s %s", label, per_s(rate(fr, name, key, want), r, sizeof(r)));
	add_parts(line, p, n, 1);
	if (tail != NULL)
		add(line, "%s", tail);
	emit(fr, line);
}

/* The mean of a histogram's observations between the samples: "1.1 ms", or "-". */
static const char *
mean_seconds(const struct frame *fr, const char *name, const char *key, const char *want,
    char *buf, size_t size)
{
	double n = fr->prev ? growth(fr, name, "count", key, want) : 0;
	double total = fr->prev ? growth(fr, name, "sum", key, want) : 0;

	if (n <= 0)
		snprintf(buf, size, "-");
	else if (total / n < 1)
		snprintf(buf, size, "%.1f ms", total / n * 1000);
	else
		snprintf(buf, size, "%.2f s", total / n);
	return buf;
}

/* Shares of each TLS version in a direction between the samples: " (TLSv1.3 100%)". */
static void
add_tls_shares(const struct frame *fr, char *line, const char *direction)
{
	struct part p[PARTS_MAX];
	size_t n = parts(fr, "sterna_tls_handshakes_total", "version", "direction", direction, 1, p);
	double total = 0;

	for (size_t i = 0; i < n; i++)
		total += p[i].n;
	for (size_t i = 0; i < n; i++)
		add(line, "%s%s %.0f%%", i ? "  " : " (", p[i].name, p[i].n * 100 / total);
	if (n > 0)
		add(line, ")");
}

static void
head(struct frame *fr, double interval_s, time_t now)
{
	const json_t *s = json_array_get(series_of(fr->cur, "sterna_build_info"), 0);
	const char *version = json_string_value(json_object_get(json_object_get(s, "labels"),
	    "version"));
	double started = sum(fr->cur, "process_start_time_seconds", "value", NULL, NULL);
	char line[LINE_MAX_BYTES] = "", up[32], clock[16];
	struct tm tm;

	strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
	add(line, "sterna %s  up %s  %s  every %g s  q quits", version ? version : "?",
	    age((double)now - started, up, sizeof(up)), clock, interval_s);
	emit(fr, line);
	emit(fr, "");
}

static void
queue_lines(struct frame *fr)
{
	static const char *const states[] = { "queued", "active", "deferred", "held", "scheduled" };
	char line[LINE_MAX_BYTES] = "", old[32];

	add(line, "%-11s %.0f messages  oldest %s  outbound connections %.0f", "Queue",
	    sum(fr->cur, "sterna_queue_messages", "value", NULL, NULL),
	    age(sum(fr->cur, "sterna_queue_oldest_seconds", "value", NULL, NULL), old, sizeof(old)),
	    sum(fr->cur, "sterna_outbound_connections", "value", NULL, NULL));
	emit(fr, line);
	line[0] = '\0';
	add(line, "%-11s", "");
	for (size_t i = 0; i < NELEM(states); i++)
		add(line, " %s %.0f", states[i], sum(fr->cur, "sterna_queue_messages", "value",
		    "state", states[i]));
	emit(fr, line);
}

static void
session_lines(struct frame *fr)
{
	char line[LINE_MAX_BYTES] = "", r[32];
	struct part p[PARTS_MAX];
	size_t n = parts(fr, "sterna_smtp_sessions", "listener", NULL, NULL, 0, p);

	add(line, "%-11s %.0f open", "Sessions",
	    sum(fr->cur, "sterna_smtp_sessions", "value", NULL, NULL));
	add_parts(line, p, n, 0);
	emit(fr, line);
	line[0] = '\0';
	add(line, "%-11s accepted %s", "",
	    per_s(rate(fr, "sterna_smtp_sessions_accepted_total", NULL, NULL), r, sizeof(r)));
	add(line, "  TLS %s",
	    per_s(rate(fr, "sterna_tls_handshakes_total", "direction", "inbound"), r, sizeof(r)));
	add_tls_shares(fr, line, "inbound");
	emit(fr, line);
}

static void
traffic_lines(struct frame *fr)
{
	char line[LINE_MAX_BYTES] = "", r[32], b[32], lat[32];
	struct part p[PARTS_MAX];
	size_t n = parts(fr, "sterna_messages_received_total", "entrance", NULL, NULL, 1, p);

	add(line, "%-11s %s %s", "Received",
	    per_s(rate(fr, "sterna_messages_received_total", NULL, NULL), r, sizeof(r)),
	    bytes_per_s(rate(fr, "sterna_received_bytes_total", NULL, NULL), b, sizeof(b)));
	add_parts(line, p, n, 1);
	emit(fr, line);
	snprintf(line, sizeof(line), "  latency %s",
	    mean_seconds(fr, "sterna_delivery_seconds", "event", "delivered", lat, sizeof(lat)));
	rate_line(fr, "Delivered", "sterna_delivery_results_total", "agent", "result", "delivered",
	    line);
	rate_line(fr, "Deferred", "sterna_delivery_results_total", "category", "result",
	    "deferred", NULL);
	line[0] = '\0';
	add(line, "  of which expired %s", per_s(rate(fr, "sterna_recipients_total", "event", "expired"), r,
	    sizeof(r)));
	rate_line(fr, "Bounced", "sterna_bounces_total", "category", NULL, NULL, line);
	rate_line(fr, "Refused", "sterna_policy_refusals_total", "rule", NULL, NULL, NULL);
}

static void
auth_tls_commit_lines(struct frame *fr)
{
	char line[LINE_MAX_BYTES] = "", r[3][32], files[32], took[32];
	double flushes = NAN;

	add(line, "%-11s success %s  failure %s  blocked %s", "AUTH",
	    per_s(rate(fr, "sterna_smtp_auth_total", "result", "success"), r[0], sizeof(r[0])),
	    per_s(rate(fr, "sterna_smtp_auth_total", "result", "failure"), r[1], sizeof(r[1])),
	    per_s(rate(fr, "sterna_smtp_auth_total", "result", "blocked"), r[2], sizeof(r[2])));
	emit(fr, line);
	line[0] = '\0';
	add(line, "%-11s %s", "TLS out", per_s(rate(fr, "sterna_tls_handshakes_total", "direction",
	    "outbound"), r[0], sizeof(r[0])));
	add_tls_shares(fr, line, "outbound");
	emit(fr, line);
	/* a histogram's growth in observations: its "count", not a "value" */
	if (fr->prev != NULL && fr->dt > 0)
		flushes = growth(fr, "sterna_spool_flush_files", "count", NULL, NULL) / fr->dt;
	if (isnan(flushes) || flushes == 0)
		snprintf(files, sizeof(files), "-");
	else
		snprintf(files, sizeof(files), "%.1f", growth(fr, "sterna_spool_flush_files", "sum",
		    NULL, NULL) / (flushes * fr->dt));
	line[0] = '\0';
	add(line, "%-11s %s flushes  %s files each  %s each", "Commit", per_s(flushes, r[0],
	    sizeof(r[0])), files, mean_seconds(fr, "sterna_spool_flush_seconds", NULL, NULL, took,
	    sizeof(took)));
	emit(fr, line);
}

static void
total_lines(struct frame *fr)
{
	char line[LINE_MAX_BYTES] = "";

	add(line, "%-11s received %.0f  delivered %.0f  deferred %.0f  bounced %.0f", "Since start",
	    sum(fr->cur, "sterna_messages_received_total", "value", NULL, NULL),
	    sum(fr->cur, "sterna_recipients_total", "value", "event", "delivered"),
	    sum(fr->cur, "sterna_recipients_total", "value", "event", "deferred"),
	    sum(fr->cur, "sterna_recipients_total", "value", "event", "bounced") +
	    sum(fr->cur, "sterna_recipients_total", "value", "event", "expired"));
	emit(fr, line);
	line[0] = '\0';
	add(line, "%-11s refused %.0f  AUTH failures %.0f  sessions %.0f", "",
	    sum(fr->cur, "sterna_policy_refusals_total", "value", NULL, NULL),
	    sum(fr->cur, "sterna_smtp_auth_total", "value", "result", "failure"),
	    sum(fr->cur, "sterna_smtp_sessions_accepted_total", "value", NULL, NULL));
	emit(fr, line);
}

unsigned
ctl_top_frame(FILE *f, const json_t *prev, const json_t *cur, double dt_s, double interval_s,
    time_t now, unsigned width, unsigned height)
{
	struct frame fr = { .f = f, .cur = json_object_get(cur, "metrics"), .dt = dt_s,
		.width = width, .height = height };
	const json_t *pm = json_object_get(prev, "metrics");

	/* a daemon that started again since prev: its counters are new, no rate can be had */
	if (pm != NULL && sum(pm, "process_start_time_seconds", "value", NULL, NULL) ==
	    sum(fr.cur, "process_start_time_seconds", "value", NULL, NULL))
		fr.prev = pm;
	head(&fr, interval_s, now);
	queue_lines(&fr);
	session_lines(&fr);
	traffic_lines(&fr);
	auth_tls_commit_lines(&fr);
	emit(&fr, "");
	total_lines(&fr);
	return fr.nlines;
}
