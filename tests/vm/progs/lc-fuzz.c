// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-fuzz: random V4L2 requests, valid and malformed, from several processes
 * at once on a loopback device's nodes, to show that no sequence of them
 * takes the kernel down. The program checks nothing the kernel answers (any
 * error is a fine answer to a silly request); the VM harness fails the run
 * on any oops, WARN, lockdep report, hung task or leak, and the case then
 * checks that the device still works.
 *
 * Each worker keeps a few open handles (always O_NONBLOCK, so that nothing
 * waits) and, from its own seed, sends one request at a time: formats (odd,
 * huge, zero, unknown fourccs), REQBUFS and CREATE_BUFS with every memory
 * type and silly counts, QUERYBUF, mmap (the mapping written to) and munmap,
 * QBUF (wrong index, bytesused, flags; USERPTR to too little memory or to
 * a page nobody may touch; DMABUF with exported and with unrelated fds), DQBUF, STREAMON and
 * STREAMOFF, read() and write() of any size, S_PARM, controls, enumerations,
 * events, EXPBUF, poll, unknown ioctls, NULL and untouchable argument pointers,
 * and closing a handle (mappings and exported fds left alive) to open
 * another. About half the arguments are made valid, so that handles get
 * deep into streaming. With --churn, one more process adds and removes a
 * device through the control device all along; its node is among --node so
 * that workers open it, stream on it and see it go.
 *
 *   lc-fuzz --node PATH [--node PATH]... [--seconds S] [--workers N]
 *           [--seed N] [--churn CTL:NR] [--ops NAME,...]
 *
 * --ops sends only the requests named (op_names below; reopen always), to
 * narrow down a failure.
 *
 * Prints "checked: ..." per worker (requests sent, how many succeeded, per
 * kind); exit 0 unless a worker died (killed by a signal: a mapping the
 * kernel let it make that then faulted, say) or could open no node at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>
#include <linux/v4l2loopback.h>

#include "frame.h"
#include "v4l2util.h"

#define MAX_NODES 8
#define HANDLES 3
#define MAX_BUFS 32
#define MAX_EXPORTS 16
#define SCRATCH_SIZE (8u << 20)

enum op {
	OP_REOPEN, OP_FMT, OP_REQBUFS, OP_CREATE_BUFS, OP_MMAP, OP_MUNMAP,
	OP_QBUF, OP_DQBUF, OP_STREAM, OP_WRITE, OP_READ, OP_PARM, OP_CTRL,
	OP_ENUM, OP_EVENT, OP_EXPBUF, OP_POLL, OP_BAD_POINTER, OP_UNKNOWN,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"reopen", "fmt", "reqbufs", "create_bufs", "mmap", "munmap", "qbuf",
	"dqbuf", "stream", "write", "read", "parm", "ctrl", "enum", "event",
	"expbuf", "poll", "bad_pointer", "unknown"
};

struct mapping {
	void *addr;
	size_t len;
};

struct handle {
	int fd;
	uint32_t type;		/* last REQBUFS that succeeded */
	uint32_t memory;
	uint32_t nbufs;
	uint32_t sizeimage;	/* last format seen */
	struct mapping maps[MAX_BUFS];
	struct mapping stale[MAX_BUFS];	/* of the handle before this one */
};

struct worker {
	const char *nodes[MAX_NODES];
	int n_nodes;
	struct handle h[HANDLES];
	int exports[MAX_EXPORTS];
	int n_exports;
	uint8_t *scratch;	/* USERPTR memory and write() data */
	void *unmapped;		/* a page nobody may touch (PROT_NONE, kept
				 * mapped so that no later mapping lands there) */
	int enabled[OP_COUNT];	/* --ops */
	unsigned long sent[OP_COUNT], ok[OP_COUNT];
};

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)random() % n : 0;
}

static int chance(unsigned percent)
{
	return rnd(100) < percent;
}

static uint32_t pick_u32(const uint32_t *v, unsigned n)
{
	return chance(90) ? v[rnd(n)] : (uint32_t)random() ^ ((uint32_t)random() << 16);
}

#define PICK(a) pick_u32((a), sizeof(a) / sizeof((a)[0]))

