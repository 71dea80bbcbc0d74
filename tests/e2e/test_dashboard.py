"""The web dashboard over plain HTTP (the browser's tests are test_dashboard_browser.py): the
login with an admin key for a session cookie (HttpOnly, SameSite=Strict, Secure over TLS), the
refusals (a wrong key 401, no session to the login or 401, an action without its CSRF token
403), the security headers of every page, the figures of GET /v1/dashboard moving by exactly
what was sent, delivered, deferred and bounced, the top destinations in GET /metrics too, and a
message's history."""
import http.client
import json
import os
import re
import time
import urllib.parse

import pytest

from peers import Sink, free_port_on
from test_http_api import DEAD, api_factory, assert_error, keys_dir, queue_json  # noqa: F401 (fixtures)
from test_outbound import send, wait_log

SINK = "127.0.0.41"
HARD = "127.0.0.42"


def request(api, method, path, body=None, headers=None):
    """(status, headers as a dict of lists, lower-cased names, body bytes)."""
    c = api.conn()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    h = {}
    for k, v in r.getheaders():
        h.setdefault(k.lower(), []).append(v)
    return r.status, h, data


def login(api, key):
    body = urllib.parse.urlencode({"key": key})
    return request(api, "POST", "/dashboard/login", body,
                   {"Content-Type": "application/x-www-form-urlencoded"})


def session_of(api, key="admin"):
    """Logs in with an API key of api's: (the Cookie header's value, the CSRF token)."""
    st, h, _ = login(api, api.keys[key])
    assert st == 303 and h["location"] == ["/dashboard"], (st, h)
    cookie = h["set-cookie"][0].split(";")[0]
    st, h, page = request(api, "GET", "/dashboard", headers={"Cookie": cookie})
    assert st == 200, (st, page)
    csrf = re.search(rb'<meta name="csrf-token" content="([0-9a-f]{64})">', page).group(1).decode()
    return cookie, csrf


def js(data):
    return json.loads(data) if data else None


def assert_page_headers(h):
    csp = h["content-security-policy"][0]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["x-content-type-options"] == ["nosniff"]
    assert h["x-frame-options"] == ["DENY"]


@pytest.fixture
def dash(api_factory):  # noqa: F811
    """A daemon with the API, relaying for 127.0.0.2: sink.test to smtp-sink, hard.test to a
    smtp-sink that refuses every RCPT for good, dead.test to a port where nothing listens
    (deferred, retried an hour later)."""
    sinks = []

    def make(**overrides):
        sink_port = free_port_on([SINK])
        hard_port = free_port_on([HARD])
        dead_port = free_port_on([DEAD])
        sinks.append(Sink(SINK, sink_port))
        sinks.append(Sink(HARD, hard_port, "-f", "RCPT"))
        conf = dict(relay__trusted_networks=["127.0.0.2/32"],
                    outbound__routes=["sink.test [%s]:%d" % (SINK, sink_port),
                                      "hard.test [%s]:%d" % (HARD, hard_port),
                                      "dead.test [%s]:%d" % (DEAD, dead_port)],
                    queue__retry_min="1h", queue__retry_max="2h")
        conf.update(overrides)
        api = api_factory(**conf)
        api.sink = sinks[0]
        return api
    yield make
    for s in sinks:
        s.cleanup()


def test_the_dashboard_can_be_turned_off(api_factory):
    api = api_factory(http__dashboard=False)
    for method, path in (("GET", "/dashboard"), ("GET", "/dashboard/login"),
                         ("POST", "/dashboard/login"), ("GET", "/dashboard/assets/app.js")):
        st, _, data = request(api, method, path)
        assert_error(st, js(data), 404, "not_found")
    st, _, body = api.call("GET", "/v1/dashboard", key="admin")
    assert_error(st, body, 404, "not_found")
    # the API beside it is served as before
    assert api.call("GET", "/v1/queue", key="admin")[0] == 200
    assert api.call("GET", "/v1/health")[0] == 200


