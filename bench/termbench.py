"""
Shared by bench/term-*: a daemon against the loopback gateway with one
dashboard session, and a tap on the gateway's receive path that counts
terminal_data instead of storing it (the test gateway keeps every frame,
which is right for tests and wrong for 100 MB of output).
"""
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "gateway"))
import gateway as G  # noqa: E402


def default_daemon():
    return os.path.join(HERE, "..", "build", "portacoded")


def mem_kib(pid, path="status", field="VmRSS:"):
    try:
        with open("/proc/%d/%s" % (pid, path)) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    return mem_kib(pid)


def pss_kib(pid):
    return mem_kib(pid, "smaps_rollup", "Pss:")


def pct(values, p):
    """p-th percentile (nearest rank) of values."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(values):
    return statistics.median(values)


class Tap:
    """
    Replaces the gateway's per-frame handler.  terminal_data frames are
    parsed, counted per channel and dropped; a channel can be watched for a
    marker string or for the next output (latency samples).  Everything
    else goes to the gateway as usual.  Runs in the gateway's loop thread.
    """

    def __init__(self, gw):
        self.gw = gw
        self.orig = gw._on_frame
        gw._on_frame = self._on_frame
        self.lock = threading.Lock()
        self.bytes = {}             # channel -> characters of data
        self.first = {}             # channel -> time of first data
        self.last = {}              # channel -> time of last data
        self.tails = {}             # channel -> last 64 characters
        self.markers = {}           # channel -> (marker, threading.Event)
        self.waiter = None          # (channel, future) for latency
        self.total_frames = 0

    def _on_frame(self, conn, message):
        if not isinstance(message, str) or '"terminal_data"' not in message:
            return self.orig(conn, message)
        now = time.perf_counter()
        w = self.waiter
        if w is not None and w[0] in message:
            self.waiter = None
            if not w[1].done():
                w[1].set_result(now)
        try:
            payload = json.loads(message)["payload"]
            ch, data = payload["channel"], payload["data"]
        except (ValueError, KeyError, TypeError):
            return self.orig(conn, message)
        with self.lock:
            self.total_frames += 1
            self.bytes[ch] = self.bytes.get(ch, 0) + len(data.encode())
            self.first.setdefault(ch, now)
            self.last[ch] = now
            m = self.markers.get(ch)
            if m is not None:
                tail = self.tails.get(ch, "") + data[-256:]
                if m[0] in tail:
                    m[1].set()
                self.tails[ch] = tail[-64:]

    def watch(self, channel, marker):
        ev = threading.Event()
        with self.lock:
            self.tails[channel] = ""
            self.markers[channel] = (marker, ev)
        return ev

    def reset(self, channel):
        with self.lock:
            self.bytes.pop(channel, None)
            self.first.pop(channel, None)
            self.last.pop(channel, None)

    def count(self, channel):
        with self.lock:
            return self.bytes.get(channel, 0)

    async def _roundtrip(self, session, channel, data, timeout):
        conn = self.gw._need_device(None)
        fut = asyncio.get_running_loop().create_future()
        frame = json.dumps({"channel": 0, "payload": {
            "cmd": "terminal_send", "terminal_id": channel, "data": data,
            "source_client_session": session.channel_name}})
        self.waiter = (channel, fut)
        t0 = time.perf_counter()
        await conn.ws.send(frame)
        t1 = await asyncio.wait_for(fut, timeout)
        return t1 - t0

    def roundtrip(self, session, channel, data, timeout=5.0):
        """Seconds from sending `data` to the next terminal_data of
        channel arriving at the gateway."""
        return self.gw._call(self._roundtrip(session, channel, data, timeout),
                             timeout + 5)

    def send(self, session, channel, data):
        session.send({"cmd": "terminal_send", "terminal_id": channel,
                      "data": data})


class Bench:
    """portacoded (-d, LogLevel INFO) against a fresh loopback gateway over
    TLS, authenticated, with one dashboard session and a Tap."""

    def __init__(self, binary, tmp, loglevel="INFO"):
        G.ensure_users()
        self.gw = G.Gateway(tls=True, tmpdir=os.path.join(tmp, "gw")).start()
        keydir = G.make_key_dir(os.path.join(tmp, "keys"))
        keyfile = os.path.join(keydir, "id_portacode")
        conf = G.write_config(os.path.join(tmp, "portacoded.conf"),
                              self.gw.url, keyfile, self.gw.ca_path,
                              G.TARGET_USER, loglevel=loglevel)
        r = G.create_key(binary, conf)
        if r.returncode != 0:
            raise RuntimeError("portacoded -K failed: %s" % r.stderr)
        self.gw.register_key(keyfile + ".pub")
        self.daemon = G.Daemon(binary, conf,
                               os.path.join(tmp, "portacoded.log"))
        self.daemon.start()
        self.gw.wait_device(30)
        self.session = self.gw.add_session("dashboard")
        self.tap = Tap(self.gw)

    def term_pid(self):
        return self.daemon.wait_roles(["term"])["term"]

    def start_terminal(self, **kw):
        cmd = {"cmd": "terminal_start"}
        cmd.update(kw)
        ev = self.session.request(cmd, 15, event="terminal_started")
        return ev["terminal_id"], ev["pid"]

    def run(self, channel, line, marker, timeout=600.0):
        """Type line into the terminal and wait for marker in its output;
        returns the seconds that took."""
        done = self.tap.watch(channel, marker)
        t0 = time.perf_counter()
        self.tap.send(self.session, channel, line)
        if not done.wait(timeout):
            raise RuntimeError("no %r from terminal %s within %.0fs" % (
                marker, channel, timeout))
        return time.perf_counter() - t0

    def close(self):
        try:
            took, left = self.daemon.stop(3.0)
            if left:
                self.daemon.kill()
        finally:
            self.daemon.close_log()
            self.gw.stop()

    def log_tail(self, n=40):
        return self.daemon.log_text(n)


def compile_c(source, tmp, name, libs=()):
    """Our own small C programs for baselines, built at run time."""
    src = os.path.join(tmp, name + ".c")
    exe = os.path.join(tmp, name)
    with open(src, "w") as f:
        f.write(source)
    r = subprocess.run(["cc", "-O2", "-o", exe, src] + list(libs),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("cc %s failed:\n%s" % (src, r.stderr))
    return exe
