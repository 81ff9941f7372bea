"""More of the git worker through the loopback gateway (reference §6,
§4.9-4.10; issue 5 "Tests"): expand/collapse, every git state, the git
commands in each mode, an unborn HEAD, update latency of external
changes, file tabs of every kind, chunked content, the content store's
LRU, diff tabs for each ref pair, a repository that tries to make git run
programs, and watches/fds after many sessions."""
import base64
import codecs
import hashlib
import json
import math
import os
import secrets
import struct
import subprocess
import time
import zlib

import pytest

from fshelp import call, check, chown_pc, chown_tree, put, read
from test_project import git, items_by_name, join, wait_update

# ---------------------------------------------------------------------------
# helpers


def cmd(s, name, **kw):
    """A project command of session s (the gateway adds
    source_client_session)."""
    p = {"cmd": name, "project_id": s.project_id}
    p.update(kw)
    return p


def run(s, payload, event, timeout=15.0):
    """Send payload, wait for its `event` answer; return (the
    project_state_update that echoed its request_id before the answer, or
    None; the answer). An error event fails the test."""
    payload = dict(payload)
    rid = payload.setdefault("request_id", "m-" + secrets.token_hex(6))
    since = s.mark()
    ev = s.request(payload, timeout, event=event)
    with s.gw._cond:
        evs = list(s.events[since:])
    at = next(i for i, e in enumerate(evs) if e is ev)
    ups = [e for e in evs[:at] if e.get("event") == "project_state_update"
           and e.get("request_id") == rid]
    return (ups[-1] if ups else None), ev


def git_cmd(s, op, **kw):
    """project_state_git_<op>; returns (update, response), success
    asserted."""
    up, ev = run(s, cmd(s, "project_state_git_" + op, **kw),
                 "project_state_git_%s_response" % op)
    assert ev["success"] is True, ev
    assert up is not None, \
        "no project_state_update before the %s response" % op
    assert up["project_id"] == s.channel_name, up["project_id"]
    return up, ev


def last_update(s):
    ups = s.events_named("project_state_update")
    return ups[-1] if ups else None


def sha(b):
    return hashlib.sha256(b).hexdigest()


def key(b):
    return "sha256:" + sha(b)


def fetch(s, h, timeout=15.0):
    """content_request of h; the single answer (not chunked) or the
    reassembled chunks, as (text, [events])."""
    rid = "c-" + secrets.token_hex(6)
    since = s.mark()
    s.send({"cmd": "content_request", "content_hash": h, "request_id": rid})
    first = s.wait_event(lambda e: e.get("request_id") == rid, timeout,
                         since=since, what="content_response for %s" % h)
    assert first["event"] == "content_response", first
    if not first.get("chunked"):
        return first.get("content"), [first]
    n = first["chunk_count"]
    deadline = time.monotonic() + timeout
    while True:
        with s.gw._cond:
            got = [e for e in s.events[since:]
                   if e.get("request_id") == rid]
        if len(got) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(got) == n, "got %d of %d chunks" % (len(got), n)
    return "".join(e["content"] for e in got), got


def porcelain(root):
    return sorted(ln for ln in git(root, "status", "--porcelain").split("\n")
                  if ln)


def cached_names(root):
    return sorted(git(root, "diff", "--cached", "--name-only").split())


def tree_clean(root, files):
    for rel, data in files.items():
        put(root, rel, data)
    chown_tree(root)


def make_repo(root, files, commit=True):
    tree_clean(root, files)
    git(root, "init", "-q")
    git(root, "config", "user.name", "Tester")
    git(root, "config", "user.email", "tester@example.org")
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "first")
    return root


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


# ---------------------------------------------------------------------------
# expand / collapse


def test_expand_collapse(online, gateway, workdir, users):
    root = os.path.join(workdir, "tree")
    tree_clean(root, {"top.txt": "t\n", "src/a.c": "a\n",
                      "src/deep/b.c": "b\n", "src/deep/deeper/c.c": "c\n",
                      "lib/l.c": "l\n"})
    s, ev = join(gateway, root)
    names = items_by_name(ev)
    # root + one level below each first-level folder
    assert {"top.txt", "src", "lib", "src/a.c", "src/deep",
            "lib/l.c"} == set(names), sorted(names)
    assert names["src"]["is_expanded"] is False
    assert names["src"]["is_loaded"] is True       # monitored
    assert names["src/deep"]["is_loaded"] is False  # not monitored yet
    assert names["src/deep"]["is_expanded"] is False

    src = os.path.join(root, "src")
    up, r = run(s, cmd(s, "project_state_folder_expand", folder_path=src),
                "project_state_folder_expand_response")
    check(r, project_id=s.project_id, folder_path=src, success=True)
    assert up is not None, "no update before the expand response"
    # project_id of a folder_expand update is the command's (§6.2)
    assert up["project_id"] == s.project_id, up["project_id"]
    names = items_by_name(up)
    assert names["src"]["is_expanded"] is True
    assert names["src/deep"]["is_loaded"] is True
    assert names["src/deep"]["is_expanded"] is False
    # expanding src made src/deep monitored: its children are items now
    assert {"src/deep/b.c", "src/deep/deeper"} <= set(names), sorted(names)
    assert "src/deep/deeper/c.c" not in names
    assert names["lib"]["is_expanded"] is False

    # a folder that is not monitored cannot be expanded
    deeper = os.path.join(root, "src/deep/deeper")
    _, r = run(s, cmd(s, "project_state_folder_expand", folder_path=deeper),
               "project_state_folder_expand_response")
    check(r, project_id=s.project_id, folder_path=deeper, success=False)
    _, r = run(s, cmd(s, "project_state_folder_collapse",
                      folder_path=os.path.join(root, "nope")),
               "project_state_folder_collapse_response")
    assert r["success"] is False, r

    # now src/deep is monitored and can be expanded
    deep = os.path.join(root, "src/deep")
    up, r = run(s, cmd(s, "project_state_folder_expand", folder_path=deep),
                "project_state_folder_expand_response")
    assert r["success"] is True, r
    names = items_by_name(up)
    assert "src/deep/deeper/c.c" in names, sorted(names)
    assert names["src/deep"]["is_expanded"] is True
    assert names["src/deep/deeper"]["is_loaded"] is True

    # collapse: flag cleared, children stay listed
    up, r = run(s, cmd(s, "project_state_folder_collapse", folder_path=src),
                "project_state_folder_collapse_response")
    check(r, project_id=s.project_id, folder_path=src, success=True)
    assert up is not None, "no update before the collapse response"
    names = items_by_name(up)
    assert names["src"]["is_expanded"] is False
    assert names["src/deep"]["is_expanded"] is True
    assert "src/deep/b.c" in names and "src/deep/deeper/c.c" in names

    # a new subfolder of an expanded folder is picked up as monitored
    mark = s.mark()
    os.mkdir(os.path.join(root, "src/deep/fresh"))
    chown_pc(os.path.join(root, "src/deep/fresh"))
    put(root, "src/deep/fresh/f.c", "f\n")
    ev = wait_update(s, lambda e: "src/deep/fresh" in items_by_name(e),
                     since=mark)
    # src/deep is expanded, so its new subfolder became monitored ...
    assert items_by_name(ev)["src/deep/fresh"]["is_loaded"] is True
    # ... and as it is watched, the file inside appears
    wait_update(s, lambda e: "src/deep/fresh/f.c" in items_by_name(e),
                since=mark)


