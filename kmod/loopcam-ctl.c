// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: the control device /dev/v4l2loopback.
 *
 * v4l2loopback's ioctls (and their pre-0.13 numbers) on v4l2loopback's
 * struct, plus loopcam's LOOPCAM_CTL_ADD/QUERY on a struct that carries a
 * magic number and its own size, so an old tool cannot reach them by
 * accident. Who may use it is decided by the node's permissions.
 */

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "loopcam.h"

/* Copy a label that must be NUL-terminated inside its array. */
static int loopcam_copy_label(char *dst, const char *src)
{
	if (!memchr(src, 0, V4L2LOOPBACK_LABEL_LEN))
		return -EINVAL;
	strscpy(dst, src, V4L2LOOPBACK_LABEL_LEN);
	return 0;
}

/* 0 keeps the default; anything else is taken as given and checked later. */
static void loopcam_take_u32(u32 *dst, u32 val)
{
	if (val)
		*dst = val;
}

static int loopcam_config_from_v4l2loopback(struct loopcam_config *cfg,
					    const struct v4l2_loopback_config *c)
{
	loopcam_config_defaults(cfg);
	cfg->output_nr = c->output_nr;
	/* c->unused (the old capture_nr) never selects split mode. */
	loopcam_take_u32(&cfg->min_width, c->min_width);
	loopcam_take_u32(&cfg->max_width, c->max_width);
	loopcam_take_u32(&cfg->min_height, c->min_height);
	loopcam_take_u32(&cfg->max_height, c->max_height);
	if (c->max_buffers > 0)
		cfg->max_buffers = c->max_buffers;
	if (c->max_openers > 0) {
		cfg->max_openers = c->max_openers;
		cfg->max_readers = c->max_openers;
	}
	cfg->debug = max(c->debug, 0);
	if (c->announce_all_caps < -1 || c->announce_all_caps > 1)
		return -EINVAL;
	cfg->exclusive_caps = c->announce_all_caps == 0;
	return loopcam_copy_label(cfg->label, c->card_label);
}

static int loopcam_config_from_ext(struct loopcam_config *cfg,
				   const struct loopcam_device_config *c)
{
	unsigned int i;

	if (c->magic != LOOPCAM_CONFIG_MAGIC || c->size != sizeof(*c) ||
	    c->flags & ~LOOPCAM_FLAG_ALL)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(c->reserved); i++)
		if (c->reserved[i])
			return -EINVAL;
	if ((c->flags & LOOPCAM_FLAG_SPLIT) &&
	    (c->flags & LOOPCAM_FLAG_EXCLUSIVE_CAPS))
		return -EINVAL;
	loopcam_config_defaults(cfg);
	cfg->output_nr = c->output_nr;
	cfg->capture_nr = c->capture_nr;
	cfg->split = c->flags & LOOPCAM_FLAG_SPLIT;
	cfg->exclusive_caps = c->flags & LOOPCAM_FLAG_EXCLUSIVE_CAPS;
	cfg->keep_format = c->flags & LOOPCAM_FLAG_KEEP_FORMAT;
	loopcam_take_u32(&cfg->min_width, c->min_width);
	loopcam_take_u32(&cfg->max_width, c->max_width);
	loopcam_take_u32(&cfg->min_height, c->min_height);
	loopcam_take_u32(&cfg->max_height, c->max_height);
	loopcam_take_u32(&cfg->max_buffers, c->max_buffers);
	loopcam_take_u32(&cfg->max_openers, c->max_openers);
	cfg->max_readers = c->max_readers ? c->max_readers : cfg->max_openers;
	cfg->timeout_ms = c->timeout_ms;
	cfg->format = c->format;
	if (cfg->format.fps_num && !cfg->format.fps_den)
		cfg->format.fps_den = 1;
	return loopcam_copy_label(cfg->label, c->card_label);
}

static void loopcam_fill_v4l2loopback(struct v4l2_loopback_config *c,
				      struct loopcam_device *dev)
{
	memset(c, 0, sizeof(*c));
	c->output_nr = dev->nodes[0].vdev.num;
	c->unused = dev->nodes[dev->num_nodes - 1].vdev.num;
	strscpy(c->card_label, dev->cfg.label, sizeof(c->card_label));
	c->min_width = dev->cfg.min_width;
	c->max_width = dev->cfg.max_width;
	c->min_height = dev->cfg.min_height;
	c->max_height = dev->cfg.max_height;
	c->max_buffers = dev->cfg.max_buffers;
	c->max_openers = dev->cfg.max_openers;
	c->debug = dev->cfg.debug;
	c->announce_all_caps = !dev->cfg.exclusive_caps;
}

