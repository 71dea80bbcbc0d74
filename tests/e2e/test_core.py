"""The submission core (src/msg), seen from outside: the fields it adds and where they go
(RFC 5322 2.1: an empty line after them when the message has no header section), mail loops
stopped at smtp.max_hops (RFC 5321 6.3), what the queue file records of the envelope, files of
the earlier version still read, one daemon per spool, and one "received" log line for every
entrance (SMTP and notices here; sendmail and the pickup folder in their own tests)."""

import email
import email.policy
import os
import re
import subprocess
import time

import pytest

from conftest import STERNA_BIN, free_port
from peers import Sink
from records import Writer, kv, queue_file
from test_auth import PASSWORDS, b64, users_file  # noqa: F401 (a fixture)

START = (b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
         b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)


def send(sterna, content, start=START):
    """Sends content (ending in CRLF) as one message; returns the reply to its end."""
    c = sterna.connect()
    c.dialog(*start)
    c.send(content + b".\r\n")
    return c, c.reply()


def parsed(raw):
    """A delivered message as Python's mail readers see it, with every defect they find."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [d for part in msg.walk() for d in part.defects]
    return msg, defects


def header_and_body(raw):
    head, sep, body = raw.partition(b"\n\n")
    assert sep, raw
    return head, body


# ---- RFC 5322 2.1: the added fields and the message's own header section ----

@pytest.mark.parametrize("content, body", [
    (b"hello\r\nworld\r\n", "hello\nworld\n"),                       # text at once
    (b"From me, with love\r\nx\r\n", "From me, with love\nx\n"),     # looks like a field, is not
    (b" indented\r\n", " indented\n"),                               # a fold of nothing
])
def test_message_without_header_section_is_read_as_body(sterna, content, body):
    _c, r = send(sterna, content)
    assert r.code == 250, r
    raw = sterna.wait_for_mail("alice")[0]
    msg, defects = parsed(raw)
    assert defects == [], defects
    assert msg.get_content() == body
    head, rest = header_and_body(raw)
    assert b"\nReceived: from client.test ([127.0.0.1])\n" in head
    assert rest == body.encode()


def test_a_first_line_that_is_a_field_stays_one(sterna):
    """A first line with the syntax of a header field is one: nothing is inserted after our
    fields (the message's own lack of an empty line is the sender's, and stays as sent)."""
    _c, r = send(sterna, b"hello: world\r\nok\r\n")
    assert r.code == 250, r
    raw = sterna.wait_for_mail("alice")[0]
    assert raw.endswith(b" +0000\nhello: world\nok\n"), raw   # right after our Received
    msg, _defects = parsed(raw)
    assert msg["hello"] == "world"


def test_empty_first_line_is_the_separator_already(sterna):
    _c, r = send(sterna, b"\r\nbody text\r\n")
    assert r.code == 250, r
    raw = sterna.wait_for_mail("alice")[0]
    msg, defects = parsed(raw)
    assert defects == []
    assert msg.get_content() == "body text\n"
    head, rest = header_and_body(raw)
    assert rest == b"body text\n"     # one empty line, not two
    # the delivery's own fields, then ours, and nothing of the sender's
    assert list(msg.keys()) == ["Return-Path", "Delivered-To", "Received"]


def test_message_with_header_section_is_kept_as_sent(sterna):
    _c, r = send(sterna, b"Subject: s\r\nFrom: a@remote.test\r\n\r\nhi\r\n")
    assert r.code == 250, r
    raw = sterna.wait_for_mail("alice")[0]
    head, rest = header_and_body(raw)
    assert head.endswith(b"\nSubject: s\nFrom: a@remote.test")
    assert rest == b"hi\n"
    # relayed mail from another MTA gets no Message-ID or Date of ours
    assert b"\nMessage-ID:" not in head and b"\nDate:" not in head


def test_submission_without_header_section(sterna_factory, users_file):  # noqa: F811
    """A logged-in client's message with no header section: Message-ID and Date are added,
    and the empty line after them keeps its text a body."""
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True)
    start = (b"EHLO client.test\r\n", 250,
             b"AUTH PLAIN " + b64("\0alice\0%s" % PASSWORDS["alice"]).encode() + b"\r\n", 235,
             b"MAIL FROM:<alice@example.test>\r\n", 250, b"RCPT TO:<bob@example.test>\r\n", 250,
             b"DATA\r\n", 354)
    _c, r = send(s, b"just text\r\n", start)
    assert r.code == 250, r
    msg, defects = parsed(s.wait_for_mail("bob")[0])
    assert defects == []
    assert msg["Message-ID"] and msg["Date"]
    assert msg.get_content() == "just text\n"
    # the queue file said who logged in (read before delivery removed it, from the log)
    s.wait_log(r"received conn=c\d+ from=<alice@example.test> .*proto=ESMTPA origin=smtp")


# ---- RFC 5321 6.3: mail loops ----

def received_fields(n):
    return b"".join(b"Received: from h%d.test by h%d.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                    % (i, i + 1) for i in range(n))


def test_120_received_fields_are_refused(sterna):
    c, r = send(sterna, received_fields(120) + b"Subject: loop\r\n\r\nround and round\r\n")
    assert (r.code, r.status) == (554, "5.4.6"), r
    assert r.text == "Error: too many hops"
    c.dialog(b"NOOP\r\n", 250)   # the session goes on
    assert sterna.queue_ids() == []
    assert sterna.all_mail() == []
    sterna.wait_log(r"reject cmd=DATA .*code=554 dsn=5\.4\.6")


def test_100_received_fields_pass(sterna):
    _c, r = send(sterna, received_fields(100) + b"Subject: far\r\n\r\nbut not a loop\r\n")
    assert r.code == 250, r
    msg, defects = parsed(sterna.wait_for_mail("alice")[0])
    assert defects == []
    assert len(msg.get_all("Received")) == 101


def test_max_hops_is_a_setting(sterna_factory):
    s = sterna_factory(smtp__max_hops=3)
    _c, r = send(s, received_fields(4) + b"\r\nx\r\n")
    assert (r.code, r.status) == (554, "5.4.6"), r
    _c, r = send(s, received_fields(3) + b"\r\nx\r\n")
    assert r.code == 250, r


# ---- the queue file ----

def test_queue_file_records_the_envelope(sterna_factory):
    """HELO name, origin, protocol and client are in the queue file (a relayed message that
    waits for DNS stays queued, so its file can be read)."""
    s = sterna_factory(relay__trusted_networks=["127.0.0.0/8"])
    start = (b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<b@far.test>\r\n", 250, b"DATA\r\n", 354)
    _c, r = send(s, b"Subject: q\r\n\r\nwaits\r\n", start)
    assert r.code == 250, r
    qid = r.text.rsplit(" ", 1)[1]
    s.wait_log(qid + r"\.1 deferred ")
    q = queue_file(os.path.join(s.spool, "queue", qid))
    assert q["meta"]["qid"] == qid
    assert q["meta"]["helo"] == "client.test"
    assert q["meta"]["origin"] == "smtp"
    assert q["meta"]["proto"] == "ESMTP"
    assert q["meta"]["client_ip"] == "127.0.0.1"
    assert "auth_user" not in q["meta"] and "tls_version" not in q["meta"]
    assert q["sender"] == "a@remote.test"
    assert q["rcpts"] == [{"to": "b@far.test", "orig": "b@far.test"}]
    assert q["content"].startswith(b"Received: from client.test ([127.0.0.1])\r\n")
    assert q["content"].endswith(b"\r\nSubject: q\r\n\r\nwaits\r\n")


def test_queue_file_records_the_user(sterna_factory, users_file):  # noqa: F811
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True)
    start = (b"EHLO laptop.test\r\n", 250,
             b"AUTH PLAIN " + b64("\0alice\0%s" % PASSWORDS["alice"]).encode() + b"\r\n", 235,
             b"MAIL FROM:<alice@example.test>\r\n", 250, b"RCPT TO:<b@far.test>\r\n", 250,
             b"DATA\r\n", 354)
    _c, r = send(s, b"Subject: from alice\r\n\r\nx\r\n", start)
    assert r.code == 250, r
    qid = r.text.rsplit(" ", 1)[1]
    s.wait_log(qid + r"\.1 deferred ")
    meta = queue_file(os.path.join(s.spool, "queue", qid))["meta"]
    assert (meta["auth_user"], meta["helo"], meta["proto"]) == ("alice", "laptop.test", "ESMTPA")


def test_queue_file_of_the_earlier_version_is_delivered(sterna):
    """A file as the previous version wrote it (no origin, an empty HELO) is still read."""
    sterna.stop()
    qid = "0000000000042"
    content = b"Received: from x ([192.0.2.1])\r\n\tby mx (sterna) with ESMTP id " + \
        qid.encode() + b"; Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: old\r\n\r\nstill here\r\n"
    w = Writer()
    w.record("M", kv(("qid", qid), ("arrival_us", 1700000000000000), ("client_ip", "192.0.2.1"),
                     ("helo", ""), ("proto", "ESMTP"), ("body", "7BIT"), ("smtputf8", 0)))
    w.record("S", kv(("addr", "a@remote.test")))
    w.record("R", kv(("to", "alice@example.test"), ("orig", "alice@example.test"),
                     ("mailbox", "alice")))
    w.record("C", content)
    w.end()
    path = os.path.join(sterna.spool, "queue", qid)
    with open(path, "wb") as f:
        f.write(bytes(w.data))
    if os.geteuid() == 0:
        os.chown(path, *[getattr(__import__("pwd").getpwnam("nobody"), k)
                         for k in ("pw_uid", "pw_gid")])
    sterna.start()
    raw = sterna.wait_for_mail("alice")[0]
    assert raw.endswith(b"Subject: old\n\nstill here\n")
    sterna.wait_log(qid + r"\.1 delivered to=<alice@example.test>")


# ---- notices enter through the core too ----

def test_notice_is_received_like_any_message(sterna_factory):
    """A bounce is queued through the submission core: its own "received" line (origin
    notice), a Received field of ours, and a message Python reads without defects."""
    port = free_port()
    sink = Sink("127.0.0.1", port, "-f", "RCPT")
    try:
        s = sterna_factory(relay__trusted_networks=["127.0.0.0/8"],
                           outbound__routes=["hard.test [127.0.0.1]:%d" % port])
        start = (b"EHLO client.test\r\n", 250, b"MAIL FROM:<alice@example.test>\r\n", 250,
                 b"RCPT TO:<b@hard.test>\r\n", 250, b"DATA\r\n", 354)
        _c, r = send(s, b"Subject: will bounce\r\n\r\nx\r\n", start)
        assert r.code == 250, r
        raw = s.wait_for_mail("alice", timeout=20)[0]
        msg, defects = parsed(raw)
        assert defects == []
        assert msg.get_content_type() == "multipart/report"
        assert msg["Received"].startswith("by mx.example.test (sterna)")
        log = s.log()
        lines = re.findall(r"^.* received conn=\S+ from=<[^>]*> size=\d+ nrcpt=\d+ proto=\S+ "
                           r"origin=(\S+)$", log, re.M)
        assert lines == ["smtp", "notice"], log
    finally:
        sink.stop()
        sink.cleanup()


# ---- one daemon per spool ----

def second_daemon(sterna):
    """A configuration for another daemon on sterna's spool, on a port of its own."""
    conf = os.path.join(sterna.dir, "second.conf")
    with open(sterna.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(re.sub(r'address = "127\.0\.0\.1:\d+"', 'address = "127.0.0.1:%d"' % free_port(),
                       text))
    return conf


def test_second_daemon_on_a_locked_spool_exits(sterna):
    conf = second_daemon(sterna)
    t0 = time.monotonic()
    p = subprocess.run([STERNA_BIN, "serve", "-c", conf], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode != 0
    assert time.monotonic() - t0 < 10
    err = p.stderr.decode()
    assert "spool %s is in use by another sterna (pid %d)" % (sterna.spool, sterna.pid) in err, err
    # the first one is unharmed
    _c, r = send(sterna, b"Subject: still\r\n\r\nserving\r\n")
    assert r.code == 250, r
    sterna.wait_for_mail("alice")


def test_lock_goes_with_the_daemon_even_on_kill9(sterna):
    sterna.kill9()
    sterna.start()   # the kernel dropped the lock with the process
    _c, r = send(sterna, b"Subject: back\r\n\r\nagain\r\n")
    assert r.code == 250, r


# ---- Received stays well-formed whatever the client calls itself ----

@pytest.mark.parametrize("helo, shown", [
    (b"a;b(c)d", b"a?b?c?d"),
    (b"mx.google.com)by(x", b"mx.google.com?by?x"),
    (b"[127.0.0.1]", b"[127.0.0.1]"),
])
def test_helo_name_cannot_break_received(sterna, helo, shown):
    start = (b"EHLO " + helo + b"\r\n", 250) + START[2:]
    _c, r = send(sterna, b"Subject: s\r\n\r\nhi\r\n", start)
    assert r.code == 250, r
    raw = sterna.wait_for_mail("alice")[0]
    assert b"\nReceived: from " + shown + b" ([127.0.0.1])\n\tby mx.example.test (sterna) " in raw
    _msg, defects = parsed(raw)
    assert defects == []
