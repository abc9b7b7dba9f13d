// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host tests of the loopbacksink element (gst-plugin/) with gst-check's
 * GstHarness, against tests/unit/fakev4l2.so preloaded as the device:
 * device selection and errors, device format choice for many inputs, a
 * format announced on the device honoured (letterbox, stretch), copying
 * without conversion when the input matches, rendering in place into
 * device buffers lent through the offered pool, renegotiation, and the
 * keep-alive on a GstTestClock (last frame repeated after a stall,
 * placeholder after EOS and while PAUSED).
 *
 * The fake logs what the device saw (FAKE_V4L2_LOG) and keeps the last
 * frame (FAKE_V4L2_DUMP); sysfs and the control device are redirected with
 * LOOPCAM_SYSFS, LOOPCAM_DEV_DIR and LOOPCAM_CONTROL_DEVICE.
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gst/allocators/gstdmabuf.h>
#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The caps most tests feed: small, and a format the device takes as is. */
#define I420_64X48 \
  "video/x-raw, format=I420, width=64, height=48, framerate=30/1"

static gchar *tmp_dir;
static pid_t tmp_owner;         /* check forks: only the parent cleans up */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static gchar *
tmp_path (const gchar * name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A fresh device: empty log, no dump, no sysfs, FAKE_V4L2_FMT as given. */
static void
fresh_device (const gchar * fake_fmt)
{
  gchar *log = tmp_path ("log"), *dump = tmp_path ("dump");
  gchar *cmd;

  g_remove (log);
  g_remove (dump);
  cmd = g_strdup_printf ("rm -rf '%s/sys'", tmp_dir);
  fail_unless (system (cmd) == 0);
  g_free (cmd);
  g_setenv ("FAKE_V4L2_LOG", log, TRUE);
  g_setenv ("FAKE_V4L2_DUMP", dump, TRUE);
  g_setenv ("FAKE_V4L2_FMT", fake_fmt ? fake_fmt : "YUYV:640x480", TRUE);
  g_unsetenv ("FAKE_V4L2_BUSY");
  g_unsetenv ("FAKE_V4L2_NO_MMAP");
  g_setenv ("LOOPCAM_SYSFS", tmp_dir, TRUE);  /* no class/ in it yet */
  g_setenv ("LOOPCAM_CONTROL_DEVICE", "/nonexistent/v4l2loopback", TRUE);
  g_setenv ("LOOPCAM_DEV_DIR", "/fake", TRUE);
  g_free (log);
  g_free (dump);
}

/* A sysfs attribute of a fake node, e.g. ("output0", "format", "..."). */
static void
sysfs_attr (const gchar * node, const gchar * attr, const gchar * value)
{
  gchar *dir = g_build_filename (tmp_dir, "sys", "class", "video4linux",
      node, NULL);
  gchar *file = g_build_filename (dir, attr, NULL);

  g_setenv ("LOOPCAM_SYSFS", tmp_dir, TRUE);
  fail_unless (g_mkdir_with_parents (dir, 0755) == 0);
  fail_unless (g_file_set_contents (file, value, -1, NULL));
  g_free (file);
  g_free (dir);
  /* LOOPCAM_SYSFS is the root: class/video4linux sits under sys/ */
  file = g_build_filename (tmp_dir, "sys", NULL);
  g_setenv ("LOOPCAM_SYSFS", file, TRUE);
  g_free (file);
}

static gchar **
log_lines (void)
{
  gchar *log = tmp_path ("log"), *text = NULL;
  gchar **lines;

  if (!g_file_get_contents (log, &text, NULL, NULL))
    text = g_strdup ("");
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  g_free (log);
  return lines;
}

/* Frames the device received. */
static guint
frames_received (void)
{
  gchar **lines = log_lines ();
  guint n = 0;

  for (gchar ** l = lines; *l; l++)
    n += strstr (*l, " frame ") != NULL;
  g_strfreev (lines);
  return n;
}

/* Waits (real time) until the device has received @n frames. */
static gboolean
wait_frames (guint n)
{
  gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (frames_received () < n && g_get_monotonic_time () < until)
    g_usleep (1000);
  return frames_received () >= n;
}

/* Frames the device received whose log line contains @what. */
static guint
frames_in_buffer (const gchar * what)
{
  gchar **lines = log_lines ();
  guint n = 0;

  for (gchar ** l = lines; *l; l++)
    n += strstr (*l, " frame ") && strstr (*l, what);
  g_strfreev (lines);
  return n;
}

/* Does the log have a line containing @what? */
static gboolean
log_has (const gchar * what)
{
  gchar **lines = log_lines ();
  gboolean found = FALSE;

  for (gchar ** l = lines; *l && !found; l++)
    found = strstr (*l, what) != NULL;
  g_strfreev (lines);
  return found;
}

/* The log events (second word on), joined by ", ", frames left out. */
static gchar *
log_events (void)
{
  gchar **lines = log_lines ();
  GString *s = g_string_new (NULL);

  for (gchar ** l = lines; *l; l++) {
    const gchar *ev = strchr (*l, ' ');

    if (!ev || strstr (*l, " frame "))
      continue;
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", ev + 1);
  }
  g_strfreev (lines);
  return g_string_free (s, FALSE);
}

static GBytes *
last_frame (void)
{
  gchar *dump = tmp_path ("dump"), *data = NULL;
  gsize len = 0;

  g_file_get_contents (dump, &data, &len, NULL);
  g_free (dump);
  return g_bytes_new_take (data, len);
}

/* A frame of @caps, every byte of plane p set to fill[p]. */
static GstBuffer *
make_frame (const gchar * caps_str, const guint8 fill[4])
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buf;

  fail_unless (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame); p++) {
    guint comp = 0;

    /* the plane's rows: those of its first component */
    while (GST_VIDEO_FORMAT_INFO_PLANE (info.finfo, comp) != p)
      comp++;
    memset (GST_VIDEO_FRAME_PLANE_DATA (&frame, p), fill[p],
        (gsize) GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p) *
        GST_VIDEO_FRAME_COMP_HEIGHT (&frame, comp));
  }
  gst_video_frame_unmap (&frame);
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

/* A harness around loopbacksink with a bus for its messages. */
static GstHarness *
start (const gchar * props, GstBus ** bus)
{
  gchar *launch = g_strdup_printf ("loopbacksink %s", props);
  GstElement *sink = gst_parse_launch (launch, NULL);
  GstHarness *h;

  /* The element itself (not a bin around it): it gets the test clock. */
  fail_unless (GST_IS_BASE_SINK (sink), "%s", launch);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_object_unref (sink);
  g_free (launch);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  return h;
}

/*
 * The last element message called @name on the bus (NULL if none); the
 * bus's other element messages are dropped.
 */
static GstStructure *
element_message (GstBus * bus, const gchar * name)
{
  GstStructure *found = NULL;
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);

    if (gst_structure_has_name (s, name)) {
      if (found)
        gst_structure_free (found);
      found = gst_structure_copy (s);
    }
    gst_message_unref (m);
  }
  return found;
}

static GstStructure *
format_message (GstBus * bus)
{
  return element_message (bus, "loopbacksink-format");
}

static GError *
error_message (GstBus * bus)
{
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  GError *err = NULL;

  if (m) {
    gst_message_parse_error (m, &err, NULL);
    gst_message_unref (m);
  }
  return err;
}

