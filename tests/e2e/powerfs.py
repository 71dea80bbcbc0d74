#!/usr/bin/python3
"""powerfs.py - a FUSE file system for power-loss tests: beside what is written, it keeps
only what a disk would still hold after the power went out, and it loses power on demand.

    /usr/bin/python3 powerfs.py STATE MOUNTPOINT CONTROL_SOCKET
    /usr/bin/python3 powerfs.py --list STATE

mounts at MOUNTPOINT the durable state saved in the file STATE (an empty file system if there
is none). A line on the UNIX socket CONTROL_SOCKET commands it:
- "cut" is the power cut: the durable state is written to STATE and the process exits at once,
  holding the lock every request runs under, so the cut falls between two requests. Every
  request after it fails (the kernel answers ENOTCONN): no program on the mount learns of a
  flush after the cut. Mounting STATE again is the machine coming back.
- "cut SHARE SEED": the same, after a writeback the kernel might have done before the power
  went (see the model); SHARE is the probability of each dirty inode being written back.
- "stats" answers the count of each kind of request, as JSON.
A plain unmount ends the process and leaves STATE as it was. --list prints the tree in STATE
(each file with its durable size).

The model, stricter than any local file system we know (ext4 data=ordered commits a create, a
rename or a mkdir with the next fsync of anything at all; this keeps none of them unasked):
- A file's data, size, mode and owner reach the durable state only with fsync or fdatasync of
  that file (FUSE_FSYNC, whichever descriptor it comes through): after a cut the file is what
  it was at its last fsync.
- A directory's entries (create, mkdir, rename in or out, unlink, link, rmdir) reach the
  durable state only with fsync of that directory (FUSE_FSYNCDIR), all at once: after a cut it
  holds the entries it had at its last fsync, each naming the inode it named then, with that
  inode's durable state. A rename between two directories is two independent changes: with
  only the target flushed, the file may be found under both names after the cut; with only the
  source flushed, under neither.
- An inode never flushed is empty after a cut (where an entry still names it), with the mode
  and owner it was made with. A new directory survives only if its parent was flushed after
  the mkdir.
- syncfs(2) does not reach a FUSE file system (the kernel sends FUSE_SYNCFS to virtiofs only):
  it flushes nothing here, and neither does sync(2). As on NFS or SMB, only fsync counts.
- With a writeback before the cut, a random share of the inodes changed since their last flush
  (files and directories, each whole) reach the durable state anyway, as periodic writeback
  does; a file that was appended to keeps a random prefix of what was appended, torn at any
  byte. A program that renames a file before flushing it, or names an entry before its inode
  is whole, is caught there; a program that waits for its flushes is not hurt by it.
Inode numbers are never reused, so an entry never comes back naming another file.

It is written with python3-llfuse (Debian 12): its low-level, inode-based interface fits a
model of inodes and entries (hard links, fsync of an inode, FUSE_FSYNCDIR of a directory), and
its handlers are plain functions under one global lock, which makes the cut atomic. The other
packaged bindings are python3-fuse (a path-based API, where an inode and its names cannot be
told apart) and python3-pyfuse3 (the same low-level API, asynchronous on trio: one more
dependency and nothing gained here).
"""

import errno
import json
import os
import pickle
import random
import socket
import stat
import sys
import threading
import time

import llfuse

TIMEOUT_S = 10      # the kernel's attribute and entry caches: every change comes through it
ROOT = llfuse.ROOT_INODE


class Node:
    """One live inode: data (a file) or entries (a directory: name -> inode number)."""

    __slots__ = ("ino", "mode", "uid", "gid", "mtime_ns", "ctime_ns", "data", "entries",
                 "parent", "nlink", "opens")

    def __init__(self, ino, mode, uid, gid, mtime_ns, payload, parent=ROOT):
        self.ino, self.mode, self.uid, self.gid = ino, mode, uid, gid
        self.mtime_ns = self.ctime_ns = mtime_ns
        self.parent = parent
        self.nlink = 0
        self.opens = 0
        if stat.S_ISDIR(mode):
            self.data, self.entries = None, dict(payload)
        else:
            self.data, self.entries = bytearray(payload), None

    def is_dir(self):
        return self.entries is not None

    def record(self):
        """What fsync of this inode puts in the durable state."""
        payload = dict(self.entries) if self.is_dir() else bytes(self.data)
        return (self.mode, self.uid, self.gid, self.mtime_ns, payload)


