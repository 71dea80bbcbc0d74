#!/bin/sh
# Runs every fuzz target for SECONDS seconds on a scratch copy of its seed corpus
# (new inputs never land in the repository). Usage: run.sh BUILD_DIR SECONDS
set -eu
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
# known leaks of libraries we cannot fix here (see the file)
LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
trap 'rm -rf "$scratch"' EXIT
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	mkdir -p "$scratch/$name"
	if [ -d "$here/corpus/$name" ]; then
		cp -r "$here/corpus/$name/." "$scratch/$name/"
	fi
	dict=""
	case "$name" in
	cmd|addr|session) dict="-dict=$here/smtp.dict" ;;
	compose) dict="-dict=$here/compose.dict" ;;
	esac
	# GMime and GLib have no frame pointers: only a full unwind shows lsan.supp the GMime frame
	asan="${ASAN_OPTIONS:-}"
	case "$name" in eml|compose) asan="fast_unwind_on_malloc=0${asan:+:$asan}" ;; esac
	echo "fuzz: $name for ${seconds}s"
	# shellcheck disable=SC2086
	if ! ASAN_OPTIONS="$asan" "$bin" -max_total_time="$seconds" -print_final_stats=0 $dict \
		-artifact_prefix="$scratch/crash-$name-" "$scratch/$name" >"$scratch/$name.log" 2>&1; then
		echo "fuzz: $name FAILED" >&2
		tail -n 40 "$scratch/$name.log" >&2
		status=1
	fi
done
exit $status
