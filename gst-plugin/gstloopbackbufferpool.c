/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GstLoopbackBufferPool: the pool loopbacksink offers upstream when input
 * frames go to the device as they are (same format, size and layout).
 *
 * Each acquired buffer is, when the sink has one free, a device MMAP
 * buffer lent for one frame: upstream renders into it and the sink queues
 * it with no copy. The loan ends when the last reference to the memory
 * goes, wherever that happens. The pool never waits for the device: with
 * no buffer free, it hands out system memory, which the sink copies as it
 * would without the pool. So upstream that holds many buffers (a queue,
 * a decoder's references) can neither starve the device nor deadlock.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstloopbackbufferpool.h"

GST_DEBUG_CATEGORY_EXTERN (loopback_sink_debug);
#define GST_CAT_DEFAULT loopback_sink_debug

struct _GstLoopbackBufferPool
{
  GstBufferPool parent;

  GstLoopbackSink *sink;
  GstVideoInfo info;            /* of the configured caps */
  gboolean video_meta;          /* upstream asked for GstVideoMeta */
};

G_DEFINE_TYPE (GstLoopbackBufferPool, gst_loopback_buffer_pool,
    GST_TYPE_BUFFER_POOL);

static const gchar **
gst_loopback_buffer_pool_get_options (G_GNUC_UNUSED GstBufferPool * pool)
{
  static const gchar *options[] = { GST_BUFFER_POOL_OPTION_VIDEO_META, NULL };

  return options;
}

static gboolean
gst_loopback_buffer_pool_set_config (GstBufferPool * bpool,
    GstStructure * config)
{
  GstLoopbackBufferPool *self = GST_LOOPBACK_BUFFER_POOL (bpool);
  GstCaps *caps = NULL;

  if (!gst_buffer_pool_config_get_params (config, &caps, NULL, NULL, NULL)
      || !caps || !gst_video_info_from_caps (&self->info, caps)) {
    GST_WARNING_OBJECT (self, "no raw video caps in the configuration");
    return FALSE;
  }
  self->video_meta = gst_buffer_pool_config_has_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);
  return GST_BUFFER_POOL_CLASS (gst_loopback_buffer_pool_parent_class)
      ->set_config (bpool, config);
}

/* Nothing to allocate up front: buffers are lent one frame at a time. */
static gboolean
gst_loopback_buffer_pool_start (G_GNUC_UNUSED GstBufferPool * bpool)
{
  return TRUE;
}

static gboolean
gst_loopback_buffer_pool_stop (G_GNUC_UNUSED GstBufferPool * bpool)
{
  return TRUE;
}

static GstFlowReturn
gst_loopback_buffer_pool_acquire_buffer (GstBufferPool * bpool,
    GstBuffer ** buffer, G_GNUC_UNUSED GstBufferPoolAcquireParams * params)
{
  GstLoopbackBufferPool *self = GST_LOOPBACK_BUFFER_POOL (bpool);
  GstVideoInfo *info = &self->info;

  if (GST_BUFFER_POOL_IS_FLUSHING (bpool) || !gst_buffer_pool_is_active (bpool))
    return GST_FLOW_FLUSHING;
  if (!gst_loopback_sink_lend_buffer (self->sink, info, buffer)) {
    GST_LOG_OBJECT (self, "no device buffer free: system memory");
    if (!(*buffer = gst_buffer_new_allocate (NULL, info->size, NULL)))
      return GST_FLOW_ERROR;
  }
  if (self->video_meta)
    gst_buffer_add_video_meta_full (*buffer, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_INFO_FORMAT (info), GST_VIDEO_INFO_WIDTH (info),
        GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_N_PLANES (info),
        info->offset, info->stride);
  return GST_FLOW_OK;
}

/* Not kept: a device buffer's loan ends when its memory goes. */
static void
gst_loopback_buffer_pool_release_buffer (GstBufferPool * bpool,
    GstBuffer * buffer)
{
  GST_BUFFER_POOL_CLASS (gst_loopback_buffer_pool_parent_class)->free_buffer
      (bpool, buffer);
}

static void
gst_loopback_buffer_pool_finalize (GObject * object)
{
  GstLoopbackBufferPool *self = GST_LOOPBACK_BUFFER_POOL (object);

  gst_object_unref (self->sink);
  G_OBJECT_CLASS (gst_loopback_buffer_pool_parent_class)->finalize (object);
}

static void
gst_loopback_buffer_pool_class_init (GstLoopbackBufferPoolClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  object_class->finalize = gst_loopback_buffer_pool_finalize;
  pool_class->get_options = gst_loopback_buffer_pool_get_options;
  pool_class->set_config = gst_loopback_buffer_pool_set_config;
  pool_class->start = gst_loopback_buffer_pool_start;
  pool_class->stop = gst_loopback_buffer_pool_stop;
  pool_class->acquire_buffer = gst_loopback_buffer_pool_acquire_buffer;
  pool_class->release_buffer = gst_loopback_buffer_pool_release_buffer;
}

static void
gst_loopback_buffer_pool_init (G_GNUC_UNUSED GstLoopbackBufferPool * self)
{
}

/**
 * gst_loopback_buffer_pool_new:
 * @sink: the sink whose device buffers the pool lends
 *
 * Returns: (transfer full): a new pool, holding a reference to @sink
 */
GstBufferPool *
gst_loopback_buffer_pool_new (GstLoopbackSink * sink)
{
  GstLoopbackBufferPool *self =
      g_object_new (GST_TYPE_LOOPBACK_BUFFER_POOL, NULL);

  gst_object_ref_sink (self);
  self->sink = gst_object_ref (sink);
  return GST_BUFFER_POOL (self);
}
