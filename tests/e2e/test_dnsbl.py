"""The client checks of src/policy/dnsbl.h against real DNS: unbound serves DNSBL zones,
reverse zones with matching and lying forward records, and zones that never answer; the
checks run in tests/probe/dnsbl_probe (built with sterna), as the policy engine will run
them for each connection, and print each result with its verdict. Also a test of the
fixture itself (peers.Unbound with zones=)."""

import ipaddress
import os
import re
import subprocess

import pytest

from conftest import STERNA_BIN, SANITIZER_MARKS, render_config
from peers import Unbound, listed, ptr

PROBE = os.path.join(os.path.dirname(STERNA_BIN), "tests", "probe", "dnsbl_probe")

LISTED, OTHER_CODE, ERROR_CODE, CLEAN, V6 = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "::1"
FC_GOOD, FC_LIAR, FC_NONE, FC_TWO, FC_SLOW, FC_ADDR, FC_SLOW_PTR = (
    "127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14",
    "127.0.0.16")

RECORDS = [
    listed(LISTED, "bl.test"),
    listed(LISTED, "bl2.test", code="127.0.0.4"),
    listed(OTHER_CODE, "bl.test", code="127.0.0.10"),
    # Spamhaus's "you query through a public resolver": an error, not a listing
    listed(ERROR_CODE, "bl.test", code="127.255.255.254"),
    listed(V6, "bl.test"),
    ptr(FC_GOOD, "good.fc.test"),
    "good.fc.test. A %s" % FC_GOOD,
    ptr(FC_LIAR, "liar.fc.test"),
    "liar.fc.test. A 127.0.0.99",
    ptr(FC_TWO, "wrong.fc.test"),
    ptr(FC_TWO, "right.fc.test"),
    "wrong.fc.test. A 127.0.0.1",
    "right.fc.test. A %s" % FC_TWO,
    ptr(FC_SLOW, "host.slowfc.test"),
    ptr(FC_ADDR, FC_ADDR),
    ptr(V6, "v6.fc.test"),
    "v6.fc.test. AAAA ::1",
    "v6.fc.test. A 127.0.0.1",
]
# unbound has built-in zones for 127.0.0.0/8 and ::1 (PTR localhost): declaring a zone of
# the same name replaces one, so that only the records here answer
ZONES = ["bl.test", "bl2.test", "127.in-addr.arpa", ipaddress.ip_address(V6).reverse_pointer]
SLOW_ZONES = ["slowbl.test", "slowfc.test", "16.0.0.127.in-addr.arpa"]


@pytest.fixture
def dns():
    # one unbound per test: once it has seen the silent server time out a few times, it
    # marks it down and answers SERVFAIL at once for a while, and a list that fails at once
    # is not the list that never answers that these tests want
    u = Unbound(RECORDS, stub_dead=SLOW_ZONES, zones=ZONES)
    yield u
    u.stop()


def probe(dns, tmp_path, ips, options=(), **policy):
    """Runs the probe with a configuration whose policy { } is policy (dnsbl__NAME__key for
    the lists): (dnsbl results by (ip, round), fcrdns results by (ip, round), cancelled)."""
    tree = {"server": {"hostname": "mx.example.test"},
            'listen "mx"': {"address": "127.0.0.1:2525"},
            # c-ares waits longer than the checks' own timeouts, so that a "timeout" in a
            # result is the check's timer, not c-ares giving up
            "dns": {"resolver": dns.address, "timeout": "3s"},
            "policy": {}}
    for key, value in policy.items():
        parts = key.split("__")
        node = tree["policy"]
        if parts[0] == "dnsbl":
            node = node.setdefault('dnsbl "%s"' % parts[1], {})
            parts = parts[2:]
        node[parts[0]] = value
    conf = tmp_path / "probe.conf"
    conf.write_text(render_config(tree) + "\n")
    assert os.access(PROBE, os.X_OK), "no probe at %s (build sterna first)" % PROBE
    p = subprocess.run([PROBE] + list(options) + [str(conf)] + list(ips), capture_output=True,
                       text=True, timeout=60)
    assert not any(m in p.stderr for m in SANITIZER_MARKS), p.stderr
    assert p.returncode == 0, p.stderr
    bl, fc, cancelled = {}, {}, []
    for line in p.stdout.splitlines():
        m = re.fullmatch(r"dnsbl ip=(\S+) round=(\d+) score=(\d+) lists=(\S*) verdict=(.*)", line)
        if m:
            lists = {}
            for item in filter(None, m.group(4).split(",")):
                name, state, code, cached = item.split(":")
                lists[name] = (state, code, cached == "1")
            bl[(m.group(1), int(m.group(2)))] = (int(m.group(3)), lists, m.group(5))
            continue
        m = re.fullmatch(r"fcrdns ip=(\S+) round=(\d+) status=(\S+) name=(\S*) ptr_name=(\S*) "
                         r"verdict=(.*)", line)
        if m:
            fc[(m.group(1), int(m.group(2)))] = m.group(3, 4, 5, 6)
            continue
        m = re.fullmatch(r"cancelled (dnsbl|fcrdns) ip=(\S+) round=(\d+)", line)
        assert m, line
        cancelled.append((m.group(1), m.group(2)))
    return bl, fc, cancelled


