#!/bin/sh
# One message to many destinations: what its delivery costs in flushes.
#  A message to 1,000 recipients at 100 domains (10 each), each domain routed to its own
#  smtp-sink on its own loopback address (127.0.1.1 .. 127.0.1.100), relayed by sterna. The
#  recipients' D records (delivered) are written per delivery and made durable by the spool's
#  group commit; counted with strace: the flush calls (fsync, fdatasync, syncfs) from the
#  message's arrival to its removal, and the time that took. R messages (3 by default).
# Usage: recipients.sh /path/to/sterna [messages]
set -eu
bin=$1
nmsg=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
command -v strace >/dev/null || { echo "recipients: strace is needed to count the flushes"; exit 0; }

sink_port=$(free_port)
as_user=""; [ "$(id -u)" -eq 0 ] && as_user="-u nobody"
routes=""
for d in $(seq 1 100); do
	# shellcheck disable=SC2086
	"$sink_bin" $as_user -c "127.0.1.$d:$sink_port" 64 >/dev/null 2>&1 &
	pids="$pids $!"
	routes="$routes\"d$d.example [127.0.1.$d]:$sink_port\", "
done

port=$(free_port)
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";' && chown nobody "$work"
cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
smtp { max_recipients = 1000; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$work/mail"; }
relay { trusted_networks = ["127.0.0.0/8"]; }
dns { resolver = "127.0.0.1:1"; }
outbound { routes = [$routes]; }
CONF
"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
spid=$!
pids="$pids $spid"
wait_port "$port"
for d in $(seq 1 100); do wait_port_on "127.0.1.$d" "$sink_port"; done

strace -f -c -e trace=fsync,fdatasync,syncfs -o "$work/strace.txt" -p "$spid" 2>/dev/null &
tpid=$!
sleep 1
t0=$(now)
/usr/bin/python3 - "$port" "$nmsg" <<'PY'
import smtplib, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
rcpts = ["u%d@d%d.example" % (u, d) for d in range(1, 101) for u in range(10)]
body = "Subject: many\r\nFrom: a@example.org\r\n\r\n" + ("x" * 76 + "\r\n") * 52
with smtplib.SMTP("127.0.0.1", port) as s:
    for _ in range(n):
        refused = s.sendmail("a@example.org", rcpts, body)
        assert not refused, refused
PY
for _ in $(seq 1 1200); do
	[ -z "$(ls -A "$work/spool/queue" 2>/dev/null)" ] && break
	sleep 0.05
done
t1=$(now)
kill -INT "$tpid"; wait "$tpid" 2>/dev/null || true
flushes=$(awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ { n += $4 } END { print n + 0 }' "$work/strace.txt")
echo "one message, 1,000 recipients at 100 destinations ($nmsg messages, relayed to smtp-sink):"
/usr/bin/python3 -c "import sys; f, n, t = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3]); print('  %.0f flush calls per message (fsync, fdatasync, syncfs), %.2f s per message received and delivered' % (f / n, t / n))" "$flushes" "$nmsg" "$t0" "$t1"
grep -E "fsync|fdatasync|syncfs" "$work/strace.txt" | sed 's/^/  /'
