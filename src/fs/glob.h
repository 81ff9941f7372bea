/*
 * glob: ripgrep's glob dialect on relative paths. Patterns follow the
 * globset crate with a literal separator: '*' and '?' never cross '/',
 * '**' as a whole path component does, [...] [!...] [^...] classes,
 * {a,b} alternates, backslash escapes. Paths and patterns are bytes.
 *
 * A rule is one line of gitignore syntax, which is also how ripgrep
 * reads its -g globs: a leading '!' negates, a leading or inner '/'
 * anchors the pattern at its root, otherwise it matches the base name
 * at any depth, a trailing '/' restricts it to directories and a
 * trailing slash and double star match what lies beneath a directory.
 */
#ifndef FS_GLOB_H
#define FS_GLOB_H

#include <stddef.h>

struct glob;

/* NULL with a reason in *why when the pattern does not parse. */
struct glob	*glob_compile(const char *, size_t, const char **why);
int		 glob_match(const struct glob *, const char *, size_t);
void		 glob_free(struct glob *);

#define GLOB_NEGATED	0x01	/* "!pattern" */
#define GLOB_DIRONLY	0x02	/* "pattern/" */

struct glob_rule {
	struct glob	*glob;
	/*
	 * For patterns ending in a slash and a double star: matches the
	 * directories whose whole contents the rule matches, else NULL.
	 */
	struct glob	*under;
	unsigned	 flags;
};

enum glob_verdict {
	GLOB_NONE = 0,
	GLOB_IGNORE,		/* the last applicable rule is plain */
	GLOB_WHITELIST		/* the last applicable rule is negated */
};

/* Rules in file order; the last one that applies wins. */
struct glob_list {
	struct glob_rule	*v;
	size_t			 n;
	size_t			 cap;
};

/* 1 added, 0 blank line or comment, -1 bad pattern (reason in *why). */
int		 glob_list_add(struct glob_list *, const char *, size_t,
		    const char **why);
enum glob_verdict glob_list_match(const struct glob_list *, const char *,
		    size_t, int is_dir);
void		 glob_list_clear(struct glob_list *);

/*
 * ripgrep's -g overrides: the includes then the excludes (given without
 * their '!'), as `rg -g inc… -g '!exc'…` sees them. A match either way
 * beats ignore files and hiding; with includes, a file none matches is
 * ignored.
 */
struct globset;

struct globset	*globset_new(const char *const *inc, size_t ninc,
		    const char *const *exc, size_t nexc, char *err,
		    size_t errlen);
enum glob_verdict globset_match(const struct globset *, const char *,
		    size_t, int is_dir);
/* 1 when nothing beneath the directory can be searched. */
int		 globset_prune(const struct globset *, const char *, size_t);
void		 globset_free(struct globset *);

#endif
