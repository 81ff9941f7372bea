"""
file_apply_diff and file_preview_diff (issue 4, reference section 5): inline
directives, unified diffs with hunk counts honoured, creations, deletions,
moves, partial failure, fuzzed offsets, CRLF and missing final newlines,
malformed diffs that must write nothing, previews that never write, and the
responses' routing (only to the requesting session).
"""

import os
import re
import secrets
import subprocess

import pytest

import gateway as G
from fshelp import call, check, chown_pc, pcuser, put, read


# ---------------------------------------------------------------------------
# helpers

def snapshot(root):
    """Every entry under root: content, mtime and mode (links as links)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if os.path.islink(p):
                out[p] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[p] = ("dir", st.st_mode)
            else:
                out[p] = (read(p), st.st_mtime_ns, st.st_mode)
    return out


def same(before, after):
    changed = sorted(k for k in set(before) | set(after)
                     if before.get(k) != after.get(k))
    return changed


def _diff_cmd(s, cmd, event, diff, base, kw):
    payload = {"cmd": cmd, "diff": diff,
               "request_id": "d-" + secrets.token_hex(6)}
    if base is not None:
        payload["base_path"] = base
    payload.update(kw)
    ev = call(s, payload)
    assert ev.get("event") == event, "%s answered %s, expected %s" % (
        cmd, G.short(ev, 800), event)
    assert ev.get("request_id") == payload["request_id"], \
        "request_id not echoed: %s" % G.short(ev, 300)
    return ev


def apply(s, diff, base, **kw):
    return _diff_cmd(s, "file_apply_diff", "file_apply_diff_response", diff,
                     base, kw)


def preview(s, diff, base, **kw):
    return _diff_cmd(s, "file_preview_diff", "file_preview_diff_response",
                     diff, base, kw)


def applied(r, path, action, nbytes=None):
    """One results[] entry of a successful file."""
    assert r.get("status") == "applied", "result for %s: %s" % (path, r)
    assert r.get("path") == path and r.get("action") == action, \
        "result %s, want path %s action %s" % (r, path, action)
    if nbytes is not None:
        assert r.get("bytes_written") == nbytes, r
    assert not r.get("heuristic_adjustments"), r


def udiff(old, new, name, creation=False):
    """GNU diff -u of two byte strings, labelled like git."""
    d = "/tmp/pcit-udiff-%s" % secrets.token_hex(4)
    os.mkdir(d)
    try:
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        with open(a, "wb") as f:
            f.write(old)
        with open(b, "wb") as f:
            f.write(new)
        r = subprocess.run(["diff", "-u", "--label",
                            "/dev/null" if creation else "a/" + name,
                            "--label", "b/" + name, a, b],
                           capture_output=True)
        assert r.returncode == 1, r
        return r.stdout.decode("utf-8")
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


@pytest.fixture
def tree(workdir, users):
    d = os.path.join(workdir, "tree")
    os.mkdir(d)
    os.chmod(d, 0o755)
    chown_pc(d)
    return d


# ---------------------------------------------------------------------------
# file_apply_diff

def test_apply_modify(dashboard, tree):
    f = put(tree, "f.txt", "one\ntwo\nthree\nfour\nfive\n")
    diff = ("--- a/f.txt\n+++ b/f.txt\n@@ -2,3 +2,3 @@\n"
            " two\n-three\n+THREE\n four\n")
    ev = apply(dashboard, diff, tree)
    new = b"one\ntwo\nTHREE\nfour\nfive\n"
    check(ev, base_path=tree, files_changed=1, status="success",
          success=True, project_id=None)
    assert len(ev["results"]) == 1, ev["results"]
    applied(ev["results"][0], f, "modified", len(new))
    assert read(f) == new
    assert os.listdir(tree) == ["f.txt"], "left behind: %s" % os.listdir(tree)


def test_apply_multiple_files_create_delete(dashboard, tree):
    m1 = put(tree, "m1.txt", "a\nb\nc\n")
    gone = put(tree, "gone.txt", "g1\ng2\n")
    diff = (
        "diff --git a/m1.txt b/m1.txt\n"
        "index 1111111..2222222 100644\n"
        "--- a/m1.txt\n+++ b/m1.txt\n"
        "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        "diff --git a/new/dir/n.txt b/new/dir/n.txt\n"
        "new file mode 100644\n"
        "index 0000000..3333333\n"
        "--- /dev/null\n+++ b/new/dir/n.txt\n"
        "@@ -0,0 +1,2 @@\n+n1\n+n2 é\n"
        "diff --git a/gone.txt b/gone.txt\n"
        "deleted file mode 100644\n"
        "--- a/gone.txt\n+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n-g1\n-g2\n")
    ev = apply(dashboard, diff, tree)
    check(ev, files_changed=3, status="success", success=True)
    r = ev["results"]
    assert len(r) == 3, r
    n = os.path.join(tree, "new", "dir", "n.txt")
    applied(r[0], m1, "modified", 6)
    applied(r[1], n, "created", len("n1\nn2 é\n".encode()))
    applied(r[2], gone, "deleted", 0)
    assert read(m1) == b"a\nB\nc\n"
    assert read(n) == "n1\nn2 é\n".encode()
    assert not os.path.exists(gone)
    assert sorted(os.listdir(tree)) == ["m1.txt", "new"]
    assert os.stat(n).st_uid == pcuser().pw_uid


def test_apply_partial_failure(dashboard, tree):
    good = put(tree, "good.txt", "1\n2\n3\n")
    bad = put(tree, "bad.txt", "x\ny\nz\n")
    before = snapshot(tree)
    diff = ("--- a/good.txt\n+++ b/good.txt\n@@ -1,3 +1,3 @@\n 1\n-2\n+two\n"
            " 3\n"
            "--- a/bad.txt\n+++ b/bad.txt\n@@ -1,3 +1,3 @@\n"
            " not\n-in\n+the\n file\n")
    ev = apply(dashboard, diff, tree)
    check(ev, status="partial_failure", success=False, files_changed=1)
    r = ev["results"]
    applied(r[0], good, "modified")
    assert r[1].get("status") == "error" and r[1].get("path") == "bad.txt" \
        and isinstance(r[1].get("error"), str) and r[1]["error"], r[1]
    assert read(good) == b"1\ntwo\n3\n"
    assert before[bad] == snapshot(tree)[bad], "bad.txt was touched"

    # every file failing: "failed"; a missing file is named
    before = snapshot(tree)
    missing = os.path.join(tree, "missing.txt")
    diff = ("--- a/missing.txt\n+++ b/missing.txt\n@@ -1 +1 @@\n-a\n+b\n"
            "--- a/bad.txt\n+++ b/bad.txt\n@@ -1,3 +1,3 @@\n"
            " not\n-in\n+the\n file\n")
    ev = apply(dashboard, diff, tree)
    check(ev, status="failed", success=False, files_changed=0)
    r = ev["results"]
    assert [x.get("status") for x in r] == ["error", "error"], r
    assert r[0].get("error") == "File does not exist: " + missing, r[0]
    assert same(before, snapshot(tree)) == []


def test_apply_fuzzed_hunk_offset(dashboard, tree):
    text = "".join("line%02d\n" % i for i in range(1, 31))
    f = put(tree, "fz.txt", text)
    diff = ("--- a/fz.txt\n+++ b/fz.txt\n@@ -5,4 +5,4 @@\n"
            " line15\n line16\n-line17\n+LINE17\n line18\n")
    ev = apply(dashboard, diff, tree)
    check(ev, status="success", success=True, files_changed=1)
    r = ev["results"][0]
    assert r.get("status") == "applied", r
    assert read(f) == text.replace("line17", "LINE17").encode()
    notes = r.get("heuristic_adjustments") or []
    assert len(notes) == 1 and re.match(
        r"^Hunk for \S*fz\.txt was shifted from line 5 to 15 using a unique "
        r"3-line context match\.$", notes[0]), \
        "heuristic_adjustments: %r" % notes

    # the context occurs twice: no unique match, nothing written
    g = put(tree, "twice.txt", "x\ny\nz\nq\nx\ny\nz\n")
    before = snapshot(tree)
    diff = ("--- a/twice.txt\n+++ b/twice.txt\n@@ -20,3 +20,3 @@\n"
            " x\n-y\n+Y\n z\n")
    ev = apply(dashboard, diff, tree)
    check(ev, status="failed", success=False, files_changed=0)
    assert ev["results"][0].get("status") == "error", ev["results"]
    assert same(before, snapshot(tree)) == [], read(g)


def test_apply_crlf_file_stays_crlf(dashboard, tree):
    body = b"one\r\ntwo\r\nthree\r\n"
    want = b"one\r\nTWO\r\nextra\r\nthree\r\n"
    lf = put(tree, "lf-diff.txt", body)
    crlf = put(tree, "crlf-diff.txt", body)
    hunk = "@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n+extra\n three\n"
    ev = apply(dashboard, "--- a/lf-diff.txt\n+++ b/lf-diff.txt\n" + hunk,
               tree)
    check(ev, status="success", success=True)
    assert read(lf) == want, "an LF diff on a CRLF file: %r" % read(lf)
    d2 = ("--- a/crlf-diff.txt\n+++ b/crlf-diff.txt\n" + hunk).replace(
        "\n", "\r\n")
    ev = apply(dashboard, d2, tree)
    check(ev, status="success", success=True)
    assert read(crlf) == want, "a CRLF diff on a CRLF file: %r" % read(crlf)


NOEOL_CASES = [
    ("change-last", b"a\nb", b"a\nc"),
    ("add-newline", b"a\nb", b"a\nb\n"),
    ("drop-newline", b"a\nb\n", b"a\nb\nz"),
    ("middle", b"a\nb\nc\nd", b"a\nB\nc\nd"),
]


def test_apply_no_trailing_newline(dashboard, tree):
    bad = []
    for name, old, new in NOEOL_CASES:
        f = put(tree, name + ".txt", old)
        diff = udiff(old, new, name + ".txt")
        ev = apply(dashboard, diff, tree)
        if ev.get("status") != "success" or read(f) != new:
            bad.append("%s: %r -> %r gave %r (%s)\n%s" % (
                name, old, new, read(f), G.short(ev, 300), diff))
    # a created file without a final newline
    diff = udiff(b"", b"p\nq", "created.txt", creation=True)
    ev = apply(dashboard, diff, tree)
    c = os.path.join(tree, "created.txt")
    if ev.get("status") != "success" or not os.path.exists(c) or \
            read(c) != b"p\nq":
        bad.append("creation without final newline: %s, %r\n%s" % (
            G.short(ev, 300), os.path.exists(c) and read(c), diff))
    assert not bad, "\n".join(bad)


def test_apply_blank_context_lines(dashboard, tree):
    """An empty line inside a hunk is an empty context line (editors strip
    the lone space); the file's next hunk and the next file still apply."""
    old = ("a\nb\n\nc\nd\n" + "".join("f%d\n" % i for i in range(10)) +
           "x\ny\n\nz\n")
    f = put(tree, "bl.txt", old)
    g = put(tree, "bl2.txt", "k\nl\n")
    diff = ("--- a/bl.txt\n+++ b/bl.txt\n"
            "@@ -1,5 +1,5 @@\n a\n-b\n+B\n\n c\n d\n"
            "@@ -16,4 +16,4 @@\n x\n-y\n+Y\n\n z\n"
            "\n"
            "--- a/bl2.txt\n+++ b/bl2.txt\n@@ -1,2 +1,2 @@\n k\n-l\n+L\n")
    ev = apply(dashboard, diff, tree)
    check(ev, status="success", success=True, files_changed=2)
    assert read(f) == old.replace("b\n", "B\n", 1).replace(
        "y\n", "Y\n").encode(), "bl.txt: %r" % read(f)
    assert read(g) == b"k\nL\n"