static void
finish (GstHarness * h, GstBus * bus)
{
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* ------------------------------------------------------------------------ */
/* Device format choice                                                     */

static const struct
{
  const gchar *format;
  gint width, height;
  const gchar *device;          /* s_fmt in the device log */
  const gchar *conversion;
  guint frame_size;
} choices[] = {
  {"I420", 64, 48, "YU12 64x48", "none", 64 * 48 * 3 / 2},
  {"NV12", 64, 48, "NV12 64x48", "none", 64 * 48 * 3 / 2},
  {"YUY2", 64, 48, "YUYV 64x48", "none", 64 * 48 * 2},
  {"I420", 66, 48, "YU12 66x48", "copy", 66 * 48 + 2 * 33 * 24},
  {"YV12", 64, 48, "YU12 64x48", "convert", 64 * 48 * 3 / 2},
  {"NV21", 64, 48, "NV12 64x48", "convert", 64 * 48 * 3 / 2},
  {"UYVY", 64, 48, "YUYV 64x48", "convert", 64 * 48 * 2},
  {"Y42B", 64, 48, "YUYV 64x48", "convert", 64 * 48 * 2},
  {"Y444", 64, 48, "YU12 64x48", "convert", 64 * 48 * 3 / 2},
  {"RGB", 64, 48, "YU12 64x48", "convert", 64 * 48 * 3 / 2},
  {"BGRx", 64, 48, "YU12 64x48", "convert", 64 * 48 * 3 / 2},
  {"GRAY8", 64, 48, "YU12 64x48", "convert", 64 * 48 * 3 / 2},
  {"I420_10LE", 64, 48, "YU12 64x48", "convert", 64 * 48 * 3 / 2},
  {"I420", 33, 17, "YU12 34x18", "convert", 34 * 18 + 2 * 17 * 9},
};

GST_START_TEST (test_format_choice)
{
  for (guint i = 0; i < G_N_ELEMENTS (choices); i++) {
    static const guint8 fill[4] = { 0x80, 0x80, 0x80, 0x80 };
    gchar *caps = g_strdup_printf ("video/x-raw, format=%s, width=%d, "
        "height=%d, framerate=30/1", choices[i].format, choices[i].width,
        choices[i].height);
    gchar *sfmt = g_strdup_printf ("s_fmt %s ", choices[i].device);
    gchar *bytes = g_strdup_printf ("bytes=%u", choices[i].frame_size);
    GstStructure *msg;
    GstHarness *h;
    GstBus *bus;

    fresh_device (NULL);
    h = start ("device=/fake/output0 sync=false", &bus);
    gst_harness_set_src_caps_str (h, caps);
    fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
        GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
        GST_FLOW_OK);

    msg = format_message (bus);
    fail_unless (msg != NULL, "no loopbacksink-format message for %s", caps);
    fail_unless (log_has (sfmt), "%s: device got %s, want %s", caps,
        log_events (), sfmt);
    fail_unless_equals_string (gst_structure_get_string (msg, "conversion"),
        choices[i].conversion);
    fail_unless (wait_frames (2));
    fail_unless (log_has (bytes), "%s: frames are not %s", caps, bytes);
    g_print ("# checked: %s %dx%d -> device %s, conversion %s, frames of %u "
        "bytes\n", choices[i].format, choices[i].width, choices[i].height,
        choices[i].device, choices[i].conversion, choices[i].frame_size);
    gst_structure_free (msg);
    finish (h, bus);
    g_free (caps);
    g_free (sfmt);
    g_free (bytes);
  }
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Passthrough: matching input reaches the device byte for byte             */

GST_START_TEST (test_passthrough_content)
{
  const gchar *caps = I420_64X48;
  const gchar *modes[] = { "mmap", "rw" };

  for (guint m = 0; m < G_N_ELEMENTS (modes); m++) {
    gchar *props = g_strdup_printf ("device=/fake/output0 sync=false "
        "io-mode=%s", modes[m]);
    GstHarness *h;
    GstBus *bus;
    GstBuffer *buf;
    GstMapInfo map;
    GstStructure *msg;
    GBytes *out;

    fresh_device (NULL);
    h = start (props, &bus);
    gst_harness_set_src_caps_str (h, caps);
    buf = gst_buffer_new_allocate (NULL, 64 * 48 * 3 / 2, NULL);
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < map.size; i++)
      map.data[i] = (guint8) (i * 7 + i / 64);
    gst_buffer_unmap (buf, &map);
    gst_buffer_ref (buf);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    fail_unless (wait_frames (1));

    msg = format_message (bus);
    fail_unless_equals_string (gst_structure_get_string (msg, "conversion"),
        "none");
    fail_unless_equals_string (gst_structure_get_string (msg, "io-mode"),
        modes[m]);
    out = last_frame ();
    gst_buffer_map (buf, &map, GST_MAP_READ);
    fail_unless_equals_int (g_bytes_get_size (out), map.size);
    fail_unless (memcmp (g_bytes_get_data (out, NULL), map.data,
            map.size) == 0, "device frame differs from the input");
    gst_buffer_unmap (buf, &map);
    fail_unless (log_has ("reqbufs 6") == (m == 0),
        "io-mode=%s: device events: %s", modes[m], log_events ());
    g_print ("# checked: io-mode=%s: I420 input equal to the device format "
        "arrives byte for byte, no conversion\n", modes[m]);
    if (m == 0) {
      /*
       * The fake device is done with a frame at once, like the module with
       * readers that keep up: buffer 0 is free again for every frame, and
       * the element uses it rather than taking its 6 buffers in turn.
       */
      for (guint i = 0; i < 9; i++)
        fail_unless_equals_int (gst_harness_push (h, gst_buffer_copy (buf)),
            GST_FLOW_OK);
      fail_unless (wait_frames (10));
      fail_unless_equals_int (frames_in_buffer (" buffer="), 10);
      fail_unless_equals_int (frames_in_buffer (" buffer=0"), 10);
      g_print ("# checked: io-mode=mmap: 10 of 10 frames queued in buffer 0, "
          "the lowest free one, of the 6\n");
    }
    gst_buffer_unref (buf);
    g_bytes_unref (out);
    gst_structure_free (msg);
    finish (h, bus);
    g_free (props);
  }
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* A format announced on the device is honoured                             */

/* Y of pixel (x, y) and U of chroma sample (x, y) in an I420 frame. */
static guint8
y_at (GBytes * f, gint w, gint x, gint y)
{
  return ((const guint8 *) g_bytes_get_data (f, NULL))[y * w + x];
}

static guint8
u_at (GBytes * f, gint w, gint h, gint x, gint y)
{
  return ((const guint8 *) g_bytes_get_data (f, NULL))[w * h + y * (w / 2) +
      x];
}

static void
check_fixed (const gchar * device_fmt, const gchar * scale_mode,
    const gchar * in_size, gint dx, gint dy, gint dw, gint dh)
{
  static const guint8 fill[4] = { 200, 90, 160, 0 };
  gchar *props = g_strdup_printf ("device=/fake/output0 sync=false "
      "scale-mode=%s", scale_mode);
  gchar *caps = g_strdup_printf ("video/x-raw, format=I420, %s, "
      "framerate=30/1, pixel-aspect-ratio=1/1", in_size);
  gchar *sysfs = g_strdup_printf ("%s@30\n", device_fmt);
  gint w, h, x, y, bad = 0;
  GstStructure *msg;
  GstHarness *hn;
  GstBus *bus;
  GBytes *out;
  gboolean fixed = FALSE;

  fresh_device (device_fmt);
  sysfs_attr ("output0", "format", sysfs);
  hn = start (props, &bus);
  gst_harness_set_src_caps_str (hn, caps);
  fail_unless_equals_int (gst_harness_push (hn, make_frame (caps, fill)),
      GST_FLOW_OK);
  fail_unless (wait_frames (1));

  msg = format_message (bus);
  fail_unless (msg != NULL);
  gst_structure_get_boolean (msg, "fixed", &fixed);
  fail_unless (fixed, "the announced format was not taken as fixed");
  gst_structure_get_int (msg, "dest-x", &x);
  gst_structure_get_int (msg, "dest-y", &y);
  gst_structure_get (msg, "width", G_TYPE_UINT, &w, "height", G_TYPE_UINT, &h,
      NULL);
  fail_unless_equals_string (gst_structure_get_string (msg, "fourcc"), "YU12");
  fail_unless_equals_string (gst_structure_get_string (msg, "conversion"),
      "convert");
  fail_unless_equals_int (x, dx);
  fail_unless_equals_int (y, dy);

  /* Every pixel: picture inside the rectangle, black outside. */
  out = last_frame ();
  fail_unless_equals_int (g_bytes_get_size (out), w * h * 3 / 2);
  for (gint py = 0; py < h; py++)
    for (gint px = 0; px < w; px++) {
      gboolean in = px >= dx && px < dx + dw && py >= dy && py < dy + dh;
      guint8 want = in ? 200 : 16, got = y_at (out, w, px, py);

      if (got != want && bad++ < 5)
        g_print ("#   Y(%d,%d) = %u, want %u\n", px, py, got, want);
    }
  for (gint py = 0; py < h / 2; py++)
    for (gint px = 0; px < w / 2; px++) {
      gboolean in = px >= dx / 2 && px < (dx + dw) / 2 && py >= dy / 2
          && py < (dy + dh) / 2;
      guint8 want = in ? 90 : 128, got = u_at (out, w, h, px, py);

      if (got != want && bad++ < 10)
        g_print ("#   U(%d,%d) = %u, want %u\n", px, py, got, want);
    }
  fail_unless (bad == 0, "%d wrong samples", bad);
  fail_if (log_has ("s_fmt YUYV"), "the device format was changed");
  g_print ("# checked: device fixed to %s, %s, input %s: picture at "
      "(%d,%d) %dx%d, black around it, every sample\n", device_fmt,
      scale_mode, in_size, dx, dy, dw, dh);
  g_bytes_unref (out);
  gst_structure_free (msg);
  finish (hn, bus);
  g_free (props);
  g_free (caps);
  g_free (sysfs);
}

GST_START_TEST (test_announced_format)
{
  /* 4:3 into a wide frame: pillarbox; into a tall one: letterbox. */
  check_fixed ("YU12:96x48", "letterbox", "width=64, height=48",
      16, 0, 64, 48);
  check_fixed ("YU12:64x64", "letterbox", "width=64, height=48",
      0, 8, 64, 48);
  check_fixed ("YU12:64x48", "letterbox", "width=64, height=24",
      0, 12, 64, 24);
  check_fixed ("YU12:96x48", "stretch", "width=64, height=48",
      0, 0, 96, 48);
  /* Same format and size as the input, still converted to be exact. */
  check_fixed ("YU12:64x48", "letterbox", "width=32, height=24",
      0, 0, 64, 48);
}

GST_END_TEST;

GST_START_TEST (test_announced_caps)
{
  GstHarness *h;
  GstBus *bus;
  GstCaps *caps;
  gchar *str;

  /* Free device: raw, JPEG and H.264 accepted. */
  fresh_device (NULL);
  h = start ("device=/fake/output0", &bus);
  caps = gst_pad_peer_query_caps (h->srcpad, NULL);
  str = gst_caps_to_string (caps);
  fail_unless (strstr (str, "video/x-raw") && strstr (str, "image/jpeg")
      && strstr (str, "video/x-h264"), "free device caps: %s", str);
  g_print ("# checked: a free device takes raw video, JPEG and H.264\n");
  g_free (str);
  gst_caps_unref (caps);
  finish (h, bus);

  /* Raw format announced: any raw input (converted), nothing compressed. */
  fresh_device ("NV12:64x48");
  sysfs_attr ("output0", "format", "NV12:64x48@30\n");
  h = start ("device=/fake/output0", &bus);
  caps = gst_pad_peer_query_caps (h->srcpad, NULL);
  str = gst_caps_to_string (caps);
  fail_unless (strstr (str, "video/x-raw") && !strstr (str, "image/jpeg"),
      "raw-fixed device caps: %s", str);
  g_print ("# checked: a device fixed to NV12 takes raw video only\n");
  g_free (str);
  gst_caps_unref (caps);
  finish (h, bus);

  /* MJPEG announced: exactly that JPEG size, no raw video. */
  fresh_device ("MJPEG:64x48");
  sysfs_attr ("output0", "format", "MJPG:64x48@30\n");
  h = start ("device=/fake/output0", &bus);
  caps = gst_pad_peer_query_caps (h->srcpad, NULL);
  str = gst_caps_to_string (caps);
  fail_unless (!strstr (str, "video/x-raw") && strstr (str, "image/jpeg")
      && strstr (str, "width=(int)64") && strstr (str, "height=(int)48"),
      "MJPEG-fixed device caps: %s", str);
  g_print ("# checked: a device fixed to MJPEG 64x48 takes image/jpeg "
      "64x48 only\n");
  g_free (str);
  gst_caps_unref (caps);
  finish (h, bus);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Compressed input passes through                                          */

GST_START_TEST (test_jpeg_passthrough)
{
  const gchar *caps = "image/jpeg, width=64, height=48, framerate=30/1";
  GstHarness *h;
  GstBus *bus;
  GstBuffer *buf;
  GstStructure *msg;
  GBytes *out;
  guint8 data[1000];

  for (gsize i = 0; i < sizeof (data); i++)
    data[i] = (guint8) (i * 13);
  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  buf = gst_buffer_new_memdup (data, sizeof (data));
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  fail_unless (wait_frames (1));
  msg = format_message (bus);
  fail_unless_equals_string (gst_structure_get_string (msg, "fourcc"), "MJPG");
  fail_unless_equals_string (gst_structure_get_string (msg, "conversion"),
      "passthrough");
  fail_unless (log_has ("s_fmt MJPG 64x48"));
  fail_unless (log_has ("frame 1 bytes=1000"), "bytesused is not the JPEG "
      "size: %s", log_events ());
  out = last_frame ();
  fail_unless (g_bytes_get_size (out) == sizeof (data)
      && !memcmp (g_bytes_get_data (out, NULL), data, sizeof (data)));
  g_print ("# checked: image/jpeg 64x48 -> device MJPG 64x48, a 1000-byte "
      "frame arrives as it is with bytesused 1000\n");
  g_bytes_unref (out);
  gst_structure_free (msg);
  finish (h, bus);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* placeholder=image                                                        */

GST_START_TEST (test_placeholder_image)
{
  static const guint8 fill[4] = { 100, 128, 128, 0 };
  const gchar *caps = I420_64X48;
  gchar *png = tmp_path ("white.png"), *launch, *props;
  GstElement *enc;
  GstHarness *h;
  GstBus *bus;
  GBytes *out;
  gint bad = 0;

  /* A white 32x32 PNG, made by GStreamer itself. */
  launch = g_strdup_printf ("videotestsrc num-buffers=1 pattern=white ! "
      "video/x-raw, width=32, height=32 ! pngenc ! filesink location=%s", png);
  enc = gst_parse_launch (launch, NULL);
  fail_unless (enc != NULL, "no pngenc: %s", launch);
  gst_element_set_state (enc, GST_STATE_PLAYING);
  gst_message_unref (gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (enc),
          GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  gst_element_set_state (enc, GST_STATE_NULL);
  gst_object_unref (enc);

  fresh_device (NULL);
  props = g_strdup_printf ("device=/fake/output0 sync=false "
      "placeholder=image placeholder-image=%s", png);
  h = start (props, &bus);
  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* Not PLAYING: the placeholder, in real time. */
  fail_unless (gst_element_set_state (h->element, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (wait_frames (3));
  out = last_frame ();
  fail_unless_equals_int (g_bytes_get_size (out), 64 * 48 * 3 / 2);
  /* The square image letterboxed: white in columns 8..55, black around. */
  for (gint y = 0; y < 48; y++)
    for (gint x = 0; x < 64; x++) {
      guint8 want = x >= 8 && x < 56 ? 235 : 16, got = y_at (out, 64, x, y);

      if (got != want && bad++ < 5)
        g_print ("#   Y(%d,%d) = %u, want %u\n", x, y, got, want);
    }
  fail_unless (bad == 0, "%d wrong luma samples", bad);
  g_print ("# checked: placeholder=image: a 32x32 white PNG shown "
      "letterboxed (columns 8..55) after EOS\n");
  g_bytes_unref (out);
  finish (h, bus);
  g_free (props);
  g_free (launch);
  g_free (png);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Renegotiation                                                            */

GST_START_TEST (test_renegotiation)
{
  static const guint8 fill[4] = { 100, 100, 100, 100 };
  const gchar *a = I420_64X48;
  const gchar *b = "video/x-raw, format=NV12, width=32, height=24, "
      "framerate=15/1";
  GstHarness *h;
  GstBus *bus;
  gchar *events;

  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, a);
  fail_unless_equals_int (gst_harness_push (h, make_frame (a, fill)),
      GST_FLOW_OK);
  gst_harness_set_src_caps_str (h, b);
  fail_unless_equals_int (gst_harness_push (h, make_frame (b, fill)),
      GST_FLOW_OK);
  fail_unless (wait_frames (2));
  events = log_events ();
  fail_unless_equals_string (events, "s_fmt YU12 64x48 sizeimage=4608, "
      "s_parm 1/30, reqbufs 6 memory=1, streamon, streamoff, "
      "reqbufs 0 memory=1, s_fmt NV12 32x24 sizeimage=1152, s_parm 1/15, "
      "reqbufs 6 memory=1, streamon");
  fail_unless (log_has ("frame 2 bytes=1152"));
  g_print ("# checked: caps change mid-stream: %s\n", events);
  g_free (events);
  finish (h, bus);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Device selection and errors                                              */

/* Takes a loopbacksink with @props to READY; returns the error, if any. */
static GError *
try_ready (const gchar * props, gboolean * ok)
{
  gchar *launch = g_strdup_printf ("loopbacksink %s", props);
  GstElement *e = gst_parse_launch (launch, NULL);
  GstBus *bus = gst_bus_new ();
  GError *err;

  fail_unless (e != NULL);
  gst_element_set_bus (e, bus);
  *ok = gst_element_set_state (e, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS;
  err = error_message (bus);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  g_free (launch);
  return err;
}

static void
expect_error (const gchar * props, GQuark domain, gint code,
    const gchar * text)
{
  gboolean ok;
  GError *err = try_ready (props, &ok);

  fail_if (ok, "%s: READY succeeded", props);
  fail_unless (err != NULL, "%s: no error message", props);
  fail_unless (g_error_matches (err, domain, code) && strstr (err->message,
          text), "%s: got '%s' (%s %d), want '%s'", props, err->message,
      g_quark_to_string (err->domain), err->code, text);
  g_print ("# checked: %s: error \"%s\"\n", props, err->message);
  g_error_free (err);
}

GST_START_TEST (test_device_selection)
{
  gboolean ok;
  GError *err;

  fresh_device (NULL);
  expect_error ("device=/fake/capture0", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS,
      "not an output node: use the output node of a split device");
  expect_error ("device=/nonexistent/video9", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "does not exist");
  expect_error ("", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "is the v4l2loopback module loaded?");

  /* By label: the capture node comes first but the output node is taken. */
  sysfs_attr ("capture0", "name", "Test Cam\n");
  sysfs_attr ("output0", "name", "Test Cam\n");
  sysfs_attr ("output1", "name", "Other\n");
  err = try_ready ("label=\"Test Cam\"", &ok);
  fail_unless (ok && !err, "label: %s", err ? err->message : "failed");
  g_print ("# checked: label=\"Test Cam\" finds the output node of the two "
      "nodes with that label\n");
  /* Only a capture node has the label: say why it cannot be used. */
  fresh_device (NULL);
  sysfs_attr ("capture0", "name", "Capture Only\n");
  expect_error ("label=\"Capture Only\"", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, "not an output node");
  /* No node has the label: one would be created, here without a module. */
  expect_error ("label=Nobody", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "is the v4l2loopback module loaded?");
}

GST_END_TEST;

GST_START_TEST (test_busy)
{
  static const guint8 fill[4] = { 1, 2, 3, 4 };
  const gchar *caps = I420_64X48;
  GstHarness *h;
  GstBus *bus;
  GError *err;

  fresh_device (NULL);
  g_setenv ("FAKE_V4L2_BUSY", "1", TRUE);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  fail_if (gst_harness_push (h, make_frame (caps, fill)) == GST_FLOW_OK);
  err = error_message (bus);
  fail_unless (err != NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_BUSY), "got %s", err->message);
  fail_unless (strstr (err->message, "device is in use by another producer"));
  g_print ("# checked: EBUSY from the device: RESOURCE BUSY \"%s\"\n",
      err->message);
  g_error_free (err);
  finish (h, bus);
}

GST_END_TEST;

/* Frames the log shows for node @node. */
static guint
frames_of (const gchar * node)
{
  gchar **lines = log_lines ();
  gchar *prefix = g_strdup_printf ("%s frame ", node);
  guint n = 0;

  for (gchar ** l = lines; *l; l++)
    n += g_str_has_prefix (*l, prefix);
  g_free (prefix);
  g_strfreev (lines);
  return n;
}

GST_START_TEST (test_create_device)
{
  static const guint8 fill[4] = { 50, 128, 128, 0 };
  const gchar *caps = I420_64X48;
  GstElement *e;
  GstHarness *h;
  GstBus *bus;
  gchar *device = NULL;

  /* No device has the label: one is made with it, split, and removed. */
  fresh_device (NULL);
  g_setenv ("LOOPCAM_CONTROL_DEVICE", "/fake/control", TRUE);
  h = start ("label=\"Made Here\" split=true sync=false", &bus);
  fail_unless (log_has ("ctl_add label=Made Here flags=1 output=7 "
          "capture=8"), "device events: %s", log_events ());
  g_object_get (h->element, "device", &device, NULL);
  fail_unless_equals_string (device, "/fake/video7");
  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
      GST_FLOW_OK);
  fail_unless (wait_frames (1));
  fail_unless_equals_int (frames_of ("/fake/video7"), frames_received ());
  fail_if (log_has ("ctl_remove"));
  finish (h, bus);
  fail_unless (log_has ("ctl_remove 7"), "not removed: %s", log_events ());
  g_print ("# checked: label=\"Made Here\" split=true: device created "
      "(output video7, capture video8), frames went to /fake/video7, device "
      "property reads it, removed at NULL\n");
  g_free (device);

  /* keep-device=true: it stays. */
  fresh_device (NULL);
  g_setenv ("LOOPCAM_CONTROL_DEVICE", "/fake/control", TRUE);
  h = start ("keep-device=true", &bus);
  fail_unless (log_has ("ctl_add label= flags=0 output=7 capture=-1"),
      "device events: %s", log_events ());
  finish (h, bus);
  fail_if (log_has ("ctl_remove"), "removed: %s", log_events ());
  g_print ("# checked: no device or label, keep-device=true: a combined "
      "device is created and kept\n");

  /* The element made a device, went to NULL: next time it makes one again. */
  fresh_device (NULL);
  g_setenv ("LOOPCAM_CONTROL_DEVICE", "/fake/control", TRUE);
  e = gst_element_factory_make ("loopbacksink", NULL);
  for (gint round = 0; round < 2; round++) {
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
        GST_STATE_CHANGE_SUCCESS);
    g_object_get (e, "device", &device, NULL);
    fail_unless_equals_string (device, "/fake/video7");
    g_free (device);
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    g_object_get (e, "device", &device, NULL);
    fail_unless (device == NULL, "device=%s after NULL", device);
  }
  gst_object_unref (e);
  fail_unless_equals_string (log_events (), "ctl_add label= flags=0 "
      "output=7 capture=-1, ctl_remove 7, ctl_add label= flags=0 output=7 "
      "capture=-1, ctl_remove 7");
  g_print ("# checked: READY/NULL twice: created and removed twice\n");
}

GST_END_TEST;

GST_START_TEST (test_write_fallback)
{
  static const guint8 fill[4] = { 70, 128, 128, 0 };
  const gchar *caps = I420_64X48;
  GstStructure *msg;
  GstHarness *h;
  GstBus *bus;
  GError *err;

  fresh_device (NULL);
  g_setenv ("FAKE_V4L2_NO_MMAP", "1", TRUE);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
      GST_FLOW_OK);
  fail_unless (wait_frames (2));
  msg = format_message (bus);
  fail_unless_equals_string (gst_structure_get_string (msg, "io-mode"), "rw");
  fail_if (log_has ("reqbufs"), "device events: %s", log_events ());
  fail_unless (log_has ("frame 2 bytes=4608"));
  gst_structure_free (msg);
  finish (h, bus);
  g_print ("# checked: REQBUFS MMAP refused: io-mode=auto falls back to one "
      "write() per frame\n");

  fresh_device (NULL);
  g_setenv ("FAKE_V4L2_NO_MMAP", "1", TRUE);
  h = start ("device=/fake/output0 sync=false io-mode=mmap", &bus);
  gst_harness_set_src_caps_str (h, caps);
  fail_if (gst_harness_push (h, make_frame (caps, fill)) == GST_FLOW_OK);
  err = error_message (bus);
  fail_unless (err != NULL && strstr (err->message, "VIDIOC_REQBUFS"),
      "error: %s", err ? err->message : "none");
  g_print ("# checked: io-mode=mmap without MMAP: error \"%s\"\n",
      err->message);
  g_error_free (err);
  finish (h, bus);
  g_unsetenv ("FAKE_V4L2_NO_MMAP");
}

GST_END_TEST;

GST_START_TEST (test_colorimetry)
{
  const gchar *caps = "video/x-raw, format=RGB, width=64, height=48, "
      "framerate=30/1";
  GstVideoInfo info;
  GstVideoFrame frame;
  GstCaps *c = gst_caps_from_string (caps);
  GstBuffer *buf;
  GstHarness *h;
  GstBus *bus;
  GBytes *out;
  guint8 y, u, v;

  /* Pure red RGB into a device that says SMPTE 170M (BT.601, limited). */
  fail_unless (gst_video_info_from_caps (&info, c));
  gst_caps_unref (c);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE);
  for (gint row = 0; row < 48; row++) {
    guint8 *p = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
        row * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

    for (gint x = 0; x < 64; x++) {
      p[3 * x] = 255;
      p[3 * x + 1] = p[3 * x + 2] = 0;
    }
  }
  gst_video_frame_unmap (&frame);

  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  fail_unless (wait_frames (1));
  out = last_frame ();
  y = y_at (out, 64, 10, 10);
  u = u_at (out, 64, 48, 5, 5);
  v = ((const guint8 *) g_bytes_get_data (out, NULL))[64 * 48 + 32 * 24 +
      5 * 32 + 5];
  /* BT.601 limited: Y 81, Cb 90, Cr 240 (BT.709 would give Y 63). */
  fail_unless (ABS (y - 81) <= 1 && ABS (u - 90) <= 1 && ABS (v - 240) <= 1,
      "red is Y %u Cb %u Cr %u, want 81 90 240", y, u, v);
  g_print ("# checked: RGB red -> device YU12 (SMPTE 170M): Y %u Cb %u Cr %u, "
      "the BT.601 limited-range values\n", y, u, v);
  g_bytes_unref (out);
  finish (h, bus);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Timing: keep-alive on the test clock                                     */

static gchar *closing_line;
static gint keepalive_wakeups;  /* atomic */

/*
 * Keeps the sink's "closed after N frames, M of them rendered in place"
 * and counts the keep-alive's wake-ups on the pipeline clock (at LOG).
 */
static void
keep_closing_line (GstDebugCategory * category,
    G_GNUC_UNUSED GstDebugLevel level, G_GNUC_UNUSED const gchar * file,
    G_GNUC_UNUSED const gchar * function, G_GNUC_UNUSED gint line,
    G_GNUC_UNUSED GObject * object, GstDebugMessage * message,
    G_GNUC_UNUSED gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);

  if (!g_str_equal (gst_debug_category_get_name (category), "loopbacksink"))
    return;
  if (g_str_has_prefix (text, "closed after ")) {
    g_free (closing_line);
    closing_line = g_strdup (text);
  } else if (g_str_has_prefix (text, "keep-alive woke")) {
    g_atomic_int_inc (&keepalive_wakeups);
  }
}

/* From here on the sink logs at INFO, and its closing line is kept. */
static void
watch_closing_line (void)
{
  gst_debug_set_threshold_for_name ("loopbacksink", GST_LEVEL_INFO);
  gst_debug_add_log_function (keep_closing_line, NULL, NULL);
}

static void
unwatch_closing_line (void)
{
  gst_debug_remove_log_function (keep_closing_line);
  g_clear_pointer (&closing_line, g_free);
}

/* The number right before @what in the closing line (-1: not there). */
static gint
closing_count (const gchar * what)
{
  const gchar *end = closing_line ? strstr (closing_line, what) : NULL;
  const gchar *num = end;

  if (!end)
    return -1;
  while (num > closing_line && g_ascii_isdigit (num[-1]))
    num--;
  return num == end ? -1 : atoi (num);
}


static GstClockTime
next_wait (GstTestClock * tc)
{
  GstClockID id;
  GstClockTime t;

  gst_test_clock_wait_for_next_pending_id (tc, &id);
  t = gst_clock_id_get_time (id);
  gst_clock_id_unref (id);
  return t;
}

static gboolean
frame_is (GBytes * f, guint8 y, guint8 uv, gsize y_size)
{
  const guint8 *p = g_bytes_get_data (f, NULL);

  for (gsize i = 0; i < g_bytes_get_size (f); i++)
    if (p[i] != (i < y_size ? y : uv)) {
      g_print ("#   byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " is %u, "
          "want %u\n", i, g_bytes_get_size (f), p[i], i < y_size ? y : uv);
      return FALSE;
    }
  return g_bytes_get_size (f) > 0;
}

typedef struct
{
  GstHarness *h;
  GstBuffer *buf;
  GstEvent *event;
} PushData;

static gpointer
push_thread (gpointer data)
{
  PushData *d = data;

  if (d->event)
    return GINT_TO_POINTER (gst_harness_push_event (d->h, d->event) ?
        GST_FLOW_OK : GST_FLOW_ERROR);
  return GINT_TO_POINTER (gst_harness_push (d->h, d->buf));
}

/*
 * Pushes a buffer (or an event) that waits on the clock: from a thread,
 * once @n clock waits are pending (the sink's and the keep-alive's), the
 * earliest is released. Returns the times that were pending.
 */
static GstFlowReturn
push_cranked (GstHarness * h, GstTestClock * tc, GstBuffer * buf,
    GstEvent * event, guint n, GstClockTime times[2])
{
  PushData pd = { h, buf, event };
  GThread *t = g_thread_new ("push", push_thread, &pd);
  GList *ids = NULL;
  guint i = 0;

  gst_test_clock_wait_for_multiple_pending_ids (tc, n, &ids);
  for (GList * l = ids; l && i < 2; l = l->next, i++)
    times[i] = gst_clock_id_get_time (l->data);
  g_list_free_full (ids, (GDestroyNotify) gst_clock_id_unref);
  fail_unless (gst_test_clock_crank (tc));
  return GPOINTER_TO_INT (g_thread_join (t));
}

static GstBuffer *
frame_at (const gchar * caps, const guint8 fill[4], GstClockTime pts)
{
  GstBuffer *buf = make_frame (caps, fill);

  GST_BUFFER_PTS (buf) = pts;
  return buf;
}

GST_START_TEST (test_keepalive_clock)
{
  static const guint8 fill[4] = { 180, 60, 60, 0 };
  const gchar *caps = I420_64X48;
  const GstClockTime frame = gst_util_uint64_scale (GST_SECOND, 1, 30);
  const GstClockTime late = frame + frame / 8;  /* pts of frame 1 */
  GstClockTime times[2] = { 0, 0 }, t = 0;
  PushData pd;
  GThread *push;
  GList *ids = NULL;
  guint n;
  GstHarness *h;
  GstTestClock *tc;
  GstBus *bus;
  GBytes *out;

  watch_closing_line ();
  fresh_device (NULL);
  h = start ("device=/fake/output0 placeholder=black", &bus);
  g_object_set (h->element, "sync", TRUE, NULL);  /* the harness turns it off */
  gst_harness_use_testclock (h);
  tc = gst_harness_get_testclock (h);
  gst_harness_set_src_caps_str (h, caps);

  /*
   * Frame 0 (pts 0) is shown at preroll; on PLAYING the keep-alive arms one
   * interval after it, the sink waits for running time 0.
   */
  fail_unless_equals_int (push_cranked (h, tc, frame_at (caps, fill, 0),
          NULL, 2, times), GST_FLOW_OK);
  fail_unless_equals_uint64 (times[0], 0);
  fail_unless_equals_uint64 (times[1], frame);
  fail_unless (wait_frames (1));

  /*
   * Frame 1 is due an eighth of an interval after the keep-alive deadline
   * and already waits on the clock when the deadline comes: the keep-alive
   * holds back until a quarter interval after the frame is due.
   */
  pd = (PushData) {
  h, frame_at (caps, fill, late), NULL};
  push = g_thread_new ("push", push_thread, &pd);
  gst_test_clock_wait_for_multiple_pending_ids (tc, 2, &ids);
  fail_unless_equals_uint64 (gst_clock_id_get_time (ids->data), frame);
  fail_unless_equals_uint64 (gst_clock_id_get_time (ids->next->data), late);
  g_list_free_full (ids, (GDestroyNotify) gst_clock_id_unref);
  /*
   * The keep-alive's deadline. Armed before frame 0 was shown again on
   * PLAYING, it first re-arms at the same time, then holds.
   */
  for (guint i = 0; i < 2 && t != late + frame / 4; i++) {
    fail_unless (gst_test_clock_crank (tc));
    ids = NULL;
    gst_test_clock_wait_for_multiple_pending_ids (tc, 2, &ids);
    fail_unless_equals_uint64 (gst_clock_id_get_time (ids->data),
        i == 0 ? frame : late);
    t = gst_clock_id_get_time (ids->next->data);
    g_list_free_full (ids, (GDestroyNotify) gst_clock_id_unref);
    fail_unless_equals_int (frames_received (), 1);
  }
  fail_unless_equals_uint64 (t, late + frame / 4);
  fail_unless (gst_test_clock_crank (tc));      /* frame 1 is shown */
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (push)), GST_FLOW_OK);
  fail_unless (wait_frames (2));
  fail_unless (gst_test_clock_crank (tc));      /* the held deadline */
  t = next_wait (tc);                           /* re-armed */
  fail_unless_equals_int (frames_received (), 2);
  fail_unless_equals_uint64 (t, late + frame);
  g_print ("# checked: a frame waiting to be shown at the keep-alive deadline "
      "is not doubled; the keep-alive re-arms one interval after it, at %"
      GST_TIME_FORMAT "\n", GST_TIME_ARGS (t));

  /* Upstream stalls: the last frame again one interval after it, then at
   * the frame rate. */
  fail_unless (gst_test_clock_crank (tc));
  fail_unless (wait_frames (3));
  t = next_wait (tc);
  fail_unless_equals_uint64 (t, late + 2 * frame);
  fail_unless (gst_test_clock_crank (tc));
  fail_unless (wait_frames (4));
  out = last_frame ();
  fail_unless (frame_is (out, 180, 60, 64 * 48), "repeat is not the frame");
  g_bytes_unref (out);
  g_print ("# checked: stall: last frame repeated %" GST_TIME_FORMAT
      " after it (one interval), then every %" GST_TIME_FORMAT "\n",
      GST_TIME_ARGS (frame), GST_TIME_ARGS (frame));

  /* EOS (the sink waits for the end of frame 1 first): black placeholder. */
  fail_unless_equals_int (push_cranked (h, tc, NULL, gst_event_new_eos (), 2,
          times), GST_FLOW_OK);
  fail_unless_equals_uint64 (times[0], late + frame);
  t = next_wait (tc);
  fail_unless_equals_uint64 (t, late + 3 * frame);
  fail_unless (gst_test_clock_crank (tc));
  fail_unless (wait_frames (5));
  out = last_frame ();
  fail_unless (frame_is (out, 16, 128, 64 * 48), "placeholder is not black");
  g_bytes_unref (out);
  t = next_wait (tc);
  fail_unless_equals_uint64 (t, late + 4 * frame);
  fail_unless (gst_test_clock_crank (tc));
  fail_unless (wait_frames (6));
  g_print ("# checked: after EOS: black placeholder frames at the frame "
      "rate\n");

  /* PAUSED: placeholder on the monotonic clock (real time), until NULL. */
  n = frames_received ();
  fail_unless (gst_element_set_state (h->element, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  g_usleep (300 * 1000);
  n = frames_received () - n;
  fail_unless (n >= 6 && n <= 11, "%u frames in 300 ms while PAUSED, want "
      "about 9", n);
  out = last_frame ();
  fail_unless (frame_is (out, 16, 128, 64 * 48), "placeholder is not black");
  g_bytes_unref (out);
  g_print ("# checked: PAUSED: %u black placeholder frames in 300 ms\n", n);
  gst_object_unref (tc);
  finish (h, bus);
  /* The two repeats in the stall: the device buffer holding frame 1 was
   * free again, and queued as it was. */
  fail_unless_equals_int (closing_count (" repeats queued again"), 2);
  g_print ("# checked: the stall's 2 repeats were queued again from the "
      "device buffer holding the frame, not copied ('%s')\n", closing_line);
  unwatch_closing_line ();
}

GST_END_TEST;

/*
 * On the system clock, in real time: frames that come in time never wake
 * the keep-alive (its timer moves on with each one); a stall still gets
 * the last frame again at the frame rate.
 */
GST_START_TEST (test_keepalive_system_clock)
{
  static const guint8 fill[4] = { 90, 200, 30, 0 };
  const gchar *caps = I420_64X48;
  const GstClockTime frame = gst_util_uint64_scale (GST_SECOND, 1, 30);
  const guint n_frames = 30;
  gint woke_flowing, woke_stalled;
  guint repeats;
  GstClockTime t0;
  GstClock *clock;
  GstHarness *h;
  GstBus *bus;

  watch_closing_line ();
  gst_debug_set_threshold_for_name ("loopbacksink", GST_LEVEL_LOG);
  fresh_device (NULL);
  h = start ("device=/fake/output0 placeholder=black", &bus);
  g_object_set (h->element, "sync", TRUE, NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_src_caps_str (h, caps);

  /*
   * Each push returns when the sink has shown the frame, on time: the
   * first is due 50 ms from now in running time (the pipeline has run
   * since the harness started it; earlier frames would be late, dropped).
   */
  clock = gst_element_get_clock (h->element);
  fail_unless (clock != NULL);
  t0 = gst_clock_get_time (clock) - gst_element_get_base_time (h->element)
      + 50 * GST_MSECOND;
  gst_object_unref (clock);
  fail_unless_equals_int (gst_harness_push (h, frame_at (caps, fill, t0)),
      GST_FLOW_OK);
  /* (Shown at preroll, repeated while it waited: the count starts here.) */
  repeats = frames_received ();
  g_atomic_int_set (&keepalive_wakeups, 0);
  for (guint i = 1; i < n_frames; i++)
    fail_unless_equals_int (gst_harness_push (h, frame_at (caps, fill,
                t0 + i * frame)), GST_FLOW_OK);
  woke_flowing = g_atomic_int_get (&keepalive_wakeups);
  repeats = frames_received () - repeats - (n_frames - 1);
  /*
   * Waiting on a clock id, the keep-alive woke once a frame or more (its
   * deadline and the next frame are due together); a busy machine may
   * make a frame or two late enough for a real repeat.
   */
  fail_unless (woke_flowing <= 4, "keep-alive woke %d times while %u frames "
      "came in time", woke_flowing, n_frames - 1);
  fail_unless (repeats <= 2, "%u repeats while frames came in time", repeats);
  g_print ("# checked: system clock: %u frames in time woke the keep-alive "
      "%d times (a clock-id wait wakes at least once a frame), %u repeats\n",
      n_frames - 1, woke_flowing, repeats);

  /* Upstream stalls for 300 ms: about 9 repeats, the frame rate. */
  g_atomic_int_set (&keepalive_wakeups, 0);
  repeats = frames_received ();
  g_usleep (300 * 1000);
  repeats = frames_received () - repeats;
  woke_stalled = g_atomic_int_get (&keepalive_wakeups);
  fail_unless (repeats >= 6 && repeats <= 11, "%u repeats in a 300 ms stall, "
      "want about 9", repeats);
  g_print ("# checked: system clock: a 300 ms stall got %u repeats (%d "
      "wake-ups)\n", repeats, woke_stalled);
  finish (h, bus);
  unwatch_closing_line ();
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* The pool: matching input is rendered straight into device buffers        */

/* The pool the sink offers for @caps_str, or NULL. */
static GstBufferPool *
offered_pool (GstHarness * h, const gchar * caps_str)
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;

  fail_unless (gst_pad_peer_query (h->srcpad, query));
  if (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, NULL);
  gst_query_unref (query);
  gst_caps_unref (caps);
  return pool;
}

GST_START_TEST (test_pool_in_place)
{
  const gchar *caps = I420_64X48;
  const gsize size = 64 * 48 * 3 / 2;
  GstBuffer *stale = NULL;
  GstBufferPool *pool;
  GstHarness *h;
  GstMapInfo map;
  GstBus *bus;

  watch_closing_line ();

  /* Buffers from the offered pool: 8 frames, byte for byte, none copied. */
  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  pool = offered_pool (h, caps);
  fail_unless (pool != NULL, "no pool offered for input the device takes "
      "as it is");
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  for (guint n = 0; n < 8; n++) {
    GstBuffer *buf = NULL;
    GBytes *out;

    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf,
            NULL), GST_FLOW_OK);
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
    fail_unless_equals_int (map.size, size);
    for (gsize i = 0; i < size; i++)
      map.data[i] = (guint8) (i * 3 + n);
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = n * GST_SECOND / 30;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    fail_unless (wait_frames (n + 1));
    out = last_frame ();
    fail_unless_equals_int (g_bytes_get_size (out), size);
    for (gsize i = 0; i < size; i++)
      fail_unless (((const guint8 *) g_bytes_get_data (out, NULL))[i] ==
          (guint8) (i * 3 + n), "frame %u differs at byte %zu", n, i);
    g_bytes_unref (out);
  }
  /* One still held when the device format changes: it must stay usable. */
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &stale,
          NULL), GST_FLOW_OK);
  gst_harness_set_src_caps_str (h, "video/x-raw, format=NV12, width=32, "
      "height=24, framerate=30/1");
  fail_unless (offered_pool (h, "video/x-raw, format=RGB, width=32, "
          "height=24, framerate=30/1") == NULL,
      "a pool offered for input that is converted");
  fail_unless (gst_buffer_map (stale, &map, GST_MAP_WRITE));
  memset (map.data, 0x5a, map.size);
  gst_buffer_unmap (stale, &map);
  gst_buffer_unref (stale);
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  finish (h, bus);
  fail_unless (closing_count (" of them rendered in place") >= 8,
      "pool buffers were copied: '%s'", closing_line);
  g_print ("# checked: pool offered for I420 64x48 into YU12 64x48: 8 frames "
      "rendered in place arrive byte for byte ('%s'); none offered for "
      "RGB that is converted; a lent buffer stays writable across a format "
      "change\n", closing_line);

  /* The same frames in the element's own memory are copied: 0 in place. */
  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  for (guint n = 0; n < 8; n++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);

    gst_buffer_memset (buf, 0, (guint8) n, size);
    GST_BUFFER_PTS (buf) = n * GST_SECOND / 30;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  fail_unless (wait_frames (8));
  finish (h, bus);
  fail_unless_equals_int (closing_count (" of them rendered in place"), 0);
  g_print ("# checked: the same frames in system memory: '%s'\n",
      closing_line);

  unwatch_closing_line ();
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* DMABUF import: upstream's dmabufs are queued as they are                 */

/*
 * A frame in a dmabuf-backed GstMemory (a memfd, which the fake device maps
 * like a dmabuf), every byte (i * 5 + n).
 */
static GstBuffer *
dmabuf_frame (GstAllocator * alloc, gsize size, guint n)
{
  gint fd = memfd_create ("lc-test-dmabuf", MFD_CLOEXEC);
  GstBuffer *buf = gst_buffer_new ();
  GstMapInfo map;

  fail_unless (fd >= 0 && ftruncate (fd, (off_t) size) == 0);
  gst_buffer_append_memory (buf, gst_dmabuf_allocator_alloc (alloc, fd, size));
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < size; i++)
    map.data[i] = (guint8) (i * 5 + n);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = n * GST_SECOND / 30;
  return buf;
}

