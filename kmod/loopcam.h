/* SPDX-License-Identifier: GPL-2.0+ */
/*
 * loopcam: V4L2 loopback device on videobuf2 - internal definitions.
 *
 * A device moves frames from one producer to any number of readers. Every
 * open file handle that streams owns a vb2 queue of its own: the producer's
 * OUTPUT queue and one CAPTURE queue per reader. MMAP buffers of all queues
 * share one pool of frame memory (loopcam-pool.c), so a frame usually
 * reaches readers without a copy; a reader only ever dequeues whole frames,
 * and a reader without a free buffer loses that frame for itself alone.
 *
 * Locking: each file handle has a lock of its own (loopcam_fh.lock), which
 * is its vb2 queues' lock and serialises the calls made on that handle.
 * All device state is protected by loopcam_device.lock, always taken after
 * a handle's lock. Every ioctl holds both (loopcam_ioctl()) except DQBUF,
 * which holds only the handle's, as does poll() of a streaming reader, and
 * DQEVENT, which holds neither. So readers dequeue, and sleep in DQBUF,
 * while the producer delivers under the device lock; a handle's own
 * buffers need nothing more. vb2 drops the handle's lock while DQBUF or
 * read() sleeps, and neither sleeps with the device lock held.
 */
#ifndef LOOPCAM_H
#define LOOPCAM_H

#include <linux/init.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-dev.h>
#include <media/v4l2-device.h>
#include <media/v4l2-fh.h>
#include <media/videobuf2-v4l2.h>
#include <linux/v4l2loopback.h>

#include "compat.h"

#define LOOPCAM_MAX_DEVICES 64
#define LOOPCAM_PARAM_DEVICES 8	/* entries of the per-device module parameters */
#define LOOPCAM_MIN_SIZE 2
#define LOOPCAM_MAX_SIZE 16384
#define LOOPCAM_MIN_BUFFERS 2
#define LOOPCAM_MAX_BUFFERS 32
#define LOOPCAM_MAX_OPENERS 1024
#define LOOPCAM_MAX_TIMEOUT_MS 100000
#define LOOPCAM_MIN_FPS_INTERVAL_US 1000	/* 1000 frames/s */
#define LOOPCAM_MAX_FRAME_BYTES (64U << 20)
/* Pool buffers readers have beyond the producer's (loopcam-pool.c). */
#define LOOPCAM_SPARE_POOL_BUFS 2

/* Module parameters (loopcam-main.c); the rest are defaults of a config. */
extern int loopcam_debug;
extern int loopcam_max_buffers;
extern int loopcam_max_openers;
extern int loopcam_max_width;
extern int loopcam_max_height;
extern unsigned int loopcam_max_memory_mb;

