/*
 * sendmail.c - sterna sendmail, also run as "sendmail": the command line
 * that cron, mailx, PHP's mail() and git send-email expect of a sendmail,
 * with the exit codes of sysexits.h and a one-line reason on standard error.
 * The message is read from standard input (-bm, the default) or spoken in
 * SMTP there (-bs), and written into the spool's maildrop folder, where the
 * daemon takes it whenever it runs (sendmail_drop.c). No daemon is needed
 * and nothing is logged: there is no log here, only standard error.
 * -q (deliver the queue now) and -bp (list it) are the exceptions: they ask
 * the running daemon, as sterna queue does (queue_cli.c).
 * sterna sendmail is not installed set-id: who may submit is who may write
 * the maildrop folder (docs/operations.md). Installed set-group-id anyway,
 * it refuses a configuration named by the caller (-C, STERNA_CONFIG),
 * which could otherwise point the group's rights at another folder.
 */
#include "main/sendmail.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "main/verbs.h"
#include "mime/mime.h"
#include "msg/header.h"
#include "msg/maildrop.h"
#include "policy/policy.h"
#include "spool/spool.h"
#include "util/xalloc.h"

#define READ_STEP (64 * 1024)

struct sm_opts {
	const char *config;	/* -C, else STERNA_CONFIG, else STERNA_CONFIG_PATH */
	const char *sender;	/* -f / -r, as given */
	const char *fullname;	/* -F */
	int is_extract;		/* -t */
	int is_dot_end;		/* cleared by -i / -oi */
	int is_verbose;		/* -v */
	int is_smtp;		/* -bs */
	int is_list;		/* -bp: the queue, as mailq lists it */
	int is_flush;		/* -q: deliver the queue now (through the daemon) */
	const char *flush_domain; /* -qRdomain: only what waits for that domain */
	char **rcpts;		/* the arguments after the options */
	int nrcpts;
};

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on standard error, "sendmail: " first, as callers log it. */
static void
say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sendmail: %s\n", line);
}

/*
 * -o options: -oi is -i; error and delivery modes (-oem, -oep, -odi, -odb)
 * are accepted and change nothing (the daemon delivers, and errors come
 * back as bounces); others are old sendmail.cf settings, ignored.
 */
static void
opt_o(struct sm_opts *o, const char *arg)
{
	switch (arg[0]) {
	case 'i':
		if (arg[1] == '\0') {
			o->is_dot_end = 0;
			return;
		}
		break;
	case 'e':
	case 'd':
		return;
	default:
		break;
	}
	if (o->is_verbose)
		say("-o%s ignored", arg);
}

/* Parses argv; returns 0, or an exit code after saying why. */
static int
parse_opts(int argc, char **argv, struct sm_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->is_dot_end = 1;
	opterr = 0;
	optind = 1;
	/* "+": options end at the first recipient, as sendmail's own getopt does */
	while ((c = getopt(argc, argv, "+B:b:C:F:f:h:iL:mN:no:p:q::R:r:tUvV:X:")) != -1) {
		switch (c) {
		case 'b':
			if (strcmp(optarg, "m") == 0)
				o->is_smtp = 0;
			else if (strcmp(optarg, "s") == 0)
				o->is_smtp = 1;
			else if (strcmp(optarg, "p") == 0)
				o->is_list = 1;
			else {
				say("-b%s is not supported (only -bm, -bs and -bp are)", optarg);
				return EX_USAGE;
			}
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'f':
		case 'r':	/* the old name of -f */
			o->sender = optarg;
			break;
		case 'i':
			o->is_dot_end = 0;
			break;
		case 'o':
			opt_o(o, optarg);
			break;
		case 't':
			o->is_extract = 1;
			break;
		case 'v':
			o->is_verbose = 1;
			break;
		case 'q':
			/* Postfix's forms: -q, and -qRsite for one destination; no intervals */
			o->is_flush = 1;
			if (optarg != NULL && optarg[0] == 'R' && optarg[1] != '\0') {
				o->flush_domain = optarg[1] == '@' ? optarg + 2 : optarg + 1;
			} else if (optarg != NULL) {
				say("-q%s is not supported (only -q and -qRdomain are: the daemon "
				    "runs the queue itself)", optarg);
				return EX_USAGE;
			}
			break;
		case 'B':	/* body type: the daemon looks at the bytes */
		case 'h':	/* hop count: the daemon counts Received fields */
		case 'L':	/* syslog label: nothing is logged here */
		case 'N':	/* DSN NOTIFY, RFC 3461: not supported yet */
		case 'R':	/* DSN RET */
		case 'V':	/* DSN ENVID */
		case 'p':	/* protocol and host for Received: the daemon writes it */
		case 'X':	/* traffic log */
		case 'm':	/* "me too": always the case */
		case 'n':	/* no aliasing: aliases are the daemon's */
		case 'U':	/* initial user submission */
			if (o->is_verbose)
				say("-%c ignored", c);
			break;
		case ':':
			say("option -%c needs a value", optopt);
			return EX_USAGE;
		default:
			/* one line, as callers log it: the usage is in sterna --help */
			say("unknown option -%c", optopt);
			return EX_USAGE;
		}
	}
	o->rcpts = argv + optind;
	o->nrcpts = argc - optind;
	return 0;
}

