"""TLS policies of outbound destinations with real peers: a second sterna with a self-signed
certificate plays the smarthost (taking mail only after AUTH, offered only inside TLS) or a
hub, smtp-sink a server without STARTTLS, and the broken-TLS peer one whose handshake always
fails. What a user would check: where the mail went, under which policy (the delivered
line), why it waits when it does, and that the password never left when it should not."""

import os
import re

import pytest

from conftest import make_cert
from peers import ScriptedPeer
from test_auth import hash_password
from test_outbound import (BADTLS, EQ_A, MX1, SMART, SMARTHOST_PASSWORD, assert_no_password,
                           dns, mta, port, send, sinks, wait_gone, wait_log)  # noqa: F401

BODY = b"Subject: tls policy\r\nFrom: alice@example.test\r\n\r\nhello\r\n"


@pytest.fixture
def hub(sterna_factory, cert_dir, port):
    """A second sterna on SMART with a self-signed certificate for names and ips, taking mail
    for far.test into bob's Maildir. With is_auth, only after AUTH as alice (which it offers
    inside TLS only), as a provider's smarthost does; its certificate's file is hub.chain."""
    def make(names=("smart.test",), ips=(SMART,), is_auth=True):
        chain, key = make_cert(cert_dir, "hub", names=names, ips=ips)
        conf = dict(listen__mx__address="%s:%d" % (SMART, port), tls__cert__hub__chain=chain,
                    tls__cert__hub__key=key,
                    local__domains=["example.test", "localhost", "far.test"])
        if is_auth:
            users = os.path.join(cert_dir, "users")
            with open(users, "w") as f:
                f.write("alice:%s\n" % hash_password(SMARTHOST_PASSWORD))
            os.chmod(users, 0o644)
            conf.update(listen__mx__require_auth=True, auth__users_file=users,
                        auth__fail_delay="20ms")
        b = sterna_factory(**conf)
        b.chain = chain
        return b
    return make


def smarthost_conf(**more):
    conf = dict(outbound__smarthost="[%s]" % SMART, outbound__smarthost_user="alice",
                outbound__smarthost_password=SMARTHOST_PASSWORD)
    conf.update(more)
    return conf


def delivered(s, qid, to, relay_host, port):
    """The delivered line of qid's first recipient, as a match: (tls, tls_policy, verified)."""
    return wait_log(s, qid + r"\.1 delivered to=<%s> relay=%s\[%s\]:%d delay=\S+ dsn=2\.0\.0 "
                    r"tls=(\S+) cipher=\S+ tls_policy=(\S+) verified=(\S+) reply="
                    % (re.escape(to), re.escape(relay_host), re.escape(relay_host), port))


def assert_refused_before_auth(a, b, qid, why):
    """a's message for bob@far.test waits (deferred, retried, never bounced) because the
    handshake with b failed on its certificate (why); b never saw AUTH, nor any mail."""
    wait_log(a, qid + r"\.1 deferred to=<bob@far.test> attempt=1 next_s=1 reason=")
    wait_log(a, qid + r"\.1 deferred to=<bob@far.test> attempt=2 ", timeout=20)
    # the reason in full, and in the connection's line
    wait_log(a, r"o\d+ note msg=\"the certificate of %s\[%s\]:\d+ is not verified \(%s\): "
             r"nothing sent"
             % (re.escape(SMART), re.escape(SMART), re.escape(why)))
    wait_log(a, r"o\d+ connect_out relay=\S+ error=\"certificate not verified: %s\""
             % re.escape(why))
    # the peer saw the handshake end with our alert, and nothing after it
    b.wait_log(r"c\d+ tls_failed ip=127\.0\.0\.1 reason=")
    log = a.log()
    assert " bounced " not in log and " delivered " not in log
    assert qid in a.queue_ids()
    assert " auth " not in b.log()
    assert b.queue_ids() == [] and b.all_mail() == []
    assert_no_password(a)
    assert_no_password(b)


def test_verify_refuses_a_self_signed_smarthost(mta, hub):
    """With credentials the smarthost is verified by default, against the system's trust
    store: a self-signed certificate is refused in the handshake, before AUTH."""
    b = hub()
    a = mta(**smarthost_conf())
    qid = send(a, ["bob@far.test"], BODY)
    assert_refused_before_auth(a, b, qid, "self-signed certificate")


def test_verify_accepts_the_smarthost_with_its_ca_file(mta, hub, port):
    b = hub()
    a = mta(**smarthost_conf(outbound__tls_ca_file=b.chain))
    qid = send(a, ["bob@far.test"], BODY)
    [got] = b.wait_for_mail("bob")
    wait_gone(a, qid)
    assert got.endswith(BODY.replace(b"\r\n", b"\n"))
    m = delivered(a, qid, "bob@far.test", SMART, port)
    assert m.groups() == ("TLSv1.3", "verify", "yes"), m.group(0)
    b.wait_log(r"c\d+ auth result=ok mech=PLAIN user=alice ip=127\.0\.0\.1 ")
    assert_no_password(a)
    assert_no_password(b)


