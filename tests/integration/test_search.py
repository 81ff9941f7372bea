"""
file_search (issue 4, reference section 4.8): the fs worker's native
search against Debian's ripgrep run with the options the original agent
passes it, plus the response fields, clamps, defaults and errors.

ripgrep runs as the target user with the target user's HOME, exactly as
the original agent ran it, in the root being searched:

    rg --json --line-number --max-count N --max-filesize=N [--ignore-case]
       [--fixed-strings] [--word-regexp] [--hidden] -g GLOB... -g !GLOB...
       -e QUERY .

(ripgrep 13 rejects the "NB" size form, so the size is plain bytes.)
Note what that implies, and what the daemon must match: an include glob
(the default list is one) whitelists a file even when it is hidden or
ignored by .gitignore; ignored and hidden directories are still pruned.
"""

import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

import gateway as G
from fshelp import call, check, chown_tree, pcuser, put

DEFAULT_EXCLUDE_DIRS = (".git", ".hg", ".svn", "__pycache__", "node_modules",
                        "vendor", "dist", "build", "tmp", "static", "assets",
                        "coverage")
DEFAULT_EXCLUDES = [p for d in DEFAULT_EXCLUDE_DIRS
                    for p in ("%s/**" % d, "**/%s/**" % d)] + \
    ["*.min.js", "*.min.css"]
DEFAULT_INCLUDE_EXTS = (
    ".py .pyi .pyx .js .jsx .ts .tsx .mjs .cjs .json .yaml .yml .toml .ini "
    ".cfg .conf .md .markdown .rst .txt .html .htm .css .scss .less .go .rs "
    ".java .kt .kts .c .h .hpp .hh .cc .cpp .cxx .cs .php .rb .swift .scala "
    ".sql .sh .bash .zsh .fish .env .dockerfile .gradle .mk .make .bat "
    ".ps1").split()
DEFAULT_INCLUDE_NAMES = (
    "Makefile Dockerfile Jenkinsfile Procfile Gemfile CMakeLists.txt "
    "build.gradle settings.gradle package.json pnpm-lock.yaml yarn.lock "
    "requirements.txt pyproject.toml").split()
MATCH_FIELDS = {"path", "relative_path", "line_number", "line", "match_spans",
                "match_count", "line_truncated"}


# ---------------------------------------------------------------------------
# helpers

def search(s, root, query, timeout=20.0, **opts):
    cmd = {"cmd": "file_search", "root_path": root, "query": query,
           "request_id": "s-" + secrets.token_hex(6)}
    cmd.update(opts)
    ev = call(s, cmd, timeout)
    assert ev.get("event") == "file_search_response", \
        "file_search %s answered %s" % (G.short(cmd, 300), G.short(ev, 600))
    assert ev.get("request_id") == cmd["request_id"], ev.get("request_id")
    return ev


def search_error(s, root, query, **opts):
    cmd = {"cmd": "file_search", "root_path": root, "query": query}
    cmd.update(opts)
    ev = call(s, cmd)
    assert ev.get("event") == "error", \
        "file_search %s should fail, got %s" % (G.short(cmd, 300),
                                                 G.short(ev, 600))
    return ev.get("message", "")


def consistent(ev):
    """Invariants of every file_search_response."""
    m = ev.get("matches")
    assert isinstance(m, list), ev
    assert ev.get("matches_returned") == len(m), \
        "matches_returned %r != %d matches" % (ev.get("matches_returned"),
                                               len(m))
    assert ev.get("total_matches") == len(m) + ev.get("truncated_count", -1),\
        "total_matches %r != returned %d + truncated_count %r" % (
            ev.get("total_matches"), len(m), ev.get("truncated_count"))
    assert isinstance(ev.get("errors"), list), ev.get("errors")
    assert isinstance(ev.get("files_scanned"), int), ev.get("files_scanned")
    root = ev["root_path"]
    for x in m:
        assert set(x) == MATCH_FIELDS, "match fields %s" % sorted(x)
        assert not x["relative_path"].startswith("./"), x
        assert x["path"] == root.rstrip("/") + "/" + x["relative_path"], \
            "path %r is not root + '/' + relative_path %r" % (
                x["path"], x["relative_path"])
        # Spans past the cut of a long line are dropped; the count
        # still tells how many matches the whole line had.
        if x["line_truncated"]:
            assert x["match_count"] >= len(x["match_spans"]), x
        else:
            assert x["match_count"] == len(x["match_spans"]), x
    return m


