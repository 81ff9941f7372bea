"""
Foundation: authentication, the gateway link's liveness, system_info, bad
input, privilege separation and supervision, all observed from outside
(the loopback gateway and /proc).
"""

import base64
import os
import pwd
import re
import signal
import stat
import subprocess
import time

import pytest

import gateway as G
from cryptography.hazmat.primitives.asymmetric import rsa

WORKER_ROLES = ("net", "term", "fs", "git")
AUTH_TIMEOUT = 20.0
CLOCK_ID = re.compile(r"^clock_sync:[A-Za-z0-9_-]{8}$")


def system_info(session, timeout=10.0):
    return session.request({"cmd": "system_info"}, timeout,
                           event="system_info")


def worker_pids(daemon, timeout=15.0):
    """parent + every worker role -> pid, once they are all up."""
    r = daemon.wait_roles(WORKER_ROLES, timeout)
    return {k: v for k, v in r.items() if k in ("parent",) + WORKER_ROLES}


def wait_log(daemon, text, timeout=5.0):
    """Wait until the daemon's log contains text."""
    deadline = time.monotonic() + timeout
    while text not in daemon.log_text():
        assert time.monotonic() < deadline, \
            "%r not in the daemon's log after %.1fs" % (text, timeout)
        time.sleep(0.1)


def status_ids(pid, field):
    """Uid/Gid line of /proc/PID/status as four ints (real, eff, saved, fs)."""
    st = G.proc_status(pid)
    assert st is not None, "pid %d is gone" % pid
    return [int(x) for x in st[field].split()]


# ---------------------------------------------------------------------------
# 1. authentication and what follows it

def test_auth_ok(gateway, daemon, device_key):
    conn = gateway.wait_device(AUTH_TIMEOUT)
    assert gateway.auth_attempts == 1, gateway.auth_log
    assert gateway.auth_ok_count == 1
    # first frame: standard base64 of the DER SubjectPublicKeyInfo, one line
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", conn.key_text), \
        conn.key_text[:100]
    assert base64.b64decode(conn.key_text) == G.spki_der(device_key.pub)

    f = gateway.wait_frame("request_client_sessions", 5)
    first = gateway.frames[:3]
    assert f in first, "request_client_sessions is not among the first " \
        "frames after auth: %s" % [x["data"] for x in first]
    assert not f["binary"]
    assert f["json"]["channel"] == 0
    p = f["json"]["payload"]
    assert p["event"] == "request_client_sessions"
    assert "client_sessions" not in p and "reply_channel" not in p, p

    # clock sync starts right away, one request a second
    gateway.wait_for(lambda: len(gateway.frames_matching(
        "clock_sync_request")) >= 2, 5, "two clock_sync_requests")
    reqs = gateway.frames_matching("clock_sync_request")
    for r in reqs:
        assert r["json"]["channel"] == 0
        rid = r["json"]["payload"].get("request_id")
        assert isinstance(rid, str) and CLOCK_ID.match(rid), rid
    assert len({r["json"]["payload"]["request_id"] for r in reqs}) \
        == len(reqs), "clock sync request ids repeat"
    assert daemon.running()
    assert gateway.auth_ok_count == 1 and gateway.online


def test_clock_sync_five_requests(gateway, online):
    gateway.wait_for(lambda: len(gateway.frames_matching(
        "clock_sync_request")) >= 5, 10, "five clock_sync_requests")
    time.sleep(2.0)
    reqs = gateway.frames_matching("clock_sync_request")
    assert len(reqs) == 5, "expected exactly 5 clock sync requests per " \
        "connection, got %d" % len(reqs)
    gaps = [b["t"] - a["t"] for a, b in zip(reqs, reqs[1:])]
    assert all(0.5 <= g <= 3.0 for g in gaps), gaps
    assert gateway.auth_ok_count == 1


@pytest.mark.gateway(tls=False)
def test_auth_plain_ws(gateway, daemon):
    """ws:// is accepted for a loopback gateway."""
    assert gateway.url.startswith("ws://localhost:")
    gateway.wait_device(AUTH_TIMEOUT)
    s = gateway.add_session("dashboard")
    system_info(s)


# ---------------------------------------------------------------------------
# 2. rejected authentication: keep running, retry slowly

