"""Aliases that forward (docs/configuration.md, local.aliases): a target in another domain is
relayed to with the original envelope sender, whoever sent to the alias, from SMTP, sendmail and
the pickup folder alike; a refusal at the far side comes back to the sender as a notice that
names the alias; relay tricks in targets, unknown local targets and aliases that expand too far
are configuration errors. Postfix's smtp-sink plays the far side, reached through
outbound.routes on loopback (no DNS)."""

import os
import re
import smtplib
import subprocess

import pytest

from conftest import STERNA_BIN, render_config
from folders import pickup_factory, write_file  # noqa: F401
from peers import free_port_on
from test_outbound import parse_notice, sinks, wait_gone, wait_log  # noqa: F401

FAR, HARD = "127.0.0.40", "127.0.0.41"
# a client that may not relay: relay.trusted_networks is empty, it does not authenticate
CLIENT = "127.0.0.3"
ROUTES = ["other.example [%s]" % FAR, "bounce.example [%s]" % HARD]
REFUSAL = "550 5.1.1 <gone@bounce.example>: Recipient address rejected: User unknown"


@pytest.fixture
def port():
    return free_port_on([FAR, HARD])


def forwarding(port, aliases, **overrides):
    """Overrides for sterna_factory: these aliases, and the far domains routed to the sinks."""
    conf = dict(local__aliases=aliases, outbound__port=port, outbound__routes=ROUTES,
                queue__retry_min="1s", queue__retry_max="2s", outbound__connection_idle="1s")
    conf.update(overrides)
    return conf


def send(s, sender, rcpts, body):
    """One message from CLIENT; every recipient must be accepted. Returns the queue id."""
    with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test",
                      source_address=(CLIENT, 0), timeout=30) as c:
        assert c.ehlo()[0] == 250
        assert c.mail(sender)[0] == 250
        for r in rcpts:
            assert c.rcpt(r)[0] == 250, r
        code, resp = c.data(body)
        assert code == 250, resp
        return re.fullmatch(rb"2\.0\.0 Ok: queued as (\S+)", resp).group(1).decode()


def envelope(dump):
    """(MAIL FROM, [RCPT TO...]) of one smtp-sink dump."""
    mail = re.search(rb"^X-Mail-Args: <([^>]*)>", dump, re.M).group(1).decode()
    rcpts = [r.decode() for r in re.findall(rb"^X-Rcpt-Args: <([^>]*)>", dump, re.M)]
    return mail, rcpts


BODY = b"Subject: forwarded\r\nFrom: sender@outside.example\r\n\r\nfor info\r\n"


def test_alias_delivers_here_and_forwards_with_the_original_sender(sterna_factory, sinks, port):
    sink = sinks(FAR, port)
    s = sterna_factory(**forwarding(port, {"info": "alice, partner@other.example"}))
    # the client may not relay to the forward address itself...
    with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test",
                      source_address=(CLIENT, 0), timeout=30) as c:
        c.ehlo()
        assert c.mail("sender@outside.example")[0] == 250
        code, text = c.rcpt("partner@other.example")
        assert (code, text[:5]) == (554, b"5.7.1"), (code, text)
    # ...but to the alias, a local address, which forwards there
    qid = send(s, "sender@outside.example", ["info@example.test"], BODY)
    [here] = s.wait_for_mail("alice")
    assert here.endswith(b"\r\n\r\nfor info\r\n") or here.endswith(b"\n\nfor info\n"), here[-200:]
    [far] = sink.wait_messages(1)
    # the envelope sender is the original one (no SRS), the recipient the alias's target
    assert envelope(far) == ("sender@outside.example", ["partner@other.example"])
    assert far.rstrip(b"\n").endswith(b"\n\nfor info"), far[-200:]
    assert b"Subject: forwarded" in far
    log = s.log()
    assert re.search(r"^\S+ \S+ %s rcpt to=<partner@other.example> orig=<info@example.test>"
                     % qid, log, re.M), log
    wait_log(s, qid + r"\.\d+ delivered to=<partner@other.example> relay=\S*\[%s\]"
             % re.escape(FAR))
    wait_gone(s, qid)


def test_alias_of_forwards_only_keeps_even_the_null_sender(sterna_factory, sinks, port):
    sink = sinks(FAR, port)
    s = sterna_factory(**forwarding(port, {
        "away": ["Partner@Other.Example", "second@other.example"],
        # the same forward again, through another alias: one copy
        "both": ["away", "partner@other.example"]}))
    qid = send(s, "", ["both@example.test"], b"Subject: to the far side\r\n\r\nnothing here\r\n")
    [far] = sink.wait_messages(1)
    # one transaction for both; the local part as the alias wrote it
    mail, rcpts = envelope(far)
    assert mail == ""
    assert sorted(rcpts) == ["Partner@other.example", "second@other.example"]
    wait_gone(s, qid)
    assert s.all_mail() == []


