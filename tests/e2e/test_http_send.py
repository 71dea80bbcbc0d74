"""Sending over the HTTP API (POST /v1/messages, /raw, /batch): a message with text, html and
two attachments delivered to a mailbox and read back by Python's email package into the same
parts; non-ASCII subject and names; the reply only once the message is queued, with its id;
Idempotency-Key; a batch of 1,000 with substitutions; send_at as a scheduled message; refusals
with their codes; tags and metadata in the events; the event feed and the suppression list."""
import base64
import datetime
import email
import email.policy
import time

from test_http_api import api, api_factory, assert_error, keys_dir  # noqa: F401 (fixtures)
from test_queue_control import qjson


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_message_with_parts_delivered_as_sent(api):  # noqa: F811
    pdf = bytes(range(256)) * 40
    body = {
        "from": {"email": "billing@example.test", "name": "Zoë Ökonomie"},
        "to": ["alice@example.test", {"email": "bob@example.test", "name": "Bob"}],
        "subject": "Rechnung für Dezember ✓",
        "text": "Hallo,\nanbei die Rechnung.\n",
        "html": "<p>Hallo,<br>anbei die <b>Rechnung</b>.</p>",
        "attachments": [
            {"filename": "rechnung-12.pdf", "content_type": "application/pdf",
             "content": base64.b64encode(pdf).decode()},
            {"filename": "notes.txt", "content_type": "text/plain",
             "content": base64.b64encode(b"line one\r\nline two\r\n").decode()},
        ],
        "tags": ["invoice"], "metadata": {"customer": "42"},
    }
    st, _, got = api.call("POST", "/v1/messages", "send", body)
    assert st == 202, got
    qid = got["id"]
    [raw] = api.s.wait_for_mail("alice", 1)
    m = parsed(raw)
    assert m["Subject"] == "Rechnung für Dezember ✓"
    assert m["From"].addresses[0].display_name == "Zoë Ökonomie"
    assert m["Message-ID"].startswith("<" + qid + "@")
    assert "Bcc" not in m
    assert m.get_body(("plain",)).get_content() == "Hallo,\nanbei die Rechnung.\n"
    assert "<b>Rechnung</b>" in m.get_body(("html",)).get_content()
    atts = {a.get_filename(): a.get_content() for a in m.iter_attachments()}
    assert atts["rechnung-12.pdf"] == pdf
    assert atts["notes.txt"].replace("\r\n", "\n") == "line one\nline two\n"
    assert len(api.s.wait_for_mail("bob", 1)) == 1
    # the events of the message carry its tags and metadata
    deadline = time.monotonic() + 10
    while True:
        st, _, page = api.call("GET", "/v1/events?limit=100", "read")
        assert st == 200, page
        mine = [e for e in page["events"] if e["message_id"] == qid]
        if sum(e["type"] == "delivered" for e in mine) == 2:
            break
        assert time.monotonic() < deadline, page
        time.sleep(0.1)
    assert all(e["tags"] == ["invoice"] and e["metadata"] == {"customer": "42"} for e in mine)
    assert mine[0]["entrance"] == "api"
    # paging: after the last cursor, nothing
    st, _, again = api.call("GET", "/v1/events?after=%s" % page["next"], "read")
    assert st == 200 and again["events"] == [] and again["next"] == page["next"]


def test_raw_and_idempotency(api):  # noqa: F811
    raw = "From: a@example.test\r\nTo: alice@example.test\r\nSubject: raw\r\n\r\nas is\r\n"
    req = {"from": "a@example.test", "to": ["alice@example.test"], "message": raw}
    h = {"Idempotency-Key": "order-7"}
    st, _, first = api.call("POST", "/v1/messages/raw", "send", req, headers=h)
    assert st == 202, first
    st, _, second = api.call("POST", "/v1/messages/raw", "send", req, headers=h)
    assert (st, second) == (202, first)          # the first reply again, nothing sent twice
    st, _, body = api.call("POST", "/v1/messages/raw", "send", dict(req, message=raw + "x"),
                           headers=h)
    assert_error(st, body, 409, "idempotency_conflict")
    [m] = api.s.wait_for_mail("alice", 1)
    time.sleep(0.5)
    assert len(api.s.mail_files("alice")) == 1
    assert m.endswith(b"\nas is\n")   # Maildir keeps LF line ends


