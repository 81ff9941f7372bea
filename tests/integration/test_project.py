"""Project state in the git worker (reference §6): initialisation of git
and non-git folders, updates driven by inotify, the git commands, tabs
and diff tabs."""
import os
import subprocess
import time

import pytest

from fshelp import call, chown_tree, pcuser, put

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}


def git(root, *args):
    pw = pcuser()
    env = dict(GIT_ENV, HOME=pw.pw_dir)
    return subprocess.run(
        ["/usr/sbin/runuser", "-u", pw.pw_name, "--", "git", "-C", root,
         "-c", "user.name=T", "-c", "user.email=t@example.org",
         "-c", "init.defaultBranch=main"] + list(args),
        env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(workdir, users):
    root = os.path.join(workdir, "proj")
    put(root, "a.txt", "one\ntwo\n")
    put(root, "src/m.c", "int x;\n")
    put(root, "docs/readme.md", "# hi\n")
    chown_tree(root)
    git(root, "init", "-q")
    # The test user's own identity, for commits made through the daemon.
    git(root, "config", "user.name", "Tester")
    git(root, "config", "user.email", "tester@example.org")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def plain(workdir, users):
    root = os.path.join(workdir, "plain")
    put(root, "x.txt", "x\n")
    put(root, "sub/y.txt", "y\n")
    chown_tree(root)
    return root


def join(gateway, folder):
    s = gateway.add_session("project", folder=folder)
    ev = s.wait_event(lambda e: e.get("event") ==
                      "project_state_initialized", 15,
                      what="project_state_initialized")
    return s, ev


def items_by_name(ev):
    return {os.path.relpath(i["path"], ev["project_folder_path"]): i
            for i in ev["items"]}


def resp(s, payload, event):
    """The command's *_response (its project_state_update, which echoes
    the request_id too, comes first and is skipped)."""
    return s.request(payload, 15, event=event)


def wait_update(s, pred, timeout=5.0, since=0):
    return s.wait_event(lambda e: e.get("event") == "project_state_update"
                        and pred(e), timeout, since=since,
                        what="a matching project_state_update")


def test_initialized_git(online, gateway, repo):
    s, ev = join(gateway, repo)
    assert ev["project_id"] == s.channel_name
    assert ev["project_folder_path"] == repo
    assert ev["is_git_repo"] is True
    assert ev["git_branch"] == "main"
    assert ev["git_status_summary"] == {"clean": 0}
    d = ev["git_detailed_status"]
    assert d["head_commit_hash"] == git(repo, "rev-parse", "HEAD").strip()
    assert d["staged_changes"] == [] and d["unstaged_changes"] == []
    assert ev["open_tabs"] == [] and ev["active_tab"] is None
    names = items_by_name(ev)
    # root children plus one level below each first-level folder
    assert {"a.txt", "src", "docs", "src/m.c", "docs/readme.md"} <= \
        set(names), sorted(names)
    assert ".git" not in names
    a = names["a.txt"]
    for k in ("name", "path", "is_directory", "parent_path", "size",
              "modified_time", "is_git_tracked", "git_status", "is_staged",
              "is_hidden", "is_ignored", "children", "is_expanded",
              "is_loaded"):
        assert k in a, k
    assert a["git_status"] == "clean" and a["is_git_tracked"] is True
    assert names["src"]["is_directory"] is True
    assert names["src"]["is_expanded"] is False
    assert names["src"]["is_loaded"] is True


def test_initialized_plain(online, gateway, plain):
    s, ev = join(gateway, plain)
    assert ev["is_git_repo"] is False
    assert ev["git_branch"] is None
    assert ev["git_status_summary"] == {}
    assert "x.txt" in items_by_name(ev)


def test_external_edit_and_rename_update(online, gateway, repo, plain):
    s, _ = join(gateway, repo)
    mark = s.mark()
    with open(os.path.join(repo, "a.txt"), "a") as f:
        f.write("three\n")
    ev = wait_update(s, lambda e: e["git_status_summary"].get("modified")
                     == 1, since=mark)
    assert ev["project_id"] == s.channel_name
    assert items_by_name(ev)["a.txt"]["git_status"] == "modified"
    # a rename in a non-git folder still produces an update
    p, _ = join(gateway, plain)
    mark = p.mark()
    os.rename(os.path.join(plain, "x.txt"), os.path.join(plain, "z.txt"))
    ev = wait_update(p, lambda e: "z.txt" in items_by_name(e), since=mark)
    assert "x.txt" not in items_by_name(ev)


def test_terminal_commit_and_branch_switch(online, gateway, repo):
    s, _ = join(gateway, repo)
    put(repo, "new.txt", "n\n")
    git(repo, "add", "new.txt")
    mark = s.mark()
    git(repo, "commit", "-q", "-m", "second")
    head = git(repo, "rev-parse", "HEAD").strip()
    wait_update(s, lambda e: e["git_detailed_status"]["head_commit_hash"]
                == head, since=mark)
    mark = s.mark()
    git(repo, "checkout", "-q", "-b", "feature")
    wait_update(s, lambda e: e["git_branch"] == "feature", since=mark)


def test_stage_unstage_commit(online, gateway, repo):
    s, _ = join(gateway, repo)
    put(repo, "b.txt", "b\n")
    with open(os.path.join(repo, "a.txt"), "a") as f:
        f.write("more\n")
    pid = s.project_id
    ev = resp(s, {"cmd": "project_state_git_stage", "project_id": pid,
                  "source_client_session": s.channel_name,
                  "file_paths": [os.path.join(repo, "a.txt"),
                                 os.path.join(repo, "b.txt")]},
              "project_state_git_stage_response")
    assert ev["event"] == "project_state_git_stage_response", ev
    assert ev["success"] is True
    staged = {c["file_name"]: c["change_type"]
              for c in s.events_named("project_state_update")[-1]
              ["git_detailed_status"]["staged_changes"]}
    assert staged == {"a.txt": "modified", "b.txt": "added"}, staged
    ev = resp(s, {"cmd": "project_state_git_unstage", "project_id": pid,
                  "source_client_session": s.channel_name,
                  "file_path": os.path.join(repo, "b.txt")},
              "project_state_git_unstage_response")
    assert ev["success"] is True, ev
    ev = resp(s, {"cmd": "project_state_git_commit", "project_id": pid,
                  "source_client_session": s.channel_name,
                  "commit_message": "  from the client \n"},
              "project_state_git_commit_response")
    assert ev["event"] == "project_state_git_commit_response", ev
    assert ev["success"] is True, ev
    assert ev["commit_hash"] == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "log", "-1", "--format=%s").strip() == \
        "from the client"
    ev = resp(s, {"cmd": "project_state_git_commit", "project_id": pid,
                  "source_client_session": s.channel_name,
                  "commit_message": "again"},
              "project_state_git_commit_response")
    assert ev["success"] is False
    assert ev["error"] == "No staged changes to commit"
    assert ev["commit_hash"] is None


