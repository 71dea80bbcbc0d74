"""Session limits of docs/smtp.md (Session table): max_errors, idle_timeout, max_sessions,
greeting_delay."""


def test_max_errors(sterna_factory):
    s = sterna_factory(smtp__max_errors=3)
    c = s.connect()
    for _ in range(3):
        c.send(b"FROB\r\n")
        r = c.reply()
        assert (r.code, r.status) == (500, "5.5.2"), r
    r = c.reply()
    assert (r.code, r.status) == (421, "4.7.0"), r
    assert r.text == "mx.example.test Error: too many errors", r
    assert c.closed()


def test_idle_timeout(sterna_factory):
    s = sterna_factory(smtp__idle_timeout="1s")
    c = s.connect()
    r = c.reply(timeout=15)
    assert (r.code, r.status) == (421, "4.4.2"), r
    assert r.text == "mx.example.test Error: timeout exceeded", r
    assert c.closed()


def test_idle_timeout_during_data_keeps_nothing(sterna_factory):
    s = sterna_factory(smtp__idle_timeout="1s")
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
    c.send(b"Subject: unfinished\r\n\r\nhalf a message\r\n")
    r = c.reply(timeout=15)
    assert (r.code, r.status) == (421, "4.4.2"), r
    assert c.closed()
    assert s.queue_ids() == []
    assert s.all_mail() == []


def test_max_sessions(sterna_factory):
    s = sterna_factory(server__max_sessions=2)
    a = s.connect()
    b = s.connect()
    c = s.connect(greeting=False)
    r = c.reply()
    assert (r.code, r.status) == (421, "4.7.0"), r
    assert r.text == "mx.example.test Too many connections, try again later", r
    assert c.closed()
    for x in (a, b):
        x.send(b"NOOP\r\n")
        r = x.reply()
        assert (r.code, r.status) == (250, "2.0.0"), r
    # A session that ends frees its place.
    a.dialog(b"QUIT\r\n", 221)
    assert a.closed()
    for _ in range(100):
        d = s.connect(greeting=False)
        r = d.reply()
        if r.code == 220:
            break
        d.close()
    assert r.code == 220, r


def test_greeting_delay_client_speaks_first(sterna_factory):
    s = sterna_factory(listen__mx__greeting_delay="1s")
    c = s.connect(greeting=False)
    c.send(b"EHLO client.test\r\n")
    r = c.reply()
    assert (r.code, r.status) == (554, "5.5.0"), r
    assert r.text == "mx.example.test Protocol error: client spoke before the greeting", r
    assert c.closed()


def test_greeting_delay_patient_client(sterna_factory):
    s = sterna_factory(listen__mx__greeting_delay="1s")
    c = s.connect()          # waits for and checks the 220
    c.dialog(b"EHLO client.test\r\n", 250)


# ---- slow clients: deadlines, not pauses between bytes ----

def trickle(c, data, every):
    """Sends data a byte at a time, every seconds apart, until it is sent or the server
    has closed; returns the reply the server sent meanwhile (or None)."""
    import socket
    import time
    c.sock.settimeout(every)
    for i in range(len(data)):
        try:
            c.sock.sendall(data[i:i + 1])
        except OSError:
            break
        time.sleep(every)
        try:
            got = c.sock.recv(4096, socket.MSG_PEEK)
        except socket.timeout:
            continue
        except OSError:
            break
        if got:
            return c.reply(timeout=5)
    return None


def test_one_byte_every_half_second_does_not_hold_a_command(sterna_factory):
    """smtp.idle_timeout is a deadline for one whole command line: a client that trickles a
    byte every 0.5 s (each byte well within the timeout) is cut off when the line is late."""
    s = sterna_factory(smtp__idle_timeout="2s")
    c = s.connect()
    r = trickle(c, b"NOOP and a long, slowly sent argument\r\n", 0.5)
    assert r is not None and (r.code, r.status) == (421, "4.4.2"), r
    assert c.closed()
    s.wait_log(r"c\d+ timeout ip=127\.0\.0\.1 deadline=command")


def test_data_phase_has_a_deadline_of_its_own(sterna_factory):
    s = sterna_factory(smtp__idle_timeout="5s", smtp__data_timeout="2s")
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
    r = trickle(c, b"Subject: slow\r\n\r\n" + b"x" * 40 + b"\r\n.\r\n", 0.25)
    assert r is not None and (r.code, r.status) == (421, "4.4.2"), r
    assert c.closed()
    assert s.queue_ids() == [] and s.all_mail() == []
    s.wait_log(r"c\d+ timeout ip=127\.0\.0\.1 deadline=data")


def test_session_has_a_deadline(sterna_factory):
    """Commands in time, one after the other, still end when the session is too old."""
    import time
    s = sterna_factory(smtp__idle_timeout="2s", smtp__session_timeout="3s")
    c = s.connect()
    t0 = time.monotonic()
    while True:
        c.send(b"NOOP\r\n")
        r = c.reply(timeout=5)
        if r.code != 250:
            break
        assert time.monotonic() - t0 < 10, "the session deadline never came"
        time.sleep(0.7)
    assert (r.code, r.status) == (421, "4.4.2"), r
    assert 2.5 < time.monotonic() - t0 < 6
    s.wait_log(r"c\d+ timeout ip=127\.0\.0\.1 deadline=session")


def test_one_address_cannot_take_every_session(sterna_factory):
    s = sterna_factory(server__max_sessions_per_client=3)
    # from an address of its own: the start-up probe's session from 127.0.0.1 may not be
    # closed yet on a busy machine
    addr = "127.0.0.3"
    held = [s.connect(source=addr) for _ in range(3)]
    c = s.connect(greeting=False, source=addr)
    r = c.reply()
    assert (r.code, r.status) == (421, "4.7.0"), r
    assert r.text == "mx.example.test Too many connections from your address, try again later"
    assert c.closed()
    # another address is still served
    from smtpclient import Client
    other = Client("127.0.0.1", s.port, source="127.0.0.2")
    s._clients.append(other)
    assert other.reply().code == 220
    # one of the three leaves: a place for that address again
    held[0].dialog(b"QUIT\r\n", 221)
    assert held[0].closed()
    for _ in range(100):
        d = s.connect(greeting=False, source=addr)
        r = d.reply()
        if r.code == 220:
            break
        d.close()
    assert r.code == 220, r
    s.wait_log(r"c\d+ reject cmd=CONNECT arg=127\.0\.0\.3 code=421 dsn=4\.7\.0 .*rule=limit:client_connections")


def test_trusted_networks_are_not_capped_per_address(sterna_factory):
    s = sterna_factory(server__max_sessions_per_client=2, relay__trusted_networks=["127.0.0.1/32"])
    held = [s.connect() for _ in range(4)]   # connect() checks each 220
    assert len(held) == 4
