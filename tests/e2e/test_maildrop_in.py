"""The daemon's side of the maildrop (docs/operations.md): files that `sterna sendmail` leaves in
<spool>/maildrop are queued at once, in the name of the file's owner; hostile files (bad magic,
torn records, no recipient, symlinks, too big) go to maildrop-bad/ with a reason, and nothing is
lost or queued twice when the daemon is killed while it takes them. Also: SMTP, pickup and the
maildrop leave the same queue file layout and the same "received" line."""

import grp
import os
import pwd
import re
import signal
import stat
import subprocess
import time

import pytest

import maildropfile
from conftest import ROOT, STERNA_BIN
from folders import (files_in, kv_keys, log_keys, new_qid, parse_mail, pickup_factory,  # noqa: F401
                     queue_records, received_lines, restart, wait_ready, wait_until, write_file)
from test_delivery import smtplib_send

@pytest.fixture
def sterna(sterna_factory):
    """The default daemon, once its folders exist."""
    s = sterna_factory()
    wait_ready(s)
    return s


CONTENT = b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: via maildrop\r\n\r\nhi\r\n"


def maildrop(s):
    return os.path.join(s.spool, "maildrop")


def test_python_writer_matches_the_golden_file():
    with open(os.path.join(ROOT, "tests", "unit", "golden", "maildrop.d"), "rb") as f:
        golden = f.read()
    assert maildropfile.encode("a@example.org", ["b@example.net", "c@example.com"],
                               b"Subject: x\r\n\r\nhi\r\n", fullname="Ann Example") == golden


def test_maildrop_folder_mode(sterna_factory):
    s = sterna_factory()
    wait_ready(s)
    st = os.stat(maildrop(s))
    # no maildrop.group: only root and the daemon's user may drop files
    assert stat.S_IMODE(st.st_mode) == 0o700
    if os.geteuid() == 0:
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid


@pytest.mark.skipif(os.geteuid() != 0, reason="setting a folder's group needs root")
def test_maildrop_group_gives_mode_1730(sterna_factory):
    s = sterna_factory(maildrop__group="mail")
    wait_ready(s)
    st = os.stat(maildrop(s))
    assert stat.S_IMODE(st.st_mode) == 0o1730   # sticky, group may write and enter, not list
    assert st.st_gid == grp.getgrnam("mail").gr_gid
    assert not st.st_mode & (stat.S_IWOTH | stat.S_IROTH | stat.S_IXOTH)


def test_maildrop_file_is_queued_in_its_owners_name(sterna):
    owner = None
    if os.geteuid() == 0:
        d = pwd.getpwnam("daemon")
        owner = (d.pw_uid, d.pw_gid)
    data = maildropfile.encode("a@example.org", ["alice@example.test"], CONTENT)
    maildropfile.drop(maildrop(sterna), data, owner=owner)
    [got] = sterna.wait_for_mail("alice")
    m = parse_mail(got)
    assert m["Subject"] == "via maildrop"
    assert m["Return-Path"] == "<a@example.org>"
    uid = owner[0] if owner else os.geteuid()
    qid = sterna.wait_log(r"^\S+ \S+ (\S+) taken entrance=maildrop file=\S+ size=%d uid=%d$" %
                          (len(data), uid)).group(1)
    # the Received field names the local user who dropped it, by name and uid
    name = pwd.getpwuid(uid).pw_name
    received = " ".join(str(m["Received"]).split())
    assert name in received and str(uid) in received, received
    assert qid in received
    wait_until(lambda: files_in(maildrop(sterna)) == [], "the file was not removed", sterna)
    assert files_in(os.path.join(sterna.spool, "maildrop-taken")) == []


def hostile_files():
    good = maildropfile.encode("a@example.org", ["alice@example.test"], CONTENT)
    no_rcpt = maildropfile.encode("a@example.org", [], CONTENT)
    torn = maildropfile.encode("a@example.org", ["alice@example.test"], CONTENT, end=False)
    flipped = bytearray(good)
    flipped[40] ^= 0x01
    return [
        ("magic", b"STERNAQ1" + good[8:], "magic"),
        ("torn", torn, ""),
        ("cut", good[:-3], ""),
        ("crc", bytes(flipped), ""),
        ("norcpt", no_rcpt, "recipient"),
        ("badaddr", maildropfile.encode("a@example.org", ["not an address"], CONTENT), ""),
        ("nul", maildropfile.encode("a@example.org", ["alice@example.test"], b"a\0b\r\n"),
         "NUL byte"),
        ("bare-lf-long", maildropfile.encode("a@example.org", ["alice@example.test"],
                                             b"Subject: x\n\n" + b"y" * 3000 + b"\n"),
         "longer than"),
        ("unknown-user", maildropfile.encode("a@example.org", ["nosuchuser@example.test"],
                                             CONTENT), "no recipient accepted"),
        ("empty", b"", ""),
    ]


