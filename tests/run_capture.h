/* tests/run_capture.h: runs a CLI command function in process with its
 * stdout and stderr sent to a file, and reads what it printed back: how
 * test_verify_cli and test_log_verify call `dshield verify` and
 * `dshield log verify`. */
#ifndef DSHIELD_TESTS_RUN_CAPTURE_H
#define DSHIELD_TESTS_RUN_CAPTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* cmd(argc, argv) with stdout and stderr in the file at path (created or
 * truncated); its output, NUL terminated, in out[0..cap). Returns the
 * command's exit status. */
static int run_captured(int (*cmd)(int, char **), int argc, const char **argv,
			const char *path, char *out, size_t cap)
{
	int fd, saved_out, saved_err, r;
	ssize_t n;

	fflush(stdout);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	r = cmd(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
}

#endif
