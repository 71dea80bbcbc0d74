"""Real peers for the outbound and client-check tests: unbound as the DNS server (MX and
address records, DNSBL zones, reverse zones, zones that never answer) and Postfix's
smtp-sink as remote MTAs, each started on loopback and stopped by pid; and, for the one case
no real server does on demand, a small SMTP peer whose TLS handshake always fails."""

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time


def terminate(proc):
    """Stops proc: SIGTERM, then SIGKILL if it has not exited within 5 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

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


def free_udp_tcp_port():
    """A port free on 127.0.0.1 for UDP and TCP both (unbound listens on both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            u.close()
    raise RuntimeError("no port free for both UDP and TCP")


# The tests' listeners take their ports from a slice of 20000-31999 that is this pytest
# worker's own, below the kernel's ephemeral range (32768-60999 by default): a port asked of
# the kernel (bind to port 0) was free only at that moment, and another worker's listener or
# any outgoing connection's local port could take it before the daemon binds it.
# Each process starts at a place of its own in its slice, so that two test runs at once on
# one machine seldom meet.
_PORT_LOW, _PORT_SPAN = 20000, 12000
_port_turn = [os.getpid() * 7919]


def _port_slice():
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0
    size = _PORT_SPAN // workers
    return _PORT_LOW + (n % workers) * size, size


def _bindable(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_on(hosts):
    """A TCP port free on every one of hosts (loopback addresses), from this worker's slice,
    in turn: none is handed out twice until the slice has been gone round."""
    low, size = _port_slice()
    for _ in range(size):
        port = low + _port_turn[0] % size
        _port_turn[0] += 1
        if all(_bindable(h, port) for h in hosts):
            return port
    raise RuntimeError("no free port in %d-%d" % (low, low + size - 1))


def dnsbl_name(ip, zone):
    """The name a DNSBL zone lists ip under: "2.0.0.127.bl.test" for 127.0.0.2; an IPv6
    address as its 32 nibbles, lowest first (RFC 5782 2.4)."""
    a = ipaddress.ip_address(ip)
    if a.version == 4:
        return "%s.%s" % (".".join(reversed(str(a).split("."))), zone)
    return "%s.%s" % (".".join(reversed(a.exploded.replace(":", ""))), zone)


def listed(ip, zone, code="127.0.0.2", ttl=300):
    """The record that lists ip in the DNSBL zone, answering code."""
    return "%s. %d A %s" % (dnsbl_name(ip, zone), ttl, code)


def ptr(ip, name):
    """The PTR record of ip (in 127.in-addr.arpa or ip6.arpa: declare that zone)."""
    rev = ipaddress.ip_address(ip).reverse_pointer
    return "%s. PTR %s." % (rev, name)


class Unbound:
    """unbound in the foreground on 127.0.0.1:port, serving local-data only (no root trust
    anchor, no remote control).

    records are local-data lines ("name. [TTL] TYPE data"; see listed() and ptr()) under
    "test." or one of zones. Each of zones (such as "bl.test", "127.in-addr.arpa",
    "ip6.arpa") is served as a zone of its own, with a SOA whose MINIMUM is neg_ttl, so that
    a name it lacks gets NXDOMAIN with a negative TTL (RFC 2308). unbound has built-in zones
    "127.in-addr.arpa" and ::1's full reverse name (PTR localhost): a zone of the same name
    replaces one; a zone above it does not, and its PTR localhost answers too. Zones listed in
    stub_dead are delegated to a loopback port where nothing answers: on a fresh unbound,
    lookups there get no answer for well over 10 s, longer than any test's timeouts; but
    once unbound has seen that server time out a few times it marks it down and may answer
    SERVFAIL at once for a while, so a test that needs silence starts its own Unbound."""

    def __init__(self, records, stub_dead=(), zones=(), neg_ttl=60):
        self.dir = tempfile.mkdtemp(prefix="unbound-")
        os.chmod(self.dir, 0o755)
        self.port = free_udp_tcp_port()
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
            # UDP only: the answers here are small, and a TCP port of the same number that
            # another test holds would stop unbound from starting
            "  do-tcp: no",
            "  do-not-query-localhost: no",
            "  access-control: 127.0.0.0/8 allow",
            "  module-config: \"iterator\"",
            "  infra-host-ttl: 1",
            "  local-zone: \"test.\" static",
        ]
        for z in zones:
            lines.append("  local-zone: \"%s.\" static" % z)
            lines.append("  local-data: \"%s. 3600 SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d\""
                         % (z, z, z, neg_ttl))
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

    def query(self, name, qtype="A", timeout=5.0):
        """Asks name's qtype records over UDP: (rcode, answer count, authority count), or
        None when no answer came within timeout seconds."""
        return dns_query(("127.0.0.1", self.port), name, qtype, timeout)

    def stop(self):
        terminate(self.proc)
        self._dead.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def dns_query(server, name, qtype="A", timeout=5.0):
    """One DNS question to server (host, port) over UDP: (rcode, ancount, nscount), or None
    when nothing answers within timeout seconds."""
    qid = os.urandom(2)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split("."))
    msg = qid + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + question + b"\x00" + \
        QTYPES[qtype].to_bytes(2, "big") + b"\x00\x01"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(msg, server)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            data = s.recv(4096)
            if data[:2] == qid:
                return (data[3] & 0x0f, int.from_bytes(data[6:8], "big"),
                        int.from_bytes(data[8:10], "big"))
    except socket.timeout:
        return None
    finally:
        s.close()


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
        """Waits until count dumps exist and are whole: smtp-sink creates a dump file before it
        writes it, so a file is taken as whole once it is not empty and has stopped growing."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            got = self.messages()
            if len(got) >= count and all(got) and got == last:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("smtp-sink got %d messages, wanted %d"
                                     % (len(got), count))
            last = got
            time.sleep(0.1)

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
        self.proc = None
        self.out.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ScriptedPeer:
    """A small SMTP server on host:port that misbehaves as its mode says. With "garble" and
    "stall" it offers STARTTLS, answers it with 220 and then breaks the handshake: "garble"
    sends bytes that are no TLS record and closes, as a broken TLS stack would; "stall"
    never answers the client's hello.
    Without STARTTLS it takes mail: each message (envelope and data) goes to `messages`, and
    each session's commands to `sessions`, so a test sees which session tried STARTTLS.
    With mode "pieces" it offers no STARTTLS and sends its replies in awkward pieces: the
    greeting and every reply after a byte at a time, a few milliseconds apart (so that a
    client reads them as many partial lines), and the replies to MAIL and RCPT held back and
    sent with the one to DATA in a single write (several replies in one read)."""

    def __init__(self, host, port, mode="garble"):
        assert mode in ("garble", "stall", "pieces")
        self.host, self.port, self.mode = host, port, mode
        self.sessions, self.messages = [], []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._threads = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._session, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _session(self, conn):
        commands = []
        with self._lock:
            self.sessions.append(commands)
        conn.settimeout(10)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = conn.makefile("rb")
        held = []

        def say(reply, later=False):
            if self.mode != "pieces":
                conn.sendall(reply)
            elif later:
                held.append(reply)
            elif held:
                conn.sendall(b"".join(held) + reply)
                held.clear()
            else:
                for i in range(len(reply)):
                    conn.sendall(reply[i:i + 1])
                    time.sleep(0.002)

        try:
            say(b"220 broken.test ESMTP\r\n")
            mail, rcpts = None, []
            for line in f:
                cmd = line.rstrip(b"\r\n")
                verb = cmd.split(b" ", 1)[0].upper()
                commands.append(cmd.decode("ascii", "replace"))
                if verb == b"EHLO" and self.mode == "pieces":
                    say(b"250-broken.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE\r\n")
                elif verb == b"EHLO":
                    conn.sendall(b"250-broken.test\r\n250-8BITMIME\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    if self.mode == "stall":
                        # the ClientHello is read and never answered, until the client gives up
                        while not self._stop.is_set() and conn.recv(4096):
                            pass
                        return
                    # a TLS client reads this as a record header it cannot take
                    conn.sendall(b"this is not TLS\r\n")
                    return
                elif verb == b"MAIL":
                    mail, rcpts = cmd, []
                    say(b"250 2.1.0 Ok\r\n", later=True)
                elif verb == b"RCPT":
                    rcpts.append(cmd)
                    say(b"250 2.1.5 Ok\r\n", later=True)
                elif verb == b"DATA":
                    say(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    data = b""
                    for dl in f:
                        if dl == b".\r\n":
                            break
                        data += dl
                    with self._lock:
                        self.messages.append((mail, rcpts, data))
                    say(b"250 2.0.0 Ok: queued\r\n")
                elif verb == b"QUIT":
                    say(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    say(b"250 2.0.0 Ok\r\n")
        except OSError:
            pass
        finally:
            f.close()
            conn.close()

    def wait_messages(self, count, timeout=15):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError("the peer got %d messages, wanted %d; sessions: %r"
                                     % (len(self.messages), count, self.sessions))
            time.sleep(0.05)
        return list(self.messages)

    def stop(self):
        self._stop.set()
        self._sock.close()
        self._accepter.join(5)
        for t in self._threads:
            t.join(5)
