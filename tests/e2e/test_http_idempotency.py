"""Idempotency-Key across restarts (docs/api.md, docs/architecture.md "Idempotency-Key"): the
same key and body within 24 hours gets the first reply again and sends nothing, after a
SIGTERM and after a kill -9 right after the reply; another body is 409. The key survives in the
envelope of a message still queued (shown by a restart without the journal) and in the journal
once the message has left the queue."""
import datetime
import os
import shutil
import time

from records import Writer, kv, read
from test_http_api import api, api_factory, assert_error, keys_dir  # noqa: F401 (fixtures)
from test_queue_control import qjson


def later(seconds):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def post(api, path, body, key):
    return api.call("POST", path, "send", body, headers={"Idempotency-Key": key})


def settle(api, user, count):
    """count messages in user's mailbox, and no more for a while."""
    api.s.wait_for_mail(user, count, timeout=20)
    time.sleep(1.5)
    assert len(api.s.mail_files(user)) == count


def test_a_delivered_message_after_kill9(api):  # noqa: F811
    body = {"from": "a@example.test", "to": ["alice@example.test"], "subject": "once",
            "text": "only once\n"}
    st, _, first = post(api, "/v1/messages", body, "order-1")
    assert st == 202, first
    settle(api, "alice", 1)
    api.s.wait_log(first["id"] + r" removed why=delivered")
    # the queue file is gone: the journal alone knows the key now
    api.s.kill9()
    api.s.start()
    assert api.s.queue_ids() == []
    st, _, again = post(api, "/v1/messages", body, "order-1")
    assert (st, again) == (202, first)
    st, _, res = post(api, "/v1/messages", dict(body, text="another\n"), "order-1")
    assert_error(st, res, 409, "idempotency_conflict")
    settle(api, "alice", 1)


def test_kill9_right_after_the_reply(api):  # noqa: F811
    # scheduled a few seconds ahead: nothing is in flight when the daemon dies
    body = {"from": "a@example.test", "to": ["bob@example.test", "alice@example.test"],
            "subject": "kill", "text": "x\n", "send_at": later(4)}
    st, _, first = post(api, "/v1/messages", body, "k9")
    api.s.kill9()
    assert st == 202, first
    api.s.start()
    st, _, again = post(api, "/v1/messages", body, "k9")
    assert (st, again) == (202, first)
    assert [m["id"] for m in qjson(api.s, "list")] == [first["id"]]
    settle(api, "bob", 1)
    settle(api, "alice", 1)
    st, _, again = post(api, "/v1/messages", body, "k9")
    assert (st, again) == (202, first)


def test_the_envelope_alone_keeps_the_key(api):  # noqa: F811
    """A kill -9 may come before the journal's line is written: the queued message's envelope
    has the key, and the restart writes the line that was missing."""
    body = {"from": "a@example.test", "to": ["bob@example.test"], "subject": "env",
            "text": "y\n", "send_at": later(6)}
    st, _, first = post(api, "/v1/messages/raw", {"from": "a@example.test",
                         "to": ["bob@example.test"], "send_at": body["send_at"],
                         "message": "From: a@example.test\r\nSubject: raw\r\n\r\nz\r\n"}, "env")
    assert st == 202, first
    api.s.kill9()
    # (often it is not there yet: its thread writes a moment after the reply)
    shutil.rmtree(os.path.join(api.s.spool, "idempotency"), ignore_errors=True)
    api.s.start()
    raw = {"from": "a@example.test", "to": ["bob@example.test"], "send_at": body["send_at"],
           "message": "From: a@example.test\r\nSubject: raw\r\n\r\nz\r\n"}
    st, _, again = post(api, "/v1/messages/raw", raw, "env")
    assert (st, again) == (202, first)
    st, _, res = post(api, "/v1/messages/raw", dict(raw, message=raw["message"] + "w"), "env")
    assert_error(st, res, 409, "idempotency_conflict")
    # the restart put it back into the journal: delivered and gone, it is still known
    settle(api, "bob", 1)
    api.s.wait_log(first["id"] + r" removed why=delivered")
    api.s.restart()
    st, _, again = post(api, "/v1/messages/raw", raw, "env")
    assert (st, again) == (202, first)
    settle(api, "bob", 1)


def test_a_batch_after_a_restart(api):  # noqa: F811
    req = {"from": "news@example.test", "subject": "Hi {{n}}", "text": "{{n}}\n",
           "recipients": [{"to": "alice+%d@example.test" % i, "substitutions": {"n": str(i)}}
                          for i in range(3)]}
    st, _, first = post(api, "/v1/messages/batch", req, "batch-1")
    assert st == 202 and len(first["messages"]) == 3, first
    settle(api, "alice", 3)
    api.s.kill9()
    api.s.start()
    st, _, again = post(api, "/v1/messages/batch", req, "batch-1")
    assert (st, again) == (202, first)
    req["subject"] = "Hello {{n}}"
    st, _, res = post(api, "/v1/messages/batch", req, "batch-1")
    assert_error(st, res, 409, "idempotency_conflict")
    settle(api, "alice", 3)


def test_a_finished_file_gives_its_key_before_it_goes(api):  # noqa: F811
    """A crash after every recipient was recorded done but before the file was removed: the
    recovery removes the file, and puts its key into the journal first."""
    body = {"from": "a@example.test", "to": ["bob@example.test"], "subject": "fin",
            "text": "f\n", "send_at": later(60)}
    st, _, first = post(api, "/v1/messages", body, "fin")
    assert st == 202, first
    api.s.stop()
    path = os.path.join(api.s.spool, "queue", first["id"])
    with open(path, "rb") as f:
        records = read(f.read())
    assert [p for t, p in records if t == "M" and b"api_idem\0" in p]
    # the D record a delivery would have written, then the crash
    w = Writer()
    w.record("D", kv(("rcpt", 0), ("status", "2.0.0")), counted=False)
    with open(path, "ab") as f:
        f.write(bytes(w.data[8:]))
    shutil.rmtree(os.path.join(api.s.spool, "idempotency"))
    api.s.start()
    api.s.wait_log(first["id"] + r" removed why=\"all recipients done\"")
    st, _, again = post(api, "/v1/messages", body, "fin")
    assert (st, again) == (202, first)
    api.s.restart()
    st, _, again = post(api, "/v1/messages", body, "fin")
    assert (st, again) == (202, first)
    assert api.s.queue_ids() == [] and api.s.mail_files("bob") == []
