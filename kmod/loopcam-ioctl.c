// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: V4L2 ioctls and file operations.
 *
 * Every file handle has an OUTPUT and/or a CAPTURE vb2 queue, as its node
 * allows. Allocating buffers on (or streaming with) the OUTPUT queue makes
 * it the producer (at most one per device); on the CAPTURE queue, a reader.
 * On a combined node one handle may be both, like a mem2mem device: the
 * CAPTURE buffers' mmap offsets then start at %LOOPCAM_CAP_MMAP_BASE.
 * loopcam_ioctl() calls every ioctl here with the handle's lock and
 * loopcam_device.lock held, except DQBUF (the handle's lock only) and
 * DQEVENT (neither); see loopcam.h.
 */

#include <linux/poll.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>

#include "loopcam.h"

/* Same split as v4l2-mem2mem: OUTPUT offsets below, CAPTURE above. */
#define LOOPCAM_CAP_MMAP_BASE BIT(30)

static struct loopcam_device *loopcam_dev(struct file *file)
{
	return to_loopcam_fh(file)->dev;
}

/**
 * loopcam_type_ok() - may this handle use this buffer type now?
 * @lfh: the handle.
 * @type: a buffer type.
 *
 * A combined node with exclusive caps advertises one direction at a time;
 * the producer and existing readers keep theirs when the other is shown.
 *
 * Return: true when @type is usable.
 */
static bool loopcam_type_ok(struct loopcam_fh *lfh, u32 type)
{
	u32 caps = lfh->node->vdev.device_caps;

	switch (type) {
	case V4L2_BUF_TYPE_VIDEO_OUTPUT:
		/*
		 * With no producer, a node whose format keep_format holds
		 * shows CAPTURE, yet a new producer (OBS restarting its
		 * virtual camera) may take it over.
		 */
		return lfh->node->kind != LOOPCAM_NODE_CAPTURE &&
		       ((caps & V4L2_CAP_VIDEO_OUTPUT) || !lfh->dev->producer ||
			lfh->dev->producer == lfh);
	case V4L2_BUF_TYPE_VIDEO_CAPTURE:
		return lfh->node->kind != LOOPCAM_NODE_OUTPUT &&
		       ((caps & V4L2_CAP_VIDEO_CAPTURE) || lfh->reader_slot);
	default:
		return false;
	}
}

/* Readers see one fixed frame size and rate (Chromium needs DISCRETE). */
static bool loopcam_announces(struct loopcam_fh *lfh)
{
	u32 caps = lfh->node->vdev.device_caps;

	switch (lfh->node->kind) {
	case LOOPCAM_NODE_CAPTURE:
		return true;
	case LOOPCAM_NODE_OUTPUT:
		return false;
	default:
		return !(caps & V4L2_CAP_VIDEO_OUTPUT) || lfh->dev->format_set;
	}
}

enum loopcam_use {
	LOOPCAM_USE_PROBE,	/* look at the queue, take no role */
	LOOPCAM_USE_ALLOC,	/* REQBUFS/CREATE_BUFS with count 0: owners only */
	LOOPCAM_USE_CLAIM,	/* become the producer or take a reader slot */
};

/*
 * max_openers bounds the handles that move frames (the producer and the
 * readers holding buffers), not plain opens: opening a node just to query
 * it never fails, as V4L2 expects.
 */
static unsigned int loopcam_active(struct loopcam_device *dev)
{
	return dev->reader_slots + (dev->producer ? 1 : 0);
}

static int loopcam_claim_producer(struct loopcam_fh *lfh)
{
	struct loopcam_device *dev = lfh->dev;

	if (dev->producer == lfh)
		return 0;
	if (dev->producer)
		return -EBUSY;
	if (loopcam_active(dev) >= dev->cfg.max_openers) {
		lc_dbg(1, dev, "max_openers (%u) reached\n", dev->cfg.max_openers);
		return -EBUSY;
	}
	dev->producer = lfh;
	return 0;
}

static int loopcam_claim_reader(struct loopcam_fh *lfh)
{
	struct loopcam_device *dev = lfh->dev;

	if (lfh->reader_slot)
		return 0;
	if (dev->reader_slots >= dev->cfg.max_readers ||
	    loopcam_active(dev) >= dev->cfg.max_openers) {
		lc_dbg(1, dev, "reader limit reached (max_readers %u, max_openers %u)\n",
		       dev->cfg.max_readers, dev->cfg.max_openers);
		return -EBUSY;
	}
	lfh->reader_slot = true;
	dev->reader_slots++;
	return 0;
}

/**
 * loopcam_use_queue() - the queue for @type, taking the role it implies
 * @lfh: the handle.
 * @type: buffer type from userspace.
 * @use: what the call does with the queue.
 *
 * Like a single-owner V4L2 device, a handle that is not the producer gets
 * EBUSY for buffer allocation on the OUTPUT side while there is one, and
 * likewise on the CAPTURE side once every reader slot is taken.
 *
 * Return: the queue, or an ERR_PTR: -EINVAL for a type the node does not
 * offer now, -EBUSY as above.
 */
static struct vb2_queue *loopcam_use_queue(struct loopcam_fh *lfh, u32 type,
					   enum loopcam_use use)
{
	struct loopcam_device *dev = lfh->dev;
	int ret = 0;

	/*
	 * An exclusive-caps node hides OUTPUT while a producer streams: to
	 * a would-be second producer that is "busy", not "unsupported".
	 */
	if (!loopcam_type_ok(lfh, type))
		return ERR_PTR(loopcam_is_output(type) && dev->producer &&
			       lfh->node->kind == LOOPCAM_NODE_COMBINED ?
			       -EBUSY : -EINVAL);
	if (loopcam_is_output(type)) {
		if (use == LOOPCAM_USE_CLAIM)
			ret = loopcam_claim_producer(lfh);
		else if (use == LOOPCAM_USE_ALLOC && dev->producer &&
			 dev->producer != lfh)
			ret = -EBUSY;
		return ret ? ERR_PTR(ret) : &lfh->out_queue;
	}
	if (use == LOOPCAM_USE_CLAIM)
		ret = loopcam_claim_reader(lfh);
	else if (use == LOOPCAM_USE_ALLOC && !lfh->reader_slot &&
		 dev->reader_slots >= dev->cfg.max_readers)
		ret = -EBUSY;
	return ret ? ERR_PTR(ret) : &lfh->cap_queue;
}

/* After buffers were freed or streaming stopped: give up what is unused. */
static void loopcam_release_if_idle(struct loopcam_fh *lfh)
{
	struct loopcam_device *dev = lfh->dev;

	if (dev->producer == lfh && !vb2_is_busy(&lfh->out_queue) &&
	    !lfh->write_streaming)
		loopcam_producer_release(lfh);
	if (lfh->reader_slot && !vb2_is_busy(&lfh->cap_queue)) {
		lfh->reader_slot = false;
		dev->reader_slots--;
	}
}

static int loopcam_querycap(struct file *file, void *priv,
			    struct v4l2_capability *cap)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;
	int nr = dev->nodes[0].vdev.num;

	strscpy(cap->driver, V4L2LOOPBACK_DRIVER_NAME, sizeof(cap->driver));
	strscpy(cap->card, dev->cfg.label, sizeof(cap->card));
	/*
	 * Firefox matches nodes by bus_info prefix: a split pair's strings
	 * must not be prefixes of each other.
	 */
	switch (lfh->node->kind) {
	case LOOPCAM_NODE_COMBINED:
		snprintf(cap->bus_info, sizeof(cap->bus_info),
			 "platform:v4l2loopback-%03d", nr);
		break;
	case LOOPCAM_NODE_OUTPUT:
		snprintf(cap->bus_info, sizeof(cap->bus_info),
			 "platform:v4l2loopback-%03d-out", nr);
		break;
	case LOOPCAM_NODE_CAPTURE:
		snprintf(cap->bus_info, sizeof(cap->bus_info),
			 "platform:v4l2loopback-%03d-cap", nr);
		break;
	}
	return 0;
}

