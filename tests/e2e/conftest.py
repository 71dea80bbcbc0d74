"""conftest.py - fixtures that run the real sterna binary on a loopback port.

`sterna` starts one daemon with the default test configuration; `sterna_factory(**overrides)`
starts one with changed keys, written with "__" for the dots of docs/configuration.md:
    sterna_factory(smtp__max_errors=3, listen__mx__greeting_delay="1s",
                   policy__dnsbl__zen__zone="bl.test", http__listen__api__address="...",
                   milter__spam__address="unix:/run/spam.sock")
`sterna_tls` starts one with a throwaway self-signed certificate (made with the openssl
command by `make_cert`): STARTTLS on the mx port, implicit TLS on `port_smtps`.
Every process started here is stopped by pid at teardown, and a sanitizer report
(ASan, UBSan, LSan) in the daemon's stderr fails the test.
"""

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from peers import free_port_on, terminate
from smtpclient import Client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STERNA_BIN = os.environ.get("STERNA_BIN") or os.path.join(ROOT, "build", "sterna")
HOSTNAME = "mx.example.test"
SANITIZER_MARKS = ("AddressSanitizer", "runtime error:", "LeakSanitizer", "ThreadSanitizer")


def free_port():
    """A port nobody listens on, on 127.0.0.1 (peers.free_port_on says from where)."""
    return free_port_on(["127.0.0.1"])


