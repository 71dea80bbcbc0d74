"""TLS: STARTTLS (RFC 3207) on the mx listener and implicit TLS (RFC 8314) on "smtps", with
real clients (smtplib, msmtp, openssl s_client), the STARTTLS command-injection bytes,
certificates chosen by SNI, renewed certificates picked up at SIGHUP, and the replies of
docs/smtp.md. testssl.sh checks the protocols, ciphers and known vulnerabilities."""

import base64
import json
import os
import pathlib
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import free_port, make_cert, tls_overrides

EHLO = b"EHLO client.test\r\n"
MSG = b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: over TLS\r\n\r\nhello\r\n"


def client_context(cafile):
    """A client context that trusts only cafile and checks the name, as a careful client does."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def ehlo_lines(c):
    [r] = c.dialog(EHLO, 250)
    return r.lines


def starttls(c, sterna):
    """STARTTLS and the handshake on a raw client."""
    c.send(b"STARTTLS\r\n")
    r = c.reply()
    assert (r.code, r.status, r.text) == (220, "2.0.0", "Ready to start TLS"), r
    c.starttls(client_context(sterna.chain))


def received_header(mail):
    """The Received header sterna added, unfolded."""
    lines = mail.decode("utf-8", "replace").split("\n")
    i = next(n for n, l in enumerate(lines) if l.startswith("Received: "))
    j = i + 1
    while lines[j][:1] in (" ", "\t"):
        j += 1
    return re.sub(r"\s+", " ", " ".join(lines[i:j]))


def s_client(*args, stdin=b"", timeout=30):
    return subprocess.run(["openssl", "s_client", *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)


def served_subject(port, servername=None, starttls=False):
    """The subject of the certificate the server shows (for SNI checks)."""
    args = ["-connect", "127.0.0.1:%d" % port]
    if servername:
        args += ["-servername", servername]
    if starttls:
        args += ["-starttls", "smtp"]
    out = s_client(*args).stdout.decode("utf-8", "replace")
    m = re.search(r"^subject=(.*)$", out, re.M)
    assert m, out
    return m.group(1).replace(" ", "")


# ---- STARTTLS -------------------------------------------------------------------------------

def test_ehlo_offers_starttls_only_before_tls(sterna_tls):
    c = sterna_tls.connect()
    assert "STARTTLS" in ehlo_lines(c)
    starttls(c, sterna_tls)
    # RFC 3207 4.2: the session starts again; the EHLO after TLS offers no STARTTLS
    lines = ehlo_lines(c)
    assert "STARTTLS" not in lines and "PIPELINING" in lines
    c.send(b"STARTTLS\r\n")
    r = c.reply()
    assert (r.code, r.status, r.text) == (503, "5.5.1", "Error: TLS already active"), r
    sterna_tls.wait_log(r"c\d+ tls version=TLSv1\.3 cipher=TLS_\S+ sni=localhost cert=localhost discarded=0")


def test_starttls_with_argument(sterna_tls):
    c = sterna_tls.connect()
    c.dialog(EHLO, 250)
    c.send(b"STARTTLS now\r\n")
    r = c.reply()
    assert (r.code, r.status, r.text) == (501, "5.5.4", "Syntax: STARTTLS"), r
    c.send(b"NOOP\r\n")
    assert c.reply().code == 250   # still plaintext, still in step


def test_no_starttls_without_certificate(sterna):
    c = sterna.connect()
    assert "STARTTLS" not in ehlo_lines(c)
    c.send(b"STARTTLS\r\n")
    r = c.reply()
    assert (r.code, r.status) == (502, "5.5.1"), r


def test_starttls_off_on_listener(sterna_factory, cert_dir):
    o = tls_overrides(cert_dir, free_port())
    o["listen__mx__starttls"] = False
    s = sterna_factory(**o)
    c = s.connect()
    assert "STARTTLS" not in ehlo_lines(c)
    c.send(b"STARTTLS\r\n")
    assert c.reply().code == 502


def test_smtplib_starttls_delivers_with_tls_in_received(sterna_tls):
    with smtplib.SMTP("127.0.0.1", sterna_tls.port, local_hostname="client.test", timeout=30) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        code, resp = s.starttls(context=client_context(sterna_tls.chain))
        assert (code, resp) == (220, b"2.0.0 Ready to start TLS")
        s.ehlo()
        assert not s.has_extn("starttls")
        version, cipher = s.sock.version(), s.sock.cipher()[0]
        s.sendmail("a@remote.test", ["alice@example.test"], MSG)
    [mail] = sterna_tls.wait_for_mail("alice")
    rec = received_header(mail)
    assert "(using %s with cipher %s)" % (version, cipher) in rec, rec
    assert " with ESMTPS id " in rec, rec
    assert version == "TLSv1.3"
    sterna_tls.wait_log(r"received conn=c\d+ .* proto=ESMTPS")


def test_tls12_client_gets_ecdhe_aead(sterna_tls):
    ctx = client_context(sterna_tls.chain)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with smtplib.SMTP("127.0.0.1", sterna_tls.port, local_hostname="client.test", timeout=30) as s:
        s.starttls(context=ctx)
        version, cipher = s.sock.version(), s.sock.cipher()[0]
        s.sendmail("a@remote.test", ["alice@example.test"], MSG)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    [mail] = sterna_tls.wait_for_mail("alice")
    assert "(using TLSv1.2 with cipher %s)" % cipher in received_header(mail)


# ---- STARTTLS command injection (CVE-2011-0411) ---------------------------------------------

def test_starttls_injection_rset(sterna_tls):
    c = sterna_tls.connect()
    c.dialog(EHLO, 250)
    c.send(b"STARTTLS\r\nRSET\r\n")   # one packet: RSET was sent in plaintext
    r = c.reply()
    assert (r.code, r.status) == (220, "2.0.0"), r
    c.starttls(client_context(sterna_tls.chain))
    # had RSET been kept, its 250 would come first
    c.send(b"HELP\r\n")
    assert c.reply().code == 214
    sterna_tls.wait_log(r"c\d+ tls version=\S+ cipher=\S+ sni=localhost cert=localhost discarded=6$")


def test_starttls_injection_mail(sterna_tls):
    c = sterna_tls.connect()
    c.dialog(EHLO, 250)
    c.send(b"STARTTLS\r\nMAIL FROM:<a@b>\r\n")
    assert c.reply().code == 220
    c.starttls(client_context(sterna_tls.chain))
    # as if only EHLO were missing: the injected MAIL did not happen, nor did the first EHLO count
    c.send(b"RCPT TO:<alice@example.test>\r\n")
    r = c.reply()
    assert (r.code, r.status, r.text) == (503, "5.5.1", "Error: need MAIL command"), r
    c.send(b"MAIL FROM:<a@remote.test>\r\n")
    r = c.reply()
    assert (r.code, r.status, r.text) == (503, "5.5.1", "Error: send HELO/EHLO first"), r
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250)
    sterna_tls.wait_log(r"c\d+ tls .* discarded=17$")


def test_transaction_dropped_at_starttls(sterna_tls):
    c = sterna_tls.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250)
    starttls(c, sterna_tls)
    c.send(b"DATA\r\n")
    r = c.reply()
    assert (r.code, r.status) == (503, "5.5.1"), r


# ---- implicit TLS -----------------------------------------------------------------------------

def test_smtplib_implicit_tls(sterna_tls):
    ctx = client_context(sterna_tls.chain)
    with smtplib.SMTP_SSL("127.0.0.1", sterna_tls.port_smtps, local_hostname="client.test",
                          context=ctx, timeout=30) as s:
        code, _ = s.ehlo()
        assert code == 250 and not s.has_extn("starttls")
        assert s.docmd("STARTTLS") == (503, b"5.5.1 Error: TLS already active")
        s.sendmail("a@remote.test", ["alice@example.test"], MSG)
        version, cipher = s.sock.version(), s.sock.cipher()[0]
    [mail] = sterna_tls.wait_for_mail("alice")
    rec = received_header(mail)
    assert "(using %s with cipher %s)" % (version, cipher) in rec and " with ESMTPS id " in rec, rec


def test_plaintext_on_implicit_port_fails_alone(sterna_tls):
    """A client that talks plaintext to the TLS port is dropped with one log line; others go on."""
    c = sterna_tls.connect()
    bad = socket.create_connection(("127.0.0.1", sterna_tls.port_smtps), timeout=10)
    bad.sendall(b"EHLO client.test\r\n")
    bad.settimeout(10)
    try:
        data = bad.recv(1000)
    except ConnectionResetError:
        data = b""
    assert not data.startswith(b"220"), data
    bad.close()
    sterna_tls.wait_log(r"c\d+ tls_failed ip=127\.0\.0\.1 reason=")
    c.send(b"NOOP\r\n")
    assert c.reply().code == 250


# ---- real clients ----------------------------------------------------------------------------

def msmtp_send(sterna, port, starttls, tmp_path):
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\nhost 127.0.0.1\nport %d\nfrom a@remote.test\n"
                    "domain client.test\nauth off\ntls on\ntls_starttls %s\ntls_trust_file %s\n"
                    % (port, "on" if starttls else "off", sterna.chain))
    os.chmod(conf, 0o600)
    p = subprocess.run(["msmtp", "-C", str(conf), "alice@example.test"], input=MSG,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr


def test_msmtp_starttls(sterna_tls, tmp_path):
    msmtp_send(sterna_tls, sterna_tls.port, True, tmp_path)
    [mail] = sterna_tls.wait_for_mail("alice")
    assert " with ESMTPS id " in received_header(mail)


def test_msmtp_implicit_tls(sterna_tls, tmp_path):
    msmtp_send(sterna_tls, sterna_tls.port_smtps, False, tmp_path)
    [mail] = sterna_tls.wait_for_mail("alice")
    assert "(using TLSv1.3 with cipher " in received_header(mail)


def test_openssl_s_client_starttls(sterna_tls):
    p = s_client("-starttls", "smtp", "-connect", "127.0.0.1:%d" % sterna_tls.port,
                 "-CAfile", sterna_tls.chain, "-verify_hostname", "localhost", "-verify_return_error",
                 "-ign_eof", "-crlf", stdin=b"EHLO client.test\nQUIT\n")
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "Verify return code: 0 (ok)" in out and "221 2.0.0 Bye" in out, out
    assert "250-STARTTLS" not in out.split("---")[-1], out


@pytest.mark.parametrize("proto", ["-tls1", "-tls1_1"])
@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
def test_old_tls_refused(sterna_tls, proto, implicit):
    # SECLEVEL=0 so that the client really offers the old protocol: the refusal is the server's
    args = [proto, "-cipher", "DEFAULT@SECLEVEL=0"]
    if implicit:
        args += ["-connect", "127.0.0.1:%d" % sterna_tls.port_smtps]
    else:
        args += ["-starttls", "smtp", "-connect", "127.0.0.1:%d" % sterna_tls.port]
    p = s_client(*args)
    assert p.returncode != 0, p.stdout
    sterna_tls.wait_log(r"c\d+ tls_failed ip=127\.0\.0\.1 reason=\"?unsupported protocol")


# ---- SNI and reload --------------------------------------------------------------------------

def test_sni_picks_the_certificate(sterna_factory, cert_dir):
    port = free_port()
    o = tls_overrides(cert_dir, port, certs=("mx.example.test", "other.example.test"))
    # a wildcard certificate listed before an exact one: the exact name still wins
    for name, names in (("wild", ("*.wild.test",)), ("exact", ("exact.wild.test",))):
        chain, key = make_cert(cert_dir, name, names=names)
        o["tls__cert__%s__chain" % name], o["tls__cert__%s__key" % name] = chain, key
    s = sterna_factory(**o)
    assert served_subject(port) == "CN=mx.example.test"                  # no name: the first
    assert served_subject(port, "other.example.test") == "CN=other.example.test"
    assert served_subject(port, "OTHER.example.test") == "CN=other.example.test"
    assert served_subject(port, "a.wild.test") == "CN=*.wild.test"
    assert served_subject(port, "exact.wild.test") == "CN=exact.wild.test"
    assert served_subject(port, "unknown.test") == "CN=mx.example.test"  # unknown: the first
    assert served_subject(s.port, "other.example.test", starttls=True) == "CN=other.example.test"
    s.wait_log(r"tls version=\S+ cipher=\S+ sni=other\.example\.test cert=other-example-test ")


def test_sighup_reloads_certificates(sterna_tls, cert_dir):
    sterna_tls.wait_log(r" ready version=")
    # a session in TLS before the reload
    old = smtplib.SMTP("127.0.0.1", sterna_tls.port, local_hostname="client.test", timeout=30)
    old.starttls(context=client_context(sterna_tls.chain))
    old.ehlo()
    make_cert(cert_dir, "localhost", names=("localhost", "renewed.test"))
    os.kill(sterna_tls.pid, signal.SIGHUP)
    sterna_tls.wait_log(r"TLS certificates reloaded: 1 of 1")
    # the open session goes on, on its old certificate
    old.sendmail("a@remote.test", ["alice@example.test"], MSG)
    old.quit()
    sterna_tls.wait_for_mail("alice")
    # new handshakes get the new certificate, on both listeners
    assert served_subject(sterna_tls.port_smtps) == "CN=localhost"
    out = s_client("-connect", "127.0.0.1:%d" % sterna_tls.port_smtps, "-showcerts").stdout.decode()
    with open(sterna_tls.chain) as f:
        assert f.read().strip() in out.replace("\r", "")
    with smtplib.SMTP("127.0.0.1", sterna_tls.port, local_hostname="client.test", timeout=30) as s:
        s.starttls(context=client_context(sterna_tls.chain))   # trusts only the new one
        s.ehlo()


def test_sighup_with_bad_certificate_keeps_the_old(sterna_tls):
    sterna_tls.wait_log(r" ready version=")
    with open(sterna_tls.chain) as f:
        good = f.read()
    with open(sterna_tls.chain + ".new", "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    os.rename(sterna_tls.chain + ".new", sterna_tls.chain)
    os.kill(sterna_tls.pid, signal.SIGHUP)
    sterna_tls.wait_log(r"sterna\.conf:\d+: tls\.cert\.localhost\.chain: \S+: not a PEM certificate "
                        r"chain: .*; keeping the certificate in use")
    sterna_tls.wait_log(r"TLS certificates reloaded: 0 of 1")
    with open(sterna_tls.chain + ".old", "w") as f:
        f.write(good)
    ctx = client_context(sterna_tls.chain + ".old")
    with smtplib.SMTP_SSL("127.0.0.1", sterna_tls.port_smtps, context=ctx, timeout=30) as s:
        assert s.noop()[0] == 250


# ---- deadlines -------------------------------------------------------------------------------

def test_handshake_timeout(sterna_factory, cert_dir):
    port = free_port()
    o = tls_overrides(cert_dir, port)
    o["tls__handshake_timeout"] = "1s"
    s = sterna_factory(**o)
    # implicit TLS, silent client
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)
    # STARTTLS, then silence instead of a ClientHello
    c = s.connect()
    c.dialog(b"STARTTLS\r\n", 220)
    assert c.closed(timeout=10)
    silent.settimeout(10)
    assert silent.recv(100) == b""
    silent.close()
    deadline = time.monotonic() + 10
    while len(re.findall(r"c\d+ tls_failed ip=127\.0\.0\.1 reason=\"handshake timeout\"", s.log())) < 2:
        assert time.monotonic() < deadline, s.log()
        time.sleep(0.05)
    # and the server still serves
    other = s.connect()
    other.dialog(b"NOOP\r\n", 250)


# ---- testssl.sh ------------------------------------------------------------------------------

BAD_SEVERITIES = ("MEDIUM", "HIGH", "CRITICAL")


def run_testssl(out_json, target, extra, results):
    # no DNS (loopback only), one address, the protocol, cipher-category and vulnerability checks
    args = ["testssl", "--jsonfile", out_json, "--ip", "one", "--nodns", "min", "--warnings", "off",
            "--color", "0", "--quiet", "-p", "-s", "-U", *extra, target]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    results[target] = p


@pytest.mark.testssl
def test_testssl(sterna_tls, tmp_path):
    """Both listeners at once (it takes about a minute each)."""
    jobs = {
        "implicit": ("127.0.0.1:%d" % sterna_tls.port_smtps, []),
        "starttls": ("127.0.0.1:%d" % sterna_tls.port, ["--starttls", "smtp"]),
    }
    results, threads = {}, []
    for name, (target, extra) in jobs.items():
        t = threading.Thread(target=run_testssl, args=(str(tmp_path / (name + ".json")), target, extra, results))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    for name, (target, _extra) in jobs.items():
        with open(tmp_path / (name + ".json")) as f:
            findings = {x["id"]: x for x in json.load(f)}
        out = results[target].stdout.decode("utf-8", "replace")
        assert "scanProblem" not in findings, out
        for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            assert findings[proto]["finding"] == "not offered", (name, findings[proto])
        assert findings["TLS1_2"]["finding"] == "offered"
        assert findings["TLS1_3"]["finding"].startswith("offered")
        for weak in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                     "cipherlist_3DES_IDEA", "cipherlist_AVERAGE", "RC4"):
            assert findings[weak]["finding"].startswith("not "), (name, findings[weak])
        for vuln in ("heartbleed", "CCS", "ROBOT", "secure_client_renego", "CRIME_TLS", "POODLE_SSL",
                     "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13"):
            assert findings[vuln]["severity"] in ("OK", "INFO"), (name, findings[vuln])
        bad = [x for x in findings.values() if x["severity"] in BAD_SEVERITIES]
        assert bad == [], (name, bad)
    # every probe, odd hellos included, left the server up and sane
    c = sterna_tls.connect()
    c.dialog(b"NOOP\r\n", 250)


# ---- sterna check and start with bad certificate files ----------------------------------------

def check_conf(tmp_path, chain, key):
    conf = tmp_path / "t.conf"
    conf.write_text('server { hostname = "mx.example.test"; }\nlisten "mx" { address = "127.0.0.1:2525"; }\n'
                    'tls {\n\tcert "mx" {\n\t\tchain = "%s";\n\t\tkey = "%s";\n\t}\n}\n' % (chain, key))
    return str(conf)


def sterna_run(*args):
    from conftest import STERNA_BIN
    return subprocess.run([STERNA_BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)


def test_check_reports_certificate_problems(tmp_path):
    good_chain, good_key = make_cert(str(tmp_path), "good")
    _other_chain, other_key = make_cert(str(tmp_path), "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    missing = str(tmp_path / "missing.key")
    cases = [
        (good_chain, good_key, None),
        (good_chain, missing, r"t\.conf:6: tls\.cert\.mx\.key: missing\.key: cannot read: No such file "
         r"or directory"),
        (str(tmp_path / "nope.pem"), good_key, r"t\.conf:5: tls\.cert\.mx\.chain: nope\.pem: cannot "
         r"read: No such file or directory"),
        (str(tmp_path), good_key, r"t\.conf:5: tls\.cert\.mx\.chain: \S+: cannot read: Is a directory"),
        (str(garbage), good_key, r"t\.conf:5: tls\.cert\.mx\.chain: garbage\.pem: not a PEM "
         r"certificate chain: .+"),
        (good_chain, str(garbage), r"t\.conf:6: tls\.cert\.mx\.key: garbage\.pem: not a PEM private "
         r"key: .+"),
        (good_chain, other_key, r"t\.conf:6: tls\.cert\.mx\.key: other\.key does not match the "
         r"certificate in good\.pem"),
    ]
    for chain, key, want in cases:
        conf = check_conf(tmp_path, chain, key)
        p = sterna_run("check", "-c", conf)
        err = p.stderr.decode().replace(str(tmp_path) + "/", "")
        if want is None:
            assert p.returncode == 0, err
            continue
        assert p.returncode == 1 and re.fullmatch(want + r"\n", err), (want, err)
        # serve refuses to start with the same message
        p = sterna_run("serve", "-c", conf)
        assert p.returncode == 1 and re.search(want, p.stderr.decode().replace(str(tmp_path) + "/", "")), p.stderr


def test_check_reports_unreadable_key(cert_dir):
    """A key its reader may not read (as root: the check runs as nobody, as a daemon user would)."""
    from conftest import STERNA_BIN
    chain, key = make_cert(cert_dir, "good")
    os.chmod(key, 0o600 if os.geteuid() == 0 else 0)
    conf = check_conf(pathlib.Path(cert_dir), chain, key)
    os.chmod(conf, 0o644)
    cmd = [STERNA_BIN, "check", "-c", conf]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "nobody", "--"] + cmd
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1
    assert re.fullmatch(r"\S+/t\.conf:6: tls\.cert\.mx\.key: \S+/good\.key: cannot read: Permission denied\n",
                        p.stderr.decode()), p.stderr


# ---- AUTH over TLS --------------------------------------------------------------------------

@pytest.fixture
def auth_tls(sterna_factory, cert_dir, tmp_path):
    from test_auth import PASSWORDS, hash_password
    users = os.path.join(cert_dir, "users")
    with open(users, "w") as f:
        f.write("alice:%s\n" % hash_password(PASSWORDS["alice"]))
    os.chmod(users, 0o644)
    port = free_port()
    o = tls_overrides(cert_dir, port)
    o.update(auth__users_file=users, auth__fail_delay="20ms", listen__smtps__require_auth=True)
    s = sterna_factory(**o)
    s.port_smtps = port
    s.chain = os.path.join(cert_dir, "localhost.pem")
    s.password = PASSWORDS["alice"]
    return s


def test_smtplib_starttls_then_login(auth_tls):
    with smtplib.SMTP("127.0.0.1", auth_tls.port, local_hostname="client.test", timeout=30) as s:
        s.ehlo()
        assert not s.has_extn("auth")     # a password never crosses in plaintext
        assert s.docmd("AUTH", "LOGIN")[0] == 538
        s.starttls(context=client_context(auth_tls.chain))
        s.ehlo()
        assert s.has_extn("auth") and not s.has_extn("starttls")
        assert s.login("alice", auth_tls.password)[0] == 235
        s.sendmail("alice@example.test", ["someone@elsewhere.test", "bob@example.test"], MSG)
    [mail] = auth_tls.wait_for_mail("bob")
    assert " with ESMTPSA id " in received_header(mail)


def test_login_before_starttls_is_forgotten(sterna_factory, cert_dir):
    from test_auth import PASSWORDS, hash_password
    users = os.path.join(cert_dir, "users")
    with open(users, "w") as f:
        f.write("alice:%s\n" % hash_password(PASSWORDS["alice"]))
    os.chmod(users, 0o644)
    o = tls_overrides(cert_dir, free_port())
    o.update(auth__users_file=users, listen__mx__auth_without_tls=True, listen__mx__require_auth=True)
    s = sterna_factory(**o)
    s.chain = os.path.join(cert_dir, "localhost.pem")
    c = s.connect()
    c.dialog(EHLO, 250)
    c.send(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0" + PASSWORDS["alice"].encode()) + b"\r\n")
    assert c.reply().code == 235
    starttls(c, s)
    c.dialog(EHLO, 250)
    c.send(b"MAIL FROM:<alice@example.test>\r\n")
    r = c.reply()
    assert (r.code, r.status) == (530, "5.7.0"), r


def test_msmtp_implicit_tls_with_auth(auth_tls, tmp_path):
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\nhost 127.0.0.1\nport %d\nfrom alice@example.test\n"
                    "domain client.test\nauth plain\nuser alice\npassword %s\ntls on\n"
                    "tls_starttls off\ntls_trust_file %s\n"
                    % (auth_tls.port_smtps, auth_tls.password, auth_tls.chain))
    os.chmod(conf, 0o600)
    p = subprocess.run(["msmtp", "-C", str(conf), "bob@example.test"], input=MSG,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    [mail] = auth_tls.wait_for_mail("bob")
    assert " with ESMTPSA id " in received_header(mail)
