#!/bin/sh
# meson install: puts the example configuration at the configuration's path (build option
# config_path), under DESTDIR, unless a file is there already: an installation never
# overwrites the configuration it runs with.
set -eu
src=$1
dst="${DESTDIR:-}$2"
if [ -e "$dst" ]; then
	echo "install: $dst exists, left as it is"
	exit 0
fi
mkdir -p "$(dirname "$dst")"
# sterna sendmail, run by any user, reads it: no secrets in it (docs/operations.md)
install -m 0644 "$src" "$dst"
echo "install: $dst (from $src)"
