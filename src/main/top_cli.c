/*
 * top_cli.c - sterna top: the daemon's figures in a terminal, refreshed
 * like top(1), for servers without a browser. A client of the control
 * socket (src/control, the metrics op), found through the configuration
 * as sterna queue finds it; the frame is src/control/top.c's.
 *
 * The terminal: plain ANSI escapes (the alternate screen, cursor home,
 * clear to the end of the line and of the screen), no curses: one frame is
 * redrawn in place, and nothing else moves. Input is read without echo or
 * line editing; q quits, space samples at once. Whatever ends the program
 * (q, ^C, SIGTERM, SIGHUP) gives the terminal back as it was, and so does
 * ^Z while it is stopped.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control/control.h"
#include "main/verbs.h"

#define ENTER "\033[?1049h\033[?25l"	/* the alternate screen, cursor hidden */
#define LEAVE "\033[?25h\033[?1049l"	/* cursor shown, the screen as it was */

static void
usage(FILE *f)
{
	fprintf(f,
	    "NAME\n"
	    "    sterna top - what the mail server is doing, refreshed like top(1)\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    sterna top [-c FILE] [-d SECONDS] [--once]\n"
	    "\n"
	    "DESCRIPTION\n"
	    "    Asks the running daemon for its figures through its control socket\n"
	    "    (<spool.dir>/control: root, server.user and its group may) at every\n"
	    "    interval, and shows them on one screen that fits 80x24:\n"
	    "      Queue      messages by state, the oldest one's age, outbound connections\n"
	    "      Sessions   SMTP sessions open by listener; accepted and TLS per second\n"
	    "      Received   messages and bytes per second, by entrance\n"
	    "      Delivered  recipients per second by agent; mean time from receipt\n"
	    "      Deferred   recipients per second by the failure's category\n"
	    "      Bounced    recipients per second by category, expired ones included\n"
	    "      Refused    policy refusals per second by rule\n"
	    "      AUTH       logins per second: success, failure, blocked\n"
	    "      TLS out    outbound TLS handshakes per second, by version\n"
	    "      Commit     group commits per second: files and time each\n"
	    "      Since start  totals since the daemon started\n"
	    "    Rates are per second between the last two samples; the first frame\n"
	    "    has none yet (\"-\"). The same figures are GET /metrics's.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c, --config FILE\n"
	    "        The daemon's configuration (else STERNA_CONFIG, else %s).\n"
	    "    -d, --interval SECONDS\n"
	    "        Between samples: 0.1 to 3600 (default 1).\n"
	    "    --once\n"
	    "        Take two samples an interval apart, print one frame without\n"
	    "        escapes, and exit: for scripts; no terminal needed.\n"
	    "    -h, --help\n"
	    "        This text.\n"
	    "\n"
	    "KEYS\n"
	    "    q  quit (so do ^C and SIGTERM)    space  sample now\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 done; 64 bad usage or no terminal; 69 the daemon cannot be\n"
	    "    reached (--once; the screen retries); 77 not allowed to use the\n"
	    "    socket; 78 the configuration cannot be read.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    sterna status, docs/operations.md (\"Metrics\"), docs/control.md (metrics)\n",
	    STERNA_CONFIG_PATH);
}