class PowerFS(llfuse.Operations):
    def __init__(self, state_path):
        super().__init__()
        self.state_path = state_path
        self.counts = {}
        self.nodes = {}
        try:
            with open(state_path, "rb") as f:
                state = pickle.load(f)
        except FileNotFoundError:
            now = time.time_ns()
            state = {"next_ino": ROOT + 1, "nodes": {ROOT: (stat.S_IFDIR | 0o755, 0, 0, now, {})}}
        self.next_ino = state["next_ino"]
        # ino -> the record of its last flush; an inode never flushed has the one of its creation
        self.durable = dict(state["nodes"])
        for ino, rec in self.durable.items():
            self.nodes[ino] = Node(ino, *rec)
        for node in list(self.nodes.values()):
            if node.is_dir():
                node.nlink += 2
                for child in map(self.nodes.get, node.entries.values()):
                    if child.is_dir():
                        child.parent = node.ino
                        node.nlink += 1
                    else:
                        child.nlink += 1

    # --- the cut ----------------------------------------------------------------------------
    def durable_state(self):
        """The durable records reachable from the root: what a reboot would find."""
        keep, todo = {}, [ROOT]
        while todo:
            ino = todo.pop()
            if ino in keep:
                continue
            keep[ino] = rec = self.durable[ino]
            if stat.S_ISDIR(rec[0]):
                todo.extend(rec[4].values())
        return {"next_ino": self.next_ino, "nodes": keep}

    def writeback(self, share, seed):
        """Before the cut, as the kernel's writeback might have: each inode changed since its
        last flush reaches the durable state with probability share, a file appended to with
        only a random prefix of what was appended (a torn write)."""
        rng = random.Random(seed)
        for ino, node in self.nodes.items():
            if node.nlink == 0 or rng.random() >= share:
                continue
            rec = node.record()
            old = self.durable[ino][4]
            if not node.is_dir() and len(rec[4]) > len(old) and rec[4].startswith(old):
                rec = rec[:4] + (rec[4][:rng.randint(len(old), len(rec[4]))],)
            self.durable[ino] = rec

    def cut(self):
        """Called with the global lock held, so no request runs before, during or after it."""
        tmp = self.state_path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(self.durable_state(), f)
        os.replace(tmp, self.state_path)
        os._exit(0)

    # --- helpers ------------------------------------------------------------------------------
    def _count(self, op):
        self.counts[op] = self.counts.get(op, 0) + 1

    def _node(self, ino):
        try:
            return self.nodes[ino]
        except KeyError:
            raise llfuse.FUSEError(errno.ENOENT)

    def _dir(self, ino):
        node = self._node(ino)
        if not node.is_dir():
            raise llfuse.FUSEError(errno.ENOTDIR)
        return node

    def _attr(self, node):
        a = llfuse.EntryAttributes()
        a.st_ino = node.ino
        a.generation = 0
        a.entry_timeout = a.attr_timeout = TIMEOUT_S
        a.st_mode = node.mode
        a.st_nlink = node.nlink
        a.st_uid, a.st_gid = node.uid, node.gid
        a.st_rdev = 0
        a.st_size = 4096 if node.is_dir() else len(node.data)
        a.st_blksize = 4096
        a.st_blocks = (a.st_size + 511) // 512
        a.st_atime_ns = a.st_mtime_ns = node.mtime_ns
        a.st_ctime_ns = node.ctime_ns
        return a

    def _new(self, parent, name, mode, ctx, payload):
        d = self._dir(parent)
        if name in d.entries:
            raise llfuse.FUSEError(errno.EEXIST)
        ino, self.next_ino = self.next_ino, self.next_ino + 1
        gid = d.gid if d.mode & stat.S_ISGID else ctx.gid
        node = Node(ino, mode, ctx.uid, gid, time.time_ns(), payload, parent)
        self.nodes[ino] = node
        self.durable[ino] = node.record()
        self._link(d, name, node)
        return node

    def _link(self, d, name, node):
        d.entries[name] = node.ino
        d.mtime_ns = d.ctime_ns = time.time_ns()
        if node.is_dir():
            node.parent = d.ino
            node.nlink = 2
            d.nlink += 1
        else:
            node.nlink += 1

    def _unlink(self, d, name):
        node = self.nodes[d.entries.pop(name)]
        d.mtime_ns = d.ctime_ns = time.time_ns()
        if node.is_dir():
            node.nlink = 0
            d.nlink -= 1
        else:
            node.nlink -= 1
        self._maybe_free(node)

    def _maybe_free(self, node):
        # the durable record stays: an entry flushed earlier may still name the inode
        if node.nlink == 0 and node.opens == 0 and not node.is_dir():
            node.data = bytearray()

    # --- requests -----------------------------------------------------------------------------
    def lookup(self, parent, name, ctx):
        self._count("lookup")
        d = self._dir(parent)
        if name == b".":
            return self._attr(d)
        if name == b"..":
            return self._attr(self._node(d.parent))
        try:
            return self._attr(self.nodes[d.entries[name]])
        except KeyError:
            raise llfuse.FUSEError(errno.ENOENT)

    def getattr(self, inode, ctx):
        self._count("getattr")
        return self._attr(self._node(inode))

    def setattr(self, inode, attr, fields, fh, ctx):
        self._count("setattr")
        node = self._node(inode)
        if fields.update_size:
            if node.is_dir():
                raise llfuse.FUSEError(errno.EISDIR)
            n = attr.st_size
            if n < len(node.data):
                del node.data[n:]
            else:
                node.data.extend(bytes(n - len(node.data)))
            node.mtime_ns = time.time_ns()
        if fields.update_mode:
            node.mode = stat.S_IFMT(node.mode) | stat.S_IMODE(attr.st_mode)
        if fields.update_uid:
            node.uid = attr.st_uid
        if fields.update_gid:
            node.gid = attr.st_gid
        if fields.update_mtime:
            node.mtime_ns = attr.st_mtime_ns
        node.ctime_ns = time.time_ns()
        return self._attr(node)

    def access(self, inode, mode, ctx):
        return True     # default_permissions: the kernel checks modes and owners itself

    def statfs(self, ctx):
        s = llfuse.StatvfsData()
        s.f_bsize = s.f_frsize = 4096
        s.f_blocks = s.f_bfree = s.f_bavail = 1 << 24     # 64 GiB, all free: no admission limit
        s.f_files = s.f_ffree = s.f_favail = 1 << 24
        s.f_namemax = 255
        return s

    def forget(self, inode_list):
        pass

    # directories
    def opendir(self, inode, ctx):
        self._count("opendir")
        self._dir(inode)
        return inode

    def readdir(self, fh, off):
        # in inode order, resumed after the last inode given: stable while entries change
        d = self._dir(fh)
        for ino, name in sorted((i, n) for n, i in d.entries.items() if i > off):
            yield name, self._attr(self.nodes[ino]), ino

    def releasedir(self, fh):
        pass

    def fsyncdir(self, fh, datasync):
        self._count("fsyncdir")
        self.durable[fh] = self._dir(fh).record()

    def mkdir(self, parent, name, mode, ctx):
        self._count("mkdir")
        return self._attr(self._new(parent, name, stat.S_IFDIR | stat.S_IMODE(mode), ctx, {}))

    def rmdir(self, parent, name, ctx):
        self._count("rmdir")
        d = self._dir(parent)
        node = self._node(d.entries.get(name, 0))
        if not node.is_dir():
            raise llfuse.FUSEError(errno.ENOTDIR)
        if node.entries:
            raise llfuse.FUSEError(errno.ENOTEMPTY)
        self._unlink(d, name)

    def unlink(self, parent, name, ctx):
        self._count("unlink")
        d = self._dir(parent)
        if self._node(d.entries.get(name, 0)).is_dir():
            raise llfuse.FUSEError(errno.EISDIR)
        self._unlink(d, name)

    def rename(self, parent_old, name_old, parent_new, name_new, ctx):
        self._count("rename")
        src, dst = self._dir(parent_old), self._dir(parent_new)
        node = self._node(src.entries.get(name_old, 0))
        if name_new in dst.entries:
            old = self.nodes[dst.entries[name_new]]
            if old is node:
                return
            if old.is_dir() and (not node.is_dir() or old.entries):
                raise llfuse.FUSEError(errno.EISDIR if not node.is_dir() else errno.ENOTEMPTY)
            if node.is_dir() and not old.is_dir():
                raise llfuse.FUSEError(errno.ENOTDIR)
            self._unlink(dst, name_new)
        del src.entries[name_old]
        src.mtime_ns = src.ctime_ns = time.time_ns()
        if node.is_dir():
            src.nlink -= 1
        else:
            node.nlink -= 1
        self._link(dst, name_new, node)

    def link(self, inode, new_parent, new_name, ctx):
        self._count("link")
        node, d = self._node(inode), self._dir(new_parent)
        if node.is_dir():
            raise llfuse.FUSEError(errno.EPERM)
        if new_name in d.entries:
            raise llfuse.FUSEError(errno.EEXIST)
        self._link(d, new_name, node)
        return self._attr(node)

    def mknod(self, parent, name, mode, rdev, ctx):
        # a UNIX socket (the daemon's control socket, bound in the spool) is an inode without
        # data, as on a disk; device nodes and FIFOs have no business here
        self._count("mknod")
        if not stat.S_ISSOCK(mode):
            raise llfuse.FUSEError(errno.EPERM)
        return self._attr(self._new(parent, name, stat.S_IFSOCK | stat.S_IMODE(mode), ctx, b""))

    # files
    def create(self, parent, name, mode, flags, ctx):
        self._count("create")
        node = self._new(parent, name, stat.S_IFREG | stat.S_IMODE(mode), ctx, b"")
        node.opens += 1
        return node.ino, self._attr(node)

    def open(self, inode, flags, ctx):
        self._count("open")
        node = self._node(inode)
        if node.is_dir():
            raise llfuse.FUSEError(errno.EISDIR)
        node.opens += 1
        return inode

    def read(self, fh, off, size):
        self._count("read")
        return bytes(self._node(fh).data[off:off + size])

    def write(self, fh, off, buf):
        self._count("write")
        node = self._node(fh)
        if off > len(node.data):
            node.data.extend(bytes(off - len(node.data)))
        node.data[off:off + len(buf)] = buf
        node.mtime_ns = node.ctime_ns = time.time_ns()
        return len(buf)

    def flush(self, fh):
        pass

    def release(self, fh):
        node = self._node(fh)
        node.opens -= 1
        self._maybe_free(node)

    def fsync(self, fh, datasync):
        self._count("fsync")
        self.durable[fh] = self._node(fh).record()


