#!/bin/sh
# What one milter costs: end to end, smtp-source -> sterna (relaying for a trusted network)
# -> smtp-sink, as run.sh's third part, with no milter and with one pass-through milter (the
# tests' pymilter filter in its "pass" mode: every step heard and answered, every message
# accepted unchanged with CONTINUE, so that its connection serves the next sessions: QUIT_NC),
# alternately, twice each; the best run of each is reported. Then the
# same with OpenDKIM verifying (a filter in C: what the milter exchange costs sterna when the
# filter is quick; the messages carry no signature, so they pass unchanged).
# Usage: milter.sh /path/to/sterna [messages] [sessions]
set -eu
bin=$1
msgs=${2:-5000}
sess=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
as_user=""; [ "$(id -u)" -eq 0 ] && as_user="-u nobody"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";'

# the filter: pymilter on Sendmail's libmilter, a socket the daemon's user may use
chmod 755 "$work"
/usr/bin/python3 "$here/../tests/e2e/pymilter_filter.py" "unix:$work/milter.sock" pass /dev/null &
pids="$pids $!"
for _ in $(seq 1 100); do [ -S "$work/milter.sock" ] && break; sleep 0.1; done
printf 'Syslog no\nMode v\nSocket local:%s/opendkim.sock\nUMask 000\nPidFile %s/opendkim.pid\n' \
	"$work" "$work" > "$work/opendkim.conf"
opendkim -f -x "$work/opendkim.conf" &
pids="$pids $!"
for _ in $(seq 1 100); do [ -S "$work/opendkim.sock" ] && break; sleep 0.1; done

# one end-to-end run: run_once off|on; prints the rate
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
	milters=""
	[ "$1" = on ] && milters="milters = \"pass\";"
	[ "$1" = opendkim ] && milters="milters = \"opendkim\";"
	cat > "$work/relay.conf" <<CONF
server { hostname = "relay.example.test"; $user_line max_sessions = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; $milters }
milter "pass" { address = "unix:$work/milter.sock"; }
milter "opendkim" { address = "unix:$work/opendkim.sock"; }
spool { dir = "$work/relay/spool"; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$work/relay/mail"; }
relay { trusted_networks = ["127.0.0.0/8"]; }
dns { resolver = "127.0.0.1:1"; }
outbound { routes = ["sink.example [127.0.0.1]:$sink_port"]; }
queue { max_connections_per_destination = $sess; }
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
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	rate "$t0" "$t1"
}

off1=$(run_once off); on1=$(run_once on); od1=$(run_once opendkim)
off2=$(run_once off); on2=$(run_once on); od2=$(run_once opendkim)
best() { [ "$1" -ge "$2" ] && echo "$1" || echo "$2"; }
off=$(best "$off1" "$off2"); on=$(best "$on1" "$on2"); od=$(best "$od1" "$od2")
echo "milter, end to end: $msgs messages of 4 KiB, smtp-source -> sterna -> smtp-sink, $sess sessions"
echo "  no milter:                         $off1, $off2 msg/s (best $off)"
echo "  one pass-through milter (pymilter): $on1, $on2 msg/s (best $on)"
echo "  OpenDKIM verifying (C):            $od1, $od2 msg/s (best $od)"
/usr/bin/python3 -c "print('  cost: pymilter %.1f %%, OpenDKIM %.1f %%' % (100.0 * (1 - $on / $off), 100.0 * (1 - $od / $off)))"