static const uint32_t fourccs[] = {
	V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_UYVY, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUV420,
	V4L2_PIX_FMT_YVU420, V4L2_PIX_FMT_NV16, V4L2_PIX_FMT_GREY, V4L2_PIX_FMT_RGB24,
	V4L2_PIX_FMT_XRGB32, V4L2_PIX_FMT_Y16, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_H264,
	0, 0xffffffffu,
};
static const uint32_t dims[] = { 0, 1, 2, 3, 15, 16, 17, 160, 320, 321, 640, 641,
				 1280, 1920, 4096, 8192, 65535, 0x7fffffffu, 0xffffffffu };
static const uint32_t types[] = { V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_BUF_TYPE_VIDEO_CAPTURE,
				  V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_BUF_TYPE_VIDEO_CAPTURE,
				  V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, 0, 99 };
static const uint32_t memories[] = { V4L2_MEMORY_MMAP, V4L2_MEMORY_MMAP, V4L2_MEMORY_USERPTR,
				     V4L2_MEMORY_DMABUF, V4L2_MEMORY_OVERLAY, 0, 77 };
static const uint32_t counts[] = { 0, 1, 2, 3, 4, 8, 32, 33, 1000, 0xffffffffu };

/* Bytes of a frame in the handle's last format (a small YUYV one before). */
static uint32_t frame_size(const struct handle *h)
{
	return h->sizeimage ? h->sizeimage : 320 * 240 * 2;
}

/* A handle's buffer type: its own, or any. */
static uint32_t pick_type(const struct handle *h)
{
	return h->nbufs && chance(70) ? h->type : PICK(types);
}

static void unmap(struct mapping *maps)
{
	for (unsigned i = 0; i < MAX_BUFS; i++) {
		if (maps[i].addr)
			munmap(maps[i].addr, maps[i].len);
		maps[i].addr = NULL;
	}
}

static void unmap_all(struct handle *h)
{
	unmap(h->maps);
}

