// SPDX-License-Identifier: GPL-2.0-or-later
/* loopcam test programs: pixel format table and frame-size rules. */
#include "frame.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <linux/videodev2.h>

#define NONE 0xff

const struct lc_format lc_formats[] = {
	{ V4L2_PIX_FMT_YUYV, "YUYV", "YUY2", LC_LAYOUT_PACKED_YUV422, 2, { 0, 1, 2, 3 } },
	{ V4L2_PIX_FMT_UYVY, "UYVY", "", LC_LAYOUT_PACKED_YUV422, 2, { 1, 0, 3, 2 } },
	{ V4L2_PIX_FMT_YVYU, "YVYU", "", LC_LAYOUT_PACKED_YUV422, 2, { 0, 3, 2, 1 } },
	{ V4L2_PIX_FMT_NV12, "NV12", "", LC_LAYOUT_SEMI_YUV420, 1, { 0 } },
	{ V4L2_PIX_FMT_NV21, "NV21", "", LC_LAYOUT_SEMI_YUV420, 1, { 1 } },
	{ V4L2_PIX_FMT_YUV420, "YU12", "I420 YUV420", LC_LAYOUT_PLANAR_YUV420, 1, { 0 } },
	{ V4L2_PIX_FMT_YVU420, "YV12", "YVU420", LC_LAYOUT_PLANAR_YUV420, 1, { 1 } },
	{ V4L2_PIX_FMT_NV16, "NV16", "", LC_LAYOUT_SEMI_YUV422, 1, { 0 } },
	{ V4L2_PIX_FMT_GREY, "GREY", "GRAY Y8 Y800", LC_LAYOUT_GREY, 1, { 0 } },
	{ V4L2_PIX_FMT_RGB24, "RGB24", "", LC_LAYOUT_RGB, 3, { 0, 1, 2, NONE } },
	{ V4L2_PIX_FMT_BGR24, "BGR24", "", LC_LAYOUT_RGB, 3, { 2, 1, 0, NONE } },
	{ V4L2_PIX_FMT_RGB565, "RGB565", "", LC_LAYOUT_RGB565, 2, { 0 } },
	/* V4L2 names give the order in a little-endian word: XRGB32 is
	 * X R G B in memory, XBGR32 is B G R X (videodev2.h comments). */
	{ V4L2_PIX_FMT_XRGB32, "XRGB32", "", LC_LAYOUT_RGB, 4, { 1, 2, 3, 0 } },
	{ V4L2_PIX_FMT_XBGR32, "XBGR32", "", LC_LAYOUT_RGB, 4, { 2, 1, 0, 3 } },
	{ V4L2_PIX_FMT_ARGB32, "ARGB32", "", LC_LAYOUT_RGB, 4, { 1, 2, 3, 0 } },
	{ V4L2_PIX_FMT_ABGR32, "ABGR32", "", LC_LAYOUT_RGB, 4, { 2, 1, 0, 3 } },
	{ V4L2_PIX_FMT_Y16, "Y16", "GRAY16", LC_LAYOUT_Y16, 2, { 0 } },
	{ V4L2_PIX_FMT_MJPEG, "MJPEG", "", LC_LAYOUT_COMPRESSED, 0, { 0 } },
	{ V4L2_PIX_FMT_JPEG, "JPEG", "", LC_LAYOUT_COMPRESSED, 0, { 0 } },
	{ V4L2_PIX_FMT_H264, "H264", "AVC", LC_LAYOUT_COMPRESSED, 0, { 0 } },
	{ V4L2_PIX_FMT_HEVC, "HEVC", "H265", LC_LAYOUT_COMPRESSED, 0, { 0 } },
	{ V4L2_PIX_FMT_VP8, "VP8", "", LC_LAYOUT_COMPRESSED, 0, { 0 } },
	{ V4L2_PIX_FMT_VP9, "VP9", "", LC_LAYOUT_COMPRESSED, 0, { 0 } },
	{ 0, NULL, NULL, 0, 0, { 0 } },
};

const struct lc_format *lc_format_by_fourcc(uint32_t fourcc)
{
	for (const struct lc_format *f = lc_formats; f->fourcc; f++)
		if (f->fourcc == fourcc)
			return f;
	return NULL;
}

