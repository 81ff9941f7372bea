#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

/* Where log lines go. */
void	log_init(int to_stderr, int level);	/* level: enum loglevel */
void	log_setlevel(int level);
int	log_getlevel(void);
void	log_setrole(const char *);		/* prefix for child lines */
void	log_openlog(void);			/* connect to syslog now (before a chroot) */

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_verbose(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
