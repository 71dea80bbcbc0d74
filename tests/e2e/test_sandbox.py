"""The daemon confined after start (src/main/sandbox.c, server.sandbox): a seccomp filter and
no_new_privs in /proc/PID/status, and Landlock keeping its writes inside the folders it owns.

The write outside is one the daemon makes on its own: alice's Maildir is a symbolic link to a
folder outside every allowed path (maildir.c follows a link in the mailbox's own name), so
delivering to her means creating tmp/, new/ and a file there. Confined, that fails with
"Permission denied" and the message stays queued; with server.sandbox = false the same
setup delivers there, which shows the refusal is the sandbox's and not the set-up's."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import STERNA_BIN

LANDLOCK = r"sandbox: system calls filtered; files confined \(Landlock ABI (\d+)\)"


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def send(sterna, rcpt, subject):
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<%s>\r\n" % rcpt.encode(), 250, b"DATA\r\n", 354,
             b"Subject: %s\r\n\r\nbody\r\n.\r\n" % subject.encode(), 250)
    c.close()


@pytest.fixture
def outside():
    """A folder outside the spool, the mailboxes, the configuration's folder, /etc and /usr,
    that server.user could write to were it not confined."""
    d = tempfile.mkdtemp(prefix="sterna-outside-")
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def landlock_or_skip(sterna):
    m = sterna.wait_log(r"sandbox: (system calls filtered.*|this kernel has no Landlock.*|"
                        r"Landlock ABI 1 .*)$")
    if not re.match(LANDLOCK, m.group(0)):
        pytest.skip("no usable Landlock in this kernel: %s" % m.group(1))


def test_filter_and_no_new_privs_after_start(sterna):
    sterna.wait_log(r"sandbox: system calls filtered")
    st = status(sterna.pid)
    assert st["Seccomp"].strip() == "2", st["Seccomp"]    # filter mode
    assert int(st.get("Seccomp_filters", "1")) >= 1
    assert st["NoNewPrivs"].strip() == "1"
    # and it still serves: a message in, delivered to a Maildir
    send(sterna, "alice@example.test", "confined")
    [got] = sterna.wait_for_mail("alice")
    assert b"Subject: confined\n" in got


def test_write_outside_the_allowed_folders_fails(sterna, outside):
    landlock_or_skip(sterna)
    os.symlink(outside, sterna.maildir("alice"))
    send(sterna, "alice@example.test", "escape")
    sterna.wait_log(r"\S+ deferred to=<alice@example\.test> attempt=1 .*"
                    r"reason=\"open %s: Permission denied\"" % re.escape(sterna.maildir("alice")))
    assert os.listdir(outside) == []          # neither a Maildir nor a message was made
    assert len(sterna.queue_ids()) == 1       # the message waits for a retry, not lost


def test_same_write_succeeds_without_the_sandbox(sterna_factory, outside):
    sterna = sterna_factory(server__sandbox=False)
    sterna.wait_log(r"server\.sandbox is off")
    assert status(sterna.pid)["Seccomp"].strip() == "0"
    os.symlink(outside, sterna.maildir("alice"))
    send(sterna, "alice@example.test", "escape")
    sterna.wait_log(r"\S+ delivered to=<alice@example\.test>")
    [name] = os.listdir(os.path.join(outside, "new"))
    with open(os.path.join(outside, "new", name), "rb") as f:
        assert b"Subject: escape\n" in f.read()


def test_check_says_how_serve_is_confined(sterna):
    """sterna check names what serve gets on this kernel, as the start log does."""
    m = sterna.wait_log(r"sandbox: system calls filtered(; files confined \(Landlock ABI (\d+)\))?")
    p = subprocess.run([STERNA_BIN, "check", "-c", sterna.conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.decode().splitlines() if ": sandbox: " in l]
    assert len(line) == 1, p.stdout
    if m.group(2):
        assert line[0].endswith(": sandbox: system calls filtered, files confined (Landlock ABI %s)"
                                % m.group(2)), line
    else:
        assert "files are not confined" in line[0], line