def test_sessions_of_one_folder(online, gateway, workdir, users):
    root = os.path.join(workdir, "shared")
    make_repo(root, {"a.txt": "a\n", "src/deep/b.c": "b\n"})
    s1, _ = join(gateway, root)
    s2, ev2 = join(gateway, root)
    assert "src/deep/b.c" not in items_by_name(ev2)
    mark2 = s2.mark()
    run(s1, cmd(s1, "project_state_folder_expand",
                folder_path=os.path.join(root, "src")),
        "project_state_folder_expand_response")
    t = open_tab(s1, os.path.join(root, "a.txt"))
    assert "src/deep/b.c" in items_by_name(last_update(s1))
    # a change both render: each gets its own update, with its own parts
    m1 = s1.mark()
    append(os.path.join(root, "a.txt"), "x\n")
    u1 = wait_update(s1, lambda e: items_by_name(e)["a.txt"]["git_status"]
                     == "modified", since=m1)
    u2 = wait_update(s2, lambda e: items_by_name(e)["a.txt"]["git_status"]
                     == "modified", since=mark2)
    assert u1["project_id"] == s1.channel_name
    assert u2["project_id"] == s2.channel_name
    assert u1["active_tab"]["tab_id"] == t["tab_id"]
    assert u2["open_tabs"] == [] and u2["active_tab"] is None
    assert "src/deep/b.c" not in items_by_name(u2)
    assert "src/deep/b.c" in items_by_name(u1)
    with s2.gw._cond:
        ups2 = [e for e in s2.events[mark2:]
                if e.get("event") == "project_state_update"]
    assert len(ups2) == 1, "s2 got updates for s1's expand/open: %d" % \
        len(ups2)
    # the one leaving does not take the shared state with it
    gateway.remove_session(s1)
    time.sleep(0.2)
    m2 = s2.mark()
    put(root, "src/n.c", "n\n")
    wait_update(s2, lambda e: "src/n.c" in items_by_name(e), since=m2)


# ---------------------------------------------------------------------------
# every git state


def test_git_states(online, gateway, workdir, users):
    root = os.path.join(workdir, "states")
    make_repo(root, {"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n",
                     "d.txt": "d\n", "clean.txt": "k\n",
                     ".gitignore": "*.log\nbuild/\n",
                     "mod/x.txt": "x\n", "mod/y.txt": "y\n",
                     "unt/t.txt": "t\n", "del/g.txt": "g\n",
                     "del/h.txt": "h\n", "stg/s.txt": "s\n",
                     "cln/z.txt": "z\n"})
    append(os.path.join(root, "a.txt"), "more\n")      # " M"
    append(os.path.join(root, "b.txt"), "staged\n")
    git(root, "add", "b.txt")
    append(os.path.join(root, "b.txt"), "again\n")     # "MM"
    os.unlink(os.path.join(root, "c.txt"))               # " D"
    git(root, "rm", "-q", "d.txt")                       # "D "
    put(root, "n.txt", "new\n")
    git(root, "add", "n.txt")                            # "A "
    put(root, "u.txt", "u\n")                            # "??"
    put(root, "ign.log", "log\n")                        # ignored
    put(root, "build/out.o", "o\n")                      # ignored dir
    append(os.path.join(root, "mod/x.txt"), "m\n")      # dir: modified
    put(root, "unt/new.txt", "n\n")                      # dir: untracked
    os.unlink(os.path.join(root, "del/g.txt"))           # dir: deleted
    append(os.path.join(root, "stg/s.txt"), "s\n")
    git(root, "add", "stg/s.txt")                        # dir: staged only
    assert porcelain(root) == sorted([
        " M a.txt", "MM b.txt", " D c.txt", "D  d.txt", "A  n.txt",
        "?? u.txt", " M mod/x.txt", "?? unt/new.txt", " D del/g.txt",
        "M  stg/s.txt"]), porcelain(root)

    s, ev = join(gateway, root)
    assert ev["is_git_repo"] is True
    # one porcelain line each: A and ?? count as untracked
    assert ev["git_status_summary"] == {"modified": 4, "deleted": 3,
                                        "untracked": 3}, \
        ev["git_status_summary"]
    names = items_by_name(ev)

    def st(rel):
        i = names[rel]
        return (i["git_status"], i["is_staged"], i["is_git_tracked"],
                i["is_ignored"])
    assert st("clean.txt") == ("clean", False, True, False)
    assert st("a.txt") == ("modified", False, True, False)
    assert st("b.txt") == ("modified", "mixed", True, False)
    assert st("n.txt") == ("added", True, False, False)
    assert st("u.txt") == ("untracked", False, False, False)
    assert st("ign.log") == ("ignored", False, False, True)
    assert st("build") == ("ignored", False, False, True)
    assert names[".gitignore"]["is_hidden"] is True
    assert names[".gitignore"]["git_status"] == "clean"
    assert names["a.txt"]["is_hidden"] is False
    assert "c.txt" not in names and "d.txt" not in names
    # directory aggregation
    assert names["mod"]["git_status"] == "modified"
    assert names["mod"]["is_staged"] is False
    assert names["unt"]["git_status"] == "untracked"
    assert names["del"]["git_status"] == "deleted"
    assert names["cln"]["git_status"] == "clean"
    assert names["cln"]["is_staged"] is False
    assert names["stg"]["git_status"] == "modified"
    assert names["stg"]["is_staged"] is True
    assert st("stg/s.txt") == ("modified", True, True, False)
    assert names["mod/y.txt"]["git_status"] == "clean"
    assert names["unt/new.txt"]["git_status"] == "untracked"

    d = ev["git_detailed_status"]
    assert d["head_commit_hash"] == git(root, "rev-parse", "HEAD").strip()

    def changes(lst):
        return {c["file_repo_path"]: c for c in lst}
    staged = changes(d["staged_changes"])
    unstaged = changes(d["unstaged_changes"])
    untracked = changes(d["untracked_files"])
    assert {k: v["change_type"] for k, v in staged.items()} == {
        "b.txt": "modified", "d.txt": "deleted", "n.txt": "added",
        "stg/s.txt": "modified"}, staged
    assert {k: v["change_type"] for k, v in unstaged.items()} == {
        "a.txt": "modified", "b.txt": "modified", "c.txt": "deleted",
        "mod/x.txt": "modified", "del/g.txt": "deleted"}, unstaged
    assert {k: v["change_type"] for k, v in untracked.items()} == {
        "u.txt": "untracked", "unt/new.txt": "untracked"}, untracked
    assert all(c["is_staged"] is True for c in staged.values())
    assert all(c["is_staged"] is False for c in unstaged.values())
    for lst in (d["staged_changes"], d["unstaged_changes"],
                d["untracked_files"]):
        assert [c["file_repo_path"] for c in lst] == \
            sorted(c["file_repo_path"] for c in lst), "not sorted by path"
        for c in lst:
            for k in ("file_repo_path", "file_name", "file_abs_path",
                      "change_type", "content_hash", "is_staged",
                      "diff_details"):
                assert k in c, (k, c)
            assert c["file_abs_path"] == os.path.join(root,
                                                      c["file_repo_path"])
            assert c["file_name"] == os.path.basename(c["file_repo_path"])
            assert c["diff_details"] is None
            if c["change_type"] == "deleted":
                assert c["content_hash"] is None, c
            else:
                # plain hex SHA-256 of the working-tree file
                assert c["content_hash"] == sha(read(c["file_abs_path"])), c

    # editing a changed file changes its content_hash: an update follows
    mark = s.mark()
    append(os.path.join(root, "a.txt"), "x\n")
    want = sha(read(os.path.join(root, "a.txt")))
    wait_update(s, lambda e: any(
        c["file_repo_path"] == "a.txt" and c["content_hash"] == want
        for c in e["git_detailed_status"]["unstaged_changes"]), since=mark)


