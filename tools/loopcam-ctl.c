// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loopcam-ctl: create, inspect and remove loopcam (v4l2loopback) devices.
 *
 * Devices are created, queried and removed through the control device
 * /dev/v4l2loopback. Formats, frame rates and reader counts go through
 * each node's sysfs attributes, which anybody may read and which need no
 * access to the control device. The placeholder image is written through
 * the video node itself, as a producer would.
 *
 * Arguments follow v4l2loopback-ctl 0.15 (device first, e.g.
 * "set-fps /dev/video0 30"); the 0.12 order (device last) is accepted too.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/v4l2loopback.h>

#ifndef LOOPCAM_VERSION
#error "LOOPCAM_VERSION must be defined by the build"
#endif

/* Exit codes, as documented in --help and loopcam-ctl(1). */
enum {
	LC_EXIT_OK = 0,
	LC_EXIT_FAILED = 1,	/* the operation failed */
	LC_EXIT_USAGE = 2,	/* bad command line */
	LC_EXIT_NO_MODULE = 3,	/* module not loaded / no control device */
	LC_EXIT_PERMISSION = 4,	/* no access to the control device or node */
};

/* Where the control device and sysfs are; overridable for tests only. */
static const char *control_path = "/dev/" V4L2LOOPBACK_CTL_NAME;
static const char *sysfs_root = "/sys";

/* What the card label of a split node has appended (loopcam-device.c). */
static const char output_suffix[] = " (output)";