def by_file(matches):
    out = {}
    for x in matches:
        out.setdefault(x["relative_path"], []).append(x["line_number"])
    return out


# ---------------------------------------------------------------------------
# ripgrep as the reference

def rg_args(query, opts):
    match_case = opts.get("match_case", False)
    regex = opts.get("regex", False)
    whole_word = opts.get("whole_word", False)
    hidden = opts.get("include_hidden", False)
    per_file = opts.get("max_matches_per_file", 5)
    size = opts.get("max_file_size", 1024 * 1024)
    inc = opts.get("include_patterns") or []
    exc = opts.get("exclude_patterns") or DEFAULT_EXCLUDES
    args = ["rg", "--json", "--line-number", "--color", "never",
            "--no-heading", "--max-count", str(per_file),
            "--max-filesize=%d" % size]
    if not match_case:
        args.append("--ignore-case")
    if not regex:
        args.append("--fixed-strings")
    if whole_word:
        args.append("--word-regexp")
    if hidden:
        args.append("--hidden")
    if not inc:
        for ext in DEFAULT_INCLUDE_EXTS:
            args += ["-g", "*" + ext]
        for name in DEFAULT_INCLUDE_NAMES:
            args += ["-g", name]
    for g in inc:
        args += ["-g", g]
    for g in exc:
        args += ["-g", "!" + g]
    return args + ["-e", query, "."]


def run_rg(root, query, opts):
    """rg's matching lines: {(relative_path, line_number): (line bytes,
    [(start, end) byte offsets])}."""
    pw = pcuser()
    args = rg_args(query, opts)
    r = subprocess.run(args, cwd=root, capture_output=True, timeout=60,
                       user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                       env={"HOME": pw.pw_dir, "PATH": "/usr/bin:/bin",
                            "LC_ALL": "C.UTF-8"})
    assert r.returncode in (0, 1, 2), "rg failed (%d): %s" % (
        r.returncode, r.stderr[-500:])
    out = {}
    for line in r.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("type") != "match":
            continue
        d = msg["data"]
        p = d["path"]
        rel = p["text"] if "text" in p else \
            base64.b64decode(p["bytes"]).decode("utf-8", "replace")
        if rel.startswith("./"):
            rel = rel[2:]
        ln = d["lines"]
        raw = ln["text"].encode("utf-8") if "text" in ln else \
            base64.b64decode(ln["bytes"])
        spans = [(m["start"], m["end"]) for m in d["submatches"]]
        out[(rel, d["line_number"])] = (raw, spans)
    return out


def compare_with_rg(ev, expected, opts):
    """Differences between the daemon's matches and rg's, as text."""
    got = {(x["relative_path"], x["line_number"]): x for x in ev["matches"]}
    problems = []
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        problems.append("rg finds, the daemon does not (%d): %s" % (
            len(missing), missing[:40]))
    if extra:
        problems.append("the daemon finds, rg does not (%d): %s" % (
            len(extra), [(k, got[k]["line"][:60]) for k in extra[:40]]))
    maxlen = max(32, min(1024, opts.get("max_line_length", 200)))
    for key in sorted(set(got) & set(expected)):
        raw, spans = expected[key]
        x = got[key]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue            # not UTF-8: only the line set is compared
        text = text[:-1] if text.endswith("\n") else text
        long_line = len(text) > maxlen
        want_line = text[:maxlen] + "..." if long_line else text
        if x["line"] != want_line or x["line_truncated"] != long_line:
            problems.append("%s:%d line %r (truncated %r), want %r (%r)" % (
                key[0], key[1], x["line"][:80], x["line_truncated"],
                want_line[:80], long_line))
        if long_line or opts.get("whole_word"):
            continue
        b = text.encode("utf-8")
        want_spans = [[len(b[:s].decode("utf-8")), len(b[:e].decode("utf-8"))]
                      for s, e in spans]
        if x["match_spans"] != want_spans:
            problems.append("%s:%d spans %s, want %s (characters) in %r" % (
                key[0], key[1], x["match_spans"], want_spans, text[:80]))
    return problems


# ---------------------------------------------------------------------------
# the generated tree

