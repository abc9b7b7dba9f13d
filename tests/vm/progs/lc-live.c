// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-live: runs one video sink program (gst-launch-1.0, ffmpeg, ...) as a
 * child process, feeds it a live stream of visual test frames (-p bars: the
 * frame number survives scaling and format conversion) on its stdin at a
 * fixed rate, reads the loopback device's capture node, and measures what
 * the sink costs and how late frames arrive:
 *
 *  - feeder thread: frame N is due at t0 + N/fps; it is drawn, then written
 *    to the pipe when due. Its send time (CLOCK_MONOTONIC when its write()
 *    starts) is kept by frame number. A frame whose slot passed while the
 *    pipe was full is never sent (a live camera drops it too): "skipped";
 *  - reader thread: MMAP capture, decodes the frame number from each
 *    dequeued frame; latency = first dequeue time of frame N - its send time;
 *  - main thread: once the first frame came through (or, with --no-capture,
 *    the sink has taken 3 frames), waits --warmup seconds, then samples the
 *    child's CPU time (/proc/PID/stat utime+stime: all its threads, user and
 *    kernel), its threads', the feeder's and reader's and the guest's, runs
 *    --seconds, samples again, then stops feeding (the child sees EOF) and
 *    waits for the child to exit.
 *
 * Everything counted is counted within that window: frames delivered are
 * distinct frame numbers first dequeued in it; CPU per frame is the child's
 * CPU time in the window over those frames.
 *
 * Summary line: result= frames= (delivered, or fed with --no-capture)
 * window_s= expected= (fps x window) fed= skipped= lost= received= repeats=
 * foreign= (no frame number) bad_size= fps= cpu_ms= user_ms= sys_ms=
 * cpu_ms_per_frame= feeder_ms= reader_ms= guest_user= guest_sys= guest_idle=
 * (% of all CPUs) lat_p50_us= lat_p90_us= lat_p99_us= lat_max_us= lat_n=
 * gap_p50_us= gap_p99_us= gap_max_us= (between new frames) accept_p50_us=
 * accept_p99_us= (write() into the pipe) first_frame_ms= sink_rc= (128+N:
 * signal N) ended_early= killed= (signal lc-live sent) feed_late=
 * skipped_total= input= in_format= device_format= size=; -1: not measured.
 *
 * Exit status: 0 measured (whatever the numbers); 1 nothing to measure (no
 * frame came through, the child failed before the window); 2 usage or
 * device error.
 */
#include "frame.h"
#include "v4l2util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *device; /* capture node */
	const struct lc_format *in_fmt; /* what is fed on the pipe */
	uint32_t width, height;
	const struct lc_format *exp_fmt; /* --expect-format: the device's */
	uint32_t exp_w, exp_h;
	double fps;
	double seconds;
	double warmup;
	uint32_t buffers;
	int feed; /* 0: --input none (the child reads its own input) */
	int capture; /* 0: --no-capture */
	uint32_t pipe_size;
	uint32_t start_timeout_ms;
	uint32_t end_grace_ms;
	const char *frames_log;
	const char *sink_log;
	char **cmd;
};

/* Per frame number: send time (feeder) and first dequeue time (reader). */
struct frame_times {
	uint64_t send_ns; /* 0: not sent */
	uint64_t sent_ns; /* write() finished */
	uint64_t deq_ns; /* 0: never dequeued */
};

/* One dequeued buffer, in order. */
struct deq_event {
	uint64_t t_ns;
	int64_t seq; /* -1: no frame number in it */
	int fresh; /* first time this number was seen, and higher than any before */
};

struct ctx {
	struct opts o;
	size_t in_size; /* bytes of one fed frame */
	uint64_t interval_ns;
	/* frame numbers 0 .. n_max-1 */
	struct frame_times *ft;
	uint64_t n_max;

	int pipe_w; /* feeder's end, -1 when closed */
	pid_t child;
	atomic_int stop_feed;
	atomic_int stop_read;
	atomic_int child_gone; /* feeder: EPIPE */

	/* feeder */
	pthread_t feeder;
	int feeder_started;
	atomic_ullong fed; /* frames completely written */
	uint64_t t0; /* frame N is due at t0 + N * interval */
	uint64_t skipped; /* slots passed while the pipe was full (whole run) */
	uint64_t feed_late; /* writes that started more than 1 ms after due */
	char feed_err[200];

