/*
 * fssearch: the file_search command around the search engine.
 */
#ifndef FS_FSSEARCH_H
#define FS_FSSEARCH_H

struct worker_req;

void	 cmd_file_search(struct worker_req *);

#endif