def build_tree(root, outside):
    subprocess.run(["git", "init", "-q", root], check=True,
                   capture_output=True)
    put(root, ".gitignore", "/gen/\nignored_dir/\nsecret*.txt\n*.log\n")
    put(root, "src/main.py",
        "import os\n"
        "needle = 1\n"
        "x = Needle + NEEDLE\n"
        "needles and needle_x and xneedle\n"
        "print('the needle.')\n"
        "nothing here\n"
        "ne dle, neeedle22, needle7\n"
        "call(needle)\n"
        "    \tneedle\tindented\n")
    put(root, "src/util.js", "// needle in js\nconst Needle = 2;\n")
    put(root, "src/app.ts", "let s: string = 'NeEdLe';\n")
    put(root, "README.md", "# Needle\n\nA needle in a haystack.\n")
    put(root, "docs/guide.md", "guide needle\n")
    put(root, "docs/notes.txt", "notes: needle\nneedle again\n")
    put(root, "docs/deep/a/b/c.rst", "deep needle\n")
    put(root, "Makefile", "all:\n\techo needle\n")
    put(root, "Dockerfile", "RUN echo needle\n")
    put(root, "CMakeLists.txt", "# needle\n")
    put(root, "build.gradle", "needle()\n")
    put(root, "x.env", "NEEDLE=1\n")
    put(root, ".env", "NEEDLE=hidden env\n")
    put(root, ".hidden.txt", "hidden needle\n")
    put(root, ".hdir/h.txt", "needle in a hidden dir\n")
    put(root, ".hdir/.deeper.md", "needle deeper\n")
    put(root, "notes.xyz", "needle in an unknown extension\n")
    put(root, "UPPER.TXT", "needle in upper case extension\n")
    put(root, "gen/gen.txt", "needle generated\n")
    put(root, "ignored_dir/i.txt", "needle ignored dir\n")
    put(root, "secret_notes.txt", "needle in a gitignored file\n")
    put(root, "logs/app.log", "needle in a log\n")
    put(root, "sub/.gitignore", "local/\n")
    put(root, "sub/local/l.txt", "needle local\n")
    put(root, "sub/s.txt", "sub needle\n")
    put(root, "sub/deeper/d.go", "package needle\n")
    for rel in ("node_modules/pkg/index.js", "sub/node_modules/x.js",
                "build/out.txt", "sub/dist/d.js", "vendor/v.go",
                "static/s.css", "assets/a.css", "coverage/c.txt",
                "tmp/t.txt", "__pycache__/m.py", "lib.min.js",
                "style.min.css", "sub/app.min.js", "sub/build/b.txt"):
        put(root, rel, "needle excluded by default: %s\n" % rel)
    # binaries: a NUL byte early on
    put(root, "bin/blob.txt", b"\x00\x01needle\n")
    put(root, "bin/blob2.py", b"needle\n\x00\x00\x00 more\n")
    # sizes around the cap used below (4096)
    put(root, "big/over.txt", ("needle over the cap\n" + "x" * 4999)[:5000])
    edge = "needle at the cap\n"
    put(root, "big/edge.txt", edge + "y" * (4096 - len(edge)))
    put(root, "big/edge1.txt", edge + "y" * (4097 - len(edge)))
    put(root, "big/huge.txt", "needle huge\n" + "z" * (1100 * 1024))
    # per-file cap
    put(root, "many.txt", "".join("needle %d\n" % i for i in range(60)))
    # long lines
    put(root, "long.txt", "start needle " + "a" * 230 + " needle end " +
        "b" * 60 + "\nshort needle\n" + "é" * 250 + " needle\n")
    # multibyte names and text
    put(root, "données/été.txt",
        "Été needle\n"
        "ÉTÉ\n"
        "un été chaud\n"
        "éneedle\n"
        "naïve NEEDLE café\n"
        "straße\n"
        "日本語 needle テキスト\n"
        "emoji 😀 needle 😀 needle\n"
        "needle٣ arabic digit\n")
    put(root, "latin1.txt", b"caf\xe9 needle\n")
    # a fifo must be skipped, never opened
    os.mkfifo(os.path.join(root, "fifo.txt"))
    # symlinks are never followed: loops, a file, a directory outside
    os.symlink(".", os.path.join(root, "loop"))
    os.symlink("..", os.path.join(root, "sub", "up"))
    os.symlink("src/main.py", os.path.join(root, "link_to_main.py"))
    os.symlink(outside, os.path.join(root, "outlink"))
    put(outside, "o.txt", "needle outside\n")
    # some bulk
    for d in range(8):
        for f in range(40):
            body = "".join("def f%d_%d(): pass\n" % (f, i) for i in range(15))
            if f % 4 == 0:
                body += "# needle %d %d\n" % (d, f)
            put(root, "bulk/d%d/m%02d.py" % (d, f), body)
    chown_tree(root)
    chown_tree(outside)
    # unreadable for the target user
    put(root, "noperm.txt", "needle root only\n", mode=0o600)
    os.makedirs(os.path.join(root, "lockeddir"), mode=0o700)
    put(root, "lockeddir/x.txt", "needle locked\n")


