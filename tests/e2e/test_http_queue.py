"""The queue over the HTTP API (docs/api.md): listings, pages, filters, a message in detail and
the operations, each against what `sterna queue` says of the same queue; a message's state in
the API's words; DELETE of a message by the keys that may. Mail for dead.test stays deferred
(its route leads to a port where nothing listens)."""

import re
import socket
import time

import pytest

from peers import Sink, free_port_on
from test_http_api import (  # noqa: F401 (fixtures)
    api_factory, assert_error, deferred, keys_dir, mta_api, parse_raw, queue_json)
from test_outbound import send, wait_gone, wait_log

SLOW = "127.0.0.32"

BODY = b"Subject: api\r\nMessage-ID: <api1@example.test>\r\n\r\nin the queue\r\n"


def key_id(key):
    return key.split("_")[1]


def test_queue_listing_matches_sterna_queue(mta_api):
    api = mta_api()
    s = api.s
    a = send(s, ["bob@dead.test"], BODY)
    b = send(s, ["carol@dead.test", "alice@example.test"], BODY, sender="")
    c = send(s, ["dave@dead.test"], BODY)
    deferred(s, a, b, c)
    s.wait_for_mail("alice")

    # the two views are read one after the other: alice's delivery may still be recorded
    # between them (b's state), so they are compared once the queue has settled
    deadline = time.monotonic() + 10
    while True:
        st, _, page = api.call("GET", "/v1/queue", key="admin")
        assert st == 200
        listed = queue_json(s, "list")
        if page == {"messages": listed, "next": None} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert page == {"messages": listed, "next": None}
    assert [m["id"] for m in page["messages"]] == [a, b, c]
    # paged: limit and the cursor of the page before
    st, _, p1 = api.call("GET", "/v1/queue?limit=2", key="admin")
    assert [m["id"] for m in p1["messages"]] == [a, b] and p1["next"] == b
    st, _, p2 = api.call("GET", "/v1/queue?limit=2&after=" + p1["next"], key="admin")
    assert [m["id"] for m in p2["messages"]] == [c] and p2["next"] is None
    # a cursor whose message left the queue still leads to the next one
    assert api.call("POST", "/v1/queue/%s/delete" % b, key="admin")[0] == 200
    st, _, p3 = api.call("GET", "/v1/queue?after=" + b, key="admin")
    assert [m["id"] for m in p3["messages"]] == [c]
    # the control socket's filters
    st, _, f = api.call("GET", "/v1/queue?recipient=bob@dead.test", key="admin")
    assert [m["id"] for m in f["messages"]] == [a]
    st, _, f = api.call("GET", "/v1/queue?state=deferred,held&domain=dead.test&max_age_s=3600",
                        key="admin")
    assert [m["id"] for m in f["messages"]] == [a, c]
    st, _, f = api.call("GET", "/v1/queue?state=held", key="admin")
    assert f == {"messages": [], "next": None}
    st, _, f = api.call("GET", "/v1/queue?sender=", key="admin")
    assert f["messages"] == []
    st, _, f = api.call("GET", "/v1/queue?min_age_s=3600", key="admin")
    assert f["messages"] == []
    # show: the control socket's view, in detail
    st, _, one = api.call("GET", "/v1/queue/" + a, key="admin")
    assert st == 200 and one == {"message": queue_json(s, "show", a)[0]}
    st, _, res = api.call("GET", "/v1/queue/0000000000000", key="admin")
    assert_error(st, res, 404, "not_found")
    st, _, res = api.call("GET", "/v1/queue/not-an-id", key="admin")
    assert_error(st, res, 404, "not_found")


