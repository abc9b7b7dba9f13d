// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-probe: ioctl-level probes of a loopcam (v4l2loopback) device for the
 * VM test cases, for what v4l2-ctl cannot do or does not report exactly:
 *
 *   caps    QUERYCAP as key=value lines, with the direction bits spelled out
 *   enum    ENUM_FMT / ENUM_FRAMESIZES / ENUM_FRAMEINTERVALS / G_FMT / G_PARM
 *   ops     a sequence of ioctls (and write()s) on one file handle, each with
 *           the result it must give (success or an errno name)
 *   ctl     the same for the control device /dev/v4l2loopback
 *   watch   stream from the CAPTURE queue for a while and classify every
 *           frame: placeholder black, a test frame (which one), or broken
 *   follow  a reader that follows a format change: SOURCE_CHANGE event,
 *           no new-format frame in old buffers, then restart and new frames;
 *           meanwhile a second handle sleeps in a blocking DQEVENT, which
 *           must neither hold up the change nor miss the event
 *
 * Output: "checked: ..." for every verified fact, key=value lines with the
 * values seen, and a last line "result=pass|fail". Exit 0 pass, 1 a check
 * failed, 2 usage or device error.
 */
#include "frame.h"
#include "v4l2util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/v4l2loopback.h>

#define CTL_PATH "/dev/" V4L2LOOPBACK_CTL_NAME

static int failures;
/* A check result: "checked: ..." or "FAIL: ..." (stderr), counted. */
static void verdict(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void verdict(int ok, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ok) {
		printf("checked: %s\n", line);
	} else {
		failures++;
		lc_err("FAIL: %s", line);
	}
}

static int finish(void)
{
	printf("result=%s failures=%d\n", failures ? "fail" : "pass", failures);
	return failures ? 1 : 0;
}

/* ---- errno names ---------------------------------------------------------- */

static const struct {
	int e;
	const char *name;
} errnames[] = {
	{ 0, "ok" }, { EBUSY, "EBUSY" }, { EINVAL, "EINVAL" }, { ENOTTY, "ENOTTY" },
	{ ENODEV, "ENODEV" }, { ENXIO, "ENXIO" }, { ENOENT, "ENOENT" }, { EPERM, "EPERM" },
	{ EACCES, "EACCES" }, { ENOSPC, "ENOSPC" }, { EAGAIN, "EAGAIN" }, { EIO, "EIO" },
	{ ENOMEM, "ENOMEM" }, { EEXIST, "EEXIST" }, { EFAULT, "EFAULT" }, { EPIPE, "EPIPE" },
	{ ERANGE, "ERANGE" }, { ENFILE, "ENFILE" }, { E2BIG, "E2BIG" },
};

static const char *errname(int e)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].e == e)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

static int errparse(const char *s, int *e)
{
	if (strcmp(s, "0") == 0) {
		*e = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcasecmp(errnames[i].name, s) == 0) {
			*e = errnames[i].e;
			return 0;
		}
	return -1;
}

/* ---- small helpers ----------------------------------------------------------- */

static const char *dir_of(uint32_t caps)
{
	int c = !!(caps & V4L2_CAP_VIDEO_CAPTURE), o = !!(caps & V4L2_CAP_VIDEO_OUTPUT);

	return c && o ? "both" : c ? "capture" : o ? "output" : "none";
}

static int buf_type(const char *s, uint32_t *type)
{
	if (strcmp(s, "cap") == 0 || strcmp(s, "capture") == 0)
		*type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	else if (strcmp(s, "out") == 0 || strcmp(s, "output") == 0)
		*type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	else
		return -1;
	return 0;
}

static int parse_fract(const char *s, uint32_t *num, uint32_t *den)
{
	char tail;

	return sscanf(s, "%u/%u%c", num, den, &tail) == 2 ? 0 : -1;
}

static int open_dev(struct lc_dev *d, const char *path, int flags)
{
	return lc_dev_open(d, path, flags);
}

/* Limited-range black as loopcam's placeholder has it, for the raw formats
 * the tests use; -1 for formats this program does not know black for. */
static int is_black(const uint8_t *p, size_t len, const struct v4l2_pix_format *pix)
{
	size_t luma = (size_t)pix->width * pix->height;

	switch (pix->pixelformat) {
	case V4L2_PIX_FMT_YUYV:
	case V4L2_PIX_FMT_YVYU:
	case V4L2_PIX_FMT_UYVY: {
		uint8_t even = pix->pixelformat == V4L2_PIX_FMT_UYVY ? 128 : 16;
		uint8_t odd = pix->pixelformat == V4L2_PIX_FMT_UYVY ? 16 : 128;

		for (size_t i = 0; i + 1 < len; i += 2)
			if (p[i] != even || p[i + 1] != odd)
				return 0;
		return 1;
	}
	case V4L2_PIX_FMT_YUV420:
	case V4L2_PIX_FMT_YVU420:
	case V4L2_PIX_FMT_NV12:
	case V4L2_PIX_FMT_NV21:
	case V4L2_PIX_FMT_NV16:
		if (len < luma)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (p[i] != (i < luma ? 16 : 128))
				return 0;
		return 1;
	default:
		for (size_t i = 0; i < len; i++)
			if (p[i])
				return 0;
		return 1;
	}
}

/* ---- caps --------------------------------------------------------------------- */

static int cmd_caps(int argc, char **argv)
{
	struct lc_dev d;
	int flags = O_RDWR;
	const char *path = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--rdonly") == 0)
			flags = O_RDONLY;
		else if (!path)
			path = argv[i];
		else
			return lc_err("caps: unexpected '%s'", argv[i]), 2;
	}
	if (!path)
		return lc_err("caps: DEVICE missing"), 2;
	if (open_dev(&d, path, flags))
		return 2;
	printf("driver=%.16s\n", (const char *)d.cap.driver);
	printf("card=%.32s\n", (const char *)d.cap.card);
	printf("bus_info=%.32s\n", (const char *)d.cap.bus_info);
	printf("version=0x%06x\n", d.cap.version);
	printf("device_caps=0x%08x\n", d.cap.device_caps);
	printf("capabilities=0x%08x\n", d.cap.capabilities);
	printf("dir=%s\n", dir_of(d.caps));
	printf("node_dir=%s\n", dir_of(d.cap.capabilities));
	lc_dev_close(&d);
	return 0;
}

/* ---- enum --------------------------------------------------------------------- */

static void print_intervals(struct lc_dev *d, uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct v4l2_frmivalenum fi;
	char n[8];

	printf("frameintervals.%s.%ux%u=", lc_fourcc_str(fourcc, n), w, h);
	for (uint32_t i = 0; i < 65; i++) {
		memset(&fi, 0, sizeof(fi));
		fi.index = i;
		fi.pixel_format = fourcc;
		fi.width = w;
		fi.height = h;
		if (i == 64) {
			printf(",...(more than 64)");
			break;
		}
		if (lc_xioctl(d->fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0) {
			if (i == 0)
				printf("ERR:%s", errname(errno));
			break;
		}
		if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			printf("%sDISCRETE:%u/%u", i ? "," : "", fi.discrete.numerator,
			       fi.discrete.denominator);
		} else {
			printf("%s%s:%u/%u-%u/%u", i ? "," : "",
			       fi.type == V4L2_FRMIVAL_TYPE_CONTINUOUS ? "CONTINUOUS" : "STEPWISE",
			       fi.stepwise.min.numerator, fi.stepwise.min.denominator,
			       fi.stepwise.max.numerator, fi.stepwise.max.denominator);
			break;
		}
	}
	printf("\n");
}

