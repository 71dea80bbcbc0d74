"""The DATA phase: only CRLF . CRLF ends a message (SMTP smuggling, RFC 5321 4.1.1.4), and
messages with bare CR/LF, NUL, overlong lines or over the size limit are refused, not kept,
while the session goes on (docs/smtp.md, DATA)."""

import pytest

START = (b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
         b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354)


def refused(sterna, c, content, code, status, text):
    c.send(content)
    r = c.reply()
    assert (r.code, r.status) == (code, status), r
    assert r.text == text, r
    # The session continues, and nothing of the message was kept.
    c.send(b"NOOP\r\n")
    r = c.reply()
    assert (r.code, r.status) == (250, "2.0.0"), r
    assert sterna.queue_ids() == []
    assert sterna.all_mail() == []


BARE = "Message contains bare CR or LF"


@pytest.mark.parametrize("content", [
    b"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@example.org>\r\n\r\n.\r\n",      # STYLE.md
    b"Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<evil@example.org>\r\n\r\n.\r\n",
    b"Subject: x\r\n\r\nhi\r\n.\nMAIL FROM:<evil@example.org>\r\n\r\n.\r\n",
    b"Subject: x\r\n\r\nhi\r.\rMAIL FROM:<evil@example.org>\r\n\r\n.\r\n",
    b"Subject: x\r\n\r\nhi\r\n.\rMAIL FROM:<evil@example.org>\r\n\r\n.\r\n",
    b"Subject: x\r\n\r\nhi\r.\r\nMAIL FROM:<evil@example.org>\r\n\r\n.\r\n",
    b"Subject: x\r\n\r\nbare lf\nhere\r\n.\r\n",
    b"Subject: x\r\n\r\nbare cr\rhere\r\n.\r\n",
], ids=["lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf", "cr-dot-cr", "crlf-dot-cr", "cr-dot-crlf",
        "bare-lf", "bare-cr"])
def test_smuggling_and_bare_line_ends(sterna, content):
    c = sterna.connect()
    c.dialog(*START)
    refused(sterna, c, content, 550, "5.5.2", BARE)
    # The smuggled MAIL was message text, not a command: a MAIL now is not nested.
    c.send(b"MAIL FROM:<a@remote.test>\r\n")
    r = c.reply()
    assert (r.code, r.status) == (250, "2.1.0"), r


def test_nul_in_body(sterna):
    c = sterna.connect()
    c.dialog(*START)
    refused(sterna, c, b"Subject: x\r\n\r\nnul \x00 here\r\n.\r\n", 550, "5.6.0",
            "Message contains NUL bytes")


def test_line_over_1000_bytes(sterna):
    c = sterna.connect()
    c.dialog(*START)
    refused(sterna, c, b"Subject: x\r\n\r\n" + b"y" * 1001 + b"\r\n.\r\n", 550, "5.6.0",
            "Message has lines longer than 1000 bytes")


def test_line_of_998_bytes_is_fine(sterna):
    c = sterna.connect()
    c.dialog(*START)
    c.send(b"Subject: x\r\n\r\n" + b"y" * 998 + b"\r\n.\r\n")
    r = c.reply()
    assert (r.code, r.status) == (250, "2.0.0"), r
    [got] = sterna.wait_for_mail("alice")
    assert got.endswith(b"\n" + b"y" * 998 + b"\n")


def test_message_over_max_message_bytes(sterna_factory):
    s = sterna_factory(smtp__max_message_bytes="10kb")
    c = s.connect()
    [ehlo] = c.dialog(b"EHLO client.test\r\n", 250)
    assert "SIZE 10240" in ehlo.lines, ehlo
    c.dialog(*START[2:])
    refused(s, c, b"Subject: big\r\n\r\n" + (b"z" * 98 + b"\r\n") * 120 + b".\r\n", 552, "5.3.4",
            "Message size exceeds fixed limit")


def test_dot_stuffing_is_undone(sterna):
    c = sterna.connect()
    c.dialog(*START)
    c.send(b"Subject: dots\r\n\r\n..leading\r\n...\r\n. \r\n.\r\n")
    r = c.reply()
    assert (r.code, r.status) == (250, "2.0.0"), r
    [got] = sterna.wait_for_mail("alice")
    assert got.endswith(b"\nSubject: dots\n\n.leading\n..\n \n")


def test_next_command_after_final_dot_in_same_send(sterna):
    c = sterna.connect()
    c.dialog(*START)
    c.send(b"Subject: a\r\n\r\none\r\n.\r\nNOOP\r\n")
    r = c.reply()
    assert (r.code, r.status) == (250, "2.0.0"), r
    r = c.reply()
    assert (r.code, r.status) == (250, "2.0.0") and r.text == "Ok", r
