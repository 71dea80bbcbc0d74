"""GET /metrics (Prometheus's text format, read back by prometheus_client's parser) and the
control socket's metrics op: the counters move by exactly what was sent, delivered, deferred,
refused (by rule) and bounced (by agent and category), whichever entrance brought it; AUTH
successes and failures by mechanism, TLS versions in and out, sessions per listener; the
histograms count what happened (a group commit per file, a latency per final result); the
queue's gauges say what waits; no key is needed."""
import http.client
import json
import os
import smtplib
import socket
import ssl
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, tls_overrides
from smtpclient import Client
from test_auth import PASSWORDS, b64, users_file  # noqa: F401 (fixtures)
from test_http_api import api_factory, keys_dir  # noqa: F401 (fixtures)
from test_outbound import HARD, dns, mta, port, send, sinks  # noqa: F401 (fixtures)
from test_outbound_tls import BODY, SMART, delivered, hub  # noqa: F401 (fixtures)
from test_tls import client_context, starttls

EHLO = b"EHLO client.test\r\n"


def parse(text):
    values = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def scrape(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 200, body
    assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    return parse(body)


def control(s, op):
    """One request on the daemon's control socket: its reply line, parsed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(os.path.join(s.spool, "control"))
        c.sendall(json.dumps(op).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = c.recv(65536)
            assert chunk, data
            data += chunk
    return json.loads(data)


def control_metrics(s):
    """The metrics op's figures, keyed as scrape() keys them (histograms as _count, _sum)."""
    r = control(s, {"op": "metrics"})
    assert r["ok"] is True, r
    values = {}
    for name, fam in r["metrics"].items():
        assert fam["type"] in ("counter", "gauge", "histogram") and fam["help"]
        for series in fam["series"]:
            assert sorted(series["labels"]) == sorted(fam["labels"])
            labels = tuple(sorted(series["labels"].items()))
            if fam["type"] == "histogram":
                values[(name + "_count", labels)] = series["count"]
                values[(name + "_sum", labels)] = series["sum"]
            else:
                values[(name[:-len("_total")] if fam["type"] == "counter" else name,
                        labels)] = series["value"]
    return values


def v(values, name, **labels):
    """One series' value (0 when it is not there)."""
    return values.get((name, tuple(sorted(labels.items()))), 0)


def total(values, name, **labels):
    """The sum over the series of name that have labels (and any others)."""
    want = set(labels.items())
    return sum(x for (n, ls), x in values.items() if n == name and want <= set(ls))


def wait_until(get, ok, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = get()
        if ok(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError("\n".join("%s %s" % kv for kv in sorted(got.items())))
        time.sleep(0.1)


def metrics_overrides(d):
    """An HTTP listener for GET /metrics (no key needed: the keys file is empty)."""
    port = free_port()
    keys = os.path.join(d, "keys")
    with open(keys, "w") as f:
        f.write("# no keys\n")
    os.chmod(keys, 0o644)
    return port, dict(http__listen__api__address="127.0.0.1:%d" % port, http__keys_file=keys)


def test_counters_move_by_what_was_sent(api_factory):  # noqa: F811
    api = api_factory(relay__trusted_networks=["127.0.0.1/32"], queue__retry_min="1h",
                      queue__retry_max="2h")
    before = scrape(api.port)
    c = api.s.connect()
    c.dialog(EHLO, 250)
    for i in range(3):
        c.dialog(b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250,
                 b"DATA\r\n", 354, b"Subject: %d\r\n\r\nbody\r\n.\r\n" % i, 250)
    # one for a domain whose DNS does not answer (the tests' resolver): deferred
    c.dialog(b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<bob@far.test>\r\n", 250,
             b"DATA\r\n", 354, b"Subject: far\r\n\r\nbody\r\n.\r\n", 250)
    st, _, _ = api.call("POST", "/v1/messages", "send", {
        "from": "app@example.test", "to": ["alice@example.test"], "subject": "s", "text": "x"})
    assert st == 202
    api.s.wait_for_mail("alice", 4)
    after = wait_until(lambda: scrape(api.port), lambda a:
                       v(a, "sterna_recipients_total", event="deferred") >= 1 and
                       v(a, "sterna_recipients_total", event="delivered") >= 4)
    assert v(after, "sterna_messages_received_total", entrance="smtp") - \
        v(before, "sterna_messages_received_total", entrance="smtp") == 4
    assert v(after, "sterna_messages_received_total", entrance="api") == 1
    assert v(after, "sterna_recipients_total", event="received") == 5
    assert v(after, "sterna_recipients_total", event="delivered") == 4
    assert v(after, "sterna_recipients_total", event="deferred") == 1
    # by agent: four into Maildirs, the far one deferred by the SMTP client
    assert v(after, "sterna_delivery_results_total", agent="maildir", result="delivered",
             category="none") == 4
    assert total(after, "sterna_delivery_results_total", agent="smtp", result="deferred") == 1
    assert total(after, "sterna_delivery_results_total") == 5
    # a latency per final result: four deliveries, and the deferral is none
    assert v(after, "sterna_delivery_seconds_count", event="delivered") == 4
    assert v(after, "sterna_delivery_seconds_bucket", event="delivered", le="+Inf") == 4
    assert total(after, "sterna_delivery_seconds_count") == 4
    # every file made durable went through a group commit: 5 messages, 4 Maildir copies, and
    # the deferred message's queue file once its T record was appended
    assert v(after, "sterna_spool_flush_files_sum") == 10
    assert v(after, "sterna_spool_flush_files_bucket", le="+Inf") == \
        v(after, "sterna_spool_flush_files_count") == v(after, "sterna_spool_flush_seconds_count")
    # a flush each, at most: a Maildir copy's data may be flushed in a batch of its own, which
    # counts no file (the copy is done once its rename is flushed, in the next batch)
    assert 1 <= v(after, "sterna_spool_flush_files_count") <= 10 + 4
    assert v(after, "sterna_received_bytes_total", entrance="api") > 0
    assert v(after, "sterna_queue_messages", state="deferred") == 1
    assert v(after, "sterna_queue_oldest_seconds") >= 0
    # the client above is still connected: one session open on mx, one more accepted
    assert v(after, "sterna_smtp_sessions", listener="mx") == 1
    assert v(after, "sterna_smtp_sessions_accepted_total", listener="mx") - \
        v(before, "sterna_smtp_sessions_accepted_total", listener="mx") == 1
    assert v(after, "sterna_build_info", version="0.1.0") == 1
    assert 0 < time.time() - v(after, "process_start_time_seconds") < 600
    # the control socket's metrics op says the same (nothing moved meanwhile)
    ctl = control_metrics(api.s)
    for key in [k for k in after if k[0] in ("sterna_messages_received", "sterna_recipients",
                                             "sterna_delivery_results",
                                             "sterna_delivery_seconds_count",
                                             "sterna_queue_messages")]:
        assert ctl[key] == after[key], key
    c.dialog(b"QUIT\r\n", 221)
    assert c.closed()
    wait_until(lambda: scrape(api.port), lambda a: v(a, "sterna_smtp_sessions", listener="mx") == 0)


def test_refusals_by_rule_and_an_operator_bounce(api_factory):  # noqa: F811
    api = api_factory(relay__trusted_networks=["127.0.0.1/32"], queue__retry_min="1h",
                      queue__retry_max="2h", policy__block_senders=["spam.test"])
    c = api.s.connect()
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250)
    for _ in range(2):
        c.dialog(b"RCPT TO:<nobody@example.test>\r\n", 550)
    c.dialog(b"RSET\r\n", 250)
    for _ in range(3):
        c.dialog(b"MAIL FROM:<x@spam.test>\r\n", 550)
    # an untrusted client may not relay
    u = Client("127.0.0.1", api.s.port, source="127.0.0.3")
    u.reply()
    u.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<x@elsewhere.test>\r\n",
             554)
    u.close()
    a = scrape(api.port)
    assert v(a, "sterna_policy_refusals_total", stage="rcpt", rule="local", verdict="reject") == 2
    assert v(a, "sterna_policy_refusals_total", stage="mail", rule="block_senders",
             verdict="reject") == 3
    assert total(a, "sterna_policy_refusals_total", rule="relay") == 1
    assert total(a, "sterna_policy_refusals_total") == 6
    assert total(a, "sterna_messages_received_total") == 0

    # a deferred message, bounced by the operator: bounced by no agent; its notice goes to
    # the remote sender, whose domain does not resolve (deferred)
    c.dialog(b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<bob@far.test>\r\n", 250,
             b"DATA\r\n", 354, b"Subject: far\r\n\r\nbody\r\n.\r\n", 250)
    wait_until(lambda: scrape(api.port), lambda x: v(x, "sterna_recipients_total",
                                                     event="deferred") == 1)
    r = control(api.s, {"op": "bounce", "all": True})
    assert r["matched"] == 1 and r["done"] == 1, r
    b = wait_until(lambda: scrape(api.port), lambda x: v(x, "sterna_recipients_total",
                                                         event="deferred") == 2)
    assert v(b, "sterna_recipients_total", event="bounced") == 1
    assert total(b, "sterna_delivery_results_total", agent="none", result="bounced") == 1
    assert total(b, "sterna_bounces_total") == 1
    assert v(b, "sterna_delivery_seconds_count", event="bounced") == 1
    assert v(b, "sterna_messages_received_total", entrance="notice") == 1
    assert v(b, "sterna_messages_received_total", entrance="smtp") == 1


def test_bounces_by_agent_and_category(mta, sinks, port, keys_dir):  # noqa: F811
    sinks(HARD, port, "-f", "RCPT")
    mport, conf = metrics_overrides(keys_dir)
    s = mta(**conf)
    send(s, ["bob@hard.test", "carol@nowhere.test", "dan@nullmx.test"],
         b"Subject: will bounce\r\n\r\nbody\r\n")
    # the three bounce (each when its destination has failed), and their notices (one per
    # failed attempt) reach the local sender, alice: until the queue is empty
    a = wait_until(lambda: scrape(mport), lambda x:
                   v(x, "sterna_recipients_total", event="bounced") == 3 and
                   total(x, "sterna_queue_messages") == 0 and
                   v(x, "sterna_delivery_results_total", agent="maildir", result="delivered",
                     category="none") == v(x, "sterna_messages_received_total",
                                           entrance="notice"))
    assert total(a, "sterna_delivery_results_total", agent="smtp", result="bounced") == 3
    assert v(a, "sterna_delivery_results_total", agent="smtp", result="bounced",
             category="dns") == 2
    assert v(a, "sterna_bounces_total", **{"class": "hard", "category": "dns"}) == 2
    assert total(a, "sterna_bounces_total") == 3
    assert v(a, "sterna_delivery_seconds_count", event="bounced") == 3
    notices = v(a, "sterna_messages_received_total", entrance="notice")
    assert 1 <= notices <= 3
    assert len(s.mail_files("alice")) == notices
    assert v(a, "sterna_recipients_total", event="delivered") == notices
    assert v(a, "sterna_messages_received_total", entrance="smtp") == 1


def test_auth_tls_and_sessions_per_listener(sterna_factory, cert_dir, users_file):  # noqa: F811
    smtps = free_port()
    mport, conf = metrics_overrides(cert_dir)
    conf.update(tls_overrides(cert_dir, smtps))
    s = sterna_factory(auth__users_file=users_file, auth__fail_delay="20ms",
                       listen__mx__auth_without_tls=True, **conf)
    s.chain = os.path.join(cert_dir, "localhost.pem")
    # two sessions in the clear on mx, one over STARTTLS (TLS 1.3), one on smtps (TLS 1.2)
    plain = [s.connect(), s.connect()]
    for c in plain:
        c.dialog(EHLO, 250)
    tls13 = s.connect()
    tls13.dialog(EHLO, 250)
    starttls(tls13, s)
    tls13.dialog(EHLO, 250)
    ctx = client_context(s.chain)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    tls12 = smtplib.SMTP_SSL("127.0.0.1", smtps, local_hostname="client.test", context=ctx,
                             timeout=30)
    assert tls12.sock.version() == "TLSv1.2"
    a = scrape(mport)
    assert v(a, "sterna_smtp_sessions", listener="mx") == 3
    assert v(a, "sterna_smtp_sessions", listener="smtps") == 1
    assert v(a, "sterna_smtp_sessions_accepted_total", listener="mx") >= 3
    assert v(a, "sterna_smtp_sessions_accepted_total", listener="smtps") == 1
    assert v(a, "sterna_tls_handshakes_total", direction="inbound", version="TLSv1.3") == 1
    assert v(a, "sterna_tls_handshakes_total", direction="inbound", version="TLSv1.2") == 1
    assert total(a, "sterna_tls_handshakes_total") == 2

    # AUTH: a PLAIN success and a message sent after it (a submission), two LOGIN failures
    tls13.dialog(b"AUTH PLAIN " + b64("\0alice\0" + PASSWORDS["alice"]).encode() + b"\r\n", 235,
                 b"MAIL FROM:<alice@example.test>\r\n", 250, b"RCPT TO:<bob@example.test>\r\n",
                 250, b"DATA\r\n", 354, b"Subject: sub\r\n\r\nbody\r\n.\r\n", 250)
    for _ in range(2):
        plain[0].dialog(b"AUTH LOGIN\r\n", 334, b64("bob").encode() + b"\r\n", 334,
                        b64("wrong-password").encode() + b"\r\n", 535)
    tls12.quit()
    s.wait_for_mail("bob")
    a = wait_until(lambda: scrape(mport), lambda x: v(x, "sterna_smtp_sessions",
                                                      listener="smtps") == 0)
    assert v(a, "sterna_smtp_auth_total", mechanism="PLAIN", result="success") == 1
    assert v(a, "sterna_smtp_auth_total", mechanism="LOGIN", result="failure") == 2
    assert total(a, "sterna_smtp_auth_total") == 3
    assert v(a, "sterna_policy_refusals_total", stage="auth", rule="auth", verdict="reject") == 2
    assert v(a, "sterna_messages_received_total", entrance="submission") == 1
    assert v(a, "sterna_messages_received_total", entrance="smtp") == 0
    assert v(a, "sterna_smtp_sessions", listener="mx") == 3
    for c in plain + [tls13]:
        c.close()
    wait_until(lambda: scrape(mport), lambda x: v(x, "sterna_smtp_sessions", listener="mx") == 0)


def test_outbound_tls_version_counted_on_both_sides(mta, hub, port):  # noqa: F811
    b = hub(is_auth=False)
    a = mta(outbound__routes=["far.test [%s] encrypt" % SMART])
    qid = send(a, ["bob@far.test"], BODY)
    b.wait_for_mail("bob")
    delivered(a, qid, "bob@far.test", SMART, port)
    out = wait_until(lambda: control_metrics(a), lambda x: v(
        x, "sterna_delivery_results", agent="smtp", result="delivered", category="none") == 1)
    assert v(out, "sterna_tls_handshakes", direction="outbound", version="TLSv1.3") == 1
    assert total(out, "sterna_tls_handshakes") == 1
    assert v(control_metrics(b), "sterna_tls_handshakes", direction="inbound",
             version="TLSv1.3") == 1


@pytest.mark.parametrize("op", [{"op": "metrics", "names": ["x"]}, {"op": "metrics", "all": True}])
def test_metrics_op_takes_no_arguments(sterna, op):
    r = control(sterna, op)
    assert r["ok"] is False and r["error"]["code"] == "bad_request", r
