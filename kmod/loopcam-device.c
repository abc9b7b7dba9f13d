// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: creating and removing a device and its video nodes.
 */

#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <media/v4l2-event.h>

#include "loopcam.h"

/**
 * loopcam_config_defaults() - fill a config with the module's defaults
 * @cfg: the config; every field is overwritten.
 */
void loopcam_config_defaults(struct loopcam_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->output_nr = -1;
	cfg->capture_nr = -1;
	cfg->min_width = LOOPCAM_MIN_SIZE;
	cfg->min_height = LOOPCAM_MIN_SIZE;
	cfg->max_width = loopcam_max_width;
	cfg->max_height = loopcam_max_height;
	cfg->max_buffers = loopcam_max_buffers;
	cfg->max_openers = loopcam_max_openers;
	cfg->max_readers = loopcam_max_openers;
}

/**
 * loopcam_config_check() - validate a complete config
 * @cfg: the config.
 *
 * Return: 0 or -EINVAL; the reason is logged.
 */
int loopcam_config_check(const struct loopcam_config *cfg)
{
	const struct loopcam_format *f = &cfg->format;

	if (cfg->output_nr < -1 || cfg->capture_nr < -1) {
		pr_err("v4l2loopback: video node numbers must be >= -1\n");
		return -EINVAL;
	}
	if (cfg->split && cfg->output_nr >= 0 &&
	    cfg->output_nr == cfg->capture_nr) {
		pr_err("v4l2loopback: output and capture node need different numbers\n");
		return -EINVAL;
	}
	if (cfg->min_width < LOOPCAM_MIN_SIZE ||
	    cfg->max_width > LOOPCAM_MAX_SIZE ||
	    cfg->min_width > cfg->max_width ||
	    cfg->min_height < LOOPCAM_MIN_SIZE ||
	    cfg->max_height > LOOPCAM_MAX_SIZE ||
	    cfg->min_height > cfg->max_height) {
		pr_err("v4l2loopback: frame size limits must satisfy %u <= min <= max <= %u\n",
		       LOOPCAM_MIN_SIZE, LOOPCAM_MAX_SIZE);
		return -EINVAL;
	}
	if (cfg->max_buffers < LOOPCAM_MIN_BUFFERS ||
	    cfg->max_buffers > LOOPCAM_MAX_BUFFERS) {
		pr_err("v4l2loopback: max_buffers must be %u..%u\n",
		       LOOPCAM_MIN_BUFFERS, LOOPCAM_MAX_BUFFERS);
		return -EINVAL;
	}
	if (cfg->max_openers < 1 || cfg->max_openers > LOOPCAM_MAX_OPENERS ||
	    cfg->max_readers < 1 || cfg->max_readers > cfg->max_openers) {
		pr_err("v4l2loopback: max_openers must be 1..%u and max_readers 1..max_openers\n",
		       LOOPCAM_MAX_OPENERS);
		return -EINVAL;
	}
	if (cfg->timeout_ms > LOOPCAM_MAX_TIMEOUT_MS) {
		pr_err("v4l2loopback: timeout must be at most %u ms\n",
		       LOOPCAM_MAX_TIMEOUT_MS);
		return -EINVAL;
	}
	if (f->fourcc && !loopcam_fmt_find(f->fourcc)) {
		pr_err("v4l2loopback: unsupported default pixel format\n");
		return -EINVAL;
	}
	if ((f->width || f->height) &&
	    (f->width < cfg->min_width || f->width > cfg->max_width ||
	     f->height < cfg->min_height || f->height > cfg->max_height)) {
		pr_err("v4l2loopback: default size %ux%u outside %ux%u..%ux%u\n",
		       f->width, f->height, cfg->min_width, cfg->min_height,
		       cfg->max_width, cfg->max_height);
		return -EINVAL;
	}
	if ((f->fps_num && !f->fps_den) ||
	    (u64)f->fps_num * LOOPCAM_MIN_FPS_INTERVAL_US >
		    (u64)f->fps_den * USEC_PER_SEC) {
		pr_err("v4l2loopback: default frame rate must be 0 < fps <= %lu\n",
		       USEC_PER_SEC / LOOPCAM_MIN_FPS_INTERVAL_US);
		return -EINVAL;
	}
	return 0;
}

