"""A delivery that fails (here: alice's Maildir cannot be created) keeps the message queued,
logs it as deferred with the reason and the next attempt, and delivers it once the mailbox
works again (docs/architecture.md, delivery; the retry backoff starts at queue.retry_min)."""

import os
import re
import time


def test_failed_delivery_is_kept_and_retried(sterna_factory):
    sterna = sterna_factory(queue__retry_min="1s", queue__retry_max="2s")
    blocker = sterna.maildir("alice")
    # a plain file where the Maildir directory should be: mkdir fails, as on a broken disk
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<sender@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
    c.send(b"Subject: retry\r\n\r\nplease retry\r\n.\r\n")
    r = c.reply()
    assert (r.code, r.status) == (250, "2.0.0"), r
    qid = re.search(r"queued as (\w+)", r.text).group(1)

    deadline = time.time() + 10
    while not re.search(qid + r"\.1 deferred .*attempt=2", sterna.log()):
        assert time.time() < deadline, sterna.log()
        time.sleep(0.1)
    # still queued, nothing delivered, and the failure was retried with a backoff
    assert sterna.queue_ids() == [qid]
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
    blocker = sterna.maildir("bob")
    with open(blocker, "w") as f:
        f.write("x")
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<sender@remote.test>\r\n", 250,
             b"RCPT TO:<bob@example.test>\r\n", 250, b"DATA\r\n", 354)
    c.send(b"Subject: kept\r\n\r\nkept across a restart\r\n.\r\n")
    r = c.reply()
    assert r.code == 250, r
    qid = re.search(r"queued as (\w+)", r.text).group(1)
    deadline = time.time() + 10
    while qid + ".1 deferred" not in sterna.log():
        assert time.time() < deadline, sterna.log()
        time.sleep(0.1)
    sterna.stop()
    os.unlink(blocker)
    sterna.start()
    [got] = sterna.wait_for_mail("bob", timeout=15)
    assert got.endswith(b"\n\nkept across a restart\n")
