/*
 * agent_maildir.c - the Maildir agent: local recipients, delivered by
 * maildir_deliver on the scheduler's workers, at most 2 x io_threads jobs
 * at once so that a burst of local mail leaves workers for the spool. A
 * job records its outcomes on the same worker right after delivering.
 */
#include "sched/sched_int.h"

#include <limits.h>
#include <stdio.h>

#include "deliver/deliver.h"

static void start_some(struct sched *s);

static void
maildir_run(struct work *w)
{
	struct job *j = (struct job *)w;
	const struct spool_msg *m = j->q->m;
	const struct config *cfg = j->cfg;	/* a worker: the job's generation */

	for (size_t k = 0; k < j->n; k++) {
		struct outcome *o = &j->out[k];
		const struct spool_rcpt *r = &m->rcpts[o->i];
		char path[PATH_MAX], err[512];
		int n;

		if ((n = snprintf(path, sizeof(path), "%s/%s", cfg->mailbox_root, r->mailbox)) < 0 ||
		    (size_t)n >= sizeof(path)) {
			snprintf(err, sizeof(err), "mailbox path too long");
		} else if (maildir_deliver(j->s->sp, m, o->i, path, cfg->hostname, err,
		    sizeof(err)) == 0) {
			o->kind = OUT_OK;
			snprintf(o->status, sizeof(o->status), "2.0.0");
			continue;
		}
		o->kind = OUT_TEMP;
		snprintf(o->status, sizeof(o->status), "4.2.0");
		snprintf(o->text, sizeof(o->text), "%s", err);
	}
	record(j);
}

static void
maildir_done(struct work *w)
{
	struct job *j = (struct job *)w;
	struct sched *s = j->s;

	s->running_local--;
	record_done(w);
	start_some(s);
}

static void
start_some(struct sched *s)
{
	while (!s->is_stopping && s->local_head != NULL && s->running_local < s->max_local) {
		struct job *j = s->local_head;

		s->local_head = j->next;
		if (s->local_head == NULL)
			s->local_tail = NULL;
		j->next = NULL;
		s->running_local++;
		sched_submit(s, j, maildir_run, maildir_done);
	}
}

static void
maildir_start(struct sched *s, struct job *j)
{
	if (s->local_tail)
		s->local_tail->next = j;
	else
		s->local_head = j;
	s->local_tail = j;
	start_some(s);
}

static int
maildir_cancel(struct sched *s, struct job *j)
{
	struct job **pp, *prev = NULL;

	for (pp = &s->local_head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != j)
			continue;
		*pp = j->next;
		if (s->local_tail == j)
			s->local_tail = prev;
		j->next = NULL;
		return 1;
	}
	return 0;	/* on a worker already */
}

static void
maildir_stop(struct sched *s)
{
	struct job *j;

	while ((j = s->local_head) != NULL) {
		s->local_head = j->next;
		j->next = NULL;
		job_finish(j);
	}
	s->local_tail = NULL;
}

const struct agent_ops agent_maildir = {
	.name = "maildir",
	.start = maildir_start,
	.cancel = maildir_cancel,
	.stop = maildir_stop,
};
