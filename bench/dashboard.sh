#!/bin/sh
# make bench: the receive rate with the web dashboard open against none, on one daemon.
# smtp-source sends 10,000 messages of 4 KiB over 20 sessions (flushed before each 250,
# delivered to a Maildir), three rounds each way, alternating; the median of each way.
# "Open" is the page's own polling, with a session cookie as the page has it: GET
# /v1/dashboard every 2 s, the queue's first page (GET /v1/queue?limit=50) every 3 s and the
# oldest deferred (GET /v1/queue?state=deferred&limit=5) every 5 s; with BENCH_BROWSER=1 it
# is the page itself in headless Chromium (whose drawing then shares the two cores).
# Usage: dashboard.sh /path/to/sterna [messages] [rounds]
set -eu
bin=$1
msgs=${2:-10000}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_init
as_user=""; [ "$(id -u)" -eq 0 ] && as_user="nobody"
user_line=""; [ -n "$as_user" ] && user_line='user = "nobody";' && chown nobody "$work"

port=$(free_port)
api_port=$(free_port)
: > "$work/keys"
chmod 644 "$work/keys"
key=$("$bin" apikey new -f "$work/keys" --scopes admin --rate none --name dashboard)
cat > "$work/sterna.conf" <<CONF
server { hostname = "mx.example.test"; $user_line max_sessions = 100000; max_sessions_per_client = 100000; log_level = "warning"; }
listen "mx" { address = "127.0.0.1:$port"; }
spool { dir = "$work/spool"; }
local { domains = ["example.test"]; users = ["postmaster", "alice"]; mailbox_root = "$work/mail"; }
http { listen "api" { address = "127.0.0.1:$api_port"; } keys_file = "$work/keys"; }
CONF
"$bin" serve -c "$work/sterna.conf" 2>"$work/sterna.log" &
spid=$!
pids="$pids $spid"
wait_port "$port"
wait_port "$api_port"

# the page's polling (or the page), until its stop file appears
cat > "$work/poll.py" <<'PY'
import http.client, os, sys, time, urllib.parse
port, key, stop, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
base = "http://127.0.0.1:%d" % port
if mode == "browser":
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        o.add_argument(a)
    d = webdriver.Chrome(options=o)
    d.get(base + "/dashboard/login")
    d.find_element(By.ID, "key").send_keys(key)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    open(stop + ".ready", "w").close()
    while not os.path.exists(stop):
        time.sleep(0.2)
    d.quit()
    sys.exit(0)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/dashboard/login", urllib.parse.urlencode({"key": key}),
          {"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse(); r.read()
cookie = r.getheader("Set-Cookie").split(";")[0]
polls = [["/v1/dashboard", 2.0, 0.0], ["/v1/queue?limit=50", 3.0, 0.0],
         ["/v1/queue?state=deferred&limit=5", 5.0, 0.0]]
open(stop + ".ready", "w").close()
n = 0
while not os.path.exists(stop):
    now = time.monotonic()
    for p in polls:
        if now >= p[2]:
            c.request("GET", p[0], headers={"Cookie": cookie})
            r = c.getresponse(); r.read()
            assert r.status == 200, (p[0], r.status)
            p[2] = now + p[1]
            n += 1
    time.sleep(0.05)
print(n)
PY

# the daemon's CPU time so far (user and system), in clock ticks: a figure that other load on
# the machine moves less than a rate does
cpu() { awk '{print $14 + $15}' "/proc/$spid/stat"; }

one_round() {	# one_round none|open: prints "RATE CPU_MS_PER_1000_MESSAGES"
	if [ "$1" = open ]; then
		rm -f "$work/stop" "$work/stop.ready"
		/usr/bin/python3 "$work/poll.py" "$api_port" "$key" "$work/stop" "$mode" > "$work/polls" &
		poller=$!
		while [ ! -e "$work/stop.ready" ]; do sleep 0.1; done
		sleep 2
	fi
	c0=$(cpu)
	t0=$(now)
	"$source_bin" -s 20 -m "$msgs" -l 4096 -f bench@example.org -t alice@example.test "127.0.0.1:$port"
	t1=$(now)
	c1=$(cpu)
	if [ "$1" = open ]; then
		touch "$work/stop"
		wait "$poller"
	fi
	# the deliveries go on after the last 250: a quiet daemon for the next round
	for _ in $(seq 1 600); do
		[ -z "$(ls -A "$work/spool/queue" 2>/dev/null)" ] && break
		sleep 0.5
	done
	rm -rf "$work/mail/alice/new"
	echo "$(rate "$t0" "$t1"):$(/usr/bin/python3 -c "import os, sys; print('%.0f' % ((int(sys.argv[2]) - int(sys.argv[1])) * 1000 / os.sysconf('SC_CLK_TCK') * 1000 / int(sys.argv[3])))" "$c0" "$c1" "$msgs")"
}

mode=poll
[ "${BENCH_BROWSER:-}" = 1 ] && mode=browser
none=""; open=""
i=0
while [ "$i" -lt "$rounds" ]; do
	none="$none $(one_round none)"
	open="$open $(one_round open)"
	i=$((i + 1))
done

echo "dashboard: $msgs messages of 4 KiB over 20 sessions (smtp-source), $rounds rounds each way"
/usr/bin/python3 - "$none" "$open" "$mode" <<'PY'
import statistics, sys
none = [tuple(float(v) for v in x.split(":")) for x in sys.argv[1].split()]
open_ = [tuple(float(v) for v in x.split(":")) for x in sys.argv[2].split()]
for name, runs in (("dashboard open (%s)" % sys.argv[3], open_), ("none", none)):
    print("  %-24s %s msg/s; daemon CPU %s ms per 1,000 messages"
          % (name + ":", " ".join("%.0f" % r for r, _ in runs), " ".join("%.0f" % c for _, c in runs)))
a, b = statistics.median(r for r, _ in none), statistics.median(r for r, _ in open_)
ca, cb = statistics.median(c for _, c in none), statistics.median(c for _, c in open_)
print("  median rate: none %.0f msg/s, open %.0f msg/s: open / none = %.3f (%+.1f %%; the bound is -5 %%)"
      % (a, b, b / a, 100 * (b / a - 1)))
print("  median CPU:  none %.0f ms, open %.0f ms per 1,000 messages: %+.1f %%" % (ca, cb, 100 * (cb / ca - 1)))
PY
