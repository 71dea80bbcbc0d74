"""What DNS says about a client, as the daemon acts on it (policy { } in
docs/configuration.md): DNSBL listings refused at connect, answer filters, weights and the
threshold, a list that never answers (mail goes on, in time), allow-listed and authenticated
clients spared, forward-confirmed reverse DNS required, and host-name lists matched against
the verified name. unbound serves the zones; clients bound to 127.0.0.x play the hosts."""

import ipaddress
import time

import pytest

from peers import Unbound, listed, ptr
from smtpclient import Client
from test_auth import PASSWORDS, b64, users_file  # noqa: F401 (a fixture)

LISTED, LISTED_BOTH, LISTED_OTHER_CODE, CLEAN = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
FC_GOOD, FC_NONE, FC_LIAR, FC_BAD_NAME, FC_SLOW = (
    "127.0.0.9", "127.0.0.11", "127.0.0.10", "127.0.0.12", "127.0.0.16")

RECORDS = [
    listed(LISTED, "bl.test"),
    listed(LISTED_BOTH, "bl.test"),
    listed(LISTED_BOTH, "bl2.test"),
    listed(LISTED_OTHER_CODE, "bl.test", code="127.0.0.10"),
    ptr(FC_GOOD, "good.fc.test"),
    "good.fc.test. A %s" % FC_GOOD,
    ptr(FC_LIAR, "liar.fc.test"),
    "liar.fc.test. A 127.0.0.99",
    ptr(FC_BAD_NAME, "mx.spam.test"),
    "mx.spam.test. A %s" % FC_BAD_NAME,
]
ZONES = ["bl.test", "bl2.test", "127.in-addr.arpa"]
# FC_SLOW's reverse zone and slowbl.test are delegated to a server that never answers
SLOW_ZONES = ["slowbl.test", "16.0.0.127.in-addr.arpa"]


@pytest.fixture
def dns():
    # one unbound per test: once it has seen the silent server time out, it may answer
    # SERVFAIL at once for a while, and these tests want a list that never answers
    u = Unbound(RECORDS, stub_dead=SLOW_ZONES, zones=ZONES)
    yield u
    u.stop()


def client(s, source, port=None):
    c = Client("127.0.0.1", port or s.port, source=source)
    s._clients.append(c)
    return c


def greeting(s, source, port=None):
    return client(s, source, port).reply(timeout=15)


def test_a_listed_client_is_refused_at_connect(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, policy__dnsbl__bl__zone="bl.test")
    c = client(s, LISTED)
    r = c.reply()
    assert (r.code, r.status) == (554, "5.7.1"), r
    assert r.text == "mx.example.test Service unavailable; client [%s] blocked using bl.test" % LISTED
    assert c.closed()
    assert greeting(s, CLEAN).code == 220
    s.wait_log(r"dnsbl ip=127\.0\.0\.2 score=1 threshold=1 listed=bl unanswered=-")
    s.wait_log(r"reject cmd=CONNECT arg=127\.0\.0\.2 code=554 dsn=5\.7\.1 .*rule=dnsbl:bl")


def test_answer_filter(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, policy__dnsbl__bl__zone="bl.test",
                       policy__dnsbl__bl__answers=["127.0.0.10"])
    assert greeting(s, LISTED_OTHER_CODE).code == 554
    # listed with 127.0.0.2, which this list's filter does not count
    assert greeting(s, LISTED).code == 220


def test_weights_and_threshold(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, policy__dnsbl__bl__zone="bl.test",
                       policy__dnsbl__bl2__zone="bl2.test", policy__dnsbl_threshold=2)
    assert greeting(s, LISTED).code == 220          # one list: a score of 1
    r = greeting(s, LISTED_BOTH)
    assert (r.code, r.status) == (554, "5.7.1"), r
    assert "blocked using bl.test, bl2.test" in r.text, r


def test_a_list_that_never_answers_does_not_hold_mail(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, dns__timeout="5s",
                       policy__dnsbl__slow__zone="slowbl.test", policy__dnsbl__bl__zone="bl.test",
                       policy__dnsbl_timeout="1s")
    t0 = time.monotonic()
    c = client(s, CLEAN)
    r = c.reply(timeout=15)
    took = time.monotonic() - t0
    assert r.code == 220, r
    assert 0.8 < took < 4, took
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
             b"Subject: t\r\n\r\nbody\r\n.\r\n", 250)
    assert len(s.wait_for_mail("alice")) == 1
    s.wait_log(r"dnsbl ip=127\.0\.0\.5 score=0 threshold=1 listed=- unanswered=slow")


def test_allow_listed_client_is_not_looked_up(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, policy__dnsbl__bl__zone="bl.test",
                       policy__allow_clients=[LISTED])
    assert greeting(s, LISTED).code == 220
    s.wait_log(r"listed list=allow_clients entry=127\.0\.0\.2")
    assert "dnsbl ip=127.0.0.2" not in s.log()


def test_authenticated_clients_are_spared(sterna_factory, dns, users_file):  # noqa: F811
    s = sterna_factory(dns__resolver=dns.address, policy__dnsbl__bl__zone="bl.test",
                       auth__users_file=users_file, listen__mx__auth_without_tls=True)
    # AUTH is offered here: the verdict waits for MAIL, when it is known who logged in
    c = client(s, LISTED)
    assert c.reply().code == 220
    c.dialog(b"EHLO client.test\r\n", 250)
    c.send(b"MAIL FROM:<a@remote.test>\r\n")
    r = c.reply()
    assert (r.code, r.status) == (554, "5.7.1"), r
    assert "blocked using bl.test" in r.text
    d = client(s, LISTED)
    assert d.reply().code == 220
    d.dialog(b"EHLO client.test\r\n", 250)
    d.send(b"AUTH PLAIN " + b64("\0alice\0%s" % PASSWORDS["alice"]).encode() + b"\r\n")
    assert d.reply().code == 235
    d.dialog(b"MAIL FROM:<alice@example.test>\r\n", 250, b"RCPT TO:<bob@example.test>\r\n", 250)


def test_forward_confirmed_reverse_dns_required(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, dns__timeout="5s", policy__require_fcrdns=True,
                       policy__fcrdns_timeout="1s")
    assert greeting(s, FC_GOOD).code == 220
    s.wait_log(r"fcrdns ip=127\.0\.0\.9 status=verified name=good\.fc\.test")
    for ip in (FC_NONE, FC_LIAR):
        r = greeting(s, ip)
        assert (r.code, r.status) == (550, "5.7.25"), r
        assert r.text == "mx.example.test Client host rejected: cannot find your hostname, [%s]" % ip
    r = greeting(s, FC_SLOW)
    assert (r.code, r.status) == (450, "4.7.25"), r
    s.wait_log(r"reject cmd=CONNECT arg=127\.0\.0\.16 code=450 .*rule=fcrdns")


def test_host_name_lists_match_the_verified_name(sterna_factory, dns):
    s = sterna_factory(dns__resolver=dns.address, policy__block_client_names=[".spam.test"],
                       policy__allow_client_names=["good.fc.test"],
                       policy__block_clients=[FC_GOOD])
    r = greeting(s, FC_BAD_NAME)
    assert (r.code, r.status) == (554, "5.7.1"), r
    assert r.text == ("mx.example.test Client host mx.spam.test[%s] rejected: listed in "
                      "block_client_names" % FC_BAD_NAME)
    # a verified name in an allow list beats a block of the address
    assert greeting(s, FC_GOOD).code == 220
    # a PTR name that does not point back is no name: liar.fc.test matches nothing
    assert greeting(s, FC_LIAR).code == 220