MALFORMED = [
    ("bad hunk header",
     "--- a/one.txt\n+++ b/one.txt\n@@ -1 +1 @@\n-l1\n+L1\n"
     "--- a/two.txt\n+++ b/two.txt\n@@ -one +two @@\n-x\n+y\n",
     "Invalid diff content: Invalid hunk header: @@ -one +two @@"),
    ("hunk cut short by the next header",
     "--- a/one.txt\n+++ b/one.txt\n@@ -1,3 +1,3 @@\n l1\n-l2\n+L2\n"
     "@@ -5 +5 @@\n-x\n+y\n", "Invalid diff content:"),
    ("hunk cut short at the end",
     "--- a/two.txt\n+++ b/two.txt\n@@ -1 +1 @@\n-x\n+y\n"
     "--- a/one.txt\n+++ b/one.txt\n@@ -1,3 +1,3 @@\n l1\n-l2\n+L2\n",
     "Invalid diff content:"),
    ("more lines than the counts",
     "--- a/one.txt\n+++ b/one.txt\n@@ -1,2 +1,2 @@\n l1\n-l2\n+L2\n"
     "-l3\n+L3\n", "Invalid diff content:"),
    ("missing +++",
     "--- a/one.txt\n@@ -1 +1 @@\n-l1\n+L1\n",
     "Invalid diff content: Missing +++ line after --- line"),
    ("no hunks", "--- a/one.txt\n+++ b/one.txt\n",
     "Invalid diff content: No hunks found for file diff"),
    ("not a diff", "hello\nworld\n",
     "Invalid diff content: No valid file patches found in diff"),
    ("blank", "  \n \n", "diff parameter is required"),
]


