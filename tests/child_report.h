/* tests/child_report.h: checks that must run in a child (a dropped
 * privilege, an installed seccomp filter, a new image) report one record
 * each through a pipe or socket; the parent turns the records into TAP
 * lines. write() is used because the seccomp filter under test allows it. */
#ifndef DSHIELD_TESTS_CHILD_REPORT_H
#define DSHIELD_TESTS_CHILD_REPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"

struct child_record {
	char name[72];
	int pass;
	int err;      /* errno or another detail, shown when the check fails */
};

/* The child's end: set before the first child_report(). */
static int child_report_fd = -1;

__attribute__((unused))
static void child_report(int pass, int err, const char *name)
{
	struct child_record rec;

	memset(&rec, 0, sizeof rec);
	strncpy(rec.name, name, sizeof rec.name - 1);
	rec.pass = pass;
	rec.err = err;
	if (write(child_report_fd, &rec, sizeof rec) != (ssize_t)sizeof rec)
		_exit(3);
}

/* fork() with stdout flushed first (or the child would print the
 * parent's buffered TAP lines again); exits 2 when fork fails. */
__attribute__((unused))
static pid_t child_fork(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		exit(2);
	return pid;
}

/* The parent's end: one TAP line per record read from fd until EOF, named
 * "prefix: name" (just the name when prefix is NULL). Returns the count. */
__attribute__((unused))
static int child_collect(int fd, const char *prefix)
{
	struct child_record rec;
	int n = 0;

	while (read(fd, &rec, sizeof rec) == (ssize_t)sizeof rec) {
		rec.name[sizeof rec.name - 1] = '\0';
		if (!ok(rec.pass, "%s%s%s", prefix ? prefix : "", prefix ? ": " : "", rec.name))
			diag("detail %d (%s)", rec.err, strerror(rec.err));
		n++;
	}
	return n;
}

#endif
