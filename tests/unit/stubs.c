/*
 * Link stubs for unit tests that pull in ops.o from the mpdcore archive.
 * ops.o brings other modules with it, and those still read the daemon's
 * globals, which are defined in daemon/main.c (not part of mpdcore, as it
 * holds main()). These stand in for them; the tests never reach code that
 * uses them. tests/unit/layers.py lists the ones left to remove.
 */
#include "mpd.h"

struct config		 cfg;
