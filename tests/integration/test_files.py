"""
Files (issue 4): file_read, file_write, directory_list, file_info,
file_delete, file_create, folder_create, file_rename and the AllowedRoots
policy, as a client of the loopback gateway sees them (reference sections
4.1-4.7).

The fs worker runs as the target user (pctest), so every test tree is a
fresh directory that pctest owns; "Permission denied" cases use directories
and files that belong to root.
"""

import codecs
import ctypes
import os
import re
import secrets
import signal
import stat
import threading
import time

import pytest

import gateway as G
from fshelp import call, check, chown_pc, pcuser, put, read

AUTH_TIMEOUT = 20.0


# ---------------------------------------------------------------------------
# helpers

def mkdir(root, rel, mode=0o755, owner="pc"):
    path = os.path.join(root, rel)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if owner == "pc":
        chown_pc(path)
    return path


def symlink(target, path):
    os.symlink(target, path)
    chown_pc(path)
    return path


def ok(s, payload, event, timeout=10.0):
    ev = call(s, payload, timeout)
    assert ev.get("event") == event, \
        "%s %s answered %s, expected %s" % (
            payload.get("cmd"), G.short({k: v for k, v in payload.items()
                                         if k != "content"}, 300),
            G.short(ev, 600), event)
    if "request_id" in payload:
        assert ev.get("request_id") == payload["request_id"], \
            "request_id not echoed in %s" % G.short(ev, 300)
    return ev


def fail(s, payload, timeout=10.0):
    """The command must be refused with an error event; its message."""
    ev = call(s, payload, timeout)
    assert ev.get("event") == "error", \
        "%s %s should fail with an error event, got %s" % (
            payload.get("cmd"), G.short({k: v for k, v in payload.items()
                                         if k != "content"}, 300),
            G.short(ev, 600))
    assert isinstance(ev.get("message"), str), ev
    return ev["message"]


def perms(path):
    return "%03o" % (os.stat(path).st_mode & 0o777)


def bring_up(launch, gateway, what):
    """Start the daemon in the test (not a fixture), so a rejected
    configuration is a test failure with the daemon's log."""
    d = launch()
    deadline = time.monotonic() + AUTH_TIMEOUT
    while not gateway.online:
        if not d.running() or time.monotonic() > deadline:
            time.sleep(0.2)
            raise AssertionError(
                "portacoded did not come up with %s (status %s); log:\n%s"
                % (what, d.proc.poll(), d.log_text(40)))
        time.sleep(0.05)
    return d, gateway.add_session("dashboard")


@pytest.fixture
def tree(workdir, users):
    """A fresh directory owned by the target user."""
    d = os.path.join(workdir, "tree")
    os.mkdir(d)
    os.chmod(d, 0o755)
    chown_pc(d)
    return d


@pytest.fixture
def home(users):
    return pcuser().pw_dir


# ---------------------------------------------------------------------------
# file_read

def test_read_whole_file(dashboard, tree):
    p = put(tree, "a.txt", "alpha\nbeta\ngamma\n")
    ev = ok(dashboard, {"cmd": "file_read", "path": p}, "file_read_response")
    check(ev, path=p, content="alpha\nbeta\ngamma\n", size=17, total_lines=3,
          returned_lines=3, start_line=1, requested_start_line=1,
          end_line=3, has_more_before=False, has_more_after=False,
          encoding="utf-8")

    p = put(tree, "empty.txt", "")
    ev = ok(dashboard, {"cmd": "file_read", "path": p}, "file_read_response")
    check(ev, content="", size=0, total_lines=0, returned_lines=0,
          start_line=None, end_line=None, requested_start_line=1,
          has_more_before=False, has_more_after=False)

    p = put(tree, "noeol.txt", "x\ny")
    ev = ok(dashboard, {"cmd": "file_read", "path": p}, "file_read_response")
    check(ev, content="x\ny", size=3, total_lines=2, returned_lines=2,
          end_line=2)

    # well under the default 16 MiB limit: returned whole
    text = "".join("row %06d %s\n" % (i, "é" * 20) for i in range(20000))
    p = put(tree, "big.txt", text)
    ev = ok(dashboard, {"cmd": "file_read", "path": p}, "file_read_response",
            timeout=20)
    assert ev.get("content") == text, "a %d-byte file was not returned " \
        "whole: got %d characters" % (len(text.encode()),
                                      len(ev.get("content") or ""))
    check(ev, total_lines=20000, returned_lines=20000,
          size=len(text.encode()), has_more_after=False)


def test_read_line_slicing(dashboard, tree):
    ten = "".join("line%d\n" % i for i in range(1, 11))
    p = put(tree, "ten.txt", ten)

    def lines(a, b):
        return "".join("line%d\n" % i for i in range(a, b + 1))

    cases = [
        ({"start_line": 3, "max_lines": 2},
         dict(content=lines(3, 4), start_line=3, end_line=4,
              returned_lines=2, requested_start_line=3,
              has_more_before=True, has_more_after=True)),
        ({"start_line": 3, "end_line": 5},
         dict(content=lines(3, 5), start_line=3, end_line=5,
              returned_lines=3, has_more_after=True)),
        ({"start_line": 3, "end_line": 5, "max_lines": 2},
         dict(content=lines(3, 4), end_line=4, returned_lines=2)),
        ({"start_line": 3, "end_line": 5, "max_lines": 9},
         dict(content=lines(3, 5), end_line=5, returned_lines=3)),
        ({"start_line": 3, "end_line": 20},
         dict(content=lines(3, 10), end_line=10, has_more_after=False)),
        # end_line before start_line is ignored
        ({"start_line": 5, "end_line": 2},
         dict(content=lines(5, 10), start_line=5, end_line=10,
              returned_lines=6, has_more_before=True,
              has_more_after=False)),
        ({"start_line": 0, "max_lines": 1},
         dict(content="line1\n", start_line=1, requested_start_line=1,
              has_more_before=False, has_more_after=True)),
        ({"start_line": -4, "max_lines": 1},
         dict(content="line1\n", start_line=1, requested_start_line=1)),
        ({"max_lines": 0},
         dict(content=ten, returned_lines=10, has_more_after=False)),
        ({"max_lines": -1},
         dict(content=ten, returned_lines=10)),
        ({"end_line": 0},
         dict(content=ten, returned_lines=10)),
        ({"start_line": 10},
         dict(content="line10\n", start_line=10, end_line=10,
              returned_lines=1, has_more_before=True,
              has_more_after=False)),
        ({"start_line": 11, "max_lines": 5},
         dict(content="", start_line=None, end_line=None, returned_lines=0,
              requested_start_line=11, has_more_before=False,
              has_more_after=False)),
    ]
    bad = []
    for args, want in cases:
        cmd = {"cmd": "file_read", "path": p}
        cmd.update(args)
        ev = ok(dashboard, cmd, "file_read_response")
        want = dict(want, total_lines=10, size=len(ten))
        diff = ["%s=%r (want %r)" % (k, ev.get(k, "<missing>"), v)
                for k, v in want.items() if ev.get(k, "<missing>") != v]
        if diff:
            bad.append("%s: %s" % (args, "; ".join(diff)))
    assert not bad, "line slicing differs from reference 4.1:\n" + \
        "\n".join(bad)


