"""SMTP AUTH (RFC 4954): PLAIN and LOGIN with real clients (smtplib, swaks), every reply of
docs/smtp.md's AUTH table, the late 535, the per-session and per-address failure limits, and
that no password or credential blob reaches the log. TLS is not there yet, so these tests use
the listener option auth_without_tls; without it AUTH is refused with 538."""

import base64
import os
import re
import smtplib
import subprocess

import pytest

from conftest import STERNA_BIN

PASSWORDS = {"alice": "alice-secret", "bob": "b0b pass w/ spaces", "carol": "carol:pw"}
METHODS = {"alice": "yescrypt", "bob": "bcrypt", "carol": "sha512crypt"}
EHLO = b"EHLO client.test\r\n"


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def hash_password(password, method="yescrypt"):
    p = subprocess.run([STERNA_BIN, "passwd", "-m", method], input=(password + "\n").encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode().strip()


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("users")
    path = d / "users"
    lines = ["# users for the AUTH tests", ""]
    for user, pw in PASSWORDS.items():
        opts = ":any_sender" if user == "carol" else ""
        lines.append("%s:%s%s" % (user, hash_password(pw, METHODS[user]), opts))
    path.write_text("\n".join(lines) + "\n")
    os.chmod(d, 0o755)
    os.chmod(path, 0o644)
    return str(path)


@pytest.fixture
def auth_sterna(sterna_factory, users_file):
    return sterna_factory(auth__users_file=users_file, auth__fail_delay="20ms",
                          listen__mx__auth_without_tls=True)


def assert_no_secrets(s):
    log = s.log()
    for user, pw in PASSWORDS.items():
        assert pw not in log
        assert b64(pw) not in log
        assert b64("\0%s\0%s" % (user, pw)) not in log
    assert "wrong-password" not in log and b64("wrong-password") not in log


def check(r, code, status):
    assert (r.code, r.status) == (code, status), r


def test_passwd_verb_hashes(users_file):
    h = hash_password("x", "yescrypt")
    assert h.startswith("$y$")
    assert hash_password("x", "bcrypt").startswith("$2b$10$")
    assert hash_password("x", "sha512crypt").startswith("$6$")
    assert hash_password("x") != h    # a fresh salt each time
    p = subprocess.run([STERNA_BIN, "passwd"], input=b"", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1 and p.stdout == b""


def test_ehlo_offers_auth(auth_sterna):
    c = auth_sterna.connect()
    [r] = c.dialog(EHLO, 250)
    assert "AUTH PLAIN LOGIN" in r.lines, r


@pytest.mark.parametrize("user", sorted(PASSWORDS))
@pytest.mark.parametrize("mech, initial", [("PLAIN", True), ("PLAIN", False),
                                           ("LOGIN", True), ("LOGIN", False)])
def test_smtplib_login_and_relay(auth_sterna, user, mech, initial):
    with smtplib.SMTP("127.0.0.1", auth_sterna.port, local_hostname="client.test", timeout=30) as s:
        s.ehlo()
        s.user, s.password = user, PASSWORDS[user]
        code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=initial)
        assert (code, resp) == (235, b"2.7.0 Authentication successful")
        sender = "%s@example.test" % user
        assert s.mail(sender) == (250, b"2.1.0 Ok")
        # authenticated: mail to another domain is relayed
        assert s.rcpt("someone@other.test") == (250, b"2.1.5 Ok")
        code, resp = s.data(b"Subject: auth\r\n\r\nhi\r\n")
        assert code == 250, resp
    log = auth_sterna.log()
    assert re.search(r"c\d+ auth result=ok mech=%s user=%s ip=127\.0\.0\.1" % (mech, user), log), log
    assert "proto=ESMTPA" in log
    assert_no_secrets(auth_sterna)


def test_received_says_esmtpa(auth_sterna):
    with smtplib.SMTP("127.0.0.1", auth_sterna.port, local_hostname="client.test", timeout=30) as s:
        s.login("alice", PASSWORDS["alice"])
        s.sendmail("alice@example.test", ["bob@example.test"], b"Subject: x\r\n\r\nbody\r\n")
    [got] = auth_sterna.wait_for_mail("bob")
    assert re.search(rb"by mx\.example\.test \(sterna\) with ESMTPA id ", got), got[:400]
    assert PASSWORDS["alice"].encode() not in got


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_auth(auth_sterna, mech):
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(auth_sterna.port),
                        "--helo", "client.test", "--from", "bob@example.test",
                        "--to", "friend@other.test", "--auth", mech, "--auth-user", "bob",
                        "--auth-password", PASSWORDS["bob"]],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "235 2.7.0 Authentication successful" in out
    assert re.search(r"250 2\.0\.0 Ok: queued as", out), out
    assert_no_secrets(auth_sterna)


