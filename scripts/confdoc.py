#!/usr/bin/python3
"""docs/configuration.md is the one description of sterna's configuration; this reads it.

    confdoc.py man DOC OUT VERSION   write sterna.conf(5), in roff, from DOC
    confdoc.py check DOC STERNA      hold DOC's key tables against `STERNA check --keys`:
                                     the same keys, with the same defaults; exit 1 if not

The build makes the manual page from the document (meson.build, a custom target), so the
two cannot say different things, and the check (a test of `meson test`) makes sure the
document says what the daemon's key table does.

What the document may hold is the Markdown it is written in: headings (#, ##, ###, ####),
paragraphs, lists with "- " (nested by two spaces), fenced code, tables, and inline `code`,
**bold**, *emphasis* and [links](target). A key table is one whose first column is "key":
its rows name keys in `code` (NAME for a section's name) and give the default first in its
cell, in `code`, when there is one ("(required)" or words otherwise).
"""

import re
import subprocess
import sys

# the number suffixes of the configuration syntax (docs/configuration.md, Syntax)
SIZE_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "kb": 2**10, "mb": 2**20, "gb": 2**30}
DURATION_MS = {"": 1000, "ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000,
               "w": 7 * 86400000, "y": 365 * 86400000}


# --- reading the document ---------------------------------------------------------------
def split_row(line):
    """The cells of a table row, | inside `code` kept."""
    cells, cur, in_code = [], "", False
    for ch in line.strip().strip("|"):
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
    cells.append(cur.strip())
    return cells


def key_rows(text):
    """[(keys, type, default cell)] of every key table, in document order."""
    rows, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("|") or i + 1 >= len(lines):
            continue
        if split_row(line)[0] != "key" or not re.match(r"^\|[-| ]+\|$", lines[i + 1]):
            continue
        for row in lines[i + 2:]:
            if not row.startswith("|"):
                break
            cells = split_row(row)
            keys = [k.replace("NAME", "*") for k in re.findall(r"`([a-z0-9_.A-Z]+)`", cells[0])]
            rows.append((keys, cells[1], cells[2], "(restart)" in cells[0]))
    return rows


def canonical_default(kind, cell):
    """A default cell as `check --keys` prints it: the value in code at the start of the cell
    (numbers in bytes or milliseconds), else "-" (no default of its own)."""
    m = re.match(r"`([^`]*)`", cell)
    if m is None:
        return "-"
    value = m.group(1)
    n = re.fullmatch(r"(\d+)([a-z]*)", value)
    if n is None:
        return value
    digits, suffix = int(n.group(1)), n.group(2)
    if kind.startswith("duration"):
        return str(digits * DURATION_MS[suffix])
    return str(digits * SIZE_SUFFIX[suffix])


def doc_defaults(text):
    out = {}
    for keys, kind, default, restart in key_rows(text):
        for k in keys:
            if k in out:
                raise ValueError("%s is in the document twice" % k)
            out[k] = (canonical_default(kind, default), restart)
    return out


def table_defaults(sterna):
    out = subprocess.run([sterna, "check", "--keys"], check=True, capture_output=True,
                         text=True).stdout
    table = {}
    for line in out.splitlines():
        fields = line.split("\t")
        table[fields[0]] = (fields[1], fields[2:] == ["restart"])
    return table


def check(doc_path, sterna):
    with open(doc_path, encoding="utf-8") as f:
        doc = doc_defaults(f.read())
    table = table_defaults(sterna)
    problems = []
    for k in sorted(set(table) - set(doc)):
        problems.append("%s: in the key table, not in %s" % (k, doc_path))
    for k in sorted(set(doc) - set(table)):
        problems.append("%s: in %s, not in the key table" % (k, doc_path))
    for k in sorted(set(doc) & set(table)):
        if doc[k][0] != table[k][0]:
            problems.append("%s: default %s in %s, %s in the key table"
                            % (k, doc[k][0], doc_path, table[k][0]))
        if doc[k][1] != table[k][1]:
            problems.append("%s: %s in %s, %s in the key table"
                            % (k, "(restart)" if doc[k][1] else "reloadable", doc_path,
                               "restart" if table[k][1] else "reloadable"))
    for p in problems:
        print(p, file=sys.stderr)
    print("%d keys in the key table, %d in %s, %d problems"
          % (len(table), len(doc), doc_path, len(problems)))
    return 1 if problems else 0


# --- writing roff -----------------------------------------------------------------------
def roff_escape(s):
    """Backslashes, and any character past ASCII as groff's \\[uXXXX] (no preprocessor)."""
    s = s.replace("\\", "\\e")
    return re.sub(r"[^\x00-\x7f]", lambda m: "\\[u%04X]" % ord(m.group(0)), s)