def test_read_cap_2000_lines_only_when_paging(dashboard, tree):
    text = "".join("l%d\n" % i for i in range(1, 2501))
    p = put(tree, "many.txt", text)
    ev = ok(dashboard, {"cmd": "file_read", "path": p, "max_lines": 5000},
            "file_read_response")
    check(ev, returned_lines=2000, start_line=1, end_line=2000,
          has_more_after=True, total_lines=2500)
    ev = ok(dashboard, {"cmd": "file_read", "path": p, "end_line": 2500},
            "file_read_response")
    check(ev, returned_lines=2000, end_line=2000, has_more_after=True)
    ev = ok(dashboard, {"cmd": "file_read", "path": p, "start_line": 2400,
                        "max_lines": 5000}, "file_read_response")
    check(ev, returned_lines=101, start_line=2400, end_line=2500,
          has_more_after=False, has_more_before=True)
    ev = ok(dashboard, {"cmd": "file_read", "path": p}, "file_read_response")
    check(ev, returned_lines=2500, end_line=2500, content=text)


def test_read_newlines_become_lf(dashboard, tree):
    cases = [
        (b"a\r\nb\r\nc", "a\nb\nc", 3),
        (b"a\rb\r", "a\nb\n", 2),
        (b"a\r\n\r\nb\rc\n", "a\n\nb\nc\n", 4),
    ]
    for i, (raw, text, n) in enumerate(cases):
        p = put(tree, "nl%d.txt" % i, raw)
        ev = ok(dashboard, {"cmd": "file_read", "path": p},
                "file_read_response")
        check(ev, content=text, total_lines=n, size=len(raw))
    # paging counts CR-only lines as lines
    p = put(tree, "cr.txt", b"1\r2\r3\r")
    ev = ok(dashboard, {"cmd": "file_read", "path": p, "start_line": 2,
                        "max_lines": 1}, "file_read_response")
    check(ev, content="2\n", start_line=2, end_line=2, total_lines=3)


def test_read_encodings(dashboard, tree):
    def rd(path, enc=None):
        cmd = {"cmd": "file_read", "path": path}
        if enc is not None:
            cmd["encoding"] = enc
        return ok(dashboard, cmd, "file_read_response")

    # utf-8: the default; invalid bytes become U+FFFD
    p = put(tree, "bad.txt", b"ok \xff\xfe end\n")
    check(rd(p), content="ok \ufffd\ufffd end\n", encoding="utf-8", size=10)
    p = put(tree, "good.txt", "héllo wörld € 😀\n")
    check(rd(p), content="héllo wörld € 😀\n")
    check(rd(p, "UTF-8"), content="héllo wörld € 😀\n")
    check(rd(p, "utf_8"), content="héllo wörld € 😀\n")

    # latin-1 and its aliases, case-insensitive, '-' and '_' alike
    p = put(tree, "latin.txt", b"caf\xe9 \xff\r\n")
    for enc in ("latin-1", "latin1", "iso-8859-1", "ISO-8859-1", "Latin_1",
                "iso_8859_1"):
        ev = rd(p, enc)
        check(ev, content="café ÿ\n", encoding=enc, size=8)

    # utf-16: the BOM decides, little-endian without one
    text = "héllo\r\nwörld\n"
    want = "héllo\nwörld\n"
    le = text.encode("utf-16-le")
    be = text.encode("utf-16-be")
    variants = [
        ("le-bom", codecs.BOM_UTF16_LE + le, "utf-16"),
        ("be-bom", codecs.BOM_UTF16_BE + be, "utf-16"),
        ("no-bom", le, "utf-16"),
        ("le", le, "utf-16-le"),
        ("be", be, "utf-16-be"),
        ("be-alias", be, "UTF_16_BE"),
        ("le-alias", le, "Utf-16_Le"),
    ]
    bad = []
    for name, raw, enc in variants:
        p = put(tree, "u16-%s.txt" % name, raw)
        ev = rd(p, enc)
        if (ev.get("content"), ev.get("total_lines"), ev.get("size")) != \
                (want, 2, len(raw)):
            bad.append("%s as %s: content %r total_lines %r size %r" % (
                name, enc, ev.get("content"), ev.get("total_lines"),
                ev.get("size")))
    assert not bad, "utf-16 decoding:\n" + "\n".join(bad)

    # ascii: bytes above 0x7f are invalid, each becomes U+FFFD
    p = put(tree, "ascii.txt", b"plain caf\xc3\xa9\n")
    check(rd(p, "ascii"), content="plain caf\ufffd\ufffd\n", encoding="ascii")

    msg = fail(dashboard, {"cmd": "file_read", "path": p,
                           "encoding": "klingon"})
    assert msg == "unknown encoding: klingon"


def test_read_errors(dashboard, tree):
    p = os.path.join(tree, "nope.txt")
    assert fail(dashboard, {"cmd": "file_read", "path": p}) == \
        "File not found: " + p

    d = mkdir(tree, "sub")
    msg = fail(dashboard, {"cmd": "file_read", "path": d})
    assert msg.startswith("Error reading file: "), msg

    locked = mkdir(tree, "locked", mode=0o700, owner="root")
    secret = put(locked, "s.txt", "secret\n", mode=0o600, owner="root")
    assert fail(dashboard, {"cmd": "file_read", "path": secret}) == \
        "Permission denied: " + secret

    mine = put(tree, "rootonly.txt", "secret\n", mode=0o600, owner="root")
    assert fail(dashboard, {"cmd": "file_read", "path": mine}) == \
        "Permission denied: " + mine


