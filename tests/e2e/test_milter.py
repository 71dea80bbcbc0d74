"""Milters (src/milter) against a real filter side of the protocol: Sendmail's libmilter
through pymilter (Debian python3-milter), with the filter written in pymilter_filter.py.
What the filter was sent (steps, macros, header fields, body) is read back from its log, and
what it did is read in the delivered messages and the SMTP replies: every change a filter
may make at the end of a message, every verdict at every stage, the default action of a
filter that is down, and the timeout of one that is too slow."""

import json
import shutil
import os
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import STERNA_BIN, free_port
from peers import terminate

from milterpeer import MESSAGE, pymilter  # noqa: F401 (the fixture)


def header_block(raw):
    return raw.split(b"\n\n", 1)[0].split(b"\n")


def test_every_change_is_applied(sterna_factory, pymilter):
    f = pymilter("modify")
    s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f")
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"RCPT TO:<postmaster@example.test>\r\n",
             250, b"DATA\r\n", 354)
    c.send(MESSAGE + b".\r\n")
    r = c.reply()
    assert r.code == 250, r
    alice = s.wait_for_mail("alice")[0]
    bob = s.wait_for_mail("bob")[0]
    assert alice.split(b"\n", 2)[2] == bob.split(b"\n", 2)[2]   # one message, two copies
    assert s.mail_files("postmaster") == []                    # removed by the filter
    lines = header_block(alice)
    assert lines[0] == b"Return-Path: <changed@example.org>"   # the sender changed
    assert lines[2] == b"X-Inserted: at the top"               # inserted at index 0
    assert lines[3].startswith(b"Received: from client.test")
    assert lines[4].startswith(b"\tby mx.example.test (sterna) with ESMTP id ")
    assert lines[5:] == [b"From: a@example.org", b"To: alice@example.test",
                         b"Subject: changed by the filter", b"Message-ID: <m1@example.org>",
                         b"X-Added: added by the filter", b"X-Folded: first line",
                         b"\tsecond line"]
    assert alice.split(b"\n\n", 1)[1] == b"the filter's new body\n"
    # what the filter was sent: the macros, the fields as the message has them (the
    # Received field sterna adds first, no space after the colon), the body, the queue id
    qid = s.wait_log(r"(\S+) received conn=c\d+ ").group(1)
    conn = f.events("connect")[0]
    assert conn[1:3] == ["[127.0.0.1]", str(conn[2])] and conn[3] == "mx.example.test"
    assert conn[4] == "127.0.0.1" and conn[5] == "mx"
    assert f.events("mail")[0][1:] == ["<a@example.org>", [], "a@example.org"]
    assert [e[1:] for e in f.events("rcpt")] == [
        ["<alice@example.test>", "alice@example.test", qid],
        ["<postmaster@example.test>", "postmaster@example.test", qid]]
    headers = [e[1:] for e in f.events("header")]
    assert headers[0][0] == "Received" and headers[0][1].startswith("from client.test")
    assert headers[1:] == [["From", "a@example.org"], ["To", "alice@example.test"],
                           ["Subject", "original"], ["X-Remove-Me", "yes"],
                           ["Message-ID", "<m1@example.org>"]]
    assert f.events("eom")[0][1:] == ["original body\r\n", qid]


