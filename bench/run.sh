#!/bin/sh
# make bench: sterna side by side with Postfix's smtp-sink on loopback, reported as ratios.
#  1. 10,000 messages of 4 KiB over 20 sessions from smtp-source, into smtp-sink and into
#     sterna (which flushes every message to disk before its 250, and delivers to a Maildir).
#  2. sterna's resident memory before and after opening 2,000 idle sessions (after EHLO).
#  3. End to end: smtp-source -> sterna (relaying) -> smtp-sink, the same messages and
#     sessions, timed until smtp-sink has the last one; against smtp-source straight into
#     smtp-sink (1.), as a ratio.
#  4. One sequential client: a tenth of the messages from one session after another
#     (smtp-source -s 1), into smtp-sink and into sterna (1.'s, delivering to a Maildir), in
#     milliseconds per message: what one flush costs a client that waits for each 250.
# Usage: run.sh /path/to/sterna [messages] [sessions] [idle]
set -eu
bin=$1
msgs=${2:-10000}
sess=${3:-20}
idle=${4:-2000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
send() { "$source_bin" -s "$sess" -m "$msgs" -l 4096 -f bench@example.org -t alice@example.test "127.0.0.1:$1"; }
seq_msgs=$((msgs / 10))
send_seq() { "$source_bin" -s 1 -m "$seq_msgs" -l 4096 -f bench@example.org -t alice@example.test "127.0.0.1:$1"; }
# Milliseconds per message of the sequential client between two times: ms_per_msg T0 T1.
ms_per_msg() { /usr/bin/python3 -c "import sys; print('%.2f' % (1000 * (float(sys.argv[3]) - float(sys.argv[2])) / float(sys.argv[1])))" "$seq_msgs" "$1" "$2"; }

# --- smtp-sink ---
sink_port=$(free_port)
as_user=""; [ "$(id -u)" -eq 0 ] && as_user="-u nobody"
# shellcheck disable=SC2086
"$sink_bin" $as_user -c "127.0.0.1:$sink_port" 1024 >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$sink_port"
t0=$(now); send "$sink_port"; t1=$(now)
sink_rate=$(rate "$t0" "$t1")
t0=$(now); send_seq "$sink_port"; t1=$(now)
sink_seq_ms=$(ms_per_msg "$t0" "$t1")

# --- sterna ---
port=$(free_port)
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";' && chown nobody "$work"
cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line max_sessions = 100000; max_sessions_per_client = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
local { domains = ["example.test"]; users = ["postmaster", "alice"]; mailbox_root = "$work/mail"; }
CONF
"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
spid=$!
pids="$pids $spid"
wait_port "$port"
t0=$(now); send "$port"; t1=$(now)
sterna_rate=$(rate "$t0" "$t1")
# the deliveries go on after the last 250; wait for them so the memory figure is of a quiet server
for _ in $(seq 1 600); do
	[ -z "$(ls -A "$work/spool/queue" 2>/dev/null)" ] && break
	sleep 0.5
done
delivered=$(ls "$work/mail/alice/new" | wc -l)
# one sequential client, once the queue is empty again
t0=$(now); send_seq "$port"; t1=$(now)
sterna_seq_ms=$(ms_per_msg "$t0" "$t1")

echo "receive: $msgs messages of 4 KiB over $sess sessions (smtp-source, loopback)"
echo "  smtp-sink: $sink_rate msg/s"
echo "  sterna:    $sterna_rate msg/s (flush before every 250; $delivered delivered to Maildir)"
/usr/bin/python3 -c "print('  ratio sterna / smtp-sink: %.2f' % ($sterna_rate / $sink_rate))"
echo "one sequential client: $seq_msgs messages of 4 KiB, one session after another"
echo "  smtp-sink: $sink_seq_ms ms/message"
echo "  sterna:    $sterna_seq_ms ms/message (flush before every 250)"
/usr/bin/python3 -c "print('  ratio sterna / smtp-sink: %.2f' % ($sterna_seq_ms / $sink_seq_ms))"

# --- memory of idle sessions, on a fresh daemon (after the run above, freed buffers that the
# allocator keeps would hide what the sessions cost) ---
kill "$spid"
wait "$spid" 2>/dev/null || true
rm -rf "$work/spool"
"$bin" serve -c "$work/sterna.conf" 2>>"$work/sterna.log" &
spid=$!
pids="$pids $spid"
wait_port "$port"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$spid/status"; }
before=$(rss)
/usr/bin/python3 - "$port" "$idle" "$spid" <<'PY'
import socket, sys
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
for s in socks:
    s.recv(512)
    s.sendall(b"EHLO bench.example\r\n")
for s in socks:
    data = b""
    while not data.endswith(b"250 SMTPUTF8\r\n"):
        data += s.recv(4096)
with open("/proc/%s/status" % pid) as f:
    rss = [l.split()[1] for l in f if l.startswith("VmRSS")][0]
print("memory: %d idle sessions (after EHLO): %s KiB resident" % (n, rss))
for s in socks:
    s.close()
PY
echo "  (a fresh sterna, before them: $before KiB resident)"

# --- end to end: smtp-source -> sterna -> smtp-sink ---
e2e_sink_port=$(free_port)
# shellcheck disable=SC2086
"$sink_bin" $as_user -M "$msgs" -c "127.0.0.1:$e2e_sink_port" 1024 >/dev/null 2>&1 &
e2e_sink=$!
pids="$pids $e2e_sink"
wait_port "$e2e_sink_port"
relay_port=$(free_port)
mkdir -p "$work/relay"
[ "$(id -u)" -eq 0 ] && chown nobody "$work/relay"
cat > "$work/relay.conf" <<CONF
server { hostname = "relay.example.test"; $user_line max_sessions = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$relay_port"; }
spool { dir = "$work/relay/spool"; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$work/relay/mail"; }
relay { trusted_networks = ["127.0.0.0/8"]; }
dns { resolver = "127.0.0.1:1"; }
outbound { routes = ["sink.example [127.0.0.1]:$e2e_sink_port"]; }
queue { max_connections_per_destination = $sess; }
CONF
"$bin" serve -c "$work/relay.conf" 2>"$work/relay.log" &
rpid=$!
pids="$pids $rpid"
wait_port "$relay_port"
t0=$(now)
"$source_bin" -s "$sess" -m "$msgs" -l 4096 -f bench@example.org -t bench@sink.example \
	"127.0.0.1:$relay_port"
t_accepted=$(now)
# smtp-sink -M exits after the last message: that is the end-to-end time
wait "$e2e_sink" 2>/dev/null || true
t1=$(now)
e2e_rate=$(rate "$t0" "$t1")
echo "end to end: $msgs messages of 4 KiB, smtp-source -> sterna -> smtp-sink, $sess sessions"
echo "  smtp-source -> smtp-sink: $sink_rate msg/s"
echo "  through sterna:           $e2e_rate msg/s (all accepted after $(/usr/bin/python3 -c "print('%.2f' % ($t_accepted - $t0))") s)"
/usr/bin/python3 -c "print('  ratio end to end / smtp-sink: %.2f' % ($e2e_rate / $sink_rate))"
