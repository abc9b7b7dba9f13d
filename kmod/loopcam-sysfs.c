// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: sysfs attributes of each video node
 * (/sys/devices/virtual/video4linux/videoN/).
 *
 * format, buffers, max_openers and state are v4l2loopback's; readers,
 * reader_stats and peer are loopcam's. The attributes are part of the
 * device when it is registered, so udev rules can read them.
 */

#include <linux/device.h>
#include <linux/kernel.h>

#include "loopcam.h"

static struct loopcam_device *loopcam_sysfs_dev(struct device *d)
{
	struct loopcam_node *node =
		video_get_drvdata(container_of(d, struct video_device, dev));

	return node->dev;
}

static ssize_t format_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	int n;

	mutex_lock(&dev->lock);
	/* Empty until chosen: see struct loopcam_device.format_chosen. */
	n = 0;
	if (dev->format_chosen || dev->format_set) {
		n = loopcam_fmt_print(buf, PAGE_SIZE - 1, &dev->fmt,
				      &dev->timeperframe);
		buf[n++] = '\n';
	}
	mutex_unlock(&dev->lock);
	return n;
}

/* Sets the format announced to readers while no producer owns it. */
static ssize_t format_store(struct device *d, struct device_attribute *attr,
			    const char *buf, size_t len)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	struct loopcam_format f;
	int ret;

	ret = loopcam_fmt_parse(buf, &f);
	if (ret)
		return ret;
	mutex_lock(&dev->lock);
	ret = loopcam_set_announced_format(dev, &f);
	mutex_unlock(&dev->lock);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(format);

static ssize_t buffers_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", loopcam_sysfs_dev(d)->cfg.max_buffers);
}
static DEVICE_ATTR_RO(buffers);

static ssize_t max_openers_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	u32 n;

	mutex_lock(&dev->lock);
	n = dev->cfg.max_openers;
	mutex_unlock(&dev->lock);
	return sysfs_emit(buf, "%u\n", n);
}

static ssize_t max_openers_store(struct device *d,
				 struct device_attribute *attr, const char *buf,
				 size_t len)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	unsigned int n;
	int ret;

	ret = kstrtouint(buf, 0, &n);
	if (ret)
		return ret;
	if (n < 1 || n > LOOPCAM_MAX_OPENERS)
		return -EINVAL;
	mutex_lock(&dev->lock);
	/* Never below what is open now, nor below the reader limit. */
	if (n < dev->openers) {
		ret = -EBUSY;
	} else {
		dev->cfg.max_openers = n;
		dev->cfg.max_readers = min(dev->cfg.max_readers, n);
	}
	mutex_unlock(&dev->lock);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(max_openers);

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	const char *state;

	mutex_lock(&dev->lock);
	state = dev->producer_active ? "capture" : "output";
	mutex_unlock(&dev->lock);
	return sysfs_emit(buf, "%s\n", state);
}
static DEVICE_ATTR_RO(state);

static ssize_t readers_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	unsigned int n;

	mutex_lock(&dev->lock);
	n = dev->num_readers;
	mutex_unlock(&dev->lock);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(readers);

/* One line per streaming reader: "id received dropped". */
static ssize_t reader_stats_show(struct device *d,
				 struct device_attribute *attr, char *buf)
{
	struct loopcam_device *dev = loopcam_sysfs_dev(d);
	struct loopcam_fh *r;
	int n = 0;

	mutex_lock(&dev->lock);
	list_for_each_entry(r, &dev->readers, reader_entry)
		n += sysfs_emit_at(buf, n, "%u %llu %llu\n", r->id, r->received,
				   r->dropped);
	mutex_unlock(&dev->lock);
	return n;
}
static DEVICE_ATTR_RO(reader_stats);

static ssize_t peer_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	struct video_device *vdev = container_of(d, struct video_device, dev);
	struct loopcam_node *node = video_get_drvdata(vdev);
	struct loopcam_device *dev = node->dev;
	struct loopcam_node *peer = &dev->nodes[node == &dev->nodes[0]];

	return sysfs_emit(buf, "video%d\n", peer->vdev.num);
}
static DEVICE_ATTR_RO(peer);

static struct attribute *loopcam_node_attrs[] = {
	&dev_attr_format.attr,
	&dev_attr_buffers.attr,
	&dev_attr_max_openers.attr,
	&dev_attr_state.attr,
	&dev_attr_readers.attr,
	&dev_attr_reader_stats.attr,
	&dev_attr_peer.attr,
	NULL
};

static umode_t loopcam_node_attr_visible(struct kobject *kobj,
					 struct attribute *attr, int n)
{
	struct device *d = kobj_to_dev(kobj);

	if (attr == &dev_attr_peer.attr && !loopcam_sysfs_dev(d)->cfg.split)
		return 0;
	return attr->mode;
}

static const struct attribute_group loopcam_node_group = {
	.attrs = loopcam_node_attrs,
	.is_visible = loopcam_node_attr_visible,
};

const struct attribute_group *loopcam_node_groups[] = {
	&loopcam_node_group,
	NULL
};
