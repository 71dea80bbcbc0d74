"""`sterna sendmail`, and the same binary run as `sendmail`, as cron, mailx, PHP and scripts run it
(docs/operations.md): the message on standard input, recipients as arguments or from the header
(-t), the maildrop file it leaves (read back by maildrop.py, a reader written from the format's
documentation), exit codes from sysexits.h with one line on standard error; -bs; permissions of
the maildrop folder; and, with the daemon, delivery of what sendmail left while it was down."""

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

import maildrop
from conftest import STERNA_BIN, free_port, render_config
from folders import files_in, parse_mail, wait_until

EX_OK, EX_USAGE, EX_DATAERR, EX_NOUSER, EX_CANTCREAT, EX_CONFIG, EX_NOPERM = 0, 64, 65, 67, 73, 78, 77
EX_UNAVAILABLE = 69
IS_ROOT = os.geteuid() == 0
ME = pwd.getpwuid(os.getuid()).pw_name


class Drop:
    """A configuration and a spool with a maildrop folder, and no daemon: what sendmail leaves
    stays there to be read. `sendmail` is a symlink named sendmail to the real binary."""

    def __init__(self, **smtp):
        self.dir = tempfile.mkdtemp(prefix="sterna-sendmail-")
        os.chmod(self.dir, 0o755)
        self.spool = os.path.join(self.dir, "spool")
        self.maildrop = os.path.join(self.spool, "maildrop")
        os.mkdir(self.spool, 0o755)
        os.mkdir(self.maildrop, 0o700)
        self.conf = os.path.join(self.dir, "sterna.conf")
        tree = {
            "server": {"hostname": "mx.example.test"},
            'listen "mx"': {"address": "127.0.0.1:%d" % free_port()},
            "smtp": smtp,
            "spool": {"dir": self.spool},
            "local": {"domains": ["example.test"], "users": ["postmaster", "alice", "bob"],
                      "mailbox_root": os.path.join(self.dir, "mail"),
                      "aliases": {"info": ["alice", "bob"]}},
        }
        with open(self.conf, "w") as f:
            f.write(render_config(tree) + "\n")
        os.chmod(self.conf, 0o644)
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir, 0o755)
        self.sendmail = os.path.join(bindir, "sendmail")
        os.symlink(STERNA_BIN, self.sendmail)

    def run(self, args, data=b"", config="-C", env=None, preexec=None):
        """Runs sendmail with args; config "-C" passes -C, "env" sets STERNA_CONFIG, None
        neither. Returns the CompletedProcess."""
        argv = [self.sendmail] + (["-C", self.conf] if config == "-C" else []) + list(args)
        e = dict(os.environ)
        e.pop("STERNA_CONFIG", None)
        if config == "env":
            e["STERNA_CONFIG"] = self.conf
        e.update(env or {})
        return subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=e, preexec_fn=preexec, timeout=30)

    def files(self):
        return files_in(self.maildrop)

    def one(self):
        """The one file sendmail left, decoded."""
        names = self.files()
        assert len(names) == 1, names
        return maildrop.read(os.path.join(self.maildrop, names[0]))


@pytest.fixture
def drop():
    d = Drop()
    yield d
    shutil.rmtree(d.dir, ignore_errors=True)


def ok(p):
    assert p.returncode == EX_OK, (p.returncode, p.stderr)
    assert p.stderr == b""


def refused(p, code, text, d):
    """Exit code, one line on stderr starting "sendmail: ", nothing written."""
    assert p.returncode == code, (p.returncode, p.stderr)
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sendmail: ") and text in lines[0], lines
    assert d.files() == []


