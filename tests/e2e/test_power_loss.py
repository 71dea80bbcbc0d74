"""Power loss, not kill -9 (SECURITY.md, the durability promise): the spool and the mailboxes
live on powerfs (powerfs.py), which keeps only what was flushed and drops the rest at a power
cut. Each round starts sterna on a new, empty powerfs; while three clients send mail, the power
goes out at a random moment (half of the time after a random writeback of unflushed inodes),
the file system comes back with its durable state only, and sterna starts on it; now and then
the power goes out again while it delivers what it recovered. Then every message that got 250
is delivered to each of its recipients, byte for byte; nothing is delivered but what was sent
whole; a recipient gets at most one extra copy per cut (the spool delivers at least once: a
cut between a mailbox's flush and the flush of its D record delivers again); and nothing is in
corrupt/, incoming/ or queue/ once it is done.

STERNA_POWER_ROUNDS sets the number of rounds (`make test-crash` runs 100, `make test-e2e` 3);
STERNA_POWER_SEED replays a seed's choices (sizes, recipients, when to cut; the timing of the
daemon is its own). Needs root, /dev/fuse, and python3-llfuse for /usr/bin/python3
(scripts/deps.sh).
"""

import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from smtpclient import Client, SMTPClosed
from test_delivery import SENDER, split_delivered, queued_id

