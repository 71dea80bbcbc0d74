#!/bin/sh
# selfsigned.sh DIR: a self-signed certificate for localhost in DIR/cert.pem and DIR/key.pem,
# made with the openssl command, unless DIR/cert.pem exists already. For `make run` and tests:
# a client must be told to trust it (msmtp: tls_trust_file DIR/cert.pem).
set -eu
dir=$1
[ -f "$dir/cert.pem" ] && exit 0
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
	-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-keyout "$dir/key.pem.new" -out "$dir/cert.pem.new" 2>/dev/null
# the certificate is public; the key stays readable by its owner only
chmod 644 "$dir/cert.pem.new"
mv "$dir/key.pem.new" "$dir/key.pem"
mv "$dir/cert.pem.new" "$dir/cert.pem"
echo "selfsigned: made $dir/cert.pem (localhost, 365 days)"
