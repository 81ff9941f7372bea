"""Helpers shared by the file-command tests (test_files, test_search,
test_diff): trees owned by the target user, and one command/answer."""
import os
import pwd
import secrets

import gateway as G


def pcuser():
    return pwd.getpwnam(G.TARGET_USER)


def chown_pc(path):
    pw = pcuser()
    os.lchown(path, pw.pw_uid, pw.pw_gid)


def chown_tree(root):
    chown_pc(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            chown_pc(os.path.join(dirpath, n))


def put(root, rel, data=b"", mode=0o644, owner="pc"):
    """Create root/rel (parents included, owned by the target user) with
    data (str is UTF-8 encoded); owner "root" leaves the file root's."""
    path = os.path.join(root, rel)
    parent = os.path.dirname(path)
    todo = []
    while not os.path.isdir(parent):
        todo.append(parent)
        parent = os.path.dirname(parent)
    for d in reversed(todo):
        os.mkdir(d)
        os.chmod(d, 0o755)
        chown_pc(d)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if owner == "pc":
        chown_pc(path)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def call(s, payload, timeout=15.0):
    """Send a command and return its answer: the event echoing its
    request_id (one is added to payload when missing), or an error
    event that carries no request_id."""
    rid = payload.setdefault("request_id", "f-" + secrets.token_hex(6))
    since = s.mark()
    s.send(payload)

    def mine(e):
        if e.get("request_id") == rid:
            return True
        return e.get("event") == "error" and "request_id" not in e
    return s.wait_event(mine, timeout, since=since,
                        what="an answer to %s (request_id %s)"
                        % (payload.get("cmd"), rid))


def check(ev, **want):
    """Every field in want must be in ev with that value."""
    bad = ["%s=%r (want %r)" % (k, ev.get(k, "<missing>"), v)
           for k, v in want.items() if k not in ev or ev[k] != v]
    assert not bad, "%s: %s\nevent: %s" % (ev.get("event"), "; ".join(bad),
                                          G.short(ev, 1500))
