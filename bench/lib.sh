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
