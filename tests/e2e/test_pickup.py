"""The pickup folder (docs/operations.md): ready-made messages that applications drop are queued
once complete, with the envelope from X-Sender/X-Receiver or from the header; a file that cannot
be taken goes to bad/ with a reason; a crash never loses a file nor queues one twice."""

import os
import re
import shutil
import tempfile
import time

import pytest

from folders import (files_in, new_qid, parse_mail, pickup_factory, restart,  # noqa: F401
                     wait_until, write_file)

MSG = (b"From: App <app@example.org>\n"
       b"To: Alice <alice@example.test>\n"
       b"Bcc: bob@example.test\n"
       b"Subject: from the pickup folder\n"
       b"\n"
       b"Hello from an application.\n")


def test_pickup_file_is_queued_delivered_and_removed(pickup_factory):
    s = pickup_factory()
    write_file(s.pickup, "one.eml", MSG)
    [alice] = s.wait_for_mail("alice")
    [bob] = s.wait_for_mail("bob")
    m = parse_mail(alice)
    assert m["Subject"] == "from the pickup folder"
    assert m.get_content() == "Hello from an application.\n"
    # blind copies stay blind: the Bcc field is gone from every copy
    assert m["Bcc"] is None and parse_mail(bob)["Bcc"] is None
    # the core's header stage added what a submission lacks
    assert m["Received"] is not None and m["Message-ID"] is not None and m["Date"] is not None
    qid = s.wait_log(r"^\S+ \S+ (\S+) taken entrance=pickup file=one\.eml size=%d " % len(MSG)).group(1)
    s.wait_log(r"^\S+ \S+ %s received " % qid)
    wait_until(lambda: files_in(s.pickup) == [".taken", "bad"], "the file was not removed", s)
    assert files_in(os.path.join(s.pickup, ".taken")) == []


def test_x_sender_and_x_receiver_give_the_envelope(pickup_factory):
    s = pickup_factory()
    write_file(s.pickup, "x.eml", b"X-Sender: <bounces@example.org>\r\n"
               b"X-Receiver: <bob@example.test>\r\n"
               b"From: someone-else@example.org\r\n"
               b"To: alice@example.test\r\n"
               b"Subject: envelope lines\r\n\r\nbody\r\n")
    [got] = s.wait_for_mail("bob")
    m = parse_mail(got)
    assert m["Return-Path"] == "<bounces@example.org>"
    assert m["X-Sender"] is None and m["X-Receiver"] is None
    assert m["To"] == "alice@example.test"     # the header is the application's, untouched
    time.sleep(0.5)
    assert s.mail_files("alice") == []          # X-Receiver, not To, said who receives it


def test_message_without_header_section(pickup_factory):
    # only envelope lines above the text: what is queued has no header section of its own,
    # and the core's header stage puts the empty line after the fields it adds (RFC 5322 2.1)
    s = pickup_factory()
    write_file(s.pickup, "bare.eml", b"X-Sender: app@example.org\nX-Receiver: alice@example.test\n"
               b"just a body line\nand: one that looks like a field\n")
    [got] = s.wait_for_mail("alice")
    m = parse_mail(got)
    assert m.defects == []
    assert m["Received"] is not None and m["Message-ID"] is not None and m["Date"] is not None
    assert m.get_payload() == "just a body line\nand: one that looks like a field\n"


def test_line_ends_and_mbox_from_line(pickup_factory):
    s = pickup_factory()
    write_file(s.pickup, "mixed.eml", b"From app@example.org Mon Jan  1 00:00:00 2024\n"
               b"From: app@example.org\r\nTo: alice@example.test\n"
               b"Subject: mixed\r\r\n\nline one\nline two\r\nline three")
    [got] = s.wait_for_mail("alice")
    m = parse_mail(got)
    assert m["Subject"] == "mixed"
    assert m.get_content() == "line one\nline two\nline three\n"
    assert b"From app@example.org Mon" not in got


def test_file_written_slowly_is_never_taken_half(pickup_factory):
    s = pickup_factory()
    path = os.path.join(s.pickup, "slow.eml")
    with open(path, "wb") as f:
        f.write(b"From: app@example.org\nTo: alice@example.test\nSubject: slow\n\nfirst half\n")
        f.flush()
        os.chmod(path, 0o644)
        # longer than two scan intervals: a scan sees the file, unchanged, mid-write
        time.sleep(2.5)
        assert os.path.exists(path), "taken while still being written"
        assert s.mail_files("alice") == []
        f.write(b"second half\n")
    [got] = s.wait_for_mail("alice")
    assert parse_mail(got).get_content() == "first half\nsecond half\n"


