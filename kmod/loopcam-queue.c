// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: the producer's and the readers' vb2 queues, and frame delivery.
 *
 * MMAP buffer i of every queue is pool buffer i (loopcam-pool.c). A frame
 * the producer queues in its buffer i completes, without a copy, each
 * streaming reader's buffer i if the reader has it queued; readers whose
 * buffers have memory of their own (USERPTR, DMABUF) get a copy in their
 * first queued buffer. A frame in kernel memory (write() data, placeholder,
 * repeated frame) is first copied once into a pool buffer nobody uses.
 *
 * A reader holds the frame in pool buffer i from delivery until it queues
 * its buffer i again; the producer gets its buffer i back only then, so no
 * frame changes while a reader may read it. A reader may hold only a few
 * frames at once (loopcam_hold_limits()); past that, and with no
 * buffer queued, it loses frames for itself alone (its sequence counter
 * skips, as V4L2 specifies for dropped frames) and the producer keeps
 * buffers to send with.
 */

#include <linux/uaccess.h>
#include <media/v4l2-event.h>

#include "loopcam.h"

static bool loopcam_same_frame_format(const struct v4l2_pix_format *a,
				      const struct v4l2_pix_format *b)
{
	return a->pixelformat == b->pixelformat && a->width == b->width &&
	       a->height == b->height && a->sizeimage == b->sizeimage;
}

static bool loopcam_is_compressed(const struct loopcam_device *dev)
{
	const struct loopcam_fmt_info *info =
		loopcam_fmt_find(dev->fmt.pixelformat);

	return info && info->compressed;
}

/* A producer stamp this recent is taken to be CLOCK_MONOTONIC. */
#define LOOPCAM_TS_CARRY_NS (2 * NSEC_PER_SEC)

/*
 * Readers are promised CLOCK_MONOTONIC timestamps. A producer's stamp in
 * that clock is carried as it is; any other (zero, or GStreamer's running
 * time) is replaced by the delivery time, so a stream never mixes clocks.
 */
static u64 loopcam_reader_timestamp(u64 producer_ns, u64 now)
{
	if (producer_ns && producer_ns <= now &&
	    now - producer_ns < LOOPCAM_TS_CARRY_NS)
		return producer_ns;
	return now;
}

/**
 * struct loopcam_hold_limits - how many frames a reader may hold at once
 * @max_out: in pool buffers the producer uses.
 * @max_spare: in the other pool buffers.
 */
struct loopcam_hold_limits {
	unsigned int max_out;
	unsigned int max_spare;
};

/*
 * How many frames a reader may hold in pool buffers at once. Of the
 * producer's buffers, all but two are shared among the streaming readers,
 * so that however many of them stop dequeuing, and whenever, the producer
 * keeps buffers to send with. The pool buffers the producer does not use
 * are shared among them likewise; frames go there when a reader is past
 * its share of the producer's (a burst) and for frames in kernel memory.
 * The same for every reader: worked out once per frame.
 */
static void loopcam_hold_limits(struct loopcam_device *dev,
				struct loopcam_hold_limits *lim)
{
	unsigned int readers = max(1U, dev->num_readers);
	unsigned int n = loopcam_pool_size(dev);
	unsigned int out = 0, i;

	for (i = 0; i < n; i++)
		if (dev->pool[i] && atomic_read(&dev->pool[i]->out_users))
			out++;
	lim->max_out = max(1U, (out - min(out, 2U)) / readers);
	lim->max_spare = max(1U, (n - out) / readers);
}

/*
 * The buffer a reader gets the next frame in, or NULL when it loses this
 * frame (counted). With the frame in pool buffer @pb, that is the
 * reader's own buffer on @pb, unless the reader already holds its share;
 * else its first queued buffer with memory of its own, to copy into; else
 * a queued pool buffer the device may fill. A reader whose buffers were
 * set up for another format gets nothing: it waits for
 * V4L2_EVENT_SOURCE_CHANGE handling instead of getting frames it would
 * misread.
 */
static struct loopcam_buffer *
loopcam_reader_take(struct loopcam_device *dev, struct loopcam_fh *r,
		    const struct loopcam_hold_limits *lim,
		    struct loopcam_pool_buf *pb, size_t bytes)
{
	bool may_out = r->held_out < lim->max_out;
	bool may_spare = r->held - r->held_out < lim->max_spare;
	struct loopcam_buffer *buf, *own = NULL, *fill = NULL;
	struct vb2_buffer *vb;

