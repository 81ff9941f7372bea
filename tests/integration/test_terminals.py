"""
Terminals (issue 3): the term worker as a client of the loopback gateway
sees it. Every terminal runs the target user's shell on a real pty; these
tests type into it with terminal_send and read what comes back in
terminal_data events (and in the `buffer` of terminal_list).

Typed commands are written so that what the shell prints differs from what
the tty echoes back: `echo hi-$((40+2))` prints hi-42, which the echo of
the command line does not contain.
"""

import datetime
import itertools
import os
import pwd
import re
import secrets
import signal
import time

import gateway as G

AUTH_TIMEOUT = 20.0
CSI = re.compile(r"\x1b\[[0-9;:?<>=]*[ -/]*[@-~]"
                 r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
                 r"|\x1b[=>]")
CURSOR_AT_END = re.compile(r"\x1b\[(\d+);(\d+)H$")
_marks = itertools.count(1000)


def strip_ansi(text):
    return CSI.sub("", text)


def out_lines(text):
    """Terminal output as plain lines (escape sequences and CRs dropped)."""
    return [ln for ln in re.split(r"[\r\n]+", strip_ansi(text))]


def buffer_lines(buf):
    """The rendered buffer as plain text lines (cursor sequence dropped)."""
    return strip_ansi(buf).split("\r\n")


# ---------------------------------------------------------------------------
# A terminal as a client sees it

class Term:
    """
    One terminal seen through one session: its terminal_started event and
    every terminal_data chunk for its channel that the session received.
    """

    def __init__(self, session, started):
        self.session = session
        self.gw = session.gw
        self.started = started
        self.id = started["terminal_id"]
        self.pid = started["pid"]
        self.chunks = []
        self._seen = 0

    def __repr__(self):
        return "<terminal %s pid %d>" % (self.id, self.pid)

    def _pull(self):
        evs = self.session.events
        n = len(evs)
        for i in range(self._seen, n):
            e = evs[i]
            if e.get("event") == "terminal_data" and \
                    e.get("channel") == self.id:
                self.chunks.append(e["data"])
        self._seen = n

    def mark(self):
        """Position after the output received so far (for since=)."""
        with self.gw._cond:
            self._pull()
            return len(self.chunks)

    def text(self, since=0):
        with self.gw._cond:
            self._pull()
            return "".join(self.chunks[since:])

    def send(self, data):
        self.session.send({"cmd": "terminal_send", "terminal_id": self.id,
                           "data": data})

    def wait(self, pattern, timeout=10.0, since=0):
        """
        Wait for pattern (a literal string or a compiled regex) in the
        output received after `since`; returns the match.  Output is
        scanned once, chunk by chunk, with an overlap for matches that
        span chunks.
        """
        rx = pattern if hasattr(pattern, "search") else \
            re.compile(re.escape(pattern))
        st = {"i": since, "tail": "", "m": None}

        def found():
            self._pull()
            while st["i"] < len(self.chunks):
                buf = st["tail"] + self.chunks[st["i"]]
                st["i"] += 1
                m = rx.search(buf)
                if m:
                    st["m"] = m
                    return True
                st["tail"] = buf[-8192:]
            return False

        def describe():
            tail = "".join(self.chunks[since:])[-600:]
            return "terminal %s: no output matching %r within %.1fs; " \
                "last output: %r" % (self.id, rx.pattern, timeout, tail)

        self.gw._wait(found, timeout, describe)
        return st["m"]

    def sh(self, cmd, timeout=10.0):
        """Run a command line that ends by itself; returns everything the
        terminal printed from the send up to the end marker."""
        k = next(_marks)
        since = self.mark()
        self.send("%s; echo '@@'$((%d+1))'@@'\n" % (cmd, k))
        marker = "@@%d@@" % (k + 1)
        self.wait(marker, timeout, since)
        out = self.text(since)
        return out[:out.index(marker)]

    def stop(self, timeout=10.0):
        return self.session.request({"cmd": "terminal_stop",
                                     "terminal_id": self.id}, timeout,
                                    event="terminal_stopped")


