// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-ctl-abuse: malformed requests to the control device /dev/v4l2loopback,
 * each of which must fail with the right errno and leave no device behind,
 * and then proof that the module still works (add, query, remove).
 *
 *   lc-ctl-abuse [--ctl PATH] [--streaming N]
 *
 * Covers: NULL and unmapped pointers for every ioctl, labels without a NUL,
 * frame sizes, buffer and opener counts out of range, node numbers out of
 * range, the loopcam extension with a wrong magic, size, flag, reserved
 * word, format or rate, an unknown ioctl, and (--streaming N) removing the
 * device of node N, which the caller keeps streaming. CTL_QUERY must not
 * leak kernel memory: every byte it returns is checked against what the
 * device was created with (the struct is prefilled with 0xa5 first).
 * Prints "checked: ..." per check, "FAIL: ..." to stderr, and
 * "result=pass|fail failures=N"; exit 0 only when all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/v4l2loopback.h>

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ok) {
		printf("checked: %s\n", line);
	} else {
		failures++;
		fprintf(stderr, "FAIL: %s\n", line);
	}
}

/* ioctl's errno, 0 on success. */
static int call(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? errno : 0;
}

/* Runs one request that must fail with @want; returns ioctl's result. */
static int expect(int fd, const char *what, unsigned long req, void *arg, int want)
{
	int ret = ioctl(fd, req, arg);
	int got = ret < 0 ? errno : 0;

	if (got == want)
		check(1, "%s -> %s", what, strerror(want));
	else if (!got)
		check(0, "%s succeeded (returned %d), expected %s", what, ret, strerror(want));
	else
		check(0, "%s -> %s, expected %s", what, strerror(got), strerror(want));
	return ret;
}

static void v4l2loopback_defaults(struct v4l2_loopback_config *c)
{
	memset(c, 0, sizeof(*c));
	c->output_nr = -1;
	c->unused = -1;
	c->announce_all_caps = -1;
}

static void ext_defaults(struct loopcam_device_config *c)
{
	memset(c, 0, sizeof(*c));
	c->magic = LOOPCAM_CONFIG_MAGIC;
	c->size = sizeof(*c);
	c->output_nr = -1;
	c->capture_nr = -1;
}

/*
 * Bad v4l2loopback-struct CTL_ADD requests, one per index; returns the
 * description, or NULL past the last. Every one must be EINVAL.
 */
static const char *bad_v4l2loopback_add(unsigned int i, struct v4l2_loopback_config *c)
{
	v4l2loopback_defaults(c);
	switch (i) {
	case 0:
		memset(c->card_label, 'L', sizeof(c->card_label));
		return "a label of 32 bytes without a NUL";
	case 1:
		c->max_width = 100000;
		return "max_width 100000";
	case 2:
		c->max_height = 100000;
		return "max_height 100000";
	case 3:
		c->min_width = 2000;
		c->max_width = 1000;
		return "min_width 2000 > max_width 1000";
	case 4:
		c->max_buffers = 1000;
		return "max_buffers 1000";
	case 5:
		c->max_openers = 100000;
		return "max_openers 100000";
	case 6:
		c->output_nr = -5;
		return "output_nr -5";
	case 7:
		c->announce_all_caps = 7;
		return "announce_all_caps 7";
	default:
		return NULL;
	}
}

/* The same for the loopcam extension. */
static const char *bad_ext_add(unsigned int i, struct loopcam_device_config *c)
{
	ext_defaults(c);
	switch (i) {
	case 0:
		c->magic = 0x12345678;
		return "a wrong magic";
	case 1:
		c->size = 4;
		return "size 4 (not this struct's)";
	case 2:
		c->flags = 1U << 31;
		return "an unknown flag";
	case 3:
		c->flags = LOOPCAM_FLAG_SPLIT | LOOPCAM_FLAG_EXCLUSIVE_CAPS;
		return "split and exclusive_caps at once";
	case 4:
		c->reserved[7] = 1;
		return "a non-zero reserved word";
	case 5:
		memset(c->card_label, 'L', sizeof(c->card_label));
		return "a label of 32 bytes without a NUL";
	case 6:
		c->format.fourcc = 0x44434241;
		return "format fourcc 'ABCD'";
	case 7:
		c->format.width = 100000;
		c->format.height = 100000;
		return "format 100000x100000";
	case 8:
		c->format.width = 640;
		return "format width 640 without a height";
	case 9:
		c->format.fps_num = 100000;
		c->format.fps_den = 1;
		return "format rate 100000/1";
	case 10:
		c->max_openers = 2;
		c->max_readers = 5;
		return "max_readers 5 > max_openers 2";
	case 11:
		c->timeout_ms = 1000000000;
		return "a timeout of 10^9 ms";
	case 12:
		c->flags = LOOPCAM_FLAG_SPLIT;
		c->output_nr = 70;
		c->capture_nr = 70;
		return "split with output_nr == capture_nr";
	default:
		return NULL;
	}
}

