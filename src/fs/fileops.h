/*
 * fileops: the plain file commands (reference §4.1–4.7).
 */
#ifndef FS_FILEOPS_H
#define FS_FILEOPS_H

struct worker_req;

void	 cmd_file_read(struct worker_req *);
void	 cmd_file_write(struct worker_req *);
void	 cmd_directory_list(struct worker_req *);
void	 cmd_file_info(struct worker_req *);
void	 cmd_file_delete(struct worker_req *);
void	 cmd_file_create(struct worker_req *);
void	 cmd_folder_create(struct worker_req *);
void	 cmd_file_rename(struct worker_req *);

/*
 * Follow symlinks at the last component of path (inside the policy) to
 * the directory and name a write should go to; missing parents are
 * created when mkdirs is set. The directory fd, or -1 with errno.
 */
int	 fileops_write_target(const char *path, int mkdirs, char *name,
	    size_t namelen);

#endif
