#!/usr/bin/env python3
"""embed_assets.py OUTPUT.c FILE... - the dashboard's files as C arrays (src/dashboard/assets.h):
each file by its base name, with its content type from its extension. Run by meson at build
time, so the binary carries the page and needs nothing beside it."""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    lines = ["/* made by scripts/embed_assets.py from src/dashboard/assets/: do not edit */",
             '#include "dashboard/assets.h"', ""]
    entries = []
    for i, path in enumerate(sorted(files, key=os.path.basename)):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit("embed_assets.py: %s: no content type for %s files" % (path, ext or "these"))
        with open(path, "rb") as f:
            data = f.read()
        lines.append("static const unsigned char a%d[] = {" % i)
        for k in range(0, len(data), 16):
            lines.append("\t" + "".join("%d," % b for b in data[k:k + 16]))
        lines.append("\t0 };")
        entries.append('\t{ "%s", "%s", a%d, %d },' % (name, TYPES[ext], i, len(data)))
    lines.append("")
    lines.append("const struct dash_asset dash_assets[] = {")
    lines += entries
    lines.append("};")
    lines.append("const size_t dash_nassets = %d;" % len(entries))
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