# ---------------------------------------------------------------------------
# stage / unstage / revert in each mode


@pytest.fixture
def repo3(workdir, users):
    return make_repo(os.path.join(workdir, "ops"), {
        "a.txt": "a\n", "b.txt": "b\n", "d.txt": "d\n", "k.txt": "k\n",
        "sub/s.txt": "s\n"})


def test_stage_modes(online, gateway, repo3):
    r = repo3
    s, _ = join(gateway, r)
    append(os.path.join(r, "a.txt"), "a2\n")
    append(os.path.join(r, "b.txt"), "b2\n")
    put(r, "c.txt", "c\n")

    up, ev = git_cmd(s, "stage", file_path=os.path.join(r, "a.txt"))
    check(ev, project_id=s.project_id, file_path=os.path.join(r, "a.txt"))
    assert "stage_all" not in ev and "file_paths" not in ev, ev
    assert cached_names(r) == ["a.txt"]
    assert git(r, "show", ":a.txt") == "a\na2\n"
    assert [c["file_repo_path"] for c in
            up["git_detailed_status"]["staged_changes"]] == ["a.txt"]

    paths = [os.path.join(r, "b.txt"), os.path.join(r, "c.txt")]
    up, ev = git_cmd(s, "stage", file_paths=paths)
    assert ev["file_paths"] == paths, ev
    assert cached_names(r) == ["a.txt", "b.txt", "c.txt"]
    assert {c["file_repo_path"]: c["change_type"] for c in
            up["git_detailed_status"]["staged_changes"]} == {
        "a.txt": "modified", "b.txt": "modified", "c.txt": "added"}

    os.unlink(os.path.join(r, "k.txt"))
    git_cmd(s, "stage", file_path=os.path.join(r, "k.txt"))
    assert "D  k.txt" in porcelain(r), porcelain(r)
    os.unlink(os.path.join(r, "d.txt"))
    put(r, "sub/e.txt", "e\n")
    up, ev = git_cmd(s, "stage", stage_all=True)
    assert ev["stage_all"] is True, ev
    # git add -A: the deletion and the new file in a subfolder too
    assert porcelain(r) == sorted(["M  a.txt", "M  b.txt", "A  c.txt",
                                   "D  d.txt", "D  k.txt", "A  sub/e.txt"]), \
        porcelain(r)
    assert up["git_detailed_status"]["unstaged_changes"] == []
    assert up["git_detailed_status"]["untracked_files"] == []
    # working files untouched by staging
    assert read(os.path.join(r, "a.txt")) == b"a\na2\n"

    # errors: nothing to act on; a path that does not exist
    ev = call(s, cmd(s, "project_state_git_stage"))
    check(ev, event="error",
          message="Either file_path, file_paths, or stage_all must be "
          "provided")
    ev = call(s, cmd(s, "project_state_git_stage",
                     file_path=os.path.join(r, "ghost.txt")))
    assert ev["event"] == "error", ev
    assert ev["message"].startswith("Failed to stage file: "), ev


def test_unstage_modes(online, gateway, repo3):
    r = repo3
    append(os.path.join(r, "a.txt"), "a2\n")
    append(os.path.join(r, "b.txt"), "b2\n")
    put(r, "c.txt", "c\n")
    os.unlink(os.path.join(r, "d.txt"))
    git(r, "add", "-A")
    s, _ = join(gateway, r)

    up, ev = git_cmd(s, "unstage", file_path=os.path.join(r, "a.txt"))
    check(ev, file_path=os.path.join(r, "a.txt"))
    assert cached_names(r) == ["b.txt", "c.txt", "d.txt"]
    assert git(r, "show", ":a.txt") == "a\n"
    assert read(os.path.join(r, "a.txt")) == b"a\na2\n"  # work tree kept
    assert items_by_name(up)["a.txt"]["is_staged"] is False
    assert items_by_name(up)["a.txt"]["git_status"] == "modified"

    paths = [os.path.join(r, "b.txt"), os.path.join(r, "c.txt")]
    up, ev = git_cmd(s, "unstage", file_paths=paths)
    assert ev["file_paths"] == paths
    assert cached_names(r) == ["d.txt"]
    assert "?? c.txt" in porcelain(r)
    assert items_by_name(up)["c.txt"]["git_status"] == "untracked"

    up, ev = git_cmd(s, "unstage", unstage_all=True)
    assert ev["unstage_all"] is True, ev
    assert cached_names(r) == []
    assert porcelain(r) == sorted([" M a.txt", " M b.txt", "?? c.txt",
                                   " D d.txt"]), porcelain(r)
    assert up["git_detailed_status"]["staged_changes"] == []

    ev = call(s, cmd(s, "project_state_git_unstage"))
    check(ev, event="error",
          message="Either file_path, file_paths, or unstage_all must be "
          "provided")


