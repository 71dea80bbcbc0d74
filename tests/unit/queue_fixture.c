/*
 * queue_fixture.c - the queued message of queue_fixture.h.
 */
#include "queue_fixture.h"

#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"

struct spool_msg *
queue_fixture_msg(void)
{
	struct spool_msg *m = spool_msg_new();

	snprintf(m->qid, sizeof(m->qid), "6C7EAJ89TX000");
	m->sender = xstrdup("a@example.org");
	m->arrival_us = 1796450218ull * 1000000u + 123;
	m->content_bytes = 1834;
	m->client_ip = xstrdup("192.0.2.10");
	m->helo = xstrdup("client.test");
	m->proto = xstrdup("ESMTP");
	spool_msg_add_rcpt(m, "bob@example.net", "bob@example.net", NULL);
	spool_msg_add_rcpt(m, "info@example.test", "alice@example.test", "alice");
	spool_msg_add_rcpt(m, "carol@example.net", "carol@example.net", NULL);
	m->rcpts[0].attempts = 3;
	m->rcpts[0].next_try_s = 1796453818;
	m->rcpts[0].reason = xstrdup("host mx.example.net said: 451 4.3.0 busy \xff\x1b[31m");
	m->rcpts[1].is_done = 1;
	snprintf(m->rcpts[1].status, sizeof(m->rcpts[1].status), "2.0.0");
	return m;
}