static int op_reopen(struct worker *w, struct handle *h)
{
	struct mapping stale[MAX_BUFS];

	/*
	 * Now and then the mappings outlive the handle (and keep its file
	 * open), until the next reopen: not for ever, so that the device the
	 * churn process adds can be removed again.
	 */
	unmap(h->stale);
	if (chance(70))
		unmap_all(h);
	memcpy(stale, h->maps, sizeof(stale));
	if (h->fd >= 0)
		close(h->fd);
	memset(h, 0, sizeof(*h));
	memcpy(h->stale, stale, sizeof(stale));
	h->fd = open(w->nodes[rnd(w->n_nodes)], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	return h->fd;
}

static int op_fmt(struct worker *w, struct handle *h)
{
	struct v4l2_format f = { .type = pick_type(h) };
	unsigned long req = chance(30) ? VIDIOC_TRY_FMT : chance(30) ? VIDIOC_G_FMT : VIDIOC_S_FMT;
	int r;

	(void)w;
	if (req != VIDIOC_G_FMT) {
		if (chance(50)) {
			f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
			f.fmt.pix.width = 320;
			f.fmt.pix.height = 240;
		} else {
			f.fmt.pix.pixelformat = PICK(fourccs);
			f.fmt.pix.width = PICK(dims);
			f.fmt.pix.height = PICK(dims);
			f.fmt.pix.bytesperline = chance(50) ? 0 : PICK(dims);
			f.fmt.pix.sizeimage = chance(50) ? 0 : (uint32_t)random();
			f.fmt.pix.field = rnd(12);
			f.fmt.pix.colorspace = rnd(16);
		}
	}
	r = lc_xioctl(h->fd, req, &f);
	if (r == 0 && f.fmt.pix.sizeimage)
		h->sizeimage = f.fmt.pix.sizeimage;
	return r;
}

static int op_reqbufs(struct worker *w, struct handle *h)
{
	struct v4l2_requestbuffers rb = {
		.count = chance(60) ? 2 + rnd(6) : PICK(counts),
		.type = chance(60) ? (chance(50) ? V4L2_BUF_TYPE_VIDEO_OUTPUT :
						   V4L2_BUF_TYPE_VIDEO_CAPTURE) : PICK(types),
		.memory = PICK(memories),
	};
	int r;

	(void)w;
	if (rb.count == 0 || chance(20))
		unmap_all(h);
	r = lc_xioctl(h->fd, VIDIOC_REQBUFS, &rb);
	if (r == 0) {
		h->type = rb.type;
		h->memory = rb.memory;
		h->nbufs = rb.count < MAX_BUFS ? rb.count : MAX_BUFS;
	}
	return r;
}

static int op_create_bufs(struct worker *w, struct handle *h)
{
	struct v4l2_create_buffers cb = {
		.count = chance(70) ? rnd(4) : PICK(counts),
		.memory = h->nbufs && chance(70) ? h->memory : PICK(memories),
	};
	int r;

	(void)w;
	cb.format.type = pick_type(h);
	if (lc_xioctl(h->fd, VIDIOC_G_FMT, &cb.format) == 0 && chance(40))
		cb.format.fmt.pix.sizeimage = chance(50) ? cb.format.fmt.pix.sizeimage / 2 :
							  (uint32_t)random();
	r = lc_xioctl(h->fd, VIDIOC_CREATE_BUFS, &cb);
	if (r == 0 && cb.count && h->nbufs && cb.index + cb.count <= MAX_BUFS)
		h->nbufs = cb.index + cb.count;
	return r;
}

static int op_mmap(struct worker *w, struct handle *h)
{
	struct v4l2_buffer b = {
		.type = pick_type(h),
		.memory = V4L2_MEMORY_MMAP,
		.index = h->nbufs && chance(80) ? rnd(h->nbufs) : PICK(counts),
	};
	void *p;

	(void)w;
	if (lc_xioctl(h->fd, VIDIOC_QUERYBUF, &b) < 0)
		return -1;
	if (b.memory != V4L2_MEMORY_MMAP || b.index >= MAX_BUFS || h->maps[b.index].addr)
		return 0;
	p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd,
		 chance(90) ? b.m.offset : b.m.offset + 4096 * rnd(4));
	if (p == MAP_FAILED)
		return -1;
	/* Write where a producer would: first and last byte of the buffer. */
	((volatile uint8_t *)p)[0] = 0x5a;
	((volatile uint8_t *)p)[b.length - 1] = 0xa5;
	h->maps[b.index].addr = p;
	h->maps[b.index].len = b.length;
	return 0;
}

static int op_munmap(struct worker *w, struct handle *h)
{
	unsigned i = rnd(MAX_BUFS);

	(void)w;
	if (!h->maps[i].addr)
		return -1;
	munmap(h->maps[i].addr, h->maps[i].len);
	h->maps[i].addr = NULL;
	return 0;
}

static int op_qbuf(struct worker *w, struct handle *h)
{
	uint32_t size = frame_size(h);
	struct v4l2_buffer b = {
		.type = pick_type(h),
		.memory = h->nbufs && chance(85) ? h->memory : PICK(memories),
		.index = h->nbufs && chance(85) ? rnd(h->nbufs) : PICK(counts),
		.field = chance(90) ? V4L2_FIELD_NONE : rnd(12),
		.flags = chance(80) ? V4L2_BUF_FLAG_TIMESTAMP_COPY : (uint32_t)random(),
	};
	uint32_t bytes[] = { size, size, 0, 1, size - 1, size + 1, 0xffffffffu };

	b.bytesused = PICK(bytes);
	b.timestamp.tv_sec = chance(90) ? (long)(1 + rnd(100)) : -1L;
	b.timestamp.tv_usec = chance(90) ? rnd(1000000) : 2000000;
	if (b.memory == V4L2_MEMORY_USERPTR) {
		b.length = chance(80) ? size : rnd(size + 1);
		if (b.length > SCRATCH_SIZE)
			b.length = SCRATCH_SIZE;
		b.m.userptr = chance(85) ? (unsigned long)w->scratch :
			      chance(50) ? (unsigned long)w->unmapped : 0;
	} else if (b.memory == V4L2_MEMORY_DMABUF) {
		b.m.fd = w->n_exports && chance(70) ? w->exports[rnd(w->n_exports)] :
			 chance(50) ? h->fd : (int)rnd(64) - 1;
		b.length = chance(80) ? size : (uint32_t)random();
	}
	return lc_xioctl(h->fd, VIDIOC_QBUF, &b);
}