	if (!loopcam_same_frame_format(&r->stream_fmt, &dev->fmt))
		goto drop;
	list_for_each_entry(buf, &r->cap_ready, list) {
		if (!buf->pool) {
			if (!own)
				own = buf;
		} else if (buf->pool == pb) {
			if (atomic_read(&pb->out_users) ? may_out : may_spare) {
				list_del(&buf->list);
				return buf;
			}
		} else if (!fill && may_spare &&
			   loopcam_pool_buf_writable(buf->pool, bytes)) {
			fill = buf;
		}
	}
	if (!own && fill) {
		list_del(&fill->list);
		return fill;
	}
	if (!own)
		goto drop;
	list_del(&own->list);
	vb = &own->vb.vb2_buf;
	if (vb2_plane_vaddr(vb, 0) && vb2_plane_size(vb, 0) >= bytes)
		return own;
	vb2_buffer_done(vb, VB2_BUF_STATE_ERROR);
drop:
	r->sequence++;
	r->dropped++;
	return NULL;
}

/*
 * Hand a reader its buffer, now holding a whole frame of @bytes, @frame,
 * which lies in pool buffer @pb if not NULL. A buffer elsewhere gets a
 * copy; a pool buffer holds the frame until the reader queues it again.
 */
static void loopcam_reader_give(struct loopcam_fh *r,
				struct loopcam_buffer *buf,
				struct loopcam_pool_buf *pb, const void *frame,
				size_t bytes, u64 timestamp_ns)
{
	struct vb2_buffer *vb = &buf->vb.vb2_buf;

	if (buf->pool != pb || !pb)
		memcpy(vb2_plane_vaddr(vb, 0), frame, bytes);
	if (buf->pool) {
		buf->holding = true;
		buf->holding_out = atomic_read(&buf->pool->out_users) != 0;
		buf->pool->held++;
		r->held++;
		r->held_out += buf->holding_out;
		list_add_tail(&buf->list, &r->cap_held);
	}
	vb2_set_plane_payload(vb, 0, bytes);
	buf->vb.sequence = r->sequence++;
	buf->vb.field = V4L2_FIELD_NONE;
	/* Never backwards for this reader, whatever the producer did. */
	vb->timestamp = max(timestamp_ns, r->last_timestamp_ns);
	r->last_timestamp_ns = vb->timestamp;
	r->received++;
	vb2_buffer_done(vb, VB2_BUF_STATE_DONE);
}

/*
 * A reader queued its buffer again, or stops: the frame it held is free,
 * and the producer's buffer that brought it goes back once nobody holds it.
 */
static void loopcam_reader_release(struct loopcam_fh *r,
				   struct loopcam_buffer *buf)
{
	struct loopcam_pool_buf *pb = buf->pool;
	struct loopcam_buffer *out;

	if (!buf->holding)
		return;
	buf->holding = false;
	list_del_init(&buf->list);
	r->held--;
	r->held_out -= buf->holding_out;
	if (--pb->held || !pb->out_waiting)
		return;
	out = pb->out_waiting;
	pb->out_waiting = NULL;
	list_del_init(&out->list);
	vb2_buffer_done(&out->vb.vb2_buf, VB2_BUF_STATE_DONE);
}

/* A reader with MMAP buffers: they are the pool's, and frames need no copy. */
static bool loopcam_reader_shares_pool(const struct loopcam_fh *r)
{
	return r->cap_queue.memory == VB2_MEMORY_MMAP;
}

/*
 * Offer every streaming reader a frame, which lies in @pb if not NULL, at
 * time @now (the caller's clock reading: one per frame is enough).
 * Readers with MMAP buffers come first: they usually get it without a
 * copy, and dequeue it (without the device lock) while the copies for
 * USERPTR and DMABUF readers are made.
 */
static void loopcam_deliver_from(struct loopcam_device *dev,
				 struct loopcam_pool_buf *pb, const void *frame,
				 size_t bytes, u64 timestamp_ns, u64 now)
{
	struct loopcam_hold_limits lim;
	struct loopcam_buffer *buf;
	struct loopcam_fh *r;
	bool sharing;
	int pass;

	lockdep_assert_held(&dev->lock);
	timestamp_ns = loopcam_reader_timestamp(timestamp_ns, now);
	dev->last_delivery_ns = now;
	loopcam_hold_limits(dev, &lim);

	for (pass = 0; pass < 2; pass++) {
		sharing = pass == 0;
		list_for_each_entry(r, &dev->readers, reader_entry) {
			if (loopcam_reader_shares_pool(r) != sharing)
				continue;
			buf = loopcam_reader_take(dev, r, &lim, pb, bytes);
			if (buf)
				loopcam_reader_give(r, buf, pb, frame, bytes,
						    timestamp_ns);
		}
	}
}