def test_revert_modes(online, gateway, repo3):
    r = repo3
    append(os.path.join(r, "a.txt"), "a2\n")            # unstaged
    append(os.path.join(r, "b.txt"), "b2\n")
    git(r, "add", "b.txt")
    append(os.path.join(r, "b.txt"), "b3\n")            # staged + more
    put(r, "c.txt", "c\n")
    git(r, "add", "c.txt")                              # staged new
    os.unlink(os.path.join(r, "d.txt"))                 # deleted
    put(r, "u.txt", "u\n")                              # untracked
    s, _ = join(gateway, r)

    up, ev = git_cmd(s, "revert", file_path=os.path.join(r, "a.txt"))
    check(ev, file_path=os.path.join(r, "a.txt"))
    assert read(os.path.join(r, "a.txt")) == b"a\n"
    assert items_by_name(up)["a.txt"]["git_status"] == "clean"

    paths = [os.path.join(r, "b.txt"), os.path.join(r, "c.txt"),
             os.path.join(r, "d.txt")]
    up, ev = git_cmd(s, "revert", file_paths=paths)
    assert ev["file_paths"] == paths
    assert read(os.path.join(r, "b.txt")) == b"b\n"
    assert read(os.path.join(r, "d.txt")) == b"d\n"
    # a staged new file leaves the index and the work tree
    assert not os.path.exists(os.path.join(r, "c.txt"))
    assert porcelain(r) == ["?? u.txt"], porcelain(r)
    assert read(os.path.join(r, "u.txt")) == b"u\n"   # untracked kept

    # revert_all is git restore . : work tree from the index
    append(os.path.join(r, "k.txt"), "k2\n")
    append(os.path.join(r, "sub/s.txt"), "s2\n")
    git(r, "add", "sub/s.txt")
    append(os.path.join(r, "sub/s.txt"), "s3\n")
    os.unlink(os.path.join(r, "a.txt"))
    up, ev = git_cmd(s, "revert", revert_all=True)
    assert ev["revert_all"] is True, ev
    assert read(os.path.join(r, "k.txt")) == b"k\n"
    assert read(os.path.join(r, "a.txt")) == b"a\n"
    assert read(os.path.join(r, "sub/s.txt")) == b"s\ns2\n"
    assert porcelain(r) == sorted(["M  sub/s.txt", "?? u.txt"]), porcelain(r)
    assert [c["file_repo_path"] for c in
            up["git_detailed_status"]["staged_changes"]] == ["sub/s.txt"]
    assert up["git_detailed_status"]["unstaged_changes"] == []

    ev = call(s, cmd(s, "project_state_git_revert"))
    check(ev, event="error",
          message="Either file_path, file_paths, or revert_all must be "
          "provided")


def test_git_commands_on_plain_folder(online, gateway, workdir, users):
    root = os.path.join(workdir, "plain")
    tree_clean(root, {"x.txt": "x\n"})
    s, ev = join(gateway, root)
    assert ev["is_git_repo"] is False
    d = ev["git_detailed_status"]
    assert d == {"head_commit_hash": None, "staged_changes": [],
                 "unstaged_changes": [], "untracked_files": []}, d
    x = os.path.join(root, "x.txt")
    for op, extra in (("stage", {"file_path": x}),
                      ("unstage", {"file_paths": [x]}),
                      ("revert", {"revert_all": True})):
        ev = call(s, cmd(s, "project_state_git_" + op, **extra))
        check(ev, event="error",
              message="No git repository found for this project")
    _, ev = run(s, cmd(s, "project_state_git_commit", commit_message="m"),
                "project_state_git_commit_response")
    check(ev, success=False, commit_hash=None,
          error="No git repository found for this project")
    _, ev = run(s, cmd(s, "project_state_diff_open", file_path=x,
                       from_ref="head", to_ref="working"),
                "project_state_diff_open_response")
    assert ev["success"] is False, ev


def test_repo_of_another_user_refused(online, gateway, workdir, users):
    # libgit2's owner check: a repository root owns is not opened for the
    # target user (no safe.directory for it)
    root = os.path.join(workdir, "rootrepo")
    os.mkdir(root)
    with open(os.path.join(root, "a.txt"), "w") as f:
        f.write("a\n")
    env = {"GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin",
           "HOME": workdir}
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=R", "-c", "user.email=r@x", "commit",
                  "-q", "-m", "r"]):
        subprocess.run(["git", "-C", root] + args, env=env, check=True,
                       capture_output=True)
    s, ev = join(gateway, root)
    assert ev["is_git_repo"] is False, (ev["is_git_repo"],
                                        ev["git_detailed_status"])
    assert ev["git_branch"] is None
    assert "a.txt" in items_by_name(ev)
    ev = call(s, cmd(s, "project_state_git_stage",
                     file_path=os.path.join(root, "a.txt")))
    check(ev, event="error",
          message="No git repository found for this project")


# ---------------------------------------------------------------------------
# unborn HEAD


def test_unborn_head(online, gateway, workdir, users):
    root = os.path.join(workdir, "unborn")
    make_repo(root, {"a.txt": "a\n", "sub/b.txt": "b\n"}, commit=False)
    s, ev = join(gateway, root)
    assert ev["is_git_repo"] is True
    assert ev["git_branch"] == "main"
    d = ev["git_detailed_status"]
    assert d["head_commit_hash"] is None
    assert d["staged_changes"] == []
    assert sorted(c["file_repo_path"] for c in d["untracked_files"]) == \
        ["a.txt", "sub/b.txt"], d["untracked_files"]
    assert items_by_name(ev)["a.txt"]["git_status"] == "untracked"

    a = os.path.join(root, "a.txt")
    up, _ = git_cmd(s, "stage", file_path=a)
    assert git(root, "ls-files", "--stage").split("\t")[-1].strip() == \
        "a.txt"
    staged = {c["file_repo_path"]: c["change_type"]
              for c in up["git_detailed_status"]["staged_changes"]}
    assert staged == {"a.txt": "added"}, staged
    # unstage without a HEAD is git rm --cached
    git_cmd(s, "unstage", file_path=a)
    assert git(root, "ls-files") == ""
    assert read(a) == b"a\n"
    up, _ = git_cmd(s, "stage", stage_all=True)
    assert sorted(git(root, "ls-files").split()) == ["a.txt", "sub/b.txt"]

    up, ev = run(s, cmd(s, "project_state_git_commit",
                        commit_message="root commit"),
                 "project_state_git_commit_response")
    assert ev["success"] is True, ev
    head = git(root, "rev-parse", "HEAD").strip()
    assert ev["commit_hash"] == head
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(root, "log", "--format=%s%n%an <%ae>").split("\n")[:2] == \
        ["root commit", "Tester <tester@example.org>"]
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"
    assert porcelain(root) == []
    assert up is not None
    assert up["git_detailed_status"]["head_commit_hash"] == head
    assert up["git_branch"] == "main"
    assert up["git_status_summary"] == {"clean": 0}


