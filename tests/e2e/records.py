"""records.py - the record framing of queue files and maildrop files (src/spool/record.h,
tests/unit/golden/README.md), written and read in Python: so a test can look inside a
queue file, or lay down a file as an earlier version (or a hostile user) would have."""

import struct

QUEUE_MAGIC = b"STERNAQ1"


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def kv(*pairs):
    """A key/value payload: kv(("qid", "X"), ("helo", "h")) -> b"qid\\0X\\0helo\\0h\\0"."""
    out = b""
    for k, v in pairs:
        out += k.encode() + b"\0" + (v if isinstance(v, bytes) else str(v).encode()) + b"\0"
    return out


def parse_kv(payload):
    fields = payload.split(b"\0")[:-1]
    return {fields[i].decode(): fields[i + 1] for i in range(0, len(fields) - 1, 2)}


_large_crcs = {}


def _record_crc(head, payload):
    """A record's CRC; those of large payloads are kept, since a generator of many queue files
    writes the same content into each (the pure-Python CRC costs about 1 ms per 4 KiB)."""
    if len(payload) < 1024:
        return crc32c(head + payload)
    key = head + payload
    if key not in _large_crcs:
        _large_crcs.clear()
        _large_crcs[key] = crc32c(key)
    return _large_crcs[key]


class Writer:
    """Appends records, counting those before E as the spool does."""

    def __init__(self, magic=QUEUE_MAGIC):
        self.data = bytearray(magic)
        self.crcs = []

    def record(self, rtype, payload, counted=True):
        head = rtype.encode() + struct.pack(">I", len(payload))
        crc = _record_crc(head, payload)
        self.data += head + payload + struct.pack(">I", crc)
        if counted:
            self.crcs.append(crc)
        return self

    def end(self):
        chain = crc32c(b"".join(struct.pack(">I", c) for c in self.crcs))
        return self.record("E", struct.pack(">II", len(self.crcs), chain), counted=False)


def read(data, magic=QUEUE_MAGIC):
    """The records of a whole file as (type, payload) pairs; asserts the framing is sound."""
    assert data[:8] == magic, data[:8]
    out, off = [], 8
    while off < len(data):
        rtype = chr(data[off])
        (n,) = struct.unpack(">I", data[off + 1:off + 5])
        payload = data[off + 5:off + 5 + n]
        (crc,) = struct.unpack(">I", data[off + 5 + n:off + 9 + n])
        assert crc == crc32c(data[off:off + 5 + n]), "bad CRC at offset %d" % off
        out.append((rtype, payload))
        off += 9 + n
    return out


def queue_file(path):
    """A queue file as a dict: meta (M keys), sender, rcpts (R keys each), content (bytes)."""
    with open(path, "rb") as f:
        recs = read(f.read())
    q = {"meta": {}, "sender": None, "rcpts": [], "content": b""}
    for rtype, payload in recs:
        if rtype == "M":
            q["meta"] = {k: v.decode() for k, v in parse_kv(payload).items()}
        elif rtype == "S":
            q["sender"] = parse_kv(payload)["addr"].decode()
        elif rtype == "R":
            q["rcpts"].append({k: v.decode() for k, v in parse_kv(payload).items()})
        elif rtype == "C":
            q["content"] += payload
    return q