/* A reader waits with a pool buffer: a frame is worth copying there. */
static bool loopcam_pool_wanted(struct loopcam_device *dev)
{
	struct loopcam_buffer *buf;
	struct loopcam_fh *r;

	list_for_each_entry(r, &dev->readers, reader_entry)
		list_for_each_entry(buf, &r->cap_ready, list)
			if (buf->pool)
				return true;
	return false;
}

/*
 * Offer a frame in kernel memory to every streaming reader: it is copied
 * once into a free pool buffer, which readers then share; readers with
 * memory of their own get a copy each.
 */
static void loopcam_deliver(struct loopcam_device *dev, const void *frame,
			    size_t bytes, u64 timestamp_ns, u64 now)
{
	struct loopcam_pool_buf *pb = NULL;

	lockdep_assert_held(&dev->lock);
	if (loopcam_pool_wanted(dev))
		pb = loopcam_pool_writable(dev, bytes);
	if (pb) {
		memcpy(pb->vaddr, frame, bytes);
		frame = pb->vaddr;
	}
	loopcam_deliver_from(dev, pb, frame, bytes, timestamp_ns, now);
}

/* Keep a copy of the producer's frame: as placeholder, or to repeat it. */
static void loopcam_keep_frame(struct loopcam_device *dev,
			       struct loopcam_frame *dst, const void *frame,
			       size_t bytes)
{
	if (loopcam_frame_reserve(dst, bytes)) {
		dst->bytes = 0;
		return;
	}
	if (dst->data != frame)
		memcpy(dst->data, frame, bytes);
	dst->bytes = bytes;
	dst->fourcc = dev->fmt.pixelformat;
	dst->width = dev->fmt.width;
	dst->height = dev->fmt.height;
}

/* A whole frame from the producer, by buffer or by write(): when it came. */
static u64 loopcam_count_frame(struct loopcam_device *dev)
{
	dev->frames++;
	dev->last_frame_ns = ktime_get_ns();
	return dev->last_frame_ns;
}

/* A producer frame, lying in pool buffer @pb if not NULL. */
static void loopcam_produce(struct loopcam_device *dev,
			    struct loopcam_pool_buf *pb, const void *frame,
			    size_t bytes, u64 timestamp_ns)
{
	u64 now = loopcam_count_frame(dev);

	if (dev->grab_placeholder) {
		/* timeout_image_io: this frame becomes the placeholder. */
		dev->grab_placeholder = false;
		loopcam_keep_frame(dev, &dev->placeholder, frame, bytes);
		dev->placeholder_custom = dev->placeholder.bytes != 0;
		return;
	}
	if (pb)
		loopcam_deliver_from(dev, pb, frame, bytes, timestamp_ns, now);
	else
		loopcam_deliver(dev, frame, bytes, timestamp_ns, now);
	if (dev->sustain_framerate)
		loopcam_keep_frame(dev, &dev->staging, frame, bytes);
}

static bool loopcam_frame_matches(const struct loopcam_frame *frame,
				  const struct v4l2_pix_format *pix)
{
	return frame->bytes && frame->fourcc == pix->pixelformat &&
	       frame->width == pix->width && frame->height == pix->height;
}

/* What readers get after the timeout: the custom image, else black. */
static const struct loopcam_frame *loopcam_placeholder(struct loopcam_device *dev)
{
	struct loopcam_frame *ph = &dev->placeholder;

	if (loopcam_frame_matches(ph, &dev->fmt))
		return ph;
	if (loopcam_is_compressed(dev) ||
	    loopcam_frame_reserve(ph, dev->fmt.sizeimage))
		return NULL;
	loopcam_fmt_fill_black(ph->data, &dev->fmt);
	ph->bytes = dev->fmt.sizeimage;
	ph->fourcc = dev->fmt.pixelformat;
	ph->width = dev->fmt.width;
	ph->height = dev->fmt.height;
	dev->placeholder_custom = false;
	return ph;
}

