#!/bin/sh
# Delivery to 1,000 domains at once (MX records from unbound on loopback, 100 smtp-sinks on
# 127.0.2.x), and what one dead destination costs the others: see bench/fanout.py.
# Usage: fanout.sh /path/to/sterna [messages [rounds]]   (100,000 and 3 by default)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pf="$here/../.cache/postfix"
export LD_LIBRARY_PATH="$pf/usr/lib/postfix"
ulimit -n 65536 2>/dev/null || true
exec /usr/bin/python3 "$here/fanout.py" "$1" "$pf/usr/sbin/smtp-sink" "$pf/usr/sbin/smtp-source" "${2:-100000}" "${3:-3}"