def test_verdicts_at_each_stage(sterna_factory, pymilter):
    f = pymilter("verdicts")
    s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f")
    # HELO: refused by the filter, with its default reply
    c = s.connect()
    r = c.dialog(b"HELO reject.helo.test\r\n", 550)[0]
    assert (r.status, r.text) == ("5.7.1", "Command rejected")
    # MAIL: the filter's own reply, and a tempfail
    c = s.connect()
    r = c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<reject-mail@example.org>\r\n", 550)[1]
    assert (r.status, r.text) == ("5.7.1", "sender refused by the test filter")
    r = c.dialog(b"MAIL FROM:<tempfail-mail@example.org>\r\n", 451)[0]
    assert r.status == "4.7.1"
    # RCPT: bob alone is refused; the message goes to alice only
    c.dialog(b"MAIL FROM:<a@example.org>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250)
    r = c.dialog(b"RCPT TO:<bob@example.test>\r\n", 550)[0]
    assert (r.status, r.text) == ("5.1.1", "bob is not wanted here")
    c.dialog(b"DATA\r\n", 354)
    # the next transaction pipelined after the final dot (RFC 2920), then given up (RSET)
    c.send(MESSAGE + b".\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\n")
    c.dialog(250, 250, 250, b"RSET\r\n", 250)
    s.wait_for_mail("alice")
    assert s.mail_files("bob") == []
    # the end of the message: reject, tempfail, discard, quarantine (held in the queue); the
    # filter's reply as it gave it, as at every other step (no "Error: " of sterna's)
    for subject, code, status, text in [
            (b"please reject", 554, "5.7.1", "rejected by the test filter"),
            (b"please tempfail", 451, "4.7.1", "Service unavailable - try again later"),
            (b"please discard", 250, None, None)]:
        c.dialog(b"MAIL FROM:<a@example.org>\r\n", 250, b"RCPT TO:<bob@example.test>\r\n", 550,
                 b"RCPT TO:<postmaster@example.test>\r\n", 250, b"DATA\r\n", 354)
        c.send(b"Subject: " + subject + b"\r\n\r\nx\r\n.\r\n")
        r = c.reply()
        assert r.code == code, (subject, r)
        if status:
            assert (r.status, r.text) == (status, text)
    c.dialog(b"MAIL FROM:<a@example.org>\r\n", 250, b"RCPT TO:<postmaster@example.test>\r\n",
             250, b"DATA\r\n", 354)
    c.send(b"Subject: please quarantine\r\n\r\nx\r\n.\r\n")
    r = c.reply()
    assert r.code == 250
    qid = r.text.rsplit(" ", 1)[1]
    c.dialog(b"QUIT\r\n", 221)
    out = subprocess.run([STERNA_BIN, "queue", "-c", s.conf, "--json", "list", qid],
                         stdout=subprocess.PIPE, timeout=30, check=True).stdout
    assert json.loads(out)["state"] == "held"   # quarantined: kept until released
    assert s.mail_files("postmaster") == []     # refused, tempfailed, discarded, held
    # the filter heard of every message that reached DATA, and no more
    assert len(f.events("data")) == 5 and len(f.events("eom")) == 5
    assert len(f.events("mail")) == 8 and len(f.events("abort")) == 1   # the RSET one


def test_down_filter_gives_its_default(sterna_factory):
    dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead.bind(("127.0.0.1", 0))     # bound, never listening: connections are refused
    port = dead.getsockname()[1]
    try:
        s = sterna_factory(milter__down_t__address="inet:127.0.0.1:%d" % port,
                           milter__down_a__address="inet:127.0.0.1:%d" % port,
                           milter__down_a__default_action="accept",
                           listen__mx__milters="down_t",
                           listen__other__address="127.0.0.1:%d" % (s_port := free_port()),
                           listen__other__milters="down_a")
        # tempfail: the client is told to come back later, in its greeting (RFC 5321 4.2.3: 421)
        c = s.connect(greeting=False)
        r = c.reply()
        assert (r.code, r.status, r.text) == (
            421, "4.7.1", "mx.example.test Service unavailable - try again later"), r
        assert c.closed()
        s.wait_log(r"milter_failed milter=down_t action=tempfail why=\"cannot connect")
        # accept: as if the filter were not there
        from smtpclient import Client
        c = Client("127.0.0.1", s_port)
        assert c.reply().code == 220
        c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
                 b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
        c.send(MESSAGE + b".\r\n")
        assert c.reply().code == 250
        c.close()
        assert b"Subject: original" in s.wait_for_mail("alice")[0]
        s.wait_log(r"milter_failed milter=down_a action=accept")
    finally:
        dead.close()


def test_slow_filter_hits_its_timeout(sterna_factory, pymilter):
    f = pymilter("slow")
    s = sterna_factory(milter__f__address=f.address, milter__f__eom_timeout="1s",
                       listen__mx__milters="f")
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
    t0 = time.monotonic()
    c.send(MESSAGE + b".\r\n")
    r = c.reply()
    assert (r.code, r.status) == (451, "4.7.1"), r
    assert time.monotonic() - t0 < 4.5          # the timeout, not the filter's 5 s
    s.wait_log(r"milter_failed milter=f action=tempfail "
               r"why=\"no reply to the end of the message within 1000 ms\"")
    assert s.queue_ids() == [] and s.all_mail() == []


class OpenDKIM:
    """A real OpenDKIM (Debian opendkim) signing for example.org on a UNIX socket, with a
    key made by opendkim-genkey; stopped by pid."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sterna-opendkim-")
        os.chmod(self.dir, 0o755)
        subprocess.run(["opendkim-genkey", "-D", self.dir, "-d", "example.org", "-s", "sel",
                        "-b", "2048"], check=True, timeout=60)
        self.path = os.path.join(self.dir, "opendkim.sock")
        conf = os.path.join(self.dir, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Syslog no\nMode s\nDomain example.org\nSelector sel\n"
                    "KeyFile %s/sel.private\nSocket local:%s\nUMask 000\n"
                    "Canonicalization relaxed/relaxed\nRequireSafeKeys no\n"
                    "PidFile %s/opendkim.pid\n" % (self.dir, self.path, self.dir))
        self.proc = subprocess.Popen(["opendkim", "-f", "-x", conf], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("opendkim did not start")
            time.sleep(0.02)

    def txt(self):
        """The TXT record to publish, as opendkim-genkey wrote it (its quoted strings)."""
        import re
        with open(os.path.join(self.dir, "sel.txt")) as f:
            return "".join(re.findall(r'"([^"]*)"', f.read())).encode()

    def verify(self, delivered):
        """dkimpy's verdict on a delivered message (Maildir's LF lines, Return-Path first)."""
        import dkim
        lines = delivered.split(b"\n")
        assert lines[0].startswith(b"Return-Path:") and lines[1].startswith(b"Delivered-To:")
        raw = b"\r\n".join(lines[2:])
        return dkim.verify(raw, dnsfunc=lambda name, timeout=5: self.txt()
                           if name == b"sel._domainkey.example.org." else None)

    def stop(self):
        terminate(self.proc)


def test_opendkim_signs_through_milter(sterna_factory):
    d = OpenDKIM()
    try:
        s = sterna_factory(milter__dkim__address="unix:" + d.path, listen__mx__milters="dkim",
                           server__local_milters="dkim")
        # over SMTP, from 127.0.0.1 (one of OpenDKIM's internal hosts)
        c = s.connect()
        c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
                 b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
        c.send(b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: signed\r\n"
               b"Date: Sat, 5 Dec 2026 12:00:00 +0000\r\nMessage-ID: <d1@example.org>\r\n\r\n"
               b"a body  with  spaces \r\n\r\n\r\n")
        c.send(b".\r\n")
        assert c.reply().code == 250
        [smtp] = s.wait_for_mail("alice")
        assert b"\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;" in smtp
        assert d.verify(smtp)
        # from sterna sendmail: its own connection to the filter, as from 127.0.0.1
        p = subprocess.run([STERNA_BIN, "sendmail", "-C", s.conf, "-t"],
                           input=b"From: a@example.org\nTo: bob@example.test\nSubject: local\n\n"
                                 b"from the command line\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 0, p.stderr
        [local] = s.wait_for_mail("bob")
        assert b"\nDKIM-Signature: " in local and d.verify(local)
    finally:
        d.stop()


GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def start_rspamd(directory, port):
    """rspamd (Debian rspamd) with its milter proxy scanning by itself, on 127.0.0.1:port,
    from a configuration of its own: no DNS, no maps, a tiny list of top-level domains (the
    full one takes rspamd half a minute to compile). None when it cannot start."""
    rspamd = shutil.which("rspamd")
    if rspamd is None:
        return None, "rspamd is not installed (make deps)"
    with open(os.path.join(directory, "tld.dat"), "w") as f:
        f.write("org\ntest\n")
    conf = os.path.join(directory, "rspamd.conf")
    with open(conf, "w") as f:
        f.write('options { pidfile = "%s/rspamd.pid"; filters = ""; url_tld = "%s/tld.dat";\n'
                '  hs_cache_dir = "%s"; dns { nameserver = ["127.0.0.1:1"]; } }\n'
                'logging { type = "console"; level = "error"; }\n'
                'actions { reject = 15; add_header = 6; }\n'
                'worker "rspamd_proxy" { bind_socket = "127.0.0.1:%d"; milter = yes;\n'
                '  timeout = 30s; count = 1; reject_message = "Spam message rejected";\n'
                '  upstream "local" { default = yes; self_scan = yes; } }\n'
                % (directory, directory, directory, port))
    proc = subprocess.Popen([rspamd, "-f", "-i", "-c", conf], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, None
        except OSError:
            time.sleep(0.1)
    terminate(proc)
    return None, "rspamd did not take connections on 127.0.0.1:%d within 15 s" % port


def test_rspamd_rejects_gtube_with_its_reply(sterna_factory):
    directory = tempfile.mkdtemp(prefix="sterna-rspamd-")
    port = free_port()
    proc, why = start_rspamd(directory, port)
    if proc is None:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(why)
    try:
        s = sterna_factory(milter__rspamd__address="inet:127.0.0.1:%d" % port,
                           listen__mx__milters="rspamd")
        c = s.connect()
        c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
                 b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
        c.send(b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: gtube\r\n"
               b"Message-ID: <g1@example.org>\r\n\r\n" + GTUBE + b"\r\n.\r\n")
        r = c.reply()
        # rspamd's words as it gave them: a filter's reply is what the client should see
        assert (r.code, r.status, r.text) == (554, "5.7.1", "Gtube pattern"), r
        # a clean message passes, with rspamd's view of it
        c.dialog(b"MAIL FROM:<a@example.org>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n",
                 250, b"DATA\r\n", 354)
        c.send(MESSAGE + b".\r\n")
        assert c.reply().code == 250
        [m] = s.wait_for_mail("alice")
        assert b"Subject: original" in m
    finally:
        terminate(proc)
        shutil.rmtree(directory, ignore_errors=True)


def test_filter_breaking_the_protocol_is_given_up(sterna_factory):
    """A filter's bytes are hostile input: a packet longer than any we allow, after a good
    negotiation, ends the filter for the session with its default action and the reason."""
    import struct
    import threading
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.1)
    stop = threading.Event()

    def serve():
        # every SMTP session connects (the fixture's probes too): each gets the same
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                try:
                    conn.recv(17)   # our OPTNEG: length 13, 'O', version, actions, protocol
                    conn.sendall(struct.pack(">IcIII", 13, b"O", 6, 0, 0))
                    if conn.recv(4096):  # the macros and CONNECT
                        conn.sendall(b"\x01\x00\x00\x00c")  # a length of 16 MiB
                        conn.recv(1)     # until sterna closes
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        s = sterna_factory(milter__raw__address="inet:127.0.0.1:%d" % srv.getsockname()[1],
                           listen__mx__milters="raw")
        c = s.connect(greeting=False)
        r = c.reply()
        assert (r.code, r.status) == (421, "4.7.1"), r
        s.wait_log(r'milter_failed milter=raw action=tempfail why="bad packet: packet length '
                   r'16777216 out of bounds \(1 to 65536\)"')
    finally:
        stop.set()
        t.join(10)
        srv.close()