static gboolean
last_frame_is (gsize size, guint n)
{
  GBytes *out = last_frame ();
  const guint8 *p = g_bytes_get_data (out, NULL);
  gboolean same = g_bytes_get_size (out) == size;

  for (gsize i = 0; same && i < size; i++)
    same = p[i] == (guint8) (i * 5 + n);
  g_bytes_unref (out);
  return same;
}

GST_START_TEST (test_dmabuf_import)
{
  const gchar *caps = I420_64X48;
  const gsize size = 64 * 48 * 3 / 2;
  GstAllocator *alloc = gst_dmabuf_allocator_new ();
  GstBuffer *frames[3], *sysmem;
  GBytes *out;
  GstHarness *h;
  GstBus *bus;

  watch_closing_line ();
  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);

  /* Three dmabufs, as from upstream's pool, each queued twice. */
  for (guint n = 0; n < 3; n++)
    frames[n] = dmabuf_frame (alloc, size, n);
  for (guint k = 0; k < 6; k++) {
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_ref (frames[k % 3])), GST_FLOW_OK);
    fail_unless (wait_frames (k + 1));
    fail_unless (last_frame_is (size, k % 3), "frame %u is not dmabuf %u",
        k, k % 3);
  }
  fail_unless (log_has ("reqbufs 6 memory=4"), "no DMABUF queue: %s",
      log_events ());
  fail_unless_equals_int (frames_in_buffer (" buffer="), 6);
  g_print ("# checked: 6 frames in 3 dmabufs: queued as V4L2_MEMORY_DMABUF "
      "(device events: %s), each arrives byte for byte\n", log_events ());

  /* A frame in system memory: copied into device buffers from then on. */
  sysmem = gst_buffer_new_allocate (NULL, size, NULL);
  gst_buffer_memset (sysmem, 0, 0x77, size);
  fail_unless_equals_int (gst_harness_push (h, sysmem), GST_FLOW_OK);
  fail_unless (wait_frames (7));
  out = last_frame ();
  fail_unless (frame_is (out, 0x77, 0x77, size));
  g_bytes_unref (out);
  fail_unless (log_has ("reqbufs 0 memory=4"));
  fail_unless (log_has ("reqbufs 6 memory=1"));
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (frames[1])),
      GST_FLOW_OK);
  fail_unless (wait_frames (8));
  fail_unless (last_frame_is (size, 1));
  finish (h, bus);
  fail_unless_equals_int (closing_count (" imported as dmabufs"), 6);
  g_print ("# checked: then a frame in system memory and a dmabuf again: "
      "both copied into MMAP buffers, byte for byte ('%s')\n", closing_line);

  for (guint n = 0; n < 3; n++)
    gst_buffer_unref (frames[n]);
  gst_object_unref (alloc);
  unwatch_closing_line ();
}

