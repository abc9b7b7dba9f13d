/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loopcam test programs: V4L2 helpers shared by lc-produce and lc-consume.
 * Every failing ioctl is reported on stderr with the program, the device
 * path, the ioctl name, what it was asked, the errno text and a hint.
 */
#ifndef LC_V4L2UTIL_H
#define LC_V4L2UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/videodev2.h>

#define LC_MAX_BUFS 32

extern const char *lc_prog; /* program name for messages */

/* Prints "prog: " + message + newline on stderr. */
void lc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ioctl with EINTR retry; returns ioctl's result, errno kept. */
int lc_xioctl(int fd, unsigned long req, void *arg);

/*
 * ioctl that reports failure: "prog: PATH: NAME(what) failed: strerror
 * (errno N)" and a hint for the common errnos. Returns 0 or -1 (errno kept).
 */
int lc_ioctl(const char *path, int fd, unsigned long req, const char *name,
	     void *arg, const char *what_fmt, ...) __attribute__((format(printf, 6, 7)));
#define LC_IOCTL(dev, req, arg, ...) \
	lc_ioctl((dev)->path, (dev)->fd, (req), #req, (arg), __VA_ARGS__)

struct lc_dev {
	const char *path;
	int fd;
	struct v4l2_capability cap;
	uint32_t caps; /* device_caps, or capabilities if no device caps */
};

/* open(O_RDWR) and VIDIOC_QUERYCAP; -1 with a message on failure. */
int lc_dev_open(struct lc_dev *d, const char *path, int flags);
void lc_dev_close(struct lc_dev *d);
/* One line describing QUERYCAP: driver, card, bus, caps as names. */
void lc_dev_print_caps(const struct lc_dev *d, const char *prefix);
/* "VIDEO_CAPTURE|VIDEO_OUTPUT|STREAMING|..." */
const char *lc_caps_str(uint32_t caps, char *buf, size_t len);
const char *lc_buf_type_str(uint32_t type);
void lc_print_fmt(const char *prefix, const struct v4l2_format *fmt);

enum lc_io { LC_IO_RW, LC_IO_MMAP, LC_IO_USERPTR, LC_IO_DMABUF };
/* "read"/"write" (by direction), "mmap", "userptr", "dmabuf" */
int lc_io_parse(const char *s, int output, enum lc_io *io);
const char *lc_io_str(enum lc_io io, int output);
uint32_t lc_io_memory(enum lc_io io);

struct lc_buf {
	void *ptr; /* CPU mapping of the buffer */
	size_t len; /* its length (v4l2_buffer.length to use) */
	int dmafd; /* DMABUF: the exported fd, else -1 */
	int mapped_dmabuf; /* ptr is an mmap of dmafd (needs DMA_BUF_IOCTL_SYNC) */
	int queued;
};

struct lc_bufs {
	struct lc_dev *dev;
	uint32_t type;
	enum lc_io io;
	unsigned count;
	struct lc_buf b[LC_MAX_BUFS];
	/* DMABUF: where the buffers come from */
	struct lc_dev donor;
	uint32_t donor_type;
	unsigned donor_count;
};

/*
 * Sets up count buffers of at least size bytes on queue type of dev with
 * the given I/O method (not LC_IO_RW): REQBUFS, then QUERYBUF+mmap, or
 * page-aligned allocations, or EXPBUF from donor_path (DMABUF; the donor
 * queue gets format fmt with sizeimage >= size). Returns 0 or -1.
 */
int lc_bufs_setup(struct lc_bufs *s, struct lc_dev *dev, uint32_t type, enum lc_io io,
		  unsigned count, size_t size, const char *donor_path,
		  const struct v4l2_format *fmt);
void lc_bufs_release(struct lc_bufs *s);

/* QBUF buffer index with bytesused (output) and timestamp in ns (0 = none). */
int lc_bufs_qbuf(struct lc_bufs *s, unsigned index, uint32_t bytesused, uint64_t ts_ns);
/* DQBUF into *b; returns 0, or -1 with errno (EAGAIN etc. reported unless
 * quiet). */
int lc_bufs_dqbuf(struct lc_bufs *s, struct v4l2_buffer *b, int quiet);
/* Bracket CPU access to a DMABUF-mapped buffer (no-op otherwise). */
void lc_bufs_cpu_begin(struct lc_bufs *s, unsigned index, int write);
void lc_bufs_cpu_end(struct lc_bufs *s, unsigned index, int write);

int lc_streamon(struct lc_dev *d, uint32_t type);
int lc_streamoff(struct lc_dev *d, uint32_t type);

/* poll() for events; 1 ready, 0 timeout, -1 error/interrupted (errno). */
int lc_wait(int fd, short events, int timeout_ms, short *revents);

/* Parsing of numeric options, with a message naming the option. */
int lc_opt_u32(const char *opt, const char *s, uint32_t *out);
int lc_opt_u64(const char *opt, const char *s, uint64_t *out);
int lc_opt_double(const char *opt, const char *s, double *out);

/* Sleep until absolute CLOCK_MONOTONIC time t_ns (EINTR ends it early). */
void lc_sleep_until(uint64_t t_ns);
void lc_sleep_ms(uint32_t ms);

/* Set by SIGINT or SIGTERM once lc_stop_on_signals() ran: end the run cleanly. */
extern volatile sig_atomic_t lc_stop;
void lc_stop_on_signals(void);

#endif /* LC_V4L2UTIL_H */
