"""FUTURERELEASE (RFC 4865): offered where AUTH is, taken after it; HOLDFOR and HOLDUNTIL put the
message in the queue at once, as "scheduled" until its time, across a restart; deleting it
before then sends nothing; holds past smtp.max_future_release, malformed values and holds
before AUTH are refused."""
import datetime
import re
import time

from test_auth import PASSWORDS, b64, users_file  # noqa: F401 (a fixture)
from test_queue_control import qjson, queue

EHLO = b"EHLO client.test\r\n"


def authed(s):
    c = s.connect()
    c.send(EHLO)
    r = c.reply()
    c.send(b"AUTH PLAIN " + b64("\0alice\0%s" % PASSWORDS["alice"]).encode() + b"\r\n")
    assert c.reply().code == 235
    return c, r


def submit(c, params, body=b"Subject: later\r\n\r\nbody\r\n"):
    c.dialog(b"MAIL FROM:<alice@example.test> " + params + b"\r\n", 250,
             b"RCPT TO:<bob@example.test>\r\n", 250, b"DATA\r\n", 354)
    c.send(body + b".\r\n")
    r = c.reply()
    assert r.code == 250, r
    return r.text.split()[-1]


def test_holdfor_schedules_and_survives_a_restart(sterna_factory, users_file):  # noqa: F811
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True)
    c, ehlo = authed(s)
    m = re.search(r"FUTURERELEASE (\d+) (\S+)", "\n".join(ehlo.lines))
    assert m and m.group(1) == str(30 * 86400), ehlo
    assert m.group(2).endswith("Z")
    qid = submit(c, b"HOLDFOR=4")
    [msg] = qjson(s, "list", qid)
    assert msg["state"] == "scheduled", msg
    release = datetime.datetime.strptime(msg["release_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert "@" in queue(s, "list").out.split(qid)[1][:2]   # mailq's mark
    s.restart()
    assert qjson(s, "list", qid)[0]["state"] == "scheduled"
    assert s.mail_files("bob") == []
    s.wait_for_mail("bob", 1, timeout=20)
    # not before its time (the file's own clock: the Maildir file's name starts with it)
    delivered = min(int(f.rsplit("/", 1)[-1].split(".")[0]) for f in s.mail_files("bob"))
    assert delivered >= release, (delivered, release)


def test_holduntil_then_deleted_sends_nothing(sterna_factory, users_file):  # noqa: F811
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True)
    c, _ = authed(s)
    when = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00").encode()
    qid = submit(c, b"HOLDUNTIL=" + stamp)
    assert qjson(s, "list", qid)[0]["state"] == "scheduled"
    assert queue(s, "delete", qid).returncode == 0
    time.sleep(4.5)
    assert s.mail_files("bob") == []
    assert s.queue_ids() == []
    # a time already past is no hold
    past = b"HOLDUNTIL=2001-01-01T00:00:00Z"
    submit(c, past)
    s.wait_for_mail("bob", 1, timeout=10)


def test_refusals(sterna_factory, users_file):  # noqa: F811
    s = sterna_factory(auth__users_file=users_file, listen__mx__auth_without_tls=True,
                       smtp__max_future_release="1h")
    c = s.connect()
    c.dialog(EHLO, 250)
    c.send(b"MAIL FROM:<alice@example.test> HOLDFOR=60\r\n")
    r = c.reply()
    assert (r.code, r.status) == (530, "5.7.0"), r
    c.send(b"AUTH PLAIN " + b64("\0alice\0%s" % PASSWORDS["alice"]).encode() + b"\r\n")
    assert c.reply().code == 235
    for bad in (b"HOLDFOR=7201", b"HOLDFOR=x", b"HOLDFOR=", b"HOLDFOR=1234567890",
                b"HOLDUNTIL=2030-02-30T00:00:00Z", b"HOLDUNTIL=2030-01-01T00:00:00",
                b"HOLDFOR=5 HOLDUNTIL=2030-01-01T00:00:00Z"):
        c.send(b"MAIL FROM:<alice@example.test> " + bad + b"\r\n")
        r = c.reply()
        assert r.code == 501, (bad, r)
    # where AUTH is not offered, neither is FUTURERELEASE
    t = sterna_factory()
    d = t.connect()
    d.send(EHLO)
    assert "FUTURERELEASE" not in "\n".join(d.reply().lines)
    d.send(b"MAIL FROM:<a@remote.test> HOLDFOR=5\r\n")
    assert d.reply().code == 555
