"""Submission (RFC 6409) on a listener with require_auth: 530 before AUTH, the envelope sender
must be the user's (553 otherwise), and Message-ID and Date are added to a submitted message
that lacks them, never when it has them."""

import re
import smtplib

import pytest

from conftest import free_port
from smtpclient import Client
from test_auth import PASSWORDS, b64, users_file  # noqa: F401 (a fixture)

EHLO = b"EHLO client.test\r\n"


@pytest.fixture
def sub(sterna_factory, users_file):  # noqa: F811
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True,
                       listen__submission__address="127.0.0.1:%d" % free_port(),
                       listen__submission__require_auth=True,
                       listen__submission__auth_without_tls=True)
    s.sub_port = int(re.search(r'listen "submission" \{\s*address = "127\.0\.0\.1:(\d+)"',
                               open(s.conf).read()).group(1))
    return s


def sub_client(s):
    c = Client("127.0.0.1", s.sub_port)
    s._clients.append(c)
    assert c.reply().code == 220
    return c


def login(c, user):
    c.send(b"AUTH PLAIN " + b64("\0%s\0%s" % (user, PASSWORDS[user])).encode() + b"\r\n")
    assert c.reply().code == 235


def test_mail_before_auth_is_530(sub):
    c = sub_client(sub)
    c.dialog(EHLO, 250)
    c.send(b"MAIL FROM:<alice@example.test>\r\n")
    r = c.reply()
    assert (r.code, r.status, r.text) == (530, "5.7.0", "Authentication required"), r
    login(c, "alice")
    c.dialog(b"MAIL FROM:<alice@example.test>\r\n", 250)


def test_mx_listener_does_not_require_auth(sub):
    c = sub.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250)


@pytest.mark.parametrize("user, sender, code", [
    ("alice", "alice@example.test", 250),
    ("alice", "Alice@EXAMPLE.TEST", 250),
    ("alice", "alice+lists@example.test", 250),       # plus-addressing of the own address
    ("alice", "alice@localhost", 250),                # every local domain
    ("alice", "", 250),                               # the null sender
    ("alice", "bob@example.test", 553),
    ("alice", "alice@other.test", 553),               # not a local domain
    ("alice", "alicex@example.test", 553),
    ("alice", "postmaster@example.test", 553),
    ("bob", "bob@example.test", 250),
    ("bob", "alice@example.test", 553),
    ("carol", "anyone@anywhere.test", 250),           # any_sender
])
def test_sender_must_be_the_users(sub, user, sender, code):
    c = sub_client(sub)
    c.dialog(EHLO, 250)
    login(c, user)
    c.send(b"MAIL FROM:<" + sender.encode() + b">\r\n")
    r = c.reply()
    assert r.code == code, r
    if code == 553:
        assert r.status == "5.7.1"
        assert r.text == "<%s>: Sender address rejected: not owned by user %s" % (sender, user), r


def submit(s, msg, user="alice", to="bob@example.test"):
    with smtplib.SMTP("127.0.0.1", s.sub_port, local_hostname="client.test", timeout=30) as c:
        c.login(user, PASSWORDS[user])
        c.sendmail("%s@example.test" % user, [to], msg)


def headers_of(mail):
    return mail.split(b"\n\n", 1)[0]


def test_message_id_and_date_added(sub):
    submit(sub, b"Subject: no id\r\nFrom: alice@example.test\r\n\r\nbody\r\nDate: in the body\r\n")
    [got] = sub.wait_for_mail("bob")
    h = headers_of(got)
    assert len(re.findall(rb"^Message-ID: <[0-9A-Z]+@mx\.example\.test>$", h, re.M)) == 1, h
    assert len(re.findall(rb"^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$", h, re.M)) == 1, h
    # they come with the Received line, before the message's own header
    assert h.index(b"Message-ID:") < h.index(b"Subject: no id")
    assert got.endswith(b"\n\nbody\nDate: in the body\n")


def test_present_headers_are_kept_not_added(sub):
    msg = (b"Subject: has both\r\nmessage-id: <own@client.test>\r\n"
           b"DATE: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n")
    submit(sub, msg)
    [got] = sub.wait_for_mail("bob")
    h = headers_of(got)
    assert len(re.findall(rb"^message-id:", h, re.M | re.I)) == 1, h
    assert len(re.findall(rb"^date:", h, re.M | re.I)) == 1, h
    assert b"message-id: <own@client.test>" in h


def test_only_the_missing_one_is_added(sub):
    submit(sub, b"Message-ID: <own@client.test>\r\nSubject: x\r\n\r\nbody\r\n")
    [got] = sub.wait_for_mail("bob")
    h = headers_of(got)
    assert len(re.findall(rb"^Message-ID:", h, re.M)) == 1, h
    assert len(re.findall(rb"^Date:", h, re.M)) == 1, h


def test_long_header_section_and_big_body(sub):
    # a header section over several reads and a body far past the hold-back bound
    hdr = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"x" * 900) for i in range(40))
    body = b"".join(b"line %d %s\r\n" % (i, b"y" * 100) for i in range(5000))
    submit(sub, hdr + b"Subject: big\r\n\r\n" + body)
    [got] = sub.wait_for_mail("bob")
    h = headers_of(got)
    assert len(re.findall(rb"^Message-ID:", h, re.M)) == 1
    assert got.endswith(body.replace(b"\r\n", b"\n"))


def test_unauthenticated_mail_is_left_alone(sub):
    c = sub.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<bob@example.test>\r\n", 250,
             b"DATA\r\n", 354)
    c.send(b"Subject: mx\r\n\r\nhi\r\n.\r\n")
    assert c.reply().code == 250
    [got] = sub.wait_for_mail("bob")
    assert b"Message-ID:" not in got and b"\nDate:" not in got
