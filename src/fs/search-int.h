/*
 * search-int: what search.c, walk.c and reader.c, the engine behind
 * fs/search.h, share. Private to those three files: nothing else
 * includes it.
 */
#ifndef FS_SEARCH_INT_H
#define FS_SEARCH_INT_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "fs/glob.h"
#include "fs/ignore.h"
#include "fs/search.h"

#define SEARCH_MAXERRORS	100
#define SEARCH_READERS		3		/* reader threads, at most */
#define SEARCH_QUEUE		32		/* files queued ahead */

struct matcher;

struct dent {
	uint32_t	 off;		/* name in the frame's names */
	uint16_t	 len;
	uint8_t		 type;		/* DT_* */
};

struct frame {
	int		 fd;		/* -1 while closed to save fds */
	dev_t		 dev;
	ino_t		 ino;
	const char	*name;		/* in the parent's names; root: "" */
	char		*names;
	size_t		 namesz;
	struct dent	*ents;
	size_t		 nents;
	size_t		 next;
	size_t		 plen;		/* path length up to "dir/" */
	struct ign_dir	*ign;
	int		 has_git;
	int		 in_git;
};

enum jstate {
	J_FREE,
	J_QUEUED,
	J_READING,
	J_READY
};

/* A file let through by the walk, waiting to be scanned. */
struct job {
	enum jstate	 state;
	int		 need_open;	/* by path from the root */
	int		 skip;		/* not a file to search after all */
	int		 fd;		/* -1 once read whole */
	size_t		 size;
	size_t		 have;		/* bytes in buf */
	int		 err;		/* of a failed read */
	char		*buf;
	size_t		 cap;
	char		*rel;
	size_t		 rlen;
	size_t		 relcap;
};

/* An error met by the walk, shown when the scan gets there. */
struct pending {
	uint64_t	 seq;		/* files queued before it */
	char		*msg;
};

enum fstate {
	F_NONE,
	F_SCAN,
	F_EOF,		/* all read: what is left is searchable */
	F_BINARY	/* a NUL: nothing more is searchable */
};

struct fscan {
	enum fstate	 state;
	struct job	*job;
	int		 fd;
	const char	*data;		/* past a BOM */
	int		 own;		/* data is in s->buf, more to read */
	size_t		 boff;		/* bytes before data */
	size_t		 size;		/* from data on */
	size_t		 have;		/* bytes read so far, from data on */
	const char	*rel;
	size_t		 rlen;
	/* ripgrep's line buffer, replayed. */
	size_t		 lcap;
	size_t		 lend;
	size_t		 lastlt;
	int		 first;
	size_t		 slim;		/* searchable up to here */
	size_t		 spos;		/* next line to search */
	size_t		 lnpos;		/* lines counted up to here */
	uint64_t	 line;		/* number of the line at lnpos */
	int		 nmatched;
};

struct search {
	struct search_opts	 o;
	char			*root;
	char			*query;
	struct matcher		*m;
	struct globset		*gs;

	int			 rootfd;
	int			 started;
	int			 done;
	uint64_t		 t0;

	/* Ancestors' ignore files and the walk's frames, as levels. */
	struct ign_dir		*anc;
	size_t			 nanc;
	int			 anc_git;	/* a .git above the root */
	struct ign_level	*levels;	/* nanc + nframes */
	size_t			 nign;		/* levels with ignore files */
	size_t			 ngit;		/* frames holding a .git */

	struct frame		*frames;
	size_t			 nframes;
	size_t			 capframes;
	size_t			 nopen;
	size_t			 nheld;		/* entries held */
	size_t			 nheldbytes;

	char			*path;		/* ancestors' prefix + rel */
	size_t			 pathcap;
	size_t			 rootoff;	/* where rel starts */

	char			*dbuf;		/* getdents64 */
	char			*buf;		/* file data */
	size_t			 bufcap;
	char			*tbuf;		/* UTF-16 transcoded */
	size_t			 tbufcap;
	char			*lbuf;		/* a line made valid UTF-8 */
	size_t			 lbufcap;
	size_t			*coff;		/* byte offset of each char */
	size_t			 coffcap;

	struct fscan		 f;

	struct job		 q[SEARCH_QUEUE];
	size_t			 qlen;		/* 1 without readers */
	uint64_t		 qhead;		/* next to scan */
	uint64_t		 qnext;		/* next to read */
	uint64_t		 qtail;		/* next to queue */
	int			 walked;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 work;		/* for readers */
	pthread_cond_t		 ready;		/* for search_step() */
	pthread_t		 tid[SEARCH_READERS];
	int			 nreaders;
	int			 openat2;	/* readers open the files */
	int			 stop;
	int			 sync;		/* mtx and conds exist */
	struct pending		*pend;
	size_t			 npend;
	size_t			 cappend;

	struct json_object	*matches;
	struct json_object	*errors;
	size_t			 nerrors;
	int64_t			 returned;
	int64_t			 truncated_count;
	int64_t			 files_scanned;
	int			 timed_out;
};

/* search.c */
struct json_object *search_json_utf8(const char *, size_t);
char		*search_error_text(const char *, size_t, const char *);
void		 search_reserve(char **, size_t *, size_t);

/* walk.c */
void		 walk_flush_errors(struct search *, uint64_t, int);
void		 walk_path_reserve(struct search *, size_t);
void		 walk_load_ancestors(struct search *);
void		 walk_frame_pop(struct search *);
void		 walk_step(struct search *);

/* reader.c */
void		 reader_lock(struct search *);
void		 reader_unlock(struct search *);
void		 reader_job_read(struct search *, struct job *);
void		 reader_start(struct search *);
void		 reader_stop(struct search *);
int		 reader_queue_full(const struct search *);
void		 reader_job_add(struct search *, int, size_t, const char *,
		    size_t);
int		 reader_steal(struct search *);
void		 reader_wait_ready(struct search *, uint64_t);
int		 reader_rg_fill(struct search *);
int		 reader_file_prepare(struct search *);

#endif