static int cmd_enum(int argc, char **argv)
{
	struct lc_dev d;
	uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	const char *path = NULL;
	uint32_t fourccs[64];
	unsigned nf = 0;
	char n[8];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
			if (buf_type(argv[++i], &type))
				return lc_err("enum: --type cap|out"), 2;
		} else if (!path) {
			path = argv[i];
		} else {
			return lc_err("enum: unexpected '%s'", argv[i]), 2;
		}
	}
	if (!path)
		return lc_err("enum: DEVICE missing"), 2;
	if (open_dev(&d, path, O_RDWR))
		return 2;
	printf("type=%s\n", lc_buf_type_str(type));

	printf("fmts=");
	for (uint32_t i = 0; i < 65; i++) {
		struct v4l2_fmtdesc fd;

		if (i == 64) {
			printf(",...(more than 64)");
			break;
		}
		memset(&fd, 0, sizeof(fd));
		fd.index = i;
		fd.type = type;
		if (lc_xioctl(d.fd, VIDIOC_ENUM_FMT, &fd) < 0) {
			if (i == 0)
				printf("ERR:%s", errname(errno));
			break;
		}
		printf("%s%s", i ? "," : "", lc_fourcc_str(fd.pixelformat, n));
		fourccs[nf++] = fd.pixelformat;
	}
	printf("\nfmt_count=%u\n", nf);

	for (unsigned k = 0; k < nf; k++) {
		struct v4l2_frmsizeenum fs;
		uint32_t sizes[64][2];
		unsigned ns = 0;

		printf("framesizes.%s=", lc_fourcc_str(fourccs[k], n));
		for (uint32_t i = 0; i < 65; i++) {
			if (i == 64) {
				printf(",...(more than 64)");
				break;
			}
			memset(&fs, 0, sizeof(fs));
			fs.index = i;
			fs.pixel_format = fourccs[k];
			if (lc_xioctl(d.fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) {
				if (i == 0)
					printf("ERR:%s", errname(errno));
				break;
			}
			if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
				printf("%sDISCRETE:%ux%u", i ? "," : "", fs.discrete.width,
				       fs.discrete.height);
				sizes[ns][0] = fs.discrete.width;
				sizes[ns][1] = fs.discrete.height;
				ns++;
			} else {
				printf("%s%s:%ux%u-%ux%u", i ? "," : "",
				       fs.type == V4L2_FRMSIZE_TYPE_CONTINUOUS ? "CONTINUOUS" :
										 "STEPWISE",
				       fs.stepwise.min_width, fs.stepwise.min_height,
				       fs.stepwise.max_width, fs.stepwise.max_height);
				break;
			}
		}
		printf("\n");
		for (unsigned s = 0; s < ns; s++)
			print_intervals(&d, fourccs[k], sizes[s][0], sizes[s][1]);
	}

	{
		struct v4l2_format f;

		memset(&f, 0, sizeof(f));
		f.type = type;
		if (lc_xioctl(d.fd, VIDIOC_G_FMT, &f) < 0)
			printf("g_fmt=ERR:%s\n", errname(errno));
		else
			printf("g_fmt=%s:%ux%u bytesperline=%u sizeimage=%u\n",
			       lc_fourcc_str(f.fmt.pix.pixelformat, n), f.fmt.pix.width,
			       f.fmt.pix.height, f.fmt.pix.bytesperline, f.fmt.pix.sizeimage);
	}
	{
		struct v4l2_streamparm p;
		struct v4l2_fract *t = type == V4L2_BUF_TYPE_VIDEO_CAPTURE ?
					       &p.parm.capture.timeperframe :
					       &p.parm.output.timeperframe;

		memset(&p, 0, sizeof(p));
		p.type = type;
		if (lc_xioctl(d.fd, VIDIOC_G_PARM, &p) < 0)
			printf("g_parm=ERR:%s\n", errname(errno));
		else
			printf("g_parm=%u/%u\n", t->numerator, t->denominator);
	}
	lc_dev_close(&d);
	return 0;
}

/* ---- ops ---------------------------------------------------------------------- */

struct opctx {
	struct lc_dev d;
	const char *path;
	int flags;
	uint32_t stream_id;
	uint64_t seq;
	int extra[1100];
	unsigned n_extra;
	char detail[256]; /* a value check that failed inside an op */
};

/* Writes n test frames (0 = until SIGTERM/SIGINT) in the current OUTPUT
 * format at fps (0 = at once). Returns 0 or the errno of the failing write(). */
static int op_write(struct opctx *c, uint64_t n, double fps)
{
	struct v4l2_format f;
	const struct lc_format *lf;
	size_t size;
	uint8_t *buf;
	uint64_t t0 = lc_now_ns(), period = fps > 0 ? (uint64_t)(1e9 / fps) : 0;
	int err = 0;

	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	if (lc_xioctl(c->d.fd, VIDIOC_G_FMT, &f) < 0)
		return errno;
	lf = lc_format_by_fourcc(f.fmt.pix.pixelformat);
	size = lf ? lc_frame_size(lf, f.fmt.pix.width, f.fmt.pix.height) : 0;
	if (!size) {
		snprintf(c->detail, sizeof(c->detail), "write: format has no fixed frame size");
		return 0;
	}
	buf = malloc(size);
	if (!buf)
		return ENOMEM;
	for (uint64_t i = 0; (n == 0 || i < n) && !lc_stop; i++) {
		struct lc_frame_hdr h;
		size_t done = 0;

		if (period)
			lc_sleep_until(t0 + i * period);
		if (lc_stop)
			break;
		memset(&h, 0, sizeof(h));
		h.stream = c->stream_id;
		h.seq = c->seq;
		h.size = (uint32_t)size;
		h.fourcc = f.fmt.pix.pixelformat;
		h.width = f.fmt.pix.width;
		h.height = f.fmt.pix.height;
		lc_pattern_fill(buf, size, &h);
		h.send_ns = lc_now_ns();
		lc_pattern_write_hdr(buf, &h);
		while (done < size) {
			ssize_t w = write(c->d.fd, buf + done, size - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				err = w < 0 ? errno : EIO;
				goto out;
			}
			done += (size_t)w;
		}
		c->seq++;
	}
out:
	free(buf);
	return err;
}

