// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-consume: reads frames from the CAPTURE queue of a V4L2 (loopback)
 * device by read() or MMAP/USERPTR/DMABUF streaming, checks every frame
 * (exact bytesused, test pattern whole, sequence, timestamps), measures
 * latency and frame rate, and prints a key=value summary.
 *
 * --ref FILE checks frames that carry no test header (an FFmpeg or
 * GStreamer test source): every frame must be byte-identical to a frame of
 * FILE (raw frames of the device format, one after another), matched by a
 * hash table and confirmed with memcmp; the reference index must go
 * forwards, and repeats and skipped reference frames fail unless allowed.
 *
 * Exit status: 0 pass; 1 a check failed; 2 usage or device/ioctl error;
 * 3 fewer frames than asked (timeout or stream end) with no check failed.
 */
#include "frame.h"
#include "v4l2util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum check { CHK_TEST, CHK_BARS, CHK_NONE, CHK_REF };
enum expect_ts { TS_ANY, TS_COPY, TS_KERNEL };

struct opts {
	const char *device;
	enum lc_io io;
	const char *dmabuf_from;
	uint32_t buffers;
	uint64_t frames;
	double seconds;
	uint32_t timeout_ms;
	int timeout_ok;
	int seconds_from_first; /* --seconds-from-first */
	uint32_t slow_ms;
	const struct lc_format *exp_fmt;
	uint32_t exp_w, exp_h;
	enum check check;
	enum lc_check_mode mode;
	const char *snapshot;
	uint64_t snapshot_frame;
	const char *stats_json;
	int expect_all;
	int expect_first_set;
	uint64_t expect_first;
	int until_set;
	uint64_t until_seq; /* --until-seq */
	enum expect_ts expect_ts;
	int allow_foreign;
	int allow_error_bufs;
	uint64_t max_lat_us;
	double min_fps;
	uint32_t min_1s; /* --min-1s N */
	uint64_t max_gap_us;
	uint32_t wait_capture_ms;
	uint32_t wait_format_ms;
	uint32_t pause_before_streamon_ms; /* --pause-before-streamon-ms */
	int lenient_fmt;
	int no_cap_check;
	const char *progress; /* --progress FILE */
	int verbose;
	double max_fps;
	const char *save; /* --save FILE: every frame received, raw */
	const char *ref; /* --ref FILE */
	int check_set; /* -c given */
	int ref_repeats_ok, ref_misses_ok, ref_complete;
	int repeats_ok; /* --repeats-ok */
};

#define MAX_PROBLEMS 10

struct stats {
	uint64_t received, torn, bad_size, foreign, error_bufs, fmt_mismatch, ts_bad;
	uint64_t timeouts;
	struct lc_seqtrack track;
	uint64_t *lat_us;
	size_t n_lat, cap_lat;
	uint64_t t_first, t_last, t_start;
	uint64_t max_gap_ns; /* longest time between two frames dequeued */
	uint64_t max_gap_at; /* the frame (1 = first) that ended it */
	uint64_t bufs_used; /* streaming: bit i set once buffer i carried a frame */
	uint64_t *t_deq; /* dequeue time of every frame, for the 1 s windows */
	size_t cap_t_deq;
	uint64_t last_seq;
	int have_seq;
	int ended; /* stream ended (DQBUF/read error or EOF) */
	int snapshot_done;
	unsigned n_problems;
	char problems[MAX_PROBLEMS][240];
	const char *ts_source;
	/* --ref */
	uint64_t ref_matched; /* frames that were a reference frame not seen before */
	uint64_t ref_repeats; /* frames equal to the previous reference frame matched */
	uint64_t ref_max_run; /* longest run of one reference frame (1 = no repeat) */
	uint64_t ref_run;
	uint64_t ref_missed; /* reference frames skipped between matched ones */
	uint64_t ref_backwards; /* frames matching an earlier reference frame */
	uint64_t ref_unknown; /* frames matching no reference frame */
	int64_t ref_first, ref_last; /* -1: none matched yet */
};

/* The reference frames of --ref, mapped, with an open-addressing hash table. */
struct refset {
	const uint8_t *data;
	size_t map_len;
	size_t frame_size;
	uint32_t n; /* frames */
	uint32_t dups; /* frames equal to an earlier frame of the file */
	uint32_t mask; /* table size - 1 */
	int32_t *slot; /* frame index, -1 empty */
	uint64_t *slot_hash;
};

struct ctx {
	struct opts o;
	struct lc_dev dev;
	struct v4l2_format fmt;
	const struct lc_format *f;
	size_t frame_size; /* 0 for compressed */
	uint8_t *scratch; /* bars: expected frame */
	size_t overlong; /* bytesused of the current buffer if > its length */
	int progress_fd; /* --progress: -1 if not used */
	FILE *save_fp; /* --save */
	struct refset ref;
	struct stats st;
	unsigned nbufs; /* streaming: the buffers REQBUFS gave; 0 for read() */
};

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: lc-consume --device /dev/videoN [options]\n"
"Reads frames from the CAPTURE queue of a V4L2 device, checks each one and prints\n"
"a summary.\n"
"\n"
"  -d, --device PATH          capture (or combined) node (required)\n"
"  -i, --io METHOD            read | mmap (default) | userptr | dmabuf\n"
"      --dmabuf-from PATH     DMABUF: device whose MMAP buffers are exported (EXPBUF)\n"
"  -b, --buffers N            streaming buffers (default 4)\n"
"  -n, --frames N             stop after N frames (default 300; 0 = no limit)\n"
"  -t, --seconds S            stop after S seconds\n"
"      --seconds-from-first   -t counts from the first frame, not from STREAMON\n"
"                             (a producer slow to start; --timeout-ms bounds the wait)\n"
"      --until-seq N          stop once test frame N (with --ref: reference frame\n"
"                             N) has come; -n and -t then only bound the wait\n"
"      --timeout-ms MS        longest wait for one frame (default 5000)\n"
"      --timeout-ok           a timeout ends the run without failing it\n"
"      --slow-ms MS           hold each buffer MS before giving it back (slow reader)\n"
"      --expect-format F:WxH  the format G_FMT and every frame must have\n"
"  -c, --check KIND           test (default) | bars | none\n"
"      --ref FILE             frames must equal frames of FILE (raw frames of the\n"
"                             device format, sizeimage each), in order (no -c)\n"
"      --ref-repeats-ok       --ref: a frame may repeat the previous one (stalls)\n"
"      --repeats-ok           test frames: the previous frame may come again (a\n"
"                             sink's keep-alive repeating a late frame); noted\n"
"      --ref-misses-ok        --ref: reference frames may be skipped\n"
"      --ref-complete         --ref: the first frame must be reference frame 0 and\n"
"                             the last the file's last frame\n"
"      --save FILE            write every frame received to FILE, raw\n"
"      --sampled              test check: sample words instead of every byte\n"
"      --snapshot FILE.png    write frame N (--snapshot-frame, default 1) as PNG\n"
"      --snapshot-frame N     1 = first frame received\n"
"      --stats-json FILE      write the summary and first problems as JSON\n"
"      --expect-all           fail if any frame of the producer was missed\n"
"      --expect-first-seq N   fail unless the first frame received is frame N\n"
"      --expect-ts KIND       any (default) | copy: buffer timestamp = producer's\n"
"                             send time | kernel: stamped between send and dequeue\n"
"      --allow-foreign        frames without the test header are counted, not failed\n"
"      --allow-error-bufs     buffers flagged ERROR are counted, not failed\n"
"      --max-lat-us N         fail if the p99 latency is above N us\n"
"      --min-fps X            fail if the measured frame rate is below X\n"
"      --max-fps X            fail if the measured frame rate is above X\n"
"      --min-1s N             fail if any 1 s between the first and the last frame\n"
"                             holds fewer than N frames (the rate at every moment)\n"
"      --max-gap-us N         fail if two frames were dequeued more than N us apart\n"
"      --wait-capture-ms MS   wait up to MS for VIDEO_CAPTURE in QUERYCAP\n"
"                             (exclusive_caps: appears when a producer streams)\n"
"      --wait-format-ms MS    wait up to MS for G_FMT to show --expect-format\n"
"                             (reader started before the producer set it)\n"
"      --pause-before-streamon-ms MS  sleep MS between queueing the buffers and\n"
"                             STREAMON (a format change can come in between)\n"
"      --lenient-fmt          G_FMT bytesperline/sizeimage mismatches only noted\n"
"      --no-cap-check         do not require VIDEO_CAPTURE in QUERYCAP\n"
"      --progress FILE        keep the number of frames received so far in FILE\n"
"                             (rewritten after each frame; lc-produce --pace reads it)\n"
"  -v, --verbose              one line per frame\n"
"  -h, --help\n"
"\n"
"Output: 'checked: ...' lines, problems on stderr (first %d), and a last line\n"
"'result=pass received=N torn=0 missed=0 ...' (key=value).\n"
"Exit 0 pass, 1 a check failed, 2 usage/device error, 3 too few frames.\n",
		MAX_PROBLEMS);
}