def test_read_relative_path_is_under_home(dashboard, home):
    name = "pcit-rel-%s.txt" % secrets.token_hex(4)
    path = os.path.join(home, name)
    try:
        put(home, name, "from home\n")
        for rel in (name, "./" + name):
            ev = ok(dashboard, {"cmd": "file_read", "path": rel},
                    "file_read_response")
            check(ev, path=rel, content="from home\n")
    finally:
        if os.path.exists(path):
            os.unlink(path)


@pytest.mark.daemon_conf("FileReadLimit 1K")
def test_read_limit(launch, gateway, tree):
    _, s = bring_up(launch, gateway, "FileReadLimit 1K")
    text = "".join("%-49d\n" % i for i in range(60))      # 3000 bytes
    big = put(tree, "big.txt", text)
    msg = fail(s, {"cmd": "file_read", "path": big})
    assert "too large" in msg and "start_line" in msg and \
        "max_lines" in msg, "whole read above FileReadLimit: %r should say " \
        "the file is too large and to page with start_line/max_lines" % msg

    ev = ok(s, {"cmd": "file_read", "path": big, "max_lines": 10},
            "file_read_response")
    check(ev, returned_lines=10, total_lines=60, has_more_after=True,
          content=text[:500], size=3000)
    ev = ok(s, {"cmd": "file_read", "path": big, "start_line": 51,
                "end_line": 60}, "file_read_response")
    check(ev, returned_lines=10, start_line=51, end_line=60,
          content=text[2500:])

    small = put(tree, "small.txt", "x" * 999 + "\n")
    ev = ok(s, {"cmd": "file_read", "path": small}, "file_read_response")
    check(ev, content="x" * 999 + "\n", returned_lines=1)


# ---------------------------------------------------------------------------
# file_write

def test_write_creates_file_and_parents(dashboard, tree):
    p = os.path.join(tree, "new", "deeper", "f.txt")
    content = "héllo\n€ 😀\n"
    ev = ok(dashboard, {"cmd": "file_write", "path": p, "content": content},
            "file_write_response")
    check(ev, path=p, bytes_written=len(content.encode()), success=True)
    assert read(p) == content.encode()
    assert os.listdir(os.path.dirname(p)) == ["f.txt"], \
        "left in the directory: %s" % os.listdir(os.path.dirname(p))
    st = os.stat(p)
    assert st.st_uid == pcuser().pw_uid, "new file owned by uid %d" % \
        st.st_uid
    for d in (os.path.join(tree, "new"), os.path.dirname(p)):
        assert os.stat(d).st_uid == pcuser().pw_uid

    # content defaults to ""
    p = os.path.join(tree, "empty.txt")
    ev = ok(dashboard, {"cmd": "file_write", "path": p},
            "file_write_response")
    check(ev, bytes_written=0, success=True)
    assert read(p) == b""
    assert sorted(os.listdir(tree)) == ["empty.txt", "new"], \
        "left in the directory: %s" % sorted(os.listdir(tree))


def test_write_replaces_atomically_and_keeps_mode(dashboard, tree):
    for mode in (0o640, 0o755, 0o600):
        p = put(tree, "m%o.txt" % mode, "old content\n", mode=mode)
        ino = os.stat(p).st_ino
        ev = ok(dashboard, {"cmd": "file_write", "path": p,
                            "content": "new content, longer\n"},
                "file_write_response")
        check(ev, success=True, bytes_written=20)
        st = os.stat(p)
        assert read(p) == b"new content, longer\n"
        assert stat.S_IMODE(st.st_mode) == mode, \
            "mode %03o became %03o" % (mode, stat.S_IMODE(st.st_mode))
        assert st.st_uid == pcuser().pw_uid
        assert st.st_ino != ino, "file_write rewrote the file in place " \
            "(same inode): not a temp file renamed over the target"
    assert sorted(os.listdir(tree)) == ["m600.txt", "m640.txt", "m755.txt"], \
        "left in the directory: %s" % sorted(os.listdir(tree))


def test_write_expected_mtime(dashboard, tree):
    p = put(tree, "m.txt", "v1\n")
    os.utime(p, ns=(1700000000123456789, 1700000000123456789))
    st = os.stat(p)
    ev = ok(dashboard, {"cmd": "file_write", "path": p, "content": "v2\n",
                        "expected_mtime": st.st_mtime}, "file_write_response")
    check(ev, success=True)
    assert read(p) == b"v2\n"

    # a stale mtime: refused, nothing written
    st = os.stat(p)
    msg = fail(dashboard, {"cmd": "file_write", "path": p, "content": "v3\n",
                           "expected_mtime": st.st_mtime - 1.5})
    assert msg.startswith("File was modified on disk"), msg
    assert read(p) == b"v2\n"
    assert os.stat(p).st_mtime_ns == st.st_mtime_ns

    # the file's own (nanosecond) mtime, as Python and file_info see it
    ev = ok(dashboard, {"cmd": "file_write", "path": p, "content": "v3\n",
                        "expected_mtime": os.stat(p).st_mtime},
            "file_write_response")
    assert read(p) == b"v3\n"
    info = ok(dashboard, {"cmd": "file_info", "path": p},
              "file_info_response")
    ev = ok(dashboard, {"cmd": "file_write", "path": p, "content": "v4\n",
                        "expected_mtime": info["modified"]},
            "file_write_response")
    assert read(p) == b"v4\n"

    missing = os.path.join(tree, "missing.txt")
    msg = fail(dashboard, {"cmd": "file_write", "path": missing,
                           "content": "x", "expected_mtime": 1.0})
    assert msg == "File not found: " + missing
    assert not os.path.exists(missing)
    assert sorted(os.listdir(tree)) == ["m.txt"], sorted(os.listdir(tree))