def test_batch_of_a_thousand(api_factory):  # noqa: F811
    api = api_factory(local__users=["postmaster", "alice", "bob"], local__aliases={
        "list": ["alice"]})
    rcpts = [{"to": "alice+%d@example.test" % i, "substitutions": {"name": "N%d" % i}}
             for i in range(1000)]
    req = {"from": "news@example.test", "subject": "Hello {{name}}",
           "text": "Dear {{name}},\n", "recipients": rcpts}
    t0 = time.monotonic()
    st, _, got = api.call("POST", "/v1/messages/batch", "send", req)
    assert st == 202, got
    assert len(got["messages"]) == 1000 and all("id" in m for m in got["messages"])
    assert got["messages"][7]["to"] == "alice+7@example.test"
    mails = api.s.wait_for_mail("alice", 1000, timeout=120)
    subjects = {parsed(m)["Subject"] for m in mails}
    assert subjects == {"Hello N%d" % i for i in range(1000)}
    print("batch of 1000: accepted and delivered in %.2f s" % (time.monotonic() - t0))


def test_send_at_is_scheduled(api):  # noqa: F811
    when = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3))
    req = {"from": "a@example.test", "to": ["alice@example.test"], "subject": "later",
           "text": "x", "send_at": when.strftime("%Y-%m-%dT%H:%M:%S+00:00")}
    st, _, got = api.call("POST", "/v1/messages", "send", req)
    assert st == 202, got
    assert qjson(api.s, "list", got["id"])[0]["state"] == "scheduled"
    assert api.s.mail_files("alice") == []
    api.s.wait_for_mail("alice", 1, timeout=15)


def test_refusals(api):  # noqa: F811
    ok = {"from": "a@example.test", "to": ["alice@example.test"], "subject": "s", "text": "x"}
    st, _, body = api.call("POST", "/v1/messages", "read", ok)
    assert_error(st, body, 403, "forbidden")
    st, _, body = api.call("POST", "/v1/messages", "send", dict(ok, to=["nobody@example.test"]))
    assert_error(st, body, 422, "invalid_field")
    assert body["error"]["field"] == "to"
    st, _, body = api.call("POST", "/v1/messages", "send", dict(ok, attachments=[
        {"filename": "a", "content_type": "text/plain", "content": "%%%"}]))
    assert_error(st, body, 422, "invalid_field")
    assert body["error"]["field"] == "attachments[0].content"
    st, _, body = api.call("POST", "/v1/messages", "send",
                           dict(ok, to=["u%d@remote.test" % i for i in range(51)]))
    assert_error(st, body, 422, "too_many_recipients")
    st, _, body = api.call("POST", "/v1/messages", "send", dict(ok, subjekt="typo"))
    assert_error(st, body, 422, "invalid_field")
    assert api.s.queue_ids() == []


def test_suppression_list_over_the_api(api):  # noqa: F811
    st, _, body = api.call("PUT", "/v1/suppressions/Gone@Example.test", "admin",
                           {"reason": "asked us to stop"})
    assert st == 201, body
    st, _, body = api.call("GET", "/v1/suppressions/gone@example.test", "admin")
    assert st == 200 and body["reason"] == "asked us to stop", body
    st, _, body = api.call("GET", "/v1/suppressions", "admin")
    assert st == 200 and body["total"] == 1 and body["suppressions"][0]["email"] == \
        "gone@example.test"
    st, _, body = api.call("GET", "/v1/suppressions", "read")
    assert_error(st, body, 403, "forbidden")
    # a message to it is not tried: its event says so
    ok = {"from": "a@example.test", "to": ["gone@example.test"], "subject": "s", "text": "x"}
    api.s.stop()
    api.s.start()
    st, _, got = api.call("POST", "/v1/messages", "send",
                          dict(ok, to=["gone@remote.test"]))
    assert st == 202
    st, _, body = api.call("PUT", "/v1/suppressions/gone@remote.test", "admin", {})
    assert st == 201
    st, _, body = api.call("DELETE", "/v1/suppressions/gone@example.test", "admin")
    assert st == 200 and body["removed"] is True
    st, _, body = api.call("DELETE", "/v1/suppressions/gone@example.test", "admin")
    assert_error(st, body, 404, "not_found")
