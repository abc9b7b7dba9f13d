// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fakev4l2.so: an LD_PRELOAD stand-in for a V4L2 loopback node, so that
 * lc-produce and lc-consume can be run on the build host (no module can be
 * loaded there). It is a test double, not a driver model: just enough of the
 * V4L2 single-planar API for the programs' code paths.
 *
 * Paths under /fake/ are fake nodes:
 *   /fake/capture*  capture node: frames of the test pattern are made on
 *                   DQBUF/read(), optionally with faults
 *   /fake/output*   output node: every frame written or queued is checked
 *   /fake/donor*    output node used as DMABUF donor (EXPBUF of MMAP buffers)
 *   /fake/control   control device: LOOPCAM_CTL_ADD answers output node
 *                   FAKE_V4L2_ADD_NR (default 7), capture node +1 when
 *                   split; V4L2LOOPBACK_CTL_REMOVE succeeds (both logged)
 * Environment:
 *   FAKE_V4L2_FMT=FOURCC:WxH      capture format (default YUYV:640x480)
 *   FAKE_V4L2_FRAMES=N            capture: frames available (default 100),
 *                                 then poll() times out
 *   FAKE_V4L2_FIRST_MS=N          capture: the first frame is there N ms
 *                                 after open() (a producer slow to start)
 *   FAKE_V4L2_FAULTS=kind@N,...   capture faults at producer frame N:
 *       drop (frame never delivered, v4l2 sequence skips), torn (bytes from
 *       4096 on are from frame N+1), short (bytesused - 1), seqskip (v4l2
 *       sequence jumps without a missed frame), dup (frame N-1 again),
 *       tsback (timestamp before the previous), foreign (all zero),
 *       errflag (V4L2_BUF_FLAG_ERROR), stall (poll() times out once)
 *   FAKE_V4L2_TS=zero             capture: timestamps 0 (else producer time)
 *   FAKE_V4L2_PATTERN=bars        capture: visual pattern instead of test
 *   FAKE_V4L2_READERS=N           output: value of the readers control (1)
 *   FAKE_V4L2_CHECK=test|bars     output: how frames are checked (test)
 *   FAKE_V4L2_REPORT=FILE         output: append a key=value line at close
 *   FAKE_V4L2_LOG=FILE            output: append a line per S_FMT, S_PARM,
 *                                 REQBUFS, STREAMON/OFF and frame received
 *                                 (with its buffer number when queued)
 *   FAKE_V4L2_DUMP=FILE           output: the last frame received, raw
 *   FAKE_V4L2_BUSY=1              output: S_FMT, REQBUFS, STREAMON and
 *                                 write() fail with EBUSY (another producer)
 *   FAKE_V4L2_NO_MMAP=1           output: REQBUFS for MMAP fails (EINVAL)
 */
/* define open and open64, mmap and mmap64 as separate symbols */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "frame.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/v4l2loopback.h>
#include <linux/videodev2.h>

#define MAXB 32
#define MAXDEV 8
#define OFF_STEP 0x1000000u

enum kind { K_CAPTURE, K_OUTPUT, K_DONOR, K_CONTROL };

struct fbuf {
	int memfd; /* MMAP memory */
	uint8_t *mem;
	size_t len;
	int queued, done;
	uint32_t bytesused;
	struct timeval ts;
	uint32_t sequence, flags;
	unsigned long userptr;
	int dmafd;
};

struct fdev {
	int fd; /* real fd (of /dev/null) standing for the node, -1 = free */
	enum kind kind;
	char path[64];
	struct v4l2_pix_format pix;
	const struct lc_format *f;
	uint32_t memory, type;
	unsigned nbufs;
	struct fbuf b[MAXB];
	int streaming;
	/* capture */
	uint64_t next_seq, frames, delivered;
	uint32_t seq_offset;
	uint64_t last_ts_ns;
	int stall_pending;
	uint64_t first_ns; /* no frame before this time */
	/* output */
	uint8_t *acc; /* write() accumulation */
	size_t acc_len;
	uint64_t out_frames, out_ok, out_torn, out_bad_size, out_foreign;
	struct lc_seqtrack track;
	int check_bars;
};

