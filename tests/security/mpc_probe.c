/*
 * A libmpclient program for the security tests: connects to the socket
 * named by its argument and says hello. Exits 0 when it got an answer, 3
 * when mpc_connect refused (the reason on stderr), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mpclient.h"

int
main(int argc, char **argv)
{
	struct mpc	*c;
	json_t		*r;
	char		*cause;

	if (argc != 2) {
		fprintf(stderr, "usage: mpc_probe SOCKET\n");
		return 2;
	}
	if ((c = mpc_connect(argv[1], &cause)) == NULL) {
		fprintf(stderr, "mpc_probe: %s\n", cause);
		free(cause);
		return 3;
	}
	r = mpc_call(c, json_pack("{s:s}", "op", "hello"), &cause);
	mpc_close(c);
	if (r == NULL) {
		fprintf(stderr, "mpc_probe: %s\n", cause);
		free(cause);
		return 1;
	}
	json_decref(r);
	return 0;
}