/* ---- formats ---- */

static int loopcam_enum_fmt_cap(struct file *file, void *priv,
				struct v4l2_fmtdesc *f)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	const struct loopcam_fmt_info *info;

	if (!loopcam_type_ok(lfh, f->type) || f->index)
		return -EINVAL;
	info = loopcam_fmt_find(lfh->dev->fmt.pixelformat);
	f->pixelformat = info->fourcc;
	f->flags = info->compressed ? V4L2_FMT_FLAG_COMPRESSED : 0;
	return 0;
}

static int loopcam_enum_fmt_out(struct file *file, void *priv,
				struct v4l2_fmtdesc *f)
{
	const struct loopcam_fmt_info *info = loopcam_fmt_by_index(f->index);

	if (!loopcam_type_ok(to_loopcam_fh(file), f->type) || !info)
		return -EINVAL;
	f->pixelformat = info->fourcc;
	f->flags = info->compressed ? V4L2_FMT_FLAG_COMPRESSED : 0;
	return 0;
}

static int loopcam_g_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	if (!loopcam_type_ok(to_loopcam_fh(file), f->type))
		return -EINVAL;
	f->fmt.pix = loopcam_dev(file)->fmt;
	return 0;
}

static void loopcam_try_fmt_out_pix(struct loopcam_device *dev,
				    struct v4l2_pix_format *pix)
{
	const struct loopcam_fmt_info *info = loopcam_fmt_find(pix->pixelformat);