static struct fdev devs[MAXDEV];
static int inited;

static int (*real_open)(const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_poll)(struct pollfd *, nfds_t, int);

static void init(void)
{
	if (inited)
		return;
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	real_mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
	real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_poll = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
	for (int i = 0; i < MAXDEV; i++)
		devs[i].fd = -1;
	inited = 1;
}

static struct fdev *dev_of(int fd)
{
	init();
	for (int i = 0; i < MAXDEV; i++)
		if (devs[i].fd == fd && fd >= 0)
			return &devs[i];
	return NULL;
}

/* Is fd an exported buffer? */
static int is_dmafd(int fd)
{
	for (int i = 0; i < MAXDEV; i++)
		for (unsigned j = 0; devs[i].fd >= 0 && j < devs[i].nbufs; j++)
			if (devs[i].b[j].dmafd == fd)
				return 1;
	return 0;
}

static const char *env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* Returns 1 if FAKE_V4L2_FAULTS has kind@n. */
static int fault(const char *kind, uint64_t n)
{
	char want[64];
	const char *s = env("FAKE_V4L2_FAULTS", "");
	size_t wl;

	snprintf(want, sizeof(want), "%s@%llu", kind, (unsigned long long)n);
	wl = strlen(want);
	while (*s) {
		size_t l = strcspn(s, ",");

		if (l == wl && !strncmp(s, want, l))
			return 1;
		s += l;
		if (*s == ',')
			s++;
	}
	return 0;
}

static void set_pix(struct fdev *d, uint32_t fourcc, uint32_t w, uint32_t h, uint32_t sizeimage)
{
	d->f = lc_format_by_fourcc(fourcc);
	if (!d->f)
		d->f = lc_format_by_fourcc(V4L2_PIX_FMT_YUYV);
	memset(&d->pix, 0, sizeof(d->pix));
	d->pix.width = w;
	d->pix.height = h;
	d->pix.pixelformat = d->f->fourcc;
	d->pix.field = V4L2_FIELD_NONE;
	d->pix.bytesperline = lc_bytesperline(d->f, w);
	d->pix.sizeimage = (uint32_t)lc_frame_size(d->f, w, h);
	if (lc_format_is_compressed(d->f))
		d->pix.sizeimage = sizeimage ? sizeimage : w * h * 2;
	d->pix.colorspace = V4L2_COLORSPACE_SMPTE170M;
}

static int new_dev(const char *path)
{
	struct fdev *d = NULL;
	int fd;

	for (int i = 0; i < MAXDEV; i++)
		if (devs[i].fd < 0) {
			d = &devs[i];
			break;
		}
	if (!d) {
		errno = EMFILE;
		return -1;
	}
	fd = real_open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->kind = !strncmp(path, "/fake/capture", 13) ? K_CAPTURE :
		  !strncmp(path, "/fake/donor", 11) ? K_DONOR :
		  !strcmp(path, "/fake/control") ? K_CONTROL : K_OUTPUT;
	d->type = d->kind == K_CAPTURE ? V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
	for (int i = 0; i < MAXB; i++) {
		d->b[i].memfd = -1;
		d->b[i].dmafd = -1;
	}
	lc_seqtrack_init(&d->track);
	d->check_bars = !strcmp(env("FAKE_V4L2_CHECK", "test"), "bars");
	{
		const struct lc_format *f;
		uint32_t w, h;
		char err[256];

		if (lc_parse_format_size(env("FAKE_V4L2_FMT", "YUYV:640x480"), &f, &w, &h, err,
					 sizeof(err))) {
			fprintf(stderr, "fakev4l2: FAKE_V4L2_FMT: %s\n", err);
			f = lc_format_by_fourcc(V4L2_PIX_FMT_YUYV);
			w = 640;
			h = 480;
		}
		set_pix(d, f->fourcc, w, h, 0);
	}
	d->frames = strtoull(env("FAKE_V4L2_FRAMES", "100"), NULL, 0);
	d->first_ns = lc_now_ns() + strtoull(env("FAKE_V4L2_FIRST_MS", "0"), NULL, 0) * 1000000ull;
	return fd;
}

