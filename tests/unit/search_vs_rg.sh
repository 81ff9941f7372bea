#!/bin/sh
# search_vs_rg.sh: the search engine (src/fs/search.c) against Debian's
# ripgrep 13 on a generated tree (hidden files, binaries, big files,
# ignore files, symlink loops, multibyte text, encodings) and on
# /usr/include: the same matching lines, line texts and spans (in
# characters), and the wall time of each. Not part of `make check`.
#
#   tests/unit/search_vs_rg.sh [-c DIR_WITH_CONFIG_H] [-n FILES] [-k]
#
# Needs cc, rg, /usr/bin/python3 and the libraries of the daemon. -k
# keeps the scratch directory. Exit status 1 when anything differs.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
confdir=""
nfiles=2000
keep=0
while getopts c:n:k opt; do
	case $opt in
	c) confdir=$OPTARG ;;
	n) nfiles=$OPTARG ;;
	k) keep=1 ;;
	*) echo "usage: $0 [-c confdir] [-n files] [-k]" >&2; exit 2 ;;
	esac
done
if [ -z "$confdir" ]; then
	for d in "$srcdir" "$srcdir/build" /tmp/b-base; do
		[ -f "$d/config.h" ] && { confdir=$d; break; }
	done
fi
[ -n "$confdir" ] || { echo "no config.h: give -c" >&2; exit 2; }
command -v rg >/dev/null || { echo "rg is not installed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/search_vs_rg.XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/cli.c" <<'EOF'
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "log.h"
#include "fs/search.h"

int
main(int argc, char **argv)
{
	struct search_opts o;
	struct search *s;
	struct json_object *r;
	const char *inc[512], *exc[512];
	char err[512];
	int c;

	memset(&o, 0, sizeof(o));
	o.match_case = 1;
	o.max_results = 100000000;
	o.max_per_file = 50;
	o.max_file_size = 1 << 20;
	o.max_line_length = 1024;
	o.time_limit_ms = 600000;
	o.parents = 1;
	o.include = inc;
	o.exclude = exc;
	while ((c = getopt(argc, argv, "irwHg:x:m:n:s:l:")) != -1) {
		switch (c) {
		case 'i': o.match_case = 0; break;
		case 'r': o.regex = 1; break;
		case 'w': o.whole_word = 1; break;
		case 'H': o.include_hidden = 1; break;
		case 'g': if (o.ninclude < 512) inc[o.ninclude++] = optarg; break;
		case 'x': if (o.nexclude < 512) exc[o.nexclude++] = optarg; break;
		case 'm': o.max_per_file = atoi(optarg); break;
		case 'n': o.max_results = atoi(optarg); break;
		case 's': o.max_file_size = strtoull(optarg, NULL, 10); break;
		case 'l': o.max_line_length = atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 2)
		return 2;
	log_init(1, 0);
	o.root = argv[optind];
	o.query = argv[optind + 1];
	if ((o.root_fd = open(o.root, O_RDONLY | O_DIRECTORY)) == -1)
		return 2;
	if ((s = search_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	close(o.root_fd);
	while (!search_step(s, 4000))
		;
	r = json_object_new_object();
	search_result(s, r);
	puts(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	search_free(s);
	return 0;
}
EOF
s=$srcdir/src
${CC:-cc} -O2 -I"$confdir" -I"$s" -DSYSCONFDIR='"/etc"' -o "$tmp/cli" \
    "$tmp/cli.c" "$s/fs/search.c" "$s/fs/walk.c" "$s/fs/reader.c" \
    "$s/fs/match.c" "$s/fs/glob.c" \
    "$s/fs/ignore.c" "$s/log.c" "$s/xmalloc.c" "$s/json.c" \
    -lpcre2-8 -ljson-c -lpthread

cat > "$tmp/gen.py" <<'EOF'
import os, random, sys
root, nfiles = sys.argv[1], int(sys.argv[2])
random.seed(42)
def w(rel, data):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, 'wb').write(data.encode() if isinstance(data, str) else data)
words = ['foo', 'bar', 'Foo', 'FOO', 'foobar', 'foo_bar', 'baz', 'quux',
         'straße', 'STRASSE', 'Straße', 'naïve', '日本語', 'foo日本',
         'émoji😀foo', 'Ωmega', 'int', 'x', 'ǅ', 'ﬁle', 'K', 'k', '\t', 'é']
def line():
    return ' '.join(random.choice(words) for _ in range(random.randint(0, 12)))
os.makedirs(os.path.join(root, '.git', 'info'))
w('.git/info/exclude', 'excluded_by_info.txt\n')
w('.git/config.txt', 'foo in git dir\n')
w('.gitignore', '# comment\n*.log\n!keep.log\nbuild/\n/anchored.txt\n'
  'docs/**/secret*\n\\#hash.txt\nsp\\ ace.txt\ntrailing.txt   \n'
  '**/deep/**/x.txt\n[abc]cls.txt\n*.ign{1,2}\n')
w('.ignore', 'ignored_by_dot/\n!.wl_hidden.txt\n')
w('.rgignore', 'rgonly_root.txt\n')
for n in ['excluded_by_info.txt', 'a.log', 'keep.log', 'build/b.txt',
          'anchored.txt', 'sub/anchored.txt', 'docs/x/y/secret1.txt',
          'docs/secret2.txt', '#hash.txt', 'sp ace.txt', 'trailing.txt',
          'a/deep/b/x.txt', 'deep/x.txt', 'acls.txt', 'dcls.txt', 'f.ign1',
          'f.ign3', 'ignored_by_dot/a.txt', 'rgonly_root.txt',
          '.wl_hidden.txt', '.hidden.txt', '.hdir/h.txt', 'sub/local.txt',
          'sub/negated.txt', 'sub/rgonly.txt', 'nested/local.txt',
          'nested/a.log', 'nested/inner.txt', 'node_modules/m.js',
          'a/node_modules/n.js', 'dist/d.js', 'x.min.js', 'ok.js',
          'Makefile', 'weird name ü.txt', 'café/ß.txt', 'noext', '.env']:
    w(n, 'foo here\nsecond foo line\n')
w('sub/.gitignore', 'local.txt\n!negated.txt\nnegated.txt\n!negated.txt\n')
w('sub/.rgignore', 'rgonly.txt\n')
os.makedirs(os.path.join(root, 'nested', '.git'))
w('nested/.gitignore', 'inner.txt\n')
w('bin/start.dat', b'\0foo\nfoo\n')
w('bin/late.txt', b'foo line\n' + b'y' * 70000 + b'\n\0foo\n')
w('bin/late2.txt', (b'foo line\n' + b'z' * 100 + b'\n') * 1200 + b'\0foo\n')
w('bin/peek.txt', b'a\nfoo\0\n')
w('bin/png.png', bytes(range(256)) * 10)
w('big/huge.txt', ('foo ' * 100 + '\n') * 3000)
w('big/justunder.txt', ('foo ' * 100 + '\n') * 2000)
w('enc/crlf.txt', 'foo\r\nbar foo\r\n\r\nfoo')
w('enc/bom.txt', '\ufefffoo first\nfoo second\n')
w('enc/utf16le.txt', b'\xff\xfe' + 'foo héllo\nbar\nfoo😀 again\n'.encode('utf-16-le'))
w('enc/utf16be.txt', b'\xfe\xff' + 'foo big endian\n'.encode('utf-16-be'))
w('enc/invalid.txt', b'foo \xff\xfe bad \xc3 foo \xe2\x82 end foo\n\xf0\x9f\x98 foo\n')
w('enc/long.txt', ('é' * 300 + ' foo ') * 10 + '\n' + 'x' * 5000 + 'foo\n')
w('enc/noeol.txt', 'last foo')
w('enc/empty.txt', '')
w('enc/combining.txt', 'cafe\u0301 foo cafe\u0301\n')
os.symlink('.', os.path.join(root, 'loop'))
os.symlink('ok.js', os.path.join(root, 'link_to_file.js'))
os.symlink('nowhere', os.path.join(root, 'dangling.txt'))
os.makedirs(os.path.join(root, 'ld'))
os.symlink('..', os.path.join(root, 'ld', 'up'))
p = 'deep'
for i in range(40):
    p = os.path.join(p, 'l%d' % i)
    w(os.path.join(p, 'a.txt'), 'foo %d\n' % i)
    w(os.path.join(p, 'zz', 'b.txt'), 'foo z%d\n' % i)
exts = ['.txt', '.py', '.c', '.h', '.md', '.json', '.log', '.bin', '.rs', '']
for i in range(nfiles):
    d = '/'.join('d%d' % random.randint(0, 9) for _ in range(random.randint(0, 4)))
    name = 'f%d%s' % (i, random.choice(exts))
    n = random.choice([0, 1, 3, 10, 50, 300])
    w(os.path.join(d, name), '\n'.join(line() for _ in range(n)) + random.choice(['', '\n']))
EOF

cat > "$tmp/cmp.py" <<'EOF'
import argparse, base64, json, subprocess, sys, time
ap = argparse.ArgumentParser()
ap.add_argument('cli'); ap.add_argument('root'); ap.add_argument('query')
for f in 'irwH': ap.add_argument('-' + f, action='store_true')
ap.add_argument('-g', action='append', default=[])
ap.add_argument('-x', action='append', default=[])
ap.add_argument('-m', type=int, default=50)
ap.add_argument('-s', type=int, default=1048576)
ap.add_argument('-l', type=int, default=1024)
ap.add_argument('--defaults', action='store_true')
a = ap.parse_args()
if a.defaults:
    exts = ('.py .pyi .pyx .js .jsx .ts .tsx .mjs .cjs .json .yaml .yml .toml .ini '
            '.cfg .conf .md .markdown .rst .txt .html .htm .css .scss .less .go .rs '
            '.java .kt .kts .c .h .hpp .hh .cc .cpp .cxx .cs .php .rb .swift .scala '
            '.sql .sh .bash .zsh .fish .env .dockerfile .gradle .mk .make .bat .ps1').split()
    names = ('Makefile Dockerfile Jenkinsfile Procfile Gemfile CMakeLists.txt build.gradle '
             'settings.gradle package.json pnpm-lock.yaml yarn.lock requirements.txt '
             'pyproject.toml').split()
    dirs = ('.git .hg .svn __pycache__ node_modules vendor dist build tmp static '
            'assets coverage').split()
    a.g = a.g or ['*' + e for e in exts] + names
    a.x = a.x or [x for d in dirs for x in (d + '/**', '**/' + d + '/**')] + ['*.min.js', '*.min.css']
def text(o):
    return o['text'].encode() if 'text' in o else base64.b64decode(o['bytes'])
rg = ['rg', '--json', '--line-number', '--color', 'never', '--no-heading',
      '--max-count', str(a.m), '--max-filesize=%d' % a.s]
cli = [a.cli, '-m', str(a.m), '-s', str(a.s), '-l', str(a.l)]
for f, rf in (('i', '--ignore-case'), ('w', '--word-regexp'), ('H', '--hidden')):
    if getattr(a, f):
        rg.append(rf); cli.append('-' + f)
if a.r: cli.append('-r')
else: rg.append('--fixed-strings')
for g in a.g: rg += ['-g', g]; cli += ['-g', g]
for x in a.x: rg += ['-g', '!' + x]; cli += ['-x', x]
rg += ['-e', a.query, '.']; cli += [a.root, a.query]
t = time.monotonic(); prg = subprocess.run(rg, cwd=a.root, capture_output=True); trg = time.monotonic() - t
t = time.monotonic(); pcl = subprocess.run(cli, capture_output=True); tcl = time.monotonic() - t
if pcl.returncode != 0:
    print('search failed:', pcl.stderr.decode()[:300]); sys.exit(1)
want = {}
for l in prg.stdout.splitlines():
    o = json.loads(l)
    if o['type'] != 'match': continue
    d = o['data']
    path = text(d['path']).decode('utf-8', 'replace')
    path = path[2:] if path.startswith('./') else path
    line = text(d['lines'])
    line = line[:-1] if line.endswith(b'\n') else line
    line = line[:-1] if line.endswith(b'\r') else line
    s_line = line.decode('utf-8', 'replace')
    spans = []
    for sm in d['submatches']:
        if sm['end'] > sm['start']:
            s = len(line[:sm['start']].decode('utf-8', 'replace'))
            e = min(len(line[:sm['end']].decode('utf-8', 'replace')), len(s_line))
            if e > s: spans.append([s, e])
    want[(path, d['line_number'])] = (s_line, spans)
res = json.loads(pcl.stdout)
got = {(m['relative_path'], m['line_number']): m for m in res['matches']}
bad = 0
for k in sorted(set(want) | set(got)):
    if k not in got or k not in want:
        bad += 1
        if bad <= 10: print('  only in', 'rg' if k in want else 'ours', k)
        continue
    wl, ws = want[k]
    m = got[k]
    if m['line_truncated']:
        wl = wl[:a.l] + '...'
        ws = [[s, min(e, a.l)] for s, e in ws if s < a.l]
    if wl != m['line'] or ws != m['match_spans']:
        bad += 1
        if bad <= 10: print('  differs', k, repr(wl[:60]), ws[:4], repr(m['line'][:60]), m['match_spans'][:4])
print('%-40s lines %6d/%6d files %5d/%5d  time rg %.3fs ours %.3fs  %s' % (
    ' '.join(sys.argv[3:])[:40], len(want), len(got), len({k[0] for k in want}),
    len({k[0] for k in got}), trg, tcl, 'OK' if bad == 0 else '%d MISMATCHES' % bad))
sys.exit(1 if bad else 0)
EOF

/usr/bin/python3 "$tmp/gen.py" "$tmp/tree" "$nfiles"
rc=0
cmp() {
	/usr/bin/python3 "$tmp/cmp.py" "$tmp/cli" "$@" || rc=1
}
T=$tmp/tree
echo "generated tree ($nfiles random files and edge cases):"
cmp "$T" foo -x '.git/**'
cmp "$T" foo -i -x '.git/**'
cmp "$T" foo -w -x '.git/**'
cmp "$T" foo -i -w -H -x '.git/**'
cmp "$T" straße -i -x '.git/**'
cmp "$T" k -i -w -x '.git/**'
cmp "$T" 'fo+\s*b' -r -x '.git/**'
cmp "$T" '^$' -r -x '.git/**'
cmp "$T" 'x*' -r -x '.git/**'
cmp "$T" '日本' -m 1 -x '.git/**'
cmp "$T" foo -m 5 -s 1000 -x '.git/**'
cmp "$T" foo --defaults
cmp "$T" foo --defaults -H -i
cmp "$T" foo -g '*.js' -g 'sub/**' -H
cmp "$T" foo -x 'd1' -x 'd2/**' -x '.git/**'
echo "/usr/include, the upstream default globs, 5 lines a file:"
cmp /usr/include struct --defaults -m 5
cmp /usr/include int --defaults -m 5 -i -w
cmp /usr/include '[a-z]+_t\b' --defaults -m 5 -r
exit $rc
