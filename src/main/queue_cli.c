/*
 * queue_cli.c - sterna queue, sterna status, mailq, and sendmail's -q and
 * -bp: clients of the daemon's control socket (src/control,
 * docs/control.md), found through the configuration (-c FILE, else
 * STERNA_CONFIG, else the installed one) as <spool.dir>/control.
 *
 * An operation never applies to the whole queue by default: it needs
 * queue ids, a filter, or --all. Several ids are one request each, on one
 * connection. The exit codes are sysexits.h's, as sendmail's are
 * (docs/operations.md has the table).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config/config.h"
#include "control/control.h"
#include "main/verbs.h"
#include "util/qid.h"
#include "util/xalloc.h"

struct qcli {
	const char *prog;		/* "sterna queue", "mailq", "sendmail": starts messages */
	const char *config;		/* -c */
	const char *sub;		/* list, show, status, or an operation */
	int is_json;
	int is_all;
	int is_op;			/* sub is an operation (flush, hold, ...) */
	int has_filter;			/* any filter option */
	struct sched_filter f;
	char *sender, *rcpt;		/* f.sender and f.rcpt, without their brackets */
	char *const *ids;
	int nids;
	/* what the replies added up to */
	size_t listed, matched, done, failed, missing;
	uint64_t bytes;
	int is_head_out;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sterna queue [-c FILE] [--json] list [FILTER] [ID ...]\n"
	    "       sterna queue [-c FILE] [--json] show ID ...\n"
	    "       sterna queue [-c FILE] [--json] flush|hold|release|delete|bounce "
	    "(ID ... | FILTER | --all)\n"
	    "       sterna status [-c FILE] [--json]\n"
	    "       mailq [-c FILE] [--json] [FILTER] [ID ...]\n"
	    "FILTER: --state STATE[,STATE] (queued, active, deferred, held) --sender ADDR\n"
	    "        --recipient ADDR --domain DOMAIN --older-than AGE --younger-than AGE\n"
	    "        (AGE: 30s, 5min, 2h, 1d)\n");
}

static void
say(const struct qcli *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(const struct qcli *q, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", q->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
parse_states(struct qcli *q, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;
	int ret = 0;

	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		enum sched_state st;

		if (sched_state_parse(t, &st) == -1) {
			say(q, "--state: '%s' is none of queued, active, deferred, held", t);
			ret = -1;
			break;
		}
		q->f.states |= 1u << st;
	}
	free(copy);
	return ret;
}

/* --older-than, --younger-than: whole seconds, at least one. */
static int
parse_age(struct qcli *q, const char *opt, const char *arg, uint64_t *out)
{
	uint64_t ms;

	if (config_parse_duration_ms(arg, &ms) == -1 || ms < 1000) {
		say(q, "%s: expected an age such as 30s, 5min, 2h or 1d, not '%s'", opt, arg);
		return -1;
	}
	*out = ms / 1000;
	return 0;
}

/* An address as people write it: "<a@b>" is "a@b", and "<>" (or "") the null sender. */
static char *
bare_address(char **owned, const char *s)
{
	size_t n = strlen(s);

	free(*owned);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		*owned = xstrndup(s + 1, n - 2);
	else
		*owned = xstrdup(s);
	return *owned;
}

enum { OPT_JSON = 256, OPT_ALL, OPT_STATE, OPT_SENDER, OPT_RCPT, OPT_DOMAIN, OPT_OLDER,
	OPT_YOUNGER };

/* Parses argv (options anywhere); returns 0, or an exit code after saying why. */
static int
parse_args(struct qcli *q, int argc, char **argv, int takes_sub)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "sender", required_argument, NULL, OPT_SENDER },
		{ "recipient", required_argument, NULL, OPT_RCPT },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "older-than", required_argument, NULL, OPT_OLDER },
		{ "younger-than", required_argument, NULL, OPT_YOUNGER },
		{ NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			q->config = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case OPT_JSON:
			q->is_json = 1;
			break;
		case OPT_ALL:
			q->is_all = 1;
			break;
		case OPT_STATE:
			bad |= parse_states(q, optarg);
			break;
		case OPT_SENDER:
			q->f.sender = bare_address(&q->sender, optarg);
			break;
		case OPT_RCPT:
			q->f.rcpt = bare_address(&q->rcpt, optarg);
			break;
		case OPT_DOMAIN:
			q->f.domain = optarg[0] == '@' ? optarg + 1 : optarg;
			break;
		case OPT_OLDER:
			bad |= parse_age(q, "--older-than", optarg, &q->f.min_age_s);
			break;
		case OPT_YOUNGER:
			bad |= parse_age(q, "--younger-than", optarg, &q->f.max_age_s);
			break;
		default:
			if (optopt != 0 && optopt < 256)
				say(q, "unknown option -%c, or it needs a value", optopt);
			else
				say(q, "unknown option %s, or it needs a value", argv[optind - 1]);
			bad = 1;
			break;
		}
	}
	if (bad)
		return EX_USAGE;
	if (takes_sub) {
		if (optind >= argc) {
			say(q, "what to do? list, show, flush, hold, release, delete or bounce");
			return EX_USAGE;
		}
		q->sub = argv[optind++];
	}
	q->ids = argv + optind;
	q->nids = argc - optind;
	q->has_filter = !qview_filter_is_empty(&q->f);
	return 0;
}