def test_write_errors(dashboard, tree):
    msg = fail(dashboard, {"cmd": "file_write", "content": "x"})
    assert msg == "path parameter is required"

    ro = mkdir(tree, "rootdir", mode=0o755, owner="root")
    p = os.path.join(ro, "x.txt")
    assert fail(dashboard, {"cmd": "file_write", "path": p,
                            "content": "x"}) == "Permission denied: " + p
    assert os.listdir(ro) == []

    f = put(tree, "plain.txt", "x")
    p = os.path.join(f, "under-a-file.txt")
    msg = fail(dashboard, {"cmd": "file_write", "path": p, "content": "x"})
    assert msg.startswith("Failed to write file: "), msg


# kill -9 of the fs worker during a large write: the target holds the old
# or the new content, and nothing else is left in the directory.  The kill
# comes a few ms after the command is sent, once fs has written some MiB
# (its write count in /proc/PID/io), or once a new name shows up next to
# the target.
WRITE_SIZE = 7 * 1024 * 1024        # the gateway link takes 8 MiB messages
KILL_POINTS = [("sent", 0), ("sent", 5), ("sent", 10), ("sent", 20),
               ("sent", 40), ("wchar", 2), ("newentry", 0)]


def _content(tag, size):
    line_len = 64
    n = size // line_len
    return "".join("%s-%07d-%s\n" % (tag, i, tag[0] * (line_len - 13))
                   for i in range(n))


def _wchar(pid):
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _wait_trigger(trigger, arg, tree, p, ino, fs_pid, w0):
    """Wait for the kill point; what was seen, for the report."""
    deadline = time.monotonic() + 5.0
    if trigger == "sent":
        t0 = time.monotonic()
        while time.monotonic() < t0 + arg / 1000.0:
            pass
        return "%d ms after sending" % arg
    while time.monotonic() < deadline:
        if trigger == "wchar":
            w = _wchar(fs_pid)
            if w is not None and w0 is not None and \
                    w - w0 >= arg * 1024 * 1024:
                return "fs had written %d bytes" % (w - w0)
        else:
            names = os.listdir(tree)
            if names != ["f.txt"]:
                return "entries %s" % names
        try:
            if os.stat(p).st_ino != ino:
                return "the target was already replaced"
        except FileNotFoundError:
            return "the target was missing"
    return "nothing seen within 5 s"


@pytest.mark.slow
@pytest.mark.parametrize("trigger,arg", KILL_POINTS,
                         ids=["%s-%d" % k for k in KILL_POINTS])
def test_write_survives_kill(online, dashboard, tree, workdir, trigger, arg):
    # file_write must work at all, or this test proves nothing
    probe = os.path.join(mkdir(workdir, "probe"), "p.txt")
    ok(dashboard, {"cmd": "file_write", "path": probe, "content": "probe"},
       "file_write_response")
    assert read(probe) == b"probe"

    old = _content("old", WRITE_SIZE).encode()
    new = _content("NEW", WRITE_SIZE)
    assert len(old) == len(new.encode())
    p = put(tree, "f.txt", old, mode=0o640)
    ino = os.stat(p).st_ino
    fs_pid = online.wait_roles(["fs"])["fs"]
    w0 = _wchar(fs_pid)

    dashboard.send({"cmd": "file_write", "path": p, "content": new,
                    "request_id": "killed-write"})
    seen = _wait_trigger(trigger, arg, tree, p, ino, fs_pid, w0)
    os.kill(fs_pid, signal.SIGKILL)

    online.wait_roles(["fs"], timeout=20, exclude={"fs": fs_pid})
    # every request gets an answer: the write's own, or an error for a
    # worker that went away (a command net still held may run in the new
    # fs, so wait for it before looking at the directory)
    answer = dashboard.wait_event(
        lambda e: e.get("request_id") == "killed-write", 30, since=0,
        what="an answer to the interrupted file_write")
    dashboard.request_retry({"cmd": "system_info"}, "system_info",
                            timeout=20)
    where = "kill at %s (answer: %s)" % (seen, G.short(answer, 200))

    data = read(p)
    if answer.get("event") == "file_write_response" and \
            answer.get("success"):
        assert data == new.encode(), \
            "%s: the write was reported done but the file is not the new " \
            "content" % where
    if data != old and data != new.encode():
        at = next((i for i in range(min(len(data), len(old)))
                   if data[i] != old[i]), None)
        at_new = next((i for i in range(min(len(data), len(old)))
                       if data[i] != new.encode()[i]), None)
        pytest.fail("%s: the file is neither the old nor the new content: "
                    "%d bytes, first difference from old at %s, from new at "
                    "%s" % (where, len(data), at, at_new))
    assert os.listdir(tree) == ["f.txt"], \
        "%s: left in the directory after fs restarted: %s" % (
            where, sorted(os.listdir(tree)))
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640, where

    # and the restarted fs writes the file normally
    ok(dashboard, {"cmd": "file_write", "path": p, "content": "after"},
       "file_write_response")
    assert read(p) == b"after" and os.listdir(tree) == ["f.txt"]


# ---------------------------------------------------------------------------
# directory_list

def _names(ev):
    return [i.get("name") for i in ev.get("items", [])]


def test_list_sorted_items_and_fields(dashboard, tree):
    names = ["b", "B", "a", "_u", "Z10", "Z2", "é", "10", "9"]
    for n in names:
        put(tree, n, n * 3)
    put(tree, ".hidden", "h")
    put(tree, "perm.txt", "12345", mode=0o640)
    mkdir(tree, "sub")
    symlink("perm.txt", os.path.join(tree, "lfile"))
    symlink("sub", os.path.join(tree, "ldir"))
    symlink("does-not-exist", os.path.join(tree, "dead"))

    ev = ok(dashboard, {"cmd": "directory_list", "path": tree},
            "directory_list_response")
    visible = names + ["perm.txt", "sub", "lfile", "ldir"]
    want = sorted(visible, key=lambda n: n.encode())
    assert _names(ev) == want, "names not in byte order, or hidden/broken " \
        "entries shown: got %s, want %s" % (_names(ev), want)
    check(ev, path=tree, count=len(want), total_count=len(want), offset=0,
          limit=None, has_more=False)

    items = {i["name"]: i for i in ev["items"]}
    bad = []
    for name, item in items.items():
        full = os.path.join(tree, name)
        st = os.stat(full)
        want_item = {"is_dir": os.path.isdir(full),
                     "is_file": os.path.isfile(full),
                     "size": st.st_size,
                     "permissions": "%03o" % (st.st_mode & 0o777)}
        for k, v in want_item.items():
            if item.get(k) != v:
                bad.append("%s.%s=%r (want %r)" % (name, k, item.get(k), v))
        if set(item) != {"name", "is_dir", "is_file", "size", "modified",
                         "permissions"}:
            bad.append("%s has fields %s" % (name, sorted(item)))
        if not isinstance(item.get("modified"), (int, float)) or \
                abs(item["modified"] - st.st_mtime) > 1e-6:
            bad.append("%s.modified=%r (want %r)" % (
                name, item.get("modified"), st.st_mtime))
    assert not bad, "\n".join(bad)
    assert items["perm.txt"]["permissions"] == "640"
    assert items["ldir"]["is_dir"] and items["lfile"]["is_file"]

    ev = ok(dashboard, {"cmd": "directory_list", "path": tree,
                        "show_hidden": True}, "directory_list_response")
    assert _names(ev) == sorted(visible + [".hidden"],
                                key=lambda n: n.encode())


