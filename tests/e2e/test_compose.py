"""The messages the HTTP API builds (src/compose), read back by a MIME reader nobody here
wrote: Python's email package with its default (strict, RFC 6532) policy. The requests go
through tests/probe/compose_print (built with sterna), which writes each message as it would
be queued. Each test checks what a recipient's mail program would see: the parts and their
order, names and file names decoded, bodies and attachments byte for byte, no Bcc, and lines
that any SMTP server takes."""

import base64
import datetime
import email
import email.policy
import json
import os
import subprocess

import pytest

from conftest import STERNA_BIN, SANITIZER_MARKS

PROBE = os.path.join(os.path.dirname(STERNA_BIN), "tests", "probe", "compose_print")
HOST = "mx.example.test"


def compose(tmp_path, mode, request, env=None):
    """Runs the probe: (messages as bytes, envelopes), or the error object (exit 2)."""
    assert os.access(PROBE, os.X_OK), "no probe at %s (build sterna first)" % PROBE
    req = tmp_path / "request.json"
    req.write_text(json.dumps(request), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = [PROBE, mode, str(req)] + ([str(out)] if mode == "batch" else [])
    p = subprocess.run(args, capture_output=True, timeout=120,
                       env=dict(os.environ, TZ="UTC", **(env or {})))
    err = p.stderr.decode("utf-8", "replace")
    assert not any(mark in err for mark in SANITIZER_MARKS), err
    lines = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
    if p.returncode == 2:
        return lines[-1]["error"], None
    assert p.returncode == 0, err
    if mode == "batch":
        msgs = [(out / ("%d.eml" % i)).read_bytes() for i in range(len(lines))]
    else:
        msgs = [p.stdout]
    return msgs, lines


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parse_utf8(raw):
    """An RFC 6532 header (UTF-8 as is): Python reads one only from text, not from bytes."""
    return email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)


def check_lines(raw, eight_bit=False):
    """CRLF only, no line over 998 bytes, 7-bit unless allowed."""
    assert raw.endswith(b"\r\n")
    for line in raw[:-2].split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line
        assert len(line) <= 998
        assert eight_bit or all(b < 0x80 for b in line), line


def no_defects(msg):
    for part in msg.walk():
        assert not part.defects, (part.get_content_type(), part.defects)


PDF = bytes((i * 7) & 0xFF for i in range(5000))
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
LONG = "x" * 3000
TEXT = "Grüße aus Köln,\nline two: déjà vu\n%s\n.\nFrom the start of a line\n" % LONG
HTML = '<p>Grüße <img src="cid:logo@example.org"></p>\n<p>%s</p>\n' % ("y" * 2000)
SUBJECT = "Grüße — ünïcödé, and a subject line long enough that it has to be folded somewhere"


def full_request():
    b64 = lambda b: base64.b64encode(b).decode()
    return {
        "from": {"email": "news@example.org", "name": "Jörg Ärger, \"der Ältere\""},
        "to": ["a@example.net", {"email": "b@bücher.example", "name": "Zoë Ñandú"}],
        "cc": [{"email": "c@example.net", "name": "Cé"}],
        "bcc": ["hidden@example.net"],
        "reply_to": {"email": "r@example.org", "name": "Répondez"},
        "subject": SUBJECT,
        "text": TEXT,
        "html": HTML,
        "attachments": [
            {"filename": "report.pdf", "content_type": "application/pdf", "content": b64(PDF)},
            {"filename": "résumé ünd noch mehr.txt", "content_type": "text/plain; charset=utf-8",
             "content": b64("a\nb\nGrüße\n".encode())},
            {"filename": "logo.png", "content_type": "image/png", "content": b64(PNG),
             "content_id": "logo@example.org"},
        ],
        "headers": {"X-Campaign": "spring-2026", "X-Note": "Grüße aus Köln",
                    "List-Unsubscribe": "<https://example.org/u?t=%s>, <mailto:u@example.org>"
                    % ("z" * 120)},
        "tags": ["welcome"],
        "metadata": {"user": "42"},
    }


