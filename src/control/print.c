/*
 * print.c - the daemon's replies as text for people: mailq's table (the
 * layout Postfix's mailq made familiar), one message in full, the status.
 * It reads the same JSON objects that --json prints, so the two outputs
 * cannot disagree. A field a daemon of another version does not send is
 * left out, not an error. Control bytes never reach the terminal.
 */
#include "control/control.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static const char *
sget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long
iget(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Text from the queue (addresses, a remote server's reply), with control bytes as '?'. */
static void
put_text(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* A time of the JSON ("...Z") in local time, with fmt; "?" when it is none. */
static const char *
local_time(const char *iso, const char *fmt, char *out, size_t size)
{
	uint64_t t;
	time_t tt;
	struct tm tm;

	if (iso == NULL || qview_time_parse(iso, &t) == -1)
		return "?";
	tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL || strftime(out, size, fmt, &tm) == 0)
		return "?";
	return out;
}

#define SHOW_TIME "%Y-%m-%d %H:%M:%S %z"

/* 1 if a recipient in this state is still to be delivered. */
static int
is_pending(const char *state)
{
	return state != NULL && (strcmp(state, "pending") == 0 || strcmp(state, "active") == 0 ||
	    strcmp(state, "deferred") == 0);
}

void
ctl_print_list_head(FILE *f)
{
	fprintf(f, "%-14s %8s %-20s  %s\n", "-Queue ID-", "--Size--", "----Arrival Time----",
	    "-Sender/Recipient-------");
}

void
ctl_print_list_msg(FILE *f, const json_t *msg, uint64_t *bytes)
{
	const char *state = sget(msg, "state"), *sender = sget(msg, "sender"), *last = NULL;
	const json_t *rcpts = json_object_get(msg, "recipients"), *r;
	char when[64];
	size_t i;
	long long size = iget(msg, "size");

	fputs(sget(msg, "id") != NULL ? sget(msg, "id") : "?", f);
	/* Postfix's marks: '*' an attempt is out, '!' on hold; ours: '@' scheduled for later */
	fputc(state == NULL ? ' ' : strcmp(state, "active") == 0 ? '*' :
	    strcmp(state, "held") == 0 ? '!' : strcmp(state, "scheduled") == 0 ? '@' : ' ', f);
	fprintf(f, " %8lld %-20s  ", size,
	    local_time(sget(msg, "arrival"), "%a %b %e %H:%M:%S", when, sizeof(when)));
	if (sender != NULL && sender[0] == '\0')
		fputs("<>", f);
	else
		put_text(f, sender);
	fputc('\n', f);
	json_array_foreach(rcpts, i, r) {
		const char *reply = sget(r, "last_reply");

		if (!is_pending(sget(r, "state")))
			continue;
		/* a reply shared by the recipients after it is said once, above them */
		if (reply != NULL && (last == NULL || strcmp(reply, last) != 0)) {
			fputc('(', f);
			put_text(f, reply);
			fputs(")\n", f);
			last = reply;
		}
		fprintf(f, "%46s", "");
		put_text(f, sget(r, "email"));
		fputc('\n', f);
	}
	fputc('\n', f);
	if (size > 0)
		*bytes += (uint64_t)size;
}

void
ctl_print_list_tail(FILE *f, uint64_t bytes, size_t count)
{
	if (count == 0) {
		fputs("Mail queue is empty\n", f);
		return;
	}
	fprintf(f, "-- %" PRIu64 " Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024, count,
	    count == 1 ? "" : "s");
}

/* "Label:" and the value, when there is one. */
static void
field(FILE *f, const char *label, const char *value)
{
	if (value == NULL)
		return;
	fprintf(f, "%-15s", label);
	put_text(f, value);
	fputc('\n', f);
}

static void
show_rcpt(FILE *f, const json_t *r)
{
	const char *orig = sget(r, "orig"), *to = sget(r, "email"), *status = sget(r, "status");
	char when[64];

	fputs("  <", f);
	put_text(f, to);
	fprintf(f, "> %s", sget(r, "state") != NULL ? sget(r, "state") : "?");
	if (sget(r, "agent") != NULL)
		fprintf(f, " (%s)", sget(r, "agent"));
	if (status != NULL)
		fprintf(f, " %s", status);
	fputc('\n', f);
	if (orig != NULL && to != NULL && strcmp(orig, to) != 0) {
		fputs("      as given: <", f);
		put_text(f, orig);
		fputs(">\n", f);
	}
	if (iget(r, "attempts") > 0 || sget(r, "next_attempt") != NULL) {
		fprintf(f, "      attempts: %lld", iget(r, "attempts"));
		if (sget(r, "next_attempt") != NULL)
			fprintf(f, ", next %s", local_time(sget(r, "next_attempt"), SHOW_TIME, when,
			    sizeof(when)));
		fputc('\n', f);
	}
	if (sget(r, "last_reply") != NULL) {
		fputs("      last reply: ", f);
		put_text(f, sget(r, "last_reply"));
		fputc('\n', f);
	}
}

void
ctl_print_show(FILE *f, const json_t *msg)
{
	const json_t *rcpts = json_object_get(msg, "recipients"), *r;
	const char *sender = sget(msg, "sender");
	char when[64], line[512];
	size_t i;

	field(f, "Queue ID:", sget(msg, "id"));
	field(f, "State:", sget(msg, "state"));
	field(f, "Arrival:", local_time(sget(msg, "arrival"), SHOW_TIME, when, sizeof(when)));
	fprintf(f, "%-15s%lld bytes\n", "Size:", iget(msg, "size"));
	if (sender != NULL) {
		snprintf(line, sizeof(line), "<%s>", sender);
		field(f, "Sender:", line);
	}
	if (sget(msg, "next_attempt") != NULL)
		field(f, "Next attempt:", local_time(sget(msg, "next_attempt"), SHOW_TIME, when,
		    sizeof(when)));
	field(f, "Origin:", sget(msg, "origin"));
	if (sget(msg, "client_ip") != NULL) {
		snprintf(line, sizeof(line), "%s [%s], HELO %s", sget(msg, "client_name") != NULL ?
		    sget(msg, "client_name") : "unknown", sget(msg, "client_ip"),
		    sget(msg, "helo") != NULL ? sget(msg, "helo") : "-");
		field(f, "Client:", line);
	}
	field(f, "Protocol:", sget(msg, "proto"));
	if (sget(msg, "tls_version") != NULL) {
		snprintf(line, sizeof(line), "%s %s", sget(msg, "tls_version"),
		    sget(msg, "tls_cipher") != NULL ? sget(msg, "tls_cipher") : "");
		field(f, "TLS:", line);
	}
	field(f, "Auth user:", sget(msg, "auth_user"));
	if (sget(msg, "local_user") != NULL) {
		snprintf(line, sizeof(line), "%s (uid %lld)", sget(msg, "local_user"),
		    iget(msg, "local_uid"));
		field(f, "Local user:", line);
	}
	if (sget(msg, "fail_status") != NULL) {
		snprintf(line, sizeof(line), "%s %s", sget(msg, "fail_status"),
		    sget(msg, "fail_text") != NULL ? sget(msg, "fail_text") : "");
		field(f, "Returned with:", line);
	}
	fputs("Recipients:\n", f);
	json_array_foreach(rcpts, i, r)
		show_rcpt(f, r);
}

/* "3d 04h 05m 06s", the larger units only when not zero. */
static const char *
span(long long s, char *out, size_t size)
{
	long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	if (d > 0)
		snprintf(out, size, "%lldd %02lldh %02lldm %02llds", d, h, m, s % 60);
	else if (h > 0)
		snprintf(out, size, "%lldh %02lldm %02llds", h, m, s % 60);
	else
		snprintf(out, size, "%lldm %02llds", m, s % 60);
	return out;
}

void
ctl_print_status(FILE *f, const json_t *st)
{
	const json_t *q = json_object_get(st, "queue"), *last = json_object_get(st, "last_minute");
	char when[64], up[64];

	fprintf(f, "sterna %s, up %s (since %s)\n",
	    sget(st, "version") != NULL ? sget(st, "version") : "?",
	    span(iget(st, "uptime_s"), up, sizeof(up)),
	    local_time(sget(st, "started"), SHOW_TIME, when, sizeof(when)));
	fprintf(f, "%-23s%lld\n", "SMTP sessions:", iget(st, "sessions"));
	fprintf(f, "%-23s%lld messages: %lld queued, %lld active, %lld deferred, %lld held, "
	    "%lld scheduled\n", "Queue:", iget(q, "total"), iget(q, "queued"), iget(q, "active"),
	    iget(q, "deferred"), iget(q, "held"), iget(q, "scheduled"));
	fprintf(f, "%-23s%lld\n", "Recipients to deliver:", iget(st, "recipients"));
	if (sget(st, "oldest_arrival") != NULL)
		fprintf(f, "%-23s%s\n", "Oldest message:",
		    local_time(sget(st, "oldest_arrival"), SHOW_TIME, when, sizeof(when)));
	fprintf(f, "%-23s%lld delivered, %lld deferred, %lld failed\n", "Last minute:",
	    iget(last, "delivered"), iget(last, "deferred"), iget(last, "failed"));
	fprintf(f, "%-23s%lld\n", "Outbound connections:", iget(st, "outbound_connections"));
}