def test_renamed_in_file_is_taken_and_dot_names_are_not(pickup_factory):
    s = pickup_factory()
    write_file(s.pickup, ".partial.eml", MSG)
    time.sleep(2.5)
    assert s.mail_files("alice") == [] and ".partial.eml" in files_in(s.pickup)
    os.rename(os.path.join(s.pickup, ".partial.eml"), os.path.join(s.pickup, "done.eml"))
    s.wait_for_mail("alice")
    wait_until(lambda: "done.eml" not in files_in(s.pickup), "done.eml was not removed", s)


def bad_reason(s, name):
    bad = os.path.join(s.pickup, "bad")
    wait_until(lambda: name + ".reason" in files_in(bad), "%s not in bad/" % name, s)
    assert name in files_in(bad)
    with open(os.path.join(bad, name + ".reason")) as f:
        return f.read()


@pytest.mark.parametrize("name, data, reason", [
    ("norcpt.eml", b"From: app@example.org\nSubject: to nobody\n\nhi\n", "no recipient"),
    ("nosender.eml", b"To: alice@example.test\n\nhi\n", "no sender"),
    ("binary.eml", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", "NUL byte"),
    ("unknown.eml", b"From: app@example.org\nTo: nosuchuser@example.test\n\nhi\n",
     "no recipient accepted"),
    ("longline.eml", b"From: app@example.org\nTo: alice@example.test\n\n" + b"x" * 2000 + b"\n",
     "longer than 1000 bytes"),
    ("big.eml", b"From: app@example.org\nTo: alice@example.test\n\n" + b"0123456789\n" * 400,
     "over the size limit"),
])
def test_file_that_cannot_be_taken_goes_to_bad(pickup_factory, name, data, reason):
    s = pickup_factory(smtp__max_message_bytes="2k")
    write_file(s.pickup, name, data)
    text = bad_reason(s, name)
    assert reason in text, text
    qid = s.wait_log(r"^\S+ \S+ (\S+) file_bad entrance=pickup file=%s moved=bad/%s reason=" %
                     (re.escape(name), re.escape(name))).group(1)
    assert ("queue id: %s" % qid) in text
    assert name not in files_in(s.pickup)
    assert s.queue_ids() == []
    # the folder goes on: a good file after a bad one is queued
    write_file(s.pickup, "good.eml", MSG)
    s.wait_for_mail("alice")


def test_address_list_read_only_in_part_goes_to_bad(pickup_factory):
    # GMime reads alice and skips "<bob@example.test": queuing what it read would lose bob unseen
    s = pickup_factory()
    write_file(s.pickup, "half.eml", b"From: app@example.org\n"
               b"To: alice@example.test, <bob@example.test\n\nhi\n")
    text = bad_reason(s, "half.eml")
    assert "To: bad address list (an address in it cannot be read)" in text, text
    s.wait_log(r"^\S+ \S+ \S+ file_bad entrance=pickup file=half\.eml moved=bad/half\.eml reason=")
    assert s.queue_ids() == []
    assert " received " not in s.log() and " rcpt_refused " not in s.log()
    # files are taken in turn: once a later one is delivered, the bad one has had its chance
    write_file(s.pickup, "later.eml", b"From: app@example.org\nTo: bob@example.test\n\nlater\n")
    [got] = s.wait_for_mail("bob")
    assert parse_mail(got).get_content() == "later\n"
    assert s.mail_files("alice") == []


def test_bare_names_get_the_first_local_domain(pickup_factory):
    # as sterna sendmail qualifies them (docs/operations.md), not refused one by one
    s = pickup_factory()
    write_file(s.pickup, "bare.eml", b"From: app\nTo: alice\nSubject: bare\n\nhi\n")
    [got] = s.wait_for_mail("alice")
    m = parse_mail(got)
    assert m["Return-Path"] == "<app@example.test>"
    assert m["To"] == "alice"                   # the header is the application's, untouched


def test_symlink_and_fifo_go_to_bad_unopened(pickup_factory):
    s = pickup_factory()
    os.symlink("/etc/passwd", os.path.join(s.pickup, "link.eml"))
    os.mkfifo(os.path.join(s.pickup, "fifo.eml"))
    assert "symbolic link" in bad_reason(s, "link.eml")
    assert "not a regular file" in bad_reason(s, "fifo.eml")
    assert os.path.islink(os.path.join(s.pickup, "bad", "link.eml"))
    write_file(s.pickup, "good.eml", MSG)
    s.wait_for_mail("alice")


def test_subfolders_are_left_alone(pickup_factory):
    s = pickup_factory()
    os.mkdir(os.path.join(s.pickup, "archive"))
    write_file(s.pickup, "good.eml", MSG)
    s.wait_for_mail("alice")
    time.sleep(1.5)
    assert "archive" in files_in(s.pickup)
    assert files_in(os.path.join(s.pickup, "bad")) == []


def test_world_writable_pickup_folder_is_refused(sterna_factory):
    d = tempfile.mkdtemp(prefix="sterna-pickup-")
    try:
        os.chmod(d, 0o777)
        # it exits at start; its port may accept for a moment before (bound first)
        try:
            s = sterna_factory(pickup__dir=d)
        except pytest.fail.Exception as e:
            text = str(e)
        else:
            assert s.proc.wait(10) == 1
            s.proc = None
            text = s.log()
        assert "writable by every user" in text
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_files_present_at_start_are_taken(pickup_factory):
    s = pickup_factory()
    s.stop()
    write_file(s.pickup, "while-down.eml", MSG)
    # older than the settle time, as a file left from before the start would be
    old = time.time() - 60
    os.utime(os.path.join(s.pickup, "while-down.eml"), (old, old))
    restart(s, 2)
    s.wait_for_mail("alice")


def test_crash_after_commit_before_removal_does_not_queue_twice(pickup_factory):
    # the message stays queued (its remote domain cannot be resolved): its queue file is there
    s = pickup_factory()
    write_file(s.pickup, "remote.eml", b"From: app@example.org\nTo: someone@remote.test\n\nhi\n")
    qid = s.wait_log(r"^\S+ \S+ (\S+) received ").group(1)
    wait_until(lambda: "remote.eml" not in files_in(s.pickup), "not removed", s)
    s.stop()
    # as if kill -9 had come between the commit and the removal of the taken file
    write_file(os.path.join(s.pickup, ".taken"), qid,
               b"From: app@example.org\nTo: someone@remote.test\n\nhi\n")
    restart(s, 2)
    s.wait_log(r"^\S+ \S+ %s file_removed entrance=pickup why=\"queued before a restart\"" % qid)
    assert files_in(os.path.join(s.pickup, ".taken")) == []
    assert s.queue_ids() == [qid]
    assert len(re.findall(r" %s received " % qid, s.log())) == 1


def test_crash_after_taking_before_commit_queues_with_the_same_id(pickup_factory):
    s = pickup_factory()
    s.stop()
    qid = new_qid()
    # as if kill -9 had come after the rename to the taken name, before the commit
    write_file(os.path.join(s.pickup, ".taken"), qid, MSG)
    restart(s, 2)
    s.wait_log(r"^\S+ \S+ %s taken entrance=pickup file=\.taken/%s " % (qid, qid))
    s.wait_log(r"^\S+ \S+ %s received " % qid)
    [got] = s.wait_for_mail("alice")
    assert parse_mail(got)["Subject"] == "from the pickup folder"
    wait_until(lambda: files_in(os.path.join(s.pickup, ".taken")) == [], "not removed", s)


def test_queue_that_cannot_write_leaves_the_file_for_a_later_try(pickup_factory):
    # a queue that cannot be written (here: incoming/ read-only for the daemon's user) is a
    # temporary failure: the file stays taken, never goes to bad/, and is queued on a later try
    s = pickup_factory()
    incoming = os.path.join(s.spool, "incoming")
    os.chmod(incoming, 0o500)
    try:
        write_file(s.pickup, "later.eml", MSG)
        m = s.wait_log(r"^\S+ \S+ (\S+) file_deferred entrance=pickup file=later\.eml next_s=1 reason=")
        qid = m.group(1)
        assert files_in(os.path.join(s.pickup, ".taken")) == [qid]
        assert files_in(os.path.join(s.pickup, "bad")) == []
    finally:
        os.chmod(incoming, 0o700)
    [got] = s.wait_for_mail("alice")
    # the same queue id on the later try: the taken file's name is the message's id
    assert qid in " ".join(str(parse_mail(got)["Received"]).split())
    wait_until(lambda: files_in(os.path.join(s.pickup, ".taken")) == [], "not removed", s)