def _watch_rejections(gateway, daemon, window):
    # An attempt is counted on its first frame but logged with its time
    # only once judged: wait for the log.
    gateway.wait_for(lambda: len(gateway.auth_attempt_times) >= 1,
                     AUTH_TIMEOUT, "a first judged auth attempt")
    start = gateway.auth_attempt_times[0]
    pids = worker_pids(daemon)
    time.sleep(max(0.0, start + window - time.monotonic()))
    n = len([t for t in gateway.auth_attempt_times if t - start <= window])
    assert daemon.running(), "portacoded exited after an auth rejection"
    assert gateway.auth_ok_count == 0
    after = daemon.roles()
    for role in ("parent", "term", "fs", "git"):
        assert after.get(role) == pids[role], \
            "%s restarted after auth rejections: %s -> %s" % (role, pids,
                                                            after)
    return n


@pytest.mark.slow
def test_auth_rejected_gateway_says_no(gateway, launch):
    gateway.set_auth_mode(G.AUTH_REJECT)
    daemon = launch()
    n = _watch_rejections(gateway, daemon, 12.0)
    assert n >= 2, "no retry within 12 s of an auth rejection"
    assert n <= 6, "%d auth attempts in 12 s: a tight retry loop" % n
    wait_log(daemon, G.REJECT_NOT_AUTHORIZED["error"])


@pytest.mark.slow
def test_auth_rejected_bad_signature(gateway, launch):
    gateway.set_auth_mode(G.AUTH_BAD_SIGNATURE)
    daemon = launch()
    n = _watch_rejections(gateway, daemon, 6.0)
    assert 1 <= n <= 4, "%d attempts in 6 s" % n
    gateway.wait_for(lambda: gateway.auth_attempts >= 2, 15,
                     "a retry after 'invalid signature'")
    assert daemon.running()
    wait_log(daemon, G.REJECT_BAD_SIGNATURE["error"])


