#!/bin/sh
# What DKIM signing costs: end to end, smtp-source -> sterna (relaying for a trusted network)
# -> smtp-sink, as run.sh's third part, with signing off, with an RSA 2048 key of the From
# domain (the common case) and with an Ed25519 key, in turns, twice each; the best run of
# each is reported, the cost as the share of the rate lost, and the daemon's CPU time per
# message (user and system, from /proc), which says what signing costs whatever the load.
# Usage: dkim.sh /path/to/sterna [messages] [sessions]
set -eu
bin=$1
msgs=${2:-10000}
sess=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
as_user=""; [ "$(id -u)" -eq 0 ] && as_user="-u nobody"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";'

mkdir -p "$work/keys"
"$bin" dkim keygen -d "$work/keys" -t rsa example.org r1 >/dev/null 2>&1
"$bin" dkim keygen -d "$work/keys" -t ed25519 example.org e1 >/dev/null 2>&1

# one end-to-end run: run_once off|SELECTOR; prints the rate, and the daemon's CPU time per
# message in microseconds
run_once() {
	sink_port=$(free_port)
	# shellcheck disable=SC2086
	"$sink_bin" $as_user -M "$msgs" -c "127.0.0.1:$sink_port" 1024 >/dev/null 2>&1 &
	sink=$!
	pids="$pids $sink"
	wait_port "$sink_port"
	port=$(free_port)
	rm -rf "$work/relay"
	mkdir -p "$work/relay"
	[ "$(id -u)" -eq 0 ] && chown nobody "$work/relay"
	dkim=""
	[ "$1" != off ] && dkim="dkim { keys = [\"example.org $1\"]; key_dir = \"$work/keys\"; }"
	cat > "$work/relay.conf" <<CONF
server { hostname = "relay.example.test"; $user_line max_sessions = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/relay/spool"; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$work/relay/mail"; }
relay { trusted_networks = ["127.0.0.0/8"]; }
dns { resolver = "127.0.0.1:1"; }
outbound { routes = ["sink.example [127.0.0.1]:$sink_port"]; }
queue { max_connections_per_destination = $sess; }
$dkim
CONF
	"$bin" serve -c "$work/relay.conf" 2>"$work/relay.log" &
	spid=$!
	pids="$pids $spid"
	wait_port "$port"
	t0=$(now)
	"$source_bin" -s "$sess" -m "$msgs" -l 4096 -f bench@example.org -t bench@sink.example \
		"127.0.0.1:$port"
	wait "$sink" 2>/dev/null || true
	t1=$(now)
	ticks=$(awk '{print $14 + $15}' "/proc/$spid/stat")
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	echo "$(rate "$t0" "$t1") $(/usr/bin/python3 -c "import os; print('%.0f' % ($ticks * 1e6 / os.sysconf('SC_CLK_TCK') / $msgs))")"
}

for round in 1 2; do
	for m in off r1 e1; do
		set -- $(run_once $m)
		eval "rate_${m}_$round=$1 cpu_${m}_$round=$2"
	done
done
best() { [ "$1" -ge "$2" ] && echo "$1" || echo "$2"; }
echo "DKIM signing, end to end: $msgs messages of 4 KiB, smtp-source -> sterna -> smtp-sink, $sess sessions"
for m in off r1 e1; do
	eval "r1=\$rate_${m}_1 r2=\$rate_${m}_2 c1=\$cpu_${m}_1 c2=\$cpu_${m}_2"
	b=$(best "$r1" "$r2")
	eval "best_$m=$b"
	case $m in off) what="signing off:          " ;; r1) what="RSA 2048 signature:   " ;;
		e1) what="Ed25519 signature:    " ;; esac
	echo "  $what $r1, $r2 msg/s (best $b); sterna's CPU $c1, $c2 us/msg"
done
/usr/bin/python3 -c "print('  cost of signing (best rates): RSA %.1f %%, Ed25519 %.1f %%' % (100.0 * (1 - $best_r1 / $best_off), 100.0 * (1 - $best_e1 / $best_off)))"