	/* reader */
	struct lc_dev dev;
	struct v4l2_format fmt;
	const struct lc_format *dev_f;
	struct lc_bufs bufs;
	pthread_t reader;
	int reader_started;
	atomic_ullong first_deq_ns;
	struct deq_event *ev;
	size_t n_ev, cap_ev;
	int64_t max_seq;
	uint64_t bad_size;
	char read_err[200];
};

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: lc-live --device /dev/videoN --format FOURCC:WxH [options] -- CMD [ARGS...]\n"
"Runs CMD (a video sink program) with a live stream of bars frames on its stdin,\n"
"reads the loopback's capture node and measures the sink's CPU time per frame\n"
"delivered and the latency from write() into the pipe to DQBUF on the capture node.\n"
"\n"
"  -d, --device PATH        capture node the sink's frames come out of\n"
"  -F, --format F:WxH       format and size of the frames fed on CMD's stdin\n"
"                           (YU12/I420, YUYV, RGB24, NV12, ...)\n"
"      --expect-format F:WxH  the capture node's format (default: whatever G_FMT says)\n"
"  -r, --fps N              frames per second fed (default 30)\n"
"  -t, --seconds S          length of the measurement window (default 10)\n"
"      --warmup S           from the first frame through to the window (default 3)\n"
"  -b, --buffers N          capture buffers (MMAP, default 4)\n"
"      --input pipe|none    pipe (default): feed CMD's stdin; none: CMD reads its\n"
"                           own input (a file of bars frames): no latency then\n"
"      --no-capture         do not read the device (a sink into nothing, e.g.\n"
"                           fakesink: the cost of reading the input); frames are\n"
"                           then those fed in the window\n"
"      --pipe-size BYTES    pipe capacity (default: one frame, rounded up by the\n"
"                           kernel; 0 = leave the default 64 KiB)\n"
"      --start-timeout-ms MS  longest wait for the first frame (default 60000)\n"
"      --end-grace-ms MS    after the window: how long CMD may take to exit after\n"
"                           EOF (default 20000), then SIGINT, SIGTERM, SIGKILL\n"
"      --frames-log FILE    per frame number: send, write-done and dequeue times\n"
"      --sink-log FILE      CMD's stdout and stderr (default: inherited)\n"
"  -h, --help\n"
"\n"
"Output: 'thread: ...' lines (CMD's threads' CPU time in the window), notes, and a\n"
"last line 'result=pass|fail key=value ...'. Exit 0 measured, 1 nothing measured,\n"
"2 usage or device error.\n");
}