/**
 * loopcam_idle_work() - keep readers fed while the producer is quiet
 * @work: loopcam_device.idle_work.
 *
 * Ticks at the device frame rate, on absolute deadlines so that timer
 * granularity and scheduling delays do not stretch the period. With a
 * timeout, readers get the placeholder once the producer has been silent
 * that long; with sustain_framerate, they get the producer's last frame
 * again whenever it has not sent one for most of an interval.
 */
void loopcam_idle_work(struct work_struct *work)
{
	struct loopcam_device *dev =
		container_of(work, struct loopcam_device, idle_work.work);
	const struct loopcam_frame *frame = NULL;
	u64 now, interval;

	mutex_lock(&dev->lock);
	if (!dev->num_readers || dev->removing ||
	    (!dev->timeout_ms && !dev->sustain_framerate))
		goto unlock;

	now = ktime_get_ns();
	interval = loopcam_frame_interval_ns(dev);
	/* Start afresh when kicked, and never burst to catch up. */
	if (!dev->idle_next_ns || now > dev->idle_next_ns + interval)
		dev->idle_next_ns = now;
	if (now >= dev->idle_next_ns) {
		if (dev->timeout_ms &&
		    now - dev->last_frame_ns >= dev->timeout_ms * NSEC_PER_MSEC)
			frame = loopcam_placeholder(dev);
		else if (dev->producer_active && dev->sustain_framerate &&
			 now - dev->last_delivery_ns >= interval - interval / 4 &&
			 loopcam_frame_matches(&dev->staging, &dev->fmt))
			frame = &dev->staging;
		if (frame)
			loopcam_deliver(dev, frame->data, frame->bytes, 0, now);
		dev->idle_next_ns += interval;
	}
	/* usecs_to_jiffies() rounds up: never wake before the deadline. */
	schedule_delayed_work(&dev->idle_work,
			      usecs_to_jiffies(div_u64(dev->idle_next_ns - now,
						       NSEC_PER_USEC)));
unlock:
	mutex_unlock(&dev->lock);
}

/**
 * loopcam_idle_kick() - (re)start idle pacing if readers need it
 * @dev: the device, locked.
 */
void loopcam_idle_kick(struct loopcam_device *dev)
{
	lockdep_assert_held(&dev->lock);
	if (dev->num_readers && !dev->removing &&
	    (dev->timeout_ms || dev->sustain_framerate)) {
		dev->idle_next_ns = 0;
		mod_delayed_work(system_wq, &dev->idle_work, 0);
	}
}

/**
 * loopcam_source_change() - tell readers the format is not theirs any more
 * @dev: the device, locked.
 * @lfh: the one handle to tell, or NULL for every handle of a node that
 *	has a capture side.
 *
 * Queues V4L2_EVENT_SOURCE_CHANGE (resolution): a subscribed reader then
 * stops streaming, reads the format again and sets up new buffers.
 */
void loopcam_source_change(struct loopcam_device *dev, struct loopcam_fh *lfh)
{
	static const struct v4l2_event ev = {
		.type = V4L2_EVENT_SOURCE_CHANGE,
		.u.src_change.changes = V4L2_EVENT_SRC_CH_RESOLUTION,
	};
	unsigned int i;

	lockdep_assert_held(&dev->lock);
	if (lfh) {
		v4l2_event_queue_fh(&lfh->fh, &ev);
		return;
	}
	for (i = 0; i < dev->num_nodes; i++)
		if (dev->nodes[i].kind != LOOPCAM_NODE_OUTPUT)
			v4l2_event_queue(&dev->nodes[i].vdev, &ev);
}

/**
 * loopcam_notify_readers() - tell subscribers how many readers stream
 * @dev: the device, locked.
 */
void loopcam_notify_readers(struct loopcam_device *dev)
{
	struct v4l2_event ev = { .type = LOOPCAM_EVENT_READERS };
	struct loopcam_event_readers *payload = (void *)ev.u.data;
	unsigned int i;

	lockdep_assert_held(&dev->lock);
	payload->readers = dev->num_readers;
	for (i = 0; i < dev->num_nodes; i++)
		v4l2_event_queue(&dev->nodes[i].vdev, &ev);
	v4l2_ctrl_s_ctrl(dev->ctrl_readers, dev->num_readers);
}

