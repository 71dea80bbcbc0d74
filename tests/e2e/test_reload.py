"""A reload (SIGHUP, or sterna reload through the control socket) reads the whole
configuration into a new generation: users, aliases and routes added take effect without a
restart, a bad file is refused whole and the old configuration goes on serving, the keys that
need a restart are named, and reloads during a stream of mail lose nothing
(docs/operations.md, "Reload")."""

import os
import re
import shutil
import signal
import socket
import smtplib
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ROOT, STERNA_BIN
from peers import Sink, free_port_on
from test_auth import b64, hash_password
# the outbound tests' DNS server and relaying daemon (fixtures, imported to be used here)
from test_outbound import SELF, bounce_of, dns, mta, port  # noqa: F401
from test_outbound import send as send_relayed

MSG = b"From: a@remote.test\r\nTo: x@example.test\r\nSubject: reload\r\n\r\nhello\r\n"
POSTFIX = os.path.join(ROOT, ".cache", "postfix")


def refused_rcpt(s, rcpt):
    """The reply code to RCPT TO:<rcpt> in a fresh session."""
    with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=30) as c:
        c.ehlo()
        c.mail("a@remote.test")
        return c.rcpt(rcpt)[0]


def send(s, rcpts, msg=MSG):
    with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=30) as c:
        c.sendmail("a@remote.test", rcpts, msg)


def test_reload_adds_a_user_and_an_alias(sterna):
    assert refused_rcpt(sterna, "carol@example.test") == 550
    assert refused_rcpt(sterna, "sales@example.test") == 550
    # a session open across the reload keeps the configuration it started with
    old = smtplib.SMTP("127.0.0.1", sterna.port, local_hostname="client.test", timeout=30)
    old.ehlo()
    sterna.reconfigure(local__users=["postmaster", "alice", "bob", "carol"],
                       local__aliases={"info": ["alice", "bob"], "sales": ["bob", "carol"]})
    p = sterna.reload()
    assert p.returncode == 0, p.stderr
    assert p.stdout == "reloaded: configuration generation 2 in use\n"
    sterna.wait_log(r"reload: configuration generation 2 in use \(\S+sterna\.conf\)")
    old.mail("a@remote.test")
    assert old.rcpt("carol@example.test")[0] == 550
    old.quit()
    send(sterna, ["carol@example.test", "sales@example.test"])
    # carol once: named and reached through the alias, one message
    assert len(sterna.wait_for_mail("carol", 1)) == 1
    assert len(sterna.wait_for_mail("bob", 1)) == 1
    # and a user taken out is refused from the next session on
    sterna.reconfigure(local__users=["postmaster", "alice", "bob"],
                       local__aliases={"info": ["alice", "bob"]})
    os.kill(sterna.pid, signal.SIGHUP)
    sterna.wait_log(r"reload: configuration generation 3 in use")
    assert refused_rcpt(sterna, "carol@example.test") == 550


def users_file_of_alice():
    """A users file with alice (password alice-pw), in a folder that server.user may enter:
    a reload reads it as that user."""
    d = tempfile.mkdtemp(prefix="sterna-users-")
    os.chmod(d, 0o755)
    users = os.path.join(d, "users")
    with open(users, "w") as f:
        f.write("alice:%s\n" % hash_password("alice-pw"))
    os.chmod(users, 0o644)
    return users


def test_reload_reads_the_users_file_again(sterna_factory):
    users = users_file_of_alice()
    d = os.path.dirname(users)
    s = sterna_factory(auth__users_file=users, auth__fail_delay="20ms",
                       listen__mx__auth_without_tls=True)

    def login(user, pw):
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=30) as c:
            c.ehlo()
            return c.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (user, pw)))[0]

    assert login("alice", "alice-pw") == 235
    assert login("dave", "dave-pw") == 535
    # written beside it and renamed over, as editors and scripts do
    with open(users + ".new", "w") as f:
        f.write("alice:%s\ndave:%s\n" % (hash_password("alice-pw"), hash_password("dave-pw")))
    os.chmod(users + ".new", 0o644)
    os.replace(users + ".new", users)
    try:
        p = s.reload()
        assert p.returncode == 0, p.stderr
        assert login("dave", "dave-pw") == 235
        assert login("alice", "alice-pw") == 235
    finally:
        shutil.rmtree(d)


def test_reload_adds_a_route(sterna_factory):
    host = "127.0.0.1"
    port = free_port_on([host])
    sink = Sink(host, port)
    try:
        s = sterna_factory(relay__trusted_networks=["127.0.0.1/32"], queue__retry_min="1s",
                           queue__retry_max="1s")
        send(s, ["bob@far.test"])
        # no route: its MX cannot be looked up (no DNS server answers here)
        s.wait_log(r"\S+ deferred to=<bob@far\.test>")
        s.reconfigure(outbound__routes=["far.test [%s]:%d" % (host, port)])
        p = s.reload()
        assert p.returncode == 0, p.stderr
        [got] = sink.wait_messages(1, timeout=30)
        assert b"Subject: reload" in got
        s.wait_log(r"\S+ delivered to=<bob@far\.test> relay=\S*%s\]:%d" % (host, port))
    finally:
        sink.cleanup()