enum {
	O_EXPECT_FORMAT = 256, O_WARMUP, O_INPUT, O_NO_CAPTURE, O_PIPE_SIZE, O_START_TIMEOUT,
	O_END_GRACE, O_FRAMES_LOG, O_SINK_LOG,
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'F' },
		{ "expect-format", required_argument, NULL, O_EXPECT_FORMAT },
		{ "fps", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "buffers", required_argument, NULL, 'b' },
		{ "input", required_argument, NULL, O_INPUT },
		{ "no-capture", no_argument, NULL, O_NO_CAPTURE },
		{ "pipe-size", required_argument, NULL, O_PIPE_SIZE },
		{ "start-timeout-ms", required_argument, NULL, O_START_TIMEOUT },
		{ "end-grace-ms", required_argument, NULL, O_END_GRACE },
		{ "frames-log", required_argument, NULL, O_FRAMES_LOG },
		{ "sink-log", required_argument, NULL, O_SINK_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	int opt;

	memset(o, 0, sizeof(*o));
	o->fps = 30;
	o->seconds = 10;
	o->warmup = 3;
	o->buffers = 4;
	o->feed = 1;
	o->capture = 1;
	o->pipe_size = UINT32_MAX; /* one frame */
	o->start_timeout_ms = 60000;
	o->end_grace_ms = 20000;

	while ((opt = getopt_long(argc, argv, "+d:F:r:t:b:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			o->device = optarg;
			break;
		case 'F':
			if (lc_parse_format_size(optarg, &o->in_fmt, &o->width, &o->height, err,
						 sizeof(err))) {
				lc_err("--format: %s", err);
				return -1;
			}
			break;
		case O_EXPECT_FORMAT:
			if (lc_parse_format_size(optarg, &o->exp_fmt, &o->exp_w, &o->exp_h, err,
						 sizeof(err))) {
				lc_err("--expect-format: %s", err);
				return -1;
			}
			break;
		case 'r':
			if (lc_opt_double("--fps", optarg, &o->fps))
				return -1;
			break;
		case 't':
			if (lc_opt_double("--seconds", optarg, &o->seconds))
				return -1;
			break;
		case O_WARMUP:
			if (lc_opt_double("--warmup", optarg, &o->warmup))
				return -1;
			break;
		case 'b':
			if (lc_opt_u32("--buffers", optarg, &o->buffers))
				return -1;
			if (o->buffers < 1 || o->buffers > LC_MAX_BUFS) {
				lc_err("--buffers: must be 1..%u", LC_MAX_BUFS);
				return -1;
			}
			break;
		case O_INPUT:
			if (strcmp(optarg, "pipe") == 0)
				o->feed = 1;
			else if (strcmp(optarg, "none") == 0)
				o->feed = 0;
			else {
				lc_err("--input: '%s' unknown (use pipe or none)", optarg);
				return -1;
			}
			break;
		case O_NO_CAPTURE:
			o->capture = 0;
			break;
		case O_PIPE_SIZE:
			if (lc_opt_u32("--pipe-size", optarg, &o->pipe_size))
				return -1;
			break;
		case O_START_TIMEOUT:
			if (lc_opt_u32("--start-timeout-ms", optarg, &o->start_timeout_ms))
				return -1;
			break;
		case O_END_GRACE:
			if (lc_opt_u32("--end-grace-ms", optarg, &o->end_grace_ms))
				return -1;
			break;
		case O_FRAMES_LOG:
			o->frames_log = optarg;
			break;
		case O_SINK_LOG:
			o->sink_log = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		lc_err("no sink command given (after --)");
		return -1;
	}
	o->cmd = argv + optind;
	if (o->capture && !o->device) {
		lc_err("--device is required (the loopback's capture node), or --no-capture");
		return -1;
	}
	if (!o->in_fmt) {
		lc_err("--format is required (what is fed, or what the sink's input file holds)");
		return -1;
	}
	if (lc_format_is_compressed(o->in_fmt) || o->width < LC_BARS_MIN_W ||
	    o->height < LC_BARS_MIN_H) {
		lc_err("--format: bars frames need a raw format of at least %ux%u", LC_BARS_MIN_W,
		       LC_BARS_MIN_H);
		return -1;
	}
	if (!(o->fps > 0) || !(o->seconds > 0) || o->warmup < 0) {
		lc_err("--fps and --seconds must be above 0, --warmup at least 0");
		return -1;
	}
	if (!o->feed && !o->capture) {
		lc_err("--input none with --no-capture measures nothing");
		return -1;
	}
	return 0;
}

/* ---- CPU time ----------------------------------------------------------- */

/* utime + stime of /proc/PATH/stat in ms (clock ticks); -1 if unreadable.
 * comm (up to 63 chars) if asked. */
static double stat_cpu_ms(const char *path, double *user_ms, double *sys_ms, char *comm)
{
	static long hz;
	char buf[1024];
	unsigned long long ut = 0, st = 0;
	char *open_p, *close_p;
	ssize_t n;
	int fd;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -1;
	if (comm) {
		size_t l = (size_t)(close_p - open_p - 1);

		if (l > 63)
			l = 63;
		memcpy(comm, open_p + 1, l);
		comm[l] = '\0';
	}
	/* fields from 3 (state) on; utime is field 14, stime 15 */
	if (sscanf(close_p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return -1;
	if (user_ms)
		*user_ms = (double)ut * 1000.0 / (double)hz;
	if (sys_ms)
		*sys_ms = (double)st * 1000.0 / (double)hz;
	return (double)(ut + st) * 1000.0 / (double)hz;
}

#define MAX_THREADS 256

struct thread_cpu {
	int tid;
	char comm[64];
	double ms;
};

struct cpu_sample {
	uint64_t t_ns;
	double child_ms, child_user_ms, child_sys_ms;
	double feeder_ms, reader_ms;
	unsigned long long guest[4]; /* user+nice, system, idle, other */
	struct thread_cpu th[MAX_THREADS];
	int n_th;
};

static double thread_ms(pthread_t t, int started)
{
	clockid_t cid;
	struct timespec ts;

	if (!started || pthread_getcpuclockid(t, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void guest_cpu(unsigned long long g[4])
{
	unsigned long long v[8] = { 0 };
	FILE *fp = fopen("/proc/stat", "re");

	memset(g, 0, 4 * sizeof(*g));
	if (!fp)
		return;
	if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		g[0] = v[0] + v[1];
		g[1] = v[2];
		g[2] = v[3];
		g[3] = v[4] + v[5] + v[6] + v[7];
	}
	fclose(fp);
}


static void sample(struct ctx *c, struct cpu_sample *s)
{
	char path[80];
	DIR *d;
	struct dirent *e;

	memset(s, 0, sizeof(*s));
	s->t_ns = lc_now_ns();
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->child);
	s->child_ms = stat_cpu_ms(path, &s->child_user_ms, &s->child_sys_ms, NULL);
	s->feeder_ms = thread_ms(c->feeder, c->feeder_started);
	s->reader_ms = thread_ms(c->reader, c->reader_started);
	guest_cpu(s->guest);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)c->child);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) && s->n_th < MAX_THREADS) {
		struct thread_cpu *t = &s->th[s->n_th];
		int tid = atoi(e->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)c->child, tid);
		t->ms = stat_cpu_ms(path, NULL, NULL, t->comm);
		if (t->ms >= 0) {
			t->tid = tid;
			s->n_th++;
		}
	}
	closedir(d);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct thread_cpu *x = a, *y = b;

	return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

/* Prints the child's threads by CPU time in the window, most first. */
static void print_threads(const struct cpu_sample *s0, const struct cpu_sample *s1)
{
	struct thread_cpu d[MAX_THREADS];
	int n = 0;

	for (int i = 0; i < s1->n_th; i++) {
		double before = 0;

		for (int j = 0; j < s0->n_th; j++)
			if (s0->th[j].tid == s1->th[i].tid)
				before = s0->th[j].ms;
		d[n] = s1->th[i];
		d[n].ms -= before;
		n++;
	}
	qsort(d, (size_t)n, sizeof(d[0]), cmp_thread);
	for (int i = 0; i < n; i++) {
		/* comm may hold spaces: keep the line one key=value list */
		for (char *p = d[i].comm; *p; p++)
			if (*p == ' ' || *p == '=' || *p == '\t')
				*p = '_';
		printf("thread: tid=%d comm=%s cpu_ms=%.0f\n", d[i].tid, d[i].comm, d[i].ms);
	}
}

/* ---- feeder -------------------------------------------------------------- */

/* Writes all of buf to the non-blocking pipe; 0, or -1 (stop asked or the
 * child closed its end). */
static int write_all(struct ctx *c, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(c->pipe_w, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			if (atomic_load(&c->stop_feed))
				return -1;
			lc_wait(c->pipe_w, POLLOUT, 100, NULL);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE) {
			atomic_store(&c->child_gone, 1);
			snprintf(c->feed_err, sizeof(c->feed_err),
				 "the sink closed its input (EPIPE) after %llu frames",
				 (unsigned long long)atomic_load(&c->fed));
		} else {
			snprintf(c->feed_err, sizeof(c->feed_err), "write to the sink: %s",
				 n < 0 ? strerror(errno) : "wrote 0 bytes");
		}
		return -1;
	}
	return 0;
}