struct top {
	const char *config;
	double interval_s;
	int is_once;
	struct ctl_client *cl;
	char err[1024];
	int err_code;			/* the sysexits.h code of the last failure */
};

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One reply of the metrics op: a new object, or NULL with t->err (the connection then goes). */
static json_t *
ask(struct top *t)
{
	json_t *req = json_pack("{s:s}", "op", "metrics"), *rep = NULL;
	int is_closed;

	if (t->cl == NULL && (t->cl = ctl_client_open(t->config, &t->err_code, t->err,
	    sizeof(t->err))) == NULL)
		goto out;
	if (ctl_client_send(t->cl, req) == -1) {
		snprintf(t->err, sizeof(t->err), "cannot send to the daemon: %s", strerror(errno));
		t->err_code = EX_UNAVAILABLE;
	} else if ((rep = ctl_client_read(t->cl, &is_closed, t->err, sizeof(t->err))) == NULL) {
		t->err_code = is_closed ? EX_UNAVAILABLE : EX_PROTOCOL;
	} else if (!json_is_object(json_object_get(rep, "metrics"))) {
		const char *why = json_string_value(json_object_get(json_object_get(rep, "error"),
		    "message"));

		snprintf(t->err, sizeof(t->err), "the daemon said: %s", why ? why : "no figures");
		t->err_code = EX_PROTOCOL;
		json_decref(rep);
		rep = NULL;
	}
	if (rep == NULL)
		ctl_client_free(&t->cl);	/* the next sample connects again */
out:
	json_decref(req);
	return rep;
}

/*
 * A sample, on the connection kept from the last one; the daemon drops a
 * connection idle for a minute (a long interval), so a kept one that
 * failed is replaced once at once.
 */
static json_t *
sample(struct top *t)
{
	int is_kept = t->cl != NULL;
	json_t *rep = ask(t);

	return rep != NULL || !is_kept ? rep : ask(t);
}

/* --once: two samples, one frame, plain. */
static int
run_once(struct top *t)
{
	struct winsize ws;
	unsigned width = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0 ? ws.ws_col : 80;
	json_t *prev, *cur = NULL;
	double t0, t1;

	if ((prev = sample(t)) != NULL) {
		t0 = mono_s();
		(void)nanosleep(&(struct timespec){ (time_t)t->interval_s,
		    (long)((t->interval_s - (double)(time_t)t->interval_s) * 1e9) }, NULL);
		cur = sample(t);
		t1 = mono_s();
	}
	if (cur == NULL) {
		fprintf(stderr, "sterna top: %s\n", t->err);
		json_decref(prev);
		return t->err_code;
	}
	(void)ctl_top_frame(stdout, prev, cur, t1 - t0, t->interval_s, time(NULL), width,
	    (unsigned)-1);
	json_decref(prev);
	json_decref(cur);
	if (fflush(stdout) == EOF || ferror(stdout))
		return EX_IOERR;
	return EX_OK;
}

/* ---- the screen ---- */

static struct termios saved_tio, screen_tio;
static volatile sig_atomic_t is_resized;

/* The terminal as it was; async-signal-safe (write, tcsetattr). */
static void
restore_terminal(void)
{
	ssize_t n = write(STDOUT_FILENO, LEAVE, sizeof(LEAVE) - 1);

	(void)n;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
}

static void
on_stop(int sig)
{
	restore_terminal();
	_exit(sig == SIGINT || sig == SIGTERM ? EX_OK : 128 + sig);
}

static void
on_winch(int sig)
{
	(void)sig;
	is_resized = 1;
}

/* ^Z: the terminal as it was while stopped, the screen again after; async-signal-safe. */
static void
on_tstp(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, again = { .sa_handler = on_tstp };
	sigset_t this;
	ssize_t n;

	restore_terminal();
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	/* blocked while its handler runs: let it through, and stop here */
	sigemptyset(&this);
	sigaddset(&this, sig);
	sigprocmask(SIG_UNBLOCK, &this, NULL);
	raise(sig);
	/* SIGCONT: on from here */
	sigemptyset(&again.sa_mask);
	sigaction(sig, &again, NULL);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &screen_tio);
	n = write(STDOUT_FILENO, ENTER, sizeof(ENTER) - 1);
	(void)n;
	is_resized = 1;		/* redraw */
}

/* Keys without echo or line editing; ^C still a signal. 0, or -1 when stdin is no terminal. */
static int
enter_screen(void)
{
	struct sigaction sa = { .sa_handler = on_stop };	/* no SA_RESTART: poll wakes */

	if (tcgetattr(STDIN_FILENO, &saved_tio) == -1)
		return -1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	screen_tio = saved_tio;
	screen_tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	screen_tio.c_cc[VMIN] = 0;
	screen_tio.c_cc[VTIME] = 0;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &screen_tio);
	fputs(ENTER, stdout);
	return 0;
}

