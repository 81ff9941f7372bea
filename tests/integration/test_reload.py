"""SIGHUP: the config is read again; a broken file changes nothing."""
import os
import re
import signal
import tempfile

import gateway as G
from conftest import TARGET_USER, WORKER_ROLES


def _pids(daemon):
    roles = daemon.roles()
    return {r: roles.get(r) for r in ("parent",) + WORKER_ROLES}


def test_hup_with_broken_config_keeps_running(gateway, online, dashboard):
    before = _pids(online)
    n_auth = gateway.auth_ok_count
    good = open(online.conf).read()
    with open(online.conf, "a") as f:
        f.write("NoSuchKeyword yes\n")
    os.kill(online.pid, signal.SIGHUP)
    gateway.wait_for(
        lambda: "keeping the running config" in online.log_text(), 10,
        "the reload error to be logged")
    # One mention of the file, then the line and the reason.
    assert re.search(r"portacoded\.conf: line \d+: .*NoSuchKeyword",
                     online.log_text()), online.log_text()[-2000:]
    ev = dashboard.request({"cmd": "system_info"}, event="system_info")
    assert ev["info"]["user_context"]["username"] == TARGET_USER
    assert _pids(online) == before
    assert gateway.auth_ok_count == n_auth
    with open(online.conf, "w") as f:
        f.write(good)


def test_hup_moves_to_a_new_gateway(gateway, online, device_key):
    before = _pids(online)
    tmp = tempfile.mkdtemp(prefix="pcgw-hup-")
    other = G.Gateway(tls=True, tmpdir=tmp).start()
    try:
        other.register_key(device_key.pub)
        G.write_config(online.conf, other.url, device_key.keyfile,
                       other.ca_path, TARGET_USER, "DEBUG")
        os.kill(online.pid, signal.SIGHUP)
        other.wait_device(20)
        after = _pids(online)
        # Only net restarts for a new gateway; terminals and files stay.
        assert after["net"] != before["net"]
        for r in ("parent", "term", "fs", "git"):
            assert after[r] == before[r], "%s restarted" % r
        s = other.add_session("dashboard")
        s.request({"cmd": "system_info"}, event="system_info", timeout=15)
    finally:
        other.stop()