static int op_dqbuf(struct worker *w, struct handle *h)
{
	struct v4l2_buffer b = {
		.type = pick_type(h),
		.memory = h->nbufs && chance(85) ? h->memory : PICK(memories),
	};

	(void)w;
	return lc_xioctl(h->fd, VIDIOC_DQBUF, &b);
}

static int op_stream(struct worker *w, struct handle *h)
{
	int type = (int)pick_type(h);

	(void)w;
	return lc_xioctl(h->fd, chance(60) ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &type);
}

static int op_write(struct worker *w, struct handle *h)
{
	uint32_t size = frame_size(h);
	size_t sizes[] = { size, size, 1, 100, size - 1, size + 7, 2 * (size_t)size };
	size_t n = sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))];

	if (n > SCRATCH_SIZE)
		n = SCRATCH_SIZE;
	if (chance(5))
		return (int)write(h->fd, w->unmapped, 4096);
	return (int)write(h->fd, w->scratch, n);
}

static int op_read(struct worker *w, struct handle *h)
{
	uint32_t size = frame_size(h);
	size_t n = chance(70) ? size : rnd(SCRATCH_SIZE);

	if (n > SCRATCH_SIZE)
		n = SCRATCH_SIZE;
	if (chance(5))
		return (int)read(h->fd, w->unmapped, 4096);
	return (int)read(h->fd, w->scratch, n);
}

static int op_parm(struct worker *w, struct handle *h)
{
	static const uint32_t nums[] = { 0, 1, 1, 1000, 0xffffffffu };
	static const uint32_t dens[] = { 0, 1, 30, 60, 1000000, 0xffffffffu };
	struct v4l2_streamparm p = { .type = pick_type(h) };

	(void)w;
	if (chance(30))
		return lc_xioctl(h->fd, VIDIOC_G_PARM, &p);
	p.parm.output.timeperframe.numerator = PICK(nums);
	p.parm.output.timeperframe.denominator = PICK(dens);
	p.parm.output.outputmode = chance(90) ? 0 : (uint32_t)random();
	return lc_xioctl(h->fd, VIDIOC_S_PARM, &p);
}

static int op_ctrl(struct worker *w, struct handle *h)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };
	uint32_t ids[24];
	unsigned n = 0;

	(void)w;
	while (n < 24 && lc_xioctl(h->fd, VIDIOC_QUERYCTRL, &q) == 0) {
		ids[n++] = q.id;
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	if (chance(30)) {
		struct v4l2_ext_control c[3] = { { 0 } };
		struct v4l2_ext_controls cs = {
			.which = chance(80) ? V4L2_CTRL_WHICH_CUR_VAL : (uint32_t)random(),
			.count = chance(80) ? 1 + rnd(3) : (uint32_t)random(),
			.controls = chance(90) ? c : w->unmapped,
		};

		for (unsigned i = 0; i < 3; i++) {
			c[i].id = n && chance(80) ? ids[rnd(n)] : (uint32_t)random();
			c[i].value = (int32_t)random() - (chance(50) ? 0 : 0x40000000);
			c[i].size = chance(90) ? 0 : rnd(64);
		}
		return lc_xioctl(h->fd, chance(50) ? VIDIOC_S_EXT_CTRLS : VIDIOC_TRY_EXT_CTRLS, &cs);
	}
	{
		struct v4l2_control c = {
			.id = n && chance(85) ? ids[rnd(n)] : V4L2_CID_USER_BASE + rnd(0x10000),
			.value = chance(50) ? (int32_t)rnd(3) : (int32_t)random() - 0x40000000,
		};

		return lc_xioctl(h->fd, chance(70) ? VIDIOC_S_CTRL : VIDIOC_G_CTRL, &c);
	}
}