def start_term(session, ready=True, timeout=10.0, **kw):
    cmd = {"cmd": "terminal_start"}
    cmd.update(kw)
    ev = session.request(cmd, timeout, event="terminal_started")
    t = Term(session, ev)
    if ready:
        t.sh(":", 15.0)
    return t


def term_list(session, project_id=False, timeout=10.0):
    """terminal_list; project_id=False leaves the field out."""
    cmd = {"cmd": "terminal_list"}
    if project_id is not False:
        cmd["project_id"] = project_id
    return session.request(cmd, timeout, event="terminal_list")


def listed(ev):
    return {s["terminal_id"]: s for s in ev["sessions"]}


def list_entry(session, tid, project_id=False):
    sessions = listed(term_list(session, project_id))
    assert tid in sessions, "terminal %s not in terminal_list: %s" % (
        tid, list(sessions))
    return sessions[tid]


def wait_buffer(session, tid, pred, timeout=10.0, what="buffer condition",
                project_id=False):
    """Poll terminal_list until pred(buffer) holds; returns the entry."""
    deadline = time.monotonic() + timeout
    while True:
        entry = list_entry(session, tid, project_id)
        if pred(entry["buffer"]):
            return entry
        if time.monotonic() > deadline:
            raise AssertionError("%s not met within %.1fs; buffer (plain):"
                                 "\n%s" % (what, timeout, "\n".join(
                                     buffer_lines(entry["buffer"])[-30:])))
        time.sleep(0.1)


def error_for(session, payload, timeout=10.0):
    ev = session.request(payload, timeout, event="error")
    assert isinstance(ev.get("message"), str) and ev["message"], ev
    return ev["message"]


def wait_exit(session, tid, timeout=10.0):
    return session.wait_event({"event": "terminal_exit", "terminal_id": tid},
                              timeout, since=0)


# ---------------------------------------------------------------------------
# Processes

def stat_fields(pid):
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp,
    session, tty_nr, tpgid, ... or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(")") + 2:].split()


def alive(pid):
    st = stat_fields(pid)
    return st is not None and st[0] != "Z"


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, \
            "pid %d still alive after %.1fs" % (pid, timeout)
        time.sleep(0.02)


def children(pid):
    return [p for p in G.all_procs().values()
            if p.ppid == pid and p.state != "Z"]