/**
 * loopcam_frame_reserve() - make room for a frame
 * @frame: the frame; its contents are lost when it grows.
 * @bytes: size needed; counted against the memory budget.
 *
 * Return: 0, or -ENOMEM (no memory, or over max_memory_mb).
 */
int loopcam_frame_reserve(struct loopcam_frame *frame, size_t bytes)
{
	void *data;

	if (frame->alloc >= bytes)
		return 0;
	if (!loopcam_memory_charge(bytes))
		return -ENOMEM;
	data = vmalloc(bytes);
	if (!data) {
		loopcam_memory_uncharge(bytes);
		return -ENOMEM;
	}
	vfree(frame->data);
	loopcam_memory_uncharge(frame->alloc);
	frame->data = data;
	frame->alloc = bytes;
	frame->bytes = 0;
	return 0;
}

void loopcam_frame_free(struct loopcam_frame *frame)
{
	vfree(frame->data);
	loopcam_memory_uncharge(frame->alloc);
	memset(frame, 0, sizeof(*frame));
}

/**
 * loopcam_set_announced_format() - set the format readers see before a
 *	producer sets one
 * @dev: the device, locked.
 * @f: format; zero fields keep the current value.
 *
 * Return: 0, -EBUSY while a producer owns the format or readers have
 * buffers, -EINVAL for a format outside the device's limits.
 */
int loopcam_set_announced_format(struct loopcam_device *dev,
				 const struct loopcam_format *f)
{
	const struct loopcam_fmt_info *info;
	struct v4l2_pix_format pix = dev->fmt;

	lockdep_assert_held(&dev->lock);
	if (dev->producer || dev->num_readers)
		return -EBUSY;
	if (f->fourcc)
		pix.pixelformat = f->fourcc;
	if (f->width)
		pix.width = f->width;
	if (f->height)
		pix.height = f->height;
	info = loopcam_fmt_find(pix.pixelformat);
	if (!info || pix.width < dev->cfg.min_width ||
	    pix.width > dev->cfg.max_width ||
	    pix.height < dev->cfg.min_height ||
	    pix.height > dev->cfg.max_height)
		return -EINVAL;
	if (f->fps_num) {
		if (!f->fps_den ||
		    (u64)f->fps_num * LOOPCAM_MIN_FPS_INTERVAL_US >
			    (u64)f->fps_den * USEC_PER_SEC)
			return -EINVAL;
		dev->timeperframe.numerator = f->fps_den;
		dev->timeperframe.denominator = f->fps_num;
	}
	if (pix.pixelformat != dev->fmt.pixelformat)
		pix.colorspace = V4L2_COLORSPACE_DEFAULT;
	if (info->compressed)
		pix.sizeimage = 0;
	loopcam_fmt_fill(&pix, info);
	dev->fmt = pix;
	/* A rate alone (v4l2loopback-ctl set-fps) chooses no format. */
	dev->format_chosen |= f->fourcc || f->width || f->height;
	return 0;
}

/*
 * udev learns of a node's capabilities when it appears (v4l_id's
 * ID_V4L_CAPABILITIES) and clients that watch udev (PipeWire, SDL) list
 * cameras from that: a node that becomes a camera later must say so with
 * a change event. Sent from a work item, outside the device lock.
 */
static void loopcam_caps_work(struct work_struct *work)
{
	struct loopcam_device *dev =
		container_of(work, struct loopcam_device, caps_work);

	kobject_uevent(&dev->nodes[0].vdev.dev.kobj, KOBJ_CHANGE);
}

/**
 * loopcam_update_caps() - advertise what the nodes can do now
 * @dev: the device, locked.
 *
 * A combined node with exclusive caps shows OUTPUT until a producer
 * streams, then CAPTURE (so browsers take it for a camera), and OUTPUT
 * again when the producer is gone unless keep_format holds the format.
 * Each change of a registered node is announced to udev.
 */