static int op_enum(struct worker *w, struct handle *h)
{
	(void)w;
	switch (rnd(5)) {
	case 0: {
		struct v4l2_fmtdesc d = { .index = rnd(40), .type = pick_type(h) };

		return lc_xioctl(h->fd, VIDIOC_ENUM_FMT, &d);
	}
	case 1: {
		struct v4l2_frmsizeenum s = { .index = rnd(8), .pixel_format = PICK(fourccs) };

		return lc_xioctl(h->fd, VIDIOC_ENUM_FRAMESIZES, &s);
	}
	case 2: {
		struct v4l2_frmivalenum i = {
			.index = rnd(8), .pixel_format = PICK(fourccs),
			.width = PICK(dims), .height = PICK(dims),
		};

		return lc_xioctl(h->fd, VIDIOC_ENUM_FRAMEINTERVALS, &i);
	}
	case 3: {
		struct v4l2_output o = { .index = rnd(3) };

		return lc_xioctl(h->fd, chance(50) ? VIDIOC_ENUMOUTPUT : VIDIOC_ENUMINPUT, &o);
	}
	default: {
		int i = chance(80) ? 0 : (int)random();

		return lc_xioctl(h->fd, chance(50) ? VIDIOC_S_INPUT : VIDIOC_S_OUTPUT, &i);
	}
	}
}

static int op_event(struct worker *w, struct handle *h)
{
	static const uint32_t evtypes[] = { V4L2_EVENT_SOURCE_CHANGE, V4L2_EVENT_CTRL,
					    V4L2_EVENT_EOS, V4L2_EVENT_PRIVATE_START,
					    V4L2_EVENT_PRIVATE_START + 1, V4L2_EVENT_ALL };
	struct v4l2_event_subscription s = {
		.type = PICK(evtypes),
		.id = chance(50) ? 0 : V4L2_CID_USER_BASE + rnd(0x1000),
		.flags = rnd(4),
	};
	struct v4l2_event e;

	(void)w;
	switch (rnd(3)) {
	case 0:
		return lc_xioctl(h->fd, VIDIOC_SUBSCRIBE_EVENT, &s);
	case 1:
		return lc_xioctl(h->fd, VIDIOC_UNSUBSCRIBE_EVENT, &s);
	default:
		return lc_xioctl(h->fd, VIDIOC_DQEVENT, &e);
	}
}

static int op_expbuf(struct worker *w, struct handle *h)
{
	struct v4l2_exportbuffer e = {
		.type = pick_type(h),
		.index = h->nbufs && chance(85) ? rnd(h->nbufs) : PICK(counts),
		.flags = chance(90) ? O_RDWR | O_CLOEXEC : (uint32_t)random(),
	};

	if (lc_xioctl(h->fd, VIDIOC_EXPBUF, &e) < 0)
		return -1;
	if (w->n_exports == MAX_EXPORTS) {
		unsigned i = rnd(MAX_EXPORTS);

		close(w->exports[i]);
		w->exports[i] = e.fd;
	} else {
		w->exports[w->n_exports++] = e.fd;
	}
	return 0;
}

static int op_poll(struct worker *w, struct handle *h)
{
	struct pollfd p = { .fd = h->fd, .events = (short)(chance(80) ? POLLIN | POLLOUT | POLLPRI :
									   rnd(0x10000)) };

	(void)w;
	return poll(&p, 1, 0);
}

/* Requests whose argument pointer is NULL or points at nothing. */
static int op_bad_pointer(struct worker *w, struct handle *h)
{
	static const unsigned long reqs[] = {
		VIDIOC_QUERYCAP, VIDIOC_G_FMT, VIDIOC_S_FMT, VIDIOC_TRY_FMT, VIDIOC_REQBUFS,
		VIDIOC_QUERYBUF, VIDIOC_QBUF, VIDIOC_DQBUF, VIDIOC_STREAMON, VIDIOC_STREAMOFF,
		VIDIOC_G_PARM, VIDIOC_S_PARM, VIDIOC_S_CTRL, VIDIOC_G_EXT_CTRLS,
		VIDIOC_S_EXT_CTRLS, VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES,
		VIDIOC_ENUM_FRAMEINTERVALS, VIDIOC_CREATE_BUFS, VIDIOC_EXPBUF,
		VIDIOC_SUBSCRIBE_EVENT, VIDIOC_DQEVENT, VIDIOC_G_SELECTION,
	};

	return lc_xioctl(h->fd, reqs[rnd(sizeof(reqs) / sizeof(reqs[0]))],
		      chance(50) ? NULL : w->unmapped);
}