/* Whether the command line makes sense for q->sub: 0, or EX_USAGE after saying why. */
static int
check_args(struct qcli *q)
{
	enum sched_op op;

	for (int i = 0; i < q->nids; i++) {
		if (!qid_valid(q->ids[i], strlen(q->ids[i]))) {
			say(q, "'%s' is not a queue id", q->ids[i]);
			return EX_USAGE;
		}
	}
	if (strcmp(q->sub, "list") == 0 || strcmp(q->sub, "status") == 0) {
		if (q->is_all) {
			say(q, "--all is for operations; %s shows the whole queue without it",
			    q->sub);
			return EX_USAGE;
		}
		if (strcmp(q->sub, "status") == 0 && (q->has_filter || q->nids > 0)) {
			say(q, "status takes no filter and no queue id");
			return EX_USAGE;
		}
		return 0;
	}
	if (strcmp(q->sub, "show") == 0) {
		if (q->nids == 0 || q->has_filter || q->is_all) {
			say(q, "show takes queue ids, and only them");
			return EX_USAGE;
		}
		return 0;
	}
	if (sched_op_parse(q->sub, &op) == -1) {
		say(q, "unknown command '%s'", q->sub);
		usage(stderr);
		return EX_USAGE;
	}
	q->is_op = 1;
	/* never the whole queue by default */
	if (q->nids == 0 && !q->has_filter && !q->is_all) {
		say(q, "%s: give queue ids, a filter, or --all for every message", q->sub);
		return EX_USAGE;
	}
	if (q->is_all && (q->nids > 0 || q->has_filter)) {
		say(q, "%s: --all means every message; leave out the ids and filters", q->sub);
		return EX_USAGE;
	}
	return 0;
}

/* The exit code for an error reply. */
static int
error_exit(const char *code)
{
	enum ctl_err e;

	if (ctl_err_parse(code, &e) == -1)
		return EX_PROTOCOL;
	switch (e) {
	case CTL_ERR_NOT_FOUND:
		return EX_NOINPUT;
	case CTL_ERR_FORBIDDEN:
		return EX_NOPERM;
	case CTL_ERR_BUSY:
		return EX_TEMPFAIL;
	case CTL_ERR_BAD_FILTER:
	case CTL_ERR_FILTER_REQUIRED:
		return EX_USAGE;
	default:
		/* a request this program should never have sent */
		return EX_SOFTWARE;
	}
}

static void
print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
}

#define MSG_HEAD "{\"msg\":{"

/*
 * With --json, a message line of a listing is printed as the daemon wrote
 * it ({"msg":OBJECT}: OBJECT, compact, made by jansson) without being
 * parsed and encoded again here: the client's share of listing 100,000
 * messages on a machine that also receives mail is the larger one.
 */
static int
print_msg_line(const char *line, size_t len)
{
	size_t head = sizeof(MSG_HEAD) - 2;	/* up to the object's own '{' */

	if (len < sizeof(MSG_HEAD) || memcmp(line, MSG_HEAD, sizeof(MSG_HEAD) - 1) != 0 ||
	    line[len - 1] != '}' || line[len - 2] != '}')
		return 0;
	fwrite(line + head, 1, len - head - 1, stdout);
	putchar('\n');
	return 1;
}

/* A message line of a listing or show. */
static void
on_msg(struct qcli *q, const json_t *msg)
{
	q->listed++;
	if (q->is_json)
		print_json(msg);
	else if (strcmp(q->sub, "show") == 0)
		ctl_print_show(stdout, msg);
	else {
		if (!q->is_head_out)
			ctl_print_list_head(stdout);
		q->is_head_out = 1;
		ctl_print_list_msg(stdout, msg, &q->bytes);
	}
}

/* The last line of a reply that went well. */
static void
on_ok(struct qcli *q, const json_t *r, const char *id)
{
	const json_t *st = json_object_get(r, "status");
	size_t matched = (size_t)json_integer_value(json_object_get(r, "matched"));

	if (st != NULL) {
		if (q->is_json)
			print_json(st);
		else
			ctl_print_status(stdout, st);
		return;
	}
	if (json_object_get(r, "count") != NULL) {
		if (id != NULL && json_integer_value(json_object_get(r, "count")) == 0) {
			say(q, "%s: no such message in the queue", id);
			q->missing++;
		}
		return;
	}
	q->matched += matched;
	q->done += (size_t)json_integer_value(json_object_get(r, "done"));
	q->failed += (size_t)json_integer_value(json_object_get(r, "failed"));
	if (matched == 0) {
		q->missing++;
		if (id != NULL)
			say(q, "%s: no such message in the queue%s", id,
			    q->has_filter ? " (or it does not match the filter)" : "");
	}
	if (q->is_json)
		print_json(r);
	else if (id != NULL && matched > 0)
		printf("%s: %s: %s\n", id, q->sub,
		    json_integer_value(json_object_get(r, "failed")) ?
		    "failed (the daemon's log says why)" : "done");
}

