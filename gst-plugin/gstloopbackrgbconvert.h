/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GstLoopbackRgbConvert: loopbacksink's one-pass converter from packed
 * 8-bit RGB to the YUV formats cameras carry, at the same size.
 */
#ifndef __GST_LOOPBACK_RGB_CONVERT_H__
#define __GST_LOOPBACK_RGB_CONVERT_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef struct _GstLoopbackRgbConvert GstLoopbackRgbConvert;

GstLoopbackRgbConvert *gst_loopback_rgb_convert_new (const GstVideoInfo * in,
    const GstVideoInfo * out);
void gst_loopback_rgb_convert_frame (const GstLoopbackRgbConvert * convert,
    const GstVideoFrame * in, GstVideoFrame * out);
void gst_loopback_rgb_convert_free (GstLoopbackRgbConvert * convert);

G_END_DECLS

#endif /* __GST_LOOPBACK_RGB_CONVERT_H__ */