def test_bad_reload_keeps_the_old_configuration(sterna):
    with open(sterna.conf) as f:
        good = f.read()
    with open(sterna.conf, "w") as f:
        f.write(good.replace("local {", "local {\n    userz = [\"carol\"];", 1))
    # SIGHUP: the log says where and why, and the daemon goes on with what it had
    os.kill(sterna.pid, signal.SIGHUP)
    sterna.wait_log(r"reload refused: \S+sterna\.conf:\d+: unknown key 'local\.userz' \(did you "
                    r"mean 'local\.users'\?\); configuration generation 1 stays in use")
    # sterna reload finds the daemon through the same file: it says so without asking
    p = sterna.reload()
    assert p.returncode == 78, (p.returncode, p.stdout, p.stderr)   # EX_CONFIG
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        "sterna reload: refused: %s:%d: unknown key 'local.userz' (did you mean 'local.users'?)"
        % (sterna.conf, good[:good.index("local {")].count("\n") + 2),
        "sterna reload: the daemon was not asked; the configuration in use stays"]
    send(sterna, ["info@example.test"])
    sterna.wait_for_mail("alice")
    sterna.wait_for_mail("bob")
    assert refused_rcpt(sterna, "carol@example.test") == 550


def test_bad_users_file_is_refused_by_the_daemon(sterna_factory):
    users = users_file_of_alice()
    d = os.path.dirname(users)
    try:
        s = sterna_factory(auth__users_file=users, auth__fail_delay="20ms",
                           listen__mx__auth_without_tls=True,
                           local__users=["postmaster", "alice", "bob", "carol"])
        with open(users, "a") as f:
            f.write("carol\n")
        s.reconfigure(local__aliases={"info": ["alice", "bob"], "sales": ["carol"]})
        p = s.reload()
        assert p.returncode == 78, (p.returncode, p.stdout, p.stderr)
        assert p.stderr.splitlines()[0].startswith("sterna reload: refused: %s:2: " % users)
        assert p.stderr.splitlines()[1] == \
            "sterna reload: configuration generation 1 stays in use"
        s.wait_log(r"reload refused: %s:2: .*; configuration generation 1 stays in use"
                   % re.escape(users))
        # refused whole: the alias of the same file is not taken either
        assert refused_rcpt(s, "sales@example.test") == 550
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=30) as c:
            c.ehlo()
            assert c.docmd("AUTH", "PLAIN " + b64("\0alice\0alice-pw"))[0] == 235
    finally:
        shutil.rmtree(d)


def test_reload_names_the_keys_that_wait_for_a_restart(sterna):
    sterna.reconfigure(server__io_threads=3, smtp__max_message_bytes="1m", smtp__max_errors=5)
    p = sterna.reload()
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "reloaded: configuration generation 2 in use",
        "waiting for a restart: server.io_threads, smtp.max_message_bytes"]
    sterna.wait_log(r"reload: configuration generation 2 in use .*; waiting for a restart: "
                    r'server\.io_threads, smtp\.max_message_bytes"$')
    # the reloadable key took effect: past the fifth error the session ends (20 before)
    c = smtplib.SMTP("127.0.0.1", sterna.port, local_hostname="client.test", timeout=30)
    for _ in range(5):
        assert c.docmd("BOGUS")[0] == 500
    assert c.docmd("BOGUS")[0] == 421
    c.close()
    # still waiting at the next reload: the values are those of the start
    p = sterna.reload("--json")
    assert p.returncode == 0
    assert p.stdout == ('{"ok":true,"op":"reload","generation":3,"restart":'
                        '["server.io_threads","smtp.max_message_bytes"]}\n')


def test_reload_opens_and_closes_listeners(sterna):
    port = free_port_on(["127.0.0.1"])
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", port, timeout=5)
    sterna.reconfigure(listen__sub__address="127.0.0.1:%d" % port,
                       listen__sub__greeting_delay="10ms")
    p = sterna.reload()
    assert p.returncode == 0, p.stderr
    assert p.stdout == "reloaded: configuration generation 2 in use\n"
    sterna.wait_log(r" listening listener=sub address=127\.0\.0\.1:%d " % port)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30) as c:
        c.sendmail("a@remote.test", ["alice@example.test"], MSG)
    sterna.wait_for_mail("alice")
    sterna.wait_log(r"c\d+ connect ip=127\.0\.0\.1 port=\d+ listener=sub")
    # taken out again: closed to new clients, while a session open on it goes on
    old = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
    old.ehlo()
    sterna.reconfigure(listen__sub=None)
    p = sterna.reload()
    assert p.returncode == 0, p.stderr
    sterna.wait_log(r"listener sub \(127\.0\.0\.1:%d\) closed by the reload" % port)
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", port, timeout=5)
    old.sendmail("a@remote.test", ["bob@example.test"], MSG)
    old.quit()
    sterna.wait_for_mail("bob")
    # the first listener was kept all along
    send(sterna, ["alice@example.test"])
    sterna.wait_for_mail("alice", 2)


