/*
 * search: the engine behind file_search. A directory walk that never
 * follows symlinks, honours ignore files the way ripgrep does, skips
 * binaries and big files, and matches literals with a substring search
 * and everything else with PCRE2 (JIT). It runs in slices so the fs
 * worker's event loop stays responsive.
 */
#ifndef FS_SEARCH_H
#define FS_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct search;

struct search_opts {
	const char	 *root;		/* the root as the client gave it */
	int		  root_fd;	/* O_DIRECTORY; the search dups it */
	/*
	 * Ancestors of the root may be read for ignore files and to find
	 * the repository (.git) the root lies in. 0 when a path policy
	 * confines the fs worker: nothing above the root is touched then.
	 */
	int		  parents;
	const char	 *query;	/* UTF-8, not empty */
	int		  match_case;
	int		  regex;
	int		  whole_word;
	int		  include_hidden;
	int		  max_results;		/* already clamped */
	int		  max_per_file;		/* matching lines per file */
	uint64_t	  max_file_size;	/* bytes; larger files skipped */
	int		  max_line_length;	/* characters */
	/* Globs with ripgrep -g syntax; an exclude has no leading '!'. */
	const char *const *include;
	size_t		  ninclude;
	const char *const *exclude;
	size_t		  nexclude;
	uint64_t	  time_limit_ms;	/* 10000 upstream */
};

/*
 * Compile the query and prepare the walk. NULL with a message in err,
 * e.g. "Invalid regular expression: …".
 */
struct search	*search_new(const struct search_opts *, char *err,
		    size_t errlen);
/*
 * Work for about budget_us microseconds. 1 when the search is over
 * (done, result cap reached, or time limit hit), 0 when more remains.
 */
int		 search_step(struct search *, uint64_t budget_us);
/*
 * Add the result fields to the response object: matches,
 * matches_returned, total_matches, files_scanned, truncated,
 * truncated_count, errors.
 */
void		 search_result(struct search *, struct json_object *);
void		 search_free(struct search *);

#endif