static void free_bufs(struct fdev *d)
{
	for (unsigned i = 0; i < d->nbufs; i++) {
		struct fbuf *b = &d->b[i];

		if (b->mem && b->memfd >= 0)
			munmap(b->mem, b->len);
		if (b->memfd >= 0)
			real_close(b->memfd);
		if (b->dmafd >= 0 && d->memory == V4L2_MEMORY_DMABUF && b->mem)
			munmap(b->mem, b->len);
		memset(b, 0, sizeof(*b));
		b->memfd = -1;
		b->dmafd = -1;
	}
	d->nbufs = 0;
}

static void report(struct fdev *d)
{
	const char *file = getenv("FAKE_V4L2_REPORT");
	FILE *fp;

	if (d->kind != K_OUTPUT)
		return;
	fprintf(stderr, "fakev4l2: %s: frames=%llu ok=%llu torn=%llu bad_size=%llu "
		"foreign=%llu missed=%llu out_of_order=%llu\n", d->path,
		(unsigned long long)d->out_frames, (unsigned long long)d->out_ok,
		(unsigned long long)d->out_torn, (unsigned long long)d->out_bad_size,
		(unsigned long long)d->out_foreign, (unsigned long long)d->track.missed,
		(unsigned long long)d->track.out_of_order);
	if (file && (fp = fopen(file, "a"))) {
		fprintf(fp, "frames=%llu ok=%llu torn=%llu bad_size=%llu foreign=%llu missed=%llu "
			"out_of_order=%llu first_seq=%llu\n",
			(unsigned long long)d->out_frames, (unsigned long long)d->out_ok,
			(unsigned long long)d->out_torn, (unsigned long long)d->out_bad_size,
			(unsigned long long)d->out_foreign, (unsigned long long)d->track.missed,
			(unsigned long long)d->track.out_of_order,
			(unsigned long long)d->track.first_seq);
		fclose(fp);
	}
}

