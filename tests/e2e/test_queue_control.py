"""The control socket and the commands that use it (docs/control.md, docs/operations.md):
sterna queue list/show/flush/hold/release/delete/bounce, sterna status, mailq, sendmail -q and
-bp, with real mail in the queue. Remote domains are routed to loopback addresses: smtp-sink
peers when a test wants delivery, nothing at all (connection refused) when it wants mail kept
deferred, and an smtp-sink that stalls after DATA when it wants an attempt in flight."""

import json
import os
import pwd
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import STERNA_BIN
from peers import Sink, free_port_on
from queuefiles import fill
from test_outbound import bounce_of, send, wait_gone, wait_log

SINK, OTHER, SLOW, DEAD = "127.0.0.30", "127.0.0.31", "127.0.0.32", "127.0.0.33"
BODY = b"Subject: queued\r\nMessage-ID: <q1@example.test>\r\n\r\nin the queue\r\n"
UID = str(os.geteuid())

MSG_KEYS = {"id", "state", "arrival", "size", "sender", "next_attempt", "recipients"}
RCPT_KEYS = {"email", "orig", "state", "agent", "attempts", "last_reply", "next_attempt", "status"}
SHOW_KEYS = MSG_KEYS | {"origin", "client_ip", "client_name", "helo", "proto", "tls_version",
                        "tls_cipher", "auth_user", "local_user", "local_uid", "fail_status",
                        "fail_text"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def port():
    return free_port_on([SINK, OTHER, SLOW, DEAD])


@pytest.fixture
def sinks():
    started = []

    def make(host, port, *options):
        s = Sink(host, port, *options)
        started.append(s)
        return s

    yield make
    for s in started:
        s.cleanup()


@pytest.fixture
def mta(sterna_factory, port):
    """A sterna that relays for 127.0.0.2, with routes to the loopback peers and retries an
    hour apart, so that a deferred message stays deferred unless a test acts on it."""
    def make(**overrides):
        conf = dict(relay__trusted_networks=["127.0.0.2/32"], outbound__port=port,
                    outbound__routes=["sink.test [%s]" % SINK, "other.test [%s]" % OTHER,
                                      "slow.test [%s]" % SLOW, "dead.test [%s]" % DEAD],
                    queue__retry_min="1h", queue__retry_max="2h", outbound__connection_idle="1s")
        conf.update(overrides)
        return sterna_factory(**conf)
    return make


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                          **kw)


def queue(s, *args, prefix=()):
    """sterna queue -c CONF ARGS...: the finished process, text output."""
    r = run(list(prefix) + [STERNA_BIN, "queue", "-c", s.conf] + list(args))
    r.out, r.err = r.stdout.decode(), r.stderr.decode()
    return r


def qjson(s, *args):
    """The JSON lines of sterna queue --json ARGS..., each parsed."""
    r = queue(s, "--json", *args)
    assert r.returncode == 0, (r.returncode, r.err)
    return [json.loads(line) for line in r.out.splitlines()]


def state_of(s, qid):
    [m] = qjson(s, "list", qid)
    return m["state"]


def deferred(s, *qids):
    for q in qids:
        wait_log(s, q + r"\.1 deferred ")


def link(tmp_path, name):
    """The binary under another name, as installed links make it."""
    path = tmp_path / name
    os.symlink(STERNA_BIN, path)
    return str(path)


# ---- listing ------------------------------------------------------------------------------

