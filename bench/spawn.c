/* bench/spawn.c: start one monitor process and time it, for bench/bench.py.
 *
 *   spawn OUTFILE MARKER TIMEOUT_MS CMD [ARG...]
 *
 * Spawns CMD (posix_spawn: stdin /dev/null, stdout a pipe, stderr
 * OUTFILE.err), reads the pipe, and prints one line:
 *
 *   first_ms marker_ms exit_ms status maxrss_kib
 *
 * first_ms: spawn to the first byte on CMD's stdout; marker_ms: to the read
 * that completed the first MARKER; exit_ms: to wait4() returning; status: the
 * exit status, or 128+N for signal N; maxrss_kib: ru_maxrss from wait4.
 * CMD's whole stdout goes to OUTFILE. After TIMEOUT_MS the child is killed.
 *
 * Why C: Linux carries a process's peak RSS across execve, so a child forked
 * from a Python interpreter would report at least the interpreter's RSS.
 * This program is linked statically and stays far below any monitor's RSS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	posix_spawn_file_actions_t fa;
	double t0, first = -1, marker = -1, t_exit, deadline;
	size_t mlen, have = 0;
	char *tail, errpath[4096];
	int fds[2], out, status, rc;
	struct rusage ru;
	pid_t pid;

	if (argc < 5) {
		fprintf(stderr, "usage: spawn OUTFILE MARKER TIMEOUT_MS CMD [ARG...]\n");
		return 2;
	}
	mlen = strlen(argv[2]);
	tail = calloc(1, mlen + sizeof(buf) + 1);
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	snprintf(errpath, sizeof(errpath), "%s.err", argv[1]);
	if (!tail || out < 0 || pipe2(fds, O_CLOEXEC) < 0) {
		perror("spawn");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	t0 = now_ms();
	rc = posix_spawnp(&pid, argv[4], &fa, NULL, &argv[4], environ);
	if (rc) {
		fprintf(stderr, "spawn: %s: %s\n", argv[4], strerror(rc));
		return 2;
	}
	close(fds[1]);
	deadline = t0 + atof(argv[3]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		double left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
			break;
		if (!p.revents)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (first < 0)
			first = now_ms();
		if (write(out, buf, (size_t)n) != n)
			perror("spawn: write");
		if (marker < 0) {
			/* keep the last mlen-1 bytes so a marker split across reads is found */
			memcpy(tail + have, buf, (size_t)n);
			have += (size_t)n;
			tail[have] = '\0';
			if (memmem(tail, have, argv[2], mlen))
				marker = now_ms();
			else if (have >= mlen) {
				memmove(tail, tail + have - (mlen - 1), mlen - 1);
				have = mlen - 1;
			}
		}
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("spawn: wait4");
		return 2;
	}
	t_exit = now_ms();
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("%.3f %.3f %.3f %d %ld\n", first < 0 ? -1 : first - t0,
	       marker < 0 ? -1 : marker - t0, t_exit - t0, rc, ru.ru_maxrss);
	return 0;
}
