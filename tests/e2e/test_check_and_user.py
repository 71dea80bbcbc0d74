"""`sterna check` against the example and the broken configurations, --version, and the
switch to server.user when started as root."""

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, STERNA_BIN

BAD = sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "configs", "bad", "*.conf")))


def run(*args):
    return subprocess.run([STERNA_BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)


def test_version():
    p = run("--version")
    assert p.returncode == 0
    assert p.stdout.decode().startswith("sterna ")


def test_check_example_config(tmp_path):
    """examples/sterna.conf as `make run` uses it: with the self-signed certificate it makes,
    in a copy of the layout (examples/ and var/tls/), so that the work tree is left alone."""
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples")
    conf = str(tmp_path / "examples" / "sterna.conf")
    p = run("check", "-c", conf)
    assert p.returncode == 1
    assert re.fullmatch(r"%s:\d+: tls\.cert\.localhost\.chain: %s/var/tls/cert\.pem: cannot read: "
                        r"No such file or directory\n" % (re.escape(conf), re.escape(str(tmp_path))),
                        p.stderr.decode()), p.stderr
    subprocess.run(["sh", os.path.join(ROOT, "scripts", "selfsigned.sh"), str(tmp_path / "var" / "tls")],
                   check=True, stdout=subprocess.PIPE, timeout=60)
    # make run makes the HTTP API's keys file, empty, beside them
    keys = tmp_path / "var" / "api_keys"
    p = run("check", "-c", conf)
    assert p.returncode == 1
    assert p.stderr.decode() == "%s: No such file or directory\n" % keys, p.stderr
    keys.write_text("")
    p = run("check", "-c", conf)
    assert p.returncode == 0, p.stderr


def test_there_are_bad_configs():
    assert len(BAD) > 10


@pytest.mark.parametrize("conf", BAD, ids=[os.path.basename(b) for b in BAD])
def test_check_bad_config(conf):
    with open(conf[:-len(".conf")] + ".expect") as f:
        want = f.read().strip()
    p = run("check", "-c", conf)
    assert p.returncode == 1, (p.returncode, p.stderr)
    first = p.stderr.decode("utf-8", "replace").split("\n", 1)[0]
    # Paths in the message (the file, "already set at", include cycles) name the directory.
    assert first.replace(os.path.dirname(conf) + "/", "") == want, (first, want)


def test_check_missing_file(tmp_path):
    p = run("check", "-c", str(tmp_path / "none.conf"))
    assert p.returncode == 1
    assert p.stderr.decode().split("\n")[0].endswith("none.conf: cannot read: No such file or directory")


def test_list_files_are_read_by_check_and_at_start():
    """policy's list files: `sterna check` and `sterna serve` read them, name the bad line of
    one, and name a missing one where the configuration does. serve reads them as server.user,
    so the folder is one that user may read."""
    from conftest import free_port
    d = tempfile.mkdtemp(prefix="sterna-e2e-")
    try:
        os.chmod(d, 0o755)
        server = 'hostname = "mx.example.test";'
        if os.geteuid() == 0:
            server += ' user = "nobody";'
            os.chown(d, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
        conf = os.path.join(d, "sterna.conf")
        with open(conf, "w") as f:
            f.write('server { %s }\nlisten "mx" { address = "127.0.0.1:%d"; }\n'
                    'spool { dir = "spool"; }\nlocal { mailbox_root = "mail"; }\n'
                    'policy {\n\tallow_clients = ["127.0.0.1"];\n\tblock_clients_file = "clients.txt";\n}\n'
                    % (server, free_port()))
        lists = os.path.join(d, "clients.txt")
        cases = [
            (None, "sterna.conf:7: policy.block_clients_file: cannot read clients.txt: No such file "
             "or directory"),
            (b"# networks\n192.0.2.0/24\r\n\n10.0.0.0/33 # no\n", "clients.txt:4: '10.0.0.0/33' is "
             "not an address or a network in CIDR notation (as 192.0.2.0/24 or 2001:db8::/32)"),
            (b"192.0.2.\xff\n", "clients.txt:1: '192.0.2.\\xff' is not an address or a network in "
             "CIDR notation (as 192.0.2.0/24 or 2001:db8::/32)"),
        ]
        for data, want in cases:
            if data is not None:
                with open(lists, "wb") as f:
                    f.write(data)
            p = run("check", "-c", conf)
            assert p.returncode == 1, p.stderr
            assert p.stderr.decode().replace(d + "/", "") == want + "\n"
            p = run("serve", "-c", conf)
            assert p.returncode == 1
            # the daemon says it in a log line's msg="...": a backslash there is escaped
            assert want.replace("\\", "\\\\") in p.stderr.decode().replace(d + "/", ""), p.stderr
        with open(lists, "wb") as f:
            f.write(b"192.0.2.0/24\n2001:db8::/32\n")
        p = run("check", "-c", conf)
        assert p.returncode == 0, p.stderr
    finally:
        shutil.rmtree(d)


def test_daemon_starts_with_list_files(sterna_factory):
    """The daemon reads its list files as server.user, and its sandbox lets it."""
    d = tempfile.mkdtemp(prefix="sterna-e2e-")
    try:
        os.chmod(d, 0o755)
        for name, data in (("clients.txt", "192.0.2.0/24\n"), ("senders.txt", "<>\n.example.net\n")):
            with open(os.path.join(d, name), "w") as f:
                f.write(data)
        s = sterna_factory(policy__block_clients_file=os.path.join(d, "clients.txt"),
                           policy__allow_senders_file=os.path.join(d, "senders.txt"))
        c = s.connect()
        c.dialog(b"NOOP\r\n", 250)
    finally:
        shutil.rmtree(d)


@pytest.mark.skipif(os.geteuid() != 0, reason="only when run as root")
def test_root_drops_to_server_user(sterna):
    nobody = pwd.getpwnam("nobody").pw_uid
    want = [str(nobody)] * 4
    deadline = time.monotonic() + 10
    while True:
        with open("/proc/%d/status" % sterna.pid) as f:
            uid = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        if uid == want or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert uid == want


@pytest.mark.skipif(os.geteuid() != 0, reason="only when run as root")
def test_no_capability_and_no_new_privileges_after_the_drop(sterna):
    """After the drop: no capability in any set, the bounding set empty, and no_new_privs, so
    that nothing this process could run (a set-id or file-capability program) gains any."""
    sterna.wait_log(r"running as nobody")
    with open("/proc/%d/status" % sterna.pid) as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[key], 16) == 0, (key, status[key])
    assert status["NoNewPrivs"].strip() == "1"
    # and it still works
    c = sterna.connect()
    c.dialog(b"EHLO client.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250,
             b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
             b"Subject: caps\r\n\r\nnone\r\n.\r\n", 250)
    sterna.wait_for_mail("alice")


def write_conf(d, body):
    from conftest import free_port
    conf = os.path.join(d, "sterna.conf")
    with open(conf, "w") as f:
        f.write('server { hostname = "mx.example.test"; }\nlisten "mx" { address = "127.0.0.1:%d"; }\n'
                'spool { dir = "spool"; }\nlocal { mailbox_root = "mail"; }\n%s' % (free_port(), body))
    return conf


def test_check_refuses_a_server_user_that_does_not_exist(tmp_path):
    conf = write_conf(str(tmp_path), 'server {\n\tuser = "no-such-sterna-user";\n}\n')
    p = run("check", "-c", conf)
    assert p.returncode == 1
    assert p.stderr.decode() == "%s:6: server.user: no such user 'no-such-sterna-user'\n" % conf
    conf = write_conf(str(tmp_path), 'server {\n\tuser = "nobody";\n}\n')
    p = run("check", "-c", conf)
    assert p.returncode == 0, p.stderr


def test_check_reads_the_outbound_ca_file(tmp_path):
    """outbound.tls_ca_file is read as serve would read it: missing, not PEM, or good."""
    conf = write_conf(str(tmp_path), 'outbound {\n\tsmarthost = "[192.0.2.25]:587";\n'
                      '\tsmarthost_tls = verify;\n\ttls_ca_file = "ca.pem";\n}\n')
    ca = str(tmp_path / "ca.pem")
    p = run("check", "-c", conf)
    assert p.returncode == 1
    assert p.stderr.decode() == ("%s:8: outbound.tls_ca_file: %s: cannot read: No such file or "
                                 "directory\n" % (conf, ca))
    with open(ca, "w") as f:
        f.write("not a certificate\n")
    p = run("check", "-c", conf)
    assert p.returncode == 1
    assert p.stderr.decode().startswith("%s:8: outbound.tls_ca_file: %s: not a PEM file of "
                                        "certificates: " % (conf, ca)), p.stderr
    from conftest import make_cert
    chain, _key = make_cert(str(tmp_path), "ca")
    assert chain == ca
    p = run("check", "-c", conf)
    assert p.returncode == 0, p.stderr
    # serve reads it too, and stops with the same words when it cannot
    os.unlink(ca)
    p = run("serve", "-c", conf)
    assert p.returncode == 1
    assert "outbound.tls_ca_file: %s: cannot read" % ca in p.stderr.decode(), p.stderr
