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