def test_t_takes_to_cc_and_bcc_and_removes_bcc(drop):
    msg = (b"From: Ann <ann@example.org>\n"
           b"To: alice, Bob <bob@example.test>\n"
           b"Cc: team: carol@remote.test, (a comment) dave@remote.test;\n"
           b"Bcc: eve@remote.test,\n"
           b"  =?utf-8?q?Fr=C3=A9d?= <fred@remote.test>\n"
           b"Subject: plans\n"
           b"\n"
           b"Bcc: this line is body text\n")
    ok(drop.run(["-t", "-i"], msg))
    m = drop.one()
    assert sorted(m.rcpts) == ["alice@example.test", "bob@example.test", "carol@remote.test",
                               "dave@remote.test", "eve@remote.test", "fred@remote.test"]
    assert m.sender == "%s@example.test" % ME
    # the Bcc field (both its lines) is gone; everything else is byte for byte, in CRLF
    assert m.content == msg.replace(b"\n", b"\r\n").replace(
        b"Bcc: eve@remote.test,\r\n  =?utf-8?q?Fr=C3=A9d?= <fred@remote.test>\r\n", b"")
    assert b"eve@" not in m.content and b"fred@" not in m.content


def test_t_adds_argument_recipients_to_the_header_ones(drop):
    ok(drop.run(["-t", "bob"], b"To: alice@example.test\nSubject: x\n\nhi\n"))
    assert drop.one().rcpts == ["bob@example.test", "alice@example.test"]


def test_f_and_F_set_sender_and_from(drop):
    ok(drop.run(["-f", "bounces@example.org", "-F", "Ann \"The\" Admin", "alice"],
                b"Subject: report\n\nall good\n"))
    m = drop.one()
    assert m.sender == "bounces@example.org" and m.fullname == "Ann \"The\" Admin"
    assert m.rcpts == ["alice@example.test"]
    mail = parse_mail(m.content)
    assert mail["From"].addresses[0].display_name == "Ann \"The\" Admin"
    assert mail["From"].addresses[0].addr_spec == "bounces@example.org"
    assert b"From: \"Ann \\\"The\\\" Admin\" <bounces@example.org>\r\n" in m.content


def test_existing_from_is_kept_and_default_sender_is_the_user(drop):
    ok(drop.run(["alice@example.test"], b"From: App <app@example.org>\nSubject: x\n\nhi\n"))
    m = drop.one()
    assert m.sender == "%s@example.test" % ME and m.fullname is None
    assert m.content == b"From: App <app@example.org>\r\nSubject: x\r\n\r\nhi\r\n"


def test_long_full_name_is_folded_and_reads_back(drop):
    name = "J\u00f6rg " * 40 + "Long"
    ok(drop.run(["-F", name, "alice"], b"Subject: x\n\nhi\n"))
    m = drop.one()
    assert max(len(line) for line in m.content.split(b"\r\n")) <= 78
    mail = parse_mail(m.content)
    assert " ".join(mail["From"].addresses[0].display_name.split()) == name.strip()


def test_null_sender(drop):
    ok(drop.run(["-f", "<>", "alice"], b"Subject: x\n\nhi\n"))
    m = drop.one()
    assert m.sender == ""
    # the author is still the user: an empty From would be no From at all
    assert b"\r\nFrom: %s@example.test\r\n" % ME.encode() in m.content


def test_recipients_as_arguments_with_sterna_config(drop):
    ok(drop.run(["alice", "Bob <bob@example.test>, x@Remote.TEST", "info"],
                b"Subject: x\r\n\r\nhi\r\n", config="env"))
    assert drop.one().rcpts == ["alice@example.test", "bob@example.test", "x@remote.test",
                                "info@example.test"]