def wait_child(pid, comm, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        for p in children(pid):
            if p.comm == comm:
                return p
        assert time.monotonic() < deadline, \
            "no %s child of pid %d within %.1fs (children: %s)" % (
                comm, pid, timeout, [c.comm for c in children(pid)])
        time.sleep(0.02)


def procs_with_args(args):
    return [p for p in G.all_procs().values()
            if p.cmdline == list(args) and p.state != "Z"]


# ---------------------------------------------------------------------------
# Start: fields, environment, session

def test_start_fields_environment_and_session(gateway, launch, monkeypatch):
    monkeypatch.setenv("PORTACODED_TEST_SECRET", "do-not-leak-%s"
                       % secrets.token_hex(4))
    launch()
    gateway.wait_device(AUTH_TIMEOUT)
    s = gateway.add_session("dashboard")
    pw = pwd.getpwnam(G.TARGET_USER)
    before = time.time()
    t = start_term(s)

    ev = t.started
    assert re.fullmatch(r"[0-9a-f]{32}", ev["terminal_id"]), ev
    assert ev["channel"] == ev["terminal_id"]
    assert isinstance(ev["pid"], int) and ev["pid"] > 1
    assert ev["shell"] == pw.pw_shell, ev
    assert ev["cwd"] == pw.pw_dir, ev
    assert "project_id" in ev and ev["project_id"] is None, ev
    assert "request_id" in ev

    # a real controlling terminal: session leader, own group, a tty
    st = stat_fields(t.pid)
    assert st is not None, "shell pid %d not found" % t.pid
    assert int(st[2]) == t.pid and int(st[3]) == t.pid, \
        "shell is not a session/group leader: pgrp %s session %s" % (
            st[2], st[3])
    assert int(st[4]) != 0, "shell has no controlling terminal"
    status = G.proc_status(t.pid)
    assert int(status["Uid"].split()[0]) == pw.pw_uid

    out = t.sh('echo "E=""[$TERM|$HOME|$USER|$LOGNAME|$SHELL|'
               '${PORTACODED_TEST_SECRET-unset}|$0|$(pwd)|$(tty)]"')
    m = re.search(r"E=\[([^\]]*)\]", out)
    assert m, out
    term, home, user, logname, shell, secret, arg0, cwd, tty = \
        m.group(1).split("|")
    assert term == "xterm-256color"
    assert home == pw.pw_dir and cwd == pw.pw_dir
    assert user == G.TARGET_USER and logname == G.TARGET_USER
    assert shell == pw.pw_shell
    assert secret == "unset", "the daemon's environment leaked into the " \
        "terminal: %r" % secret
    assert arg0 == "-" + os.path.basename(pw.pw_shell), \
        "not started as a login shell: $0=%r" % arg0
    assert tty.startswith("/dev/pts/"), tty
    out = t.sh('echo "L=""[$LANG]"')
    lang = re.search(r"L=\[([^\]]*)\]", out).group(1)
    assert re.search(r"utf-?8", lang, re.I), "LANG=%r" % lang

    # what terminal_list says about it
    e = list_entry(s, t.id)
    assert e["channel"] == t.id and e["pid"] == t.pid
    assert e["status"] == "active" and e["returncode"] is None
    assert e["shell"] == pw.pw_shell and e["cwd"] == pw.pw_dir
    assert e["project_id"] is None
    assert isinstance(e["buffer"], str) and "@@" in e["buffer"]
    created = e["created_at"]
    assert isinstance(created, str), e
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)"
                     r"(\.\d+)?(Z|[+-]\d\d:\d\d)", created)
    assert m, created
    ts = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs(ts.timestamp() - before) < 30, (created, before)


def test_start_shell_and_cwd_given(dashboard, workdir):
    t = start_term(dashboard, shell="/bin/sh", cwd="/tmp")
    assert t.started["shell"] == "/bin/sh"
    assert t.started["cwd"] == "/tmp"
    assert "/tmp" in out_lines(t.sh("pwd"))


# ---------------------------------------------------------------------------
# Input and output

def test_echo(dashboard):
    t = start_term(dashboard)
    since = t.mark()
    t.send("echo hi-$((40+2))\n")
    t.wait(re.compile(r"hi-42\r\n"), 10, since)
    for e in dashboard.events_named("terminal_data"):
        if e["channel"] == t.id:
            assert set(e) >= {"event", "channel", "data", "project_id"}, e
            assert e["project_id"] is None
            assert isinstance(e["data"], str)


def test_stty_size_and_resize(dashboard):
    t = start_term(dashboard, rows=40, cols=100)
    assert t.started.get("rows", 40) == 40
    assert "40 100" in out_lines(t.sh("stty size"))

    ev = dashboard.request({"cmd": "terminal_resize", "terminal_id": t.id,
                            "rows": 30, "cols": 90}, event="terminal_resized")
    assert ev["terminal_id"] == t.id
    assert ev["rows"] == 30 and ev["cols"] == 90
    assert "30 90" in out_lines(t.sh("stty size"))
    e = list_entry(dashboard, t.id)
    assert (e.get("rows"), e.get("cols")) in ((30, 90), (None, None)), e
    m = CURSOR_AT_END.search(e["buffer"])
    assert m and 1 <= int(m.group(1)) <= 30 and 1 <= int(m.group(2)) <= 90, \
        repr(e["buffer"][-40:])