char *lc_fourcc_str(uint32_t fourcc, char *buf)
{
	int n = 4;

	for (int i = 0; i < 4; i++) {
		unsigned char c = (fourcc >> (8 * i)) & 0x7f;
		buf[i] = isprint(c) ? (char)c : '.';
	}
	while (n > 1 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	if (fourcc & (1u << 31))
		strcpy(buf + n, "-BE");
	return buf;
}

const char *lc_format_name(uint32_t fourcc, char *buf)
{
	const struct lc_format *f = lc_format_by_fourcc(fourcc);

	if (f)
		return f->name;
	return lc_fourcc_str(fourcc, buf);
}

/* Does the space-separated word list contain s (case-insensitive)? */
static int in_list(const char *list, const char *s)
{
	size_t n = strlen(s);

	while (*list) {
		size_t w = strcspn(list, " ");

		if (w == n && strncasecmp(list, s, n) == 0)
			return 1;
		list += w;
		while (*list == ' ')
			list++;
	}
	return 0;
}

const struct lc_format *lc_format_parse(const char *s, char *err, size_t errlen)
{
	char code[8];
	size_t n = s ? strlen(s) : 0;
	size_t used;

	if (n == 0) {
		snprintf(err, errlen, "empty pixel format name");
		return NULL;
	}
	for (const struct lc_format *f = lc_formats; f->fourcc; f++) {
		if (strcasecmp(f->name, s) == 0 || in_list(f->aliases, s))
			return f;
		/* the fourcc code itself, with or without trailing spaces */
		lc_fourcc_str(f->fourcc, code);
		if (strcasecmp(code, s) == 0)
			return f;
		/* exact 4-character code, e.g. "Y16 " with its space */
		if (n == 4 && (uint32_t)(unsigned char)s[0] == (f->fourcc & 0xff) &&
		    (uint32_t)(unsigned char)s[1] == ((f->fourcc >> 8) & 0xff) &&
		    (uint32_t)(unsigned char)s[2] == ((f->fourcc >> 16) & 0xff) &&
		    (uint32_t)(unsigned char)s[3] == (f->fourcc >> 24))
			return f;
	}
	used = (size_t)snprintf(err, errlen, "unknown pixel format '%s' (known:", s);
	for (const struct lc_format *f = lc_formats; f->fourcc && used < errlen; f++)
		used += (size_t)snprintf(err + used, errlen - used, " %s", f->name);
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
	return NULL;
}

static inline uint64_t half_up(uint64_t v)
{
	return (v + 1) / 2;
}

uint32_t lc_bytesperline(const struct lc_format *f, uint32_t width)
{
	switch (f->layout) {
	case LC_LAYOUT_PACKED_YUV422:
		return (uint32_t)(half_up(width) * 4);
	case LC_LAYOUT_PLANAR_YUV420:
	case LC_LAYOUT_SEMI_YUV420:
	case LC_LAYOUT_SEMI_YUV422:
	case LC_LAYOUT_GREY:
		return width;
	case LC_LAYOUT_Y16:
	case LC_LAYOUT_RGB565:
	case LC_LAYOUT_RGB:
		return width * f->bpp;
	case LC_LAYOUT_COMPRESSED:
		break;
	}
	return 0;
}

size_t lc_frame_size(const struct lc_format *f, uint32_t width, uint32_t height)
{
	uint64_t w = width, h = height;

	switch (f->layout) {
	case LC_LAYOUT_PLANAR_YUV420:
	case LC_LAYOUT_SEMI_YUV420:
		return (size_t)(w * h + 2 * half_up(w) * half_up(h));
	case LC_LAYOUT_SEMI_YUV422:
		return (size_t)(w * h + 2 * half_up(w) * h);
	case LC_LAYOUT_COMPRESSED:
		return 0;
	default:
		return (size_t)lc_bytesperline(f, width) * h;
	}
}

static int parse_u32(const char *s, const char *end_chars, uint32_t *out,
		     const char **end)
{
	char *e;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &e, 10);
	/* end_chars "": must end the string; else one of end_chars must follow
	 * (strchr would also match the terminating NUL) */
	if (errno || v == 0 || v > 65535 ||
	    (*end_chars ? !*e || !strchr(end_chars, *e) : *e != '\0'))
		return -1;
	*out = (uint32_t)v;
	*end = e;
	return 0;
}

int lc_parse_size(const char *s, uint32_t *w, uint32_t *h, char *err, size_t errlen)
{
	const char *e;

	if (parse_u32(s, "xX", w, &e) == 0 && parse_u32(e + 1, "", h, &e) == 0)
		return 0;
	snprintf(err, errlen, "bad frame size '%s': expected WIDTHxHEIGHT, e.g. 640x480, "
		 "each 1..65535", s);
	return -1;
}

int lc_parse_format_size(const char *s, const struct lc_format **f, uint32_t *w,
			 uint32_t *h, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char name[32];

	if (!colon || (size_t)(colon - s) >= sizeof(name)) {
		snprintf(err, errlen, "bad format '%s': expected FOURCC:WIDTHxHEIGHT, "
			 "e.g. YUYV:640x480", s);
		return -1;
	}
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	*f = lc_format_parse(name, err, errlen);
	if (!*f)
		return -1;
	return lc_parse_size(colon + 1, w, h, err, errlen);
}

uint64_t lc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
