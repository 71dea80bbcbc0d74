"""Local delivery by LMTP (RFC 2033) to a real Dovecot: a domain routed there with
local.lmtp_routes, over the UNIX socket and over TCP. What is checked: the message read back
over IMAP byte for byte; one reply per recipient after the dot, so a user over quota fails
alone (552 5.2.2 bounces only that one, 452 4.2.2 defers only that one and the others are not
delivered twice on the retry); connections reused across messages; the other local domain
still in its Maildir; and a Dovecot that is not there defers, never bounces."""

import re
import time

import pytest

from dovecot import Dovecot
from test_delivery import smtplib_send


def message(tag, size=3000):
    """A message over tiny's 1 KiB quota, with a line that starts with a dot (stuffed on the
    wire, never in the mailbox) and 8-bit text."""
    lines = [b"From: Sender <sender@remote.test>",
             b"To: alice@example.test",
             b"Subject: lmtp " + tag.encode(),
             b"Message-ID: <" + tag.encode() + b"@remote.test>",
             b"",
             b"Gr\xc3\xbc\xc3\x9fe, " + tag.encode(),
             b".a line that starts with a dot"]
    lines += [b"%04d " % i + b"y" * 70 for i in range(size // 76)]
    return b"\r\n".join(lines) + b"\r\n"


def sterna_for(sterna_factory, hop, **overrides):
    conf = dict(local__users=["postmaster", "alice", "bob", "tiny"],
                local__lmtp_routes=["example.test " + hop],
                queue__retry_min="1s", queue__retry_max="2s")
    conf.update(overrides)
    return sterna_factory(**conf)


def the_one(dovecot, user, tag):
    """The message tagged tag in user's INBOX, without the fields Dovecot put on top and the
    Received field sterna put there (what the client sent, as it sent it)."""
    got = [m for m in dovecot.wait_messages(user, 1)
           if (b"<" + tag.encode() + b"@remote.test>") in m]
    assert len(got) == 1, got
    _, original = Dovecot.strip_added(got[0])
    return original


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "tcp"])
def test_lmtp_delivers_per_recipient(sterna_factory, tcp):
    d = Dovecot()
    try:
        s = sterna_for(sterna_factory, d.hop_tcp if tcp else d.hop_unix)
        tag = "per-rcpt-%s" % ("tcp" if tcp else "unix")
        msg = message(tag)
        qid = smtplib_send(s, ["alice@example.test", "tiny@example.test", "bob@example.test"],
                           msg)
        assert the_one(d, "alice", tag) == msg
        assert the_one(d, "bob", tag) == msg
        relay = re.escape("unix:" + d.socket) if not tcp else r"\S*127\.0\.0\.1\S*"
        s.wait_log(qid + r"\.1 delivered to=<alice@example\.test> relay=%s delay=\S+ dsn=2\.0\.0 "
                   % relay)
        # over quota: that recipient alone fails for good, with Dovecot's own words
        s.wait_log(qid + r"\.2 bounced to=<tiny@example\.test> .*dsn=5\.2\.2", timeout=15)
        assert not re.search(qid + r"\.[13] (bounced|deferred)", s.log())
        assert d.messages("tiny") == []
    finally:
        d.cleanup()


def test_lmtp_tempfail_defers_only_that_recipient(sterna_factory):
    d = Dovecot(quota_tempfail=True)
    try:
        s = sterna_for(sterna_factory, d.hop_unix)
        msg = message("tempfail")
        qid = smtplib_send(s, ["alice@example.test", "tiny@example.test"], msg)
        assert the_one(d, "alice", "tempfail") == msg
        s.wait_log(qid + r"\.2 deferred to=<tiny@example\.test> attempt=1 .*452 4\.2\.2")
        # the retry asks again for tiny only: alice keeps her one copy
        s.wait_log(qid + r"\.2 deferred to=<tiny@example\.test> attempt=2 ", timeout=15)
        assert len(d.messages("alice")) == 1
        assert s.queue_ids() == [qid]
    finally:
        d.cleanup()


def test_lmtp_connection_is_reused_and_other_domains_stay_in_maildir(sterna_factory):
    d = Dovecot()
    try:
        s = sterna_for(sterna_factory, d.hop_unix, outbound__connection_idle="30s")
        for n in range(3):
            smtplib_send(s, ["bob@example.test"], message("reuse-%d" % n, size=200))
            d.wait_messages("bob", n + 1)
        assert len(re.findall(r"connect_out relay=unix:", s.log())) == 1, s.log()
        # localhost is not routed to LMTP: alice@localhost goes to her Maildir
        smtplib_send(s, ["alice@localhost"], message("maildir", size=200))
        [got] = s.wait_for_mail("alice")
        assert b"<maildir@remote.test>" in got
        assert d.messages("alice") == []
    finally:
        d.cleanup()


def test_lmtp_server_down_defers(sterna_factory, tmp_path):
    s = sterna_for(sterna_factory, "unix:%s" % (tmp_path / "no-such-socket"))
    qid = smtplib_send(s, ["alice@example.test"], message("down", size=200))
    s.wait_log(qid + r"\.1 deferred to=<alice@example\.test> attempt=1 ")
    time.sleep(0.5)
    assert not re.search(qid + r"\.1 bounced", s.log())
    assert s.queue_ids() == [qid]
