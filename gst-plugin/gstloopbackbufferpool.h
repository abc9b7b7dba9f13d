/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GstLoopbackBufferPool: lends loopbacksink's device buffers upstream, so
 * frames the device takes as they are get there with no copy.
 */
#ifndef __GST_LOOPBACK_BUFFER_POOL_H__
#define __GST_LOOPBACK_BUFFER_POOL_H__

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstloopbacksink.h"

G_BEGIN_DECLS

#define GST_TYPE_LOOPBACK_BUFFER_POOL (gst_loopback_buffer_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstLoopbackBufferPool, gst_loopback_buffer_pool, GST,
    LOOPBACK_BUFFER_POOL, GstBufferPool)

GstBufferPool *gst_loopback_buffer_pool_new (GstLoopbackSink * sink);

/* Implemented by the sink (gstloopbacksink.c). */
gboolean gst_loopback_sink_lend_buffer (GstLoopbackSink * sink,
    const GstVideoInfo * info, GstBuffer ** buffer);

G_END_DECLS

#endif /* __GST_LOOPBACK_BUFFER_POOL_H__ */