def test_a_listener_added_by_a_reload_is_known_as_this_server(mta, port):
    """We become the best MX of selfprimary.test by a reload that listens on its address: mail
    for it bounces as a loop (RFC 5321 5.1) rather than coming back to us."""
    s = mta()
    s.reconfigure(listen__self__address="%s:%d" % (SELF, port))
    p = s.reload()
    assert p.returncode == 0, p.stderr
    qid = send_relayed(s, ["bob@selfprimary.test"], b"Subject: loop\r\n\r\nx\r\n")
    _msg, rcpts, _headers = bounce_of(s)
    assert rcpts[0]["Status"] == "5.4.6"
    assert "mail for selfprimary.test loops back to myself" in rcpts[0]["Diagnostic-Code"]
    s.wait_log(qid + r"\.1 bounced to=<bob@selfprimary\.test> .*dsn=5\.4\.6")


def test_reload_with_a_listener_that_cannot_be_bound_is_refused(sterna):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        sterna.reconfigure(listen__sub__address="127.0.0.1:%d" % port,
                           local__users=["postmaster", "alice", "bob", "carol"])
        p = sterna.reload()
        assert p.returncode == 78, (p.stdout, p.stderr)
        lines = p.stderr.splitlines()
        assert re.fullmatch(r'sterna reload: refused: %s:\d+: listen "sub": 127\.0\.0\.1:%d: '
                            r'Address already in use' % (re.escape(sterna.conf), port),
                            lines[0]), lines
        assert lines[1:] == ["sterna reload: configuration generation 1 stays in use"]
        # refused whole: the user of the same file is not taken either
        assert refused_rcpt(sterna, "carol@example.test") == 550
    finally:
        taken.close()


def test_reload_without_a_daemon_says_so(tmp_path):
    conf = tmp_path / "sterna.conf"
    conf.write_text('server { hostname = "mx.example.test"; }\n'
                    'listen "mx" { address = "127.0.0.1:%d"; }\nspool { dir = "%s"; }\n'
                    'local { domains = ["example.test"]; users = ["postmaster"]; }\n'
                    % (free_port_on(["127.0.0.1"]), tmp_path / "spool"))
    p = subprocess.run([STERNA_BIN, "reload", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 69, p   # EX_UNAVAILABLE
    assert p.stderr.startswith("sterna reload: ")


def test_reloads_during_load_lose_nothing(sterna):
    """A loop of SIGHUPs, alternating two configurations (one with a listener more), while
    smtp-source sends: every session is answered, every message is delivered (and, under the
    sanitizers, nothing reads a freed generation: the fixture fails the test on any report)."""
    per_round, sessions, min_reloads = 100, 10, 30
    # a listener opened and closed by every other reload, besides users and limits
    sub = "127.0.0.1:%d" % free_port_on(["127.0.0.1"])
    variants = [dict(local__aliases={"info": ["alice", "bob"]}, smtp__max_errors=20,
                     listen__sub=None),
                dict(local__aliases={"info": ["alice", "bob"], "sales": ["bob"]},
                     smtp__max_errors=21, listen__sub__address=sub)]
    stop = threading.Event()
    reloads = [0]

    def hup_loop():
        i = 0
        while not stop.is_set():
            sterna.reconfigure(**variants[i % 2])
            os.kill(sterna.pid, signal.SIGHUP)
            reloads[0] += 1
            i += 1
            time.sleep(0.02)

    t = threading.Thread(target=hup_loop)
    t.start()
    count = 0
    try:
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(POSTFIX, "usr", "lib", "postfix"))
        # rounds of mail until the reloads are many, however fast the machine sends
        while reloads[0] < min_reloads:
            p = subprocess.run([os.path.join(POSTFIX, "usr", "sbin", "smtp-source"),
                                "-m", str(per_round), "-s", str(sessions), "-l", "2000",
                                "-f", "a@remote.test", "-t", "alice@example.test",
                                "127.0.0.1:%d" % sterna.port],
                               env=env, capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, (p.stdout, p.stderr)
            count += per_round
    finally:
        stop.set()
        t.join()
    assert len(sterna.wait_for_mail("alice", count, timeout=120)) == count
    # signals that come faster than the loop turns are taken as one: the generations counted
    # are the reloads done
    p = sterna.reload()
    assert p.returncode == 0, p.stderr
    generation = int(p.stdout.split()[3])
    assert 5 < generation <= reloads[0] + 2, (generation, reloads[0])
    assert "reload refused" not in sterna.log()