HERE = os.path.dirname(os.path.abspath(__file__))
POWERFS = os.path.join(HERE, "powerfs.py")
PYTHON = "/usr/bin/python3"     # Debian's python, where python3-llfuse is installed
ROUNDS = int(os.environ.get("STERNA_POWER_ROUNDS", "3"))
USERS = ("alice", "bob")
CLIENTS = 3


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (a FUSE mount the daemon's user can use: allow_other)"
    if not os.path.exists("/dev/fuse"):
        return "needs /dev/fuse"
    r = subprocess.run([PYTHON, "-c", "import llfuse"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        return "needs python3-llfuse for %s (make deps)" % PYTHON
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


class PowerFS:
    """One powerfs process on mnt, whose durable state lives in the file state across cuts."""

    def __init__(self, workdir):
        self.mnt = os.path.join(workdir, "mnt")
        self.state = os.path.join(workdir, "state")
        self.ctl = os.path.join(workdir, "ctl")
        self.log_path = os.path.join(workdir, "powerfs.log")
        self.proc = None
        os.makedirs(self.mnt, exist_ok=True)

    def mount(self):
        if os.path.exists(self.ctl):
            os.unlink(self.ctl)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([PYTHON, POWERFS, self.state, self.mnt, self.ctl],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 15
        while not (os.path.ismount(self.mnt) and os.path.exists(self.ctl)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("powerfs did not mount %s; its log:\n%s" % (self.mnt, self.log()))
            time.sleep(0.02)

    def _ask(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.ctl)
        s.sendall(line + b"\n")
        reply = s.makefile("rb").readline()
        s.close()
        return reply

    def cut(self, share=0.0, seed=0):
        """The power cut: the durable state is saved and the file system is gone. With share,
        that share of the dirty inodes was written back before it (see powerfs.py)."""
        self._ask(b"cut %f %d" % (share, seed) if share else b"cut")
        self.proc.wait(10)
        self.proc = None

    def unmount(self, lazy=False):
        """Unmounts; lazy (after a failure, the daemon may still use it): detach and stop."""
        if os.path.ismount(self.mnt):
            subprocess.run(["umount"] + (["-l"] if lazy else []) + [self.mnt], check=True)
        if self.proc is not None:
            if lazy:
                self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def listing(self):
        """The durable tree saved at the last cut (see powerfs.py)."""
        r = subprocess.run([PYTHON, POWERFS, "--list", self.state], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        return r.stdout.decode("utf-8", "replace")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


def make_message(rng, mid):
    """A message with a unique id, mostly a few KB, sometimes past the spool's 256 KB chunk."""
    size = rng.choice((rng.randint(100, 8000),) * 9 + (rng.randint(64000, 600000),))
    line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(70))
    body = []
    n = 0
    while n < size:
        # a line never starts with "." (no dot-stuffing to undo here)
        l = ("%s %d" % (line[rng.randint(0, 30):], n)).encode()
        body.append(l)
        n += len(l) + 2
    head = b"Subject: power %s\r\nX-Power-Id: %s\r\n\r\n" % (mid.encode(), mid.encode())
    return head + b"\r\n".join(body) + b"\r\n"


class Load:
    """Clients that send messages in a loop until the power cut ends them; what each got is
    kept. Before the cut, any reply but the expected one is an error of the round."""

    def __init__(self, port, rng, tag):
        self.port = port
        self.rng = random.Random(rng.random())
        self.tag = tag
        self.sent = {}      # id -> (rcpts, message bytes): the final "." went out
        self.acked = {}     # id -> queue id: 250 to the final "."
        self.errors = []    # what went wrong before the cut
        self.lock = threading.Lock()
        self.is_cut = threading.Event()
        self.first_ack = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def _client(self, n):
        rng = random.Random(self.rng.random() + n)
        k = 0
        try:
            c = Client("127.0.0.1", self.port, timeout=30)
            c.dialog(220, b"EHLO client.test\r\n", 250)
            while not self.is_cut.is_set():
                k += 1
                mid = "%s-c%d-m%d" % (self.tag, n, k)
                rcpts = rng.choice(((USERS[0],), (USERS[1],), USERS))
                msg = make_message(rng, mid)
                c.dialog(b"MAIL FROM:<%s>\r\n" % SENDER.encode(), 250)
                for r in rcpts:
                    c.dialog(b"RCPT TO:<%s@example.test>\r\n" % r.encode(), 250)
                c.dialog(b"DATA\r\n", 354)
                c.send(msg + b".\r\n")
                with self.lock:
                    self.sent[mid] = (rcpts, msg)
                r = c.reply()
                assert r.code == 250, "DATA: %r" % r
                with self.lock:
                    self.acked[mid] = queued_id("2.0.0 " + r.text)
                self.first_ack.set()
        except (AssertionError, OSError, SMTPClosed, TimeoutError) as e:
            # after the cut: 451 (the disk is gone), or the daemon was killed
            if not self.is_cut.is_set():
                with self.lock:
                    self.errors.append("client %d: %r" % (n, e))

    def cut(self):
        """From now on the clients stop at the first failure, and it is no error."""
        self.is_cut.set()

    def join(self):
        for t in self.threads:
            t.join(60)
            assert not t.is_alive(), "a client did not stop"


def delivered(mailbox_root):
    """Every file in the Maildirs' new/ and cur/ as (user, path, bytes)."""
    out = []
    for user in USERS:
        for sub in ("new", "cur"):
            d = os.path.join(mailbox_root, user, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append((user, os.path.join(d, name), f.read()))
    return out


def delivered_id(data):
    m = re.search(rb"^X-Power-Id: (\S+)$", data, re.M)
    q = re.search(rb"with ESMTP id (\S+)", data)
    return (m.group(1).decode() if m else None), (q.group(1).decode().rstrip(";") if q else None)


def wait_drained(s, load, fs, tag, timeout=60):
    """Until every acknowledged message is in each recipient's Maildir and queue/ is empty."""
    deadline = time.monotonic() + timeout
    want = {(mid, u) for mid in load.acked for u in load.sent[mid][0]}
    while True:
        have = set()
        for user, _path, data in delivered(s.mailbox_root):
            mid, _qid = delivered_id(data)
            have.add((mid, user))
        missing = want - have
        if not missing and not s.queue_ids():
            return
        if time.monotonic() > deadline:
            pytest.fail("%s: %d acknowledged deliveries missing (%s), queue %s; log:\n%s\n"
                        "what the cut left:\n%s" % (tag, len(missing), sorted(missing)[:5],
                                                     s.queue_ids()[:5], s.log()[-6000:],
                                                     fs.listing()[:4000]))
        time.sleep(0.1)


def check_round(s, load, tag, ncuts):
    """What the mailboxes and the spool hold after the cuts and the restart; returns the
    number of extra copies."""
    copies = {}
    for user, path, data in delivered(s.mailbox_root):
        mid, qid = delivered_id(data)
        assert mid in load.sent, "%s: %s holds a message nobody sent whole:\n%r" % (tag, path, data[:600])
        rcpts, msg = load.sent[mid]
        assert user in rcpts, "%s: %s delivered to %s, sent to %s" % (tag, mid, user, rcpts)
        if mid in load.acked:
            assert qid == load.acked[mid], "%s: %s delivered as %s, queued as %s" % (
                tag, mid, qid, load.acked[mid])
        got = split_delivered(data, "%s@example.test" % user, qid)
        assert got == msg.replace(b"\r\n", b"\n"), "%s: %s is corrupt (%d bytes, sent %d)" % (
            tag, path, len(got), len(msg))
        copies[(mid, user)] = copies.get((mid, user), 0) + 1
    for mid in load.acked:
        for user in load.sent[mid][0]:
            assert copies.get((mid, user), 0) >= 1, "%s: %s acknowledged, never delivered to %s" % (
                tag, mid, user)
    dup = {k: n for k, n in copies.items() if n > 1 + ncuts}
    assert not dup, "%s: more than one extra copy per cut (%d cuts): %s" % (tag, ncuts, dup)
    for sub in ("corrupt", "incoming", "queue"):
        left = os.listdir(os.path.join(s.spool, sub))
        assert left == [], "%s: spool %s/ holds %s after the restart; log:\n%s" % (
            tag, sub, left, s.log()[-4000:])
    return sum(n - 1 for n in copies.values())


def cut_and_restart(s, fs, rng):
    """The power goes out (sometimes after some writeback) and comes back: sterna is killed
    with the file system gone, then starts on what was durable."""
    share = rng.choice((0.0, rng.uniform(0.1, 0.9)))
    fs.cut(share, rng.randrange(1 << 30))
    s.kill9()
    fs.unmount()
    fs.mount()
    s.start()
    return share


def test_power_cuts_lose_no_acknowledged_mail(sterna_factory):
    seed = int(os.environ.get("STERNA_POWER_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="sterna-power-")
    os.chmod(work, 0o755)     # the daemon's user reaches the mount through it
    fs = PowerFS(work)
    totals = {"cuts": 0, "acked": 0, "sent": 0, "dups": 0}
    started = time.monotonic()
    try:
        for i in range(ROUNDS):
            tag = "seed %d round %d" % (seed, i)
            if os.path.exists(fs.state):
                os.unlink(fs.state)     # each round on a new file system: sterna makes its folders
            fs.mount()
            spool, mail = os.path.join(fs.mnt, "spool"), os.path.join(fs.mnt, "mail")
            s = sterna_factory(spool__dir=spool, local__mailbox_root=mail)
            s.spool, s.mailbox_root = spool, mail
            # syncfs flushes nothing on FUSE: the spool says it flushes file by file
            s.wait_log(r"spool: flush of %s \(fuse\): fsync\(2\) of each file" % re.escape(spool))
            load = Load(s.port, rng, "r%d" % i)
            assert load.first_ack.wait(60), "%s: no 250 within 60 s (%s); log:\n%s" % (
                tag, load.errors, s.log()[-4000:])
            time.sleep(rng.uniform(0, 1.5))
            load.cut()
            shares = [cut_and_restart(s, fs, rng)]
            load.join()
            assert load.errors == [], "%s: before the cut: %s" % (tag, load.errors)
            # now and then a second cut, while it delivers what the first one left
            while rng.random() < 0.25:
                time.sleep(rng.uniform(0, 0.3))
                shares.append(cut_and_restart(s, fs, rng))
            tag += ", cuts with writeback %s" % ["%.2f" % x for x in shares]
            wait_drained(s, load, fs, tag)
            s.stop()
            totals["dups"] += check_round(s, load, tag, len(shares))
            totals["cuts"] += len(shares)
            totals["acked"] += len(load.acked)
            totals["sent"] += len(load.sent)
            fs.unmount()
    finally:
        if fs.proc is not None:
            fs.unmount(lazy=True)   # a failed round may leave the daemon running on it
    print("\npower cuts: %d in %d rounds (seed %d) in %.0f s: %d messages sent whole, %d acknowledged,"
          " all delivered; %d extra copies" % (totals["cuts"], ROUNDS, seed, time.monotonic() - started,
                                                totals["sent"], totals["acked"], totals["dups"]))
    shutil.rmtree(work, ignore_errors=True)