	if (!info) {
		info = loopcam_fmt_find(dev->fmt.pixelformat);
		pix->pixelformat = info->fourcc;
	}
	pix->width = clamp(pix->width, dev->cfg.min_width, dev->cfg.max_width);
	pix->height = clamp(pix->height, dev->cfg.min_height,
			    dev->cfg.max_height);
	loopcam_fmt_fill(pix, info);
}

static int loopcam_try_fmt_out(struct file *file, void *priv,
			       struct v4l2_format *f)
{
	if (!loopcam_type_ok(to_loopcam_fh(file), f->type))
		return -EINVAL;
	loopcam_try_fmt_out_pix(loopcam_dev(file), &f->fmt.pix);
	return 0;
}

static int loopcam_s_fmt_out(struct file *file, void *priv,
			     struct v4l2_format *f)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;
	struct v4l2_pix_format *pix = &f->fmt.pix;
	bool changed;

	if (!loopcam_type_ok(lfh, f->type))
		return -EINVAL;
	/* The format belongs to the producer while there is one. */
	if ((dev->producer && dev->producer != lfh) ||
	    vb2_is_busy(&lfh->out_queue))
		return -EBUSY;
	loopcam_try_fmt_out_pix(dev, pix);
	changed = pix->pixelformat != dev->fmt.pixelformat ||
		  pix->width != dev->fmt.width ||
		  pix->height != dev->fmt.height ||
		  pix->sizeimage != dev->fmt.sizeimage;
	dev->fmt = *pix;
	/* The format is the producer's now (v4l2loopback-ctl set-caps). */
	dev->format_set = true;
	lfh->out_format_set = true;
	lfh->write_pos = 0;
	if (changed) {
		lc_dbg(1, dev, "format %ux%u %p4cc, %u bytes\n", pix->width,
		       pix->height, &pix->pixelformat, pix->sizeimage);
		loopcam_source_change(dev, NULL);
	}
	return 0;
}

/* ENUM_FRAMESIZES/INTERVALS carry no buffer type; decide by the node. */
static int loopcam_enum_framesizes(struct file *file, void *priv,
				   struct v4l2_frmsizeenum *fsize)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;

	if (fsize->index || !loopcam_fmt_find(fsize->pixel_format))
		return -EINVAL;
	if (loopcam_announces(lfh)) {
		if (fsize->pixel_format != dev->fmt.pixelformat)
			return -EINVAL;
		fsize->type = V4L2_FRMSIZE_TYPE_DISCRETE;
		fsize->discrete.width = dev->fmt.width;
		fsize->discrete.height = dev->fmt.height;
		return 0;
	}
	fsize->type = V4L2_FRMSIZE_TYPE_CONTINUOUS;
	fsize->stepwise.min_width = dev->cfg.min_width;
	fsize->stepwise.max_width = dev->cfg.max_width;
	fsize->stepwise.step_width = 1;
	fsize->stepwise.min_height = dev->cfg.min_height;
	fsize->stepwise.max_height = dev->cfg.max_height;
	fsize->stepwise.step_height = 1;
	return 0;
}

static int loopcam_enum_frameintervals(struct file *file, void *priv,
				       struct v4l2_frmivalenum *fival)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;

	if (fival->index || !loopcam_fmt_find(fival->pixel_format))
		return -EINVAL;
	if (loopcam_announces(lfh)) {
		if (fival->pixel_format != dev->fmt.pixelformat ||
		    fival->width != dev->fmt.width ||
		    fival->height != dev->fmt.height)
			return -EINVAL;
		fival->type = V4L2_FRMIVAL_TYPE_DISCRETE;
		fival->discrete = dev->timeperframe;
		return 0;
	}
	if (fival->width < dev->cfg.min_width ||
	    fival->width > dev->cfg.max_width ||
	    fival->height < dev->cfg.min_height ||
	    fival->height > dev->cfg.max_height)
		return -EINVAL;
	fival->type = V4L2_FRMIVAL_TYPE_CONTINUOUS;
	fival->stepwise.min.numerator = LOOPCAM_MIN_FPS_INTERVAL_US;
	fival->stepwise.min.denominator = USEC_PER_SEC;
	fival->stepwise.max.numerator = 1;
	fival->stepwise.max.denominator = 1;
	fival->stepwise.step.numerator = 1;
	fival->stepwise.step.denominator = 1;
	return 0;
}

/* ---- frame rate ---- */

static int loopcam_g_parm(struct file *file, void *priv,
			  struct v4l2_streamparm *parm)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;

	if (!loopcam_type_ok(lfh, parm->type))
		return -EINVAL;
	memset(&parm->parm, 0, sizeof(parm->parm));
	if (loopcam_is_output(parm->type)) {
		parm->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
		parm->parm.output.timeperframe = dev->timeperframe;
		parm->parm.output.writebuffers = dev->cfg.max_buffers;
	} else {
		parm->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
		parm->parm.capture.timeperframe = dev->timeperframe;
		parm->parm.capture.readbuffers = dev->cfg.max_buffers;
	}
	return 0;
}

