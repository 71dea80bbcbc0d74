"""Messages sent by real clients (smtplib, swaks) land in the right Maildir, byte for byte,
and recipients are accepted or refused as docs/smtp.md says (RCPT TO table)."""

import os
import re
import smtplib
import stat
import subprocess
import time

import pytest

SENDER = "sender@remote.test"


def queued_id(reply_text):
    m = re.fullmatch(r"2\.0\.0 Ok: queued as (\S+)", reply_text)
    assert m, "not a queued reply: %r" % reply_text
    return m.group(1)


def smtplib_send(sterna, rcpts, msg, mail_options=()):
    """Send msg (bytes, CRLF) with smtplib; return the queue id from the 250 reply to DATA."""
    with smtplib.SMTP("127.0.0.1", sterna.port, local_hostname="client.remote.test", timeout=60) as s:
        code, _ = s.ehlo()
        assert code == 250
        code, resp = s.mail(SENDER, list(mail_options))
        assert (code, resp) == (250, b"2.1.0 Ok")
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert (code, resp) == (250, b"2.1.5 Ok"), (r, code, resp)
        code, resp = s.data(msg)
        assert code == 250, resp
        return queued_id(resp.decode())


def split_delivered(data, rcpt, qid, sender=SENDER):
    """Check the headers sterna adds and return the rest (the message as sent, LF line ends)."""
    head = ("Return-Path: <%s>\nDelivered-To: %s\n" % (sender, rcpt)).encode()
    assert data.startswith(head), data[:300]
    rest = data[len(head):]
    assert rest.startswith(b"Received: from "), rest[:300]
    lines = rest.split(b"\n")
    n = 1
    while lines[n][:1] in (b" ", b"\t"):
        n += 1
    received = b" ".join(l.strip() for l in lines[:n]).decode()
    received = re.sub(r"\s+", " ", received)
    assert ("by mx.example.test (sterna) with ESMTP id %s" % qid) in received, received
    return b"\n".join(lines[n:])


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


BODY_MSG = (b"From: Sender <sender@remote.test>\r\n"
            b"To: alice@example.test\r\n"
            b"Subject: dots, 8 bits and a long line\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n"
            b"first line\r\n"
            b".a line starting with a dot\r\n"
            b"..two dots\r\n"
            b".\tdot and tab\r\n"
            b"Gr\xc3\xbc\xc3\x9fe, \xe2\x82\xac and \xff\xfe raw bytes\r\n"
            + b"L" * 998 + b"\r\n"
            b"last line\r\n")


def test_smtplib_to_alice_byte_for_byte(sterna):
    qid = smtplib_send(sterna, ["alice@example.test"], BODY_MSG, mail_options=["BODY=8BITMIME"])
    [got] = sterna.wait_for_mail("alice")
    assert split_delivered(got, "alice@example.test", qid) == lf(BODY_MSG)
    assert sterna.mails("bob") == []


def test_20mb_message(sterna):
    line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\r\n"
    msg = b"Subject: big\r\n\r\n" + line * (20 * 1024 * 1024 // len(line))
    qid = smtplib_send(sterna, ["alice@example.test"], msg)
    [got] = sterna.wait_for_mail("alice", timeout=60)
    assert split_delivered(got, "alice@example.test", qid) == lf(msg)


def test_alias_gives_each_target_one_copy(sterna):
    msg = b"Subject: to info\r\n\r\nhello\r\n"
    qid = smtplib_send(sterna, ["info@example.test"], msg)
    [a] = sterna.wait_for_mail("alice")
    [b] = sterna.wait_for_mail("bob")
    # The alias is what the client named; Delivered-To names the mailbox's address.
    for got, user in ((a, "alice"), (b, "bob")):
        assert b"\nDelivered-To: " in got
        body = got[got.index(b"Received: from "):]
        assert body.endswith(lf(msg)), got
    time.sleep(0.5)
    assert len(sterna.mails("alice")) == 1 and len(sterna.mails("bob")) == 1


def test_same_mailbox_twice_gets_one_copy(sterna):
    msg = b"Subject: twice\r\n\r\nonce please\r\n"
    smtplib_send(sterna, ["alice@example.test", "info@example.test"], msg)
    sterna.wait_for_mail("alice")
    sterna.wait_for_mail("bob")
    # bob's copy is written in the same delivery run; give alice's duplicate time to show.
    time.sleep(1)
    assert len(sterna.mails("alice")) == 1
    assert len(sterna.mails("bob")) == 1


def test_plus_tag_goes_to_user(sterna):
    msg = b"Subject: tagged\r\n\r\nhi\r\n"
    qid = smtplib_send(sterna, ["alice+tag@example.test"], msg)
    [got] = sterna.wait_for_mail("alice")
    assert split_delivered(got, "alice+tag@example.test", qid) == lf(msg)


def test_postmaster_any_case_at_localhost(sterna):
    c = sterna.connect()
    r = c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
                 b"RCPT TO:<POSTMASTER@localhost>\r\n", 250, b"RCPT TO:<postmaster>\r\n", 250)
    assert (r[2].code, r[2].status) == (250, "2.1.5")
    assert (r[3].code, r[3].status) == (250, "2.1.5")


