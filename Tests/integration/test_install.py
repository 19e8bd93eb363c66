"""`make install`: binary, ops script, config, units and logrotate snippet where they belong."""
import os
import subprocess

from evp import REPO


def make_install(**variables):
    args = ["make", "-s", "install"] + [f"{k}={v}" for k, v in variables.items()]
    r = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_install_with_destdir(tmp_path):
    stage = tmp_path / "stage"
    make_install(DESTDIR=stage, PREFIX="/usr")
    assert os.access(stage / "usr/bin/evprefork", os.X_OK)
    assert os.access(stage / "usr/bin/evpreforkctl", os.X_OK)
    assert (stage / "etc/evprefork/public/index.html").exists()
    conf = (stage / "etc/evprefork/server.conf").read_text()
    assert 'access_log = "/var/log/evprefork/access.log"' in conf
    assert 'error_log  = "/var/log/evprefork/error.log"' in conf
    unit = (stage / "lib/systemd/system/evprefork.service").read_text()
    assert "Type=notify" in unit and "KillSignal=SIGQUIT" in unit and "NotifyAccess=all" in unit
    assert "ExecStart=/usr/bin/evprefork -c /etc/evprefork/server.conf" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "@" not in unit.replace("$MAINPID", "")
    rotate = (stage / "etc/logrotate.d/evprefork").read_text()
    assert rotate.startswith("#") and "/var/log/evprefork/*.log {" in rotate
    assert "/usr/bin/evprefork -c /etc/evprefork/server.conf -s reopen" in rotate
    assert (stage / "usr/share/doc/evprefork/examples/proxy.conf").exists()


def test_installed_tree_runs_its_config_check(tmp_path):
    make_install(PREFIX=tmp_path / "usr", SYSCONFDIR=tmp_path / "etc", LOGDIR=tmp_path / "log")
    r = subprocess.run([tmp_path / "usr/bin/evprefork", "-t", "-c", tmp_path / "etc/evprefork/server.conf"],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, "configuration ok\n"), r.stderr
    # A second install keeps the operator's edited config.
    conf = tmp_path / "etc/evprefork/server.conf"
    conf.write_text(conf.read_text() + "\n# edited\n")
    make_install(PREFIX=tmp_path / "usr", SYSCONFDIR=tmp_path / "etc", LOGDIR=tmp_path / "log")
    assert conf.read_text().endswith("# edited\n")
