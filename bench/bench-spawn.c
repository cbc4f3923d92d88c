/* Whole-process cost: starts a program N times, one after another, and
 * prints the mean nanoseconds a process from spawn to reaped exit (wall
 * clock), then the mean CPU time a process (user and system, its threads
 * and the children it waited for included: on a loaded machine this is
 * the steadier figure), then the mean minor page faults a process. Run
 * bare and with LD_PRELOAD by run.sh: the variable is inherited by the
 * program, as it is from a shell; this driver's own start is outside the
 * figures.
 *
 *   bench-spawn [-p PER] N PROGRAM [ARG...]
 *
 * -p PER: each run starts PER processes (a shell loop): the figures are
 * divided by N x PER.
 *
 * The program's output goes to /dev/null. Exit status 1 when a run could
 * not be started or did not exit 0 (nor with the status that the first
 * run exited with: curl's answer to an empty reply is the same each time). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	long n, i, per = 1;
	int first = -1;
	double t0, wall, cpu;
	struct rusage ru;

	if (argc > 3 && strcmp(argv[1], "-p") == 0) {
		per = atol(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 3 || (n = atol(argv[1])) < 1 || per < 1) {
		fprintf(stderr, "usage: bench-spawn [-p PER] N PROGRAM [ARG...]\n");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
			fprintf(stderr, "bench-spawn: %s did not run\n", argv[2]);
			return 1;
		}
		if (first < 0)
			first = WEXITSTATUS(st);
		if (WEXITSTATUS(st) != first) {
			fprintf(stderr, "bench-spawn: %s exited %d, then %d\n",
				argv[2], first, WEXITSTATUS(st));
			return 1;
		}
	}
	wall = now_ns() - t0;
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0)
		return 1;
	cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
	printf("%.0f %.0f %.1f\n", wall / (double)(n * per), cpu / (double)(n * per),
	       (double)ru.ru_minflt / (double)(n * per));
	return 0;
}
