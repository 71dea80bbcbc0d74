/*
 * serve.c - sterna serve -c FILE: the daemon, in the foreground.
 * Order matters: read the configuration, load the TLS certificates (a key
 * may be readable by root only), bind the listeners (ports below 1024 need
 * root), create the spool and mailbox roots and the maildrop folder and
 * hand them to the unprivileged user, drop privileges, read policy's list
 * files (src/policy/lists.c), confine the process (sandbox.c) before any
 * thread starts, then open the spool (incoming/ emptied), settle what the
 * folder entrances left half taken (src/drop), open the control socket
 * (src/control), and serve, while a worker lists the queue and reads it a
 * batch at a time, handing the messages to the scheduler
 * (spool_recovery_*: however large the queue, nothing of it is read before
 * the ports open). The HTTP API (src/http) is bound with SMTP's
 * listeners, reads its keys file as the unprivileged user, and starts with
 * them. SIGTERM/SIGINT stop accepting and taking files, let messages and
 * requests in hand finish, wait for deliveries in flight, and exit; the
 * control socket answers until then.
 * SIGHUP (and sterna reload, through the control socket) reads the whole
 * configuration again into a new generation (docs/architecture.md,
 * "Configuration generations"): a bad one is refused whole (and so is one
 * whose new listeners cannot be bound), a good one is given to the server
 * (its sessions and listeners), the submission core and the scheduler, and the
 * TLS certificates and the API keys are read again too. What was built
 * once from the generation at start stays with it (the key table marks
 * those keys: config_key_needs_restart()), and the reload says which of
 * them changed.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "control/control.h"
#include "dashboard/dashboard.h"
#include "deliver/deliver.h"
#include "dkim/dkim.h"
#include "dns/dns.h"
#include "drop/drop.h"
#include "events/destinations.h"
#include "events/events.h"
#include "events/evlog.h"
#include "events/figures.h"
#include "events/msgstate.h"
#include "events/recent.h"
#include "events/suppress.h"
#include "events/traffic.h"
#include "events/webhook.h"
#include "http/api_send.h"
#include "http/http.h"
#include "http/idempotency.h"
#include "main/fdlimit.h"
#include "main/logsetup.h"
#include "main/privdrop.h"
#include "main/recvloops.h"
#include "main/sandbox.h"
#include "main/verbs.h"
#include "milter/milter.h"
#include "msg/msg.h"
#include "policy/engine.h"
#include "policy/lists.h"
#include "policy/policy.h"
#include "sched/sched.h"
#include "server/server.h"
#include "spool/spool.h"
#include "tls/tls.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/log_event.h"
#include "util/loop_prio.h"
#include "util/qid.h"
#include "util/workq.h"

struct daemon {
	/*
	 * The generation at start: what is built once (spool, threads, the
	 * modules whose keys need a restart) borrows it for the
	 * daemon's life. cur is the one in use, a reference of its own.
	 */
	struct config *cfg;
	struct config *cur;
	struct event_base *base;
	struct workq *wq;
	struct workq *auth_wq;	/* password checks, when there is a users file */
	struct spool *spool;
	struct spool_lock *lock;	/* held for the daemon's life: one daemon per spool */
	struct spool_recovery *recovery;	/* the queue read at start, while serving */
	uint64_t recovery_started_us;
	struct msg_core *msg;
	struct milter_local *local_milters;	/* the content filters of sendmail, pickup, the API */
	struct milter_pool *milter_pool;	/* the connections to every filter, idle ones kept */
	struct events *events;		/* what happens to mail, for those who follow it */
	struct evlog *evlog;		/* ... kept on disk for the API's event feed */
	struct msgstate *msgstate;	/* ... each recipient's last state, by queue id */
	struct webhooks *webhooks;	/* ... and POSTed to receivers, from the log */
	struct suppress *suppress;	/* addresses not to be mailed again */
	struct api_send *api_send;	/* the HTTP API's sending endpoints */
	struct idem *idem;		/* ... their Idempotency-Keys, kept across restarts */
	struct api_events *api_events;	/* ... its event feed and suppression list */
	struct metrics *metrics;	/* every module's figures: GET /metrics, sterna top */
	struct figures *figures;	/* ... those the events feed */
	struct traffic *traffic;	/* mail per minute over the last hour, for the dashboard */
	struct destinations *dests;	/* the top destinations (also in GET /metrics) */
	struct recent *recent;		/* the latest events and bounces */
	struct dashboard *dashboard;	/* the web dashboard, on the HTTP server */
	struct drops *drops;	/* the maildrop and the pickup folder */
	struct sched *sched;
	struct server *server;
	struct recv_loops *recv;	/* the receiving loops beyond the main one, their modules */
	struct tls_server *tls;
	struct policy_lists *lists;	/* allow and block lists, for the policy engine */
	struct policy *policy;		/* the verdicts on the sessions' questions */
	struct dns *client_dns;		/* the clients' DNS checks, apart from delivery's lookups */
	struct dnsbl *dnsbl;		/* DNSBLs and reverse DNS of clients */
	struct control *control;	/* the control socket: sterna queue, status */
	struct http *http;		/* the HTTP API, when http { } has a listener */
	struct dkim_keyring dkim;	/* the signing keys, read at start */
	struct dkim_signer *signer;	/* DKIM signing, the content step's last filter */
	struct qid_gen qids;
	struct event *sig_term, *sig_int, *sig_hup, *space_timer, *stop_timer, *sweep_timer;
	struct sweep_job {
		struct work w;		/* first: the workq hands back &w */
		const char *root;
		unsigned removed;
		int is_running;
	} sweep;
	int is_stopping;
};

