/*
 * dnsbl_probe.c - runs the client checks of src/policy/dnsbl.h against a
 * real DNS server, for tests/e2e/test_dnsbl.py, until the policy engine
 * runs them inside the daemon: the DNSBL and reverse DNS checks of every
 * address given, all at once, on one loop, as connections would, and one
 * line per result with its verdict.
 *
 *   dnsbl_probe [-r ROUNDS] [-c CANCEL_MS] [-f] CONFIG IP...
 *
 * -r runs the checks ROUNDS times, one round after the other (the second
 * finds the first's answers in the cache); -c cancels the checks still
 * running CANCEL_MS after they start; -f lets go of the struct dnsbl as
 * soon as the checks are started (they keep it until they end; one round
 * only). Exits 0
 * when every check ended once, by its callback or by a cancel.
 *
 *   dnsbl ip=IP round=N score=S lists=NAME:STATE:CODE:CACHED,... verdict=...
 *   fcrdns ip=IP round=N status=S name=NAME ptr_name=NAME verdict=...
 *   cancelled KIND ip=IP round=N
 *
 * verdict= is "none" or "KIND CODE DSN RULE TEXT..." (the text runs to the
 * end of the line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "dns/dns.h"
#include "policy/dnsbl.h"
#include "util/log.h"
#include "util/verdict.h"

#define IPS_MAX 64

struct client {
	const char *ip;
	struct dnsbl_check *bl;
	struct fcrdns_check *fc;
};

static struct client clients[IPS_MAX];
static size_t nclients, running;
static unsigned round_no;
static struct event_base *base;

static void
print_verdict(int decided, const struct verdict *v)
{
	if (!decided)
		printf(" verdict=none\n");
	else
		printf(" verdict=%s %d %s %s %s\n", verdict_kind_name(v->kind), v->code, v->dsn,
		    v->rule, v->text);
}

static void
one_done(void)
{
	if (--running == 0)
		event_base_loopbreak(base);
}

static void
on_dnsbl(void *ctx, const struct dnsbl_result *r)
{
	struct client *cl = ctx;
	struct verdict v;
	int decided = dnsbl_verdict(r, &v);

	cl->bl = NULL;
	printf("dnsbl ip=%s round=%u score=%u lists=", r->ip, round_no, r->score);
	for (size_t i = 0; i < r->nlists; i++)
		printf("%s%s:%s:%s:%d", i ? "," : "", r->lists[i].name,
		    dnsbl_state_name(r->lists[i].state), r->lists[i].code, r->lists[i].is_cached);
	print_verdict(decided, &v);
	one_done();
}

static void
on_fcrdns(void *ctx, const struct fcrdns_result *r)
{
	struct client *cl = ctx;
	struct verdict v;
	int decided = fcrdns_verdict(r, &v);

	cl->fc = NULL;
	printf("fcrdns ip=%s round=%u status=%s name=%s ptr_name=%s", r->ip, round_no,
	    fcrdns_status_name(r->status), r->name, r->ptr_name);
	print_verdict(decided, &v);
	one_done();
}

static void
on_cancel(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	for (size_t i = 0; i < nclients; i++) {
		if (clients[i].bl != NULL) {
			dnsbl_check_cancel(&clients[i].bl);
			printf("cancelled dnsbl ip=%s round=%u\n", clients[i].ip, round_no);
			one_done();
		}
		if (clients[i].fc != NULL) {
			fcrdns_check_cancel(&clients[i].fc);
			printf("cancelled fcrdns ip=%s round=%u\n", clients[i].ip, round_no);
			one_done();
		}
	}
}

int
main(int argc, char **argv)
{
	unsigned rounds = 1, cancel_ms = 0;
	int is_free_early = 0, opt;
	struct config *c;
	struct dns *d;
	struct dnsbl *bl;
	char err[512];

	while ((opt = getopt(argc, argv, "r:c:f")) != -1) {
		if (opt == 'r')
			rounds = (unsigned)atoi(optarg);
		else if (opt == 'c')
			cancel_ms = (unsigned)atoi(optarg);
		else if (opt == 'f')
			is_free_early = 1;
		else
			return 2;
	}
	if (argc - optind < 2 || argc - optind - 1 > IPS_MAX || (is_free_early && rounds > 1)) {
		fprintf(stderr, "usage: dnsbl_probe [-r ROUNDS] [-c CANCEL_MS] [-f] CONFIG IP...\n");
		return 2;
	}
	log_init(2, LOG_WARN);
	if ((c = config_load(argv[optind], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	base = event_base_new();
	if ((d = dns_new(base, c->dns_resolver, c->dns_timeout_ms, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	nclients = (size_t)(argc - optind - 1);
	for (size_t i = 0; i < nclients; i++)
		clients[i].ip = argv[optind + 1 + i];
	/* one struct dnsbl for every round: later rounds find the first one's answers cached */
	bl = dnsbl_new(c, d, base);
	for (round_no = 1; round_no <= rounds; round_no++) {
		struct event *cancel = evtimer_new(base, on_cancel, NULL);
		struct timeval tv = { cancel_ms / 1000, (long)(cancel_ms % 1000) * 1000 };

		running = 2 * nclients;
		for (size_t i = 0; i < nclients; i++) {
			clients[i].bl = dnsbl_check_start(bl, clients[i].ip, on_dnsbl, &clients[i]);
			clients[i].fc = fcrdns_check_start(bl, clients[i].ip, on_fcrdns, &clients[i]);
		}
		if (cancel_ms > 0)
			evtimer_add(cancel, &tv);
		if (is_free_early)
			dnsbl_free(&bl);
		event_base_dispatch(base);
		event_free(cancel);
		fflush(stdout);
		if (running != 0) {
			fprintf(stderr, "dnsbl_probe: %zu checks never ended\n", running);
			return 1;
		}
	}
	dnsbl_free(&bl);
	/* c-ares may still have queries of cancelled or timed-out checks: dropped here */
	dns_free(&d);
	event_base_free(base);
	config_free(&c);
	return 0;
}
