// SPDX-License-Identifier: GPL-2.0-or-later
/* loopcam test programs: V4L2 helpers (see v4l2util.h). */
#include "v4l2util.h"
#include "frame.h"

#include <errno.h>
#include <signal.h>
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

const char *lc_prog = "lc";

void lc_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", lc_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int lc_xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static const char *errno_hint(int e)
{
	switch (e) {
	case ENOTTY:
		return "the device does not implement this ioctl: is the path the right "
		       "V4L2 node (output vs capture node of a split device)?";
	case EINVAL:
		return "the driver rejected the arguments: unsupported buffer type, memory "
		       "type or format on this node?";
	case EBUSY:
		return "in use: another producer owns the output, buffers are still "
		       "allocated, or the format is locked by streaming readers";
	case ENODEV:
		return "the device went away (removed or module unloaded)";
	case EPIPE:
		return "the stream ended (the producer stopped)";
	case EIO:
		return "the driver reported an I/O error";
	case ENOMEM:
		return "out of memory: try fewer or smaller buffers";
	case EACCES:
	case EPERM:
		return "permission denied: run as root or fix the node's permissions";
	case EAGAIN:
		return "nothing to dequeue although poll() said ready, or a non-blocking "
		       "descriptor with nothing ready";
	case ENOSPC:
		return "no space: the frame is larger than the buffer";
	default:
		return NULL;
	}
}

int lc_ioctl(const char *path, int fd, unsigned long req, const char *name,
	     void *arg, const char *what_fmt, ...)
{
	char what[160] = "";
	const char *hint;
	va_list ap;
	int e;

	if (lc_xioctl(fd, req, arg) == 0)
		return 0;
	e = errno;
	if (what_fmt) {
		va_start(ap, what_fmt);
		vsnprintf(what, sizeof(what), what_fmt, ap);
		va_end(ap);
	}
	hint = errno_hint(e);
	lc_err("%s: %s(%s) failed: %s (errno %d)%s%s", path, name, what, strerror(e), e,
	       hint ? "; " : "", hint ? hint : "");
	errno = e;
	return -1;
}