void loopcam_update_caps(struct loopcam_device *dev)
{
	struct video_device *vdev = &dev->nodes[0].vdev;
	u32 caps = V4L2_CAP_STREAMING | V4L2_CAP_READWRITE;
	bool capture;

	lockdep_assert_held(&dev->lock);
	if (dev->cfg.split)
		return;
	if (!dev->cfg.exclusive_caps) {
		caps |= V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_OUTPUT;
	} else {
		capture = dev->producer_active ||
			  (dev->format_set &&
			   dev->keep_format);
		caps |= capture ? V4L2_CAP_VIDEO_CAPTURE : V4L2_CAP_VIDEO_OUTPUT;
	}
	if (caps != vdev->device_caps && video_is_registered(vdev) &&
	    !dev->removing)
		schedule_work(&dev->caps_work);
	vdev->device_caps = caps;
}

static void loopcam_v4l2_release(struct v4l2_device *v4l2_dev)
{
	struct loopcam_device *dev =
		container_of(v4l2_dev, struct loopcam_device, v4l2_dev);

	v4l2_ctrl_handler_free(&dev->ctrl_handler);
	v4l2_device_unregister(&dev->v4l2_dev);
	loopcam_frame_free(&dev->staging);
	loopcam_frame_free(&dev->placeholder);
	loopcam_pool_free(dev);
	mutex_destroy(&dev->lock);
	kfree(dev);
}

static void loopcam_init_format(struct loopcam_device *dev)
{
	const struct loopcam_format *f = &dev->cfg.format;
	const struct loopcam_fmt_info *info;

	info = loopcam_fmt_find(f->fourcc ? f->fourcc : V4L2_PIX_FMT_YUYV);
	dev->fmt = (struct v4l2_pix_format){
		.pixelformat = info->fourcc,
		.width = f->width ? f->width :
			 clamp_t(u32, LOOPCAM_DEFAULT_WIDTH, dev->cfg.min_width,
				 dev->cfg.max_width),
		.height = f->height ? f->height :
			  clamp_t(u32, LOOPCAM_DEFAULT_HEIGHT,
				  dev->cfg.min_height, dev->cfg.max_height),
	};
	loopcam_fmt_fill(&dev->fmt, info);
	dev->timeperframe.numerator = f->fps_num ? f->fps_den : 1;
	dev->timeperframe.denominator = f->fps_num ? f->fps_num :
						     LOOPCAM_DEFAULT_FPS;
	dev->format_chosen = f->fourcc || f->width || f->height;
}

static int loopcam_register_node(struct loopcam_device *dev, unsigned int i,
				 enum loopcam_node_kind kind, int nr)
{
	struct loopcam_node *node = &dev->nodes[i];
	struct video_device *vdev = &node->vdev;
	int ret;
	static const char *const suffix[] = {
		[LOOPCAM_NODE_COMBINED] = "",
		[LOOPCAM_NODE_OUTPUT] = " (output)",
		[LOOPCAM_NODE_CAPTURE] = " (capture)",
	};

	node->dev = dev;
	node->kind = kind;
	snprintf(vdev->name, sizeof(vdev->name), "%s%s", dev->cfg.label,
		 suffix[kind]);
	vdev->v4l2_dev = &dev->v4l2_dev;
	vdev->fops = &loopcam_fops;
	vdev->ioctl_ops = &loopcam_ioctl_ops;
	vdev->release = video_device_release_empty;
	/* loopcam_ioctl() locks: DQBUF must not wait for the device lock. */
	vdev->lock = NULL;
	vdev->ctrl_handler = &dev->ctrl_handler;
	vdev->dev.groups = loopcam_node_groups;
	switch (kind) {
	case LOOPCAM_NODE_COMBINED:
		vdev->vfl_dir = VFL_DIR_M2M;
		loopcam_update_caps(dev);
		break;
	case LOOPCAM_NODE_OUTPUT:
		vdev->vfl_dir = VFL_DIR_TX;
		vdev->device_caps = V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING |
				    V4L2_CAP_READWRITE;
		break;
	case LOOPCAM_NODE_CAPTURE:
		vdev->vfl_dir = VFL_DIR_RX;
		vdev->device_caps = V4L2_CAP_VIDEO_CAPTURE |
				    V4L2_CAP_STREAMING | V4L2_CAP_READWRITE;
		break;
	}
	video_set_drvdata(vdev, node);
	ret = video_register_device(vdev, VFL_TYPE_VIDEO, nr);
	if (ret)
		return ret;
	/* The core silently picks another number when @nr is taken. */
	if (nr >= 0 && vdev->num != nr) {
		video_unregister_device(vdev);
		return -EEXIST;
	}
	return 0;
}