/**
 * loopcam_set_producer_active() - note whether the producer streams
 * @dev: the device, locked.
 * @active: streams now.
 */
void loopcam_set_producer_active(struct loopcam_device *dev, bool active)
{
	if (dev->producer_active == active)
		return;
	dev->producer_active = active;
	if (active)
		dev->format_set = true;
	loopcam_update_caps(dev);
}

/**
 * loopcam_producer_release() - a file handle stops being the producer
 * @lfh: the producer's handle; the device is locked.
 */
void loopcam_producer_release(struct loopcam_fh *lfh)
{
	struct loopcam_device *dev = lfh->dev;

	lockdep_assert_held(&dev->lock);
	if (dev->producer != lfh)
		return;
	lfh->write_streaming = false;
	lfh->write_pos = 0;
	dev->producer = NULL;
	if (!dev->keep_format)
		dev->format_set = false;
	loopcam_set_producer_active(dev, false);
	/* Readers may now need the placeholder. */
	loopcam_idle_kick(dev);
}

/* ---- vb2 operations shared by both sides ---- */

static int loopcam_queue_setup(struct vb2_queue *q, unsigned int *nbuffers,
			       unsigned int *nplanes, unsigned int sizes[],
			       struct device *alloc_devs[])
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(q);
	struct loopcam_device *dev = lfh->dev;
	unsigned int size = dev->fmt.sizeimage;

	/*
	 * A reader's first buffers fix the format it reads: frames of any
	 * other format never land in them, even if the producer changed it
	 * between this and STREAMON (the reader got SOURCE_CHANGE then).
	 */
	if (!loopcam_is_output(q->type) && !vb2_is_busy(q))
		lfh->stream_fmt = dev->fmt;
	if (*nplanes)
		return *nplanes != 1 || sizes[0] < size ? -EINVAL : 0;
	*nplanes = 1;
	sizes[0] = size;
	/* read() emulation asks for one buffer: it gets the whole pool. */
	if (vb2_fileio_is_active(q))
		*nbuffers = loopcam_pool_size(dev);
	*nbuffers = clamp_t(unsigned int, *nbuffers, 1,
			    loopcam_queue_max_buffers(lfh, q->type, q->memory));
	return 0;
}

/**
 * loopcam_queue_max_buffers() - most buffers a queue may have
 * @lfh: the handle.
 * @type: its queue's buffer type.
 * @memory: VB2_MEMORY_* (V4L2_MEMORY_* has the same values).
 *
 * The producer's queue is bounded by max_buffers, and its MMAP buffers are
 * the pool's. A reader may have as many as V4L2 allows: clients such as
 * PipeWire's v4l2 source fail unless they get every buffer they ask for,
 * and a reader's buffers beyond the pool get frames by copy, so they cost
 * the producer nothing.
 *
 * Return: the number.
 */
unsigned int loopcam_queue_max_buffers(struct loopcam_fh *lfh, u32 type,
				       unsigned int memory)
{
	struct loopcam_device *dev = lfh->dev;

	if (!loopcam_is_output(type))
		return LOOPCAM_MAX_BUFFERS;
	return memory == VB2_MEMORY_MMAP ? loopcam_pool_out_size(dev) :
					   dev->cfg.max_buffers;
}

static int loopcam_buf_init(struct vb2_buffer *vb)
{
	struct loopcam_buffer *buf = to_loopcam_buffer(vb);

	INIT_LIST_HEAD(&buf->list);
	buf->pool = loopcam_pool_of(vb);
	buf->holding = false;
	return 0;
}

/* ---- the producer's OUTPUT queue ---- */

static int loopcam_out_buf_prepare(struct vb2_buffer *vb)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(vb->vb2_queue);
	struct loopcam_device *dev = lfh->dev;
	unsigned long payload = vb2_get_plane_payload(vb, 0);

	if (vb2_plane_size(vb, 0) < dev->fmt.sizeimage) {
		lc_dbg(1, dev, "output buffer %u too small: %lu < %u\n",
		       vb->index, vb2_plane_size(vb, 0), dev->fmt.sizeimage);
		return -EINVAL;
	}
	/* Raw frames are whole or rejected: readers never see half a frame. */
	if (!loopcam_is_compressed(dev) && payload < dev->fmt.sizeimage) {
		lc_dbg(1, dev, "output buffer %u: bytesused %lu < frame size %u\n",
		       vb->index, payload, dev->fmt.sizeimage);
		return -EINVAL;
	}
	return 0;
}

