# bench/lib.sh - what the benchmarks share; sourced (after setting here, the bench folder),
# and msgs (messages per run) set before rate() is used.

# Postfix's smtp-source and smtp-sink (unpacked by make deps), a scratch folder in $work, and
# $pids: processes to stop when the benchmark ends, however it ends.
bench_init() {
	pf="$here/../.cache/postfix"
	export LD_LIBRARY_PATH="$pf/usr/lib/postfix"
	source_bin="$pf/usr/sbin/smtp-source"
	sink_bin="$pf/usr/sbin/smtp-sink"
	work=$(mktemp -d)
	chmod 755 "$work"
	pids=""
	trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
	ulimit -n 65536 2>/dev/null || true
}

# A free port on 127.0.0.1: free_port [SOCK_STREAM|SOCK_DGRAM].
free_port() { /usr/bin/python3 -c 'import socket, sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "${1:-SOCK_STREAM}"; }
now() { date +%s.%N; }
# Messages per second for $msgs messages between two times: rate T0 T1.
rate() { /usr/bin/python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))" "$msgs" "$1" "$2"; }
# Waits until something listens on 127.0.0.1:PORT (10 s at most).
wait_port() { wait_port_on 127.0.0.1 "$1"; }
# The same on another loopback address: wait_port_on ADDRESS PORT.
wait_port_on() { /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# --- a large queue, written straight into a spool (queue_list.sh, queue_memory.sh) ---
# They use $work, $here and $bin, and set $port and $spid.

secs() { /usr/bin/python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# A configuration for $work/spool whose queued messages wait a day between attempts; logging
# at warning, or at the level given: queue_conf [LEVEL].
queue_conf() {
	port=$(free_port)
	mkdir -p "$work/spool" "$work/mail"
	user_line=""
	if [ "$(id -u)" -eq 0 ]; then
		user_line='user = "nobody";'
		chown nobody "$work/spool" "$work/mail"
	fi
	cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line log_level = "${1:-warning}"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
local { domains = ["example.test"]; users = ["postmaster", "alice"]; mailbox_root = "$work/mail"; }
queue { retry_min = 1h; retry_max = 1d; lifetime = 5d; }
dns { resolver = "127.0.0.1:1"; }
CONF
}

# queue_fill N [BODY_BYTES]: N deferred messages (one remote recipient each, next attempt a day
# away) written into the spool as its own files (tests/e2e/queuefiles.py), far faster than
# sending them: without a flush each, then one sync of the file system.
queue_fill() {
	t0=$(now)
	/usr/bin/python3 - "$work/spool" "$1" "${2:-200}" "$here/../tests/e2e" <<'PY'
import sys
sys.path.insert(0, sys.argv[4])
from queuefiles import fill
fill(sys.argv[1], int(sys.argv[2]), body_bytes=int(sys.argv[3]))
PY
	sync -f "$work/spool"
	t1=$(now)
	echo "queue: $1 deferred messages written in $(secs "$t0" "$t1") s"
}

# Starts the daemon on $work/sterna.conf and waits for its first SMTP greeting: $serve_t0 is
# when it started, $greeting_s the seconds from then to the greeting.
queue_serve() {
	serve_t0=$(now)
	"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
	spid=$!
	/usr/bin/python3 - "$port" "$spid" <<'PY'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
while True:
    os.kill(pid, 0)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if s.makefile("rb").readline().startswith(b"220"):
            break
    except OSError:
        time.sleep(0.01)
PY
	greeting_s=$(secs "$serve_t0" "$(now)")
}

# Waits until the daemon's queue holds N messages (`sterna status`).
queue_wait_total() {
	until [ "$("$bin" status -c "$work/sterna.conf" --json 2>/dev/null |
	    /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); print(j.get("status", j)["queue"]["total"])' 2>/dev/null)" = "$1" ]; do
		kill -0 "$spid" || { cat "$work/sterna.log"; exit 1; }
		sleep 0.05
	done
}

# Waits for the daemon's line saying the whole queue found at start is read (logged at info),
# without asking the daemon anything meanwhile (`sterna status` walks the whole queue); sets
# $recovered_s, the seconds from the start to that line.
queue_wait_recovered() {
	until grep -q "queued messages recovered in" "$work/sterna.log"; do
		kill -0 "$spid" || { cat "$work/sterna.log"; exit 1; }
		sleep 0.05
	done
	recovered_s=$(secs "$serve_t0" "$(now)")
}

# Stops the daemon started by queue_serve.
queue_stop() {
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=""
}

# The daemon's resident memory in KiB (VmRSS).
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
