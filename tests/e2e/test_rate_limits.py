"""The limits of limits { } (docs/configuration.md): each one reached and answered, per client
network and per user and sender domain, with the rule named in the log. How each window
recovers is timed in the unit tests (tests/unit/test_limits.c), with a clock of their own:
here a window is a minute or an hour."""
from smtpclient import Client
from test_auth import PASSWORDS, b64, users_file  # noqa: F401 (a fixture)

EHLO = b"EHLO client.test\r\n"


def client(s, source="127.0.0.9"):
    """A client at an address of its own: the fixture's start-up probes come from 127.0.0.1."""
    c = Client("127.0.0.1", s.port, source=source)
    s._clients.append(c)
    return c


def send_one(c, sender="a@remote.test", to="alice@example.test"):
    """MAIL, RCPT, DATA of one message; returns the MAIL reply when it is refused."""
    c.send(b"MAIL FROM:<%s>\r\n" % sender.encode())
    r = c.reply()
    if r.code != 250:
        return r
    c.dialog(b"RCPT TO:<%s>\r\n" % to.encode(), 250, b"DATA\r\n", 354,
             b"Subject: t\r\n\r\nbody\r\n.\r\n", 250)
    return r


def test_connections_per_minute(sterna_factory):
    s = sterna_factory(limits__client_connections_per_minute=3)
    for _ in range(3):
        c = client(s)
        assert c.reply().code == 220
        c.dialog(b"QUIT\r\n", 221)
    c = client(s)
    r = c.reply()
    assert (r.code, r.status) == (421, "4.7.0"), r
    assert r.text == "mx.example.test Too many connections from your address, try again later"
    assert c.closed()
    # counted per client network (a /32 by default): another address is served
    other = client(s, "127.0.0.2")
    assert other.reply().code == 220
    s.wait_log(r"reject cmd=CONNECT arg=127\.0\.0\.9 code=421 dsn=4\.7\.0 .*"
               r"rule=limit:client_connections_per_minute")


def test_connections_counted_per_ipv4_prefix(sterna_factory):
    s = sterna_factory(limits__client_connections_per_minute=2, limits__client_prefix_v4=24)
    for src in ("127.0.1.1", "127.0.1.2"):
        c = client(s, src)
        assert c.reply().code == 220
    c = client(s, "127.0.1.3")
    assert c.reply().code == 421
    # another /24 is another client
    c = client(s, "127.0.2.1")
    assert c.reply().code == 220


def test_messages_per_minute(sterna_factory):
    s = sterna_factory(limits__client_messages_per_minute=2)
    c = client(s)
    c.reply()
    c.dialog(EHLO, 250)
    assert send_one(c).code == 250
    assert send_one(c).code == 250
    r = send_one(c)
    assert (r.code, r.status) == (450, "4.7.1"), r
    assert "too many messages from your address" in r.text, r
    # the session goes on: a 450 is a "not now", not a goodbye
    c.dialog(b"NOOP\r\n", 250)
    assert len(s.wait_for_mail("alice", 2)) == 2
    s.wait_log(r"reject cmd=MAIL .*code=450 dsn=4\.7\.1 .*rule=limit:client_messages_per_minute")


def test_recipients_per_minute_count_every_recipient_asked(sterna_factory):
    s = sterna_factory(limits__client_recipients_per_minute=3)
    c = client(s)
    c.reply()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250,
             b"RCPT TO:<nobody@example.test>\r\n", 550,   # unknown, and counted
             b"RCPT TO:<bob@example.test>\r\n", 250)
    c.send(b"RCPT TO:<carol@example.test>\r\n")
    r = c.reply()
    assert (r.code, r.status) == (450, "4.7.1"), r
    assert "too many recipients" in r.text, r
    # what was accepted is delivered
    c.dialog(b"DATA\r\n", 354, b"Subject: t\r\n\r\nbody\r\n.\r\n", 250)
    assert len(s.wait_for_mail("alice", 1)) == 1
    assert len(s.wait_for_mail("bob", 1)) == 1


def test_trusted_networks_are_exempt_from_client_limits(sterna_factory):
    s = sterna_factory(limits__client_messages_per_minute=1,
                       relay__trusted_networks=["127.0.0.9/32"])
    c = client(s)
    c.reply()
    c.dialog(EHLO, 250)
    for _ in range(3):
        assert send_one(c).code == 250


def test_sender_domain_messages_per_hour(sterna_factory):
    s = sterna_factory(limits__sender_domain_messages_per_hour=2)
    c = client(s)
    c.reply()
    c.dialog(EHLO, 250)
    assert send_one(c, "a@bulk.test").code == 250
    assert send_one(c, "b@BULK.test").code == 250
    r = send_one(c, "c@bulk.test")
    assert (r.code, r.status) == (450, "4.7.1"), r
    assert "sender domain" in r.text, r
    # another domain, and the null sender, are not held back by it
    assert send_one(c, "a@other.test").code == 250
    assert send_one(c, "").code == 250


def test_user_messages_per_hour(sterna_factory, users_file):  # noqa: F811
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True,
                       limits__user_messages_per_hour=1)
    c = client(s)
    c.reply()
    c.dialog(EHLO, 250)
    c.send(b"AUTH PLAIN " + b64("\0alice\0%s" % PASSWORDS["alice"]).encode() + b"\r\n")
    assert c.reply().code == 235
    assert send_one(c, "alice@example.test", "bob@example.test").code == 250
    r = send_one(c, "alice@example.test", "bob@example.test")
    assert (r.code, r.status) == (450, "4.7.1"), r
    assert "account" in r.text, r
    s.wait_log(r"rule=limit:user_messages_per_hour")
