// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: module parameters, the list of devices, module load and unload.
 *
 * The parameters are v4l2loopback's, so existing modprobe.d files and
 * scripts (and OBS Studio's "modprobe v4l2loopback exclusive_caps=1
 * card_label=...") work unchanged; split_nodes, capture_nr, max_readers,
 * default_format and max_memory_mb are loopcam's own. Values out of range fail the load with
 * a message instead of being clamped.
 */

#include <linux/module.h>
#include <linux/slab.h>

#include "loopcam.h"

MODULE_DESCRIPTION("V4L2 loopback video device (loopcam, videobuf2)");
MODULE_AUTHOR("loopcam developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(__stringify(V4L2LOOPBACK_VERSION_MAJOR) "."
	       __stringify(V4L2LOOPBACK_VERSION_MINOR) "."
	       __stringify(V4L2LOOPBACK_VERSION_BUGFIX));

int loopcam_debug;
module_param_named(debug, loopcam_debug, int, 0644);
MODULE_PARM_DESC(debug, "debug level (0-3)");

static int devices = -1;
module_param(devices, int, 0444);
MODULE_PARM_DESC(devices, "number of devices to create (default: one per video_nr, else 1; 0 = none)");

static int video_nr[LOOPCAM_PARAM_DEVICES] = {
	[0 ... LOOPCAM_PARAM_DEVICES - 1] = -1
};
module_param_array(video_nr, int, NULL, 0444);
MODULE_PARM_DESC(video_nr, "video node number of each device (output node in split mode), -1 = first free");

static char *card_label[LOOPCAM_PARAM_DEVICES];
module_param_array(card_label, charp, NULL, 0444);
MODULE_PARM_DESC(card_label, "card label of each device");

static bool exclusive_caps[LOOPCAM_PARAM_DEVICES];
module_param_array(exclusive_caps, bool, NULL, 0444);
MODULE_PARM_DESC(exclusive_caps, "combined node advertises only OUTPUT until a producer streams, then only CAPTURE (needed by browsers)");

static bool split_nodes[LOOPCAM_PARAM_DEVICES];
module_param_array(split_nodes, bool, NULL, 0444);
MODULE_PARM_DESC(split_nodes, "give the device a separate output node and capture-only node");

static int capture_nr[LOOPCAM_PARAM_DEVICES] = {
	[0 ... LOOPCAM_PARAM_DEVICES - 1] = -1
};
module_param_array(capture_nr, int, NULL, 0444);
MODULE_PARM_DESC(capture_nr, "capture node number of each split device, -1 = first free");

static char *default_format[LOOPCAM_PARAM_DEVICES];
module_param_array(default_format, charp, NULL, 0444);
MODULE_PARM_DESC(default_format, "format announced to readers before a producer sets one, FOURCC:WxH@fps (default YUYV:640x480@30)");

static int max_readers[LOOPCAM_PARAM_DEVICES];
module_param_array(max_readers, int, NULL, 0444);
MODULE_PARM_DESC(max_readers, "most handles holding capture buffers at once per device (0 = max_openers; 1 = a classic single-reader device)");

int loopcam_max_buffers = 8;
module_param_named(max_buffers, loopcam_max_buffers, int, 0444);
MODULE_PARM_DESC(max_buffers, "most buffers of the producer's queue; readers share 2 more (2-32, default 8)");

int loopcam_max_openers = 10;
module_param_named(max_openers, loopcam_max_openers, int, 0444);
MODULE_PARM_DESC(max_openers, "most open file handles per device (default 10)");

int loopcam_max_width = 8192;
module_param_named(max_width, loopcam_max_width, int, 0444);
MODULE_PARM_DESC(max_width, "largest frame width (default 8192)");

int loopcam_max_height = 8192;
module_param_named(max_height, loopcam_max_height, int, 0444);
MODULE_PARM_DESC(max_height, "largest frame height (default 8192)");

unsigned int loopcam_max_memory_mb;
module_param_named(max_memory_mb, loopcam_max_memory_mb, uint, 0644);
MODULE_PARM_DESC(max_memory_mb, "most memory the buffers, kept frames and exported dma-bufs of all devices may take together, in MiB (default 0 = half of RAM)");

/* Guards loopcam_devices: adding, finding and removing devices. */
DEFINE_MUTEX(loopcam_devices_lock);
LIST_HEAD(loopcam_devices);

/**
 * loopcam_find_device() - find a device by the number of one of its nodes
 * @nr: video node number.
 *
 * Context: loopcam_devices_lock held.
 * Return: the device or NULL.
 */
struct loopcam_device *loopcam_find_device(int nr)
{
	struct loopcam_device *dev;
	unsigned int i;

	lockdep_assert_held(&loopcam_devices_lock);
	list_for_each_entry(dev, &loopcam_devices, list)
		for (i = 0; i < dev->num_nodes; i++)
			if (dev->nodes[i].vdev.num == nr)
				return dev;
	return NULL;
}

/**
 * loopcam_add_device() - validate a config, create the device, list it
 * @cfg: the config.
 * @out: the new device (may be NULL).
 *
 * Return: 0, -EINVAL for a bad config, -ENOSPC when the device limit is
 * reached, or the error of loopcam_device_create().
 */
int loopcam_add_device(const struct loopcam_config *cfg,
		       struct loopcam_device **out)
{
	struct loopcam_device *dev;
	unsigned int count = 0;
	int ret;

	ret = loopcam_config_check(cfg);
	if (ret)
		return ret;
	mutex_lock(&loopcam_devices_lock);
	list_for_each_entry(dev, &loopcam_devices, list)
		count++;
	if (count >= LOOPCAM_MAX_DEVICES) {
		ret = -ENOSPC;
		goto unlock;
	}
	dev = loopcam_device_create(cfg);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto unlock;
	}
	list_add_tail(&dev->list, &loopcam_devices);
	if (out)
		*out = dev;
unlock:
	mutex_unlock(&loopcam_devices_lock);
	return ret;
}