def inline(s):
    """Markdown inline text into roff: `code` bold, **bold**, *emphasis*, [text](target)."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`)", s)):
        if i % 2 == 1:
            out.append("\\fB" + roff_escape(part[1:-1]) + "\\fR")
            continue
        part = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", part)
        part = re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>|])", lambda m: "\x00%d\x00" % ord(m.group(1)),
                      part)
        part = roff_escape(part)
        part = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\\fI\1\\fR", part)
        part = re.sub(r"\x00(\d+)\x00", lambda m: roff_escape(chr(int(m.group(1)))), part)
        out.append(part)
    return "".join(out)


def text_line(s):
    """One line of filled text: no leading blank, and no leading . or ' (a request)."""
    s = inline(s.strip())
    return "\\&" + s if s[:1] in (".", "'") else s


def table_to_roff(rows):
    """A key table: each row a tagged paragraph; any other table: each row a tagged
    paragraph with the other columns named by their headings."""
    head = split_row(rows[0])
    out = []
    for row in rows[2:]:
        cells = split_row(row)
        out.append(".TP")
        out.append(text_line(cells[0]))
        if head[0] == "key":
            body = "%s; default %s" % (cells[1], cells[2])
            if len(cells) > 3 and cells[3]:
                body += "; %s" % cells[3]
            out.append(text_line(body + "."))
        else:
            out.append(text_line("; ".join("%s: %s" % (h, c) for h, c in zip(head[1:], cells[1:]))))
    return out


def markdown_to_roff(text):
    lines = text.splitlines()
    out, i, level, para = [], 0, -1, False    # level: list depth, -1 outside any list
    pending = []    # the lines of the paragraph or item being read: `code` may span lines

    def flush():
        if pending:
            out.append(text_line(" ".join(p.strip() for p in pending)))
            pending.clear()

    def set_level(new):
        nonlocal level
        while level > max(new, 0):
            out.append(".RE")
            level -= 1
        while level < new:
            if level >= 0:
                out.append(".RS 2")
            level += 1
        if new < 0:
            level = -1

    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if not (para and stripped and not re.match(r"^( *)([-*]|\d+\.) |#|\||```", stripped)):
            flush()
        if not stripped:
            para = False
            i += 1
            continue
        if stripped.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            i += 1
            if indent < 2:
                set_level(-1)
            out += [".PP" if level < 0 else ".IP \"\" 2", ".RS 2", ".nf"]
            out += ["\\&" + roff_escape(b) for b in block]
            out += [".fi", ".RE"]
            para = False
            continue
        m = re.match(r"^(#+) (.*)", line)
        if m:
            set_level(-1)
            if len(m.group(1)) == 1:
                i += 1     # the title: the page's NAME says it
                continue
            macro = ".SH" if len(m.group(1)) == 2 else ".SS"
            title = m.group(2).upper() if macro == ".SH" else m.group(2)
            out.append('%s "%s"' % (macro, inline(title).replace('"', "\\(dq")))
            para = False
            i += 1
            continue
        if line.startswith("|"):
            set_level(-1)
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out += table_to_roff(rows)
            out.append(".PP")
            para = False
            continue
        m = re.match(r"^( *)[-*] (.*)", line)
        if m:
            set_level(len(m.group(1)) // 2)
            out.append(".IP \\(bu 2")
            pending.append(m.group(2))
            para = True
            i += 1
            continue
        m = re.match(r"^( *)\d+\. (.*)", line)
        if m:
            set_level(len(m.group(1)) // 2)
            out.append(".IP %s. 4" % stripped.split(".")[0])
            pending.append(m.group(2))
            para = True
            i += 1
            continue
        if not para:
            if indent == 0:
                set_level(-1)
                out.append(".PP")
            else:
                set_level(min(level, indent // 2 - 1) if level >= 0 else -1)
                out.append('.IP "" 2' if level >= 0 else ".PP")
            para = True
        pending.append(line)
        i += 1
    flush()
    set_level(-1)
    return out


def man(doc_path, out_path, version):
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    page = [
        '.\\" Made from docs/configuration.md by scripts/confdoc.py: edit that, not this.',
        '.TH STERNA.CONF 5 "" "sterna %s" "File Formats"' % version,
        # names and paths are not to be hyphenated, and read better ragged
        ".nh",
        ".ad l",
        ".SH NAME",
        "sterna.conf \\- the configuration file of the sterna mail server",
        ".SH SYNOPSIS",
        ".B /etc/sterna/sterna.conf",
        ".SH DESCRIPTION",
    ]
    body = markdown_to_roff(text)
    # the introduction goes under DESCRIPTION: drop the .PP that would open it twice
    if body and body[0] == ".PP":
        body = body[1:]
    page += body
    page += [".SH SEE ALSO", ".BR sterna (8),", ".BR sterna-check (8),", ".BR sterna-serve (8)"]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(page) + "\n")
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "man":
        return man(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