/**
 * loopcam_device_create() - create and register a device
 * @cfg: a config that passed loopcam_config_check().
 *
 * Return: the device, or an ERR_PTR (-EEXIST when a requested node number
 * is taken, -ENFILE when no number is free).
 */
struct loopcam_device *loopcam_device_create(const struct loopcam_config *cfg)
{
	struct loopcam_device *dev;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->cfg = *cfg;
	if (!dev->cfg.label[0])
		strscpy(dev->cfg.label, "Dummy video device",
			sizeof(dev->cfg.label));
	mutex_init(&dev->lock);
	INIT_LIST_HEAD(&dev->readers);
	INIT_LIST_HEAD(&dev->list);
	INIT_DELAYED_WORK(&dev->idle_work, loopcam_idle_work);
	INIT_WORK(&dev->caps_work, loopcam_caps_work);
	INIT_LIST_HEAD(&dev->out_done);
	INIT_LIST_HEAD(&dev->out_held);
	loopcam_init_format(dev);
	dev->last_frame_ns = ktime_get_ns();

	snprintf(dev->v4l2_dev.name, sizeof(dev->v4l2_dev.name),
		 "v4l2loopback-%p", dev);
	ret = v4l2_device_register(NULL, &dev->v4l2_dev);
	if (ret) {
		kfree(dev);
		return ERR_PTR(ret);
	}
	dev->v4l2_dev.release = loopcam_v4l2_release;

	ret = loopcam_ctrls_init(dev);
	if (ret)
		goto put;

	mutex_lock(&dev->lock);
	dev->num_nodes = cfg->split ? 2 : 1;
	ret = loopcam_register_node(dev, 0, cfg->split ? LOOPCAM_NODE_OUTPUT :
							 LOOPCAM_NODE_COMBINED,
				    cfg->output_nr);
	if (!ret && cfg->split)
		ret = loopcam_register_node(dev, 1, LOOPCAM_NODE_CAPTURE,
					    cfg->capture_nr);
	mutex_unlock(&dev->lock);
	if (ret) {
		/* The first node may be registered already. */
		video_unregister_device(&dev->nodes[0].vdev);
		goto put;
	}
	/* The device is known by the number of its first node. */
	snprintf(dev->v4l2_dev.name, sizeof(dev->v4l2_dev.name),
		 "v4l2loopback-%03d", dev->nodes[0].vdev.num);
	return dev;

put:
	v4l2_device_put(&dev->v4l2_dev);
	return ERR_PTR(ret);
}

/**
 * loopcam_device_destroy() - unregister a device nobody has open
 * @dev: the device, already off the module's list.
 *
 * Return: 0, or -EBUSY when a node is open (the device stays).
 */
int loopcam_device_destroy(struct loopcam_device *dev)
{
	unsigned int i;

	mutex_lock(&dev->lock);
	if (dev->openers) {
		mutex_unlock(&dev->lock);
		return -EBUSY;
	}
	dev->removing = true;
	mutex_unlock(&dev->lock);

	cancel_delayed_work_sync(&dev->idle_work);
	cancel_work_sync(&dev->caps_work);
	for (i = 0; i < dev->num_nodes; i++)
		video_unregister_device(&dev->nodes[i].vdev);
	/* Frees the device once the last node reference is gone. */
	v4l2_device_put(&dev->v4l2_dev);
	return 0;
}