/* One op; returns 0 or an errno. Value mismatches go to c->detail. */
static int run_op(struct opctx *c, char *op)
{
	char *arg[6] = { 0 };
	int na = 0;
	char n[8], ebuf[300];
	uint32_t type = 0;

	for (char *s = op; s && na < 6; na++) {
		arg[na] = s;
		s = strchr(s, ':');
		if (s)
			*s++ = '\0';
	}
	if (na >= 2 && buf_type(arg[1], &type))
		type = 0;

	if (strcmp(arg[0], "caps") == 0 && na == 2) {
		if (lc_xioctl(c->d.fd, VIDIOC_QUERYCAP, &c->d.cap) < 0)
			return errno;
		if (strcmp(dir_of(c->d.cap.device_caps), arg[1]))
			snprintf(c->detail, sizeof(c->detail), "device_caps 0x%08x is %s, not %s",
				 c->d.cap.device_caps, dir_of(c->d.cap.device_caps), arg[1]);
		return 0;
	}
	if (strcmp(arg[0], "querycap") == 0 && na == 1)
		return lc_xioctl(c->d.fd, VIDIOC_QUERYCAP, &c->d.cap) < 0 ? errno : 0;
	if ((strcmp(arg[0], "g_fmt") == 0 && (na == 2 || na == 4)) && type) {
		struct v4l2_format f;

		memset(&f, 0, sizeof(f));
		f.type = type;
		if (lc_xioctl(c->d.fd, VIDIOC_G_FMT, &f) < 0)
			return errno;
		printf("  g_fmt=%s:%ux%u sizeimage=%u\n", lc_fourcc_str(f.fmt.pix.pixelformat, n),
		       f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.sizeimage);
		if (na == 4) {
			const struct lc_format *lf = lc_format_parse(arg[2], ebuf, sizeof(ebuf));
			uint32_t w, h;

			if (!lf || lc_parse_size(arg[3], &w, &h, ebuf, sizeof(ebuf)))
				return snprintf(c->detail, sizeof(c->detail), "bad format"), 0;
			if (f.fmt.pix.pixelformat != lf->fourcc || f.fmt.pix.width != w ||
			    f.fmt.pix.height != h)
				snprintf(c->detail, sizeof(c->detail), "format is %s %ux%u, not %s %ux%u",
					 lc_fourcc_str(f.fmt.pix.pixelformat, n), f.fmt.pix.width,
					 f.fmt.pix.height, lf->name, w, h);
		}
		return 0;
	}
	if (strcmp(arg[0], "s_fmt") == 0 && na == 4 && type) {
		/* Like OBS: the G_FMT struct with size, fourcc and sizeimage changed. */
		const struct lc_format *lf = lc_format_parse(arg[2], ebuf, sizeof(ebuf));
		struct v4l2_format f;
		uint32_t w, h;

		if (!lf || lc_parse_size(arg[3], &w, &h, ebuf, sizeof(ebuf)))
			return snprintf(c->detail, sizeof(c->detail), "bad format"), 0;
		memset(&f, 0, sizeof(f));
		f.type = type;
		if (lc_xioctl(c->d.fd, VIDIOC_G_FMT, &f) < 0)
			return errno;
		f.fmt.pix.pixelformat = lf->fourcc;
		f.fmt.pix.width = w;
		f.fmt.pix.height = h;
		f.fmt.pix.sizeimage = (uint32_t)lc_frame_size(lf, w, h);
		if (lc_xioctl(c->d.fd, VIDIOC_S_FMT, &f) < 0)
			return errno;
		if (f.fmt.pix.pixelformat != lf->fourcc || f.fmt.pix.width != w ||
		    f.fmt.pix.height != h)
			snprintf(c->detail, sizeof(c->detail), "S_FMT returned %s %ux%u",
				 lc_fourcc_str(f.fmt.pix.pixelformat, n), f.fmt.pix.width,
				 f.fmt.pix.height);
		return 0;
	}
	if ((strcmp(arg[0], "s_parm") == 0 && na == 3 && type) ||
	    (strcmp(arg[0], "g_parm") == 0 && (na == 2 || na == 3) && type)) {
		struct v4l2_streamparm p;
		struct v4l2_fract *t = type == V4L2_BUF_TYPE_VIDEO_CAPTURE ?
					       &p.parm.capture.timeperframe :
					       &p.parm.output.timeperframe;
		uint32_t num = 0, den = 0;
		int set = arg[0][0] == 's';

		if (na == 3 && parse_fract(arg[2], &num, &den))
			return snprintf(c->detail, sizeof(c->detail), "bad fraction"), 0;
		memset(&p, 0, sizeof(p));
		p.type = type;
		t->numerator = num;
		t->denominator = den;
		if (lc_xioctl(c->d.fd, set ? VIDIOC_S_PARM : VIDIOC_G_PARM, &p) < 0)
			return errno;
		printf("  %s=%u/%u\n", arg[0], t->numerator, t->denominator);
		if (na == 3 && (t->numerator != num || t->denominator != den))
			snprintf(c->detail, sizeof(c->detail), "timeperframe is %u/%u, not %u/%u",
				 t->numerator, t->denominator, num, den);
		return 0;
	}
	if (strcmp(arg[0], "reqbufs") == 0 && na == 3 && type) {
		struct v4l2_requestbuffers rb;

		memset(&rb, 0, sizeof(rb));
		rb.type = type;
		rb.memory = V4L2_MEMORY_MMAP;
		rb.count = (uint32_t)strtoul(arg[2], NULL, 0);
		if (lc_xioctl(c->d.fd, VIDIOC_REQBUFS, &rb) < 0)
			return errno;
		printf("  reqbufs gave %u\n", rb.count);
		return 0;
	}
	if (strcmp(arg[0], "expbuf") == 0 && na == 3 && type) {
		/* the dma-buf fd stays open, with the extra handles (close-many) */
		struct v4l2_exportbuffer e;

		if (c->n_extra == sizeof(c->extra) / sizeof(c->extra[0]))
			return snprintf(c->detail, sizeof(c->detail), "too many"), 0;
		memset(&e, 0, sizeof(e));
		e.type = type;
		e.index = (uint32_t)strtoul(arg[2], NULL, 0);
		e.flags = O_RDWR | O_CLOEXEC;
		if (lc_xioctl(c->d.fd, VIDIOC_EXPBUF, &e) < 0)
			return errno;
		c->extra[c->n_extra++] = e.fd;
		return 0;
	}
	if ((strcmp(arg[0], "streamon") == 0 || strcmp(arg[0], "streamoff") == 0) && na == 2 &&
	    type) {
		int t = (int)type;

		return lc_xioctl(c->d.fd, arg[0][7] == 'n' ? VIDIOC_STREAMON : VIDIOC_STREAMOFF,
				 &t) < 0 ? errno : 0;
	}
	if (strcmp(arg[0], "write") == 0 && (na == 2 || na == 3))
		return op_write(c, strtoull(arg[1], NULL, 0), na == 3 ? strtod(arg[2], NULL) : 0);
	if (strcmp(arg[0], "writeraw") == 0 && na == 2) {
		/* one write() of BYTES zero bytes, whatever the format */
		size_t len = strtoul(arg[1], NULL, 0);
		void *buf = calloc(1, len ? len : 1);
		ssize_t w;

		if (!buf)
			return ENOMEM;
		w = write(c->d.fd, buf, len);
		free(buf);
		if (w < 0)
			return errno;
		if ((size_t)w != len)
			snprintf(c->detail, sizeof(c->detail), "wrote %zd of %zu bytes", w, len);
		return 0;
	}
	if (strcmp(arg[0], "subscribe") == 0 && na == 2 &&
	    (strcmp(arg[1], "source_change") == 0 || strcmp(arg[1], "readers") == 0)) {
		struct v4l2_event_subscription sub;

		memset(&sub, 0, sizeof(sub));
		sub.type = arg[1][0] == 's' ? V4L2_EVENT_SOURCE_CHANGE : LOOPCAM_EVENT_READERS;
		return lc_xioctl(c->d.fd, VIDIOC_SUBSCRIBE_EVENT, &sub) < 0 ? errno : 0;
	}
	if (strcmp(arg[0], "readers-event") == 0 && na == 2) {
		/* the next LOOPCAM_EVENT_READERS (within 10 s) must say N readers */
		uint32_t want = (uint32_t)strtoul(arg[1], NULL, 0);
		const struct loopcam_event_readers *payload;
		struct pollfd pfd = { .fd = c->d.fd, .events = POLLPRI };
		struct v4l2_event ev;

		if (poll(&pfd, 1, 10000) <= 0) {
			snprintf(c->detail, sizeof(c->detail), "no event within 10 s");
			return 0;
		}
		memset(&ev, 0, sizeof(ev));
		if (lc_xioctl(c->d.fd, VIDIOC_DQEVENT, &ev) < 0)
			return errno;
		payload = (const void *)ev.u.data;
		if (ev.type != LOOPCAM_EVENT_READERS || payload->readers != want)
			snprintf(c->detail, sizeof(c->detail), "event type 0x%x readers %u, expected "
				 "LOOPCAM_EVENT_READERS with %u", ev.type, payload->readers, want);
		return 0;
	}
	if (strcmp(arg[0], "wait-readers") == 0 && (na == 2 || na == 3)) {
		/* loopcam's read-only readers control, as lc-produce --wait-readers */
		uint32_t want = (uint32_t)strtoul(arg[1], NULL, 0);
		uint64_t until = lc_now_ns() +
				 (na == 3 ? strtoull(arg[2], NULL, 0) : 10000) * 1000000ull;
		struct v4l2_control ctrl;

		for (;;) {
			memset(&ctrl, 0, sizeof(ctrl));
			ctrl.id = LOOPCAM_CID_READERS;
			if (lc_xioctl(c->d.fd, VIDIOC_G_CTRL, &ctrl) < 0)
				return errno;
			if ((uint32_t)ctrl.value >= want)
				return 0;
			if (lc_now_ns() > until || lc_stop) {
				snprintf(c->detail, sizeof(c->detail), "%d readers, waited for %u",
					 ctrl.value, want);
				return 0;
			}
			lc_sleep_ms(10);
		}
	}
	if (strcmp(arg[0], "sleep") == 0 && na == 2) {
		lc_sleep_ms((uint32_t)strtoul(arg[1], NULL, 0));
		return 0;
	}
	if (strcmp(arg[0], "reopen") == 0 && na == 1) {
		close(c->d.fd);
		c->d.fd = open(c->path, c->flags | O_CLOEXEC);
		return c->d.fd < 0 ? errno : 0;
	}
	if (strcmp(arg[0], "open-many") == 0 && na == 2) {
		unsigned want = (unsigned)strtoul(arg[1], NULL, 0);

		if (want > sizeof(c->extra) / sizeof(c->extra[0]))
			return snprintf(c->detail, sizeof(c->detail), "too many"), 0;
		for (unsigned i = 0; i < want; i++) {
			struct v4l2_capability cap;
			int fd = open(c->path, c->flags | O_CLOEXEC);

			if (fd < 0 || lc_xioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
				int e = errno;

				snprintf(c->detail, sizeof(c->detail), "open/QUERYCAP number %u failed",
					 i + 1);
				if (fd >= 0)
					close(fd);
				return e;
			}
			c->extra[c->n_extra++] = fd;
		}
		printf("  %u more handles open\n", c->n_extra);
		return 0;
	}
	if (strcmp(arg[0], "close-many") == 0 && na == 1) {
		while (c->n_extra)
			close(c->extra[--c->n_extra]);
		return 0;
	}
	snprintf(c->detail, sizeof(c->detail), "unknown op (see lc-probe --help)");
	return -1;
}