static int op_unknown(struct worker *w, struct handle *h)
{
	unsigned long req = _IOC(rnd(4), chance(70) ? 'V' : rnd(256), rnd(256), rnd(512));

	return lc_xioctl(h->fd, req, w->scratch);
}

static int (*const ops[OP_COUNT])(struct worker *, struct handle *) = {
	op_reopen, op_fmt, op_reqbufs, op_create_bufs, op_mmap, op_munmap, op_qbuf,
	op_dqbuf, op_stream, op_write, op_read, op_parm, op_ctrl, op_enum, op_event,
	op_expbuf, op_poll, op_bad_pointer, op_unknown,
};

/* How often each request is picked, out of the sum. */
static const unsigned op_weight[OP_COUNT] = {
	[OP_REOPEN] = 2, [OP_FMT] = 6, [OP_REQBUFS] = 6, [OP_CREATE_BUFS] = 2,
	[OP_MMAP] = 6, [OP_MUNMAP] = 2, [OP_QBUF] = 16, [OP_DQBUF] = 16,
	[OP_STREAM] = 6, [OP_WRITE] = 5, [OP_READ] = 5, [OP_PARM] = 3, [OP_CTRL] = 4,
	[OP_ENUM] = 3, [OP_EVENT] = 3, [OP_EXPBUF] = 2, [OP_POLL] = 4,
	[OP_BAD_POINTER] = 2, [OP_UNKNOWN] = 1,
};

static enum op pick_op(const int *enabled)
{
	unsigned total = 0, r;