@pytest.fixture(scope="module")
def stree(base_dir, users):
    top = tempfile.mkdtemp(prefix="search-", dir=base_dir)
    os.chmod(top, 0o755)
    root = os.path.join(top, "tree")
    outside = os.path.join(top, "outside")
    os.mkdir(root)
    os.mkdir(outside)
    build_tree(root, outside)
    return root


COMPARISONS = [
    ("defaults", "needle", {}),
    ("match_case", "Needle", {"match_case": True}),
    ("regex", r"ne+dle\d+", {"regex": True}),
    ("regex_class", r"[a-z]+ needle", {"regex": True}),
    ("whole_word", "needle", {"whole_word": True}),
    ("hidden", "needle", {"include_hidden": True}),
    ("custom_globs", "needle", {"include_patterns": ["*.txt", "docs/**",
                                                     "*.log"],
                                "exclude_patterns": ["sub/**", "*.md"]}),
    ("multibyte_ci", "été", {}),
    ("small_cap", "needle", {"max_file_size": 4096, "max_line_length": 40}),
    ("word_regex", r"need\w*", {"regex": True, "whole_word": True,
                                "match_case": True}),
]


@pytest.mark.parametrize("query,opts", [c[1:] for c in COMPARISONS],
                         ids=[c[0] for c in COMPARISONS])
def test_search_matches_ripgrep(dashboard, stree, query, opts):
    opts = dict(opts)
    opts.setdefault("max_results", 500)
    opts.setdefault("max_matches_per_file", 50)
    expected = run_rg(stree, query, opts)
    assert 0 < len(expected) < 500, "the generated tree gives rg %d " \
        "matching lines for %r: adjust the tree" % (len(expected), query)
    ev = search(dashboard, stree, query, **opts)
    consistent(ev)
    check(ev, root_path=stree, query=query, max_results=500,
          max_matches_per_file=50,
          match_case=opts.get("match_case", False),
          regex=opts.get("regex", False),
          whole_word=opts.get("whole_word", False))
    problems = compare_with_rg(ev, expected, opts)
    assert not problems, "file_search %r %s differs from `%s`:\n%s" % (
        query, opts, " ".join(rg_args(query, opts)[:12]) + " ...",
        "\n".join(problems))


# ---------------------------------------------------------------------------
# fields, defaults, clamps, errors

@pytest.fixture
def small(workdir, users):
    root = os.path.join(workdir, "small")
    os.mkdir(root)
    put(root, "a.txt", "".join("needle %d\n" % i for i in range(8)))
    put(root, "b.py", "x = 'needle'\n")
    put(root, "node_modules/x.js", "needle\n")
    put(root, "c.min.js", "needle\n")
    put(root, "notes.xyz", "needle\n")
    chown_tree(root)
    return root


def test_search_fields_and_defaults(dashboard, small):
    ev = search(dashboard, small, "needle")
    m = consistent(ev)
    check(ev, root_path=small, query="needle", match_case=False, regex=False,
          whole_word=False, include_patterns=[], max_results=40,
          max_matches_per_file=5)
    assert sorted(ev["exclude_patterns"]) == sorted(DEFAULT_EXCLUDES), \
        "default exclude_patterns: %s" % ev["exclude_patterns"]
    assert by_file(m) == {"a.txt": [1, 2, 3, 4, 5], "b.py": [1]}, \
        "default includes/excludes and the per-file cap of 5: %s" % by_file(m)
    a1 = [x for x in m if x["relative_path"] == "a.txt"][0]
    check(a1, path=small + "/a.txt", line="needle 0", match_spans=[[0, 6]],
          match_count=1, line_truncated=False, line_number=1)

    ev = search(dashboard, small, "needle",
                include_patterns=["*.js", "*.xyz"],
                exclude_patterns=["*.xyz"])
    check(ev, include_patterns=["*.js", "*.xyz"], exclude_patterns=["*.xyz"])
    assert sorted(by_file(consistent(ev))) == ["c.min.js",
                                               "node_modules/x.js"], \
        "explicit patterns replace the defaults: %s" % by_file(ev["matches"])

    ev = search(dashboard, small, "needle", include_patterns="*.xyz")
    check(ev, include_patterns=["*.xyz"])
    assert sorted(by_file(consistent(ev))) == ["notes.xyz"]

    ev = search(dashboard, small, "needle",
                include_patterns=["  ", "*.py", ""], exclude_patterns=[" "])
    check(ev, include_patterns=["*.py"])
    assert sorted(ev["exclude_patterns"]) == sorted(DEFAULT_EXCLUDES), \
        "blank excludes are dropped, so the defaults apply: %s" % \
        ev["exclude_patterns"]
    assert sorted(by_file(consistent(ev))) == ["b.py"]