/* Sends each bad CTL_ADD; none may create a device. */
static void bad_adds(int fd)
{
	struct loopcam_device_config e;
	struct v4l2_loopback_config c;
	const char *desc;
	char what[160];
	unsigned int i;
	int ret;

	for (i = 0; (desc = bad_v4l2loopback_add(i, &c)); i++) {
		snprintf(what, sizeof(what), "CTL_ADD with %s", desc);
		ret = expect(fd, what, V4L2LOOPBACK_CTL_ADD, &c, EINVAL);
		if (ret >= 0)
			ioctl(fd, V4L2LOOPBACK_CTL_REMOVE, (unsigned long)ret);
	}
	for (i = 0; (desc = bad_ext_add(i, &e)); i++) {
		snprintf(what, sizeof(what), "LOOPCAM_CTL_ADD with %s", desc);
		ret = expect(fd, what, LOOPCAM_CTL_ADD, &e, EINVAL);
		if (ret >= 0)
			ioctl(fd, V4L2LOOPBACK_CTL_REMOVE, (unsigned long)ret);
	}
}

/* NULL and unmapped argument pointers: EFAULT, never a crash. */
static void bad_pointers(int fd)
{
	static const struct {
		const char *name;
		unsigned long req;
	} reqs[] = {
		{ "CTL_VERSION", V4L2LOOPBACK_CTL_VERSION },
		{ "CTL_ADD", V4L2LOOPBACK_CTL_ADD },
		{ "CTL_ADD (legacy 0x4C80)", V4L2LOOPBACK_CTL_ADD_LEGACY },
		{ "CTL_QUERY", V4L2LOOPBACK_CTL_QUERY },
		{ "CTL_QUERY (legacy 0x4C82)", V4L2LOOPBACK_CTL_QUERY_LEGACY },
		{ "LOOPCAM_CTL_ADD", LOOPCAM_CTL_ADD },
		{ "LOOPCAM_CTL_QUERY", LOOPCAM_CTL_QUERY },
	};
	long page = sysconf(_SC_PAGESIZE);
	char what[160];
	unsigned int i;
	void *gone;

	/* An address that was mapped and no longer is. */
	gone = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (gone == MAP_FAILED) {
		check(0, "mmap of a scratch page: %s", strerror(errno));
		return;
	}
	munmap(gone, page);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		snprintf(what, sizeof(what), "%s with a NULL argument", reqs[i].name);
		expect(fd, what, reqs[i].req, NULL, EFAULT);
		snprintf(what, sizeof(what), "%s with an unmapped argument", reqs[i].name);
		expect(fd, what, reqs[i].req, gone, EFAULT);
	}
	/* A struct that ends in an unmapped page: the kernel must not read past. */
	{
		char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct v4l2_loopback_config *c;

		if (two == MAP_FAILED) {
			check(0, "mmap of two scratch pages: %s", strerror(errno));
			return;
		}
		munmap(two + page, page);
		c = (void *)(two + page - sizeof(*c) / 2);
		expect(fd, "CTL_ADD with a struct running into an unmapped page",
		       V4L2LOOPBACK_CTL_ADD, c, EFAULT);
		munmap(two, page);
	}
}