/* The submission core's messages go to the scheduler. */
static void
to_scheduler(void *ctx, struct spool_msg *m)
{
	struct daemon *d = ctx;

	sched_add(d->sched, m);
}

/* A message a receiving loop committed (recvloops.h): its events, then the scheduler. */
static void
from_receiving_loop(void *ctx, struct spool_msg *m)
{
	struct daemon *d = ctx;

	msg_emit_received(d->events, m);
	sched_add(d->sched, m);
}

/* A message the recovery found: its Idempotency-Key back into the table first. */
static void
from_recovery(void *ctx, struct spool_msg *m)
{
	struct daemon *d = ctx;

	idem_recovered(d->idem, m, 0);
	sched_add(d->sched, m);
}

/*
 * A worker: a file the recovery removes (every recipient done): its key is
 * made durable elsewhere first.
 */
static void
done_at_recovery(void *ctx, const struct spool_msg *m)
{
	struct daemon *d = ctx;

	idem_recovered(d->idem, m, 1);
}

/* The scheduler's workers, before they remove a message with a key. */
static void
wait_idem(void *ctx)
{
	idem_wait_durable(ctx);
}

/* The whole queue found at start has been read and handed over. */
static void
recovery_finished(void *ctx, long count)
{
	struct daemon *d = ctx;

	log_info("spool: %ld queued messages recovered in %.2f s", count,
	    (double)(clock_mono_us() - d->recovery_started_us) / 1e6);
	spool_recovery_free(&d->recovery);
	idem_recovery_over(d->idem, 1);	/* every queued message's key is back */
}

#define SWEEP_AGE_S (36 * 3600)	/* the Maildir convention for tmp/ */
#define SWEEP_EVERY_S (6 * 3600)

static void
sweep_run(struct work *w)
{
	struct sweep_job *j = (struct sweep_job *)w;

	j->removed = maildir_sweep(j->root, time(NULL) - SWEEP_AGE_S);
}

static void
sweep_done(struct work *w)
{
	struct sweep_job *j = (struct sweep_job *)w;

	j->is_running = 0;
	log_info("mailboxes: tmp/ files older than 36 hours removed: %u", j->removed);
}

/* At start and every few hours: what crashed deliveries left in the Maildirs' tmp/. */
static void
on_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd, (void)what;
	if (d->sweep.is_running || d->is_stopping)
		return;
	d->sweep = (struct sweep_job){ .w = { .run = sweep_run, .done = sweep_done },
		.root = d->cfg->mailbox_root, .is_running = 1 };
	workq_submit(d->wq, &d->sweep.w);
}

