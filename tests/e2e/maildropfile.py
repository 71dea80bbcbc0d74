"""maildropfile.py - a small writer of the maildrop file format of src/msg/maildrop.h, so that
tests can play `sterna sendmail` and, above all, a hostile local user: every part can be left
out, damaged or cut. Checked against tests/unit/golden/maildrop.d by test_maildrop_in.py."""

import os
import time

from maildrop import MAGIC
from records import Writer, kv


def encode(sender, rcpts, content, fullname=None, chunk=1 << 20, end=True):
    """A maildrop file: magic, M, S, R..., C..., E (end=False leaves E out: a torn file)."""
    w = Writer(MAGIC)
    w.record("M", kv(("fullname", fullname)) if fullname is not None else b"")
    w.record("S", kv(("addr", sender)))
    for r in rcpts:
        w.record("R", kv(("addr", r)))
    for i in range(0, len(content), chunk):
        w.record("C", content[i:i + chunk])
    if end:
        w.end()
    return bytes(w.data)


def drop(folder, data, name=None, owner=None):
    """Write data as sterna sendmail does: a dot-name, flushed, then renamed into place.
    Returns the name. owner=(uid, gid) gives the file to another user before the rename."""
    name = name or "%d.%06d.%d.%s" % (time.time(), time.time_ns() // 1000 % 1000000, os.getpid(),
                                      os.urandom(4).hex())
    tmp = os.path.join(folder, ".tmp." + name)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    if owner is not None:
        os.chown(tmp, *owner)
    os.rename(tmp, os.path.join(folder, name))
    return name
