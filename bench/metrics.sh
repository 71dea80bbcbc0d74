#!/bin/sh
# make bench: what the metrics cost. The receive rate of bench/run.sh (messages of 4 KiB from
# smtp-source over 20 sessions, each flushed to disk before its 250, delivered to a Maildir),
# measured in rounds that take turns: without a scraper, and with GET /metrics asked every
# second (as Prometheus would, a little more often than its usual 15 s) for the whole round.
# The queue is left to drain between rounds, so each starts from the same empty queue; the
# median of each kind is reported, and their ratio, which the issue wants within 5 %.
# Usage: metrics.sh /path/to/sterna [messages per round] [rounds of each kind]
set -eu
bin=$1
msgs=${2:-20000}
rounds=${3:-3}
sess=20
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init

port=$(free_port)
api_port=$(free_port)
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";' && chown nobody "$work"
: > "$work/keys"
chmod 644 "$work/keys"
cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line max_sessions = 100000; max_sessions_per_client = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
local { domains = ["example.test"]; users = ["postmaster", "alice"]; mailbox_root = "$work/mail"; }
http { listen "api" { address = "127.0.0.1:$api_port"; } keys_file = "$work/keys"; }
CONF
"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
pids="$pids $!"
wait_port "$port"
wait_port "$api_port"

# GET /metrics once a second until killed; counts its scrapes in $work/scrapes
scraper() {
	: > "$work/scrapes"
	while :; do
		curl -sf -o /dev/null "http://127.0.0.1:$api_port/metrics" && echo >> "$work/scrapes"
		sleep 1
	done
}

# One round: the queue drained, then $msgs messages; prints the rate
round() {
	for _ in $(seq 1 1200); do
		[ -z "$(ls -A "$work/spool/queue" 2>/dev/null)" ] && break
		sleep 0.5
	done
	t0=$(now)
	"$source_bin" -s "$sess" -m "$msgs" -l 4096 -f bench@example.org -t alice@example.test \
		"127.0.0.1:$port" >/dev/null
	t1=$(now)
	rate "$t0" "$t1"
}

none=""
scraped=""
scrapes=0
i=0
while [ "$i" -lt "$rounds" ]; do
	none="$none $(round)"
	scraper &
	spid=$!
	scraped="$scraped $(round)"
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	scrapes=$((scrapes + $(wc -l < "$work/scrapes")))
	i=$((i + 1))
done
lines=$(curl -sf "http://127.0.0.1:$api_port/metrics" | wc -l)

echo "metrics: receive rate without and with GET /metrics every second ($lines lines a scrape)"
echo "  $rounds rounds of each, taking turns: $msgs messages of 4 KiB over $sess sessions each"
echo "  no scrape:          $none msg/s"
echo "  scrape every 1 s:   $scraped msg/s ($scrapes scrapes in all)"
/usr/bin/python3 - "$none" "$scraped" <<'PY'
import statistics, sys
a = statistics.median(float(x) for x in sys.argv[1].split())
b = statistics.median(float(x) for x in sys.argv[2].split())
print("  medians: %.0f and %.0f msg/s; ratio with / without: %.3f (%+.1f %%)" % (a, b, b / a, (b / a - 1) * 100))
PY
