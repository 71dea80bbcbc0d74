"""Dovecot as a real LMTP server and IMAP store for the tests, started on loopback as a child
of the test and stopped by pid, with a configuration of its own in a temporary folder (no
file of /etc is read, so a system Dovecot, running or not, changes nothing here):

    d = Dovecot()                     # or Dovecot(quota_tempfail=True), or reading another
                                      # folder of Maildirs as another user:
                                      # Dovecot(maildirs=ROOT, mail_user="mail", mail_group="mail")
    d.socket, d.lmtp_port, d.imap_port   # LMTP on a UNIX socket and on 127.0.0.1, IMAP
    d.hop_unix, d.hop_tcp             # the same, as sterna's LMTP next hops are written
    d.lmtp(tcp=False)                 # an smtplib.LMTP client, connected (LHLO is yours)
    lmtp_send(client, sender, rcpts, msg)   # {rcpt: (code, text)}, every reply LMTP gives
    d.messages("alice")               # alice's INBOX over IMAP, each message's whole bytes
    d.wait_messages("alice", 1)       # the same, once there are at least that many
    Dovecot.strip_added(raw)          # (what Dovecot put on top, the message as it came)
    d.log()                           # Dovecot's log, for failure messages
    d.cleanup()                       # stops it (by pid) and removes its folder

Users (USERS, password = name + "-pw", any domain: "alice@example.test" is alice):
alice and bob have room; tiny has a quota of 1 KiB, so a message over 1 KiB does not fit
and its recipient's reply after the data is 552 5.2.2 (or 452 4.2.2 with quota_tempfail).
Mailboxes are Maildirs under DIR/mail, stored with CRLF as they came (mail_save_crlf), so
what IMAP returns is the message byte for byte, below the header fields Dovecot adds.
"""

import grp
import imaplib
import os
import pwd
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

from peers import terminate, wait_port

DOVECOT_BIN = shutil.which("dovecot") or "/usr/sbin/dovecot"
USERS = ("alice", "bob", "tiny")
TINY_QUOTA = "1K"
# What Dovecot's LMTP puts on top of a message it saves (RFC 5321 4.4 trace fields and its own
# Delivered-To); strip_added takes exactly these off, and nothing else.
ADDED_FIELDS = (b"return-path", b"received", b"delivered-to")


def password(user):
    return user + "-pw"


def _existing_user(*names):
    for n in names:
        try:
            return pwd.getpwnam(n)
        except KeyError:
            pass
    raise RuntimeError("none of the users %s exists" % (names,))