static int loopcam_s_parm(struct file *file, void *priv,
			  struct v4l2_streamparm *parm)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;
	struct v4l2_fract *tpf = &parm->parm.output.timeperframe;

	if (!loopcam_type_ok(lfh, parm->type))
		return -EINVAL;
	/* Readers cannot change the rate; they are told what it is. */
	if (!loopcam_is_output(parm->type))
		return loopcam_g_parm(file, priv, parm);
	if (dev->producer && dev->producer != lfh)
		return -EBUSY;
	/* A zero fraction asks for the current rate, as the spec allows. */
	if (tpf->numerator && tpf->denominator) {
		u64 us = div_u64((u64)tpf->numerator * USEC_PER_SEC,
				 tpf->denominator);

		if (us < LOOPCAM_MIN_FPS_INTERVAL_US) {
			tpf->numerator = LOOPCAM_MIN_FPS_INTERVAL_US;
			tpf->denominator = USEC_PER_SEC;
		} else if (us > USEC_PER_SEC) {
			tpf->numerator = 1;
			tpf->denominator = 1;
		}
		dev->timeperframe = *tpf;
	}
	return loopcam_g_parm(file, priv, parm);
}

/*
 * ---- inputs and outputs: one of each, so generic clients are happy ----
 * A direction the node does not offer now has none (ENOTTY, as for an
 * ioctl the node lacks).
 */

/* The one input (CAPTURE) or output (OUTPUT): check @type and @index. */
static int loopcam_single_io(struct file *file, u32 type, unsigned int index)
{
	if (!loopcam_type_ok(to_loopcam_fh(file), type))
		return -ENOTTY;
	return index ? -EINVAL : 0;
}

static int loopcam_enum_input(struct file *file, void *priv,
			      struct v4l2_input *inp)
{
	int ret = loopcam_single_io(file, V4L2_BUF_TYPE_VIDEO_CAPTURE,
				    inp->index);

	if (ret)
		return ret;
	strscpy(inp->name, "loopback", sizeof(inp->name));
	inp->type = V4L2_INPUT_TYPE_CAMERA;
	return 0;
}

static int loopcam_g_input(struct file *file, void *priv, unsigned int *i)
{
	*i = 0;
	return loopcam_single_io(file, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0);
}

static int loopcam_s_input(struct file *file, void *priv, unsigned int i)
{
	return loopcam_single_io(file, V4L2_BUF_TYPE_VIDEO_CAPTURE, i);
}

static int loopcam_enum_output(struct file *file, void *priv,
			       struct v4l2_output *out)
{
	int ret = loopcam_single_io(file, V4L2_BUF_TYPE_VIDEO_OUTPUT,
				    out->index);

	if (ret)
		return ret;
	strscpy(out->name, "loopback", sizeof(out->name));
	out->type = V4L2_OUTPUT_TYPE_ANALOG;
	return 0;
}

static int loopcam_g_output(struct file *file, void *priv, unsigned int *i)
{
	*i = 0;
	return loopcam_single_io(file, V4L2_BUF_TYPE_VIDEO_OUTPUT, 0);
}

static int loopcam_s_output(struct file *file, void *priv, unsigned int i)
{
	return loopcam_single_io(file, V4L2_BUF_TYPE_VIDEO_OUTPUT, i);
}

/* ---- buffers ---- */

static int loopcam_reqbufs(struct file *file, void *priv,
			   struct v4l2_requestbuffers *rb)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct vb2_queue *q;
	int ret;

	q = loopcam_use_queue(lfh, rb->type,
			      rb->count ? LOOPCAM_USE_CLAIM : LOOPCAM_USE_ALLOC);
	if (IS_ERR(q))
		return PTR_ERR(q);
	if (loopcam_is_output(rb->type))
		lfh->out_buffers_used = true;
	/*
	 * MMAP buffers are the shared pool's: a reader gets all of them, so
	 * that it has a buffer for whichever the producer sends a frame in,
	 * and more (of its own memory) if it asks for more.
	 */
	if (rb->count && rb->memory == V4L2_MEMORY_MMAP &&
	    !loopcam_is_output(rb->type))
		rb->count = max(rb->count, loopcam_pool_size(lfh->dev));
	ret = vb2_reqbufs(q, rb);
	loopcam_release_if_idle(lfh);
	return ret;
}

static int loopcam_create_bufs(struct file *file, void *priv,
			       struct v4l2_create_buffers *cb)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct vb2_queue *q;
	int ret;

	q = loopcam_use_queue(lfh, cb->format.type,
			      cb->count ? LOOPCAM_USE_CLAIM : LOOPCAM_USE_ALLOC);
	if (IS_ERR(q))
		return PTR_ERR(q);
	if (loopcam_is_output(cb->format.type))
		lfh->out_buffers_used = true;
	ret = vb2_create_bufs(q, cb);
	loopcam_release_if_idle(lfh);
	return ret;
}