def test_list_and_show(mta):
    s = mta()
    a = send(s, ["bob@dead.test"], BODY)
    b = send(s, ["carol@dead.test", "alice@example.test"], BODY, sender="")
    deferred(s, a, b)
    s.wait_for_mail("alice")

    r = queue(s, "list")
    assert r.returncode == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["-Queue", "ID-", "--Size--", "----Arrival", "Time----",
                                "-Sender/Recipient-------"]
    # Postfix's layout: id, size, arrival, sender; the reason; the recipients still to deliver
    ia, ib = [next(i for i, l in enumerate(lines) if l.startswith(q)) for q in (a, b)]
    assert lines[ia].split()[-1] == "alice@example.test"
    assert re.match(r"\(.*\)$", lines[ia + 1]), lines
    assert lines[ia + 2].strip() == "bob@dead.test" and lines[ia + 2].startswith(" " * 40)
    assert lines[ib].split()[-1] == "<>"
    assert lines[ib + 2].strip() == "carol@dead.test"
    assert "alice@example.test" not in lines[ib + 3]  # delivered: not listed
    assert re.fullmatch(r"-- \d+ Kbytes in 2 Requests\.", lines[-1]), lines[-1]

    got = qjson(s, "list")
    assert [m["id"] for m in got] == [a, b]  # queue id order is arrival order
    rb = {r["email"]: r for r in got[1]["recipients"]}
    assert got[1]["sender"] == "" and got[1]["state"] == "deferred"
    assert rb["carol@dead.test"]["state"] == "deferred"
    assert rb["carol@dead.test"]["attempts"] == 1
    assert rb["carol@dead.test"]["agent"] == "smtp"
    assert rb["carol@dead.test"]["last_reply"]
    assert rb["alice@example.test"]["state"] == "delivered"
    assert rb["alice@example.test"]["agent"] == "maildir"
    assert rb["alice@example.test"]["status"] == "2.0.0"

    r = queue(s, "show", b)
    assert r.returncode == 0, r.err
    assert re.search(r"^Queue ID: +%s$" % b, r.out, re.M)
    assert re.search(r"^State: +deferred$", r.out, re.M)
    assert re.search(r"^Sender: +<>$", r.out, re.M)
    assert re.search(r"^Client: +.*\[127\.0\.0\.2\], HELO client\.test$", r.out, re.M)
    assert re.search(r"^  <carol@dead\.test> deferred \(smtp\)$", r.out, re.M)
    assert re.search(r"^      last reply: .+", r.out, re.M)
    assert re.search(r"^  <alice@example\.test> delivered \(maildir\) 2\.0\.0$", r.out, re.M)
    [shown] = qjson(s, "show", b)
    assert shown["client_ip"] == "127.0.0.2" and shown["helo"] == "client.test"
    assert shown["origin"] == "smtp" and shown["proto"] == "ESMTP"

    # filters, and ids
    assert [m["id"] for m in qjson(s, "list", a)] == [a]
    assert [m["id"] for m in qjson(s, "list", "--sender", "<>")] == [b]
    assert [m["id"] for m in qjson(s, "list", "--sender", "alice@example.test")] == [a]
    assert [m["id"] for m in qjson(s, "list", "--recipient", "carol@dead.test")] == [b]
    assert [m["id"] for m in qjson(s, "list", "--domain", "dead.test")] == [a, b]
    assert [m["id"] for m in qjson(s, "list", "--state", "deferred,held",
                                   "--younger-than", "1h")] == [a, b]
    assert qjson(s, "list", "--older-than", "1h") == []
    assert qjson(s, "list", "--state", "held") == []
    r = queue(s, "list", "--state", "held")
    assert (r.returncode, r.out) == (0, "Mail queue is empty\n")

    # an id that is not there: exit 66 (EX_NOINPUT), named on standard error
    gone = "0000000000000"
    for args in (("list", gone), ("show", gone), ("show", a, gone)):
        r = queue(s, *args)
        assert r.returncode == 66, (args, r.returncode, r.err)
        assert "%s: no such message in the queue" % gone in r.err
    log = s.log()
    assert re.search(r"ctl\d+ control uid=%s op=list qid=- state=- sender=<> " % UID, log)
    assert re.search(r"ctl\d+ control uid=%s op=show qid=%s " % (UID, b), log)


