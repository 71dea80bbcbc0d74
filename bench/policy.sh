#!/bin/sh
# make bench: what policy costs. 10,000 messages of 4 KiB over 20 sessions from smtp-source
# into sterna delivering to a Maildir: with no policy at all, and with five DNSBLs (answered by
# a local unbound) and every allow and block list configured (inline and in files of a
# thousand entries each), alternating, three runs each. Reported as both medians and their
# ratio. Every connection is a new client session, so each one goes through the DNSBL check
# (its answers cached for their TTL after the first) and the client lists.
# Usage: policy.sh /path/to/sterna [messages] [sessions]
set -eu
bin=$1
msgs=${2:-10000}
sess=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";' && chown nobody "$work"

# --- unbound: five blocklist zones; each lists a few addresses, none of them the client's ---
dns_port=$(free_port SOCK_DGRAM)
{
	echo "server:"
	echo "  interface: 127.0.0.1@$dns_port"
	echo "  port: $dns_port"
	echo "  username: \"\""
	echo "  chroot: \"\""
	echo "  directory: \"$work\""
	echo "  pidfile: \"\""
	echo "  use-syslog: no"
	echo "  do-ip6: no"
	echo "  access-control: 127.0.0.0/8 allow"
	echo "  module-config: \"iterator\""
	for n in 1 2 3 4 5; do
		echo "  local-zone: \"bl$n.bench.\" static"
		echo "  local-data: \"bl$n.bench. 3600 SOA ns.bl$n.bench. h.bl$n.bench. 1 3600 600 86400 60\""
		for h in 2 3 4 5; do
			echo "  local-data: \"$h.0.0.127.bl$n.bench. 300 A 127.0.0.2\""
		done
	done
	echo "remote-control:"
	echo "  control-enable: no"
} > "$work/unbound.conf"
unbound -d -c "$work/unbound.conf" >"$work/unbound.log" 2>&1 &
pids="$pids $!"
sleep 0.5

# --- list files of a thousand entries each ---
/usr/bin/python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
def write(name, lines):
    with open("%s/%s" % (w, name), "w") as f:
        f.write("# %s for the benchmark\n" % name + "\n".join(lines) + "\n")
write("clients", ["10.%d.%d.0/24" % (i // 256, i % 256) for i in range(1000)])
write("names", [".spam%d.example" % i for i in range(1000)])
write("helo", ["bad%d.example" % i for i in range(1000)])
write("senders", ["spam%d.example" % i for i in range(1000)])
write("recipients", ["gone%d@example.test" % i for i in range(1000)])
PY
chmod 644 "$work"/clients "$work"/names "$work"/helo "$work"/senders "$work"/recipients

policy_section="policy {
	allow_clients = [\"192.0.2.1\"]; block_clients = [\"198.51.100.0/24\"]; block_clients_file = \"$work/clients\";
	allow_client_names = [\"good.example\"]; block_client_names_file = \"$work/names\";
	allow_helo = [\"good.example\"]; block_helo_file = \"$work/helo\";
	allow_senders = [\"boss@spam1.example\"]; block_senders_file = \"$work/senders\";
	allow_recipients = [\"postmaster@example.test\"]; block_recipients_file = \"$work/recipients\";
	dnsbl \"bl1\" { zone = \"bl1.bench\"; }
	dnsbl \"bl2\" { zone = \"bl2.bench\"; }
	dnsbl \"bl3\" { zone = \"bl3.bench\"; }
	dnsbl \"bl4\" { zone = \"bl4.bench\"; }
	dnsbl \"bl5\" { zone = \"bl5.bench\"; }
}"

# one run: $1 a name, $2 extra configuration
run() {
	port=$(free_port)
	mkdir -p "$work/$1"
	[ "$(id -u)" -eq 0 ] && chown nobody "$work/$1"
	cat > "$work/$1.conf" <<CONF
server { hostname = "mx.example.test"; $user_line max_sessions = 100000; max_sessions_per_client = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/$1/spool"; }
local { domains = ["example.test"]; users = ["postmaster", "alice"]; mailbox_root = "$work/$1/mail"; }
dns { resolver = "127.0.0.1:$dns_port"; }
$2
CONF
	"$bin" serve -c "$work/$1.conf" 2>"$work/$1.log" &
	spid=$!
	pids="$pids $spid"
	wait_port "$port"
	t0=$(now)
	"$source_bin" -s "$sess" -m "$msgs" -l 4096 -f bench@example.org -t alice@example.test \
		"127.0.0.1:$port"
	t1=$(now)
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	rate "$t0" "$t1"
}

# the two alternate, three times each (this machine is shared and noisy): medians
bares=""; fulls=""
for i in 1 2 3; do
	rm -rf "$work/bare" "$work/policy"
	bares="$bares $(run bare "")"
	fulls="$fulls $(run policy "$policy_section")"
done
median() { /usr/bin/python3 -c 'import sys; v=sorted(float(x) for x in sys.argv[1:]); print("%.0f" % v[len(v)//2])' "$@"; }
# shellcheck disable=SC2086
bare=$(median $bares)
# shellcheck disable=SC2086
full=$(median $fulls)
echo "policy: $msgs messages of 4 KiB over $sess sessions (smtp-source, loopback), medians of 3"
echo "  no policy:                                        $bare msg/s  (runs:$bares)"
echo "  5 DNSBLs and every list (5,000 entries in files): $full msg/s  (runs:$fulls)"
/usr/bin/python3 -c "print('  ratio with / without: %.2f' % ($full / $bare))"
