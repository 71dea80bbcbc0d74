"""Several receiving loops (server.receive_loops): sessions spread over the loops, every
message whole whichever loop took it, the per-client limits counted over all the loops, a stop
that drains every loop, and kill -9 under load on several loops losing nothing acknowledged."""
import hashlib
import os
import random
import re
import threading
import time

from smtpclient import Client, SMTPClosed

LOOPS = 3


def loop_of_sessions(sterna, since=0):
    """The receiving loop each session was given, by connection id, from the connect lines
    written after the first since characters of the log."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r" (c\d+) connect ip=\S+ port=\d+ listener=\S+ loop=(\d+)",
                                 sterna.log()[since:])}


def message(rng, mid):
    """A message with a unique id, of a size from a few bytes to past the spool's 256 KiB chunk,
    with lines that need dot-stuffing now and then."""
    size = rng.choice((40, 3000, 70000, 300000))
    body = []
    while sum(len(x) + 2 for x in body) < size:
        line = "".join(chr(rng.randrange(97, 123)) for _ in range(rng.randrange(0, 78)))
        body.append(("." + line) if rng.random() < 0.05 else line)
    return ("X-Loop-Id: %s\r\nSubject: %s\r\n\r\n%s\r\n" % (mid, mid, "\r\n".join(body))).encode()


def stuffed(msg):
    return re.sub(rb"(?m)^\.", b"..", msg)


def body_of(delivered):
    """The message as the client wrote it, from a Maildir copy (LF line ends, our fields first)."""
    head, _, rest = delivered.partition(b"\nX-Loop-Id: ")
    return (b"X-Loop-Id: " + rest).replace(b"\n", b"\r\n")


def sender(sterna, n_clients, n_msgs, seed, acked, errors, stop=None):
    """n_clients sessions at once, each sending n_msgs messages to alice; acked[mid] = the
    message, for each 250 to the final dot."""
    def client(c):
        rng = random.Random("%d-%d" % (seed, c))
        try:
            cl = Client("127.0.0.1", sterna.port, timeout=30)
            cl.dialog(220, b"EHLO client%d.test\r\n" % c, 250)
            for i in range(n_msgs):
                if stop is not None and stop.is_set():
                    break
                mid = "c%d-m%d" % (c, i)
                msg = message(rng, mid)
                cl.dialog(b"MAIL FROM:<sender@remote.test>\r\n", 250,
                          b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
                cl.send(stuffed(msg) + b".\r\n")
                r = cl.reply()
                assert r.code == 250, "%s: %r" % (mid, r)
                acked[mid] = msg
            cl.close()
        except (OSError, AssertionError, SMTPClosed) as e:
            if stop is None or not stop.is_set():
                errors.append("client %d: %s" % (c, e))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(n_clients)]
    for t in threads:
        t.start()
    return threads


def delivered_by_id(sterna):
    out = {}
    for data in sterna.mails("alice"):
        m = re.search(rb"^X-Loop-Id: (\S+)$", data, re.M)
        assert m, "a copy without its id (its first bytes lost?): %r" % data[:400]
        out.setdefault(m.group(1).decode(), []).append(data)
    return out


def test_sessions_spread_over_the_loops_and_every_message_arrives_whole(sterna_factory):
    sterna = sterna_factory(server__receive_loops=LOOPS, server__max_sessions_per_client=100)
    sterna.wait_log(r"server: %d receiving loops, %d on threads of their own" % (LOOPS, LOOPS - 1))
    names = {open("/proc/%d/task/%s/comm" % (sterna.pid, t)).read().strip()
             for t in os.listdir("/proc/%d/task" % sterna.pid)}
    assert {"sterna-rx%d" % i for i in range(1, LOOPS)} <= names, names
    # sessions open at once go to the loop with the fewest: two on each
    mark = len(sterna.log())
    idle = [sterna.connect() for _ in range(2 * LOOPS)]
    loops = loop_of_sessions(sterna, mark)
    assert sorted(loops.values()) == sorted(list(range(LOOPS)) * 2), loops
    for c in idle:
        c.dialog(b"QUIT\r\n", 221)
    acked, errors = {}, []
    for t in sender(sterna, 2 * LOOPS, 10, 7, acked, errors):
        t.join()
    assert errors == []
    assert len(acked) == 2 * LOOPS * 10
    sterna.wait_for_mail("alice", count=len(acked), timeout=60)
    got = delivered_by_id(sterna)
    assert sorted(got) == sorted(acked)
    for mid, copies in got.items():
        assert len(copies) == 1, mid
        assert body_of(copies[0]) == acked[mid], mid
    # the sending sessions went to every loop too
    assert set(loop_of_sessions(sterna, mark).values()) == set(range(LOOPS))


def test_client_connection_limit_counts_sessions_on_every_loop(sterna_factory):
    sterna = sterna_factory(server__receive_loops=LOOPS, server__max_sessions_per_client=2)
    addr = "127.0.0.3"
    mark = len(sterna.log())
    held = [sterna.connect(source=addr) for _ in range(2)]
    third = sterna.connect(greeting=False, source=addr)
    r = third.reply()
    assert (r.code, r.status) == (421, "4.7.0"), r
    assert "Too many connections from your address" in r.text, r
    # the two went to two loops, the third to the last: one table said no
    assert sorted(loop_of_sessions(sterna, mark).values()) == list(range(LOOPS))
    held[0].dialog(b"QUIT\r\n", 221)
    assert held[0].closed()
    for _ in range(100):
        c = sterna.connect(greeting=False, source=addr)
        r = c.reply()
        if r.code == 220:
            break
        c.close()
        time.sleep(0.05)
    assert r.code == 220, r


def test_stop_drains_the_sessions_of_every_loop(sterna_factory):
    sterna = sterna_factory(server__receive_loops=LOOPS)
    mark = len(sterna.log())
    idle = [sterna.connect() for _ in range(LOOPS)]
    for c in idle:
        c.dialog(b"EHLO client.test\r\n", 250)
    assert sorted(loop_of_sessions(sterna, mark).values()) == list(range(LOOPS))
    # one in the middle of a message: it finishes, and gets its 250
    busy = idle[-1]
    busy.dialog(b"MAIL FROM:<sender@remote.test>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n",
                250, b"DATA\r\n", 354, b"Subject: half\r\n\r\nfirst half\r\n")
    sterna.proc.terminate()
    for c in idle[:-1]:
        r = c.reply()
        assert r.code == 421, r
    busy.send(b"second half\r\n.\r\n")
    assert busy.reply().code == 250
    assert busy.reply().code == 421
    assert sterna.proc.wait(timeout=30) == 0
    sterna.proc = None
    assert "stopped" in sterna.log()


def test_kill9_under_load_on_several_loops_loses_nothing_acknowledged(sterna_factory):
    sterna = sterna_factory(server__receive_loops=4, server__max_sessions_per_client=100)
    acked, errors, stop = {}, [], threading.Event()
    threads = sender(sterna, 8, 400, 11, acked, errors, stop)
    deadline = time.monotonic() + 30
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acked) >= 40, errors
    time.sleep(random.uniform(0, 0.5))
    stop.set()      # from now on a client may find its connection gone
    sterna.kill9()
    for t in threads:
        t.join()
    assert errors == []
    sterna.restart()
    sterna.wait_for_mail("alice", count=len(acked), timeout=60)
    time.sleep(1)
    got = delivered_by_id(sterna)
    missing = sorted(set(acked) - set(got))
    assert missing == [], "acknowledged, never delivered: %s" % missing[:10]
    for mid, msg in acked.items():
        # at most twice: a kill between a copy's rename into new/ and its D record
        assert 1 <= len(got[mid]) <= 2, mid
        assert all(body_of(c) == msg for c in got[mid]), mid