def test_json_output_has_the_documented_fields(mta):
    s = mta()
    q = send(s, ["bob@dead.test", "carol@dead.test"], BODY)
    deferred(s, q)
    r = queue(s, "--json", "list")
    for line in r.out.splitlines():
        m = json.loads(line)
        assert set(m) == MSG_KEYS
        assert m["state"] in ("queued", "active", "deferred", "held", "scheduled")
        assert TIME.match(m["arrival"]) and isinstance(m["size"], int) and m["size"] > 0
        assert m["next_attempt"] is None or TIME.match(m["next_attempt"])
        for rc in m["recipients"]:
            assert set(rc) == RCPT_KEYS
            assert rc["state"] in ("pending", "active", "deferred", "delivered", "failed")
            assert isinstance(rc["attempts"], int)
    [m] = qjson(s, "show", q)
    assert set(m) == SHOW_KEYS
    r = run([STERNA_BIN, "status", "-c", s.conf, "--json"])
    st = json.loads(r.stdout)
    assert set(st) == {"version", "started", "uptime_s", "sessions", "control_connections",
                       "queue", "recipients", "oldest_arrival", "last_minute",
                       "outbound_connections"}
    assert set(st["queue"]) == {"total", "queued", "active", "deferred", "held", "scheduled"}
    assert set(st["last_minute"]) == {"delivered", "deferred", "failed"}
    [res] = qjson(s, "hold", q)
    assert res == {"ok": True, "op": "hold", "matched": 1, "done": 1, "failed": 0}


# ---- operations ---------------------------------------------------------------------------

def test_hold_survives_a_restart_and_release_delivers(mta, sinks, port):
    s = mta()
    q = send(s, ["bob@sink.test"], BODY)
    deferred(s, q)  # nothing listens on sink.test yet

    r = queue(s, "hold", q)
    assert (r.returncode, r.out) == (0, "%s: hold: done\n" % q), r.err
    assert state_of(s, q) == "held"
    sink = sinks(SINK, port)
    s.restart()
    assert state_of(s, q) == "held"
    assert re.search(r"^%s! " % q, queue(s, "list").out, re.M)  # mailq's mark for held
    time.sleep(2)
    assert sink.messages() == [] and q in s.queue_ids()

    r = queue(s, "release", q)
    assert r.returncode == 0, r.err
    [got] = sink.wait_messages(1)
    assert b"in the queue" in got
    wait_gone(s, q)
    log = s.log()
    assert re.search(r"%s operator op=hold uid=%s" % (q, UID), log)
    assert re.search(r"%s operator op=release uid=%s" % (q, UID), log)


def test_delete_a_deferred_message(mta):
    # retries a second apart: a message that were still there would be tried again at once
    s = mta(queue__retry_min="1s", queue__retry_max="1s")
    q = send(s, ["bob@dead.test"], BODY)
    deferred(s, q)
    r = queue(s, "delete", q)
    assert (r.returncode, r.out) == (0, "%s: delete: done\n" % q), r.err
    assert q not in s.queue_ids()
    wait_log(s, q + " removed why=deleted")
    tries = len(re.findall(q + r"\.1 deferred", s.log()))
    time.sleep(3)
    assert len(re.findall(q + r"\.1 deferred", s.log())) == tries
    assert not re.search(q + r"\.1 (bounced|expired)", s.log())
    assert s.mails("alice") == []  # the sender hears nothing
    assert queue(s, "list").out == "Mail queue is empty\n"


def stalled_attempt(mta, sinks, port):
    """A message whose attempt is in flight: the peer takes the connection and stalls before
    answering DATA, so the attempt ends only with outbound.data_timeout."""
    slow = sinks(SLOW, port, "-w", "60")
    # smtp-sink holds back its replies to MAIL and RCPT too, while DATA waits
    s = mta(outbound__mail_timeout="4s", outbound__rcpt_timeout="4s",
            outbound__data_timeout="4s")
    q = send(s, ["bob@slow.test"], BODY)
    deadline = time.monotonic() + 15
    while state_of(s, q) != "active":
        assert time.monotonic() < deadline, s.log()[-3000:]
        time.sleep(0.05)
    return s, q, slow