/* A buffer as userspace sees it: CAPTURE mmap offsets moved up on combined nodes. */
static int loopcam_buf_result(struct file *file, struct v4l2_buffer *b, int ret)
{
	if (!ret && b->memory == V4L2_MEMORY_MMAP && !loopcam_is_output(b->type) &&
	    to_loopcam_fh(file)->node->kind == LOOPCAM_NODE_COMBINED)
		b->m.offset += LOOPCAM_CAP_MMAP_BASE;
	return ret;
}

static int loopcam_querybuf(struct file *file, void *priv,
			    struct v4l2_buffer *b)
{
	struct vb2_queue *q = loopcam_use_queue(to_loopcam_fh(file), b->type,
						LOOPCAM_USE_PROBE);

	if (IS_ERR(q))
		return PTR_ERR(q);
	return loopcam_buf_result(file, b, vb2_querybuf(q, b));
}

static int loopcam_prepare_buf(struct file *file, void *priv,
			       struct v4l2_buffer *b)
{
	struct vb2_queue *q = loopcam_use_queue(to_loopcam_fh(file), b->type,
						LOOPCAM_USE_PROBE);

	if (IS_ERR(q))
		return PTR_ERR(q);
	return loopcam_buf_result(file, b, vb2_prepare_buf(q, NULL, b));
}

static int loopcam_qbuf(struct file *file, void *priv, struct v4l2_buffer *b)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct vb2_queue *q = loopcam_use_queue(lfh, b->type,
						LOOPCAM_USE_PROBE);
	int ret;

	if (IS_ERR(q))
		return PTR_ERR(q);
	ret = vb2_qbuf(q, NULL, b);
	loopcam_out_return_done(lfh->dev);
	return loopcam_buf_result(file, b, ret);
}

/*
 * The queue a DQBUF of @type is for, when this handle has buffers there:
 * then it holds the role the queue implies (loopcam_release_if_idle()
 * gives it up only with the buffers), and only the handle's lock is
 * needed. NULL otherwise.
 */
static struct vb2_queue *loopcam_busy_queue(struct loopcam_fh *lfh, u32 type)
{
	if (loopcam_is_output(type)) {
		if (lfh->node->kind != LOOPCAM_NODE_CAPTURE &&
		    vb2_is_busy(&lfh->out_queue))
			return &lfh->out_queue;
	} else if (type == V4L2_BUF_TYPE_VIDEO_CAPTURE) {
		if (lfh->node->kind != LOOPCAM_NODE_OUTPUT &&
		    vb2_is_busy(&lfh->cap_queue))
			return &lfh->cap_queue;
	}
	return NULL;
}

/* Called with the handle's lock only: a reader may sleep here. */
static int loopcam_dqbuf(struct file *file, void *priv, struct v4l2_buffer *b)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct vb2_queue *q = loopcam_busy_queue(lfh, b->type);
	int ret;

	if (q)
		return loopcam_buf_result(file, b,
					  vb2_dqbuf(q, b,
						    file->f_flags & O_NONBLOCK));
	/*
	 * No buffers, so vb2 fails at once; the device's state decides
	 * whether with EINVAL or EBUSY.
	 */
	mutex_lock(&lfh->dev->lock);
	q = loopcam_use_queue(lfh, b->type, LOOPCAM_USE_PROBE);
	ret = IS_ERR(q) ? PTR_ERR(q) : vb2_dqbuf(q, b, true);
	mutex_unlock(&lfh->dev->lock);
	return ret;
}

static int loopcam_expbuf(struct file *file, void *priv,
			  struct v4l2_exportbuffer *eb)
{
	struct vb2_queue *q = loopcam_use_queue(to_loopcam_fh(file), eb->type,
						LOOPCAM_USE_PROBE);

	return IS_ERR(q) ? PTR_ERR(q) : vb2_expbuf(q, eb);
}

static int loopcam_streamon(struct file *file, void *priv,
			    enum v4l2_buf_type type)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct vb2_queue *q;
	int ret;

	q = loopcam_use_queue(lfh, type, LOOPCAM_USE_CLAIM);
	if (IS_ERR(q))
		return PTR_ERR(q);
	/*
	 * A producer that never asked for buffers streams by write(), and
	 * some call STREAMON first (OBS Studio does, and fails if it is
	 * refused). Once buffers were requested, vb2's rules apply.
	 */
	if (loopcam_is_output(type) && !lfh->out_buffers_used) {
		lfh->write_streaming = true;
		loopcam_set_producer_active(lfh->dev, true);
		return 0;
	}
	ret = vb2_streamon(q, type);
	loopcam_out_return_done(lfh->dev);
	loopcam_release_if_idle(lfh);
	return ret;
}

