"""
Shared by bench/git-status and bench/project-memory: the generated
repository both measure, the daemon of filebench.Bench, and a tap on the
gateway's receive path that times project state events (and swallows
them: an initialized state of a large project is not worth keeping in
the test gateway's frame list, once per run).
"""
import json
import os
import random
import secrets
import string
import subprocess
import threading
import time

import filebench as F
import termbench as T

G = T.G

TOPS = ["src", "lib", "pkg", "internal", "services", "tools", "tests",
        "docs", "cmd", "api", "core", "plugins"]
SUBDIRS = 24            # below each top; every third has an impl/ too
TOP_FILES = 4           # files directly in each top (watched folders)
EXTS = [("c", 30), ("h", 15), ("py", 20), ("js", 10), ("go", 10),
        ("md", 10), ("txt", 5)]
IGNORED = 100           # files in the ignored build/ directory
MODIFY_LINE = "/* changed by bench/git-status */\n"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Repo:
    """
    A git repository of nfiles tracked files (deterministic for the
    seed) in 12 first-level folders and ~380 folders below them, owned by
    the target user, committed, then `modified` tracked files changed and
    `untracked` new files added.  An ignored build/ folder holds a few
    more files.  Remove with remove().
    """

    def __init__(self, nfiles=50000, modified=100, untracked=50,
                 seed=20240612):
        self.root = F.make_tmp("portacoded-gitbench-")
        t0 = time.perf_counter()
        rng = random.Random(seed)
        pool = F.TextPool(rng, per_lang=2000)
        exts = [e for e, w in EXTS for _ in range(w)]
        tracked, deep, top_files = [], [], []

        def put(rel, text):
            write(os.path.join(self.root, rel), text)
            tracked.append(rel)

        def body(ext):
            n = max(3, int(rng.lognormvariate(3.2, 0.7)))
            return "\n".join(pool.lines(ext, min(n, 600))) + "\n"

        write(os.path.join(self.root, ".gitignore"), "/build/\n*.log\n")
        tracked.append(".gitignore")
        for name, ext in (("README.md", "md"), ("Makefile", "txt"),
                          ("CHANGES.md", "md"), ("setup.py", "py")):
            put(name, body(ext))
        dirs = []
        for t in TOPS:
            os.mkdir(os.path.join(self.root, t))
            for i in range(TOP_FILES):
                ext = rng.choice(exts)
                rel = "%s/%s_%s_%d.%s" % (t, rng.choice(F.WORDS),
                                          rng.choice(F.WORDS), i, ext)
                put(rel, body(ext))
                top_files.append(rel)
            for j in range(SUBDIRS):
                d = "%s/%s_%02d" % (t, rng.choice(F.WORDS), j)
                dirs.append(d)
                if j % 3 == 0:
                    dirs.append(d + "/impl")
        for d in dirs:
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        left = nfiles - len(tracked)
        for k in range(left):
            d = dirs[k % len(dirs)]
            ext = rng.choice(exts)
            rel = "%s/%s_%s_%d.%s" % (d, rng.choice(F.WORDS),
                                      rng.choice(F.WORDS), k, ext)
            put(rel, body(ext))
            deep.append(rel)
        os.mkdir(os.path.join(self.root, "build"))
        for i in range(IGNORED):
            write(os.path.join(self.root, "build", "obj_%03d.o" % i),
                  "\0" * 64)
        write(os.path.join(self.root, "run.log"), "ignored\n")
        self.ndirs = len(dirs) + len(TOPS)
        self.ntracked = len(tracked)
        F.chown_tree(self.root)

        self.git("init", "-q", "-b", "main")
        self.git("add", "-A")
        self.git("-c", "user.name=Bench", "-c", "user.email=bench@example.org",
                 "commit", "-q", "-m", "generated")
        # No racily clean entries: an index written well after the files.
        time.sleep(1.1)
        self.git("update-index", "-q", "--refresh")
        made = time.perf_counter() - t0

        # The edit targets stay clean: one file in a first-level folder
        # (watched), one in the root, one two levels down (not watched).
        self.edit_top = top_files[0]
        self.edit_atomic = top_files[TOP_FILES]     # in the second top
        self.edit_root = "README.md"
        self.edit_deep = deep[len(deep) // 2]
        spare = set([self.edit_deep])
        self.modified = sorted(rng.sample([p for p in deep
                                           if p not in spare], modified))
        for rel in self.modified:
            with open(os.path.join(self.root, rel), "a") as f:
                f.write(MODIFY_LINE)
        self.untracked = []
        pw = F.target_user()
        for i in range(untracked):
            d = dirs[rng.randrange(len(dirs))]
            rel = "%s/new_%02d.c" % (d, i)
            write(os.path.join(self.root, rel), body("c"))
            # Not chown -R: that changes every file's ctime, which makes
            # the index's stat data stale (see touch_all()).
            os.chown(os.path.join(self.root, rel), pw.pw_uid, pw.pw_gid)
            self.untracked.append(rel)
        size = int(subprocess.run(["du", "-sm", "--exclude=.git", self.root],
                                  capture_output=True, text=True)
                   .stdout.split()[0])
        gsize = int(subprocess.run(["du", "-sm", os.path.join(self.root,
                                                              ".git")],
                                   capture_output=True, text=True)
                    .stdout.split()[0])
        self.note = ("%d tracked files in %d folders (%d MB, .git %d MB), "
                     "%d modified, %d untracked, %d ignored; made in %.0f s"
                     % (self.ntracked, self.ndirs, size, gsize, modified,
                        untracked, IGNORED + 1, made))

    def touch_all(self):
        """Change the ctime of every file (chown -R to the same owner),
        as a copy, a restore or a permission fix would: git and libgit2
        then find no index entry's stat data matching and read every
        file until the index is written again."""
        F.chown_tree(self.root)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def git(self, *args, capture=False):
        r = subprocess.run(["git"] + list(args), cwd=self.root,
                           capture_output=True, text=True,
                           **F.as_user_kwargs())
        if r.returncode != 0:
            raise RuntimeError("git %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def remove(self):
        F.remove_tree(self.root)


def git_status_argv(extra=()):
    return ["git", "status", "--porcelain=v2"] + list(extra)


def run_git_status(root, extra=()):
    """(seconds, stdout) of git status as the target user, spawn
    included."""
    t0 = time.perf_counter()
    r = subprocess.run(git_status_argv(extra), cwd=root,
                       capture_output=True, text=True,
                       **F.as_user_kwargs())
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("git status: %s" % r.stderr)
    return secs, r.stdout


def porcelain_counts(out):
    """modified / untracked / ignored lines of --porcelain=v2 output."""
    mod = sum(1 for ln in out.splitlines() if ln.startswith("1 "))
    unt = sum(1 for ln in out.splitlines() if ln.startswith("? "))
    ign = sum(1 for ln in out.splitlines() if ln.startswith("! "))
    return mod, unt, ign


def max_rss_kib(argv, cwd):
    """ru_maxrss (KiB) of argv run as the target user, from wait4."""
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **F.as_user_kwargs())
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d" % (" ".join(argv), p.returncode))
    return ru.ru_maxrss


def channel_name():
    return "specific..inmemory!" + "".join(
        secrets.choice(string.ascii_letters) for _ in range(12))


class ProjTap:
    """
    On the gateway's receive path (its loop thread): frames a waiter
    wants are timed and handed to it; every project_state_initialized
    and project_state_update is counted per project_id and dropped;
    the rest goes to the gateway as usual.
    """

    def __init__(self, gw):
        self.gw = gw
        self.orig = gw._on_frame
        gw._on_frame = self._on_frame
        self.lock = threading.Lock()
        self.waiters = []           # [pred, threading.Event, box]
        self.seen = {}              # (event, project_id) -> [times]

    def _on_frame(self, conn, message):
        t = time.perf_counter()
        if not isinstance(message, str) or \
                ('"project_state_' not in message and not self.waiters):
            return self.orig(conn, message)
        try:
            payload = json.loads(message)["payload"]
            event = payload.get("event")
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.orig(conn, message)
        taken = False
        with self.lock:
            for w in list(self.waiters):
                if w[0](payload):
                    w[2]["t"], w[2]["ev"] = t, payload
                    self.waiters.remove(w)
                    w[1].set()
                    taken = True
            if event in ("project_state_initialized",
                         "project_state_update"):
                self.seen.setdefault((event, payload.get("project_id")),
                                     []).append(t)
                taken = True
        if not taken:
            return self.orig(conn, message)

    def expect(self, pred):
        """A handle to wait() on: the first frame pred accepts from now."""
        w = [pred, threading.Event(), {}]
        with self.lock:
            self.waiters.append(w)
        return w

    def wait(self, w, timeout, what):
        """(arrival time, payload); None on timeout when what is None."""
        if not w[1].wait(timeout):
            with self.lock:
                if w in self.waiters:
                    self.waiters.remove(w)
            if what is None:
                return None
            raise RuntimeError("no %s within %.1f s" % (what, timeout))
        return w[2]["t"], w[2]["ev"]

    def count(self, event, pid, since=0.0):
        with self.lock:
            return len([t for t in self.seen.get((event, pid), [])
                        if t >= since])


def is_event(name, pid):
    return lambda p: p.get("event") == name and p.get("project_id") == pid


class Bench(F.Bench):
    """filebench.Bench plus a ProjTap and project sessions."""

    def __init__(self, binary, tmp, loglevel="INFO"):
        super().__init__(binary, tmp, loglevel)
        self.tap = ProjTap(self.gw)
        self.git_pid = self.role_pid("git")

    def join(self, folder, timeout=120.0):
        """(seconds from the session's arrival at the gateway to its
        project_state_initialized, the session, the event)."""
        name = channel_name()
        w = self.tap.expect(is_event("project_state_initialized", name))
        t0 = time.perf_counter()
        s = self.gw.add_session("project", folder=folder, name=name)
        t1, ev = self.tap.wait(w, timeout, "project_state_initialized")
        return t1 - t0, s, ev

    def leave(self, s):
        self.gw.remove_session(s)
        self.req.forget()