def test_list_pagination_and_clamps(dashboard, tree):
    all_names = ["f%02d" % i for i in range(25)]
    for n in reversed(all_names):
        put(tree, n, "")

    def page(**kw):
        cmd = {"cmd": "directory_list", "path": tree}
        cmd.update(kw)
        return ok(dashboard, cmd, "directory_list_response")

    got = []
    for off, count, more in ((0, 10, True), (10, 10, True), (20, 5, False)):
        ev = page(offset=off, limit=10)
        check(ev, offset=off, limit=10, count=count, total_count=25,
              has_more=more)
        got += _names(ev)
    assert got == all_names, "pages are not a stable sorted split: %s" % got

    check(page(offset=30, limit=10), items=[], count=0, total_count=25,
          has_more=False)
    ev = page(limit=0)
    check(ev, limit=1, count=1, has_more=True)
    assert _names(ev) == ["f00"]
    check(page(limit=-5), limit=1, count=1)
    check(page(limit=5000), limit=1000, count=25, has_more=False)
    ev = page(offset=-3, limit=2)
    check(ev, offset=0, count=2)
    assert _names(ev) == ["f00", "f01"]


def test_list_default_path_is_home(dashboard, home):
    name = "pcit-list-%s" % secrets.token_hex(4)
    path = put(home, name, "x")
    try:
        ev = ok(dashboard, {"cmd": "directory_list"},
                "directory_list_response")
        check(ev, path=".")
        assert name in _names(ev), "%s not listed in the default (home) " \
            "directory: %s" % (name, _names(ev)[:50])
    finally:
        os.unlink(path)


def test_list_errors(dashboard, tree):
    p = os.path.join(tree, "nope")
    assert fail(dashboard, {"cmd": "directory_list", "path": p}) == \
        "Directory not found: " + p
    f = put(tree, "file.txt", "x")
    assert fail(dashboard, {"cmd": "directory_list", "path": f}) == \
        "Path is not a directory: " + f
    locked = mkdir(tree, "locked", mode=0o700, owner="root")
    assert fail(dashboard, {"cmd": "directory_list", "path": locked}) == \
        "Permission denied: " + locked


# ---------------------------------------------------------------------------
# file_info

def test_file_info(dashboard, tree):
    p = put(tree, "i.txt", "12345", mode=0o640)
    st = os.stat(p)
    ev = ok(dashboard, {"cmd": "file_info", "path": p}, "file_info_response")
    check(ev, path=p, exists=True, is_file=True, is_dir=False,
          is_symlink=False, size=5, permissions="640",
          owner_uid=pcuser().pw_uid, group_gid=pcuser().pw_gid)
    for k, v in (("modified", st.st_mtime), ("accessed", st.st_atime),
                 ("created", st.st_ctime)):
        assert isinstance(ev.get(k), (int, float)) and \
            abs(ev[k] - v) < 1e-6, "%s=%r, want %r" % (k, ev.get(k), v)

    d = mkdir(tree, "d", mode=0o750)
    check(ok(dashboard, {"cmd": "file_info", "path": d}, "file_info_response"),
          exists=True, is_dir=True, is_file=False, permissions="750")

    ln = symlink("i.txt", os.path.join(tree, "ln"))
    check(ok(dashboard, {"cmd": "file_info", "path": ln},
             "file_info_response"),
          exists=True, is_symlink=True, is_file=True, size=5)

    for missing in (os.path.join(tree, "nope"),
                    symlink("nowhere", os.path.join(tree, "dead"))):
        ev = ok(dashboard, {"cmd": "file_info", "path": missing},
                "file_info_response")
        assert ev.get("exists") is False and ev.get("path") == missing, ev

    locked = mkdir(tree, "locked", mode=0o700, owner="root")
    s = put(locked, "s", "x", owner="root")
    assert fail(dashboard, {"cmd": "file_info", "path": s}) == \
        "Permission denied: " + s
    assert fail(dashboard, {"cmd": "file_info"}) == \
        "path parameter is required"


# ---------------------------------------------------------------------------
# file_delete

def test_file_delete(dashboard, tree, workdir):
    f = put(tree, "f.txt", "x")
    check(ok(dashboard, {"cmd": "file_delete", "path": f},
             "file_delete_response"),
          path=f, deleted_type="file", success=True)
    assert not os.path.lexists(f)

    target = put(tree, "target.txt", "keep")
    ln = symlink(target, os.path.join(tree, "ln"))
    check(ok(dashboard, {"cmd": "file_delete", "path": ln},
             "file_delete_response"), deleted_type="file")
    assert not os.path.lexists(ln) and read(target) == b"keep"

    e = mkdir(tree, "empty")
    check(ok(dashboard, {"cmd": "file_delete", "path": e},
             "file_delete_response"), deleted_type="directory", success=True)
    assert not os.path.exists(e)

    full = mkdir(tree, "full")
    put(full, "a/b/c.txt", "x")
    assert fail(dashboard, {"cmd": "file_delete", "path": full}) == \
        "Directory not empty (use recursive=True): " + full
    assert os.path.exists(os.path.join(full, "a/b/c.txt"))

    # recursive: removes the tree, never what a symlink inside points to
    outside = mkdir(workdir, "outside")
    put(outside, "precious.txt", "keep")
    symlink(outside, os.path.join(full, "to-outside"))
    check(ok(dashboard, {"cmd": "file_delete", "path": full,
                         "recursive": True}, "file_delete_response"),
          deleted_type="directory", success=True)
    assert not os.path.lexists(full)
    assert read(os.path.join(outside, "precious.txt")) == b"keep"

    p = os.path.join(tree, "nope")
    assert fail(dashboard, {"cmd": "file_delete", "path": p}) == \
        "Path does not exist: " + p

    ro = mkdir(tree, "rootdir", owner="root")
    rf = put(ro, "r.txt", "x", owner="root")
    assert fail(dashboard, {"cmd": "file_delete", "path": rf}) == \
        "Permission denied: " + rf
    assert os.path.exists(rf)