/* The configuration to read, refusing a caller's choice in a set-id process. */
static const char *
config_path(const struct sm_opts *o, int *code_out)
{
	const char *env = getenv("STERNA_CONFIG");
	int is_setid = getuid() != geteuid() || getgid() != getegid();

	*code_out = 0;
	if (is_setid && (o->config != NULL || (env != NULL && env[0] != '\0'))) {
		say("-C and STERNA_CONFIG are refused when sendmail runs set-id");
		*code_out = EX_NOPERM;
		return NULL;
	}
	return o->config != NULL ? o->config : verb_config_default();
}

/* 0 if the full name can go into the file and a From field: bounded, no control bytes. */
static int
fullname_ok(const char *s)
{
	if (strlen(s) > MAILDROP_FULLNAME_MAX)
		return -1;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return -1;
	return 0;
}

/*
 * Asks about each recipient what the daemon will ask when it takes the
 * file (msg_env_add_rcpt: a trusted local client), since a file it cannot
 * queue goes to maildrop-bad/, where nobody reads it: an unknown local
 * user is refused now, with EX_NOUSER, and nothing is written. Returns 0,
 * or an exit code after saying why.
 */
static int
check_rcpts(const struct config *cfg, const struct sm_rcpts *rcpts)
{
	const struct relay_client local = { .ip = "127.0.0.1", .local_ip = "", .is_trusted = 1 };
	struct local_db *db = local_db_new(cfg);
	struct spool_msg *env = spool_msg_new();
	int code = 0;

	for (size_t i = 0; i < rcpts->n && code == 0; i++) {
		struct smtp_addr a;

		/* cannot fail: every recipient was formatted from a parsed address */
		if (smtp_addr_parse(slice_str(rcpts->v[i]), 1, &a) != SMTP_ADDR_OK)
			continue;
		switch (policy_rcpt(db, &local, &a, env)) {
		case POLICY_RCPT_ACCEPT:
			break;
		case POLICY_RCPT_UNKNOWN:
			say("<%s>: no such local user", rcpts->v[i]);
			code = EX_NOUSER;
			break;
		case POLICY_RCPT_TRICK:
			say("<%s>: no '%%', '!' or '@' in the local part", rcpts->v[i]);
			code = EX_DATAERR;
			break;
		case POLICY_RCPT_RELAY_DENIED:
			say("<%s>: address literals of other hosts are not relayed to", rcpts->v[i]);
			code = EX_NOPERM;
			break;
		case POLICY_RCPT_TEMPFAIL:
		default:
			say("<%s>: temporary lookup failure", rcpts->v[i]);
			code = EX_TEMPFAIL;
			break;
		}
	}
	spool_msg_free(&env);
	local_db_free(&db);
	return code;
}

/* Reads standard input into in: 0, or an exit code after saying why. */
static int
read_message(struct sm_input *in)
{
	static uint8_t chunk[READ_STEP];

	for (;;) {
		ssize_t n = read(0, chunk, sizeof(chunk));
		int r;

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			say("cannot read standard input: %s", strerror(errno));
			return EX_IOERR;
		}
		if (n == 0)
			r = sm_input_eof(in);
		else
			r = sm_input_feed(in, chunk, (size_t)n);
		if (r == -1) {
			say("%s", in->err);
			return EX_DATAERR;
		}
		if (n == 0 || r == 1)
			return 0;
	}
}

/*
 * -bm: the message from standard input into the maildrop. Returns the exit
 * code. domain qualifies bare names; me is the user's own address.
 */