static void
on_space_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	spool_refresh_space(((struct daemon *)arg)->spool);
}

/* While stopping: exit the loop once no session and no delivery is left. */
static void
on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd, (void)what;
	if (server_drain(d->server) == 0 && drops_busy(d->drops) == 0 &&
	    (d->http == NULL || http_drain(d->http) == 0) &&
	    msg_core_open_subs(d->msg) == 0 && spool_txns_open(d->spool) == 0 &&
	    recv_loops_batches_out(d->recv) == 0 &&
	    sched_running(d->sched) == 0 &&
	    !spool_recovery_busy(d->recovery))
		event_base_loopexit(d->base, NULL);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = { 0, 50 * 1000 };

	(void)what;
	if (d->is_stopping)
		return;
	d->is_stopping = 1;
	log_ev_stopping((int)sig);
	/* a folder file not yet committed stays taken: the next start queues it */
	drops_stop(d->drops);
	sched_stop(d->sched);
	msgstate_stop(d->msgstate);	/* lookups waiting for a read of the log: answered now */
	spool_recovery_stop(d->recovery);	/* what is not read yet is read by the next start */
	idem_recovery_over(d->idem, 0);	/* requests waiting for it: answered now */
	d->stop_timer = event_new(d->base, -1, EV_PERSIST, on_stop_timer, d);
	event_add(d->stop_timer, &tick);
	on_stop_timer(-1, 0, d);
}

/*
 * Reads the configuration again (on the loop: a file of at most a few MiB
 * and the users file, as sterna check reads them) and, when it is good,
 * makes it the generation in use. Sessions open keep theirs to their end,
 * jobs out theirs to their end; the rest switches now. Renewed certificates
 * and API keys are read again in either case (a bad certificate file keeps
 * the one in use). r says what happened; the log says it too.
 */
static void
daemon_reload(struct daemon *d, struct ctl_reload *r)
{
	struct config *next;
	unsigned nbad = 0;

	*r = (struct ctl_reload){ .generation = d->cur->generation };
	if (d->http != NULL)
		http_reload(d->http);
	if (tls_server_has_cert(d->tls))
		nbad = tls_server_reload(d->tls);
	if ((next = config_load(d->cfg->path, r->error, sizeof(r->error))) != NULL) {
		next->generation = d->cur->generation + 1;
		(void)local_db_of(next);	/* built here, before the generation is shared */
	}
	/* first of the switches, and the one that may fail: new listeners are bound */
	if (next != NULL && server_set_config(d->server, next, r->error, sizeof(r->error)) == -1)
		config_free(&next);
	if (next == NULL) {
		log_err("reload refused: %s; configuration generation %llu stays in use; TLS "
		    "certificates reloaded: %zu of %zu", r->error,
		    (unsigned long long)d->cur->generation, d->cfg->ncerts - nbad, d->cfg->ncerts);
		return;
	}
	/* against the generation at start: the keys that need a restart are still its */
	(void)config_restart_changes(d->cfg, next, r->restart_keys, sizeof(r->restart_keys));
	msg_core_set_config(d->msg, next);
	sched_set_config(d->sched, next);
	config_free(&d->cur);
	d->cur = next;
	r->is_done = 1;
	r->generation = next->generation;
	log_info("reload: configuration generation %llu in use (%s); TLS certificates reloaded: "
	    "%zu of %zu%s%s", (unsigned long long)next->generation, next->path,
	    d->cfg->ncerts - nbad, d->cfg->ncerts,
	    r->restart_keys[0] != '\0' ? "; waiting for a restart: " : "", r->restart_keys);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct ctl_reload r;

	(void)sig, (void)what;
	daemon_reload(arg, &r);
}

/* The control socket's reload op (sterna reload). */
static void
reload_op(void *ctx, struct ctl_reload *r)
{
	daemon_reload(ctx, r);
}

/*
 * Every message comes with buffers of up to a few hundred KiB (the spool's
 * pieces and their encoded records, the outbound stream), freed when it is
 * committed or sent. With glibc's defaults such a buffer is an mmap of its
 * own, or the top of an arena given back with madvise: the next message
 * then faults its pages in again, which profiles of 100 KiB messages showed
 * as the largest part of their copies. Kept in the arenas instead, they are
 * reused warm; what a burst leaves is bounded by the trim threshold per
 * arena.
 */
