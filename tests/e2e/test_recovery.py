"""The queue found at start (docs/architecture.md, the receive path's "Restart"): the daemon
greets at once, however large its queue, and lists and reads the queue while it already
accepts mail; nothing it accepts meanwhile is taken for a queued message or takes the place
of one."""

import hashlib
import json
import os
import re
import subprocess
import threading
import time

from conftest import STERNA_BIN
from queuefiles import fill
from smtpclient import Client

QUEUED = 5000
SENT = 20


def digests(spool, ids):
    """Each queued file's SHA-256, by queue id."""
    out = {}
    for q in ids:
        with open(os.path.join(spool, "queue", q), "rb") as f:
            out[q] = hashlib.sha256(f.read()).hexdigest()
    return out


def send(c, i):
    """One message to a domain that never answers (it stays queued): its queue id."""
    r = c.dialog(b"MAIL FROM:<a@example.org>\r\n", 250,
                 b"RCPT TO:<new%d@never.test>\r\n" % i, 250, b"DATA\r\n", 354,
                 b"Subject: meanwhile %d\r\n\r\nsent while the queue is read\r\n.\r\n" % i, 250)
    return re.fullmatch(r"Ok: queued as (\S+)", r[-1].text).group(1)


def first_greeting(s, out):
    """Connects as soon as the port takes connections, and reads the greeting: out gets the
    client, and whether the daemon had read its whole queue by then."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c = Client("127.0.0.1", s.port, timeout=20)
        except OSError:
            time.sleep(0.005)
            continue
        r = c.reply()
        out["was_recovered"] = "queued messages recovered" in s.log()[out["log_from"]:]
        out["greeting"] = r
        out["client"] = c
        return


def test_a_large_queue_is_read_after_the_first_greeting_and_nothing_queued_is_lost(
        sterna_factory):
    # relays for the test client: what it sends stays queued for never.test
    s = sterna_factory(queue__retry_min="1h", relay__trusted_networks=["127.0.0.1/32"])
    s.stop()
    # queued an hour ahead of the clock (a clock set back since): new ids sort before theirs
    # until the listing has moved the generator past them
    ids = fill(s.spool, QUEUED, rcpt_domain="never.test",
               end_us=int((time.time() + 3600) * 1e6))
    before = digests(s.spool, ids)
    seen = {"log_from": len(s.log())}
    t = threading.Thread(target=first_greeting, args=(s, seen))
    t.start()
    s.start()
    t.join()
    assert seen["greeting"].code == 220
    # the first session is served before the queue has been read, not after
    assert not seen["was_recovered"], s.log()[seen["log_from"]:]
    c = seen["client"]
    s._clients.append(c)
    c.dialog(b"EHLO client.test\r\n", 250)
    sent = [send(c, i) for i in range(SENT)]

    # every queued file was found, and none of those sent meanwhile was taken for one
    s.wait_log(r"spool: %d queued messages recovered in [\d.]+ s" % QUEUED, timeout=60)
    # not even the names were read before the ports opened
    log = s.log()[seen["log_from"]:]
    assert log.index(" ready version=") < log.index("spool: reading %d queued messages" % QUEUED)
    # once the queue is listed, a new id comes after every queued one, whatever the clock says
    last = send(c, SENT)
    assert last > max(ids), (last, max(ids))
    # nothing queued was lost or replaced: the same files, byte for byte, beside the new ones
    assert len(set(sent + [last])) == SENT + 1
    assert s.queue_ids() == sorted(ids + sent + [last])
    assert digests(s.spool, ids) == before
    # and the scheduler has each message once
    r = subprocess.run([STERNA_BIN, "status", "-c", s.conf, "--json"], capture_output=True,
                       text=True, timeout=30)
    status = json.loads(r.stdout)
    assert status.get("status", status)["queue"]["total"] == QUEUED + SENT + 1
    assert "exists already" not in s.log()