@pytest.mark.slow
def test_auth_rejected_unknown_key_then_registered(gateway, launch,
                                                   device_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    gateway.unregister_keys()
    gateway.register_key(other.public_key())
    daemon = launch()
    gateway.wait_for(lambda: gateway.auth_attempts >= 1, AUTH_TIMEOUT,
                     "a first auth attempt")
    wait_log(daemon, G.REJECT_UNKNOWN["error"])
    assert gateway.auth_ok_count == 0
    assert daemon.running()
    # once the key is known the daemon gets in on its own retry
    gateway.register_key(device_key.pub)
    gateway.wait_device(25)
    assert gateway.auth_attempts >= 2
    s = gateway.add_session("dashboard")
    system_info(s)


# ---------------------------------------------------------------------------
# 3, 4. link liveness

def test_gateway_restart_reconnects(gateway, dashboard):
    system_info(dashboard)
    nframes = len(gateway.frames)
    gateway.restart()
    t0 = time.monotonic()
    gateway.wait_auth(2, 5.0)
    took = time.monotonic() - t0
    assert took <= 5.0, "re-authenticated after %.1fs" % took
    gateway.wait_frame("request_client_sessions", 5, since=nframes)
    system_info(dashboard)
    dashboard.wait_event({"event": "device_status",
                          "device": {"online": False}}, 1)
    dashboard.wait_event({"event": "device_status",
                          "device": {"online": True}}, 1)


def test_device_answers_ping(gateway, online):
    rtt = gateway.ping(5.0, b"portacoded?")
    assert rtt < 5.0


@pytest.mark.slow
def test_unanswered_pings_force_reconnect(gateway, dashboard):
    system_info(dashboard)
    t0 = time.monotonic()
    gateway.stop_pongs()
    gateway.wait_auth(2, 45.0)
    took = time.monotonic() - t0
    assert took >= 5.0, "reconnected after %.1fs, before any ping could " \
        "have timed out" % took
    system_info(dashboard)


# ---------------------------------------------------------------------------
# 5, 6. system_info and unknown commands

def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def test_system_info_fields(gateway, dashboard, portacoded_bin):
    ev = dashboard.request({"cmd": "system_info", "request_id": "si-42"},
                           10, event="system_info")
    assert ev["request_id"] == "si-42"
    assert ev["device_id"] == G.DEFAULT_DEVICE_ID
    assert "client_sessions" not in ev
    info = ev["info"]
    pw = pwd.getpwnam(G.TARGET_USER)
    missing = {"cpu_percent", "memory", "disk", "os_info", "user_context",
               "playwright", "proxmox", "portacode_version"} - set(info)
    assert not missing, "system_info lacks %s" % sorted(missing)

    assert _number(info["cpu_percent"]) and 0 <= info["cpu_percent"] <= 100

    mem = info["memory"]
    for k in ("total", "available", "used", "free"):
        assert _int(mem[k]) and mem[k] >= 0, (k, mem)
    assert mem["total"] > 0 and mem["available"] <= mem["total"]
    assert _number(mem["percent"]) and 0 <= mem["percent"] <= 100

    disk = info["disk"]
    for k in ("total", "used", "free"):
        assert _int(disk[k]) and disk[k] >= 0, (k, disk)
    assert disk["total"] > 0
    assert _number(disk["percent"]) and 0 <= disk["percent"] <= 100

    osi = info["os_info"]
    assert osi["os_type"] == "Linux"
    assert isinstance(osi["os_version"], str) and osi["os_version"]
    assert osi["architecture"] == os.uname().machine
    assert isinstance(osi["default_shell"], str) and \
        osi["default_shell"].startswith("/")
    assert osi["default_cwd"] == pw.pw_dir

    uc = info["user_context"]
    assert uc["username"] == G.TARGET_USER
    assert uc["uid"] == pw.pw_uid and uc["euid"] == pw.pw_uid
    assert uc["is_root"] is False
    assert uc["home"] == pw.pw_dir
    assert isinstance(uc["has_sudo"], bool)
    assert uc["sudo_user"] is None or isinstance(uc["sudo_user"], str)
    assert isinstance(uc["is_sudo_session"], bool)
    assert isinstance(uc["username_source"], str) and uc["username_source"]

    assert info["playwright"]["installed"] is False

    px = info["proxmox"]
    assert isinstance(px["is_proxmox_node"], bool)
    assert px["version"] is None or isinstance(px["version"], str)
    if not os.path.exists("/etc/proxmox-release") and \
            not os.path.exists("/etc/pve"):
        assert px["is_proxmox_node"] is False

    # reference 8.1: portacode_version, here our package version
    ver = info["portacode_version"]
    assert isinstance(ver, str) and ver
    out = subprocess.run([portacoded_bin, "-V"], capture_output=True,
                         text=True, timeout=10)
    assert ver in out.stdout + out.stderr, \
        "portacode_version %r not in -V output %r" % (ver, out.stdout)

    # on the wire the device targeted our session and named a reply channel
    raw = [f for f in gateway.frames_matching("system_info")
           if f["json"]["payload"].get("request_id") == "si-42"]
    assert len(raw) == 1
    p = raw[0]["json"]["payload"]
    assert raw[0]["json"]["channel"] == 0
    assert dashboard.channel_name in p["client_sessions"]
    assert isinstance(p.get("reply_channel"), str)


def test_unknown_command(dashboard):
    ev = dashboard.request({"cmd": "nosuch", "request_id": "u-1"}, 10,
                           match=lambda e: e.get("event") == "error")
    assert ev["message"] == "Unknown cmd: nosuch"
    assert ev.get("request_id", "u-1") == "u-1"
    system_info(dashboard)


def test_internal_command_names_refused(dashboard):
    """Names starting with '_' are net's own messages to its workers."""
    ev = dashboard.request({"cmd": "_client_sessions", "sessions": [],
                            "request_id": "u-2"}, 10,
                           match=lambda e: e.get("event") == "error")
    assert ev["message"] == "Unknown cmd: _client_sessions"
    system_info(dashboard)


# ---------------------------------------------------------------------------
# 7. bad input: the daemon survives, system_info is answered again

NESTED = "[" * 100000
NESTED_BALANCED = "[" * 100000 + "]" * 100000
KEEP = None                 # the link must stay up
EITHER = (None,)            # stay up, or close with one of the other codes


def _raw(text):
    return lambda gw, s: gw.send_raw_text(text)


def _json(obj):
    return lambda gw, s: gw.send_json(obj)


def _frame(opcode, payload, **kw):
    return lambda gw, s: gw.send_raw_frame(opcode, payload, **kw)


def _many_fragments(gw, s):
    """One 20 kB message in 10 000 fragments, written in one go."""
    text = '{"channel": 0, "payload": {"cmd": "system_info", "pad": "%s"}}' \
        % ("x" * 20000)
    frames = []
    for i in range(0, len(text), 2):
        frames.append(G.build_frame(0x1 if i == 0 else 0x0, text[i:i + 2],
                                    fin=i + 2 >= len(text)))
    gw.send_raw_bytes(b"".join(frames))


BAD_INPUTS = [
    pytest.param(_raw("this is not json {"), KEEP, None, id="non_json"),
    pytest.param(_raw("[]"), KEEP, None, id="json_array"),
    pytest.param(_raw('"a string"'), KEEP, None, id="json_string"),
    pytest.param(_raw("1e999"), KEEP, None, id="json_number"),
    pytest.param(_raw("null"), KEEP, None, id="json_null"),
    pytest.param(_raw(""), KEEP, None, id="empty_text"),
    pytest.param(lambda gw, s: gw.send_binary(
        b'{"channel": 0, "payload": {"cmd": "system_info"}}'),
        EITHER + (1003,), None, id="binary_frame"),
    pytest.param(_raw(NESTED), KEEP, None, id="nested_100000_open"),
    pytest.param(_raw(NESTED_BALANCED), KEEP, None,
                 id="nested_100000_balanced"),
    pytest.param(_raw('{"channel": 0, "payload": {"cmd": "system_info", '
                      '"x": %s}}' % NESTED_BALANCED), KEEP, None,
                 id="nested_in_payload"),
    pytest.param(lambda gw, s: gw.send_invalid_utf8(), (1007,), None,
                 id="invalid_utf8"),
    pytest.param(lambda gw, s: gw.send_large(20 * 1024 * 1024), (1009,),
                 None, id="message_20MiB"),
    pytest.param(lambda gw, s: gw.send_large(20 * 1024 * 1024,
                                             fragment=1024 * 1024),
                 (1009,), None, id="message_20MiB_fragmented"),
    pytest.param(_many_fragments, EITHER + (1008, 1009), None,
                 id="10000_fragments"),
    pytest.param(_json({"payload": {"cmd": "system_info",
                                    "request_id": "no-channel"}}),
                 KEEP, None, id="missing_channel"),
    pytest.param(_json({"channel": {}, "payload": {"cmd": "system_info"}}),
                 KEEP, None, id="channel_object"),
    pytest.param(_json({"channel": 0}), KEEP, None, id="missing_payload"),
    pytest.param(_json({"channel": 0, "payload": [1, 2]}), KEEP, None,
                 id="payload_array"),
    pytest.param(_json({"channel": 0, "payload": "text"}), KEEP, None,
                 id="payload_string"),
    pytest.param(_json({"channel": "3f0c0c1e-terminal", "payload": "ls\n"}),
                 KEEP, None, id="legacy_terminal_channel"),
    pytest.param(_json({"channel": 0, "payload": {"request_id": "x"}}),
                 KEEP, None, id="no_cmd_no_event"),
    pytest.param(_json({"channel": 0, "payload": {"event": "whatever"}}),
                 KEEP, None, id="event_from_gateway"),
    pytest.param(lambda gw, s: s.send({"cmd": "system_info",
                                       "request_id": {}}),
                 KEEP, "request_id", id="request_id_object"),
    pytest.param(lambda gw, s: s.send({"cmd": 5}), KEEP, "cmd",
                 id="cmd_number"),
    pytest.param(_json({"channel": 0, "payload": {
        "cmd": "system_info", "source_client_session": 5}}),
        KEEP, "source_client_session", id="source_client_session_number"),
    pytest.param(_json({"channel": 0, "payload": {
        "cmd": "client_sessions_update", "sessions": "nope"}}),
        KEEP, "sessions", id="sessions_not_array"),
    pytest.param(_json({"channel": 0, "payload": {
        "cmd": "client_sessions_update", "sessions": [5, None, "x"]}}),
        KEEP, None, id="sessions_bad_items"),
    # wslay answers an oversized control frame with a close frame that
    # carries no status code (seen as 1005); RFC 6455 allows either.
    pytest.param(_frame(0x9, b"p" * 126), (1002, 1005), None,
                 id="ping_payload_126"),
    pytest.param(_frame(0x3, b"{}"), (1002,), None, id="reserved_opcode"),
    pytest.param(_frame(0x0, b"{}"), (1002,), None,
                 id="continuation_without_start"),
    pytest.param(_frame(0x1, b"{}", rsv=4), (1002,), None, id="rsv1_set"),
    pytest.param(_frame(0x1, b"{}", mask=True), (1002,), None,
                 id="masked_server_frame"),
]


@pytest.mark.parametrize("action,expect_close,error_field", BAD_INPUTS)
def test_bad_input_survives(gateway, daemon, dashboard, action, expect_close,
                            error_field):
    before = worker_pids(daemon)
    system_info(dashboard)
    n_auth = gateway.auth_ok_count
    n_close = len(gateway.closes)
    mark = dashboard.mark()

    action(gateway, dashboard)

    if error_field is not None:
        ev = dashboard.wait_event(
            lambda e: e.get("event") == "error" and
            error_field in e.get("message", ""), 10, since=mark)
        assert isinstance(ev["message"], str)

    def closes():
        return gateway.closes[n_close:]

    if expect_close is KEEP:
        must_close = False
    elif expect_close[0] is None:       # either way is fine
        time.sleep(1.0)
        must_close = bool(closes())
    else:
        must_close = True

    if not must_close:
        system_info(dashboard)
        time.sleep(0.3)
        assert not closes(), "link dropped: %s" % closes()
        assert gateway.auth_ok_count == n_auth
    else:
        gateway.wait_for(lambda: len(gateway.closes) > n_close, 20,
                         "the device closing the link")
        c = gateway.closes[n_close]
        codes = [x for x in expect_close if x is not None]
        assert not c["by_gateway"] and c["code"] in codes, \
            "expected the device to close with %s, got %s" % (codes, c)
        gateway.wait_auth(n_auth + 1, 15)
        dashboard.request_retry({"cmd": "system_info"}, "system_info", 15)

    after = daemon.roles()
    for role, pid in before.items():
        assert after.get(role) == pid, \
            "%s changed pid (%s -> %s)" % (role, before, after)
    assert daemon.running()


def test_sessions_kept_after_bad_update(gateway, dashboard):
    """A rejected client_sessions_update leaves the known sessions as they
    were: replies still target the dashboard."""
    system_info(dashboard)
    gateway.send_json({"channel": 0, "payload": {
        "cmd": "client_sessions_update", "sessions": {"a": 1}}})
    n = len(gateway.frames)
    ev = system_info(dashboard)
    raw = [f for f in gateway.frames_matching("system_info", since=n)
           if f["json"]["payload"].get("request_id") == ev["request_id"]]
    assert raw and raw[0]["json"]["payload"].get("client_sessions") == \
        [dashboard.channel_name]


# ---------------------------------------------------------------------------
# 8. privilege separation, read from /proc

def test_privsep_from_proc(online, device_key):
    pids = worker_pids(online)
    priv = pwd.getpwnam(G.PRIVSEP_USER)
    target = pwd.getpwnam(G.TARGET_USER)

    net = pids["net"]
    assert status_ids(net, "Uid") == [priv.pw_uid] * 4
    assert status_ids(net, "Gid") == [priv.pw_gid] * 4
    groups = G.proc_status(net)["Groups"].split()
    assert all(int(g) == priv.pw_gid for g in groups), groups
    assert os.readlink("/proc/%d/root" % net) == G.PRIVSEP_PATH
    assert os.readlink("/proc/%d/cwd" % net) == G.PRIVSEP_PATH

    want_groups = sorted(set(os.getgrouplist(target.pw_name,
                                             target.pw_gid)))
    for role in ("term", "fs", "git"):
        pid = pids[role]
        # The process exists before it drops: wait for its "ready".
        wait_log(online, "%s ready (pid %d)" % (role, pid), 10)
        assert status_ids(pid, "Uid") == [target.pw_uid] * 4, role
        assert status_ids(pid, "Gid") == [target.pw_gid] * 4, role
        got = sorted(set(int(g) for g in
                         G.proc_status(pid)["Groups"].split()))
        assert got == want_groups, (role, got, want_groups)

    # A worker authenticates nothing: it may still be loading its filter
    # when net is already online, so give it a moment.
    for role in ("net", "fs", "git"):
        deadline = time.monotonic() + 5
        while G.proc_status(pids[role])["Seccomp"] != "2" and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        st = G.proc_status(pids[role])
        assert st["Seccomp"] == "2", (role, st["Seccomp"])
        assert st["NoNewPrivs"] == "1", (role, st["NoNewPrivs"])

    # the parent is the only root process; no priv without ProxmoxSetup
    procs = online.portacoded_procs()
    assert "priv" not in {p.role for p in procs}
    for p in procs:
        uids = status_ids(p.pid, "Uid")
        if p.pid == online.pid:
            assert uids[1] == 0
        else:
            assert 0 not in uids, "%s runs with uid 0: %s" % (p, uids)

    # the key never enters net
    keyfile = os.path.realpath(device_key.keyfile)
    fddir = "/proc/%d/fd" % net
    for fd in os.listdir(fddir):
        try:
            target_path = os.readlink(os.path.join(fddir, fd))
        except OSError:
            continue
        assert os.path.basename(keyfile) not in target_path, \
            "net holds fd %s -> %s" % (fd, target_path)


def test_key_file_protected(online, device_key):
    st = os.stat(device_key.keyfile)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) & 0o077 == 0, \
        oct(st.st_mode)
    dst = os.stat(os.path.dirname(device_key.keyfile))
    assert dst.st_uid == 0 and stat.S_IMODE(dst.st_mode) == 0o700

    priv = pwd.getpwnam(G.PRIVSEP_USER)
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setgroups([])
            os.setgid(priv.pw_gid)
            os.setuid(priv.pw_uid)
            try:
                open(device_key.keyfile, "rb").close()
                code = 1
            except PermissionError:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
    assert os.WEXITSTATUS(status) == 0, \
        "the privsep user can open the private key"