static int cmd_ops(int argc, char **argv)
{
	static struct opctx c;
	int keep_going = 0, i;

	lc_stop_on_signals();

	c.flags = O_RDWR;
	c.stream_id = (uint32_t)getpid() * 2654435761u ^ (uint32_t)lc_now_ns();
	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-k") == 0)
			keep_going = 1;
		else if (strcmp(argv[i], "--rdonly") == 0)
			c.flags = O_RDONLY;
		else if (strcmp(argv[i], "--stream-id") == 0 && i + 1 < argc)
			c.stream_id = (uint32_t)strtoul(argv[++i], NULL, 0);
		else
			return lc_err("ops: unknown option '%s'", argv[i]), 2;
	}
	if (i >= argc)
		return lc_err("ops: DEVICE missing"), 2;
	c.path = argv[i++];
	if (open_dev(&c.d, c.path, c.flags))
		return 2;
	printf("stream=%08x\n", c.stream_id);
	for (; i < argc; i++) {
		char op[256], *eq;
		int want = 0, got;

		snprintf(op, sizeof(op), "%s", argv[i]);
		eq = strrchr(op, '=');
		if (eq) {
			*eq = '\0';
			if (errparse(eq + 1, &want))
				return lc_err("ops: '%s': unknown errno name '%s'", argv[i], eq + 1), 2;
		}
		c.detail[0] = '\0';
		{
			char work[256];

			snprintf(work, sizeof(work), "%s", op);
			got = run_op(&c, work);
		}
		if (got < 0)
			return lc_err("ops: '%s': %s", argv[i], c.detail), 2;
		if (got != want) {
			verdict(0, "%s %s: got %s, expected %s%s%s", c.path, op, errname(got),
				errname(want), c.detail[0] ? "; " : "", c.detail);
			if (!keep_going)
				break;
		} else if (c.detail[0]) {
			verdict(0, "%s %s -> %s as expected, but %s", c.path, op, errname(got),
				c.detail);
			if (!keep_going)
				break;
		} else {
			verdict(1, "%s %s -> %s", c.path, op, errname(got));
		}
	}
	while (c.n_extra)
		close(c.extra[--c.n_extra]);
	lc_dev_close(&c.d);
	return finish();
}

/* ---- ctl ---------------------------------------------------------------------- */

