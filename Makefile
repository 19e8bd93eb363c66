# evprefork — `make run` starts the default config, `make test` runs every suite.
# Both install what they need on a fresh Debian bookworm machine with Swift.

SWIFT     ?= swift
PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
RELEASE   := .build/release
CONFIG    ?= conf/server.conf
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS  := libevent-dev pkg-config nginx-light curl

.PHONY: all build deps venv run test unit integration bench clean

all: build

# System packages: installed only when something is missing.
deps:
	@missing=""; \
	pkg-config --exists libevent_core libevent_extra 2>/dev/null || missing="$$missing libevent-dev pkg-config"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
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

clean:
	rm -rf .build $(VENV)
