/*
 * loop_prio.h - the priorities of the daemon's event loop. serve.c sets
 * the loop up with LOOP_PRIORITIES queues; every event stays in libevent's
 * default, the middle one, except work that must yield to mail and runs
 * only when nothing else is ready (an operator's listing of a large queue).
 */
#ifndef STERNA_UTIL_LOOP_PRIO_H
#define STERNA_UTIL_LOOP_PRIO_H

#define LOOP_PRIORITIES 3
#define LOOP_PRIORITY_BACKGROUND 2

#endif