static int loopcam_streamoff(struct file *file, void *priv,
			     enum v4l2_buf_type type)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct vb2_queue *q;
	int ret;

	q = loopcam_use_queue(lfh, type, LOOPCAM_USE_PROBE);
	if (IS_ERR(q))
		return PTR_ERR(q);
	if (loopcam_is_output(type) && lfh->write_streaming) {
		lfh->write_streaming = false;
		lfh->write_pos = 0;
		if (!vb2_is_streaming(q))
			loopcam_set_producer_active(lfh->dev, false);
	}
	ret = vb2_streamoff(q, type);
	loopcam_release_if_idle(lfh);
	return ret;
}

/* ---- events ---- */

static int loopcam_subscribe_event(struct v4l2_fh *fh,
				   const struct v4l2_event_subscription *sub)
{
	struct loopcam_fh *lfh = container_of(fh, struct loopcam_fh, fh);

	switch (sub->type) {
	case V4L2_EVENT_CTRL:
		return v4l2_ctrl_subscribe_event(fh, sub);
	case V4L2_EVENT_SOURCE_CHANGE:
		/*
		 * For whoever can read now. v4l2-compliance wants none on a
		 * node that also advertises OUTPUT, but readers of a classic
		 * combined node would otherwise stall silently on a format
		 * change: they win (docs/device.md).
		 */
		if (!loopcam_type_ok(lfh, V4L2_BUF_TYPE_VIDEO_CAPTURE))
			return -EINVAL;
		return v4l2_src_change_event_subscribe(fh, sub);
	case LOOPCAM_EVENT_READERS:
		return v4l2_event_subscribe(fh, sub, 4, NULL);
	default:
		return -EINVAL;
	}
}

const struct v4l2_ioctl_ops loopcam_ioctl_ops = {
	.vidioc_querycap = loopcam_querycap,

	.vidioc_enum_fmt_vid_cap = loopcam_enum_fmt_cap,
	.vidioc_g_fmt_vid_cap = loopcam_g_fmt,
	.vidioc_try_fmt_vid_cap = loopcam_g_fmt,
	.vidioc_s_fmt_vid_cap = loopcam_g_fmt,
	.vidioc_enum_fmt_vid_out = loopcam_enum_fmt_out,
	.vidioc_g_fmt_vid_out = loopcam_g_fmt,
	.vidioc_try_fmt_vid_out = loopcam_try_fmt_out,
	.vidioc_s_fmt_vid_out = loopcam_s_fmt_out,
	.vidioc_enum_framesizes = loopcam_enum_framesizes,
	.vidioc_enum_frameintervals = loopcam_enum_frameintervals,
	.vidioc_g_parm = loopcam_g_parm,
	.vidioc_s_parm = loopcam_s_parm,

	.vidioc_enum_input = loopcam_enum_input,
	.vidioc_g_input = loopcam_g_input,
	.vidioc_s_input = loopcam_s_input,
	.vidioc_enum_output = loopcam_enum_output,
	.vidioc_g_output = loopcam_g_output,
	.vidioc_s_output = loopcam_s_output,

	.vidioc_reqbufs = loopcam_reqbufs,
	.vidioc_create_bufs = loopcam_create_bufs,
	.vidioc_querybuf = loopcam_querybuf,
	.vidioc_prepare_buf = loopcam_prepare_buf,
	.vidioc_qbuf = loopcam_qbuf,
	.vidioc_dqbuf = loopcam_dqbuf,
	.vidioc_expbuf = loopcam_expbuf,
	.vidioc_streamon = loopcam_streamon,
	.vidioc_streamoff = loopcam_streamoff,

	.vidioc_log_status = v4l2_ctrl_log_status,
	.vidioc_subscribe_event = loopcam_subscribe_event,
	.vidioc_unsubscribe_event = v4l2_event_unsubscribe,
};

/* ---- file operations ---- */

static int loopcam_open(struct file *file)
{
	struct loopcam_node *node = video_drvdata(file);
	struct loopcam_device *dev = node->dev;
	struct loopcam_fh *lfh;
	int ret = 0;

	lfh = kzalloc(sizeof(*lfh), GFP_KERNEL);
	if (!lfh)
		return -ENOMEM;
	mutex_init(&lfh->lock);
	lfh->dev = dev;
	lfh->node = node;
	INIT_LIST_HEAD(&lfh->cap_ready);
	INIT_LIST_HEAD(&lfh->cap_held);
	INIT_LIST_HEAD(&lfh->out_pending);
	INIT_LIST_HEAD(&lfh->reader_entry);

	mutex_lock(&dev->lock);
	if (dev->removing) {
		ret = -ENODEV;
		goto unlock;
	}
	if (node->kind != LOOPCAM_NODE_CAPTURE)
		ret = loopcam_queue_init(lfh, &lfh->out_queue,
					 V4L2_BUF_TYPE_VIDEO_OUTPUT);
	if (!ret && node->kind != LOOPCAM_NODE_OUTPUT)
		ret = loopcam_queue_init(lfh, &lfh->cap_queue,
					 V4L2_BUF_TYPE_VIDEO_CAPTURE);
	if (ret)
		goto unlock;
	v4l2_fh_init(&lfh->fh, &node->vdev);
	loopcam_fh_add(&lfh->fh, file);
	dev->openers++;
unlock:
	mutex_unlock(&dev->lock);
	if (ret) {
		mutex_destroy(&lfh->lock);
		kfree(lfh);
	}
	return ret;
}

