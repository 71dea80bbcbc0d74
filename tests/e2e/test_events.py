"""The event stream (src/events) as the event log keeps it: every recipient's changes as JSON
lines with cursors in order, received and delivered for local mail, bounced with its class and
category, deferred with its attempt and next time, expired; cursors go on after a restart."""
import glob
import json
import os
import time

from test_outbound import HARD, SOFT, dns, mta, port, send, sinks  # noqa: F401 (fixtures)

EHLO = b"EHLO client.test\r\n"


def events(s, want, timeout=20):
    """The event log's events, oldest first, once it holds want of them (a predicate)."""
    deadline = time.monotonic() + timeout
    while True:
        got = []
        for path in sorted(glob.glob(os.path.join(s.spool, "events", "*.jsonl"))):
            with open(path, "rb") as f:
                got += [json.loads(line) for line in f if line.endswith(b"\n")]
        if want(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError("events: %s\nlog:\n%s" % (got, s.log()[-3000:]))
        time.sleep(0.1)


def of(evs, qid):
    return [e for e in evs if e["message_id"] == qid]


def test_local_mail_received_then_delivered(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"RCPT TO:<bob@example.test>\r\n", 250,
             b"DATA\r\n", 354)
    c.send(b"Subject: t\r\n\r\nbody\r\n.\r\n")
    r = c.reply()
    qid = r.text.split()[-1]
    evs = events(sterna, lambda got: len([e for e in got if e["type"] == "delivered"]) == 2)
    mine = of(evs, qid)
    assert [e["type"] for e in mine] == ["received", "received", "delivered", "delivered"]
    assert sorted(e["recipient"] for e in mine[:2]) == ["alice@example.test", "bob@example.test"]
    assert all(e["entrance"] == "smtp" and e["sender"] == "a@remote.test" for e in mine[:2])
    cursors = [int(e["cursor"]) for e in evs]
    assert cursors == list(range(cursors[0], cursors[0] + len(cursors)))
    # a restart goes on from the last cursor
    sterna.restart()
    c = sterna.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250,
             b"DATA\r\n", 354, b"Subject: t2\r\n\r\nbody\r\n.\r\n", 250)
    evs = events(sterna, lambda got: len(got) >= 6)
    assert [int(e["cursor"]) for e in evs] == list(range(cursors[0], cursors[0] + 6))
    assert evs[4]["sender"] == ""


def test_bounces_are_classified(mta, sinks, port):  # noqa: F811
    sinks(HARD, port, "-f", "RCPT")
    s = mta()
    qid = send(s, ["bob@hard.test", "carol@nowhere.test", "dan@nullmx.test"],
               b"Subject: will bounce\r\n\r\nbody\r\n")
    evs = of(events(s, lambda got: len(of(got, qid)) >= 6), qid)
    bounced = {e["recipient"]: e for e in evs if e["type"] == "bounced"}
    assert set(bounced) == {"bob@hard.test", "carol@nowhere.test", "dan@nullmx.test"}
    assert bounced["carol@nowhere.test"]["bounce"] == {"class": "hard", "category": "dns"}
    assert bounced["dan@nullmx.test"]["bounce"] == {"class": "hard", "category": "dns"}
    assert bounced["dan@nullmx.test"]["reply"]["status"] == "5.1.10"
    bob = bounced["bob@hard.test"]
    assert bob["reply"]["code"] == 500 and bob["reply"]["status"] == "5.3.0", bob
    assert bob["bounce"]["class"] == "hard"
    assert bob["relay"].startswith("mx.hard.test[")


def test_deferred_then_expired(mta, sinks, port):  # noqa: F811
    sinks(SOFT, port, "-r", "RCPT")
    s = mta(queue__lifetime="3s")
    qid = send(s, ["bob@soft.test"], b"Subject: expires\r\n\r\nx\r\n")
    evs = of(events(s, lambda got: any(e["type"] == "expired" for e in got)), qid)
    deferred = [e for e in evs if e["type"] == "deferred"]
    assert deferred and deferred[0]["attempt"] == 1
    assert deferred[0]["reply"]["code"] == 450
    assert deferred[0]["next_attempt"] >= deferred[0]["time"][:19]
    expired = [e for e in evs if e["type"] == "expired"]
    assert len(expired) == 1 and expired[0]["bounce"]["class"] == "soft"
    assert expired[0]["reply"]["status"] == "4.4.7"
