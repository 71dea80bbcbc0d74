"""The suppression list: a hard bounce of the categories of events.suppress_on puts the
address on it (kept in the spool across restarts); a later message to it is not tried, fails
with 5.1.1 (a notice to the sender) and its event is "suppressed"; other categories leave the
address alone."""
import json
import os

from test_events import events, of
from test_outbound import HARD, dns, mta, port, send, sinks  # noqa: F401 (fixtures)


def entries(s):
    path = os.path.join(s.spool, "suppressions.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_a_hard_bounce_suppresses_the_next_message(mta):  # noqa: F811
    s = mta()
    first = send(s, ["carol@nowhere.test"], b"Subject: 1\r\n\r\nx\r\n")
    events(s, lambda got: any(e["type"] == "bounced" for e in of(got, first)))
    s.wait_log(r"suppression_added to=<carol@nowhere.test> category=dns")
    [e] = entries(s)
    assert e["op"] == "add" and e["email"] == "carol@nowhere.test"
    assert "hard bounce (dns)" in e["reason"]
    s.restart()
    second = send(s, ["Carol@NOWHERE.test"], b"Subject: 2\r\n\r\nx\r\n")
    evs = of(events(s, lambda got: any(e["type"] == "suppressed" for e in got)), second)
    [sup] = [e for e in evs if e["type"] == "suppressed"]
    assert sup["reply"]["status"] == "5.1.1"
    assert "suppression list" in sup["reply"]["text"]
    assert "bounce" not in sup
    s.wait_log(second + r"\.1 bounced to=<Carol@nowhere.test> .*dsn=5\.1\.1")
    # never looked up again: no second DNS failure for it
    assert s.log().count("nowhere.test") < 20


def test_other_categories_leave_the_address_alone(mta, sinks, port):  # noqa: F811
    sinks(HARD, port, "-f", "RCPT")
    s = mta()
    qid = send(s, ["bob@hard.test"], b"Subject: 1\r\n\r\nx\r\n")
    evs = events(s, lambda got: any(e["type"] == "bounced" for e in of(got, qid)))
    [b] = [e for e in of(evs, qid) if e["type"] == "bounced"]
    assert b["bounce"]["category"] == "other"
    assert entries(s) == []
    # with "other" named, the same bounce suppresses
    t = mta(events__suppress_on="bad_mailbox,dns,other")
    qid = send(t, ["bob@hard.test"], b"Subject: 2\r\n\r\nx\r\n")
    t.wait_log(r"suppression_added to=<bob@hard.test> category=other")


def test_the_command_line(sterna):
    import subprocess
    from conftest import STERNA_BIN

    def cli(*args):
        p = subprocess.run([STERNA_BIN, "suppression", "-c", sterna.conf] + list(args),
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    rc, out, _ = cli("add", "Old@Example.test", "left the company")
    assert (rc, out) == (0, "Old@Example.test: added\n")
    rc, out, _ = cli("add", "old@example.test")
    assert (rc, out) == (0, "old@example.test: already on the list\n")
    rc, out, _ = cli("list")
    assert rc == 0 and "old@example.test" in out and "left the company" in out, out
    assert out.endswith("1 address\n")
    rc, out, _ = cli("--json", "list")
    assert json.loads(out)["suppressions"][0]["email"] == "old@example.test"
    rc, out, err = cli("add", "not an address")
    assert rc == 65 and "email address" in err, (rc, err)       # EX_DATAERR
    rc, out, _ = cli("remove", "old@example.test")
    assert (rc, out) == (0, "old@example.test: removed\n")
    rc, out, _ = cli("remove", "old@example.test")
    assert (rc, out) == (66, "old@example.test: not on the list\n")   # EX_NOINPUT
    rc, _, _ = cli("frobnicate")
    assert rc == 64                                              # EX_USAGE
    sterna.wait_log(r"control .*op=suppress")