int lc_dev_open(struct lc_dev *d, const char *path, int flags)
{
	memset(d, 0, sizeof(*d));
	d->path = path;
	d->fd = open(path, flags | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;

		lc_err("cannot open %s: %s%s", path, strerror(e),
		       e == ENOENT ? " (no such node: is the module loaded and the device "
				     "created? check --device)" :
		       e == EBUSY ? " (too many openers? see max_openers)" : "");
		errno = e;
		return -1;
	}
	if (LC_IOCTL(d, VIDIOC_QUERYCAP, &d->cap, "%s", "")) {
		close(d->fd);
		d->fd = -1;
		return -1;
	}
	d->caps = (d->cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? d->cap.device_caps :
								   d->cap.capabilities;
	return 0;
}

void lc_dev_close(struct lc_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

const char *lc_caps_str(uint32_t caps, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ V4L2_CAP_VIDEO_CAPTURE, "VIDEO_CAPTURE" },
		{ V4L2_CAP_VIDEO_OUTPUT, "VIDEO_OUTPUT" },
		{ V4L2_CAP_VIDEO_CAPTURE_MPLANE, "VIDEO_CAPTURE_MPLANE" },
		{ V4L2_CAP_VIDEO_OUTPUT_MPLANE, "VIDEO_OUTPUT_MPLANE" },
		{ V4L2_CAP_VIDEO_M2M, "VIDEO_M2M" },
		{ V4L2_CAP_READWRITE, "READWRITE" },
		{ V4L2_CAP_STREAMING, "STREAMING" },
		{ V4L2_CAP_EXT_PIX_FORMAT, "EXT_PIX_FORMAT" },
		{ V4L2_CAP_DEVICE_CAPS, "DEVICE_CAPS" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((caps & names[i].bit) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used ? "|" : "", names[i].name);
	if (used == 0)
		snprintf(buf, len, "none");
	return buf;
}

void lc_dev_print_caps(const struct lc_dev *d, const char *prefix)
{
	char c1[200], c2[200];

	printf("%sdevice=%s driver=\"%.16s\" card=\"%.32s\" bus=\"%.32s\" "
	       "version=%u.%u.%u device_caps=0x%08x(%s) capabilities=0x%08x(%s)\n",
	       prefix, d->path, (const char *)d->cap.driver, (const char *)d->cap.card,
	       (const char *)d->cap.bus_info, (d->cap.version >> 16) & 0xff,
	       (d->cap.version >> 8) & 0xff, d->cap.version & 0xff, d->caps,
	       lc_caps_str(d->caps, c1, sizeof(c1)), d->cap.capabilities,
	       lc_caps_str(d->cap.capabilities, c2, sizeof(c2)));
}

const char *lc_buf_type_str(uint32_t type)
{
	switch (type) {
	case V4L2_BUF_TYPE_VIDEO_CAPTURE:
		return "CAPTURE";
	case V4L2_BUF_TYPE_VIDEO_OUTPUT:
		return "OUTPUT";
	default:
		return "type?";
	}
}

void lc_print_fmt(const char *prefix, const struct v4l2_format *fmt)
{
	char n[8];
	const struct v4l2_pix_format *p = &fmt->fmt.pix;

	printf("%s%s format=%s size=%ux%u bytesperline=%u sizeimage=%u field=%u "
	       "colorspace=%u\n",
	       prefix, lc_buf_type_str(fmt->type), lc_format_name(p->pixelformat, n),
	       p->width, p->height, p->bytesperline, p->sizeimage, p->field,
	       p->colorspace);
}

int lc_io_parse(const char *s, int output, enum lc_io *io)
{
	if (strcmp(s, output ? "write" : "read") == 0 || strcmp(s, "rw") == 0)
		*io = LC_IO_RW;
	else if (strcmp(s, "mmap") == 0)
		*io = LC_IO_MMAP;
	else if (strcmp(s, "userptr") == 0)
		*io = LC_IO_USERPTR;
	else if (strcmp(s, "dmabuf") == 0)
		*io = LC_IO_DMABUF;
	else {
		lc_err("--io: unknown I/O method '%s' (use %s, mmap, userptr or dmabuf)", s,
		       output ? "write" : "read");
		return -1;
	}
	return 0;
}

const char *lc_io_str(enum lc_io io, int output)
{
	switch (io) {
	case LC_IO_RW:
		return output ? "write" : "read";
	case LC_IO_MMAP:
		return "mmap";
	case LC_IO_USERPTR:
		return "userptr";
	case LC_IO_DMABUF:
		return "dmabuf";
	}
	return "?";
}

uint32_t lc_io_memory(enum lc_io io)
{
	switch (io) {
	case LC_IO_USERPTR:
		return V4L2_MEMORY_USERPTR;
	case LC_IO_DMABUF:
		return V4L2_MEMORY_DMABUF;
	default:
		return V4L2_MEMORY_MMAP;
	}
}

static const char *mem_str(uint32_t m)
{
	return m == V4L2_MEMORY_MMAP ? "MMAP" :
	       m == V4L2_MEMORY_USERPTR ? "USERPTR" :
	       m == V4L2_MEMORY_DMABUF ? "DMABUF" : "?";
}

static int reqbufs(struct lc_dev *d, uint32_t type, uint32_t memory, unsigned *count)
{
	struct v4l2_requestbuffers rb;

	memset(&rb, 0, sizeof(rb));
	rb.type = type;
	rb.memory = memory;
	rb.count = *count;
	if (LC_IOCTL(d, VIDIOC_REQBUFS, &rb, "%s count=%u memory=%s", lc_buf_type_str(type),
		     *count, mem_str(memory)))
		return -1;
	if (*count && rb.count == 0) {
		lc_err("%s: VIDIOC_REQBUFS(%s %s) gave 0 buffers for %u asked", d->path,
		       lc_buf_type_str(type), mem_str(memory), *count);
		return -1;
	}
	if (rb.count > LC_MAX_BUFS) {
		lc_err("%s: VIDIOC_REQBUFS gave %u buffers, more than the %u this program "
		       "handles", d->path, rb.count, LC_MAX_BUFS);
		return -1;
	}
	if (*count && rb.count != *count)
		printf("note: %s %s: asked %u %s buffers, driver gave %u\n", d->path,
		       lc_buf_type_str(type), *count, mem_str(memory), rb.count);
	*count = rb.count;
	return 0;
}

/* DMABUF: allocate count MMAP buffers on the donor device and export them. */
static int donor_setup(struct lc_bufs *s, const char *donor_path, size_t size,
		       const struct v4l2_format *fmt)
{
	struct lc_dev *dn = &s->donor;
	struct v4l2_format f;
	unsigned count = s->count;

	if (!donor_path) {
		lc_err("--io dmabuf needs --dmabuf-from /dev/videoM: a second V4L2 device "
		       "(e.g. a spare loopback node) whose MMAP buffers are exported");
		return -1;
	}
	if (lc_dev_open(dn, donor_path, O_RDWR))
		return -1;
	s->donor_type = (dn->caps & V4L2_CAP_VIDEO_OUTPUT) ? V4L2_BUF_TYPE_VIDEO_OUTPUT :
							     V4L2_BUF_TYPE_VIDEO_CAPTURE;
	memset(&f, 0, sizeof(f));
	f.type = s->donor_type;
	if (LC_IOCTL(dn, VIDIOC_G_FMT, &f, "%s (DMABUF donor)", lc_buf_type_str(f.type)))
		return -1;
	f.fmt.pix.width = fmt->fmt.pix.width;
	f.fmt.pix.height = fmt->fmt.pix.height;
	f.fmt.pix.pixelformat = fmt->fmt.pix.pixelformat;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	f.fmt.pix.bytesperline = 0;
	f.fmt.pix.sizeimage = (uint32_t)size;
	if (lc_xioctl(dn->fd, VIDIOC_S_FMT, &f) < 0) {
		/* a capture node may not take S_FMT: keep its format if big enough */
		int e = errno;

		memset(&f, 0, sizeof(f));
		f.type = s->donor_type;
		if (LC_IOCTL(dn, VIDIOC_G_FMT, &f, "%s (DMABUF donor)", lc_buf_type_str(f.type)))
			return -1;
		printf("note: donor %s: S_FMT(%s) failed (%s), using its current format\n",
		       donor_path, lc_buf_type_str(f.type), strerror(e));
	}
	if (f.fmt.pix.sizeimage < size) {
		lc_err("donor %s: its %s buffers hold %u bytes, %zu needed: set the donor to a "
		       "bigger format or use another donor device", donor_path,
		       lc_buf_type_str(f.type), f.fmt.pix.sizeimage, size);
		return -1;
	}
	if (reqbufs(dn, s->donor_type, V4L2_MEMORY_MMAP, &count))
		return -1;
	s->donor_count = count;
	if (count < s->count) {
		lc_err("donor %s gave %u MMAP buffers, %u needed", donor_path, count, s->count);
		return -1;
	}
	for (unsigned i = 0; i < s->count; i++) {
		struct v4l2_buffer b;
		struct v4l2_exportbuffer eb;
		struct lc_buf *lb = &s->b[i];

		memset(&b, 0, sizeof(b));
		b.type = s->donor_type;
		b.memory = V4L2_MEMORY_MMAP;
		b.index = i;
		if (LC_IOCTL(dn, VIDIOC_QUERYBUF, &b, "donor %s index=%u",
			     lc_buf_type_str(b.type), i))
			return -1;
		memset(&eb, 0, sizeof(eb));
		eb.type = s->donor_type;
		eb.index = i;
		eb.flags = O_RDWR | O_CLOEXEC;
		if (LC_IOCTL(dn, VIDIOC_EXPBUF, &eb, "donor %s index=%u O_RDWR",
			     lc_buf_type_str(eb.type), i))
			return -1;
		lb->dmafd = eb.fd;
		lb->len = b.length;
		lb->ptr = mmap(NULL, lb->len, PROT_READ | PROT_WRITE, MAP_SHARED, eb.fd, 0);
		if (lb->ptr != MAP_FAILED) {
			lb->mapped_dmabuf = 1;
		} else {
			/* exporter without dma-buf mmap: map through the donor */
			int e = errno;

			lb->ptr = mmap(NULL, lb->len, PROT_READ | PROT_WRITE, MAP_SHARED, dn->fd,
				       b.m.offset);
			if (lb->ptr == MAP_FAILED) {
				lb->ptr = NULL;
				lc_err("cannot mmap DMABUF %u (%s) nor donor buffer (%s) of %s",
				       i, strerror(e), strerror(errno), donor_path);
				return -1;
			}
			printf("note: mmap of the dma-buf fd failed (%s); using the donor's "
			       "mapping\n", strerror(e));
		}
	}
	printf("checked: %u DMABUF buffers exported from %s %s (%zu bytes each)\n", s->count,
	       donor_path, lc_buf_type_str(s->donor_type), s->b[0].len);
	return 0;
}

int lc_bufs_setup(struct lc_bufs *s, struct lc_dev *dev, uint32_t type, enum lc_io io,
		  unsigned count, size_t size, const char *donor_path,
		  const struct v4l2_format *fmt)
{
	long page = sysconf(_SC_PAGESIZE);

	memset(s, 0, sizeof(*s));
	s->dev = dev;
	s->type = type;
	s->io = io;
	s->donor.fd = -1;
	for (unsigned i = 0; i < LC_MAX_BUFS; i++)
		s->b[i].dmafd = -1;
	if (count == 0 || count > LC_MAX_BUFS) {
		lc_err("--buffers must be 1..%u", LC_MAX_BUFS);
		return -1;
	}
	if (reqbufs(dev, type, lc_io_memory(io), &count))
		return -1;
	s->count = count;

	switch (io) {
	case LC_IO_MMAP:
		for (unsigned i = 0; i < count; i++) {
			struct v4l2_buffer b;

			memset(&b, 0, sizeof(b));
			b.type = type;
			b.memory = V4L2_MEMORY_MMAP;
			b.index = i;
			if (LC_IOCTL(dev, VIDIOC_QUERYBUF, &b, "%s index=%u", lc_buf_type_str(type), i))
				return -1;
			if (b.length < size) {
				lc_err("%s: MMAP buffer %u is %u bytes, smaller than the %zu-byte "
				       "frame (sizeimage)", dev->path, i, b.length, size);
				return -1;
			}
			s->b[i].len = b.length;
			s->b[i].ptr = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED,
					   dev->fd, b.m.offset);
			if (s->b[i].ptr == MAP_FAILED) {
				s->b[i].ptr = NULL;
				lc_err("%s: mmap of buffer %u (%u bytes at offset 0x%x) failed: %s",
				       dev->path, i, b.length, b.m.offset, strerror(errno));
				return -1;
			}
		}
		break;
	case LC_IO_USERPTR:
		for (unsigned i = 0; i < count; i++) {
			size_t len = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
			void *p;
			int rc = posix_memalign(&p, (size_t)page, len);

			if (rc) {
				lc_err("cannot allocate %zu bytes for USERPTR buffer %u: %s", len, i,
				       strerror(rc));
				return -1;
			}
			memset(p, 0, len);
			s->b[i].ptr = p;
			s->b[i].len = len;
		}
		break;
	case LC_IO_DMABUF:
		if (donor_setup(s, donor_path, size, fmt))
			return -1;
		break;
	case LC_IO_RW:
		lc_err("internal: no buffers for read/write I/O");
		return -1;
	}
	return 0;
}

void lc_bufs_release(struct lc_bufs *s)
{
	for (unsigned i = 0; i < s->count; i++) {
		struct lc_buf *b = &s->b[i];

		if (b->ptr) {
			if (s->io == LC_IO_USERPTR)
				free(b->ptr);
			else
				munmap(b->ptr, b->len);
		}
		if (b->dmafd >= 0)
			close(b->dmafd);
		b->ptr = NULL;
		b->dmafd = -1;
	}
	s->count = 0;
	if (s->donor.fd >= 0)
		lc_dev_close(&s->donor);
}

int lc_bufs_qbuf(struct lc_bufs *s, unsigned index, uint32_t bytesused, uint64_t ts_ns)
{
	struct v4l2_buffer b;
	struct lc_buf *lb = &s->b[index];

	memset(&b, 0, sizeof(b));
	b.type = s->type;
	b.memory = lc_io_memory(s->io);
	b.index = index;
	b.field = V4L2_FIELD_NONE;
	if (s->type == V4L2_BUF_TYPE_VIDEO_OUTPUT) {
		b.bytesused = bytesused;
		b.timestamp.tv_sec = (time_t)(ts_ns / 1000000000ull);
		b.timestamp.tv_usec = (suseconds_t)(ts_ns / 1000 % 1000000);
	}
	if (s->io == LC_IO_USERPTR) {
		b.m.userptr = (unsigned long)lb->ptr;
		b.length = (uint32_t)lb->len;
	} else if (s->io == LC_IO_DMABUF) {
		b.m.fd = lb->dmafd;
		b.length = (uint32_t)lb->len;
	}
	if (LC_IOCTL(s->dev, VIDIOC_QBUF, &b, "%s %s index=%u bytesused=%u",
		     lc_buf_type_str(s->type), mem_str(b.memory), index, b.bytesused))
		return -1;
	lb->queued = 1;
	return 0;
}

int lc_bufs_dqbuf(struct lc_bufs *s, struct v4l2_buffer *b, int quiet)
{
	int fl = fcntl(s->dev->fd, F_GETFL);
	int rc;

	memset(b, 0, sizeof(*b));
	b->type = s->type;
	b->memory = lc_io_memory(s->io);
	/* never block here: callers poll() first, so a DQBUF that would block
	 * is a poll/DQBUF disagreement to report, not a reason to hang */
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(s->dev->fd, F_SETFL, fl | O_NONBLOCK);
	if (quiet)
		rc = lc_xioctl(s->dev->fd, VIDIOC_DQBUF, b);
	else
		rc = LC_IOCTL(s->dev, VIDIOC_DQBUF, b, "%s %s non-blocking after poll()",
			      lc_buf_type_str(s->type), mem_str(b->memory));
	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		int e = errno;

		fcntl(s->dev->fd, F_SETFL, fl);
		errno = e;
	}
	if (rc < 0)
		return -1;
	if (b->index >= s->count) {
		lc_err("%s: VIDIOC_DQBUF returned index %u, only %u buffers exist",
		       s->dev->path, b->index, s->count);
		errno = EPROTO;
		return -1;
	}
	s->b[b->index].queued = 0;
	return 0;
}

