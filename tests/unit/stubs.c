/*
 * Link stubs for unit tests that pull in ops.o from the mpdcore archive.
 * ops.o brings server.o, sched.o, pool.o and waiter.o with it, and those
 * refer to the daemon's globals and stop functions, which are defined in
 * daemon/main.c (not part of mpdcore, as it holds main()). These stand in
 * for them; the tests never reach code that uses them.
 */
#include <stdlib.h>

#include "mpd.h"

struct config		 cfg;
struct event_base	*ev_base;
struct store		*store;
enum stop_mode		 stop_mode = STOP_NONE;

/* Never called by the tests. */
void
mpd_check_stopped(void)
{
	abort();
}
