/* SPDX-License-Identifier: GPL-2.0+ WITH Linux-syscall-note */
/*
 * loopcam: userspace interface of the v4l2loopback-compatible module.
 *
 * This header is the single definition of the interface: the kernel module,
 * loopcam-ctl, the GStreamer element, the FFmpeg device and the tests all
 * include it. The v4l2loopback-compatible part keeps v4l2loopback's ioctl
 * numbers, struct layout and control IDs so existing tools work unchanged;
 * the loopcam extension uses its own ioctl numbers and a self-describing
 * struct so an old tool can never reach it by accident.
 */
#ifndef _UAPI_LINUX_V4L2LOOPBACK_H
#define _UAPI_LINUX_V4L2LOOPBACK_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/videodev2.h>

#define V4L2LOOPBACK_VERSION_MAJOR 0
#define V4L2LOOPBACK_VERSION_MINOR 15
#define V4L2LOOPBACK_VERSION_BUGFIX 4
/* Reported by V4L2LOOPBACK_CTL_VERSION and VIDIOC_QUERYCAP. */
#define V4L2LOOPBACK_VERSION_CODE                                             \
	((V4L2LOOPBACK_VERSION_MAJOR << 16) |                                 \
	 (V4L2LOOPBACK_VERSION_MINOR << 8) | V4L2LOOPBACK_VERSION_BUGFIX)

/* Name of the control device node, /dev/v4l2loopback. */
#define V4L2LOOPBACK_CTL_NAME "v4l2loopback"
/* VIDIOC_QUERYCAP driver name, as v4l2loopback reports it. */
#define V4L2LOOPBACK_DRIVER_NAME "v4l2 loopback"

#define V4L2LOOPBACK_LABEL_LEN 32

/**
 * struct v4l2_loopback_config - a device as v4l2loopback describes it
 * @output_nr: video node number of the device; -1 = first free.
 *	CTL_QUERY: the node to query (output node in split mode).
 * @unused: v4l2loopback's former capture_nr; set to -1 (CTL_QUERY returns
 *	the capture node number of a split device here).
 * @card_label: NUL-terminated card name (QUERYCAP card); empty = default.
 * @min_width: smallest frame width accepted; 0 = default.
 * @max_width: largest frame width accepted; 0 = default (module parameter).
 * @min_height: smallest frame height accepted; 0 = default.
 * @max_height: largest frame height accepted; 0 = default.
 * @max_buffers: buffers per queue; <= 0 = default.
 * @max_openers: concurrent open file handles; <= 0 = default.
 * @debug: debug level; <= 0 = none.
 * @announce_all_caps: 0 = exclusive caps (advertise OUTPUT until a producer
 *	streams, then CAPTURE), 1 = advertise both, -1 = default.
 *
 * Layout identical on 32- and 64-bit ABIs (no pointers, no padding).
 */
struct v4l2_loopback_config {
	__s32 output_nr;
	__s32 unused;
	char card_label[V4L2LOOPBACK_LABEL_LEN];
	__u32 min_width;
	__u32 max_width;
	__u32 min_height;
	__u32 max_height;
	__s32 max_buffers;
	__s32 max_openers;
	__s32 debug;
	__s32 announce_all_caps;
};

#define V4L2LOOPBACK_CTL_IOCTL_MAGIC '~'
#define V4L2LOOPBACK_CTL_VERSION _IOR('~', 0, __u32)
#define V4L2LOOPBACK_CTL_ADD _IOW('~', 1, struct v4l2_loopback_config)
#define V4L2LOOPBACK_CTL_REMOVE _IOW('~', 2, __u32)
#define V4L2LOOPBACK_CTL_QUERY _IOWR('~', 3, struct v4l2_loopback_config)
/* Pre-0.13 numbers, still used by old tools. */
#define V4L2LOOPBACK_CTL_ADD_LEGACY 0x4C80
#define V4L2LOOPBACK_CTL_REMOVE_LEGACY 0x4C81
#define V4L2LOOPBACK_CTL_QUERY_LEGACY 0x4C82

/* Announced format used until a producer sets one (see struct loopcam_format). */
#define LOOPCAM_DEFAULT_WIDTH 640
#define LOOPCAM_DEFAULT_HEIGHT 480
#define LOOPCAM_DEFAULT_FPS 30