# ---------------------------------------------------------------------------
# external changes: latency


@pytest.mark.parametrize("kind", ["git", "plain"])
def test_external_change_latency(online, gateway, workdir, users, kind):
    root = os.path.join(workdir, "lat")
    files = {"top.txt": "t\n", "src/m.c": "m\n", "src/k.c": "k\n",
             "src/deep/x.c": "x\n"}
    if kind == "git":
        make_repo(root, files)
    else:
        tree_clean(root, files)
    s, _ = join(gateway, root)
    time.sleep(0.3)     # let the initial state settle
    lat, counts = {}, {}

    def step(name, change, pred):
        mark = s.mark()
        t0 = time.monotonic()
        change()
        wait_update(s, pred, timeout=3.0, since=mark)
        lat[name] = time.monotonic() - t0
        # one change, one update: nothing more follows it
        time.sleep(0.4)
        with s.gw._cond:
            counts[name] = sum(1 for e in s.events[mark:]
                               if e.get("event") == "project_state_update")

    step("edit", lambda: append(os.path.join(root, "src/m.c"), "m2\n"),
         lambda e: items_by_name(e)["src/m.c"]["size"] == 5)
    step("create", lambda: put(root, "src/new.c", "n\n"),
         lambda e: "src/new.c" in items_by_name(e))
    step("delete", lambda: os.unlink(os.path.join(root, "src/m.c")),
         lambda e: "src/m.c" not in items_by_name(e))
    step("rename", lambda: os.rename(os.path.join(root, "src/k.c"),
                                     os.path.join(root, "src/k2.c")),
         lambda e: "src/k2.c" in items_by_name(e)
         and "src/k.c" not in items_by_name(e))
    if kind == "git":
        # below a folder no session shows: its directory is watched too,
        # for the folder's git_status and the status lists
        def unstaged(e):
            return [c["file_repo_path"] for c in
                    e["git_detailed_status"]["unstaged_changes"]]

        def untracked(e):
            return [c["file_repo_path"] for c in
                    e["git_detailed_status"]["untracked_files"]]
        step("deep edit",
             lambda: append(os.path.join(root, "src/deep/x.c"), "x2\n"),
             lambda e: "src/deep/x.c" in unstaged(e))
        step("deep new folder",
             lambda: put(root, "src/deep/new/n.c", "n\n"),
             lambda e: "src/deep/new/n.c" in untracked(e))
        step("edit in the new folder",
             lambda: put(root, "src/deep/new/n2.c", "n\n"),
             lambda e: "src/deep/new/n2.c" in untracked(e))
        head = {}

        def commit():
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "two")
            head["h"] = git(root, "rev-parse", "HEAD").strip()
        step("commit", commit,
             lambda e: e["git_detailed_status"]["head_commit_hash"] ==
             head["h"])
        step("checkout -b", lambda: git(root, "checkout", "-q", "-b", "f"),
             lambda e: e["git_branch"] == "f")
    slow = {k: v for k, v in lat.items() if v > 1.0}
    assert not slow, "updates later than 1 s: %s (all: %s)" % (
        {k: "%.3fs" % v for k, v in slow.items()},
        {k: "%.3fs" % v for k, v in lat.items()})
    assert all(n == 1 for n in counts.values()), \
        "project_state_update count per change (want 1 each): %s" % counts


# ---------------------------------------------------------------------------
# file tabs


def png_1x1():
    def chunk(t, data):
        c = struct.pack(">I", len(data)) + t + data
        return c + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def open_tab(s, path):
    up, ev = run(s, cmd(s, "project_state_file_open", file_path=path),
                 "project_state_file_open_response")
    check(ev, project_id=s.project_id, file_path=path, success=True,
          set_active=True)
    assert up is not None, "no update before file_open_response"
    assert up["project_id"] == s.project_id
    tab = up["active_tab"]
    assert tab is not None and tab["file_path"] == path, tab
    assert [t["tab_id"] for t in up["open_tabs"]].count(tab["tab_id"]) == 1
    for k in ("tab_id", "tab_type", "title", "file_path", "content_hash",
              "original_content_hash", "modified_content_hash",
              "html_diff_hash", "is_dirty", "mime_type", "encoding",
              "metadata"):
        assert k in tab, (k, tab)
    assert "content" not in tab
    return tab