class Dovecot:
    """dovecot -F with a private dovecot.conf: passwd-file users, Maildirs, the quota plugin,
    LMTP on a UNIX socket and on 127.0.0.1:lmtp_port, IMAP on 127.0.0.1:imap_port.
    quota_tempfail chooses the over-quota reply: False (Dovecot's default) gives 552 5.2.2,
    True gives 452 4.2.2 (quota_full_tempfail)."""

    def __init__(self, quota_tempfail=False, maildirs=None, mail_user=None, mail_group=None):
        """maildirs: the folder of the users' Maildirs (ROOT/alice), else one of its own;
        mail_user, mail_group (names, as root only): who Dovecot reads and writes mail as,
        else nobody (as root) or the test's user."""
        self.dir = tempfile.mkdtemp(prefix="dovecot-")
        # the mail user and Dovecot's own users go through it to their files
        os.chmod(self.dir, 0o755)
        self.host = "127.0.0.1"
        self.socket = os.path.join(self.dir, "lmtp")
        self.maildirs = maildirs or os.path.join(self.dir, "mail")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.quota_tempfail = quota_tempfail
        self.proc = None
        if maildirs is None:
            os.mkdir(self.maildirs, 0o755)
        as_root = os.geteuid() == 0
        if as_root:
            # Dovecot runs its parts as its own users, and never touches mail as root: the
            # Debian package's users when they are there, else nobody
            internal = _existing_user("dovecot", "nobody").pw_name
            login = _existing_user("dovenull", "nobody").pw_name
            group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
            mail = _existing_user(mail_user or "nobody")
            self.mail_gid = grp.getgrnam(mail_group).gr_gid if mail_group else mail.pw_gid
            if maildirs is None:
                os.chown(self.maildirs, mail.pw_uid, mail.pw_gid)
        else:
            # without root every part runs as the test's user and group, and nothing chroots
            me = pwd.getpwuid(os.getuid())
            internal = login = me.pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            mail = me
            self.mail_gid = os.getgid()
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in USERS:
                extra = "userdb_quota_rule=*:storage=%s" % TINY_QUOTA if u == "tiny" else ""
                f.write("%s:{PLAIN}%s::::::%s\n" % (u, password(u), extra))
        for attempt in range(3):
            self.lmtp_port, self.imap_port = self._free_ports(2)
            with open(self.conf, "w") as f:
                f.write(self._config(internal, login, group, mail, as_root))
            try:
                self.start()
                return
            except RuntimeError:
                # another process of this busy machine took a port in between: new ports
                if "Address already in use" not in self._read("stderr") or attempt == 2:
                    shutil.rmtree(self.dir, ignore_errors=True)
                    raise

    @staticmethod
    def _free_ports(n):
        """n distinct TCP ports, free on 127.0.0.1 a moment ago."""
        socks = [socket.socket() for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()
        return ports

    def _config(self, internal, login, group, mail, as_root):
        d = self.dir
        lines = [
            "# written by the test set-up: nothing of /etc/dovecot is read",
            "base_dir = %s/run" % d,
            "state_dir = %s/state" % d,
            "log_path = %s" % self.log_path,
            "instance_name = dovecot-%s" % os.path.basename(d),
            "hostname = dovecot.test",
            "protocols = imap lmtp",
            "listen = 127.0.0.1",
            "ssl = no",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain",
            # "alice@example.test" and "alice" are the same user, for LMTP and IMAP alike
            "auth_username_format = %Ln",
            "default_internal_user = %s" % internal,
            "default_login_user = %s" % login,
            "default_internal_group = %s" % group,
            "first_valid_uid = 1",
            "mail_uid = %d" % mail.pw_uid,
            "mail_gid = %d" % self.mail_gid,
            "mail_location = maildir:%s/%%n" % self.maildirs,
            # kept as it came (CRLF), so that IMAP gives back the very bytes delivered
            "mail_save_crlf = yes",
            "mail_plugins = quota",
            # quota is checked when the message is saved, so the verdict is a reply after
            # the data, per recipient (RFC 2033 4.2), not one to RCPT
            "lmtp_rcpt_check_quota = no",
            # a delivery setting (LDA and LMTP), not the quota plugin's: 552 5.2.2 or 452 4.2.2
            "quota_full_tempfail = %s" % ("yes" if self.quota_tempfail else "no"),
            "passdb {",
            "  driver = passwd-file",
            "  args = scheme=PLAIN %s/users" % d,
            "}",
            "userdb {",
            "  driver = passwd-file",
            "  args = %s/users" % d,
            "  default_fields = home=%s/%%n" % self.maildirs,
            "}",
            "plugin {",
            "  quota = count:User quota",
            "  quota_vsizes = yes",
            "  quota_rule = *:storage=100M",
            "}",
            "service lmtp {",
            "  unix_listener %s {" % self.socket,
            # sterna, run as root, delivers as its own unprivileged user
            "    mode = 0666",
            "  }",
            "  inet_listener lmtp {",
            "    address = 127.0.0.1",
            "    port = %d" % self.lmtp_port,
            "  }",
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            "    address = 127.0.0.1",
            "    port = %d" % self.imap_port,
            "  }",
            "  inet_listener imaps {",
            "    port = 0",
            "  }",
            # only root may chroot
            "  chroot = %s" % ("login" if as_root else ""),
            "}",
            "service anvil {",
            "  chroot = %s" % ("empty" if as_root else ""),
            "}",
        ]
        return "\n".join(lines) + "\n"

    # --- process control -------------------------------------------------------------
    def start(self):
        out = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen([DOVECOT_BIN, "-F", "-c", self.conf], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        try:
            wait_port(self.host, self.lmtp_port, timeout=20)
            wait_port(self.host, self.imap_port, timeout=20)
            deadline = time.monotonic() + 20
            while not os.path.exists(self.socket):
                if time.monotonic() > deadline:
                    raise RuntimeError("no LMTP socket at %s" % self.socket)
                time.sleep(0.05)
        except RuntimeError as e:
            code = self.proc.poll()
            self.stop()
            raise RuntimeError("dovecot did not start (%s, exit %s): %s\n%s"
                               % (e, code, self._read("stderr"), self.log()[-3000:]))

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _read(self, name):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log(self):
        return self._read("dovecot.log")

    # --- talking to it ---------------------------------------------------------------
    @property
    def hop_unix(self):
        return "unix:" + self.socket

    @property
    def hop_tcp(self):
        return "[%s]:%d" % (self.host, self.lmtp_port)

    def lmtp(self, tcp=False, timeout=10):
        """An smtplib.LMTP client, connected. Mind that smtplib reads one reply after the
        data, where LMTP sends one per accepted recipient: read the others with getreply()
        (lmtp_send does)."""
        if tcp:
            return smtplib.LMTP(self.host, self.lmtp_port, timeout=timeout)
        return smtplib.LMTP(self.socket, timeout=timeout)

    def imap(self, user):
        """An IMAP client logged in as user, INBOX selected read-only."""
        c = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        c.login(user, password(user))
        c.select("INBOX", readonly=True)
        return c

    def messages(self, user):
        """Every message in user's INBOX, as IMAP gives it (BODY.PEEK[]: the whole bytes)."""
        c = self.imap(user)
        try:
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

    def wait_messages(self, user, count, timeout=15):
        """Waits until user's INBOX holds at least count messages; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages(user)
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("%s has %d messages, wanted %d; dovecot's log:\n%s"
                                     % (user, len(got), count, self.log()[-3000:]))
            time.sleep(0.1)

    @staticmethod
    def strip_added(raw):
        """(added, message): the header fields Dovecot put on top of a saved message
        (Return-Path, Received, Delivered-To, each with its continuation lines) and the
        rest, which is the message as it was delivered."""
        pos = 0
        while True:
            m = re.match(rb"([A-Za-z-]+):[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", raw[pos:])
            if m is None or m.group(1).lower() not in ADDED_FIELDS:
                return raw[:pos], raw[pos:]
            pos += m.end()


def lmtp_send(client, sender, rcpts, msg):
    """One LMTP transaction on client (smtplib.LMTP, after LHLO), with the replies LMTP gives:
    returns {rcpt: (code, text)}, from RCPT for a refused recipient and from after the data
    (RFC 2033 4.2: one reply each, in RCPT order) for an accepted one."""
    out, accepted = {}, []
    code, text = client.mail(sender)
    assert code == 250, (code, text)
    for r in rcpts:
        code, text = client.rcpt(r)
        out[r] = (code, text)
        if code // 100 == 2:
            accepted.append(r)
    if not accepted:
        client.rset()
        return out
    code, text = client.data(msg)
    out[accepted[0]] = (code, text)
    for r in accepted[1:]:
        out[r] = client.getreply()
    return out
