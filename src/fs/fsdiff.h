/*
 * fsdiff: file_apply_diff and file_preview_diff (reference §5).
 */
#ifndef FS_FSDIFF_H
#define FS_FSDIFF_H

struct worker_req;

void	 cmd_file_apply_diff(struct worker_req *);
void	 cmd_file_preview_diff(struct worker_req *);

#endif