static int loopcam_release(struct file *file)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;

	mutex_lock(&lfh->lock);
	mutex_lock(&dev->lock);
	if (lfh->node->kind != LOOPCAM_NODE_CAPTURE)
		vb2_queue_release(&lfh->out_queue);
	if (lfh->node->kind != LOOPCAM_NODE_OUTPUT)
		vb2_queue_release(&lfh->cap_queue);
	lfh->write_streaming = false;
	loopcam_release_if_idle(lfh);
	/* A format set without producing is not kept unless asked to. */
	if (lfh->out_format_set && !dev->producer && !dev->keep_format) {
		dev->format_set = false;
		loopcam_update_caps(dev);
	}
	if (!--dev->openers)
		loopcam_pool_trim(dev);
	mutex_unlock(&dev->lock);
	mutex_unlock(&lfh->lock);

	loopcam_fh_del(&lfh->fh, file);
	v4l2_fh_exit(&lfh->fh);
	mutex_destroy(&lfh->lock);
	kfree(lfh);
	return 0;
}

/* One non-blocking vb2_read() with both locks held; -EAGAIN: no frame yet. */
static ssize_t loopcam_read_once(struct loopcam_fh *lfh, char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct loopcam_device *dev = lfh->dev;
	struct vb2_queue *q;
	ssize_t ret;

	if (mutex_lock_interruptible(&lfh->lock))
		return -ERESTARTSYS;
	mutex_lock(&dev->lock);
	/* read() and buffers do not mix on one handle (vb2's rule). */
	if (vb2_is_busy(&lfh->out_queue)) {
		ret = -EBUSY;
		goto unlock;
	}
	q = loopcam_use_queue(lfh, V4L2_BUF_TYPE_VIDEO_CAPTURE,
			      LOOPCAM_USE_CLAIM);
	ret = IS_ERR(q) ? PTR_ERR(q) : vb2_read(q, buf, count, ppos, true);
	loopcam_release_if_idle(lfh);
unlock:
	mutex_unlock(&dev->lock);
	mutex_unlock(&lfh->lock);
	return ret;
}

/* What vb2 waits for in a blocking DQBUF. */
static bool loopcam_read_ready(struct vb2_queue *q)
{
	return !list_empty_careful(&q->done_list) || !vb2_is_streaming(q) ||
	       q->error;
}

/*
 * vb2's blocking read() would sleep with the device lock held (vb2 drops
 * only the queue's lock, the handle's), keeping the producer out: wait
 * for a frame here, with no lock, instead.
 */
static ssize_t loopcam_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	ssize_t ret;

	for (;;) {
		ret = loopcam_read_once(lfh, buf, count, ppos);
		/* -EAGAIN comes only from the capture queue, streaming. */
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			return ret;
		if (wait_event_interruptible(lfh->cap_queue.done_wq,
					     loopcam_read_ready(&lfh->cap_queue)))
			return -ERESTARTSYS;
	}
}

static ssize_t loopcam_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;
	struct vb2_queue *q;
	ssize_t ret;

	if (mutex_lock_interruptible(&lfh->lock))
		return -ERESTARTSYS;
	mutex_lock(&dev->lock);
	q = loopcam_use_queue(lfh, V4L2_BUF_TYPE_VIDEO_OUTPUT,
			      LOOPCAM_USE_CLAIM);
	if (IS_ERR(q)) {
		ret = PTR_ERR(q);
	} else if (vb2_is_busy(q) || vb2_is_busy(&lfh->cap_queue)) {
		/* write() and buffers do not mix on one handle (vb2's rule). */
		ret = -EBUSY;
	} else {
		lfh->write_streaming = true;
		ret = loopcam_write_frame(lfh, buf, count);
	}
	mutex_unlock(&dev->lock);
	mutex_unlock(&lfh->lock);
	return ret;
}

