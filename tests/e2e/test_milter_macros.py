"""The macros a filter is sent (src/milter/set.c) beyond those of test_milter.py, as
Sendmail's libmilter hands them to a pymilter filter: {auth_type} after AUTH, {cert_subject}
and {cert_issuer} of a client's certificate (tls.ask_client_cert), {client_ptr} and a
verified {client_name} when the reverse DNS check looked the client up, and the ESMTP
parameters of MAIL; and that none of them outlives its session on a connection the next
session reuses (QUIT_NC)."""

import base64
import os
import ssl

from conftest import free_port, make_cert, tls_overrides
from milterpeer import MESSAGE, pymilter  # noqa: F401 (the fixture)
from peers import Unbound, ptr
from smtpclient import Client
from test_auth import PASSWORDS, users_file  # noqa: F401 (a fixture)


def macros(f, stage):
    """What the filter was given at each step of stage: (macros, parameters)."""
    return [(e[2], e[3]) for e in f.events("macros") if e[1] == stage]


def test_tls_auth_and_mail_parameters(sterna_factory, pymilter, cert_dir,  # noqa: F811
                                      users_file):
    f = pymilter("continue")
    s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f",
                       auth__users_file=users_file, tls__ask_client_cert=True,
                       **tls_overrides(cert_dir, free_port()))
    chain = os.path.join(cert_dir, "localhost.pem")
    client_chain, client_key = make_cert(cert_dir, "client", names=("client.test",), ips=())
    ctx = ssl.create_default_context(cafile=chain)
    ctx.load_cert_chain(client_chain, client_key)
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"STARTTLS\r\n", 220)
    c.starttls(ctx)
    login = base64.b64encode(b"\0alice\0" + PASSWORDS["alice"].encode())
    c.dialog(b"EHLO client.test\r\n", 250, b"AUTH PLAIN " + login + b"\r\n", 235,
             b"MAIL FROM:<alice@example.test> SIZE=400 BODY=8BITMIME\r\n", 250,
             b"RCPT TO:<bob@example.test>\r\n", 250, b"DATA\r\n", 354, MESSAGE + b".\r\n", 250,
             b"QUIT\r\n", 221)
    assert c.closed()
    # a second session, in plaintext and without AUTH, on the connection the first left
    c = s.connect()
    c.dialog(b"EHLO other.test\r\n", 250, b"MAIL FROM:<a@example.org>\r\n", 250,
             b"RCPT TO:<bob@example.test>\r\n", 250, b"DATA\r\n", 354, MESSAGE + b".\r\n", 250,
             b"QUIT\r\n", 221)
    assert c.closed()
    s.wait_for_mail("bob", count=2)
    helo = macros(f, "helo")
    mail = macros(f, "mail")
    # the first EHLO in plaintext, the second over TLS with the client's certificate
    assert helo[-3][0]["{tls_version}"] is None and helo[-3][0]["{cert_subject}"] is None
    tls = helo[-2][0]
    assert tls["{tls_version}"].startswith("TLSv1.")
    assert tls["{cipher}"]
    assert (tls["{cert_subject}"], tls["{cert_issuer}"]) == ("client.test", "client.test")
    first = mail[-2]
    assert first[0]["{auth_type}"] == "PLAIN" and first[0]["{auth_authen}"] == "alice"
    assert first[0]["{cert_subject}"] == "client.test"
    assert first[1] == ["SIZE=400", "BODY=8BITMIME"]
    assert macros(f, "rcpt")[-2][1] == []       # RCPT takes no parameters here (no DSN)
    # nothing of the first session reached the second
    assert helo[-1][0] == {"{tls_version}": None, "{cipher}": None, "{cert_subject}": None,
                           "{cert_issuer}": None}
    second = mail[-1]
    assert second == ({"{mail_addr}": "a@example.org", "{auth_type}": None,
                       "{auth_authen}": None, "{tls_version}": None, "{cert_subject}": None,
                       "{cert_issuer}": None}, [])


def test_client_names_from_reverse_dns(sterna_factory, pymilter):
    good, liar, none = "127.0.0.9", "127.0.0.10", "127.0.0.11"
    dns = Unbound([ptr(good, "good.fc.test"), "good.fc.test. A %s" % good,
                   ptr(liar, "liar.fc.test"), "liar.fc.test. A 127.0.0.99"],
                  zones=["127.in-addr.arpa"])
    try:
        f = pymilter("continue")
        # a list of client names: the engine looks each client up before its greeting
        s = sterna_factory(milter__f__address=f.address, listen__mx__milters="f",
                           dns__resolver=dns.address, policy__block_client_names=[".none.test"])
        for ip in (good, liar, none):
            c = Client("127.0.0.1", s.port, source=ip)
            s._clients.append(c)
            assert c.reply(timeout=15).code == 220
            c.dialog(b"QUIT\r\n", 221)
            assert c.closed()
        got = dict((m["{client_addr}"], (m["{client_ptr}"], m["{client_name}"]))
                   for m, _ in macros(f, "connect"))
        assert got[good] == ("good.fc.test", "good.fc.test")
        assert got[liar] == ("liar.fc.test", "[%s]" % liar)    # a PTR name that does not point back
        assert got[none] == (None, "[%s]" % none)
    finally:
        dns.stop()