static int
submit(const struct config *cfg, const struct sm_opts *o, const char *domain, const char *me)
{
	char sender[SMTP_ADDR_FMT_MAX], err[512], name[96];
	struct sm_rcpts rcpts = { 0 };
	struct sm_input in;
	struct buf msg;
	struct sm_header_opts ho = { 0 };
	struct hdrscan scan;
	char *from_value = NULL;
	int code;
	enum sm_drop_err dr;

	/* the daemon counts the CRLF in smtp.max_text_line_bytes; RFC 5322 2.1.1 does not */
	sm_input_init(&in, cfg->max_message_bytes, cfg->max_text_line_bytes - 2 < SM_LINE_MAX ?
	    cfg->max_text_line_bytes - 2 : SM_LINE_MAX, o->is_dot_end);
	buf_init(&msg, cfg->max_message_bytes + 64 * 1024);
	if (o->sender == NULL)
		snprintf(sender, sizeof(sender), "%s", me);
	else if (sm_addr_sender(o->sender, domain, sender, err, sizeof(err)) == -1) {
		say("-f: %s", err);
		code = EX_USAGE;
		goto out;
	}
	if (o->fullname != NULL && fullname_ok(o->fullname) == -1) {
		say("-F: the full name is longer than %d bytes or holds control characters",
		    MAILDROP_FULLNAME_MAX);
		code = EX_USAGE;
		goto out;
	}
	for (int i = 0; i < o->nrcpts; i++)
		if (sm_addr_list_add(&rcpts, o->rcpts[i], domain, err, sizeof(err)) == -1) {
			say("%s", err);
			code = EX_USAGE;
			goto out;
		}
	/* without -t, a missing recipient is a mistake on the command line: say so before reading */
	if (!o->is_extract && rcpts.n == 0) {
		say("no recipients");
		code = EX_USAGE;
		goto out;
	}
	if ((code = read_message(&in)) != 0)
		goto out;

	/* the author is the user: for the null sender too, whose From would be empty */
	from_value = sm_from_value(o->fullname, sender[0] != '\0' ? sender : me);
	ho.is_extract = o->is_extract;
	ho.from_value = from_value;
	ho.domain = domain;
	if (sm_header_edit(in.msg.data, in.msg.len, &ho, &msg, &rcpts, err, sizeof(err)) == -1) {
		say("%s", err);
		code = EX_DATAERR;
		goto out;
	}
	if (rcpts.n == 0) {
		say("no recipients: none given and none in the To, Cc or Bcc fields");
		code = EX_DATAERR;
		goto out;
	}
	/* the daemon would set the file aside: say it here, where someone hears it */
	if (rcpts.n > cfg->max_recipients || rcpts.n > MAILDROP_MAX_RCPTS) {
		say("too many recipients (%zu; smtp.max_recipients is %u)", rcpts.n,
		    cfg->max_recipients);
		code = EX_DATAERR;
		goto out;
	}
	if ((code = check_rcpts(cfg, &rcpts)) != 0)
		goto out;
	hdrscan_init(&scan);
	(void)hdrscan_feed(&scan, msg.data, msg.len);
	/* RFC 5321 6.3: refused here, where the user hears of it, rather than bounced */
	if (scan.nreceived > cfg->max_hops) {
		say("too many Received fields (%u; smtp.max_hops is %u): a mail loop?",
		    scan.nreceived, cfg->max_hops);
		code = EX_DATAERR;
		goto out;
	}
	if (msg.len > cfg->max_message_bytes) {
		say("message is larger than smtp.max_message_bytes (%llu bytes)",
		    (unsigned long long)cfg->max_message_bytes);
		code = EX_DATAERR;
		goto out;
	}
	if (o->is_verbose) {
		say("from <%s>", sender);
		for (size_t i = 0; i < rcpts.n; i++)
			say("to <%s>", rcpts.v[i]);
	}
	dr = sm_drop_write(cfg->spool_dir, o->fullname, sender, &rcpts, msg.data, msg.len, name,
	    sizeof(name), err, sizeof(err));
	if (dr != SM_DROP_OK) {
		say("%s", err);
		code = sm_drop_exit_code(dr);
		goto out;
	}
	if (o->is_verbose)
		say("%zu bytes for %zu recipient(s) in %s/%s/%s", msg.len, rcpts.n, cfg->spool_dir,
		    MAILDROP_DIR, name);
	code = EX_OK;
out:
	free(from_value);
	sm_rcpts_clear(&rcpts);
	sm_input_clear(&in);
	buf_clear(&msg);
	return code;
}

int
verb_sendmail(int argc, char **argv)
{
	struct sm_opts o;
	struct config *cfg = NULL;
	const struct passwd *pw;
	const char *path, *domain;
	char me[SMTP_ADDR_FMT_MAX], err[1024];
	int code;

	if ((code = parse_opts(argc, argv, &o)) != 0)
		return code;
	if ((path = config_path(&o, &code)) == NULL)
		return code;
	/* no message: the daemon's control socket, as sterna queue speaks to it */
	if (o.is_flush || o.is_list)
		return verb_queue_sendmail(path, o.is_flush, o.flush_domain);
	if ((cfg = config_load_submit(path, err, sizeof(err))) == NULL) {
		say("%s", err);
		return EX_CONFIG;
	}
	if (o.is_verbose)
		say("configuration %s", path);
	/* qualifies bare names, and makes the user's own address (docs/operations.md) */
	domain = config_default_domain(cfg);
	/* the real uid: who ran it, which is also who owns the file the daemon reads */
	errno = 0;
	if ((pw = getpwuid(getuid())) == NULL) {
		say("no login name for uid %lu%s%s", (unsigned long)getuid(), errno ? ": " : "",
		    errno ? strerror(errno) : "");
		code = EX_NOUSER;
		goto out;
	}
	if (mime_addr_make(pw->pw_name, domain, me) == -1) {
		say("the login name '%.64s' makes no mail address at %s", pw->pw_name, domain);
		code = EX_NOUSER;
		goto out;
	}
	if (o.is_smtp)
		code = sm_bs_run(cfg, 0, 1, o.is_verbose);
	else
		code = submit(cfg, &o, domain, me);
out:
	mime_shutdown();
	config_free(&cfg);
	return code;
}