def _socket_key(path):
    """What tells one socket file from the next at path (None: there is none)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_ctime_ns)


def _render_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_render_value(x) for x in v) + "]"
    if re.fullmatch(r"\d+[a-zA-Z]*", v):
        return v  # a number with a size or time suffix: a bare word
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(tree, indent=""):
    out = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out.append("%s%s {" % (indent, key))
            out.append(render_config(value, indent + "\t"))
            out.append("%s}" % indent)
        else:
            out.append("%s%s = %s;" % (indent, key, _render_value(value)))
    return "\n".join(out)


class Sterna:
    """One running daemon, with helpers to talk to it and look at what it stored."""

    def __init__(self, overrides):
        self.dir = tempfile.mkdtemp(prefix="sterna-e2e-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.spool = os.path.join(self.dir, "spool")
        self.mailbox_root = os.path.join(self.dir, "mail")
        self.conf = os.path.join(self.dir, "sterna.conf")
        self.log_path = os.path.join(self.dir, "sterna.log")
        self.proc = None
        self.wrap = []   # a command to run sterna under (e.g. prlimit), for the next start
        self._clients = []
        self.as_root = os.geteuid() == 0
        for d in (self.spool, self.mailbox_root):
            os.mkdir(d, 0o755)
        if self.as_root:
            nobody = pwd.getpwnam("nobody")
            for d in (self.dir, self.spool, self.mailbox_root):
                os.chown(d, nobody.pw_uid, nobody.pw_gid)

        server = {"hostname": HOSTNAME, "log_level": "debug"}
        if self.as_root:
            server["user"] = "nobody"
        tree = {
            "server": server,
            'listen "mx"': {"address": "127.0.0.1:%d" % self.port},
            "smtp": {},
            "spool": {"dir": self.spool},
            "local": {
                "domains": ["example.test", "localhost"],
                "users": ["postmaster", "alice", "bob"],
                "mailbox_root": self.mailbox_root,
                "aliases": {"info": ["alice", "bob"]},
            },
            "queue": {},
            # nothing here may ask the machine's resolver: by default no DNS server answers
            # (port 1 on loopback refuses); the outbound tests point it at their own unbound
            "dns": {"resolver": "127.0.0.1:1", "timeout": "500ms"},
        }
        self.tree = tree
        self._apply(overrides)
        # a test may move the listener to another loopback address (a second MTA)
        self.host = "127.0.0.1"
        m = re.fullmatch(r"([\d.]+):(\d+)", tree['listen "mx"']["address"])
        if m:
            self.host, self.port = m.group(1), int(m.group(2))
        # a test may put the spool elsewhere (the power-loss tests' file system)
        self.spool = tree["spool"]["dir"]
        self._write()
        self.start()

    def _apply(self, overrides):
        """Sets each key of overrides (section__key: the value; None removes the key)."""
        for key, value in overrides.items():
            parts = key.split("__")
            if parts[0] == "listen":
                parts = ['listen "%s"' % parts[1]] + parts[2:]
            elif parts[:2] == ["tls", "cert"]:
                parts = ["tls", 'cert "%s"' % parts[2]] + parts[3:]
            elif parts[:2] == ["policy", "dnsbl"]:
                parts = ["policy", 'dnsbl "%s"' % parts[2]] + parts[3:]
            elif parts[:2] == ["http", "listen"]:
                parts = ["http", 'listen "%s"' % parts[2]] + parts[3:]
            elif parts[0] == "milter":
                parts = ['milter "%s"' % parts[1]] + parts[2:]
            node = self.tree
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            if value is None:
                node.pop(parts[-1], None)
            else:
                node[parts[-1]] = value

    def _write(self):
        # renamed into place, so that a reload never reads half a file
        with open(self.conf + ".new", "w") as f:
            f.write(render_config(self.tree) + "\n")
        os.replace(self.conf + ".new", self.conf)

    def reconfigure(self, **overrides):
        """Changes the configuration file (as the constructor's overrides do); the daemon
        reads it at its next reload."""
        self._apply(overrides)
        self._write()

    def reload(self, *args):
        """sterna reload -c CONF: the completed process (its output as text)."""
        return subprocess.run([STERNA_BIN, "reload", "-c", self.conf, *args],
                              capture_output=True, text=True, timeout=30)

    # --- process control -------------------------------------------------------------
    def start(self):
        assert os.access(STERNA_BIN, os.X_OK), "no sterna binary at %s (set STERNA_BIN)" % STERNA_BIN
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.wrap + [STERNA_BIN, "serve", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        # The port is bound (and takes connections into its backlog) before the spool is
        # ready; the daemon makes its control socket just before it serves: a new one (not
        # what a killed daemon left) says it is up, and its spool folders are made. Only then
        # one probe session, waited for to its end: a probe still open (or many in the
        # backlog) would take places a test of the session limits counts on.
        sock = os.path.join(self.spool, "control")
        before = _socket_key(sock)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail("sterna exited with %s at start; log:\n%s" % (self.proc.returncode, self.log()))
            key = _socket_key(sock)
            if key is not None and key != before and self._probe(deadline):
                return
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("sterna did not accept connections within 30 s; log:\n%s" % self.log())
            time.sleep(0.05)

    def _probe(self, deadline):
        """One session that says nothing and ends: True once the daemon has closed it (so it
        no longer counts among the open sessions)."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as c:
                c.shutdown(socket.SHUT_WR)
                c.settimeout(max(0.1, deadline - time.monotonic()))
                while c.recv(4096):
                    pass
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is None:
            return
        terminate(self.proc)
        self.proc = None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def restart(self):
        """Stop, start, and wait until the queue found on disk has been read back (the
        daemon serves while it reads: a listing made before then may miss messages)."""
        self.stop()
        before = len(self.log())
        self.start()
        # the queue is listed and read back while the daemon serves; the line comes once it
        # has been, an empty queue too
        deadline = time.monotonic() + 60
        while not re.search(r"queued messages recovered", self.log()[before:]):
            if time.monotonic() > deadline:
                pytest.fail("the queue was not recovered within 60 s; log:\n%s" % self.log()[before:])
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    # --- looking at the results --------------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def connect(self, greeting=True, timeout=10.0, source=None):
        """A raw client (from source, a loopback address, if given); with greeting=True the
        220 greeting is read and checked."""
        c = Client("127.0.0.1", self.port, timeout=timeout, source=source)
        self._clients.append(c)
        if greeting:
            r = c.reply()
            assert r.code == 220 and r.lines == ["%s ESMTP sterna" % HOSTNAME], r
        return c

    def maildir(self, user):
        return os.path.join(self.mailbox_root, user)

    def mail_files(self, user):
        new = os.path.join(self.maildir(user), "new")
        try:
            names = sorted(n for n in os.listdir(new) if not n.startswith("."))
        except FileNotFoundError:
            return []
        return [os.path.join(new, n) for n in names]

    def mails(self, user):
        out = []
        for p in self.mail_files(user):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_for_mail(self, user, count=1, timeout=10):
        """Wait until user's Maildir new/ holds at least count files; return their contents."""
        deadline = time.monotonic() + timeout
        while True:
            files = self.mail_files(user)
            if len(files) >= count:
                return self.mails(user)
            if time.monotonic() > deadline:
                pytest.fail("%s has %d message(s) in new/ after %d s, wanted %d; log:\n%s"
                            % (user, len(files), timeout, count, self.log()[-4000:]))
            time.sleep(0.05)

    def all_mail(self):
        """Every file in every Maildir (new/ and cur/ and tmp/): for 'nothing was delivered'."""
        found = []
        for dirpath, _dirs, files in os.walk(self.mailbox_root):
            found += [os.path.join(dirpath, f) for f in files]
        return found

    def queue_ids(self):
        q = os.path.join(self.spool, "queue")
        try:
            return sorted(os.listdir(q))
        except FileNotFoundError:
            return []

    def wait_log(self, pattern, timeout=10):
        """Wait until a log line matches the regular expression pattern; return the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m:
                return m
            if time.monotonic() > deadline:
                pytest.fail("no log line matches %r after %d s; log:\n%s"
                            % (pattern, timeout, self.log()[-4000:]))
            time.sleep(0.05)

    def sanitizer_reports(self):
        text = self.log()
        return [m for m in SANITIZER_MARKS if m in text]


@pytest.fixture
def sterna_factory():
    started = []

    def make(**overrides):
        s = Sterna(overrides)
        started.append(s)
        return s

    yield make
    problems = []
    for s in started:
        for c in s._clients:
            c.close()
        s.stop()
        bad = s.sanitizer_reports()
        if bad:
            problems.append("sanitizer report (%s) in sterna's stderr:\n%s" % (", ".join(bad), s.log()))
    for s in started:
        if not problems:
            shutil.rmtree(s.dir, ignore_errors=True)
    if problems:
        pytest.fail("\n\n".join(problems))


@pytest.fixture
def sterna(sterna_factory):
    return sterna_factory()


def make_cert(directory, name, names=("localhost",), ips=("127.0.0.1",), days=30):
    """A throwaway self-signed certificate (P-256) for names and ips, made by the openssl
    command into directory as NAME.pem and NAME.key (overwritten). Returns (chain, key)."""
    chain = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key + ".new", "-out", chain + ".new", "-days", str(days),
                    "-subj", "/CN=" + names[0], "-addext", "subjectAltName=" + san],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    # SIGHUP reads it again as server.user, after privileges are dropped
    os.chmod(key + ".new", 0o644)
    # renamed into place, so that a reload never sees half a file
    os.rename(key + ".new", key)
    os.rename(chain + ".new", chain)
    return chain, key


@pytest.fixture
def cert_dir():
    d = tempfile.mkdtemp(prefix="sterna-tls-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def tls_overrides(cert_dir, smtps_port, certs=("localhost",)):
    """Overrides for sterna_factory: the certificates (made for their names, the first is the
    default) and an implicit-TLS listener "smtps"; the mx listener offers STARTTLS."""
    o = {"listen__smtps__address": "127.0.0.1:%d" % smtps_port, "listen__smtps__implicit_tls": True}
    for name in certs:
        chain, key = make_cert(cert_dir, name, names=(name,))
        o["tls__cert__%s__chain" % name.replace(".", "-")] = chain
        o["tls__cert__%s__key" % name.replace(".", "-")] = key
    return o


@pytest.fixture
def sterna_tls(sterna_factory, cert_dir):
    port = free_port()
    s = sterna_factory(**tls_overrides(cert_dir, port))
    s.port_smtps = port
    s.chain = os.path.join(cert_dir, "localhost.pem")
    s.key = os.path.join(cert_dir, "localhost.key")
    s.cert_dir = cert_dir
    return s
