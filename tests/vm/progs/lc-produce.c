// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-produce: feeds frames into the OUTPUT queue of a V4L2 (loopback)
 * device, by write() like OBS and FFmpeg do, or by MMAP/USERPTR/DMABUF
 * streaming like GStreamer's v4l2sink, and prints what it did.
 *
 * Exit status: 0 all frames sent; 1 usage error; 2 device/ioctl error;
 * 3 a buffer did not come back in time.
 */
#include "frame.h"
#include "v4l2util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/v4l2loopback.h>

enum pattern { PAT_TEST, PAT_BARS };

struct opts {
	const char *device;
	const struct lc_format *fmt;
	uint32_t width, height;
	double fps;
	uint64_t frames; /* 0 = until --seconds or a signal */
	double seconds;
	enum lc_io io;
	uint32_t buffers;
	const char *dmabuf_from;
	enum pattern pattern;
	uint64_t stall_after;
	uint32_t stall_ms;
	int stall_set;
	int streamon; /* write(): STREAMON before writing (OBS 29) */
	int streamon_first; /* streaming: STREAMON before the first QBUF */
	int streamoff_at_end;
	int drain;
	uint32_t linger_ms;
	uint32_t timeout_ms;
	uint32_t write_chunk;
	int obs_fmt;
	int no_parm;
	double parm_fps;
	int ts_zero;
	uint64_t seq_start;
	uint32_t stream_id;
	int stream_id_set;
	uint32_t wait_readers;
	uint32_t wait_readers_ms;
	uint32_t max_bytes, min_bytes; /* compressed frame sizes */
	int no_cap_check;
	int no_poll; /* write(): no poll(POLLOUT) before each frame */
	const char *pace_file; /* --pace FILE:AHEAD */
	uint32_t pace_ahead;
	int verbose;
};

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: lc-produce --device /dev/videoN [options]\n"
"Sends frames to the OUTPUT queue of a V4L2 device and prints a summary.\n"
"\n"
"  -d, --device PATH        output (or combined) node (required)\n"
"  -f, --format FOURCC      YUYV (default) UYVY YVYU NV12 NV21 YU12 YV12 NV16 GREY\n"
"                           RGB24 BGR24 RGB565 XRGB32 XBGR32 ARGB32 ABGR32 Y16\n"
"                           MJPEG JPEG H264 HEVC VP8 VP9 (or a fourcc code)\n"
"  -s, --size WxH           frame size (default 640x480)\n"
"  -r, --fps N              frames per second, 0 = as fast as possible (default 30)\n"
"  -n, --frames N           frames to send (default 300; 0 = until --seconds/signal)\n"
"  -t, --seconds S          stop after S seconds\n"
"  -i, --io METHOD          write (default) | mmap | userptr | dmabuf\n"
"      --dmabuf-from PATH   DMABUF: device whose MMAP buffers are exported (EXPBUF)\n"
"  -b, --buffers N          streaming buffers (default 4)\n"
"  -p, --pattern P          test (default: header + checkable payload) | bars\n"
"      --stall-after N      after N frames, stop sending for --stall-ms\n"
"      --stall-ms MS        length of that stall (default 2000)\n"
"      --streamon           write(): VIDIOC_STREAMON before writing (as OBS 29 does)\n"
"      --streamon-first     streaming: STREAMON before the first QBUF (default after)\n"
"      --no-streamoff-at-end  exit without STREAMOFF (close does the cleanup)\n"
"      --no-drain           streaming: do not wait for queued buffers at the end\n"
"      --linger-ms MS       keep the device open MS after the last frame\n"
"      --timeout-ms MS      wait at most MS for a buffer to come back (default 5000)\n"
"      --write-chunk BYTES  write(): split each frame into writes of BYTES\n"
"      --obs-fmt            like OBS: G_FMT, S_PARM, then S_FMT of the G_FMT struct\n"
"                           with sizeimage = frame size, bytesperline, field and\n"
"                           colorspace left as G_FMT returned them\n"
"      --no-s-parm          skip VIDIOC_S_PARM (as FFmpeg does)\n"
"      --parm-fps N         frame rate for S_PARM (default --fps, or 30 if 0)\n"
"      --timestamp-zero     streaming: leave v4l2_buffer.timestamp 0 (driver stamps)\n"
"      --seq-start N        number of the first frame (default 0)\n"
"      --stream-id N        id in the test header (default: from pid and time)\n"
"      --wait-readers N     before sending, wait until N readers stream (loopcam\n"
"                           readers control)\n"
"      --wait-readers-ms MS how long to wait for them (default 10000)\n"
"      --frame-bytes MIN:MAX  compressed formats: frame sizes (default sizeimage/8 ..\n"
"                           sizeimage)\n"
"      --no-cap-check       do not require VIDEO_OUTPUT in QUERYCAP\n"
"      --no-poll            write(): write each frame without first waiting for\n"
"                           POLLOUT (as FFmpeg does)\n"
"      --pace FILE:AHEAD    send frame N only once FILE (lc-consume --progress) says\n"
"                           the reader has N-AHEAD frames: a reader with more than\n"
"                           AHEAD buffers then never lacks one, however slow it is\n"
"  -v, --verbose            one line per frame\n"
"  -h, --help\n"
"\n"
"Output: lines 'checked: ...' for what was verified, notes, and a last line\n"
"'result=pass sent=N ...' (key=value). Exit 0 ok, 1 usage, 2 device error,\n"
"3 a buffer did not come back within --timeout-ms.\n");
}