static void dmabuf_sync(struct lc_bufs *s, unsigned index, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	if (s->io != LC_IO_DMABUF || !s->b[index].mapped_dmabuf)
		return;
	if (lc_xioctl(s->b[index].dmafd, DMA_BUF_IOCTL_SYNC, &sync) < 0)
		lc_err("DMA_BUF_IOCTL_SYNC(buffer %u, flags 0x%llx) failed: %s", index,
		       (unsigned long long)flags, strerror(errno));
}

void lc_bufs_cpu_begin(struct lc_bufs *s, unsigned index, int write)
{
	dmabuf_sync(s, index, DMA_BUF_SYNC_START | (write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ));
}

void lc_bufs_cpu_end(struct lc_bufs *s, unsigned index, int write)
{
	dmabuf_sync(s, index, DMA_BUF_SYNC_END | (write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ));
}

int lc_streamon(struct lc_dev *d, uint32_t type)
{
	int t = (int)type;

	return LC_IOCTL(d, VIDIOC_STREAMON, &t, "%s", lc_buf_type_str(type));
}

int lc_streamoff(struct lc_dev *d, uint32_t type)
{
	int t = (int)type;

	return LC_IOCTL(d, VIDIOC_STREAMOFF, &t, "%s", lc_buf_type_str(type));
}

