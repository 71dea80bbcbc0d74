#!/bin/sh
# make run: start sterna on localhost with examples/sterna.conf, in the foreground.
set -eu
bin=$1
conf=examples/sterna.conf
"$bin" check -c "$conf"
cat <<MSG
sterna is starting on 127.0.0.1:2525 (examples/sterna.conf). Send a first message with:

  swaks --server 127.0.0.1:2525 --from you@example.org --to alice@example.test

or with Python:

  python3 -c "import smtplib; smtplib.SMTP('127.0.0.1', 2525).sendmail('you@example.org', ['alice@example.test'], 'Subject: hi\r\n\r\nhello\r\n')"

It lands in ./var/mail/alice/new/ (a Maildir); the queue is ./var/spool. Ctrl-C stops it.
MSG
exec "$bin" serve -c "$conf"
