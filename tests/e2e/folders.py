"""folders.py - helpers the folder-entrance tests share: a daemon with a pickup folder, writing
files the way applications do, reading delivered mail and queue files back."""

import email
import email.policy
import os
import pwd
import re
import shutil
import struct
import tempfile
import time

import pytest

QID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@pytest.fixture
def pickup_factory(sterna_factory):
    """pickup_factory(**overrides): a daemon with a pickup folder (s.pickup), scanned every
    second, once its folders exist."""
    made = []

    def make(**overrides):
        d = tempfile.mkdtemp(prefix="sterna-pickup-")
        made.append(d)
        # the applications' folder: writable by its owner (and a group), never by everybody
        os.chmod(d, 0o770)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        overrides.setdefault("pickup__scan_interval", "1s")
        s = sterna_factory(pickup__dir=d, **overrides)
        s.pickup = d
        wait_ready(s)
        return s

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def write_file(folder, name, data):
    """Write in place, as many applications do: the daemon must wait for the close."""
    fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    # readable by the daemon's user whatever the umask; set before the close that announces it
    os.fchmod(fd, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def files_in(folder):
    try:
        return sorted(n for n in os.listdir(folder))
    except FileNotFoundError:
        return []


def wait_ready(s, starts=1):
    """Wait for the daemon's start number `starts` to finish: its port accepts from the moment it
    is bound, before the folders exist."""
    wait_until(lambda: len(re.findall(r" ready version=", s.log())) >= starts, "not ready", s)


def restart(s, starts):
    s.start()
    wait_ready(s, starts)


def wait_until(cond, what, s, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("%s after %d s; log:\n%s" % (what, timeout, s.log()[-4000:]))
        time.sleep(0.05)


def parse_mail(data):
    """A delivered message, read back with Python's email parser."""
    return email.message_from_bytes(data, policy=email.policy.default)


def received_lines(s):
    """{qid: the received log line, from the queue id on}"""
    out = {}
    for m in re.finditer(r"^\S+ \S+ (\S+) received (.*)$", s.log(), re.M):
        out[m.group(1)] = m.group(2)
    return out


def log_keys(line):
    return re.findall(r"(?:^| )([a-z_]+)=", line)


def new_qid(seq=0):
    """A well-formed queue id for now (util/qid.c: 52 bits of microseconds, 12 of sequence)."""
    v = (time.time_ns() // 1000) << 12 | seq
    out = ""
    for _ in range(13):
        out = QID_ALPHABET[v & 31] + out
        v >>= 5
    return out


def queue_records(path):
    """The records of a queue file (spool/record.h) up to E: [(type, payload)]."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"STERNAQ1", data[:8]
    off, out = 8, []
    while off < len(data):
        t = chr(data[off])
        (n,) = struct.unpack(">I", data[off + 1:off + 5])
        out.append((t, data[off + 5:off + 5 + n]))
        off += 9 + n
        if t == "E":
            break
    return out


def kv_keys(payload):
    parts = payload.split(b"\0")[:-1]
    return [parts[i].decode() for i in range(0, len(parts), 2)]