def test_verify_refuses_a_certificate_for_another_name(mta, hub):
    """The CA is trusted, but the certificate names another host than the one connected to
    (the smarthost is [127.0.0.20]; the certificate is for other.test only)."""
    b = hub(names=("other.test",), ips=())
    a = mta(**smarthost_conf(outbound__tls_ca_file=b.chain))
    qid = send(a, ["bob@far.test"], BODY)
    assert_refused_before_auth(a, b, qid, "IP address mismatch")


def test_encrypt_takes_any_certificate(mta, hub, port):
    b = hub()
    a = mta(**smarthost_conf(outbound__smarthost_tls="encrypt"))
    qid = send(a, ["bob@far.test"], BODY)
    b.wait_for_mail("bob")
    m = delivered(a, qid, "bob@far.test", SMART, port)
    assert m.groups() == ("TLSv1.3", "encrypt", "no"), m.group(0)
    b.wait_log(r"c\d+ auth result=ok mech=PLAIN user=alice ")


def test_none_never_starts_tls(mta, hub, port):
    b = hub(is_auth=False)
    a = mta(outbound__routes=["far.test [%s] none" % SMART])
    qid = send(a, ["bob@far.test"], BODY)
    b.wait_for_mail("bob")
    m = delivered(a, qid, "bob@far.test", SMART, port)
    assert m.groups() == ("no", "none", "no"), m.group(0)
    assert " tls version=" not in b.log()


def test_plain_smarthost_without_credentials(mta, sinks, port):
    """A hub inside the network without STARTTLS (smtp-sink offers none) takes the mail of a
    smarthost without credentials: opportunistic, as for MX hosts."""
    sink = sinks(MX1, port)
    a = mta(outbound__smarthost="[%s]" % MX1)
    qid = send(a, ["bob@anywhere.test"], BODY)
    [got] = sink.wait_messages(1)
    wait_gone(a, qid)
    assert b"X-Rcpt-Args: <bob@anywhere.test>\n" in got
    m = delivered(a, qid, "bob@anywhere.test", MX1, port)
    assert m.groups() == ("no", "may", "no"), m.group(0)


def test_star_route_takes_every_other_domain(mta, sinks, port):
    """A null client: "*" sends every domain without a route of its own to the hub, domains
    nobody can look up included; a domain's own route comes first."""
    hub_sink, own = sinks(MX1, port), sinks(EQ_A, port)
    a = mta(outbound__routes=["mx.test [%s]" % EQ_A, "* [%s]" % MX1])
    q1 = send(a, ["bob@nowhere.test", "carol@elsewhere.example"], BODY)
    q2 = send(a, ["dave@mx.test"], BODY)
    got = hub_sink.wait_messages(1)
    [mine] = own.wait_messages(1)
    wait_gone(a, q1)
    wait_gone(a, q2)
    assert len(got) == 1   # one transaction for the two recipients of one destination
    assert b"X-Rcpt-Args: <bob@nowhere.test>\n" in got[0]
    assert b"X-Rcpt-Args: <carol@elsewhere.example>\n" in got[0]
    assert b"X-Rcpt-Args: <dave@mx.test>\n" in mine
    for rcpt in ("bob@nowhere.test", "carol@elsewhere.example"):
        assert re.search(re.escape(rcpt) + r"> relay=%s\[%s\]:%d " % (re.escape(MX1), re.escape(MX1),
                                                                      port), a.log()), rcpt
    assert re.search(q2 + r"\.1 delivered to=<dave@mx.test> relay=%s\[" % re.escape(EQ_A), a.log())


def test_encrypt_against_a_server_without_starttls_defers(mta, sinks, port):
    sink = sinks(MX1, port)
    a = mta(outbound__routes=["plain.test [%s] encrypt" % MX1])
    qid = send(a, ["bob@plain.test"], BODY)
    wait_log(a, qid + r"\.1 deferred to=<bob@plain.test> attempt=1 next_s=1 reason=")
    wait_log(a, r"o\d+ connect_out relay=\S+ error=\"TLS is required and the server does not "
             r"offer STARTTLS\"")
    wait_log(a, qid + r"\.1 deferred to=<bob@plain.test> attempt=2 ", timeout=20)
    assert sink.counters()[0] > sink.base[0]   # it was spoken to...
    assert sink.messages() == []               # ...and given nothing
    assert " bounced " not in a.log() and qid in a.queue_ids()


@pytest.fixture
def garbler(port):
    p = ScriptedPeer(BADTLS, port, "garble")
    yield p
    p.stop()


def test_encrypt_is_never_retried_in_the_clear(mta, garbler):
    """Unlike may (test_outbound: retried once without STARTTLS), a failed handshake under
    encrypt ends the session: no MAIL, no AUTH, ever."""
    a = mta(outbound__routes=["badtls.test [%s] encrypt" % BADTLS])
    qid = send(a, ["bob@badtls.test"], BODY)
    wait_log(a, qid + r"\.1 deferred to=<bob@badtls.test> attempt=2 ", timeout=20)
    assert garbler.messages == []
    assert garbler.sessions, "no session"
    for commands in garbler.sessions:
        assert [c.split(" ")[0] for c in commands] == ["EHLO", "STARTTLS"], garbler.sessions
    assert "retrying without TLS" not in a.log()