@pytest.mark.parametrize("diff,error", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_apply_malformed_writes_nothing(dashboard, tree, diff, error):
    put(tree, "one.txt", "l1\nl2\nl3\n")
    put(tree, "two.txt", "x\n")
    before = snapshot(tree)
    ev = apply(dashboard, diff, tree)
    check(ev, status="error", success=False, results=[], files_changed=0,
          base_path=tree)
    msg = ev.get("error") or ""
    if error.endswith(":"):
        assert msg.startswith(error), msg
    else:
        assert msg == error, msg
    assert same(before, snapshot(tree)) == [], \
        "a malformed diff changed files: %s" % same(before, snapshot(tree))


def test_directives(dashboard, tree):
    a = put(tree, "a.txt", "A\n")
    b = put(tree, "b.txt", "B1\nB2 é\n")
    c = put(tree, "c.txt", "C\n")
    d = put(tree, "d.txt", "D\n")
    e = put(tree, "e.txt", "e1\ne2\n")

    ev = apply(dashboard, "@@delete:a.txt@@\n", tree)
    check(ev, status="success", success=True, files_changed=1)
    applied(ev["results"][0], a, "deleted", 0)
    assert not os.path.exists(a)

    ev = apply(dashboard, "  @@move:b.txt -> sub/moved.txt@@  \n", tree)
    check(ev, status="success", success=True, files_changed=2)
    moved = os.path.join(tree, "sub", "moved.txt")
    acts = sorted((x.get("path"), x.get("action")) for x in ev["results"])
    assert acts == sorted([(b, "deleted"), (moved, "created")]), acts
    assert not os.path.exists(b) and read(moved) == "B1\nB2 é\n".encode()

    ev = apply(dashboard, "@@RENAME:c.txt -> c2.txt@@\n", tree)
    check(ev, status="success", files_changed=2)
    assert not os.path.exists(c)
    assert read(os.path.join(tree, "c2.txt")) == b"C\n"

    # directives and a diff together
    diff = ("@@delete:d.txt@@\n"
            "--- a/e.txt\n+++ b/e.txt\n@@ -1,2 +1,2 @@\n e1\n-e2\n+E2\n")
    ev = apply(dashboard, diff, tree)
    check(ev, status="success", success=True, files_changed=2)
    assert not os.path.exists(d) and read(e) == b"e1\nE2\n"
    assert sorted(os.listdir(tree)) == ["c2.txt", "e.txt", "sub"]


DIRECTIVE_ERRORS = [
    ("@@frob:a.txt@@", "Invalid inline directive: Unknown inline directive "
     "'frob'"),
    ("@@delete: @@", "Invalid inline directive: Inline directive 'delete' "
     "is missing required arguments"),
    ("@@move:a.txt@@", "Invalid inline directive: move directive must be "
     "formatted as 'source -> destination'"),
    ("@@move:a.txt -> a.txt@@", "Invalid inline directive: Source and "
     "destination paths must be different for move directives"),
    ("@@delete:/etc/passwd@@", "Invalid inline directive: Absolute paths "
     "are not allowed in inline directives"),
    ("@@delete:../x.txt@@", "Invalid inline directive: Path cannot traverse "
     "outside the project"),
    ("@@delete:sub/../../x.txt@@", "Invalid inline directive: Path cannot "
     "traverse outside the project"),
    ("@@delete:.@@", "Invalid inline directive: Path must reference a file "
     "inside the project"),
    ("@@delete:missing.txt@@", "File does not exist: {tree}/missing.txt"),
    ("@@move:a.txt -> b.txt@@", "Destination already exists: {tree}/b.txt"),
    ("@@delete:out/secret.txt@@", "Path escapes project root"),
    ("@@move:a.txt -> out/stolen.txt@@", "Path escapes project root"),
    ("@@delete:a.txt@@\n@@frob:b.txt@@", "Unknown inline directive 'frob'"),
]


@pytest.mark.parametrize("diff,error", DIRECTIVE_ERRORS,
                         ids=["%d" % i for i in range(len(DIRECTIVE_ERRORS))])
def test_directive_errors(dashboard, tree, workdir, diff, error):
    put(tree, "a.txt", "A\n")
    put(tree, "b.txt", "B\n")
    os.mkdir(os.path.join(tree, "sub"))
    outside = os.path.join(workdir, "outside")
    os.mkdir(outside)
    chown_pc(outside)
    put(outside, "secret.txt", "S\n")
    os.symlink(outside, os.path.join(tree, "out"))
    chown_pc(os.path.join(tree, "out"))
    before = snapshot(tree)
    before.update(snapshot(outside))
    ev = apply(dashboard, diff + "\n", tree)
    check(ev, status="error", success=False, files_changed=0, results=[])
    want = error.format(tree=tree)
    assert want in (ev.get("error") or ""), \
        "error %r should contain %r" % (ev.get("error"), want)
    after = snapshot(tree)
    after.update(snapshot(outside))
    assert same(before, after) == [], "a refused directive changed %s" % \
        same(before, after)


def test_apply_absolute_target_outside_base(dashboard, tree, workdir):
    """Without AllowedRoots a regular diff target may be absolute (as
    upstream); only inline directives are confined to the base."""
    other = os.path.join(workdir, "other")
    os.mkdir(other)
    chown_pc(other)
    f = put(other, "abs.txt", "1\n2\n")
    diff = "--- %s\n+++ %s\n@@ -1,2 +1,2 @@\n 1\n-2\n+two\n" % (f, f)
    ev = apply(dashboard, diff, tree)
    check(ev, status="success", success=True)
    applied(ev["results"][0], f, "modified")
    assert read(f) == b"1\ntwo\n"


# ---------------------------------------------------------------------------
# file_preview_diff

def _stat_number(html, cls):
    m = re.search(r'class="%s"[^>]*>\s*([+-]\d+)\s*<' % cls, html)
    return m.group(1) if m else None


def test_preview_never_writes(dashboard, tree):
    text = "".join("line%02d\n" % i for i in range(1, 51))
    put(tree, "p.txt", text)
    put(tree, "del.txt", "d1\nd2\n")
    put(tree, "keep.txt", "k\n")
    put(tree, "fz.txt", "".join("row%02d\n" % i for i in range(1, 31)))
    before = snapshot(tree)
    diff = ("--- a/p.txt\n+++ b/p.txt\n@@ -24,3 +24,3 @@\n"
            " line24\n-line25\n+<b>&'\" 25\n line26\n"
            "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+n1\n+n2\n"
            "--- a/del.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-d1\n-d2\n"
            "--- a/fz.txt\n+++ b/fz.txt\n@@ -2,3 +2,3 @@\n"
            " row10\n-row11\n+ROW11\n row12\n"
            "--- a/keep.txt\n+++ b/keep.txt\n@@ -1 +1 @@\n-nope\n+x\n")
    ev = preview(dashboard, diff, tree)
    assert same(before, snapshot(tree)) == [], \
        "file_preview_diff changed %s" % same(before, snapshot(tree))
    check(ev, base_path=tree, project_id=None)
    pv = ev.get("previews")
    assert isinstance(pv, list) and len(pv) == 5, G.short(ev, 1000)
    want = [("p.txt", "modified"), ("new.txt", "added"),
            ("del.txt", "deleted"), ("fz.txt", "modified")]
    for x, (rel, action) in zip(pv, want):
        assert x.get("status") == "ready", "preview of %s: %s" % (
            rel, G.short(x, 500))
        check(x, path=os.path.join(tree, rel), relative_path=rel,
              action=action)
        hv = x.get("html_versions") or {}
        assert isinstance(hv.get("minimal"), str) and \
            isinstance(hv.get("full"), str), sorted(hv)
        assert x.get("html") == hv["minimal"], "html is not the minimal one"
        assert x.get("has_full") == (hv["minimal"] != hv["full"]), x
        for mode in ("minimal", "full"):
            h = hv[mode]
            assert "unified-diff-container" in h and \
                'data-view-mode="%s"' % mode in h and "diff-stats" in h \
                and "diff-table" in h, "%s %s html: %s" % (rel, mode, h[:400])

    m = pv[0]["html_versions"]["minimal"]
    full = pv[0]["html_versions"]["full"]
    assert _stat_number(m, "additions") == "+1" and \
        _stat_number(m, "deletions") == "-1", m[:600]
    assert "&lt;b&gt;&amp;" in m and "<b>&" not in m, \
        "diff content is not HTML-escaped"
    assert re.search(r'old-line-num"[^>]*>\s*25\s*<', m), \
        "no old line number 25 in the rows"
    assert "diff-add" in m and "diff-delete" in m and "diff-context" in m
    assert "line01" not in m and "line01" in full and pv[0]["has_full"], \
        "minimal shows 3 lines of context, full the whole file"
    assert _stat_number(pv[1]["html"], "additions") == "+2"
    assert _stat_number(pv[2]["html"], "deletions") == "-2"
    notes = pv[3].get("heuristic_adjustments") or []
    assert len(notes) == 1 and "shifted from line 2 to 10" in notes[0], notes
    bad = pv[4]
    check(bad, status="error", relative_path="keep.txt",
          path=os.path.join(tree, "keep.txt"))
    assert isinstance(bad.get("error"), str) and bad["error"], bad

    # directives are previewed too, and not carried out
    ev = preview(dashboard, "@@delete:del.txt@@\n@@move:keep.txt -> k2.txt@@",
                 tree)
    assert same(before, snapshot(tree)) == []
    acts = sorted((x.get("relative_path"), x.get("action"))
                  for x in ev.get("previews", []))
    assert ("del.txt", "deleted") in acts and ("k2.txt", "added") in acts, \
        acts

    # a malformed diff
    ev = preview(dashboard, "--- a/p.txt\n+++ b/p.txt\n@@ -x @@\n-a\n", tree)
    check(ev, status="error", success=False, previews=[])
    assert (ev.get("error") or "").startswith(
        "Invalid diff content: Invalid hunk header"), ev.get("error")
    assert same(before, snapshot(tree)) == []


def test_preview_all_ready_is_success(dashboard, tree):
    put(tree, "q.txt", "1\n2\n")
    ev = preview(dashboard, "--- a/q.txt\n+++ b/q.txt\n@@ -1,2 +1,2 @@\n"
                 " 1\n-2\n+3\n", tree)
    check(ev, status="success", success=True, base_path=tree)
    assert read(os.path.join(tree, "q.txt")) == b"1\n2\n"


# ---------------------------------------------------------------------------
# routing and the base path

def _raw_payloads(gateway, rid):
    return [f["json"]["payload"] for f in gateway.frames
            if f["json"] is not None
            and isinstance(f["json"].get("payload"), dict)
            and f["json"]["payload"].get("request_id") == rid]


def test_responses_go_only_to_the_requester(gateway, dashboard, tree):
    a = dashboard
    b = gateway.add_session("dashboard")
    put(tree, "r.txt", "1\n")
    good = "--- a/r.txt\n+++ b/r.txt\n@@ -1 +1 @@\n-1\n+2\n"
    sent = []
    for cmd, event, diff in (
            ("file_apply_diff", "file_apply_diff_response", good),
            ("file_preview_diff", "file_preview_diff_response", good),
            ("file_apply_diff", "file_apply_diff_response", "not a diff"),
            ("file_preview_diff", "file_preview_diff_response", "x")):
        rid = "route-%d" % len(sent)
        ev = call(a, {"cmd": cmd, "diff": diff, "base_path": tree,
                      "request_id": rid})
        assert ev.get("event") == event, G.short(ev, 400)
        sent.append(rid)
    # a barrier: a file_read answer reaches every session
    ev = call(a, {"cmd": "file_read", "path": os.path.join(tree, "r.txt"),
                  "request_id": "barrier"})
    assert ev.get("event") == "file_read_response", G.short(ev, 400)
    b.wait_event(lambda e: e.get("request_id") == "barrier", 10, since=0)
    leaked = [e for e in b.events if e.get("request_id") in sent]
    assert not leaked, "diff responses reached another session: %s" % \
        [G.short(e, 200) for e in leaked]
    for rid in sent:
        raw = _raw_payloads(gateway, rid)
        assert len(raw) == 1 and raw[0].get("client_sessions") == \
            [a.channel_name], "routing of %s: %s" % (
                rid, [p.get("client_sessions") for p in raw])

    # without source_client_session: normal routing, every session
    gateway.send_json({"channel": 0, "payload": {
        "cmd": "file_preview_diff", "diff": good, "base_path": tree,
        "request_id": "no-source"}})
    for s in (a, b):
        s.wait_event(lambda e: e.get("request_id") == "no-source" and
                     e.get("event") == "file_preview_diff_response", 10,
                     since=0)


def test_base_path_defaults(gateway, dashboard, tree, users):
    put(tree, "x.txt", "1\n")
    p = gateway.add_session("project", project_id="p-diff-base",
                            folder=tree)
    ev = apply(p, "--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-1\n+2\n", None)
    check(ev, base_path=tree, status="success", success=True)
    assert read(os.path.join(tree, "x.txt")) == b"2\n"
    ev = preview(p, "--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-2\n+3\n", None)
    check(ev, base_path=tree, status="success")
    assert ev["previews"][0].get("path") == os.path.join(tree, "x.txt")

    # a dashboard has no project folder: the target user's home
    home = pcuser().pw_dir
    name = "pcit-diff-%s.txt" % secrets.token_hex(4)
    target = os.path.join(home, name)
    try:
        ev = apply(dashboard, "--- /dev/null\n+++ b/%s\n@@ -0,0 +1 @@\n+h\n"
                   % name, None)
        check(ev, base_path=home, status="success", success=True)
        assert read(target) == b"h\n"
    finally:
        if os.path.exists(target):
            os.unlink(target)
