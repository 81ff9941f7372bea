/*
 * Logging: stderr in the foreground, syslog otherwise. Lines of a child
 * carry its role so one journal tells the processes apart.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"

static int		 log_stderr = 1;
static int		 log_level = LOGLEVEL_INFO;
static const char	*log_role;

void
log_init(int to_stderr, int level)
{
	log_stderr = to_stderr;
	log_level = level;
	if (!log_stderr)
		openlog("portacoded", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_setrole(const char *role)
{
	log_role = role;
}

void
log_openlog(void)
{
	if (!log_stderr)
		openlog("portacoded", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int level, int pri, const char *fmt, va_list ap, const char *err)
{
	char	 msg[2048];
	int	 saved = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_stderr) {
		if (log_role != NULL)
			fprintf(stderr, "%s[%ld]: ", log_role, (long)getpid());
		if (err != NULL)
			fprintf(stderr, "%s: %s\n", msg, err);
		else
			fprintf(stderr, "%s\n", msg);
		fflush(stderr);
	} else {
		if (err != NULL)
			syslog(pri, "%s%s%s: %s", log_role ? log_role : "",
			    log_role ? ": " : "", msg, err);
		else
			syslog(pri, "%s%s%s", log_role ? log_role : "",
			    log_role ? ": " : "", msg);
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[256];
	char	*err = strerror_r(errno, buf, sizeof(buf));

	va_start(ap, fmt);
	vlog(LOGLEVEL_ERROR, LOG_WARNING, fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOGLEVEL_ERROR, LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOGLEVEL_INFO, LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_verbose(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOGLEVEL_VERBOSE, LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOGLEVEL_DEBUG, LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[256];
	char	*err = strerror_r(errno, buf, sizeof(buf));

	va_start(ap, fmt);
	vlog(LOGLEVEL_QUIET, LOG_CRIT, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOGLEVEL_QUIET, LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