/**
 * struct loopcam_format - a frame format announced to readers
 * @fourcc: V4L2_PIX_FMT_* code; 0 = module default.
 * @width: frame width in pixels; 0 = module default.
 * @height: frame height in pixels; 0 = module default.
 * @fps_num: frame rate numerator (frames); 0 = default.
 * @fps_den: frame rate denominator (seconds); 0 = 1.
 */
struct loopcam_format {
	__u32 fourcc;
	__u32 width;
	__u32 height;
	__u32 fps_num;
	__u32 fps_den;
};

/* struct loopcam_device_config.flags */
#define LOOPCAM_FLAG_SPLIT (1U << 0) /* separate output and capture nodes */
#define LOOPCAM_FLAG_EXCLUSIVE_CAPS (1U << 1) /* combined node only */
#define LOOPCAM_FLAG_KEEP_FORMAT (1U << 2) /* keep format when producer leaves */
#define LOOPCAM_FLAG_ALL                                                      \
	(LOOPCAM_FLAG_SPLIT | LOOPCAM_FLAG_EXCLUSIVE_CAPS |                   \
	 LOOPCAM_FLAG_KEEP_FORMAT)

/* struct loopcam_device_config.magic: guards the extension ioctls. */
#define LOOPCAM_CONFIG_MAGIC 0x6c6f6f70 /* "loop" */

/**
 * struct loopcam_device_config - loopcam extension of CTL_ADD / CTL_QUERY
 * @magic: must be %LOOPCAM_CONFIG_MAGIC.
 * @size: sizeof(struct loopcam_device_config) as the caller knows it.
 * @flags: LOOPCAM_FLAG_*.
 * @output_nr: in: output (or combined) node number, -1 = first free;
 *	out: the number given.
 * @capture_nr: in: capture node number in split mode, -1 = first free;
 *	out: the number given (-1 for combined devices).
 * @card_label: NUL-terminated card name; empty = default.
 * @min_width: smallest frame width; 0 = default.
 * @max_width: largest frame width; 0 = default.
 * @min_height: smallest frame height; 0 = default.
 * @max_height: largest frame height; 0 = default.
 * @max_buffers: buffers per queue; 0 = default.
 * @max_openers: concurrent open file handles; 0 = default.
 * @max_readers: concurrent streaming readers; 0 = max_openers.
 * @timeout_ms: readers get the placeholder after this long without a
 *	frame; 0 = readers block.
 * @format: format announced before any producer exists.
 * @reserved: must be zero.
 */
struct loopcam_device_config {
	__u32 magic;
	__u32 size;
	__u32 flags;
	__s32 output_nr;
	__s32 capture_nr;
	char card_label[V4L2LOOPBACK_LABEL_LEN];
	__u32 min_width;
	__u32 max_width;
	__u32 min_height;
	__u32 max_height;
	__u32 max_buffers;
	__u32 max_openers;
	__u32 max_readers;
	__u32 timeout_ms;
	struct loopcam_format format;
	__u32 reserved[8];
};

#define LOOPCAM_CTL_ADD _IOWR('~', 0x40, struct loopcam_device_config)
#define LOOPCAM_CTL_QUERY _IOWR('~', 0x41, struct loopcam_device_config)

/* V4L2 controls, with v4l2loopback's IDs. */
#define V4L2LOOPBACK_CID_BASE (V4L2_CID_USER_BASE | 0xf000)
#define V4L2LOOPBACK_CID_KEEP_FORMAT (V4L2LOOPBACK_CID_BASE + 0)
#define V4L2LOOPBACK_CID_SUSTAIN_FRAMERATE (V4L2LOOPBACK_CID_BASE + 1)
#define V4L2LOOPBACK_CID_TIMEOUT (V4L2LOOPBACK_CID_BASE + 2)
#define V4L2LOOPBACK_CID_TIMEOUT_IMAGE_IO (V4L2LOOPBACK_CID_BASE + 3)
/* loopcam: number of streaming readers (read-only, volatile). */
#define LOOPCAM_CID_READERS (V4L2LOOPBACK_CID_BASE + 0x10)

/*
 * Sent to subscribers (typically the producer) when the number of
 * streaming readers changes; struct v4l2_event.u.data holds a
 * struct loopcam_event_readers.
 */
#define LOOPCAM_EVENT_READERS (V4L2_EVENT_PRIVATE_START + 0x10)

/**
 * struct loopcam_event_readers - payload of %LOOPCAM_EVENT_READERS
 * @readers: streaming readers now.
 */
struct loopcam_event_readers {
	__u32 readers;
};

#endif /* _UAPI_LINUX_V4L2LOOPBACK_H */
