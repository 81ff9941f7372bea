/*
 * pty: a program on a pseudo-terminal with a real controlling terminal,
 * started the way sshd starts a login session.
 */
#ifndef PTY_H
#define PTY_H

#include <stddef.h>
#include <sys/types.h>

struct passwd;

struct pty_spec {
	const struct passwd	*pw;		/* whose session: home, shell, name */
	const char		*shell;		/* NULL = pw's login shell, as a login shell */
	const char		*cwd;		/* NULL = pw's home */
	int			 rows;		/* 1..1000, 0 = 24 */
	int			 cols;		/* 1..1000, 0 = 80 */
	const char *const	*extra_env;	/* "NAME=value", NULL-terminated, or NULL */
};

struct pty_proc {
	pid_t	 pid;		/* also the process group and session id */
	int	 master;	/* non-blocking, close-on-exec */
	char	 shell[1024];	/* resolved path that was executed */
	char	 cwd[4096];	/* directory it started in */
};

/*
 * Fork a child on a new pty: setsid, TIOCSCTTY, window size, a clean
 * environment (TERM=xterm-256color, LANG (C.UTF-8 unless set in extra_env),
 * HOME, USER, LOGNAME, SHELL, PATH, then extra_env), cwd. Errors that can
 * be known before the fork (no such directory, shell not executable) fail
 * here with a reason in err; a failed exec makes the child exit 127.
 */
int	pty_spawn(const struct pty_spec *, struct pty_proc *, char *err,
	    size_t errlen);
int	pty_resize(int master, int rows, int cols);	/* TIOCSWINSZ */
/*
 * Signal the whole process group, and the groups job control made in the
 * same session (pid is the session id). -1/ESRCH once none is left, so
 * sig 0 asks whether the terminal's processes are all gone.
 */
int	pty_signal_group(pid_t, int sig);

/*
 * UTF-8 output: emits only whole characters; an incomplete sequence at the
 * end of a chunk is carried to the next one, invalid bytes become U+FFFD.
 */
struct utf8_carry {
	unsigned char	 buf[4];
	size_t		 len;
};
/*
 * Appends the text for in[0..len) to *out (realloc'd, kept NUL-terminated
 * after *outlen), returns bytes added.
 */
size_t	utf8_stream(struct utf8_carry *, const char *in, size_t len,
	    char **out, size_t *outlen, size_t *outcap);
/* At EOF: whatever is carried becomes U+FFFD. */
size_t	utf8_stream_end(struct utf8_carry *, char **out, size_t *outlen,
	    size_t *outcap);

#endif