int lc_wait(int fd, short events, int timeout_ms, short *revents)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc = poll(&p, 1, timeout_ms);

	if (revents)
		*revents = rc > 0 ? p.revents : 0;
	return rc < 0 ? -1 : rc > 0;
}

int lc_opt_u64(const char *opt, const char *s, uint64_t *out)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 0);
	if (errno || e == s || *e || *s == '-') {
		lc_err("%s: expected a non-negative integer, got '%s'", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int lc_opt_u32(const char *opt, const char *s, uint32_t *out)
{
	uint64_t v;

	if (lc_opt_u64(opt, s, &v))
		return -1;
	if (v > UINT32_MAX) {
		lc_err("%s: %s is too large", opt, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int lc_opt_double(const char *opt, const char *s, double *out)
{
	char *e;

	errno = 0;
	*out = strtod(s, &e);
	if (errno || e == s || *e || *out < 0) {
		lc_err("%s: expected a non-negative number, got '%s'", opt, s);
		return -1;
	}
	return 0;
}

void lc_sleep_until(uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000ull), (long)(t_ns % 1000000000ull) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

void lc_sleep_ms(uint32_t ms)
{
	lc_sleep_until(lc_now_ns() + (uint64_t)ms * 1000000ull);
}

volatile sig_atomic_t lc_stop;

static void lc_on_stop_signal(int sig)
{
	(void)sig;
	lc_stop = 1;
}

void lc_stop_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lc_on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
