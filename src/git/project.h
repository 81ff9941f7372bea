/*
 * project: the project states of reference §6 — one per project folder,
 * shared by its sessions, with per-session monitored folders, tabs and
 * active tab — their events, and the project_state_* commands.
 */
#ifndef GIT_PROJECT_H
#define GIT_PROJECT_H

struct event_base;
struct worker_req;

void	 project_init(struct event_base *);
/* net's session list (_client_sessions): create and release states. */
void	 cmd_client_sessions(struct worker_req *);

void	 cmd_folder_expand(struct worker_req *);
void	 cmd_folder_collapse(struct worker_req *);
void	 cmd_file_open(struct worker_req *);
void	 cmd_tab_close(struct worker_req *);
void	 cmd_set_active_tab(struct worker_req *);
void	 cmd_diff_open(struct worker_req *);
void	 cmd_diff_content_request(struct worker_req *);
void	 cmd_git_stage(struct worker_req *);
void	 cmd_git_unstage(struct worker_req *);
void	 cmd_git_revert(struct worker_req *);
void	 cmd_git_commit(struct worker_req *);

#endif
