/*
 * The WAL checkpointer: a thread with a connection of its own copies
 * committed pages from the write-ahead log into the database file, so the
 * event loop never waits on that I/O (SQLite would otherwise do it inside
 * a commit, every 1000 pages, with its fsyncs).
 */
#ifndef MPD_CHECKPOINT_H
#define MPD_CHECKPOINT_H

struct checkpointer;

/* Starts one for the database at path; NULL (and a log line) if it cannot. */
struct checkpointer	*checkpoint_start(const char *);
/* Asks for a checkpoint soon; returns at once. */
void			 checkpoint_ask(struct checkpointer *);
/* Stops the thread, waits for it, and frees everything. */
void			 checkpoint_stop(struct checkpointer *);

#endif