def test_file_open_kinds(online, gateway, workdir, users):
    root = os.path.join(workdir, "files")
    u16 = "héllo wörld ☃ 🙂\r\nline2\n"
    png = png_1x1()
    tree_clean(root, {
        "hello.txt": "hello\nworld\n",
        "u16.txt": codecs.BOM_UTF16_LE + u16.encode("utf-16-le"),
        "l1.txt": b"caf\xe9 na\xefve\n",
        "blob": b"ab\x00cd\x01\x02",
        "pic.png": png,
        "crlf.md": b"a\r\nb\rc\n",
        "yarn.lock": "x" * 2048,
    })
    huge = os.path.join(root, "huge.txt")
    bigpng = os.path.join(root, "big.png")
    for path, size in ((huge, 10 * 1024 * 1024 + 1),
                       (bigpng, 50 * 1024 * 1024 + 1)):
        with open(path, "wb") as f:
            f.truncate(size)
        chown_pc(path)
    s, _ = join(gateway, root)

    def content(tab):
        text, evs = fetch(s, tab["content_hash"])
        assert evs[0]["success"] is True, evs[0]
        assert tab["content_hash"] == key(text.encode("utf-8"))
        return text

    t = open_tab(s, os.path.join(root, "hello.txt"))
    check(t, tab_type="file", title="hello.txt", encoding="utf-8",
          mime_type="text/plain", is_dirty=False, html_diff_hash=None)
    assert len(t["tab_id"]) == 36 and t["tab_id"].count("-") == 4
    assert t["metadata"]["size"] == 12
    assert content(t) == "hello\nworld\n"

    t = open_tab(s, os.path.join(root, "u16.txt"))
    check(t, tab_type="file", encoding="utf-16")
    assert content(t) == u16.replace("\r\n", "\n")

    t = open_tab(s, os.path.join(root, "l1.txt"))
    check(t, tab_type="file", encoding="latin-1")
    assert content(t) == "café naïve\n"

    t = open_tab(s, os.path.join(root, "blob"))
    check(t, tab_type="file")
    assert t["metadata"].get("binary") is True, t["metadata"]
    assert content(t) == ("# Binary file\n# File: blob\n# Size: 7 B\n"
                          "# Type: None\n\n# This file contains binary data "
                          "and cannot be displayed as text.")

    t = open_tab(s, huge)
    check(t, tab_type="file")
    assert t["metadata"].get("truncated") is True, t["metadata"]
    assert content(t) == ("# File too large to display\n# File: huge.txt\n"
                          "# Size: 10.0 MB\n# Maximum size for text files: "
                          "10.0 MB")

    t = open_tab(s, os.path.join(root, "pic.png"))
    check(t, tab_type="image", encoding="base64", mime_type="image/png")
    assert t["metadata"]["original_size"] == len(png)
    assert base64.b64decode(content(t)) == png

    t = open_tab(s, os.path.join(root, "crlf.md"))
    check(t, tab_type="file", encoding="utf-8")
    assert content(t) == "a\nb\nc\n"     # universal newlines

    t = open_tab(s, os.path.join(root, "yarn.lock"))
    check(t, tab_type="file")
    assert t["metadata"].get("ignored") is True, t["metadata"]
    assert content(t) == ("# Binary file not displayed\n# File: yarn.lock\n"
                          "# Size: 2.0 KB")

    t = open_tab(s, bigpng)
    assert t["metadata"].get("too_large") is True, t["metadata"]
    assert t["encoding"] != "base64", t
    assert content(t).startswith("# "), "not a placeholder"

    missing = os.path.join(root, "nope.txt")
    t = open_tab(s, missing)
    assert t["metadata"].get("error") == "File not found", t["metadata"]
    assert t["content_hash"] is None
    up = last_update(s)
    assert missing in [x["file_path"] for x in up["open_tabs"]]
    assert len(up["open_tabs"]) == 10, [x["title"] for x in up["open_tabs"]]

    # re-opening an open file only activates its tab
    first = up["open_tabs"][0]
    up, ev = run(s, cmd(s, "project_state_file_open",
                        file_path=os.path.join(root, "hello.txt")),
                 "project_state_file_open_response")
    assert ev["success"] is True, ev
    assert len(up["open_tabs"]) == 10
    assert up["active_tab"]["tab_id"] == first["tab_id"]


# ---------------------------------------------------------------------------
# chunking and the content store


def check_chunks(evs, data, event):
    """evs: the chunk events of one answer; data: the bytes they carry."""
    n = len(evs)
    assert n >= math.ceil(len(data) / 65536), n
    tids = {e["transfer_id"] for e in evs}
    assert len(tids) == 1, tids
    tid = tids.pop()
    assert len(tid) == 36 and tid.count("-") == 4, tid
    whole = b""
    for i, e in enumerate(evs):
        assert e["event"] == event
        assert e["chunked"] is True and e["success"] is True
        assert e["chunk_index"] == i, [x["chunk_index"] for x in evs]
        assert e["chunk_count"] == n
        assert e["total_size"] == len(data)
        assert e["is_final_chunk"] is (i == n - 1)
        b = e["content"].encode("utf-8")
        assert e["chunk_size"] == len(b) and len(b) <= 65536, \
            (i, e["chunk_size"], len(b))
        assert e["chunk_hash"] == sha(b), i
        # plain hex of the whole, no "sha256:" prefix (§4.10)
        assert e["content_hash"] == sha(data), e["content_hash"]
        whole += b
    assert whole == data, "reassembled bytes differ"


