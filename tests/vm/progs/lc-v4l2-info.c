// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-v4l2-info: prints what a V4L2 node reports, one fact per line, for test
 * logs: QUERYCAP, per queue G_FMT, ENUM_FMT with ENUM_FRAMESIZES, G_PARM,
 * and the controls (with loopcam's readers control).
 *
 * Exit status: 0 ok, 1 usage, 2 the node cannot be opened or queried.
 */
#include "frame.h"
#include "v4l2util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/v4l2loopback.h>

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: lc-v4l2-info [--all] [--open-flags rdonly|rdwr] /dev/videoN\n"
"Prints QUERYCAP, formats (ENUM_FMT, ENUM_FRAMESIZES), G_FMT, G_PARM and controls\n"
"of each queue the node advertises (--all: of both CAPTURE and OUTPUT).\n");
}

static void frame_sizes(struct lc_dev *d, uint32_t fourcc, const char *indent)
{
	struct v4l2_frmsizeenum fs;

	for (uint32_t i = 0; i < 64; i++) {
		memset(&fs, 0, sizeof(fs));
		fs.index = i;
		fs.pixel_format = fourcc;
		if (lc_xioctl(d->fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) {
			if (i == 0)
				printf("%sframesizes: none (%s)\n", indent, strerror(errno));
			return;
		}
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			printf("%sframesize discrete %ux%u\n", indent, fs.discrete.width,
			       fs.discrete.height);
		} else {
			printf("%sframesize %s %ux%u..%ux%u step %ux%u\n", indent,
			       fs.type == V4L2_FRMSIZE_TYPE_STEPWISE ? "stepwise" : "continuous",
			       fs.stepwise.min_width, fs.stepwise.min_height,
			       fs.stepwise.max_width, fs.stepwise.max_height,
			       fs.stepwise.step_width, fs.stepwise.step_height);
			return;
		}
	}
}

static void queue_info(struct lc_dev *d, uint32_t type)
{
	struct v4l2_fmtdesc fd;
	struct v4l2_format fmt;
	struct v4l2_streamparm parm;
	const char *t = lc_buf_type_str(type);
	char n[8];

	printf("queue %s:\n", t);
	for (uint32_t i = 0; i < 256; i++) {
		memset(&fd, 0, sizeof(fd));
		fd.index = i;
		fd.type = type;
		if (lc_xioctl(d->fd, VIDIOC_ENUM_FMT, &fd) < 0) {
			if (i == 0)
				printf("  enum_fmt: none (%s)\n", strerror(errno));
			break;
		}
		printf("  enum_fmt %u: %s \"%.32s\"%s\n", i, lc_format_name(fd.pixelformat, n),
		       (const char *)fd.description,
		       (fd.flags & V4L2_FMT_FLAG_COMPRESSED) ? " compressed" : "");
		frame_sizes(d, fd.pixelformat, "    ");
	}
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = type;
	if (lc_xioctl(d->fd, VIDIOC_G_FMT, &fmt) == 0)
		lc_print_fmt("  G_FMT: ", &fmt);
	else
		printf("  G_FMT: failed: %s\n", strerror(errno));
	memset(&parm, 0, sizeof(parm));
	parm.type = type;
	if (lc_xioctl(d->fd, VIDIOC_G_PARM, &parm) == 0) {
		struct v4l2_fract tpf = type == V4L2_BUF_TYPE_VIDEO_CAPTURE ?
						parm.parm.capture.timeperframe :
						parm.parm.output.timeperframe;

		printf("  G_PARM: timeperframe=%u/%u\n", tpf.numerator, tpf.denominator);
	} else {
		printf("  G_PARM: failed: %s\n", strerror(errno));
	}
}

static void controls(struct lc_dev *d)
{
	struct v4l2_queryctrl q;
	int any = 0;

	memset(&q, 0, sizeof(q));
	q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
	while (lc_xioctl(d->fd, VIDIOC_QUERYCTRL, &q) == 0) {
		struct v4l2_control c = { .id = q.id };

		if (!(q.flags & V4L2_CTRL_FLAG_DISABLED) && q.type != V4L2_CTRL_TYPE_CTRL_CLASS) {
			any = 1;
			if (q.type == V4L2_CTRL_TYPE_BUTTON ||
			    lc_xioctl(d->fd, VIDIOC_G_CTRL, &c) < 0)
				printf("control 0x%08x \"%.32s\" type=%u range=%d..%d\n", q.id,
				       (const char *)q.name, q.type, q.minimum, q.maximum);
			else
				printf("control 0x%08x \"%.32s\" type=%u range=%d..%d value=%d\n",
				       q.id, (const char *)q.name, q.type, q.minimum, q.maximum,
				       c.value);
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	if (!any)
		printf("controls: none\n");
	{
		struct v4l2_control c = { .id = LOOPCAM_CID_READERS };

		if (lc_xioctl(d->fd, VIDIOC_G_CTRL, &c) == 0)
			printf("loopcam readers=%d\n", c.value);
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "open-flags", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_dev d;
	int all = 0, flags = O_RDWR, c;

	lc_prog = "lc-v4l2-info";
	while ((c = getopt_long(argc, argv, "aho:", lopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'o':
			if (strcmp(optarg, "rdonly") == 0)
				flags = O_RDONLY;
			else if (strcmp(optarg, "rdwr") == 0)
				flags = O_RDWR;
			else {
				lc_err("--open-flags: use rdonly or rdwr");
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (lc_dev_open(&d, argv[optind], flags))
		return 2;
	lc_dev_print_caps(&d, "");
	if (all || (d.caps & V4L2_CAP_VIDEO_CAPTURE))
		queue_info(&d, V4L2_BUF_TYPE_VIDEO_CAPTURE);
	if (all || (d.caps & V4L2_CAP_VIDEO_OUTPUT))
		queue_info(&d, V4L2_BUF_TYPE_VIDEO_OUTPUT);
	controls(&d);
	lc_dev_close(&d);
	return 0;
}
