"""maildrop.py - a small reader of the maildrop file that sterna sendmail writes
(src/msg/maildrop.h, tests/unit/golden/README.md), written from the documented
layout rather than from the C code, so that the tests check the format itself."""

import struct

from records import crc32c

MAGIC = b"STERNAD1"


def _kv(payload):
    fields = payload.split(b"\0")
    assert fields[-1] == b"" and len(fields) % 2 == 1, "malformed key/value payload %r" % payload
    fields = fields[:-1]
    return {fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields), 2)}


class Maildrop:
    """One decoded file: fullname (None when absent), sender, rcpts, content (bytes)."""

    def __init__(self, data):
        assert data[:8] == MAGIC, "bad magic %r" % data[:8]
        off, chain, count, types = 8, 0, 0, []
        self.fullname, self.sender, self.rcpts, content = None, None, [], []
        while True:
            assert off + 5 <= len(data), "torn record at %d" % off
            rtype = chr(data[off])
            (plen,) = struct.unpack(">I", data[off + 1:off + 5])
            end = off + 5 + plen
            assert end + 4 <= len(data), "torn record at %d" % off
            payload = data[off + 5:end]
            (crc,) = struct.unpack(">I", data[end:end + 4])
            assert crc == crc32c(data[off:end]), "bad CRC of record %d" % len(types)
            types.append(rtype)
            off = end + 4
            if rtype == "E":
                assert payload == struct.pack(">II", count, chain), "E does not match"
                break
            chain = crc32c(struct.pack(">I", crc), chain)
            count += 1
            if rtype == "M":
                self.fullname = _kv(payload).get("fullname")
            elif rtype == "S":
                self.sender = _kv(payload)["addr"]
            elif rtype == "R":
                self.rcpts.append(_kv(payload)["addr"])
            elif rtype == "C":
                content.append(payload)
            else:
                raise AssertionError("unexpected record %r" % rtype)
        assert off == len(data), "bytes after E"
        order = "".join(types)
        assert order[:2] == "MS" and order[-1] == "E", order
        assert order[2:-1].rstrip("C") == "R" * len(self.rcpts) and self.rcpts, order
        self.content = b"".join(content)


def read(path):
    with open(path, "rb") as f:
        return Maildrop(f.read())
