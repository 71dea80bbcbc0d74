"""A big message relayed end to end: 30 MB through sterna to a sink that keeps the bytes as
they came over the wire, so that the dot-stuffing and every byte are checked, not a dump's
re-encoding. The outbound client streams the content from the queue file a piece at a time
(docs/architecture.md, outbound delivery): the daemon's peak memory must stay far below
the message's size while it sends it."""

import random
import re
import smtplib
import socket
import ssl
import threading
import time

import pytest

from conftest import make_cert
from peers import free_port_on

HOST = "127.0.0.1"
SIZE = 30 * 1024 * 1024


class WireSink:
    """An SMTP server on loopback that accepts every message and keeps each one's DATA
    bytes exactly as sent (dot-stuffed, up to the final "."); with tls (an ssl context) it
    offers STARTTLS; with give_up_after it refuses a message once it has that many bytes of
    it, without waiting for its end (and then reads on, discarding, until the client leaves)."""

    def __init__(self, host, port, tls=None, give_up_after=None):
        self.tls = tls
        self.give_up_after = give_up_after
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((host, port))
        self.srv.listen(8)
        self.messages = []
        self.is_stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.is_stopping:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        buf = b""

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            out, buf = buf.split(b"\r\n", 1)
            return out

        try:
            conn.sendall(b"220 wiresink.test ESMTP\r\n")
            while True:
                cmd = line().upper()
                if cmd.startswith(b"EHLO"):
                    tls = b"250-STARTTLS\r\n" if self.tls and not isinstance(conn, ssl.SSLSocket) \
                        else b""
                    conn.sendall(b"250-wiresink.test\r\n" + tls +
                                 b"250-8BITMIME\r\n250 PIPELINING\r\n")
                elif cmd.startswith(b"STARTTLS") and self.tls:
                    conn.sendall(b"220 go ahead\r\n")
                    buf = b""       # RFC 3207 4.2: nothing sent before the handshake counts
                    conn = self.tls.wrap_socket(conn, server_side=True)
                elif cmd.startswith(b"QUIT"):
                    conn.sendall(b"221 bye\r\n")
                    return
                elif cmd.startswith(b"DATA"):
                    conn.sendall(b"354 go on\r\n")
                    data = bytearray(buf)
                    buf = b""
                    while not (data.startswith(b".\r\n") or data.endswith(b"\r\n.\r\n")):
                        chunk = conn.recv(1 << 20)
                        if not chunk:
                            raise EOFError
                        data += chunk
                        if self.give_up_after and len(data) > self.give_up_after:
                            conn.sendall(b"552 5.3.4 too big for us\r\n")
                            time.sleep(0.5)     # while the client still has much to send
                            while conn.recv(1 << 20):
                                pass
                            raise EOFError
                    self.messages.append(bytes(data[:-3]))
                    conn.sendall(b"250 2.0.0 kept\r\n")
                else:
                    conn.sendall(b"250 ok\r\n")
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.is_stopping = True
        self.srv.close()


def unstuff(wire):
    """The content from DATA bytes: a dot doubled at a line's start loses one (RFC 5321
    4.5.2)."""
    lines = wire.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


def stuff(content):
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in content.split(b"\r\n"))


def big_body():
    """30 MB of lines from 0 to 998 bytes, many starting with one or more dots, some that are
    only a dot: what a careless unstuffing or a chunk boundary would break."""
    rng = random.Random(15)
    parts = [b"Subject: a big one\r\nFrom: alice@example.test\r\nTo: bob@big.test\r\n\r\n"]
    size = len(parts[0])
    while size < SIZE:
        kind = rng.randrange(6)
        if kind == 0:
            ln = b"." * rng.randrange(1, 4)
        else:
            ln = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 .")
                       for _ in range(rng.randrange(0, 80)))
            if kind == 1:
                ln = b"." + ln
            elif kind == 2:
                ln += b"x" * rng.randrange(0, 919)
        parts.append(ln + b"\r\n")
        size += len(ln) + 2
    return b"".join(parts)


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(l.split()[1] for l in f if l.startswith("VmHWM:")))


def under_asan(pid):
    """The sanitizer's quarantine keeps freed memory resident: peak memory says nothing."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def relaying_sterna(sterna_factory, port):
    """A sterna that relays for 127.0.0.2, big.test routed to HOST:port."""
    return sterna_factory(relay__trusted_networks=["127.0.0.2/32"], dns__resolver="127.0.0.1:1",
                          outbound__routes=["big.test [%s]:%d" % (HOST, port)])


def send_to_big_test(s, body):
    """Sends body to bob@big.test from 127.0.0.2; the queue id of the 250."""
    with smtplib.SMTP(s.host, s.port, local_hostname="client.test",
                      source_address=("127.0.0.2", 0), timeout=120) as c:
        c.ehlo()
        c.mail("alice@example.test")
        assert c.rcpt("bob@big.test")[0] == 250
        code, resp = c.data(body)
        assert code == 250, resp
    return re.search(rb"queued as (\S+)", resp).group(1).decode()


@pytest.mark.parametrize("is_tls", [False, True], ids=["plain", "starttls"])
def test_30mb_relayed_byte_for_byte_in_bounded_memory(sterna_factory, cert_dir, is_tls):
    port = free_port_on([HOST])
    ctx = None
    if is_tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*make_cert(cert_dir, "wiresink", names=("wiresink.test",)))
    sink = WireSink(HOST, port, ctx)
    try:
        s = relaying_sterna(sterna_factory, port)
        body = big_body()
        assert sum(1 for l in body.split(b"\r\n") if l.startswith(b".")) > 10000
        before = vm_hwm_kib(s.pid)
        qid = send_to_big_test(s, body)
        deadline = time.monotonic() + 120
        while not sink.messages or qid in s.queue_ids():
            assert time.monotonic() < deadline, s.log()[-3000:]
            time.sleep(0.2)
        [wire] = sink.messages
        content = unstuff(wire)
        # sterna's Received line, then the message exactly as it was sent
        assert content.startswith(b"Received: from client.test")
        assert content.endswith(b"\r\n" + body)
        assert len(content) - len(body) < 1000
        # and stuffed exactly where a line starts with a dot, nowhere else
        assert wire == stuff(content)
        line = re.search(qid + r"\.1 delivered to=<bob@big.test>.*", s.log()).group(0)
        assert ("tls=TLSv1.3" in line) == is_tls, line
        if not under_asan(s.pid):
            # two copies of the message were held while sending it before streaming: now a
            # few buffers per connection (a generous bound, far below the message's size)
            grew = vm_hwm_kib(s.pid) - before
            assert grew < SIZE // 1024 // 3, "peak memory grew by %d KiB" % grew
    finally:
        sink.stop()


def test_refused_before_its_end(sterna_factory):
    """A peer that refuses a big message while it is still being sent: its reply is the
    message's (a bounce for a 5xx), not a broken session to try again."""
    port = free_port_on([HOST])
    sink = WireSink(HOST, port, give_up_after=1024 * 1024)
    try:
        s = relaying_sterna(sterna_factory, port)
        qid = send_to_big_test(s, b"Subject: too big\r\n\r\n" + (b"y" * 78 + b"\r\n") * 250000)
        deadline = time.monotonic() + 30
        while not re.search(qid + r"\.1 bounced to=<bob@big.test> .*dsn=5\.3\.4", s.log()):
            assert time.monotonic() < deadline, s.log()[-3000:]
            time.sleep(0.1)
        assert sink.messages == []
    finally:
        sink.stop()
