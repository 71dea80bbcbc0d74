"""Real peers for the outbound tests: unbound as the DNS server and Postfix's smtp-sink as
remote MTAs, each started on loopback and stopped by pid."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
POSTFIX = os.path.join(ROOT, ".cache", "postfix")
SINK_BIN = os.path.join(POSTFIX, "usr", "sbin", "smtp-sink")
UNBOUND_BIN = shutil.which("unbound") or "/usr/sbin/unbound"


def wait_port(host, port, proto=socket.SOCK_STREAM, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proto == socket.SOCK_STREAM:
                socket.create_connection((host, port), timeout=0.5).close()
                return
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.3)
            # "test. A": answered from the local zone at once, with no recursion
            s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                     b"\x04test\x00\x00\x01\x00\x01", (host, port))
            s.recv(512)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing answers on %s:%d" % (host, port))


def free_port_on(hosts):
    """A TCP port free on every one of hosts (loopback addresses)."""
    for _ in range(50):
        s = socket.socket()
        s.bind((hosts[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for h in hosts[1:]:
            t = socket.socket()
            try:
                t.bind((h, port))
            except OSError:
                ok = False
            t.close()
        if ok:
            return port
    raise RuntimeError("no common free port")


class Unbound:
    """unbound in the foreground on 127.0.0.1:port, serving local-data only (no root trust
    anchor, no remote control); zones listed in stub_dead are delegated to a loopback port
    where nothing answers, so lookups there time out."""

    def __init__(self, records, stub_dead=()):
        self.dir = tempfile.mkdtemp(prefix="unbound-")
        os.chmod(self.dir, 0o755)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dead.bind(("127.0.0.1", 0))
        self.dead_port = dead.getsockname()[1]
        self._dead = dead  # bound and never read: queries there get no answer
        lines = [
            "server:",
            "  interface: 127.0.0.1@%d" % self.port,
            "  port: %d" % self.port,
            "  do-daemonize: no",
            "  username: \"\"",
            "  chroot: \"\"",
            "  directory: \"%s\"" % self.dir,
            "  pidfile: \"\"",
            "  use-syslog: no",
            "  logfile: \"\"",
            "  verbosity: 0",
            "  do-ip6: no",
            "  do-not-query-localhost: no",
            "  access-control: 127.0.0.0/8 allow",
            "  module-config: \"iterator\"",
            "  infra-host-ttl: 1",
            "  local-zone: \"test.\" static",
        ]
        for z in stub_dead:
            lines.append("  local-zone: \"%s.\" transparent" % z)
        for r in records:
            lines.append("  local-data: \"%s\"" % r)
        lines += ["remote-control:", "  control-enable: no"]
        for z in stub_dead:
            lines += ["stub-zone:", "  name: \"%s.\"" % z, "  stub-addr: 127.0.0.1@%d" % self.dead_port]
        self.conf = os.path.join(self.dir, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "unbound.log"), "wb")
        self.proc = subprocess.Popen([UNBOUND_BIN, "-d", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_port("127.0.0.1", self.port, socket.SOCK_DGRAM, timeout=20)
        except RuntimeError:
            self.log.flush()
            with open(os.path.join(self.dir, "unbound.log"), "rb") as f:
                raise RuntimeError("unbound did not answer on port %d (exit %s): %s"
                                   % (self.port, self.proc.poll(), f.read()[-2000:]))

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._dead.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sink:
    """smtp-sink on host:port. Each message is dumped to its own file (-d); -c counts
    sessions and messages; extra options choose rejections (-r soft, -f hard)."""

    def __init__(self, host, port, *options):
        self.host, self.port, self.options = host, port, options
        self.dir = tempfile.mkdtemp(prefix="sink-")
        os.chmod(self.dir, 0o777)
        self.proc = None
        self.start()

    def start(self):
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(POSTFIX, "usr", "lib", "postfix"))
        cmd = [SINK_BIN, "-c", "-d", os.path.join(self.dir, "msg.")]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += list(self.options) + ["%s:%d" % (self.host, self.port), "64"]
        self.out = open(os.path.join(self.dir, "counters"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        wait_port(self.host, self.port)
        # wait_port's probe was a session; count from here
        time.sleep(0.1)
        self.base = self.counters()

    def restart(self, *options):
        self.stop()
        self.options = options
        self.start()

    def counters(self):
        """(sessions, messages) as smtp-sink's -c counters last said."""
        try:
            with open(os.path.join(self.dir, "counters"), "rb") as f:
                text = f.read().decode("ascii", "replace")
        except FileNotFoundError:
            return (0, 0)
        last = [p for p in text.replace("\n", "\r").split("\r") if p.startswith("sess=")]
        if not last:
            return (0, 0)
        kv = dict(x.split("=") for x in last[-1].split())
        return (int(kv["sess"]), int(kv["mesg"]))

    def messages(self):
        out = []
        for n in sorted(os.listdir(self.dir)):
            if n.startswith("msg."):
                with open(os.path.join(self.dir, n), "rb") as f:
                    out.append(f.read())
        return out

    def wait_messages(self, count, timeout=15):
        deadline = time.monotonic() + timeout
        while len(self.messages()) < count:
            if time.monotonic() > deadline:
                raise AssertionError("smtp-sink got %d messages, wanted %d"
                                     % (len(self.messages()), count))
            time.sleep(0.05)
        return self.messages()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.out.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
