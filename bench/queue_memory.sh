#!/bin/sh
# A large queue at rest: what each queued message costs the daemon.
#  1. The daemon's resident memory (VmRSS) with an empty queue, once it greets.
#  2. N deferred messages of 4 KiB (100,000 by default; one remote recipient each, the next
#     attempt a day away) written straight into the spool (lib.sh, queue_fill); the daemon
#     started on them: the time to its first SMTP greeting (the queue is recovered while it
#     already accepts), and to the whole queue recovered (its log line says so; nothing asks
#     the daemon meanwhile).
#  3. Its resident memory then, less the empty daemon's, per queued message.
#  4. `sterna queue list --json > /dev/null`, timed once.
# Usage: queue_memory.sh /path/to/sterna [messages]
# With QUEUE_DIR set, the queue is written there once and kept: a second run (another build,
# the same queue) starts on it as it is, which at a million messages saves writing 4 GB again.
set -eu
bin=$1
msgs=${2:-100000}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
chmod 755 "$tmp"
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
. "$here/lib.sh"

work=$tmp
queue_conf info
queue_serve
sleep 1
empty_kib=$(rss_kib "$spid")
queue_stop
echo "empty queue: VmRSS $empty_kib KiB"

work=${QUEUE_DIR:-$tmp/queue}
mkdir -p "$work"
chmod 755 "$work"
if [ -d "$work/spool/queue" ]; then
	queue_conf info
	echo "queue: the messages kept in $work"
else
	queue_conf info
	queue_fill "$msgs" 4050
fi
queue_serve
queue_wait_recovered
sed -n 's/.*\(spool: [0-9]* queued messages recovered in .*\)/  \1/p' "$work/sterna.log"
echo "daemon ($msgs queued): first SMTP greeting $greeting_s s after start; the whole queue recovered after $recovered_s s"
sleep 1
full_kib=$(rss_kib "$spid")
/usr/bin/python3 -c "import sys; e, f, n = map(int, sys.argv[1:]); print('queued: VmRSS %d KiB: %.0f bytes per queued message' % (f, (f - e) * 1024 / n))" \
    "$empty_kib" "$full_kib" "$msgs"

queue_wait_total "$msgs"
t0=$(now)
count=$("$bin" queue -c "$work/sterna.conf" list --json | wc -l)
echo "sterna queue list --json: $(secs "$t0" "$(now)") s ($count messages)"
queue_stop
