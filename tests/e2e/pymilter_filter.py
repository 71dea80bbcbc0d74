"""pymilter_filter.py - a milter filter for the end-to-end tests, on Sendmail's libmilter
through pymilter (Debian python3-milter): a real filter side of the protocol that nobody
here wrote. Run as: python3 pymilter_filter.py SOCKET MODE LOG

SOCKET is libmilter's ("unix:/path" or "inet:PORT@127.0.0.1"). Every callback writes one
JSON line to LOG with what the filter was given (arguments and macros), so a test can check
what sterna sent. What it answers depends on MODE and on the message:
- "modify": at the end of the message every change a filter may make: a field added at
  the end, one inserted at the top, a folded one, Subject changed, X-Remove-Me removed,
  postmaster removed and bob added as recipients, the sender changed, the body replaced.
- "verdicts": HELO reject.helo.test is refused; senders reject-mail@ (550 5.7.1 with our
  text) and tempfail-mail@ (TEMPFAIL); recipient bob (550 5.1.1 with our text); at the
  end, by Subject: "please discard", "please reject" (554 5.7.1), "please tempfail",
  "please quarantine" (held, with a reason); anything else is accepted.
- "slow": sleeps 5 s before answering the end of the message.
- "pass": goes on at every step and accepts every message with CONTINUE at its end,
  logging nothing (bench/milter.sh).
- "continue": records as the others do and accepts every message with CONTINUE at its end
  (not ACCEPT): libmilter then takes QUIT_NC, so the MTA may keep the connection for its
  next SMTP connection.
Besides each step's own line, a "macros" line gives the macros of the step that a test of
the macros reads (absent ones as null), and the ESMTP parameters of MAIL and RCPT.
"""

import json
import os
import sys
import time

import Milter

SOCK, MODE, LOG = sys.argv[1:4]


def rec(*event):
    if MODE == "pass":
        return
    with open(LOG, "a") as f:
        f.write(json.dumps(event) + "\n")


MACROS = {
    "connect": ["{client_addr}", "{client_name}", "{client_ptr}", "{daemon_name}"],
    "helo": ["{tls_version}", "{cipher}", "{cert_subject}", "{cert_issuer}"],
    "mail": ["{mail_addr}", "{auth_type}", "{auth_authen}", "{tls_version}",
             "{cert_subject}", "{cert_issuer}"],
    "rcpt": ["{rcpt_addr}", "i"],
}


class Filter(Milter.Base):
    def __init__(self):
        self.headers = []
        self.content = b""

    def macros(self, stage, params=None):
        rec("macros", stage, dict((n, self.getsymval(n)) for n in MACROS[stage]),
            list(params) if params is not None else None)

    def connect(self, hostname, family, hostaddr):
        rec("connect", hostname, str(hostaddr), self.getsymval("j"),
            self.getsymval("{client_addr}"), self.getsymval("{daemon_name}"))
        self.macros("connect")
        return Milter.CONTINUE

    def hello(self, helo):
        rec("helo", helo)
        self.macros("helo")
        if MODE == "verdicts" and helo == "reject.helo.test":
            return Milter.REJECT
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *params):
        self.headers = []
        self.content = b""
        rec("mail", mailfrom, list(params), self.getsymval("{mail_addr}"))
        self.macros("mail", params)
        if MODE == "verdicts" and mailfrom.startswith("<reject-mail@"):
            self.setreply("550", "5.7.1", "sender refused by the test filter")
            return Milter.REJECT
        if MODE == "verdicts" and mailfrom.startswith("<tempfail-mail@"):
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        rec("rcpt", to, self.getsymval("{rcpt_addr}"), self.getsymval("i"))
        self.macros("rcpt", params)
        if MODE == "verdicts" and to.lower().startswith("<bob@"):
            self.setreply("550", "5.1.1", "bob is not wanted here")
            return Milter.REJECT
        return Milter.CONTINUE

    def data(self):
        rec("data", self.getsymval("i"))
        return Milter.CONTINUE

    def header(self, name, value):
        rec("header", name, value)
        self.headers.append((name, value))
        return Milter.CONTINUE

    def eoh(self):
        rec("eoh")
        return Milter.CONTINUE

    def body(self, chunk):
        if MODE != "pass":     # the benchmark's and the large messages' filter keeps nothing
            self.content += chunk
        return Milter.CONTINUE

    def eom(self):
        rec("eom", self.content.decode("latin-1"), self.getsymval("i"))
        subject = dict((k.lower(), v) for k, v in self.headers).get("subject", "")
        if MODE == "slow":
            time.sleep(5)
        if MODE == "modify":
            self.addheader("X-Added", "added by the filter")
            self.addheader("X-Inserted", "at the top", 0)
            self.addheader("X-Folded", "first line\n\tsecond line")
            self.chgheader("Subject", 1, "changed by the filter")
            self.chgheader("X-Remove-Me", 1, "")
            self.delrcpt("<postmaster@example.test>")
            self.addrcpt("<bob@example.test>")
            self.chgfrom("<changed@example.org>")
            self.replacebody(b"the filter's new body\r\n")
        if MODE == "verdicts":
            if subject == "please discard":
                return Milter.DISCARD
            if subject == "please reject":
                self.setreply("554", "5.7.1", "rejected by the test filter")
                return Milter.REJECT
            if subject == "please tempfail":
                return Milter.TEMPFAIL
            if subject == "please quarantine":
                self.quarantine("looks odd")
        if MODE in ("pass", "continue"):
            return Milter.CONTINUE
        return Milter.ACCEPT

    def abort(self):
        rec("abort")
        return Milter.CONTINUE

    def close(self):
        rec("close")
        return Milter.CONTINUE


if __name__ == "__main__":
    os.umask(0)  # the daemon runs as another user: the socket must be open to it
    Milter.factory = Filter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT |
                     Milter.DELRCPT | Milter.QUARANTINE | Milter.CHGFROM)
    Milter.runmilter("sterna-test", SOCK, 60)