static void *feeder_main(void *arg)
{
	struct ctx *c = arg;
	uint8_t *buf = malloc(c->in_size);
	uint64_t t0, next = 0;

	if (!buf) {
		snprintf(c->feed_err, sizeof(c->feed_err), "out of memory");
		return NULL;
	}
	t0 = lc_now_ns();
	c->t0 = t0;
	while (!atomic_load(&c->stop_feed) && next < c->n_max) {
		uint64_t now = lc_now_ns();
		uint64_t slot = (now - t0) / c->interval_ns;
		uint64_t due;

		/* a live source: the frames whose time passed while the pipe was
		 * full are gone */
		if (slot > next) {
			c->skipped += slot - next;
			next = slot;
			if (next >= c->n_max)
				break;
		}
		lc_bars_fill(buf, c->o.in_fmt, c->o.width, c->o.height, (uint32_t)next);
		due = t0 + next * c->interval_ns;
		if (lc_now_ns() < due)
			lc_sleep_until(due);
		now = lc_now_ns();
		if (now > due + 1000000)
			c->feed_late++;
		c->ft[next].send_ns = now;
		if (write_all(c, buf, c->in_size))
			break;
		c->ft[next].sent_ns = lc_now_ns();
		atomic_fetch_add(&c->fed, 1);
		next++;
	}
	free(buf);
	return NULL;
}

/* ---- reader -------------------------------------------------------------- */

static void add_event(struct ctx *c, uint64_t t, int64_t seq, int fresh)
{
	if (c->n_ev == c->cap_ev) {
		size_t nc = c->cap_ev ? c->cap_ev * 2 : 4096;
		struct deq_event *n = realloc(c->ev, nc * sizeof(*n));

		if (!n)
			return;
		c->ev = n;
		c->cap_ev = nc;
	}
	c->ev[c->n_ev++] = (struct deq_event){ t, seq, fresh };
}

