/* sandboxd/cgroup.h: cgroup v2 for function workers.
 *
 * Layout under a delegated root (in the VM /sys/fs/cgroup/dshield):
 *
 *   ROOT/                    cgroup.subtree_control: +cpu +memory +pids
 *     fn-NAME/               one per function, same subtree_control
 *       w-ID/                one per worker: memory.max, memory.swap.max,
 *                            pids.max, cpu.max; the worker is cloned into
 *                            it (clone3 CLONE_INTO_CGROUP, sandbox.c)
 *
 * A root whose filesystem is not cgroup2, or whose cgroup.controllers lacks
 * one of cpu, memory, pids, is "not enforcing": the cgroups can still be
 * made (a process can be moved in, killed as a group) but no limit is
 * written, and the caller is told so (cg_root.enforced) so that it never
 * claims a limit it does not have. The host machine's cgroup2 has no
 * controllers (cgroup v1 holds them); the VM's has all three.
 *
 * Every function takes directory descriptors, so a test runs the same file
 * logic against a fake tree of plain files (tests/test_cgroup.c).
 * Error convention: 0 or a count, negative errno; a reason in err.
 */
#ifndef DSHIELD_SANDBOXD_CGROUP_H
#define DSHIELD_SANDBOXD_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CG_CTRL_CPU    1u
#define CG_CTRL_MEMORY 2u
#define CG_CTRL_PIDS   4u
#define CG_CTRL_NEEDED (CG_CTRL_CPU | CG_CTRL_MEMORY | CG_CTRL_PIDS)

struct cg_root {
	int fd;                 /* the delegated root directory */
	bool cgroup2;           /* its filesystem is cgroup2 */
	unsigned controllers;   /* CG_CTRL_* named in its cgroup.controllers */
	bool enforced;          /* cgroup2, all needed controllers, enabled */
};

/* Limits of one worker. 0 means "max" (no limit) for each. */
struct cg_limits {
	uint64_t memory_max;    /* bytes; memory.swap.max is always 0 */
	uint64_t pids_max;
	uint32_t cpu_quota_us;  /* per cpu_period_us */
	uint32_t cpu_period_us; /* 0: 100000 */
};

struct cg_events {
	uint64_t oom;           /* memory.events "oom" */
	uint64_t oom_kill;      /* memory.events "oom_kill" */
	uint64_t memory_max;    /* memory.events "max": allocations throttled at the limit */
	uint64_t pids_max;      /* pids.events "max": forks refused */
};

/* Opens the delegated root and finds out whether it enforces; when it can,
 * enables cpu, memory and pids for its children. A root that cannot
 * enforce is not an error (r->enforced false); one that cannot be opened
 * is. */
int cg_root_open(struct cg_root *r, const char *path, char *err, size_t cap);
void cg_root_close(struct cg_root *r);

/* Makes (or reuses) the cgroup `name` under parent_fd and opens it into
 * *fd. With enable set (the function level of an enforcing root), turns
 * on cpu, memory and pids for its children. name: [A-Za-z0-9_.-]{1,64},
 * not "." or "..". */
int cg_create(int parent_fd, const char *name, bool enable, int *fd,
	      char *err, size_t cap);

/* Writes memory.max, memory.swap.max (0), pids.max and cpu.max. */
int cg_set_limits(int fd, const struct cg_limits *l, char *err, size_t cap);

/* Reads the counters of memory.events and pids.events. */
int cg_read_events(int fd, struct cg_events *ev, char *err, size_t cap);

/* 1 while a process is in the cgroup or below (cgroup.events
 * "populated"), 0 when empty, or -errno. */
int cg_populated(int fd);

/* Kills every process in the cgroup and below at once (cgroup.kill,
 * Linux 5.14). */
int cg_kill(int fd, char *err, size_t cap);

/* Removes the (empty) cgroup `name` under parent_fd; -EBUSY while a
 * process is still in it. */
int cg_remove(int parent_fd, const char *name, char *err, size_t cap);

/* Finds "key N" in a flat keyed file's text (cgroup's "key value" lines);
 * 0 with *val, -ENOENT when absent, -EINVAL for a malformed value. */
int cg_keyed_get(const char *text, const char *key, uint64_t *val);

#endif