# ---------------------------------------------------------------------------
# file_create / folder_create / file_rename

def test_file_create(dashboard, tree):
    ev = ok(dashboard, {"cmd": "file_create", "parent_path": tree,
                        "file_name": "new.txt", "content": "héllo\n"},
            "file_create_response")
    p = os.path.join(tree, "new.txt")
    check(ev, parent_path=tree, file_name="new.txt", file_path=p,
          success=True)
    assert read(p) == "héllo\n".encode()

    ok(dashboard, {"cmd": "file_create", "parent_path": tree,
                   "file_name": "blank.txt"}, "file_create_response")
    assert read(os.path.join(tree, "blank.txt")) == b""

    assert fail(dashboard, {"cmd": "file_create", "parent_path": tree,
                            "file_name": "new.txt", "content": "other"}) == \
        "File already exists: new.txt"
    assert read(p) == "héllo\n".encode()

    for bad in ("a/b", "a\\b", ".", ".."):
        assert fail(dashboard, {"cmd": "file_create", "parent_path": tree,
                                "file_name": bad}) == "Invalid file name", bad

    missing = os.path.join(tree, "nodir")
    msg = fail(dashboard, {"cmd": "file_create", "parent_path": missing,
                           "file_name": "x"})
    assert msg == "Parent directory does not exist: " + missing, msg
    msg = fail(dashboard, {"cmd": "file_create", "parent_path": p,
                           "file_name": "x"})
    assert msg == "Parent path is not a directory: " + p, msg
    assert sorted(os.listdir(tree)) == ["blank.txt", "new.txt"]


def test_folder_create(dashboard, tree):
    ev = ok(dashboard, {"cmd": "folder_create", "parent_path": tree,
                        "folder_name": "dir"}, "folder_create_response")
    d = os.path.join(tree, "dir")
    check(ev, parent_path=tree, folder_name="dir", folder_path=d,
          success=True)
    assert os.path.isdir(d) and os.stat(d).st_uid == pcuser().pw_uid

    assert fail(dashboard, {"cmd": "folder_create", "parent_path": tree,
                            "folder_name": "dir"}) == \
        "Folder already exists: dir"
    for bad in ("a/b", "a\\b", ".", ".."):
        assert fail(dashboard, {"cmd": "folder_create", "parent_path": tree,
                                "folder_name": bad}) == \
            "Invalid folder name", bad
    # no parents are made
    missing = os.path.join(tree, "x", "y")
    msg = fail(dashboard, {"cmd": "folder_create", "parent_path": missing,
                           "folder_name": "z"})
    assert msg == "Parent directory does not exist: " + missing, msg
    assert not os.path.exists(os.path.join(tree, "x"))
    f = put(tree, "f", "")
    assert fail(dashboard, {"cmd": "folder_create", "parent_path": f,
                            "folder_name": "z"}) == \
        "Parent path is not a directory: " + f


def test_file_rename(dashboard, tree):
    a = put(tree, "a.txt", "A")
    ev = ok(dashboard, {"cmd": "file_rename", "old_path": a,
                        "new_name": "b.txt"}, "file_rename_response")
    b = os.path.join(tree, "b.txt")
    check(ev, old_path=a, new_path=b, new_name="b.txt", is_directory=False,
          success=True)
    assert read(b) == b"A" and not os.path.exists(a)

    d = mkdir(tree, "d1")
    put(d, "inner", "i")
    ev = ok(dashboard, {"cmd": "file_rename", "old_path": d,
                        "new_name": "d2"}, "file_rename_response")
    check(ev, new_path=os.path.join(tree, "d2"), is_directory=True)
    assert read(os.path.join(tree, "d2", "inner")) == b"i"

    c = put(tree, "c.txt", "C")
    assert fail(dashboard, {"cmd": "file_rename", "old_path": c,
                            "new_name": "b.txt"}) == \
        "Target already exists: b.txt"
    assert read(b) == b"A" and read(c) == b"C"

    p = os.path.join(tree, "nope")
    assert fail(dashboard, {"cmd": "file_rename", "old_path": p,
                            "new_name": "x"}) == "Path does not exist: " + p
    for bad in ("x/y", "x\\y", ".", ".."):
        assert fail(dashboard, {"cmd": "file_rename", "old_path": c,
                                "new_name": bad}) == "Invalid new name", bad
    assert sorted(os.listdir(tree)) == ["b.txt", "c.txt", "d2"]


# ---------------------------------------------------------------------------
# AllowedRoots

class Jail:
    pass


@pytest.fixture
def jail(request, workdir, users, gateway):
    """
    AllowedRoots = <workdir>/confined/root.  Next to it, outside the
    root but writable by the target user (so only the policy can stop a
    write there): <workdir>/confined/outside.  The daemon is started here,
    after the marker with the root is added.
    """
    j = Jail()
    base = mkdir(workdir, "confined")
    j.root = mkdir(base, "root")
    j.outside = mkdir(base, "outside")
    j.secret = put(j.outside, "secret.txt", "OUTSIDE-SECRET\n")
    put(j.root, "in.txt", "INSIDE\n")
    mkdir(j.root, "sub")
    put(j.root, "sub/deep.txt", "DEEP\n")
    symlink("in.txt", os.path.join(j.root, "inlink"))
    symlink("/etc/passwd", os.path.join(j.root, "abs_passwd"))
    symlink("/etc", os.path.join(j.root, "abs_etc"))
    symlink(j.outside, os.path.join(j.root, "out_dir"))
    symlink("../outside/secret.txt", os.path.join(j.root, "rel_out"))
    symlink(os.path.join(j.outside, "dangling.txt"),
            os.path.join(j.root, "dangling"))
    symlink("../outside/dangling_rel.txt",
            os.path.join(j.root, "dangling_rel"))
    j.outside_names = sorted(os.listdir(j.outside))
    request.node.add_marker(pytest.mark.daemon_conf("AllowedRoots %s"
                                                    % j.root))
    launch = request.getfixturevalue("launch")
    j.daemon, j.s = bring_up(launch, gateway, "AllowedRoots " + j.root)
    return j