def test_queue_operations_match_sterna_queue(mta_api):
    api = mta_api()
    s = api.s
    a = send(s, ["bob@dead.test"], BODY)
    b = send(s, ["carol@dead.test"], BODY)
    deferred(s, a, b)

    def state(q):
        return queue_json(s, "list", q)[0]["state"]

    st, _, res = api.call("POST", "/v1/queue/%s/hold" % a, key="admin")
    assert (st, res) == (200, {"op": "hold", "matched": 1, "done": 1, "failed": 0})
    assert state(a) == "held" and state(b) == "deferred"
    wait_log(s, r"h\d+\.1 http_op key=%s op=hold matched=1 done=1 failed=0"
             % key_id(api.keys["admin"]))
    st, _, res = api.call("POST", "/v1/queue/%s/release" % a, key="admin")
    assert res["done"] == 1 and state(a) in ("queued", "active", "deferred")
    # on a filter, as the control socket's operations
    st, _, res = api.call("POST", "/v1/queue/hold", key="admin",
                          body={"filter": {"domain": "dead.test", "state": ["deferred", "queued"]}})
    assert (st, res["matched"], res["done"]) == (200, 2, 2), res
    assert {state(a), state(b)} == {"held"}
    st, _, res = api.call("POST", "/v1/queue/release", key="admin", body={"all": True})
    assert res["done"] == 2
    st, _, res = api.call("POST", "/v1/queue/flush", key="admin", body={"filter": {"id": a}})
    assert (st, res["op"], res["matched"]) == (200, "flush", 1)
    deferred(s, a)
    # bounce: the sender gets the notice; delete: nothing more
    st, _, res = api.call("POST", "/v1/queue/%s/bounce" % a, key="admin")
    assert (st, res["done"]) == (200, 1)
    wait_gone(s, a)
    [notice] = s.wait_for_mail("alice", timeout=20)
    assert b"delivery cancelled by the postmaster" in notice
    st, _, res = api.call("POST", "/v1/queue/%s/delete" % b, key="admin")
    assert (st, res["done"]) == (200, 1)
    wait_gone(s, b)
    assert queue_json(s, "list") == []
    for op in ("hold", "release", "flush", "delete", "bounce"):
        st, _, res = api.call("POST", "/v1/queue/%s/%s" % (b, op), key="admin")
        assert_error(st, res, 404, "not_found")
    st, _, res = api.call("POST", "/v1/queue/%s/frobnicate" % b, key="admin")
    assert_error(st, res, 404, "not_found")
    st, _, res = api.call("POST", "/v1/queue/hold", key="read", body={"all": True})
    assert_error(st, res, 403, "forbidden")


def test_message_state(mta_api):
    api = mta_api()
    s = api.s
    q = send(s, ["bob@dead.test", "alice@example.test"], BODY)
    deferred(s, q)
    s.wait_for_mail("alice")
    # the log line comes once the records are durable, the scheduler's state a moment later
    deadline = time.monotonic() + 15
    while True:
        st, _, m = api.call("GET", "/v1/messages/" + q, key="read")
        assert st == 200
        if m["state"] != "queued" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert set(m) == {"id", "state", "recipients"} and m["id"] == q and m["state"] == "deferred"
    rb, ra = sorted(m["recipients"], key=lambda r: r["email"], reverse=True)
    assert set(rb) == {"email", "state", "attempts", "last_reply", "next_attempt", "reply",
                       "bounce", "time"}
    assert (rb["email"], rb["state"], rb["attempts"]) == ("bob@dead.test", "deferred", 1)
    assert rb["last_reply"] and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                             rb["next_attempt"])
    assert (ra["email"], ra["state"], ra["attempts"], ra["next_attempt"]) == \
        ("alice@example.test", "delivered", 0, None)
    # what the queue says, in the API's words
    [view] = queue_json(s, "show", q)
    assert {r["email"]: r["attempts"] for r in view["recipients"]} == \
        {r["email"]: r["attempts"] for r in m["recipients"]}
    # held: every recipient still to deliver is held
    assert api.call("POST", "/v1/queue/%s/hold" % q, key="admin")[0] == 200
    st, _, m = api.call("GET", "/v1/messages/" + q, key="admin")
    assert m["state"] == "held"
    assert {r["email"]: r["state"] for r in m["recipients"]} == \
        {"bob@dead.test": "held", "alice@example.test": "delivered"}
    # bounced: gone from the queue, and what became of it is the events'
    assert api.call("POST", "/v1/queue/%s/bounce" % q, key="admin")[0] == 200
    wait_gone(s, q)
    # the file goes first (on a worker); the scheduler lets go of the message a moment later
    deadline = time.monotonic() + 10
    while api.call("GET", "/v1/messages/" + q, key="read")[2]["state"] != "done":
        assert time.monotonic() < deadline, "the message stayed in the queue's index"
        time.sleep(0.05)
    for key in ("read", "admin"):
        st, _, m = api.call("GET", "/v1/messages/" + q, key=key)
        assert st == 200 and m["state"] == "done"
        assert {r["email"]: (r["state"], r["last_reply"]) for r in m["recipients"]} == \
            {"bob@dead.test": ("bounced", "delivery cancelled by the postmaster"),
             "alice@example.test": ("delivered", None)}
    st, _, res = api.call("GET", "/v1/messages/x", key="read")
    assert_error(st, res, 404, "not_found")
    st, _, res = api.call("GET", "/v1/messages/0000000000000", key="read")
    assert_error(st, res, 404, "not_found")


