#!/bin/sh
# Receiving loops (server.receive_loops): the same load into sterna with 1, 2 and N loops.
#  For each count: 10,000 messages of 4 KiB over 20 sessions from smtp-source into sterna
#  (a flush before every 250, delivered to a Maildir), timed to the last 250; then, once the
#  queue is empty, the CPU the daemon used per message, all threads told and per thread:
#  the main loop (it accepts every connection, schedules and delivers, and receives as loop
#  0), each further receiving loop (threads named sterna-rxN), and the rest (the spool's and
#  the signer's workers, the group commit's flusher). A receiving loop's CPU per message is
#  what one core can take of that loop's share: its ceiling is 1 s over that figure.
# Usage: loops.sh /path/to/sterna [messages] [sessions] [loop counts...]
set -eu
bin=$1
msgs=${2:-10000}
sess=${3:-20}
shift $(($# < 3 ? $# : 3))
counts=${*:-1 2}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";'

# CPU seconds of each thread of PID, as "NAME TID SECONDS" lines.
thread_cpu() {
	/usr/bin/python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
hz = os.sysconf("SC_CLK_TCK")
for tid in sorted(os.listdir("/proc/%s/task" % pid), key=int):
    try:
        with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
            st = f.read()
    except OSError:
        continue
    name = st[st.index("(") + 1:st.rindex(")")]
    fields = st[st.rindex(")") + 2:].split()
    print(name, tid, (int(fields[11]) + int(fields[12])) / hz)
PY
}

echo "receiving loops: $msgs messages of 4 KiB over $sess sessions (smtp-source, loopback) per run"
for loops in $counts; do
	port=$(free_port)
	run="$work/run$loops"
	mkdir -p "$run"
	[ "$(id -u)" -eq 0 ] && chown nobody "$run"
	cat > "$run/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line max_sessions = 100000; max_sessions_per_client = 100000; log_level = "warning"; receive_loops = $loops; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$run/spool"; }
local { domains = ["example.test"]; users = ["postmaster", "alice"]; mailbox_root = "$run/mail"; }
CONF
	"$bin" serve -c "$run/sterna.conf" 2>"$run/sterna.log" &
	spid=$!
	pids="$pids $spid"
	wait_port "$port"
	thread_cpu "$spid" > "$run/cpu0"
	t0=$(now)
	"$source_bin" -s "$sess" -m "$msgs" -l 4096 -f bench@example.org -t alice@example.test \
	    "127.0.0.1:$port"
	t1=$(now)
	for _ in $(seq 1 600); do
		[ -z "$(ls -A "$run/spool/queue" 2>/dev/null)" ] && break
		sleep 0.5
	done
	thread_cpu "$spid" > "$run/cpu1"
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	echo "  receive_loops = $loops: $(rate "$t0" "$t1") msg/s; $(ls "$run/mail/alice/new" | wc -l) delivered"
	/usr/bin/python3 - "$run/cpu0" "$run/cpu1" "$spid" "$msgs" <<'PY'
import re, sys
def read(path):
    out = {}
    for line in open(path):
        name, tid, secs = line.split()
        out[tid] = (name, float(secs))
    return out
before, after, pid, n = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3], int(sys.argv[4])
used = {tid: (name, secs - before.get(tid, (name, 0.0))[1]) for tid, (name, secs) in after.items()}
us = lambda s: 1e6 * s / n
total = sum(s for _, s in used.values())
main = used.get(pid, ("", 0.0))[1]
loops = sorted((name, s) for tid, (name, s) in used.items() if re.fullmatch(r"sterna-rx\d+", name))
rest = total - main - sum(s for _, s in loops)
print("    CPU per message: %.0f us in all; main loop %.0f us" % (us(total), us(main)), end="")
for name, s in loops:
    print("; %s %.0f us" % (name, us(s)), end="")
print("; workers and flusher %.0f us" % us(rest))
PY
done