GST_END_TEST;

/*
 * The element's own frames (here the placeholder after EOS) go through its
 * MMAP buffers, and the next stream's dmabufs are imported again: a
 * placeholder between streams must not turn importing off.
 */
GST_START_TEST (test_dmabuf_import_after_placeholder)
{
  const gchar *caps = I420_64X48;
  const gsize size = 64 * 48 * 3 / 2;
  GstAllocator *alloc = gst_dmabuf_allocator_new ();
  GstBuffer *frame = dmabuf_frame (alloc, size, 1);
  GstSegment seg;
  GstHarness *h;
  GstBus *bus;
  GBytes *out;
  guint n;

  watch_closing_line ();
  fresh_device (NULL);
  h = start ("device=/fake/output0 sync=false", &bus);
  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (frame)),
      GST_FLOW_OK);
  fail_unless (wait_frames (1));
  fail_unless (last_frame_is (size, 1));

  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* Not PLAYING: the placeholder, in real time (the harness's clock stands). */
  fail_unless (gst_element_set_state (h->element, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (wait_frames (2));
  out = last_frame ();
  fail_unless (frame_is (out, 16, 128, 64 * 48), "no black placeholder "
      "after EOS");
  g_bytes_unref (out);
  fail_unless (log_has ("reqbufs 6 memory=1"), "placeholder not in MMAP "
      "buffers: %s", log_events ());

  /* A new stream: its dmabufs are imported again. */
  fail_unless (gst_element_set_state (h->element, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  n = frames_received ();
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (frame)),
      GST_FLOW_OK);
  fail_unless (wait_frames (n + 1));
  finish (h, bus);
  fail_unless_equals_int (closing_count (" imported as dmabufs"), 2);
  g_print ("# checked: a dmabuf, the black placeholder after EOS and PAUSED "
      "(MMAP), then PLAYING and the next stream's dmabuf imported again "
      "('%s')\n", closing_line);

  gst_buffer_unref (frame);
  gst_object_unref (alloc);
  unwatch_closing_line ();
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Conversion threads                                                       */

/*
 * @frames frames of @caps (planes filled with @fill) into a device fixed
 * to I420 320x240 with @props; each must arrive as Y @y, U @u, V @v (+-1:
 * RGB to YUV rounds). Returns the loopbacksink-threads message, if any.
 */
static GstStructure *
convert_frames (const gchar * props, const gchar * caps, const guint8 fill[4],
    guint frames, guint8 y, guint8 u, guint8 v)
{
  gchar *all = g_strdup_printf ("device=/fake/output0 sync=false "
      "scale-mode=stretch %s", props);
  GstStructure *msg;
  GstHarness *h;
  GstBus *bus;

  fresh_device ("YU12:320x240");
  sysfs_attr ("output0", "format", "YU12:320x240@30\n");
  h = start (all, &bus);
  gst_harness_set_src_caps_str (h, caps);
  for (guint i = 1; i <= frames; i++) {
    const guint8 *p;
    GBytes *out;
    gsize n;
    guint bad = 0;

    fail_unless_equals_int (gst_harness_push (h, make_frame (caps, fill)),
        GST_FLOW_OK);
    fail_unless (wait_frames (i));
    out = last_frame ();
    p = g_bytes_get_data (out, &n);
    fail_unless_equals_int (n, 320 * 240 * 3 / 2);
    for (gsize k = 0; k < n; k++) {
      guint8 want = k < 320 * 240 ? y : k < 320 * 240 * 5 / 4 ? u : v;

      if (ABS (p[k] - want) > 1 && bad++ < 3)
        g_print ("#   frame %u, byte %" G_GSIZE_FORMAT ": %u, want %u\n", i,
            k, p[k], want);
    }
    fail_unless (bad == 0, "%s: frame %u: %u wrong bytes", caps, i, bad);
    g_bytes_unref (out);
  }
  msg = element_message (bus, "loopbacksink-threads");
  finish (h, bus);
  g_free (all);
  return msg;
}

/*
 * n-threads=0 tries, on the first frames, GstVideoConverter with one thread
 * and with one per CPU and, for same-size RGB to YUV, the one-pass
 * converter; it keeps the faster one-thread converter, or the threads
 * when they convert a frame in at most 3/4 of its time. Which one wins
 * depends on the machine, so the test checks that the choice follows the
 * times the element reports, that every frame of the trial (whichever
 * converter) arrives right, and that a fixed n-threads makes no trial.
 */
GST_START_TEST (test_conversion_threads)
{
  static const guint8 gray[4] = { 128, 128, 128, 128 };
  static const guint8 yv12[4] = { 200, 90, 160, 0 };
  static const struct
  {
    const gchar *caps;
    const guint8 *fill;
    guint8 y, u, v;
    gboolean one_pass;          /* the one-pass converter is a candidate */
  } inputs[] = {
    /* Scaled, and RGB to YUV: the converter's heavy path. */
    {"video/x-raw, format=RGB, width=1280, height=720, framerate=30/1",
        gray, 126, 128, 128, FALSE},
    /* YV12 to I420: the planes swapped, a few copies. */
    {"video/x-raw, format=YV12, width=320, height=240, framerate=30/1",
        yv12, 200, 160, 90, FALSE},
    /* RGB to YUV at the device's size: the one-pass converter too. */
    {"video/x-raw, format=BGRx, width=320, height=240, framerate=30/1",
        gray, 126, 128, 128, TRUE},
  };
  guint cpus = g_get_num_processors ();

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++) {
    guint frames = 2 * (inputs[i].one_pass ? 3 : 2) * 6;
    GstStructure *msg = convert_frames ("n-threads=0", inputs[i].caps,
        inputs[i].fill, frames, inputs[i].y, inputs[i].u, inputs[i].v);
    gint64 one_us = 0, many_us = 0, one_pass_us = 0, single_us;
    const gchar *converter;
    gboolean want_one_pass;
    guint threads = 0;

    if (cpus == 1 && !inputs[i].one_pass) {
      fail_unless (msg == NULL, "a trial with one CPU");
      g_print ("# checked: one CPU: %s converted with one thread, no "
          "trial\n", inputs[i].caps);
      continue;
    }
    fail_unless (msg != NULL, "%s: no loopbacksink-threads message after "
        "%u frames", inputs[i].caps, frames);
    fail_unless (gst_structure_get (msg, "threads", G_TYPE_UINT, &threads,
            "one-thread-us", G_TYPE_INT64, &one_us, "threaded-us",
            G_TYPE_INT64, &many_us, "one-pass-us", G_TYPE_INT64,
            &one_pass_us, NULL));
    converter = gst_structure_get_string (msg, "converter");
    fail_unless (converter != NULL);
    /* Tried (a time) exactly when it is a candidate. */
    fail_unless_equals_int (one_pass_us >= 0, inputs[i].one_pass);
    fail_unless_equals_int (many_us >= 0, cpus > 1);
    /* The faster one-thread converter, or the threads at 3/4 of it. */
    want_one_pass = one_pass_us >= 0 && one_pass_us <= one_us;
    single_us = want_one_pass ? one_pass_us : one_us;
    fail_unless (threads == 1 || threads == cpus, "threads=%u", threads);
    fail_unless_equals_int (threads == cpus && cpus > 1,
        many_us >= 0 && many_us * 4 <= single_us * 3);
    fail_unless_equals_string (converter, want_one_pass && threads == 1 ?
        "one-pass" : "videoconverter");
    g_print ("# checked: %s: a frame took %" G_GINT64_FORMAT " us with one "
        "thread, %" G_GINT64_FORMAT " us with %u, %" G_GINT64_FORMAT " us in "
        "one pass (-1: not a candidate): kept %s with %u thread(s); all %u "
        "trial frames right\n", inputs[i].caps, one_us, many_us, cpus,
        one_pass_us, converter, threads, frames);
    gst_structure_free (msg);
  }

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++) {
    GstStructure *msg = convert_frames ("n-threads=2", inputs[i].caps,
        inputs[i].fill, 14, inputs[i].y, inputs[i].u, inputs[i].v);

    fail_unless (msg == NULL, "n-threads=2 made a trial");
    g_print ("# checked: n-threads=2: %s converted right, no trial\n",
        inputs[i].caps);
  }
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */

static void
remove_tmp (void)
{
  gchar *cmd;

  if (getpid () != tmp_owner)
    return;
  cmd = g_strdup_printf ("rm -rf '%s'", tmp_dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", tmp_dir);
  g_free (cmd);
}

static Suite *
loopbacksink_suite (void)
{
  Suite *s = suite_create ("loopbacksink");
  TCase *tc = tcase_create ("general");

  tmp_dir = g_dir_make_tmp ("lc-test-lbs.XXXXXX", NULL);
  g_assert (tmp_dir);
  tmp_owner = getpid ();
  atexit (remove_tmp);

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_format_choice);
  tcase_add_test (tc, test_passthrough_content);
  tcase_add_test (tc, test_pool_in_place);
  tcase_add_test (tc, test_dmabuf_import);
  tcase_add_test (tc, test_dmabuf_import_after_placeholder);
  tcase_add_test (tc, test_announced_format);
  tcase_add_test (tc, test_announced_caps);
  tcase_add_test (tc, test_jpeg_passthrough);
  tcase_add_test (tc, test_placeholder_image);
  tcase_add_test (tc, test_renegotiation);
  tcase_add_test (tc, test_device_selection);
  tcase_add_test (tc, test_create_device);
  tcase_add_test (tc, test_write_fallback);
  tcase_add_test (tc, test_colorimetry);
  tcase_add_test (tc, test_conversion_threads);
  tcase_add_test (tc, test_busy);
  tcase_add_test (tc, test_keepalive_clock);
  tcase_add_test (tc, test_keepalive_system_clock);
  return s;
}

GST_CHECK_MAIN (loopbacksink);