static void
keep_message_buffers(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
}

/*
 * Raises the descriptor limit as far as it goes, and keeps as many
 * sessions as fit beside what receiving and delivering need (fdlimit.h);
 * the log says so when that is fewer than server.max_sessions.
 */
static unsigned
sessions_that_fit(const struct config *cfg)
{
	char why[512];
	uint64_t limit = fdlimit_raise();
	unsigned n = fdlimit_sessions(cfg, limit, why, sizeof(why));

	if (why[0] != '\0')
		log_warn("%s", why);
	else
		log_info("file descriptors: %llu may be open, %u sessions and %u kept for the rest",
		    (unsigned long long)limit, n, fdlimit_reserve(cfg));
	return n;
}

/* What the registry says of the daemon itself: which version runs, since when. */
static void
count_daemon(struct metrics *m, uint64_t started_us)
{
	const char *version = STERNA_VERSION;

	metric_set(metrics_gauge(m, "sterna_build_info", "The version that runs (the value is 1).",
	    "version"), &version, 1);
	metric_set(metrics_gauge(m, "process_start_time_seconds",
	    "When the daemon started, in seconds since the epoch.", NULL), NULL,
	    (double)started_us / 1e6);
}

static void
daemon_free(struct daemon *d)
{
	/* first: their connections borrow the scheduler and the server */
	control_free(&d->control);
	http_free(&d->http);
	dashboard_free(&d->dashboard);
	http_api_send_free(&d->api_send);
	http_api_events_free(&d->api_events);
	server_free(&d->server);	/* the receiving loops' threads stop */
	recv_loops_free(&d->recv);	/* before the engine whose tables theirs share */
	policy_free(&d->policy);	/* its clients went with the server's connections */
	dnsbl_free(&d->dnsbl);		/* their checks went with them */
	tls_server_free(&d->tls);
	policy_lists_free(&d->lists);
	sched_free(&d->sched);
	/* before the core: a message being fed is dropped through it */
	drops_free(&d->drops);
	msg_core_free(&d->msg);
	milter_local_free(&d->local_milters);
	milter_pool_free(&d->milter_pool);	/* after the sessions and the core, which give theirs back */
	dkim_signer_free(&d->signer);	/* after the core: its messages have let go of their jobs */
	dkim_keyring_clear(&d->dkim);
	idem_free(&d->idem);	/* after the scheduler's workers, which wait for its journal */
	/*
	 * After every producer of events (the scheduler's last outcomes, the
	 * core's last commits): every subscriber hears what they said last.
	 */
	figures_free(&d->figures);
	traffic_free(&d->traffic);
	destinations_free(&d->dests);
	recent_free(&d->recent);
	webhooks_free(&d->webhooks);	/* before the log it reads and the resolver it asks */
	dns_free(&d->client_dns);
	msgstate_free(&d->msgstate);	/* before the log it reads */
	evlog_free(&d->evlog);
	suppress_free(&d->suppress);
	events_free(&d->events);
	spool_recovery_free(&d->recovery);	/* the drain waited for its batch */
	/* the spool's workers finish their jobs; the flusher its batch */
	spool_close(&d->spool);
	spool_unlock(&d->lock);
	workq_free(&d->wq);
	/* the drain waited for every session, so no check is left in flight */
	workq_free(&d->auth_wq);
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->space_timer)
		event_free(d->space_timer);
	if (d->sweep_timer)
		event_free(d->sweep_timer);
	if (d->stop_timer)
		event_free(d->stop_timer);
	if (d->base)
		event_base_free(d->base);
	/* last: the modules above counted into it to their end (the flusher on its thread) */
	metrics_free(&d->metrics);
	config_free(&d->cur);
	config_free(&d->cfg);
}