def test_delete_message(mta_api):
    api = mta_api()
    s = api.s
    q = send(s, ["bob@dead.test"], BODY)
    deferred(s, q)
    # a send key removes only what it sent through the API: this came by SMTP
    st, _, res = api.call("DELETE", "/v1/messages/" + q, key="send")
    assert_error(st, res, 404, "not_found")
    assert [m["id"] for m in queue_json(s, "list")] == [q]
    st, _, res = api.call("DELETE", "/v1/messages/" + q, key="read")
    assert_error(st, res, 403, "forbidden")
    st, _, res = api.call("DELETE", "/v1/messages/" + q, key="admin")
    assert (st, res) == (200, {"id": q, "state": "deleted"})
    wait_gone(s, q)
    assert queue_json(s, "list") == []
    assert s.all_mail() == []   # deleted: no notice either
    st, _, res = api.call("DELETE", "/v1/messages/" + q, key="admin")
    assert_error(st, res, 404, "not_found")


@pytest.fixture
def stalled(api_factory):
    """An API on a daemon with a message whose attempt is in flight: the peer (smtp-sink -w)
    stalls, so the attempt ends only with the 4 s timeouts."""
    port = free_port_on([SLOW])
    sink = Sink(SLOW, port, "-w", "60")
    api = api_factory(relay__trusted_networks=["127.0.0.2/32"], outbound__port=port,
                      outbound__routes=["slow.test [%s]" % SLOW], queue__retry_min="1h",
                      queue__retry_max="2h", outbound__mail_timeout="4s",
                      outbound__rcpt_timeout="4s", outbound__data_timeout="4s")
    q = send(api.s, ["bob@slow.test"], BODY)
    deadline = time.monotonic() + 15
    while queue_json(api.s, "list", q)[0]["state"] != "active":
        assert time.monotonic() < deadline, api.s.log()[-3000:]
        time.sleep(0.05)
    yield api, q
    sink.cleanup()


def test_a_reply_waits_for_the_attempt_in_flight(stalled):
    api, q = stalled
    st, _, res = api.call("POST", "/v1/queue/%s/hold" % q, key="admin", conn=api.conn(timeout=30))
    assert (st, res) == (200, {"op": "hold", "matched": 1, "done": 1, "failed": 0})
    log = api.s.log()
    # the attempt ended and was recorded first; only then the hold, and the reply
    assert log.index(q + ".1 deferred") < log.index(q + " operator op=hold"), log[-3000:]
    assert queue_json(api.s, "list", q)[0]["state"] == "held"


def test_a_client_that_leaves_is_forgotten_not_its_operation(stalled):
    api, q = stalled
    c = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    c.sendall(b"DELETE /v1/messages/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
              % (q.encode(), api.keys["admin"].encode()))
    time.sleep(0.5)
    c.close()
    wait_log(api.s, q + " removed why=deleted")
    # the reply found nobody; the daemon goes on
    wait_log(api.s, r"h\d+\.1 http peer=127\.0\.0\.1 method=DELETE path=/v1/messages/%s "
             r"status=200" % q)
    assert q not in api.s.queue_ids()
    assert api.call("GET", "/v1/health")[0] == 200
    status, _, body = parse_raw(api.raw(b"GET /v1/queue HTTP/1.1\r\nHost: x\r\nConnection: "
                                        b"close\r\nAuthorization: Bearer %s\r\n\r\n"
                                        % api.keys["admin"].encode()))
    assert (status, body) == (200, {"messages": [], "next": None})
