/*
 * Plugins that mpd must refuse at start, one per BAD_* definition: built
 * for another task ABI, without an init, with a task named as a built-in,
 * with an init that fails.
 */
#include <mpd/task.h>

#if defined(BAD_ABI)
const int mpd_plugin_abi = MPD_TASK_ABI + 98;
int
mpd_plugin_init(const struct mpd_host *h)
{
	(void)h;
	return 0;
}
#elif defined(BAD_NO_INIT)
const int mpd_plugin_abi = MPD_TASK_ABI;
#elif defined(BAD_TAKEN)
static json_t *
run(json_t *args, json_t *kwargs, struct mpd_job *job, json_t **error)
{
	(void)kwargs;
	(void)job;
	(void)error;
	return json_incref(args);
}

static const struct mpd_task square = { "square", "taken", 0, run, NULL };

static int
init(const struct mpd_host *h)
{
	return h->register_task(&square);
}
MPD_PLUGIN(init)
#elif defined(BAD_INIT_FAILS)
static int
init(const struct mpd_host *h)
{
	(void)h;
	return -1;
}
MPD_PLUGIN(init)
#endif
