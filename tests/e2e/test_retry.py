"""A delivery that fails (here: the Maildir cannot be created) keeps the message queued,
logs it as deferred with the reason and the next attempt, and delivers it once the mailbox
works again (docs/architecture.md, delivery; the retry backoff starts at queue.retry_min)."""

import os
import re
import time

from test_delivery import smtplib_send


def block_maildir(sterna, user):
    """Put a plain file where the user's Maildir directory goes: mkdir fails, as on a bad disk."""
    path = sterna.maildir(user)
    with open(path, "w") as f:
        f.write("not a directory\n")
    return path


def wait_log(sterna, pattern, timeout=10):
    deadline = time.time() + timeout
    while not re.search(pattern, sterna.log()):
        assert time.time() < deadline, sterna.log()
        time.sleep(0.1)


def test_failed_delivery_is_kept_and_retried(sterna_factory):
    sterna = sterna_factory(queue__retry_min="1s", queue__retry_max="2s")
    blocker = block_maildir(sterna, "alice")
    qid = smtplib_send(sterna, ["alice@example.test"], b"Subject: retry\r\n\r\nplease retry\r\n")

    wait_log(sterna, qid + r"\.1 deferred .*attempt=2")
    # still queued, nothing delivered, and the failure was retried with a backoff
    assert sterna.queue_ids() == [qid]
    assert os.path.isfile(blocker)  # no Maildir, so nothing was delivered
    assert re.search(qid + r"\.1 deferred to=<alice@example.test> attempt=1 next_s=1 ", sterna.log())
    assert re.search(qid + r"\.1 deferred to=<alice@example.test> attempt=2 next_s=2 ", sterna.log())

    os.unlink(blocker)
    [got] = sterna.wait_for_mail("alice", timeout=15)
    assert got.endswith(b"\n\nplease retry\n")
    deadline = time.time() + 5
    while sterna.queue_ids():
        assert time.time() < deadline
        time.sleep(0.1)


def test_deferred_message_survives_restart(sterna_factory):
    sterna = sterna_factory(queue__retry_min="1s", queue__retry_max="1s")
    blocker = block_maildir(sterna, "bob")
    qid = smtplib_send(sterna, ["bob@example.test"], b"Subject: kept\r\n\r\nkept across a restart\r\n")
    wait_log(sterna, qid + r"\.1 deferred")
    sterna.stop()
    os.unlink(blocker)
    sterna.start()
    [got] = sterna.wait_for_mail("bob", timeout=15)
    assert got.endswith(b"\n\nkept across a restart\n")


def test_a_queue_file_removed_by_hand_is_forgotten(sterna_factory):
    """`rm` of a deferred message's queue file: the next attempt finds it gone, the scheduler
    forgets it (one `removed why=gone` line) and neither retries it again nor bounces it."""
    sterna = sterna_factory(queue__retry_min="1s", queue__retry_max="1s", queue__lifetime="3s",
                            bounce__delay_notice="0s")
    block_maildir(sterna, "alice")
    qid = smtplib_send(sterna, ["alice@example.test"], b"Subject: ghost\r\n\r\nremoved by hand\r\n")
    wait_log(sterna, qid + r"\.1 deferred .*attempt=1 ")
    os.unlink(os.path.join(sterna.spool, "queue", qid))
    wait_log(sterna, qid + r" removed why=gone")
    time.sleep(4)   # past the lifetime: a ghost would have expired and bounced by now
    log = sterna.log()
    assert len(re.findall(qid + r" removed why=gone", log)) == 1
    assert not re.search(qid + r"\.1 (expired|bounced)", log)
    assert not re.search(qid + r"\.1 deferred .*attempt=2 ", log)
    assert not re.search(r" received .*origin=notice", log)   # no notice to the sender