def test_search_clamps(dashboard, workdir, users):
    root = os.path.join(workdir, "clamps")
    os.mkdir(root)
    for i in range(3):
        put(root, "n%d.txt" % i, "".join("needle %d\n" % j for j in range(60)))
    put(root, "sizes/k1000.txt", "needle k1000\n" + "x" * (1000 - 13))
    put(root, "sizes/k1100.txt", "needle k1100\n" + "x" * (1100 - 13))
    put(root, "sizes/m2.txt", "needle m2\n" + "x" * (2 * 1024 * 1024))
    put(root, "sizes/m11.txt", "needle m11\n" + "x" * (11 * 1024 * 1024))
    put(root, "lines/l100.txt", "needle " + "a" * 93 + "\n")
    put(root, "lines/l300.txt", "needle " + "b" * 293 + "\n")
    put(root, "lines/l2000.txt", "needle " + "c" * 1993 + "\n")
    chown_tree(root)
    s = dashboard
    n = os.path.join(root, "n0.txt")

    for given, want in ((0, 1), (-3, 1), (9999, 500), (7, 7)):
        ev = search(s, root, "needle", max_results=given,
                    include_patterns=["n*.txt"])
        check(ev, max_results=want, matches_returned=min(want, 15),
              truncated=want < 15)
        consistent(ev)
    for given, want in ((0, 1), (-1, 1), (999, 50), (3, 3)):
        ev = search(s, root, "needle", max_matches_per_file=given,
                    max_results=500, include_patterns=["n*.txt"])
        check(ev, max_matches_per_file=want)
        files = by_file(consistent(ev))
        assert files == {"n%d.txt" % i: list(range(1, want + 1))
                         for i in range(3)}, \
            "max_matches_per_file %r -> %d lines per file: %s" % (
                given, want, {k: len(v) for k, v in files.items()})
    assert os.path.exists(n)

    def sizes(**kw):
        ev = search(s, os.path.join(root, "sizes"), "needle", **kw)
        return sorted(by_file(consistent(ev)))
    assert sizes() == ["k1000.txt", "k1100.txt"], \
        "default max_file_size is 1 MiB"
    assert sizes(max_file_size=1) == ["k1000.txt"], \
        "max_file_size 1 is clamped to 1024"
    assert sizes(max_file_size=3 * 1024 * 1024) == \
        ["k1000.txt", "k1100.txt", "m2.txt"]
    assert sizes(max_file_size=50 * 1024 * 1024) == \
        ["k1000.txt", "k1100.txt", "m2.txt"], \
        "max_file_size is clamped to 10 MiB (an 11 MiB file is skipped)"

    def line_of(name, **kw):
        ev = search(s, os.path.join(root, "lines"), "needle", **kw)
        x = [m for m in consistent(ev) if m["relative_path"] == name]
        assert len(x) == 1, ev["matches"]
        return x[0]
    x = line_of("l300.txt")
    check(x, line="needle " + "b" * 193 + "...", line_truncated=True)
    x = line_of("l100.txt")
    check(x, line="needle " + "a" * 93, line_truncated=False)
    x = line_of("l100.txt", max_line_length=1)
    check(x, line="needle " + "a" * 25 + "...", line_truncated=True)
    x = line_of("l2000.txt", max_line_length=5000)
    check(x, line="needle " + "c" * 1017 + "...", line_truncated=True)


def test_search_truncation(dashboard, workdir, users):
    root = os.path.join(workdir, "trunc")
    for i in range(10):
        put(root, "f%d.txt" % i, "needle a\nneedle b\nneedle c\n")
    chown_tree(root)
    ev = search(dashboard, root, "needle", max_results=4,
                max_matches_per_file=2)
    m = consistent(ev)
    check(ev, matches_returned=4, truncated=True, max_results=4,
          max_matches_per_file=2)
    assert ev["truncated_count"] >= 1, ev["truncated_count"]
    for f, lines in by_file(m).items():
        assert lines == [1, 2][:len(lines)], (f, lines)

    ev = search(dashboard, root, "needle", max_results=500,
                max_matches_per_file=50)
    check(ev, matches_returned=30, total_matches=30, truncated=False,
          truncated_count=0)