LISTS = dict(dnsbl__bl__zone="bl.test",
             # the same zone read more strictly, weight 0: reported, never counted
             dnsbl__strict__zone="bl.test", dnsbl__strict__answers=["127.0.0.2"],
             dnsbl__strict__weight=0,
             dnsbl__bl2__zone="bl2.test",
             dnsbl__slow__zone="slowbl.test",
             dnsbl_timeout="700ms", fcrdns_timeout="700ms")


def test_fixture_serves_the_zones(dns):
    assert dns.query("2.0.0.127.bl.test") == (0, 1, 0)
    # not listed: NXDOMAIN, with the zone's SOA for the negative TTL (RFC 2308)
    assert dns.query("5.0.0.127.bl.test") == (3, 0, 1)
    assert dns.query("9.0.0.127.in-addr.arpa", "PTR") == (0, 1, 0)
    assert dns.query("12.0.0.127.in-addr.arpa", "PTR") == (0, 2, 0)
    assert dns.query("11.0.0.127.in-addr.arpa", "PTR") == (3, 0, 1)
    assert dns.query("good.fc.test") == (0, 1, 0)
    # the zones that never answer: nothing within 2.5 s, well past the checks' timeouts
    assert dns.query("2.0.0.127.slowbl.test", timeout=2.5) is None


def test_dnsbl_lists_scores_and_verdicts(dns, tmp_path):
    bl, _, _ = probe(dns, tmp_path, [LISTED, OTHER_CODE, ERROR_CODE, CLEAN, V6], **LISTS)
    score, lists, verdict = bl[(LISTED, 1)]
    assert lists == {"bl": ("listed", "127.0.0.2", False), "strict": ("listed", "127.0.0.2", False),
                     "bl2": ("listed", "127.0.0.4", False), "slow": ("timeout", "", False)}
    assert score == 2
    assert verdict == ("reject 554 5.7.1 dnsbl:bl,bl2 Service unavailable; client [127.0.0.2] "
                       "blocked using bl.test, bl2.test")
    score, lists, verdict = bl[(OTHER_CODE, 1)]
    # a code outside strict's answers does not count for strict
    assert lists["bl"] == ("listed", "127.0.0.10", False) and lists["strict"][0] == "clean"
    assert (score, verdict) == (1, "reject 554 5.7.1 dnsbl:bl Service unavailable; client "
                                   "[127.0.0.3] blocked using bl.test")
    score, lists, verdict = bl[(ERROR_CODE, 1)]
    assert lists["bl"] == ("failed", "127.255.255.254", False)
    assert (score, verdict) == (0, "none")
    score, lists, verdict = bl[(CLEAN, 1)]
    assert [s for s, _, _ in lists.values()] == ["clean", "clean", "clean", "timeout"]
    assert (score, verdict) == (0, "none")
    score, lists, verdict = bl[(V6, 1)]
    assert lists["bl"] == ("listed", "127.0.0.2", False)
    assert verdict == "reject 554 5.7.1 dnsbl:bl Service unavailable; client [::1] blocked using bl.test"


def test_dnsbl_threshold(dns, tmp_path):
    bl, _, _ = probe(dns, tmp_path, [LISTED, OTHER_CODE], dnsbl_threshold=2,
                     **dict(LISTS, dnsbl__strict__weight=0))
    assert bl[(LISTED, 1)][0] == 2 and bl[(LISTED, 1)][2].startswith("reject 554 5.7.1")
    assert bl[(OTHER_CODE, 1)][0:3:2] == (1, "none")