/*
 * The frame (or, with no sample, why), drawn over the last one from the
 * top left: each line cleared to its end, the rest of the screen below the
 * last. The last line gets no newline, so a full screen never scrolls.
 */
static void
draw(const struct top *t, const json_t *prev, const json_t *cur, double dt)
{
	struct winsize ws = { 0 };
	unsigned width = 80, height = 24;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		width = ws.ws_col;
		height = ws.ws_row;
	}
	if ((mem = open_memstream(&text, &len)) == NULL)
		return;
	if (cur != NULL)
		(void)ctl_top_frame(mem, prev, cur, dt, t->interval_s, time(NULL), width, height);
	else
		fprintf(mem, "sterna top: %.*s\n%.*s\n", (int)(width > 12 ? width - 12 : 0), t->err,
		    (int)width, "trying again at every interval (q quits)");
	fclose(mem);
	fputs("\033[H", stdout);
	for (char *line = text, *nl; line < text + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (nl == NULL)
			nl = text + len;
		fwrite(line, 1, (size_t)(nl - line), stdout);
		fputs("\033[K", stdout);
		if (nl + 1 < text + len)
			fputs("\r\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
	free(text);
}

enum wait { WAIT_OVER, WAIT_NOW, WAIT_QUIT };

/* Waits up to ms: WAIT_QUIT for q, WAIT_NOW for another key or a resize, else WAIT_OVER. */
static enum wait
wait_key(int ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	enum wait w = WAIT_OVER;
	char c;

	is_resized = 0;
	if (poll(&p, 1, ms) <= 0)
		return is_resized ? WAIT_NOW : WAIT_OVER;
	while (read(STDIN_FILENO, &c, 1) == 1)
		w = c == 'q' || c == 'Q' ? WAIT_QUIT : w == WAIT_QUIT ? w : WAIT_NOW;
	return w;
}

static int
run_screen(struct top *t)
{
	json_t *prev = NULL, *cur;
	double at, prev_at = 0;

	if (!isatty(STDOUT_FILENO) || enter_screen() == -1) {
		fprintf(stderr, "sterna top: standard input and output must be a terminal; "
		    "--once prints one frame without\n");
		return EX_USAGE;
	}
	for (;;) {
		double next, left;
		enum wait w = WAIT_OVER;

		cur = sample(t);
		at = mono_s();
		draw(t, prev, cur, at - prev_at);
		if (cur != NULL) {
			json_decref(prev);
			prev = cur;
			prev_at = at;
		}
		/* until the interval is over, a key asks for a sample now (a resize too) */
		next = at + t->interval_s;
		while (w == WAIT_OVER && (left = next - mono_s()) > 0)
			w = wait_key((int)(left * 1000) + 1);
		if (w == WAIT_QUIT)
			break;
	}
	json_decref(prev);
	restore_terminal();
	ctl_client_free(&t->cl);
	return EX_OK;
}

int
verb_top(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct top t = { .interval_s = 1 };
	char *end;
	int c, code;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:h", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			t.config = optarg;
			break;
		case 'd':
			t.interval_s = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(t.interval_s >= 0.1 &&
			    t.interval_s <= 3600)) {
				fprintf(stderr, "sterna top: -d: seconds from 0.1 to 3600, not '%s'\n",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'o':
			t.is_once = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			fprintf(stderr, "sterna top: unknown option %s, or it needs a value\n",
			    argv[optind - 1]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sterna top: no arguments but options: '%s'\n", argv[optind]);
		return EX_USAGE;
	}
	if (t.config == NULL)
		t.config = verb_config_default();
	code = t.is_once ? run_once(&t) : run_screen(&t);
	ctl_client_free(&t.cl);
	return code;
}