	for (int i = 0; i < OP_COUNT; i++)
		total += enabled[i] ? op_weight[i] : 0;
	r = rnd(total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (!enabled[i])
			continue;
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_REOPEN;
}

static double now_s(void)
{
	return (double)lc_now_ns() / 1e9;
}

static int run_worker(struct worker *w, int id, unsigned seed, double seconds)
{
	double end = now_s() + seconds;
	unsigned long total = 0, ok = 0;
	int opened = 0;

	srandom(seed);
	/*
	 * The scratch memory between two pages nobody may touch, so that a
	 * write past either end faults at once rather than corrupting
	 * whatever lies beside it; the first is also the "unmapped" argument.
	 */
	w->unmapped = mmap(NULL, SCRATCH_SIZE + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (w->unmapped == MAP_FAILED ||
	    mprotect((uint8_t *)w->unmapped + 4096, SCRATCH_SIZE, PROT_READ | PROT_WRITE)) {
		perror("lc-fuzz: mmap");
		return 1;
	}
	w->scratch = (uint8_t *)w->unmapped + 4096;
	memset(w->scratch, 0x80, SCRATCH_SIZE);
	for (int i = 0; i < HANDLES; i++) {
		w->h[i].fd = -1;
		opened += op_reopen(w, &w->h[i]) >= 0;
	}
	while (now_s() < end) {
		struct handle *h = &w->h[rnd(HANDLES)];
		enum op op = pick_op(w->enabled);

		if (h->fd < 0)
			op = OP_REOPEN;
		w->sent[op]++;
		if (ops[op](w, h) >= 0) {
			w->ok[op]++;
			opened += op == OP_REOPEN;
		}
	}
	for (int i = 0; i < HANDLES; i++) {
		unmap_all(&w->h[i]);
		unmap(w->h[i].stale);
		if (w->h[i].fd >= 0)
			close(w->h[i].fd);
	}
	for (int i = 0; i < w->n_exports; i++)
		close(w->exports[i]);
	printf("checked: worker %d (seed %u):", id, seed);
	for (int i = 0; i < OP_COUNT; i++) {
		printf(" %s=%lu/%lu", op_names[i], w->ok[i], w->sent[i]);
		total += w->sent[i];
		ok += w->ok[i];
	}
	printf("; %lu requests, %lu succeeded\n", total, ok);
	fflush(stdout);		/* the process ends with _exit() */
	if (!opened) {
		fprintf(stderr, "lc-fuzz: worker %d could open no node\n", id);
		return 1;
	}
	return 0;
}

/* Adds device @nr through @ctl, and removes it again, until @seconds. */
static int run_churn(const char *ctl, int nr, unsigned seed, double seconds)
{
	double end = now_s() + seconds;
	unsigned long added = 0, removed = 0;
	int fd = open(ctl, O_RDWR | O_CLOEXEC);

	srandom(seed);
	if (fd < 0) {
		perror(ctl);
		return 1;
	}
	while (now_s() < end) {
		struct v4l2_loopback_config c = {
			.output_nr = nr, .unused = -1, .max_buffers = 4 + (int)rnd(8),
			.announce_all_caps = chance(50) ? 1 : 0,
		};
		struct timespec pause = { 0, (long)rnd(300) * 1000000L };

		snprintf(c.card_label, sizeof(c.card_label), "lc-fuzz churn");
		if (lc_xioctl(fd, V4L2LOOPBACK_CTL_ADD, &c) < 0) {
			nanosleep(&pause, NULL);
			continue;
		}
		added++;
		nanosleep(&pause, NULL);
		/* Refused (EBUSY) while a worker has it open: try again. */
		pause.tv_nsec = 5000000L;
		for (;;) {
			if (lc_xioctl(fd, V4L2LOOPBACK_CTL_REMOVE, (void *)(long)nr) == 0) {
				removed++;
				break;
			}
			if (now_s() >= end)
				break;
			nanosleep(&pause, NULL);
		}
	}
	close(fd);
	printf("checked: churn: device %d added %lu times, removed %lu times (while workers used it)\n",
	       nr, added, removed);
	fflush(stdout);		/* the process ends with _exit() */
	return added ? 0 : 1;
}

/* Is @name one of the comma-separated @list? */
static int op_listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strcspn(p, ",") == n && !strncmp(p, name, n))
			return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: lc-fuzz --node PATH [--node PATH]... [--seconds S] "
			"[--workers N] [--seed N] [--churn CTL:NR] [--ops NAME,...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 's' },
		{ "churn", required_argument, NULL, 'c' },
		{ "ops", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static struct worker w;
	double seconds = 30;
	int workers = 3, failed = 0, c;
	unsigned seed = 1;
	char *churn = NULL;

	for (int i = 0; i < OP_COUNT; i++)
		w.enabled[i] = 1;
	while ((c = getopt_long(argc, argv, "n:t:w:s:c:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (w.n_nodes == MAX_NODES)
				usage();
			w.nodes[w.n_nodes++] = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'w':
			workers = atoi(optarg);
			break;
		case 's':
			seed = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			churn = optarg;
			break;
		case 'o':
			for (int i = 0; i < OP_COUNT; i++)
				w.enabled[i] = i == OP_REOPEN || op_listed(optarg, op_names[i]);
			break;
		default:
			usage();
		}
	}
	if (!w.n_nodes || workers < 1 || workers > 16 || seconds <= 0)
		usage();
	/* A write() into a node whose device has gone must not end a worker. */
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);
	for (int i = 0; i <= workers; i++) {
		pid_t pid;

		if (i == workers && !churn)
			break;
		pid = fork();
		if (pid < 0) {
			perror("lc-fuzz: fork");
			return 1;
		}
		if (pid == 0) {
			char *colon = churn ? strrchr(churn, ':') : NULL;

			if (i < workers)
				_exit(run_worker(&w, i, seed + (unsigned)i, seconds));
			if (!colon)
				usage();
			*colon = '\0';
			_exit(run_churn(churn, atoi(colon + 1), seed + 1000, seconds));
		}
	}
	for (;;) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0)
			break;
		if (WIFSIGNALED(status)) {
			fprintf(stderr, "lc-fuzz: process %d killed by signal %d\n", (int)pid,
				WTERMSIG(status));
			failed++;
		} else if (WEXITSTATUS(status)) {
			failed++;
		}
	}
	printf("result=%s processes_failed=%d\n", failed ? "fail" : "pass", failed);
	return failed ? 1 : 0;
}