/* Sends one request (for id, or the filter alone) and reads its reply: 0, or an exit code. */
static int
exchange(struct qcli *q, struct ctl_client *cl, const char *id)
{
	struct sched_filter f = q->f;
	json_t *req, *r;
	char err[256];
	int is_closed, is_sent, send_errno, code = 0;

	f.qid = id;
	req = ctl_req_new(q->sub, &f, q->is_all);
	/* a daemon that refused us may have closed already, after saying why: read that */
	is_sent = ctl_client_send(cl, req) == 0;
	send_errno = errno;
	json_decref(req);
	for (;;) {
		const json_t *msg, *ok;
		const char *line;
		size_t len;

		if (ctl_client_next(cl, &line, &len, &is_closed, err, sizeof(err)) == -1) {
			if (!is_sent)
				say(q, "cannot send to the daemon: %s", strerror(send_errno));
			else
				say(q, "%s", err);
			return is_closed || !is_sent ? EX_UNAVAILABLE : EX_PROTOCOL;
		}
		if (q->is_json && print_msg_line(line, len)) {
			q->listed++;
			continue;
		}
		if ((r = ctl_client_parse(line, len, err, sizeof(err))) == NULL) {
			say(q, "%s", err);
			return EX_PROTOCOL;
		}
		msg = json_object_get(r, "msg");
		ok = json_object_get(r, "ok");
		if (json_is_object(msg)) {
			on_msg(q, msg);
		} else if (json_is_true(ok)) {
			on_ok(q, r, id);
			break;
		} else if (json_is_false(ok)) {
			const json_t *e = json_object_get(r, "error");
			const char *ecode = json_string_value(json_object_get(e, "code"));
			const char *text = json_string_value(json_object_get(e, "message"));

			if (ecode != NULL && strcmp(ecode, "not_found") == 0 && id != NULL)
				say(q, "%s: no such message in the queue", id);
			else
				say(q, "the daemon said: %s (%s)", text ? text : "?",
				    ecode ? ecode : "?");
			code = ecode != NULL ? error_exit(ecode) : EX_PROTOCOL;
			break;
		} else {
			say(q, "a reply line this program does not understand");
			code = EX_PROTOCOL;
			break;
		}
		json_decref(r);
	}
	json_decref(r);
	return code;
}

/* Connects, runs every request, prints: the exit code. */
static int
run(struct qcli *q)
{
	struct ctl_client *cl;
	char err[1024];
	const char *conf = q->config != NULL ? q->config : verb_config_default();
	int code = 0;

	if ((cl = ctl_client_open(conf, &code, err, sizeof(err))) == NULL) {
		say(q, "%s", err);
		return code;
	}
	if (q->nids == 0)
		code = exchange(q, cl, NULL);
	/* one request per id; an id that is gone does not stop the others */
	for (int i = 0; i < q->nids && (code == 0 || code == EX_NOINPUT); i++) {
		int c = exchange(q, cl, q->ids[i]);

		if (c != 0)
			code = c;
	}
	ctl_client_free(&cl);
	if (strcmp(q->sub, "list") == 0 && !q->is_json && (code == 0 || code == EX_NOINPUT))
		ctl_print_list_tail(stdout, q->bytes, q->listed);
	if (q->nids == 0 && q->is_op && !q->is_json)
		printf("%s: %zu message%s matched, %zu done, %zu failed\n", q->sub, q->matched,
		    q->matched == 1 ? "" : "s", q->done, q->failed);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		say(q, "cannot write the output: %s", strerror(errno));
		return EX_IOERR;
	}
	if (code != 0)
		return code;
	if (q->failed > 0)
		return EX_IOERR;	/* the daemon could not record it on some message */
	if (q->missing > 0)
		return EX_NOINPUT;
	return EX_OK;
}

static int
main_with(struct qcli *q, int argc, char **argv, int takes_sub)
{
	int code = parse_args(q, argc, argv, takes_sub);

	if (code == -1)
		code = 0;	/* --help */
	else if (code == 0 && (code = check_args(q)) == 0)
		code = run(q);
	free(q->sender);
	free(q->rcpt);
	return code;
}

int
verb_queue(int argc, char **argv)
{
	struct qcli q = { .prog = "sterna queue" };

	return main_with(&q, argc, argv, 1);
}

int
verb_status(int argc, char **argv)
{
	struct qcli q = { .prog = "sterna status", .sub = "status" };

	return main_with(&q, argc, argv, 0);
}

int
verb_mailq(int argc, char **argv)
{
	struct qcli q = { .prog = "mailq", .sub = "list" };

	return main_with(&q, argc, argv, 0);
}

int
verb_queue_sendmail(const char *config_path, int is_flush, const char *domain)
{
	struct qcli q = { .prog = "sendmail", .config = config_path,
		.sub = is_flush ? "flush" : "list" };

	q.f.domain = domain;
	q.has_filter = domain != NULL;
	q.is_op = is_flush;
	/* sendmail -q means the whole queue: that is asked for here */
	q.is_all = is_flush && domain == NULL;
	return run(&q);
}
