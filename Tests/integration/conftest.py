"""Shared fixtures: where the built binaries are, and how to run them."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
EVPREFORK = os.environ.get("EVPREFORK_BIN", str(REPO / ".build" / "release" / "evprefork"))


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
