"""Shared fixtures: where the built binaries are, and servers that are always stopped."""
import os
import subprocess

import pytest

from evp import EVPREFORK, REPO, Server  # noqa: F401  (REPO is used by test modules)


@pytest.fixture(scope="session")
def evprefork_bin():
    if not os.access(EVPREFORK, os.X_OK):
        pytest.fail(f"{EVPREFORK} is not built; run `make test`")
    return EVPREFORK


@pytest.fixture
def cli(evprefork_bin):
    """Runs evprefork with arguments; returns the CompletedProcess."""
    def run(*args, cwd=None, timeout=30):
        return subprocess.run([evprefork_bin, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return run


@pytest.fixture
def server(tmp_path, evprefork_bin):
    """A factory: server(config_text) starts evprefork; every one is stopped by pid afterwards."""
    started = []

    def make(config, **kw):
        s = Server(tmp_path, config, **kw)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()