def test_full_message_reads_back(tmp_path):
    (raw,), (env,) = compose(tmp_path, "message", full_request())
    check_lines(raw)
    assert b"hidden" not in raw
    msg = parse(raw)
    no_defects(msg)

    assert msg["Subject"] == SUBJECT
    assert b"=?UTF-8?" in raw.split(b"\r\n\r\n", 1)[0]  # RFC 2047 encoded words
    (frm,) = msg["From"].addresses
    assert (frm.display_name, frm.addr_spec) == ('Jörg Ärger, "der Ältere"', "news@example.org")
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("", "a@example.net"), ("Zoë Ñandú", "b@xn--bcher-kva.example")]
    assert [a.display_name for a in msg["Cc"].addresses] == ["Cé"]
    assert msg["Reply-To"].addresses[0].display_name == "Répondez"
    assert "Bcc" not in msg
    assert msg["Message-ID"] == "<QID0@%s>" % HOST
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert msg["X-Campaign"] == "spring-2026"
    assert msg["X-Note"] == "Grüße aus Köln"
    assert msg["List-Unsubscribe"] == "<https://example.org/u?t=%s>, <mailto:u@example.org>" % (
        "z" * 120)

    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
        "text/html", "image/png", "application/pdf", "text/plain"]
    parts = list(msg.walk())
    text, related, html, png, pdf, txt = parts[2], parts[3], parts[4], parts[5], parts[6], parts[7]
    # text in canonical form: every line end CRLF, the bytes otherwise as given
    assert text.get_payload(decode=True) == TEXT.replace("\n", "\r\n").encode()
    assert text.get_content_charset() == "utf-8"
    assert text["Content-Transfer-Encoding"] == "quoted-printable"  # 8-bit text, a long line
    assert html.get_payload(decode=True) == HTML.replace("\n", "\r\n").encode()
    assert related.get_param("type") == "text/html"
    assert (png["Content-ID"], png.get_content_disposition()) == ("<logo@example.org>", "inline")
    assert png.get_payload(decode=True) == PNG
    assert (pdf.get_filename(), pdf.get_content_disposition()) == ("report.pdf", "attachment")
    assert pdf.get_payload(decode=True) == PDF
    assert txt.get_filename() == "résumé ünd noch mehr.txt"  # RFC 2231
    assert txt.get_payload(decode=True) == "a\nb\nGrüße\n".encode()  # bytes: LF stays LF

    assert env["sender"] == "news@example.org"
    assert env["rcpts"] == ["a@example.net", "b@xn--bcher-kva.example", "c@example.net",
                            "hidden@example.net"]
    assert (env["smtputf8"], env["8bitmime"]) == (False, False)
    assert (env["tags"], env["metadata"]) == (["welcome"], {"user": "42"})


@pytest.mark.parametrize("text,encoding", [
    ("short ASCII lines\n", "7bit"),
    ("mostly ASCII, café\n", "quoted-printable"),
    ("日本語のテキストです。\n" * 20, "base64"),
    ("a" * 5000 + "\n", "quoted-printable"),
])
def test_text_encodings_read_back(tmp_path, text, encoding):
    (raw,), _ = compose(tmp_path, "message", {"from": "a@x.example", "to": ["b@y.example"],
                                               "subject": "日本語の件名 " * 10, "text": text})
    check_lines(raw)
    msg = parse(raw)
    no_defects(msg)
    assert msg["Subject"] == ("日本語の件名 " * 10).strip()
    assert (msg["Content-Transfer-Encoding"] or "7bit") == encoding
    assert msg.get_payload(decode=True) == text.replace("\n", "\r\n").encode()


def test_utf8_local_part_needs_smtputf8(tmp_path):
    (raw,), (env,) = compose(tmp_path, "message", {
        "from": "a@x.example", "to": [{"email": "jörg@bär.example", "name": "Jörg"}],
        "text": "t"})
    # RFC 6532: the mailbox itself is UTF-8 in the header; the domain is in A-labels
    msg = parse_utf8(raw)
    assert msg["To"].addresses[0].addr_spec == "jörg@xn--br-via.example"
    assert env["rcpts"] == ["jörg@xn--br-via.example"]
    assert env["smtputf8"] is True


