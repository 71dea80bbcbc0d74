/*
 * queue_fixture.h - a queued message as the queue's views tests build it,
 * for the tests of what shows the queue (test_qview.c, test_control.c,
 * test_http.c).
 */
#ifndef STERNA_TESTS_QUEUE_FIXTURE_H
#define STERNA_TESTS_QUEUE_FIXTURE_H

#include "spool/spool.h"

/*
 * A new message 6C7EAJ89TX000 from a@example.org: bob@example.net deferred
 * three times (its last reply holds a byte that is not UTF-8 and a control
 * byte), info@example.test delivered to alice's mailbox, carol@example.net
 * pending. Free it with spool_msg_free().
 */
struct spool_msg *queue_fixture_msg(void);

#endif
