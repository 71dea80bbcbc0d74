"""GET /v1/messages/{id} once the message has left the queue (docs/api.md, "A message's state"):
relayed to smtp-sink, bounced by one, deleted through the API while deferred; each recipient's
last state comes from the events, the same JSON as while the message was queued, and the same
after a restart (read back from the event log). 404 only for what neither the queue nor the
event log knows."""
import re
import time

import pytest

from peers import free_port_on
from test_http_api import api_factory, assert_error, keys_dir  # noqa: F401 (fixtures)
from test_outbound import DEAD, HARD, MX1, dns, send, sinks, wait_gone  # noqa: F401

RCPT_KEYS = {"email", "state", "attempts", "last_reply", "next_attempt", "reply", "bounce", "time"}
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def api(api_factory, dns, sinks):  # noqa: F811
    port = free_port_on([MX1, HARD, DEAD])
    sinks(MX1, port)
    sinks(HARD, port, "-f", "RCPT")
    return api_factory(relay__trusted_networks=["127.0.0.2/32"], dns__resolver=dns.address,
                       dns__timeout="1s", outbound__port=port, queue__retry_min="1h",
                       queue__retry_max="2h", outbound__connection_idle="1s")


def get(api, qid, key="read"):
    st, _, m = api.call("GET", "/v1/messages/" + qid, key=key)
    assert st == 200, m
    assert set(m) == {"id", "state", "recipients"} and m["id"] == qid, m
    for r in m["recipients"]:
        assert set(r) == RCPT_KEYS, r
        assert r["time"] is None or re.fullmatch(TIME, r["time"]), r
    return m


def by_email(m):
    return {r["email"]: r for r in m["recipients"]}


def wait_state(api, qid, want, timeout=15):
    """The message's state once it is want (the file goes first, the scheduler a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        m = get(api, qid)
        if m["state"] == want:
            return m
        assert time.monotonic() < deadline, m
        time.sleep(0.05)


def test_delivered_bounced_deleted_and_after_a_restart(api):
    s = api.s
    body = b"Subject: states\r\n\r\nbody\r\n"
    relayed = send(s, ["bob@mx.test", "carol@mx.test"], body)
    bounced = send(s, ["dan@hard.test"], body)
    mixed = send(s, ["frank@mx.test", "gina@dead.test"], body)
    deleted = send(s, ["erin@dead.test"], body)
    for q in (mixed, deleted):
        s.wait_log(q + r"\.\d deferred ")
    # still queued: the delivered recipient is shown as the events tell it, the other as the
    # queue does (the log line comes from the record step, the state from the loop just after)
    queued = wait_state(api, mixed, "deferred")
    frank, gina = by_email(queued)["frank@mx.test"], by_email(queued)["gina@dead.test"]
    assert (frank["state"], frank["reply"]["code"], frank["next_attempt"]) == \
        ("delivered", 250, None)
    assert frank["reply"]["status"] == "2.0.0" and frank["last_reply"] == frank["reply"]["text"]
    assert (gina["state"], gina["attempts"]) == ("deferred", 1)
    assert gina["last_reply"] and gina["next_attempt"] and gina["reply"]["code"] == 0
    assert gina["bounce"] is None
    # deleted through the API, as an operator would
    for q in (mixed, deleted):
        st, _, res = api.call("DELETE", "/v1/messages/" + q, key="admin")
        assert (st, res) == (200, {"id": q, "state": "deleted"})
    for q in (relayed, bounced, mixed, deleted):
        wait_gone(s, q)

    done = wait_state(api, relayed, "done")
    assert [(r["email"], r["state"], r["attempts"], r["reply"]["code"], r["bounce"])
            for r in done["recipients"]] == \
        [("bob@mx.test", "delivered", 0, 250, None), ("carol@mx.test", "delivered", 0, 250, None)]
    failed = wait_state(api, bounced, "done")
    [dan] = failed["recipients"]
    assert (dan["email"], dan["state"], dan["next_attempt"]) == ("dan@hard.test", "bounced", None)
    assert dan["reply"]["code"] >= 500 and dan["bounce"]["class"] == "hard", dan
    assert dan["last_reply"] == dan["reply"]["text"]
    gone = wait_state(api, mixed, "deleted")
    # the same JSON for frank as while the message was queued
    assert by_email(gone)["frank@mx.test"] == frank
    g = by_email(gone)["gina@dead.test"]
    assert (g["state"], g["attempts"], g["next_attempt"]) == ("deleted", 1, None)
    assert g["last_reply"] == "deleted from the queue by an operator"
    [erin] = wait_state(api, deleted, "deleted")["recipients"]
    assert (erin["email"], erin["state"]) == ("erin@dead.test", "deleted")
    # a read key sees them too; an id nobody knows is 404
    before = {q: get(api, q, key="admin") for q in (relayed, bounced, mixed, deleted)}
    st, _, res = api.call("GET", "/v1/messages/0000000000000", key="read")
    assert_error(st, res, 404, "not_found")

    # read back from the event log at start: the same answers
    s.restart()
    for q, m in before.items():
        assert get(api, q) == m
    st, _, res = api.call("GET", "/v1/messages/0000000000000", key="read")
    assert_error(st, res, 404, "not_found")