def test_tabs_and_diff(online, gateway, repo):
    s, _ = join(gateway, repo)
    pid = s.project_id
    base = {"project_id": pid, "source_client_session": s.channel_name}
    a = os.path.join(repo, "a.txt")
    ev = resp(s, dict(base, cmd="project_state_file_open", file_path=a),
              "project_state_file_open_response")
    assert ev["success"] is True, ev
    up = s.events_named("project_state_update")[-1]
    tab = up["active_tab"]
    assert tab["tab_type"] == "file" and tab["title"] == "a.txt"
    assert tab["content_hash"].startswith("sha256:")
    got = call(s, {"cmd": "content_request",
                   "content_hash": tab["content_hash"]})
    assert got["success"] is True and got["content"] == "one\ntwo\n"
    with open(a, "a") as f:
        f.write("three\n")
    ev = resp(s, dict(base, cmd="project_state_diff_open", file_path=a,
                      from_ref="head", to_ref="working"),
              "project_state_diff_open_response")
    assert ev["success"] is True, ev
    ev = call(s, dict(base, cmd="project_state_diff_content_request",
                      file_path=a, from_ref="head", to_ref="working",
                      content_type="modified"))
    assert ev["success"] is True, ev
    assert ev["content"] == "one\ntwo\nthree\n"
    ev = call(s, dict(base, cmd="project_state_diff_content_request",
                      file_path=a, from_ref="head", to_ref="working",
                      content_type="original"))
    assert ev["content"] == "one\ntwo\n"
    tid = tab["tab_id"]
    ev = resp(s, dict(base, cmd="project_state_tab_close", tab_id=tid),
              "project_state_tab_close_response")
    assert ev["success"] is True
    ev = resp(s, dict(base, cmd="project_state_tab_close", tab_id=tid),
              "project_state_tab_close_response")
    assert ev["success"] is False


