"""Out of file descriptors (issue: 1,100 idle connections against a 1024 limit made sterna
spin at 100 % CPU, log 2.5 million accept errors and fail an open session's DATA with 451).
Now sterna raises its soft limit to the hard one, keeps descriptors for the spool, mailboxes,
DNS and delivery, serves only the sessions that fit beside them (the rest get 421 at once),
and when accept still fails for want of a descriptor it pauses accepting, with one log line
per pause. The HTTP listeners pause the same way. sterna check warns when server.max_sessions
does not fit."""

import http.client
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import STERNA_BIN, free_port

LIMIT = 48
# fdlimit.c's reserve: 64, one listener, 2 per disk thread (2), queue.max_connections (4);
# it is more than LIMIT, so a quarter of LIMIT is served
FIT = LIMIT // 4


def greeting(s):
    s.settimeout(5)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = s.recv(512)
        if not chunk:
            break
        data += chunk
    return data[:3]


def test_sessions_that_fit_are_served_and_an_open_one_still_commits(sterna_factory):
    s = sterna_factory(server__max_sessions=5000, server__max_sessions_per_client=5000,
                       queue__max_connections=4)
    s.stop()
    s.wrap = ["prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT)]
    s.start()
    s.wait_log(r"warning - note msg=\"server\.max_sessions = 5000 needs \d+ file descriptors .* "
               r"only %d may "
               r"be open \(RLIMIT_NOFILE\): at most %d sessions at once" % (LIMIT, FIT))
    socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(5 * FIT)]
    try:
        codes = [greeting(c) for c in socks]
        assert codes.count(b"220") == FIT, codes
        assert codes.count(b"421") == len(socks) - FIT, codes
        # a session in hand still gets its queue file and its mailbox file
        c = socks[codes.index(b"220")]
        for line, want in ((b"EHLO client.test\r\n", b"250"),
                           (b"MAIL FROM:<a@remote.test>\r\n", b"250"),
                           (b"RCPT TO:<alice@example.test>\r\n", b"250"),
                           (b"DATA\r\n", b"354"),
                           (b"Subject: fd\r\n\r\nstill room\r\n.\r\n", b"250")):
            c.sendall(line)
            reply = b""
            while not re.search(rb"(^|\n)\d{3} [^\n]*\r\n$", reply):
                reply += c.recv(4096)
            assert reply.splitlines()[-1].startswith(want), (line, reply)
        s.wait_for_mail("alice")
    finally:
        for c in socks:
            c.close()
    # no busy loop of accept errors: at most a line per pause
    assert len(re.findall(r" accept_paused ", s.log())) < 20, s.log()[-3000:]
    for m in re.finditer(r"accept_paused listener=mx reason=.* pause_ms=(\d+) ", s.log()):
        assert 10 <= int(m.group(1)) <= 1000
    # the sessions gone, a new client is served again
    deadline = time.monotonic() + 10
    while True:
        with socket.create_connection(("127.0.0.1", s.port)) as c:
            if greeting(c) == b"220":
                break
        assert time.monotonic() < deadline, "no 220 after the others left"
        time.sleep(0.1)


def test_check_warns_when_max_sessions_does_not_fit(sterna):
    p = subprocess.run(["prlimit", "--nofile=256:256", STERNA_BIN, "check", "-c", sterna.conf],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    out = p.stdout.decode()
    assert p.returncode == 0, (out, p.stderr)
    assert re.search(r"warning: server\.max_sessions = 1000 needs \d+ file descriptors with the "
                     r"\d+ kept for the spool, mailboxes, DNS and delivery, but only 256 may be "
                     r"open \(RLIMIT_NOFILE\): at most \d+ sessions at once", out), out
    assert out.rstrip().endswith(": ok")
    # with room enough, no warning
    p = subprocess.run(["prlimit", "--nofile=4096:4096", STERNA_BIN, "check", "-c", sterna.conf],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode == 0 and "warning" not in p.stdout.decode()


@pytest.fixture
def keys_dir():
    d = tempfile.mkdtemp(prefix="sterna-keys-")
    os.chmod(d, 0o755)      # the daemon reads the keys file as server.user
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_http_api_out_of_descriptors_pauses_longer_while_it_lasts(sterna_factory, keys_dir):
    """The HTTP listener's accept pauses as the SMTP listeners' do: one line per pause, each
    pause twice the last (10 ms to 1 s) while the shortage lasts, and requests are answered
    again once descriptors are free."""
    keys = os.path.join(keys_dir, "api_keys")
    with open(keys, "w") as f:
        f.write("# no key: only /v1/health answers\n")
    os.chmod(keys, 0o644)
    http_port = free_port()
    s = sterna_factory(http__listen__api__address="127.0.0.1:%d" % http_port,
                       http__keys_file=keys, http__max_connections=1000,
                       queue__max_connections=4)
    s.stop()
    s.wrap = ["prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT)]
    s.start()
    # more idle connections than there are descriptors: the kernel's backlog holds the rest
    socks = [socket.create_connection(("127.0.0.1", http_port)) for _ in range(2 * LIMIT)]
    try:
        s.wait_log(r"accept_paused listener=api reason=.* pause_ms=320 ")
        time.sleep(1)
        pauses = [int(m.group(1)) for m in
                  re.finditer(r"accept_paused listener=api reason=.* pause_ms=(\d+) ", s.log())]
        # no near-busy loop of short pauses: they doubled, and stayed at 1 s
        assert pauses[:6] == [10, 20, 40, 80, 160, 320], pauses
        assert all(p == 1000 for p in pauses[7:]), pauses
    finally:
        for c in socks:
            c.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            h = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
            h.request("GET", "/v1/health")
            if h.getresponse().status == 200:
                break
        except OSError:
            pass
        finally:
            h.close()
        assert time.monotonic() < deadline, "no answer after the connections left"
        time.sleep(0.1)
