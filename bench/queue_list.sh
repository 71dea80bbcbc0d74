#!/bin/sh
# A large queue listed through the control socket.
#  1. N messages (100,000 by default) are written straight into a fresh spool as deferred
#     queue files, their next attempt a day away (tests/e2e/queuefiles.py: far faster than
#     sending them); the daemon recovers them at start, while it already accepts mail: the
#     time to the first SMTP greeting and to the whole queue read.
#  2. `sterna queue list --json > /dev/null`, then the text listing and `sterna status`,
#     each timed, the best of R runs (3 by default).
#  3. While a listing runs, an SMTP client sends NOOP every 10 ms: the slowest answer says
#     whether the listing held up the loop that receives mail.
#  4. The receive rate (smtp-source, 5,000 messages of 4 KiB over 20 sessions, to a local
#     Maildir) without a listing, then with listings of the whole queue one after another
#     for as long as it sends, and the ratio of the two.
# Usage: queue_list.sh /path/to/sterna [messages] [runs]
set -eu
bin=$1
msgs=${2:-100000}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 755 "$work"
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

. "$here/lib.sh"
# the best of $runs runs of a command line (its output to /dev/null)
best() {
	b=""
	for _ in $(seq 1 "$runs"); do
		t0=$(now); "$@" >/dev/null; t1=$(now)
		t=$(secs "$t0" "$t1")
		b=$(/usr/bin/python3 -c "import sys; a=sys.argv[1]; print(sys.argv[2] if not a or float(sys.argv[2]) < float(a) else a)" "$b" "$t")
	done
	echo "$b"
}

queue_conf
queue_fill "$msgs"
# the queue is read while the server already accepts: the first greeting, then the whole queue
queue_serve
queue_wait_total "$msgs"
echo "daemon: first SMTP greeting $greeting_s s after start; the whole queue read after $(secs "$serve_t0" "$(now)") s"
"$bin" status -c "$work/sterna.conf" | sed -n 's/^Queue: */  queue: /p'

list_json=$(best "$bin" queue -c "$work/sterna.conf" list --json)
list_text=$(best "$bin" queue -c "$work/sterna.conf" list)
status=$(best "$bin" status -c "$work/sterna.conf")
count=$("$bin" queue -c "$work/sterna.conf" list --json | wc -l)
echo "sterna queue list --json > /dev/null: $list_json s ($count messages; best of $runs)"
echo "sterna queue list > /dev/null:        $list_text s"
echo "sterna status > /dev/null:            $status s"

# NOOP round trips while a listing runs
/usr/bin/python3 - "$port" "$bin" "$work/sterna.conf" <<'PY'
import socket, subprocess, sys, time
port, bin, conf = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
f.readline()
def rtt():
    t = time.monotonic()
    s.sendall(b"NOOP\r\n")
    f.readline()
    return time.monotonic() - t
def worst_while(busy):
    worst, n = 0.0, 0
    while busy():
        worst = max(worst, rtt())
        n += 1
        time.sleep(0.01)
    return worst, n
# the same for 2 s without a listing: on a shared machine the slowest answer is the machine's
end = time.monotonic() + 2
base, nb = worst_while(lambda: time.monotonic() < end)
lister = subprocess.Popen([bin, "queue", "-c", conf, "list", "--json"], stdout=subprocess.DEVNULL)
worst, n = worst_while(lambda: lister.poll() is None)
print("SMTP NOOP during the listing: slowest of %d answers %.1f ms (without a listing: "
      "slowest of %d, %.1f ms)" % (n, worst * 1000, nb, base * 1000))
PY

# receiving while the queue is listed over and over
pf="$here/../.cache/postfix"
if [ -x "$pf/usr/sbin/smtp-source" ]; then
	recv_msgs=5000
	send() { LD_LIBRARY_PATH="$pf/usr/lib/postfix" "$pf/usr/sbin/smtp-source" -s 20 -m "$recv_msgs" \
	    -l 4096 -f bench@example.org -t alice@example.test "127.0.0.1:$port"; }
	msgs=$recv_msgs	# what rate() counts
	t0=$(now); send; t1=$(now)
	quiet=$(rate "$t0" "$t1")
	touch "$work/listing"
	( while [ -e "$work/listing" ]; do "$bin" queue -c "$work/sterna.conf" list --json >/dev/null; done ) &
	lpid=$!
	t0=$(now); send; t1=$(now)
	rm -f "$work/listing"
	wait "$lpid" 2>/dev/null || true
	busy=$(rate "$t0" "$t1")
	echo "receive ($recv_msgs x 4 KiB, 20 sessions): $quiet msg/s alone, $busy msg/s while the queue is listed"
	/usr/bin/python3 -c "print('  ratio with / without listings: %.2f' % ($busy / $quiet))"
fi