def _denied(j, payload, paths, problems, what=None):
    """The command must be refused naming one of paths and AllowedRoots."""
    ev = call(j.s, payload)
    what = what or "%s %s" % (payload["cmd"], G.short(
        {k: v for k, v in payload.items() if k != "cmd"}, 200))
    if ev.get("event") != "error":
        problems.append("%s: not refused, got %s" % (what, G.short(ev, 300)))
        return
    msg = ev.get("message", "")
    if "AllowedRoots" not in msg or not any(p in msg for p in paths):
        problems.append("%s: error %r should name the path (%s) and "
                        "AllowedRoots" % (what, msg, " or ".join(paths)))


def test_allowed_roots_inside_works(jail):
    j = jail
    s = j.s
    ev = ok(s, {"cmd": "file_read", "path": os.path.join(j.root, "in.txt")},
            "file_read_response")
    check(ev, content="INSIDE\n")
    ev = ok(s, {"cmd": "file_read", "path": os.path.join(j.root, "inlink")},
            "file_read_response")
    check(ev, content="INSIDE\n")
    ev = ok(s, {"cmd": "file_read",
                "path": os.path.join(j.root, "sub", "..", "in.txt")},
            "file_read_response")
    check(ev, content="INSIDE\n")
    p = os.path.join(j.root, "sub", "new", "w.txt")
    ok(s, {"cmd": "file_write", "path": p, "content": "w"},
       "file_write_response")
    assert read(p) == b"w"
    ev = ok(s, {"cmd": "directory_list", "path": j.root},
            "directory_list_response")
    assert "in.txt" in _names(ev) and "sub" in _names(ev)
    check(ok(s, {"cmd": "file_info", "path": os.path.join(j.root, "sub")},
             "file_info_response"), exists=True, is_dir=True)
    ok(s, {"cmd": "file_create", "parent_path": os.path.join(j.root, "sub"),
           "file_name": "c.txt", "content": "c"}, "file_create_response")
    ok(s, {"cmd": "folder_create", "parent_path": j.root,
           "folder_name": "made"}, "folder_create_response")
    ok(s, {"cmd": "file_rename", "old_path": os.path.join(j.root, "made"),
           "new_name": "made2"}, "file_rename_response")
    ok(s, {"cmd": "file_delete", "path": os.path.join(j.root, "made2")},
       "file_delete_response")
    ev = ok(s, {"cmd": "file_search", "root_path": j.root, "query": "INSIDE",
                "include_patterns": ["*"]}, "file_search_response")
    rels = sorted(m["relative_path"] for m in ev["matches"])
    assert rels == ["in.txt"], "search inside the root found %s" % rels


def test_allowed_roots_escapes_refused(jail):
    j = jail
    r = j.root
    o = j.outside
    problems = []
    proc_root = "/proc/self/root" + j.secret

    reads = [
        os.path.join(r, "..", "outside", "secret.txt"),
        os.path.join(r, "sub", "..", "..", "outside", "secret.txt"),
        "/etc/passwd",
        os.path.join(r, "abs_passwd"),
        os.path.join(r, "abs_etc", "passwd"),
        os.path.join(r, "rel_out"),
        os.path.join(r, "out_dir", "secret.txt"),
        proc_root,
        "/proc/self/root" + os.path.join(r, "in.txt"),
        "relative-to-home.txt",
    ]
    for p in reads:
        _denied(j, {"cmd": "file_read", "path": p},
                [p, os.path.normpath(p)], problems)
        _denied(j, {"cmd": "file_info", "path": p},
                [p, os.path.normpath(p)], problems)

    for p in (os.path.join(r, ".."), o, "/etc", os.path.join(r, "abs_etc"),
              os.path.join(r, "out_dir"), "/proc/self/root" + o):
        _denied(j, {"cmd": "directory_list", "path": p},
                [p, os.path.normpath(p)], problems)
        _denied(j, {"cmd": "file_search", "root_path": p, "query": "SECRET"},
                [p, os.path.normpath(p)], problems)

    # writes and creations through links must not create anything outside
    writes = [
        os.path.join(r, "dangling"),
        os.path.join(r, "dangling_rel"),
        os.path.join(r, "out_dir", "w.txt"),
        os.path.join(r, "..", "outside", "w2.txt"),
        "/proc/self/root" + os.path.join(o, "w3.txt"),
        j.secret,
    ]
    for p in writes:
        _denied(j, {"cmd": "file_write", "path": p, "content": "PWNED"},
                [p, os.path.normpath(p)], problems)
    for name in ("dangling", "dangling_rel"):
        ev = call(j.s, {"cmd": "file_create", "parent_path": r,
                        "file_name": name, "content": "PWNED"})
        if ev.get("event") != "error":
            problems.append("file_create through the dangling link %s: not "
                            "refused: %s" % (name, G.short(ev, 300)))
    for parent in (os.path.join(r, "out_dir"), o, os.path.join(r, "..")):
        _denied(j, {"cmd": "file_create", "parent_path": parent,
                    "file_name": "c.txt", "content": "PWNED"},
                [parent, os.path.normpath(parent),
                 os.path.join(parent, "c.txt")], problems)
        _denied(j, {"cmd": "folder_create", "parent_path": parent,
                    "folder_name": "newdir"},
                [parent, os.path.normpath(parent),
                 os.path.join(parent, "newdir")], problems)

    _denied(j, {"cmd": "file_delete", "path": j.secret}, [j.secret],
            problems)
    p = os.path.join(r, "out_dir", "secret.txt")
    _denied(j, {"cmd": "file_delete", "path": p}, [p], problems)
    _denied(j, {"cmd": "file_rename", "old_path": j.secret,
                "new_name": "moved.txt"}, [j.secret], problems)
    p = os.path.join(r, "out_dir", "secret.txt")
    _denied(j, {"cmd": "file_rename", "old_path": p, "new_name": "moved.txt"},
            [p], problems)

    # diffs: an absolute target outside, and a base_path outside
    diff = ("--- %s\n+++ %s\n@@ -1 +1 @@\n-OUTSIDE-SECRET\n+PWNED\n"
            % (j.secret, j.secret))
    for base in (r, o):
        ev = call(j.s, {"cmd": "file_apply_diff", "diff": diff,
                        "base_path": base})
        text = repr(ev)
        if ev.get("event") == "error":
            ok_refusal = "AllowedRoots" in ev.get("message", "")
        else:
            ok_refusal = ev.get("event") == "file_apply_diff_response" and \
                ev.get("success") is False and ev.get("files_changed") == 0 \
                and "AllowedRoots" in text
        if not ok_refusal:
            problems.append("file_apply_diff (base %s) of %s: not refused "
                            "with AllowedRoots: %s"
                            % (base, j.secret, G.short(ev, 400)))

    after = sorted(os.listdir(o))
    if after != j.outside_names:
        problems.append("files appeared outside the root: %s -> %s"
                        % (j.outside_names, after))
    if read(j.secret) != b"OUTSIDE-SECRET\n":
        problems.append("the file outside the root was changed: %r"
                        % read(j.secret))
    assert not problems, "AllowedRoots %s let through or misreported:\n" % \
        r + "\n".join(problems)
    # the symlinks themselves are still there, nothing followed them
    assert os.path.islink(os.path.join(r, "dangling"))
    assert not os.path.exists(os.path.join(o, "dangling.txt"))