def test_chunked_multibyte(online, gateway, workdir, users):
    root = os.path.join(workdir, "chunk")
    unit = "€ä漢🙂\n"
    text = unit * ((1024 * 1024) // len(unit.encode("utf-8")) + 1)
    data = text.encode("utf-8")
    assert len(data) > 1024 * 1024
    tree_clean(root, {"big.txt": data})
    s, _ = join(gateway, root)
    t = open_tab(s, os.path.join(root, "big.txt"))
    assert t["content_hash"] == key(data)
    got, evs = fetch(s, t["content_hash"], timeout=30)
    assert evs[0]["chunked"] is True, evs[0]
    check_chunks(evs, data, "content_response")
    assert got == text


@pytest.mark.daemon_conf("ContentCacheSize 64K")
def test_lru_eviction_then_miss(online, gateway, workdir, users):
    root = os.path.join(workdir, "lru")
    files = {"f%d.txt" % i: ("%d" % i) * 40000 for i in range(4)}
    tree_clean(root, files)
    s, _ = join(gateway, root)
    tabs = [open_tab(s, os.path.join(root, n)) for n in sorted(files)]
    # the newest is still there (the store works) ...
    text, evs = fetch(s, tabs[-1]["content_hash"])
    assert evs[0]["success"] is True and text == files["f3.txt"]
    # ... the first was evicted by the 64K bound
    h = tabs[0]["content_hash"]
    assert h == key(files["f0.txt"].encode())
    _, evs = fetch(s, h)
    miss = dict(event="content_response", content_hash=h, content=None,
                success=False, error="Content not found in cache",
                chunked=False)
    got = {k: evs[0].get(k, "<missing>") for k in miss}
    if isinstance(got["content"], str):
        got["content"] = "%d chars" % len(got["content"])
    assert got == miss, "a request for an evicted entry: %s" % got
    # the same miss without a request_id (upstream fails there; we answer)
    mark = s.mark()
    s.send({"cmd": "content_request", "content_hash": h})
    ev = s.wait_event(lambda e: e.get("event") == "content_response" and
                      e.get("content_hash") == h, 10, since=mark)
    got = {k: ev.get(k, "<missing>") for k in miss}
    if isinstance(got["content"], str):
        got["content"] = "%d chars" % len(got["content"])
    assert got == miss, "without request_id: %s" % got
    assert "request_id" not in ev


# ---------------------------------------------------------------------------
# diff tabs


def test_diff_ref_pairs(online, gateway, workdir, users):
    root = os.path.join(workdir, "diffs")
    make_repo(root, {"a.txt": "v1\n", "other.txt": "o\n"})
    c1 = git(root, "rev-parse", "HEAD").strip()
    put(root, "a.txt", "v2\n")
    git(root, "commit", "-q", "-am", "second")
    put(root, "a.txt", "v2\nstaged\n")
    git(root, "add", "a.txt")
    put(root, "a.txt", "v2\nstaged\nworking\n")
    head, staged, working = "v2\n", "v2\nstaged\n", "v2\nstaged\nworking\n"
    s, _ = join(gateway, root)
    a = os.path.join(root, "a.txt")

    pairs = [("head", "working", None, head, working, "head → working"),
             ("staged", "working", None, staged, working,
              "staged → working"),
             ("head", "staged", None, head, staged, "head → staged"),
             ("commit", "working", c1, "v1\n", working,
              "%s → working" % c1[:8])]
    for fr, to, fh, orig, mod, label in pairs:
        spec = dict(file_path=a, from_ref=fr, to_ref=to)
        if fh:
            spec["from_hash"] = fh
        up, ev = run(s, cmd(s, "project_state_diff_open", **spec),
                     "project_state_diff_open_response")
        check(ev, project_id=s.project_id, success=True, file_path=a,
              from_ref=fr, to_ref=to, from_hash=fh, to_hash=None)
        assert up is not None and up["project_id"] == s.project_id
        tab = up["active_tab"]
        check(tab, tab_type="diff", title="a.txt (%s)" % label,
              encoding="utf-8", file_path=a)
        md = tab["metadata"]
        check(md, diff_mode=True, from_ref=fr, to_ref=to, from_hash=fh,
              to_hash=None)
        assert "html_diff_versions" not in md and "diff_details" not in md
        assert tab["original_content_hash"] == key(orig.encode())
        assert tab["modified_content_hash"] == key(mod.encode())
        assert fetch(s, tab["original_content_hash"])[0] == orig
        assert fetch(s, tab["modified_content_hash"])[0] == mod

        base = cmd(s, "project_state_diff_content_request", **spec)
        for ctype, want in (("original", orig), ("modified", mod)):
            ev = call(s, dict(base, content_type=ctype))
            check(ev, event="project_state_diff_content_response",
                  success=True, content_type=ctype, from_ref=fr, to_ref=to,
                  file_path=a, chunked=False)
            assert ev["content"] == want, (fr, to, ctype, ev["content"])
        ev = call(s, dict(base, content_type="html_diff"))
        assert ev["success"] is True, ev
        html = json.loads(ev["content"])
        assert set(html) == {"minimal", "full"}, set(html)
        for mode in ("minimal", "full"):
            assert 'class="unified-diff-container"' in html[mode]
            assert 'data-view-mode="%s"' % mode in html[mode]
        assert 'class="diff-line diff-add"' in html["minimal"]
        ev = call(s, dict(base, content_type="all"))
        allc = json.loads(ev["content"])
        assert allc["original_content"] == orig
        assert allc["modified_content"] == mod
        assert allc["html_diff_versions"] == html

    # a file HEAD does not have, and one the work tree no longer has
    put(root, "new.txt", "fresh\n")
    os.unlink(os.path.join(root, "other.txt"))
    for rel, orig, mod in (("new.txt", "", "fresh\n"),
                           ("other.txt", "o\n", "")):
        p = os.path.join(root, rel)
        spec = dict(file_path=p, from_ref="head", to_ref="working")
        _, ev = run(s, cmd(s, "project_state_diff_open", **spec),
                    "project_state_diff_open_response")
        assert ev["success"] is True, ev
        for ctype, want in (("original", orig), ("modified", mod)):
            ev = call(s, cmd(s, "project_state_diff_content_request",
                             content_type=ctype, **spec))
            assert ev["success"] is True, ev
            assert ev["content"] == want, (rel, ctype, ev["content"])
    for t in last_update(s)["open_tabs"][4:]:
        assert t["tab_type"] == "diff", t
        run(s, cmd(s, "project_state_tab_close", tab_id=t["tab_id"]),
            "project_state_tab_close_response")

    up = last_update(s)
    assert len(up["open_tabs"]) == 4
    # the same four refs again: no new tab
    run(s, cmd(s, "project_state_diff_open", file_path=a, from_ref="head",
               to_ref="working"), "project_state_diff_open_response")
    assert len(last_update(s)["open_tabs"]) == 4

    ev = call(s, cmd(s, "project_state_diff_open", file_path=a,
                     from_ref="x", to_ref="working"))
    check(ev, event="error", message="Invalid from_ref: x")
    ev = call(s, cmd(s, "project_state_diff_open", file_path=a,
                     from_ref="commit", to_ref="working"))
    check(ev, event="error",
          message="from_hash is required when from_ref='commit'")
    ev = call(s, cmd(s, "project_state_diff_content_request", file_path=a,
                     from_ref="head", to_ref="head",
                     content_type="original"))
    check(ev, event="project_state_diff_content_response", success=False,
          chunked=False)
    ev = call(s, cmd(s, "project_state_diff_content_request", file_path=a,
                     from_ref="head", to_ref="working", content_type="x"))
    assert ev["event"] == "error", ev
    assert ev["message"].startswith("content_type must be one of"), ev


def test_diff_content_chunked(online, gateway, workdir, users):
    root = os.path.join(workdir, "bigdiff")
    base = "".join("línea %06d ✓\n" % i for i in range(20000))
    make_repo(root, {"big.txt": base})
    new = base + "añadida ✓\n"
    put(root, "big.txt", new)
    s, _ = join(gateway, root)
    p = os.path.join(root, "big.txt")
    run(s, cmd(s, "project_state_diff_open", file_path=p, from_ref="head",
               to_ref="working"), "project_state_diff_open_response")
    rid = "d-" + secrets.token_hex(6)
    since = s.mark()
    s.send(cmd(s, "project_state_diff_content_request", file_path=p,
               from_ref="head", to_ref="working", content_type="modified",
               request_id=rid))
    first = s.wait_event(lambda e: e.get("request_id") == rid, 15,
                         since=since)
    assert first["event"] == "project_state_diff_content_response", first
    assert first.get("chunked") is True, \
        "a %d-byte diff side was not chunked" % len(new.encode())
    n = first["chunk_count"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with s.gw._cond:
            evs = [e for e in s.events[since:] if e.get("request_id") == rid]
        if len(evs) >= n:
            break
        time.sleep(0.02)
    check_chunks(evs, new.encode("utf-8"),
                 "project_state_diff_content_response")
    for e in evs:
        check(e, content_type="modified", from_ref="head", to_ref="working",
              file_path=p)


# ---------------------------------------------------------------------------
# a repository that asks git to run programs


def test_malicious_repo_runs_nothing(online, gateway, workdir, users):
    root = os.path.join(workdir, "evil")
    marks = os.path.join(workdir, "markers")
    os.mkdir(marks)
    os.chmod(marks, 0o777)
    bindir = os.path.join(workdir, "evilbin")
    hooks = os.path.join(bindir, "hooks")

    def prog(path, name, passthrough=False):
        put(os.path.dirname(path), os.path.basename(path),
            "#!/bin/sh\ntouch %s/%s\n%s" % (marks, name,
                                             "exec cat\n" if passthrough
                                             else "exit 0\n"),
            mode=0o755)
    prog(os.path.join(bindir, "fsmonitor"), "fsmonitor")
    prog(os.path.join(bindir, "clean"), "filter-clean", True)
    prog(os.path.join(bindir, "smudge"), "filter-smudge", True)
    hook_names = ("pre-commit", "prepare-commit-msg", "commit-msg",
                  "post-commit", "post-index-change", "post-checkout",
                  "reference-transaction")
    for h in hook_names:
        prog(os.path.join(hooks, h), "hook-" + h)
    make_repo(root, {"a.txt": "a\n", "b.txt": "b\n",
                     ".gitattributes": "* filter=evil\n"})
    # the same hooks where git looks by default
    for h in hook_names:
        prog(os.path.join(root, ".git/hooks", h), "defhook-" + h)
    git(root, "config", "core.fsmonitor", os.path.join(bindir, "fsmonitor"))
    git(root, "config", "core.hooksPath", hooks)
    git(root, "config", "filter.evil.clean", os.path.join(bindir, "clean"))
    git(root, "config", "filter.evil.smudge",
        os.path.join(bindir, "smudge"))
    chown_tree(root)
    assert os.listdir(marks) == []

    s, ev = join(gateway, root)
    assert ev["is_git_repo"] is True
    append(os.path.join(root, "a.txt"), "a2\n")
    append(os.path.join(root, "b.txt"), "b2\n")
    put(root, "c.txt", "c\n")
    wait_update(s, lambda e: "c.txt" in items_by_name(e))
    git_cmd(s, "stage", file_paths=[os.path.join(root, "a.txt"),
                                    os.path.join(root, "c.txt")])
    _, ev = run(s, cmd(s, "project_state_git_commit", commit_message="m"),
                "project_state_git_commit_response")
    assert ev["success"] is True, ev
    assert ev["commit_hash"] == git(root, "rev-parse", "HEAD").strip()
    run(s, cmd(s, "project_state_diff_open",
               file_path=os.path.join(root, "b.txt"), from_ref="head",
               to_ref="working"), "project_state_diff_open_response")
    git_cmd(s, "stage", stage_all=True)
    git_cmd(s, "unstage", unstage_all=True)
    git_cmd(s, "revert", file_path=os.path.join(root, "b.txt"))
    assert read(os.path.join(root, "b.txt")) == b"b\n"
    open_tab(s, os.path.join(root, "a.txt"))
    time.sleep(0.3)
    ran = sorted(os.listdir(marks))
    assert ran == [], "the daemon ran repository programs: %s" % ran

    # control: the git CLI does run them, so the trap was armed
    append(os.path.join(root, "a.txt"), "a3\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-q", "-m", "cli")
    git(root, "status")
    ran = set(os.listdir(marks))
    assert {"filter-clean", "hook-pre-commit", "fsmonitor"} <= ran, ran


# ---------------------------------------------------------------------------
# watches and fds after many sessions


def test_hundred_joins_leave_no_watches(online, gateway, daemon, workdir,
                                        users):
    repo = make_repo(os.path.join(workdir, "churn"),
                     {"a.txt": "a\n", "src/m.c": "m\n", "docs/r.md": "r\n",
                      "src/deep/x.c": "x\n"})
    other = os.path.join(workdir, "keep")
    tree_clean(other, {"k.txt": "k\n", "d/e.txt": "e\n"})

    def usage():
        pid = daemon.roles()["git"]
        watches = 0
        for fd in os.listdir("/proc/%d/fdinfo" % pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    watches += sum(1 for ln in f
                                   if ln.startswith("inotify"))
            except OSError:
                pass
        return watches, sorted(os.listdir("/proc/%d/fd" % pid), key=int)

    def settle(want):
        deadline = time.monotonic() + 5
        while usage()[0] != want[0] or len(usage()[1]) != len(want[1]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return usage()

    time.sleep(0.3)
    empty = usage()
    # a session that stays, so the inotify descriptor stays open and
    # watch counts are meaningful throughout
    keeper, _ = join(gateway, other)
    time.sleep(0.3)
    base = usage()
    assert base[0] > 0, "no inotify watches for a monitored project"
    for i in range(100):
        folder = repo if i % 4 else other
        s, _ = join(gateway, folder)
        if i % 10 == 0 and folder == repo:
            # grow the session's watches before it leaves
            run(s, cmd(s, "project_state_folder_expand",
                       folder_path=os.path.join(repo, "src")),
                "project_state_folder_expand_response")
            open_tab(s, os.path.join(repo, "a.txt"))
        gateway.remove_session(s)
    now = settle(base)
    assert now[0] == base[0], "inotify watches: %d at baseline, %d after " \
        "100 joins and leaves" % (base[0], now[0])
    assert len(now[1]) == len(base[1]), "fds: %s at baseline, %s after" % (
        base[1], now[1])
    gateway.remove_session(keeper)
    now = settle(empty)
    assert now[0] == empty[0] and len(now[1]) == len(empty[1]), \
        "with no sessions: %s, before any: %s" % (now, empty)


# ---------------------------------------------------------------------------
# active tab cleared, detached HEAD


def test_active_tab_null_and_detached_head(online, gateway, workdir, users):
    """set_active_tab with tab_id null clears the active tab (the tab
    stays open); a detached HEAD shows git_branch null, and a branch
    checked out again shows it."""
    root = make_repo(os.path.join(workdir, "det"), {"a.txt": "a\n"})
    s, _ = join(gateway, root)
    tab = open_tab(s, os.path.join(root, "a.txt"))
    up, ev = run(s, cmd(s, "project_state_set_active_tab", tab_id=None),
                 "project_state_set_active_tab_response")
    assert ev["success"] is True and ev["tab_id"] is None, ev
    assert up is not None and up["active_tab"] is None, up
    assert [t["tab_id"] for t in up["open_tabs"]] == [tab["tab_id"]]
    _, ev = run(s, cmd(s, "project_state_set_active_tab",
                       tab_id="no-such-tab"),
                "project_state_set_active_tab_response")
    assert ev["success"] is False, ev

    head = git(root, "rev-parse", "HEAD").strip()
    mark = s.mark()
    git(root, "checkout", "-q", "--detach")
    up = wait_update(s, lambda e: e["git_branch"] is None, since=mark)
    assert up["git_detailed_status"]["head_commit_hash"] == head
    assert up["git_status_summary"] == {"clean": 0}
    mark = s.mark()
    git(root, "checkout", "-q", "main")
    wait_update(s, lambda e: e["git_branch"] == "main", since=mark)
