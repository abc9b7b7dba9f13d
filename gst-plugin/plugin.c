/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loopcam GStreamer plugin: registers loopbacksink.
 */
#include "gstloopbacksink.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (loopbacksink, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, loopcam,
    "Virtual camera output through the v4l2loopback (loopcam) module",
    plugin_init, LOOPCAM_VERSION, "GPL", "loopcam",
    "loopcam source tree")
