#!/bin/sh
# The event feed's cost near the end of a large log.
#  1. An event log of F full files and one nearly full (10,000 events a file, lines of about
#     450 bytes, some of 8 KiB: 4.5 MB a file) is written straight into a fresh spool, as the
#     daemon writes it; the daemon goes on after its last event at start.
#  2. GET /v1/events?after=CURSOR&limit=100 from one kept-alive connection, R times each, for a
#     cursor 50 events before the end (a client or a webhook that has nearly caught up), in the
#     middle of the last file, and at the start of the log; the median and the 90th percentile
#     of the time to the whole reply, and the bytes read from the disk per request (the
#     daemon's rchar in /proc: the page cache still counts), once the daemon's own read of the
#     log at start (the message states) is over.
# Usage: events_read.sh /path/to/sterna [full files] [requests]
set -eu
bin=$1
files=${2:-5}
reqs=${3:-300}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
user_line=""
if [ "$(id -u)" -eq 0 ]; then
	user_line='user = "nobody";'
	chown nobody "$work"
fi

mkdir -p "$work/spool/events"
last=$(/usr/bin/python3 - "$work/spool/events" "$files" <<'PY'
import json, os, sys
folder, full = sys.argv[1], int(sys.argv[2])
per_file = 10000
total = full * per_file + per_file - 7
cursor = 0
while cursor < total:
    first = cursor + 1
    with open(os.path.join(folder, "%016d.jsonl" % first), "w") as f:
        for _ in range(min(per_file, total - cursor)):
            cursor += 1
            text = "250 2.0.0 Ok: queued as %X" % cursor
            if cursor % 97 == 0:
                text = "550 5.7.1 " + "long reply " * 740
            e = {"cursor": str(cursor), "type": "delivered", "time": "2026-12-05T09:13:20.123Z",
                 "message_id": "6C7EAJ89TX%03d" % (cursor % 1000), "recipient":
                 "someone.%d@example.net" % cursor, "sender": "bench@example.org",
                 "reply": {"code": 250, "status": "2.0.0", "text": text},
                 "relay": "mx1.example.net[192.0.2.7]:25", "tags": ["newsletter", "spring"],
                 "metadata": {"customer": "42", "campaign": "c-%d" % (cursor % 50)}}
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
print(total)
PY
)
[ "$(id -u)" -eq 0 ] && chown -R nobody "$work/spool"

port=$(free_port)
api_port=$(free_port)
: > "$work/keys"
chmod 644 "$work/keys"
key=$("$bin" apikey new -f "$work/keys" --scopes read --rate none --name bench)
cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
local { domains = ["example.test"]; users = ["postmaster"]; mailbox_root = "$work/mail"; }
dns { resolver = "127.0.0.1:1"; }
http { listen "api" { address = "127.0.0.1:$api_port"; } keys_file = "$work/keys"; max_requests_per_connection = 1000000; }
CONF
"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
spid=$!
pids="$pids $spid"
wait_port "$api_port"

/usr/bin/python3 - "$api_port" "$key" "$last" "$reqs" "$spid" "$files" <<'PY'
import http.client, json, statistics, sys, time
port, key, last, reqs, pid, full = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                    int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
h = {"Authorization": "Bearer " + key}

def read_bytes():
    with open("/proc/%s/io" % pid) as f:
        return dict(line.split(": ") for line in f.read().splitlines())

def get(after):
    c.request("GET", "/v1/events?after=%d&limit=100" % after, headers=h)
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, body
    return json.loads(body)

# the daemon reads the log back at start for the message states (a thread of its own):
# measured once that is over, when its reads stop growing
prev, still = -1, 0
while still < 5:
    now = int(read_bytes()["rchar"])
    still = still + 1 if now == prev else 0
    prev = now
    time.sleep(0.1)

last_file_first = full * 10000 + 1
print("GET /v1/events?after=CURSOR&limit=100, a log of %d events in %d files, %d requests each"
      % (last, full + 1, reqs))
for name, after in (("50 before the end", last - 50),
                    ("middle of the last file", last_file_first + 5000),
                    ("start of the log", 0)):
    page = get(after)                     # once, so the page cache holds what it needs
    assert page["events"] and int(page["events"][0]["cursor"]) == after + 1, page["next"]
    io0 = read_bytes()
    times = []
    for _ in range(reqs):
        t0 = time.perf_counter()
        get(after)
        times.append(time.perf_counter() - t0)
    io1 = read_bytes()
    rchar = (int(io1["rchar"]) - int(io0["rchar"])) / reqs
    times.sort()
    print("  %-24s median %7.2f ms  p90 %7.2f ms  read() %9.0f bytes/request"
          % (name + ":", statistics.median(times) * 1e3, times[int(len(times) * 0.9)] * 1e3,
             rchar))
PY