enum {
	O_DMABUF_FROM = 256, O_TIMEOUT, O_TIMEOUT_OK, O_SLOW, O_EXPECT_FORMAT, O_SAMPLED,
	O_SNAPSHOT, O_SNAPSHOT_FRAME, O_STATS_JSON, O_EXPECT_ALL, O_EXPECT_FIRST,
	O_EXPECT_TS, O_ALLOW_FOREIGN, O_ALLOW_ERROR_BUFS, O_MAX_LAT, O_MIN_FPS, O_MAX_GAP,
	O_WAIT_CAPTURE, O_WAIT_FORMAT, O_LENIENT_FMT, O_NO_CAP_CHECK, O_PROGRESS,
	O_MAX_FPS, O_MIN_1S, O_SAVE, O_REF, O_REF_REPEATS_OK, O_REF_MISSES_OK, O_REF_COMPLETE,
	O_PAUSE_STREAMON, O_REPEATS_OK, O_UNTIL_SEQ, O_SECONDS_FROM_FIRST,
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "io", required_argument, NULL, 'i' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "frames", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "check", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "dmabuf-from", required_argument, NULL, O_DMABUF_FROM },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "timeout-ok", no_argument, NULL, O_TIMEOUT_OK },
		{ "slow-ms", required_argument, NULL, O_SLOW },
		{ "expect-format", required_argument, NULL, O_EXPECT_FORMAT },
		{ "sampled", no_argument, NULL, O_SAMPLED },
		{ "snapshot", required_argument, NULL, O_SNAPSHOT },
		{ "snapshot-frame", required_argument, NULL, O_SNAPSHOT_FRAME },
		{ "stats-json", required_argument, NULL, O_STATS_JSON },
		{ "expect-all", no_argument, NULL, O_EXPECT_ALL },
		{ "expect-first-seq", required_argument, NULL, O_EXPECT_FIRST },
		{ "expect-ts", required_argument, NULL, O_EXPECT_TS },
		{ "allow-foreign", no_argument, NULL, O_ALLOW_FOREIGN },
		{ "allow-error-bufs", no_argument, NULL, O_ALLOW_ERROR_BUFS },
		{ "max-lat-us", required_argument, NULL, O_MAX_LAT },
		{ "min-fps", required_argument, NULL, O_MIN_FPS },
		{ "max-gap-us", required_argument, NULL, O_MAX_GAP },
		{ "wait-capture-ms", required_argument, NULL, O_WAIT_CAPTURE },
		{ "pause-before-streamon-ms", required_argument, NULL, O_PAUSE_STREAMON },
		{ "wait-format-ms", required_argument, NULL, O_WAIT_FORMAT },
		{ "lenient-fmt", no_argument, NULL, O_LENIENT_FMT },
		{ "no-cap-check", no_argument, NULL, O_NO_CAP_CHECK },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "max-fps", required_argument, NULL, O_MAX_FPS },
		{ "min-1s", required_argument, NULL, O_MIN_1S },
		{ "save", required_argument, NULL, O_SAVE },
		{ "ref", required_argument, NULL, O_REF },
		{ "ref-repeats-ok", no_argument, NULL, O_REF_REPEATS_OK },
		{ "repeats-ok", no_argument, NULL, O_REPEATS_OK },
		{ "ref-misses-ok", no_argument, NULL, O_REF_MISSES_OK },
		{ "ref-complete", no_argument, NULL, O_REF_COMPLETE },
		{ "until-seq", required_argument, NULL, O_UNTIL_SEQ },
		{ "seconds-from-first", no_argument, NULL, O_SECONDS_FROM_FIRST },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	int c, frames_set = 0;

	memset(o, 0, sizeof(*o));
	o->io = LC_IO_MMAP;
	o->buffers = 4;
	o->frames = 300;
	o->timeout_ms = 5000;
	o->check = CHK_TEST;
	o->mode = LC_CHECK_FULL;
	o->snapshot_frame = 1;

	while ((c = getopt_long(argc, argv, "d:i:b:n:t:c:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->device = optarg;
			break;
		case 'i':
			if (lc_io_parse(optarg, 0, &o->io))
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
		case 'n':
			if (lc_opt_u64("--frames", optarg, &o->frames))
				return -1;
			frames_set = 1;
			break;
		case 't':
			if (lc_opt_double("--seconds", optarg, &o->seconds))
				return -1;
			break;
		case 'c':
			o->check_set = 1;
			if (strcmp(optarg, "test") == 0)
				o->check = CHK_TEST;
			else if (strcmp(optarg, "bars") == 0)
				o->check = CHK_BARS;
			else if (strcmp(optarg, "none") == 0)
				o->check = CHK_NONE;
			else {
				lc_err("--check: '%s' unknown (use test, bars or none)", optarg);
				return -1;
			}
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_DMABUF_FROM:
			o->dmabuf_from = optarg;
			break;
		case O_TIMEOUT:
			if (lc_opt_u32("--timeout-ms", optarg, &o->timeout_ms))
				return -1;
			if (o->timeout_ms == 0 || o->timeout_ms > 0x7fffffff) {
				lc_err("--timeout-ms: must be 1..2147483647");
				return -1;
			}
			break;
		case O_TIMEOUT_OK:
			o->timeout_ok = 1;
			break;
		case O_SLOW:
			if (lc_opt_u32("--slow-ms", optarg, &o->slow_ms))
				return -1;
			break;
		case O_EXPECT_FORMAT:
			if (lc_parse_format_size(optarg, &o->exp_fmt, &o->exp_w, &o->exp_h, err,
						 sizeof(err))) {
				lc_err("--expect-format: %s", err);
				return -1;
			}
			break;
		case O_SAMPLED:
			o->mode = LC_CHECK_SAMPLED;
			break;
		case O_SNAPSHOT:
			o->snapshot = optarg;
			break;
		case O_SNAPSHOT_FRAME:
			if (lc_opt_u64("--snapshot-frame", optarg, &o->snapshot_frame))
				return -1;
			if (o->snapshot_frame == 0) {
				lc_err("--snapshot-frame: frames count from 1");
				return -1;
			}
			break;
		case O_STATS_JSON:
			o->stats_json = optarg;
			break;
		case O_EXPECT_ALL:
			o->expect_all = 1;
			break;
		case O_EXPECT_FIRST:
			if (lc_opt_u64("--expect-first-seq", optarg, &o->expect_first))
				return -1;
			o->expect_first_set = 1;
			break;
		case O_SECONDS_FROM_FIRST:
			o->seconds_from_first = 1;
			break;
		case O_UNTIL_SEQ:
			if (lc_opt_u64("--until-seq", optarg, &o->until_seq))
				return -1;
			o->until_set = 1;
			break;
		case O_EXPECT_TS:
			if (strcmp(optarg, "any") == 0)
				o->expect_ts = TS_ANY;
			else if (strcmp(optarg, "copy") == 0)
				o->expect_ts = TS_COPY;
			else if (strcmp(optarg, "kernel") == 0)
				o->expect_ts = TS_KERNEL;
			else {
				lc_err("--expect-ts: '%s' unknown (use any, copy or kernel)", optarg);
				return -1;
			}
			break;
		case O_ALLOW_FOREIGN:
			o->allow_foreign = 1;
			break;
		case O_ALLOW_ERROR_BUFS:
			o->allow_error_bufs = 1;
			break;
		case O_MAX_LAT:
			if (lc_opt_u64("--max-lat-us", optarg, &o->max_lat_us))
				return -1;
			break;
		case O_MIN_FPS:
			if (lc_opt_double("--min-fps", optarg, &o->min_fps))
				return -1;
			break;
		case O_MAX_GAP:
			if (lc_opt_u64("--max-gap-us", optarg, &o->max_gap_us))
				return -1;
			break;
		case O_WAIT_CAPTURE:
			if (lc_opt_u32("--wait-capture-ms", optarg, &o->wait_capture_ms))
				return -1;
			break;
		case O_WAIT_FORMAT:
			if (lc_opt_u32("--wait-format-ms", optarg, &o->wait_format_ms))
				return -1;
			break;
		case O_PAUSE_STREAMON:
			if (lc_opt_u32("--pause-before-streamon-ms", optarg,
				       &o->pause_before_streamon_ms))
				return -1;
			break;
		case O_LENIENT_FMT:
			o->lenient_fmt = 1;
			break;
		case O_NO_CAP_CHECK:
			o->no_cap_check = 1;
			break;
		case O_PROGRESS:
			o->progress = optarg;
			break;
		case O_MAX_FPS:
			if (lc_opt_double("--max-fps", optarg, &o->max_fps))
				return -1;
			break;
		case O_MIN_1S:
			if (lc_opt_u32("--min-1s", optarg, &o->min_1s))
				return -1;
			break;
		case O_SAVE:
			o->save = optarg;
			break;
		case O_REF:
			o->ref = optarg;
			break;
		case O_REPEATS_OK:
			o->repeats_ok = 1;
			break;
		case O_REF_REPEATS_OK:
			o->ref_repeats_ok = 1;
			break;
		case O_REF_MISSES_OK:
			o->ref_misses_ok = 1;
			break;
		case O_REF_COMPLETE:
			o->ref_complete = 1;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		lc_err("unexpected argument '%s' (see --help)", argv[optind]);
		return -1;
	}
	if (!o->device) {
		lc_err("--device is required (the loopback's capture node, e.g. /dev/video0)");
		return -1;
	}
	if (o->seconds > 0 && !frames_set)
		o->frames = 0;
	if (o->seconds_from_first && !(o->seconds > 0)) {
		lc_err("--seconds-from-first says where -t's window starts: give -t S too");
		return -1;
	}
	if (o->ref) {
		if (o->check_set) {
			lc_err("--ref checks frames against FILE; it does not go with -c/--check");
			return -1;
		}
		o->check = CHK_REF;
	} else if (o->ref_repeats_ok || o->ref_misses_ok || o->ref_complete) {
		lc_err("--ref-repeats-ok, --ref-misses-ok and --ref-complete need --ref FILE");
		return -1;
	}
	if (o->until_set && o->check != CHK_TEST && o->check != CHK_REF) {
		lc_err("--until-seq needs frames with numbers: test frames (-c test) or --ref FILE");
		return -1;
	}
	if (o->io == LC_IO_DMABUF && !o->dmabuf_from) {
		lc_err("--io dmabuf needs --dmabuf-from /dev/videoM (a second V4L2 device "
		       "whose MMAP buffers are exported; Debian's kernel has no udmabuf)");
		return -1;
	}
	if (o->wait_format_ms && !o->exp_fmt) {
		lc_err("--wait-format-ms needs --expect-format (the format to wait for)");
		return -1;
	}
	if (o->io == LC_IO_RW && o->expect_ts != TS_ANY) {
		lc_err("--expect-ts: read() gives no timestamps; use a streaming --io");
		return -1;
	}
	return 0;
}

static void problem(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct ctx *c, const char *fmt, ...)
{
	struct stats *st = &c->st;
	char line[240];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "frame #%llu: ", (unsigned long long)st->received);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (st->n_problems < MAX_PROBLEMS) {
		lc_err("%s", line);
		snprintf(st->problems[st->n_problems], sizeof(st->problems[0]), "%s", line);
	} else if (st->n_problems == MAX_PROBLEMS) {
		lc_err("(further problems not shown; see the counters)");
	}
	st->n_problems++;
}