def test_hostile_files_go_to_bad_and_the_daemon_goes_on(sterna):
    names = []
    for name, data, _ in hostile_files():
        names.append(maildropfile.drop(maildrop(sterna), data, name=name))
    os.symlink("/etc/shadow", os.path.join(maildrop(sterna), "symlink"))
    os.mkfifo(os.path.join(maildrop(sterna), "fifo"))
    bad = os.path.join(sterna.spool, "maildrop-bad")
    expect = {name: reason for name, _, reason in hostile_files()}
    expect.update(symlink="symbolic link", fifo="not a regular file")
    for name, reason in expect.items():
        wait_until(lambda: name + ".reason" in files_in(bad), "%s not in maildrop-bad/" % name,
                   sterna)
        with open(os.path.join(bad, name + ".reason")) as f:
            text = f.read()
        assert reason in text, (name, text)
        sterna.wait_log(r" file_bad entrance=maildrop file=%s moved=bad/%s reason=" % (name, name))
    assert sterna.queue_ids() == [] and sterna.all_mail() == []
    maildropfile.drop(maildrop(sterna), maildropfile.encode("a@example.org", ["alice@example.test"],
                                                            CONTENT))
    sterna.wait_for_mail("alice")


def test_too_big_file_goes_to_bad(sterna_factory):
    s = sterna_factory(smtp__max_message_bytes="4k")
    wait_ready(s)
    data = maildropfile.encode("a@example.org", ["alice@example.test"],
                               CONTENT + b"0123456789\r\n" * 1000)
    maildropfile.drop(maildrop(s), data, name="big")
    bad = os.path.join(s.spool, "maildrop-bad")
    wait_until(lambda: "big.reason" in files_in(bad), "big not in maildrop-bad/", s)
    with open(os.path.join(bad, "big.reason")) as f:
        assert "over the size limit" in f.read()


def test_files_dropped_while_down_are_taken_at_start(sterna):
    sterna.stop()
    for i in range(3):
        maildropfile.drop(maildrop(sterna), maildropfile.encode(
            "a@example.org", ["bob@example.test"], b"Subject: %d\r\n\r\nx\r\n" % i))
    restart(sterna, 2)
    sterna.wait_for_mail("bob", count=3)


def test_taken_file_of_a_crash_is_queued_with_its_id(sterna):
    sterna.stop()
    qid = new_qid()
    write_file(os.path.join(sterna.spool, "maildrop-taken"), qid,
               maildropfile.encode("a@example.org", ["alice@example.test"], CONTENT))
    restart(sterna, 2)
    sterna.wait_log(r"^\S+ \S+ %s taken entrance=maildrop file=maildrop-taken/%s " % (qid, qid))
    [got] = sterna.wait_for_mail("alice")
    assert qid in str(parse_mail(got)["Received"])


def queued_as(mails):
    """{subject: {queue ids it was delivered under}}"""
    out = {}
    for m in mails:
        subject = re.search(rb"Subject: ([pm]\d+)", m).group(1).decode()
        qid = re.search(r"\bid (\S+)", " ".join(str(parse_mail(m)["Received"]).split())).group(1)
        out.setdefault(subject, set()).add(qid)
    return out


@pytest.mark.parametrize("kill_after, how", [(1, "kill9"), (15, "kill9"), (3, "sigterm")])
def test_kill9_or_stop_while_taking_loses_nothing_and_queues_nothing_twice(
        pickup_factory, kill_after, how):
    s = pickup_factory()
    n = 25
    for i in range(n):
        write_file(s.pickup, "p%02d.eml" % i, b"From: app@example.org\nTo: bob@example.test\n"
                   b"Subject: p%d\n\npickup %d\n" % (i, i))
        maildropfile.drop(maildrop(s), maildropfile.encode(
            "a@example.org", ["bob@example.test"], b"Subject: m%d\r\n\r\nmaildrop %d\r\n" % (i, i)))
    wait_until(lambda: len(received_lines(s)) >= kill_after, "nothing received", s)
    if how == "kill9":
        s.kill9()
    else:
        # SIGTERM: the folders stop taking files, a commit in hand finishes, and it exits
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(10) == 0
        s.proc = None
        assert re.search(r" stopped$", s.log(), re.M)
    restart(s, 2)
    s.wait_for_mail("bob", count=2 * n, timeout=60)
    time.sleep(2)
    got = queued_as(s.mails("bob"))
    # nothing lost: every file arrived
    assert sorted(got) == sorted(["p%d" % i for i in range(n)] + ["m%d" % i for i in range(n)])
    # nothing queued twice: each file became one message, received once. (A delivery cut by
    # the kill may put that one message into the mailbox twice: the delivery agents' own
    # at-least-once window, docs/architecture.md, not a second message.)
    assert all(len(qids) == 1 for qids in got.values()), got
    log = s.log()
    for [qid] in got.values():
        # at most: a kill between the commit and the log line leaves none (the queue has it)
        assert len(re.findall(r"^\S+ \S+ %s received " % qid, log, re.M)) <= 1, qid
    wait_until(lambda: files_in(s.pickup) == [".taken", "bad"] and files_in(maildrop(s)) == [],
               "files left in the folders", s)
    assert files_in(os.path.join(s.pickup, ".taken")) == []
    assert files_in(os.path.join(s.spool, "maildrop-taken")) == []