/* FAKE_V4L2_LOG: one line per event on an output node. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void log_event(struct fdev *d, const char *fmt, ...)
{
	const char *file = getenv("FAKE_V4L2_LOG");
	va_list ap;
	FILE *fp;

	if (!file || !*file || (d->kind != K_OUTPUT && d->kind != K_CONTROL) ||
	    !(fp = fopen(file, "a")))
		return;
	fprintf(fp, "%s ", d->path);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fclose(fp);
}

/* FAKE_V4L2_DUMP: keep the last frame the producer sent (replaced whole). */
static void dump_frame(const uint8_t *p, size_t len)
{
	const char *file = getenv("FAKE_V4L2_DUMP");
	char tmp[4096];
	FILE *fp;

	if (!file || !*file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if (!(fp = fopen(tmp, "w")))
		return;
	fwrite(p, 1, len, fp);
	fclose(fp);
	rename(tmp, file);
}

static int output_busy(struct fdev *d)
{
	return d->kind == K_OUTPUT && atoi(env("FAKE_V4L2_BUSY", "0"));
}

/* Output side: check one frame the producer sent, in @index (-1: write()). */
static void consume_output(struct fdev *d, const uint8_t *p, size_t len, int index)
{
	d->out_frames++;
	dump_frame(p, len); /* first: a reader of the log finds the frame */
	if (index >= 0)
		log_event(d, "frame %llu bytes=%zu buffer=%d", (unsigned long long)d->out_frames,
			  len, index);
	else
		log_event(d, "frame %llu bytes=%zu", (unsigned long long)d->out_frames, len);
	if (d->check_bars) {
		uint32_t seq;
		size_t fs = lc_frame_size(d->f, d->pix.width, d->pix.height);
		uint8_t *exp = malloc(fs);

		if (len != fs) {
			d->out_bad_size++;
		} else if (lc_bars_decode(p, d->f, d->pix.width, d->pix.height, &seq)) {
			d->out_foreign++;
		} else {
			lc_bars_fill(exp, d->f, d->pix.width, d->pix.height, seq);
			if (memcmp(exp, p, fs))
				d->out_torn++;
			else
				d->out_ok++;
			lc_seqtrack_frame(&d->track, 0, seq, 0, 0, 0);
		}
		free(exp);
		return;
	}
	{
		struct lc_check_result r;
		enum lc_check_status s = lc_pattern_check(p, len, LC_CHECK_FULL, &r);
		size_t fs = lc_frame_size(d->f, d->pix.width, d->pix.height);

		if (s == LC_FRAME_OK && fs && len != fs)
			s = LC_FRAME_BAD_SIZE;
		switch (s) {
		case LC_FRAME_OK:
			d->out_ok++;
			break;
		case LC_FRAME_BAD_SIZE:
			d->out_bad_size++;
			break;
		case LC_FRAME_FOREIGN:
			d->out_foreign++;
			break;
		default:
			d->out_torn++;
			fprintf(stderr, "fakev4l2: %s\n", r.msg);
		}
		if (s == LC_FRAME_OK || s == LC_FRAME_TORN)
			lc_seqtrack_frame(&d->track, r.hdr.stream, r.hdr.seq, 0, 0, 0);
	}
}

/* Capture side: make the next frame into p (len bytes available). */
static uint32_t produce_capture(struct fdev *d, uint8_t *p, size_t len, uint32_t *sequence,
				struct timeval *tv, uint32_t *flags)
{
	size_t fs = d->pix.sizeimage;
	uint64_t n = d->next_seq;
	struct lc_frame_hdr h = { 0 };
	uint64_t ts;
	int bars;

	if (fault("drop", n))
		n = ++d->next_seq;
	if (fault("seqskip", n))
		d->seq_offset++;
	h.stream = 0x5eed;
	h.seq = fault("dup", n) && n ? n - 1 : n;
	h.send_ns = lc_now_ns();
	h.size = (uint32_t)fs;
	h.fourcc = d->f->fourcc;
	h.width = d->pix.width;
	h.height = d->pix.height;
	if (fs > len)
		fs = len;
	if (lc_format_is_compressed(d->f))
		h.size = (uint32_t)fs;
	bars = !strcmp(env("FAKE_V4L2_PATTERN", "test"), "bars") && !lc_format_is_compressed(d->f);
	if (bars)
		lc_bars_fill(p, d->f, d->pix.width, d->pix.height, (uint32_t)h.seq);
	else
		lc_pattern_fill(p, fs, &h);
	if (fault("torn", n) && fs > 4096) {
		uint8_t *tmp = malloc(fs);

		h.seq++;
		if (bars)
			lc_bars_fill(tmp, d->f, d->pix.width, d->pix.height, (uint32_t)h.seq);
		else
			lc_pattern_fill(tmp, fs, &h);
		memcpy(p + 4096, tmp + 4096, fs - 4096);
		free(tmp);
	}
	if (fault("foreign", n))
		memset(p, 0, fs);
	*flags = V4L2_BUF_FLAG_TIMESTAMP_COPY | V4L2_BUF_FLAG_DONE;
	if (fault("errflag", n))
		*flags |= V4L2_BUF_FLAG_ERROR;
	ts = !strcmp(env("FAKE_V4L2_TS", "copy"), "zero") ? 0 : h.send_ns;
	if (fault("tsback", n))
		ts = d->last_ts_ns - 1000000;
	d->last_ts_ns = ts;
	tv->tv_sec = (time_t)(ts / 1000000000ull);
	tv->tv_usec = (suseconds_t)(ts / 1000 % 1000000);
	*sequence = (uint32_t)n + d->seq_offset;
	d->next_seq = n + 1;
	d->delivered++;
	if (fault("stall", d->next_seq))
		d->stall_pending = 1;
	return (uint32_t)(fault("short", n) ? fs - 1 : fs);
}

/* Before FAKE_V4L2_FIRST_MS: waits up to @timeout ms (-1: all of it) for it. */
static int first_frame_wait(struct fdev *d, int timeout)
{
	uint64_t now = lc_now_ns(), wait;
	struct timespec ts;

	if (d->delivered || now >= d->first_ns)
		return 1;
	wait = d->first_ns - now;
	if (timeout >= 0 && wait > (uint64_t)timeout * 1000000ull)
		wait = (uint64_t)timeout * 1000000ull;
	ts.tv_sec = (time_t)(wait / 1000000000ull);
	ts.tv_nsec = (long)(wait % 1000000000ull);
	nanosleep(&ts, NULL);
	return lc_now_ns() >= d->first_ns;
}

static int capture_ready(struct fdev *d)
{
	if (d->delivered >= d->frames || d->stall_pending ||
	    (!d->delivered && lc_now_ns() < d->first_ns))
		return 0;
	if (!d->streaming)
		return d->nbufs == 0; /* read() */
	for (unsigned i = 0; i < d->nbufs; i++)
		if (d->b[i].queued)
			return 1;
	return 0;
}

static uint8_t *buf_ptr(struct fdev *d, struct fbuf *b)
{
	if (d->memory == V4L2_MEMORY_USERPTR)
		return (uint8_t *)b->userptr;
	return b->mem;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

/* The control device: creates and removes (pretend) devices. */
static int control_ioctl(struct fdev *d, unsigned long req, void *arg)
{
	switch (req) {
	case LOOPCAM_CTL_ADD: {
		struct loopcam_device_config *c = arg;

		if (c->magic != LOOPCAM_CONFIG_MAGIC || c->size != sizeof(*c))
			return fail(EINVAL);
		c->output_nr = atoi(env("FAKE_V4L2_ADD_NR", "7"));
		c->capture_nr = c->flags & LOOPCAM_FLAG_SPLIT ? c->output_nr + 1 : -1;
		log_event(d, "ctl_add label=%.32s flags=%u output=%d capture=%d", c->card_label,
			  c->flags, c->output_nr, c->capture_nr);
		return 0;
	}
	case V4L2LOOPBACK_CTL_REMOVE:
		log_event(d, "ctl_remove %lu", (unsigned long)arg);
		return 0;
	default:
		return fail(ENOTTY);
	}
}

static int do_ioctl(struct fdev *d, unsigned long req, void *arg)
{
	if (d->kind == K_CONTROL)
		return control_ioctl(d, req, arg);
	switch (req) {
	case VIDIOC_QUERYCAP: {
		struct v4l2_capability *c = arg;

		memset(c, 0, sizeof(*c));
		snprintf((char *)c->driver, sizeof(c->driver), "fakev4l2");
		snprintf((char *)c->card, sizeof(c->card), "fake %.26s", d->path);
		snprintf((char *)c->bus_info, sizeof(c->bus_info), "platform:fake");
		c->version = 0x060100;
		c->device_caps = (d->kind == K_CAPTURE ? V4L2_CAP_VIDEO_CAPTURE :
							 V4L2_CAP_VIDEO_OUTPUT) |
				 V4L2_CAP_READWRITE | V4L2_CAP_STREAMING;
		c->capabilities = c->device_caps | V4L2_CAP_DEVICE_CAPS;
		return 0;
	}
	case VIDIOC_G_FMT:
	case VIDIOC_S_FMT:
	case VIDIOC_TRY_FMT: {
		struct v4l2_format *f = arg;

		if (f->type != d->type)
			return fail(EINVAL);
		if (req == VIDIOC_S_FMT) {
			if (d->kind == K_CAPTURE)
				return fail(EBUSY);
			if (d->nbufs || output_busy(d))
				return fail(EBUSY);
			set_pix(d, f->fmt.pix.pixelformat, f->fmt.pix.width, f->fmt.pix.height,
				f->fmt.pix.sizeimage);
			log_event(d, "s_fmt %.4s %ux%u sizeimage=%u", (const char *)&d->pix.pixelformat,
				  d->pix.width, d->pix.height, d->pix.sizeimage);
		}
		f->fmt.pix = d->pix;
		return 0;
	}
	case VIDIOC_S_PARM:
	case VIDIOC_G_PARM: {
		struct v4l2_streamparm *p = arg;

		if (p->type != d->type)
			return fail(EINVAL);
		if (req == VIDIOC_G_PARM || !p->parm.output.timeperframe.denominator) {
			p->parm.output.timeperframe.numerator = 1;
			p->parm.output.timeperframe.denominator = 30;
		} else {
			log_event(d, "s_parm %u/%u", p->parm.output.timeperframe.numerator,
				  p->parm.output.timeperframe.denominator);
		}
		p->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
		return 0;
	}
	case VIDIOC_G_CTRL: {
		struct v4l2_control *c = arg;

		if (c->id != LOOPCAM_CID_READERS)
			return fail(EINVAL);
		c->value = atoi(env("FAKE_V4L2_READERS", "1"));
		return 0;
	}
	case VIDIOC_REQBUFS: {
		struct v4l2_requestbuffers *r = arg;

		if (r->type != d->type || d->streaming)
			return fail(r->type != d->type ? EINVAL : EBUSY);
		if (output_busy(d))
			return fail(EBUSY);
		if (d->kind == K_OUTPUT && r->memory == V4L2_MEMORY_MMAP && r->count &&
		    atoi(env("FAKE_V4L2_NO_MMAP", "0")))
			return fail(EINVAL);
		log_event(d, "reqbufs %u memory=%u", r->count, r->memory);
		free_bufs(d);
		d->memory = r->memory;
		if (r->count > MAXB)
			r->count = MAXB;
		d->nbufs = r->count;
		for (unsigned i = 0; i < d->nbufs; i++) {
			struct fbuf *b = &d->b[i];

			b->len = (d->pix.sizeimage + 4095) & ~(size_t)4095;
			if (r->memory == V4L2_MEMORY_MMAP) {
				b->memfd = memfd_create("fakev4l2", MFD_CLOEXEC);
				if (b->memfd < 0 || ftruncate(b->memfd, (off_t)b->len))
					return fail(ENOMEM);
				b->mem = real_mmap(NULL, b->len, PROT_READ | PROT_WRITE, MAP_SHARED,
						   b->memfd, 0);
				if (b->mem == MAP_FAILED)
					return fail(ENOMEM);
			}
		}
		return 0;
	}
	case VIDIOC_QUERYBUF: {
		struct v4l2_buffer *vb = arg;

		if (vb->type != d->type || vb->index >= d->nbufs)
			return fail(EINVAL);
		vb->length = d->pix.sizeimage;
		vb->m.offset = vb->index * OFF_STEP;
		vb->memory = d->memory;
		vb->flags = d->b[vb->index].queued ? V4L2_BUF_FLAG_QUEUED : 0;
		return 0;
	}
	case VIDIOC_EXPBUF: {
		struct v4l2_exportbuffer *e = arg;

		if (e->type != d->type || e->index >= d->nbufs || d->memory != V4L2_MEMORY_MMAP)
			return fail(EINVAL);
		e->fd = fcntl(d->b[e->index].memfd, F_DUPFD_CLOEXEC, 0);
		d->b[e->index].dmafd = e->fd;
		return e->fd < 0 ? -1 : 0;
	}
	case VIDIOC_QBUF: {
		struct v4l2_buffer *vb = arg;
		struct fbuf *b;

		if (vb->type != d->type || vb->index >= d->nbufs || vb->memory != d->memory)
			return fail(EINVAL);
		b = &d->b[vb->index];
		if (b->queued)
			return fail(EINVAL);
		if (d->memory == V4L2_MEMORY_USERPTR) {
			if (!vb->m.userptr || vb->length < d->pix.sizeimage)
				return fail(EINVAL);
			b->userptr = vb->m.userptr;
		} else if (d->memory == V4L2_MEMORY_DMABUF) {
			if (vb->m.fd < 0)
				return fail(EBADF);
			if (b->mem && b->dmafd != vb->m.fd) {
				/* another dmabuf in this buffer: the kernel re-attaches */
				munmap(b->mem, b->len);
				b->mem = NULL;
			}
			if (!b->mem) {
				b->mem = real_mmap(NULL, vb->length, PROT_READ | PROT_WRITE, MAP_SHARED,
						   vb->m.fd, 0);
				if (b->mem == MAP_FAILED) {
					b->mem = NULL;
					return fail(EINVAL);
				}
				b->dmafd = vb->m.fd;
				b->len = vb->length;
			}
		}
		if (d->kind != K_CAPTURE) {
			if (vb->bytesused > d->pix.sizeimage)
				return fail(EINVAL);
			consume_output(d, buf_ptr(d, b), vb->bytesused, (int)vb->index);
			b->done = 1;
			b->bytesused = vb->bytesused;
			b->ts = vb->timestamp;
		} else {
			b->queued = 1;
		}
		b->queued = 1;
		return 0;
	}
	case VIDIOC_DQBUF: {
		struct v4l2_buffer *vb = arg;
		unsigned want = vb->memory;

		if (vb->type != d->type || want != d->memory)
			return fail(EINVAL);
		if (!d->streaming)
			return fail(EINVAL);
		for (unsigned i = 0; i < d->nbufs; i++) {
			struct fbuf *b = &d->b[i];

			if (!b->queued)
				continue;
			if (d->kind != K_CAPTURE) {
				if (!b->done)
					continue;
				b->done = 0;
			} else {
				if (!capture_ready(d))
					return fail(EAGAIN);
				b->bytesused = produce_capture(d, buf_ptr(d, b), d->pix.sizeimage,
							       &b->sequence, &b->ts, &b->flags);
			}
			b->queued = 0;
			memset(vb, 0, sizeof(*vb));
			vb->type = d->type;
			vb->memory = d->memory;
			vb->index = i;
			vb->bytesused = b->bytesused;
			vb->sequence = b->sequence;
			vb->timestamp = b->ts;
			vb->flags = b->flags;
			vb->field = V4L2_FIELD_NONE;
			vb->length = (uint32_t)(d->memory == V4L2_MEMORY_MMAP ? d->pix.sizeimage : b->len);
			if (d->memory == V4L2_MEMORY_USERPTR)
				vb->m.userptr = b->userptr;
			else if (d->memory == V4L2_MEMORY_DMABUF)
				vb->m.fd = b->dmafd;
			else
				vb->m.offset = i * OFF_STEP;
			return 0;
		}
		return fail(EAGAIN);
	}
	case VIDIOC_STREAMON:
	case VIDIOC_STREAMOFF: {
		int t = *(int *)arg;

		if ((uint32_t)t != d->type)
			return fail(EINVAL);
		if (req == VIDIOC_STREAMON && output_busy(d))
			return fail(EBUSY);
		log_event(d, req == VIDIOC_STREAMON ? "streamon" : "streamoff");
		if (req == VIDIOC_STREAMOFF) {
			for (unsigned i = 0; i < d->nbufs; i++)
				d->b[i].queued = d->b[i].done = 0;
		}
		d->streaming = req == VIDIOC_STREAMON;
		return 0;
	}
	default:
		return fail(ENOTTY);
	}
}

static int fake_open(const char *path, int flags, va_list ap)
{
	mode_t mode = 0;

	init();
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	if (path && !strncmp(path, "/fake/", 6))
		return new_dev(path);
	return real_open(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int rc;

	va_start(ap, flags);
	rc = fake_open(path, flags, ap);
	va_end(ap);
	return rc;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int rc;

	va_start(ap, flags);
	rc = fake_open(path, flags, ap);
	va_end(ap);
	return rc;
}

int close(int fd)
{
	struct fdev *d = dev_of(fd);

	if (d) {
		report(d);
		free_bufs(d);
		free(d->acc);
		d->fd = -1;
	}
	return real_close(fd);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct fdev *d = dev_of(fd);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (d)
		return do_ioctl(d, req, arg);
	if (req == DMA_BUF_IOCTL_SYNC && is_dmafd(fd))
		return 0;
	return real_ioctl(fd, req, arg);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct fdev *d = dev_of(fd);

	if (d) {
		unsigned i = (unsigned)(off / OFF_STEP);

		if (off % OFF_STEP || i >= d->nbufs || d->memory != V4L2_MEMORY_MMAP ||
		    len > d->b[i].len) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		return real_mmap(addr, len, prot, flags, d->b[i].memfd, 0);
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

ssize_t read(int fd, void *buf, size_t len)
{
	struct fdev *d = dev_of(fd);
	uint32_t seq, flags;
	struct timeval tv;

	if (!d)
		return real_read(fd, buf, len);
	if (d->kind != K_CAPTURE || d->nbufs)
		return fail(EINVAL);
	if (!capture_ready(d))
		return fail(EAGAIN);
	return produce_capture(d, buf, len, &seq, &tv, &flags);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct fdev *d = dev_of(fd);
	size_t fs, n;

	if (!d)
		return real_write(fd, buf, len);
	if (d->kind == K_CAPTURE || d->nbufs)
		return fail(EINVAL);
	if (output_busy(d))
		return fail(EBUSY);
	fs = lc_format_is_compressed(d->f) ? 0 : d->pix.sizeimage;
	if (!fs) { /* compressed: one write is one frame */
		consume_output(d, buf, len, -1);
		return (ssize_t)len;
	}
	if (!d->acc)
		d->acc = malloc(fs);
	n = len < fs - d->acc_len ? len : fs - d->acc_len;
	memcpy(d->acc + d->acc_len, buf, n);
	d->acc_len += n;
	if (d->acc_len == fs) {
		consume_output(d, d->acc, fs, -1);
		d->acc_len = 0;
	}
	return (ssize_t)n;
}

/* glibc declares poll()'s array write-only; this reads it, as poll does */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct fdev *d = n == 1 ? dev_of(fds[0].fd) : NULL;

	if (!d)
		return real_poll(fds, n, timeout);
	fds[0].revents = 0;
	if (d->kind == K_CAPTURE) {
		if (!first_frame_wait(d, timeout))
			return 0;
		if (capture_ready(d))
			fds[0].revents = POLLIN | POLLRDNORM;
		else if (d->nbufs && !d->streaming)
			fds[0].revents = POLLERR;
	} else {
		fds[0].revents = POLLOUT | POLLWRNORM;
		if (d->streaming && d->nbufs) {
			int any = 0;

			for (unsigned i = 0; i < d->nbufs; i++)
				any |= d->b[i].queued && d->b[i].done;
			if (!any)
				fds[0].revents = 0;
		}
	}
	fds[0].revents &= (short)(fds[0].events | POLLERR);
	if (fds[0].revents)
		return 1;
	if (d->stall_pending) {
		d->stall_pending = 0; /* one timeout, then frames again */
	}
	if (timeout > 0) {
		struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	return 0;
}
