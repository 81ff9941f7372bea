"""
Shared by bench/search and bench/files: the daemon of termbench.Bench
(root, full privilege separation, loopback gateway over TLS) plus timed
requests.  A request is sent from inside the gateway's loop and its answer
is caught on the gateway's receive path, before the gateway parses and
stores it, so the figure is "command sent" to "answer arrived" and not the
test gateway's own bookkeeping of a 5 MB frame.
"""
import asyncio
import json
import os
import pwd
import secrets
import shutil
import subprocess
import time

import termbench as T

G = T.G


def target_user():
    return pwd.getpwnam(G.TARGET_USER)


def as_user_kwargs(pw=None):
    """subprocess.run() arguments that run a program as the target user,
    with its HOME, as the daemon's workers run."""
    pw = pw or target_user()
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
            "env": {"HOME": pw.pw_dir, "PATH": "/usr/bin:/bin",
                    "LC_ALL": "C.UTF-8"}}


def chown_tree(root, pw=None):
    pw = pw or target_user()
    subprocess.run(["chown", "-R", "--no-dereference",
                    "%d:%d" % (pw.pw_uid, pw.pw_gid), root], check=True)


def make_tmp(prefix):
    """A temporary directory the target user owns and can reach."""
    pw = target_user()
    d = os.path.realpath(os.path.join("/tmp", prefix + secrets.token_hex(4)))
    os.mkdir(d, 0o755)
    os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


class Requests:
    """Timed commands through the gateway; installed over whatever
    handler the gateway has (termbench's Tap included)."""

    def __init__(self, gw, session):
        self.gw = gw
        self.session = session
        self.orig = gw._on_frame
        gw._on_frame = self._on_frame
        self.waiter = None          # (request_id, events, future)

    def _on_frame(self, conn, message):
        t = time.perf_counter()
        w = self.waiter
        if w is None or not isinstance(message, str) or w[0] not in message:
            return self.orig(conn, message)
        try:
            payload = json.loads(message)["payload"]
        except (ValueError, KeyError, TypeError):
            return self.orig(conn, message)
        if not isinstance(payload, dict) or \
                payload.get("request_id") != w[0] or \
                payload.get("event") not in w[1]:
            return self.orig(conn, message)
        self.waiter = None
        if not w[2].done():
            w[2].set_result((t, payload))

    async def _roundtrip(self, text, rid, events, timeout):
        conn = self.gw._need_device(None)
        fut = asyncio.get_running_loop().create_future()
        self.waiter = (rid, events, fut)
        t0 = time.perf_counter()
        await conn.ws.send(text)
        t1, ev = await asyncio.wait_for(fut, timeout)
        return t1 - t0, ev

    def call(self, payload, event, timeout=60.0):
        """(seconds, answer) of one command; an error event or another
        answer than `event` raises."""
        payload = dict(payload)
        rid = "bench-%s" % secrets.token_hex(8)
        payload["request_id"] = rid
        payload["source_client_session"] = self.session.channel_name
        text = json.dumps({"channel": 0, "payload": payload})
        secs, ev = self.gw._call(self._roundtrip(text, rid,
                                                 (event, "error"), timeout),
                                 timeout + 10)
        if ev.get("event") != event:
            raise RuntimeError("%s answered %s" % (payload.get("cmd"),
                                                   G.short(ev, 400)))
        return secs, ev

    def forget(self):
        """Drop what the gateway keeps of earlier frames (memory)."""
        with self.gw._cond:
            del self.gw.frames[:]
            del self.gw.sent[:]
            del self.session.events[:]
            self.session._cursor = 0


class Bench(T.Bench):
    """termbench.Bench plus Requests and the workers' memory."""

    def __init__(self, binary, tmp, loglevel="INFO"):
        super().__init__(binary, tmp, loglevel)
        self.req = Requests(self.gw, self.session)

    def call(self, payload, event, timeout=60.0):
        return self.req.call(payload, event, timeout)

    def role_pid(self, role):
        return self.daemon.wait_roles([role])[role]

    def fs_pid(self):
        """The `portacoded -x fs` process, found by its command line."""
        return self.role_pid("fs")


def status_kib(pid, field):
    return T.mem_kib(pid, "status", field + ":")


def hwm_kib(pid):
    return status_kib(pid, "VmHWM")