static int ctl_op(int fd, char *op, char *detail, size_t dlen)
{
	char *arg[4] = { 0 };
	int na = 0;
	long nr;

	for (char *s = op; s && na < 4; na++) {
		arg[na] = s;
		s = strchr(s, ':');
		if (s)
			*s++ = '\0';
	}
	nr = na >= 2 ? strtol(arg[1], NULL, 0) : -1;
	if (strcmp(arg[0], "version") == 0 && na == 1) {
		__u32 v = 0;

		if (ioctl(fd, V4L2LOOPBACK_CTL_VERSION, &v) < 0)
			return errno;
		printf("  version=%u.%u.%u\n", v >> 16, (v >> 8) & 0xff, v & 0xff);
		if (v != V4L2LOOPBACK_VERSION_CODE)
			snprintf(detail, dlen, "version 0x%x, header says 0x%x", v,
				 V4L2LOOPBACK_VERSION_CODE);
		return 0;
	}
	if ((strcmp(arg[0], "add") == 0 || strcmp(arg[0], "add-legacy") == 0) &&
	    (na == 2 || na == 3)) {
		struct v4l2_loopback_config cfg;
		int ret;

		memset(&cfg, 0, sizeof(cfg));
		cfg.output_nr = (__s32)nr;
		cfg.unused = -1;
		cfg.announce_all_caps = -1;
		if (na == 3)
			snprintf(cfg.card_label, sizeof(cfg.card_label), "%s", arg[2]);
		ret = ioctl(fd, arg[0][3] ? V4L2LOOPBACK_CTL_ADD_LEGACY : V4L2LOOPBACK_CTL_ADD,
			    &cfg);
		if (ret < 0)
			return errno;
		printf("  added=%d\n", ret);
		if (nr >= 0 && ret != nr)
			snprintf(detail, dlen, "returned %d, asked %ld", ret, nr);
		return 0;
	}
	if ((strcmp(arg[0], "remove") == 0 || strcmp(arg[0], "remove-legacy") == 0) && na == 2)
		/* the number by value, as v4l2loopback-ctl passes it */
		return ioctl(fd, arg[0][6] ? V4L2LOOPBACK_CTL_REMOVE_LEGACY : V4L2LOOPBACK_CTL_REMOVE,
			     (unsigned long)nr) < 0 ? errno : 0;
	if ((strcmp(arg[0], "query") == 0 || strcmp(arg[0], "query-legacy") == 0) &&
	    (na == 2 || na == 3)) {
		struct v4l2_loopback_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.output_nr = (__s32)nr;
		cfg.unused = -1;
		if (ioctl(fd, arg[0][5] ? V4L2LOOPBACK_CTL_QUERY_LEGACY : V4L2LOOPBACK_CTL_QUERY,
			  &cfg) < 0)
			return errno;
		printf("  output_nr=%d capture_nr=%d card_label=%.32s max_width=%u max_height=%u "
		       "max_buffers=%d max_openers=%d announce_all_caps=%d\n", cfg.output_nr,
		       cfg.unused, cfg.card_label, cfg.max_width, cfg.max_height, cfg.max_buffers,
		       cfg.max_openers, cfg.announce_all_caps);
		if (cfg.output_nr != nr)
			snprintf(detail, dlen, "output_nr %d, asked %ld", cfg.output_nr, nr);
		else if (na == 3 && strncmp(cfg.card_label, arg[2], sizeof(cfg.card_label)))
			snprintf(detail, dlen, "card_label '%.32s', expected '%s'", cfg.card_label,
				 arg[2]);
		return 0;
	}
	snprintf(detail, dlen, "unknown ctl op");
	return -1;
}

static int cmd_ctl(int argc, char **argv)
{
	const char *path = CTL_PATH;
	int i = 0, fd, keep_going = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-k") == 0)
			keep_going = 1;
		else
			return lc_err("ctl: unknown option '%s'", argv[i]), 2;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return lc_err("cannot open %s: %s", path, strerror(errno)), 2;
	for (; i < argc; i++) {
		char op[256], work[256], detail[200] = "", *eq;
		int want = 0, got;

		snprintf(op, sizeof(op), "%s", argv[i]);
		eq = strrchr(op, '=');
		if (eq) {
			*eq = '\0';
			if (errparse(eq + 1, &want))
				return lc_err("ctl: '%s': unknown errno name '%s'", argv[i], eq + 1), 2;
		}
		snprintf(work, sizeof(work), "%s", op);
		got = ctl_op(fd, work, detail, sizeof(detail));
		if (got < 0)
			return lc_err("ctl: '%s': %s", argv[i], detail), 2;
		if (got != want) {
			verdict(0, "%s %s: got %s, expected %s%s%s", path, op, errname(got),
				errname(want), detail[0] ? "; " : "", detail);
			if (!keep_going)
				break;
		} else if (detail[0]) {
			verdict(0, "%s %s -> %s as expected, but %s", path, op, errname(got), detail);
			if (!keep_going)
				break;
		} else {
			verdict(1, "%s %s -> %s", path, op, errname(got));
		}
	}
	close(fd);
	return finish();
}

/* ---- watch -------------------------------------------------------------------- */

struct run {
	char what[48];
	uint64_t count;
};

static int cmd_watch(int argc, char **argv)
{
	const char *path = NULL;
	double seconds = 3;
	unsigned nbufs = 4;
	struct lc_dev d;
	struct lc_bufs bufs;
	struct v4l2_format f;
	struct v4l2_streamparm parm;
	static struct run runs[1024];
	unsigned nruns = 0, nseq = 0;
	static uint64_t seqs[4096];
	uint64_t received = 0, black = 0, test = 0, bad = 0, other = 0, errbufs = 0;
	uint64_t t_start, deadline, t_first = 0, t_last = 0, max_gap = 0;
	uint64_t ts_first = 0, ts_last = 0, long_gaps = 0, nominal_ns = 0;
	double nominal = 0;
	char n[8];

	lc_stop_on_signals();

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			nbufs = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!path)
			path = argv[i];
		else
			return lc_err("watch: unexpected '%s'", argv[i]), 2;
	}
	if (!path)
		return lc_err("watch: DEVICE missing"), 2;
	if (open_dev(&d, path, O_RDWR))
		return 2;
	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (LC_IOCTL(&d, VIDIOC_G_FMT, &f, "CAPTURE"))
		return 2;
	memset(&parm, 0, sizeof(parm));
	parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (LC_IOCTL(&d, VIDIOC_G_PARM, &parm, "CAPTURE"))
		return 2;
	if (parm.parm.capture.timeperframe.numerator &&
	    parm.parm.capture.timeperframe.denominator) {
		nominal = (double)parm.parm.capture.timeperframe.denominator /
			  parm.parm.capture.timeperframe.numerator;
		nominal_ns = (uint64_t)parm.parm.capture.timeperframe.numerator * 1000000000ull /
			     parm.parm.capture.timeperframe.denominator;
	}
	printf("format=%s:%ux%u sizeimage=%u\n", lc_fourcc_str(f.fmt.pix.pixelformat, n),
	       f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.sizeimage);
	printf("nominal_fps=%.3f\n", nominal);
	if (lc_bufs_setup(&bufs, &d, V4L2_BUF_TYPE_VIDEO_CAPTURE, LC_IO_MMAP, nbufs,
			  f.fmt.pix.sizeimage, NULL, &f))
		return 2;
	for (unsigned i = 0; i < bufs.count; i++)
		if (lc_bufs_qbuf(&bufs, i, 0, 0))
			return 2;
	if (lc_streamon(&d, V4L2_BUF_TYPE_VIDEO_CAPTURE))
		return 2;
	t_start = lc_now_ns();
	deadline = t_start + (uint64_t)(seconds * 1e9);
	printf("watching: %s for %.1f s\n", path, seconds);

	for (;;) {
		uint64_t now = lc_now_ns();
		struct v4l2_buffer b;
		struct lc_check_result r;
		char what[48];
		const uint8_t *p;
		uint64_t ts;
		short rev;
		int w;

		if (now >= deadline || lc_stop)
			break;
		w = lc_wait(d.fd, POLLIN, (int)((deadline - now) / 1000000 + 1), &rev);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return lc_err("poll: %s", strerror(errno)), 2;
		if (w == 0)
			continue;
		if (lc_bufs_dqbuf(&bufs, &b, 0))
			return 2;
		now = lc_now_ns();
		ts = (uint64_t)b.timestamp.tv_sec * 1000000000ull +
		     (uint64_t)b.timestamp.tv_usec * 1000ull;
		if (received) {
			if (now - t_last > max_gap)
				max_gap = now - t_last;
			/* a frame period skipped, by the buffer timestamps */
			if (nominal_ns && ts > ts_last && ts - ts_last > nominal_ns * 3 / 2)
				long_gaps++;
		} else {
			t_first = now;
			ts_first = ts;
		}
		t_last = now;
		ts_last = ts;
		received++;
		p = bufs.b[b.index].ptr;
		if (b.flags & V4L2_BUF_FLAG_ERROR) {
			errbufs++;
			snprintf(what, sizeof(what), "error-flag");
		} else if (b.bytesused == f.fmt.pix.sizeimage &&
			   is_black(p, b.bytesused, &f.fmt.pix) == 1) {
			black++;
			snprintf(what, sizeof(what), "black");
		} else if (lc_pattern_check(p, b.bytesused, LC_CHECK_FULL, &r) == LC_FRAME_OK &&
			   r.hdr.fourcc == f.fmt.pix.pixelformat &&
			   r.hdr.width == f.fmt.pix.width && r.hdr.height == f.fmt.pix.height &&
			   b.bytesused == f.fmt.pix.sizeimage) {
			int seen = 0;

			test++;
			snprintf(what, sizeof(what), "test %08x:%llu", r.hdr.stream,
				 (unsigned long long)r.hdr.seq);
			for (unsigned k = 0; k < nseq; k++)
				seen |= seqs[k] == ((uint64_t)r.hdr.stream << 32 ^ r.hdr.seq);
			if (!seen && nseq < sizeof(seqs) / sizeof(seqs[0]))
				seqs[nseq++] = (uint64_t)r.hdr.stream << 32 ^ r.hdr.seq;
		} else if (r.status == LC_FRAME_OK) {
			bad++;
			snprintf(what, sizeof(what), "wrongfmt(%s:%ux%u, %u bytes)",
				 lc_fourcc_str(r.hdr.fourcc, n), r.hdr.width, r.hdr.height,
				 b.bytesused);
		} else if (r.status == LC_FRAME_FOREIGN) {
			other++;
			snprintf(what, sizeof(what), "other(%u bytes)", b.bytesused);
		} else {
			bad++;
			snprintf(what, sizeof(what), "bad(%s, %u bytes)",
				 lc_check_status_name(r.status), b.bytesused);
			lc_err("frame %llu: %s", (unsigned long long)received, r.msg);
		}
		if (nruns && strcmp(runs[nruns - 1].what, what) == 0) {
			runs[nruns - 1].count++;
		} else if (nruns < sizeof(runs) / sizeof(runs[0])) {
			snprintf(runs[nruns].what, sizeof(runs[0].what), "%s", what);
			runs[nruns++].count = 1;
		}
		if (lc_bufs_qbuf(&bufs, b.index, 0, 0))
			return 2;
	}
	if (lc_streamoff(&d, V4L2_BUF_TYPE_VIDEO_CAPTURE))
		return 2;
	lc_bufs_release(&bufs);
	lc_dev_close(&d);

	printf("runs:");
	for (unsigned k = 0; k < nruns; k++)
		printf("%s %s x%llu", k ? "," : "", runs[k].what, (unsigned long long)runs[k].count);
	printf("%s\n", nruns == sizeof(runs) / sizeof(runs[0]) ? ", ..." : "");
	printf("last_run=%s\n", nruns ? runs[nruns - 1].what : "none");
	printf("received=%llu black=%llu test=%llu bad=%llu other=%llu error_bufs=%llu "
	       "distinct=%u first_ms=%.0f fps=%.2f max_gap_ms=%.0f ts_fps=%.2f long_gaps=%llu\n",
	       (unsigned long long)received, (unsigned long long)black,
	       (unsigned long long)test, (unsigned long long)bad, (unsigned long long)other,
	       (unsigned long long)errbufs, nseq,
	       received ? (double)(t_first - t_start) / 1e6 : -1.0,
	       received > 1 ? (double)(received - 1) * 1e9 / (double)(t_last - t_first) : 0.0,
	       (double)max_gap / 1e6,
	       received > 1 && ts_last > ts_first ?
		       (double)(received - 1) * 1e9 / (double)(ts_last - ts_first) : 0.0,
	       (unsigned long long)long_gaps);
	return finish();
}

