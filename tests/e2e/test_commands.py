"""Every command and every kind of bad command input of docs/smtp.md, with the exact bytes,
and pipelining (RFC 2920)."""

import pytest

EHLO = b"EHLO client.test\r\n"
MAIL = b"MAIL FROM:<a@remote.test>\r\n"


def check(r, code, status, text=None):
    assert (r.code, r.status) == (code, status), r
    if text is not None:
        assert r.text == text, r


def test_greeting_and_ehlo(sterna):
    c = sterna.connect()
    [r] = c.dialog(EHLO, 250)
    assert r.lines == ["mx.example.test", "PIPELINING", "SIZE 36700160", "8BITMIME",
                       "ENHANCEDSTATUSCODES", "SMTPUTF8"], r
    [r] = c.dialog(b"HELO client.test\r\n", 250)
    assert r.lines == ["mx.example.test"]
    c.send(b"QUIT\r\n")
    check(c.reply(), 221, "2.0.0", "Bye")
    assert c.closed()


@pytest.mark.parametrize("line, code, status, text", [
    (b"NOOP " + b"x" * 508 + b"\r\n", 500, "5.5.2", "Error: line too long"),   # 513 + CRLF
    (b"NOOP\n", 500, "5.5.2", "Error: bare LF in command; lines end with CRLF"),
    (b"NOOP\rX\r\n", 500, "5.5.2", "Error: bare CR in command"),
    (b"NO\x00OP\r\n", 500, "5.5.2", "Error: NUL byte in command"),
    (b"N\xc3\x96OP\r\n", 500, "5.5.2", "Error: command not recognized"),
    (b"\xffHLO x\r\n", 500, "5.5.2", "Error: command not recognized"),
    (b"FROB x\r\n", 500, "5.5.2", "Error: command not recognized"),
    (b"EXPN info\r\n", 502, "5.5.1", "Error: command not implemented"),
    (b"TURN\r\n", 502, "5.5.1", "Error: command not implemented"),
    (b"STARTTLS\r\n", 502, "5.5.1", "Error: command not implemented"),
    (b"AUTH PLAIN AGFsaWNlAHg=\r\n", 502, "5.5.1", "Error: command not implemented"),
    (b"BDAT 10 LAST\r\n", 502, "5.5.1", "Error: command not implemented"),
    (b"VRFY alice\r\n", 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"),
    (b"VRFY nosuchuser\r\n", 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"),
    (b"VRFY\r\n", 501, "5.5.4", "Syntax: VRFY address"),
    (b"HELP\r\n", 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY"),
    (b"NOOP whatever\r\n", 250, "2.0.0", "Ok"),
    (b"noop\r\n", 250, "2.0.0", "Ok"),
    (b"RSET x\r\n", 501, "5.5.4", "Syntax: RSET"),
    (b"QUIT now\r\n", 501, "5.5.4", "Syntax: QUIT"),
    (b"EHLO\r\n", 501, "5.5.4", "Syntax: EHLO hostname"),
    (b"EHLO bad\x01name\r\n", 501, "5.5.4", "Syntax: EHLO hostname"),
])
def test_command_line(sterna, line, code, status, text):
    c = sterna.connect()
    c.send(line)
    check(c.reply(), code, status, text)
    # The session goes on, and the next command is read as a command.
    c.send(b"NOOP\r\n")
    check(c.reply(), 250, "2.0.0", "Ok")


def test_overlong_line_is_dropped_up_to_lf(sterna):
    c = sterna.connect()
    c.send(b"MAIL FROM:<" + b"a" * 600 + b"@remote.test>\r\nNOOP\r\n")
    check(c.reply(), 500, "5.5.2", "Error: line too long")
    check(c.reply(), 250, "2.0.0", "Ok")
    c.send(EHLO)
    assert c.reply().code == 250
    # The dropped line was not a MAIL command: MAIL now is not nested.
    c.send(MAIL)
    check(c.reply(), 250, "2.1.0", "Ok")


@pytest.mark.parametrize("setup, line, code, status, text", [
    ([], MAIL, 503, "5.5.1", "Error: send HELO/EHLO first"),
    ([EHLO, MAIL], MAIL, 503, "5.5.1", "Error: nested MAIL command"),
    ([EHLO], b"RCPT TO:<alice@example.test>\r\n", 503, "5.5.1", "Error: need MAIL command"),
    ([EHLO], b"DATA\r\n", 503, "5.5.1", "Error: need MAIL command"),
    ([EHLO, MAIL], b"DATA\r\n", 503, "5.5.1", "Error: need RCPT command"),
    ([EHLO, MAIL, b"RCPT TO:<alice@example.test>\r\n"], b"DATA x\r\n", 501, "5.5.4", "Syntax: DATA"),
    ([EHLO], b"MAIL FROM:a@remote.test\r\n", 501, "5.5.2", "Syntax: MAIL FROM:<address>"),
    ([EHLO], b"MAIL TO:<a@remote.test>\r\n", 501, "5.5.2", "Syntax: MAIL FROM:<address>"),
    ([EHLO], b"MAIL FROM: <a@remote.test>\r\n", 250, "2.1.0", "Ok"),
    ([EHLO], b"MAIL FROM:<>\r\n", 250, "2.1.0", "Ok"),
    ([EHLO], b"MAIL FROM:<a@@remote.test>\r\n", 501, "5.1.7", "Bad sender address syntax"),
    ([EHLO], b"MAIL FROM:<a@remote.test> FOO=bar\r\n", 555, "5.5.4", "Unsupported parameter"),
    ([b"HELO client.test\r\n"], b"MAIL FROM:<a@remote.test> BODY=8BITMIME\r\n", 555, "5.5.4", "Unsupported parameter"),
    ([EHLO], b"MAIL FROM:<a@remote.test> SIZE=99999999999999999999\r\n", 552, "5.3.4", "Message size exceeds fixed limit"),
    ([EHLO], b"MAIL FROM:<a@remote.test> SIZE=36700161\r\n", 552, "5.3.4", "Message size exceeds fixed limit"),
    ([EHLO], b"MAIL FROM:<a@remote.test> SIZE=36700160\r\n", 250, "2.1.0", "Ok"),
    ([EHLO], b"MAIL FROM:<a@remote.test> SIZE=12x\r\n", 501, "5.5.4", "Bad parameter"),
    ([EHLO], b"MAIL FROM:<a@remote.test> SIZE=1 SIZE=2\r\n", 501, "5.5.4", "Bad parameter"),
    ([EHLO], b"MAIL FROM:<a@remote.test> BODY=BINARYMIME\r\n", 501, "5.5.4", "Bad parameter"),
    ([EHLO], b"MAIL FROM:<a@remote.test> SMTPUTF8=x\r\n", 501, "5.5.4", "Bad parameter"),
    ([EHLO], "MAIL FROM:<jörg@remote.test>\r\n".encode(), 553, "5.6.7", "Non-ASCII address requires SMTPUTF8"),
    ([EHLO], "MAIL FROM:<jörg@remote.test> SMTPUTF8\r\n".encode(), 250, "2.1.0", "Ok"),
    ([EHLO], b"MAIL FROM:<@a.test:u@b.test>\r\n", 553, "5.7.1", "Source routes are not accepted"),
    ([EHLO, MAIL], b"RCPT TO:alice@example.test\r\n", 501, "5.5.2", "Syntax: RCPT TO:<address>"),
    ([EHLO, MAIL], b"RCPT TO:<>\r\n", 501, "5.1.3", "Bad recipient address syntax"),
    ([EHLO, MAIL], b"RCPT TO:<alice@@example.test>\r\n", 501, "5.1.3", "Bad recipient address syntax"),
    ([EHLO, MAIL], "RCPT TO:<jörg@example.test>\r\n".encode(), 553, "5.6.7", "Non-ASCII address requires SMTPUTF8"),
    ([EHLO, MAIL], b"RCPT TO:<@a.test:alice@example.test>\r\n", 553, "5.7.1", "Source routes are not accepted"),
    ([EHLO, MAIL], b"RCPT TO:<alice@example.test> NOTIFY=NEVER\r\n", 555, "5.5.4", "Unsupported parameter"),
    ([EHLO, MAIL], b"RCPT TO:<ALICE@Example.Test>\r\n", 250, "2.1.5", "Ok"),
])
def test_transaction_commands(sterna, setup, line, code, status, text):
    c = sterna.connect()
    for s in setup:
        c.send(s)
        assert c.reply().code == 250, s
    c.send(line)
    check(c.reply(), code, status, text)


def test_data_after_only_rejected_rcpts(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250, MAIL, 250, b"RCPT TO:<nosuch@example.test>\r\n", 550)
    c.send(b"DATA\r\n")
    check(c.reply(), 554, "5.5.1", "Error: no valid recipients")
    assert sterna.queue_ids() == []


def test_rset_drops_transaction(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250, MAIL, 250, b"RCPT TO:<alice@example.test>\r\n", 250)
    c.send(b"RSET\r\n")
    check(c.reply(), 250, "2.0.0", "Ok")
    c.send(b"DATA\r\n")
    check(c.reply(), 503, "5.5.1", "Error: need MAIL command")
    c.send(MAIL)
    check(c.reply(), 250, "2.1.0", "Ok")


def test_ehlo_again_resets_transaction(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250, MAIL, 250)
    c.dialog(EHLO, 250)
    c.send(MAIL)
    check(c.reply(), 250, "2.1.0", "Ok")


def test_too_many_recipients(sterna_factory):
    s = sterna_factory(smtp__max_recipients=3)
    c = s.connect()
    c.dialog(EHLO, 250, MAIL, 250,
             b"RCPT TO:<alice@example.test>\r\n", 250,
             b"RCPT TO:<bob@example.test>\r\n", 250,
             b"RCPT TO:<postmaster@example.test>\r\n", 250)
    c.send(b"RCPT TO:<info@example.test>\r\n")
    check(c.reply(), 452, "4.5.3", "Error: too many recipients")


PIPELINED = (b"MAIL FROM:<a@remote.test>\r\n"
             b"RCPT TO:<alice@example.test>\r\n"
             b"RCPT TO:<nosuch@example.test>\r\n"
             b"DATA\r\n")


def pipelined_replies(c):
    r = [c.reply() for _ in range(4)]
    assert [(x.code, x.status) for x in r] == [(250, "2.1.0"), (250, "2.1.5"), (550, "5.1.1"), (354, None)], r
    assert r[3].lines == ["End data with <CR><LF>.<CR><LF>"]
    c.send(b"Subject: p\r\n\r\npipelined\r\n.\r\nQUIT\r\n")
    done = c.reply()
    assert (done.code, done.status) == (250, "2.0.0"), done
    check(c.reply(), 221, "2.0.0", "Bye")


def test_pipelining_in_one_send(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250)
    c.send(PIPELINED)
    pipelined_replies(c)
    [got] = sterna.wait_for_mail("alice")
    assert got.endswith(b"\nSubject: p\n\npipelined\n")


def test_pipelining_one_byte_at_a_time(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250)
    for i in range(len(PIPELINED)):
        c.send(PIPELINED[i:i + 1])
    pipelined_replies(c)
    [got] = sterna.wait_for_mail("alice")
    assert got.endswith(b"\nSubject: p\n\npipelined\n")


def test_pipelined_input_past_the_read_ceiling_is_all_answered(sterna):
    """384 KiB of commands pipelined behind a message's final dot: while the message commits the
    connection reads on until 256 KiB wait unprocessed, then stops reading; as the commands are
    answered it reads again. Every one is answered, in order, and the message is delivered."""
    c = sterna.connect()
    c.dialog(EHLO, 250, MAIL, 250, b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)
    noops = 65536
    c.send(b"Subject: ceiling\r\n\r\nbefore the commands\r\n.\r\n" + b"NOOP\r\n" * noops +
           b"QUIT\r\n")
    check(c.reply(timeout=30), 250, "2.0.0")
    for _ in range(noops):
        check(c.reply(timeout=30), 250, "2.0.0", "Ok")
    check(c.reply(timeout=30), 221, "2.0.0", "Bye")
    [got] = sterna.wait_for_mail("alice")
    assert got.endswith(b"\nSubject: ceiling\n\nbefore the commands\n")


def test_improper_pipelining_after_data(sterna):
    c = sterna.connect()
    c.dialog(EHLO, 250, MAIL, 250, b"RCPT TO:<alice@example.test>\r\n", 250)
    c.send(b"DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
    check(c.reply(), 554, "5.5.0", "Error: improper pipelining after DATA")
    assert c.closed()
    assert sterna.queue_ids() == []
    assert sterna.all_mail() == []


def test_http_request_with_smtp_in_its_body_is_closed(sterna):
    """A browser or proxy made to post to the SMTP port: the request line ends the session,
    so the SMTP in the body (a second write, as a real client sends it) never runs."""
    c = sterna.connect()
    c.send(b"POST / HTTP/1.1\r\nHost: mx.example.test\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 120\r\n\r\n")
    r = c.reply()
    check(r, 421, "4.7.0", "mx.example.test Error: this is an SMTP server, not HTTP")
    try:
        c.send(b"EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
               b"DATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
    except OSError:
        pass  # already closed: all the better
    assert c.closed()
    assert sterna.queue_ids() == [] and sterna.all_mail() == []
    sterna.wait_log(r"reject cmd=HTTP arg=POST code=421 dsn=4\.7\.0")


@pytest.mark.parametrize("char", ["\u0085", "\u2028", "\u2029", "\u202a", "\u202e", "\u2066",
                                  "\u2069"])
def test_addresses_with_control_or_bidi_characters_are_refused(sterna, char):
    """Such an address would reach Return-Path, Received and the log as it was sent, and read
    as another address there (or break the line)."""
    bad = char.encode()
    c = sterna.connect()
    c.dialog(EHLO, 250)
    c.send(b"MAIL FROM:<evil" + bad + b"@remote.test> SMTPUTF8\r\n")
    check(c.reply(), 553, "5.1.7", "Sender address contains control or bidirectional characters")
    c.dialog(b"MAIL FROM:<a@remote.test> SMTPUTF8\r\n", 250)
    c.send(b"RCPT TO:<alice" + bad + b"@example.test>\r\n")
    check(c.reply(), 553, "5.1.3",
          "Recipient address contains control or bidirectional characters")
    assert sterna.queue_ids() == []


@pytest.mark.parametrize("raw", [b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf5\x80\x80\x80"])
def test_invalid_utf8_in_an_address_is_a_syntax_error(sterna, raw):
    c = sterna.connect()
    c.dialog(EHLO, 250)
    c.send(b"MAIL FROM:<a" + raw + b"@remote.test> SMTPUTF8\r\n")
    check(c.reply(), 501, "5.1.7", "Bad sender address syntax")