int
verb_serve(int argc, char **argv)
{
	const char *path = verb_config_arg(argc, argv, "serve");
	struct daemon d = { 0 };
	struct timeval second = { 1, 0 };
	uint64_t started_us = clock_wall_us();
	char err[1024];
	int status = 1;

	if (path == NULL)
		return 2;
	if ((d.cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_ev_config_error(err);	/* on stderr: no configuration says otherwise */
		return 1;
	}
	if (log_setup(d.cfg, err, sizeof(err)) == -1) {
		log_ev_config_error(err);
		config_free(&d.cfg);
		return 1;
	}
	d.cfg->generation = 1;
	(void)local_db_of(d.cfg);	/* built before the generation is shared */
	d.cur = config_ref(d.cfg);
	signal(SIGPIPE, SIG_IGN);
	keep_message_buffers();	/* before the first thread, whose arena it sets up too */
	d.base = event_base_new();
	/*
	 * Three priorities, every event in the middle one (libevent's default
	 * is the middle) except background work that must yield to mail: an
	 * operator's listing of a large queue goes on only in the gaps.
	 */
	if (d.base == NULL || event_base_priority_init(d.base, LOOP_PRIORITIES) == -1) {
		log_err("cannot create the event loop");
		goto out;
	}
	/*
	 * SIGHUP from now on, or its default action would kill a daemon that is
	 * still starting (a certificate renewal hook may fire at any time); it is
	 * handled once the loop runs.
	 */
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	event_add(d.sig_hup, NULL);
	/*
	 * Before anything else touches the spool or binds a port: a second
	 * daemon on the same spool would retry and bounce the same messages.
	 */
	if ((d.lock = spool_lock(d.cfg->spool_dir, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	/* read while still root: keys are often readable by root alone */
	if ((d.tls = tls_server_new(d.cfg, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	/* read as root too, and before the sandbox, which does not name dkim.key_dir */
	if (dkim_keyring_load(&d.dkim, d.cfg, err, sizeof(err)) == -1) {
		log_err("dkim: %s", err);
		goto out;
	}
	/* first of the modules that count: each registers its families as it is made */
	d.metrics = metrics_new();
	count_daemon(d.metrics, started_us);
	d.milter_pool = milter_pool_new(d.base, d.cfg, d.metrics);
	/* bound as root, before the spool exists; it starts accepting last */
	struct server_deps deps = { .base = d.base, .cfg = d.cfg,
		.qids = &d.qids, .tls = d.tls, .metrics = d.metrics, .milters = d.milter_pool,
		.max_sessions = sessions_that_fit(d.cfg) };
	d.server = server_new(&deps);
	if (server_bind(d.server, err, sizeof(err)) == -1) {
		log_err("%s", err);
		goto out;
	}
	if (d.cfg->nhttp_listeners > 0) {
		d.http = http_new(&(struct http_deps){ .base = d.base, .cfg = d.cfg, .tls = d.tls });
		if (http_bind(d.http, err, sizeof(err)) == -1) {
			log_err("%s", err);
			goto out;
		}
	}
	if (privdrop(d.cfg) == -1)
		goto out;
	/*
	 * As the user who will read them again when they change, so that a
	 * file only root can read stops the start rather than going stale;
	 * before the sandbox, which names their folders, so that a missing
	 * file is said as such.
	 */
	if ((d.lists = policy_lists_new(d.cfg, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	if (d.http != NULL) {
		struct http_keyring *keys = http_keyring_new(d.cfg->http_keys_file,
		    d.cfg->http_requests_per_minute, err, sizeof(err));

		if (keys == NULL) {
			log_err("%s", err);
			goto out;
		}
		if (http_keyring_count(keys) == 0)
			log_warn("http.keys_file: %s has no key: only /v1/health answers",
			    d.cfg->http_keys_file);
		http_set_keys(d.http, keys);
	}
	/*
	 * Before the first thread: Landlock confines the calling thread and
	 * those it starts from then on, never one already running (the seccomp
	 * filter reaches those too, but the rules must hold for every thread).
	 */
	if (!d.cfg->is_sandboxed)
		log_warn("server.sandbox is off: system calls and files are not confined");
	else if (sandbox_apply(d.cfg) == -1)
		goto out;
	d.wq = workq_new(d.cfg->io_threads);
	/*
	 * Two threads of their own: a burst of slow hash checks (tens of ms
	 * each, on purpose) must delay neither the loop nor the spool's flushes.
	 */
	if (d.cfg->users_file[0] != '\0')
		d.auth_wq = workq_new(2);
	if ((d.spool = spool_open(d.cfg->spool_dir, d.wq, d.metrics, err, sizeof(err))) == NULL) {
		log_err("spool: %s", err);
		goto out;
	}
	{
		char dir[4096];

		(void)snprintf(dir, sizeof(dir), "%s/%s", d.cfg->spool_dir, IDEM_DIR);
		if ((d.idem = idem_open(dir, IDEM_MAX_ENTRIES, IDEM_MAX_BYTES, err,
		    sizeof(err))) == NULL) {
			log_err("idempotency: %s", err);
			goto out;
		}
	}
	d.events = events_new();
	{
		char dir[4096];

		(void)snprintf(dir, sizeof(dir), "%s/%s", d.cfg->spool_dir, EVLOG_DIR);
		if ((d.evlog = evlog_open(dir, d.cfg->events_retention_s, d.cfg->events_max_bytes,
		    d.base, err, sizeof(err))) == NULL) {
			log_err("events: %s", err);
			goto out;
		}
	}
	events_subscribe(d.events, evlog_sink, d.evlog);
	/* after the log: an event's cursor is then the log's last */
	d.msgstate = msgstate_new(d.evlog, (size_t)d.cfg->message_state_bytes, d.base);
	events_subscribe(d.events, msgstate_sink, d.msgstate);
	{
		char list_path[4096];
		unsigned categories = 0;

		(void)snprintf(list_path, sizeof(list_path), "%s/%s", d.cfg->spool_dir,
		    SUPPRESS_FILE);
		(void)bounce_categories_parse(d.cfg->suppress_on, &categories);
		if ((d.suppress = suppress_open(list_path, categories, err, sizeof(err))) == NULL) {
			log_err("suppression list: %s", err);
			goto out;
		}
		events_subscribe(d.events, suppress_sink, d.suppress);
	}
	d.figures = figures_new(d.metrics);
	events_subscribe(d.events, figures_sink, d.figures);
	struct msg_core_deps mdeps = { .base = d.base, .spool = d.spool, .cfg = d.cfg,
		.qids = &d.qids, .events = d.events };
	d.msg = msg_core_new(&mdeps);
	/* the milters of the entrances that are not SMTP (listeners have their own) */
	d.local_milters = milter_local_new(d.msg, d.milter_pool, d.cfg);
	/* the signer last: it signs what the content filters left */
	d.signer = dkim_signer_new(d.msg, d.base, d.cfg, &d.dkim);
	if ((d.sched = sched_new(d.base, d.spool, d.cfg, d.msg, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	msg_core_set_consumer(d.msg, to_scheduler, NULL, &d);
	sched_set_events(d.sched, d.events);
	sched_set_suppress(d.sched, d.suppress);
	sched_set_metrics(d.sched, d.metrics);
	sched_set_remove_barrier(d.sched, wait_idem, d.idem);
	/*
	 * A resolver of its own for the clients' checks: their queries come
	 * and go with connections, and never wait behind delivery's.
	 */
	if ((d.client_dns = dns_new(d.base, d.cfg->dns_resolver, d.cfg->dns_timeout_ms, err,
	    sizeof(err))) == NULL) {
		log_err("dns: %s", err);
		goto out;
	}
	d.dnsbl = dnsbl_new(d.cfg, d.client_dns, d.base);
	if (d.cfg->nwebhooks > 0) {
		char dir[4096];

		(void)snprintf(dir, sizeof(dir), "%s/%s/webhooks", d.cfg->spool_dir, EVLOG_DIR);
		if ((d.webhooks = webhooks_new(d.cfg, d.evlog, d.base, d.client_dns, dir, err,
		    sizeof(err))) == NULL) {
			log_err("%s", err);
			goto out;
		}
		events_subscribe(d.events, webhooks_sink, d.webhooks);
	}
	d.policy = policy_new(&(struct policy_deps){ .base = d.base, .cfg = d.cfg,
		.lists = d.lists, .dnsbl = d.dnsbl, .auth_wq = d.auth_wq,
		.metrics = d.metrics });
	server_attach(d.server, d.spool, d.msg, d.wq, d.policy);
	d.recv = recv_loops_new(&(struct recv_loops_deps){ .cfg = d.cfg, .spool = d.spool,
		.qids = &d.qids, .metrics = d.metrics, .dkim = &d.dkim, .lists = d.lists,
		.policy = d.policy, .auth_wq = d.auth_wq, .main_wq = d.wq, .server = d.server,
		.take = from_receiving_loop, .take_ctx = &d }, err, sizeof(err));
	if (d.recv == NULL) {
		log_err("%s", err);
		goto out;
	}
	d.recovery_started_us = clock_mono_us();
	if ((d.recovery = spool_recovery_new(d.spool, &d.qids)) == NULL) {
		log_err("spool: cannot read %s/queue: %s", d.cfg->spool_dir, strerror(errno));
		goto out;
	}
	/*
	 * After incoming/ is emptied, so that a file taken before a crash can
	 * be queued again under its queue id; before serving, so that its queue
	 * id is never handed out again.
	 */
	struct drop_deps ddeps = { .base = d.base, .core = d.msg, .spool = d.spool, .cfg = d.cfg,
		.qids = &d.qids };
	if ((d.drops = drops_new(&ddeps, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	/*
	 * as server.user, so that the socket is that user's; the queue is
	 * listed and read while serving, and until then listings show the part
	 * read so far
	 */
	struct control_deps cdeps = { .base = d.base, .spool_dir = d.cfg->spool_dir,
		.sched = d.sched, .server = d.server, .suppress = d.suppress,
		.metrics = d.metrics, .started_us = started_us, .reload = reload_op,
		.reload_ctx = &d };
	if ((d.control = control_new(&cdeps, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	d.traffic = traffic_new();
	d.dests = destinations_new(d.metrics, DESTINATIONS_MAX);
	d.recent = recent_new();
	events_subscribe(d.events, traffic_sink, d.traffic);
	events_subscribe(d.events, destinations_sink, d.dests);
	events_subscribe(d.events, recent_sink, d.recent);
	if (d.http != NULL && (http_api_queue_add(d.http, d.sched, d.msgstate, err,
	    sizeof(err)) == -1 ||
	    http_api_metrics_add(d.http, d.metrics, err, sizeof(err)) == -1 ||
	    (d.api_send = http_api_send_add(d.http, d.cfg, d.msg, d.idem, err,
	    sizeof(err))) == NULL ||
	    (d.api_events = http_api_events_add(d.http, d.evlog, d.suppress, err,
	    sizeof(err))) == NULL ||
	    (d.cfg->is_dashboard_on && (d.dashboard = dashboard_add(d.http,
	    &(struct dashboard_deps){ .base = d.base, .cfg = d.cfg, .sched = d.sched,
	    .server = d.server, .traffic = d.traffic, .dests = d.dests, .recent = d.recent },
	    err, sizeof(err))) == NULL))) {
		log_err("http: %s", err);
		goto out;
	}
	d.sig_term = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
	d.space_timer = event_new(d.base, -1, EV_PERSIST, on_space_timer, &d);
	d.sweep_timer = event_new(d.base, -1, EV_PERSIST, on_sweep_timer, &d);
	event_add(d.sweep_timer, &(struct timeval){ SWEEP_EVERY_S, 0 });
	on_sweep_timer(-1, 0, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.space_timer, &second);
	spool_recovery_set_remove_hook(d.recovery, done_at_recovery, &d);
	spool_recovery_start(d.recovery, d.wq, from_recovery, recovery_finished, &d);
	drops_start(d.drops);
	server_start(d.server);
	if (d.http != NULL)
		http_start(d.http);
	log_ev_ready(STERNA_VERSION, d.cfg->hostname);
	event_base_dispatch(d.base);
	log_ev_stopped();
	status = 0;
out:
	daemon_free(&d);
	return status;
}