def test_resize_sends_sigwinch_to_the_program(dashboard):
    t = start_term(dashboard, rows=24, cols=80)
    since = t.mark()
    # dash runs the trap once the current sleep ends
    t.send("sh -c 'trap \"printf %s-%s got winch; echo; stty size; exit 0\" "
           "WINCH; while :; do sleep 0.05; done'\n")
    wait_child(t.pid, "sh")
    time.sleep(0.2)
    dashboard.request({"cmd": "terminal_resize", "terminal_id": t.id,
                       "rows": 33, "cols": 77}, event="terminal_resized")
    t.wait(re.compile(r"got-winch\r\n33 77\r\n"), 10, since)


def test_job_control_ctrl_c_and_ctrl_z(dashboard):
    t = start_term(dashboard)
    since = t.mark()
    t.send("sleep 100\n")
    sl = wait_child(t.pid, "sleep")
    t0 = time.monotonic()
    t.send("\x03")
    t.send("echo back-$((1+1))\n")
    t.wait(re.compile(r"back-2\r\n"), 5, since)
    took = time.monotonic() - t0
    assert took <= 1.0, "prompt back %.2fs after ^C" % took
    wait_gone(sl.pid, 2)

    # ^Z stops the foreground job and gives the prompt back
    since = t.mark()
    t.send("sleep 101\n")
    sl = wait_child(t.pid, "sleep")
    t.send("\x1a")
    t.wait(re.compile(r"Stopped\s+sleep 101"), 5, since)
    deadline = time.monotonic() + 2
    while stat_fields(sl.pid)[0] != "T":
        assert time.monotonic() < deadline, "sleep not stopped by ^Z"
        time.sleep(0.02)
    out = t.sh("jobs; kill -KILL %1")
    assert "sleep 101" in out
    wait_gone(sl.pid, 2)


def test_fullscreen_output_renders_in_buffer(dashboard):
    t = start_term(dashboard)
    # FULL%s ... SCREEN: the typed command line does not contain FULLSCREEN
    t.send("printf '\\033[?1049h\\033[2J\\033[5;10HFULL%s\\033[7;3H' "
           "SCREEN; sleep 100\n")
    wait_child(t.pid, "sleep")
    e = wait_buffer(dashboard, t.id, lambda b: "FULLSCREEN" in b, 5,
                    "FULLSCREEN on the alternate screen")
    buf = e["buffer"]
    lines = buffer_lines(buf)
    assert any(re.fullmatch(r" {9}FULLSCREEN", ln) for ln in lines), lines
    assert "printf" not in strip_ansi(buf), \
        "main screen text shows while the alternate screen is active"
    assert buf.endswith("\x1b[7;3H"), repr(buf[-40:])

    t.send("\x03")
    t.sh("printf '\\033[?1049l'")
    e = wait_buffer(dashboard, t.id, lambda b: "FULLSCREEN" not in b, 5,
                    "alternate screen gone")
    assert "printf" in strip_ansi(e["buffer"])


def test_less_renders_in_buffer(dashboard, workdir):
    path = os.path.join(workdir, "pager.txt")
    with open(path, "w") as f:
        for i in range(1, 201):
            f.write("PAGER-LINE-%d\n" % i)
    os.chmod(path, 0o644)
    t = start_term(dashboard)
    t.send("less %s\n" % path)
    wait_child(t.pid, "less")
    e = wait_buffer(dashboard, t.id,
                    lambda b: "PAGER-LINE-20" in buffer_lines(b), 5,
                    "less showing the file")
    plain = buffer_lines(e["buffer"])
    assert "PAGER-LINE-1" in plain and "PAGER-LINE-23" in plain, plain
    assert "PAGER-LINE-30" not in plain
    t.send("q")
    e = wait_buffer(dashboard, t.id,
                    lambda b: "PAGER-LINE-1" not in buffer_lines(b), 5,
                    "less's screen gone after q")
    t.sh("true")


