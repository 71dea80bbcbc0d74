#!/bin/sh
# make run: start sterna on localhost with examples/sterna.conf, in the foreground.
# Never as root: its ports are above 1024, so it needs no privilege at all. Run by root (a
# fresh machine, sudo), it runs as the owner of this checkout, or as the system user sterna
# (made here when missing, as the installed sysusers.d file would) when root owns it.
set -eu
bin=$1
conf=examples/sterna.conf
# examples/sterna.conf names ./var/tls/cert.pem and key.pem: a self-signed pair will do here
sh scripts/selfsigned.sh var/tls
# the HTTP API's keys: none yet (sterna apikey new adds them while it runs)
if [ ! -e var/api_keys ]; then
	: > var/api_keys
	chmod 0640 var/api_keys
fi
as=""
if [ "$(id -u)" -eq 0 ]; then
	user=$(stat -c %U .)
	if [ "$user" = root ]; then
		user=sterna
		if ! id -u "$user" >/dev/null 2>&1; then
			echo "run: making the system user $user"
			useradd --system --user-group --home-dir /nonexistent --no-create-home \
			    --shell /usr/sbin/nologin "$user"
		fi
	fi
	# what it writes (the queue, the Maildirs, the certificate and the API keys) is its own
	chown -R "$user:$(id -gn "$user")" var
	as="setpriv --reuid=$user --regid=$(id -g "$user") --init-groups --inh-caps=-all"
	if ! $as test -r "$conf" -a -w var -a -x "$bin"; then
		echo "run: the user $user cannot reach $(pwd) (a folder above it is closed to it):" \
		    "put the checkout where other users may read it, or run make run as its owner" >&2
		exit 1
	fi
	echo "run: sterna runs as $user, not as root"
fi
$as "$bin" check -c "$conf"
cat <<MSG
sterna is starting on 127.0.0.1:2525 (examples/sterna.conf), with submission on 127.0.0.1:2587
(STARTTLS) and 127.0.0.1:2465 (implicit TLS). Send a first message with:

  swaks --server 127.0.0.1:2525 --from you@example.org --to alice@example.test

or with Python:

  python3 -c "import smtplib; smtplib.SMTP('127.0.0.1', 2525).sendmail('you@example.org', ['alice@example.test'], 'Subject: hi\r\n\r\nhello\r\n')"

or over TLS, trusting the self-signed ./var/tls/cert.pem:

  openssl s_client -starttls smtp -connect 127.0.0.1:2587 -CAfile var/tls/cert.pem
  openssl s_client -connect 127.0.0.1:2465 -CAfile var/tls/cert.pem

It lands in ./var/mail/alice/new/ (a Maildir); the queue is ./var/spool, and

  $bin queue -c $conf list

shows what waits in it. The HTTP API is on 127.0.0.1:8025 (docs/api.md); make a key with

  $bin apikey new -c $conf --scopes admin --name me
  curl -s -H "Authorization: Bearer KEY" http://127.0.0.1:8025/v1/queue

Ctrl-C stops it; kill -HUP reads renewed certificates and the API keys.
MSG
exec $as "$bin" serve -c "$conf"