static void loopcam_fill_ext(struct loopcam_device_config *c,
			     struct loopcam_device *dev)
{
	memset(c, 0, sizeof(*c));
	c->magic = LOOPCAM_CONFIG_MAGIC;
	c->size = sizeof(*c);
	c->flags = (dev->cfg.split ? LOOPCAM_FLAG_SPLIT : 0) |
		   (dev->cfg.exclusive_caps ? LOOPCAM_FLAG_EXCLUSIVE_CAPS : 0) |
		   (dev->keep_format ? LOOPCAM_FLAG_KEEP_FORMAT : 0);
	c->output_nr = dev->nodes[0].vdev.num;
	c->capture_nr = dev->cfg.split ? dev->nodes[1].vdev.num : -1;
	strscpy(c->card_label, dev->cfg.label, sizeof(c->card_label));
	c->min_width = dev->cfg.min_width;
	c->max_width = dev->cfg.max_width;
	c->min_height = dev->cfg.min_height;
	c->max_height = dev->cfg.max_height;
	c->max_buffers = dev->cfg.max_buffers;
	c->max_openers = dev->cfg.max_openers;
	c->max_readers = dev->cfg.max_readers;
	c->timeout_ms = dev->timeout_ms;
	c->format.fourcc = dev->fmt.pixelformat;
	c->format.width = dev->fmt.width;
	c->format.height = dev->fmt.height;
	c->format.fps_num = dev->timeperframe.denominator;
	c->format.fps_den = dev->timeperframe.numerator;
}

static long loopcam_ctl_add(void __user *uarg, bool ext)
{
	struct loopcam_device_config *ec = NULL;
	struct v4l2_loopback_config *vc = NULL;
	struct loopcam_config *cfg;
	struct loopcam_device *dev;
	long ret;

	cfg = kmalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	if (ext) {
		ec = memdup_user(uarg, sizeof(*ec));
		ret = IS_ERR(ec) ? PTR_ERR(ec) : loopcam_config_from_ext(cfg, ec);
	} else {
		vc = memdup_user(uarg, sizeof(*vc));
		ret = IS_ERR(vc) ? PTR_ERR(vc) :
				   loopcam_config_from_v4l2loopback(cfg, vc);
	}
	if (!ret)
		ret = loopcam_add_device(cfg, &dev);
	if (!ret) {
		ret = dev->nodes[0].vdev.num;
		if (ext) {
			ec->output_nr = ret;
			ec->capture_nr = cfg->split ? dev->nodes[1].vdev.num : -1;
			if (copy_to_user(uarg, ec, sizeof(*ec))) {
				loopcam_remove_device(ret);
				ret = -EFAULT;
			}
		}
	}
	if (!IS_ERR_OR_NULL(ec))
		kfree(ec);
	if (!IS_ERR_OR_NULL(vc))
		kfree(vc);
	kfree(cfg);
	return ret;
}

static long loopcam_ctl_query(void __user *uarg, bool ext)
{
	struct loopcam_device_config ec;
	struct v4l2_loopback_config vc;
	struct loopcam_device *dev;
	s32 nr;
	long ret = 0;

	if (ext) {
		if (copy_from_user(&ec, uarg, sizeof(ec)))
			return -EFAULT;
		if (ec.magic != LOOPCAM_CONFIG_MAGIC || ec.size != sizeof(ec))
			return -EINVAL;
		nr = ec.output_nr;
	} else {
		if (copy_from_user(&vc, uarg, sizeof(vc)))
			return -EFAULT;
		nr = vc.output_nr;
	}
	if (nr < 0)
		return -EINVAL;

	mutex_lock(&loopcam_devices_lock);
	dev = loopcam_find_device(nr);
	if (dev) {
		mutex_lock(&dev->lock);
		if (ext)
			loopcam_fill_ext(&ec, dev);
		else
			loopcam_fill_v4l2loopback(&vc, dev);
		mutex_unlock(&dev->lock);
	} else {
		ret = -ENODEV;
	}
	mutex_unlock(&loopcam_devices_lock);
	if (ret)
		return ret;
	if (ext ? copy_to_user(uarg, &ec, sizeof(ec)) :
		  copy_to_user(uarg, &vc, sizeof(vc)))
		return -EFAULT;
	return 0;
}

static long loopcam_ctl_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case V4L2LOOPBACK_CTL_VERSION:
		return put_user((u32)V4L2LOOPBACK_VERSION_CODE, (u32 __user *)uarg);
	case V4L2LOOPBACK_CTL_ADD:
	case V4L2LOOPBACK_CTL_ADD_LEGACY:
		return loopcam_ctl_add(uarg, false);
	case LOOPCAM_CTL_ADD:
		return loopcam_ctl_add(uarg, true);
	case V4L2LOOPBACK_CTL_REMOVE:
	case V4L2LOOPBACK_CTL_REMOVE_LEGACY:
		/* The number is passed by value, as v4l2loopback does. */
		if (arg > INT_MAX)
			return -EINVAL;
		return loopcam_remove_device(arg);
	case V4L2LOOPBACK_CTL_QUERY:
	case V4L2LOOPBACK_CTL_QUERY_LEGACY:
		return loopcam_ctl_query(uarg, false);
	case LOOPCAM_CTL_QUERY:
		return loopcam_ctl_query(uarg, true);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations loopcam_ctl_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = loopcam_ctl_ioctl,
	/* Same struct layout on 32- and 64-bit ABIs. */
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice loopcam_ctl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = V4L2LOOPBACK_CTL_NAME,
	.fops = &loopcam_ctl_fops,
};

int loopcam_ctl_register(void)
{
	return misc_register(&loopcam_ctl_misc);
}

void loopcam_ctl_unregister(void)
{
	misc_deregister(&loopcam_ctl_misc);
}
