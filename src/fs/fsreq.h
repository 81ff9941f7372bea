/*
 * fsreq: what every fs command needs: its arguments read again with
 * their types checked (net checked them first; the worker does not
 * rely on that), and the upstream error texts for a failed system call.
 */
#ifndef FS_FSREQ_H
#define FS_FSREQ_H

#include <stddef.h>
#include <stdint.h>

struct worker_req;
struct json_object;

/*
 * A string argument. 0 with *out set (NULL when absent or null);
 * -1 when it is not a string or holds a NUL byte: the error is sent.
 */
int	 fsreq_str(struct worker_req *, const char *key, const char **out,
	    size_t *lenp);
/* Like fsreq_str, but absent is an error: "<key> parameter is required". */
int	 fsreq_need(struct worker_req *, const char *key, const char **out);
/* Booleans; anything but true/false/absent reads as def. */
int	 fsreq_bool(struct worker_req *, const char *key, int def);
/*
 * Integers the way upstream reads them with int(): a number (fractions
 * cut) or absent. 1 with *out set, 0 when absent or not a number.
 */
int	 fsreq_int(struct worker_req *, const char *key, int64_t *out);

/*
 * The error event for errno err on path: the policy refusal, "Permission
 * denied: <path>", notfound (a format with one %s) for ENOENT when
 * given, else prefix followed by Python's "[Errno N] text: 'path'".
 */
void	 fsreq_oserror(struct worker_req *, int err, const char *path,
	    const char *notfound, const char *prefix);
/* Python's repr() of a float, for messages. */
void	 fsreq_float(double, char *buf, size_t len);
/* st_mtime as Python gives it: seconds + nanoseconds * 1e-9. */
struct timespec;
double	 fsreq_time(const struct timespec *);
/* os.path.join(a, b) for a relative b. */
char	*fsreq_join(const char *a, const char *b);

#endif