struct command {
	const char *name;
	const char *alias;
	int (*run)(const struct command *cmd, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct command *find_command(const char *name);

/* ---- messages ---------------------------------------------------------- */

static void __attribute__((format(printf, 1, 2))) error(const char *fmt, ...)
{
	va_list ap;

	fputs("loopcam-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int __attribute__((format(printf, 2, 3)))
usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loopcam-ctl %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'loopcam-ctl %s --help'.\n", cmd->name);
	return LC_EXIT_USAGE;
}

static void print_command_help(FILE *out, const struct command *cmd)
{
	fprintf(out, "Usage: loopcam-ctl %s %s\n%s", cmd->name, cmd->synopsis,
		cmd->help);
	if (cmd->alias)
		fprintf(out, "\n'%s' is another name for '%s'.\n", cmd->alias,
			cmd->name);
}

/*
 * getopt returned '?' or ':'. Option strings start with ':' and leave '?'
 * out, so "-?" (help in v4l2loopback-ctl) comes back as an unknown option
 * '?'; an unknown long option has optopt 0.
 */
static int bad_option(const struct command *cmd, char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return usage_error(cmd, "option '%s' needs an argument", arg);
	if (optopt == '?') {
		print_command_help(stdout, cmd);
		return LC_EXIT_OK;
	}
	if (optopt)
		return usage_error(cmd, "unknown option '-%c'", optopt);
	return usage_error(cmd, "unknown option '%s'", arg);
}

static bool module_loaded(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/module/v4l2loopback", sysfs_root);
	return access(path, F_OK) == 0;
}

static int module_not_loaded(void)
{
	error("the v4l2loopback module is not loaded; load it: sudo modprobe v4l2loopback");
	return LC_EXIT_NO_MODULE;
}

static int permission_denied(const char *path)
{
	error("permission denied on %s: run as root, or add yourself to group video "
	      "(sudo usermod -aG video $USER, then log in again); "
	      "the udev rule 60-loopcam.rules gives group video read-write access (0660)",
	      path);
	return LC_EXIT_PERMISSION;
}

/* Open the control device, or say why not and return an exit code. */
static int open_control(int *fd)
{
	*fd = open(control_path, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return LC_EXIT_OK;
	switch (errno) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		if (!module_loaded())
			return module_not_loaded();
		error("%s is missing although the v4l2loopback module is loaded "
		      "(is devtmpfs mounted on /dev?)", control_path);
		return LC_EXIT_NO_MODULE;
	case EACCES:
	case EPERM:
		return permission_denied(control_path);
	default:
		error("cannot open %s: %s", control_path, strerror(errno));
		return LC_EXIT_FAILED;
	}
}

/* ---- numbers ------------------------------------------------------------ */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A decimal number 0..max, nothing else (no sign, no spaces). */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!all_digits(s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static unsigned long gcd(unsigned long a, unsigned long b)
{
	while (b) {
		unsigned long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * A frame rate: "30", "30000/1001" or "29.97" (up to six decimals), as
 * the fraction num/den in lowest terms.
 */
static bool parse_fps(const char *s, uint32_t *num, uint32_t *den)
{
	char buf[64], *sep;
	unsigned long n, d = 1, g;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	sep = strpbrk(buf, "/.");
	if (sep && *sep == '/') {
		*sep = 0;
		if (!parse_uint(sep + 1, UINT32_MAX, &d))
			return false;
	} else if (sep) {
		unsigned long frac;
		size_t digits = strlen(sep + 1);

		*sep = 0;
		if (digits > 6 || !parse_uint(sep + 1, UINT32_MAX, &frac) ||
		    !parse_uint(buf, 1000000, &n))
			return false;
		while (digits--)
			d *= 10;
		n = n * d + frac;
		goto reduce;
	}
	if (!parse_uint(buf, UINT32_MAX, &n))
		return false;
reduce:
	if (!n || !d)
		return false;
	g = gcd(n, d);
	*num = n / g;
	*den = d / g;
	return true;
}

/* ---- devices ------------------------------------------------------------ */

/* The N of a name "videoN", or -1. */
static int video_name_number(const char *name)
{
	unsigned long nr;

	if (strncmp(name, "video", 5) || !parse_uint(name + 5, INT_MAX, &nr))
		return -1;
	return nr;
}

/*
 * A device argument: a number N, /dev/videoN, or a path (e.g. a udev
 * symlink) to a video node. /dev/videoN is taken as N even when the node
 * does not exist, so that "no such device" is reported as such later.
 */
static int parse_device(const char *arg, int *nr)
{
	char real[PATH_MAX];
	const char *name;
	unsigned long n;
	struct stat st;

	if (parse_uint(arg, INT_MAX, &n)) {
		*nr = n;
		return 0;
	}
	if (realpath(arg, real)) {
		if (stat(real, &st) || !S_ISCHR(st.st_mode))
			return -1;
		name = strrchr(real, '/') + 1;
	} else if (!strncmp(arg, "/dev/", 5)) {
		name = strrchr(arg, '/') + 1;
	} else {
		return -1;
	}
	*nr = video_name_number(name);
	return *nr < 0 ? -1 : 0;
}

/*
 * How much an argument looks like a device: 2 for /dev/... or a character
 * device, 1 for a plain number (which could also be a frame rate), 0 else.
 */
static int device_likeness(const char *arg)
{
	struct stat st;

	if (!strncmp(arg, "/dev/", 5) ||
	    (!stat(arg, &st) && S_ISCHR(st.st_mode)))
		return 2;
	return all_digits(arg) ? 1 : 0;
}

/*
 * Of two arguments, which one (0 or 1) is the device: v4l2loopback-ctl
 * 0.15 puts it first, 0.12 last. When both could be, the 0.15 order wins.
 */
static int device_arg_index(char *const args[2])
{
	return device_likeness(args[1]) > device_likeness(args[0]);
}

static void node_attr_path(char *buf, size_t size, int nr, const char *attr)
{
	snprintf(buf, size, "%s/class/video4linux/video%d%s%s", sysfs_root, nr,
		 attr ? "/" : "", attr ? attr : "");
}

/* Read a sysfs attribute of node @nr, without its trailing newline. */
static int read_attr(int nr, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t len;
	int fd, err;

	node_attr_path(path, sizeof(path), nr, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	err = errno;
	close(fd);
	if (len < 0)
		return -err;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = 0;
	return 0;
}

static int write_attr(int nr, const char *attr, const char *value)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	ssize_t done;
	int fd, err;

	node_attr_path(path, sizeof(path), nr, attr);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* sysfs takes a value in one write(). */
	done = write(fd, value, len);
	err = errno;
	if (close(fd) && done >= 0)
		return -errno;
	if (done < 0)
		return -err;
	return (size_t)done == len ? 0 : -EIO;
}

/* 0 when video@nr is a loopback node; else say why, return an exit code. */
static int check_node(int nr)
{
	char path[PATH_MAX];

	node_attr_path(path, sizeof(path), nr, NULL);
	if (access(path, F_OK)) {
		if (!module_loaded())
			return module_not_loaded();
		error("no such device: /dev/video%d (see 'loopcam-ctl list')", nr);
		return LC_EXIT_FAILED;
	}
	node_attr_path(path, sizeof(path), nr, "format");
	if (access(path, F_OK)) {
		error("/dev/video%d is not a v4l2loopback device (see 'loopcam-ctl list')",
		      nr);
		return LC_EXIT_FAILED;
	}
	return LC_EXIT_OK;
}

/* A split device's capture node (sysfs index 1, registered second) or not. */
static bool is_split_capture(int nr)
{
	char buf[16];

	return !read_attr(nr, "peer", buf, sizeof(buf)) &&
	       !read_attr(nr, "index", buf, sizeof(buf)) && !strcmp(buf, "1");
}

/* The node producers use: the node itself, or a capture node's peer. */
static int output_node(int nr)
{
	char peer[32];

	if (is_split_capture(nr) && !read_attr(nr, "peer", peer, sizeof(peer)) &&
	    video_name_number(peer) >= 0)
		return video_name_number(peer);
	return nr;
}

/* Explain a failed write of @value to sysfs attribute @attr of a node. */
static int attr_write_failed(int nr, const char *attr, const char *value,
			     int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		error("permission denied writing '%s' of /dev/video%d: run as root",
		      attr, nr);
		return LC_EXIT_PERMISSION;
	case EBUSY:
		error("/dev/video%d is busy: a producer or a streaming reader holds "
		      "its format; stop them and try again", nr);
		return LC_EXIT_FAILED;
	case EINVAL:
		error("/dev/video%d refused format '%s': unsupported pixel format, or "
		      "size or frame rate outside the device's limits "
		      "(see 'loopcam-ctl query %d')", nr, value, nr);
		return LC_EXIT_FAILED;
	default:
		error("cannot write '%s' to %s of /dev/video%d: %s", value, attr, nr,
		      strerror(err));
		return LC_EXIT_FAILED;
	}
}

/* Open video node @nr for I/O, or say why not and return an exit code. */
static int open_node(int nr, int *fd)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/video%d", nr);
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return LC_EXIT_OK;
	if (errno == EACCES || errno == EPERM)
		return permission_denied(path);
	error("cannot open %s: %s", path, strerror(errno));
	return LC_EXIT_FAILED;
}

static int set_control(int fd, int nr, uint32_t id, const char *name,
		       int32_t value)
{
	struct v4l2_control ctrl = { .id = id, .value = value };

	if (!ioctl(fd, VIDIOC_S_CTRL, &ctrl))
		return LC_EXIT_OK;
	if (errno == ERANGE)
		error("/dev/video%d: %s %d is out of range", nr, name, value);
	else
		error("/dev/video%d: cannot set %s: %s", nr, name, strerror(errno));
	return LC_EXIT_FAILED;
}

/* ---- formats ------------------------------------------------------------ */

/* Raw formats of the module with their GStreamer names (same memory layout). */
static const struct {
	uint32_t fourcc;
	const char *gst;
} gst_formats[] = {
	{ V4L2_PIX_FMT_YUV420, "I420" },  { V4L2_PIX_FMT_NV12, "NV12" },
	{ V4L2_PIX_FMT_YUYV, "YUY2" },    { V4L2_PIX_FMT_UYVY, "UYVY" },
	{ V4L2_PIX_FMT_YVYU, "YVYU" },    { V4L2_PIX_FMT_NV21, "NV21" },
	{ V4L2_PIX_FMT_YVU420, "YV12" },  { V4L2_PIX_FMT_NV16, "NV16" },
	{ V4L2_PIX_FMT_GREY, "GRAY8" },   { V4L2_PIX_FMT_Y16, "GRAY16_LE" },
	{ V4L2_PIX_FMT_RGB24, "RGB" },    { V4L2_PIX_FMT_BGR24, "BGR" },
	{ V4L2_PIX_FMT_RGB565, "RGB16" }, { V4L2_PIX_FMT_XRGB32, "BGRx" },
	{ V4L2_PIX_FMT_XBGR32, "RGBx" },  { V4L2_PIX_FMT_ARGB32, "BGRA" },
	{ V4L2_PIX_FMT_ABGR32, "RGBA" },
};

static const char *gst_format_name(uint32_t fourcc)
{
	size_t i;

	for (i = 0; i < sizeof(gst_formats) / sizeof(gst_formats[0]); i++)
		if (gst_formats[i].fourcc == fourcc)
			return gst_formats[i].gst;
	return NULL;
}

/*
 * A pixel format name: a GStreamer name of a raw format ("I420", "YUY2"),
 * else a V4L2 fourcc of up to four characters, padded with spaces as the
 * module pads it ("Y16" is "Y16 "). The module decides what it supports.
 */
static bool parse_fourcc(const char *s, size_t len, uint32_t *fourcc)
{
	char c[4] = { ' ', ' ', ' ', ' ' };
	size_t i;

	for (i = 0; i < sizeof(gst_formats) / sizeof(gst_formats[0]); i++) {
		if (strlen(gst_formats[i].gst) == len &&
		    !strncmp(gst_formats[i].gst, s, len)) {
			*fourcc = gst_formats[i].fourcc;
			return true;
		}
	}
	if (!len || len > 4)
		return false;
	for (i = 0; i < len; i++) {
		if (!isgraph((unsigned char)s[i]))
			return false;
		c[i] = s[i];
	}
	*fourcc = v4l2_fourcc(c[0], c[1], c[2], c[3]);
	return true;
}

/* "WxH" with both at least 1. */
static bool parse_size(const char *s, uint32_t *w, uint32_t *h)
{
	char buf[32], *x;
	unsigned long wl, hl;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	x = strchr(buf, 'x');
	if (!x)
		return false;
	*x = 0;
	if (!parse_uint(buf, UINT32_MAX, &wl) ||
	    !parse_uint(x + 1, UINT32_MAX, &hl) || !wl || !hl)
		return false;
	*w = wl;
	*h = hl;
	return true;
}

/* Strip leading/trailing blanks and a GStreamer type cast like "(int)". */
static char *caps_value(char *v)
{
	char *end;

	while (isspace((unsigned char)*v))
		v++;
	if (*v == '(' && (end = strchr(v, ')')))
		v = end + 1;
	while (isspace((unsigned char)*v))
		v++;
	end = v + strlen(v);
	while (end > v && isspace((unsigned char)end[-1]))
		*--end = 0;
	return v;
}

/*
 * GStreamer caps as v4l2loopback-ctl 0.12 took them:
 * "video/x-raw, format=UYVY, width=640, height=480, framerate=30/1".
 */
static bool parse_gst_caps(const char *s, struct loopcam_format *f)
{
	char buf[256], *field, *save, *eq, *v;
	bool first = true;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (field = strtok_r(buf, ",", &save); field;
	     field = strtok_r(NULL, ",", &save), first = false) {
		if (first) {
			v = caps_value(field);
			if (!strcmp(v, "image/jpeg"))
				f->fourcc = V4L2_PIX_FMT_MJPEG;
			else if (strcmp(v, "video/x-raw"))
				return false;
			continue;
		}
		eq = strchr(field, '=');
		if (!eq)
			return false;
		*eq = 0;
		v = caps_value(eq + 1);
		field = caps_value(field);
		if (!strcmp(field, "format")) {
			if (!parse_fourcc(v, strlen(v), &f->fourcc))
				return false;
		} else if (!strcmp(field, "width") || !strcmp(field, "height")) {
			unsigned long n;

			if (!parse_uint(v, UINT32_MAX, &n) || !n)
				return false;
			*(field[0] == 'w' ? &f->width : &f->height) = n;
		} else if (!strcmp(field, "framerate")) {
			if (!parse_fps(v, &f->fps_num, &f->fps_den))
				return false;
		}
		/* Other fields (colorimetry, ...) do not concern the module. */
	}
	return !first && !f->width == !f->height;
}

/*
 * "FOURCC:WxH@fps" (each part optional: "@30", ":640x480"), as in
 * v4l2loopback-ctl 0.15 ("UYVY:640x480@30/1", "YU12:1280x720"), or GStreamer
 * caps. Parts not given are 0.
 */
static bool parse_format(const char *s, struct loopcam_format *f)
{
	char buf[64], *p, *at;
	size_t len;

	memset(f, 0, sizeof(*f));
	if (!strncmp(s, "video/", 6) || !strncmp(s, "image/", 6))
		return parse_gst_caps(s, f);
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	at = strchr(buf, '@');
	if (at) {
		*at = 0;
		if (!parse_fps(at + 1, &f->fps_num, &f->fps_den))
			return false;
	}
	p = strchr(buf, ':');
	len = p ? (size_t)(p - buf) : strlen(buf);
	if (len && !parse_fourcc(buf, len, &f->fourcc))
		return false;
	if (p && !parse_size(p + 1, &f->width, &f->height))
		return false;
	return f->fourcc || f->width || f->fps_num;
}

/* The fourcc as text, without the padding spaces. */
static void fourcc_str(uint32_t fourcc, char out[5])
{
	int i;

	for (i = 0; i < 4; i++)
		out[i] = (fourcc >> (8 * i)) & 0xff;
	for (i = 4; i > 0 && out[i - 1] == ' '; i--)
		;
	out[i] = 0;
}

/* "FOURCC:WxH@fps" with the parts that are set, as the module reads it. */
static void format_str(const struct loopcam_format *f, char *buf, size_t size)
{
	char fcc[5] = "";
	size_t n;

	if (f->fourcc)
		fourcc_str(f->fourcc, fcc);
	n = snprintf(buf, size, "%s", fcc);
	if (f->width && n < size)
		n += snprintf(buf + n, size - n, ":%ux%u", f->width, f->height);
	if (f->fps_num && n < size) {
		if (f->fps_den == 1)
			snprintf(buf + n, size - n, "@%u", f->fps_num);
		else
			snprintf(buf + n, size - n, "@%u/%u", f->fps_num,
				 f->fps_den);
	}
}

/* ---- output ------------------------------------------------------------- */

/* A label with control characters and backslashes escaped (\ooo, \\). */
static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\%03o", c);
		else
			putchar(c);
	}
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* ---- add ---------------------------------------------------------------- */

static int add_failed(int err)
{
	switch (err) {
	case EINVAL:
		error("the module refused these settings (the kernel log says why: "
		      "sudo dmesg | tail)");
		break;
	case EEXIST:
		error("a requested video node number is taken or out of range "
		      "(see 'loopcam-ctl list')");
		break;
	case ENFILE:
		error("no free video node number left");
		break;
	case ENOSPC:
		error("the module's device limit is reached; remove a device first");
		break;
	case ENOTTY:
		error("the loaded v4l2loopback module has no loopcam extension: "
		      "is it loopcam's v4l2loopback.ko?");
		break;
	default:
		error("cannot create the device: %s", strerror(err));
	}
	return LC_EXIT_FAILED;
}

/* One device's settings, as "key: value" lines or as one JSON object. */
struct config_printer {
	bool json;
	bool first;
};

static void config_key(struct config_printer *p, const char *key)
{
	if (p->json)
		printf("%s\n  \"%s\": ", p->first ? "{" : ",", key);
	else
		printf("%s: ", key);
	p->first = false;
}

static void config_end_value(struct config_printer *p)
{
	if (!p->json)
		putchar('\n');
}

static void config_uint(struct config_printer *p, const char *key, unsigned long v)
{
	config_key(p, key);
	printf("%lu", v);
	config_end_value(p);
}

/* A string value; NULL is "none" in text and null in JSON. */
static void config_str(struct config_printer *p, const char *key, const char *v)
{
	config_key(p, key);
	if (!v)
		fputs(p->json ? "null" : "none", stdout);
	else if (p->json)
		print_json_string(v);
	else
		print_escaped(v);
	config_end_value(p);
}

static void print_config(const struct loopcam_device_config *c, bool json)
{
	struct config_printer p = { .json = json, .first = true };
	bool split = c->flags & LOOPCAM_FLAG_SPLIT;
	struct loopcam_format f = c->format;
	char node[32], capture[32], fmt[64];
	unsigned long g;

	snprintf(node, sizeof(node), "/dev/video%d", c->output_nr);
	snprintf(capture, sizeof(capture), "/dev/video%d", c->capture_nr);
	if (f.fps_num && f.fps_den) {
		g = gcd(f.fps_num, f.fps_den);
		f.fps_num /= g;
		f.fps_den /= g;
	}
	format_str(&f, fmt, sizeof(fmt));

	config_str(&p, "device", node);
	config_str(&p, "capture_device", split ? capture : NULL);
	config_str(&p, "label", c->card_label);
	config_str(&p, "mode", split ? "split" : "combined");
	config_uint(&p, "exclusive_caps", !!(c->flags & LOOPCAM_FLAG_EXCLUSIVE_CAPS));
	config_uint(&p, "keep_format", !!(c->flags & LOOPCAM_FLAG_KEEP_FORMAT));
	config_uint(&p, "min_width", c->min_width);
	config_uint(&p, "max_width", c->max_width);
	config_uint(&p, "min_height", c->min_height);
	config_uint(&p, "max_height", c->max_height);
	config_uint(&p, "buffers", c->max_buffers);
	config_uint(&p, "max_openers", c->max_openers);
	config_uint(&p, "max_readers", c->max_readers);
	config_uint(&p, "timeout_ms", c->timeout_ms);
	config_str(&p, "format", fmt);
	if (json)
		fputs("\n}", stdout);
}

/* Query the device of node @nr; 0, or the errno of the ioctl. */
static int query_device(int ctl, int nr, struct loopcam_device_config *c)
{
	memset(c, 0, sizeof(*c));
	c->magic = LOOPCAM_CONFIG_MAGIC;
	c->size = sizeof(*c);
	c->output_nr = nr;
	return ioctl(ctl, LOOPCAM_CTL_QUERY, c) ? errno : 0;
}

enum {
	OPT_MIN_WIDTH = 256,
	OPT_MIN_HEIGHT,
	OPT_FORMAT,
	OPT_MAX_READERS,
	OPT_TIMEOUT,
	OPT_SPLIT,
	OPT_KEEP_FORMAT,
	OPT_HELP,
};

static int cmd_add(const struct command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "exclusive-caps", required_argument, NULL, 'x' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "max-openers", required_argument, NULL, 'o' },
		{ "min-width", required_argument, NULL, OPT_MIN_WIDTH },
		{ "max-width", required_argument, NULL, 'w' },
		{ "min-height", required_argument, NULL, OPT_MIN_HEIGHT },
		{ "max-height", required_argument, NULL, 'h' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "max-readers", required_argument, NULL, OPT_MAX_READERS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "split", no_argument, NULL, OPT_SPLIT },
		{ "keep-format", no_argument, NULL, OPT_KEEP_FORMAT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct loopcam_device_config c = {
		.magic = LOOPCAM_CONFIG_MAGIC,
		.size = sizeof(c),
		.output_nr = -1,
		.capture_nr = -1,
	};
	bool verbose = false, exclusive = false;
	unsigned long n;
	uint32_t *field;
	int opt, ctl, ret;

	while ((opt = getopt_long(argc, argv, ":n:x:b:o:w:h:v", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (strlen(optarg) >= sizeof(c.card_label))
				return usage_error(cmd, "label '%s' is longer than %zu bytes",
						   optarg, sizeof(c.card_label) - 1);
			strcpy(c.card_label, optarg);
			continue;
		case 'x':
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				return usage_error(cmd, "--exclusive-caps takes 0 or 1, not '%s'",
						   optarg);
			exclusive = optarg[0] == '1';
			continue;
		case OPT_FORMAT:
			if (!parse_format(optarg, &c.format))
				return usage_error(cmd, "bad format '%s' (want FOURCC:WxH@fps, e.g. YUYV:1280x720@30)",
						   optarg);
			continue;
		case OPT_SPLIT:
			c.flags |= LOOPCAM_FLAG_SPLIT;
			continue;
		case OPT_KEEP_FORMAT:
			c.flags |= LOOPCAM_FLAG_KEEP_FORMAT;
			continue;
		case 'v':
			verbose = true;
			continue;
		case OPT_HELP:
			print_command_help(stdout, cmd);
			return LC_EXIT_OK;
		case 'b':
			field = &c.max_buffers;
			break;
		case 'o':
			field = &c.max_openers;
			break;
		case OPT_MIN_WIDTH:
			field = &c.min_width;
			break;
		case 'w':
			field = &c.max_width;
			break;
		case OPT_MIN_HEIGHT:
			field = &c.min_height;
			break;
		case 'h':
			field = &c.max_height;
			break;
		case OPT_MAX_READERS:
			field = &c.max_readers;
			break;
		case OPT_TIMEOUT:
			field = &c.timeout_ms;
			break;
		default:
			return bad_option(cmd, argv, opt);
		}
		/* The options that take a number end up here. */
		if (!parse_uint(optarg, UINT32_MAX, &n))
			return usage_error(cmd, "'%s' is not a number (option %s)",
					   optarg, argv[optind - 1] == optarg ?
					   argv[optind - 2] : argv[optind - 1]);
		*field = n;
	}

	if (argc - optind > 2)
		return usage_error(cmd, "too many arguments");
	if (optind < argc && parse_device(argv[optind], &c.output_nr))
		return usage_error(cmd, "'%s' is not a video device (give /dev/videoN or N)",
				   argv[optind]);
	if (optind + 1 < argc) {
		if (parse_device(argv[optind + 1], &c.capture_nr))
			return usage_error(cmd, "'%s' is not a video device (give /dev/videoN or N)",
					   argv[optind + 1]);
		c.flags |= LOOPCAM_FLAG_SPLIT;
	}
	if (exclusive) {
		if (c.flags & LOOPCAM_FLAG_SPLIT)
			return usage_error(cmd, "--exclusive-caps 1 is for combined devices; "
					   "a split device's nodes are output-only and capture-only");
		c.flags |= LOOPCAM_FLAG_EXCLUSIVE_CAPS;
	}

	ret = open_control(&ctl);
	if (ret)
		return ret;
	ret = ioctl(ctl, LOOPCAM_CTL_ADD, &c);
	if (ret < 0) {
		ret = add_failed(errno);
		close(ctl);
		return ret;
	}
	if (c.flags & LOOPCAM_FLAG_SPLIT)
		printf("/dev/video%d /dev/video%d\n", c.output_nr, c.capture_nr);
	else
		printf("/dev/video%d\n", c.output_nr);
	if (verbose && !query_device(ctl, c.output_nr, &c))
		print_config(&c, false);
	close(ctl);
	return LC_EXIT_OK;
}

/* ---- commands with device arguments only --------------------------------- */

/*
 * Parse the options of a command that has none but --help; -h and -? are
 * help too, and -e/--escape (v4l2loopback-ctl 0.15) is accepted: labels
 * are always printed escaped. Returns -1 to go on, else an exit code.
 */
static int parse_no_options(const struct command *cmd, int argc, char **argv,
			    bool *json)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "escape", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":he", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			print_command_help(stdout, cmd);
			return LC_EXIT_OK;
		case 'e':
			break;
		case 'j':
			if (!json)
				return usage_error(cmd, "unknown option '--json'");
			*json = true;
			break;
		default:
			return bad_option(cmd, argv, opt);
		}
	}
	return -1;
}

/* Parse the device arguments argv[optind..]: at least one, at most @max. */
static int parse_devices(const struct command *cmd, int argc, char **argv,
			 int max, int *nrs)
{
	int i, count = argc - optind;

	if (count < 1)
		return usage_error(cmd, "no device given");
	if (count > max)
		return usage_error(cmd, "too many arguments");
	for (i = 0; i < count; i++)
		if (parse_device(argv[optind + i], &nrs[i]))
			return usage_error(cmd, "'%s' is not a video device (give /dev/videoN or N)",
					   argv[optind + i]);
	return -1;
}

#define MAX_DEVICE_ARGS 64

static int cmd_remove(const struct command *cmd, int argc, char **argv)
{
	int nrs[MAX_DEVICE_ARGS];
	int i, ctl, ret, count;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret < 0)
		ret = parse_devices(cmd, argc, argv, MAX_DEVICE_ARGS, nrs);
	if (ret >= 0)
		return ret;
	count = argc - optind;
	ret = open_control(&ctl);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		/* The number goes by value, as v4l2loopback takes it. */
		if (!ioctl(ctl, V4L2LOOPBACK_CTL_REMOVE, (unsigned long)nrs[i]))
			continue;
		ret = LC_EXIT_FAILED;
		if (errno == EBUSY)
			error("/dev/video%d is in use: close the programs that have it open "
			      "(see 'fuser -v /dev/video%d') and try again", nrs[i], nrs[i]);
		else if (errno == ENODEV || errno == EINVAL)
			error("no such device: /dev/video%d is not a loopback device "
			      "(see 'loopcam-ctl list')", nrs[i]);
		else if (errno == EACCES || errno == EPERM)
			ret = permission_denied(control_path);
		else
			error("cannot remove /dev/video%d: %s", nrs[i], strerror(errno));
	}
	close(ctl);
	return ret;
}

