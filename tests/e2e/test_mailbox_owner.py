"""Who owns delivered mail (local.mailbox_group): sterna, started as root, runs as nobody and
delivers into Maildirs of the group "mail"; a real Dovecot that reads and writes mail as the
user "mail" (not sterna's user, not root) serves them over IMAP, moves them to cur/, and
sterna goes on delivering into the Maildir Dovecot has written to since."""

import imaplib
import os
import pwd
import grp
import stat
import subprocess

import pytest

from dovecot import Dovecot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the daemon must start as root")


def send(sterna, subject):
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
             b"Subject: " + subject + b"\r\n\r\nfor dovecot\r\n.\r\n", 250)


def imap_messages(dovecot):
    """alice's INBOX over IMAP, selected read-write (so Dovecot takes new/ into cur/)."""
    c = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=10)
    try:
        c.login("alice", "alice-pw")
        typ, data = c.select("INBOX")
        assert typ == "OK", (data, dovecot.log()[-3000:])
        typ, data = c.uid("SEARCH", None, "ALL")
        assert typ == "OK", data
        out = []
        for uid in data[0].split():
            typ, data = c.uid("FETCH", uid, "(BODY.PEEK[])")
            assert typ == "OK", data
            out.append(data[0][1])
        return out
    finally:
        c.logout()


def test_dovecot_as_another_user_reads_what_sterna_delivered(sterna_factory):
    mail_gid = grp.getgrnam("mail").gr_gid
    nobody = pwd.getpwnam("nobody")
    sterna = sterna_factory(local__mailbox_group="mail")
    dovecot = Dovecot(maildirs=sterna.mailbox_root, mail_user="mail", mail_group="mail")
    try:
        send(sterna, b"first")
        [stored] = sterna.wait_for_mail("alice")
        maildir = sterna.maildir("alice")
        [name] = os.listdir(os.path.join(maildir, "new"))
        st = os.stat(os.path.join(maildir, "new", name))
        # sterna's user owns it, the mailboxes' group reads it, nobody else does
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, mail_gid, 0o640)
        for d in (sterna.mailbox_root, maildir, os.path.join(maildir, "new")):
            st = os.stat(d)
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
                (nobody.pw_uid, mail_gid, 0o2770), d

        [got] = imap_messages(dovecot)
        assert got == stored.replace(b"\n", b"\r\n")   # what sterna stored, byte for byte
        # Dovecot, as "mail", moved it to cur/ and wrote its own files beside it
        assert os.listdir(os.path.join(maildir, "new")) == []
        assert len(os.listdir(os.path.join(maildir, "cur"))) == 1
        assert any(pwd.getpwuid(os.stat(os.path.join(maildir, f)).st_uid).pw_name == "mail"
                   for f in os.listdir(maildir)), os.listdir(maildir)

        # and sterna still delivers into the Maildir Dovecot has written to
        send(sterna, b"second")
        sterna.wait_for_mail("alice")
        got = imap_messages(dovecot)
        assert len(got) == 2 and b"Subject: second\r\n" in got[1]
        assert "Permission denied" not in dovecot.log()
    finally:
        dovecot.cleanup()


def test_check_and_serve_refuse_a_group_that_does_not_exist(tmp_path):
    from conftest import STERNA_BIN, free_port
    conf = tmp_path / "sterna.conf"
    conf.write_text('server { hostname = "mx.example.test"; user = "nobody"; }\n'
                    'listen "mx" { address = "127.0.0.1:%d"; }\nspool { dir = "spool"; }\n'
                    'local { mailbox_root = "mail"; mailbox_group = "no-such-sterna-group"; }\n'
                    % free_port())
    want = "%s: local.mailbox_group: no such group 'no-such-sterna-group'" % conf
    p = subprocess.run([STERNA_BIN, "check", "-c", str(conf)], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (1, want + "\n")
    p = subprocess.run([STERNA_BIN, "serve", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1 and want in p.stderr, p.stderr
    assert not (tmp_path / "mail").exists()   # refused before anything was made