def test_login_sessions_and_csrf(dash):
    api = dash()
    # no session: the page sends to the login, the JSON says 401
    st, h, _ = request(api, "GET", "/dashboard")
    assert (st, h["location"]) == (303, ["/dashboard/login"])
    assert_page_headers(h)
    st, h, body = request(api, "GET", "/v1/dashboard")
    assert st == 401 and js(body)["error"]["code"] == "unauthorized"
    st, h, page = request(api, "GET", "/dashboard/login")
    assert st == 200 and h["content-type"] == ["text/html; charset=utf-8"]
    assert b'<form method="post" action="/dashboard/login">' in page
    assert_page_headers(h)
    # a wrong key: 401, no cookie; a key without the admin scope: 403
    st, h, page = login(api, "sterna_aaaaaaaaaaaaaaaa_" + "a" * 52)
    assert st == 401 and "set-cookie" not in h and b'class="error"' in page
    st, h, page = login(api, "not even a key")
    assert st == 401 and "set-cookie" not in h
    st, h, page = login(api, api.keys["read"])
    assert st == 403 and "set-cookie" not in h
    # the admin key: a cookie the page's script cannot read, sent to this site only
    st, h, _ = login(api, api.keys["admin"])
    assert st == 303 and h["location"] == ["/dashboard"]
    attrs = [a.strip() for a in h["set-cookie"][0].split(";")]
    assert re.fullmatch(r"sterna_session=[0-9a-f]{64}", attrs[0])
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attrs)
    assert "Secure" not in attrs        # plain HTTP: a Secure cookie would never come back
    cookie = attrs[0]
    st, h, page = request(api, "GET", "/dashboard", headers={"Cookie": "a=b; " + cookie})
    assert st == 200 and h["content-type"] == ["text/html; charset=utf-8"]
    assert_page_headers(h)
    assert h["cache-control"] == ["no-store"]
    csrf = re.search(rb'name="csrf-token" content="([0-9a-f]{64})"', page).group(1).decode()
    assert csrf not in cookie
    # the figures and the queue with the session; an admin key does as well
    st, _, body = request(api, "GET", "/v1/dashboard", headers={"Cookie": cookie})
    assert st == 200 and {"minutes", "queue", "destinations", "bounces", "recent", "tls",
                          "sessions", "host", "now"} <= set(js(body))
    st, _, body = request(api, "GET", "/v1/dashboard",
                          headers={"Authorization": "Bearer " + api.keys["admin"]})
    assert st == 200
    st, _, body = request(api, "GET", "/v1/dashboard",
                          headers={"Authorization": "Bearer " + api.keys["read"]})
    assert st == 403 and js(body)["error"]["code"] == "forbidden"
    # a message to act on: deferred, it stays
    qid = send(api.s, ["bob@dead.test"], b"Subject: x\r\n\r\nbody\r\n")
    wait_log(api.s, qid + r"\.1 deferred ")
    # an action needs the session's CSRF token: none, a wrong one, then the right one
    st, _, body = request(api, "POST", "/v1/queue/%s/hold" % qid, headers={"Cookie": cookie})
    assert st == 403 and js(body)["error"]["code"] == "forbidden"
    assert "X-CSRF-Token" in js(body)["error"]["message"]
    st, _, body = request(api, "POST", "/v1/queue/%s/hold" % qid,
                          headers={"Cookie": cookie, "X-CSRF-Token": "0" * 64})
    assert st == 403
    assert queue_json(api.s, "list")[0]["state"] == "deferred"
    st, _, body = request(api, "POST", "/v1/queue/%s/hold" % qid,
                          headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    assert st == 200 and js(body) == {"op": "hold", "matched": 1, "done": 1, "failed": 0}
    assert queue_json(api.s, "list")[0]["state"] == "held"
    # a session opens the dashboard's routes and the queue's, nothing else (sending, events)
    st, _, body = request(api, "GET", "/v1/events", headers={"Cookie": cookie})
    assert st == 401
    st, _, body = request(api, "POST", "/v1/messages", b"{}",
                          headers={"Cookie": cookie, "X-CSRF-Token": csrf,
                                   "Content-Type": "application/json"})
    assert st == 401
    # a cookie that is not a session's
    st, _, _ = request(api, "GET", "/v1/dashboard",
                       headers={"Cookie": "sterna_session=" + "1" * 64})
    assert st == 401
    # log out: the cookie is cleared and the session ends
    st, h, body = request(api, "POST", "/dashboard/logout", headers={"Cookie": cookie})
    assert st == 403
    st, h, body = request(api, "POST", "/dashboard/logout",
                          headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    assert st == 200 and "Max-Age=0" in h["set-cookie"][0]
    st, _, _ = request(api, "GET", "/v1/dashboard", headers={"Cookie": cookie})
    assert st == 401
    st, h, _ = request(api, "GET", "/dashboard", headers={"Cookie": cookie})
    assert (st, h["location"]) == (303, ["/dashboard/login"])


def test_a_removed_key_ends_its_sessions(dash):
    api = dash()
    cookie, _ = session_of(api)
    assert request(api, "GET", "/v1/dashboard", headers={"Cookie": cookie})[0] == 200
    admin_id = api.keys["admin"].split("_")[1]
    with open(api.keys_file) as f:
        lines = [ln for ln in f if admin_id not in ln]
    with open(api.keys_file + ".new", "w") as f:
        f.writelines(lines)
    os.chmod(api.keys_file + ".new", 0o644)
    os.rename(api.keys_file + ".new", api.keys_file)
    deadline = time.monotonic() + 10
    while request(api, "GET", "/v1/dashboard", headers={"Cookie": cookie})[0] != 401:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    st, h, _ = request(api, "GET", "/dashboard", headers={"Cookie": cookie})
    assert (st, h["location"]) == (303, ["/dashboard/login"])


def test_secure_cookie_over_tls(dash, tmp_path):
    api = dash(tls_dir=str(tmp_path))
    st, h, _ = login(api, api.keys["admin"])
    assert st == 303
    attrs = [a.strip() for a in h["set-cookie"][0].split(";")]
    assert {"Secure", "HttpOnly", "SameSite=Strict"} <= set(attrs)


def test_assets(dash):
    api = dash()
    for name, ctype in (("app.js", "text/javascript; charset=utf-8"),
                        ("app.css", "text/css; charset=utf-8"),
                        ("icon.svg", "image/svg+xml")):
        st, h, data = request(api, "GET", "/dashboard/assets/" + name)
        assert st == 200 and h["content-type"] == [ctype] and len(data) > 100, name
        assert_page_headers(h)
    # the pages only through their routes (with their tokens), and nothing else
    for name in ("index.html", "login.html", "nothing.js", "..%2fapp.js"):
        st, _, body = request(api, "GET", "/dashboard/assets/" + name)
        assert st == 404, name
    # nothing in them names another site to load from (the SVG namespace is a name, not a load)
    for name in ("app.js", "app.css"):
        data = request(api, "GET", "/dashboard/assets/" + name)[2].decode()
        assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", data), name
        assert "@import" not in data


def figures(api, cookie):
    st, _, body = request(api, "GET", "/v1/dashboard", headers={"Cookie": cookie})
    assert st == 200
    return js(body)


def test_figures_follow_the_mail(dash):
    api = dash()
    cookie, _ = session_of(api)
    before = figures(api, cookie)
    assert sum(before["minutes"]["in"]) == 0 and len(before["minutes"]["in"]) == 60
    # two to a mailbox here, three to the sink (in one message), one deferred, one bounced
    send(api.s, ["alice@example.test"], b"Subject: 1\r\n\r\nbody\r\n")
    send(api.s, ["alice@example.test"], b"Subject: 2\r\n\r\nbody\r\n")
    send(api.s, ["a@sink.test", "b@sink.test", "c@SINK.test"], b"Subject: 3\r\n\r\nbody\r\n")
    deferred = send(api.s, ["bob@dead.test"], b"Subject: 4\r\n\r\nbody\r\n")
    bounced = send(api.s, ["nobody@hard.test"], b"Subject: 5\r\n\r\nbody\r\n")
    # the bounce's notice to its sender (alice) is a message in and out too
    api.s.wait_for_mail("alice", 3)
    api.sink.wait_messages(1)
    deadline = time.monotonic() + 20
    while True:
        f = figures(api, cookie)
        m = f["minutes"]
        # the queue's counts are at most a few seconds old (a paced walk)
        if sum(m["out"]) >= 6 and sum(m["deferred"]) >= 1 and f["bounces"] and \
           f["queue"]["total"] == 1:
            break
        assert time.monotonic() < deadline, f
        time.sleep(0.2)
    assert sum(m["in"]) == 6                      # messages (5 and the notice), not recipients
    assert sum(m["out"]) == 6                     # recipients: 3 here, 3 at the sink
    assert sum(m["deferred"]) == 1
    assert sum(m["failed"]) == 1
    assert f["tls"]["in"] == {"tls": 0, "total": 6}
    assert f["tls"]["out"] == {"tls": 0, "total": 3}
    dests = {d["name"]: d for d in f["destinations"]}
    assert dests["sink.test"]["delivered"] == 3 and dests["sink.test"]["connections"] == 1
    assert dests["sink.test"]["deferral_rate"] == 0
    assert dests["dead.test"]["deferred"] == 1 and dests["dead.test"]["deferral_rate"] == 1
    assert dests["hard.test"]["failed"] == 1
    assert dests["example.test"]["delivered"] == 3
    b = f["bounces"][0]
    assert b["message_id"] == bounced and b["recipient"] == "nobody@hard.test"
    assert b["type"] == "bounced" and b["bounce"]["class"] == "hard" and b["code"] // 100 == 5
    assert b["bounce"]["category"] and b["reply"]
    assert f["queue"]["deferred"] == 1 and f["queue"]["total"] == 1
    assert f["sessions"]["dashboard"] == 1
    assert {e["message_id"] for e in f["recent"]} >= {deferred, bounced}
    # a message's history: received, then deferred
    st, _, body = request(api, "GET", "/v1/dashboard/messages/" + deferred,
                          headers={"Cookie": cookie})
    h = js(body)
    assert st == 200 and [e["type"] for e in h["events"]] == ["received", "deferred"]
    assert h["events"][1]["attempt"] == 1 and h["events"][1]["next_attempt"]
    st, _, body = request(api, "GET", "/v1/dashboard/messages/nope", headers={"Cookie": cookie})
    assert st == 404
    # the top destinations in GET /metrics too, one series per row of the table
    st, _, body = request(api, "GET", "/metrics")
    text = body.decode()
    assert 'sterna_destination_delivered_total{destination="sink.test"} 3\n' in text
    assert 'sterna_destination_connections_total{destination="sink.test"} 1\n' in text
    assert 'sterna_destination_deferred_total{destination="dead.test"} 1\n' in text
    assert 'sterna_destination_failed_total{destination="hard.test"} 1\n' in text