static int cmd_query(const struct command *cmd, int argc, char **argv)
{
	struct loopcam_device_config c;
	int nrs[MAX_DEVICE_ARGS];
	int i, ctl, ret, err, count, printed = 0;
	bool json = false;

	ret = parse_no_options(cmd, argc, argv, &json);
	if (ret < 0)
		ret = parse_devices(cmd, argc, argv, MAX_DEVICE_ARGS, nrs);
	if (ret >= 0)
		return ret;
	count = argc - optind;
	ret = open_control(&ctl);
	if (ret)
		return ret;
	if (json)
		putchar('[');
	for (i = 0; i < count; i++) {
		err = query_device(ctl, nrs[i], &c);
		if (err) {
			ret = LC_EXIT_FAILED;
			if (err == ENODEV)
				error("no such device: /dev/video%d is not a loopback device "
				      "(see 'loopcam-ctl list')", nrs[i]);
			else
				error("cannot query /dev/video%d: %s", nrs[i],
				      strerror(err));
			continue;
		}
		if (printed)
			fputs(json ? ",\n" : "\n", stdout);
		print_config(&c, json);
		printed++;
	}
	if (json)
		puts("]");
	close(ctl);
	return ret;
}

/* ---- list --------------------------------------------------------------- */

static int video_dirent_filter(const struct dirent *d)
{
	return video_name_number(d->d_name) >= 0;
}