# ---------------------------------------------------------------------------
# 9, 10. supervision and shutdown

@pytest.mark.parametrize("role", WORKER_ROLES)
def test_worker_killed_is_restarted(gateway, online, dashboard, role):
    system_info(dashboard)
    before = worker_pids(online)
    n_auth = gateway.auth_ok_count
    os.kill(before[role], signal.SIGKILL)
    after = online.wait_roles(WORKER_ROLES, 15, exclude={role: before[role]})
    assert after["parent"] == before["parent"]
    assert online.running()
    if role == "net":
        gateway.wait_auth(n_auth + 1, 15)
    dashboard.request_retry({"cmd": "system_info"}, "system_info", 20)
    after = online.roles()
    for r in WORKER_ROLES:
        if r != role:
            assert after[r] == before[r], "%s restarted too" % r
    if role != "net":
        assert gateway.auth_ok_count == n_auth, \
            "the gateway link was dropped because %s died" % role
    assert re.search(r"signal 9|SIGKILL|killed", online.log_text(),
                     re.I), "the worker's death by signal is not logged"


def test_command_waits_for_restarting_worker(gateway, online, dashboard):
    """A command sent while its worker restarts is answered once the worker
    is back (net holds it), not refused."""
    system_info(dashboard)
    before = worker_pids(online)
    os.kill(before["fs"], signal.SIGKILL)
    # net notices the dead link before the parent's restart delay (1 s) ends.
    time.sleep(0.3)
    ev = dashboard.request({"cmd": "system_info", "request_id": "held-1"},
                           timeout=15, event="system_info")
    assert ev["request_id"] == "held-1"
    assert online.roles()["fs"] != before["fs"]


def test_sigterm_stops_everything(gateway, online):
    procs = online.portacoded_procs()
    assert len(procs) >= 5, procs
    took, left = online.stop(2.0)
    assert not left, "still alive %.1fs after SIGTERM: %s" % (took, left)
    assert online.proc.returncode is not None and \
        online.proc.returncode >= 0, \
        "portacoded died by signal %s" % online.proc.returncode
    gateway.wait_offline(2.0)
