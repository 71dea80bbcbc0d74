"""queuefiles.py - queue files written straight into a spool's queue/ (the format of
tests/unit/golden/README.md, with records.py's writer), which the daemon recovers at its next
start: for tests and benchmarks that need many messages in the queue without sending each.
The envelope records carry the keys src/spool/spool.c writes; a T record per recipient makes a
message deferred until `next_s`, an H record puts it on hold."""

import os
import time

from records import Writer, kv

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as src/util/qid.c


def make_qid(us, seq=0):
    """The queue id src/util/qid.c would make at microsecond us (with seq among equal times)."""
    v = ((us & ((1 << 52) - 1)) << 12) | (seq & 0xFFF)
    digits = []
    for _ in range(13):
        digits.append(ALPHABET[v & 31])
        v >>= 5
    return "".join(reversed(digits))


def queue_file(qid, sender, rcpts, content, arrival_us, deferred=None, held=False):
    """The bytes of one queue file. rcpts: addresses (remote) or (address, mailbox) pairs;
    deferred: (attempts, next_s, reason) for every recipient; held: an operator's hold."""
    w = Writer()
    w.record("M", kv(("qid", qid), ("arrival_us", arrival_us), ("client_ip", "192.0.2.10"),
                     ("helo", "client.test"), ("proto", "ESMTP"), ("body", "7BIT"),
                     ("smtputf8", 0), ("origin", "smtp")))
    w.record("S", kv(("addr", sender)))
    for r in rcpts:
        to, mailbox = (r, None) if isinstance(r, str) else r
        pairs = [("to", to), ("orig", to)] + ([("mailbox", mailbox)] if mailbox else [])
        w.record("R", kv(*pairs))
    w.record("C", content)
    w.end()
    if deferred is not None:
        attempts, next_s, reason = deferred
        for i in range(len(rcpts)):
            w.record("T", kv(("rcpt", i), ("attempts", attempts), ("next", next_s),
                             ("reason", reason)), counted=False)
    if held:
        w.record("H", kv(("held", 1), ("uid", 0), ("time", int(time.time()))), counted=False)
    return bytes(w.data)


def fill(spool, count, rcpt_domain="never.test", deferred_for_s=86400, held=False,
         body_bytes=200, end_us=None):
    """Writes count deferred messages (one recipient each, at rcpt_domain, next attempt in
    deferred_for_s, a body of body_bytes) into spool/queue/, arrived one millisecond apart
    ending at end_us (now by default; later: queued before the clock was set back). Returns
    their queue ids in order. The files are written as the spool writes them (complete, then
    renamed); the caller restarts the daemon for it to recover them."""
    queue = os.path.join(spool, "queue")
    os.makedirs(queue, exist_ok=True)
    # the daemon's user must be able to append to them and remove them, as its own files
    owner = os.stat(spool)
    if os.geteuid() == 0:
        os.chown(queue, owner.st_uid, owner.st_gid)
    now_us = int(time.time() * 1e6) if end_us is None else end_us
    next_s = int(time.time()) + deferred_for_s
    body = b"Subject: queued\r\nFrom: a@example.org\r\n\r\n" + b"x" * body_bytes + b"\r\n"
    ids = []
    for i in range(count):
        arrival = now_us - (count - i) * 1000
        q = make_qid(arrival)
        data = queue_file(q, "a@example.org", ["user%d@%s" % (i, rcpt_domain)], body, arrival,
                          deferred=(1, next_s, "connect to mx.%s: Connection refused"
                                    % rcpt_domain), held=held)
        tmp = os.path.join(queue, "." + q)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        if os.geteuid() == 0:
            os.fchown(fd, owner.st_uid, owner.st_gid)
        os.close(fd)
        os.rename(tmp, os.path.join(queue, q))
        ids.append(q)
    return ids