/**
 * loopcam_remove_device() - remove a device nobody has open
 * @nr: number of one of its nodes.
 *
 * Return: 0, -ENODEV for no such device, -EBUSY while a node is open.
 */
int loopcam_remove_device(int nr)
{
	struct loopcam_device *dev;
	int ret = -ENODEV;

	mutex_lock(&loopcam_devices_lock);
	dev = loopcam_find_device(nr);
	if (dev) {
		ret = loopcam_device_destroy(dev);
		if (!ret)
			list_del(&dev->list);
	}
	mutex_unlock(&loopcam_devices_lock);
	return ret;
}

static void loopcam_remove_all(void)
{
	struct loopcam_device *dev, *tmp;

	mutex_lock(&loopcam_devices_lock);
	list_for_each_entry_safe(dev, tmp, &loopcam_devices, list) {
		/*
		 * On unload nothing is open (an open node holds a module
		 * reference); only a failed load can race with an open.
		 */
		if (loopcam_device_destroy(dev))
			pr_err("v4l2loopback: device %s still open\n",
			       dev->v4l2_dev.name);
		list_del(&dev->list);
	}
	mutex_unlock(&loopcam_devices_lock);
}

static int __init loopcam_check_params(void)
{
	if (devices < -1 || devices > LOOPCAM_MAX_DEVICES) {
		pr_err("v4l2loopback: devices=%d: must be 0..%u\n", devices,
		       LOOPCAM_MAX_DEVICES);
		return -EINVAL;
	}
	if (loopcam_max_buffers < LOOPCAM_MIN_BUFFERS ||
	    loopcam_max_buffers > LOOPCAM_MAX_BUFFERS) {
		pr_err("v4l2loopback: max_buffers=%d: must be %u..%u\n",
		       loopcam_max_buffers, LOOPCAM_MIN_BUFFERS,
		       LOOPCAM_MAX_BUFFERS);
		return -EINVAL;
	}
	if (loopcam_max_openers < 1 ||
	    loopcam_max_openers > LOOPCAM_MAX_OPENERS) {
		pr_err("v4l2loopback: max_openers=%d: must be 1..%u\n",
		       loopcam_max_openers, LOOPCAM_MAX_OPENERS);
		return -EINVAL;
	}
	if (loopcam_max_width < LOOPCAM_MIN_SIZE ||
	    loopcam_max_width > LOOPCAM_MAX_SIZE ||
	    loopcam_max_height < LOOPCAM_MIN_SIZE ||
	    loopcam_max_height > LOOPCAM_MAX_SIZE) {
		pr_err("v4l2loopback: max_width/max_height must be %u..%u\n",
		       LOOPCAM_MIN_SIZE, LOOPCAM_MAX_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* How many devices the parameters ask for: v4l2loopback's rule. */
static int __init loopcam_param_device_count(void)
{
	int i, n = 0;

	if (devices >= 0)
		return devices;
	for (i = 0; i < LOOPCAM_PARAM_DEVICES; i++)
		if (video_nr[i] >= 0)
			n = i + 1;
	return max(n, 1);
}

static int __init loopcam_param_config(int i, struct loopcam_config *cfg)
{
	int ret;

	loopcam_config_defaults(cfg);
	if (i >= LOOPCAM_PARAM_DEVICES)
		return 0;
	cfg->output_nr = video_nr[i];
	cfg->capture_nr = capture_nr[i];
	cfg->exclusive_caps = exclusive_caps[i];
	cfg->split = split_nodes[i];
	if (max_readers[i])
		cfg->max_readers = max_readers[i];
	if (card_label[i] &&
	    strscpy(cfg->label, card_label[i], sizeof(cfg->label)) < 0) {
		pr_err("v4l2loopback: card_label[%d] longer than %u characters\n",
		       i, V4L2LOOPBACK_LABEL_LEN - 1);
		return -EINVAL;
	}
	if (default_format[i]) {
		ret = loopcam_fmt_parse(default_format[i], &cfg->format);
		if (ret) {
			pr_err("v4l2loopback: default_format[%d]='%s': expected FOURCC:WxH@fps, e.g. YUYV:1280x720@30\n",
			       i, default_format[i]);
			return ret;
		}
	}
	return 0;
}

static int __init loopcam_init(void)
{
	struct loopcam_config *cfg;
	int i, count, ret;

	ret = loopcam_check_params();
	if (ret)
		return ret;
	loopcam_pool_init();
	cfg = kmalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	count = loopcam_param_device_count();
	for (i = 0; i < count; i++) {
		ret = loopcam_param_config(i, cfg);
		if (!ret)
			ret = loopcam_add_device(cfg, NULL);
		if (ret) {
			pr_err("v4l2loopback: cannot create device %d: %d\n", i,
			       ret);
			goto fail;
		}
	}
	ret = loopcam_ctl_register();
	if (ret)
		goto fail;
	kfree(cfg);
	pr_info("v4l2loopback: loopcam %d.%d.%d loaded, %d device(s)\n",
		V4L2LOOPBACK_VERSION_MAJOR, V4L2LOOPBACK_VERSION_MINOR,
		V4L2LOOPBACK_VERSION_BUGFIX, count);
	return 0;

fail:
	kfree(cfg);
	loopcam_remove_all();
	return ret;
}

static void __exit loopcam_exit(void)
{
	loopcam_ctl_unregister();
	loopcam_remove_all();
}

module_init(loopcam_init);
module_exit(loopcam_exit);