/* ---- follow ------------------------------------------------------------------- */

/*
 * A second handle sleeping in a blocking VIDIOC_DQEVENT for the
 * SOURCE_CHANGE. A driver that slept there holding a lock would hold up
 * the producer's format change and the reader's buffers.
 */
struct event_waiter {
	int fd;
	pthread_t thread;
	int done; /* __atomic */
	int ret, err;
	struct v4l2_event ev;
};

static void *event_waiter_run(void *arg)
{
	struct event_waiter *w = arg;

	w->ret = ioctl(w->fd, VIDIOC_DQEVENT, &w->ev);
	w->err = errno;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int event_waiter_start(struct event_waiter *w, const char *path)
{
	struct v4l2_event_subscription sub = { .type = V4L2_EVENT_SOURCE_CHANGE };

	w->fd = open(path, O_RDWR); /* blocking: DQEVENT sleeps */
	if (w->fd < 0)
		return lc_err("%s: open for the DQEVENT waiter: %s", path, strerror(errno)), -1;
	if (lc_xioctl(w->fd, VIDIOC_SUBSCRIBE_EVENT, &sub) < 0) {
		lc_err("%s: waiter: VIDIOC_SUBSCRIBE_EVENT: %s", path, strerror(errno));
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, event_waiter_run, w)) {
		lc_err("pthread_create failed");
		goto fail;
	}
	return 0;
fail:
	close(w->fd);
	w->fd = -1;
	return -1;
}

/* Did the waiter get the SOURCE_CHANGE within @timeout_ms? */
static void event_waiter_check(struct event_waiter *w, const char *path, uint64_t timeout_ms)
{
	uint64_t until = lc_now_ns() + timeout_ms * 1000000ull;

	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) && lc_now_ns() < until)
		lc_sleep_ms(10);
	if (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		verdict(0, "%s: a second handle's blocking DQEVENT did not return within %llu ms "
			"of the reader's event", path, (unsigned long long)timeout_ms);
		return;
	}
	pthread_join(w->thread, NULL);
	verdict(w->ret == 0 && w->ev.type == V4L2_EVENT_SOURCE_CHANGE,
		"%s: a second handle sleeping in a blocking DQEVENT meanwhile got the "
		"SOURCE_CHANGE too (ret %d, %s, type %u)", path, w->ret,
		w->ret ? strerror(w->err) : "ok", w->ev.type);
	close(w->fd);
}

struct follow {
	struct lc_dev d;
	struct lc_bufs bufs;
	struct v4l2_format fmt;
	int streaming;
};

static int follow_start(struct follow *fw, unsigned nbufs)
{
	if (lc_bufs_setup(&fw->bufs, &fw->d, V4L2_BUF_TYPE_VIDEO_CAPTURE, LC_IO_MMAP, nbufs,
			  fw->fmt.fmt.pix.sizeimage, NULL, &fw->fmt))
		return -1;
	for (unsigned i = 0; i < fw->bufs.count; i++)
		if (lc_bufs_qbuf(&fw->bufs, i, 0, 0))
			return -1;
	if (lc_streamon(&fw->d, V4L2_BUF_TYPE_VIDEO_CAPTURE))
		return -1;
	fw->streaming = 1;
	return 0;
}

static int follow_stop(struct follow *fw)
{
	struct v4l2_requestbuffers rb;

	if (lc_streamoff(&fw->d, V4L2_BUF_TYPE_VIDEO_CAPTURE))
		return -1;
	fw->streaming = 0;
	lc_bufs_release(&fw->bufs);
	memset(&rb, 0, sizeof(rb));
	rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	rb.memory = V4L2_MEMORY_MMAP;
	return LC_IOCTL(&fw->d, VIDIOC_REQBUFS, &rb, "CAPTURE count=0");
}