static void add_latency(struct stats *st, uint64_t us)
{
	if (st->n_lat == st->cap_lat) {
		size_t nc = st->cap_lat ? st->cap_lat * 2 : 1024;
		uint64_t *n = realloc(st->lat_us, nc * sizeof(*n));

		if (!n)
			return;
		st->lat_us = n;
		st->cap_lat = nc;
	}
	st->lat_us[st->n_lat++] = us;
}

static void snapshot(struct ctx *c, const uint8_t *p, size_t len)
{
	const struct opts *o = &c->o;
	uint32_t w = c->fmt.fmt.pix.width, h = c->fmt.fmt.pix.height;
	char err[300];

	c->st.snapshot_done = 1;
	if (lc_format_is_compressed(c->f)) {
		FILE *fp = fopen(o->snapshot, "wb");

		if (!fp || fwrite(p, 1, len, fp) != len || fclose(fp)) {
			lc_err("cannot write %s: %s", o->snapshot, strerror(errno));
			return;
		}
		printf("snapshot: %s: frame %llu, %zu bytes of %s as received (compressed: "
		       "not converted to PNG)\n", o->snapshot,
		       (unsigned long long)c->st.received, len, c->f->name);
		return;
	}
	if (len < c->frame_size) {
		lc_err("snapshot: frame has %zu bytes, %zu needed; not written", len,
		       c->frame_size);
		return;
	}
	{
		uint8_t *rgb = malloc((size_t)w * h * 3);

		if (!rgb) {
			lc_err("snapshot: out of memory");
			return;
		}
		lc_to_rgb(p, c->f, w, h, rgb);
		if (lc_png_write(o->snapshot, rgb, w, h, err, sizeof(err)))
			lc_err("snapshot: %s", err);
		else
			printf("snapshot: %s: frame %llu, %s %ux%u as PNG\n", o->snapshot,
			       (unsigned long long)c->st.received, c->f->name, w, h);
		free(rgb);
	}
}

/* ---- --ref: reference frames ------------------------------------------- */

static uint64_t ref_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 32;
	return h;
}

