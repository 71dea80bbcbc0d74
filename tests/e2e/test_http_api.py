"""The HTTP API (docs/api.md) with real clients: Python's http.client and urllib, curl, and raw
sockets where a test needs the exact bytes. Every refusal with the input that earns it and the
one error shape; keys made by `sterna apikey new`, changed on disk while the daemon runs; TLS
with a throwaway certificate; the bounds (bodies, heads, slow and idle clients, connections).
The queue over HTTP is test_http_queue.py's, with the fixtures of this file."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
import warnings

import pytest

from conftest import STERNA_BIN, free_port, make_cert
from peers import free_port_on
from test_outbound import wait_log

DEAD = "127.0.0.33"
ERROR_KEYS = {"code", "message"}


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, **kw)


def new_key(keys_file, scopes, rate=None, name=None):
    """sterna apikey new -f KEYS_FILE: the key it prints (once, on standard output)."""
    cmd = [STERNA_BIN, "apikey", "new", "-f", keys_file, "--scopes", scopes]
    if rate:
        cmd += ["--rate", rate]
    if name:
        cmd += ["--name", name]
    r = run(cmd)
    assert r.returncode == 0, r.stderr
    key = r.stdout.decode().strip()
    assert re.fullmatch(r"sterna_[a-z2-7]{16}_[a-z2-7]{52}", key), key
    return key


def key_id(key):
    return key.split("_")[1]


class Api:
    """A daemon with an HTTP listener and keys: admin, read, send (and others a test makes)."""

    def __init__(self, s, port, keys_file, keys, scheme="http", ctx=None):
        self.s, self.port, self.keys_file, self.keys = s, port, keys_file, keys
        self.scheme, self.ctx = scheme, ctx

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def conn(self, timeout=10):
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, key=None, body=None, headers=None, conn=None):
        """One request: (status, headers, body parsed as JSON when it is JSON)."""
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = "Bearer " + self.keys.get(key, key)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = conn or self.conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
        if conn is None:
            c.close()
        ctype = r.getheader("Content-Type")
        assert ctype == "application/json", (r.status, ctype, raw)
        return r.status, r.headers, json.loads(raw) if raw else None

    def raw(self, data, timeout=10, shut=False):
        """The bytes data on a fresh connection, and everything the server says until it
        closes (or the timeout)."""
        c = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        c.sendall(data)
        if shut:
            c.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
        c.close()
        return out


def assert_error(status, body, want_status, code):
    assert status == want_status, (status, body)
    assert set(body) == {"error"}, body
    assert set(body["error"]) >= ERROR_KEYS and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def parse_raw(raw):
    """A whole HTTP/1.1 response as bytes: (status, headers dict lowercased, JSON body)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers["content-length"])
    assert len(body) == n, (raw, n)
    return status, headers, json.loads(body)


@pytest.fixture
def keys_dir():
    d = tempfile.mkdtemp(prefix="sterna-keys-")
    # the daemon reads the file again as server.user (nobody, when the tests run as root)
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def api_factory(sterna_factory, keys_dir):
    def make(tls_dir=None, keys=None, **overrides):
        keys_file = os.path.join(keys_dir, "api_keys")
        if not os.path.exists(keys_file):
            with open(keys_file, "w") as f:
                f.write("# the API keys of the tests\n")
            os.chmod(keys_file, 0o644)
        made = {}
        for name, (scopes, rate) in (keys or {"admin": ("admin", None), "read": ("read", None),
                                             "send": ("send", None)}).items():
            made[name] = new_key(keys_file, scopes, rate, name)
        port = free_port()
        conf = dict(http__listen__api__address="127.0.0.1:%d" % port,
                    http__keys_file=keys_file)
        ctx = None
        if tls_dir is not None:
            chain, key = make_cert(tls_dir, "localhost")
            conf.update(tls__cert__localhost__chain=chain, tls__cert__localhost__key=key,
                        http__listen__api__tls=True)
            ctx = ssl.create_default_context(cafile=chain)
        conf.update(overrides)
        s = sterna_factory(**conf)
        return Api(s, port, keys_file, made, "https" if tls_dir else "http", ctx)
    return make


@pytest.fixture
def api(api_factory):
    return api_factory()


@pytest.fixture
def mta_api(api_factory):
    """An API on a daemon that relays for 127.0.0.2 and keeps mail for dead.test deferred (its
    route leads to a port where nothing listens; retries an hour apart)."""
    port = free_port_on([DEAD])

    def make(**overrides):
        conf = dict(relay__trusted_networks=["127.0.0.2/32"], outbound__port=port,
                    outbound__routes=["dead.test [%s]" % DEAD],
                    queue__retry_min="1h", queue__retry_max="2h")
        conf.update(overrides)
        return api_factory(**conf)
    return make


