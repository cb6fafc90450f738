/*
 * Process titles: workers rewrite the argv area so "ps" shows
 * "mpd: worker-3" (prctl's PR_SET_NAME covers "ps -o comm"). The title is
 * cut to the space the original arguments held.
 */
#include <stdio.h>
#include <string.h>

#include "mpd.h"

static char	*title_start;
static size_t	 title_len;

void
proctitle_init(int argc, char **argv)
{
	int	i;

	if (argc < 1 || argv[0] == NULL)
		return;
	title_start = argv[0];
	/* Only arguments that sit one after the other can be reused. */
	for (i = 0; i < argc; i++) {
		if (argv[i] != title_start + title_len && i > 0)
			break;
		title_len += strlen(argv[i]) + 1;
	}
}

void
proctitle_set(const char *name)
{
	if (title_start == NULL || title_len < 2)
		return;
	memset(title_start, '\0', title_len);
	snprintf(title_start, title_len, "mpd: %s", name);
}