static void loopcam_out_complete(struct loopcam_device *dev,
				 struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);
	struct loopcam_buffer *buf = to_loopcam_buffer(vb);
	size_t bytes = vb2_get_plane_payload(vb, 0);
	void *vaddr = vb2_plane_vaddr(vb, 0);

	if (!loopcam_is_compressed(dev))
		bytes = dev->fmt.sizeimage;
	if (!vaddr) {
		vb2_buffer_done(vb, VB2_BUF_STATE_ERROR);
		return;
	}
	loopcam_produce(dev, buf->pool, vaddr, bytes, vb->timestamp);
	vbuf->sequence = dev->out_sequence++;
	vbuf->field = V4L2_FIELD_NONE;
	/* Readers hold the frame: the buffer waits for them. */
	if (buf->pool && buf->pool->held) {
		buf->pool->out_waiting = buf;
		list_add_tail(&buf->list, &dev->out_held);
		return;
	}
	/*
	 * Nobody holds it. QBUF must not report it done, so the ioctl hands
	 * it back once vb2 has told userspace it is queued.
	 */
	list_add_tail(&buf->list, &dev->out_done);
}

/**
 * loopcam_out_return_done() - hand delivered buffers back to the producer
 * @dev: the device, locked.
 *
 * For the QBUF and STREAMON ioctls, after vb2 has filled in their reply:
 * the buffers they delivered that no reader holds are done at once, with
 * no work item to wake and wait for.
 */
void loopcam_out_return_done(struct loopcam_device *dev)
{
	struct loopcam_buffer *buf, *tmp;

	lockdep_assert_held(&dev->lock);
	list_for_each_entry_safe(buf, tmp, &dev->out_done, list) {
		list_del_init(&buf->list);
		vb2_buffer_done(&buf->vb.vb2_buf, VB2_BUF_STATE_DONE);
	}
}

/* The producer may leave the field ANY; frames are always progressive. */
static int loopcam_out_buf_validate(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);

	if (vbuf->field != V4L2_FIELD_ANY && vbuf->field != V4L2_FIELD_NONE)
		return -EINVAL;
	vbuf->field = V4L2_FIELD_NONE;
	return 0;
}

static void loopcam_out_buf_queue(struct vb2_buffer *vb)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(vb->vb2_queue);

	/* Buffers queued before STREAMON wait for start_streaming. */
	if (!vb2_start_streaming_called(vb->vb2_queue)) {
		list_add_tail(&to_loopcam_buffer(vb)->list, &lfh->out_pending);
		return;
	}
	loopcam_out_complete(lfh->dev, vb);
}

static int loopcam_out_start_streaming(struct vb2_queue *q, unsigned int count)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(q);
	struct loopcam_device *dev = lfh->dev;
	struct loopcam_buffer *buf, *tmp;

	dev->out_sequence = 0;
	loopcam_set_producer_active(dev, true);
	list_for_each_entry_safe(buf, tmp, &lfh->out_pending, list) {
		list_del_init(&buf->list);
		loopcam_out_complete(dev, &buf->vb.vb2_buf);
	}
	return 0;
}

static void loopcam_return_bufs(struct list_head *bufs,
				enum vb2_buffer_state state)
{
	struct loopcam_buffer *buf, *tmp;

	list_for_each_entry_safe(buf, tmp, bufs, list) {
		list_del_init(&buf->list);
		vb2_buffer_done(&buf->vb.vb2_buf, state);
	}
}

static void loopcam_out_stop_streaming(struct vb2_queue *q)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(q);
	struct loopcam_device *dev = lfh->dev;
	struct loopcam_buffer *buf;

	loopcam_return_bufs(&lfh->out_pending, VB2_BUF_STATE_ERROR);
	loopcam_out_return_done(dev);
	/*
	 * vb2 needs every buffer back. Readers may still hold frames in
	 * them; a producer that writes its buffers after STREAMOFF changes
	 * those frames, as it would with any driver that shares memory.
	 */
	list_for_each_entry(buf, &dev->out_held, list)
		buf->pool->out_waiting = NULL;
	loopcam_return_bufs(&dev->out_held, VB2_BUF_STATE_DONE);
	if (!lfh->write_streaming)
		loopcam_set_producer_active(dev, false);
}

