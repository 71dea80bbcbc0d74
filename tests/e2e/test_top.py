"""sterna top, driven in a real terminal: tmux runs it in an 80x24 pane (send-keys types, and
capture-pane reads the screen as a person would see it). The queue's count on the screen
follows a message that is queued, deferred and then held by the operator; the frame fits the
pane; a daemon that goes away is waited for; ^Z and q give the terminal back. --once prints one frame for scripts, and --help its manual."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import STERNA_BIN

EHLO = b"EHLO client.test\r\n"


class Tmux:
    """A tmux server of our own (its own socket), with one 80x24 pane running a shell."""

    def __init__(self, name):
        self.sock = "sterna-top-%d-%s" % (os.getpid(), name)
        self.run("-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", "-s", "t",
                 "env", "PS1=$ ", "sh")
        # the window keeps its size whatever tmux thinks of the (absent) client's
        self.run("set-option", "-g", "window-size", "manual")
        self.run("resize-window", "-t", "t", "-x", "80", "-y", "24")

    def run(self, *args):
        r = subprocess.run(["tmux", "-L", self.sock] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode()

    def keys(self, *keys):
        self.run("send-keys", "-t", "t", *keys)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "t")

    def wait(self, pattern, timeout=15):
        """The screen once pattern (a regular expression) is on it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text, re.M):
                return text
            if time.monotonic() > deadline:
                raise AssertionError("no %r on the screen:\n%s" % (pattern, text))
            time.sleep(0.1)

    def kill(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)


@pytest.fixture
def tmux(request):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (make deps installs it)")
    t = Tmux(request.node.name[:20])
    yield t
    t.kill()


def queue_line(screen):
    return re.search(r"^Queue +(\d+) messages", screen, re.M)


def test_top_follows_the_queue(sterna_factory, tmux):
    s = sterna_factory(relay__trusted_networks=["127.0.0.1/32"], queue__retry_min="1h",
                       queue__retry_max="2h")
    tmux.keys("%s top -c %s -d 0.3" % (STERNA_BIN, s.conf), "Enter")
    screen = tmux.wait(r"^Queue +0 messages")
    assert re.search(r"^ +queued 0 active 0 deferred 0 held 0 scheduled 0", screen, re.M), screen
    assert re.search(r"^Sessions +0 open", screen, re.M), screen
    # a second sample has come: rates, not "-"
    tmux.wait(r"^Received +0\.0/s 0 B/s")

    # a message for a domain whose DNS does not answer: in the queue, then deferred
    c = s.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<bob@far.test>\r\n", 250,
             b"DATA\r\n", 354, b"Subject: far\r\n\r\nbody\r\n.\r\n", 250)
    screen = tmux.wait(r"^ +queued 0 active 0 deferred 1 held 0 scheduled 0")
    assert queue_line(screen).group(1) == "1", screen
    assert re.search(r"^Sessions +1 open: mx 1$", screen, re.M), screen
    assert re.search(r"^Since start received 1 ", screen, re.M), screen
    # the operator holds it: the screen says so at its next sample
    r = subprocess.run([STERNA_BIN, "queue", "-c", s.conf, "hold", "--all"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    screen = tmux.wait(r"^ +queued 0 active 0 deferred 0 held 1 scheduled 0")
    assert queue_line(screen).group(1) == "1", screen
    c.dialog(b"QUIT\r\n", 221)
    screen = tmux.wait(r"^Sessions +0 open")

    # the frame fits the pane: no line wider than 80 (tmux would have wrapped it), and the
    # heading is still the first line, so nothing scrolled
    lines = screen.split("\n")
    assert lines[0].startswith("sterna 0.1.0  up "), screen
    assert all(len(line) <= 80 for line in lines), screen
    assert "\033" not in screen

    # q quits and gives the screen back: the shell's prompt, none of the frame
    tmux.keys("q")
    screen = tmux.wait(r"^\$ ?$")
    assert not queue_line(screen), screen
    # the terminal echoes again, as it did before
    tmux.keys("echo typed-back", "Enter")
    tmux.wait(r"^typed-back$")


def test_top_when_the_daemon_goes_away_and_when_stopped(sterna_factory, tmux):
    s = sterna_factory()
    tmux.keys("%s top -c %s -d 0.3" % (STERNA_BIN, s.conf), "Enter")
    tmux.wait(r"^Queue +0 messages")
    s.stop()
    tmux.wait(r"^sterna top: .*(cannot reach the daemon|closed the connection)")
    s.start()
    tmux.wait(r"^Queue +0 messages")
    # ^Z gives the shell its terminal back while top is stopped; fg brings the screen back
    tmux.keys("C-z")
    screen = tmux.wait(r"Stopped")
    assert not queue_line(screen), screen
    tmux.keys("fg", "Enter")
    tmux.wait(r"^Queue +0 messages")
    tmux.keys("q")
    tmux.wait(r"^\$ ?$")


def test_top_once_and_help(sterna):
    r = subprocess.run([STERNA_BIN, "top", "-c", sterna.conf, "--once", "-d", "0.2"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "\033" not in out
    assert re.search(r"^Queue +0 messages", out, re.M), out
    # two samples: the rates are there
    assert re.search(r"^Received +0\.0/s 0 B/s", out, re.M), out
    assert len(out.splitlines()) <= 24 and all(len(x) <= 80 for x in out.splitlines())

    r = subprocess.run([STERNA_BIN, "top", "--help"], stdout=subprocess.PIPE, timeout=30)
    assert r.returncode == 0
    for part in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "KEYS", "EXIT STATUS"):
        assert re.search(r"^%s$" % part, r.stdout.decode(), re.M), part

    r = subprocess.run([STERNA_BIN, "top", "-d", "0"], stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 64 and b"0.1 to 3600" in r.stderr
    # not a terminal, and no --once: said, not a garbled screen
    r = subprocess.run([STERNA_BIN, "top", "-c", sterna.conf], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 64 and b"--once" in r.stderr and r.stdout == b""
    sterna.stop()
    r = subprocess.run([STERNA_BIN, "top", "-c", sterna.conf, "--once"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 69 and b"is it running?" in r.stderr, r.stderr