static int video_dirent_compare(const struct dirent **a,
				const struct dirent **b)
{
	return video_name_number((*a)->d_name) - video_name_number((*b)->d_name);
}

/* One line of 'list': a combined node, or a split device's output node. */
struct list_entry {
	int nr;
	int capture_nr;		/* -1 when combined */
	char label[64];
	char format[64];
	char state[16];
	long readers;		/* -1 when the module does not say */
	char buffers[16];
	char max_openers[16];
};

/*
 * The format node @nr gives readers (or, on a node showing only OUTPUT,
 * producers), from G_FMT and G_PARM; 0 or a negative errno.
 */
static int node_format(int nr, char *format, size_t size)
{
	struct v4l2_capability cap = { 0 };
	struct v4l2_streamparm parm = { 0 };
	struct v4l2_format fmt = { 0 };
	struct loopcam_format f = { 0 };
	struct v4l2_fract *tpf;
	char path[32];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/dev/video%d", nr);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VIDIOC_QUERYCAP, &cap)) {
		ret = -errno;
		goto out;
	}
	fmt.type = (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) ?
		   V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
	parm.type = fmt.type;
	if (ioctl(fd, VIDIOC_G_FMT, &fmt) || ioctl(fd, VIDIOC_G_PARM, &parm)) {
		ret = -errno;
		goto out;
	}
	tpf = fmt.type == V4L2_BUF_TYPE_VIDEO_CAPTURE ?
	      &parm.parm.capture.timeperframe : &parm.parm.output.timeperframe;
	f.fourcc = fmt.fmt.pix.pixelformat;
	f.width = fmt.fmt.pix.width;
	f.height = fmt.fmt.pix.height;
	f.fps_num = tpf->denominator;
	f.fps_den = tpf->numerator;
	format_str(&f, format, size);
