"""The Dovecot fixture (dovecot.py) proven with clients nobody here wrote: Python's smtplib
speaks LMTP to it over the UNIX socket and over TCP, and imaplib reads what it saved. What
these tests pin down is what sterna's LMTP delivery will be checked against: one reply per
accepted recipient after the data (RFC 2033 4.2), 552 5.2.2 for a user over quota (452 4.2.2
with quota_full_tempfail), and the message read back byte for byte below Dovecot's own
header fields."""

import pytest

from dovecot import Dovecot, lmtp_send


@pytest.fixture(scope="module")
def dovecot():
    d = Dovecot()
    yield d
    d.cleanup()


def message(tag):
    """A message over tiny's 1 KiB quota, with what a careless store or client would change:
    a line that starts with a dot (stuffed on the wire, not in the mailbox), 8-bit UTF-8, a
    folded header field and a body that does not end in an empty line."""
    lines = [
        b"From: Sender <sender@example.org>",
        b"To: alice@example.test, bob@example.test",
        b"Subject: fixture " + tag.encode(),
        b"Message-ID: <" + tag.encode() + b"@example.org>",
        b"X-Folded: one",
        b"\ttwo",
        b"",
        b"Gr\xc3\xbc\xc3\x9fe, " + tag.encode(),
        b".a line that starts with a dot",
        b"..and one with two",
    ]
    lines += [b"%04d " % i + b"z" * 70 for i in range(20)]
    return b"\r\n".join(lines) + b"\r\n"


def find(messages, tag):
    """The one message among messages whose Message-ID is tag's."""
    got = [m for m in messages if (b"<" + tag.encode() + b"@example.org>") in m]
    assert len(got) == 1, got
    return got[0]


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "tcp"])
def test_lmtp_replies_per_recipient_and_imap_reads_back(dovecot, tcp):
    tag = "fixture-%s" % ("tcp" if tcp else "unix")
    msg = message(tag)
    assert len(msg) > 1024   # over tiny's quota
    c = dovecot.lmtp(tcp=tcp)
    code, _ = c.ehlo("client.example.test")   # smtplib.LMTP says LHLO
    assert code == 250 and c.has_extn("pipelining") and c.has_extn("enhancedstatuscodes")
    replies = lmtp_send(c, "sender@example.org", ["alice@example.test", "nobody@example.test",
                                                  "tiny@example.test", "bob@example.test"], msg)
    # the unknown user at RCPT; after the data one reply per accepted recipient, in order
    assert replies["nobody@example.test"][0] == 550
    assert replies["nobody@example.test"][1].startswith(b"5.1.1 ")
    assert replies["alice@example.test"][0] == 250
    assert replies["alice@example.test"][1].startswith(b"2.0.0 <alice@example.test> ")
    assert replies["tiny@example.test"] == (552, b"5.2.2 <tiny@example.test> Quota exceeded "
                                                 b"(mailbox for user is full)")
    assert replies["bob@example.test"][0] == 250
    # the session is still in step: a second message on the same connection, then QUIT
    again = message(tag + "-again")
    assert lmtp_send(c, "", ["alice@example.test"], again)["alice@example.test"][0] == 250
    assert c.quit()[0] == 221

    for user in ("alice", "bob"):
        added, rest = Dovecot.strip_added(find(dovecot.wait_messages(user, 1), tag))
        assert rest == msg   # byte for byte
        assert added.startswith(b"Return-Path: <sender@example.org>\r\n")
    added, rest = Dovecot.strip_added(find(dovecot.wait_messages("alice", 2), tag + "-again"))
    assert rest == again
    assert added.startswith(b"Return-Path: <>\r\n")
    assert dovecot.messages("tiny") == []   # nothing over quota was kept


def test_quota_tempfail_makes_it_452():
    d = Dovecot(quota_tempfail=True)
    try:
        c = d.lmtp()
        c.ehlo("client.example.test")
        replies = lmtp_send(c, "sender@example.org", ["tiny@example.test", "alice@example.test"],
                            message("fixture-tempfail"))
        c.quit()
        assert replies["tiny@example.test"][0] == 452
        assert replies["tiny@example.test"][1].startswith(b"4.2.2 <tiny@example.test> ")
        assert replies["alice@example.test"][0] == 250
        assert len(d.wait_messages("alice", 1)) == 1
    finally:
        d.cleanup()