def test_wrong_password(auth_sterna):
    with smtplib.SMTP("127.0.0.1", auth_sterna.port, local_hostname="client.test", timeout=30) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice", "wrong-password")
        assert e.value.smtp_code == 535
        assert e.value.smtp_error == b"5.7.8 Authentication credentials invalid"
        # still not authenticated: no relaying
        assert s.mail("alice@example.test")[0] == 250
        code, resp = s.rcpt("x@other.test")
        assert (code, resp[:5]) == (554, b"5.7.1")
    log = auth_sterna.log()
    assert re.search(r"auth result=fail mech=\w+ user=alice ip=127\.0\.0\.1 failures=1 delay_ms=20", log), log
    assert_no_secrets(auth_sterna)


def test_unknown_user_is_the_same_535(auth_sterna):
    c = auth_sterna.connect()
    c.dialog(EHLO, 250)
    c.send(b"AUTH PLAIN " + b64("\0mallory\0whatever").encode() + b"\r\n")
    check(c.reply(), 535, "5.7.8")


def test_too_many_failures_in_a_session(auth_sterna):
    c = auth_sterna.connect()
    c.dialog(EHLO, 250)
    for i in range(2):
        c.send(b"AUTH PLAIN " + b64("\0alice\0wrong-password").encode() + b"\r\n")
        check(c.reply(), 535, "5.7.8")
    c.send(b"AUTH PLAIN " + b64("\0alice\0wrong-password").encode() + b"\r\n")
    check(c.reply(), 535, "5.7.8")
    r = c.reply()
    assert (r.code, r.status) == (421, "4.7.0"), r
    assert r.text == "mx.example.test Error: too many authentication failures"
    assert c.closed()


def test_brute_force_is_slowed_then_refused(sterna_factory, users_file):
    s = sterna_factory(auth__users_file=users_file, auth__fail_delay="10ms",
                       auth__client_max_failures=5, auth__max_failures=2,
                       listen__mx__auth_without_tls=True)
    replies = []
    for attempt in range(4):
        c = s.connect()
        c.dialog(EHLO, 250)
        for k in range(2):
            c.send(b"AUTH LOGIN\r\n")
            r = c.reply()
            if r.code != 334:
                replies.append(r)
                break
            c.send(b64("alice").encode() + b"\r\n")
            assert c.reply().code == 334
            c.send(b64("guess-%d-%d" % (attempt, k)).encode() + b"\r\n")
            replies.append(c.reply())
        c.close()
    codes = [(r.code, r.status) for r in replies]
    # five failures in the window, then the address is refused without a check
    assert codes[:5] == [(535, "5.7.8")] * 5, codes
    assert (454, "4.7.0") in codes[5:], codes
    delays = [int(d) for d in re.findall(r"auth result=fail .* delay_ms=(\d+)", s.log())]
    assert delays == [10, 20, 40, 80, 160], delays        # slowed: each failure waits longer
    assert "auth result=blocked mech=LOGIN user=alice" in s.log()
    # even the right password is refused while the address is blocked
    c = s.connect()
    c.dialog(EHLO, 250)
    c.send(b"AUTH PLAIN " + b64("\0alice\0" + PASSWORDS["alice"]).encode() + b"\r\n")
    r = c.reply()
    assert (r.code, r.status) == (454, "4.7.0"), r
    assert r.text == "Too many authentication failures, try again later"


def test_auth_needs_tls_by_default(sterna_factory, users_file):
    s = sterna_factory(auth__users_file=users_file)
    c = s.connect()
    [r] = c.dialog(EHLO, 250)
    assert not any(l.startswith("AUTH") for l in r.lines), r    # not offered before TLS
    c.send(b"AUTH PLAIN " + b64("\0alice\0" + PASSWORDS["alice"]).encode() + b"\r\n")
    r = c.reply()
    check(r, 538, "5.7.11")
    assert r.text == "Encryption required for requested authentication mechanism"
    c.send(b"AUTH LOGIN\r\n")
    check(c.reply(), 538, "5.7.11")
    # the refused AUTH's response lines, pipelined after it, are unknown commands: their
    # bytes are not logged
    c.send(b64("alice").encode() + b"\r\n" + b64(PASSWORDS["alice"]).encode() + b"\r\n")
    check(c.reply(), 500, "5.5.2")
    check(c.reply(), 500, "5.5.2")
    assert_no_secrets(s)
    assert b64("alice") not in s.log()


def test_no_users_file_no_auth(sterna):
    c = sterna.connect()
    [r] = c.dialog(EHLO, 250)
    assert not any(l.startswith("AUTH") for l in r.lines)
    c.send(b"AUTH PLAIN " + b64("\0alice\0x").encode() + b"\r\n")
    check(c.reply(), 502, "5.5.1")


