"""The command line: -t, --version, --help and usage errors, against the built binary."""
import pathlib

import pytest

from evp import REPO

SHIPPED = sorted([REPO / "conf" / "server.conf", *(REPO / "conf" / "examples").glob("*.conf")])


@pytest.mark.parametrize("conf", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_passes_t(cli, conf):
    r = cli("-t", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "configuration ok\n"
    assert r.stderr == ""


def test_long_options(cli):
    r = cli("--test", "--config", str(REPO / "conf" / "server.conf"))
    assert (r.returncode, r.stdout) == (0, "configuration ok\n")


def test_t_from_another_directory_resolves_paths_beside_the_config(cli, tmp_path):
    # root = "public" must mean conf/public, wherever evprefork is started.
    r = cli("-t", "-c", str(REPO / "conf" / "server.conf"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_typo_gets_the_exact_error_and_exit_2(cli, tmp_path):
    conf = tmp_path / "server.conf"
    conf.write_text("[server]\nlisten = [\"http://127.0.0.1:0\"]\nwokers = 4\n")
    r = cli("-t", "-c", "server.conf", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == 'server.conf:3:1: error: unknown key "wokers" in [server] (did you mean "workers"?)'
    assert lines[-1] == "evprefork: configuration file server.conf test failed"


def test_every_error_is_reported(cli, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text('[server]\nworkers = 0\nbacklog = "x"\n\n[[route]]\npath = "/"\ntype = "static"\nroot = "nope"\n')
    r = cli("-t", "-c", str(conf))
    assert r.returncode == 2
    errors = [l for l in r.stderr.splitlines() if ": error: " in l]
    assert [e.split(": error: ")[0] for e in errors] == [f"{conf}:2:11", f"{conf}:3:11", f"{conf}:8:8"]


def test_toml_syntax_error_has_position(cli, tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("[server]\nworkers = = 4\n")
    r = cli("-t", "-c", str(conf))
    assert r.returncode == 2
    assert r.stderr.startswith(f"{conf}:2:11: error: ")


def test_missing_config_file(cli, tmp_path):
    r = cli("-t", "-c", str(tmp_path / "none.conf"))
    assert r.returncode == 2
    assert r.stderr.startswith(f"{tmp_path}/none.conf: error: cannot open: No such file or directory")


def test_version(cli):
    r = cli("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("evprefork ")
    assert r.stdout.strip().split(" ")[1][0].isdigit()


def test_help(cli):
    r = cli("--help")
    assert r.returncode == 0
    for flag in ("-c", "--config", "-t", "--test", "-d", "--daemon", "-s", "--signal", "--version"):
        assert flag in r.stdout
    assert "reload" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (["--bogus"], "--bogus"),
    (["-x"], "-x"),
    (["-c"], "-c"),
    (["-s", "explode"], "explode"),
    (["-t", "-s", "stop"], "-t and -s"),
    (["extra-argument"], "extra-argument"),
])
def test_usage_errors_exit_2_with_a_hint(cli, args, needle):
    r = cli(*args)
    assert r.returncode == 2
    assert needle in r.stderr
    assert r.stderr.rstrip().endswith("Try 'evprefork --help' for more information.")
    assert r.stdout == ""