static void *reader_main(void *arg)
{
	struct ctx *c = arg;
	uint32_t w = c->fmt.fmt.pix.width, h = c->fmt.fmt.pix.height;
	size_t frame_size = lc_frame_size(c->dev_f, w, h);

	c->max_seq = -1;
	while (!atomic_load(&c->stop_read)) {
		struct v4l2_buffer b;
		short rev = 0;
		int r = lc_wait(c->dev.fd, POLLIN, 200, &rev);
		uint64_t now;
		uint32_t seq;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(c->read_err, sizeof(c->read_err), "poll: %s", strerror(errno));
			break;
		}
		if (r == 0)
			continue;
		if (lc_bufs_dqbuf(&c->bufs, &b, 1)) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(c->read_err, sizeof(c->read_err), "VIDIOC_DQBUF: %s",
				 strerror(errno));
			break;
		}
		now = lc_now_ns();
		if (b.bytesused != frame_size) {
			c->bad_size++;
			add_event(c, now, -1, 0);
		} else if (lc_bars_decode(c->bufs.b[b.index].ptr, c->dev_f, w, h, &seq) ||
			   seq >= c->n_max) {
			/* no number, or one no frame of this run can have */
			add_event(c, now, -1, 0);
		} else {
			int fresh = (int64_t)seq > c->max_seq;

			if (fresh) {
				c->max_seq = seq;
				if (!c->ft[seq].deq_ns)
					c->ft[seq].deq_ns = now;
				if (!atomic_load(&c->first_deq_ns))
					atomic_store(&c->first_deq_ns, now);
			}
			add_event(c, now, seq, fresh);
		}
		if (lc_bufs_qbuf(&c->bufs, b.index, 0, 0)) {
			snprintf(c->read_err, sizeof(c->read_err), "VIDIOC_QBUF: %s",
				 strerror(errno));
			break;
		}
	}
	return NULL;
}

static int setup_capture(struct ctx *c)
{
	struct opts *o = &c->o;
	char n1[8], n2[8];

	if (lc_dev_open(&c->dev, o->device, O_RDWR))
		return -1;
	if (!(c->dev.caps & V4L2_CAP_VIDEO_CAPTURE)) {
		lc_err("%s: no VIDEO_CAPTURE in device_caps: give the capture node", o->device);
		return -1;
	}
	memset(&c->fmt, 0, sizeof(c->fmt));
	c->fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (LC_IOCTL(&c->dev, VIDIOC_G_FMT, &c->fmt, "CAPTURE"))
		return -1;
	lc_print_fmt("G_FMT: ", &c->fmt);
	c->dev_f = lc_format_by_fourcc(c->fmt.fmt.pix.pixelformat);
	if (o->exp_fmt && (c->fmt.fmt.pix.pixelformat != o->exp_fmt->fourcc ||
			   c->fmt.fmt.pix.width != o->exp_w || c->fmt.fmt.pix.height != o->exp_h)) {
		lc_err("%s: format is %s %ux%u, expected %s %ux%u (--expect-format)", o->device,
		       lc_format_name(c->fmt.fmt.pix.pixelformat, n1), c->fmt.fmt.pix.width,
		       c->fmt.fmt.pix.height, lc_format_name(o->exp_fmt->fourcc, n2), o->exp_w,
		       o->exp_h);
		return -1;
	}
	if (!c->dev_f || lc_format_is_compressed(c->dev_f)) {
		lc_err("%s: format %s: not a raw format the bars pattern can be read from",
		       o->device, lc_format_name(c->fmt.fmt.pix.pixelformat, n1));
		return -1;
	}
	if (lc_bufs_setup(&c->bufs, &c->dev, V4L2_BUF_TYPE_VIDEO_CAPTURE, LC_IO_MMAP,
			  o->buffers, c->fmt.fmt.pix.sizeimage, NULL, &c->fmt))
		return -1;
	for (unsigned i = 0; i < c->bufs.count; i++)
		if (lc_bufs_qbuf(&c->bufs, i, 0, 0))
			return -1;
	if (lc_streamon(&c->dev, V4L2_BUF_TYPE_VIDEO_CAPTURE))
		return -1;
	printf("checked: %u MMAP buffers queued on %s, STREAMON(CAPTURE) ok\n", c->bufs.count,
	       o->device);
	return 0;
}

/* ---- the child ----------------------------------------------------------- */

static int spawn(struct ctx *c, int in_fd)
{
	int log_fd = -1;
	pid_t pid;

	if (c->o.sink_log) {
		log_fd = open(c->o.sink_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			lc_err("--sink-log %s: %s", c->o.sink_log, strerror(errno));
			return -1;
		}
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		lc_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (in_fd >= 0 && dup2(in_fd, 0) < 0)
			_exit(126);
		if (log_fd >= 0 && (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0))
			_exit(126);
		execvp(c->o.cmd[0], c->o.cmd);
		fprintf(stderr, "lc-live: cannot run %s: %s\n", c->o.cmd[0], strerror(errno));
		_exit(127);
	}
	if (log_fd >= 0)
		close(log_fd);
	c->child = pid;
	return 0;
}

