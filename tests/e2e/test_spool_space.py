"""A spool that fills up between two measurements of its free space: near the floor the
space is measured for every MAIL, so the client hears 452 4.3.1 at MAIL, before it sends
its message, and a message that does fit is still taken. The spool is on a small tmpfs of
the test's own (root only)."""

import os
import pwd
import subprocess

import pytest

MB = 1024 * 1024

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_spool(sterna_factory):
    s = sterna_factory(smtp__max_message_bytes="1mb", spool__min_free="2mb")
    s.stop()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", s.spool],
                   check=True)
    nobody = pwd.getpwnam("nobody")
    os.chown(s.spool, nobody.pw_uid, nobody.pw_gid)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        subprocess.run(["umount", s.spool], check=False)


def fill(path, nbytes):
    with open(path, "wb") as f:
        f.write(b"\0" * nbytes)
        f.flush()
        os.fsync(f.fileno())


def test_full_spool_says_452_at_mail_at_once(small_spool):
    s = small_spool
    c = s.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250, b"RSET\r\n", 250)
    st = os.statvfs(s.spool)
    # leave less than spool.min_free, and ask at once: no wait for the next measurement
    fill(os.path.join(s.spool, "filler"), st.f_bavail * st.f_frsize - 1 * MB)
    c.send(b"MAIL FROM:<a@remote.test>\r\n")
    r = c.reply()
    assert (r.code, r.status) == (452, "4.3.1"), r
    assert r.text == "Insufficient system storage"
    # room again: taken again
    os.unlink(os.path.join(s.spool, "filler"))
    c.dialog(b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250,
             b"DATA\r\n", 354)
    c.send(b"Subject: fits\r\n\r\nyes\r\n.\r\n")
    assert c.reply().code == 250