def test_buffer_keeps_sgr_and_scrollback(dashboard):
    t = start_term(dashboard)
    t.sh("printf '\\033[1;31mRED%s\\033[0m \\033[38;5;196mIDX%s\\033[0m "
         "\\033[38;2;1;2;3mRGB%s\\033[0m\\n' ZONE ZONE ZONE")
    e = list_entry(dashboard, t.id)
    buf = e["buffer"]

    def params_before(word):
        i = buf.index(word)
        params = []
        for m in re.finditer(r"(?:\x1b\[[0-9;]*m)+$", buf[:i]):
            for seq in re.findall(r"\x1b\[([0-9;]*)m", m.group(0)):
                params.append(seq)
        return ";".join(params)

    p = params_before("REDZONE")
    assert re.search(r"(^|;)1(;|$)", p) and re.search(r"(^|;)31(;|$)", p), \
        "REDZONE without bold red: %r" % p
    assert "38;5;196" in params_before("IDXZONE")
    assert "38;2;1;2;3" in params_before("RGBZONE")
    assert CURSOR_AT_END.search(buf), repr(buf[-40:])

    # 1100 lines: the oldest fall out of the 1000-line scrollback
    t.sh("seq 1 1100 | sed 's/^/sb-/'")
    e = list_entry(dashboard, t.id)
    lines = buffer_lines(e["buffer"])
    assert "sb-1100" in lines and "sb-150" in lines, lines[-30:]
    assert "sb-1" not in lines and "sb-50" not in lines
    assert len(lines) <= 1000 + 24 + 1, len(lines)
    # in order, nothing missing in between
    first = next(i for i, ln in enumerate(lines) if ln.startswith("sb-"))
    n0 = int(lines[first][3:])
    assert lines[first:first + 1101 - n0] == [
        "sb-%d" % i for i in range(n0, 1101)]


def test_utf8_split_across_reads_arrives_intact(dashboard, workdir):
    n = 300 * 1024 // 4
    path = os.path.join(workdir, "emoji.txt")
    with open(path, "wb") as f:
        f.write(b"x" + "\U0001F600".encode() * n + b"\n")
    os.chmod(path, 0o644)
    t = start_term(dashboard)
    since = t.mark()
    out = t.sh("cat %s" % path, 30)
    assert out.count("\U0001F600") == n, \
        "%d of %d emoji arrived" % (out.count("\U0001F600"), n)
    assert "\ufffd" not in out
    assert "x\U0001F600" in out
    # no event may carry a lone surrogate or a broken character
    for data in t.chunks[since:]:
        data.encode("utf-8")


def test_invalid_bytes_become_replacement_characters(dashboard):
    t = start_term(dashboard)
    out = t.sh("printf 'a\\377b\\n'")
    assert "a\ufffdb\r\n" in out, repr(out)
    out = t.sh("printf 'c\\200\\200d\\n'")
    assert re.search("c\ufffd+d\r\n", out), repr(out)


def test_paste_1mib_echoed_back_by_cat(dashboard):
    body = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    lines = ["%07d %s\n" % (i, body[:55]) for i in range(16384)]
    payload = "".join(lines)
    assert len(payload) == 1024 * 1024
    t = start_term(dashboard)
    t.send("stty -echo -icanon; cat\n")
    cat = wait_child(t.pid, "cat")
    since = t.mark()
    ack = dashboard.request({"cmd": "terminal_send", "terminal_id": t.id,
                             "data": payload}, 30, event="terminal_send_ack")
    assert ack["terminal_id"] == t.id
    last = lines[-1].rstrip("\n")
    t.wait(last + "\r\n", 60, since)
    got = t.text(since).replace("\r\n", "\n")
    # what the tty echoed before `stty -echo` may still have been in flight
    got = got[got.find(lines[0]):]
    assert len(got) == len(payload) and got == payload, \
        "cat echoed %d bytes of %d; first difference at %d" % (
            len(got), len(payload),
            next((i for i, (a, b) in enumerate(zip(got, payload)) if a != b),
                 min(len(got), len(payload))))
    t.send("\x03")
    wait_gone(cat.pid, 2)       # else cat may read what comes next
    t.sh("stty sane")