def test_dnsbl_answers_are_cached(dns, tmp_path):
    bl, _, _ = probe(dns, tmp_path, [LISTED, CLEAN], options=["-r", "2"], **LISTS)
    for ip in (LISTED, CLEAN):
        first, second = bl[(ip, 1)][1], bl[(ip, 2)][1]
        assert not any(cached for _, _, cached in first.values())
        # answers, listed or not, come from the cache; the silent list is asked again
        assert {n: (s, c) for n, (s, c, _) in first.items()} == \
            {n: (s, c) for n, (s, c, _) in second.items()}
        assert [cached for _, _, cached in second.values()] == [True, True, True, False]
    assert bl[(LISTED, 2)][2] == bl[(LISTED, 1)][2]


def test_fcrdns(dns, tmp_path):
    _, fc, _ = probe(dns, tmp_path, [FC_GOOD, FC_LIAR, FC_NONE, FC_TWO, FC_SLOW, FC_ADDR,
                                     FC_SLOW_PTR, V6], **LISTS)
    assert fc[(FC_GOOD, 1)] == ("verified", "good.fc.test", "good.fc.test", "none")
    # the PTR name is kept for logs, but it is not the client's
    assert fc[(FC_LIAR, 1)] == ("none", "", "liar.fc.test", "none")
    assert fc[(FC_NONE, 1)] == ("none", "", "", "none")
    assert fc[(FC_TWO, 1)][0:2] == ("verified", "right.fc.test")
    assert fc[(FC_SLOW, 1)] == ("tempfail", "", "host.slowfc.test", "none")
    assert fc[(FC_ADDR, 1)][0:2] == ("none", "")
    assert fc[(FC_SLOW_PTR, 1)] == ("tempfail", "", "", "none")
    # an IPv6 client is confirmed by AAAA records
    assert fc[(V6, 1)] == ("verified", "v6.fc.test", "v6.fc.test", "none")


def test_fcrdns_required(dns, tmp_path):
    _, fc, _ = probe(dns, tmp_path, [FC_GOOD, FC_LIAR, FC_SLOW], require_fcrdns=True, **LISTS)
    assert fc[(FC_GOOD, 1)][3] == "none"
    assert fc[(FC_LIAR, 1)][3] == ("reject 550 5.7.25 fcrdns Client host rejected: cannot find "
                                   "your hostname, [127.0.0.10]")
    assert fc[(FC_SLOW, 1)][3] == ("tempfail 450 4.7.25 fcrdns Client host rejected: cannot "
                                   "find your hostname, [127.0.0.13]")


def test_cancel_mid_lookup(dns, tmp_path):
    # at 200 ms every DNSBL check waits for the silent list, and two reverse checks for
    # their silent zones: those are cancelled, and no callback comes after
    ips = [LISTED, CLEAN, FC_GOOD, FC_SLOW, FC_SLOW_PTR]
    bl, fc, cancelled = probe(dns, tmp_path, ips, options=["-c", "200"], **LISTS)
    assert bl == {}
    assert sorted(cancelled) == sorted([("dnsbl", ip) for ip in ips] +
                                       [("fcrdns", FC_SLOW), ("fcrdns", FC_SLOW_PTR)])
    assert set(ip for ip, _ in fc) == {LISTED, CLEAN, FC_GOOD}


def test_checks_outlive_their_dnsbl(dns, tmp_path):
    # the owner lets go of the struct dnsbl at once (a reload): the checks end as before
    bl, fc, _ = probe(dns, tmp_path, [LISTED, FC_GOOD], options=["-f"], **LISTS)
    assert bl[(LISTED, 1)][0] == 2 and bl[(LISTED, 1)][1]["slow"][0] == "timeout"
    assert fc[(FC_GOOD, 1)][0] == "verified"


def test_no_lists(dns, tmp_path):
    bl, fc, _ = probe(dns, tmp_path, [LISTED, "not-an-address"])
    assert bl[(LISTED, 1)] == (0, {}, "none")
    assert fc[("not-an-address", 1)] == ("none", "", "", "none")