RENAME_EXCHANGE = 2


def _exchange(libc, a, b):
    if libc.renameat2(-100, a.encode(), -100, b.encode(),
                      RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


@pytest.mark.slow
def test_allowed_roots_swap_race(jail):
    """
    A thread keeps exchanging root/sw (a real directory) with a symlink to
    /etc or to the outside directory, while 1000 reads, stats and writes
    go through root/sw.  Nothing may be read from or created outside.
    """
    j = jail
    r = j.root
    sw = mkdir(r, "sw")
    put(sw, "passwd", "INSIDE")                 # 6 bytes
    put(sw, "f.txt", "INSIDE")
    put(j.outside, "passwd", "OUTSIDE!!")        # 9 bytes
    put(j.outside, "f.txt", "OUTSIDE!!")
    outside_before = sorted(os.listdir(j.outside))
    links = [symlink("/etc", os.path.join(r, "l_etc")),
             symlink(j.outside, os.path.join(r, "l_out"))]
    etc_passwd_size = os.stat("/etc/passwd").st_size
    libc = ctypes.CDLL(None, use_errno=True)
    stop = threading.Event()
    swaps = [0]
    errors = []

    def swapper():
        try:
            while not stop.is_set():
                for ln in links:
                    _exchange(libc, sw, ln)     # sw is now the link
                    time.sleep(0.0003)
                    _exchange(libc, sw, ln)     # and the directory again
                    swaps[0] += 1
                    time.sleep(0.0002)
        except Exception as e:          # reported by the main thread
            errors.append(e)

    payloads = []
    for i in range(1000):
        k = i % 3
        if k == 0:
            payloads.append({"cmd": "file_read",
                             "path": os.path.join(sw, "passwd")})
        elif k == 1:
            payloads.append({"cmd": "file_info",
                             "path": os.path.join(sw, "f.txt")})
        else:
            payloads.append({"cmd": "file_write",
                             "path": os.path.join(sw, "w%04d.txt" % i),
                             "content": "W%d" % i})
    s = j.s
    answers = {}
    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    try:
        for start in range(0, len(payloads), 100):
            batch = []
            since = s.mark()
            for i in range(start, min(start + 100, len(payloads))):
                p = dict(payloads[i], request_id="race-%d" % i)
                batch.append(p["request_id"])
                s.send(p)
            want = set(batch)

            def done():
                got = 0
                for e in s.events[since:]:
                    if e.get("request_id") in want:
                        answers[e["request_id"]] = e
                        got += 1
                    elif e.get("event") == "error" and \
                            "request_id" not in e:
                        got += 1
                return got >= len(batch)
            s.gw._wait(done, 30, lambda: "race batch at %d: %d of %d "
                       "answered" % (start, len(
                           [b for b in batch if b in answers]), len(batch)))
    finally:
        stop.set()
        t.join(5)
    assert not errors, "the swapping thread failed: %s" % errors
    assert os.path.isdir(sw) and not os.path.islink(sw)

    leaks = []
    n_ok = {"file_read": 0, "file_info": 0, "file_write": 0}
    for i, p in enumerate(payloads):
        ev = answers.get("race-%d" % i)
        if ev is None or ev.get("event") == "error":
            continue
        cmd = p["cmd"]
        if cmd == "file_read":
            if ev.get("content") != "INSIDE":
                leaks.append("read %d returned %r" % (
                    i, (ev.get("content") or "")[:60]))
            else:
                n_ok[cmd] += 1
        elif cmd == "file_info":
            if ev.get("exists") and ev.get("size") != 6:
                leaks.append("file_info %d saw size %r (inside 6, outside 9, "
                             "/etc/passwd %d)" % (i, ev.get("size"),
                                                  etc_passwd_size))
            elif ev.get("exists"):
                n_ok[cmd] += 1
        else:
            name = os.path.basename(p["path"])
            if not os.path.exists(os.path.join(sw, name)):
                leaks.append("write %d reported success but %s is not in "
                             "the real directory" % (i, name))
            else:
                n_ok[cmd] += 1
    outside_after = sorted(os.listdir(j.outside))
    if outside_after != outside_before:
        leaks.append("created outside the root: %s" % sorted(
            set(outside_after) - set(outside_before)))
    etc_new = [n for n in os.listdir("/etc") if re.match(r"w\d{4}\.txt$", n)]
    if etc_new:
        leaks.append("created in /etc: %s" % etc_new)
    assert not leaks, "escapes during %d swaps:\n%s" % (
        swaps[0], "\n".join(leaks[:30]))
    assert swaps[0] > 0, "the swapping thread never ran"
    assert all(v > 0 for v in n_ok.values()), \
        "some operation kinds never succeeded through the real directory: " \
        "%s (%d swaps)" % (n_ok, swaps[0])