static void bad_numbers(int fd)
{
	struct v4l2_loopback_config c;

	expect(fd, "CTL_REMOVE of node 4000 (no such device)", V4L2LOOPBACK_CTL_REMOVE,
	       (void *)4000UL, ENODEV);
	expect(fd, "CTL_REMOVE of node -1 (passed as ULONG_MAX)", V4L2LOOPBACK_CTL_REMOVE,
	       (void *)-1UL, EINVAL);
	v4l2loopback_defaults(&c);
	c.output_nr = -7;
	expect(fd, "CTL_QUERY of node -7", V4L2LOOPBACK_CTL_QUERY, &c, EINVAL);
	c.output_nr = 4000;
	expect(fd, "CTL_QUERY of node 4000 (no such device)", V4L2LOOPBACK_CTL_QUERY, &c,
	       ENODEV);
	expect(fd, "an unknown ioctl on the control device",
	       _IOWR('~', 0x7f, struct v4l2_loopback_config), &c, ENOTTY);
}

/* Every byte CTL_QUERY returns is defined: no stale kernel memory. */
static void query_is_clean(int fd, int nr)
{
	struct loopcam_device_config e;
	struct v4l2_loopback_config c;
	unsigned int i;
	size_t n;
	int ret;

	memset(&c, 0xa5, sizeof(c));
	c.output_nr = nr;
	ret = call(fd, V4L2LOOPBACK_CTL_QUERY, &c);
	check(!ret, "CTL_QUERY %d: %s", nr, ret ? strerror(ret) : "ok");
	n = strnlen(c.card_label, sizeof(c.card_label));
	for (i = n; i < sizeof(c.card_label) && c.card_label[i] == 0; i++)
		;
	check(n < sizeof(c.card_label) && i == sizeof(c.card_label),
	      "CTL_QUERY %d: card_label '%.*s' is NUL-padded to its end (nothing stale after it)",
	      nr, (int)n, c.card_label);

	memset(&e, 0xa5, sizeof(e));
	e.magic = LOOPCAM_CONFIG_MAGIC;
	e.size = sizeof(e);
	e.output_nr = nr;
	ret = call(fd, LOOPCAM_CTL_QUERY, &e);
	check(!ret, "LOOPCAM_CTL_QUERY %d: %s", nr, ret ? strerror(ret) : "ok");
	for (i = 0; i < sizeof(e.reserved) / sizeof(e.reserved[0]) && !e.reserved[i]; i++)
		;
	check(i == sizeof(e.reserved) / sizeof(e.reserved[0]),
	      "LOOPCAM_CTL_QUERY %d: reserved words come back zero", nr);
	n = strnlen(e.card_label, sizeof(e.card_label));
	for (i = n; i < sizeof(e.card_label) && e.card_label[i] == 0; i++)
		;
	check(n < sizeof(e.card_label) && i == sizeof(e.card_label),
	      "LOOPCAM_CTL_QUERY %d: card_label is NUL-padded to its end", nr);
}

/* The module still creates, describes and removes devices. */
static void still_usable(int fd)
{
	struct v4l2_loopback_config c;
	int ret, nr;

	v4l2loopback_defaults(&c);
	snprintf(c.card_label, sizeof(c.card_label), "after abuse");
	nr = ioctl(fd, V4L2LOOPBACK_CTL_ADD, &c);
	ret = nr < 0 ? errno : 0;
	check(!ret && nr >= 0, "CTL_ADD after the bad requests gives node %d (%s)", nr,
	      ret ? strerror(ret) : "ok");
	if (ret || nr < 0)
		return;
	query_is_clean(fd, nr);
	ret = call(fd, V4L2LOOPBACK_CTL_REMOVE, (void *)(unsigned long)nr);
	check(!ret, "CTL_REMOVE %d after the bad requests: %s", nr, ret ? strerror(ret) : "ok");
}

int main(int argc, char **argv)
{
	const char *path = "/dev/" V4L2LOOPBACK_CTL_NAME;
	int streaming = -1, fd, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ctl") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--streaming") && i + 1 < argc) {
			streaming = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: lc-ctl-abuse [--ctl PATH] [--streaming NODE]\n");
			return 2;
		}
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "lc-ctl-abuse: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	bad_pointers(fd);
	bad_adds(fd);
	bad_numbers(fd);
	if (streaming >= 0)
		expect(fd, "CTL_REMOVE of a device that is streaming", V4L2LOOPBACK_CTL_REMOVE,
		       (void *)(unsigned long)streaming, EBUSY);
	still_usable(fd);
	close(fd);
	printf("result=%s failures=%d\n", failures ? "fail" : "pass", failures);
	return failures ? 1 : 0;
}