def queue_json(s, *args):
    r = run([STERNA_BIN, "queue", "-c", s.conf, "--json"] + list(args))
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def deferred(s, *qids):
    for q in qids:
        wait_log(s, q + r"\.1 deferred ")


# ---- the server, keys and errors ------------------------------------------------------------

def test_health_needs_no_key(api):
    assert api.call("GET", "/v1/health")[::2] == (200, {"status": "ok"})
    r = run(["curl", "-s", "-i", api.url + "/v1/health"])
    assert r.returncode == 0
    assert r.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: application/json\r\n" in r.stdout
    assert r.stdout.endswith(b'\r\n\r\n{"status":"ok"}\n')
    wait_log(api.s, r"h\d+\.1 http peer=127\.0\.0\.1 method=GET path=/v1/health status=200 "
             r"key=- code=- ms=\d+")


def test_missing_and_wrong_keys(api):
    st, h, body = api.call("GET", "/v1/queue")
    assert_error(st, body, 401, "unauthorized")
    assert h["WWW-Authenticate"] == "Bearer"
    # a key of the right form whose secret is wrong, another server's, and garbage
    admin = api.keys["admin"]
    wrong = admin[:-1] + ("a" if admin[-1] != "a" else "b")
    for k in (wrong, "sterna_" + "a" * 16 + "_" + "b" * 52, "hello", admin + "x"):
        st, h, body = api.call("GET", "/v1/queue", key=k)
        assert_error(st, body, 401, "unauthorized")
        assert h["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    st, _, body = api.call("GET", "/v1/queue", headers={"Authorization": "Basic " + admin})
    assert_error(st, body, 401, "unauthorized")
    # the scheme's case does not matter (RFC 7235 2.1)
    assert api.call("GET", "/v1/queue", headers={"Authorization": "bearer " + admin})[0] == 200
    # the secret never reaches the log
    assert admin.split("_")[2] not in api.s.log()


def test_missing_scope(api):
    for key in ("read", "send"):
        st, _, body = api.call("GET", "/v1/queue", key=key)
        assert_error(st, body, 403, "forbidden")
    assert api.call("GET", "/v1/queue", key="admin")[0] == 200
    # a read key reads messages; a send key does not
    st, _, body = api.call("GET", "/v1/messages/0000000000000", key="send")
    assert_error(st, body, 403, "forbidden")
    st, _, body = api.call("GET", "/v1/messages/0000000000000", key="read")
    assert_error(st, body, 404, "not_found")


def test_unknown_path_and_wrong_method(api):
    for path in ("/", "/v2/queue", "/v1/queue/x/y/z", "/v1//queue", "/v1/queue/", "/v1/%2e%2e"):
        st, _, body = api.call("GET", path, key="admin")
        assert_error(st, body, 404, "not_found")
    st, h, body = api.call("PUT", "/v1/queue", key="admin")
    assert_error(st, body, 405, "method_not_allowed")
    assert h["Allow"] == "GET, HEAD"
    st, h, body = api.call("POST", "/v1/messages/0000000000000", key="admin")
    assert_error(st, body, 405, "method_not_allowed")
    assert h["Allow"] == "GET, HEAD, DELETE"
    # a method HTTP has but we do not speak, and one it has not
    for method in ("TRACE", "BREW"):
        status, h, body = parse_raw(api.raw(b"%s /v1/health HTTP/1.1\r\nHost: x\r\n\r\n" %
                                            method.encode()))
        assert_error(status, body, 501, "not_implemented")
        assert h["connection"] == "close"
    # HEAD is GET without the body
    c = api.conn()
    c.request("HEAD", "/v1/health")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b""
    c.close()


def test_bad_json(api):
    def post(body, ctype="application/json"):
        return api.call("POST", "/v1/queue/hold", key="admin", body=body,
                        headers={"Content-Type": ctype})
    for body in (b'{"filter":', b"", b"{'all': true}", b'{"all": true} {}', b'{"all":tru}',
                 b'\xff{"all": true}', b'{"a\\u0000": 1}', b'{"all": true, "all": true}',
                 b"[1, 2]", b'"all"', b"17"):
        st, _, res = post(body)
        assert_error(st, res, 400, "invalid_json")
    # nested one level too deep, judged before the parser sees it
    st, _, res = post(b"[" * 17 + b"]" * 17)
    assert_error(st, res, 400, "invalid_json")
    assert "nested deeper than 16 levels" in res["error"]["message"]
    st, _, res = post(b'{"filter": {"id": "' + b"[" * 100 + b'"}}')  # brackets in a string
    assert_error(st, res, 422, "invalid_field")
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        st, _, res = post(b'{"all": true}', ctype)
        assert_error(st, res, 415, "unsupported_media_type")
    assert post(b'{"all": false, "filter": {"state": "held"}}',
                "application/json; charset=utf-8")[0] == 200
    # curl's default type for -d is a form: refused, and said why
    r = run(["curl", "-s", "-H", "Authorization: Bearer " + api.keys["admin"], "-d",
             '{"all":true}', api.url + "/v1/queue/hold"])
    assert json.loads(r.stdout)["error"]["code"] == "unsupported_media_type"


def test_bad_request_fields(mta_api):
    api = mta_api()
    st, _, res = api.call("POST", "/v1/queue/hold", key="admin", body={})
    assert_error(st, res, 400, "invalid_request")
    assert "give one, or \"all\": true" in res["error"]["message"]
    st, _, res = api.call("POST", "/v1/queue/hold", key="admin", body={"filter": {"state": "x"}})
    assert_error(st, res, 422, "invalid_field")
    assert res["error"]["field"] == "filter"
    st, _, res = api.call("POST", "/v1/queue/hold", key="admin", body={"colour": 1})
    assert_error(st, res, 400, "invalid_request")
    st, _, res = api.call("POST", "/v1/queue/hold", key="admin", body={"all": "yes"})
    assert_error(st, res, 422, "invalid_field")
    for q in ("limit=0", "limit=1001", "limit=x", "after=nope", "colour=red", "state=frozen",
              "min_age_s=-1", "min_age_s=60&max_age_s=30"):
        st, _, res = api.call("GET", "/v1/queue?" + q, key="admin")
        assert_error(st, res, 400, "invalid_request")


def test_body_too_large_with_content_length(api_factory):
    api = api_factory(http__max_body="1kb")
    # said before the body is read: the head alone gets the answer
    head = (b"POST /v1/queue/hold HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1025\r\n\r\n" %
            api.keys["admin"].encode())
    status, h, body = parse_raw(api.raw(head, timeout=5))
    assert_error(status, body, 413, "body_too_large")
    assert h["connection"] == "close"
    # exactly the bound is read and judged
    prefix, suffix = b'{"all": false, "filter": {"sender": "', b'"}}'
    body = prefix + b"a" * (1024 - len(prefix) - len(suffix)) + suffix
    st, _, res = api.call("POST", "/v1/queue/hold", key="admin", body=body,
                          headers={"Content-Type": "application/json"})
    assert (st, res["matched"]) == (200, 0), res
    # a real client sending the whole of a large body gets the error, not a reset
    big = os.path.join(api.s.dir, "big.json")
    with open(big, "wb") as f:
        f.write(b'{"x": "' + b"a" * 300000 + b'"}')
    r = run(["curl", "-s", "-H", "Authorization: Bearer " + api.keys["admin"], "-H",
             "Content-Type: application/json", "--data-binary", "@" + big,
             api.url + "/v1/queue/hold"])
    assert json.loads(r.stdout)["error"]["code"] == "body_too_large", r.stdout
    c = api.conn()
    c.request("POST", "/v1/queue/hold", body=b"x" * 200000,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 413 and json.loads(r.read())["error"]["code"] == "body_too_large"
    c.close()
    wait_log(api.s, r"h\d+ http_refused peer=127\.0\.0\.1 status=413 code=body_too_large")


def test_body_too_large_without_content_length(api_factory):
    api = api_factory(http__max_body="1kb")
    head = (b"POST /v1/queue/hold HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" %
            api.keys["admin"].encode())
    chunks = b"200\r\n" + b"a" * 512 + b"\r\n"
    status, _, body = parse_raw(api.raw(head + chunks * 3, timeout=5))
    assert_error(status, body, 413, "body_too_large")
    # http.client sends a generator chunked
    c = api.conn()
    c.request("POST", "/v1/queue/hold", body=(b"x" * 600 for _ in range(4)),
              headers={"Content-Type": "application/json",
                       "Authorization": "Bearer " + api.keys["admin"]}, encode_chunked=True)
    r = c.getresponse()
    assert r.status == 413 and json.loads(r.read())["error"]["code"] == "body_too_large"
    c.close()
    # under the bound, chunked is fine
    c = api.conn()
    c.request("POST", "/v1/queue/hold", body=(p for p in (b'{"all"', b": true}")),
              headers={"Content-Type": "application/json",
                       "Authorization": "Bearer " + api.keys["admin"]}, encode_chunked=True)
    r = c.getresponse()
    assert r.status == 200, r.read()
    assert json.loads(r.read())["op"] == "hold"
    c.close()


def test_framing_that_could_be_read_two_ways_is_refused(api):
    """Refused before any key is looked at: the framing is judged first."""
    for head in (b"POST /v1/queue/hold HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: "
                 b"chunked\r\n\r\n0\r\n\r\n",
                 b"POST /v1/queue/hold HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
                 b"GET /v1/health HTTP/1.1\nHost: x\n\n",
                 b"GET /v1/health HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
                 b"GET /v1/health HTTP/1.1\r\nHost : x\r\n\r\n",
                 b"POST /v1/queue/hold HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"3;x=1\r\nabc\r\n0\r\n\r\n",
                 b"POST /v1/queue/hold HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\nX-Trailer: 1\r\n\r\n"):
        status, h, body = parse_raw(api.raw(head))
        assert_error(status, body, 400, "invalid_request")
        assert h["connection"] == "close"
    status, _, body = parse_raw(api.raw(b"POST /v1/queue/hold HTTP/1.1\r\nTransfer-Encoding: "
                                        b"gzip\r\n\r\n"))
    assert_error(status, body, 501, "not_implemented")
    status, _, body = parse_raw(api.raw(b"POST /v1/queue/hold HTTP/1.1\r\nExpect: 200-ok\r\n"
                                        b"Content-Length: 1\r\n\r\n"))
    assert_error(status, body, 417, "expectation_failed")


def test_pipelined_requests_are_answered_in_order(api):
    key = api.keys["admin"].encode()
    out = api.raw(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /v1/queue HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + b"\r\n\r\n"
                  b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"BREW / HTTP/1.1\r\n\r\n", timeout=5)
    parts = re.split(rb"(?=HTTP/1\.1 \d{3} )", out)[1:]
    assert [int(p[9:12]) for p in parts] == [200, 200, 404, 501], out


def test_headers_too_large(api_factory):
    api = api_factory(http__max_header_bytes="1kb", http__max_headers=8)
    status, h, body = parse_raw(api.raw(b"GET /v1/health HTTP/1.1\r\nX: " + b"a" * 1100 +
                                        b"\r\n\r\n"))
    assert_error(status, body, 431, "headers_too_large")
    assert h["connection"] == "close"
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(9))
    status, _, body = parse_raw(api.raw(b"GET /v1/health HTTP/1.1\r\n" + many + b"\r\n"))
    assert_error(status, body, 431, "headers_too_large")
    c = api.conn()
    c.request("GET", "/v1/health", headers={"X-%d" % i: "1" for i in range(6)})
    assert c.getresponse().status == 200
    c.close()


def test_slow_and_idle_clients(api_factory):
    api = api_factory(http__request_timeout="1s", http__idle_timeout="2s")
    # a head that trickles: 408, then the connection ends
    c = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    c.sendall(b"GET /v1/health HTTP/1.1\r\n")
    time.sleep(0.5)
    c.sendall(b"Host: x\r\n")
    out = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        out += b
    status, _, body = parse_raw(out)
    assert_error(status, body, 408, "request_timeout")
    c.close()
    # a body that trickles likewise
    c = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    c.sendall(b"POST /v1/queue/hold HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    status, _, body = parse_raw(c.recv(4096))
    assert_error(status, body, 408, "request_timeout")
    c.close()
    # an idle connection is closed, without a word
    c = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    assert c.recv(4096) == b""
    c.close()


def test_requests_per_connection_and_keep_alive(api_factory):
    api = api_factory(http__max_requests_per_connection=3)
    c = api.conn()
    seen = []
    for _ in range(3):
        c.request("GET", "/v1/health")
        r = c.getresponse()
        r.read()
        seen.append(r.getheader("Connection"))
    assert seen == [None, None, "close"]
    c.close()
    log = api.s.log()
    # one connection for the three
    assert re.search(r"h(\d+)\.3 http .*path=/v1/health status=200", log)
    conn_ids = set(re.findall(r"h(\d+)\.\d+ http ", log))
    assert len(conn_ids) == 1, log


def test_connections_at_once(api_factory):
    api = api_factory(http__max_connections=2)
    a = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    b = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    time.sleep(0.3)
    # the third waits in the kernel's backlog: no answer until one of the two closes
    c = socket.create_connection(("127.0.0.1", api.port), timeout=1)
    c.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with pytest.raises(socket.timeout):
        c.recv(4096)
    a.close()
    c.settimeout(5)
    out = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        out += d
    assert parse_raw(out)[0] == 200
    b.close()
    c.close()


def test_rate_limited(api_factory):
    api = api_factory(keys={"admin": ("admin", "3/min"), "free": ("read", "none")},
                      http__requests_per_minute=0)
    for _ in range(3):
        assert api.call("GET", "/v1/queue", key="admin")[0] == 200
    st, h, body = api.call("GET", "/v1/queue", key="admin")
    assert_error(st, body, 429, "rate_limited")
    assert 1 <= int(h["Retry-After"]) <= 70
    # the limit is the key's, not the client's
    for _ in range(10):
        assert api.call("GET", "/v1/messages/0000000000000", key="free")[0] == 404
    wait_log(api.s, r"http .*status=429 key=%s code=rate_limited" % key_id(api.keys["admin"]))


def test_default_rate(api_factory):
    api = api_factory(http__requests_per_minute=2)
    assert api.call("GET", "/v1/queue", key="admin")[0] == 200
    assert api.call("GET", "/v1/queue", key="admin")[0] == 200
    assert api.call("GET", "/v1/queue", key="admin")[0] == 429
    assert api.call("GET", "/v1/queue", key="read")[0] == 403  # its own count


def test_tls_listener(api_factory, cert_dir):
    api = api_factory(tls_dir=cert_dir)
    assert api.call("GET", "/v1/health")[::2] == (200, {"status": "ok"})
    assert api.call("GET", "/v1/queue", key="admin")[0] == 200
    r = urllib.request.urlopen(urllib.request.Request(
        api.url + "/v1/queue", headers={"Authorization": "Bearer " + api.keys["admin"]}),
        context=api.ctx, timeout=10)
    assert json.loads(r.read()) == {"messages": [], "next": None}
    r = run(["curl", "-s", "--cacert", os.path.join(cert_dir, "localhost.pem"),
             "https://localhost:%d/v1/health" % api.port])
    assert json.loads(r.stdout) == {"status": "ok"}, r.stderr
    # the same hardening as SMTP's: nothing older than TLS 1.2
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(os.path.join(cert_dir, "localhost.pem"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
            old.wrap_socket(raw, server_hostname="localhost").close()
    # plain HTTP to the TLS port gets no HTTP answer
    out = api.raw(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
    assert not out.startswith(b"HTTP/")
    # a 413 goes out inside TLS too
    c = api.conn()
    c.request("POST", "/v1/queue/hold", body=b"x" * 100,
              headers={"Content-Type": "application/json", "Content-Length": "999999999999"})
    r = c.getresponse()
    assert r.status == 413
    c.close()


# ---- keys -----------------------------------------------------------------------------------

def test_apikey_new(keys_dir):
    keys_file = os.path.join(keys_dir, "api_keys")
    key = new_key(keys_file, "send,read", "120/min", "billing")
    with open(keys_file) as f:
        text = f.read()
    assert re.fullmatch(r"%s sha256:[0-9a-f]{64} scopes=send,read rate=120/min name=billing\n"
                        % key_id(key), text), text
    assert key.split("_")[2] not in text   # the secret is printed once and kept nowhere
    assert oct(os.stat(keys_file).st_mode & 0o777) == "0o640"
    key2 = new_key(keys_file, "admin")
    assert key2 != key
    with open(keys_file) as f:
        assert f.read().splitlines()[1].startswith(key_id(key2) + " sha256:")
    # refused: bad scopes, rate, name; a keys file the daemon would refuse is left alone
    for args in (["--scopes", "root"], ["--scopes", "send", "--rate", "5/day"],
                 ["--scopes", "send", "--name", "a b"], []):
        r = run([STERNA_BIN, "apikey", "new", "-f", keys_file] + args)
        assert r.returncode == 2, (args, r.stderr)
    with open(keys_file, "a") as f:
        f.write("garbage\n")
    r = run([STERNA_BIN, "apikey", "new", "-f", keys_file, "--scopes", "send"])
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode() == ("sterna apikey: %s:3: 'garbage' is not a key id (16 characters "
                                 "of a-z and 2-7, as sterna apikey new writes it)\n" % keys_file)


def test_bad_keys_file_stops_check_and_start(sterna_factory, keys_dir):
    keys_file = os.path.join(keys_dir, "api_keys")
    new_key(keys_file, "admin")
    with open(keys_file, "a") as f:
        f.write("# next\n\n%s sha256:%s scopes=send,frobnicate\n" % ("b" * 16, "0" * 64))
    os.chmod(keys_file, 0o644)
    port = free_port()
    conf = dict(http__listen__api__address="127.0.0.1:%d" % port, http__keys_file=keys_file)
    why = ("%s:4: scopes: 'send,frobnicate' is not a list of send, read, admin (once each, "
           "comma-separated)" % keys_file)
    # sterna check on a configuration of its own with this keys file
    d = tempfile.mkdtemp(prefix="sterna-check-")
    try:
        path = os.path.join(d, "s.conf")
        with open(path, "w") as f:
            f.write('server { hostname = "mx.example.test"; }\nlisten "mx" { address = '
                    '"127.0.0.1:%d"; }\nspool { dir = "%s/spool"; }\nhttp {\n listen "api" { '
                    'address = "127.0.0.1:%d"; }\n keys_file = "%s";\n}\n'
                    % (free_port(), d, port, keys_file))
        r = run([STERNA_BIN, "check", "-c", path])
        assert r.returncode == 1
        assert r.stderr.decode().splitlines()[0] == why
    finally:
        shutil.rmtree(d, ignore_errors=True)
    with pytest.raises(pytest.fail.Exception):
        sterna_factory(**conf)


def test_keys_file_changed_on_disk(api):
    s = api.s
    admin = api.keys["admin"]
    # a key added while the daemon runs works within about a second
    later = new_key(api.keys_file, "admin", name="later")
    deadline = time.monotonic() + 5
    while api.call("GET", "/v1/queue", key=later)[0] != 200:
        assert time.monotonic() < deadline, s.log()[-3000:]
        time.sleep(0.2)
    wait_log(s, r"http\.keys_file: %s read again \(keys: 4\)" % re.escape(api.keys_file))
    # a line removed: that key is out
    with open(api.keys_file) as f:
        lines = f.readlines()
    with open(api.keys_file + ".new", "w") as f:
        f.writelines(l for l in lines if not l.startswith(key_id(admin)))
    os.chmod(api.keys_file + ".new", 0o644)
    os.rename(api.keys_file + ".new", api.keys_file)
    deadline = time.monotonic() + 5
    while api.call("GET", "/v1/queue", key=admin)[0] != 401:
        assert time.monotonic() < deadline, s.log()[-3000:]
        time.sleep(0.2)
    assert api.call("GET", "/v1/queue", key=later)[0] == 200
    # a file turned bad keeps the keys read before, and says so
    with open(api.keys_file, "a") as f:
        f.write("not a key line\n")
    time.sleep(1.2)
    assert api.call("GET", "/v1/queue", key=later)[0] == 200
    wait_log(s, r"http\.keys_file: %s:\d+: 'not' is not a key id .*; keeping the keys read "
             r"before \(3\)" % re.escape(api.keys_file))
    # gone altogether: the same
    os.unlink(api.keys_file)
    time.sleep(1.2)
    assert api.call("GET", "/v1/queue", key=later)[0] == 200
    wait_log(s, r"http\.keys_file: %s: No such file or directory; keeping the keys read before"
             % re.escape(api.keys_file))
    # back, good; and SIGHUP reads it at once
    with open(api.keys_file, "w") as f:
        f.writelines(lines)
    os.chmod(api.keys_file, 0o644)
    os.kill(s.pid, signal.SIGHUP)
    wait_log(s, r"http\.keys_file: %s read again \(keys: 4\)[^\n]*\n(.|\n)*http\.keys_file: %s "
             r"read again \(keys: 4\)" % (re.escape(api.keys_file), re.escape(api.keys_file)))
    assert api.call("GET", "/v1/queue", key=admin)[0] == 200


def test_stop_ends_idle_connections(api):
    """SIGTERM: an idle keep-alive connection is closed, and the daemon exits at once."""
    c = api.conn()
    c.request("GET", "/v1/health")
    r = c.getresponse()
    assert r.status == 200
    r.read()
    os.kill(api.s.pid, signal.SIGTERM)
    api.s.proc.wait(10)
    assert c.sock.recv(10) == b""
    c.close()
    api.s.proc = None
    assert "stopping signal=15" in api.s.log()
