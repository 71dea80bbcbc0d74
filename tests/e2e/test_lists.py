"""Allow and block lists (policy { } in docs/configuration.md): each kind at its stage, allow
over block, 4xx on request, a list file changed on disk, and the log naming the list, the
entry and where it is written. Clients bound to 127.0.0.x play different hosts; the fixture's
start-up probes come from 127.0.0.1, which no list here names."""
import os
import shutil
import tempfile
import time

import pytest

from smtpclient import Client

EHLO = b"EHLO client.test\r\n"


def client(s, source):
    c = Client("127.0.0.1", s.port, source=source)
    s._clients.append(c)
    return c


def greeted(s, source):
    c = client(s, source)
    r = c.reply()
    assert r.code == 220, r
    return c


def test_block_clients_at_connect(sterna_factory):
    s = sterna_factory(policy__block_clients=["127.0.0.5", "127.0.3.0/24"])
    for src in ("127.0.0.5", "127.0.3.9"):
        c = client(s, src)
        r = c.reply()
        assert (r.code, r.status) == (554, "5.7.1"), r
        assert r.text == "mx.example.test Client host [%s] rejected: listed in block_clients" % src
        assert c.closed()
    greeted(s, "127.0.0.6").dialog(EHLO, 250)
    s.wait_log(r"listed list=block_clients entry=127\.0\.3\.0/24 at=\S+sterna\.conf:\d+")
    s.wait_log(r"reject cmd=CONNECT arg=127\.0\.0\.5 code=554 dsn=5\.7\.1 .*rule=block_clients")


def test_allow_clients_opens_a_hole_in_a_block(sterna_factory):
    s = sterna_factory(policy__block_clients=["127.0.4.0/24"], policy__allow_clients=["127.0.4.7"],
                       policy__block_helo=["bad.example"])
    assert client(s, "127.0.4.8").reply().code == 554
    c = greeted(s, "127.0.4.7")
    # allow-listed for the session: the HELO list passes it by too
    c.dialog(b"EHLO bad.example\r\n", 250)


def test_block_helo(sterna_factory):
    s = sterna_factory(policy__block_helo=[".spammer.test", "[127.0.0.9]"])
    c = greeted(s, "127.0.0.9")
    c.send(b"EHLO box.spammer.test\r\n")
    r = c.reply()
    assert (r.code, r.status) == (550, "5.7.1"), r
    assert r.text == "<box.spammer.test>: Helo command rejected: listed in block_helo", r
    c.send(b"HELO [127.0.0.9]\r\n")
    assert c.reply().code == 550
    # the name itself is no subdomain of itself; a refused HELO leaves the session as it was
    c.dialog(b"EHLO spammer.test\r\n", 250, b"MAIL FROM:<a@remote.test>\r\n", 250)


def test_block_and_allow_senders(sterna_factory):
    s = sterna_factory(policy__block_senders=["bulk.test", "<>", "x@remote.test"],
                       policy__allow_senders=["boss@bulk.test"])
    c = greeted(s, "127.0.0.9")
    c.dialog(EHLO, 250)
    for sender in ("news@bulk.test", "NEWS@Bulk.Test", "", "x@remote.test"):
        c.send(b"MAIL FROM:<%s>\r\n" % sender.encode())
        r = c.reply()
        assert (r.code, r.status) == (550, "5.7.1"), (sender, r)
        assert "Sender address rejected: listed in block_senders" in r.text, r
    # allow beats block; the local part is compared as written (X@ is another address)
    c.dialog(b"MAIL FROM:<boss@bulk.test>\r\n", 250, b"RSET\r\n", 250,
             b"MAIL FROM:<X@remote.test>\r\n", 250)
    s.wait_log(r"listed list=allow_senders entry=boss@bulk\.test")


def test_block_recipients_and_tempfail(sterna_factory):
    s = sterna_factory(policy__block_recipients=["bob@example.test"], policy__block_tempfail=True)
    c = greeted(s, "127.0.0.9")
    c.dialog(EHLO, 250, b"MAIL FROM:<a@remote.test>\r\n", 250)
    c.send(b"RCPT TO:<bob@example.test>\r\n")
    r = c.reply()
    assert (r.code, r.status) == (450, "4.7.1"), r
    assert r.text == "<bob@example.test>: Recipient address rejected: listed in block_recipients"
    c.dialog(b"RCPT TO:<alice@example.test>\r\n", 250, b"DATA\r\n", 354,
             b"Subject: t\r\n\r\nbody\r\n.\r\n", 250)
    assert len(s.wait_for_mail("alice")) == 1
    assert s.mail_files("bob") == []


@pytest.fixture
def list_dir():
    """A folder the daemon (nobody, when the tests run as root) can read."""
    d = tempfile.mkdtemp(prefix="sterna-lists-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_list_file_changed_on_disk(sterna_factory, list_dir):
    from pathlib import Path
    tmp_path = Path(list_dir)
    f = tmp_path / "blocked"
    f.write_text("# clients we do not want\n127.0.0.11\n\n127.0.0.12  # and this one\n")
    s = sterna_factory(policy__block_clients_file=str(f))
    assert client(s, "127.0.0.11").reply().code == 554
    assert client(s, "127.0.0.12").reply().code == 554
    s.wait_log(r"listed list=block_clients entry=127\.0\.0\.12 at=\S+blocked:4")
    # replaced by rename, as editors and deploy tools do: .11 leaves, .13 comes
    new = tmp_path / "blocked.new"
    new.write_text("127.0.0.12\n127.0.0.13\n")
    new.rename(f)
    deadline = time.monotonic() + 10
    while True:
        c = client(s, "127.0.0.11")
        if c.reply().code == 220:
            break
        assert time.monotonic() < deadline, "the changed file was never read again"
        time.sleep(0.2)
    assert client(s, "127.0.0.13").reply().code == 554
    # a file that turns bad keeps the entries it had (a file is looked at when its list is
    # consulted, at most once a second)
    f.write_text("127.0.0.999\n")
    time.sleep(1.2)
    assert client(s, "127.0.0.13").reply().code == 554
    s.wait_log(r"blocked:1: ")