def test_delete_during_an_attempt(mta, sinks, port):
    s, q, slow = stalled_attempt(mta, sinks, port)
    r = queue(s, "delete", q)
    assert (r.returncode, r.out) == (0, "%s: delete: done\n" % q), r.err
    assert q not in s.queue_ids()
    log = s.log()
    # the attempt ended and was recorded first; only then did the message go
    assert log.index(q + ".1 deferred") < log.index(q + " removed why=deleted"), log[-3000:]
    time.sleep(1)
    # smtp-sink opens its dump file at DATA: an empty one is no message
    assert not any(slow.messages())
    assert s.mails("alice") == []


def test_a_client_that_leaves_is_forgotten_not_its_operation(mta, sinks, port):
    s, q, _ = stalled_attempt(mta, sinks, port)
    c = socket.socket(socket.AF_UNIX)
    c.connect(control_path(s))
    c.sendall(b'{"op":"delete","filter":{"id":"%s"}}\n' % q.encode())
    c.close()
    wait_log(s, q + " removed why=deleted")
    ctl = re.search(r"(ctl\d+) control uid=\d+ op=delete qid=%s" % q, s.log()).group(1)
    time.sleep(0.5)
    assert not re.search(ctl + " control_done", s.log())  # nobody was left to answer
    assert q not in s.queue_ids()


def test_bounce_returns_the_message_to_its_sender(mta):
    s = mta()
    q = send(s, ["bob@dead.test"], BODY)
    deferred(s, q)
    r = queue(s, "bounce", q)
    assert r.returncode == 0, r.err
    msg, [rc], headers = bounce_of(s)  # an RFC 3464 report, in alice's Maildir
    assert msg["To"] == "<alice@example.test>"
    assert rc["Final-Recipient"] == "rfc822; bob@dead.test"
    assert rc["Action"] == "failed"
    assert rc["Status"].startswith("5.")
    assert b"Message-ID: <q1@example.test>" in headers.as_bytes()
    wait_gone(s, q)
    assert re.search(r"%s operator op=bounce uid=%s" % (q, UID), s.log())


def test_flush_one_destination(mta, sinks, port):
    s = mta()
    a = send(s, ["bob@sink.test"], BODY)
    b = send(s, ["carol@other.test"], BODY)
    deferred(s, a, b)
    sink_a, sink_b = sinks(SINK, port), sinks(OTHER, port)

    r = queue(s, "flush", "--domain", "sink.test")
    assert (r.returncode, r.out) == (0, "flush: 1 message matched, 1 done, 0 failed\n"), r.err
    sink_a.wait_messages(1)
    wait_gone(s, a)
    time.sleep(2)
    assert sink_b.messages() == []  # its next attempt is an hour away, and stays so
    assert state_of(s, b) == "deferred"


def test_bulk_delete_by_state_and_domain(mta):
    s = mta()
    held = [send(s, ["u%d@dead.test" % i], BODY) for i in range(3)]
    other = send(s, ["x@other.test"], BODY)
    loose = send(s, ["y@dead.test"], BODY)
    deferred(s, *held, other, loose)
    r = queue(s, "hold", *held, other)
    assert r.returncode == 0, r.err

    r = queue(s, "delete", "--state", "held", "--domain", "dead.test")
    assert (r.returncode, r.out) == (0, "delete: 3 messages matched, 3 done, 0 failed\n"), r.err
    assert s.queue_ids() == sorted([other, loose])
    assert re.search(r"control uid=%s op=delete qid=- state=held sender=- recipient=- "
                     r"domain=dead\.test .* all=no" % UID, s.log())
    assert re.search(r"control_done uid=%s op=delete matched=3 done=3 failed=0" % UID, s.log())
    # nothing matched: exit 66
    r = queue(s, "delete", "--state", "held", "--domain", "dead.test")
    assert r.returncode == 66 and r.out == "delete: 0 messages matched, 0 done, 0 failed\n"