#define lc_dbg(level, dev, fmt, arg...)                                       \
	do {                                                                  \
		struct loopcam_device *__lcd = (dev);                         \
		v4l2_dbg(level, max(loopcam_debug, __lcd->cfg.debug),         \
			 &__lcd->v4l2_dev, fmt, ##arg);                       \
	} while (0)

enum loopcam_node_kind {
	LOOPCAM_NODE_COMBINED,	/* one node, OUTPUT and CAPTURE */
	LOOPCAM_NODE_OUTPUT,	/* split mode: the producer's node */
	LOOPCAM_NODE_CAPTURE,	/* split mode: the readers' node */
};

/**
 * struct loopcam_config - how a device is made (module parameters or CTL_ADD)
 * @output_nr: video node number of the output/combined node, -1 = any.
 * @capture_nr: video node number of the capture node (split), -1 = any.
 * @label: card label, NUL-terminated.
 * @split: separate output and capture nodes.
 * @exclusive_caps: combined node advertises one direction at a time.
 * @keep_format: initial value of the keep_format control.
 * @min_width: smallest width accepted.
 * @max_width: largest width accepted.
 * @min_height: smallest height accepted.
 * @max_height: largest height accepted.
 * @max_buffers: buffers per queue.
 * @max_openers: open file handles at once.
 * @max_readers: streaming readers at once.
 * @timeout_ms: initial value of the timeout control.
 * @debug: debug level of this device.
 * @format: format announced before any producer sets one.
 */
struct loopcam_config {
	int output_nr;
	int capture_nr;
	char label[V4L2LOOPBACK_LABEL_LEN];
	bool split;
	bool exclusive_caps;
	bool keep_format;
	u32 min_width, max_width;
	u32 min_height, max_height;
	u32 max_buffers;
	u32 max_openers;
	u32 max_readers;
	u32 timeout_ms;
	int debug;
	struct loopcam_format format;
};

struct loopcam_device;
struct loopcam_buffer;

/**
 * struct loopcam_pool_buf - frame memory shared by a device's queues
 * @ref: the pool's reference and one per vb2 buffer memory using it.
 * @vmem: vb2_vmalloc memory (its mmap and dma-buf export are reused).
 * @vaddr: kernel address of the memory.
 * @size: bytes, page aligned.
 * @out_users: producer buffer memories using it; atomic because a
 *	producer's munmap drops its last use without the device lock.
 * @held: readers holding a frame delivered in it (device lock).
 * @filling: write() copies a frame into it without the device lock.
 * @out_waiting: the producer buffer whose frame it holds, given back to
 *	the producer when @held drops to 0 (device lock).
 */
struct loopcam_pool_buf {
	struct kref ref;
	void *vmem;
	void *vaddr;
	unsigned long size;
	atomic_t out_users;
	unsigned int held;
	bool filling;
	struct loopcam_buffer *out_waiting;
};

/**
 * struct loopcam_node - one video node of a device
 * @vdev: the V4L2 video device.
 * @dev: the device this node belongs to.
 * @kind: what the node does.
 */
struct loopcam_node {
	struct video_device vdev;
	struct loopcam_device *dev;
	enum loopcam_node_kind kind;
};

/**
 * struct loopcam_frame - a frame kept by the device
 * @data: vmalloc'ed bytes.
 * @alloc: size of @data.
 * @bytes: valid bytes; 0 = empty.
 * @fourcc: format the frame is in.
 * @width: width the frame is in.
 * @height: height the frame is in.
 */
struct loopcam_frame {
	void *data;
	size_t alloc;
	size_t bytes;
	u32 fourcc;
	u32 width;
	u32 height;
};

/**
 * struct loopcam_device - one loopback device (one or two nodes)
 * @v4l2_dev: V4L2 device; its refcount keeps this struct alive.
 * @nodes: [0] combined or output node, [1] capture node in split mode.
 * @num_nodes: 1 or 2.
 * @list: entry in the module's device list.
 * @lock: protects everything below and every vb2 queue of the device.
 * @cfg: how the device was made.
 * @ctrl_handler: controls shared by the nodes.
 * @ctrl_keep_format: keep_format control.
 * @ctrl_sustain: sustain_framerate control.
 * @ctrl_timeout: timeout control (ms).
 * @ctrl_timeout_image_io: timeout_image_io button.
 * @ctrl_readers: read-only count of streaming readers.
 * @keep_format: value of keep_format.
 * @sustain_framerate: value of sustain_framerate.
 * @timeout_ms: value of timeout.
 * @fmt: the format readers receive (announced or set by the producer).
 * @timeperframe: frame interval.
 * @format_set: a producer set @fmt by S_FMT or by streaming (it is no
 *	longer just announced); kept after it leaves only with keep_format.
 * @format_chosen: @fmt was configured, not just a rate (module parameter,
 *	control device or sysfs). sysfs "format" shows @fmt when it was
 *	chosen or a producer owns it (@format_set) and reads empty otherwise,
 *	as v4l2loopback's does before a format is negotiated:
 *	v4l2loopback-ctl 0.12's set-caps and loopbacksink rely on that.
 * @openers: open file handles on all nodes.
 * @producer: file handle that owns the OUTPUT side, or NULL.
 * @producer_active: the producer streams (STREAMON or write()).
 * @reader_slots: handles holding capture buffers (at most max_readers).
 * @readers: streaming readers (struct loopcam_fh.reader_entry).
 * @num_readers: entries in @readers.
 * @next_reader_id: id given to the next reader, shown in sysfs.
 * @out_sequence: sequence of the next frame from the producer.
 * @frames: frames received from the producer since load.
 * @last_frame_ns: when the producer last sent a frame.
 * @last_delivery_ns: when readers were last offered a frame.
 * @staging: frame being assembled from write() calls; also the last
 *	frame, repeated when sustain_framerate is on.
 * @placeholder: what idle readers get after the timeout.
 * @placeholder_custom: @placeholder was set through timeout_image_io.
 * @grab_placeholder: the next producer frame becomes the placeholder.
 * @idle_work: paces placeholder and sustained frames.
 * @idle_next_ns: when @idle_work next offers a frame; 0 = now.
 * @caps_work: tells udev that an exclusive-caps node changed direction.
 * @out_done: producer buffers delivered during QBUF or STREAMON, handed
 *	back when vb2 has replied (QBUF must never return a done buffer).
 * @out_held: producer buffers delivered without a copy, waiting for
 *	readers to give their frames back (loopcam_pool_buf.out_waiting).
 * @pool: frame memory shared by the queues (loopcam-pool.c).
 * @pool_next: the pool buffer the device fills next.
 * @removing: being removed; open() fails.
 */
struct loopcam_device {
	struct v4l2_device v4l2_dev;
	struct loopcam_node nodes[2];
	unsigned int num_nodes;
	struct list_head list;
	struct mutex lock; /* see the comment at the top of this file */
	struct loopcam_config cfg;

	struct v4l2_ctrl_handler ctrl_handler;
	struct v4l2_ctrl *ctrl_keep_format;
	struct v4l2_ctrl *ctrl_sustain;
	struct v4l2_ctrl *ctrl_timeout;
	struct v4l2_ctrl *ctrl_timeout_image_io;
	struct v4l2_ctrl *ctrl_readers;
	bool keep_format;
	bool sustain_framerate;
	u32 timeout_ms;

	struct v4l2_pix_format fmt;
	struct v4l2_fract timeperframe;
	bool format_set;
	bool format_chosen;

	unsigned int openers;
	struct loopcam_fh *producer;
	bool producer_active;
	unsigned int reader_slots;
	struct list_head readers;
	unsigned int num_readers;
	unsigned int next_reader_id;

	u32 out_sequence;
	u64 frames;
	u64 last_frame_ns;
	u64 last_delivery_ns;
	struct loopcam_frame staging;
	struct loopcam_frame placeholder;
	bool placeholder_custom;
	bool grab_placeholder;
	struct delayed_work idle_work;
	u64 idle_next_ns;
	struct work_struct caps_work;
	struct list_head out_done;
	struct list_head out_held;
	struct loopcam_pool_buf *pool[LOOPCAM_MAX_BUFFERS];
	unsigned int pool_next;
	bool removing;
};

/**
 * struct loopcam_fh - an open file handle
 * @fh: V4L2 file handle (events, priority).
 * @lock: serialises calls on this handle; the lock of its vb2 queues.
 * @dev: the device.
 * @node: the node it was opened on.
 * @out_queue: OUTPUT queue (not on a capture node); buffers on it make
 *	the handle the producer.
 * @cap_queue: CAPTURE queue (not on an output node); buffers on it make
 *	the handle a reader.
 * @out_pending: producer buffers queued before STREAMON.
 * @write_streaming: producer streams through write() (STREAMON without
 *	buffers, as OBS does, or a first write()).
 * @write_pos: bytes of the current frame received through write().
 * @out_buffers_used: REQBUFS/CREATE_BUFS was called on @out_queue, so
 *	STREAMON follows vb2's rules instead of starting write() streaming.
 * @out_format_set: this handle set the OUTPUT format (S_FMT).
 * @reader_slot: holds one of the device's reader slots (has capture
 *	buffers or is about to allocate them).
 * @reader_entry: entry in loopcam_device.readers while streaming.
 * @cap_ready: reader buffers waiting for a frame.
 * @cap_held: reader buffers holding a frame in a pool buffer, from
 *	delivery until they are queued again.
 * @held: entries in @cap_held.
 * @held_out: entries in @cap_held holding a producer's buffer.
 * @id: reader id shown in sysfs.
 * @sequence: reader: sequence of the next frame offered.
 * @received: reader: frames received while streaming.
 * @dropped: reader: frames lost because no buffer was free or the format
 *	changed under the reader.
 * @stream_fmt: reader: the format its buffers were set up for.
 * @last_timestamp_ns: reader: timestamp of the last frame it got.
 */
struct loopcam_fh {
	struct v4l2_fh fh;
	struct mutex lock; /* taken before loopcam_device.lock */
	struct loopcam_device *dev;
	struct loopcam_node *node;
	struct vb2_queue out_queue;
	struct vb2_queue cap_queue;
	struct list_head out_pending;
	bool write_streaming;
	size_t write_pos;
	bool out_buffers_used;
	bool out_format_set;
	bool reader_slot;

	struct list_head reader_entry;
	struct list_head cap_ready;
	struct list_head cap_held;
	unsigned int held;
	unsigned int held_out;
	unsigned int id;
	u32 sequence;
	u64 received;
	u64 dropped;
	struct v4l2_pix_format stream_fmt;
	u64 last_timestamp_ns;
};

/**
 * struct loopcam_buffer - a vb2 buffer of a loopcam queue
 * @vb: the vb2 buffer.
 * @list: entry in loopcam_fh.cap_ready or .out_pending while queued, in
 *	loopcam_fh.cap_held while holding a frame, or in
 *	loopcam_device.out_done or .out_held once delivered.
 * @pool: the pool buffer its memory is, or NULL.
 * @holding: a reader buffer holding the frame in @pool.
 * @holding_out: ... and @pool was the producer's when the frame came.
 */
struct loopcam_buffer {
	struct vb2_v4l2_buffer vb;
	struct list_head list;
	struct loopcam_pool_buf *pool;
	bool holding;
	bool holding_out;
};

static inline struct loopcam_fh *to_loopcam_fh(struct file *file)
{
	return container_of(file->private_data, struct loopcam_fh, fh);
}

static inline struct loopcam_buffer *to_loopcam_buffer(struct vb2_buffer *vb)
{
	return container_of(to_vb2_v4l2_buffer(vb), struct loopcam_buffer, vb);
}

/* loopcam-fmt.c */
/**
 * struct loopcam_fmt_info - a pixel format the device carries
 * @fourcc: V4L2_PIX_FMT_* code.
 * @bpp: bytes per pixel of the first plane (packed formats: of the frame).
 * @hsub: horizontal chroma subsampling (1 or 2).
 * @vsub: vertical chroma subsampling of the chroma planes (1 or 2).
 * @chroma_planes: 0 packed, 1 interleaved chroma plane, 2 chroma planes.
 * @compressed: variable-size compressed frames.
 * @yuv: Y'CbCr (for the colorspace and the black placeholder).
 */
struct loopcam_fmt_info {
	u32 fourcc;
	u8 bpp;
	u8 hsub;
	u8 vsub;
	u8 chroma_planes;
	bool compressed;
	bool yuv;
};

const struct loopcam_fmt_info *loopcam_fmt_find(u32 fourcc);
const struct loopcam_fmt_info *loopcam_fmt_by_index(unsigned int index);
void loopcam_fmt_fill(struct v4l2_pix_format *pix,
		      const struct loopcam_fmt_info *info);
void loopcam_fmt_fill_black(void *data, const struct v4l2_pix_format *pix);
int loopcam_fmt_parse(const char *str, struct loopcam_format *out);
int loopcam_fmt_print(char *buf, size_t size, const struct v4l2_pix_format *pix,
		      const struct v4l2_fract *timeperframe);

/* loopcam-device.c */
struct loopcam_device *loopcam_device_create(const struct loopcam_config *cfg);
int loopcam_device_destroy(struct loopcam_device *dev);
void loopcam_config_defaults(struct loopcam_config *cfg);
int loopcam_config_check(const struct loopcam_config *cfg);
void loopcam_update_caps(struct loopcam_device *dev);
int loopcam_set_announced_format(struct loopcam_device *dev,
				 const struct loopcam_format *f);
int loopcam_frame_reserve(struct loopcam_frame *frame, size_t bytes);
void loopcam_frame_free(struct loopcam_frame *frame);

/* loopcam-pool.c */
void __init loopcam_pool_init(void);
const struct vb2_mem_ops *loopcam_pool_mem_ops(void);
unsigned int loopcam_pool_size(const struct loopcam_device *dev);
unsigned int loopcam_pool_out_size(const struct loopcam_device *dev);
bool loopcam_pool_buf_writable(const struct loopcam_pool_buf *pb,
			       size_t bytes);
struct loopcam_pool_buf *loopcam_pool_writable(struct loopcam_device *dev,
					       size_t bytes);
struct loopcam_pool_buf *loopcam_pool_of(struct vb2_buffer *vb);
void loopcam_pool_buf_put(struct loopcam_pool_buf *pb);
bool loopcam_memory_charge(unsigned long size);
void loopcam_memory_uncharge(unsigned long size);
void loopcam_pool_trim(struct loopcam_device *dev);
void loopcam_pool_free(struct loopcam_device *dev);

/* loopcam-main.c: the module's device list */
struct loopcam_device *loopcam_find_device(int nr);
int loopcam_add_device(const struct loopcam_config *cfg,
		       struct loopcam_device **out);
int loopcam_remove_device(int nr);
extern struct mutex loopcam_devices_lock;
extern struct list_head loopcam_devices;

/* loopcam-queue.c */
int loopcam_queue_init(struct loopcam_fh *lfh, struct vb2_queue *q, u32 type);
unsigned int loopcam_queue_max_buffers(struct loopcam_fh *lfh, u32 type,
				       unsigned int memory);
void loopcam_set_producer_active(struct loopcam_device *dev, bool active);
ssize_t loopcam_write_frame(struct loopcam_fh *lfh, const char __user *buf,
			    size_t count);
void loopcam_producer_release(struct loopcam_fh *lfh);
void loopcam_idle_kick(struct loopcam_device *dev);
void loopcam_idle_work(struct work_struct *work);
void loopcam_out_return_done(struct loopcam_device *dev);
void loopcam_notify_readers(struct loopcam_device *dev);
void loopcam_source_change(struct loopcam_device *dev, struct loopcam_fh *lfh);

/* loopcam-ioctl.c */
extern const struct v4l2_ioctl_ops loopcam_ioctl_ops;
extern const struct v4l2_file_operations loopcam_fops;

/* loopcam-ctrls.c */
int loopcam_ctrls_init(struct loopcam_device *dev);

/* loopcam-sysfs.c */
extern const struct attribute_group *loopcam_node_groups[];

/* loopcam-ctl.c */
int loopcam_ctl_register(void);
void loopcam_ctl_unregister(void);

static inline bool loopcam_is_output(u32 type)
{
	return type == V4L2_BUF_TYPE_VIDEO_OUTPUT;
}

static inline u64 loopcam_frame_interval_ns(const struct loopcam_device *dev)
{
	return div_u64((u64)dev->timeperframe.numerator * NSEC_PER_SEC,
		       dev->timeperframe.denominator);
}

#endif /* LOOPCAM_H */
