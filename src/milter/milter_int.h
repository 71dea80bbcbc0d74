/*
 * milter_int.h - what set.c and filter.c share; no other directory includes it.
 */
#ifndef STERNA_MILTER_MILTER_INT_H
#define STERNA_MILTER_MILTER_INT_H

#include "milter/milter.h"

/*
 * Puts each of the n clients that still wants the message into sub's
 * content step (filter.c), with qid for the macro i.
 */
void milter_filters_add(struct milter_client *const *clients, size_t n, struct msg_sub *sub,
    const char *qid);

/* The filter's section. */
const struct config_milter *milter_client_conf(const struct milter_client *mc);
/*
 * 1 when mc may serve another connection: nothing in flight or unread, and
 * the session where QUIT_NC is taken (milter_is_reusable()).
 */
int milter_client_is_reusable(const struct milter_client *mc);
/*
 * Says QUIT_NC and parks a reusable mc: idle, its timer set to
 * idle_timeout_ms; when the filter speaks, closes or the timer fires,
 * gone(arg, mc) is called, which must free it. 0, or -1 when the write
 * failed (mc is then dead: free it).
 */
int milter_client_park(struct milter_client *mc, unsigned idle_timeout_ms,
    void (*gone)(void *arg, struct milter_client *mc), void *arg);
/* 1 when a parked mc's socket is still open with nothing unread (asked of the kernel). */
int milter_client_is_parked_alive(const struct milter_client *mc);
/* Takes a parked mc back into use, for connection log_id; its next step is CONNECT. */
void milter_client_unpark(struct milter_client *mc, const char *log_id);

/* A connection to the filter cfg->milters[idx]: from its pool, or a new one. */
struct milter_client *milter_pool_take(struct milter_pool *p, size_t idx, const char *log_id);
/* The index of the filter called name in the pool's configuration, or SIZE_MAX. */
size_t milter_pool_find(const struct milter_pool *p, const char *name);
/* Gives *mc back: parked when it may serve again and there is room, else closed; *mc = NULL. */
void milter_pool_give(struct milter_pool *p, struct milter_client **mc);

#endif