def test_never_the_whole_queue_by_default(mta):
    s = mta()
    q = send(s, ["bob@dead.test"], BODY)
    deferred(s, q)
    for args in (("delete",), ("bounce",), ("hold", "--all", q),
                 ("delete", "--all", "--domain", "dead.test"), ("list", "--state", "bogus"),
                 ("list", "--older-than", "soon"), ("frobnicate",), ("show",), ("delete", "xyz"),
                 ("list", "--colour")):
        r = queue(s, *args)
        assert r.returncode == 64, (args, r.returncode, r.err)
        assert r.err.startswith("sterna queue: ")
    assert s.queue_ids() == [q]
    # the daemon says the same to a client that asks without a filter
    assert exchange(s, b'{"op":"delete"}\n')[0]["error"]["code"] == "filter_required"
    r = queue(s, "hold", "--all")
    assert (r.returncode, r.out) == (0, "hold: 1 message matched, 1 done, 0 failed\n")


# ---- mailq, sendmail, status ----------------------------------------------------------------

def test_mailq_and_sendmail_q(mta, tmp_path):
    s = mta()
    q = send(s, ["bob@dead.test"], BODY)
    deferred(s, q)
    listing = queue(s, "list").out
    assert q in listing

    r = run([link(tmp_path, "mailq"), "-c", s.conf])
    assert (r.returncode, r.stdout.decode()) == (0, listing), r.stderr
    sendmail = link(tmp_path, "sendmail")
    r = run([sendmail, "-C", s.conf, "-bp"])
    assert (r.returncode, r.stdout.decode()) == (0, listing), r.stderr

    # -q: everything now, though its next attempt is an hour away
    r = run([sendmail, "-C", s.conf, "-q"])
    assert r.returncode == 0, r.stderr
    wait_log(s, q + r"\.1 deferred .*attempt=2 ")
    assert re.search(r"control uid=%s op=flush qid=- .* all=yes" % UID, s.log())
    # -qRsite: one destination
    r = run([sendmail, "-C", s.conf, "-qRdead.test"])
    assert r.returncode == 0, r.stderr
    wait_log(s, q + r"\.1 deferred .*attempt=3 ")
    assert re.search(r"control uid=%s op=flush .* domain=dead\.test " % UID, s.log())
    r = run([sendmail, "-C", s.conf, "-q30m"])
    assert r.returncode == 64 and r.stderr.startswith(b"sendmail: -q30m is not supported")


def test_status(mta):
    s = mta()
    q = send(s, ["bob@dead.test"], BODY)
    deferred(s, q)
    send(s, ["alice@example.test"], BODY)
    s.wait_for_mail("alice")
    c = s.connect()  # one SMTP session open

    r = run([STERNA_BIN, "status", "-c", s.conf])
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert re.match(r"sterna \S+, up \d+m \d\ds \(since .+\)\n", out), out
    assert re.search(r"^SMTP sessions: +1$", out, re.M), out
    assert re.search(r"^Queue: +1 messages: 0 queued, 0 active, 1 deferred, 0 held, "
                     r"0 scheduled$", out, re.M)
    assert re.search(r"^Recipients to deliver: +1$", out, re.M)
    assert re.search(r"^Last minute: +\d+ delivered, \d+ deferred, 0 failed$", out, re.M)
    st = json.loads(run([STERNA_BIN, "status", "-c", s.conf, "--json"]).stdout)
    assert st["queue"] == {"total": 1, "queued": 0, "active": 0, "deferred": 1, "held": 0,
                           "scheduled": 0}
    assert st["sessions"] == 1 and st["recipients"] == 1
    assert st["last_minute"]["delivered"] >= 1 and st["last_minute"]["deferred"] >= 1
    assert TIME.match(st["oldest_arrival"]) and TIME.match(st["started"])
    c.close()
    r = run([STERNA_BIN, "status", "-c", s.conf, "--state", "held"])
    assert r.returncode == 64


