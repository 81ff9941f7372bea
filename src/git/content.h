/*
 * content: content_request (reference §4.9), served from the git worker's
 * content store. net does the chunking of a hit (§4.10).
 */
#ifndef GIT_CONTENT_H
#define GIT_CONTENT_H

struct worker_req;

void	 cmd_content_request(struct worker_req *);

#endif
