/*
 * An example task plugin for mpd (<mpd/task.h>): two tasks.
 *
 *   wc(path)               -> {"lines":L,"words":W,"bytes":B} of a text
 *                             file, read as the job's owner
 *   mandelbrot(w, h, iter) -> how many points of a w x h grid over
 *                             [-2,1] x [-1.5,1.5] stay bounded for iter
 *                             steps: a numeric kernel, run in the worker
 *                             itself, with no process to start, its
 *                             progress reported row by row
 *
 * mpd --plugin /usr/lib/mpd/plugins/example.so; then
 * mpctl submit wc /etc/hostname; mpctl map mandelbrot ...
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpd/task.h>

static const struct mpd_host	*host;

/* wc's arguments: one path. */
static int
wc_check(json_t *args, json_t *kwargs, char **cause)
{
	(void)kwargs;
	if (json_array_size(args) != 1 ||
	    !json_is_string(json_array_get(args, 0))) {
		*cause = strdup("wc takes one argument, a file's path");
		return -1;
	}
	return 0;
}

static json_t *
wc_run(json_t *args, json_t *kwargs, struct mpd_job *job, json_t **error)
{
	const char	*path = json_string_value(json_array_get(args, 0));
	char		 buf[65536];
	long long	 lines = 0, words = 0, bytes = 0;
	ssize_t		 n, i;
	int		 fd, in_word = 0;

	(void)kwargs;
	if ((fd = host->open(job, path, O_RDONLY)) == -1) {
		*error = host->error("%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		bytes += n;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n')
				lines++;
			if (isspace((unsigned char)buf[i]))
				in_word = 0;
			else if (!in_word) {
				in_word = 1;
				words++;
			}
		}
	}
	if (n == -1) {
		*error = host->error("%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	close(fd);
	return json_pack("{s:I, s:I, s:I}", "lines", (json_int_t)lines,
	    "words", (json_int_t)words, "bytes", (json_int_t)bytes);
}

/* mandelbrot's arguments: three whole numbers, sizes within reason. */
static int
mandelbrot_check(json_t *args, json_t *kwargs, char **cause)
{
	size_t	i;

	(void)kwargs;
	if (json_array_size(args) != 3)
		goto bad;
	for (i = 0; i < 3; i++) {
		if (!json_is_integer(json_array_get(args, i)) ||
		    json_integer_value(json_array_get(args, i)) < 1 ||
		    json_integer_value(json_array_get(args, i)) > 100000)
			goto bad;
	}
	return 0;
bad:
	*cause = strdup("mandelbrot takes width, height and iterations, "
	    "each 1 to 100000");
	return -1;
}

static json_t *
mandelbrot_run(json_t *args, json_t *kwargs, struct mpd_job *job,
    json_t **error)
{
	long long	w = json_integer_value(json_array_get(args, 0));
	long long	h = json_integer_value(json_array_get(args, 1));
	long long	iter = json_integer_value(json_array_get(args, 2));
	long long	x, y, k, inside = 0;
	double		cr, ci, zr, zi, t;

	(void)kwargs;
	(void)error;
	for (y = 0; y < h; y++) {
		host->progress(job, y, h);
		ci = -1.5 + 3.0 * (double)y / (double)h;
		for (x = 0; x < w; x++) {
			cr = -2.0 + 3.0 * (double)x / (double)w;
			zr = zi = 0;
			for (k = 0; k < iter && zr * zr + zi * zi <= 4; k++) {
				t = zr * zr - zi * zi + cr;
				zi = 2 * zr * zi + ci;
				zr = t;
			}
			if (k == iter)
				inside++;
		}
	}
	host->progress(job, h, h);
	return json_integer(inside);
}

static const struct mpd_task tasks[] = {
	{ "wc", "path -> lines, words and bytes of a text file", 0, wc_run,
	    wc_check },
	{ "mandelbrot", "width, height, iterations -> points inside", 0,
	    mandelbrot_run, mandelbrot_check },
};

static int
example_init(const struct mpd_host *h)
{
	size_t	i;

	host = h;
	for (i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
		if (host->register_task(&tasks[i]) == -1)
			return -1;
	}
	return 0;
}

MPD_PLUGIN(example_init)
