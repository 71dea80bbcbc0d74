"""A filter's connection kept for the next SMTP session (src/milter/pool.c), against
Sendmail's libmilter through pymilter: QUIT_NC where libmilter takes it (the end of a message
answered with CONTINUE), a new connection where it would not (a message accepted with
ACCEPT), none kept with milter.NAME.idle_connections = 0, a parked connection whose filter
went away never reused, and the other entrances' messages sharing the pool. What was reused
is read in sterna_milter_connections_total (the control socket's metrics op); what the
filter heard, in its log."""

import subprocess

from conftest import STERNA_BIN
from milterpeer import MESSAGE, pymilter  # noqa: F401 (the fixture)
from test_metrics import control_metrics, v


def counts(s, name):
    m = control_metrics(s)
    return (v(m, "sterna_milter_connections", milter=name, how="opened"),
            v(m, "sterna_milter_connections", milter=name, how="reused"))


class Connections:
    """The connections to filter name opened and reused since it was made (the fixture's
    start-up probe is a session too)."""

    def __init__(self, s, name="f"):
        self.s, self.name = s, name
        self.base = counts(s, name)

    def now(self):
        got = counts(self.s, self.name)
        return (got[0] - self.base[0], got[1] - self.base[1])


def session(s, messages=1, rcpt=b"alice@example.test"):
    """One SMTP session with messages, ended with QUIT; returns the client's port."""
    c = s.connect()
    port = c.sock.getsockname()[1]
    c.dialog(b"EHLO client.test\r\n", 250)
    for _ in range(messages):
        c.dialog(b"MAIL FROM:<a@example.org>\r\n", 250, b"RCPT TO:<%s>\r\n" % rcpt, 250,
                 b"DATA\r\n", 354, MESSAGE + b".\r\n", 250)
    c.dialog(b"QUIT\r\n", 221)
    assert c.closed()
    return port


def session_connects(f, ports):
    """The filter's CONNECTs from the test's sessions (their client ports), in order. The
    fixture's start-up probe, a session that ends as soon as it is greeted, may come first:
    the filter hears its CONNECT only when the negotiation with the filter ended before
    sterna read the probe's end of file, which is a matter of timing."""
    clients = [c[2] for c in f.events("connect")]
    want = ["('127.0.0.1', %d)" % p for p in ports]
    others = [c for c in clients if c not in want]
    assert len(others) <= 1 and clients[:len(others)] == others, (clients, want)
    return [c for c in clients if c in want]


def test_connection_serves_the_next_sessions(sterna_factory, pymilter):
    f = pymilter("continue")
    s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f")
    conns = Connections(s)
    ports = [session(s), session(s, messages=2), session(s)]
    assert s.wait_for_mail("alice", count=4)
    assert conns.now() == (1, 2)     # one connection, negotiated once, for three sessions
    # each session was a new connection to the filter: closed (QUIT_NC), then CONNECT with
    # that session's own client, and none of the last one's macros
    assert session_connects(f, ports) == ["('127.0.0.1', %d)" % p for p in ports]
    assert len(f.events("close")) >= 2
    assert len(f.events("eom")) == 4 and f.events("abort") == []


def test_connection_after_accept_is_closed(sterna_factory, pymilter):
    # ACCEPT at the end of the message: libmilter would ignore QUIT_NC and the CONNECT after it
    f = pymilter("verdicts")
    s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f")
    conns = Connections(s)
    ports = [session(s), session(s)]
    assert s.wait_for_mail("alice", count=2)
    assert conns.now() == (2, 0)
    assert len(session_connects(f, ports)) == 2 and len(f.events("eom")) == 2


def test_no_idle_connections_when_none_are_allowed(sterna_factory, pymilter):
    f = pymilter("continue")
    s = sterna_factory(milter__f__address=f.address, milter__f__idle_connections=0,
                       listen__mx__milters="f")
    conns = Connections(s)
    session(s)
    session(s)
    assert s.wait_for_mail("alice", count=2)
    assert conns.now() == (2, 0)


def test_parked_connection_of_a_gone_filter_is_not_reused(sterna_factory, pymilter):
    f = pymilter("continue")
    s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f")
    conns = Connections(s)
    session(s)
    f.stop()                                    # the parked connection's filter is gone
    g = pymilter("continue", f.dir)             # a new one on the same socket
    session(s)
    assert s.wait_for_mail("alice", count=2)
    assert conns.now() == (2, 0)
    assert len(g.events("connect")) == 1 and len(g.events("eom")) == 1
    assert "milter_failed" not in s.log()


def test_local_entrances_share_the_pool(sterna_factory, pymilter):
    f = pymilter("continue")
    s = sterna_factory(milter__f__address=f.address, server__local_milters="f")
    conns = Connections(s)
    for i in range(2):
        p = subprocess.run([STERNA_BIN, "sendmail", "-C", s.conf, "-t"],
                           input=b"From: a@example.org\nTo: bob@example.test\nSubject: %d\n\n"
                                 b"from the command line\n" % i,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 0, p.stderr
        s.wait_for_mail("bob", count=i + 1)
    assert conns.now() == (1, 1)
    senders = [e[1] for e in f.events("mail")]   # sendmail's sender: the local user
    assert len(senders) == 2 and senders[0] == senders[1] and senders[0].startswith("<")
    assert len(f.events("connect")) == 2