def control(fs, path):
    """Serves the control socket: "cut" loses the power, "stats" tells the request counts."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        with conn:
            cmd = conn.makefile("rb").readline().split()
            if cmd[:1] == [b"cut"]:
                llfuse.lock.acquire()
                if len(cmd) == 3:
                    fs.writeback(float(cmd[1]), int(cmd[2]))
                fs.cut()    # never returns
            elif cmd == b"stats":
                with llfuse.lock:
                    counts = dict(fs.counts)
                conn.sendall(json.dumps(counts).encode() + b"\n")


def listing(state_path):
    """The durable tree in STATE, one line an entry: what a reboot would find."""
    with open(state_path, "rb") as f:
        nodes = pickle.load(f)["nodes"]
    out = []

    def walk(ino, path):
        for name, child in sorted(nodes[ino][4].items()):
            mode, payload = nodes[child][0], nodes[child][4]
            p = path + "/" + name.decode("utf-8", "replace")
            if stat.S_ISDIR(mode):
                out.append("%s/" % p)
                walk(child, p)
            else:
                out.append("%s %d" % (p, len(payload)))
    walk(ROOT, "")
    return "\n".join(out)


def main():
    if sys.argv[1] == "--list":
        print(listing(sys.argv[2]))
        return
    state, mountpoint, ctl = sys.argv[1:4]
    fs = PowerFS(state)
    opts = set(llfuse.default_options)
    # the daemon runs as its own user; default_permissions makes the kernel check modes
    opts |= {"allow_other", "fsname=powerfs", "subtype=powerfs"}
    llfuse.init(fs, mountpoint, opts)
    threading.Thread(target=control, args=(fs, ctl), daemon=True).start()
    try:
        llfuse.main(workers=1)
    finally:
        llfuse.close(unmount=False)


if __name__ == "__main__":
    main()