def test_search_spans_are_characters(dashboard, workdir, users):
    root = os.path.join(workdir, "spans")
    put(root, "u.txt", "éé needle 😀 NEEDLE\nplain needle\n")
    chown_tree(root)
    ev = search(dashboard, root, "needle")
    got = {x["line_number"]: x for x in consistent(ev)}
    check(got[1], line="éé needle 😀 NEEDLE", match_spans=[[3, 9], [12, 18]],
          match_count=2)
    check(got[2], match_spans=[[6, 12]], match_count=1)
    ev = search(dashboard, root, "NEEDLE", match_case=True)
    got = {x["line_number"]: x for x in consistent(ev)}
    assert list(got) == [1]
    check(got[1], match_spans=[[12, 18]])


def test_search_invalid_regex_and_literals(dashboard, workdir, users):
    root = os.path.join(workdir, "rx")
    put(root, "r.txt", "call(x)\n[a-\n*x\n")
    chown_tree(root)
    for q in ("(", "[a-", "*x", "a{2,1}"):
        msg = search_error(dashboard, root, q, regex=True)
        assert msg.startswith("Invalid regular expression:"), (q, msg)
    for q, line in (("(", 1), ("[a-", 2), ("*x", 3)):
        ev = search(dashboard, root, q)
        assert [x["line_number"] for x in consistent(ev)] == [line], \
            "literal %r: %s" % (q, ev["matches"])


def test_search_root_errors(dashboard, workdir, users):
    root = os.path.join(workdir, "re")
    f = put(root, "file.txt", "needle\n")
    chown_tree(root)
    assert search_error(dashboard, f, "needle") == \
        "Root path is not a directory: " + f
    missing = os.path.join(root, "missing")
    assert search_error(dashboard, missing, "needle") == \
        "Root path is not a directory: " + missing


@pytest.mark.slow
def test_search_does_not_block_other_commands(dashboard, workdir, users):
    """A long search (50 MB, a regex that never matches) runs while two
    file_reads sent after it are answered: they arrive first."""
    root = os.path.join(workdir, "bigtree")
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta",
             "kappa", "lambda", "omicron"]
    lines = []
    for i in range(1200):
        lines.append(" ".join("%s%d" % (words[(i * 7 + k) % 10],
                                        (i * 31 + k * 17) % 1000)
                              for k in range(8)))
    chunk = ("\n".join(lines) + "\n").encode()
    for d in range(15):
        os.makedirs(os.path.join(root, "d%02d" % d))
        for f in range(40):
            with open(os.path.join(root, "d%02d" % d, "f%03d.txt" % f),
                      "wb") as fh:
                fh.write(chunk)
    small = put(workdir, "small.txt", "quick\n")
    chown_tree(root)
    os.chown(small, pcuser().pw_uid, pcuser().pw_gid)

    s = dashboard
    since = s.mark()
    t0 = time.monotonic()
    s.send({"cmd": "file_search", "root_path": root, "regex": True,
            "query": r"[a-z]+\d+ [a-z]+\d+ [a-z]+\d+ (?:zz|yy)", "request_id": "S"})
    s.send({"cmd": "file_read", "path": small, "request_id": "R1"})
    time.sleep(0.03)
    s.send({"cmd": "file_read", "path": small, "request_id": "R2"})

    def index_of(rid):
        for i in range(since, len(s.events)):
            if s.events[i].get("request_id") == rid:
                return i
        return None
    s.gw._wait(lambda: all(index_of(r) is not None
                           for r in ("S", "R1", "R2")), 60,
               lambda: "search and reads not all answered")
    took = time.monotonic() - t0
    ev = s.events[index_of("S")]
    assert ev.get("event") == "file_search_response", G.short(ev, 500)
    assert ev["matches"] == [], ev["matches"][:3]
    for r in ("R1", "R2"):
        e = s.events[index_of(r)]
        assert e.get("event") == "file_read_response" and \
            e.get("content") == "quick\n", G.short(e, 300)
        assert index_of(r) < index_of("S"), \
            "file_read %s was answered after the search (which took " \
            "%.2fs): the search blocks the fs worker" % (r, took)
    shutil.rmtree(root, ignore_errors=True)
