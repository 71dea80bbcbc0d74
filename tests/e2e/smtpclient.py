"""smtpclient.py - a small raw-socket SMTP client for the end-to-end tests.

It sends exactly the bytes a test gives it (no CRLF fixing, no dot-stuffing) and reads
whole replies, multi-line ones included (RFC 5321 4.2.1), so that tests can check the
code and the enhanced status code (RFC 3463) of every reply sterna gives.
"""

import re
import socket
import time

STATUS_RE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


class Reply:
    """One SMTP reply: code (int), status (enhanced code or None), lines (text after the code)."""

    def __init__(self, code, lines):
        self.code = code
        self.lines = lines
        first = lines[0].split(" ", 1)[0] if lines else ""
        self.status = first if STATUS_RE.match(first) else None

    @property
    def text(self):
        """The text of the last line without the enhanced status code."""
        last = self.lines[-1] if self.lines else ""
        if self.status and last.startswith(self.status):
            last = last[len(self.status):].lstrip(" ")
        return last

    def __repr__(self):
        return "Reply(%d, %r, %r)" % (self.code, self.status, self.lines)


class SMTPClosed(Exception):
    """The server closed the connection before a whole reply came."""


class Client:
    def __init__(self, host, port, timeout=10.0, source=None):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete reply within %.1f s; have %r" % (self.timeout, self.buf))
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no complete reply within %.1f s; have %r" % (self.timeout, self.buf))
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            raise SMTPClosed("connection closed; have %r" % self.buf)
        self.buf += data

    def _line(self, deadline):
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), "reply line without CRLF: %r" % line
        return line[:-1].decode("utf-8", "replace")

    def reply(self, timeout=None):
        """Read one whole reply (all its lines) and return a Reply."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        lines = []
        code = None
        while True:
            line = self._line(deadline)
            m = re.match(r"^(\d{3})([ -]|$)(.*)$", line)
            assert m, "malformed reply line: %r" % line
            if code is None:
                code = int(m.group(1))
            assert int(m.group(1)) == code, "code changes inside a reply: %r" % lines
            lines.append(m.group(3))
            if m.group(2) != "-":
                return Reply(code, lines)

    def dialog(self, *steps):
        """dialog(b"EHLO x\\r\\n", 250, b"MAIL FROM:<a@b.test>\\r\\n", 250, ...): send each
        bytes item, and check that each int is the code of the next reply. Returns the replies."""
        replies = []
        for step in steps:
            if isinstance(step, (bytes, bytearray)):
                self.send(step)
            else:
                r = self.reply()
                assert r.code == step, "expected %d, got %r (after %r)" % (step, r, replies)
                replies.append(r)
        return replies

    def closed(self, timeout=5.0):
        """True when the server has closed the connection (EOF or reset within timeout)."""
        if self.eof:
            return True
        deadline = time.monotonic() + timeout
        try:
            while True:
                before = len(self.buf)
                self._fill(deadline)
                if len(self.buf) > before:
                    return False
        except SMTPClosed:
            return True
        except TimeoutError:
            return False

    def starttls(self, context, server_hostname="localhost"):
        """After the 220 to STARTTLS: the TLS handshake on this connection. Nothing may be left
        unread from the plaintext part (a reply there would be one the server should not send)."""
        assert self.buf == b"", "plaintext left before the handshake: %r" % self.buf
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
