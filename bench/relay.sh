#!/bin/sh
# make bench: relaying by message size, in one run, as ratios.
# For each size (4 KiB and 100 KiB): smtp-source straight into smtp-sink (the direct rate);
# smtp-source -> sterna (relaying to a route) -> smtp-sink, timed until sterna has accepted
# the last message (its own accept rate) and until smtp-sink has it (end to end); and how
# far relaying kept up while receiving went on (messages still queued when the last was
# accepted); and sterna's CPU time per message and peak memory (/proc: user + system time,
# VmHWM), figures that a busy machine disturbs less than rates. The CPU of smtp-source and
# smtp-sink is counted too, in both runs: where the direct run keeps every core busy (four
# fifths of the time or more), the relayed run shares the same cores among the two of them
# and sterna, so end to end / direct cannot pass (their CPU direct) / (their CPU relayed +
# sterna's), the ceiling printed.
# Usage: relay.sh /path/to/sterna [messages] [sessions] [sizes in bytes...]
# SPOOL_ROOT=/dev/shm puts sterna's spool on a tmpfs, where a flush costs nothing: what
# relaying costs when receiving is not held back by the disk (not a durable set-up).
set -eu
bin=$1
msgs=${2:-5000}
sess=${3:-20}
shift $(($# < 3 ? $# : 3))
sizes=${*:-4096 102400}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
as_user=""; user_line=""
if [ "$(id -u)" -eq 0 ]; then
	as_user="-u nobody"
	user_line='user = "nobody";'
fi

# smtp-sink, its CPU seconds in $work/sink.cpu once it ends (bench/cpu_run.py, which passes
# a kill on); start_sink -M N makes it exit after the N-th message
start_sink() {
	sink_port=$(free_port)
	# shellcheck disable=SC2086
	/usr/bin/python3 "$here/cpu_run.py" "$work/sink.cpu" \
		"$sink_bin" $as_user "$@" -c "127.0.0.1:$sink_port" 1024 >/dev/null 2>&1 &
	sink_pid=$!
	pids="$pids $sink_pid"
	wait_port "$sink_port"
}

for size in $sizes; do
	start_sink
	t0=$(now)
	/usr/bin/python3 "$here/cpu_run.py" "$work/source.cpu" \
		"$source_bin" -s "$sess" -m "$msgs" -l "$size" -f bench@example.org -t x@sink.example \
		"127.0.0.1:$sink_port"
	t1=$(now)
	direct=$(rate "$t0" "$t1")
	kill "$sink_pid"
	wait "$sink_pid" 2>/dev/null || true
	pair_direct=$(cat "$work/source.cpu" "$work/sink.cpu" | awk '{ s += $1 } END { print s }')

	start_sink -M "$msgs"
	relay_port=$(free_port)
	dir="$work/relay-$size"
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown nobody "$dir"
	spool="$dir/spool"
	if [ -n "${SPOOL_ROOT:-}" ]; then
		spool=$(mktemp -d "$SPOOL_ROOT/sterna-bench-XXXXXX")
		chmod 755 "$spool"
		[ "$(id -u)" -eq 0 ] && chown nobody "$spool"
	fi
	cat > "$dir/relay.conf" <<CONF
server { hostname = "relay.example.test"; $user_line max_sessions = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$relay_port"; }
spool { dir = "$spool"; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$dir/mail"; }
relay { trusted_networks = ["127.0.0.0/8"]; }
dns { resolver = "127.0.0.1:1"; }
outbound { routes = ["sink.example [127.0.0.1]:$sink_port"]; }
queue { max_connections_per_destination = $sess; }
CONF
	"$bin" serve -c "$dir/relay.conf" 2>"$dir/relay.log" &
	rpid=$!
	pids="$pids $rpid"
	wait_port "$relay_port"
	t0=$(now)
	/usr/bin/python3 "$here/cpu_run.py" "$work/source.cpu" \
		"$source_bin" -s "$sess" -m "$msgs" -l "$size" -f bench@example.org -t x@sink.example \
		"127.0.0.1:$relay_port"
	t_acc=$(now)
	queued=$(ls "$spool/queue" | wc -l)
	wait "$sink_pid" 2>/dev/null || true
	t1=$(now)
	accept=$(rate "$t0" "$t_acc")
	e2e=$(rate "$t0" "$t1")
	cpu=$(awk -v m="$msgs" -v hz="$(getconf CLK_TCK)" \
		'{ printf "%.2f", ($14 + $15) * 1000 / hz / m }' "/proc/$rpid/stat")
	pair_relayed=$(cat "$work/source.cpu" "$work/sink.cpu" | awk '{ s += $1 } END { print s }')
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$rpid/status")
	kill "$rpid"
	wait "$rpid" 2>/dev/null || true
	[ -n "${SPOOL_ROOT:-}" ] && rm -rf "$spool"
	echo "relay: $msgs messages of $size bytes over $sess sessions, smtp-source -> sterna -> smtp-sink"
	echo "  direct (smtp-source -> smtp-sink): $direct msg/s"
	echo "  sterna accepts:                    $accept msg/s"
	echo "  end to end:                        $e2e msg/s ($queued still queued when the last was accepted)"
	echo "  sterna: $cpu ms of CPU per message; peak resident memory $hwm KiB"
	/usr/bin/python3 - "$msgs" "$pair_direct" "$pair_relayed" "$cpu" "$direct" <<'PY'
import os, sys
m = int(sys.argv[1])
pair_direct, pair_relayed, sterna_ms, direct = map(float, sys.argv[2:6])
busy = pair_direct / (m / direct) / os.cpu_count()
print("  smtp-source + smtp-sink: %.2f ms of CPU per message direct (%.0f %% of the %d cores "
      "busy), %.2f ms relayed" % (pair_direct * 1000 / m, 100 * busy, os.cpu_count(),
                                  pair_relayed * 1000 / m))
if busy >= 0.8:
    print("  ceiling where the cores are the limit: end to end / direct <= %.2f"
          % (pair_direct / (pair_relayed + sterna_ms * m / 1000)))
else:
    print("  the direct run left the cores idle a fifth of the time or more: they were not its "
          "limit, and give end to end / direct no ceiling")
PY
	/usr/bin/python3 -c "print('  ratio end to end / direct: %.2f; end to end / sterna accepts: %.2f' % ($e2e / $direct, $e2e / $accept))"
done