static const struct vb2_ops loopcam_out_qops = {
	.queue_setup = loopcam_queue_setup,
	.buf_init = loopcam_buf_init,
	.buf_out_validate = loopcam_out_buf_validate,
	.buf_prepare = loopcam_out_buf_prepare,
	.buf_queue = loopcam_out_buf_queue,
	.start_streaming = loopcam_out_start_streaming,
	.stop_streaming = loopcam_out_stop_streaming,
	LOOPCAM_VB2_WAIT_OPS
};

/* ---- a reader's CAPTURE queue ---- */

static int loopcam_cap_buf_prepare(struct vb2_buffer *vb)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(vb->vb2_queue);
	unsigned int need = lfh->stream_fmt.sizeimage;

	if (vb2_plane_size(vb, 0) < need) {
		lc_dbg(1, lfh->dev, "capture buffer %u too small: %lu < %u\n",
		       vb->index, vb2_plane_size(vb, 0), need);
		return -EINVAL;
	}
	return 0;
}

static void loopcam_cap_buf_queue(struct vb2_buffer *vb)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(vb->vb2_queue);
	struct loopcam_buffer *buf = to_loopcam_buffer(vb);

	loopcam_reader_release(lfh, buf);
	list_add_tail(&buf->list, &lfh->cap_ready);
}

static int loopcam_cap_start_streaming(struct vb2_queue *q, unsigned int count)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(q);
	struct loopcam_device *dev = lfh->dev;

	/* Its buffers are for a format the producer has changed since. */
	if (!loopcam_same_frame_format(&lfh->stream_fmt, &dev->fmt))
		loopcam_source_change(dev, lfh);
	lfh->sequence = 0;
	lfh->last_timestamp_ns = 0;
	lfh->received = 0;
	lfh->dropped = 0;
	lfh->id = dev->next_reader_id++;
	list_add_tail(&lfh->reader_entry, &dev->readers);
	dev->num_readers++;
	/* With no producer yet, the timeout counts from now. */
	if (!dev->producer_active)
		dev->last_frame_ns = ktime_get_ns();
	loopcam_notify_readers(dev);
	loopcam_idle_kick(dev);
	return 0;
}

static void loopcam_cap_stop_streaming(struct vb2_queue *q)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(q);
	struct loopcam_device *dev = lfh->dev;
	struct loopcam_buffer *buf, *tmp;

	list_del_init(&lfh->reader_entry);
	dev->num_readers--;
	list_for_each_entry_safe(buf, tmp, &lfh->cap_held, list)
		loopcam_reader_release(lfh, buf);
	loopcam_return_bufs(&lfh->cap_ready, VB2_BUF_STATE_ERROR);
	loopcam_notify_readers(dev);
}

static const struct vb2_ops loopcam_cap_qops = {
	.queue_setup = loopcam_queue_setup,
	.buf_init = loopcam_buf_init,
	.buf_prepare = loopcam_cap_buf_prepare,
	.buf_queue = loopcam_cap_buf_queue,
	.start_streaming = loopcam_cap_start_streaming,
	.stop_streaming = loopcam_cap_stop_streaming,
	LOOPCAM_VB2_WAIT_OPS
};

/**
 * loopcam_queue_init() - set up one of a file handle's vb2 queues
 * @lfh: the handle being opened.
 * @q: &lfh->out_queue or &lfh->cap_queue.
 * @type: V4L2_BUF_TYPE_VIDEO_OUTPUT or V4L2_BUF_TYPE_VIDEO_CAPTURE.
 *
 * Return: 0 or the error of vb2_queue_init().
 */
int loopcam_queue_init(struct loopcam_fh *lfh, struct vb2_queue *q, u32 type)
{
	bool out = loopcam_is_output(type);

	q->type = type;
	/* write() is handled by loopcam_write_frame(), not vb2's emulation. */
	q->io_modes = VB2_MMAP | VB2_USERPTR | VB2_DMABUF | (out ? 0 : VB2_READ);
	q->drv_priv = lfh;
	q->buf_struct_size = sizeof(struct loopcam_buffer);
	q->ops = out ? &loopcam_out_qops : &loopcam_cap_qops;
	q->mem_ops = loopcam_pool_mem_ops();
	q->timestamp_flags = out ? V4L2_BUF_FLAG_TIMESTAMP_COPY :
				   V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
	q->lock = &lfh->lock;
	return vb2_queue_init(q);
}