def test_daemon_not_running(mta):
    s = mta()
    sock = control_path(s)
    s.stop()
    assert not os.path.exists(sock)  # removed at stop: "not running", not "refused"
    r = queue(s, "list")
    assert r.returncode == 69 and "(is it running?)" in r.err, (r.returncode, r.err)
    r = run([STERNA_BIN, "status", "-c", s.conf])
    assert r.returncode == 69
    r = run([STERNA_BIN, "status", "-c", os.path.join(s.dir, "nonexistent.conf")])
    assert r.returncode == 78


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the command as other users (needs root)")
def test_socket_refused_to_another_user(mta):
    s = mta()  # the daemon runs as nobody, its group nogroup
    st = os.stat(control_path(s))
    nobody = pwd.getpwnam("nobody")
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o660, nobody.pw_uid, nobody.pw_gid)
    stranger = ["setpriv", "--reuid", "4242", "--regid", "4242", "--clear-groups"]

    r = queue(s, "list", prefix=stranger)
    assert r.returncode == 77, (r.returncode, r.err)  # EX_NOPERM: the socket's mode
    assert "Permission denied" in r.err
    # past the mode (a process allowed to override it), the daemon's own check refuses
    r = queue(s, "list", prefix=stranger + ["--inh-caps", "+dac_override",
                                             "--ambient-caps", "+dac_override"])
    assert r.returncode == 77, (r.returncode, r.err)
    assert "(forbidden)" in r.err
    assert re.search(r"ctl\d+ control_refused uid=4242 gid=4242 pid=\d+", s.log())
    # the daemon's group may: as the primary group, or as a supplementary one
    for who in (["setpriv", "--reuid", "4242", "--regid", str(nobody.pw_gid), "--clear-groups"],
                stranger[:-1] + ["--groups", str(nobody.pw_gid)]):
        r = queue(s, "list", prefix=who)
        assert (r.returncode, r.out) == (0, "Mail queue is empty\n"), (who, r.err)


# ---- the protocol itself ------------------------------------------------------------------

def control_path(s):
    """The daemon's control socket; its log when there is none (a daemon that never started:
    another process took its port between the fixture's choice and the bind)."""
    path = os.path.join(s.spool, "control")
    if not os.path.exists(path):
        pytest.fail("no control socket at %s; log:\n%s" % (path, s.log()[-3000:]))
    return path


def exchange(s, data, shut=True):
    """Sends data on a new control connection and reads every reply line until the daemon
    closes it (shut: after closing our sending side, as socat does)."""
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(20)
    c.connect(control_path(s))
    c.sendall(data)
    if shut:
        c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
    c.close()
    return [json.loads(line) for line in got.splitlines()]


def test_protocol_errors(mta):
    s = mta()
    replies = exchange(s, b'{"op":"frobnicate"}\n'
                       b'{"op":"list","filter":{"state":"bogus"}}\n'
                       b'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n'
                       b'{"op":"list"\n'
                       b'{"op":"li\\u0000st"}\n'
                       b'{"op":"hold"}\n'
                       b'{"op":"status"}\n')
    codes = [r["error"]["code"] if not r["ok"] else "ok" for r in replies]
    assert codes == ["unknown_op", "bad_filter", "too_deep", "bad_json", "bad_json",
                     "filter_required", "ok"]
    # the end of the client's input after a listing: the whole reply, then the daemon closes
    assert exchange(s, b'{"op":"list"}\n') == [{"ok": True, "count": 0}]
    assert exchange(s, b'{"op":"status"}\n{"op":"list"}\n')[-1] == {"ok": True, "count": 0}
    assert all(r["error"]["message"] for r in replies if not r["ok"])
    # a line that never ends: one error, then the connection is closed
    replies = exchange(s, b"x" * 10000, shut=False)
    assert [r["error"]["code"] for r in replies] == ["line_too_long"]
    log = s.log()
    for code in ("unknown_op", "bad_filter", "too_deep", "bad_json", "line_too_long"):
        assert re.search(r"ctl\d+ control_error uid=%s code=%s" % (UID, code), log)


