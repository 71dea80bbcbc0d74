"""GET /metrics (Prometheus's text format, read back by prometheus_client's parser): the
counters move by exactly what was sent, delivered and deferred, whichever entrance brought
it; the queue's gauges say what waits; no key is needed."""
import http.client
import time

from prometheus_client.parser import text_string_to_metric_families

from test_http_api import api_factory, keys_dir  # noqa: F401 (fixtures)

EHLO = b"EHLO client.test\r\n"


def scrape(api):
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 200, body
    assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    values = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def v(values, name, **labels):
    return values.get((name, tuple(sorted(labels.items()))), 0)


def test_counters_move_by_what_was_sent(api_factory):  # noqa: F811
    api = api_factory(relay__trusted_networks=["127.0.0.1/32"], queue__retry_min="1h",
                      queue__retry_max="2h")
    before = scrape(api)
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
    deadline = time.monotonic() + 20
    while True:
        after = scrape(api)
        if v(after, "sterna_recipients_total", event="deferred") >= 1 and \
           v(after, "sterna_recipients_total", event="delivered") >= 4:
            break
        assert time.monotonic() < deadline, after
        time.sleep(0.2)
    assert v(after, "sterna_messages_received_total", entrance="smtp") - \
        v(before, "sterna_messages_received_total", entrance="smtp") == 4
    assert v(after, "sterna_messages_received_total", entrance="api") == 1
    assert v(after, "sterna_recipients_total", event="received") == 5
    assert v(after, "sterna_recipients_total", event="delivered") == 4
    assert v(after, "sterna_recipients_total", event="deferred") == 1
    assert v(after, "sterna_delivery_seconds_count") == 4
    assert v(after, "sterna_delivery_seconds_bucket", le="+Inf") == 4
    assert v(after, "sterna_received_bytes_total", entrance="api") > 0
    assert v(after, "sterna_queue_messages", state="deferred") == 1
    assert v(after, "sterna_queue_oldest_seconds") >= 0
    assert v(after, "sterna_smtp_sessions") == 1     # the client above is still connected
