"""fanout.py - delivery to many destinations at once, and what one dead destination costs the
others. Run by bench/fanout.sh (see there).

N queued messages of 4 KiB (written straight into the spool and flushed, due at once) go to 1,000
domains; a real DNS server on loopback (unbound) gives each domain an MX host of its own,
whose address is one of 100 loopback addresses (127.0.2.1 .. 127.0.2.100) where an smtp-sink
listens. The daemon is started and timed until every message has left the queue: the
delivered rate, against smtp-source straight into smtp-sink (the direct rate). Then the same
again with 1 % of the messages to a dead destination (its MX address takes connections into a
full backlog and never answers): the rate of the other 99 %, against the first run's. The two
runs alternate for the given number of rounds (3 by default): one run of each differs by a
fifth from the next on a busy machine, so the medians are what to compare."""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from peers import Unbound  # noqa: E402
from queuefiles import make_qid, queue_file  # noqa: E402

DOMAINS = 1000
ADDRESSES = 100
DEAD_DOMAIN = "dead.test"
DEAD_ADDRESS = "127.0.3.1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(host, port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s:%d" % (host, port))


def fill(spool, count, dead_every):
    """count messages due now, one recipient each at the domains in turn; every dead_every-th
    (0: none) to the dead domain. Returns how many go to the dead domain."""
    queue = os.path.join(spool, "queue")
    os.makedirs(queue, exist_ok=True)
    owner = os.stat(spool)
    now_us = int(time.time() * 1e6)
    body = b"Subject: fan-out\r\nFrom: a@example.org\r\n\r\n" + (b"x" * 76 + b"\r\n") * 52
    dead = 0
    for i in range(count):
        if dead_every and i % dead_every == 0:
            rcpt, dead = "u%d@%s" % (i, DEAD_DOMAIN), dead + 1
        else:
            rcpt = "u%d@d%d.test" % (i, i % DOMAINS)
        arrival = now_us - (count - i) * 10
        q = make_qid(arrival)
        tmp = os.path.join(queue, "." + q)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, queue_file(q, "a@example.org", [rcpt], body, arrival))
        if os.geteuid() == 0:
            os.fchown(fd, owner.st_uid, owner.st_gid)
        os.close(fd)
        os.rename(tmp, os.path.join(queue, q))
    if os.geteuid() == 0:
        os.chown(queue, owner.st_uid, owner.st_gid)
    return dead


def run(sterna, resolver, sink_port, count, dead_every):
    work = tempfile.mkdtemp(prefix="fanout-")
    os.chmod(work, 0o755)
    spool = os.path.join(work, "spool")
    os.mkdir(spool)
    user = ""
    if os.geteuid() == 0:
        user = 'user = "nobody";'
        shutil.chown(spool, "nobody")
    port = free_port()
    conf = os.path.join(work, "sterna.conf")
    with open(conf, "w") as f:
        f.write('server { hostname = "mx.example.test"; %s log_level = "warning"; }\n'
                'listen "mx" { address = "127.0.0.1:%d"; }\n'
                'spool { dir = "%s"; }\n'
                'local { domains = ["example.test"]; users = ["postmaster"]; '
                'mailbox_root = "%s/mail"; }\n'
                'dns { resolver = "%s"; timeout = 2s; }\n'
                'outbound { port = %d; connect_timeout = 5s; greeting_timeout = 5s; }\n'
                'queue { max_connections = 200; max_connections_per_destination = 4; }\n'
                % (user, port, spool, work, resolver, sink_port))
    dead = fill(spool, count, dead_every)
    # the queue as sterna leaves it: on disk. Written and not flushed, its 800 MB would be
    # written back by the first group flush of the run, which only the run with the dead
    # destination makes (its deferrals), and that run alone would pay for it.
    os.sync()
    log = open(os.path.join(work, "sterna.log"), "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen([sterna, "serve", "-c", conf], stdout=log, stderr=log)
    queue = os.path.join(spool, "queue")
    # done when only the dead destination's messages are left (deferred, or still trying)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("sterna exited: %s" % open(log.name).read()[-2000:])
            left = len(os.listdir(queue))
            if left <= dead:
                break
            time.sleep(0.05)
        t = time.monotonic() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    return (count - dead) / t, count - dead, t


def main():
    sterna, sink_bin, source_bin, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    records = []
    for d in range(DOMAINS):
        records.append("d%d.test. 3600 MX 10 mx.d%d.test." % (d, d))
        records.append("mx.d%d.test. 3600 A 127.0.2.%d" % (d, d % ADDRESSES + 1))
    records.append("%s. 3600 MX 10 mx.%s." % (DEAD_DOMAIN, DEAD_DOMAIN))
    records.append("mx.%s. 3600 A %s" % (DEAD_DOMAIN, DEAD_ADDRESS))
    dns = Unbound(records)
    sink_port = free_port()
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    env = dict(os.environ)
    sinks = [subprocess.Popen([sink_bin] + as_user + ["-c", "127.0.2.%d:%d" % (a, sink_port), "256"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
             for a in range(1, ADDRESSES + 1)]
    # the dead destination: connections complete into a backlog nobody accepts from, then
    # wait (no greeting); once the backlog is full, new ones are not even answered
    dead = socket.socket()
    dead.bind((DEAD_ADDRESS, sink_port))
    dead.listen(1)
    try:
        for a in range(1, ADDRESSES + 1):
            wait_port("127.0.2.%d" % a, sink_port)
        # the direct rate: smtp-source straight into one of the sinks
        t0 = time.monotonic()
        subprocess.run([source_bin, "-s", "20", "-m", "10000", "-l", "4096", "-f", "bench@example.org",
                        "-t", "u@d0.test", "127.0.2.1:%d" % sink_port], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        direct = 10000 / (time.monotonic() - t0)
        print("fan-out: %d messages of 4 KiB to %d domains (MX by unbound, %d sinks), %d rounds"
              % (count, DOMAINS, ADDRESSES, rounds))
        print("  direct (smtp-source -> smtp-sink, 20 sessions): %.0f msg/s" % direct)
        alives, deads = [], []
        for r in range(rounds):
            alive, n, t = run(sterna, dns.address, sink_port, count, 0)
            with_dead, n2, t2 = run(sterna, dns.address, sink_port, count, 100)
            alives.append(alive)
            deads.append(with_dead)
            print("  round %d: queue to sinks, %d in %.1f s: %.0f msg/s (%.2f of direct); with 1 %% "
                  "to a dead destination, the other %d in %.1f s: %.0f msg/s (%.2f of the run "
                  "without it)" % (r + 1, n, t, alive, alive / direct, n2, t2, with_dead,
                                   with_dead / alive))
        alive, with_dead = statistics.median(alives), statistics.median(deads)
        print("  medians: %.0f msg/s (%.2f of direct); with the dead destination %.0f msg/s "
              "(%.2f of the run without it)" % (alive, alive / direct, with_dead, with_dead / alive))
    finally:
        for s in sinks:
            s.terminate()
        for s in sinks:
            s.wait()
        dead.close()
        dns.stop()


if __name__ == "__main__":
    main()