out:
	close(fd);
	return ret;
}

/* Fill @e from sysfs; false for nodes that are not listed on their own. */
static bool list_entry_read(int nr, struct list_entry *e)
{
	char buf[32];
	size_t len;

	/* format, buffers and max_openers: v4l2loopback's own attributes. */
	if (read_attr(nr, "format", e->format, sizeof(e->format)) ||
	    read_attr(nr, "buffers", e->buffers, sizeof(e->buffers)) ||
	    read_attr(nr, "max_openers", e->max_openers, sizeof(e->max_openers)))
		return false;
	/* Empty until a format is chosen (as v4l2loopback's): ask the node. */
	if (!*e->format && node_format(nr, e->format, sizeof(e->format)))
		snprintf(e->format, sizeof(e->format), "-");
	if (is_split_capture(nr))
		return false;
	e->nr = nr;
	e->capture_nr = -1;
	if (!read_attr(nr, "peer", buf, sizeof(buf)))
		e->capture_nr = video_name_number(buf);
	if (read_attr(nr, "name", e->label, sizeof(e->label)))
		e->label[0] = 0;
	len = strlen(e->label);
	if (e->capture_nr >= 0 && len >= strlen(output_suffix) &&
	    !strcmp(e->label + len - strlen(output_suffix), output_suffix))
		e->label[len - strlen(output_suffix)] = 0;
	if (read_attr(nr, "state", e->state, sizeof(e->state)))
		strcpy(e->state, "-");
	e->readers = -1;
	if (!read_attr(nr, "readers", buf, sizeof(buf)))
		e->readers = strtol(buf, NULL, 10);
	return true;
}

static void list_print_json(const struct list_entry *e, bool first)
{
	printf("%s\n  {\"device\": \"/dev/video%d\", \"number\": %d, ",
	       first ? "" : ",", e->nr, e->nr);
	if (e->capture_nr >= 0)
		printf("\"capture_device\": \"/dev/video%d\", \"capture_number\": %d, ",
		       e->capture_nr, e->capture_nr);
	else
		printf("\"capture_device\": null, \"capture_number\": null, ");
	printf("\"label\": ");
	print_json_string(e->label);
	printf(", \"format\": ");
	print_json_string(e->format);
	printf(", \"state\": ");
	print_json_string(e->state);
	if (e->readers >= 0)
		printf(", \"readers\": %ld", e->readers);
	else
		printf(", \"readers\": null");
	printf(", \"buffers\": %ld", strtol(e->buffers, NULL, 10));
	printf(", \"max_openers\": %ld}", strtol(e->max_openers, NULL, 10));
}

static void list_print_row(const struct list_entry *e)
{
	char dev[32], cap[32], readers[24];

	snprintf(dev, sizeof(dev), "/dev/video%d", e->nr);
	if (e->capture_nr >= 0)
		snprintf(cap, sizeof(cap), "/dev/video%d", e->capture_nr);
	else
		strcpy(cap, "-");
	if (e->readers >= 0)
		snprintf(readers, sizeof(readers), "%ld", e->readers);
	else
		strcpy(readers, "-");
	printf("%-13s %-13s %-24s %-8s %-7s ", dev, cap, e->format, e->state,
	       readers);
	print_escaped(e->label);
	putchar('\n');
}

