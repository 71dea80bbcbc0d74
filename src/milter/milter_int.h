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

#endif