# ---------------------------------------------------------------------------
# Stop and exit

def test_stop_shell_ignoring_sigterm(dashboard):
    t = start_term(dashboard)
    tag = str(1000 + secrets.randbelow(8000))
    t.sh("trap '' TERM; sleep %s & :" % tag)
    deadline = time.monotonic() + 5
    while not procs_with_args(["sleep", tag]):
        assert time.monotonic() < deadline, "background sleep not found"
        time.sleep(0.02)
    job = procs_with_args(["sleep", tag])
    t0 = time.monotonic()
    ev = t.stop()
    assert ev["terminal_id"] == t.id and ev["status"] == "stopping", ev
    assert ev.get("project_id") is None
    done = dashboard.wait_event({"event": "terminal_stop_completed",
                                 "terminal_id": t.id}, 5, since=0)
    took = time.monotonic() - t0
    assert done["status"] == "success", done
    assert took <= 3.0, "stop completed after %.1fs" % took
    wait_exit(dashboard, t.id, 5)
    wait_gone(t.pid, 2)
    for p in job:
        wait_gone(p.pid, 3)
    assert t.id not in listed(term_list(dashboard))
    msg = error_for(dashboard, {"cmd": "terminal_send", "terminal_id": t.id,
                                "data": "x"})
    assert "not found" in msg


def test_stop_shell_ignoring_sighup_is_killed(dashboard):
    t = start_term(dashboard)
    t.sh("trap '' HUP TERM INT")
    t0 = time.monotonic()
    t.stop()
    done = dashboard.wait_event({"event": "terminal_stop_completed",
                                 "terminal_id": t.id}, 6, since=0)
    took = time.monotonic() - t0
    assert done["status"] == "success", done
    assert took <= 3.0, "stop completed after %.1fs" % took
    ex = wait_exit(dashboard, t.id, 5)
    assert ex["returncode"] == -signal.SIGKILL, ex
    wait_gone(t.pid, 1)


def test_stop_unknown_terminal(dashboard):
    tid = secrets.token_hex(16)
    ev = dashboard.request({"cmd": "terminal_stop", "terminal_id": tid},
                           event="terminal_stopped")
    assert ev["status"] == "not_found" and ev["terminal_id"] == tid, ev
    assert ev["message"] == "Terminal was not found or already stopped"
    done = dashboard.wait_event({"event": "terminal_stop_completed",
                                 "terminal_id": tid}, 5, since=0)
    assert done["status"] == "not_found", done


def test_exit_codes_and_signals(dashboard):
    t = start_term(dashboard)
    t.send("exit 3\n")
    ex = wait_exit(dashboard, t.id)
    assert ex["returncode"] == 3, ex
    assert ex.get("project_id") is None

    t = start_term(dashboard)
    t.send("kill -9 $$\n")
    ex = wait_exit(dashboard, t.id)
    assert ex["returncode"] == -9, ex

    t = start_term(dashboard, shell="/bin/sh")
    t.send("exit 0\n")
    ex = wait_exit(dashboard, t.id)
    assert ex["returncode"] == 0, ex

    # the output printed just before the end is not lost
    t = start_term(dashboard)
    t.send("echo last-$((6*7)); exit 5\n")
    ex = wait_exit(dashboard, t.id)
    assert ex["returncode"] == 5
    assert "last-42" in t.text()

    deadline = time.monotonic() + 5
    while True:
        ids = listed(term_list(dashboard, "all"))
        if t.id not in ids:
            break
        assert ids[t.id]["status"] == "exited"
        assert time.monotonic() < deadline, "exited terminal still listed"
        time.sleep(0.1)
    assert dashboard.request({"cmd": "terminal_send", "terminal_id": t.id,
                              "data": "x"}, event="error")


