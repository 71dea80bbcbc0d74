"""A message the HTTP API holds whole (30 MB) goes into the queue in pieces as the content
filters and the spool take them (msg_sub_write_whole), through a milter of
server.local_milters as without one: it is accepted and arrives whole, and the daemon's peak
memory grows by no more with the filter than without it (the API's own copies of the
request are the same in both; no further copy waits in the content step's backlog or the
spool's buffers)."""

import re

from milterpeer import pymilter  # noqa: F401 (the fixture)
from test_http_api import api_factory, keys_dir  # noqa: F401 (fixtures)

LINE = "0123456789 abcdefghijklmnopqrstuvwxyz  ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
BODY = LINE * (30 * 1024 * 1024 // len(LINE))


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def send_big(api):
    """The 30 MB message through the API: the growth of the daemon's peak RSS in MiB, or
    None under AddressSanitizer (its quarantine keeps freed memory)."""
    raw = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: big\r\n\r\n" + BODY
    before = vm_hwm_kib(api.s.proc.pid)
    conn = api.conn(timeout=120)     # 30 MB of JSON, under the sanitizers too
    st, _, reply = api.call("POST", "/v1/messages/raw", "send",
                            body={"from": "alice@example.test", "to": "bob@example.test",
                                  "message": raw}, conn=conn)
    conn.close()
    assert st == 202, reply
    got = api.s.wait_for_mail("bob", timeout=120)[0]
    assert got.endswith(BODY.replace("\r\n", "\n").encode())
    with open("/proc/%d/maps" % api.s.proc.pid) as m:
        if "libasan" in m.read():
            return None
    return (vm_hwm_kib(api.s.proc.pid) - before) / 1024


def test_30mb_api_message_through_a_milter(api_factory, pymilter):  # noqa: F811
    big = dict(http__max_body="64mb", smtp__max_message_bytes="40mb")
    plain = send_big(api_factory(**big))
    f = pymilter("pass")
    # timeouts for a loaded machine: this is about memory, not about a slow filter
    filtered = send_big(api_factory(milter__f__address=f.address, server__local_milters="f",
                                    milter__f__connect_timeout="1min",
                                    milter__f__command_timeout="1min", **big))
    if plain is not None:
        # loose: a few pieces in the filter's backlog and the spool, against 30 MB
        assert filtered < plain + 12, (plain, filtered)