def test_smtp_pickup_and_maildrop_leave_the_same_layout_and_log_lines(pickup_factory):
    # remote recipients: the messages stay queued (no DNS answers), so their files can be read
    s = pickup_factory(relay__trusted_networks=["127.0.0.1/32"])
    body = b"From: a@example.org\r\nTo: r@remote.test\r\nSubject: same\r\n\r\nsame\r\n"
    smtp_qid = smtplib_send(s, ["r@remote.test"], body)
    write_file(s.pickup, "same.eml", body)
    r = sendmail(s, ["-f", "a@example.org", "r@remote.test"], body)
    assert r.returncode == 0, r.stderr
    wait_until(lambda: len(received_lines(s)) == 3 and len(s.queue_ids()) == 3,
               "three messages not queued", s)
    lines = received_lines(s)
    keys = {qid: log_keys(line) for qid, line in lines.items()}
    assert len(set(map(tuple, keys.values()))) == 1, lines
    entrances = {re.search(r"conn=(\S+)", line).group(1) for line in lines.values()}
    assert {"maildrop", "pickup"} < entrances and re.fullmatch(r"c\d+", min(entrances))
    layouts = {}
    origin = {qid: re.search(r"origin=(\S+)", line).group(1) for qid, line in lines.items()}
    assert sorted(origin.values()) == ["pickup", "sendmail", "smtp"] and origin[smtp_qid] == "smtp"
    for qid in s.queue_ids():
        recs = queue_records(os.path.join(s.spool, "queue", qid))
        types = "".join(t for t, _ in recs)
        assert re.fullmatch(r"MSRC+E", types), types
        meta = kv_keys(recs[0][1])
        # the one difference: sendmail's message says which local user sent it
        if origin[qid] == "sendmail":
            assert meta[-2:] == ["local_user", "local_uid"], meta
            meta = meta[:-2]
        layouts[qid] = (meta, kv_keys(recs[1][1]), kv_keys(recs[2][1]))
    assert len(set(map(repr, layouts.values()))) == 1, layouts


def sendmail(s, args, msg, **kw):
    return subprocess.run([STERNA_BIN, "sendmail", "-C", s.conf] + args, input=msg,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, **kw)


def test_sterna_sendmail_through_the_running_daemon(sterna):
    r = sendmail(sterna, ["-f", "a@example.org", "alice@example.test"],
                 b"Subject: from sterna sendmail\n\nhello\n")
    assert r.returncode == 0, r.stderr
    [got] = sterna.wait_for_mail("alice")
    m = parse_mail(got)
    assert m["Subject"] == "from sterna sendmail" and m.get_content() == "hello\n"
    uid = os.geteuid()
    assert "from userid %d (%s)" % (uid, pwd.getpwuid(uid).pw_name) in " ".join(
        str(m["Received"]).split())
    sterna.wait_log(r" taken entrance=maildrop file=\S+ size=\d+ uid=%d$" % uid)


@pytest.mark.skipif(os.geteuid() != 0, reason="running sendmail as other users needs root")
def test_who_may_use_sendmail_is_the_maildrop_group(sterna_factory):
    msg = b"Subject: from a group member\n\nhi\n"
    other = pwd.getpwnam("daemon")
    # no maildrop.group: a user who is neither root nor server.user cannot drop mail
    s = sterna_factory()
    wait_ready(s)
    r = sendmail(s, ["alice@example.test"], msg, user=other.pw_uid, group=other.pw_gid,
                 extra_groups=[])
    assert r.returncode != 0 and b"maildrop" in r.stderr, r
    s.stop()
    # the administrator's choice: members of maildrop.group may
    s = sterna_factory(maildrop__group="mail")
    wait_ready(s)
    r = sendmail(s, ["alice@example.test"], msg, user=other.pw_uid, group=other.pw_gid,
                 extra_groups=[grp.getgrnam("mail").gr_gid])
    assert r.returncode == 0, r.stderr
    [got] = s.wait_for_mail("alice")
    received = " ".join(str(parse_mail(got)["Received"]).split())
    assert "from userid %d (daemon)" % other.pw_uid in received