@pytest.mark.parametrize("steps", [
    # (bytes to send, code, status) in order
    [(b"AUTH PLAIN !!!!\r\n", 501, "5.5.2")],                       # not base64
    [(b"AUTH PLAIN YWJj\r\n", 501, "5.5.2")],                       # base64, not a PLAIN message
    [(b"AUTH PLAIN =\r\n", 501, "5.5.2")],                          # "=": empty, not a PLAIN message
    [(b"AUTH PLAIN\r\n", 334, None), (b"*\r\n", 501, "5.0.0")],     # cancelled
    [(b"AUTH PLAIN\r\n", 334, None), (b"a b\r\n", 501, "5.5.2")],
    [(b"AUTH PLAIN\r\n", 334, None), (b"YW=j\r\n", 501, "5.5.2")],  # '=' inside
    [(b"AUTH LOGIN\r\n", 334, None), (b"*\r\n", 501, "5.0.0")],
    [(b"AUTH LOGIN\r\n", 334, None), (b"=\r\n", 501, "5.5.2")],     # empty user name
    [(b"AUTH LOGIN\r\n", 334, None), (b64("alice").encode() + b"\r\n", 334, None),
     (b"*\r\n", 501, "5.0.0")],
    [(b"AUTH CRAM-MD5\r\n", 504, "5.5.4")],
    [(b"AUTH\r\n", 501, "5.5.4")],
    [(b"AUTH PLAIN a b\r\n", 501, "5.5.4")],
    # authzid other than the user: acting as someone else is a failed login
    [(b"AUTH PLAIN " + b64("bob\0alice\0alice-secret").encode() + b"\r\n", 535, "5.7.8")],
    # authzid equal to the user is fine
    [(b"AUTH PLAIN " + b64("alice\0alice\0alice-secret").encode() + b"\r\n", 235, "2.7.0")],
    [(b"AUTH PLAIN " + b64("\0alice\0alice-secret").encode() + b"\r\n", 235, "2.7.0"),
     (b"AUTH PLAIN " + b64("\0alice\0alice-secret").encode() + b"\r\n", 503, "5.5.1")],
    [(b"MAIL FROM:<a@remote.test>\r\n", 250, "2.1.0"),
     (b"AUTH PLAIN " + b64("\0alice\0alice-secret").encode() + b"\r\n", 503, "5.5.1")],
    [(b"MAIL FROM:<a@remote.test> AUTH=<>\r\n", 250, "2.1.0")],
    [(b"MAIL FROM:<a@remote.test> AUTH=alice+40example.test\r\n", 250, "2.1.0")],
    [(b"MAIL FROM:<a@remote.test> AUTH=\r\n", 501, "5.5.2")],
], ids=["bad-b64", "not-plain", "empty", "cancel", "space", "pad-inside", "login-cancel",
        "login-empty", "login-cancel-pass", "unknown-mech", "no-mech", "extra-arg", "authzid",
        "authzid-same", "twice", "in-transaction", "mail-auth-empty", "mail-auth-xtext",
        "mail-auth-no-value"])
def test_auth_replies(auth_sterna, steps):
    c = auth_sterna.connect()
    c.dialog(EHLO, 250)
    for data, code, status in steps:
        c.send(data)
        r = c.reply()
        assert (r.code, r.status) == (code, status), (data, r)
    # the session goes on
    c.dialog(b"NOOP\r\n", 250)
    assert_no_secrets(auth_sterna)


def test_auth_before_ehlo(auth_sterna):
    c = auth_sterna.connect()
    c.send(b"AUTH PLAIN " + b64("\0alice\0alice-secret").encode() + b"\r\n")
    check(c.reply(), 503, "5.5.1")
    c.dialog(b"HELO client.test\r\n", 250)
    c.send(b"AUTH PLAIN " + b64("\0alice\0alice-secret").encode() + b"\r\n")
    check(c.reply(), 503, "5.5.1")


def test_empty_challenge_has_a_space(auth_sterna):
    c = auth_sterna.connect()
    c.dialog(EHLO, 250)
    c.send(b"AUTH PLAIN\r\n")
    c._fill(__import__("time").monotonic() + 5)
    assert c.buf == b"334 \r\n"     # RFC 4954 4: "334" SP [base64]


def test_check_reports_users_file_problems(tmp_path):
    conf = tmp_path / "sterna.conf"
    conf.write_text('server { hostname = "mx.example.test"; }\n'
                    'listen "mx" { address = "127.0.0.1:2525"; }\n'
                    'auth {\n    users_file = "users";\n}\n')
    p = subprocess.run([STERNA_BIN, "check", "-c", str(conf)], stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1
    assert p.stderr.decode().splitlines()[0] == (
        "%s:4: auth.users_file: cannot read '%s': No such file or directory" % (conf, tmp_path / "users"))
    (tmp_path / "users").write_text("# ok\nalice:%s\nbob:plaintext\n" % hash_password("x"))
    p = subprocess.run([STERNA_BIN, "check", "-c", str(conf)], stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1
    assert p.stderr.decode().splitlines()[0] == (
        "%s:3: bob: the hash is not yescrypt ($y$), bcrypt ($2b$) or sha512-crypt ($6$); "
        "make one with 'sterna passwd'" % (tmp_path / "users"))