/*
 * Checks a dequeued frame against format (f, w, h): exact size, whole test
 * pattern, header format. 1 good, 0 not (reported as a failure with label).
 */
static int follow_frame_ok(const uint8_t *p, uint32_t bytesused, const struct lc_format *f,
			   uint32_t w, uint32_t h, const char *label)
{
	struct lc_check_result r;
	size_t size = lc_frame_size(f, w, h);
	char n[8];

	if (bytesused != size) {
		verdict(0, "%s: bytesused %u, a %s %ux%u frame has %zu", label, bytesused, f->name,
			w, h, size);
		return 0;
	}
	if (lc_pattern_check(p, bytesused, LC_CHECK_FULL, &r) != LC_FRAME_OK) {
		verdict(0, "%s: frame not whole: %s", label, r.msg);
		return 0;
	}
	if (r.hdr.fourcc != f->fourcc || r.hdr.width != w || r.hdr.height != h) {
		verdict(0, "%s: frame %llu was sent as %s %ux%u, buffers are for %s %ux%u", label,
			(unsigned long long)r.hdr.seq, lc_fourcc_str(r.hdr.fourcc, n), r.hdr.width,
			r.hdr.height, f->name, w, h);
		return 0;
	}
	return 1;
}

static int cmd_follow(int argc, char **argv)
{
	static struct follow fw;
	const char *path = NULL;
	const struct lc_format *of = NULL, *nf = NULL;
	uint32_t ow = 0, oh = 0, nw = 0, nh = 0;
	uint64_t min_old = 5, new_frames = 20, after_ms = 1000, timeout_ms = 10000;
	uint64_t wait_capture_ms = 0;
	uint64_t old_before = 0, old_after = 0, got_new = 0, events = 0;
	struct v4l2_event_subscription sub;
	static struct event_waiter waiter;
	struct v4l2_event ev;
	char err[300], n[8];

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--old") == 0 && v) {
			if (lc_parse_format_size(v, &of, &ow, &oh, err, sizeof(err)))
				return lc_err("--old: %s", err), 2;
			i++;
		} else if (strcmp(a, "--new") == 0 && v) {
			if (lc_parse_format_size(v, &nf, &nw, &nh, err, sizeof(err)))
				return lc_err("--new: %s", err), 2;
			i++;
		} else if (strcmp(a, "--min-old") == 0 && v) {
			min_old = strtoull(v, NULL, 0), i++;
		} else if (strcmp(a, "--new-frames") == 0 && v) {
			new_frames = strtoull(v, NULL, 0), i++;
		} else if (strcmp(a, "--after-ms") == 0 && v) {
			after_ms = strtoull(v, NULL, 0), i++;
		} else if (strcmp(a, "--timeout-ms") == 0 && v) {
			timeout_ms = strtoull(v, NULL, 0), i++;
		} else if (strcmp(a, "--wait-capture-ms") == 0 && v) {
			wait_capture_ms = strtoull(v, NULL, 0), i++;
		} else if (!path && a[0] != '-') {
			path = a;
		} else {
			return lc_err("follow: unexpected '%s'", a), 2;
		}
	}
	if (!path || !of || !nf)
		return lc_err("follow: DEVICE --old F:WxH --new F:WxH required"), 2;
	if (lc_frame_size(of, ow, oh) < LC_HDR_SIZE || lc_frame_size(nf, nw, nh) < LC_HDR_SIZE)
		return lc_err("follow: raw formats big enough for the test header only"), 2;
	if (open_dev(&fw.d, path, O_RDWR))
		return 2;
	{
		uint64_t until = lc_now_ns() + wait_capture_ms * 1000000ull;

		while (!(fw.d.caps & V4L2_CAP_VIDEO_CAPTURE) && lc_now_ns() < until) {
			lc_sleep_ms(20);
			if (LC_IOCTL(&fw.d, VIDIOC_QUERYCAP, &fw.d.cap, "%s", ""))
				return 2;
			fw.d.caps = fw.d.cap.device_caps;
		}
	}

	/* 1. subscribe, old format, stream */
	memset(&sub, 0, sizeof(sub));
	sub.type = V4L2_EVENT_SOURCE_CHANGE;
	if (lc_xioctl(fw.d.fd, VIDIOC_SUBSCRIBE_EVENT, &sub) < 0) {
		verdict(0, "%s: VIDIOC_SUBSCRIBE_EVENT(V4L2_EVENT_SOURCE_CHANGE) failed: %s "
			"(device_caps 0x%08x)", path, errname(errno), fw.d.caps);
		return finish();
	}
	verdict(1, "%s: reader subscribed to V4L2_EVENT_SOURCE_CHANGE", path);
	if (event_waiter_start(&waiter, path))
		return 2;
	fw.fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (LC_IOCTL(&fw.d, VIDIOC_G_FMT, &fw.fmt, "CAPTURE"))
		return 2;
	if (fw.fmt.fmt.pix.pixelformat != of->fourcc || fw.fmt.fmt.pix.width != ow ||
	    fw.fmt.fmt.pix.height != oh) {
		verdict(0, "%s: G_FMT before the change is %s %ux%u, expected %s %ux%u", path,
			lc_fourcc_str(fw.fmt.fmt.pix.pixelformat, n), fw.fmt.fmt.pix.width,
			fw.fmt.fmt.pix.height, of->name, ow, oh);
		return finish();
	}
	if (follow_start(&fw, 4))
		return 2;
	printf("streaming: %s %ux%u, waiting for frames and the event\n", of->name, ow, oh);

	/* 2. old frames until the event */
	for (;;) {
		struct v4l2_buffer b;
		short rev = 0;
		int w = lc_wait(fw.d.fd, POLLIN | POLLPRI, (int)timeout_ms, &rev);

		if (w <= 0) {
			verdict(0, "%s: neither a frame nor an event within %llu ms (%llu old frames "
				"so far)", path, (unsigned long long)timeout_ms,
				(unsigned long long)old_before);
			return finish();
		}
		if (rev & POLLPRI)
			break;
		if (lc_bufs_dqbuf(&fw.bufs, &b, 0))
			return 2;
		if (!follow_frame_ok(fw.bufs.b[b.index].ptr, b.bytesused, of, ow, oh,
				     "before the event"))
			return finish();
		old_before++;
		if (lc_bufs_qbuf(&fw.bufs, b.index, 0, 0))
			return 2;
	}
	memset(&ev, 0, sizeof(ev));
	if (LC_IOCTL(&fw.d, VIDIOC_DQEVENT, &ev, "after POLLPRI"))
		return 2;
	events++;
	verdict(ev.type == V4L2_EVENT_SOURCE_CHANGE &&
			ev.u.src_change.changes == V4L2_EVENT_SRC_CH_RESOLUTION,
		"%s: POLLPRI, DQEVENT gave type %u (SOURCE_CHANGE is %u) changes 0x%x "
		"(RESOLUTION is 0x%x)", path, ev.type, V4L2_EVENT_SOURCE_CHANGE,
		ev.u.src_change.changes, V4L2_EVENT_SRC_CH_RESOLUTION);
	verdict(old_before >= min_old, "%s: %llu whole %s %ux%u frames before the event (at "
		"least %llu)", path, (unsigned long long)old_before, of->name, ow, oh,
		(unsigned long long)min_old);
	event_waiter_check(&waiter, path, timeout_ms);

	/* 3. the old buffers stay queued while new-format frames flow: whatever
	 * comes out must still be a whole old-format frame */
	{
		uint64_t until = lc_now_ns() + after_ms * 1000000ull;
		int ok = 1;

		while (lc_now_ns() < until) {
			struct v4l2_buffer b;
			short rev = 0;
			int w = lc_wait(fw.d.fd, POLLIN | POLLPRI,
					(int)((until - lc_now_ns()) / 1000000 + 1), &rev);

			if (w <= 0)
				continue;
			if (rev & POLLPRI) {
				if (lc_xioctl(fw.d.fd, VIDIOC_DQEVENT, &ev) == 0)
					events++;
				continue;
			}
			if (!(rev & POLLIN))
				continue;
			if (lc_bufs_dqbuf(&fw.bufs, &b, 0))
				return 2;
			ok &= follow_frame_ok(fw.bufs.b[b.index].ptr, b.bytesused, of, ow, oh,
					      "old buffers after the event");
			old_after++;
			if (lc_bufs_qbuf(&fw.bufs, b.index, 0, 0))
				return 2;
		}
		verdict(ok, "%s: for %llu ms after the event the old %s %ux%u buffers got no "
			"new-format frame (%llu old frame(s) dequeued, completed before the "
			"change)", path, (unsigned long long)after_ms, of->name, ow, oh,
			(unsigned long long)old_after);
	}

	/* 4. restart with the new format */
	if (follow_stop(&fw))
		return 2;
	memset(&fw.fmt, 0, sizeof(fw.fmt));
	fw.fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (LC_IOCTL(&fw.d, VIDIOC_G_FMT, &fw.fmt, "CAPTURE"))
		return 2;
	if (fw.fmt.fmt.pix.pixelformat != nf->fourcc || fw.fmt.fmt.pix.width != nw ||
	    fw.fmt.fmt.pix.height != nh || fw.fmt.fmt.pix.sizeimage != lc_frame_size(nf, nw, nh) ||
	    fw.fmt.fmt.pix.bytesperline != lc_bytesperline(nf, nw)) {
		verdict(0, "%s: G_FMT after the event is %s %ux%u bytesperline %u sizeimage %u, "
			"expected %s %ux%u bytesperline %u sizeimage %zu", path,
			lc_fourcc_str(fw.fmt.fmt.pix.pixelformat, n), fw.fmt.fmt.pix.width,
			fw.fmt.fmt.pix.height, fw.fmt.fmt.pix.bytesperline,
			fw.fmt.fmt.pix.sizeimage, nf->name, nw, nh, lc_bytesperline(nf, nw),
			lc_frame_size(nf, nw, nh));
		return finish();
	}
	verdict(1, "%s: G_FMT after the event is %s %ux%u, sizeimage %u", path, nf->name, nw, nh,
		fw.fmt.fmt.pix.sizeimage);
	if (follow_start(&fw, 4))
		return 2;
	verdict(1, "%s: STREAMOFF, REQBUFS(0), REQBUFS(4), STREAMON with the new format", path);
	while (got_new < new_frames) {
		struct v4l2_buffer b;
		short rev = 0;
		int w = lc_wait(fw.d.fd, POLLIN | POLLPRI, (int)timeout_ms, &rev);

		if (w <= 0) {
			verdict(0, "%s: only %llu new-format frames, then none for %llu ms", path,
				(unsigned long long)got_new, (unsigned long long)timeout_ms);
			return finish();
		}
		if (rev & POLLPRI) {
			if (lc_xioctl(fw.d.fd, VIDIOC_DQEVENT, &ev) == 0)
				events++;
			continue;
		}
		if (lc_bufs_dqbuf(&fw.bufs, &b, 0))
			return 2;
		if (!follow_frame_ok(fw.bufs.b[b.index].ptr, b.bytesused, nf, nw, nh,
				     "after the restart"))
			return finish();
		got_new++;
		if (lc_bufs_qbuf(&fw.bufs, b.index, 0, 0))
			return 2;
	}
	verdict(1, "%s: %llu whole %s %ux%u frames after the restart", path,
		(unsigned long long)got_new, nf->name, nw, nh);
	follow_stop(&fw);
	lc_dev_close(&fw.d);
	printf("old_before=%llu old_after=%llu new=%llu events=%llu\n",
	       (unsigned long long)old_before, (unsigned long long)old_after,
	       (unsigned long long)got_new, (unsigned long long)events);
	return finish();
}