def test_sterna_sendmail_verb_is_the_same(drop):
    p = subprocess.run([STERNA_BIN, "sendmail", "-C", drop.conf, "-oi", "alice"],
                       input=b"Subject: x\n\n.\nstill body\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    ok(p)
    assert drop.one().content.endswith(b"\r\n.\r\nstill body\r\n")


def test_dot_ends_input_without_i(drop):
    ok(drop.run(["alice"], b"Subject: x\n\nbefore\n..\n.\nafter\n"))
    # the lone dot ends the message; dot-stuffing is not undone in this mode
    assert drop.one().content.endswith(b"\r\n\r\nbefore\r\n..\r\n")


def test_mbox_from_line_is_dropped(drop):
    ok(drop.run(["-i", "alice"], b"From someone@example.org Mon Jan  1 00:00:00 2024\n"
                b"Subject: x\n\nFrom here on\n"))
    assert drop.one().content == (b"Subject: x\r\nFrom: %s@example.test\r\n\r\nFrom here on\r\n"
                                  % ME.encode())


def test_message_without_header_section(drop):
    ok(drop.run(["-i", "alice"], b"just a line of text: not a header\nsecond line\n"))
    mail = parse_mail(drop.one().content)
    assert mail.defects == []
    assert mail["From"] == "%s@example.test" % ME
    assert mail.get_content().replace("\r\n", "\n") == "just a line of text: not a header\nsecond line\n"


def test_no_recipient(drop):
    refused(drop.run([], b"Subject: x\n\nhi\n"), EX_USAGE, "sendmail: no recipients", drop)
    refused(drop.run(["-t"], b"Subject: x\n\nhi\n"), EX_DATAERR, "no recipients", drop)
    refused(drop.run(["-t"], b"To: undisclosed-recipients:;\n\nhi\n"), EX_DATAERR,
            "no recipients", drop)


def test_refusals(drop):
    refused(drop.run(["-i", "alice"], b"Subject: x\n\n" + b"y" * 999 + b"\n"), EX_DATAERR,
            "longer than 998 octets", drop)
    refused(drop.run(["alice"], b"Subject: x\n\na\0b\n"), EX_DATAERR, "NUL", drop)
    refused(drop.run(["nosuchuser"], b"x\n"), EX_NOUSER, "no such local user", drop)
    refused(drop.run(["a@@example.test"], b"x\n"), EX_USAGE, "bad address", drop)
    refused(drop.run(["-t"], b"To: ok@example.test, <broken@example.test\n\nx\n"), EX_DATAERR,
            "To field", drop)
    # -q and -bp ask the running daemon (test_queue_control.py); here there is none
    refused(drop.run(["-q"], b""), EX_UNAVAILABLE, "cannot reach the daemon", drop)
    refused(drop.run(["-bp"], b""), EX_UNAVAILABLE, "(is it running?)", drop)
    refused(drop.run(["-q30m"], b""), EX_USAGE, "-q30m is not supported", drop)
    refused(drop.run(["-bi"], b""), EX_USAGE, "-bi is not supported", drop)
    refused(drop.run(["-Z"], b""), EX_USAGE, "unknown option -Z", drop)
    refused(drop.run(["-F", "a\nBcc: x@y.test", "alice"], b"x\n"), EX_USAGE, "full name", drop)
    hops = b"".join(b"Received: from h%d\n" % i for i in range(101))
    refused(drop.run(["alice"], hops + b"\nloop\n"), EX_DATAERR, "Received", drop)


def test_accepted_options_change_nothing(drop):
    ok(drop.run(["-oem", "-oep", "-odi", "-odb", "-bm", "-B8BITMIME", "-FCronDaemon", "-oQ/x",
                 "alice"], b"Subject: cron\n\nout\n"))
    assert drop.one().rcpts == ["alice@example.test"]
    # -v says what it does on stderr, and notes what it ignores
    p = drop.run(["-v", "-oQ/x", "bob"], b"hi\n")
    assert p.returncode == EX_OK
    err = p.stderr.decode()
    assert "sendmail: -oQ/x ignored" in err and "sendmail: to <bob@example.test>" in err, err


def test_size_limit():
    d = Drop(max_message_bytes="2k")
    try:
        refused(d.run(["alice"], b"Subject: x\n\n" + b"0123456789\n" * 200), EX_DATAERR,
                "max_message_bytes", d)
        ok(d.run(["alice"], b"Subject: x\n\n" + b"0123456789\n" * 100))
    finally:
        shutil.rmtree(d.dir, ignore_errors=True)


def test_bad_configuration(drop):
    with open(drop.conf, "a") as f:
        f.write("smtp { no_such_key = 1; }\n")
    p = drop.run(["alice"], b"x\n")
    assert p.returncode == EX_CONFIG
    assert p.stderr.decode().startswith("sendmail: %s:" % drop.conf), p.stderr
    p = drop.run(["alice"], b"x\n", config="env", env={"STERNA_CONFIG": "/nonexistent/sterna.conf"})
    assert p.returncode == EX_CONFIG and b"/nonexistent/sterna.conf" in p.stderr


def test_no_maildrop_folder(drop):
    os.rmdir(drop.maildrop)
    p = drop.run(["alice"], b"x\n")
    assert p.returncode == EX_CANTCREAT, p.stderr
    assert b"the daemon makes it when it starts" in p.stderr


def test_bs_speaks_smtp_on_stdin_and_stdout(drop):
    dialogue = (b"EHLO local\n"
                b"MAIL FROM:<app@example.org>\n"
                b"RCPT TO:<alice@example.test>\n"
                b"RCPT TO:<nosuchuser@example.test>\n"
                b"RCPT TO:<x@remote.test>\n"
                b"DATA\n"
                b"Subject: over -bs\n\n..dot\nline\n.\n"
                b"QUIT\n")
    p = drop.run(["-bs"], dialogue)
    assert p.returncode == EX_OK, p.stderr
    replies = p.stdout.decode().split("\r\n")
    assert replies[0] == "220 mx.example.test ESMTP sterna"
    codes = [r[:3] for r in replies if r and r[3:4] == " "]
    # the daemon's own replies: greeting, EHLO, MAIL, RCPT, 550 unknown user, RCPT, 354, 250, 221
    assert codes == ["220", "250", "250", "250", "550", "250", "354", "250", "221"], replies
    assert any(r.startswith("250 2.0.0 Ok: queued as ") for r in replies)
    m = drop.one()
    assert m.sender == "app@example.org"
    assert m.rcpts == ["alice@example.test", "x@remote.test"]
    assert m.content == b"Subject: over -bs\r\n\r\n.dot\r\nline\r\n"


def as_user(user, groups):
    """preexec_fn: become user (uid and primary group) with exactly the supplementary groups,
    with a umask that would hide the file from the daemon."""
    pw = pwd.getpwnam(user)

    def become():
        os.setgroups(groups)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        os.umask(0o077)
    return become


@pytest.mark.skipif(not IS_ROOT, reason="changing users needs root")
def test_maildrop_group_decides_who_may_submit(drop):
    mail_gid = grp.getgrnam("mail").gr_gid
    # as the daemon sets it up with maildrop.group = "mail": sticky, group -wx, not listable
    os.chown(drop.maildrop, 0, mail_gid)
    os.chmod(drop.maildrop, 0o1730)
    p = drop.run(["alice"], b"Subject: x\n\nhi\n", preexec=as_user("nobody", []))
    assert p.returncode == EX_NOPERM, p.stderr
    assert b"not in the group that may submit mail" in p.stderr
    assert drop.files() == []

    p = drop.run(["alice"], b"Subject: x\n\nhi\n", preexec=as_user("nobody", [mail_gid]))
    ok(p)
    [name] = drop.files()
    st = os.stat(os.path.join(drop.maildrop, name))
    # the owner is who ran it (the daemon's Received names it); 0644 whatever the umask
    assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert not name.startswith(".")
    assert drop.one().sender == "nobody@example.test"


def sanitizer_build():
    with open(STERNA_BIN, "rb") as f:
        return b"__asan_init" in f.read()


@pytest.mark.skipif(not IS_ROOT, reason="set-group-id needs root")
@pytest.mark.skipif(sanitizer_build(), reason="LeakSanitizer cannot run in a set-id process")
def test_set_gid_sendmail_refuses_callers_configuration(drop):
    # an administrator may install it set-group-id to the maildrop group instead of adding users
    sgid = os.path.join(drop.dir, "bin", "sendmail-sgid")
    shutil.copy(STERNA_BIN, sgid)
    os.chown(sgid, 0, grp.getgrnam("mail").gr_gid)
    os.chmod(sgid, 0o2755)
    p = subprocess.run([sgid, "sendmail", "-C", drop.conf, "alice"], input=b"x\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                       preexec_fn=as_user("nobody", []))
    assert p.returncode == EX_NOPERM, p.stderr
    assert b"refused when sendmail runs set-id" in p.stderr


def test_s_nail_as_a_real_caller(drop):
    snail = shutil.which("s-nail")
    if snail is None:
        pytest.skip("s-nail is not installed (make deps)")
    env = dict(os.environ, HOME=drop.dir, MAILRC="/dev/null", STERNA_CONFIG=drop.conf)
    p = subprocess.run([snail, "-n", "-Sv15-compat", "-Smta=" + drop.sendmail, "-Sttycharset=utf-8",
                        "-s", "from s-nail", "-b", "bob@example.test", "alice@example.test"],
                       input=b"hello from mail(1)\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    m = drop.one()
    assert sorted(m.rcpts) == ["alice@example.test", "bob@example.test"]
    mail = parse_mail(m.content)
    assert mail["Subject"] == "from s-nail" and mail["Bcc"] is None
    assert "hello from mail(1)" in mail.get_content()


# ---- with the daemon ------------------------------------------------------------------------


def run_sendmail(s, args, data, preexec=None):
    return subprocess.run([STERNA_BIN, "sendmail", "-C", s.conf] + list(args), input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                          preexec_fn=preexec)


def test_sent_while_the_daemon_is_down_is_delivered_at_start(sterna):
    sterna.stop()
    ok(run_sendmail(sterna, ["-t"], b"To: alice@example.test\nBcc: bob@example.test\n"
                    b"Subject: while down\n\nqueued without a daemon\n"))
    assert len(files_in(os.path.join(sterna.spool, "maildrop"))) == 1
    sterna.start()
    [a] = sterna.wait_for_mail("alice")
    [b] = sterna.wait_for_mail("bob")
    for raw in (a, b):
        mail = parse_mail(raw)
        assert mail["Subject"] == "while down" and mail["Bcc"] is None
        assert mail["Return-Path"] == "<%s@example.test>" % ME
        assert mail["Message-ID"] is not None and mail["Date"] is not None
        assert mail.get_content() == "queued without a daemon\n"
    wait_until(lambda: files_in(os.path.join(sterna.spool, "maildrop")) == [],
               "the maildrop file was not removed", sterna)


def test_message_without_header_section_is_delivered_readable(sterna):
    ok(run_sendmail(sterna, ["-i", "alice"], b"no header here\n\nsecond paragraph\n"))
    [raw] = sterna.wait_for_mail("alice")
    mail = parse_mail(raw)
    assert mail.defects == []
    assert mail["From"] == "%s@example.test" % ME and mail["Received"] is not None
    assert mail.get_content() == "no header here\n\nsecond paragraph\n"


@pytest.mark.skipif(not IS_ROOT, reason="changing users needs root")
def test_received_names_the_local_user(sterna_factory):
    # "daemon": a user that is not the spool's owner (nobody), allowed by the group alone
    s = sterna_factory(maildrop__group="mail")
    user = pwd.getpwnam("daemon")
    os.chmod(s.conf, 0o644)
    ok(run_sendmail(s, ["bob"], b"Subject: from daemon\n\nhi\n",
                    preexec=as_user("daemon", [grp.getgrnam("mail").gr_gid])))
    [raw] = s.wait_for_mail("bob")
    mail = parse_mail(raw)
    received = " ".join(str(mail["Received"]).split())
    assert "daemon" in received and "userid %d (daemon)" % user.pw_uid in received, received
    assert mail["Return-Path"] == "<daemon@example.test>"


def test_bs_message_is_delivered(sterna):
    p = run_sendmail(sterna, ["-bs"], b"HELO local\r\nMAIL FROM:<>\r\nRCPT TO:<info@example.test>\r\n"
                     b"DATA\r\nSubject: -bs\r\n\r\nto an alias\r\n.\r\nQUIT\r\n")
    assert p.returncode == EX_OK and b"250 2.0.0 Ok: queued as " in p.stdout, p.stdout
    # the alias is written once and expanded by the daemon
    [a] = sterna.wait_for_mail("alice")
    [b] = sterna.wait_for_mail("bob")
    assert parse_mail(a)["Subject"] == parse_mail(b)["Subject"] == "-bs"
    assert parse_mail(a)["Return-Path"] == "<>"