def timed(fn, runs):
    """fn() `runs` times; the list of seconds each took."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def ms(secs):
    return secs * 1000.0


# Source-like text, deterministic for a given random.Random.

WORDS = """
buffer count node parse token state queue entry value index offset length
size cache table list item key name path file dir stream reader writer
lock mutex event timer signal handler callback context config option flag
mode level limit page block chunk frame packet header body request reply
client server socket port host addr route peer session channel worker task
job thread pool slot ring heap tree map set hash seed data info meta attr
field record row column cursor scan match pattern rule filter sort merge
split join open close read write flush sync start stop init free alloc
copy move check verify update insert remove delete find lookup get put
push pop next prev first last head tail begin end left right parent child
user group owner perm mask bits byte word line text char string number
error status result code reason message log trace debug warn fatal panic
format encode decode parse render layout view model store load save dump
""".split()

TYPES = ("int", "size_t", "uint32_t", "char *", "const char *", "void *",
         "struct %s *", "ssize_t", "uint64_t", "long")


def _ident(rng, parts=2):
    return "_".join(rng.choice(WORDS) for _ in range(parts))


def _camel(rng, parts=2):
    return "".join(rng.choice(WORDS).capitalize() for _ in range(parts))


def _sentence(rng, lo=6, hi=14):
    w = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    w[0] = w[0].capitalize()
    return " ".join(w) + "."


def _c_line(rng):
    i, j, k = _ident(rng), _ident(rng, 1), _ident(rng)
    t = rng.choice(TYPES)
    if "%s" in t:
        t = t % rng.choice(WORDS)
    return rng.choice((
        "\tif (%s->%s == NULL)" % (j, k),
        "\t\treturn %s(%s, %d);" % (i, j, rng.randint(0, 4096)),
        "static %s\n%s(struct %s *%s, size_t %s)" % (t, i, j, j, k),
        "\t%s = %s(%s->%s, %s);" % (j, i, j, k, rng.choice(WORDS)),
        "\t/* %s */" % _sentence(rng),
        "#define %s\t%d" % (i.upper(), rng.randint(0, 65535)),
        "\tfor (%s = 0; %s < %s; %s++) {" % (j, j, k, j),
        "\t\t%s[%s] = %s;" % (k, j, i),
        "\t%s\t\t %s;" % (t, k),
        "}", "", "\t}", "\telse",
        "#include <%s/%s.h>" % (rng.choice(WORDS), rng.choice(WORDS)),
        "\tlog_debug(\"%s: %%s\", %s);" % (_sentence(rng, 3, 6), k),
    ))


def _py_line(rng):
    i, j, k = _ident(rng), _ident(rng, 1), _ident(rng, 1)
    return rng.choice((
        "def %s(self, %s, %s=None):" % (i, j, k),
        "    return self.%s.%s(%s)" % (j, i, k),
        "        # %s" % _sentence(rng),
        "import %s" % j,
        "from %s.%s import %s" % (j, k, _camel(rng)),
        "class %s(%s):" % (_camel(rng), _camel(rng, 1)),
        "        %s = %s.get(%r, %d)" % (j, k, i, rng.randint(0, 99)),
        "    if %s is not None and %s > %d:" % (j, k, rng.randint(0, 9)),
        "            raise %sError(\"%s\")" % (_camel(rng, 1),
                                             _sentence(rng, 3, 7)),
        "", "    \"\"\"%s\"\"\"" % _sentence(rng),
        "        for %s in self.%s:" % (j, i),
    ))


def _js_line(rng):
    i, j, k = _camel(rng), _ident(rng, 1), _ident(rng, 1)
    return rng.choice((
        "function %s(%s, %s) {" % (i[0].lower() + i[1:], j, k),
        "  const %s = await %s.%s(%s);" % (j, k, i, j),
        "  // %s" % _sentence(rng),
        "  if (!%s) { return null; }" % j,
        "export default %s;" % i,
        "  %s.%s = %s || {};" % (j, k, k),
        "import { %s } from './%s';" % (i, j),
        "});", "", "  }",
    ))


def _go_line(rng):
    i, j, k = _camel(rng), _ident(rng, 1), _ident(rng, 1)
    return rng.choice((
        "func (%s *%s) %s(%s %s) error {" % (j[0], i, _camel(rng), k,
                                            rng.choice(("int", "string",
                                                        "[]byte"))),
        "\tif err := %s.%s(); err != nil {" % (j, i),
        "\t\treturn fmt.Errorf(\"%s: %%w\", err)" % _sentence(rng, 2, 5),
        "\t// %s" % _sentence(rng),
        "\t%s := make(map[string]%s)" % (k, i),
        "}", "", "\t}",
    ))


def _md_line(rng):
    return rng.choice((
        "## %s" % _sentence(rng, 2, 5)[:-1],
        _sentence(rng, 8, 20) + " " + _sentence(rng, 8, 20),
        "- %s" % _sentence(rng, 4, 10),
        "", "    %s --%s" % (rng.choice(WORDS), rng.choice(WORDS)),
    ))


LINE_MAKERS = {"c": _c_line, "h": _c_line, "py": _py_line, "js": _js_line,
               "go": _go_line, "md": _md_line, "txt": _md_line}


class TextPool:
    """A few thousand generated lines per language; files are drawn from
    them, which is fast enough for hundreds of MB."""

    def __init__(self, rng, per_lang=3000):
        self.rng = rng
        self.pool = {lang: [fn(rng) for _ in range(per_lang)]
                     for lang, fn in LINE_MAKERS.items()}

    def lines(self, lang, n):
        return self.rng.choices(self.pool[lang], k=n)

    def text(self, lang, nbytes):
        """About nbytes of text (whole lines, at least nbytes)."""
        out, size = [], 0
        pool = self.pool[lang]
        while size < nbytes:
            chunk = self.rng.choices(pool, k=256)
            out.extend(chunk)
            size += sum(len(x) + 1 for x in chunk)
        return "\n".join(out) + "\n"