/* ---- main --------------------------------------------------------------------- */

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: lc-probe COMMAND ...\n"
"  caps [--rdonly] DEV         QUERYCAP: driver= card= bus_info= device_caps=\n"
"                              capabilities= dir=capture|output|both|none\n"
"  enum [--type cap|out] DEV   fmts= framesizes.F= frameintervals.F.WxH= g_fmt= g_parm=\n"
"  ops [-k] [--rdonly] [--stream-id N] DEV OP[=ERR]...\n"
"                              ioctls on one handle; each must give ERR (errno name,\n"
"                              default ok); stops at the first mismatch unless -k.\n"
"      OPs: caps:DIR  querycap  g_fmt:T[:F:WxH]  s_fmt:out:F:WxH  s_parm:out:N/D\n"
"           g_parm:T[:N/D]  reqbufs:T:N  streamon:T  streamoff:T  write:N[:FPS]\n"
"           writeraw:BYTES  subscribe:source_change  sleep:MS  reopen  open-many:N\n"
"           close-many  wait-readers:N[:MS]  expbuf:T:INDEX (fd kept open)\n"
"           (T = cap|out; write sends N test frames of the current OUTPUT format,\n"
"           N = 0: until SIGTERM/SIGINT, after which the remaining ops run)\n"
"  ctl [-k] [--ctl PATH] OP[=ERR]...   on /dev/v4l2loopback:\n"
"      version  add:NR[:LABEL]  remove:NR  query:NR[:LABEL]  (and *-legacy numbers)\n"
"  watch [-t SECONDS] [-b N] DEV   stream and classify frames: black, test STREAM:SEQ,\n"
"                              bad, other; prints runs, counts, fps, first_ms\n"
"                              (SIGTERM/SIGINT end it early, with the summary)\n"
"  follow DEV --old F:WxH --new F:WxH [--min-old N] [--new-frames N] [--after-ms MS]\n"
"         [--timeout-ms MS] [--wait-capture-ms MS]\n"
"                              reader across a format change (SOURCE_CHANGE event)\n"
"Exit 0 pass, 1 a check failed, 2 usage or device error.\n");
}

int main(int argc, char **argv)
{
	lc_prog = "lc-probe";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "caps") == 0)
		return cmd_caps(argc - 2, argv + 2);
	if (strcmp(argv[1], "enum") == 0)
		return cmd_enum(argc - 2, argv + 2);
	if (strcmp(argv[1], "ops") == 0)
		return cmd_ops(argc - 2, argv + 2);
	if (strcmp(argv[1], "ctl") == 0)
		return cmd_ctl(argc - 2, argv + 2);
	if (strcmp(argv[1], "watch") == 0)
		return cmd_watch(argc - 2, argv + 2);
	if (strcmp(argv[1], "follow") == 0)
		return cmd_follow(argc - 2, argv + 2);
	usage(stderr);
	return 2;
}