def test_refused_forward_gives_the_sender_a_notice_naming_the_alias(sterna_factory, sinks,
                                                                   port):
    sinks(HARD, port, "-f", "RCPT", "-B", REFUSAL)
    s = sterna_factory(**forwarding(port, {"lost": "bob, gone@bounce.example"}))
    qid = send(s, "alice@example.test", ["lost@example.test"],
               b"Subject: to an old address\r\nMessage-ID: <fw1@example.test>\r\n\r\nhello\r\n")
    s.wait_for_mail("bob")
    [raw] = s.wait_for_mail("alice", timeout=20)
    msg, [r], headers = parse_notice(raw)
    assert msg["To"] == "<alice@example.test>"
    assert r["Original-Recipient"] == "rfc822; lost@example.test"
    assert r["Final-Recipient"] == "rfc822; gone@bounce.example"
    assert r["Action"] == "failed"
    assert r["Status"] == "5.1.1"
    assert r["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    text = msg.get_payload()[0].get_payload(decode=True).decode()
    assert "<gone@bounce.example> (expanded from <lost@example.test>): host" in text, text
    assert b"Message-ID: <fw1@example.test>" in headers.as_bytes()
    wait_log(s, qid + r"\.\d+ bounced to=<gone@bounce.example> .*dsn=5.1.1")
    wait_gone(s, qid)


def test_sendmail_recipient_forwards(sterna_factory, sinks, port):
    sink = sinks(FAR, port)
    s = sterna_factory(**forwarding(port, {"info": "partner@other.example"}))
    p = subprocess.run([STERNA_BIN, "sendmail", "-C", s.conf, "-f", "app@example.test", "info"],
                       input=b"Subject: from sendmail\n\nby way of info\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0 and p.stderr == b"", p.stderr
    [far] = sink.wait_messages(1)
    assert envelope(far) == ("app@example.test", ["partner@other.example"])
    assert b"by way of info" in far


def test_pickup_recipient_forwards(pickup_factory, sinks, port):
    sink = sinks(FAR, port)
    s = pickup_factory(**forwarding(port, {"info": "alice, partner@other.example"}))
    write_file(s.pickup, "fw.eml", b"X-Sender: <app@example.org>\nX-Receiver: <info@example.test>\n"
               b"Subject: from the pickup folder\n\nby way of info\n")
    [far] = sink.wait_messages(1)
    assert envelope(far) == ("app@example.org", ["partner@other.example"])
    s.wait_for_mail("alice")


def test_alias_at_the_target_cap_forwards_to_all(sterna_factory, sinks, port):
    sink = sinks(FAR, port)
    s = sterna_factory(**forwarding(port, {"all": ["team", "c@other.example"],
                                           "team": "a@other.example, b@other.example"},
                                    local__max_alias_targets=3))
    send(s, "sender@outside.example", ["all@example.test"], b"Subject: three\r\n\r\nx\r\n")
    [far] = sink.wait_messages(1)
    assert sorted(envelope(far)[1]) == ["a@other.example", "b@other.example", "c@other.example"]


# ---- configuration errors: `sterna check`, and `sterna serve` will not start --------------------


def write_conf(tmp_path, aliases, **local):
    tree = {
        "server": {"hostname": "mx.example.test"},
        'listen "mx"': {"address": "127.0.0.1:2525"},
        "local": dict({"domains": ["example.test"], "users": ["postmaster", "alice", "bob"],
                       "aliases": aliases}, **local),
    }
    conf = tmp_path / "sterna.conf"
    text = render_config(tree) + "\n"
    conf.write_text(text)
    return str(conf), text.split("\n")


def check(conf):
    p = subprocess.run([STERNA_BIN, "check", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stderr.decode("utf-8", "replace").strip()


@pytest.mark.parametrize("target,why", [
    ("bob%other.example@relay.example", "is refused: '%' in the local part (the percent hack)"),
    ("bob%other.example", "is refused: '%' in the local part (the percent hack)"),
    ("other.example!bob@relay.example", "is refused: '!' in the local part (a bang path)"),
    ("other.example!bob", "is refused: '!' in the local part (a bang path)"),
    ('"bob@other.example"@relay.example', "is refused: '@' in the local part"),
    ("@relay.example:bob@other.example", "is refused: a source route"),
    ("bob@[192.0.2.1]", "is refused: mail is not relayed to address literals"),
    ("carol@example.test", "is not a local user or alias"),
    ("bob@other.example.", "is not a valid address"),
], ids=["percent", "percent-name", "bang", "bang-name", "quoted-at", "route", "literal",
        "unknown-local", "trailing-dot"])
def test_bad_target_is_a_config_error(tmp_path, target, why):
    conf, lines = write_conf(tmp_path, {"info": ["alice", target]})
    line = next(i + 1 for i, l in enumerate(lines) if l.strip().startswith("info ="))
    code, err = check(conf)
    assert code == 1
    assert err == "%s:%d: local.aliases.info: '%s' %s" % (conf, line, target, why)


def test_config_error_stops_serve(tmp_path):
    conf, _ = write_conf(tmp_path, {"info": "bob%other.example@relay.example"})
    p = subprocess.run([STERNA_BIN, "serve", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode != 0
    assert b"local.aliases.info: 'bob%other.example@relay.example' is refused" in p.stderr


def test_expansion_cap(tmp_path):
    targets = ["u%d@other.example" % i for i in range(1001)]
    # the default, 1000: one more target than that is refused...
    conf, lines = write_conf(tmp_path, {"big": targets})
    line = next(i + 1 for i, l in enumerate(lines) if l.strip().startswith("big ="))
    assert check(conf) == (1, "%s:%d: local.aliases.big: expands into more than 1000 targets "
                           "(local.max_alias_targets; a target reached twice counts twice)"
                           % (conf, line))
    # ...and exactly that many is fine
    conf, _ = write_conf(tmp_path, {"big": targets[:1000]})
    assert check(conf) == (0, "")
    # repeats count: team reached two ways is 2 x 2 targets, more than 3
    conf, lines = write_conf(tmp_path, {"team": "alice, x@other.example", "all": ["team", "more"],
                                        "more": "team"}, max_alias_targets=3)
    line = next(i + 1 for i, l in enumerate(lines) if l.strip().startswith("all ="))
    code, err = check(conf)
    assert (code, err) == (1, "%s:%d: local.aliases.all: expands into more than 3 targets "
                           "(local.max_alias_targets; a target reached twice counts twice)"
                           % (conf, line))