/*
 * Copy a frame from the producer into pool buffer @pb without the device
 * lock, so that readers dequeue and queue buffers meanwhile. @pb is marked
 * as being filled, so that nobody else writes, holds or binds it, and
 * referenced, so that it outlives a pool change. The device lock is held
 * again on return.
 *
 * Return: 0, -EFAULT, or -EAGAIN when the format changed meanwhile.
 */
static int loopcam_fill_from_user(struct loopcam_device *dev,
				  struct loopcam_pool_buf *pb,
				  const char __user *buf, size_t bytes)
{
	struct v4l2_pix_format fmt = dev->fmt;
	unsigned long left;

	pb->filling = true;
	kref_get(&pb->ref);
	mutex_unlock(&dev->lock);
	left = copy_from_user(pb->vaddr, buf, bytes);
	mutex_lock(&dev->lock);
	pb->filling = false;
	loopcam_pool_buf_put(pb);
	if (left)
		return -EFAULT;
	return loopcam_same_frame_format(&fmt, &dev->fmt) ? 0 : -EAGAIN;
}

/*
 * write() of one whole frame goes straight into pool buffer @pb, which
 * readers share (one copy, whatever their number); NULL: nobody reads.
 * A frame that finds the format changed when it is in is dropped.
 */
static ssize_t loopcam_write_whole(struct loopcam_fh *lfh,
				   struct loopcam_pool_buf *pb,
				   const char __user *buf, size_t bytes)
{
	struct loopcam_device *dev = lfh->dev;
	int ret = 0;
	u64 now;

	loopcam_set_producer_active(dev, true);
	if (pb)
		ret = loopcam_fill_from_user(dev, pb, buf, bytes);
	if (ret == -EFAULT)
		return ret;
	now = loopcam_count_frame(dev);
	if (pb && !ret)
		loopcam_deliver_from(dev, pb, pb->vaddr, bytes, 0, now);
	/* Nothing is kept: sustain_framerate starts from the next frame. */
	dev->staging.bytes = 0;
	dev->out_sequence++;
	return bytes;
}

/**
 * loopcam_write_frame() - take producer data given by write()
 * @lfh: the producer's handle; the device is locked.
 * @buf: user data.
 * @count: its size.
 *
 * Raw formats are assembled until a whole frame has arrived, so a frame
 * may span several write() calls; a compressed frame is one write().
 *
 * Return: bytes consumed, or -EFAULT / -ENOMEM.
 */
ssize_t loopcam_write_frame(struct loopcam_fh *lfh, const char __user *buf,
			    size_t count)
{
	struct loopcam_device *dev = lfh->dev;
	struct loopcam_frame *st = &dev->staging;
	size_t frame = dev->fmt.sizeimage;
	struct loopcam_pool_buf *pb;
	size_t n;

	lockdep_assert_held(&dev->lock);
	if (loopcam_is_compressed(dev))
		frame = min(count, frame);
	/*
	 * A whole frame in one call needs no assembly, and no kept copy
	 * unless it is to become the placeholder or be repeated. It goes
	 * into a free pool buffer, or nowhere when nobody reads.
	 */
	if (!lfh->write_pos && count >= frame && !dev->grab_placeholder &&
	    !dev->sustain_framerate) {
		pb = dev->num_readers ? loopcam_pool_writable(dev, frame) : NULL;
		if (pb || !dev->num_readers)
			return loopcam_write_whole(lfh, pb, buf, frame);
	}

	if (loopcam_frame_reserve(st, frame))
		return -ENOMEM;
	if (lfh->write_pos >= frame)
		lfh->write_pos = 0;
	n = min(count, frame - lfh->write_pos);
	if (copy_from_user(st->data + lfh->write_pos, buf, n))
		return -EFAULT;
	lfh->write_pos += n;
	st->bytes = 0;
	loopcam_set_producer_active(dev, true);
	if (!loopcam_is_compressed(dev) && lfh->write_pos < frame)
		return n;

	frame = lfh->write_pos;
	lfh->write_pos = 0;
	st->fourcc = dev->fmt.pixelformat;
	st->width = dev->fmt.width;
	st->height = dev->fmt.height;
	loopcam_produce(dev, NULL, st->data, frame, 0);
	/* Kept whole for sustain_framerate (loopcam_keep_frame is a no-op copy). */
	st->bytes = frame;
	dev->out_sequence++;
	return n;
}
