# Thin wrapper over Meson + Ninja. The real build description is meson.build.
#   make          build build/sterna
#   make deps     install the Debian 12 packages the build and tests need (as root)
#   make run      install what building needs (as root), build, then run a server on
#                 127.0.0.1 with examples/sterna.conf, as an unprivileged user when root
#   make install  build, then install under PREFIX (/usr/local) and DESTDIR: the binary, the
#                 sendmail and mailq links, the manual pages, the systemd unit with its
#                 sysusers.d and tmpfiles.d files, the examples, and /etc/sterna/sterna.conf
#                 when there is none (docs/operations.md, "Install")
#   make test     deps, unit + end-to-end tests, a short fuzz run, then all again under ASan/UBSan
#   make test-crash  100 rounds of power cuts under load on a FUSE file system that keeps only
#                 what was flushed (3 run in make test too); POWER_ROUNDS=N for another count
#   make bench    throughput and memory benchmarks against Postfix's smtp-sink, the receive
#                 rate and CPU per message (per thread) with 1 and 2 receiving loops, relaying
#                 4 KiB and 100 KiB messages end to end, a listing of a 100,000-message
#                 queue, what a queue at rest costs in memory and at start, what policy
#                 (DNSBLs, lists) costs, the HTTP API beside SMTP
#                 (single messages and a 1,000-recipient batch), the
#                 flushes one message to 1,000 recipients at 100 destinations costs,
#                 the receive rate with GET /metrics scraped every second against none,
#                 the event feed's cost near the end of a large event log, and the
#                 receive rate with the web dashboard open against none
#   make fuzz     a longer fuzz run of every parser
#   make clean

BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_FUZZ ?= build-fuzz
PYTEST     ?= /usr/bin/python3 -m pytest
PREFIX     ?= /usr/local
DESTDIR    ?=
FUZZ_SECONDS ?= 300
# end-to-end tests at once (pytest-xdist); E2E_JOBS=0 runs them one after another
E2E_JOBS   ?= 3
POWER_ROUNDS ?= 100

.PHONY: all deps run install test test-unit test-e2e test-san test-crash fuzz fuzz-short bench clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized -Dwerror=true

$(BUILD_SAN)/build.ninja:
	meson setup $(BUILD_SAN) --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false

$(BUILD_FUZZ)/build.ninja:
	CC=clang meson setup $(BUILD_FUZZ) --buildtype=debugoptimized -Dwerror=true -Dfuzz=true

deps:
	sh scripts/deps.sh

run:
	sh scripts/deps.sh run
	$(MAKE) all
	sh scripts/run.sh $(BUILD)/sterna

# meson's install rules (meson.build, man/, dist/) do the work; the prefix is the build's
# own setting, changed here only when PREFIX asks for another
install: all
	@if [ "$$(meson introspect $(BUILD) --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')" != "$(PREFIX)" ]; then \
		meson configure $(BUILD) -Dprefix=$(PREFIX) && ninja -C $(BUILD); fi
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

test: deps all
	$(MAKE) test-unit test-e2e BUILD=$(BUILD)
	$(MAKE) fuzz-short
	$(MAKE) test-san

test-unit: all
	meson test -C $(BUILD) --print-errorlogs

test-e2e: all
	STERNA_BIN=$(abspath $(BUILD))/sterna $(PYTEST) -q -n $(E2E_JOBS) tests/e2e $(E2E_ARGS)

test-crash: deps all
	STERNA_BIN=$(abspath $(BUILD))/sterna STERNA_POWER_ROUNDS=$(POWER_ROUNDS) \
		$(PYTEST) -q -s tests/e2e/test_power_loss.py

# testssl.sh's scan (a minute or more of handshakes) runs in the plain pass only: the
# sanitizers see the TLS code through the other TLS tests
test-san: $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)
	$(MAKE) test-unit test-e2e BUILD=$(BUILD_SAN) E2E_ARGS='-m "not testssl"'

fuzz-short: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	sh tests/fuzz/run.sh $(BUILD_FUZZ) 8

fuzz: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	sh tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

bench: deps all
	sh bench/run.sh $(abspath $(BUILD))/sterna
	sh bench/loops.sh $(abspath $(BUILD))/sterna
	sh bench/relay.sh $(abspath $(BUILD))/sterna
	sh bench/queue_list.sh $(abspath $(BUILD))/sterna
	sh bench/queue_memory.sh $(abspath $(BUILD))/sterna
	sh bench/policy.sh $(abspath $(BUILD))/sterna
	sh bench/api.sh $(abspath $(BUILD))/sterna
	sh bench/recipients.sh $(abspath $(BUILD))/sterna
	sh bench/fanout.sh $(abspath $(BUILD))/sterna
	sh bench/metrics.sh $(abspath $(BUILD))/sterna
	sh bench/dkim.sh $(abspath $(BUILD))/sterna
	sh bench/milter.sh $(abspath $(BUILD))/sterna
	sh bench/events_read.sh $(abspath $(BUILD))/sterna
	sh bench/dashboard.sh $(abspath $(BUILD))/sterna

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ) var