enum {
	O_DMABUF_FROM = 256, O_STALL_AFTER, O_STALL_MS, O_STREAMON, O_STREAMON_FIRST,
	O_NO_STREAMOFF, O_NO_DRAIN, O_LINGER, O_TIMEOUT, O_WRITE_CHUNK, O_OBS_FMT,
	O_NO_PARM, O_PARM_FPS, O_TS_ZERO, O_SEQ_START, O_STREAM_ID, O_WAIT_READERS,
	O_WAIT_READERS_MS, O_FRAME_BYTES, O_NO_CAP_CHECK, O_NO_POLL, O_PACE,
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "fps", required_argument, NULL, 'r' },
		{ "frames", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "io", required_argument, NULL, 'i' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "dmabuf-from", required_argument, NULL, O_DMABUF_FROM },
		{ "stall-after", required_argument, NULL, O_STALL_AFTER },
		{ "stall-ms", required_argument, NULL, O_STALL_MS },
		{ "streamon", no_argument, NULL, O_STREAMON },
		{ "streamon-first", no_argument, NULL, O_STREAMON_FIRST },
		{ "no-streamoff-at-end", no_argument, NULL, O_NO_STREAMOFF },
		{ "no-drain", no_argument, NULL, O_NO_DRAIN },
		{ "linger-ms", required_argument, NULL, O_LINGER },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "write-chunk", required_argument, NULL, O_WRITE_CHUNK },
		{ "obs-fmt", no_argument, NULL, O_OBS_FMT },
		{ "no-s-parm", no_argument, NULL, O_NO_PARM },
		{ "parm-fps", required_argument, NULL, O_PARM_FPS },
		{ "timestamp-zero", no_argument, NULL, O_TS_ZERO },
		{ "seq-start", required_argument, NULL, O_SEQ_START },
		{ "stream-id", required_argument, NULL, O_STREAM_ID },
		{ "wait-readers", required_argument, NULL, O_WAIT_READERS },
		{ "wait-readers-ms", required_argument, NULL, O_WAIT_READERS_MS },
		{ "frame-bytes", required_argument, NULL, O_FRAME_BYTES },
		{ "no-cap-check", no_argument, NULL, O_NO_CAP_CHECK },
		{ "no-poll", no_argument, NULL, O_NO_POLL },
		{ "pace", required_argument, NULL, O_PACE },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	int c, frames_set = 0;

	memset(o, 0, sizeof(*o));
	o->fmt = lc_format_by_fourcc(V4L2_PIX_FMT_YUYV);
	o->width = 640;
	o->height = 480;
	o->fps = 30;
	o->frames = 300;
	o->io = LC_IO_RW;
	o->buffers = 4;
	o->pattern = PAT_TEST;
	o->stall_ms = 2000;
	o->streamoff_at_end = 1;
	o->drain = 1;
	o->timeout_ms = 5000;
	o->wait_readers_ms = 10000;

	while ((c = getopt_long(argc, argv, "d:f:s:r:n:t:i:b:p:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->device = optarg;
			break;
		case 'f':
			o->fmt = lc_format_parse(optarg, err, sizeof(err));
			if (!o->fmt) {
				lc_err("--format: %s", err);
				return -1;
			}
			break;
		case 's':
			if (lc_parse_size(optarg, &o->width, &o->height, err, sizeof(err))) {
				lc_err("--size: %s", err);
				return -1;
			}
			break;
		case 'r':
			if (lc_opt_double("--fps", optarg, &o->fps))
				return -1;
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
		case 'i':
			if (lc_io_parse(optarg, 1, &o->io))
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
		case 'p':
			if (strcmp(optarg, "test") == 0) {
				o->pattern = PAT_TEST;
			} else if (strcmp(optarg, "bars") == 0) {
				o->pattern = PAT_BARS;
			} else {
				lc_err("--pattern: '%s' unknown (use test or bars)", optarg);
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
		case O_STALL_AFTER:
			if (lc_opt_u64("--stall-after", optarg, &o->stall_after))
				return -1;
			o->stall_set = 1;
			break;
		case O_STALL_MS:
			if (lc_opt_u32("--stall-ms", optarg, &o->stall_ms))
				return -1;
			break;
		case O_STREAMON:
			o->streamon = 1;
			break;
		case O_STREAMON_FIRST:
			o->streamon_first = 1;
			break;
		case O_NO_STREAMOFF:
			o->streamoff_at_end = 0;
			break;
		case O_NO_DRAIN:
			o->drain = 0;
			break;
		case O_LINGER:
			if (lc_opt_u32("--linger-ms", optarg, &o->linger_ms))
				return -1;
			break;
		case O_TIMEOUT:
			if (lc_opt_u32("--timeout-ms", optarg, &o->timeout_ms))
				return -1;
			if (o->timeout_ms == 0 || o->timeout_ms > 0x7fffffff) {
				lc_err("--timeout-ms: must be 1..2147483647");
				return -1;
			}
			break;
		case O_WRITE_CHUNK:
			if (lc_opt_u32("--write-chunk", optarg, &o->write_chunk))
				return -1;
			break;
		case O_OBS_FMT:
			o->obs_fmt = 1;
			break;
		case O_NO_PARM:
			o->no_parm = 1;
			break;
		case O_PARM_FPS:
			if (lc_opt_double("--parm-fps", optarg, &o->parm_fps))
				return -1;
			break;
		case O_TS_ZERO:
			o->ts_zero = 1;
			break;
		case O_SEQ_START:
			if (lc_opt_u64("--seq-start", optarg, &o->seq_start))
				return -1;
			break;
		case O_STREAM_ID:
			if (lc_opt_u32("--stream-id", optarg, &o->stream_id))
				return -1;
			o->stream_id_set = 1;
			break;
		case O_WAIT_READERS:
			if (lc_opt_u32("--wait-readers", optarg, &o->wait_readers))
				return -1;
			break;
		case O_WAIT_READERS_MS:
			if (lc_opt_u32("--wait-readers-ms", optarg, &o->wait_readers_ms))
				return -1;
			break;
		case O_FRAME_BYTES: {
			char *colon = strchr(optarg, ':');

			if (!colon) {
				lc_err("--frame-bytes: expected MIN:MAX, got '%s'", optarg);
				return -1;
			}
			*colon = '\0';
			if (lc_opt_u32("--frame-bytes MIN", optarg, &o->min_bytes) ||
			    lc_opt_u32("--frame-bytes MAX", colon + 1, &o->max_bytes))
				return -1;
			if (o->min_bytes > o->max_bytes || o->min_bytes < LC_HDR_SIZE) {
				lc_err("--frame-bytes: need %u <= MIN <= MAX", LC_HDR_SIZE);
				return -1;
			}
			break;
		}
		case O_NO_CAP_CHECK:
			o->no_cap_check = 1;
			break;
		case O_PACE: {
			char *colon = strrchr(optarg, ':');

			if (!colon || colon == optarg) {
				lc_err("--pace: expected FILE:AHEAD, got '%s'", optarg);
				return -1;
			}
			*colon = '\0';
			o->pace_file = optarg;
			if (lc_opt_u32("--pace AHEAD", colon + 1, &o->pace_ahead))
				return -1;
			break;
		}
		case O_NO_POLL:
			o->no_poll = 1;
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
		lc_err("--device is required (the loopback's output node, e.g. /dev/video0)");
		return -1;
	}
	if (o->seconds > 0 && !frames_set)
		o->frames = 0;
	if (o->io == LC_IO_DMABUF && !o->dmabuf_from) {
		lc_err("--io dmabuf needs --dmabuf-from /dev/videoM (a second V4L2 device "
		       "whose MMAP buffers are exported; Debian's kernel has no udmabuf)");
		return -1;
	}
	if (o->pattern == PAT_BARS && lc_format_is_compressed(o->fmt)) {
		lc_err("--pattern bars: %s is compressed; use --pattern test", o->fmt->name);
		return -1;
	}
	if (o->pattern == PAT_BARS && (o->width < LC_BARS_MIN_W || o->height < LC_BARS_MIN_H)) {
		lc_err("--pattern bars needs at least %ux%u", LC_BARS_MIN_W, LC_BARS_MIN_H);
		return -1;
	}
	return 0;
}

static int wait_for_readers(struct lc_dev *d, const struct opts *o)
{
	uint64_t deadline = lc_now_ns() + (uint64_t)o->wait_readers_ms * 1000000ull;
	struct v4l2_control ctrl;

	for (;;) {
		memset(&ctrl, 0, sizeof(ctrl));
		ctrl.id = LOOPCAM_CID_READERS;
		if (LC_IOCTL(d, VIDIOC_G_CTRL, &ctrl, "LOOPCAM_CID_READERS 0x%x",
			     LOOPCAM_CID_READERS))
			return -1;
		if ((uint32_t)ctrl.value >= o->wait_readers) {
			printf("checked: %d streaming reader(s) present (waited for %u)\n",
			       ctrl.value, o->wait_readers);
			return 0;
		}
		if (lc_now_ns() > deadline || lc_stop) {
			lc_err("%s: only %d streaming reader(s) after %u ms, %u wanted "
			       "(--wait-readers): did the readers start and STREAMON?",
			       d->path, ctrl.value, o->wait_readers_ms, o->wait_readers);
			return -1;
		}
		lc_sleep_ms(10);
	}
}

/* Writes one frame; retries short writes and returns of 0 like OBS.
 * Returns 0, or -1 (reported). */
static int write_frame(struct lc_dev *d, const uint8_t *p, size_t len, uint32_t chunk,
		       uint64_t *short_writes, uint64_t *zero_writes)
{
	size_t done = 0;
	unsigned zeros = 0;

	while (done < len) {
		size_t n = len - done;
		ssize_t w;

		if (chunk && n > chunk)
			n = chunk;
		w = write(d->fd, p + done, n);
		if (w < 0) {
			int e = errno;

			if (e == EINTR && !lc_stop)
				continue;
			lc_err("%s: write(%zu bytes at offset %zu of a %zu-byte frame) failed: "
			       "%s (errno %d)%s", d->path, n, done, len, strerror(e), e,
			       e == EINVAL ? "; does the node support write() (READWRITE cap)?" :
			       e == EBUSY ? "; another producer is streaming?" : "");
			return -1;
		}
		if (w == 0) {
			(*zero_writes)++;
			if (++zeros > 1000) {
				lc_err("%s: write() returned 0 a thousand times in a row", d->path);
				return -1;
			}
			continue;
		}
		zeros = 0;
		if ((size_t)w < n)
			(*short_writes)++;
		done += (size_t)w;
	}
	return 0;
}

/* VIDIOC_S_PARM(OUTPUT) with the frame rate; 0 or -1 (reported). */
static int set_parm(struct lc_dev *d, const struct opts *o)
{
	struct v4l2_streamparm parm;
	struct v4l2_fract *tpf = &parm.parm.output.timeperframe;
	double pf = o->parm_fps > 0 ? o->parm_fps : o->fps > 0 ? o->fps : 30;

	memset(&parm, 0, sizeof(parm));
	parm.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	if (pf == (double)(uint32_t)pf) { /* 30 -> 1/30 */
		tpf->numerator = 1;
		tpf->denominator = (uint32_t)pf;
	} else { /* 29.97 -> 1000/29970 */
		tpf->numerator = 1000;
		tpf->denominator = (uint32_t)(pf * 1000 + 0.5);
	}
	if (LC_IOCTL(d, VIDIOC_S_PARM, &parm, "OUTPUT timeperframe=%u/%u", tpf->numerator,
		     tpf->denominator))
		return -1;
	printf("checked: S_PARM(OUTPUT) ok, timeperframe now %u/%u\n", tpf->numerator,
	       tpf->denominator);
	return 0;
}

/* Frames the reader has received according to its --progress file (0 while
 * the file is missing or empty). */
static uint64_t reader_progress(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* --pace: waits until the reader has frame i - AHEAD; 0, or -1 (reported)
 * when it makes no progress for timeout_ms. */
static int pace_wait(const struct opts *o, uint64_t i)
{
	uint64_t got = reader_progress(o->pace_file), last = got;
	uint64_t until = lc_now_ns() + (uint64_t)o->timeout_ms * 1000000ull;

	while (got + o->pace_ahead < i && !lc_stop) {
		if (lc_now_ns() > until) {
			lc_err("--pace: the reader stayed at %llu frames for %u ms (frame %llu "
			       "waits for it to reach %llu): is it reading, or stuck?",
			       (unsigned long long)got, o->timeout_ms, (unsigned long long)i,
			       (unsigned long long)(i - o->pace_ahead));
			return -1;
		}
		lc_sleep_ms(2);
		got = reader_progress(o->pace_file);
		if (got != last) {
			last = got;
			until = lc_now_ns() + (uint64_t)o->timeout_ms * 1000000ull;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct lc_dev dev;
	struct lc_bufs bufs;
	struct v4l2_format fmt;
	char name[8];
	uint8_t *wbuf = NULL;
	size_t frame_size, alloc_size;
	uint32_t lo = 0, hi = 0;
	uint64_t sent = 0, short_writes = 0, zero_writes = 0, late = 0, bytes_total = 0;
	uint64_t t0, t_first = 0, t_last = 0, period_ns = 0, deadline_ns = 0;
	uint64_t seq;
	unsigned next_free = 0;
	int streaming_on = 0, rc = 0;

	lc_prog = "lc-produce";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &o))
		return 1;

	lc_stop_on_signals();
	signal(SIGPIPE, SIG_IGN);

	if (lc_dev_open(&dev, o.device, O_RDWR))
		return 2;
	lc_dev_print_caps(&dev, "");
	if (!(dev.caps & V4L2_CAP_VIDEO_OUTPUT)) {
		if (!o.no_cap_check) {
			lc_err("%s: device_caps has no VIDEO_OUTPUT: a capture-only node of a "
			       "split device, or (exclusive_caps) another producer is streaming. "
			       "Use the output node or --no-cap-check", o.device);
			return 2;
		}
		printf("note: no VIDEO_OUTPUT in device_caps, going on (--no-cap-check)\n");
	} else {
		printf("checked: device_caps has VIDEO_OUTPUT\n");
	}
	if (o.io == LC_IO_RW && !(dev.caps & V4L2_CAP_READWRITE))
		printf("note: device_caps has no READWRITE; trying write() anyway\n");
	if (o.io != LC_IO_RW && !(dev.caps & V4L2_CAP_STREAMING))
		printf("note: device_caps has no STREAMING; trying %s anyway\n",
		       lc_io_str(o.io, 1));

	/* G_FMT then S_FMT, as OBS and FFmpeg do (OBS sets S_PARM in between) */
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	if (LC_IOCTL(&dev, VIDIOC_G_FMT, &fmt, "OUTPUT"))
		return 2;
	lc_print_fmt("G_FMT: ", &fmt);
	if (o.obs_fmt && !o.no_parm && set_parm(&dev, &o))
		return 2;
	fmt.fmt.pix.width = o.width;
	fmt.fmt.pix.height = o.height;
	fmt.fmt.pix.pixelformat = o.fmt->fourcc;
	frame_size = lc_frame_size(o.fmt, o.width, o.height);
	if (o.obs_fmt) {
		/* OBS: keeps bytesperline/field/colorspace from G_FMT */
		fmt.fmt.pix.sizeimage = (uint32_t)frame_size;
	} else {
		fmt.fmt.pix.field = V4L2_FIELD_NONE;
		fmt.fmt.pix.bytesperline = 0;
		fmt.fmt.pix.sizeimage = lc_format_is_compressed(o.fmt) ? o.max_bytes : 0;
	}
	if (LC_IOCTL(&dev, VIDIOC_S_FMT, &fmt, "OUTPUT %s %ux%u", o.fmt->name, o.width,
		     o.height))
		return 2;
	lc_print_fmt("S_FMT: ", &fmt);
	if (fmt.fmt.pix.pixelformat != o.fmt->fourcc || fmt.fmt.pix.width != o.width ||
	    fmt.fmt.pix.height != o.height) {
		lc_err("%s: S_FMT changed the format to %s %ux%u (asked %s %ux%u): the driver "
		       "does not support it (see its ENUM_FMT / max_width / max_height)",
		       o.device, lc_format_name(fmt.fmt.pix.pixelformat, name),
		       fmt.fmt.pix.width, fmt.fmt.pix.height, o.fmt->name, o.width, o.height);
		return 2;
	}
	if (lc_format_is_compressed(o.fmt)) {
		hi = o.max_bytes ? o.max_bytes : fmt.fmt.pix.sizeimage;
		lo = o.min_bytes ? o.min_bytes : hi / 8;
		if (lo < LC_HDR_SIZE)
			lo = LC_HDR_SIZE;
		if (hi > fmt.fmt.pix.sizeimage || hi < lo) {
			lc_err("%s: compressed frames of %u..%u bytes do not fit sizeimage %u",
			       o.device, lo, hi, fmt.fmt.pix.sizeimage);
			return 2;
		}
		alloc_size = hi;
		printf("checked: compressed %s, frames of %u..%u bytes (sizeimage %u)\n",
		       o.fmt->name, lo, hi, fmt.fmt.pix.sizeimage);
	} else {
		uint32_t bpl = lc_bytesperline(o.fmt, o.width);

		alloc_size = frame_size;
		if (fmt.fmt.pix.sizeimage < frame_size) {
			lc_err("%s: sizeimage %u is smaller than a %s %ux%u frame (%zu bytes)",
			       o.device, fmt.fmt.pix.sizeimage, o.fmt->name, o.width, o.height,
			       frame_size);
			return 2;
		}
		if (fmt.fmt.pix.sizeimage != frame_size)
			printf("note: sizeimage %u differs from the frame size %zu\n",
			       fmt.fmt.pix.sizeimage, frame_size);
		if (fmt.fmt.pix.bytesperline != bpl)
			printf("note: bytesperline %u differs from the expected %u\n",
			       fmt.fmt.pix.bytesperline, bpl);
		printf("checked: S_FMT kept %s %ux%u, frame %zu bytes, sizeimage %u, "
		       "bytesperline %u\n", o.fmt->name, o.width, o.height, frame_size,
		       fmt.fmt.pix.sizeimage, fmt.fmt.pix.bytesperline);
		if (o.pattern == PAT_TEST && frame_size < LC_HDR_SIZE) {
			lc_err("a %s %ux%u frame (%zu bytes) cannot hold the %u-byte test "
			       "header: use a bigger --size", o.fmt->name, o.width, o.height,
			       frame_size, LC_HDR_SIZE);
			return 2;
		}
	}

	if (!o.obs_fmt && !o.no_parm && set_parm(&dev, &o))
		return 2;

	if (o.wait_readers && wait_for_readers(&dev, &o))
		return 2;

	if (o.io == LC_IO_RW) {
		wbuf = malloc(alloc_size ? alloc_size : 1);
		if (!wbuf) {
			lc_err("out of memory for a %zu-byte frame", alloc_size);
			return 2;
		}
		if (o.streamon) {
			if (lc_streamon(&dev, V4L2_BUF_TYPE_VIDEO_OUTPUT))
				return 2;
			streaming_on = 1;
			printf("checked: STREAMON(OUTPUT) before write() accepted\n");
		}
	} else {
		if (lc_bufs_setup(&bufs, &dev, V4L2_BUF_TYPE_VIDEO_OUTPUT, o.io, o.buffers,
				  alloc_size, o.dmabuf_from, &fmt))
			return 2;
		printf("checked: %u %s buffers on OUTPUT\n", bufs.count, lc_io_str(o.io, 1));
		if (o.streamon_first) {
			if (lc_streamon(&dev, V4L2_BUF_TYPE_VIDEO_OUTPUT))
				return 2;
			streaming_on = 1;
		}
	}

	if (!o.stream_id_set)
		o.stream_id = (uint32_t)getpid() * 2654435761u ^ (uint32_t)lc_now_ns();
	if (o.fps > 0)
		period_ns = (uint64_t)(1e9 / o.fps);
	t0 = lc_now_ns();
	if (o.seconds > 0)
		deadline_ns = t0 + (uint64_t)(o.seconds * 1e9);
	printf("sending: %s %ux%u io=%s pattern=%s fps=%g frames=%llu seconds=%g "
	       "stream=%08x\n", o.fmt->name, o.width, o.height, lc_io_str(o.io, 1),
	       o.pattern == PAT_TEST ? "test" : "bars", o.fps, (unsigned long long)o.frames,
	       o.seconds, o.stream_id);

	for (seq = o.seq_start; !lc_stop; seq++) {
		uint64_t i = seq - o.seq_start;
		uint8_t *p;
		unsigned index = 0;
		uint32_t len;
		struct lc_frame_hdr hdr;
		uint64_t now;

		if (o.frames && i >= o.frames)
			break;
		if (deadline_ns && lc_now_ns() >= deadline_ns)
			break;
		if (o.stall_set && i == o.stall_after && o.stall_ms) {
			printf("stalling: %u ms after %llu frames\n", o.stall_ms,
			       (unsigned long long)i);
			lc_sleep_ms(o.stall_ms);
			/* restart pacing after the stall */
			t0 = lc_now_ns() - i * period_ns;
		}
		if (period_ns) {
			uint64_t due = t0 + i * period_ns;

			now = lc_now_ns();
			if (now < due)
				lc_sleep_until(due);
			else if (now > due + period_ns)
				late++;
			if (lc_stop)
				break;
		}
		if (o.pace_file && pace_wait(&o, i)) {
			rc = 3;
			break;
		}

		/* get a buffer to fill */
		if (o.io == LC_IO_RW) {
			p = wbuf;
		} else {
			if (next_free < bufs.count) {
				index = next_free++;
			} else {
				struct v4l2_buffer b;
				short rev;
				int w = lc_wait(dev.fd, POLLOUT, (int)o.timeout_ms, &rev);

				if (w < 0 && errno == EINTR)
					break;
				if (w < 0) {
					lc_err("%s: poll(POLLOUT) failed: %s", o.device, strerror(errno));
					rc = 2;
					break;
				}
				if (w == 0) {
					lc_err("%s: no OUTPUT buffer came back within %u ms after frame "
					       "%llu (all %u queued): the driver does not consume "
					       "frames (is it streaming? raise --timeout-ms?)",
					       o.device, o.timeout_ms, (unsigned long long)seq - 1,
					       bufs.count);
					rc = 3;
					break;
				}
				if (lc_bufs_dqbuf(&bufs, &b, 0)) {
					rc = 2;
					break;
				}
				if (b.flags & V4L2_BUF_FLAG_ERROR)
					printf("note: OUTPUT buffer %u came back with the ERROR flag\n",
					       b.index);
				index = b.index;
			}
			p = bufs.b[index].ptr;
			lc_bufs_cpu_begin(&bufs, index, 1);
		}

		len = lc_format_is_compressed(o.fmt) ? lc_pattern_compressed_size(seq, lo, hi) :
						      (uint32_t)frame_size;
		memset(&hdr, 0, sizeof(hdr));
		hdr.stream = o.stream_id;
		hdr.seq = seq;
		hdr.size = len;
		hdr.fourcc = o.fmt->fourcc;
		hdr.width = o.width;
		hdr.height = o.height;
		if (o.pattern == PAT_TEST)
			lc_pattern_fill(p, len, &hdr);
		else
			lc_bars_fill(p, o.fmt, o.width, o.height, (uint32_t)seq);
		now = lc_now_ns();
		hdr.send_ns = now;
		if (o.pattern == PAT_TEST)
			lc_pattern_write_hdr(p, &hdr);

		if (o.io == LC_IO_RW) {
			int w = o.no_poll ? 1 : lc_wait(dev.fd, POLLOUT, (int)o.timeout_ms, NULL);

			if (w == 0) {
				lc_err("%s: not writable (poll POLLOUT) for %u ms before frame %llu: "
				       "the driver does not take frames", o.device, o.timeout_ms,
				       (unsigned long long)seq);
				rc = 3;
				break;
			}
			if (write_frame(&dev, p, len, o.write_chunk, &short_writes, &zero_writes)) {
				rc = 2;
				break;
			}
		} else {
			lc_bufs_cpu_end(&bufs, index, 1);
			if (lc_bufs_qbuf(&bufs, index, len, o.ts_zero ? 0 : now)) {
				rc = 2;
				break;
			}
			if (!streaming_on) {
				if (lc_streamon(&dev, V4L2_BUF_TYPE_VIDEO_OUTPUT)) {
					rc = 2;
					break;
				}
				streaming_on = 1;
			}
		}
		if (!sent)
			t_first = now;
		t_last = now;
		sent++;
		bytes_total += len;
		if (o.verbose)
			printf("frame seq=%llu bytes=%u t_ms=%.3f buffer=%d\n",
			       (unsigned long long)seq, len, (double)(now - t0) / 1e6,
			       o.io == LC_IO_RW ? -1 : (int)index);
	}

	/* wait for the queued buffers to be consumed */
	if (rc == 0 && o.io != LC_IO_RW && o.drain && streaming_on) {
		unsigned outstanding = 0;
		uint64_t until = lc_now_ns() + (uint64_t)o.timeout_ms * 1000000ull;

		for (unsigned k = 0; k < bufs.count; k++)
			outstanding += bufs.b[k].queued;
		while (outstanding && !lc_stop) {
			struct v4l2_buffer b;
			uint64_t now = lc_now_ns();
			int w = now < until ? lc_wait(dev.fd, POLLOUT,
						      (int)((until - now) / 1000000 + 1), NULL) : 0;

			if (w <= 0 || lc_bufs_dqbuf(&bufs, &b, 0)) {
				printf("note: %u OUTPUT buffer(s) still queued at the end (not "
				       "consumed within %u ms)\n", outstanding, o.timeout_ms);
				break;
			}
			outstanding--;
		}
		if (!outstanding)
			printf("checked: all queued OUTPUT buffers came back\n");
	}
	if (o.linger_ms) {
		printf("lingering: %u ms\n", o.linger_ms);
		lc_sleep_ms(o.linger_ms);
	}
	if (o.streamoff_at_end && streaming_on) {
		if (lc_streamoff(&dev, V4L2_BUF_TYPE_VIDEO_OUTPUT) && rc == 0)
			rc = 2;
		else if (rc == 0)
			printf("checked: STREAMOFF(OUTPUT) ok\n");
	}
	if (o.io != LC_IO_RW)
		lc_bufs_release(&bufs);
	free(wbuf);
	lc_dev_close(&dev);

	{
		double el = sent > 1 ? (double)(t_last - t_first) / 1e9 : 0;

		printf("result=%s sent=%llu io=%s format=%s size=%ux%u frame_bytes=%zu "
		       "bytes_total=%llu fps=%.2f elapsed_s=%.3f late=%llu short_writes=%llu "
		       "zero_writes=%llu stream=%08x first_seq=%llu last_seq=%lld%s\n",
		       rc ? "fail" : "pass", (unsigned long long)sent, lc_io_str(o.io, 1),
		       o.fmt->name, o.width, o.height,
		       lc_format_is_compressed(o.fmt) ? (size_t)0 : frame_size,
		       (unsigned long long)bytes_total, el > 0 ? (double)(sent - 1) / el : 0.0,
		       el, (unsigned long long)late, (unsigned long long)short_writes,
		       (unsigned long long)zero_writes, o.stream_id,
		       (unsigned long long)o.seq_start,
		       sent ? (long long)(o.seq_start + sent - 1) : -1LL,
		       lc_stop ? " interrupted=1" : "");
	}
	return rc;
}
