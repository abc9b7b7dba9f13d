/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loopbacksink: a video sink that turns a GStreamer pipeline into a camera
 * served by the v4l2loopback (loopcam) kernel module.
 */
#ifndef __GST_LOOPBACK_SINK_H__
#define __GST_LOOPBACK_SINK_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideosink.h>

G_BEGIN_DECLS

#define GST_TYPE_LOOPBACK_SINK (gst_loopback_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstLoopbackSink, gst_loopback_sink, GST, LOOPBACK_SINK,
    GstVideoSink)

/**
 * GstLoopbackSinkScaleMode:
 * @GST_LOOPBACK_SINK_SCALE_LETTERBOX: keep the picture's aspect ratio and
 *   fill the rest of the device frame with black
 * @GST_LOOPBACK_SINK_SCALE_STRETCH: scale to fill the whole device frame
 *
 * How a picture is fitted into a device frame of another size.
 */
typedef enum
{
  GST_LOOPBACK_SINK_SCALE_LETTERBOX,
  GST_LOOPBACK_SINK_SCALE_STRETCH,
} GstLoopbackSinkScaleMode;

/**
 * GstLoopbackSinkPlaceholder:
 * @GST_LOOPBACK_SINK_PLACEHOLDER_BLACK: a black frame
 * @GST_LOOPBACK_SINK_PLACEHOLDER_LAST_FRAME: the last frame received
 * @GST_LOOPBACK_SINK_PLACEHOLDER_IMAGE: the image in
 *   #GstLoopbackSink:placeholder-image
 *
 * What readers see after EOS and while the element is not PLAYING.
 */
typedef enum
{
  GST_LOOPBACK_SINK_PLACEHOLDER_BLACK,
  GST_LOOPBACK_SINK_PLACEHOLDER_LAST_FRAME,
  GST_LOOPBACK_SINK_PLACEHOLDER_IMAGE,
} GstLoopbackSinkPlaceholder;

/**
 * GstLoopbackSinkIOMode:
 * @GST_LOOPBACK_SINK_IO_AUTO: memory-mapped streaming, write() if the
 *   device cannot stream
 * @GST_LOOPBACK_SINK_IO_MMAP: memory-mapped streaming only
 * @GST_LOOPBACK_SINK_IO_RW: one write() per frame
 *
 * How frames are handed to the device.
 */
typedef enum
{
  GST_LOOPBACK_SINK_IO_AUTO,
  GST_LOOPBACK_SINK_IO_MMAP,
  GST_LOOPBACK_SINK_IO_RW,
} GstLoopbackSinkIOMode;

GST_ELEMENT_REGISTER_DECLARE (loopbacksink);

G_END_DECLS

#endif /* __GST_LOOPBACK_SINK_H__ */
