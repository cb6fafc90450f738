/*
 * floor: the least a job runner can do to run a command N times, P at a
 * time: fork, exec, wait. The bench's floor for exec workloads.
 *
 *	floor N P PROGRAM
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec	a, b;
	long		n, p, started = 0, running = 0;
	pid_t		pid;

	if (argc != 4 || (n = atol(argv[1])) < 1 || (p = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: floor N P PROGRAM\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	while (started < n || running > 0) {
		while (started < n && running < p) {
			if ((pid = fork()) == -1) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				execl(argv[3], argv[3], (char *)NULL);
				_exit(127);
			}
			started++;
			running++;
		}
		if (wait(NULL) > 0)
			running--;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("{\"jobs\":%ld,\"seconds\":%.6f}\n", n, (double)(b.tv_sec -
	    a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