static __poll_t loopcam_poll(struct file *file, poll_table *wait)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	struct loopcam_device *dev = lfh->dev;
	__poll_t req = poll_requested_events(wait);
	__poll_t res = 0;
	bool out_bufs, reader;

	mutex_lock(&lfh->lock);
	/*
	 * A streaming reader waiting for frames: its own queue answers, and
	 * the device lock, which the producer holds while delivering, is
	 * not needed.
	 */
	if (lfh->reader_slot && vb2_is_streaming(&lfh->cap_queue) &&
	    !(req & (EPOLLOUT | EPOLLWRNORM))) {
		res = vb2_poll(&lfh->cap_queue, file, wait);
		mutex_unlock(&lfh->lock);
		return res;
	}
	mutex_lock(&dev->lock);
	out_bufs = vb2_is_busy(&lfh->out_queue);
	/* vb2_poll starts read() emulation on a fresh reader. */
	reader = lfh->reader_slot ||
		 (!out_bufs && !lfh->write_streaming &&
		  (req & (EPOLLIN | EPOLLRDNORM)) &&
		  !IS_ERR(loopcam_use_queue(lfh, V4L2_BUF_TYPE_VIDEO_CAPTURE,
					    LOOPCAM_USE_CLAIM)));
	if (reader) {
		res |= vb2_poll(&lfh->cap_queue, file, wait);
		loopcam_release_if_idle(lfh);
	}
	if (out_bufs) {
		res |= vb2_poll(&lfh->out_queue, file, wait);
	} else {
		if (!reader)
			res |= v4l2_ctrl_poll(file, wait);
		/* write() never blocks: readers without buffers drop frames. */
		if (lfh->write_streaming ||
		    loopcam_type_ok(lfh, V4L2_BUF_TYPE_VIDEO_OUTPUT))
			res |= EPOLLOUT | EPOLLWRNORM;
	}
	mutex_unlock(&dev->lock);
	mutex_unlock(&lfh->lock);
	return res;
}

static int loopcam_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);

	/*
	 * No device lock here: mmap_lock is held, and write() takes it
	 * (through page faults) under the device lock. vb2_mmap has its
	 * own lock.
	 */
	switch (lfh->node->kind) {
	case LOOPCAM_NODE_OUTPUT:
		return vb2_mmap(&lfh->out_queue, vma);
	case LOOPCAM_NODE_CAPTURE:
		return vb2_mmap(&lfh->cap_queue, vma);
	default:
		if (vma->vm_pgoff < (LOOPCAM_CAP_MMAP_BASE >> PAGE_SHIFT))
			return vb2_mmap(&lfh->out_queue, vma);
		vma->vm_pgoff -= LOOPCAM_CAP_MMAP_BASE >> PAGE_SHIFT;
		return vb2_mmap(&lfh->cap_queue, vma);
	}
}

/* The locks an ioctl runs under (loopcam.h). */
enum loopcam_ioctl_locks {
	LOOPCAM_LOCK_NONE,	/* sleeps, and touches only the event queue */
	LOOPCAM_LOCK_FH,	/* the handle's own queue: may sleep */
	LOOPCAM_LOCK_FH_DEV,	/* everything else */
};

static enum loopcam_ioctl_locks loopcam_ioctl_locks(unsigned int cmd)
{
	if (_IOC_TYPE(cmd) != 'V')
		return LOOPCAM_LOCK_FH_DEV;
	/* _IOC_NR also matches the 32-bit and time32 variants. */
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(VIDIOC_DQEVENT):
		return LOOPCAM_LOCK_NONE;
	case _IOC_NR(VIDIOC_DQBUF):
		return LOOPCAM_LOCK_FH;
	default:
		return LOOPCAM_LOCK_FH_DEV;
	}
}

/*
 * The V4L2 core would serialise every ioctl on one lock, video_device's
 * (there is none): the locks are taken here instead, so that a reader in
 * DQBUF never waits for the producer's delivery. A blocking DQEVENT
 * would sleep with whatever is held: the core drops only that one lock.
 */
static long loopcam_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct loopcam_fh *lfh = to_loopcam_fh(file);
	enum loopcam_ioctl_locks locks = loopcam_ioctl_locks(cmd);
	long ret;

	if (locks == LOOPCAM_LOCK_NONE)
		return video_ioctl2(file, cmd, arg);
	if (mutex_lock_interruptible(&lfh->lock))
		return -ERESTARTSYS;
	if (locks == LOOPCAM_LOCK_FH_DEV &&
	    mutex_lock_interruptible(&lfh->dev->lock)) {
		mutex_unlock(&lfh->lock);
		return -ERESTARTSYS;
	}
	ret = video_ioctl2(file, cmd, arg);
	if (locks == LOOPCAM_LOCK_FH_DEV)
		mutex_unlock(&lfh->dev->lock);
	mutex_unlock(&lfh->lock);
	return ret;
}

const struct v4l2_file_operations loopcam_fops = {
	.owner = THIS_MODULE,
	.open = loopcam_open,
	.release = loopcam_release,
	.read = loopcam_read,
	.write = loopcam_write,
	.poll = loopcam_poll,
	.mmap = loopcam_mmap,
	.unlocked_ioctl = loopcam_ioctl,
};