/* Waits up to ms for the child; its status as a shell would give it
 * (128+signal), or -1 if it is still running. */
static int wait_child(pid_t pid, uint32_t ms)
{
	uint64_t until = lc_now_ns() + (uint64_t)ms * 1000000ull;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
		if (r < 0 && errno != EINTR)
			return 255;
		if (lc_now_ns() >= until)
			return -1;
		lc_sleep_ms(20);
	}
}

/* ---- summary -------------------------------------------------------------- */

static void pctl(uint64_t *v, size_t n, uint64_t *p50, uint64_t *p90, uint64_t *p99,
		 uint64_t *max)
{
	*max = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > *max)
			*max = v[i];
	*p50 = lc_percentile(v, n, 50);
	*p90 = lc_percentile(v, n, 90);
	*p99 = lc_percentile(v, n, 99);
}

int main(int argc, char **argv)
{
	static struct ctx c;
	struct opts *o = &c.o;
	struct cpu_sample s0, s1;
	uint64_t t_spawn, t_first = 0, w0, w1, until;
	int pipe_fds[2] = { -1, -1 };
	int rc_child = -1, ended_early = 0, killed = 0;
	const char *why = NULL;

	lc_prog = "lc-live";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, o))
		return 2;
	lc_stop_on_signals();
	signal(SIGPIPE, SIG_IGN);

	c.in_size = lc_frame_size(o->in_fmt, o->width, o->height);
	c.interval_ns = (uint64_t)(1e9 / o->fps);
	c.n_max = (uint64_t)(o->fps * (o->warmup + o->seconds + o->start_timeout_ms / 1000.0 +
				       30)) + 64;
	c.ft = calloc(c.n_max, sizeof(*c.ft));
	c.pipe_w = -1;
	c.dev.fd = -1;
	if (!c.ft) {
		lc_err("out of memory");
		return 2;
	}
	if (o->capture && setup_capture(&c))
		return 2;

	if (o->feed) {
		if (pipe2(pipe_fds, O_CLOEXEC)) {
			lc_err("pipe: %s", strerror(errno));
			return 2;
		}
		if (o->pipe_size) {
			uint32_t want = o->pipe_size == UINT32_MAX ? (uint32_t)c.in_size :
								   o->pipe_size;
			int got = fcntl(pipe_fds[1], F_SETPIPE_SZ, (int)want);

			if (got < 0 && errno == EPERM) {
				/* above fs.pipe-max-size without CAP_SYS_RESOURCE */
				FILE *fp = fopen("/proc/sys/fs/pipe-max-size", "re");
				unsigned max = 0;

				if (fp && fscanf(fp, "%u", &max) == 1 && max && max < want)
					got = fcntl(pipe_fds[1], F_SETPIPE_SZ, (int)max);
				if (fp)
					fclose(fp);
				errno = EPERM;
			}
			if (got < 0)
				printf("note: F_SETPIPE_SZ %u: %s; the pipe keeps %d bytes\n", want,
				       strerror(errno), fcntl(pipe_fds[1], F_GETPIPE_SZ));
			else
				printf("pipe: %d bytes (asked %u; a frame is %zu)\n", got, want,
				       c.in_size);
		}
		fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
		c.pipe_w = pipe_fds[1];
	} else {
		pipe_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}

	if (o->capture) {
		if (pthread_create(&c.reader, NULL, reader_main, &c)) {
			lc_err("pthread_create: %s", strerror(errno));
			return 2;
		}
		c.reader_started = 1;
	}
	printf("running: %s", o->cmd[0]);
	for (char **a = o->cmd + 1; *a; a++)
		printf(" %s", *a);
	printf("\n");
	t_spawn = lc_now_ns();
	if (spawn(&c, pipe_fds[0]))
		return 2;
	close(pipe_fds[0]);
	if (o->feed) {
		if (pthread_create(&c.feeder, NULL, feeder_main, &c)) {
			lc_err("pthread_create: %s", strerror(errno));
			return 2;
		}
		c.feeder_started = 1;
	}

	/* the first frame through (or, with no capture, the sink reading) */
	until = t_spawn + (uint64_t)o->start_timeout_ms * 1000000ull;
	while (!lc_stop) {
		if (o->capture && atomic_load(&c.first_deq_ns)) {
			t_first = atomic_load(&c.first_deq_ns);
			break;
		}
		if (!o->capture && atomic_load(&c.fed) >= 3) {
			t_first = lc_now_ns();
			break;
		}
		if ((rc_child = wait_child(c.child, 0)) >= 0) {
			why = "the sink exited before the first frame came through";
			break;
		}
		if (lc_now_ns() >= until) {
			why = o->capture ? "no frame came through within --start-timeout-ms" :
					   "the sink took no frames within --start-timeout-ms";
			break;
		}
		lc_sleep_ms(20);
	}
	if (lc_stop && !why)
		why = "interrupted";
	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));
	w0 = w1 = 0;
	if (!why) {
		printf("first frame: %.0f ms after the sink started\n",
		       (double)(t_first - t_spawn) / 1e6);
		lc_sleep_until(t_first + (uint64_t)(o->warmup * 1e9));
		sample(&c, &s0);
		w0 = s0.t_ns;
		until = w0 + (uint64_t)(o->seconds * 1e9);
		while (!lc_stop && lc_now_ns() < until) {
			if ((rc_child = wait_child(c.child, 0)) >= 0) {
				ended_early = 1;
				break;
			}
			lc_sleep_ms(20);
		}
		if (!ended_early)
			sample(&c, &s1);
		else {
			/* the process is gone: only its last state (none) */
			s1.t_ns = lc_now_ns();
			s1.child_ms = -1;
			s1.feeder_ms = thread_ms(c.feeder, c.feeder_started);
			s1.reader_ms = thread_ms(c.reader, c.reader_started);
			guest_cpu(s1.guest);
		}
		w1 = s1.t_ns;
		if (lc_stop)
			why = "interrupted";
	}

	/* end: EOF to the sink, then wait for it */
	atomic_store(&c.stop_feed, 1);
	if (c.feeder_started)
		pthread_join(c.feeder, NULL);
	if (c.pipe_w >= 0)
		close(c.pipe_w);
	c.pipe_w = -1;
	if (rc_child < 0)
		rc_child = wait_child(c.child, o->feed ? o->end_grace_ms : 0);
	if (rc_child < 0) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGKILL };

		for (int i = 0; i < 3 && rc_child < 0; i++) {
			kill(c.child, sigs[i]);
			killed = sigs[i];
			rc_child = wait_child(c.child, 5000);
		}
	}
	atomic_store(&c.stop_read, 1);
	if (c.reader_started)
		pthread_join(c.reader, NULL);
	if (o->capture) {
		lc_streamoff(&c.dev, V4L2_BUF_TYPE_VIDEO_CAPTURE);
		lc_bufs_release(&c.bufs);
		lc_dev_close(&c.dev);
	}
	if (c.feed_err[0])
		printf("note: feeder: %s\n", c.feed_err);
	if (c.read_err[0])
		printf("note: reader: %s\n", c.read_err);

	if (o->frames_log) {
		FILE *fp = fopen(o->frames_log, "w");

		if (!fp) {
			lc_err("--frames-log %s: %s", o->frames_log, strerror(errno));
		} else {
			fprintf(fp, "# seq send_ns write_done_ns deq_ns (0: none); window %llu %llu\n",
				(unsigned long long)w0, (unsigned long long)w1);
			for (uint64_t i = 0; i < c.n_max; i++)
				if (c.ft[i].send_ns || c.ft[i].deq_ns)
					fprintf(fp, "%llu %llu %llu %llu\n", (unsigned long long)i,
						(unsigned long long)c.ft[i].send_ns,
						(unsigned long long)c.ft[i].sent_ns,
						(unsigned long long)c.ft[i].deq_ns);
			fclose(fp);
		}
	}

	if (why) {
		printf("result=fail reason=\"%s\" sink_rc=%d\n", why, rc_child);
		return 1;
	}

	/* the window */
	{
		double win_s = (double)(w1 - w0) / 1e9;
		uint64_t slots = 0, sent = 0, lost = 0, received = 0, repeats = 0, foreign = 0;
		uint64_t *lat = calloc(c.n_max, sizeof(*lat)), *gap = NULL, *acc = NULL;
		size_t n_lat = 0, n_gap = 0, n_acc = 0;
		uint64_t l50, l90, l99, lmax, g50, g90, g99, gmax, a50, a90, a99, amax;
		uint64_t prev = 0;
		double cpu_ms = s1.child_ms >= 0 && s0.child_ms >= 0 ? s1.child_ms - s0.child_ms :
								       -1;
		uint64_t frames;
		double gt = 0;

		for (int i = 0; i < 4; i++)
			gt += (double)(s1.guest[i] - s0.guest[i]);
		if (gt <= 0)
			gt = 1;
		gap = calloc(c.n_ev + 1, sizeof(*gap));
		acc = calloc(c.n_max, sizeof(*acc));
		if (!lat || !gap || !acc) {
			lc_err("out of memory");
			return 2;
		}
		for (uint64_t i = 0; i < c.n_max; i++) {
			struct frame_times *f = &c.ft[i];

			if (c.feeder_started && c.t0 + i * c.interval_ns >= w0 &&
			    c.t0 + i * c.interval_ns < w1)
				slots++;
			if (f->send_ns >= w0 && f->send_ns < w1) {
				sent++;
				if (!f->deq_ns)
					lost++;
				if (f->sent_ns)
					acc[n_acc++] = (f->sent_ns - f->send_ns) / 1000;
			}
		}
		for (size_t i = 0; i < c.n_ev; i++) {
			struct deq_event *e = &c.ev[i];

			if (e->t_ns < w0 || e->t_ns >= w1)
				continue;
			if (e->seq < 0) {
				foreign++;
				continue;
			}
			if (!e->fresh) {
				repeats++;
				continue;
			}
			received++;
			if (prev)
				gap[n_gap++] = (e->t_ns - prev) / 1000;
			prev = e->t_ns;
			if ((uint64_t)e->seq < c.n_max && c.ft[e->seq].send_ns &&
			    c.ft[e->seq].deq_ns == e->t_ns)
				lat[n_lat++] = (e->t_ns - c.ft[e->seq].send_ns) / 1000;
		}
		pctl(lat, n_lat, &l50, &l90, &l99, &lmax);
		pctl(gap, n_gap, &g50, &g90, &g99, &gmax);
		pctl(acc, n_acc, &a50, &a90, &a99, &amax);
		frames = o->capture ? received : sent;

		print_threads(&s0, &s1);
		printf("result=%s frames=%llu window_s=%.3f expected=%.0f fed=%llu skipped=%llu "
		       "lost=%lld received=%llu repeats=%llu foreign=%llu bad_size=%llu fps=%.2f "
		       "cpu_ms=%.0f user_ms=%.0f sys_ms=%.0f cpu_ms_per_frame=%.3f "
		       "feeder_ms=%.0f reader_ms=%.0f guest_user=%.1f guest_sys=%.1f "
		       "guest_idle=%.1f ",
		       frames ? "pass" : "fail", (unsigned long long)frames, win_s,
		       o->fps * win_s, (unsigned long long)sent,
		       (unsigned long long)(slots > sent ? slots - sent : 0),
		       o->capture ? (long long)lost : -1LL, (unsigned long long)received,
		       (unsigned long long)repeats, (unsigned long long)foreign,
		       (unsigned long long)c.bad_size, (double)frames / win_s, cpu_ms,
		       s1.child_user_ms - s0.child_user_ms, s1.child_sys_ms - s0.child_sys_ms,
		       frames && cpu_ms >= 0 ? cpu_ms / (double)frames : -1.0,
		       s1.feeder_ms - s0.feeder_ms, s1.reader_ms - s0.reader_ms,
		       100.0 * (double)(s1.guest[0] - s0.guest[0]) / gt,
		       100.0 * (double)(s1.guest[1] - s0.guest[1]) / gt,
		       100.0 * (double)(s1.guest[2] - s0.guest[2]) / gt);
		printf("lat_p50_us=%lld lat_p90_us=%lld lat_p99_us=%lld lat_max_us=%lld "
		       "lat_n=%zu gap_p50_us=%llu gap_p99_us=%llu gap_max_us=%llu "
		       "accept_p50_us=%lld accept_p99_us=%lld first_frame_ms=%.0f "
		       "sink_rc=%d ended_early=%d killed=%d feed_late=%llu skipped_total=%llu input=%s "
		       "in_format=%s device_format=%s size=%ux%u\n",
		       n_lat ? (long long)l50 : -1LL, n_lat ? (long long)l90 : -1LL,
		       n_lat ? (long long)l99 : -1LL, n_lat ? (long long)lmax : -1LL, n_lat,
		       (unsigned long long)g50, (unsigned long long)g99, (unsigned long long)gmax,
		       n_acc ? (long long)a50 : -1LL, n_acc ? (long long)a99 : -1LL,
		       (double)(t_first - t_spawn) / 1e6, rc_child, ended_early, killed,
		       (unsigned long long)c.feed_late, (unsigned long long)c.skipped,
		       o->feed ? "pipe" : "none",
		       o->in_fmt->name, c.dev_f ? c.dev_f->name : "none", o->width, o->height);
		free(lat);
		free(gap);
		free(acc);
		return frames ? 0 : 1;
	}
}
