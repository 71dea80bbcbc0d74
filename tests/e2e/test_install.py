"""make install, as a package would run it: meson's install rules (what `make install` runs)
into a DESTDIR, from the build of the binary under test. The tree is what the docs promise;
the links run the verbs of their names; every manual page reads without a warning from
man-db and groff; the systemd unit passes `systemd-analyze verify`; and the sysusers.d and
tmpfiles.d files, run into the same DESTDIR by systemd's own tools, make the user and the
folders that the installed configuration and the unit name."""

import json
import os
import pwd
import re
import shutil
import subprocess

import pytest

from conftest import STERNA_BIN

BUILD = os.path.dirname(os.path.abspath(STERNA_BIN))
pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(BUILD, "meson-private")),
                                reason="STERNA_BIN is not in a meson build folder")


def build_option(name):
    out = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"], check=True,
                         capture_output=True, text=True).stdout
    return next(o["value"] for o in json.loads(out) if o["name"] == name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("destdir"))
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    prefix = build_option("prefix")
    yield {"dest": dest, "root": dest + prefix, "prefix": prefix,
           "config": dest + build_option("config_path")}
    shutil.rmtree(dest, ignore_errors=True)


def verbs():
    """The verbs `sterna --help` names."""
    out = subprocess.run([STERNA_BIN, "--help"], check=True, capture_output=True, text=True).stdout
    return sorted(set(re.findall(r"^\s*(?:usage:)?\s*sterna ([a-z]+)\b", out, re.M)))


def test_tree_and_links(installed):
    root = installed["root"]
    binary = os.path.join(root, "bin", "sterna")
    assert os.access(binary, os.X_OK)
    for link, verb_says in (("sbin/sendmail", b"sendmail: "), ("bin/mailq", b"mailq: ")):
        path = os.path.join(root, link)
        assert os.path.islink(path) and os.path.samefile(path, binary), link
        # run under the link's name, the binary is that verb: sendmail refuses an option
        # only sendmail knows of, mailq looks for a daemon that is not there
        r = subprocess.run([path, "-bx"] if "sendmail" in link else [path],
                           capture_output=True, env=dict(os.environ, STERNA_CONFIG=installed["config"]))
        assert r.stderr.startswith(verb_says), (link, r.stderr)
        assert r.returncode == (64 if "sendmail" in link else 69), (link, r.returncode, r.stderr)
    for f in ("share/doc/sterna/examples/sterna.conf", "share/doc/sterna/examples/system.conf",
              "lib/systemd/system/sterna.service", "lib/sysusers.d/sterna.conf",
              "lib/tmpfiles.d/sterna.conf", "share/man/man5/sterna.conf.5", "share/man/man8/sterna.8"):
        assert os.path.isfile(os.path.join(root, f)), f
    # the configuration at the path the binary reads by default, the system example
    with open(installed["config"]) as a, open(os.path.join(root, "share/doc/sterna/examples/system.conf")) as b:
        assert a.read() == b.read()


def test_every_manual_page_reads_without_warnings(installed):
    pages = []
    for section in ("man5", "man8"):
        d = os.path.join(installed["root"], "share", "man", section)
        pages += [os.path.join(d, p) for p in sorted(os.listdir(d))]
    # one page per verb, and the binary's and the configuration's
    names = {os.path.basename(p) for p in pages}
    assert names == {"sterna.8", "sterna.conf.5"} | {"sterna-%s.8" % v for v in verbs()}, names
    for page in pages:
        r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80", LANG="C.UTF-8", MAN_DISABLE_SECCOMP="1"))
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        assert re.search(r"^NAME\n\s+\S", r.stdout, re.M), page


def test_configuration_page_has_every_key(installed):
    """sterna.conf(5) is made from docs/configuration.md, which names every key of the
    binary's table (scripts/confdoc.py check, a test of `meson test`): so every key is in it."""
    page = os.path.join(installed["root"], "share/man/man5/sterna.conf.5")
    text = subprocess.run(["man", "-l", page], capture_output=True, text=True, check=True,
                          env=dict(os.environ, MANWIDTH="200", LANG="C.UTF-8")).stdout
    keys = subprocess.run([STERNA_BIN, "check", "--keys"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    assert len(keys) > 100
    for line in keys:
        key = line.split("\t")[0].replace("*", "NAME")
        assert key in text, key


def test_unit_verifies_and_names_the_folders_that_sysusers_and_tmpfiles_make(installed):
    dest, root, prefix = installed["dest"], installed["root"], installed["prefix"]
    with open(os.path.join(root, "lib/systemd/system/sterna.service")) as f:
        unit = f.read()
    # as installed at that prefix: its commands are the DESTDIR's, its man pages too
    checked = os.path.join(dest, "sterna.service")
    with open(checked, "w") as f:
        f.write(unit.replace(prefix + "/bin/", root + "/bin/"))
    r = subprocess.run(["systemd-analyze", "verify", checked], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=os.path.join(root, "share", "man")))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
    assert settings["ExecStart"] == "%s/bin/sterna serve -c %s" % (prefix, installed["config"][len(dest):])
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes")):
        assert settings[key] == want, key
    assert "CAP_NET_BIND_SERVICE" in settings["CapabilityBoundingSet"].split()

    # the configuration installed names the folders the unit may write and tmpfiles makes
    with open(installed["config"]) as f:
        conf = f.read()
    spool = re.search(r'^\s*dir = "([^"]+)"', conf, re.M).group(1)
    mail = re.search(r'^\s*mailbox_root = "([^"]+)"', conf, re.M).group(1)
    user = re.search(r'^\s*user = "([^"]+)"', conf, re.M).group(1)
    assert sorted(settings["ReadWritePaths"].split()) == sorted([spool, mail])

    subprocess.run(["systemd-sysusers", "--root", dest,
                    os.path.join(root, "lib/sysusers.d/sterna.conf")], check=True, capture_output=True)
    with open(os.path.join(dest, "etc/passwd")) as f:
        entry = next(line.split(":") for line in f if line.startswith(user + ":"))
    uid, gid = int(entry[2]), int(entry[3])
    assert entry[6].strip().endswith("nologin")
    subprocess.run(["systemd-tmpfiles", "--root", dest, "--create",
                    os.path.join(root, "lib/tmpfiles.d/sterna.conf")], check=True, capture_output=True)
    for path, mode in ((spool, 0o700), (mail, 0o2770)):
        st = os.stat(dest + path)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, gid, mode), path

    # and it is a configuration sterna takes (but for its user, which sysusers makes at install)
    r = subprocess.run([STERNA_BIN, "check", "-c", installed["config"]], capture_output=True, text=True)
    try:
        pwd.getpwnam(user)
        assert r.returncode == 0, r.stderr
    except KeyError:
        assert r.returncode == 1 and r.stderr.endswith("server.user: no such user '%s'\n" % user), r.stderr