# ---------------------------------------------------------------------------
# Projects and routing

def test_project_filtering_and_routing(gateway, dashboard):
    p1 = gateway.add_session("project", project_id="P1", folder="/tmp")
    p2 = gateway.add_session("project", project_id="P2", folder="/tmp")
    plain = start_term(dashboard)
    t = start_term(p1, project_id="P1")
    assert t.started["project_id"] == "P1"

    ids = listed(term_list(dashboard))
    assert t.id not in ids and plain.id in ids
    ids = listed(term_list(dashboard, None))
    assert t.id not in ids and plain.id in ids
    ev = term_list(dashboard, "P1")
    assert ev["project_id"] == "P1"
    ids = listed(ev)
    assert t.id in ids and plain.id not in ids
    assert ids[t.id]["project_id"] == "P1"
    ids = listed(term_list(dashboard, "all"))
    assert t.id in ids and plain.id in ids
    assert t.id not in listed(term_list(dashboard, "P2"))

    since = t.mark()
    t.send("echo proj-$((7*6))\n")
    t.wait(re.compile(r"proj-42\r\n"), 10, since)
    data = [e for e in p1.events_named("terminal_data")
            if e["channel"] == t.id]
    assert data and all(e["project_id"] == "P1" for e in data)
    # the project-less terminal's output reaches everybody: a barrier
    bm = plain.mark()
    plain.send("echo barrier-$((2+2))\n")
    plain.wait("barrier-4", 10, bm)
    for s in (p1, p2):
        Term(s, plain.started).wait("barrier-4", 10)
    for s, name in ((dashboard, "dashboard"), (p2, "project P2")):
        leaked = [e for e in s.events if e.get("channel") == t.id or
                  e.get("terminal_id") == t.id]
        assert not leaked, "%s got P1 terminal events: %s" % (
            name, [G.short(e, 150) for e in leaked])

    t.send("exit 4\n")
    ex = wait_exit(p1, t.id)
    assert ex["returncode"] == 4 and ex["project_id"] == "P1"
    time.sleep(0.3)
    assert not [e for e in dashboard.events if e.get("terminal_id") == t.id]


def test_send_ack_only_to_requester(gateway, dashboard):
    other = gateway.add_session("dashboard")
    t = start_term(dashboard)
    ack = dashboard.request({"cmd": "terminal_send", "terminal_id": t.id,
                             "data": "echo ack-$((1+2))\n"},
                            event="terminal_send_ack")
    assert ack["terminal_id"] == t.id
    # output comes after the ack on the one link: once `other` has the
    # output it would have had the ack
    t.wait("ack-3\r\n", 10)
    Term(other, t.started).wait("ack-3\r\n", 10)
    acks = other.events_named("terminal_send_ack")
    assert not acks, "another session got terminal_send_ack: %s" % acks


def test_new_session_gets_terminal_list(gateway, dashboard):
    t = start_term(dashboard)
    late = gateway.add_session("dashboard")
    ev = late.wait_event(lambda e: e.get("event") == "terminal_list" and
                         "request_id" not in e, 10)
    ids = listed(ev)
    assert t.id in ids and "@@" in ids[t.id]["buffer"]


# ---------------------------------------------------------------------------
# Links

