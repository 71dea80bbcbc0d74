#!/bin/sh
# Install what the build, the tests and the benchmarks need, from Debian 12 packages;
# `deps.sh run` only what the build and `make run` need.
# Run as root it installs what is missing; otherwise it only says what is missing.
# Postfix's smtp-source and smtp-sink are unpacked from the postfix package into
# .cache/postfix rather than installed, so no second MTA is set up on the machine.
set -eu

PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
libevent-dev libssl-dev libc-ares-dev libcrypt-dev libgmime-3.0-dev libcmocka-dev
python3 python3-pytest swaks msmtp s-nail openssl nmap unbound testssl.sh"
# pytest-xdist: the end-to-end tests run three at a time (each on its own ports, folders and
# daemon); they mostly wait on sockets and timers, so the two passes of make test take half as long
PKGS="$PKGS python3-pytest-xdist"
# the power-loss tests' FUSE file system (tests/e2e/powerfs.py); as root libfuse mounts with
# mount(2) itself, so no fusermount (fuse, fuse3) is needed
PKGS="$PKGS python3-llfuse"
# Dovecot: a real LMTP server and IMAP store for the delivery tests (tests/e2e/dovecot.py)
PKGS="$PKGS dovecot-core dovecot-lmtpd dovecot-imapd"
# Jansson: the control socket's JSON lines (src/control)
PKGS="$PKGS libjansson-dev"
# seccomp filter of the daemon (src/main/sandbox.c)
PKGS="$PKGS libseccomp-dev"
# a real Prometheus text-format parser for the tests of GET /metrics (tests/e2e/test_metrics.py)
PKGS="$PKGS python3-prometheus-client"
# curl: a real HTTP client for the HTTP API's tests (tests/e2e/test_http_api.py); evhttp itself
# is in libevent-dev already
PKGS="$PKGS curl"
# DKIM: two verifiers nobody here wrote, for the signatures of src/dkim (tests/e2e/test_dkim.py):
# dkimpy, and OpenDKIM's opendkim-testmsg (opendkim is a service: apt does not start it here)
PKGS="$PKGS python3-dkim opendkim opendkim-tools"
# the filter side of the milter protocol for tests/e2e/test_milter.py: pymilter (on Sendmail's
# libmilter) and rspamd's milter proxy (rspamd is a service: apt does not start it here)
PKGS="$PKGS python3-milter rspamd"
# tmux: a real terminal for sterna top's tests (tests/e2e/test_top.py: send-keys, capture-pane)
PKGS="$PKGS tmux"
# the dashboard's tests in a real browser (tests/e2e/test_dashboard_browser.py): headless
# Chromium, its WebDriver and Selenium's Python client, all from Debian
PKGS="$PKGS chromium chromium-driver python3-selenium"

# the manual pages read as the tests read them (man -l, groff's warnings); the systemd unit,
# sysusers.d and tmpfiles.d files checked by systemd's own tools (systemd-analyze verify,
# systemd-sysusers, systemd-tmpfiles), and the unit's ExecReload (kill, from procps)
PKGS="$PKGS man-db groff-base systemd procps"

# make run: the build's libraries and tools (python3 makes sterna.conf(5), cmocka's unit
# tests are part of the build), and openssl for the self-signed certificate
RUN_PKGS="meson ninja-build pkg-config gcc python3 openssl libevent-dev libssl-dev
libc-ares-dev libcrypt-dev libgmime-3.0-dev libcmocka-dev libjansson-dev libseccomp-dev"
mode=${1:-all}
if [ "$mode" = run ]; then
	PKGS=$RUN_PKGS
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# unbound and dovecot are services: keep apt from starting them (the tests run their
	# own instances, with private configurations, on loopback)
	norc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		norc=1
	fi
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing || { [ -n "$norc" ] && rm -f /usr/sbin/policy-rc.d; exit 1; }
	[ -n "$norc" ] && rm -f /usr/sbin/policy-rc.d
fi

[ "$mode" = run ] && exit 0

cache="$(pwd)/.cache/postfix"
if [ ! -x "$cache/usr/sbin/smtp-sink" ]; then
	if [ "$(id -u)" -ne 0 ] && ! command -v apt-get >/dev/null; then
		echo "deps: cannot fetch postfix for smtp-sink" >&2
		exit 1
	fi
	mkdir -p "$cache"
	tmp=$(mktemp -d)
	# apt's sandbox user must be able to write where the .deb lands
	chmod 777 "$tmp"
	(cd "$tmp" && apt-get download -q postfix)
	dpkg -x "$tmp"/postfix_*.deb "$cache"
	rm -rf "$tmp"
fi
exit 0
