#!/bin/sh
# make bench: the HTTP API beside SMTP, in one run, on one daemon that relays to smtp-sink.
#  1. 10,000 messages of 4 KiB over 20 sessions from smtp-source: the SMTP rate.
#  2. 10,000 messages of about 4 KiB as POST /v1/messages from curl, 20 requests at a time
#     over kept-alive connections: the API rate (each 202 comes after the message is durable).
#  3. A 1,000-recipient batch: the time to its 202, and to the last message at smtp-sink.
# Usage: api.sh /path/to/sterna [messages]
set -eu
bin=$1
msgs=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
as_user=""; [ "$(id -u)" -eq 0 ] && as_user="-u nobody"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line='user = "nobody";' && chown nobody "$work"

sink_port=$(free_port)
# shellcheck disable=SC2086
"$sink_bin" $as_user -c "127.0.0.1:$sink_port" 4096 >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$sink_port"

# the batch's own sink stops after its last message: the batch's end-to-end time
batch_port=$(free_port)
# shellcheck disable=SC2086
"$sink_bin" $as_user -M 1000 -c "127.0.0.1:$batch_port" 1024 >/dev/null 2>&1 &
batch_sink=$!
pids="$pids $batch_sink"
wait_port "$batch_port"

port=$(free_port)
api_port=$(free_port)
: > "$work/keys"
chmod 644 "$work/keys"
key=$("$bin" apikey new -f "$work/keys" --scopes send --rate none --name bench)
cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line max_sessions = 100000; max_sessions_per_client = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$work/mail"; }
relay { trusted_networks = ["127.0.0.0/8"]; }
dns { resolver = "127.0.0.1:1"; }
outbound { routes = ["sink.example [127.0.0.1]:$sink_port", "batch.example [127.0.0.1]:$batch_port"]; }
queue { max_connections_per_destination = 20; }
http { listen "api" { address = "127.0.0.1:$api_port"; } keys_file = "$work/keys"; max_requests_per_connection = 1000000; }
CONF
"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
pids="$pids $!"
wait_port "$port"

# 1. SMTP
t0=$(now)
"$source_bin" -s 20 -m "$msgs" -l 4096 -f bench@example.org -t bench@sink.example "127.0.0.1:$port"
t1=$(now)
smtp_rate=$(rate "$t0" "$t1")

# 2. the API: one JSON body of about 4 KiB, sent msgs times, 20 at a time
/usr/bin/python3 - "$work/msg.json" <<'PY'
import json, sys
text = ("x" * 75 + "\n") * 52
json.dump({"from": "bench@example.org", "to": ["bench@sink.example"], "subject": "bench",
           "text": text}, open(sys.argv[1], "w"))
PY
{
	echo "header = \"Authorization: Bearer $key\""
	echo 'header = "Content-Type: application/json"'
	echo "data-binary = \"@$work/msg.json\""
	echo 'output = "/dev/null"'
	echo 'write-out = "%{http_code}\n"'
	i=0
	while [ "$i" -lt "$msgs" ]; do
		echo "url = \"http://127.0.0.1:$api_port/v1/messages\""
		i=$((i + 1))
	done
} > "$work/curl.cfg"
t0=$(now)
curl -s --no-progress-meter --parallel --parallel-max 20 -K "$work/curl.cfg" > "$work/codes"
t1=$(now)
api_rate=$(rate "$t0" "$t1")
accepted=$(grep -c '^202$' "$work/codes" || true)

# 3. a batch of 1,000 to the sink of its own
/usr/bin/python3 - "$work/batch.json" <<'PY'
import json, sys
json.dump({"from": "news@example.org", "subject": "Hello {{name}}",
           "text": "Dear {{name}},\n" + ("news " * 600) + "\n",
           "recipients": [{"to": "r%d@batch.example" % i, "substitutions": {"name": "N%d" % i}}
                          for i in range(1000)]}, open(sys.argv[1], "w"))
PY
t0=$(now)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
    -H "Content-Type: application/json" --data-binary "@$work/batch.json" \
    "http://127.0.0.1:$api_port/v1/messages/batch")
t_acc=$(now)
wait "$batch_sink" 2>/dev/null || true
t1=$(now)

echo "HTTP API: $msgs messages of about 4 KiB, relayed to smtp-sink, one daemon"
echo "  SMTP (smtp-source, 20 sessions):                    $smtp_rate msg/s"
echo "  POST /v1/messages (curl, 20 at a time, kept alive): $api_rate msg/s ($accepted of $msgs answered 202)"
/usr/bin/python3 -c "print('  ratio API / SMTP: %.2f' % ($api_rate / $smtp_rate))"
/usr/bin/python3 -c "print('  batch of 1,000 (HTTP %s): accepted in %.2f s, all at smtp-sink after %.2f s' % ('$code', $t_acc - $t0, $t1 - $t0))"
