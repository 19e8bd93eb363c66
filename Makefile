# evprefork — `make run` starts the default config, `make test` runs every suite.
# Both install what they need on a fresh Debian bookworm machine with Swift.

SWIFT     ?= swift
PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
RELEASE   := .build/release
CONFIG    ?= conf/server.conf
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS  := libevent-dev pkg-config nginx-light curl strace

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
LOGDIR     ?= /var/log/evprefork
DESTDIR    ?=

.PHONY: all build deps venv run test unit integration bench clean install

all: build

# System packages: installed only when something is missing.
deps:
	@missing=""; \
	pkg-config --exists libevent_core libevent_extra 2>/dev/null || missing="$$missing libevent-dev pkg-config"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v strace >/dev/null 2>&1 || missing="$$missing strace"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: tools/requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r tools/requirements-test.txt
	touch $@

venv: $(VENV)/.installed

build: deps
	$(SWIFT) build -c release

run: build
	$(RELEASE)/evprefork -c $(CONFIG)

unit: build
	$(SWIFT) test -c release

integration: build venv
	EVPREFORK_BIN=$(CURDIR)/$(RELEASE)/evprefork TOML_DECODE=$(CURDIR)/$(RELEASE)/toml-decode \
	  $(PY) -m pytest Tests/integration -q -p no:cacheprovider

test: unit integration

# Binary and ops script, config and example site (an existing config is kept),
# systemd units and the logrotate snippet, with the install paths filled in.
install: build
	install -D -m 755 $(RELEASE)/evprefork $(DESTDIR)$(PREFIX)/bin/evprefork
	install -D -m 755 tools/evpreforkctl $(DESTDIR)$(PREFIX)/bin/evpreforkctl
	install -d $(DESTDIR)$(SYSCONFDIR)/evprefork/public $(DESTDIR)$(LOGDIR)
	[ -e $(DESTDIR)$(SYSCONFDIR)/evprefork/server.conf ] || \
	  sed -e 's|^access_log = "stdout"|access_log = "$(LOGDIR)/access.log"|' \
	      -e 's|^error_log  = "stderr"|error_log  = "$(LOGDIR)/error.log"|' \
	      conf/server.conf > $(DESTDIR)$(SYSCONFDIR)/evprefork/server.conf
	install -m 644 conf/public/* $(DESTDIR)$(SYSCONFDIR)/evprefork/public/
	install -d $(DESTDIR)$(PREFIX)/share/doc/evprefork/examples
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/evprefork/
	install -m 644 conf/examples/*.conf $(DESTDIR)$(PREFIX)/share/doc/evprefork/examples/
	for f in conf/evprefork.service conf/evprefork.socket conf/logrotate.d/evprefork; do \
	  case $$f in *logrotate*) dest=$(DESTDIR)$(SYSCONFDIR)/logrotate.d/evprefork ;; \
	              *) dest=$(DESTDIR)/lib/systemd/system/$$(basename $$f) ;; esac; \
	  install -d $$(dirname $$dest); \
	  sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LOGDIR@|$(LOGDIR)|g' $$f > $$dest; \
	done

clean:
	rm -rf .build $(VENV)

# `make bench`: evprefork beside nginx, hypnotoad and a plain C evhttp server, on
# loopback (tools/bench/run.py). Prints the table and the goals of issue 8 and
# writes bench/results/latest.{md,json,png}. BENCH_QUICK=1: one short round
# (results in bench/results/tmp/). BENCH_ONLY=fixed,proxy,...: some parts only.
# BENCH_BUILD=.build-x: build in another scratch folder.
BENCH_BUILD ?= .build

$(VENV)/.bench-installed: tools/requirements-bench.txt
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r tools/requirements-bench.txt
	touch $@

bench: $(VENV)/.bench-installed
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v hypnotoad >/dev/null 2>&1 || missing="$$missing libmojolicious-perl"; \
	perl -MEV -e 1 2>/dev/null || missing="$$missing libev-perl"; \
	command -v gcc >/dev/null 2>&1 || missing="$$missing gcc"; \
	pkg-config --exists libevent_core libevent_extra 2>/dev/null || missing="$$missing libevent-dev pkg-config"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(SWIFT) build -c release --scratch-path $(BENCH_BUILD) --product evprefork
	gcc -O2 -Wall -Wextra -o $(BENCH_BUILD)/c-evhttp tools/bench/c-evhttp/server.c $$(pkg-config --cflags --libs libevent)
	gcc -O2 -Wall -Wextra -o $(BENCH_BUILD)/ws-bench tools/bench/ws-client/ws_bench.c
	gcc -O2 -Wall -Wextra -o $(BENCH_BUILD)/ws-ceiling tools/bench/ws-ceiling/ws_echo.c
	$(PY) tools/bench/run.py --evprefork $(BENCH_BUILD)/release/evprefork --c-evhttp $(BENCH_BUILD)/c-evhttp \
	  --ws-client $(BENCH_BUILD)/ws-bench --ws-ceiling $(BENCH_BUILD)/ws-ceiling