static int cmd_list(const struct command *cmd, int argc, char **argv)
{
	char dir[PATH_MAX];
	struct dirent **names;
	struct list_entry e;
	bool json = false, first = true;
	int i, count, ret;

	ret = parse_no_options(cmd, argc, argv, &json);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return usage_error(cmd, "too many arguments");
	if (!module_loaded())
		return module_not_loaded();
	snprintf(dir, sizeof(dir), "%s/class/video4linux", sysfs_root);
	count = scandir(dir, &names, video_dirent_filter, video_dirent_compare);
	if (count < 0) {
		if (errno != ENOENT) {
			error("cannot read %s: %s", dir, strerror(errno));
			return LC_EXIT_FAILED;
		}
		count = 0;
		names = NULL;
	}
	if (json)
		putchar('[');
	else
		printf("%-13s %-13s %-24s %-8s %-7s %s\n", "DEVICE", "CAPTURE",
		       "FORMAT", "STATE", "READERS", "LABEL");
	for (i = 0; i < count; i++) {
		if (list_entry_read(video_name_number(names[i]->d_name), &e)) {
			if (json)
				list_print_json(&e, first);
			else
				list_print_row(&e);
			first = false;
		}
		free(names[i]);
	}
	free(names);
	if (json)
		printf("%s]\n", first ? "" : "\n");
	return LC_EXIT_OK;
}

/* ---- formats and frame rates --------------------------------------------- */

/*
 * Parse "DEVICE VALUE" or "VALUE DEVICE" (and nothing else) after the
 * options; returns -1 to go on, else an exit code.
 */
static int parse_device_and_value(const struct command *cmd, int argc,
				  char **argv, const char *what, int *nr,
				  const char **value)
{
	int dev;

	if (argc - optind != 2)
		return usage_error(cmd, "want a device and %s", what);
	dev = device_arg_index(&argv[optind]);
	if (parse_device(argv[optind + dev], nr))
		return usage_error(cmd, "'%s' is not a video device (give /dev/videoN or N)",
				   argv[optind + dev]);
	*value = argv[optind + !dev];
	return -1;
}

/* Make the next producer set the format freely again (caps 'any'). */
static int release_format(int nr)
{
	int fd, ret;

	ret = open_node(nr, &fd);
	if (ret)
		return ret;
	ret = set_control(fd, nr, V4L2LOOPBACK_CID_KEEP_FORMAT, "keep_format", 0);
	close(fd);
	return ret;
}

static int cmd_set_caps(const struct command *cmd, int argc, char **argv)
{
	struct loopcam_format f;
	const char *caps;
	char value[64];
	int nr, ret;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret < 0)
		ret = parse_device_and_value(cmd, argc, argv, "a format", &nr,
					     &caps);
	if (ret >= 0)
		return ret;
	if (strcmp(caps, "any") && !parse_format(caps, &f))
		return usage_error(cmd, "bad format '%s' (want FOURCC:WxH@fps, e.g. YUYV:1280x720@30)",
				   caps);
	ret = check_node(nr);
	if (ret)
		return ret;
	if (!strcmp(caps, "any"))
		return release_format(nr);
	format_str(&f, value, sizeof(value));
	ret = write_attr(nr, "format", value);
	return ret ? attr_write_failed(nr, "format", value, -ret) : LC_EXIT_OK;
}

static int cmd_set_fps(const struct command *cmd, int argc, char **argv)
{
	struct loopcam_format f = { 0 };
	const char *fps;
	char value[32];
	int nr, ret;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret < 0)
		ret = parse_device_and_value(cmd, argc, argv, "a frame rate",
					     &nr, &fps);
	if (ret >= 0)
		return ret;
	if (!parse_fps(fps, &f.fps_num, &f.fps_den))
		return usage_error(cmd, "bad frame rate '%s' (want e.g. 30, 30000/1001 or 29.97)",
				   fps);
	ret = check_node(nr);
	if (ret)
		return ret;
	format_str(&f, value, sizeof(value));
	ret = write_attr(nr, "format", value);
	return ret ? attr_write_failed(nr, "format", value, -ret) : LC_EXIT_OK;
}

/* The device argument and its format attribute, for the get-* commands. */
static int read_format(const struct command *cmd, int argc, char **argv,
		       int *nr, char *format, size_t size)
{
	int ret;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret < 0)
		ret = parse_devices(cmd, argc, argv, 1, nr);
	if (ret >= 0)
		return ret;
	ret = check_node(*nr);
	if (ret)
		return ret;
	ret = read_attr(*nr, "format", format, size);
	/* Empty until a format is chosen (as v4l2loopback's): ask the node. */
	if (!ret && !*format)
		ret = node_format(*nr, format, size);
	if (ret) {
		error("cannot read the format of /dev/video%d: %s", *nr,
		      strerror(-ret));
		return LC_EXIT_FAILED;
	}
	return -1;
}

static int cmd_get_caps(const struct command *cmd, int argc, char **argv)
{
	char format[64];
	int nr, ret;

	ret = read_format(cmd, argc, argv, &nr, format, sizeof(format));
	if (ret >= 0)
		return ret;
	printf("%s\n", format);
	return LC_EXIT_OK;
}

static int cmd_get_fps(const struct command *cmd, int argc, char **argv)
{
	char format[64], *at;
	int nr, ret;

	ret = read_format(cmd, argc, argv, &nr, format, sizeof(format));
	if (ret >= 0)
		return ret;
	at = strchr(format, '@');
	if (!at) {
		error("/dev/video%d reports no frame rate (format '%s')", nr, format);
		return LC_EXIT_FAILED;
	}
	printf("%s\n", at + 1);
	return LC_EXIT_OK;
}

/* ---- readers ------------------------------------------------------------ */

