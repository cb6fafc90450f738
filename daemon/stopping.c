/*
 * How far a stop has gone. main.c moves it (a stop only ever gets harsher);
 * the modules that start new work (dispatch, respawns, new requests) ask.
 */
#include "mpd.h"

static enum stop_mode	mode = STOP_NONE;

enum stop_mode
stopping(void)
{
	return mode;
}

void
stopping_set(enum stop_mode m)
{
	if (m > mode)
		mode = m;
}