def test_link_request_via_browser(dashboard):
    """$BROWSER points at the helper: the request, its fields, and the
    rate limit on repeats."""
    t = start_term(dashboard)
    url = "https://example.com/x?q=%s" % secrets.token_hex(4)
    out = t.sh('"$BROWSER" \'%s\'; echo "rc=""$?"' % url)
    assert "rc=0" in out_lines(out), out
    ev = dashboard.wait_event({"event": "terminal_link_request",
                               "url": url}, 5, since=0)
    assert ev["terminal_id"] == t.id and ev["channel"] == t.id
    assert ev["command"] == "xdg-open"
    assert ev.get("project_id") is None
    assert isinstance(ev.get("timestamp"), (int, float))
    assert abs(ev["timestamp"] - time.time()) < 60

    # repeats of one URL are rate-limited
    url4 = "https://example.com/r/%s" % secrets.token_hex(4)
    t.sh('for i in 1 2 3 4 5; do "$BROWSER" %s; done' % url4)
    dashboard.wait_event({"event": "terminal_link_request", "url": url4},
                         5, since=0)
    time.sleep(1.0)
    n = len([e for e in dashboard.events_named("terminal_link_request")
             if e.get("url") == url4])
    assert n == 1, "%d link requests for 5 quick repeats" % n


def test_link_openers_on_path(dashboard):
    """xdg-open and friends, looked up in the PATH the user's login shell
    ends up with, reach term; text-mode browsers are left alone."""
    t = start_term(dashboard)
    url = "https://example.com/x?q=%s" % secrets.token_hex(4)
    out = t.sh("xdg-open '%s'; echo \"rc=\"\"$?\"; echo \"P=\"\"$PATH\""
               % url)
    assert "rc=0" in out_lines(out), out
    ev = dashboard.wait_event({"event": "terminal_link_request",
                               "url": url}, 5, since=0)
    assert ev["terminal_id"] == t.id and ev["command"] == "xdg-open"

    url3 = "https://example.com/c/%s" % secrets.token_hex(4)
    t.sh("x-www-browser %s" % url3)
    ev = dashboard.wait_event({"event": "terminal_link_request",
                               "url": url3}, 5, since=0)
    assert ev["command"] == "x-www-browser"

    out = t.sh('d=$(dirname "$(command -v xdg-open)"); for b in lynx w3m '
               'links elinks xdg-open sensible-browser; do [ -e "$d/$b" ] && '
               'echo "HAS-$b"; done')
    lines = out_lines(out)
    assert "HAS-xdg-open" in lines and "HAS-sensible-browser" in lines, out
    for b in ("lynx", "w3m", "links", "elinks"):
        assert "HAS-%s" % b not in lines, out


# ---------------------------------------------------------------------------
# Bad arguments

def test_bad_arguments(dashboard):
    t = start_term(dashboard)
    unknown = secrets.token_hex(16)
    msg = error_for(dashboard, {"cmd": "terminal_send",
                                "terminal_id": unknown, "data": "x"})
    assert msg == "terminal_id %s not found" % unknown, msg
    msg = error_for(dashboard, {"cmd": "terminal_resize",
                                "terminal_id": unknown, "rows": 10,
                                "cols": 10})
    assert unknown in msg and "not found" in msg, msg

    msg = error_for(dashboard, {"cmd": "terminal_start", "rows": 0})
    assert "rows" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_start", "cols": 1001})
    assert "cols" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_start", "rows": "24"})
    assert "rows" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_resize", "terminal_id": t.id,
                                "rows": 0, "cols": 80})
    assert "rows" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_send", "terminal_id": t.id,
                                "data": 42})
    assert "data" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_send", "terminal_id": t.id})
    assert "data" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_send", "data": "x"})
    assert "terminal_id" in msg, msg

    msg = error_for(dashboard, {"cmd": "terminal_start",
                                "cwd": "/nonexistent/dir"})
    assert "/nonexistent/dir" in msg and "No such file" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_start", "cwd": "/etc/passwd"})
    assert "Not a directory" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_start", "cwd": "/root"})
    assert "Permission denied" in msg, msg
    msg = error_for(dashboard, {"cmd": "terminal_start",
                                "shell": "/nonexistent/shell"})
    assert "/nonexistent/shell" in msg, msg

    # none of that disturbed the terminal
    assert "ok-5" in t.sh("echo ok-$((2+3))")
    assert [s for s in term_list(dashboard)["sessions"]] and \
        len(listed(term_list(dashboard))) == 1
