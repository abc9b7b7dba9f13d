// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: V4L2 controls, with v4l2loopback's IDs and names so tools that
 * set them (v4l2-ctl -c keep_format=1, v4l2loopback-ctl) keep working.
 */

#include "loopcam.h"

static int loopcam_s_ctrl(struct v4l2_ctrl *ctrl)
{
	struct loopcam_device *dev =
		container_of(ctrl->handler, struct loopcam_device, ctrl_handler);

	/*
	 * Controls are set through ioctls, which the V4L2 core runs with
	 * dev->lock held; the values are mirrored into the device so the
	 * frame path reads them without taking the handler's lock.
	 */
	lockdep_assert_held(&dev->lock);
	switch (ctrl->id) {
	case V4L2LOOPBACK_CID_KEEP_FORMAT:
		dev->keep_format = ctrl->val;
		if (!dev->keep_format && !dev->producer)
			dev->format_set = false;
		loopcam_update_caps(dev);
		return 0;
	case V4L2LOOPBACK_CID_SUSTAIN_FRAMERATE:
		dev->sustain_framerate = ctrl->val;
		loopcam_idle_kick(dev);
		return 0;
	case V4L2LOOPBACK_CID_TIMEOUT:
		dev->timeout_ms = ctrl->val;
		loopcam_idle_kick(dev);
		return 0;
	case V4L2LOOPBACK_CID_TIMEOUT_IMAGE_IO:
		/* The producer's next frame becomes the placeholder. */
		dev->grab_placeholder = true;
		return 0;
	case LOOPCAM_CID_READERS:
		return 0;
	}
	return -EINVAL;
}

static const struct v4l2_ctrl_ops loopcam_ctrl_ops = {
	.s_ctrl = loopcam_s_ctrl,
};

static const struct v4l2_ctrl_config loopcam_ctrl_keep_format = {
	.ops = &loopcam_ctrl_ops,
	.id = V4L2LOOPBACK_CID_KEEP_FORMAT,
	.name = "keep_format",
	.type = V4L2_CTRL_TYPE_BOOLEAN,
	.max = 1,
	.step = 1,
};

static const struct v4l2_ctrl_config loopcam_ctrl_sustain = {
	.ops = &loopcam_ctrl_ops,
	.id = V4L2LOOPBACK_CID_SUSTAIN_FRAMERATE,
	.name = "sustain_framerate",
	.type = V4L2_CTRL_TYPE_BOOLEAN,
	.max = 1,
	.step = 1,
};

static const struct v4l2_ctrl_config loopcam_ctrl_timeout = {
	.ops = &loopcam_ctrl_ops,
	.id = V4L2LOOPBACK_CID_TIMEOUT,
	.name = "timeout",
	.type = V4L2_CTRL_TYPE_INTEGER,
	.max = LOOPCAM_MAX_TIMEOUT_MS,
	.step = 1,
};

static const struct v4l2_ctrl_config loopcam_ctrl_timeout_image_io = {
	.ops = &loopcam_ctrl_ops,
	.id = V4L2LOOPBACK_CID_TIMEOUT_IMAGE_IO,
	.name = "timeout_image_io",
	.type = V4L2_CTRL_TYPE_BUTTON,
};

static const struct v4l2_ctrl_config loopcam_ctrl_readers = {
	.ops = &loopcam_ctrl_ops,
	.id = LOOPCAM_CID_READERS,
	.name = "readers",
	.type = V4L2_CTRL_TYPE_INTEGER,
	.max = LOOPCAM_MAX_OPENERS,
	.step = 1,
	.flags = V4L2_CTRL_FLAG_READ_ONLY,
};

/**
 * loopcam_ctrls_init() - create the device's controls
 * @dev: the device, before its nodes are registered.
 *
 * Return: 0 or a negative error.
 */
int loopcam_ctrls_init(struct loopcam_device *dev)
{
	struct v4l2_ctrl_handler *hdl = &dev->ctrl_handler;
	struct v4l2_ctrl_config timeout = loopcam_ctrl_timeout;
	struct v4l2_ctrl_config keep = loopcam_ctrl_keep_format;

	keep.def = dev->cfg.keep_format;
	timeout.def = dev->cfg.timeout_ms;
	dev->keep_format = dev->cfg.keep_format;
	dev->timeout_ms = dev->cfg.timeout_ms;
	v4l2_ctrl_handler_init(hdl, 5);
	dev->ctrl_keep_format = v4l2_ctrl_new_custom(hdl, &keep, NULL);
	dev->ctrl_sustain = v4l2_ctrl_new_custom(hdl, &loopcam_ctrl_sustain, NULL);
	dev->ctrl_timeout = v4l2_ctrl_new_custom(hdl, &timeout, NULL);
	dev->ctrl_timeout_image_io =
		v4l2_ctrl_new_custom(hdl, &loopcam_ctrl_timeout_image_io, NULL);
	dev->ctrl_readers = v4l2_ctrl_new_custom(hdl, &loopcam_ctrl_readers, NULL);
	if (hdl->error)
		return hdl->error;
	dev->v4l2_dev.ctrl_handler = hdl;
	return 0;
}
