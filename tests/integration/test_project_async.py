"""Full status passes run beside the event loop: a big repository's first
pass holds only its own project's commands; other projects are served
meanwhile, and held commands are answered, in order, after the state
they need."""
import os
import tempfile

import pytest

from fshelp import chown_tree, pcuser
from test_project import git, join, repo, resp  # noqa: F401 (fixture)

BIG_FILES = 20000
BIG_DIRS = 200


@pytest.fixture(scope="module")
def bigrepo(base_dir, users):
    """A committed repository of BIG_FILES files, one of them modified.
    The files are hard links of one (creating 20 000 files takes seconds
    on some file systems); status stats each path all the same."""
    root = tempfile.mkdtemp(prefix="bigrepo-", dir=base_dir)
    seed = os.path.join(base_dir, "bigrepo-seed")
    with open(seed, "w") as fh:
        fh.write("the same text in every file\n")
    per = BIG_FILES // BIG_DIRS
    for d in range(BIG_DIRS):
        sub = os.path.join(root, "d%03d" % d)
        os.mkdir(sub)
        for f in range(per):
            os.link(seed, os.path.join(sub, "f%03d.txt" % f))
    chown_tree(root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "big")
    changed = os.path.join(root, "d000", "f000.txt")
    os.unlink(changed)
    with open(changed, "w") as fh:
        fh.write("changed\n")
    os.chown(changed, pcuser().pw_uid, pcuser().pw_gid)
    return root


def index_of(s, pred):
    for i, e in enumerate(list(s.events)):
        if pred(e):
            return i
    raise AssertionError("no such event in %s" % s.channel_name)


def file_open(s, path, rid):
    return {"cmd": "project_state_file_open", "project_id": s.project_id,
            "source_client_session": s.channel_name, "file_path": path,
            "request_id": rid}


def test_other_project_served_during_first_pass(online, gateway, repo,
                                                bigrepo):
    """A small project's command is answered while a big repository's
    first pass is under way: its answer comes before the big project's
    project_state_initialized."""
    small, _ = join(gateway, repo)
    big = gateway.add_session("project", folder=bigrepo)
    ev = resp(small, file_open(small, os.path.join(repo, "a.txt"), "small-1"),
              "project_state_file_open_response")
    assert ev["success"] is True
    assert big.events_named("project_state_initialized") == []
    init = big.wait_event("project_state_initialized", 30)
    assert init["is_git_repo"] is True
    assert init["git_status_summary"].get("modified") == 1


def test_commands_held_until_first_state(online, gateway, bigrepo):
    """Commands sent before the first state is ready wait for it, and are
    answered in the order they came, each after its update."""
    s = gateway.add_session("project", folder=bigrepo)
    a = os.path.join(bigrepo, "d001", "f001.txt")
    b = os.path.join(bigrepo, "d002", "f002.txt")
    s.send(file_open(s, a, "held-1"))
    s.send(file_open(s, b, "held-2"))
    s.wait_event(lambda e: e.get("request_id") == "held-2" and
                 e.get("event") == "project_state_file_open_response", 30)
    init = index_of(s, lambda e: e.get("event") ==
                    "project_state_initialized")
    r1 = index_of(s, lambda e: e.get("request_id") == "held-1" and
                  e.get("event") == "project_state_file_open_response")
    u1 = index_of(s, lambda e: e.get("request_id") == "held-1" and
                  e.get("event") == "project_state_update")
    r2 = index_of(s, lambda e: e.get("request_id") == "held-2" and
                  e.get("event") == "project_state_file_open_response")
    assert init < u1 < r1 < r2
    assert s.events[init]["open_tabs"] == []
    assert s.events[r1]["success"] is True


def test_git_command_answer_after_its_pass(online, gateway, bigrepo):
    """A stage in the big repository: its update (with the file staged)
    comes before its answer, and a command sent right behind it sees the
    staged state."""
    s, _ = join(gateway, bigrepo)
    path = os.path.join(bigrepo, "d000", "f000.txt")
    base = {"project_id": s.project_id, "source_client_session":
            s.channel_name}
    s.send(dict(base, cmd="project_state_git_stage", file_path=path,
                request_id="stage-1"))
    s.send(file_open(s, path, "after-1"))
    s.wait_event(lambda e: e.get("request_id") == "after-1" and
                 e.get("event") == "project_state_file_open_response", 30)
    u = index_of(s, lambda e: e.get("request_id") == "stage-1" and
                 e.get("event") == "project_state_update")
    r = index_of(s, lambda e: e.get("request_id") == "stage-1" and
                 e.get("event") == "project_state_git_stage_response")
    a = index_of(s, lambda e: e.get("request_id") == "after-1" and
                 e.get("event") == "project_state_file_open_response")
    assert u < r < a
    staged = s.events[u]["git_detailed_status"]["staged_changes"]
    assert [c["file_repo_path"] for c in staged] == ["d000/f000.txt"]
    git(bigrepo, "reset", "-q")