@pytest.mark.parametrize("rcpt, code, status, text", [
    ("nobody@example.test", 550, "5.1.1", "<nobody@example.test>: Recipient address rejected: User unknown"),
    ("alice@other.test", 554, "5.7.1", "<alice@other.test>: Relay access denied"),
    # Relay tricks are refused outright (test_relay.py has them all).
    ("user%other.test@example.test", 553, "5.7.1", None),
    ('"user@other.test"@example.test', 553, "5.7.1", None),
    ("alice%other.test@example.test", 553, "5.7.1", None),
])
def test_refused_recipients(sterna, rcpt, code, status, text):
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250)
    c.send(b"RCPT TO:<" + rcpt.encode() + b">\r\n")
    r = c.reply()
    assert (r.code, r.status) == (code, status), r
    if text:
        assert r.text == text, r
    # Nothing can be sent with only refused recipients.
    c.send(b"DATA\r\n")
    r = c.reply()
    assert (r.code, r.status) == (554, "5.5.1"), r
    c.dialog(b"NOOP\r\n", 250)
    assert sterna.queue_ids() == []
    assert sterna.all_mail() == []


def test_swaks_pipelined_to_bob(sterna):
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sterna.port),
                        "--helo", "client.remote.test", "--from", SENDER, "--to", "bob@example.test",
                        "--pipeline", "--header", "Subject: swaks test", "--body", "hello from swaks"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    m = re.search(r"<-+\s+250 2\.0\.0 Ok: queued as (\S+)", out)
    assert m, out
    [got] = sterna.wait_for_mail("bob")
    assert got.startswith(b"Return-Path: <%s>\nDelivered-To: bob@example.test\n" % SENDER.encode())
    assert b"Subject: swaks test\n" in got
    assert b"\nhello from swaks\n" in got
    assert b"\r" not in got


@pytest.mark.skipif(os.geteuid() != 0, reason="a mailbox left to root needs root")
def test_mailbox_left_to_root_is_given_back_at_start(sterna):
    """An earlier run as root left alice's Maildir to root: every delivery would be deferred
    with "Permission denied". At start, still root, sterna gives it to server.user."""
    import pwd
    sterna.stop()
    md = sterna.maildir("alice")
    for sub in ("", "tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), mode=0o700, exist_ok=True)
        os.chown(os.path.join(md, sub), 0, 0)
    old = os.path.join(md, "new", "1.old.host")
    with open(old, "wb") as f:
        f.write(b"Subject: old\n\nfrom the root days\n")
    os.chmod(old, 0o600)
    link = os.path.join(sterna.mailbox_root, "elsewhere")
    os.symlink("/etc", link)   # never followed, never chowned
    sterna.start()
    nobody = pwd.getpwnam("nobody")
    sterna.wait_log(r"mailbox %s was owned by uid 0 gid 0 mode [0-7]+: given to uid %d gid %d "
                    r"mode 2770 with its messages" % (re.escape(md), nobody.pw_uid, nobody.pw_gid))
    assert os.stat(md).st_uid == nobody.pw_uid and os.stat(old).st_uid == nobody.pw_uid
    # the group of server.user (local.mailbox_group's default) may read, nobody else
    assert stat.S_IMODE(os.stat(md).st_mode) == 0o2770
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o640 and os.stat(old).st_gid == nobody.pw_gid
    assert os.stat("/etc").st_uid == 0
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
             b"Subject: new\r\n\r\ndelivered\r\n.\r\n", 250)
    assert len(sterna.wait_for_mail("alice", count=2)) == 2


def test_old_files_in_maildir_tmp_are_removed(sterna):
    """A crash between a delivery's write and its rename leaves a file in tmp/ (never
    delivered: its recipient is still queued). After 36 hours it goes (Maildir convention)."""
    sterna.stop()
    tmp = os.path.join(sterna.maildir("alice"), "tmp")
    os.makedirs(tmp, exist_ok=True)
    old, fresh = os.path.join(tmp, "1.crashed.host"), os.path.join(tmp, "2.writing.host")
    for p in (old, fresh):
        with open(p, "wb") as f:
            f.write(b"Subject: half\n\n")
    then = time.time() - 37 * 3600
    os.utime(old, (then, then))
    sterna.start()
    sterna.wait_log(r'mailboxes: tmp/ files older than 36 hours removed: 1"$')
    assert not os.path.exists(old) and os.path.exists(fresh)