/* Maps FILE and indexes its frames. 0, or -1 (reported). */
static int ref_load(struct ctx *c)
{
	struct refset *r = &c->ref;
	const char *file = c->o.ref;
	struct stat sb;
	uint32_t size = 1;
	int fd;

	r->frame_size = c->frame_size;
	if (!r->frame_size) {
		lc_err("--ref: %s is compressed; reference frames need a fixed frame size",
		       c->f->name);
		return -1;
	}
	fd = open(file, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb)) {
		lc_err("--ref: cannot open %s: %s", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (sb.st_size == 0 || (size_t)sb.st_size % r->frame_size ||
	    (size_t)sb.st_size / r->frame_size > 0x3fffffff) {
		lc_err("--ref: %s has %lld bytes, not a whole number of %zu-byte frames (%s "
		       "%ux%u)", file, (long long)sb.st_size, r->frame_size, c->f->name,
		       c->fmt.fmt.pix.width, c->fmt.fmt.pix.height);
		close(fd);
		return -1;
	}
	r->map_len = (size_t)sb.st_size;
	r->n = (uint32_t)(r->map_len / r->frame_size);
	r->data = mmap(NULL, r->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (r->data == MAP_FAILED) {
		lc_err("--ref: cannot map %s: %s", file, strerror(errno));
		r->data = NULL;
		return -1;
	}
	while (size < 2 * r->n)
		size <<= 1;
	r->mask = size - 1;
	r->slot = malloc(size * sizeof(*r->slot));
	r->slot_hash = malloc(size * sizeof(*r->slot_hash));
	if (!r->slot || !r->slot_hash) {
		lc_err("out of memory");
		return -1;
	}
	memset(r->slot, 0xff, size * sizeof(*r->slot));
	for (uint32_t j = 0; j < r->n; j++) {
		const uint8_t *f = r->data + (size_t)j * r->frame_size;
		uint64_t h = ref_hash(f, r->frame_size);
		uint32_t i = (uint32_t)h & r->mask;
		int dup = 0;

		for (; r->slot[i] >= 0; i = (i + 1) & r->mask)
			if (!dup && r->slot_hash[i] == h &&
			    !memcmp(r->data + (size_t)r->slot[i] * r->frame_size, f, r->frame_size))
				dup = 1;
		r->slot[i] = (int32_t)j;
		r->slot_hash[i] = h;
		r->dups += dup;
	}
	printf("checked: reference %s: %u frames of %zu bytes (%s %ux%u), %u equal to an "
	       "earlier one\n", file, r->n, r->frame_size, c->f->name, c->fmt.fmt.pix.width,
	       c->fmt.fmt.pix.height, r->dups);
	if (r->dups)
		printf("note: the reference has equal frames; a repeat of one may count as a "
		       "skip to the other\n");
	return 0;
}

/*
 * The reference frame equal to p: the first after `last` if there is one,
 * else `last` itself, else the latest before it. -1 if none.
 */
static int64_t ref_lookup(const struct refset *r, const uint8_t *p, int64_t last)
{
	uint64_t h = ref_hash(p, r->frame_size);
	int64_t fwd = -1, back = -1;
	int same = 0;

	for (uint32_t i = (uint32_t)h & r->mask; r->slot[i] >= 0; i = (i + 1) & r->mask) {
		int64_t j = r->slot[i];

		if (r->slot_hash[i] != h ||
		    memcmp(r->data + (size_t)j * r->frame_size, p, r->frame_size))
			continue;
		if (j > last && (fwd < 0 || j < fwd))
			fwd = j;
		else if (j == last)
			same = 1;
		else if (j < last && j > back)
			back = j;
	}
	return fwd >= 0 ? fwd : same ? last : back;
}

/* A frame that matches no reference frame: how it differs from the one expected. */
static void ref_describe_unknown(struct ctx *c, const uint8_t *p)
{
	const struct refset *r = &c->ref;
	int64_t k = c->st.ref_last + 1;
	const uint8_t *q;
	size_t first = 0, ndiff = 0;
	int maxd = 0;

	if (k >= r->n)
		k = r->n - 1;
	q = r->data + (size_t)k * r->frame_size;
	for (size_t i = 0; i < r->frame_size; i++) {
		int d = p[i] > q[i] ? p[i] - q[i] : q[i] - p[i];

		if (!d)
			continue;
		if (!ndiff++)
			first = i;
		if (d > maxd)
			maxd = d;
	}
	problem(c, "matches no reference frame; against reference frame %lld: %zu of %zu bytes "
		"differ, the first at byte %zu (0x%02x, expected 0x%02x), by up to %d%s",
		(long long)k, ndiff, r->frame_size, first, p[first], q[first], maxd,
		c->o.allow_foreign ? " (allowed: --allow-foreign)" : "");
}

static void ref_frame(struct ctx *c, const uint8_t *p)
{
	struct stats *st = &c->st;
	const struct opts *o = &c->o;
	int64_t idx = ref_lookup(&c->ref, p, st->ref_last);

	if (idx < 0) {
		st->ref_unknown++;
		ref_describe_unknown(c, p);
		return;
	}
	if (st->ref_last < 0) {
		st->ref_first = idx;
		st->ref_matched++;
		st->ref_run = 1;
	} else if (idx == st->ref_last) {
		st->ref_repeats++;
		st->ref_run++;
		if (!o->ref_repeats_ok)
			problem(c, "repeats reference frame %lld (--ref-repeats-ok not given)",
				(long long)idx);
	} else if (idx < st->ref_last) {
		st->ref_backwards++;
		st->ref_run = 1;
		problem(c, "reference frame %lld after %lld: went backwards", (long long)idx,
			(long long)st->ref_last);
	} else {
		if (idx > st->ref_last + 1) {
			st->ref_missed += (uint64_t)(idx - st->ref_last - 1);
			if (!o->ref_misses_ok)
				problem(c, "reference frame %lld after %lld: %lld frame(s) missing",
					(long long)idx, (long long)st->ref_last,
					(long long)(idx - st->ref_last - 1));
		}
		st->ref_matched++;
		st->ref_run = 1;
	}
	if (st->ref_run > st->ref_max_run)
		st->ref_max_run = st->ref_run;
	st->ref_last = idx;
	st->last_seq = (uint64_t)idx;
	st->have_seq = 1;
	if (o->verbose)
		printf("frame #%llu ref=%lld\n", (unsigned long long)st->received, (long long)idx);
}

/* --until-seq: the frame numbered N (test frames) or reference frame N has come. */
static int reached_until(const struct ctx *c)
{
	const struct stats *st = &c->st;

	if (c->o.check == CHK_REF)
		return st->ref_last >= 0 && (uint64_t)st->ref_last >= c->o.until_seq;
	return st->have_seq && st->last_seq >= c->o.until_seq;
}

/*
 * Checks one received frame. has_v4l2: v4l2_seq / ts_ns / flags are valid
 * (streaming). now: dequeue time.
 */
static void process_frame(struct ctx *c, const uint8_t *p, size_t bytesused, int has_v4l2,
			  uint32_t v4l2_seq, uint64_t ts_ns, uint32_t flags, uint64_t now)
{
	struct opts *o = &c->o;
	struct stats *st = &c->st;
	int size_bad = 0;
	char n1[8];

	st->received++;
	if (st->received == 1)
		st->t_first = now;
	else if (now - st->t_last > st->max_gap_ns) {
		st->max_gap_ns = now - st->t_last;
		st->max_gap_at = st->received;
	}
	if (st->received > st->cap_t_deq) {
		size_t nc = st->cap_t_deq ? st->cap_t_deq * 2 : 1024;
		uint64_t *n = realloc(st->t_deq, nc * sizeof(*n));

		if (n) {
			st->t_deq = n;
			st->cap_t_deq = nc;
		}
	}
	if (st->received <= st->cap_t_deq)
		st->t_deq[st->received - 1] = now;
	st->t_last = now;
	if (c->save_fp && fwrite(p, 1, bytesused, c->save_fp) != bytesused) {
		lc_err("--save %s: write failed: %s", o->save, strerror(errno));
		fclose(c->save_fp);
		c->save_fp = NULL;
	}

	if (has_v4l2 && (flags & V4L2_BUF_FLAG_ERROR)) {
		st->error_bufs++;
		problem(c, "buffer has the V4L2_BUF_FLAG_ERROR flag (bytesused %zu, sequence %u)",
			bytesused, v4l2_seq);
		return;
	}

	/* exact size */
	if (c->overlong) {
		size_bad = 1;
		problem(c, "bytesused %zu is larger than the buffer (%zu bytes)", c->overlong,
			bytesused);
	} else if (c->frame_size) {
		if (bytesused != c->frame_size) {
			size_bad = 1;
			problem(c, "bytesused %zu != expected frame size %zu (%s %ux%u)", bytesused,
				c->frame_size, c->f->name, c->fmt.fmt.pix.width,
				c->fmt.fmt.pix.height);
		}
	} else if (bytesused == 0 || bytesused > c->fmt.fmt.pix.sizeimage) {
		size_bad = 1;
		problem(c, "bytesused %zu of a compressed frame is outside 1..sizeimage %u",
			bytesused, c->fmt.fmt.pix.sizeimage);
	}

	if (o->check == CHK_TEST) {
		struct lc_check_result r;
		enum lc_check_status s = lc_pattern_check(p, bytesused, o->mode, &r);

		switch (s) {
		case LC_FRAME_OK:
			break;
		case LC_FRAME_BAD_SIZE:
			if (!size_bad)
				problem(c, "%s", r.msg);
			size_bad = 1;
			break;
		case LC_FRAME_FOREIGN:
			st->foreign++;
			problem(c, "%s%s", r.msg, o->allow_foreign ? " (allowed)" : "");
			break;
		case LC_FRAME_BAD_HDR:
		case LC_FRAME_TORN:
			st->torn++;
			problem(c, "%s", r.msg);
			break;
		}
		if (s == LC_FRAME_OK || s == LC_FRAME_BAD_SIZE || s == LC_FRAME_TORN) {
			uint64_t lat_ns = now > r.hdr.send_ns ? now - r.hdr.send_ns : 0;

			if (r.hdr.fourcc != c->f->fourcc || r.hdr.width != c->fmt.fmt.pix.width ||
			    r.hdr.height != c->fmt.fmt.pix.height) {
				st->fmt_mismatch++;
				problem(c, "frame %llu was sent as %s %ux%u but the device format is "
					"%s %ux%u", (unsigned long long)r.hdr.seq,
					lc_format_name(r.hdr.fourcc, n1), r.hdr.width, r.hdr.height,
					c->f->name, c->fmt.fmt.pix.width, c->fmt.fmt.pix.height);
			}
			if (lc_seqtrack_frame(&st->track, r.hdr.stream, r.hdr.seq, has_v4l2,
					      v4l2_seq, ts_ns))
				problem(c, "%s", st->track.last_problem);
			add_latency(st, lat_ns / 1000);
			st->last_seq = r.hdr.seq;
			st->have_seq = 1;
			if (has_v4l2 && o->expect_ts == TS_COPY &&
			    ts_ns / 1000 != r.hdr.send_ns / 1000) {
				st->ts_bad++;
				problem(c, "timestamp %llu us is not the producer's %llu us "
					"(--expect-ts copy)", (unsigned long long)ts_ns / 1000,
					(unsigned long long)r.hdr.send_ns / 1000);
			} else if (has_v4l2 && o->expect_ts == TS_KERNEL &&
				   (ts_ns / 1000 < r.hdr.send_ns / 1000 || ts_ns > now)) {
				st->ts_bad++;
				problem(c, "timestamp %llu us is not between the send time %llu us and "
					"the dequeue time %llu us (--expect-ts kernel)",
					(unsigned long long)ts_ns / 1000,
					(unsigned long long)r.hdr.send_ns / 1000,
					(unsigned long long)now / 1000);
			}
			if (o->verbose)
				printf("frame #%llu seq=%llu v4l2_seq=%u bytes=%zu lat_us=%llu %s\n",
				       (unsigned long long)st->received,
				       (unsigned long long)r.hdr.seq, v4l2_seq, bytesused,
				       (unsigned long long)lat_ns / 1000, lc_check_status_name(s));
		} else if (lc_seqtrack_ts(&st->track, ts_ns)) {
			/* no usable header: only the timestamp can be followed */
			problem(c, "%s", st->track.last_problem);
		}
	} else if (o->check == CHK_BARS) {
		uint32_t seq;

		if (size_bad) {
			/* nothing more to compare */
		} else if (lc_bars_decode(p, c->f, c->fmt.fmt.pix.width, c->fmt.fmt.pix.height,
					  &seq)) {
			st->torn++;
			problem(c, "bars: frame number strips unreadable (not a bars frame, or torn)");
		} else {
			lc_bars_fill(c->scratch, c->f, c->fmt.fmt.pix.width, c->fmt.fmt.pix.height,
				     seq);
			if (memcmp(c->scratch, p, c->frame_size)) {
				size_t i = 0;

				while (c->scratch[i] == p[i])
					i++;
				st->torn++;
				problem(c, "bars frame %u differs from the expected image from byte %zu "
					"(0x%02x, expected 0x%02x)", seq, i, p[i], c->scratch[i]);
			}
			if (lc_seqtrack_frame(&st->track, 0, seq, has_v4l2, v4l2_seq, ts_ns))
				problem(c, "%s", st->track.last_problem);
			st->last_seq = seq;
			st->have_seq = 1;
			if (ts_ns && now > ts_ns)
				add_latency(st, (now - ts_ns) / 1000);
			if (o->verbose)
				printf("frame #%llu seq=%u v4l2_seq=%u bytes=%zu\n",
				       (unsigned long long)st->received, seq, v4l2_seq, bytesused);
		}
	} else {
		if (has_v4l2 && lc_seqtrack_v4l2_only(&st->track, v4l2_seq, ts_ns))
			problem(c, "%s", st->track.last_problem);
		if (has_v4l2 && ts_ns && now > ts_ns)
			add_latency(st, (now - ts_ns) / 1000);
		if (o->check == CHK_REF) {
			if (!size_bad)
				ref_frame(c, p);
		} else if (o->verbose)
			printf("frame #%llu v4l2_seq=%u bytes=%zu\n",
			       (unsigned long long)st->received, v4l2_seq, bytesused);
	}
	if (size_bad)
		st->bad_size++;
	if (o->snapshot && !st->snapshot_done && st->received == o->snapshot_frame)
		snapshot(c, p, bytesused);
	if (c->progress_fd >= 0) {
		/* fixed width, one pwrite: a reader of the file sees whole numbers */
		char line[24];

		snprintf(line, sizeof(line), "%20llu\n", (unsigned long long)st->received);
		if (pwrite(c->progress_fd, line, 21, 0) != 21)
			lc_err("--progress %s: write failed: %s", o->progress, strerror(errno));
	}
}

static int setup_device(struct ctx *c)
{
	struct opts *o = &c->o;
	uint64_t until = lc_now_ns() + (uint64_t)o->wait_capture_ms * 1000000ull;
	char n1[8], n2[8];

	if (lc_dev_open(&c->dev, o->device, O_RDWR))
		return -1;
	while (!(c->dev.caps & V4L2_CAP_VIDEO_CAPTURE) && lc_now_ns() < until && !lc_stop) {
		lc_sleep_ms(20);
		if (LC_IOCTL(&c->dev, VIDIOC_QUERYCAP, &c->dev.cap, "%s", ""))
			return -1;
		c->dev.caps = (c->dev.cap.capabilities & V4L2_CAP_DEVICE_CAPS) ?
				      c->dev.cap.device_caps : c->dev.cap.capabilities;
	}
	lc_dev_print_caps(&c->dev, "");
	if (!(c->dev.caps & V4L2_CAP_VIDEO_CAPTURE)) {
		if (!o->no_cap_check) {
			lc_err("%s: device_caps has no VIDEO_CAPTURE: an output-only node, or "
			       "(exclusive_caps) no producer streams yet; use the capture node, "
			       "--wait-capture-ms, or --no-cap-check", o->device);
			return -1;
		}
		printf("note: no VIDEO_CAPTURE in device_caps, going on (--no-cap-check)\n");
	} else {
		printf("checked: device_caps has VIDEO_CAPTURE\n");
	}
	if (o->io == LC_IO_RW && !(c->dev.caps & V4L2_CAP_READWRITE))
		printf("note: device_caps has no READWRITE; trying read() anyway\n");
	if (o->io != LC_IO_RW && !(c->dev.caps & V4L2_CAP_STREAMING))
		printf("note: device_caps has no STREAMING; trying %s anyway\n",
		       lc_io_str(o->io, 0));

	memset(&c->fmt, 0, sizeof(c->fmt));
	c->fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (LC_IOCTL(&c->dev, VIDIOC_G_FMT, &c->fmt, "CAPTURE"))
		return -1;
	if (o->exp_fmt && o->wait_format_ms) {
		uint64_t funtil = lc_now_ns() + (uint64_t)o->wait_format_ms * 1000000ull;

		while ((c->fmt.fmt.pix.pixelformat != o->exp_fmt->fourcc ||
			c->fmt.fmt.pix.width != o->exp_w || c->fmt.fmt.pix.height != o->exp_h) &&
		       lc_now_ns() < funtil && !lc_stop) {
			lc_sleep_ms(20);
			if (LC_IOCTL(&c->dev, VIDIOC_G_FMT, &c->fmt, "CAPTURE"))
				return -1;
		}
	}
	lc_print_fmt("G_FMT: ", &c->fmt);
	c->f = lc_format_by_fourcc(c->fmt.fmt.pix.pixelformat);
	if (o->exp_fmt) {
		if (c->fmt.fmt.pix.pixelformat != o->exp_fmt->fourcc ||
		    c->fmt.fmt.pix.width != o->exp_w || c->fmt.fmt.pix.height != o->exp_h) {
			lc_err("%s: format is %s %ux%u, expected %s %ux%u (--expect-format)",
			       o->device, lc_format_name(c->fmt.fmt.pix.pixelformat, n1),
			       c->fmt.fmt.pix.width, c->fmt.fmt.pix.height,
			       lc_format_name(o->exp_fmt->fourcc, n2), o->exp_w, o->exp_h);
			return 1;
		}
		printf("checked: format is %s %ux%u as expected\n", o->exp_fmt->name, o->exp_w,
		       o->exp_h);
	}
	if (!c->f) {
		lc_err("%s: format %s is not one this program knows; cannot compute the frame "
		       "size", o->device, lc_format_name(c->fmt.fmt.pix.pixelformat, n1));
		return -1;
	}
	c->frame_size = lc_frame_size(c->f, c->fmt.fmt.pix.width, c->fmt.fmt.pix.height);
	if (c->frame_size) {
		uint32_t bpl = lc_bytesperline(c->f, c->fmt.fmt.pix.width);
		int bad = 0;

		if (c->fmt.fmt.pix.sizeimage != c->frame_size) {
			lc_err("%s: G_FMT sizeimage %u, expected exactly %zu for %s %ux%u%s",
			       o->device, c->fmt.fmt.pix.sizeimage, c->frame_size, c->f->name,
			       c->fmt.fmt.pix.width, c->fmt.fmt.pix.height,
			       o->lenient_fmt ? " (--lenient-fmt: going on)" : "");
			bad = 1;
		}
		if (c->fmt.fmt.pix.bytesperline != bpl) {
			lc_err("%s: G_FMT bytesperline %u, expected %u for %s width %u%s",
			       o->device, c->fmt.fmt.pix.bytesperline, bpl, c->f->name,
			       c->fmt.fmt.pix.width, o->lenient_fmt ? " (--lenient-fmt: going on)" : "");
			bad = 1;
		}
		if (bad && !o->lenient_fmt)
			return 1;
		if (!bad)
			printf("checked: sizeimage %u and bytesperline %u exact for %s %ux%u\n",
			       c->fmt.fmt.pix.sizeimage, bpl, c->f->name, c->fmt.fmt.pix.width,
			       c->fmt.fmt.pix.height);
		if (c->fmt.fmt.pix.sizeimage < c->frame_size) {
			lc_err("%s: sizeimage %u cannot hold a %zu-byte frame", o->device,
			       c->fmt.fmt.pix.sizeimage, c->frame_size);
			return 1;
		}
	} else if (c->o.check == CHK_BARS) {
		lc_err("--check bars: %s is compressed; use --check test or none", c->f->name);
		return -1;
	}
	if (o->check == CHK_BARS) {
		if (c->fmt.fmt.pix.width < LC_BARS_MIN_W || c->fmt.fmt.pix.height < LC_BARS_MIN_H) {
			lc_err("--check bars: the pattern needs at least %ux%u", LC_BARS_MIN_W,
			       LC_BARS_MIN_H);
			return -1;
		}
		c->scratch = malloc(c->frame_size);
		if (!c->scratch) {
			lc_err("out of memory");
			return -1;
		}
	}
	{
		struct v4l2_streamparm parm;

		memset(&parm, 0, sizeof(parm));
		parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		if (lc_xioctl(c->dev.fd, VIDIOC_G_PARM, &parm) == 0)
			printf("G_PARM: CAPTURE timeperframe=%u/%u%s\n",
			       parm.parm.capture.timeperframe.numerator,
			       parm.parm.capture.timeperframe.denominator,
			       (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME) ?
				       " (TIMEPERFRAME)" : "");
		else
			printf("note: G_PARM(CAPTURE) failed: %s\n", strerror(errno));
	}
	return 0;
}

/* Waits for and handles one frame. Returns 1 frame handled, 0 timeout,
 * -1 stream ended or error (reported), -2 interrupted. */
static int one_frame_stream(struct ctx *c, struct lc_bufs *bufs)
{
	struct v4l2_buffer b;
	short rev = 0;
	int w = lc_wait(c->dev.fd, POLLIN, (int)c->o.timeout_ms, &rev);
	uint64_t now, ts_ns;
	const uint8_t *p;

	if (w < 0)
		return errno == EINTR ? -2 : (lc_err("poll: %s", strerror(errno)), -1);
	if (w == 0)
		return 0;
	if (!(rev & POLLIN) && (rev & POLLERR)) {
		/* queue not streaming or in error: let DQBUF say why */
		if (lc_bufs_dqbuf(bufs, &b, 0) == 0)
			goto got;
		return -1;
	}
	if (lc_bufs_dqbuf(bufs, &b, 0))
		return errno == EINTR ? -2 : -1;
got:
	now = lc_now_ns();
	ts_ns = (uint64_t)b.timestamp.tv_sec * 1000000000ull + (uint64_t)b.timestamp.tv_usec * 1000;
	if (!c->st.ts_source)
		c->st.ts_source = (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
						  V4L2_BUF_FLAG_TIMESTAMP_COPY ? "copy" :
				  (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
						  V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC ? "monotonic" :
										      "unknown";
	p = bufs->b[b.index].ptr;
	c->overlong = 0;
	if (b.bytesused > bufs->b[b.index].len) {
		c->overlong = b.bytesused;
		b.bytesused = (uint32_t)bufs->b[b.index].len;
	}
	c->st.bufs_used |= 1ull << b.index;
	lc_bufs_cpu_begin(bufs, b.index, 0);
	process_frame(c, p, b.bytesused, 1, b.sequence, ts_ns, b.flags, now);
	lc_bufs_cpu_end(bufs, b.index, 0);
	if (c->o.slow_ms)
		lc_sleep_ms(c->o.slow_ms);
	if (lc_bufs_qbuf(bufs, b.index, 0, 0))
		return -1;
	return 1;
}

static int one_frame_read(struct ctx *c, uint8_t *buf, size_t len)
{
	short rev = 0;
	int w = lc_wait(c->dev.fd, POLLIN, (int)c->o.timeout_ms, &rev);
	ssize_t n;

	if (w < 0)
		return errno == EINTR ? -2 : (lc_err("poll: %s", strerror(errno)), -1);
	if (w == 0)
		return 0;
	n = read(c->dev.fd, buf, len);
	if (n < 0) {
		int e = errno;

		if (e == EINTR)
			return -2;
		lc_err("%s: read(%zu bytes) failed: %s (errno %d)%s", c->o.device, len,
		       strerror(e), e,
		       e == EINVAL ? "; does the node support read() (READWRITE cap)?" :
		       e == EBUSY ? "; the queue is already used for streaming?" : "");
		return -1;
	}
	if (n == 0) {
		lc_err("%s: read() returned 0: end of stream", c->o.device);
		return -1;
	}
	process_frame(c, buf, (size_t)n, 0, 0, 0, 0, lc_now_ns());
	if (c->o.slow_ms)
		lc_sleep_ms(c->o.slow_ms);
	return 1;
}

static void write_json(struct ctx *c, const char *result, double fps, double elapsed,
		       uint64_t p50, uint64_t p99, uint64_t lmax)
{
	struct stats *st = &c->st;
	FILE *fp = fopen(c->o.stats_json, "w");

	if (!fp) {
		lc_err("cannot create %s: %s", c->o.stats_json, strerror(errno));
		return;
	}
	fprintf(fp, "{\n  \"result\": \"%s\",\n  \"device\": \"%s\",\n  \"io\": \"%s\",\n"
		    "  \"format\": \"%s\",\n  \"width\": %u,\n  \"height\": %u,\n"
		    "  \"frame_bytes\": %zu,\n",
		result, c->o.device, lc_io_str(c->o.io, 0), c->f ? c->f->name : "?",
		c->fmt.fmt.pix.width, c->fmt.fmt.pix.height, c->frame_size);
	fprintf(fp, "  \"received\": %llu,\n  \"torn\": %llu,\n  \"bad_size\": %llu,\n"
		    "  \"missed\": %llu,\n  \"out_of_order\": %llu,\n  \"seq_mismatch\": %llu,\n"
		    "  \"v4l2_gaps\": %llu,\n  \"foreign\": %llu,\n  \"error_bufs\": %llu,\n"
		    "  \"fmt_mismatch\": %llu,\n  \"ts_backwards\": %llu,\n  \"ts_bad\": %llu,\n"
		    "  \"streams\": %llu,\n  \"first_seq\": %llu,\n  \"last_seq\": %llu,\n"
		    "  \"timeouts\": %llu,\n  \"ended\": %s,\n",
		(unsigned long long)st->received, (unsigned long long)st->torn,
		(unsigned long long)st->bad_size, (unsigned long long)st->track.missed,
		(unsigned long long)st->track.out_of_order,
		(unsigned long long)st->track.seq_mismatch,
		(unsigned long long)st->track.v4l2_gaps, (unsigned long long)st->foreign,
		(unsigned long long)st->error_bufs, (unsigned long long)st->fmt_mismatch,
		(unsigned long long)st->track.ts_backwards, (unsigned long long)st->ts_bad,
		(unsigned long long)st->track.streams, (unsigned long long)st->track.first_seq,
		(unsigned long long)st->last_seq, (unsigned long long)st->timeouts,
		st->ended ? "true" : "false");
	fprintf(fp, "  \"fps\": %.3f,\n  \"elapsed_s\": %.3f,\n  \"lat_p50_us\": %llu,\n"
		    "  \"lat_p99_us\": %llu,\n  \"lat_max_us\": %llu,\n  \"problems\": [",
		fps, elapsed, (unsigned long long)p50, (unsigned long long)p99,
		(unsigned long long)lmax);
	for (unsigned i = 0; i < st->n_problems && i < MAX_PROBLEMS; i++) {
		fputs(i ? ",\n    \"" : "\n    \"", fp);
		for (const char *s = st->problems[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				fputc('\\', fp);
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, fp);
		}
		fputc('"', fp);
	}
	fprintf(fp, "%s]\n}\n", st->n_problems ? "\n  " : "");
	if (fclose(fp))
		lc_err("cannot write %s: %s", c->o.stats_json, strerror(errno));
}

int main(int argc, char **argv)
{
	static struct ctx c;
	struct lc_bufs bufs;
	struct stats *st = &c.st;
	uint8_t *rbuf = NULL;
	size_t rlen = 0;
	uint64_t deadline = 0;
	int rc, streaming = 0, incomplete = 0, failed = 0, until_met;
	double fps = 0, elapsed;
	uint64_t p50, p99, lmax;
	char refkv[320] = "";
	long long min_1s = -1;
	uint64_t min_1s_at = 0;

	lc_prog = "lc-consume";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &c.o))
		return 2;
	lc_stop_on_signals();
	lc_seqtrack_init(&st->track);
	st->track.repeats_ok = c.o.repeats_ok;

	c.progress_fd = -1;
	if (c.o.progress) {
		c.progress_fd = open(c.o.progress, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (c.progress_fd < 0 ||
		    pwrite(c.progress_fd, "                   0\n", 21, 0) != 21) {
			lc_err("--progress: cannot write %s: %s", c.o.progress, strerror(errno));
			return 2;
		}
	}
	st->ref_first = st->ref_last = -1;
	if (c.o.save) {
		c.save_fp = fopen(c.o.save, "wb");
		if (!c.save_fp) {
			lc_err("--save: cannot create %s: %s", c.o.save, strerror(errno));
			return 2;
		}
	}
	rc = setup_device(&c);
	if (rc)
		return rc < 0 ? 2 : 1;
	if (c.o.ref && ref_load(&c))
		return 2;

	if (c.o.io == LC_IO_RW) {
		rlen = (size_t)c.fmt.fmt.pix.sizeimage + 4096; /* room to see over-long frames */
		rbuf = malloc(rlen);
		if (!rbuf) {
			lc_err("out of memory");
			return 2;
		}
	} else {
		if (lc_bufs_setup(&bufs, &c.dev, V4L2_BUF_TYPE_VIDEO_CAPTURE, c.o.io, c.o.buffers,
				  c.fmt.fmt.pix.sizeimage, c.o.dmabuf_from, &c.fmt))
			return 2;
		c.nbufs = bufs.count;
		for (unsigned i = 0; i < bufs.count; i++)
			if (lc_bufs_qbuf(&bufs, i, 0, 0))
				return 2;
		if (c.o.pause_before_streamon_ms) {
			printf("pausing %u ms before STREAMON\n", c.o.pause_before_streamon_ms);
			fflush(stdout);
			lc_sleep_ms(c.o.pause_before_streamon_ms);
		}
		if (lc_streamon(&c.dev, V4L2_BUF_TYPE_VIDEO_CAPTURE))
			return 2;
		streaming = 1;
		printf("checked: %u %s buffers queued, STREAMON(CAPTURE) ok\n", bufs.count,
		       lc_io_str(c.o.io, 0));
	}

	st->t_start = lc_now_ns();
	if (c.o.seconds > 0 && !c.o.seconds_from_first)
		deadline = st->t_start + (uint64_t)(c.o.seconds * 1e9);
	printf("receiving: io=%s check=%s%s frames=%llu seconds=%g timeout_ms=%u slow_ms=%u\n",
	       lc_io_str(c.o.io, 0),
	       c.o.check == CHK_TEST ? "test" : c.o.check == CHK_BARS ? "bars" :
	       c.o.check == CHK_REF ? "ref" : "none",
	       c.o.check == CHK_TEST && c.o.mode == LC_CHECK_SAMPLED ? "(sampled)" : "",
	       (unsigned long long)c.o.frames, c.o.seconds, c.o.timeout_ms, c.o.slow_ms);

	while (!lc_stop) {
		int r;

		if (c.o.frames && st->received >= c.o.frames)
			break;
		if (c.o.seconds > 0 && !deadline && st->received)
			deadline = st->t_first + (uint64_t)(c.o.seconds * 1e9);
		if (deadline && lc_now_ns() >= deadline)
			break;
		r = c.o.io == LC_IO_RW ? one_frame_read(&c, rbuf, rlen) :
					 one_frame_stream(&c, &bufs);
		if (r == 0) {
			st->timeouts++;
			if (!c.o.timeout_ok)
				lc_err("%s: no frame for %u ms after %llu frame(s): is a producer "
				       "running (or stalled)?", c.o.device, c.o.timeout_ms,
				       (unsigned long long)st->received);
			else
				printf("timeout: no frame for %u ms after %llu frame(s)\n",
				       c.o.timeout_ms, (unsigned long long)st->received);
			break;
		}
		if (r == -1) {
			st->ended = 1;
			break;
		}
		if (c.o.until_set && reached_until(&c)) {
			printf("checked: frame %llu came (--until-seq)\n",
			       (unsigned long long)c.o.until_seq);
			break;
		}
	}

	if (streaming) {
		if (lc_streamoff(&c.dev, V4L2_BUF_TYPE_VIDEO_CAPTURE))
			failed = 1;
		lc_bufs_release(&bufs);
	}
	free(rbuf);
	lc_dev_close(&c.dev);

	if (c.save_fp && fclose(c.save_fp)) {
		lc_err("--save %s: write failed: %s", c.o.save, strerror(errno));
		failed = 1;
	}

	/* verdict */
	elapsed = (double)(lc_now_ns() - st->t_start) / 1e9;
	if (st->received > 1 && st->t_last > st->t_first)
		fps = (double)(st->received - 1) / ((double)(st->t_last - st->t_first) / 1e9);
	lmax = 0;
	for (size_t i = 0; i < st->n_lat; i++)
		if (st->lat_us[i] > lmax)
			lmax = st->lat_us[i];
	p50 = lc_percentile(st->lat_us, st->n_lat, 50);
	p99 = lc_percentile(st->lat_us, st->n_lat, 99);

	if (st->torn || st->bad_size || st->track.out_of_order || st->track.seq_mismatch ||
	    st->track.ts_backwards || st->ts_bad || st->fmt_mismatch)
		failed = 1;
	if (st->foreign && !c.o.allow_foreign)
		failed = 1;
	if (st->error_bufs && !c.o.allow_error_bufs)
		failed = 1;
	if (c.o.expect_all && st->track.missed) {
		lc_err("--expect-all: %llu frame(s) missed", (unsigned long long)st->track.missed);
		failed = 1;
	}
	if (c.o.expect_first_set && (!st->track.received ||
				     st->track.first_seq != c.o.expect_first)) {
		lc_err("--expect-first-seq: first frame was %lld, expected %llu",
		       st->track.received ? (long long)st->track.first_seq : -1LL,
		       (unsigned long long)c.o.expect_first);
		failed = 1;
	}
	if (c.o.max_lat_us && st->n_lat && p99 > c.o.max_lat_us) {
		lc_err("--max-lat-us: p99 latency %llu us > %llu us", (unsigned long long)p99,
		       (unsigned long long)c.o.max_lat_us);
		failed = 1;
	}
	if (c.o.min_fps > 0 && fps < c.o.min_fps) {
		lc_err("--min-fps: measured %.2f fps < %.2f", fps, c.o.min_fps);
		failed = 1;
	}
	/*
	 * The fewest frames dequeued within 1 s from any frame, over the
	 * windows that end before the last frame: -1 if the run is shorter.
	 */
	if (st->t_deq && st->received <= st->cap_t_deq) {
		size_t j = 0;

		for (size_t i = 0; i < st->received; i++) {
			uint64_t end = st->t_deq[i] + 1000000000ull;

			if (end > st->t_last)
				break;
			if (j < i)
				j = i;
			while (j < st->received && st->t_deq[j] < end)
				j++;
			if (min_1s < 0 || (long long)(j - i) < min_1s) {
				min_1s = (long long)(j - i);
				min_1s_at = i + 1;
			}
		}
	}
	if (c.o.min_1s && (min_1s < 0 || min_1s < (long long)c.o.min_1s)) {
		if (min_1s < 0)
			lc_err("--min-1s: frames for less than 1 s: cannot measure");
		else
			lc_err("--min-1s: %lld frames in the 1 s from frame %llu, < %u",
			       min_1s, (unsigned long long)min_1s_at, c.o.min_1s);
		failed = 1;
	}
	if (c.o.max_fps > 0 && fps > c.o.max_fps) {
		lc_err("--max-fps: measured %.2f fps > %.2f", fps, c.o.max_fps);
		failed = 1;
	}
	if (c.o.check == CHK_REF) {
		if (st->ref_backwards)
			failed = 1;
		if (st->ref_repeats && !c.o.ref_repeats_ok)
			failed = 1;
		if (st->ref_missed && !c.o.ref_misses_ok)
			failed = 1;
		if (st->ref_unknown && !c.o.allow_foreign)
			failed = 1;
		if (c.o.ref_complete && (st->ref_first != 0 || st->ref_last != c.ref.n - 1)) {
			lc_err("--ref-complete: reference frames %lld..%lld received, expected "
			       "0..%u", (long long)st->ref_first, (long long)st->ref_last,
			       c.ref.n - 1);
			failed = 1;
		}
		snprintf(refkv, sizeof(refkv), " ref_frames=%u ref_matched=%llu ref_first=%lld "
			 "ref_last=%lld ref_repeats=%llu ref_max_run=%llu ref_missed=%llu "
			 "ref_backwards=%llu ref_unknown=%llu", c.ref.n,
			 (unsigned long long)st->ref_matched, (long long)st->ref_first,
			 (long long)st->ref_last, (unsigned long long)st->ref_repeats,
			 (unsigned long long)st->ref_max_run, (unsigned long long)st->ref_missed,
			 (unsigned long long)st->ref_backwards, (unsigned long long)st->ref_unknown);
		printf("checked: %llu frame(s) against %u reference frames: %llu distinct, "
		       "reference frames %lld..%lld in order%s; repeats=%llu (longest run %llu)%s, "
		       "skipped=%llu%s, backwards=%llu, matching none=%llu%s\n",
		       (unsigned long long)st->received, c.ref.n,
		       (unsigned long long)st->ref_matched, (long long)st->ref_first,
		       (long long)st->ref_last, c.o.ref_complete ? " (--ref-complete)" : "",
		       (unsigned long long)st->ref_repeats, (unsigned long long)st->ref_max_run,
		       c.o.ref_repeats_ok ? " allowed" : "", (unsigned long long)st->ref_missed,
		       c.o.ref_misses_ok ? " allowed" : "", (unsigned long long)st->ref_backwards,
		       (unsigned long long)st->ref_unknown,
		       c.o.allow_foreign ? " allowed" : "");
	}
	if (c.o.max_gap_us && st->max_gap_ns / 1000 > c.o.max_gap_us) {
		lc_err("--max-gap-us: frames %llu us apart at most, > %llu us",
		       (unsigned long long)(st->max_gap_ns / 1000),
		       (unsigned long long)c.o.max_gap_us);
		failed = 1;
	}
	until_met = c.o.until_set && reached_until(&c);
	if (c.o.frames && st->received < c.o.frames && !lc_stop &&
	    !(st->timeouts && c.o.timeout_ok) && !until_met)
		incomplete = 1;
	if (c.o.until_set && !until_met && !lc_stop) {
		printf("incomplete: frame %llu (--until-seq) never came\n",
		       (unsigned long long)c.o.until_seq);
		incomplete = 1;
	}
	if (st->track.repeats)
		printf("note: %llu frame(s) came again right after themselves (--repeats-ok)\n",
		       (unsigned long long)st->track.repeats);

	printf("result=%s received=%llu torn=%llu missed=%llu out_of_order=%llu bad_size=%llu "
	       "seq_mismatch=%llu v4l2_gaps=%llu foreign=%llu error_bufs=%llu fmt_mismatch=%llu "
	       "ts_backwards=%llu ts_bad=%llu streams=%llu first_seq=%lld last_seq=%lld "
	       "fps=%.2f max_gap_us=%llu max_gap_at=%llu min_1s=%lld lat_p50_us=%llu lat_p99_us=%llu lat_max_us=%llu "
	       "timeouts=%llu ended=%d elapsed_s=%.3f io=%s format=%s size=%ux%u ts_source=%s "
	       "buffers=%u buffers_used=%d top_buffer=%d%s%s\n",
	       failed ? "fail" : incomplete ? "incomplete" : "pass",
	       (unsigned long long)st->received, (unsigned long long)st->torn,
	       (unsigned long long)st->track.missed, (unsigned long long)st->track.out_of_order,
	       (unsigned long long)st->bad_size, (unsigned long long)st->track.seq_mismatch,
	       (unsigned long long)st->track.v4l2_gaps, (unsigned long long)st->foreign,
	       (unsigned long long)st->error_bufs, (unsigned long long)st->fmt_mismatch,
	       (unsigned long long)st->track.ts_backwards, (unsigned long long)st->ts_bad,
	       (unsigned long long)st->track.streams,
	       st->track.received ? (long long)st->track.first_seq : -1LL,
	       st->have_seq ? (long long)st->last_seq : -1LL, fps,
	       (unsigned long long)(st->max_gap_ns / 1000), (unsigned long long)st->max_gap_at,
	       min_1s, (unsigned long long)p50,
	       (unsigned long long)p99, (unsigned long long)lmax,
	       (unsigned long long)st->timeouts, st->ended, elapsed, lc_io_str(c.o.io, 0),
	       c.f->name, c.fmt.fmt.pix.width, c.fmt.fmt.pix.height,
	       st->ts_source ? st->ts_source : "none", c.nbufs,
	       __builtin_popcountll(st->bufs_used),
	       st->bufs_used ? 63 - __builtin_clzll(st->bufs_used) : -1,
	       lc_stop ? " interrupted=1" : "", refkv);

	if (c.o.stats_json)
		write_json(&c, failed ? "fail" : incomplete ? "incomplete" : "pass", fps, elapsed,
			   p50, p99, lmax);
	free(c.scratch);
	free(st->lat_us);
	free(st->t_deq);
	return failed ? 1 : incomplete ? 3 : 0;
}