def test_no_state_and_required_fields(online, gateway, repo):
    # A project session whose folder does not exist gets no state.
    d = gateway.add_session("project", folder="/nonexistent/pc-test")
    ev = call(d, {"cmd": "project_state_folder_expand",
                  "project_id": d.project_id,
                  "source_client_session": d.channel_name,
                  "folder_path": repo})
    assert ev["success"] is False
    assert ev["error"] == ("No project state found for client session: %s"
                           % d.channel_name)
    ev = call(d, {"cmd": "project_state_git_stage",
                  "project_id": d.project_id,
                  "source_client_session": d.channel_name})
    assert ev["event"] == "error"
    assert ev["message"] == ("No project state found for client session: "
                             "%s" % d.channel_name)


def test_sessions_leave_release_watches(online, gateway, repo, daemon):
    def inotify_watches():
        pid = daemon.roles()["git"]
        n = 0
        for fd in os.listdir("/proc/%d/fdinfo" % pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    n += sum(1 for ln in f if ln.startswith("inotify"))
            except OSError:
                pass
        return n, len(os.listdir("/proc/%d/fd" % pid))
    time.sleep(0.5)
    base = inotify_watches()
    for _ in range(20):
        s, _ = join(gateway, repo)
        gateway.remove_session(s)
    deadline = time.monotonic() + 5
    while inotify_watches() != base and time.monotonic() < deadline:
        time.sleep(0.2)
    assert inotify_watches() == base


def test_plain_folder_becomes_repository(online, gateway, plain):
    """git init typed in a terminal: the state turns into a git one, and
    the new repository's HEAD is watched from then on."""
    s, ev = join(gateway, plain)
    assert ev["is_git_repo"] is False
    mark = s.mark()
    git(plain, "init", "-q")
    ev = wait_update(s, lambda e: e["is_git_repo"] is True, since=mark)
    assert ev["git_branch"] == "main"
    git(plain, "config", "user.name", "Tester")
    git(plain, "config", "user.email", "tester@example.org")
    git(plain, "add", "-A")
    mark = s.mark()
    git(plain, "commit", "-q", "-m", "first")
    head = git(plain, "rev-parse", "HEAD").strip()
    wait_update(s, lambda e: e["git_detailed_status"]["head_commit_hash"]
                == head, since=mark)


def test_nul_in_paths_refused(online, gateway, repo):
    """net refuses a string holding NUL before any worker sees it (the
    git worker checks again); nothing gets staged."""
    s, _ = join(gateway, repo)
    with open(os.path.join(repo, "a.txt"), "a") as f:
        f.write("x\n")
    base = {"project_id": s.project_id,
            "source_client_session": s.channel_name}
    for extra in ({"cmd": "project_state_git_stage",
                   "file_paths": [os.path.join(repo, "a.txt") + "\u0000x"]},
                  {"cmd": "project_state_file_open",
                   "file_path": os.path.join(repo, "a.txt") + "\u0000x"}):
        ev = call(s, dict(base, **extra))
        assert ev["event"] == "error", ev
        assert "NUL" in ev["message"], ev
    assert git(repo, "diff", "--cached", "--name-only").strip() == ""