static int cmd_readers(const struct command *cmd, int argc, char **argv)
{
	char count[16], stats[4096], *line, *save;
	unsigned long id, received, dropped;
	int nr, ret;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret < 0)
		ret = parse_devices(cmd, argc, argv, 1, &nr);
	if (ret >= 0)
		return ret;
	ret = check_node(nr);
	if (ret)
		return ret;
	if (read_attr(nr, "readers", count, sizeof(count)) ||
	    read_attr(nr, "reader_stats", stats, sizeof(stats))) {
		error("/dev/video%d does not report its readers (not a loopcam module?)",
		      nr);
		return LC_EXIT_FAILED;
	}
	printf("readers %s\n", count);
	/* reader_stats: one "id received dropped" line per streaming reader. */
	for (line = strtok_r(stats, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%lu %lu %lu", &id, &received, &dropped) == 3)
			printf("reader %lu received %lu dropped %lu\n", id,
			       received, dropped);
	return LC_EXIT_OK;
}

/* ---- set-timeout-image --------------------------------------------------- */

/*
 * Decode @image with GStreamer into one raw frame of @size bytes in
 * @frame. gst-launch-1.0 reads the file on its standard input, so no path
 * goes through its pipeline parser (which would split it at spaces), and
 * writes the frame to a pipe.
 */
static int convert_image(const char *image, const char *gst_format,
			 uint32_t width, uint32_t height, unsigned char *frame,
			 size_t size)
{
	char caps[96], scratch[4096];
	const char *argv[] = {
		"gst-launch-1.0", "-q", "fdsrc", "fd=0", "!", "decodebin", "!",
		/* The first picture only, also of an animation or a video. */
		"imagefreeze", "num-buffers=1", "!", "videoconvert", "!",
		"videoscale", "!", caps, "!", "fdsink", "fd=1", NULL,
	};
	int in, pipefd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	snprintf(caps, sizeof(caps), "video/x-raw,format=%s,width=%u,height=%u",
		 gst_format, width, height);
	in = open(image, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		error("cannot read image '%s': %s", image, strerror(errno));
		return LC_EXIT_FAILED;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		error("pipe: %s", strerror(errno));
		close(in);
		return LC_EXIT_FAILED;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dup2(in, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in);
	close(pipefd[1]);
	if (pid < 0) {
		error("fork: %s", strerror(errno));
		close(pipefd[0]);
		return LC_EXIT_FAILED;
	}
	/* Read to the end, counting bytes beyond one frame to report them. */
	for (;;) {
		if (got < size)
			n = read(pipefd[0], frame + got, size - got);
		else
			n = read(pipefd[0], scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		error("gst-launch-1.0 not found: install GStreamer's tools "
		      "(Debian: apt install gstreamer1.0-tools gstreamer1.0-plugins-good)");
		return LC_EXIT_FAILED;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		error("GStreamer could not decode '%s' (see its messages above)",
		      image);
		return LC_EXIT_FAILED;
	}
	if (got != size) {
		/* GStreamer pads rows to 4 bytes, the module does not. */
		error("GStreamer made %zu bytes of a %ux%u %s frame, the device expects %zu "
		      "(sizes whose rows GStreamer pads are not supported)",
		      got, width, height, gst_format, size);
		return LC_EXIT_FAILED;
	}
	return LC_EXIT_OK;
}

static bool write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/*
 * Hand @frame to the device as its placeholder. Everything but the last
 * byte is written first: that makes this handle the producer (or fails
 * if there is another one) without completing a frame, so the
 * timeout_image_io button, pressed next, can only catch our own frame,
 * which the last byte completes.
 */
static int send_placeholder(int fd, int nr, const unsigned char *frame,
			    size_t size)
{
	int ret;

	if (!write_all(fd, frame, size - 1)) {
		if (errno == EBUSY)
			error("/dev/video%d has a producer; stop it and try again", nr);
		else
			error("cannot write to /dev/video%d: %s", nr, strerror(errno));
		return LC_EXIT_FAILED;
	}
	ret = set_control(fd, nr, V4L2LOOPBACK_CID_TIMEOUT_IMAGE_IO,
			  "timeout_image_io", 1);
	if (ret)
		return ret;
	if (!write_all(fd, frame + size - 1, 1)) {
		error("cannot write to /dev/video%d: %s", nr, strerror(errno));
		return LC_EXIT_FAILED;
	}
	return LC_EXIT_OK;
}

static int cmd_set_timeout_image(const struct command *cmd, int argc,
				 char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
	struct v4l2_control timeout = { .id = V4L2LOOPBACK_CID_TIMEOUT };
	long timeout_ms = -1;
	bool verbose = false;
	const char *image, *gst_format;
	unsigned char *frame;
	unsigned long n;
	char fcc[5];
	int opt, nr, out_nr, fd, ret;

	while ((opt = getopt_long(argc, argv, ":t:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (!parse_uint(optarg, INT32_MAX, &n))
				return usage_error(cmd, "bad timeout '%s' (want milliseconds)",
						   optarg);
			timeout_ms = n;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			print_command_help(stdout, cmd);
			return LC_EXIT_OK;
		default:
			return bad_option(cmd, argv, opt);
		}
	}
	ret = parse_device_and_value(cmd, argc, argv, "an image", &nr, &image);
	if (ret >= 0)
		return ret;
	ret = check_node(nr);
	if (ret)
		return ret;
	out_nr = output_node(nr);
	ret = open_node(out_nr, &fd);
	if (ret)
		return ret;
	if (ioctl(fd, VIDIOC_G_FMT, &fmt)) {
		error("/dev/video%d takes no producer now (%s): is another program producing?",
		      out_nr, strerror(errno));
		close(fd);
		return LC_EXIT_FAILED;
	}
	fourcc_str(fmt.fmt.pix.pixelformat, fcc);
	gst_format = gst_format_name(fmt.fmt.pix.pixelformat);
	if (!gst_format) {
		error("/dev/video%d is set to %s; a placeholder image needs a raw format "
		      "(set one with 'loopcam-ctl set-caps')", out_nr, fcc);
		close(fd);
		return LC_EXIT_FAILED;
	}
	if (verbose)
		fprintf(stderr, "loopcam-ctl: converting '%s' to %s %ux%u (%u bytes) for /dev/video%d\n",
			image, fcc, fmt.fmt.pix.width, fmt.fmt.pix.height,
			fmt.fmt.pix.sizeimage, out_nr);
	frame = malloc(fmt.fmt.pix.sizeimage);
	if (!frame) {
		error("out of memory for a %u-byte frame", fmt.fmt.pix.sizeimage);
		close(fd);
		return LC_EXIT_FAILED;
	}
	ret = convert_image(image, gst_format, fmt.fmt.pix.width,
			    fmt.fmt.pix.height, frame, fmt.fmt.pix.sizeimage);
	if (!ret)
		ret = send_placeholder(fd, out_nr, frame, fmt.fmt.pix.sizeimage);
	free(frame);
	if (!ret && timeout_ms >= 0)
		ret = set_control(fd, out_nr, V4L2LOOPBACK_CID_TIMEOUT, "timeout",
				  timeout_ms);
	if (!ret && !ioctl(fd, VIDIOC_G_CTRL, &timeout) && !timeout.value)
		fprintf(stderr, "loopcam-ctl: note: the timeout of /dev/video%d is 0, so readers "
			"never get the image; set one with -t MS\n", out_nr);
	close(fd);
	return ret;
}

/* ---- version and help ---------------------------------------------------- */

static int cmd_version(const struct command *cmd, int argc, char **argv)
{
	char path[PATH_MAX], version[64];
	ssize_t len = -1;
	int fd, ret;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return usage_error(cmd, "too many arguments");
	printf("loopcam-ctl %s\n", LOOPCAM_VERSION);
	snprintf(path, sizeof(path), "%s/module/v4l2loopback/version", sysfs_root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, version, sizeof(version) - 1);
		close(fd);
	}
	while (len > 0 && version[len - 1] == '\n')
		len--;
	if (len > 0)
		printf("module %.*s\n", (int)len, version);
	else
		printf("module %s\n", module_loaded() ? "unknown" : "not-loaded");
	return LC_EXIT_OK;
}

static const char exit_codes_help[] =
	"Exit status:\n"
	"  0  success\n"
	"  1  the operation failed (no such device, device busy, refused, ...)\n"
	"  2  usage error (bad command line)\n"
	"  3  the v4l2loopback module is not loaded (no control device)\n"
	"  4  permission denied (control device or video node)\n";

static void print_main_help(FILE *out);

static int cmd_help(const struct command *cmd, int argc, char **argv)
{
	const struct command *topic;
	int ret;

	ret = parse_no_options(cmd, argc, argv, NULL);
	if (ret >= 0)
		return ret;
	if (optind >= argc) {
		print_main_help(stdout);
		return LC_EXIT_OK;
	}
	topic = find_command(argv[optind]);
	if (!topic)
		return usage_error(cmd, "unknown command '%s'", argv[optind]);
	print_command_help(stdout, topic);
	return LC_EXIT_OK;
}

static const struct command commands[] = {
	{
		.name = "add",
		.run = cmd_add,
		.synopsis = "[OPTIONS] [OUTPUT [CAPTURE]]",
		.help =
		"Create a device and print its node (both nodes for a split device,\n"
		"output first). OUTPUT and CAPTURE are /dev/videoN or N; without them\n"
		"free numbers are taken. Giving CAPTURE makes a split device.\n"
		"\n"
		"  -n, --name LABEL          card label (at most 31 bytes)\n"
		"      --split               separate output node and capture-only node\n"
		"  -x, --exclusive-caps 0|1  combined node shows OUTPUT until a producer\n"
		"                            streams, then CAPTURE only (for browsers)\n"
		"  -b, --buffers N           buffers per queue\n"
		"  -o, --max-openers N       open file handles at once\n"
		"      --max-readers N       streaming readers at once (default: max-openers)\n"
		"      --min-width W, -w, --max-width W\n"
		"      --min-height H, -h, --max-height H\n"
		"                            frame size limits\n"
		"      --format FOURCC:WxH@fps\n"
		"                            format announced before a producer sets one\n"
		"      --timeout MS          readers get the placeholder after MS without\n"
		"                            a frame (0: they wait)\n"
		"      --keep-format         keep the producer's format when it leaves\n"
		"  -v, --verbose             print the device's settings too\n"
		"  -?, --help                this help (-h is --max-height here, as in\n"
		"                            v4l2loopback-ctl)\n"
		"\n"
		"Options left out take the module's defaults.\n",
	},
	{
		.name = "remove",
		.alias = "delete",
		.run = cmd_remove,
		.synopsis = "DEVICE...",
		.help =
		"Remove the devices of the nodes given (/dev/videoN or N; either node\n"
		"of a split device). A device that is open is not removed.\n",
	},
	{
		.name = "list",
		.run = cmd_list,
		.synopsis = "[--json]",
		.help =
		"List the loopback devices, one line each: node, capture node of a\n"
		"split device (- for combined), format, state (capture while a producer\n"
		"streams, else output), streaming readers, label.\n"
		"\n"
		"  --json   a JSON array of objects with the keys device, number,\n"
		"           capture_device, capture_number, label, format, state,\n"
		"           readers, buffers, max_openers\n",
	},
	{
		.name = "query",
		.run = cmd_query,
		.synopsis = "[--json] DEVICE...",
		.help =
		"Print the settings of the devices, one \"key: value\" line each:\n"
		"device, capture_device, label, mode, exclusive_caps, keep_format,\n"
		"min_width, max_width, min_height, max_height, buffers, max_openers,\n"
		"max_readers, timeout_ms, format. A blank line separates devices.\n"
		"  --json   a JSON array with one object per device, the same keys\n"
		"           (capture_device is null for a combined device)\n",
	},
	{
		.name = "set-caps",
		.run = cmd_set_caps,
		.synopsis = "DEVICE FORMAT",
		.help =
		"Set the format the device announces to readers while no producer\n"
		"has set one. FORMAT is FOURCC:WxH@fps, each part optional\n"
		"(\"UYVY:640x480@30/1\", \"YU12:1280x720\", \"@25\"); GStreamer format\n"
		"names (I420, YUY2, ...) and GStreamer caps (\"video/x-raw,format=UYVY,\n"
		"width=640,height=480\") are accepted too. 'any' turns keep_format off,\n"
		"so the next producer sets the format freely.\n"
		"The order FORMAT DEVICE (v4l2loopback-ctl 0.12) works too.\n",
	},
	{
		.name = "get-caps",
		.run = cmd_get_caps,
		.synopsis = "DEVICE",
		.help = "Print the device's format as FOURCC:WxH@fps.\n",
	},
	{
		.name = "set-fps",
		.run = cmd_set_fps,
		.synopsis = "DEVICE FPS",
		.help =
		"Set the device's frame rate: 30, 30000/1001 or 29.97. Refused while a\n"
		"producer or a streaming reader holds the format.\n"
		"The order FPS DEVICE (v4l2loopback-ctl 0.12) works too.\n",
	},
	{
		.name = "get-fps",
		.run = cmd_get_fps,
		.synopsis = "DEVICE",
		.help = "Print the device's frame rate (N or N/D frames per second).\n",
	},
	{
		.name = "set-timeout-image",
		.run = cmd_set_timeout_image,
		.synopsis = "[-t MS] [-v] DEVICE IMAGE",
		.help =
		"Make IMAGE the picture readers get once the producer has sent nothing\n"
		"for the timeout. IMAGE is any picture GStreamer decodes (PNG, JPEG,\n"
		"...; of a video, the first frame); it is converted and scaled to the\n"
		"device's current format with gst-launch-1.0. Needs the device to have\n"
		"no producer and a raw format.\n"
		"\n"
		"  -t, --timeout MS   also set the timeout (0 turns it off)\n"
		"  -v, --verbose      say what is done\n"
		"  -h, --help         this help\n"
		"\n"
		"The order IMAGE DEVICE (v4l2loopback-ctl 0.12) works too.\n",
	},
	{
		.name = "readers",
		.run = cmd_readers,
		.synopsis = "DEVICE",
		.help =
		"Print the number of streaming readers (\"readers N\"), then one line\n"
		"per reader: \"reader ID received FRAMES dropped FRAMES\".\n",
	},
	{
		.name = "version",
		.run = cmd_version,
		.synopsis = "",
		.help =
		"Print this tool's version (\"loopcam-ctl X.Y.Z\") and the loaded\n"
		"module's (\"module X.Y.Z\", or \"module not-loaded\").\n",
	},
	{
		.name = "help",
		.run = cmd_help,
		.synopsis = "[COMMAND]",
		.help = "Print the help of loopcam-ctl or of COMMAND.\n",
	},
};

#define NUM_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NUM_COMMANDS; i++)
		if (!strcmp(commands[i].name, name) ||
		    (commands[i].alias && !strcmp(commands[i].alias, name)))
			return &commands[i];
	return NULL;
}

static void print_main_help(FILE *out)
{
	size_t i;

	fputs("Usage: loopcam-ctl COMMAND [ARGUMENTS]\n"
	      "Create, inspect and remove v4l2loopback (loopcam) devices.\n"
	      "\n"
	      "Commands:\n", out);
	for (i = 0; i < NUM_COMMANDS; i++)
		fprintf(out, "  %s%s%s\n", commands[i].name,
			*commands[i].synopsis ? " " : "", commands[i].synopsis);
	fputs("\n"
	      "DEVICE is /dev/videoN, N, or a path to the node. 'delete' is another\n"
	      "name for 'remove'. 'loopcam-ctl COMMAND --help' describes a command.\n"
	      "\n", out);
	fputs(exit_codes_help, out);
	fputs("\n"
	      "For tests only, LOOPCAM_CTL_CONTROL_DEVICE replaces /dev/v4l2loopback\n"
	      "and LOOPCAM_CTL_SYSFS replaces /sys.\n", out);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	const char *env;

	env = getenv("LOOPCAM_CTL_CONTROL_DEVICE");
	if (env && *env)
		control_path = env;
	env = getenv("LOOPCAM_CTL_SYSFS");
	if (env && *env)
		sysfs_root = env;

	if (argc < 2) {
		print_main_help(stderr);
		return LC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-?")) {
		print_main_help(stdout);
		return LC_EXIT_OK;
	}
	if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))
		return cmd_version(find_command("version"), 1, argv + 1);
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "loopcam-ctl: unknown command '%s'\n"
			"Try 'loopcam-ctl --help'.\n", argv[1]);
		return LC_EXIT_USAGE;
	}
	/* Each command parses its own options; argv[0] becomes its name. */
	return cmd->run(cmd, argc - 1, argv + 1);
}
