#!/bin/sh
# make run: start sterna on localhost with examples/sterna.conf, in the foreground.
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
"$bin" check -c "$conf"
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
exec "$bin" serve -c "$conf"