def test_batch_substitutions(tmp_path):
    recipients = [{"to": {"email": "u%d@y.example" % i, "name": "Ü %d" % i},
                   "substitutions": {"name": "Ann & <Bob> %d" % i}} for i in range(1000)]
    recipients.append({"to": "plain@y.example"})  # no substitutions
    del recipients[0]
    msgs, envs = compose(tmp_path, "batch", {
        "from": "news@x.example", "subject": "Hello {{name}}",
        "text": "Dear {{name}},\n{{missing}}\n", "html": "<p>{{name}}</p>",
        "attachments": [{"filename": "a.bin", "content": base64.b64encode(PDF).decode()}],
        "recipients": recipients})
    assert len(msgs) == 1000
    for i, (raw, env) in enumerate(zip(msgs, envs)):
        n = i + 1
        check_lines(raw)
        msg = parse(raw)
        no_defects(msg)
        assert msg["Message-ID"] == "<QID%d@%s>" % (i, HOST)
        text, html, att = [p for p in msg.walk() if not p.is_multipart()]
        assert att.get_payload(decode=True) == PDF
        if i == 999:
            assert env["rcpts"] == ["plain@y.example"]
            assert msg["Subject"] == "Hello {{name}}"  # a name not given: left as written
            continue
        assert env["rcpts"] == ["u%d@y.example" % n]
        assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
            ("Ü %d" % n, "u%d@y.example" % n)]
        assert msg["Subject"] == "Hello Ann & <Bob> %d" % n
        assert text.get_payload(decode=True) == (
            "Dear Ann & <Bob> %d,\r\n{{missing}}\r\n" % n).encode()
        # values are text: in html they are escaped, so they show and never act
        assert html.get_payload(decode=True) == (
            "<p>Ann &amp; &lt;Bob&gt; %d</p>\r\n" % n).encode()


def test_raw_kept_but_line_ends(tmp_path):
    given = b"From: J\xc3\xb6rg <a@x.example>\nSubject: raw\nBcc: z@x.example\n\nline\rnext\r\nend"
    (raw,), (env,) = compose(tmp_path, "raw", {
        "from": "a@x.example", "to": ["b@y.example"],
        "message_base64": base64.b64encode(given).decode()})
    assert raw == given.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
    assert (env["8bitmime"], env["smtputf8"]) == (True, True)
    assert parse_utf8(raw)["From"].addresses[0].display_name == "Jörg"


@pytest.mark.parametrize("mode,request_,status,code,field", [
    ("message", {"from": "a@x.example", "to": ["b@y.example"], "text": "t",
                 "headers": {"X-A": "b\r\nBcc: evil@x.example"}}, 422, "invalid_field", "headers.X-A"),
    ("message", {"from": "a@x.example", "to": ["b@y.example"], "text": "a\u0000b"},
     422, "invalid_field", "text"),
    ("message", {"from": "a@x.example", "to": ["b@y.example"], "text": "t",
                 "attachments": [{"filename": "a", "content": "not base64!"}]},
     422, "invalid_field", "attachments[0].content"),
    ("message", {"from": "a@x.example", "to": ["b%d@y.example" % i for i in range(51)],
                 "text": "t"}, 422, "too_many_recipients", "to"),
    ("message", {"from": "a@x.example", "to": ["b@y.example"], "text": "t",
                 "send_at": "2026-01-01T09:00:00"}, 422, "invalid_field", "send_at"),
    ("raw", {"from": "a@x.example", "to": ["b@y.example"], "message": "no header\n"},
     422, "invalid_field", "message"),
    ("batch", {"from": "a@x.example", "text": "t",
               "recipients": [{"to": "b%d@y.example" % i} for i in range(1001)]},
     422, "too_many_recipients", "recipients"),
])
def test_refusals_name_the_field(tmp_path, mode, request_, status, code, field):
    err, _ = compose(tmp_path, mode, request_)
    assert (err["status"], err["code"], err["field"]) == (status, code, field)
    assert err["message"]


def test_message_size_bound(tmp_path):
    err, _ = compose(tmp_path, "message", {"from": "a@x.example", "to": ["b@y.example"],
                                            "text": "=" * 3000}, env={"COMPOSE_MAX_BYTES": "4000"})
    assert (err["status"], err["code"]) == (413, "body_too_large")