def test_a_large_queue_is_read_while_mail_is_accepted_and_a_stop_keeps_the_rest(sterna_factory):
    # (a thousand: removing queue files that were flushed costs the teardown seconds)
    s = sterna_factory(queue__retry_min="1h")
    s.stop()
    ids = fill(s.spool, 1000, rcpt_domain="never.test")
    s.start()
    # the ports open first; the queue is listed and its files read meanwhile, oldest first
    s.wait_log(r"spool: reading 1000 queued messages")
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
             b"Subject: during\r\n\r\nhi\r\n.\r\n", 250)
    s.wait_for_mail("alice")
    # a stop at any point of the reading exits cleanly, and leaves the rest queued
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0
    s.proc = None
    before = len(s.log())
    s.start()
    deadline = time.monotonic() + 20
    while not re.search(r"spool: 1000 queued messages recovered in [\d.]+ s", s.log()[before:]):
        assert time.monotonic() < deadline, s.log()[before:]
        time.sleep(0.05)
    assert s.queue_ids() == ids


def test_a_long_listing_streams_while_mail_flows(sterna_factory):
    s = sterna_factory(queue__retry_min="1h")
    s.stop()
    ids = fill(s.spool, 3000, rcpt_domain="never.test")
    s.start()
    s.wait_log(r"spool: 3000 queued messages recovered")

    # a client that asks for the whole queue and then reads nothing
    c = socket.socket(socket.AF_UNIX)
    c.connect(control_path(s))
    c.sendall(b'{"op":"list"}\n')
    time.sleep(0.5)
    # meanwhile mail comes in and is delivered
    send_local = s.connect()
    send_local.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
                      b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
                      b"Subject: meanwhile\r\n\r\nhi\r\n.\r\n", 250)
    s.wait_for_mail("alice")
    r = run([STERNA_BIN, "status", "-c", s.conf, "--json"])
    assert json.loads(r.stdout)["queue"]["deferred"] == 3000

    # a client that shuts its sending side after asking (socat) gets it all, then the end
    replies = exchange(s, b'{"op":"list","filter":{"domain":"never.test"}}\n')
    assert [r["msg"]["id"] for r in replies[:-1]] == ids
    assert replies[-1] == {"ok": True, "count": 3000}

    c.settimeout(30)
    f = c.makefile("rb")
    got = []
    for line in f:
        r = json.loads(line)
        if "msg" not in r:
            assert r == {"ok": True, "count": 3000}
            break
        got.append(r["msg"]["id"])
    c.close()
    assert got == ids
    # the command line gets the same, JSON line by JSON line
    assert [m["id"] for m in qjson(s, "list")] == ids


def test_an_idle_connection_gives_way_to_a_destination_with_mail(mta, sinks, port):
    # one connection in all, kept idle for a minute after each message: the next
    # destination's mail must not wait for that minute
    s = mta(queue__max_connections=1, outbound__connection_idle="60s")
    sink_a, sink_b = sinks(SINK, port), sinks(OTHER, port)
    send(s, ["bob@sink.test"], BODY)
    sink_a.wait_messages(1)
    t0 = time.monotonic()
    b = send(s, ["carol@other.test"], BODY)
    sink_b.wait_messages(1, timeout=20)
    wait_gone(s, b)
    assert time.monotonic() - t0 < 10, "the waiting destination waited for the idle connection"
    # and the other way round: the first destination gets its slot back the same way
    send(s, ["dave@sink.test"], BODY)
    sink_a.wait_messages(2, timeout=20)
