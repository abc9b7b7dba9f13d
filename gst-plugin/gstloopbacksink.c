/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loopbacksink: any video in, a steady camera out.
 *
 * The element writes frames into the output node of a v4l2loopback
 * (loopcam) device, converting and scaling them to the format the device
 * announces, and keeps the camera alive when upstream stalls or stops.
 */

/**
 * SECTION:element-loopbacksink
 * @title: loopbacksink
 * @short_description: virtual camera output through a v4l2loopback device
 *
 * loopbacksink turns a pipeline into a camera that every V4L2 reader
 * (browsers, video call programs, OBS, v4l2src, FFmpeg) can open.
 *
 * The device is the one named by #GstLoopbackSink:device, or the one whose
 * card label is #GstLoopbackSink:label. With neither, or when no device has
 * the label, the element creates a device through the control device
 * /dev/v4l2loopback and removes it again when it goes to NULL, unless
 * #GstLoopbackSink:keep-device is set.
 *
 * When the device already has a format (announced with loopcam-ctl or kept
 * from an earlier producer), every frame is converted and scaled to exactly
 * that format. Otherwise the element picks the device format closest to its
 * input among those browsers read (I420, NV12, YUYV) and converts only when
 * the input is in none of them. JPEG and H.264 pass through unchanged.
 * Conversion and scaling are GstVideoConverter's; packed RGB (screen
 * grabs, renderers) to YUV at the same size may instead take a one-pass
 * converter of the element's own, when the first frames show it faster
 * (see #GstLoopbackSink:n-threads).
 *
 * Frames are shown on the pipeline clock. When upstream stalls, the last
 * frame is repeated at the device frame rate: one interval after it, then
 * every interval. A next frame that already waits to be shown then gets a
 * quarter interval before it would be doubled. A repeat queues the device
 * buffer that still holds the frame again when the device has given it
 * back, with no copy. After EOS and while the element is PAUSED or READY,
 * readers get #GstLoopbackSink:placeholder, so they never see the camera
 * stop until the element goes to NULL; between the first (preroll) frame
 * and PLAYING they get that frame again. When the input caps change but the
 * device format stays, the last frame is repeated until the first in the
 * new caps comes.
 *
 * Frames go into the device's memory-mapped buffers. When the input is
 * already in the device's format, size and layout, the element offers
 * upstream a buffer pool that lends those device buffers: elements that
 * allocate from it (videotestsrc, videoconvert, decoders) render straight
 * into the device, and the frame reaches readers with no copy. When no
 * device buffer is free the pool hands out ordinary memory, copied once.
 * Input in dmabuf memory in the device's layout (v4l2src io-mode=dmabuf,
 * hardware decoders) is queued to the device as it is (V4L2_MEMORY_DMABUF),
 * also with no copy here; the first frame from upstream that is not such a
 * dmabuf moves the element back to its own memory-mapped buffers until the
 * caps change. Its own frames (the placeholder after EOS) go through those
 * buffers too, and upstream's next dmabuf is imported again.
 *
 * Each time the device format is set, the element posts an element message
 * `loopbacksink-format` with the fields device, fourcc, width, height,
 * sizeimage, conversion ("none": frames are copied as they are, "copy":
 * plane by plane, "convert", "passthrough": compressed), fixed (the device
 * had a format already), io-mode ("mmap", "dmabuf" or "rw") and dest-x,
 * dest-y, dest-width, dest-height (where the picture is in the frame).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc ! loopbacksink label="Test Camera"
 * ]| Creates a camera called "Test Camera" (or uses the existing one) and
 * shows the test pattern on it.
 * |[
 * gst-launch-1.0 filesrc location=talk.mp4 ! decodebin ! \
 *     loopbacksink device=/dev/video10 placeholder=last-frame
 * ]| Plays a file into /dev/video10; the last picture stays after the end.
 *
 * Since: 0.1
 */

#include "gstloopbacksink.h"
#include "gstloopbackbufferpool.h"
#include "gstloopbackrgbconvert.h"

#include <gst/allocators/gstdmabuf.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/v4l2loopback.h>
#include <linux/videodev2.h>

GST_DEBUG_CATEGORY (loopback_sink_debug);
#define GST_CAT_DEFAULT loopback_sink_debug

/*
 * Test-only overrides (the unit tests run without a kernel module):
 * LOOPCAM_SYSFS replaces /sys, LOOPCAM_DEV_DIR replaces /dev for nodes found
 * by label or created, LOOPCAM_CONTROL_DEVICE replaces /dev/v4l2loopback.
 */
#define SYSFS_ROOT_ENV "LOOPCAM_SYSFS"
#define DEV_DIR_ENV "LOOPCAM_DEV_DIR"
#define CONTROL_DEVICE_ENV "LOOPCAM_CONTROL_DEVICE"

#define DEFAULT_DEVICE NULL
#define DEFAULT_LABEL NULL
#define DEFAULT_SPLIT FALSE
#define DEFAULT_KEEP_DEVICE FALSE
#define DEFAULT_SCALE_MODE GST_LOOPBACK_SINK_SCALE_LETTERBOX
#define DEFAULT_PLACEHOLDER GST_LOOPBACK_SINK_PLACEHOLDER_BLACK
#define DEFAULT_PLACEHOLDER_IMAGE NULL
#define DEFAULT_IO_MODE GST_LOOPBACK_SINK_IO_AUTO
#define DEFAULT_N_THREADS 0

/* Frame rate assumed when the caps do not give one and the device neither. */
#define FALLBACK_FPS 30
/*
 * Device buffers asked for in MMAP mode. Upstream may borrow all but
 * KEPT_BUFFERS of them to render into (see GstLoopbackBufferPool); the
 * kept ones guarantee the keep-alive and the copying path a buffer.
 */
#define N_BUFFERS 6
#define KEPT_BUFFERS 2
#define MAX_BUFFERS 32
/* Longest wait for the device to return a buffer (ms), at least. */
#define MIN_DQBUF_TIMEOUT_MS 1000
/* How long a created node may take to appear (udev). */
#define NODE_APPEAR_TIMEOUT_US (2 * G_USEC_PER_SEC)
/*
 * n-threads=0: the first frames after a format change go in turn through
 * each candidate converter (GstVideoConverter with one thread and with a
 * thread per CPU, and for same-size RGB to YUV the one-pass converter),
 * for this many rounds (the first, with cold caches and threads still
 * starting, not counted). The faster one-thread converter stays, or the
 * threaded one if its median time per frame is at most THREADED_SHARE of
 * that: threads cost CPU of their own (handing out the work, each waking
 * up), and a conversion they hardly speed up is better done by one.
 */
#define CONVERT_TRIAL_ROUNDS 6
#define THREADED_SHARE 0.75

enum
{
  PROP_0,
  PROP_DEVICE,
  PROP_LABEL,
  PROP_SPLIT,
  PROP_KEEP_DEVICE,
  PROP_SCALE_MODE,
  PROP_PLACEHOLDER,
  PROP_PLACEHOLDER_IMAGE,
  PROP_IO_MODE,
  PROP_N_THREADS,
};

/*
 * One mmap() of a device buffer. Memory lent upstream holds a reference,
 * so a mapping outlives a format change (vb2 keeps orphaned buffers
 * alive while mapped) until the last GstMemory on it is gone.
 */
typedef struct
{
  gint refcount;
  gpointer data;
  gsize length;
} LbsMapping;

typedef struct
{
  guint8 *data;
  gsize length;
  LbsMapping *map;
  gboolean queued;              /* with the device */
  gboolean lent;                /* memory upstream still holds (lend_lock) */
  GstBuffer *imported;          /* DMABUF mode: upstream's, while queued */
  gint imported_fd;             /* DMABUF mode: fd last queued here, or -1 */
} LbsDeviceBuffer;

/* What a GstMemory lent upstream must give back when it is freed. */
typedef struct
{
  GstLoopbackSink *sink;
  LbsMapping *map;
  guint generation;
  guint index;
} LbsLoan;

/* How an input frame reaches the device. */
typedef enum
{
  LBS_PATH_MEMCPY,              /* same format and layout: one copy */
  LBS_PATH_FRAME_COPY,          /* same format, other strides: plane copy */
  LBS_PATH_CONVERT,             /* a converter (LbsConverterKind) */
  LBS_PATH_COMPRESSED,          /* encoded frame, as it is */
} LbsPath;

/* The converters the trial chooses among (lbs_convert_trial). */
typedef enum
{
  LBS_CONVERTER_ONE_THREAD,     /* GstVideoConverter, one thread */
  LBS_CONVERTER_THREADED,       /* GstVideoConverter, a thread per CPU */
  LBS_CONVERTER_ONE_PASS,       /* GstLoopbackRgbConvert */
  LBS_N_CONVERTERS
} LbsConverterKind;

/* As the loopbacksink-format message names them. */
static const gchar *const lbs_path_names[] = {
  [LBS_PATH_MEMCPY] = "none",
  [LBS_PATH_FRAME_COPY] = "copy",
  [LBS_PATH_CONVERT] = "convert",
  [LBS_PATH_COMPRESSED] = "passthrough",
};

struct _GstLoopbackSink
{
  GstVideoSink parent;

  /* Properties, under the object lock. */
  gchar *device;
  gchar *label;
  gboolean split;
  gboolean keep_device;
  GstLoopbackSinkScaleMode scale_mode;
  GstLoopbackSinkPlaceholder placeholder;
  gchar *placeholder_image;
  GstLoopbackSinkIOMode io_mode;
  guint n_threads;

  /*
   * Everything below is under lock: the streaming thread and the
   * keep-alive thread both write frames.
   */
  GMutex lock;
  GCond cond;

  gint fd;
  gchar *path;                  /* node opened */
  gint created_nr;              /* device created by us, -1 = none */
  gboolean device_gone;

  /* Format the device had before we came (loopcam-ctl, keep_format). */
  gboolean fixed;
  struct v4l2_pix_format fixed_pix;

  gboolean configured;
  gboolean format_set;
  struct v4l2_pix_format pix;   /* device format in use */
  GstVideoInfo in_info;
  GstVideoInfo out_info;
  LbsPath path_kind;
  GstVideoConverter *convert;
  /* Same-size RGB to YUV in one pass, when it is the converter chosen. */
  GstLoopbackRgbConvert *convert_one_pass;
  /*
   * n-threads=0, in the trial after a format change: the converter with a
   * thread per CPU, tried against the others (see CONVERT_TRIAL_ROUNDS).
   */
  GstVideoConverter *convert_threaded;
  guint convert_threaded_n;     /* its threads: one per CPU */
  LbsConverterKind trial_kinds[LBS_N_CONVERTERS];
  guint trial_n_kinds;          /* candidates; 0 or 1: no trial */
  guint trial_frames;
  gint64 trial_us[LBS_N_CONVERTERS][CONVERT_TRIAL_ROUNDS];
  GstVideoRectangle dest;
  GstClockTime interval;        /* device frame interval */

  /* I/O */
  gboolean use_mmap;
  gboolean streaming;
  LbsDeviceBuffer bufs[MAX_BUFFERS];
  guint n_bufs;
  /*
   * Lending: only bufs[].lent and generation, under lend_lock alone, as a
   * loan may end (memory freed) where lock is already held.
   */
  GMutex lend_lock;
  guint generation;             /* bumped whenever bufs[] is replaced */
  guint64 frames_in_place;      /* frames rendered into a lent buffer */
  /*
   * DMABUF mode: the queue takes upstream's dmabufs as they are
   * (V4L2_MEMORY_DMABUF); use_mmap is FALSE then and bufs[] has no memory.
   * Input that cannot be imported ends it until the caps change.
   */
  gboolean dmabuf_mode;
  gboolean dmabuf_off;
  guint64 frames_imported;      /* frames queued as upstream's dmabuf */
  /*
   * The input frame that device buffer kept_index (-1: the write() staging
   * area) still holds, for repeats without rendering it again; compared,
   * never dereferenced. NULL when that memory has been written since.
   */
  GstBuffer *kept_frame;
  gint kept_index;
  gsize kept_size;
  guint64 frames_requeued;      /* repeats queued from kept_index */
  guint8 *staging;              /* write() mode: the frame being written */
  gint wake_fd;                 /* eventfd: unlock() interrupts a wait */
  gint unlocked;                /* atomic: between unlock and unlock_stop */
  GstStructure *format_info;    /* to post as an element message */
  GstStructure *threads_info;   /* likewise, when the trial has decided */

  /* Keep-alive */
  GThread *keepalive;
  GThread *keepalive_self;      /* set by the keep-alive thread itself */
  gboolean quit;
  gboolean playing;
  gboolean eos;
  GstClockTime due_time;        /* when the frame GstBaseSink prepared is
                                 * to be shown (clock time), or NONE */
  GstClockTime hold_until;      /* no repeat before, for that frame */
  guint gen;                    /* bumped on every frame and wake-up */
  GstClockID wait_id;
  /*
   * On a system clock the keep-alive sleeps on this timerfd (monotonic),
   * and each frame moves it on instead of waking the thread; -1: none.
   */
  gint timer_fd;
  gboolean timer_waiting;       /* the keep-alive sleeps on timer_fd */
  GstClockTime last_clock_time; /* clock time of the last frame out */
  gint64 last_mono_time;        /* monotonic time of the last frame out */
  GstBuffer *last_buffer;       /* last input frame, in in_info */
  guint8 *placeholder_frame;    /* device format, out_info.size bytes */
  guint8 *bridge_frame;         /* last frame across a caps change, device
                                 * format: repeated until a new frame comes */
  GstBuffer *image;             /* decoded placeholder-image */
  GstVideoInfo image_info;
  guint64 frames_out;
  GstBuffer *preroll_buffer;    /* shown by preroll: not shown again */
  guint64 preroll_frames_out;
};

#define gst_loopback_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstLoopbackSink, gst_loopback_sink,
    GST_TYPE_VIDEO_SINK,
    GST_DEBUG_CATEGORY_INIT (loopback_sink_debug, "loopbacksink", 0,
        "v4l2loopback video sink"));
GST_ELEMENT_REGISTER_DEFINE (loopbacksink, "loopbacksink", GST_RANK_NONE,
    GST_TYPE_LOOPBACK_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_VIDEO_FORMATS_ALL) "; "
        "image/jpeg, width = " GST_VIDEO_SIZE_RANGE ", height = "
        GST_VIDEO_SIZE_RANGE ", framerate = " GST_VIDEO_FPS_RANGE "; "
        "video/x-h264, stream-format = byte-stream, alignment = au, "
        "width = " GST_VIDEO_SIZE_RANGE ", height = " GST_VIDEO_SIZE_RANGE
        ", framerate = " GST_VIDEO_FPS_RANGE));

/* ------------------------------------------------------------------------ */
/* Enum types                                                               */

#define GST_TYPE_LOOPBACK_SINK_SCALE_MODE \
    (gst_loopback_sink_scale_mode_get_type ())
static GType
gst_loopback_sink_scale_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_LOOPBACK_SINK_SCALE_LETTERBOX,
        "Keep the aspect ratio, black borders", "letterbox"},
    {GST_LOOPBACK_SINK_SCALE_STRETCH, "Fill the frame", "stretch"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstLoopbackSinkScaleMode", values));
  return type;
}

#define GST_TYPE_LOOPBACK_SINK_PLACEHOLDER \
    (gst_loopback_sink_placeholder_get_type ())
static GType
gst_loopback_sink_placeholder_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_LOOPBACK_SINK_PLACEHOLDER_BLACK, "A black frame", "black"},
    {GST_LOOPBACK_SINK_PLACEHOLDER_LAST_FRAME, "The last frame",
        "last-frame"},
    {GST_LOOPBACK_SINK_PLACEHOLDER_IMAGE,
        "The image in placeholder-image", "image"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstLoopbackSinkPlaceholder", values));
  return type;
}

#define GST_TYPE_LOOPBACK_SINK_IO_MODE (gst_loopback_sink_io_mode_get_type ())
static GType
gst_loopback_sink_io_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_LOOPBACK_SINK_IO_AUTO,
        "Memory-mapped streaming, write() if the device cannot", "auto"},
    {GST_LOOPBACK_SINK_IO_MMAP, "Memory-mapped streaming only", "mmap"},
    {GST_LOOPBACK_SINK_IO_RW, "One write() per frame", "rw"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstLoopbackSinkIOMode", values));
  return type;
}

/* ------------------------------------------------------------------------ */
/* Formats and colorimetry                                                  */

static const struct
{
  GstVideoFormat format;
  guint32 fourcc;
} lbs_formats[] = {
  {GST_VIDEO_FORMAT_I420, V4L2_PIX_FMT_YUV420},
  {GST_VIDEO_FORMAT_YV12, V4L2_PIX_FMT_YVU420},
  {GST_VIDEO_FORMAT_NV12, V4L2_PIX_FMT_NV12},
  {GST_VIDEO_FORMAT_NV21, V4L2_PIX_FMT_NV21},
  {GST_VIDEO_FORMAT_NV16, V4L2_PIX_FMT_NV16},
  {GST_VIDEO_FORMAT_YUY2, V4L2_PIX_FMT_YUYV},
  {GST_VIDEO_FORMAT_UYVY, V4L2_PIX_FMT_UYVY},
  {GST_VIDEO_FORMAT_YVYU, V4L2_PIX_FMT_YVYU},
  {GST_VIDEO_FORMAT_GRAY8, V4L2_PIX_FMT_GREY},
  {GST_VIDEO_FORMAT_GRAY16_LE, V4L2_PIX_FMT_Y16},
  {GST_VIDEO_FORMAT_RGB, V4L2_PIX_FMT_RGB24},
  {GST_VIDEO_FORMAT_BGR, V4L2_PIX_FMT_BGR24},
  {GST_VIDEO_FORMAT_RGB16, V4L2_PIX_FMT_RGB565},
  /* V4L2 names the order in a little-endian word, GStreamer in memory. */
  {GST_VIDEO_FORMAT_BGRx, V4L2_PIX_FMT_XBGR32},
  {GST_VIDEO_FORMAT_xRGB, V4L2_PIX_FMT_XRGB32},
  {GST_VIDEO_FORMAT_BGRA, V4L2_PIX_FMT_ABGR32},
  {GST_VIDEO_FORMAT_ARGB, V4L2_PIX_FMT_ARGB32},
};

static GstVideoFormat
lbs_format_from_fourcc (guint32 fourcc)
{
  for (guint i = 0; i < G_N_ELEMENTS (lbs_formats); i++)
    if (lbs_formats[i].fourcc == fourcc)
      return lbs_formats[i].format;
  return GST_VIDEO_FORMAT_UNKNOWN;
}

static gboolean
lbs_fourcc_is_compressed (guint32 fourcc)
{
  return fourcc == V4L2_PIX_FMT_MJPEG || fourcc == V4L2_PIX_FMT_JPEG
      || fourcc == V4L2_PIX_FMT_H264;
}

static const gchar *
lbs_fourcc_str (guint32 fourcc, gchar buf[5])
{
  for (gint i = 0; i < 4; i++) {
    gchar c = (gchar) ((fourcc >> (8 * i)) & 0x7f);
    buf[i] = g_ascii_isprint (c) ? c : '.';
  }
  buf[4] = '\0';
  return buf;
}

/*
 * The device format for an input format when the device is free: the
 * closest of the formats browsers read (Chromium: I420 > NV12 > YUYV).
 */
static guint32
lbs_pick_fourcc (GstVideoFormat format)
{
  const GstVideoFormatInfo *finfo = gst_video_format_get_info (format);

  switch (format) {
    case GST_VIDEO_FORMAT_I420:
      return V4L2_PIX_FMT_YUV420;
    case GST_VIDEO_FORMAT_NV12:
      return V4L2_PIX_FMT_NV12;
    case GST_VIDEO_FORMAT_YUY2:
      return V4L2_PIX_FMT_YUYV;
    default:
      break;
  }
  if (GST_VIDEO_FORMAT_INFO_IS_YUV (finfo)
      && GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo) >= 3) {
    gboolean h2 = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, 1) == 1;
    gboolean v2 = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, 1) == 1;

    if (h2 && !v2)
      return V4L2_PIX_FMT_YUYV; /* 4:2:2 */
    if (h2 && v2 && GST_VIDEO_FORMAT_INFO_N_PLANES (finfo) == 2)
      return V4L2_PIX_FMT_NV12; /* semi-planar 4:2:0 */
  }
  return V4L2_PIX_FMT_YUV420;
}

static void
lbs_colorimetry_to_v4l2 (const GstVideoColorimetry * c,
    struct v4l2_pix_format *pix)
{
  switch (c->primaries) {
    case GST_VIDEO_COLOR_PRIMARIES_BT709:
      pix->colorspace = c->transfer == GST_VIDEO_TRANSFER_SRGB ?
          V4L2_COLORSPACE_SRGB : V4L2_COLORSPACE_REC709;
      break;
    case GST_VIDEO_COLOR_PRIMARIES_SMPTE170M:
      pix->colorspace = V4L2_COLORSPACE_SMPTE170M;
      break;
    case GST_VIDEO_COLOR_PRIMARIES_BT470BG:
      pix->colorspace = V4L2_COLORSPACE_470_SYSTEM_BG;
      break;
    case GST_VIDEO_COLOR_PRIMARIES_BT2020:
      pix->colorspace = V4L2_COLORSPACE_BT2020;
      break;
    case GST_VIDEO_COLOR_PRIMARIES_SMPTE240M:
      pix->colorspace = V4L2_COLORSPACE_SMPTE240M;
      break;
    default:
      pix->colorspace = V4L2_COLORSPACE_DEFAULT;
      break;
  }
  switch (c->matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT601:
      pix->ycbcr_enc = V4L2_YCBCR_ENC_601;
      break;
    case GST_VIDEO_COLOR_MATRIX_BT709:
      pix->ycbcr_enc = V4L2_YCBCR_ENC_709;
      break;
    case GST_VIDEO_COLOR_MATRIX_BT2020:
      pix->ycbcr_enc = V4L2_YCBCR_ENC_BT2020;
      break;
    case GST_VIDEO_COLOR_MATRIX_SMPTE240M:
      pix->ycbcr_enc = V4L2_YCBCR_ENC_SMPTE240M;
      break;
    default:
      pix->ycbcr_enc = V4L2_YCBCR_ENC_DEFAULT;
      break;
  }
  switch (c->range) {
    case GST_VIDEO_COLOR_RANGE_0_255:
      pix->quantization = V4L2_QUANTIZATION_FULL_RANGE;
      break;
    case GST_VIDEO_COLOR_RANGE_16_235:
      pix->quantization = V4L2_QUANTIZATION_LIM_RANGE;
      break;
    default:
      pix->quantization = V4L2_QUANTIZATION_DEFAULT;
      break;
  }
  switch (c->transfer) {
    case GST_VIDEO_TRANSFER_BT709:
    case GST_VIDEO_TRANSFER_BT601:
    case GST_VIDEO_TRANSFER_BT2020_10:
    case GST_VIDEO_TRANSFER_BT2020_12:
      pix->xfer_func = V4L2_XFER_FUNC_709;
      break;
    case GST_VIDEO_TRANSFER_SRGB:
      pix->xfer_func = V4L2_XFER_FUNC_SRGB;
      break;
    case GST_VIDEO_TRANSFER_SMPTE240M:
      pix->xfer_func = V4L2_XFER_FUNC_SMPTE240M;
      break;
    case GST_VIDEO_TRANSFER_SMPTE2084:
      pix->xfer_func = V4L2_XFER_FUNC_SMPTE2084;
      break;
    case GST_VIDEO_TRANSFER_GAMMA10:
      pix->xfer_func = V4L2_XFER_FUNC_NONE;
      break;
    default:
      pix->xfer_func = V4L2_XFER_FUNC_DEFAULT;
      break;
  }
}

/* What a device format's colorimetry fields mean, defaults included. */
static void
lbs_colorimetry_from_v4l2 (const struct v4l2_pix_format *pix, gboolean yuv,
    GstVideoColorimetry * c)
{
  c->range = GST_VIDEO_COLOR_RANGE_16_235;
  c->matrix = GST_VIDEO_COLOR_MATRIX_BT601;
  switch (pix->colorspace) {
    case V4L2_COLORSPACE_REC709:
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
      c->transfer = GST_VIDEO_TRANSFER_BT709;
      c->matrix = GST_VIDEO_COLOR_MATRIX_BT709;
      break;
    case V4L2_COLORSPACE_SRGB:
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
      c->transfer = GST_VIDEO_TRANSFER_SRGB;
      break;
    case V4L2_COLORSPACE_JPEG:
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
      c->transfer = GST_VIDEO_TRANSFER_SRGB;
      c->range = GST_VIDEO_COLOR_RANGE_0_255;
      break;
    case V4L2_COLORSPACE_BT2020:
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT2020;
      c->transfer = GST_VIDEO_TRANSFER_BT2020_10;
      c->matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
      break;
    case V4L2_COLORSPACE_470_SYSTEM_BG:
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT470BG;
      c->transfer = GST_VIDEO_TRANSFER_BT601;
      break;
    case V4L2_COLORSPACE_SMPTE240M:
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE240M;
      c->transfer = GST_VIDEO_TRANSFER_SMPTE240M;
      c->matrix = GST_VIDEO_COLOR_MATRIX_SMPTE240M;
      break;
    default:                   /* SMPTE170M, and what V4L2 defaults to */
      c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE170M;
      c->transfer = GST_VIDEO_TRANSFER_BT601;
      break;
  }
  switch (pix->ycbcr_enc) {
    case V4L2_YCBCR_ENC_601:
      c->matrix = GST_VIDEO_COLOR_MATRIX_BT601;
      break;
    case V4L2_YCBCR_ENC_709:
      c->matrix = GST_VIDEO_COLOR_MATRIX_BT709;
      break;
    case V4L2_YCBCR_ENC_BT2020:
      c->matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
      break;
    case V4L2_YCBCR_ENC_SMPTE240M:
      c->matrix = GST_VIDEO_COLOR_MATRIX_SMPTE240M;
      break;
    default:
      break;
  }
  if (pix->quantization == V4L2_QUANTIZATION_FULL_RANGE)
    c->range = GST_VIDEO_COLOR_RANGE_0_255;
  else if (pix->quantization == V4L2_QUANTIZATION_LIM_RANGE)
    c->range = GST_VIDEO_COLOR_RANGE_16_235;
  switch (pix->xfer_func) {
    case V4L2_XFER_FUNC_709:
      if (c->transfer != GST_VIDEO_TRANSFER_BT601
          && c->transfer != GST_VIDEO_TRANSFER_BT2020_10)
        c->transfer = GST_VIDEO_TRANSFER_BT709;
      break;
    case V4L2_XFER_FUNC_SRGB:
      c->transfer = GST_VIDEO_TRANSFER_SRGB;
      break;
    case V4L2_XFER_FUNC_SMPTE2084:
      c->transfer = GST_VIDEO_TRANSFER_SMPTE2084;
      break;
    case V4L2_XFER_FUNC_NONE:
      c->transfer = GST_VIDEO_TRANSFER_GAMMA10;
      break;
    default:
      break;
  }
  if (!yuv) {
    c->matrix = GST_VIDEO_COLOR_MATRIX_RGB;
    c->range = GST_VIDEO_COLOR_RANGE_0_255;
  }
}

/*
 * The memory layout of a raw device format: V4L2 single-planar formats
 * store the planes one after the other, chroma lines scaled from
 * bytesperline.
 */
static gboolean
lbs_video_info_from_pix (const struct v4l2_pix_format *pix,
    GstVideoInfo * info)
{
  GstVideoFormat format = lbs_format_from_fourcc (pix->pixelformat);
  const GstVideoFormatInfo *finfo;
  gsize offset = 0;

  if (format == GST_VIDEO_FORMAT_UNKNOWN || !pix->width || !pix->height)
    return FALSE;
  if (!gst_video_info_set_format (info, format, pix->width, pix->height))
    return FALSE;
  finfo = info->finfo;
  for (guint plane = 0; plane < GST_VIDEO_INFO_N_PLANES (info); plane++) {
    guint comp = 0, pstride0 = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0);
    guint luma_px, stride, lines;

    while (GST_VIDEO_FORMAT_INFO_PLANE (finfo, comp) != plane)
      comp++;
    luma_px = pix->bytesperline / MAX (pstride0, 1);
    if (plane == 0)
      stride = pix->bytesperline;
    else
      stride = GST_VIDEO_SUB_SCALE (GST_VIDEO_FORMAT_INFO_W_SUB (finfo, comp),
          luma_px) * GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, comp);
    lines = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, comp, pix->height);
    info->stride[plane] = (gint) stride;
    info->offset[plane] = offset;
    offset += (gsize) stride *lines;
  }
  info->size = offset;
  lbs_colorimetry_from_v4l2 (pix, GST_VIDEO_FORMAT_INFO_IS_YUV (finfo),
      &info->colorimetry);
  return offset <= pix->sizeimage;
}

/*
 * Where a picture of src_w x src_h (pixel aspect par_n/par_d) goes in a
 * device frame: all of it (stretch) or the largest centred rectangle of the
 * picture's display aspect ratio (letterbox), on chroma sample boundaries.
 */
static void
lbs_fit_rect (gint src_w, gint src_h, gint par_n, gint par_d,
    const GstVideoInfo * out, GstLoopbackSinkScaleMode mode,
    GstVideoRectangle * r)
{
  const GstVideoFormatInfo *finfo = out->finfo;
  gint dst_w = GST_VIDEO_INFO_WIDTH (out), dst_h = GST_VIDEO_INFO_HEIGHT (out);
  gint xalign = 1, yalign = 1;
  guint64 disp_w, disp_h;

  r->x = r->y = 0;
  r->w = dst_w;
  r->h = dst_h;
  if (mode == GST_LOOPBACK_SINK_SCALE_STRETCH)
    return;
  if (par_n <= 0 || par_d <= 0)
    par_n = par_d = 1;
  disp_w = (guint64) src_w * par_n;
  disp_h = (guint64) src_h * par_d;
  if ((guint64) dst_w * disp_h > (guint64) dst_h * disp_w)
    r->w = (gint) gst_util_uint64_scale_round (dst_h, disp_w, disp_h);
  else
    r->h = (gint) gst_util_uint64_scale_round (dst_w, disp_h, disp_w);

  if (GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo) >= 3) {
    xalign = 1 << GST_VIDEO_FORMAT_INFO_W_SUB (finfo, 1);
    yalign = 1 << GST_VIDEO_FORMAT_INFO_H_SUB (finfo, 1);
  }
  r->w = CLAMP ((r->w + xalign / 2) / xalign * xalign, xalign, dst_w);
  r->h = CLAMP ((r->h + yalign / 2) / yalign * yalign, yalign, dst_h);
  r->x = (dst_w - r->w) / 2 / xalign * xalign;
  r->y = (dst_h - r->h) / 2 / yalign * yalign;
}

static GstVideoConverter *
lbs_converter_new (const GstVideoInfo * in, const GstVideoInfo * out,
    const GstVideoRectangle * dest, guint threads)
{
  /* The converter wants rate and interlacing to agree; the device has none. */
  GstVideoInfo to = *out;
  GstStructure *config = gst_structure_new ("GstVideoConverter",
      GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, threads,
      GST_VIDEO_CONVERTER_OPT_DEST_X, G_TYPE_INT, dest->x,
      GST_VIDEO_CONVERTER_OPT_DEST_Y, G_TYPE_INT, dest->y,
      GST_VIDEO_CONVERTER_OPT_DEST_WIDTH, G_TYPE_INT, dest->w,
      GST_VIDEO_CONVERTER_OPT_DEST_HEIGHT, G_TYPE_INT, dest->h,
      GST_VIDEO_CONVERTER_OPT_FILL_BORDER, G_TYPE_BOOLEAN, TRUE,
      GST_VIDEO_CONVERTER_OPT_BORDER_ARGB, G_TYPE_UINT, 0xff000000u,
      NULL);

  to.fps_n = in->fps_n;
  to.fps_d = in->fps_d;
  to.interlace_mode = in->interlace_mode;
  return gst_video_converter_new ((GstVideoInfo *) in, &to, config);
}

/* ------------------------------------------------------------------------ */
/* Device discovery                                                         */

static const gchar *
lbs_env_or (const gchar * name, const gchar * def)
{
  const gchar *v = g_getenv (name);

  return v && *v ? v : def;
}

/* The node's name in sysfs (videoN), following udev symlinks. */
static gchar *
lbs_node_name (const gchar * path)
{
  char *real = realpath (path, NULL);
  gchar *name = g_path_get_basename (real ? real : path);

  free (real);
  return name;
}

/* A sysfs attribute of a node, stripped; NULL when it does not exist. */
static gchar *
lbs_sysfs_read (const gchar * node, const gchar * attr)
{
  gchar *file = g_build_filename (lbs_env_or (SYSFS_ROOT_ENV, "/sys"),
      "class", "video4linux", node, attr, NULL);
  gchar *value = NULL;

  if (g_file_get_contents (file, &value, NULL, NULL))
    g_strstrip (value);
  g_free (file);
  return value;
}

static guint32
lbs_device_caps (gint fd, struct v4l2_capability *cap)
{
  memset (cap, 0, sizeof (*cap));
  if (ioctl (fd, VIDIOC_QUERYCAP, cap) < 0)
    return 0;
  return cap->capabilities & V4L2_CAP_DEVICE_CAPS ?
      cap->device_caps : cap->capabilities;
}

static gint
lbs_compare_nodes (gconstpointer a, gconstpointer b)
{
  return g_utf8_collate (*(const gchar * const *) a,
      *(const gchar * const *) b);
}

/*
 * Whether sysfs @name is that of a node labelled @label: v4l2loopback names
 * a node after its label, loopcam's split nodes add " (output)" or
 * " (capture)" (their QUERYCAP card is the bare label).
 */
static gboolean
lbs_name_has_label (const gchar * name, const gchar * label)
{
  gsize n = strlen (label);

  if (!name || strncmp (name, label, n))
    return FALSE;
  return !name[n] || !strcmp (name + n, " (output)") ||
      !strcmp (name + n, " (capture)");
}

/*
 * The node whose card label is @label: its output node when it has one,
 * else the first node with the label (opening it then explains why it
 * cannot be used); NULL if no node has it.
 */
static gchar *
lbs_find_by_label (const gchar * label)
{
  gchar *dir = g_build_filename (lbs_env_or (SYSFS_ROOT_ENV, "/sys"),
      "class", "video4linux", NULL);
  const gchar *dev_dir = lbs_env_or (DEV_DIR_ENV, "/dev");
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gchar *found = NULL, *first = NULL;
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *entry;

  while (d && (entry = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (entry));
  if (d)
    g_dir_close (d);
  g_ptr_array_sort (names, lbs_compare_nodes);

  for (guint i = 0; i < names->len && !found; i++) {
    const gchar *node = g_ptr_array_index (names, i);
    gchar *name = lbs_sysfs_read (node, "name");
    gchar *path;
    gint fd;

    if (!lbs_name_has_label (name, label)) {
      g_free (name);
      continue;
    }
    g_free (name);
    path = g_build_filename (dev_dir, node, NULL);
    fd = open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      struct v4l2_capability cap;

      if (lbs_device_caps (fd, &cap) & V4L2_CAP_VIDEO_OUTPUT)
        found = g_strdup (path);
      close (fd);
    }
    if (!first)
      first = path;
    else
      g_free (path);
  }
  g_ptr_array_unref (names);
  g_free (dir);
  if (found) {
    g_free (first);
    return found;
  }
  return first;
}

/* Creates a device through the control device; returns its output node. */
static gchar *
gst_loopback_sink_create_device (GstLoopbackSink * self, const gchar * label,
    gboolean split)
{
  const gchar *ctl_path = lbs_env_or (CONTROL_DEVICE_ENV,
      "/dev/" V4L2LOOPBACK_CTL_NAME);
  struct loopcam_device_config c;
  gchar *path;
  gint ctl, err;

  ctl = open (ctl_path, O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    err = errno;
    if (err == ENOENT)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No device given and none can be created: %s does not exist "
              "(is the v4l2loopback module loaded?)", ctl_path),
          ("open(%s): %s", ctl_path, g_strerror (err)));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
          ("No device given and none can be created: cannot open %s: %s",
              ctl_path, g_strerror (err)), (NULL));
    return NULL;
  }

  memset (&c, 0, sizeof (c));
  c.magic = LOOPCAM_CONFIG_MAGIC;
  c.size = sizeof (c);
  c.flags = split ? LOOPCAM_FLAG_SPLIT : 0;
  c.output_nr = -1;
  c.capture_nr = -1;
  if (label)
    g_strlcpy (c.card_label, label, sizeof (c.card_label));
  if (ioctl (ctl, LOOPCAM_CTL_ADD, &c) < 0) {
    err = errno;
    close (ctl);
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        ("Cannot create a loopback device through %s: %s", ctl_path,
            g_strerror (err)), ("LOOPCAM_CTL_ADD failed"));
    return NULL;
  }
  close (ctl);

  self->created_nr = c.output_nr;
  path = g_strdup_printf ("%s/video%d", lbs_env_or (DEV_DIR_ENV, "/dev"),
      c.output_nr);
  GST_INFO_OBJECT (self, "created %s (capture node %d, label '%s')", path,
      c.capture_nr, c.card_label);
  return path;
}

static void
gst_loopback_sink_remove_device (GstLoopbackSink * self)
{
  const gchar *ctl_path = lbs_env_or (CONTROL_DEVICE_ENV,
      "/dev/" V4L2LOOPBACK_CTL_NAME);
  gint ctl = open (ctl_path, O_RDWR | O_CLOEXEC);
  gint nr = self->created_nr;

  self->created_nr = -1;
  if (ctl < 0) {
    GST_WARNING_OBJECT (self, "cannot open %s to remove video%d: %s",
        ctl_path, nr, g_strerror (errno));
    return;
  }
  /* The number is passed by value, as v4l2loopback does. */
  if (ioctl (ctl, V4L2LOOPBACK_CTL_REMOVE, (unsigned long) nr) < 0)
    GST_ELEMENT_WARNING (self, RESOURCE, CLOSE,
        ("Could not remove the device /dev/video%d it created: %s", nr,
            errno == EBUSY ? "still opened by a reader" : g_strerror (errno)),
        (NULL));
  else
    GST_INFO_OBJECT (self, "removed video%d", nr);
  close (ctl);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* Posts the error for a failed device call (errno @err); returns FALSE. */
static gboolean
gst_loopback_sink_device_error (GstLoopbackSink * self, const gchar * what,
    gint err)
{
  switch (err) {
    case EBUSY:
      GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
          ("%s: device is in use by another producer", self->path),
          ("%s: %s", what, g_strerror (err)));
      break;
    case ENODEV:
      self->device_gone = TRUE;
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("%s: the device was removed", self->path),
          ("%s: %s", what, g_strerror (err)));
      break;
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("%s: %s failed: %s", self->path, what, g_strerror (err)), (NULL));
      break;
  }
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                      */

static gboolean
gst_loopback_sink_open (GstLoopbackSink * self)
{
  gchar *device, *label, *node, *format;
  gboolean split;
  gint64 until;
  struct v4l2_capability cap;
  guint32 caps;
  gint err;

  GST_OBJECT_LOCK (self);
  device = g_strdup (self->device);
  label = g_strdup (self->label);
  split = self->split;
  GST_OBJECT_UNLOCK (self);

  if (!device && label)
    device = lbs_find_by_label (label);
  if (!device) {
    device = gst_loopback_sink_create_device (self, label, split);
    if (!device) {
      g_free (label);
      return FALSE;
    }
  }
  g_free (label);
  self->path = device;

  /* A node just created appears (with its permissions) when udev is done. */
  until = g_get_monotonic_time () +
      (self->created_nr >= 0 ? NODE_APPEAR_TIMEOUT_US : 0);
  while ((self->fd = open (device, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0
      && (errno == ENOENT || errno == EACCES)
      && g_get_monotonic_time () < until)
    g_usleep (10 * 1000);
  if (self->fd < 0) {
    err = errno;
    if (err == ENOENT)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("Device %s does not exist", device), (NULL));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
          ("Cannot open %s: %s", device, g_strerror (err)), (NULL));
    return FALSE;
  }

  caps = lbs_device_caps (self->fd, &cap);
  if (!caps) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("%s is not a video device", device),
        ("VIDIOC_QUERYCAP: %s", g_strerror (errno)));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "opened %s: driver '%s', card '%s', caps 0x%08x",
      device, cap.driver, cap.card, caps);

  node = lbs_node_name (device);
  if (!(caps & V4L2_CAP_VIDEO_OUTPUT)) {
    gchar *peer = lbs_sysfs_read (node, "peer");
    gchar *state = lbs_sysfs_read (node, "state");

    /* An exclusive-caps node hides OUTPUT while another producer streams. */
    if (!peer && !g_strcmp0 (state, "capture"))
      GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
          ("%s: device is in use by another producer", device),
          ("QUERYCAP shows no VIDEO_OUTPUT and sysfs state is 'capture'"));
    else if (peer)
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("%s is not an output node: use the output node of a split "
              "device (/dev/%s)", device, peer), (NULL));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("%s is not an output node: use the output node of a split "
              "device", device), (NULL));
    g_free (peer);
    g_free (state);
    g_free (node);
    return FALSE;
  }

  /*
   * A non-empty sysfs format means someone chose one (loopcam-ctl,
   * keep_format): readers expect it, so frames are converted to it.
   */
  format = lbs_sysfs_read (node, "format");
  self->fixed = FALSE;
  if (format && *format) {
    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT };

    if (ioctl (self->fd, VIDIOC_G_FMT, &f) == 0) {
      gchar fcc[5];

      self->fixed = TRUE;
      self->fixed_pix = f.fmt.pix;
      GST_INFO_OBJECT (self, "device format is fixed: %s %ux%u (sysfs '%s')",
          lbs_fourcc_str (f.fmt.pix.pixelformat, fcc), f.fmt.pix.width,
          f.fmt.pix.height, format);
    }
  }
  g_free (format);
  g_free (node);

  GST_OBJECT_LOCK (self);
  if (self->created_nr >= 0 && !self->device) {
    /* Let the application see which node it got. */
    self->device = g_strdup (device);
    GST_OBJECT_UNLOCK (self);
    g_object_notify (G_OBJECT (self), "device");
  } else {
    GST_OBJECT_UNLOCK (self);
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* I/O: MMAP streaming, or write()                                          */

/*
 * Waits until the device takes a frame; ETIMEDOUT when the device hangs.
 * The streaming thread also returns ECANCELED when GstBaseSink::unlock
 * interrupts it (flush, state change); the keep-alive is not interrupted,
 * it goes on in READY.
 */
static gint
lbs_poll_out (GstLoopbackSink * self)
{
  struct pollfd pfd[2] = {
    {.fd = self->fd,.events = POLLOUT},
    {.fd = self->wake_fd,.events = POLLIN},
  };
  gint timeout = MAX (MIN_DQBUF_TIMEOUT_MS,
      (gint) (4 * self->interval / GST_MSECOND));
  gboolean streaming_thread = g_thread_self () != self->keepalive_self;
  gint ret;

  if (streaming_thread && g_atomic_int_get (&self->unlocked))
    return ECANCELED;
  do
    ret = poll (pfd, streaming_thread ? 2 : 1, timeout);
  while (ret < 0 && errno == EINTR);
  if (ret < 0)
    return errno;
  if (ret == 0)
    return ETIMEDOUT;
  if (streaming_thread && pfd[1].revents)
    return ECANCELED;
  if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
    return pfd[0].revents & POLLNVAL ? EBADF : ENODEV;
  return 0;
}

static gboolean
gst_loopback_sink_unlock (GstBaseSink * bsink)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  guint64 one = 1;

  g_atomic_int_set (&self->unlocked, 1);
  if (write (self->wake_fd, &one, sizeof (one)) < 0)
    GST_WARNING_OBJECT (self, "cannot wake the render thread: %s",
        g_strerror (errno));
  return TRUE;
}

static gboolean
gst_loopback_sink_unlock_stop (GstBaseSink * bsink)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  guint64 count;

  g_atomic_int_set (&self->unlocked, 0);
  while (read (self->wake_fd, &count, sizeof (count)) > 0)
    ;
  return TRUE;
}

static LbsMapping *
lbs_mapping_ref (LbsMapping * map)
{
  g_atomic_int_inc (&map->refcount);
  return map;
}

static void
lbs_mapping_unref (LbsMapping * map)
{
  if (g_atomic_int_dec_and_test (&map->refcount)) {
    munmap (map->data, map->length);
    g_free (map);
  }
}

static void
gst_loopback_sink_io_stop (GstLoopbackSink * self)
{
  if (self->streaming) {
    gint type = V4L2_BUF_TYPE_VIDEO_OUTPUT;

    if (ioctl (self->fd, VIDIOC_STREAMOFF, &type) < 0)
      GST_WARNING_OBJECT (self, "STREAMOFF: %s", g_strerror (errno));
    self->streaming = FALSE;
  }
  /* Loans out now end with their memory: a new generation of buffers. */
  g_mutex_lock (&self->lend_lock);
  for (guint i = 0; i < self->n_bufs; i++) {
    if (self->bufs[i].map)
      lbs_mapping_unref (self->bufs[i].map);
    gst_buffer_replace (&self->bufs[i].imported, NULL);
  }
  memset (self->bufs, 0, sizeof (self->bufs));
  self->generation++;
  g_mutex_unlock (&self->lend_lock);
  if (self->n_bufs) {
    struct v4l2_requestbuffers req = {
      .count = 0,
      .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
      .memory = self->dmabuf_mode ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
    };

    if (ioctl (self->fd, VIDIOC_REQBUFS, &req) < 0)
      GST_WARNING_OBJECT (self, "REQBUFS 0: %s", g_strerror (errno));
    self->n_bufs = 0;
  }
  g_clear_pointer (&self->staging, g_free);
  self->use_mmap = FALSE;
  self->dmabuf_mode = FALSE;
  self->kept_frame = NULL;
}

static gboolean
gst_loopback_sink_io_start (GstLoopbackSink * self)
{
  GstLoopbackSinkIOMode mode;
  struct v4l2_requestbuffers req = {
    .count = N_BUFFERS,
    .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
    .memory = V4L2_MEMORY_MMAP,
  };

  GST_OBJECT_LOCK (self);
  mode = self->io_mode;
  GST_OBJECT_UNLOCK (self);

  if (mode != GST_LOOPBACK_SINK_IO_RW) {
    if (ioctl (self->fd, VIDIOC_REQBUFS, &req) == 0 && req.count > 0) {
      self->n_bufs = MIN (req.count, MAX_BUFFERS);
      for (guint i = 0; i < self->n_bufs; i++) {
        struct v4l2_buffer b = {
          .index = i,
          .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
          .memory = V4L2_MEMORY_MMAP,
        };
        void *p;

        if (ioctl (self->fd, VIDIOC_QUERYBUF, &b) < 0)
          return gst_loopback_sink_device_error (self, "VIDIOC_QUERYBUF",
              errno);
        p = mmap (NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED,
            self->fd, b.m.offset);
        if (p == MAP_FAILED)
          return gst_loopback_sink_device_error (self, "mmap", errno);
        self->bufs[i].map = g_new (LbsMapping, 1);
        self->bufs[i].map->refcount = 1;
        self->bufs[i].map->data = p;
        self->bufs[i].map->length = b.length;
        self->bufs[i].data = p;
        self->bufs[i].length = b.length;
      }
      self->use_mmap = TRUE;
      GST_INFO_OBJECT (self, "MMAP streaming with %u buffers", self->n_bufs);
      return TRUE;
    }
    if (errno == EBUSY || errno == ENODEV)
      return gst_loopback_sink_device_error (self, "VIDIOC_REQBUFS", errno);
    if (mode == GST_LOOPBACK_SINK_IO_MMAP)
      return gst_loopback_sink_device_error (self, "VIDIOC_REQBUFS (MMAP)",
          errno ? errno : ENOMEM);
    GST_INFO_OBJECT (self, "no MMAP streaming (%s): using write()",
        g_strerror (errno));
  }
  self->staging = g_malloc (self->pix.sizeimage);
  return TRUE;
}

/*
 * Takes back the oldest buffer the device is done with, if any, without
 * waiting; an imported dmabuf goes back to upstream's pool. Returns an
 * errno value.
 */
static gint
lbs_take_back (GstLoopbackSink * self)
{
  struct v4l2_buffer b = {
    .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
    .memory = self->dmabuf_mode ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
  };

  if (!self->streaming)
    return 0;
  if (ioctl (self->fd, VIDIOC_DQBUF, &b) < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : errno;
  if (b.index >= self->n_bufs)
    return EINVAL;
  self->bufs[b.index].queued = FALSE;
  gst_buffer_replace (&self->bufs[b.index].imported, NULL);
  return 0;
}

/* Memory at @index (-1: the staging area) is about to be written. */
static void
lbs_forget_kept (GstLoopbackSink * self, gint index)
{
  if (self->kept_index == index)
    self->kept_frame = NULL;
}

/*
 * Where to put the next frame: a free device buffer (waiting for one
 * the device has done with when all are queued) or the staging area.
 * Returns an errno value; *index is the buffer, -1 for write().
 */
static gint lbs_free_buffer (GstLoopbackSink * self);

static gint
lbs_frame_begin (GstLoopbackSink * self, guint8 ** data, gint * index)
{
  gint err;

  *index = -1;
  if (!self->use_mmap) {
    *data = self->staging;
    lbs_forget_kept (self, -1);
    return 0;
  }
  /*
   * At most n_bufs - KEPT_BUFFERS are lent, so a buffer that is neither
   * lent nor queued, or one that comes back, is always in sight.
   */
  for (;;) {
    gint free_index;

    if ((err = lbs_take_back (self)))
      return err;
    free_index = lbs_free_buffer (self);
    if (free_index >= 0) {
      *index = free_index;
      *data = self->bufs[free_index].data;
      lbs_forget_kept (self, free_index);
      return 0;
    }
    if ((err = lbs_poll_out (self)))
      return err;
  }
}

/*
 * The lowest-numbered buffer neither queued nor lent, or -1. With readers
 * that keep up, every frame then goes out in buffer 0: one frame of memory
 * is written and read over and over and stays in the CPU caches, where
 * taking the buffers in turn would sweep through all of them.
 */
/* Device buffer @index is neither queued nor lent (lend_lock held). */
static gboolean
lbs_buffer_unused (GstLoopbackSink * self, guint index)
{
  return !self->bufs[index].queued && !self->bufs[index].lent;
}

static gint
lbs_free_buffer (GstLoopbackSink * self)
{
  gint index = -1;

  g_mutex_lock (&self->lend_lock);
  for (guint i = 0; i < self->n_bufs && index < 0; i++)
    if (lbs_buffer_unused (self, i))
      index = (gint) i;
  g_mutex_unlock (&self->lend_lock);
  return index;
}

/* Is device buffer @index neither queued nor lent? */
static gboolean
lbs_buffer_is_free (GstLoopbackSink * self, gint index)
{
  gboolean is_free;

  g_mutex_lock (&self->lend_lock);
  is_free = lbs_buffer_unused (self, (guint) index);
  g_mutex_unlock (&self->lend_lock);
  return is_free;
}

/* Hands the frame to the device: QBUF (exact bytesused) or one write(). */
static gint
lbs_frame_commit (GstLoopbackSink * self, gint index, gsize size)
{
  if (index >= 0) {
    LbsDeviceBuffer *db = &self->bufs[index];
    struct v4l2_buffer b = {
      .index = (guint) index,
      .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
      .memory = V4L2_MEMORY_MMAP,
      .bytesused = (guint) size,
      .field = V4L2_FIELD_NONE,
      .flags = V4L2_BUF_FLAG_TIMESTAMP_COPY,
    };
    gint64 now = g_get_monotonic_time ();

    if (self->dmabuf_mode) {
      b.memory = V4L2_MEMORY_DMABUF;
      b.m.fd = db->imported_fd;
      b.length = (guint) db->length;
    }

    b.timestamp.tv_sec = now / G_USEC_PER_SEC;
    b.timestamp.tv_usec = now % G_USEC_PER_SEC;
    if (ioctl (self->fd, VIDIOC_QBUF, &b) < 0)
      return errno;
    self->bufs[index].queued = TRUE;
    if (!self->streaming) {
      gint type = V4L2_BUF_TYPE_VIDEO_OUTPUT;

      if (ioctl (self->fd, VIDIOC_STREAMON, &type) < 0)
        return errno;
      self->streaming = TRUE;
    }
  } else {
    gsize done = 0;

    while (done < size) {
      ssize_t n = write (self->fd, self->staging + done, size - done);
      gint err;

      if (n > 0) {
        done += (gsize) n;
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return errno;
      if (n < 0 && errno == EAGAIN && (err = lbs_poll_out (self)))
        return err;
    }
  }
  self->frames_out++;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */

static gint
lbs_compare_us (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The trial's median time per frame, without the first round. */
static gint64
lbs_trial_median_us (gint64 us[CONVERT_TRIAL_ROUNDS])
{
  qsort (us + 1, CONVERT_TRIAL_ROUNDS - 1, sizeof (*us), lbs_compare_us);
  return us[1 + (CONVERT_TRIAL_ROUNDS - 1) / 2];
}

/* One frame through converter @kind. */
static void
lbs_convert_with (GstLoopbackSink * self, LbsConverterKind kind,
    const GstVideoFrame * in, GstVideoFrame * out)
{
  switch (kind) {
    case LBS_CONVERTER_ONE_PASS:
      gst_loopback_rgb_convert_frame (self->convert_one_pass, in, out);
      break;
    case LBS_CONVERTER_THREADED:
      gst_video_converter_frame (self->convert_threaded, in, out);
      break;
    default:
      gst_video_converter_frame (self->convert, in, out);
      break;
  }
}

/* The trial's winner: the faster one-thread converter, or the threads. */
static LbsConverterKind
lbs_trial_choice (GstLoopbackSink * self, gint64 median_us[LBS_N_CONVERTERS])
{
  LbsConverterKind best = LBS_CONVERTER_ONE_THREAD;

  for (guint i = 0; i < self->trial_n_kinds; i++)
    median_us[self->trial_kinds[i]] =
        lbs_trial_median_us (self->trial_us[self->trial_kinds[i]]);
  if (self->convert_one_pass && median_us[LBS_CONVERTER_ONE_PASS] <=
      median_us[LBS_CONVERTER_ONE_THREAD])
    best = LBS_CONVERTER_ONE_PASS;
  if (self->convert_threaded && median_us[LBS_CONVERTER_THREADED] <=
      median_us[best] * THREADED_SHARE)
    best = LBS_CONVERTER_THREADED;
  return best;
}

/*
 * A frame of the converter trial (n-threads=0): the candidates in turn;
 * the last keeps the one lbs_trial_choice() picks and frees the others.
 */
static void
lbs_convert_trial (GstLoopbackSink * self, const GstVideoFrame * in,
    GstVideoFrame * out)
{
  guint n = self->trial_frames++;
  LbsConverterKind kind = self->trial_kinds[n % self->trial_n_kinds];
  gint64 start = g_get_monotonic_time ();
  gint64 median_us[LBS_N_CONVERTERS] = { -1, -1, -1 };
  guint threads = 1;

  lbs_convert_with (self, kind, in, out);
  self->trial_us[kind][n / self->trial_n_kinds] =
      g_get_monotonic_time () - start;
  if (self->trial_frames < self->trial_n_kinds * CONVERT_TRIAL_ROUNDS)
    return;

  kind = lbs_trial_choice (self, median_us);
  self->trial_n_kinds = 0;
  if (kind == LBS_CONVERTER_THREADED) {
    gst_video_converter_free (self->convert);
    self->convert = g_steal_pointer (&self->convert_threaded);
    threads = self->convert_threaded_n;
  } else {
    g_clear_pointer (&self->convert_threaded, gst_video_converter_free);
  }
  if (kind == LBS_CONVERTER_ONE_PASS)
    g_clear_pointer (&self->convert, gst_video_converter_free);
  else
    g_clear_pointer (&self->convert_one_pass, gst_loopback_rgb_convert_free);
  GST_INFO_OBJECT (self, "converting with %s, %u thread(s): a frame took %"
      G_GINT64_FORMAT " us with one, %" G_GINT64_FORMAT " us with %u, %"
      G_GINT64_FORMAT " us in one pass", self->convert_one_pass ? "one pass" :
      "GstVideoConverter", threads, median_us[LBS_CONVERTER_ONE_THREAD],
      median_us[LBS_CONVERTER_THREADED], self->convert_threaded_n,
      median_us[LBS_CONVERTER_ONE_PASS]);
  if (self->threads_info)
    gst_structure_free (self->threads_info);
  self->threads_info = gst_structure_new ("loopbacksink-threads",
      "converter", G_TYPE_STRING, self->convert_one_pass ? "one-pass" :
      "videoconverter", "threads", G_TYPE_UINT, threads,
      "one-thread-us", G_TYPE_INT64, median_us[LBS_CONVERTER_ONE_THREAD],
      "threaded-us", G_TYPE_INT64, median_us[LBS_CONVERTER_THREADED],
      "one-pass-us", G_TYPE_INT64, median_us[LBS_CONVERTER_ONE_PASS], NULL);
}

/* Renders an input frame (in in_info) into device memory at @dst. */
static gint
lbs_render_into (GstLoopbackSink * self, GstBuffer * buf, guint8 * dst,
    gsize * size)
{
  GstVideoFrame in, out;
  GstBuffer *outbuf;

  if (self->path_kind == LBS_PATH_COMPRESSED) {
    gsize n = gst_buffer_get_size (buf);

    if (n > self->pix.sizeimage) {
      GST_WARNING_OBJECT (self, "frame of %" G_GSIZE_FORMAT " bytes does not "
          "fit the device's %u: dropped", n, self->pix.sizeimage);
      return EMSGSIZE;
    }
    *size = gst_buffer_extract (buf, 0, dst, n);
    return 0;
  }

  *size = GST_VIDEO_INFO_SIZE (&self->out_info);
  if (self->path_kind == LBS_PATH_MEMCPY && !gst_buffer_get_video_meta (buf)
      && gst_buffer_get_size (buf) >= *size) {
    gst_buffer_extract (buf, 0, dst, *size);
    return 0;
  }

  if (!gst_video_frame_map (&in, &self->in_info, buf, GST_MAP_READ))
    return EINVAL;
  outbuf = gst_buffer_new_wrapped_full (0, dst, *size, 0, *size, NULL, NULL);
  if (!gst_video_frame_map (&out, &self->out_info, outbuf, GST_MAP_WRITE)) {
    gst_video_frame_unmap (&in);
    gst_buffer_unref (outbuf);
    return EINVAL;
  }
  if (self->trial_n_kinds > 1)
    lbs_convert_trial (self, &in, &out);
  else if (self->convert_one_pass)
    gst_loopback_rgb_convert_frame (self->convert_one_pass, &in, &out);
  else if (self->convert)
    gst_video_converter_frame (self->convert, &in, &out);
  else
    gst_video_frame_copy (&out, &in);
  gst_video_frame_unmap (&out);
  gst_video_frame_unmap (&in);
  gst_buffer_unref (outbuf);
  return 0;
}

/*
 * Which device buffer @buf's memory is, when upstream rendered into one the
 * sink lent and the device does not hold it now; -1 otherwise.
 */
static gint
lbs_lent_buffer (GstLoopbackSink * self, GstBuffer * buf)
{
  GstMapInfo map;
  gint index = -1;

  if (!self->use_mmap || self->path_kind != LBS_PATH_MEMCPY
      || gst_buffer_n_memory (buf) != 1
      || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return -1;
  for (guint i = 0; i < self->n_bufs; i++)
    if (map.data == self->bufs[i].data && !self->bufs[i].queued
        && map.size >= GST_VIDEO_INFO_SIZE (&self->out_info))
      index = (gint) i;
  gst_buffer_unmap (buf, &map);
  return index;
}

/*
 * The dmabuf fd of @buf when the device can take the frame as it is: one
 * dmabuf memory, from its start, holding a whole frame in the device's
 * format and layout. -1 otherwise. *@length is the dmabuf's size.
 */
static gint
lbs_importable_fd (GstLoopbackSink * self, GstBuffer * buf, gsize * length)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);
  GstMemory *mem;
  gsize offset, maxsize;

  if (self->dmabuf_off || self->path_kind != LBS_PATH_MEMCPY
      || !(self->use_mmap || self->dmabuf_mode)
      || gst_buffer_n_memory (buf) != 1)
    return -1;
  mem = gst_buffer_peek_memory (buf, 0);
  if (!gst_is_dmabuf_memory (mem))
    return -1;
  gst_memory_get_sizes (mem, &offset, &maxsize);
  if (offset != 0 || maxsize < self->pix.sizeimage)
    return -1;
  for (guint i = 0; meta && i < meta->n_planes; i++)
    if (meta->offset[i] != GST_VIDEO_INFO_PLANE_OFFSET (&self->out_info, i)
        || meta->stride[i] != GST_VIDEO_INFO_PLANE_STRIDE (&self->out_info,
            i))
      return -1;
  *length = maxsize;
  return gst_dmabuf_memory_get_fd (mem);
}

/*
 * Replaces the device buffers: upstream's dmabufs (V4L2_MEMORY_DMABUF) or
 * memory-mapped ones of the device. A device that refuses DMABUF keeps
 * getting copies. Returns an errno value.
 */
static gint
lbs_switch_io (GstLoopbackSink * self, gboolean dmabuf)
{
  struct v4l2_requestbuffers req = {
    .count = N_BUFFERS,
    .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
    .memory = V4L2_MEMORY_DMABUF,
  };

  gst_loopback_sink_io_stop (self);
  if (dmabuf) {
    if (ioctl (self->fd, VIDIOC_REQBUFS, &req) == 0 && req.count > 0) {
      self->n_bufs = MIN (req.count, MAX_BUFFERS);
      for (guint i = 0; i < self->n_bufs; i++)
        self->bufs[i].imported_fd = -1;
      self->dmabuf_mode = TRUE;
      GST_INFO_OBJECT (self, "input is dmabuf memory: queued to the device "
          "as it is (DMABUF import, %u buffers)", self->n_bufs);
      return 0;
    }
    GST_INFO_OBJECT (self, "the device does not import dmabufs (%s): input "
        "copied into its buffers", g_strerror (errno));
    self->dmabuf_off = TRUE;
  }
  return gst_loopback_sink_io_start (self) ? 0 : EIO;
}

/* Queues upstream's dmabuf @fd, held until the device is done with it. */
static gint
lbs_output_dmabuf (GstLoopbackSink * self, GstBuffer * buf, gint fd,
    gsize length)
{
  gint index = -1, err;

  for (;;) {
    if ((err = lbs_take_back (self)))
      return err;
    /*
     * The buffer that had this dmabuf last, whose attachment the device
     * keeps; else one never used, else any: fewer re-attachments.
     */
    for (guint i = 0; i < self->n_bufs; i++) {
      if (self->bufs[i].queued)
        continue;
      if (self->bufs[i].imported_fd == fd) {
        index = (gint) i;
        break;
      }
      if (index < 0 || (self->bufs[index].imported_fd >= 0
              && self->bufs[i].imported_fd < 0))
        index = (gint) i;
    }
    if (index >= 0)
      break;
    if ((err = lbs_poll_out (self)))
      return err;
  }
  self->bufs[index].imported_fd = fd;
  self->bufs[index].length = length;
  if ((err = lbs_frame_commit (self, index,
              GST_VIDEO_INFO_SIZE (&self->out_info))))
    return err;
  gst_buffer_replace (&self->bufs[index].imported, buf);
  self->frames_imported++;
  return 0;
}

/* A frame the device cannot import: copies from now on, until new caps. */
static gint
lbs_stop_import (GstLoopbackSink * self, const gchar * why)
{
  GST_INFO_OBJECT (self, "%s: copied into device buffers from now on", why);
  self->dmabuf_off = TRUE;
  return lbs_switch_io (self, FALSE);
}

/* Device buffer @index (-1: the staging area) now holds @buf's frame. */
static void
lbs_keep (GstLoopbackSink * self, GstBuffer * buf, gint index, gsize size)
{
  self->kept_frame = buf;
  self->kept_index = index;
  self->kept_size = size;
}

/* Sends one input frame to the device. */
static gint
lbs_output_buffer (GstLoopbackSink * self, GstBuffer * buf)
{
  guint8 *dst;
  gsize size = 0, length = 0;
  gint index, err, fd;

  /*
   * Whatever this frame becomes, the kept one is no longer the last: a
   * new buffer at a freed one's address must never match it.
   */
  self->kept_frame = NULL;
  /* Rendered into device memory already: queue it as it is. */
  if ((index = lbs_lent_buffer (self, buf)) >= 0) {
    size = GST_VIDEO_INFO_SIZE (&self->out_info);
    if ((err = lbs_frame_commit (self, index, size)))
      return err;
    self->frames_in_place++;
    lbs_keep (self, buf, index, size);
    return 0;
  }
  /* A dmabuf in the device's layout: the device takes it as it is. */
  fd = lbs_importable_fd (self, buf, &length);
  if (fd >= 0 && !self->dmabuf_mode && (err = lbs_switch_io (self, TRUE)))
    return err;
  if (self->dmabuf_mode) {
    if (fd >= 0)
      return lbs_output_dmabuf (self, buf, fd, length);
    if ((err = lbs_stop_import (self, "input that is not an importable "
                "dmabuf")))
      return err;
  }
  if ((err = lbs_frame_begin (self, &dst, &index)))
    return err;
  if ((err = lbs_render_into (self, buf, dst, &size)))
    return err;
  if ((err = lbs_frame_commit (self, index, size)))
    return err;
  lbs_keep (self, buf, index, size);
  return 0;
}

/*
 * @buf again, as the keep-alive's repeat: the device buffer that still
 * holds it is queued once more when the device has given it back, with no
 * copy and no conversion; otherwise it is rendered anew.
 */
static gint
lbs_output_again (GstLoopbackSink * self, GstBuffer * buf)
{
  gint err;

  if (self->kept_frame == buf) {
    if ((err = lbs_take_back (self)))
      return err;
    if (self->kept_frame == buf && (self->kept_index < 0
            || lbs_buffer_is_free (self, self->kept_index))) {
      if ((err = lbs_frame_commit (self, self->kept_index, self->kept_size)))
        return err;
      self->frames_requeued++;
      return 0;
    }
  }
  return lbs_output_buffer (self, buf);
}

/*
 * Sends a whole frame already in the device format, @what (the
 * placeholder, the last frame of the old caps), to the device. Importing,
 * the element moves to its own buffers for it, and back with upstream's
 * next dmabuf: such frames come between streams, not within one.
 */
static gint
lbs_output_raw (GstLoopbackSink * self, const guint8 * frame,
    const gchar * what)
{
  gsize size = GST_VIDEO_INFO_SIZE (&self->out_info);
  guint8 *dst;
  gint index, err;

  if (self->dmabuf_mode) {
    GST_INFO_OBJECT (self, "%s (%s%s): from device buffers until the next "
        "dmabuf", what, self->playing ? "PLAYING" : "not PLAYING",
        self->eos ? ", after EOS" : "");
    if ((err = lbs_switch_io (self, FALSE)))
      return err;
  }
  if ((err = lbs_frame_begin (self, &dst, &index)))
    return err;
  memcpy (dst, frame, size);
  return lbs_frame_commit (self, index, size);
}

/* A loan ends with the last reference to its memory. */
static void
lbs_loan_end (gpointer data)
{
  LbsLoan *loan = data;
  GstLoopbackSink *self = loan->sink;

  g_mutex_lock (&self->lend_lock);
  if (loan->generation == self->generation)
    self->bufs[loan->index].lent = FALSE;
  g_mutex_unlock (&self->lend_lock);
  lbs_mapping_unref (loan->map);
  gst_object_unref (self);
  g_free (loan);
}

/**
 * gst_loopback_sink_lend_buffer:
 * @self: the sink
 * @info: the layout of the frames upstream will render
 * @buffer: (out): a buffer whose memory is a device buffer
 *
 * Lends upstream a device buffer to render the next frame into, so that
 * the frame reaches the device with no copy. Never waits: when frames in
 * @info are not sent as they are, or no device buffer is free now, it
 * returns %FALSE and the pool hands out system memory instead (copied as
 * before).
 *
 * Returns: whether @buffer was set
 */
gboolean
gst_loopback_sink_lend_buffer (GstLoopbackSink * self,
    const GstVideoInfo * info, GstBuffer ** buffer)
{
  struct v4l2_buffer b = {
    .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
    .memory = V4L2_MEMORY_MMAP,
  };
  LbsDeviceBuffer *db;
  LbsLoan *loan;
  gint index = -1;

  g_mutex_lock (&self->lock);
  if (!self->configured || !self->use_mmap || self->device_gone
      || self->path_kind != LBS_PATH_MEMCPY
      || !gst_video_info_is_equal (info, &self->in_info))
    goto out;
  for (;;) {
    guint lent = 0;

    g_mutex_lock (&self->lend_lock);
    for (guint i = 0; i < self->n_bufs; i++)
      lent += self->bufs[i].lent;
    for (guint i = 0; i < self->n_bufs && index < 0; i++)
      if (lent + KEPT_BUFFERS < self->n_bufs && !self->bufs[i].queued
          && !self->bufs[i].lent)
        index = (gint) i;
    g_mutex_unlock (&self->lend_lock);
    if (index >= 0 || lent + KEPT_BUFFERS >= self->n_bufs)
      break;
    /* Take back what the device is done with, without waiting. */
    if (ioctl (self->fd, VIDIOC_DQBUF, &b) < 0 || b.index >= self->n_bufs)
      break;
    self->bufs[b.index].queued = FALSE;
  }
  if (index < 0)
    goto out;

  db = &self->bufs[index];
  lbs_forget_kept (self, index);
  loan = g_new (LbsLoan, 1);
  loan->sink = gst_object_ref (self);
  loan->map = lbs_mapping_ref (db->map);
  loan->generation = self->generation;
  loan->index = (guint) index;
  g_mutex_lock (&self->lend_lock);
  db->lent = TRUE;
  g_mutex_unlock (&self->lend_lock);
  *buffer = gst_buffer_new ();
  gst_buffer_append_memory (*buffer, gst_memory_new_wrapped (0, db->data,
          db->length, 0, GST_VIDEO_INFO_SIZE (info), loan, lbs_loan_end));
out:
  g_mutex_unlock (&self->lock);
  return index >= 0;
}

/*
 * Decodes placeholder-image once, with a small pipeline whose sink keeps
 * the last sample; FALSE (with a warning) if it cannot.
 */
static gboolean
gst_loopback_sink_load_image (GstLoopbackSink * self, const gchar * file)
{
  GstElement *pipe, *src, *sink;
  GstSample *sample = NULL;
  GstMessage *msg;
  GError *error = NULL;

  pipe = gst_parse_launch ("filesrc name=src ! decodebin ! videoconvert ! "
      "videoscale ! video/x-raw, format=AYUV, pixel-aspect-ratio=1/1 ! "
      "fakesink name=sink sync=false enable-last-sample=true", &error);
  if (!pipe) {
    GST_ELEMENT_WARNING (self, CORE, MISSING_PLUGIN,
        ("Cannot decode placeholder-image %s: %s", file, error->message),
        (NULL));
    g_clear_error (&error);
    return FALSE;
  }
  src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  g_object_set (src, "location", file, NULL);

  gst_element_set_state (pipe, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipe), 10 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, NULL);
  else if (msg)
    g_object_get (sink, "last-sample", &sample, NULL);
  gst_element_set_state (pipe, GST_STATE_NULL);
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipe);

  if (!sample || !gst_video_info_from_caps (&self->image_info,
          gst_sample_get_caps (sample))) {
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("Cannot use placeholder-image %s: %s", file,
            error ? error->message : "no picture in it"), (NULL));
    g_clear_error (&error);
    if (sample)
      gst_sample_unref (sample);
    return FALSE;
  }
  self->image = gst_buffer_ref (gst_sample_get_buffer (sample));
  gst_sample_unref (sample);
  GST_INFO_OBJECT (self, "placeholder image %s: %dx%d", file,
      GST_VIDEO_INFO_WIDTH (&self->image_info),
      GST_VIDEO_INFO_HEIGHT (&self->image_info));
  return TRUE;
}

/* A still picture in the device format: black, or the placeholder image. */
static void
gst_loopback_sink_make_placeholder (GstLoopbackSink * self)
{
  GstLoopbackSinkPlaceholder kind;
  GstLoopbackSinkScaleMode mode;
  gchar *file;
  GstVideoInfo src_info;
  GstBuffer *src = NULL, *dst;
  GstVideoFrame in, out;
  GstVideoRectangle rect;
  GstVideoConverter *conv;
  gsize size = GST_VIDEO_INFO_SIZE (&self->out_info);

  g_clear_pointer (&self->placeholder_frame, g_free);
  GST_OBJECT_LOCK (self);
  kind = self->placeholder;
  mode = self->scale_mode;
  file = g_strdup (self->placeholder_image);
  GST_OBJECT_UNLOCK (self);

  if (kind == GST_LOOPBACK_SINK_PLACEHOLDER_IMAGE && file && !self->image)
    gst_loopback_sink_load_image (self, file);
  g_free (file);

  if (kind == GST_LOOPBACK_SINK_PLACEHOLDER_IMAGE && self->image) {
    src = gst_buffer_ref (self->image);
    src_info = self->image_info;
    lbs_fit_rect (GST_VIDEO_INFO_WIDTH (&src_info),
        GST_VIDEO_INFO_HEIGHT (&src_info), 1, 1, &self->out_info, mode, &rect);
  } else {
    /* A black AYUV picture of the frame's size: no scaling, exact black. */
    guint8 *p;

    gst_video_info_set_format (&src_info, GST_VIDEO_FORMAT_AYUV,
        GST_VIDEO_INFO_WIDTH (&self->out_info),
        GST_VIDEO_INFO_HEIGHT (&self->out_info));
    src = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&src_info),
        NULL);
    p = g_malloc (GST_VIDEO_INFO_SIZE (&src_info));
    for (gsize i = 0; i < GST_VIDEO_INFO_SIZE (&src_info); i += 4) {
      p[i] = 0xff;
      p[i + 1] = 16;
      p[i + 2] = p[i + 3] = 128;
    }
    gst_buffer_fill (src, 0, p, GST_VIDEO_INFO_SIZE (&src_info));
    g_free (p);
    rect.x = rect.y = 0;
    rect.w = GST_VIDEO_INFO_WIDTH (&self->out_info);
    rect.h = GST_VIDEO_INFO_HEIGHT (&self->out_info);
  }

  self->placeholder_frame = g_malloc0 (size);
  dst = gst_buffer_new_wrapped_full (0, self->placeholder_frame, size, 0,
      size, NULL, NULL);
  conv = lbs_converter_new (&src_info, &self->out_info, &rect, 1);
  if (conv && gst_video_frame_map (&in, &src_info, src, GST_MAP_READ)) {
    if (gst_video_frame_map (&out, &self->out_info, dst, GST_MAP_WRITE)) {
      gst_video_converter_frame (conv, &in, &out);
      gst_video_frame_unmap (&out);
    }
    gst_video_frame_unmap (&in);
  }
  if (conv)
    gst_video_converter_free (conv);
  gst_buffer_unref (dst);
  gst_buffer_unref (src);
}

/* ------------------------------------------------------------------------ */
/* Negotiation                                                              */

static GstCaps *
gst_loopback_sink_get_caps (GstBaseSink * bsink, GstCaps * filter)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  GstCaps *tmpl = gst_pad_get_pad_template_caps (GST_BASE_SINK_PAD (bsink));
  GstCaps *caps;

  g_mutex_lock (&self->lock);
  if (self->fd >= 0 && self->fixed
      && lbs_fourcc_is_compressed (self->fixed_pix.pixelformat)) {
    /* A compressed device format can only be fed as it is. */
    const struct v4l2_pix_format *p = &self->fixed_pix;

    if (p->pixelformat == V4L2_PIX_FMT_H264)
      caps = gst_caps_new_simple ("video/x-h264", "stream-format",
          G_TYPE_STRING, "byte-stream", "alignment", G_TYPE_STRING, "au",
          NULL);
    else
      caps = gst_caps_new_empty_simple ("image/jpeg");
    gst_caps_set_simple (caps, "width", G_TYPE_INT, (gint) p->width,
        "height", G_TYPE_INT, (gint) p->height, "framerate",
        GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, NULL);
    gst_caps_unref (tmpl);
  } else if (self->fd >= 0 && self->fixed) {
    /* A raw device format: any raw input, converted. */
    caps = gst_caps_copy_nth (tmpl, 0);
    gst_caps_unref (tmpl);
  } else {
    caps = tmpl;
  }
  g_mutex_unlock (&self->lock);

  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

/* The device format wanted for the input, when the device is free. */
static void
lbs_wanted_pix (const GstVideoInfo * in, guint32 compressed_fourcc,
    struct v4l2_pix_format *pix)
{
  memset (pix, 0, sizeof (*pix));
  pix->width = GST_VIDEO_INFO_WIDTH (in);
  pix->height = GST_VIDEO_INFO_HEIGHT (in);
  pix->field = V4L2_FIELD_NONE;
  if (compressed_fourcc) {
    pix->pixelformat = compressed_fourcc;
    pix->sizeimage = pix->width * pix->height * 2;
    return;
  }
  pix->pixelformat = lbs_pick_fourcc (GST_VIDEO_INFO_FORMAT (in));
  /* 4:2:x chroma covers two columns (and two lines for 4:2:0). */
  pix->width = GST_ROUND_UP_2 (pix->width);
  if (pix->pixelformat != V4L2_PIX_FMT_YUYV)
    pix->height = GST_ROUND_UP_2 (pix->height);

  if (GST_VIDEO_INFO_IS_YUV (in)) {
    lbs_colorimetry_to_v4l2 (&in->colorimetry, pix);
  } else {
    /* RGB or grey in: the YUV colorimetry GStreamer uses for this size. */
    GstVideoInfo yuv;

    gst_video_info_set_format (&yuv, GST_VIDEO_FORMAT_I420, pix->width,
        pix->height);
    lbs_colorimetry_to_v4l2 (&yuv.colorimetry, pix);
  }
}

static gboolean
lbs_same_pix (const struct v4l2_pix_format *a, const struct v4l2_pix_format *b)
{
  return a->pixelformat == b->pixelformat && a->width == b->width
      && a->height == b->height && a->colorspace == b->colorspace
      && a->ycbcr_enc == b->ycbcr_enc && a->quantization == b->quantization
      && a->xfer_func == b->xfer_func;
}

static gboolean
lbs_same_layout (const GstVideoInfo * a, const GstVideoInfo * b)
{
  if (GST_VIDEO_INFO_FORMAT (a) != GST_VIDEO_INFO_FORMAT (b)
      || GST_VIDEO_INFO_WIDTH (a) != GST_VIDEO_INFO_WIDTH (b)
      || GST_VIDEO_INFO_HEIGHT (a) != GST_VIDEO_INFO_HEIGHT (b))
    return FALSE;
  for (guint i = 0; i < GST_VIDEO_INFO_N_PLANES (a); i++)
    if (a->stride[i] != b->stride[i] || a->offset[i] != b->offset[i])
      return FALSE;
  return TRUE;
}

static gboolean
lbs_same_colorimetry (const GstVideoInfo * a, const GstVideoInfo * b)
{
  const GstVideoColorimetry *ca = &a->colorimetry, *cb = &b->colorimetry;

  if (!GST_VIDEO_INFO_IS_YUV (a))
    return TRUE;                /* RGB, grey: no matrix, no range to match */
  return ca->matrix == cb->matrix && ca->range == cb->range;
}

/* Sets the device format (lock held); FALSE with an error posted. */
static gboolean
gst_loopback_sink_set_device_format (GstLoopbackSink * self,
    const struct v4l2_pix_format *want)
{
  struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
  gchar a[5], b[5];

  if (self->format_set && lbs_same_pix (want, &self->pix))
    return TRUE;

  /* A new format: the buffers go first (STREAMOFF, REQBUFS 0). */
  gst_loopback_sink_io_stop (self);
  f.fmt.pix = *want;
  if (ioctl (self->fd, VIDIOC_S_FMT, &f) < 0)
    return gst_loopback_sink_device_error (self, "VIDIOC_S_FMT", errno);
  if (f.fmt.pix.pixelformat != want->pixelformat
      && !lbs_fourcc_is_compressed (want->pixelformat)
      && lbs_format_from_fourcc (f.fmt.pix.pixelformat) !=
      GST_VIDEO_FORMAT_UNKNOWN) {
    GST_INFO_OBJECT (self, "device took %s instead of %s: converting",
        lbs_fourcc_str (f.fmt.pix.pixelformat, a),
        lbs_fourcc_str (want->pixelformat, b));
  } else if (f.fmt.pix.pixelformat != want->pixelformat
      || ((f.fmt.pix.width != want->width
              || f.fmt.pix.height != want->height)
          && lbs_fourcc_is_compressed (want->pixelformat))) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("%s cannot take %s %ux%u (it offers %s %ux%u)", self->path,
            lbs_fourcc_str (want->pixelformat, a), want->width, want->height,
            lbs_fourcc_str (f.fmt.pix.pixelformat, b), f.fmt.pix.width,
            f.fmt.pix.height), (NULL));
    return FALSE;
  }
  self->pix = f.fmt.pix;
  self->format_set = TRUE;
  GST_INFO_OBJECT (self, "device format %s %ux%u, %u bytes",
      lbs_fourcc_str (self->pix.pixelformat, a), self->pix.width,
      self->pix.height, self->pix.sizeimage);
  return TRUE;
}

/* S_PARM from the caps rate (device rate if the caps have none). */
static void
gst_loopback_sink_set_rate (GstLoopbackSink * self, gint fps_n, gint fps_d)
{
  struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
  struct v4l2_fract *tpf = &parm.parm.output.timeperframe;
  gint ret;

  if (fps_n > 0 && fps_d > 0) {
    tpf->numerator = (guint) fps_d;
    tpf->denominator = (guint) fps_n;
    ret = ioctl (self->fd, VIDIOC_S_PARM, &parm);
  } else {
    ret = ioctl (self->fd, VIDIOC_G_PARM, &parm);
  }
  if (ret < 0 || !tpf->numerator || !tpf->denominator) {
    GST_DEBUG_OBJECT (self, "no device frame rate (%s)",
        ret < 0 ? g_strerror (errno) : "zero");
    if (fps_n > 0 && fps_d > 0) {
      tpf->numerator = (guint) fps_d;
      tpf->denominator = (guint) fps_n;
    } else {
      tpf->numerator = 1;
      tpf->denominator = FALLBACK_FPS;
    }
  }
  self->interval = gst_util_uint64_scale (GST_SECOND, tpf->numerator,
      tpf->denominator);
  GST_INFO_OBJECT (self, "frame interval %" GST_TIME_FORMAT,
      GST_TIME_ARGS (self->interval));
}

/*
 * The input format changes but the device format stays: the last frame,
 * rendered with the old conversion, keeps readers fed until the first
 * frame in the new format comes (a caps change takes longer than a frame
 * interval).
 */
static void
lbs_keep_bridge_frame (GstLoopbackSink * self,
    const struct v4l2_pix_format *old_pix, gboolean was_raw)
{
  gsize size = GST_VIDEO_INFO_SIZE (&self->out_info);

  g_clear_pointer (&self->bridge_frame, g_free);
  if (!was_raw || !self->last_buffer || !lbs_same_pix (old_pix, &self->pix))
    return;
  self->bridge_frame = g_malloc (size);
  if (lbs_render_into (self, self->last_buffer, self->bridge_frame, &size))
    g_clear_pointer (&self->bridge_frame, g_free);
}

/* No converter, and no trial: before new caps, and when closing. */
static void
lbs_free_converters (GstLoopbackSink * self)
{
  g_clear_pointer (&self->convert, gst_video_converter_free);
  g_clear_pointer (&self->convert_threaded, gst_video_converter_free);
  g_clear_pointer (&self->convert_one_pass, gst_loopback_rgb_convert_free);
  self->trial_n_kinds = 0;
}

/*
 * The converters from @in to the device format: with n-threads set,
 * GstVideoConverter with that many threads; with 0, it with one thread
 * and, with more than one CPU, with a thread per CPU, and the one-pass
 * converter when it does this pair, for the trial to choose among
 * (lbs_convert_trial).
 */
static gboolean
lbs_make_converters (GstLoopbackSink * self, const GstVideoInfo * in)
{
  guint threads, cpus = g_get_num_processors ();
  guint n = 0;

  GST_OBJECT_LOCK (self);
  threads = self->n_threads;
  GST_OBJECT_UNLOCK (self);
  self->convert = lbs_converter_new (in, &self->out_info, &self->dest,
      threads ? threads : 1);
  self->trial_kinds[n++] = LBS_CONVERTER_ONE_THREAD;
  if (self->convert && !threads && cpus > 1) {
    self->convert_threaded = lbs_converter_new (in, &self->out_info,
        &self->dest, cpus);
    self->convert_threaded_n = cpus;
    self->trial_kinds[n++] = LBS_CONVERTER_THREADED;
  }
  if (self->convert && !threads && self->dest.x == 0 && self->dest.y == 0
      && self->dest.w == GST_VIDEO_INFO_WIDTH (&self->out_info)
      && self->dest.h == GST_VIDEO_INFO_HEIGHT (&self->out_info)) {
    self->convert_one_pass = gst_loopback_rgb_convert_new (in,
        &self->out_info);
    if (self->convert_one_pass)
      self->trial_kinds[n++] = LBS_CONVERTER_ONE_PASS;
  }
  self->trial_n_kinds = n;
  self->trial_frames = 0;
  return self->convert != NULL;
}

static gboolean
gst_loopback_sink_configure (GstLoopbackSink * self, GstCaps * caps,
    gboolean was_raw)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *name = gst_structure_get_name (s);
  guint32 compressed = 0;
  struct v4l2_pix_format want, old_pix;
  GstVideoInfo in;
  gint fps_n = 0, fps_d = 1;
  GstLoopbackSinkScaleMode mode;
  gchar a[5];

  if (g_str_equal (name, "image/jpeg"))
    compressed = V4L2_PIX_FMT_MJPEG;
  else if (g_str_equal (name, "video/x-h264"))
    compressed = V4L2_PIX_FMT_H264;

  gst_video_info_init (&in);
  if (compressed) {
    gint w = 0, h = 0;

    gst_structure_get_int (s, "width", &w);
    gst_structure_get_int (s, "height", &h);
    gst_video_info_set_format (&in, GST_VIDEO_FORMAT_ENCODED, (guint) w,
        (guint) h);
  } else if (!gst_video_info_from_caps (&in, caps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("invalid caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  gst_structure_get_fraction (s, "framerate", &fps_n, &fps_d);

  /* The device format: the fixed one, or the closest browsers read. */
  if (self->fixed) {
    want = self->fixed_pix;
    if (compressed != 0
        && (want.pixelformat != compressed
            || want.width != (guint) GST_VIDEO_INFO_WIDTH (&in)
            || want.height != (guint) GST_VIDEO_INFO_HEIGHT (&in))) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("%s is fixed to %s %ux%u: %s %dx%d cannot be converted to it",
              self->path, lbs_fourcc_str (want.pixelformat, a), want.width,
              want.height, name, GST_VIDEO_INFO_WIDTH (&in),
              GST_VIDEO_INFO_HEIGHT (&in)), (NULL));
      return FALSE;
    }
    if (!compressed && lbs_format_from_fourcc (want.pixelformat) ==
        GST_VIDEO_FORMAT_UNKNOWN) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("%s is fixed to %s, which this element cannot produce from raw "
              "video", self->path, lbs_fourcc_str (want.pixelformat, a)),
          (NULL));
      return FALSE;
    }
  } else {
    lbs_wanted_pix (&in, compressed, &want);
  }
  old_pix = self->pix;
  if (!gst_loopback_sink_set_device_format (self, &want))
    return FALSE;
  gst_loopback_sink_set_rate (self, fps_n, fps_d);
  /* Still the old conversion: the last frame in the device format. */
  lbs_keep_bridge_frame (self, &old_pix, was_raw);

  /* How frames get there. */
  lbs_free_converters (self);
  self->in_info = in;
  if (compressed) {
    self->path_kind = LBS_PATH_COMPRESSED;
    gst_video_info_init (&self->out_info);
    self->dest.x = self->dest.y = 0;
    self->dest.w = (gint) self->pix.width;
    self->dest.h = (gint) self->pix.height;
    /* No encoder here: the keep-alive repeats the last frame. */
    g_clear_pointer (&self->placeholder_frame, g_free);
  } else {
    if (!lbs_video_info_from_pix (&self->pix, &self->out_info)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("%s: unexpected device format %s %ux%u (%u bytes per line, %u "
              "bytes)", self->path, lbs_fourcc_str (self->pix.pixelformat, a),
              self->pix.width, self->pix.height, self->pix.bytesperline,
              self->pix.sizeimage), (NULL));
      return FALSE;
    }
    GST_OBJECT_LOCK (self);
    mode = self->scale_mode;
    GST_OBJECT_UNLOCK (self);
    lbs_fit_rect (GST_VIDEO_INFO_WIDTH (&in), GST_VIDEO_INFO_HEIGHT (&in),
        GST_VIDEO_INFO_PAR_N (&in), GST_VIDEO_INFO_PAR_D (&in),
        &self->out_info, mode, &self->dest);

    if (GST_VIDEO_INFO_FORMAT (&in) == GST_VIDEO_INFO_FORMAT (&self->out_info)
        && GST_VIDEO_INFO_WIDTH (&in) == GST_VIDEO_INFO_WIDTH (&self->out_info)
        && GST_VIDEO_INFO_HEIGHT (&in) ==
        GST_VIDEO_INFO_HEIGHT (&self->out_info)
        && lbs_same_colorimetry (&in, &self->out_info)) {
      self->path_kind = lbs_same_layout (&in, &self->out_info) ?
          LBS_PATH_MEMCPY : LBS_PATH_FRAME_COPY;
    } else {
      self->path_kind = LBS_PATH_CONVERT;
      if (!lbs_make_converters (self, &in)) {
        GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
            ("Cannot convert %s to the device format %s",
                gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&in)),
                lbs_fourcc_str (self->pix.pixelformat, a)), (NULL));
        return FALSE;
      }
    }
    gst_loopback_sink_make_placeholder (self);
  }
  GST_INFO_OBJECT (self, "%s %dx%d -> %s %ux%u at (%d,%d) %dx%d: %s", name,
      GST_VIDEO_INFO_WIDTH (&in), GST_VIDEO_INFO_HEIGHT (&in),
      lbs_fourcc_str (self->pix.pixelformat, a), self->pix.width,
      self->pix.height, self->dest.x, self->dest.y, self->dest.w,
      self->dest.h, lbs_path_names[self->path_kind]);

  /* New caps: their dmabufs may be importable again. */
  self->dmabuf_off = FALSE;
  if (!self->use_mmap && !self->staging && !self->dmabuf_mode
      && !gst_loopback_sink_io_start (self))
    return FALSE;

  if (self->format_info)
    gst_structure_free (self->format_info);
  self->format_info = gst_structure_new ("loopbacksink-format",
      "device", G_TYPE_STRING, self->path,
      "fourcc", G_TYPE_STRING, lbs_fourcc_str (self->pix.pixelformat, a),
      "width", G_TYPE_UINT, self->pix.width,
      "height", G_TYPE_UINT, self->pix.height,
      "sizeimage", G_TYPE_UINT, self->pix.sizeimage,
      "conversion", G_TYPE_STRING, lbs_path_names[self->path_kind],
      "fixed", G_TYPE_BOOLEAN, self->fixed,
      "io-mode", G_TYPE_STRING, self->dmabuf_mode ? "dmabuf" :
      self->use_mmap ? "mmap" : "rw",
      "dest-x", G_TYPE_INT, self->dest.x, "dest-y", G_TYPE_INT, self->dest.y,
      "dest-width", G_TYPE_INT, self->dest.w,
      "dest-height", G_TYPE_INT, self->dest.h, NULL);

  /* A frame of the old format cannot be repeated in the new one. */
  gst_buffer_replace (&self->last_buffer, NULL);
  self->preroll_buffer = NULL;
  self->configured = TRUE;
  self->gen++;
  g_cond_broadcast (&self->cond);
  return TRUE;
}

static gboolean
gst_loopback_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  GstStructure *info;
  gboolean ok, was_raw;

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  g_mutex_lock (&self->lock);
  was_raw = self->configured && self->path_kind != LBS_PATH_COMPRESSED;
  self->configured = FALSE;
  ok = gst_loopback_sink_configure (self, caps, was_raw);
  info = ok ? g_steal_pointer (&self->format_info) : NULL;
  g_mutex_unlock (&self->lock);

  if (info)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), info));
  return ok;
}

/*
 * Frames with any strides are fine: they are copied or converted. Frames
 * the device takes as they are can be rendered straight into device
 * buffers: a pool that lends them is offered for those. A new pool each
 * time: upstream cannot reconfigure one it still has active.
 */
static gboolean
gst_loopback_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  GstBufferPool *pool = NULL;
  GstStructure *config;
  GstVideoInfo info;
  GstCaps *caps;

  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  gst_query_parse_allocation (query, &caps, NULL);
  if (!caps || !gst_video_info_from_caps (&info, caps))
    return TRUE;

  g_mutex_lock (&self->lock);
  if (self->configured && self->use_mmap && self->path_kind == LBS_PATH_MEMCPY
      && gst_video_info_is_equal (&info, &self->in_info))
    pool = gst_loopback_buffer_pool_new (self);
  g_mutex_unlock (&self->lock);
  if (!pool)
    return TRUE;

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, (guint) info.size, 0, 0);
  if (!gst_buffer_pool_set_config (pool, config)) {
    gst_object_unref (pool);
    return TRUE;
  }
  gst_query_add_allocation_pool (query, pool, (guint) info.size, 0, 0);
  gst_object_unref (pool);
  GST_DEBUG_OBJECT (self, "offered a pool lending device buffers");
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Rendering and the keep-alive                                             */

/* The keep-alive's timer fires @delay from now (0: at once). */
static void
lbs_arm_timer (GstLoopbackSink * self, GstClockTime delay)
{
  struct itimerspec when = {
    /* An all-zero it_value would disarm it: 1 ns is "at once". */
    .it_value.tv_sec = delay / GST_SECOND,
    .it_value.tv_nsec = MAX (delay % GST_SECOND, delay ? 0 : 1),
  };

  if (timerfd_settime (self->timer_fd, 0, &when, NULL) < 0)
    GST_WARNING_OBJECT (self, "timerfd_settime: %s", g_strerror (errno));
}

/* Wakes the keep-alive to look at the state again (lock held). */
static void
lbs_wake (GstLoopbackSink * self)
{
  self->gen++;
  if (self->wait_id)
    gst_clock_id_unschedule (self->wait_id);
  if (self->timer_waiting)
    lbs_arm_timer (self, 0);
  g_cond_broadcast (&self->cond);
}

static GstClockTime
lbs_clock_now (GstLoopbackSink * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now = GST_CLOCK_TIME_NONE;

  if (clock) {
    now = gst_clock_get_time (clock);
    gst_object_unref (clock);
  }
  return now;
}

/*
 * Is the next frame already waiting on the clock to be shown about @now
 * (within a quarter interval either way)? Then the keep-alive holds back:
 * a repeat would double a frame that is merely being shown a little late.
 * A frame that upstream has not delivered yet is a stall, and gets no grace.
 */
static gboolean
lbs_frame_waiting (GstLoopbackSink * self, GstClockTime now)
{
  GstClockTime grace = self->interval / 4;

  return GST_CLOCK_TIME_IS_VALID (self->due_time)
      && self->due_time <= now + grace && now < self->due_time + grace;
}

/* The waiting frame gets a quarter interval before a repeat doubles it. */
static void
lbs_hold_for_waiting_frame (GstLoopbackSink * self)
{
  self->hold_until = self->due_time + self->interval / 4;
}

/* When the keep-alive repeats the last frame, unless a frame comes first. */
static GstClockTime
lbs_repeat_deadline (GstLoopbackSink * self)
{
  GstClockTime deadline = self->last_clock_time + self->interval;

  if (GST_CLOCK_TIME_IS_VALID (self->hold_until))
    deadline = MAX (deadline, self->hold_until);
  return deadline;
}

static GstFlowReturn
gst_loopback_sink_show_frame (GstVideoSink * vsink, GstBuffer * buf);

/*
 * Called before GstBaseSink waits on the clock for @buf: notes when it is to
 * be shown, for the keep-alive (see lbs_frame_waiting).
 */
static GstFlowReturn
gst_loopback_sink_prepare (GstBaseSink * bsink, GstBuffer * buf)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  GstClockTime ts = GST_BUFFER_DTS_OR_PTS (buf);
  GstClockTime due = GST_CLOCK_TIME_NONE, rt = GST_CLOCK_TIME_NONE;

  if (gst_base_sink_get_sync (bsink) && GST_CLOCK_TIME_IS_VALID (ts))
    rt = gst_segment_to_running_time (&bsink->segment, GST_FORMAT_TIME, ts);
  if (GST_CLOCK_TIME_IS_VALID (rt)) {
    GstClockTimeDiff offset = gst_base_sink_get_ts_offset (bsink);

    rt += gst_base_sink_get_latency (bsink) +
        gst_base_sink_get_render_delay (bsink);
    rt = offset < 0 && rt < (GstClockTime) - offset ? 0 : rt + offset;
    due = gst_element_get_base_time (GST_ELEMENT (self)) + rt;
  } else {
    due = lbs_clock_now (self); /* shown as soon as it is rendered */
  }
  g_mutex_lock (&self->lock);
  self->due_time = due;
  /*
   * A frame due about when the repeat is: hold the repeat back now, as the
   * keep-alive would at its deadline, rather than wake it to find out.
   */
  if (self->timer_waiting && lbs_frame_waiting (self,
          lbs_repeat_deadline (self))) {
    GstClockTime now = lbs_clock_now (self);

    lbs_hold_for_waiting_frame (self);
    if (GST_CLOCK_TIME_IS_VALID (now))
      lbs_arm_timer (self, self->hold_until > now ?
          self->hold_until - now : 0);
  }
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_loopback_sink_preroll (GstBaseSink * bsink, GstBuffer * buf)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);
  GstFlowReturn ret;
  gboolean show;

  g_object_get (self, "show-preroll-frame", &show, NULL);
  if (!show)
    return GST_FLOW_OK;
  ret = gst_loopback_sink_show_frame (GST_VIDEO_SINK (bsink), buf);
  g_mutex_lock (&self->lock);
  if (ret == GST_FLOW_OK && self->last_buffer == buf) {
    /* last_buffer holds a ref: the pointer stays valid for the check. */
    self->preroll_buffer = buf;
    self->preroll_frames_out = self->frames_out;
  }
  g_mutex_unlock (&self->lock);
  return ret;
}

static GstFlowReturn
gst_loopback_sink_show_frame (GstVideoSink * vsink, GstBuffer * buf)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (vsink);
  GstStructure *info;
  gint err = 0;

  g_mutex_lock (&self->lock);
  self->due_time = GST_CLOCK_TIME_NONE;
  if (!self->configured) {
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("frame before the format was set"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  /* The preroll frame is rendered once more on PLAYING: readers have it. */
  if (buf != self->preroll_buffer
      || self->frames_out != self->preroll_frames_out)
    err = lbs_output_buffer (self, buf);
  self->preroll_buffer = NULL;
  if (err == EMSGSIZE) {
    err = 0;                    /* one oversized compressed frame: dropped */
  } else if (err == ETIMEDOUT) {
    GST_WARNING_OBJECT (self, "device returned no buffer: frame dropped");
    err = 0;
  } else if (err == ECANCELED) {
    g_mutex_unlock (&self->lock);
    return GST_FLOW_FLUSHING;
  } else if (!err) {
    gst_buffer_replace (&self->last_buffer, buf);
    g_clear_pointer (&self->bridge_frame, g_free);
    self->last_clock_time = lbs_clock_now (self);
    self->last_mono_time = g_get_monotonic_time ();
    self->hold_until = GST_CLOCK_TIME_NONE;
    self->gen++;
    g_cond_broadcast (&self->cond);     /* a keep-alive may wait for one */
    if (self->timer_waiting)
      lbs_arm_timer (self, self->interval);     /* the repeat moves on */
  }
  if (err) {
    gst_loopback_sink_device_error (self, self->use_mmap
        || self->dmabuf_mode ? "queueing a frame" : "write()", err);
    g_mutex_unlock (&self->lock);
    return GST_FLOW_ERROR;
  }
  info = g_steal_pointer (&self->threads_info);
  g_mutex_unlock (&self->lock);

  if (info)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), info));
  return GST_FLOW_OK;
}

/*
 * Prerolled on the way to PLAYING: the state change waits for the bin
 * (tens of milliseconds under load), and the stream has begun.
 */
static gboolean
lbs_rising (GstLoopbackSink * self)
{
  gboolean rising;

  GST_OBJECT_LOCK (self);
  rising = GST_STATE_TARGET (self) == GST_STATE_PLAYING;
  GST_OBJECT_UNLOCK (self);
  return rising && !self->playing && !self->eos && self->last_buffer;
}

/*
 * One frame from the keep-alive: the last frame (@live: PLAYING, or about
 * to be) or the placeholder.
 */
static void
lbs_keepalive_frame (GstLoopbackSink * self, gboolean live)
{
  gboolean last;
  gint err;

  GST_OBJECT_LOCK (self);
  last = self->placeholder == GST_LOOPBACK_SINK_PLACEHOLDER_LAST_FRAME;
  GST_OBJECT_UNLOCK (self);

  if (live || last || !self->placeholder_frame) {
    if (self->last_buffer) {
      GST_DEBUG_OBJECT (self, "keep-alive: last frame again");
      err = lbs_output_again (self, self->last_buffer);
    } else if (self->bridge_frame) {
      GST_DEBUG_OBJECT (self, "keep-alive: last frame of the old caps again");
      err = lbs_output_raw (self, self->bridge_frame,
          "the last frame of the old caps");
    } else {
      return;
    }
  } else {
    GST_DEBUG_OBJECT (self, "keep-alive: placeholder");
    err = lbs_output_raw (self, self->placeholder_frame, "placeholder");
  }
  if (err == ENODEV) {
    GST_INFO_OBJECT (self, "device removed: keep-alive stops");
    self->device_gone = TRUE;
  } else if (err) {
    GST_DEBUG_OBJECT (self, "keep-alive frame: %s", g_strerror (err));
  }
}

/*
 * Sleeps until @clock reaches @deadline or lbs_wake(), with the lock held
 * around it; FALSE when woken before. A system clock (the usual pipeline
 * clock) runs at the monotonic clock's rate: the sleep is on the timerfd,
 * which each frame moves on (show_frame, prepare) without waking this
 * thread, so it sleeps through a stream whose frames come in time. Other
 * clocks (a test clock) are waited on with a clock id, which wakes this
 * thread at every deadline a frame has since moved.
 */
static gboolean
lbs_wait_deadline (GstLoopbackSink * self, GstClock * clock,
    GstClockTime deadline)
{
  GstClockReturn ret;
  GstClockID id;

  if (self->timer_fd >= 0 && GST_IS_SYSTEM_CLOCK (clock)) {
    struct pollfd pfd = {.fd = self->timer_fd,.events = POLLIN };
    GstClockTime now = gst_clock_get_time (clock);
    guint64 expired;

    if (now >= deadline)
      return TRUE;
    lbs_arm_timer (self, deadline - now);
    self->timer_waiting = TRUE;
    g_mutex_unlock (&self->lock);
    while (poll (&pfd, 1, -1) < 0 && errno == EINTR)
      continue;
    g_mutex_lock (&self->lock);
    self->timer_waiting = FALSE;
    /* Non-blocking: clears the expiry, if a new arming has not. */
    if (read (self->timer_fd, &expired, sizeof (expired)) < 0
        && errno != EAGAIN)
      GST_WARNING_OBJECT (self, "timerfd read: %s", g_strerror (errno));
    return gst_clock_get_time (clock) >= deadline;
  }
  id = self->wait_id = gst_clock_new_single_shot_id (clock, deadline);
  g_mutex_unlock (&self->lock);
  ret = gst_clock_id_wait (id, NULL);
  g_mutex_lock (&self->lock);
  self->wait_id = NULL;
  gst_clock_id_unref (id);
  return ret != GST_CLOCK_UNSCHEDULED;
}

/*
 * Keeps readers fed while no frame comes: the last frame again while
 * PLAYING (and prerolled on the way there), the placeholder after EOS and
 * when not PLAYING. While PLAYING it waits on the pipeline clock;
 * otherwise on the monotonic clock.
 */
static gpointer
gst_loopback_sink_keepalive (gpointer data)
{
  GstLoopbackSink *self = data;

  g_mutex_lock (&self->lock);
  self->keepalive_self = g_thread_self ();
  while (!self->quit) {
    gboolean live = self->playing && !self->eos;
    guint gen = self->gen;
    GstClock *clock;

    if (!self->configured || self->device_gone
        || (!self->last_buffer && !self->placeholder_frame
            && !self->bridge_frame)
        || (live && !self->last_buffer && !self->bridge_frame)) {
      g_cond_wait (&self->cond, &self->lock);
      continue;
    }
    clock = self->playing ? gst_element_get_clock (GST_ELEMENT (self)) : NULL;
    if (clock) {
      GstClockTime deadline;
      gboolean reached;

      if (!GST_CLOCK_TIME_IS_VALID (self->last_clock_time))
        self->last_clock_time = gst_clock_get_time (clock);
      deadline = lbs_repeat_deadline (self);
      reached = lbs_wait_deadline (self, clock, deadline);
      GST_LOG_OBJECT (self, "keep-alive woke%s", reached ? " at the deadline"
          : " early");
      if (!reached || gen != self->gen || self->quit) {
        gst_object_unref (clock);
        continue;
      }
      if (live && lbs_frame_waiting (self, gst_clock_get_time (clock))) {
        gst_object_unref (clock);
        lbs_hold_for_waiting_frame (self);
        continue;
      }
      gst_object_unref (clock);
      self->hold_until = GST_CLOCK_TIME_NONE;
      self->last_clock_time = deadline;
    } else {
      gint64 deadline = self->last_mono_time +
          (gint64) (self->interval / GST_USECOND);

      if (g_get_monotonic_time () < deadline) {
        g_cond_wait_until (&self->cond, &self->lock, deadline);
        continue;               /* woken or timed out: look again */
      }
      self->last_clock_time = lbs_clock_now (self);
    }
    self->last_mono_time = g_get_monotonic_time ();
    /*
     * Not the placeholder between the preroll frame and PLAYING: readers
     * would see it flash, and an importing element would leave upstream's
     * dmabufs for a frame of its own.
     */
    lbs_keepalive_frame (self, live || lbs_rising (self));
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

static gboolean
gst_loopback_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (bsink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      g_mutex_lock (&self->lock);
      self->eos = TRUE;
      lbs_wake (self);
      g_mutex_unlock (&self->lock);
      break;
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      g_mutex_lock (&self->lock);
      self->eos = FALSE;
      lbs_wake (self);
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* ------------------------------------------------------------------------ */
/* Start, stop, state                                                       */

static void gst_loopback_sink_close (GstLoopbackSink * self);

/*
 * NULL to READY: the device is opened (or created) here rather than in
 * GstBaseSink::start, so a failure posts only its own clear error.
 */
static gboolean
gst_loopback_sink_open_device (GstLoopbackSink * self)
{
  g_mutex_lock (&self->lock);
  self->fd = -1;
  self->created_nr = -1;
  self->device_gone = FALSE;
  self->configured = FALSE;
  self->format_set = FALSE;
  self->quit = FALSE;
  self->eos = FALSE;
  self->frames_out = 0;
  self->frames_in_place = 0;
  self->frames_imported = 0;
  self->frames_requeued = 0;
  self->kept_frame = NULL;
  self->dmabuf_off = FALSE;
  self->last_clock_time = GST_CLOCK_TIME_NONE;
  self->due_time = self->hold_until = GST_CLOCK_TIME_NONE;
  self->interval = GST_SECOND / FALLBACK_FPS;
  g_mutex_unlock (&self->lock);

  /* No lock: opening may post errors, and no other thread runs yet. */
  if (!gst_loopback_sink_open (self)) {
    gst_loopback_sink_close (self);
    return FALSE;
  }
  /* At most 15 characters: GLib 2.74 leaves a longer name unset. */
  self->keepalive = g_thread_new ("lbs-keepalive",
      gst_loopback_sink_keepalive, self);
  return TRUE;
}

/* READY to NULL: the placeholder stops, the device is closed (and removed). */
static void
gst_loopback_sink_close (GstLoopbackSink * self)
{
  gboolean keep;

  g_mutex_lock (&self->lock);
  self->quit = TRUE;
  lbs_wake (self);
  g_mutex_unlock (&self->lock);
  if (self->keepalive)
    g_thread_join (self->keepalive);
  self->keepalive = NULL;

  g_mutex_lock (&self->lock);
  if (self->fd >= 0) {
    gst_loopback_sink_io_stop (self);
    close (self->fd);
  }
  self->fd = -1;
  self->configured = FALSE;
  lbs_free_converters (self);
  g_clear_pointer (&self->placeholder_frame, g_free);
  g_clear_pointer (&self->bridge_frame, g_free);
  gst_buffer_replace (&self->last_buffer, NULL);
  self->preroll_buffer = NULL;
  gst_buffer_replace (&self->image, NULL);
  if (self->format_info)
    gst_structure_free (g_steal_pointer (&self->format_info));
  if (self->threads_info)
    gst_structure_free (g_steal_pointer (&self->threads_info));
  g_clear_pointer (&self->path, g_free);
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  keep = self->keep_device;
  GST_OBJECT_UNLOCK (self);
  if (self->created_nr >= 0) {
    if (keep) {
      self->created_nr = -1;
    } else {
      gst_loopback_sink_remove_device (self);
      /* Next time, create one again. */
      GST_OBJECT_LOCK (self);
      g_clear_pointer (&self->device, g_free);
      GST_OBJECT_UNLOCK (self);
      g_object_notify (G_OBJECT (self), "device");
    }
  }
  GST_INFO_OBJECT (self, "closed after %" G_GUINT64_FORMAT " frames, %"
      G_GUINT64_FORMAT " of them rendered in place by upstream, %"
      G_GUINT64_FORMAT " imported as dmabufs, %" G_GUINT64_FORMAT
      " repeats queued again from device memory", self->frames_out,
      self->frames_in_place, self->frames_imported, self->frames_requeued);
}

static GstStateChangeReturn
gst_loopback_sink_change_state (GstElement * element,
    GstStateChange transition)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!gst_loopback_sink_open_device (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      g_mutex_lock (&self->lock);
      self->playing = transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING;
      self->last_clock_time = GST_CLOCK_TIME_NONE;
      self->due_time = self->hold_until = GST_CLOCK_TIME_NONE;
      lbs_wake (self);
      g_mutex_unlock (&self->lock);
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      g_mutex_lock (&self->lock);
      self->eos = FALSE;
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE
      && transition == GST_STATE_CHANGE_NULL_TO_READY)
    gst_loopback_sink_close (self);
  else if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    gst_loopback_sink_close (self);
  return ret;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */

static void
gst_loopback_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_DEVICE:
      g_free (self->device);
      self->device = g_value_dup_string (value);
      if (self->device && !*self->device)
        g_clear_pointer (&self->device, g_free);
      break;
    case PROP_LABEL:
      g_free (self->label);
      self->label = g_value_dup_string (value);
      if (self->label && !*self->label)
        g_clear_pointer (&self->label, g_free);
      break;
    case PROP_SPLIT:
      self->split = g_value_get_boolean (value);
      break;
    case PROP_KEEP_DEVICE:
      self->keep_device = g_value_get_boolean (value);
      break;
    case PROP_SCALE_MODE:
      self->scale_mode = g_value_get_enum (value);
      break;
    case PROP_PLACEHOLDER:
      self->placeholder = g_value_get_enum (value);
      break;
    case PROP_PLACEHOLDER_IMAGE:
      g_free (self->placeholder_image);
      self->placeholder_image = g_value_dup_string (value);
      break;
    case PROP_IO_MODE:
      self->io_mode = g_value_get_enum (value);
      break;
    case PROP_N_THREADS:
      self->n_threads = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_loopback_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_DEVICE:
      g_value_set_string (value, self->device);
      break;
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_SPLIT:
      g_value_set_boolean (value, self->split);
      break;
    case PROP_KEEP_DEVICE:
      g_value_set_boolean (value, self->keep_device);
      break;
    case PROP_SCALE_MODE:
      g_value_set_enum (value, self->scale_mode);
      break;
    case PROP_PLACEHOLDER:
      g_value_set_enum (value, self->placeholder);
      break;
    case PROP_PLACEHOLDER_IMAGE:
      g_value_set_string (value, self->placeholder_image);
      break;
    case PROP_IO_MODE:
      g_value_set_enum (value, self->io_mode);
      break;
    case PROP_N_THREADS:
      g_value_set_uint (value, self->n_threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_loopback_sink_finalize (GObject * object)
{
  GstLoopbackSink *self = GST_LOOPBACK_SINK (object);

  g_free (self->device);
  g_free (self->label);
  g_free (self->placeholder_image);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->lend_lock);
  g_cond_clear (&self->cond);
  close (self->wake_fd);
  if (self->timer_fd >= 0)
    close (self->timer_fd);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_loopback_sink_init (GstLoopbackSink * self)
{
  self->scale_mode = DEFAULT_SCALE_MODE;
  self->placeholder = DEFAULT_PLACEHOLDER;
  self->io_mode = DEFAULT_IO_MODE;
  self->n_threads = DEFAULT_N_THREADS;
  self->split = DEFAULT_SPLIT;
  self->keep_device = DEFAULT_KEEP_DEVICE;
  self->fd = -1;
  self->created_nr = -1;
  self->interval = GST_SECOND / FALLBACK_FPS;
  self->last_clock_time = GST_CLOCK_TIME_NONE;
  self->due_time = self->hold_until = GST_CLOCK_TIME_NONE;
  g_mutex_init (&self->lock);
  g_mutex_init (&self->lend_lock);
  g_cond_init (&self->cond);
  self->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  g_assert (self->wake_fd >= 0);
  self->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (self->timer_fd < 0)
    GST_WARNING_OBJECT (self, "timerfd_create: %s: the keep-alive waits on "
        "clock ids", g_strerror (errno));

  gst_base_sink_set_sync (GST_BASE_SINK (self), TRUE);
  gst_base_sink_set_qos_enabled (GST_BASE_SINK (self), TRUE);
}

static void
gst_loopback_sink_class_init (GstLoopbackSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);
  GstVideoSinkClass *videosink_class = GST_VIDEO_SINK_CLASS (klass);
  /* The device is chosen when the element goes from NULL to READY. */
  const GParamFlags rw_null = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = rw_null | GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_loopback_sink_set_property;
  gobject_class->get_property = gst_loopback_sink_get_property;
  gobject_class->finalize = gst_loopback_sink_finalize;

  /**
   * GstLoopbackSink:device:
   *
   * Path of the output node to write to. Unset: the device with
   * #GstLoopbackSink:label, or a new one. After a device was created it
   * reads back as the new node's path.
   */
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "Output node to write to, e.g. /dev/video10 (default: none, "
          "find the device by label or create one; read when going to "
          "READY)", DEFAULT_DEVICE, rw_null));

  /**
   * GstLoopbackSink:label:
   *
   * Card label of the device to use when #GstLoopbackSink:device is not
   * set. When no device has it, a device with this label is created.
   */
  g_object_class_install_property (gobject_class, PROP_LABEL,
      g_param_spec_string ("label", "Label",
          "Card label of the device to use when device is not set; a device "
          "with this label is created if there is none (default: none, "
          "create a device with the module's default label)",
          DEFAULT_LABEL, rw_null));

  g_object_class_install_property (gobject_class, PROP_SPLIT,
      g_param_spec_boolean ("split", "Split",
          "When creating a device: separate output and capture nodes "
          "instead of one combined node", DEFAULT_SPLIT, rw_null));

  g_object_class_install_property (gobject_class, PROP_KEEP_DEVICE,
      g_param_spec_boolean ("keep-device", "Keep device",
          "Keep a device created by this element when it goes to NULL "
          "(default: remove it)", DEFAULT_KEEP_DEVICE, rw));

  g_object_class_install_property (gobject_class, PROP_SCALE_MODE,
      g_param_spec_enum ("scale-mode", "Scale mode",
          "How pictures of another size or shape fit the device frame",
          GST_TYPE_LOOPBACK_SINK_SCALE_MODE, DEFAULT_SCALE_MODE, rw));

  g_object_class_install_property (gobject_class, PROP_PLACEHOLDER,
      g_param_spec_enum ("placeholder", "Placeholder",
          "What readers see after EOS and while not PLAYING (compressed "
          "streams: always the last frame)",
          GST_TYPE_LOOPBACK_SINK_PLACEHOLDER, DEFAULT_PLACEHOLDER, rw));

  g_object_class_install_property (gobject_class, PROP_PLACEHOLDER_IMAGE,
      g_param_spec_string ("placeholder-image", "Placeholder image",
          "Image file (any format GStreamer decodes) shown when "
          "placeholder=image (default: none, black)",
          DEFAULT_PLACEHOLDER_IMAGE, rw));

  g_object_class_install_property (gobject_class, PROP_IO_MODE,
      g_param_spec_enum ("io-mode", "I/O mode",
          "How frames are handed to the device",
          GST_TYPE_LOOPBACK_SINK_IO_MODE, DEFAULT_IO_MODE, rw));

  /**
   * GstLoopbackSink:n-threads:
   *
   * Threads that convert and scale each frame (GstVideoConverter's). 0
   * lets the element choose after each format change: the first frames
   * go in turn through GstVideoConverter with one thread and with one per
   * CPU and, for packed RGB to YUYV, UYVY, YVYU, I420, YV12, NV12 or NV21
   * at the same size, through a one-pass converter of the element's own
   * (the same values, without GstVideoConverter's several passes a line).
   * The faster of the one-thread converters stays, or the threads if they
   * convert a frame in at most three quarters of its time (scaling, RGB
   * to YUV), as a conversion they hardly speed up (YUV format changes
   * that are a few copies) costs more CPU with them. The choice is posted
   * as the element message `loopbacksink-threads` with the fields
   * converter ("one-pass" or "videoconverter"), threads, and the median
   * times per frame one-thread-us, threaded-us and one-pass-us (-1: not
   * tried). Any other value: GstVideoConverter with that many threads.
   */
  g_object_class_install_property (gobject_class, PROP_N_THREADS,
      g_param_spec_uint ("n-threads", "Threads",
          "Threads converting and scaling frames (0: one, or one per CPU "
          "when that converts clearly faster, measured on the first frames)",
          0, 256, DEFAULT_N_THREADS, rw));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Loopback camera sink", "Sink/Video",
      "Shows video on a v4l2loopback virtual camera, converting to the "
      "camera's format and keeping it alive when the input stalls",
      "loopcam developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_loopback_sink_change_state);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR (gst_loopback_sink_get_caps);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_loopback_sink_set_caps);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_loopback_sink_event);
  basesink_class->prepare = GST_DEBUG_FUNCPTR (gst_loopback_sink_prepare);
  basesink_class->preroll = GST_DEBUG_FUNCPTR (gst_loopback_sink_preroll);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_loopback_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_loopback_sink_unlock_stop);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_loopback_sink_propose_allocation);
  videosink_class->show_frame =
      GST_DEBUG_FUNCPTR (gst_loopback_sink_show_frame);

  gst_type_mark_as_plugin_api (GST_TYPE_LOOPBACK_SINK_SCALE_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_LOOPBACK_SINK_PLACEHOLDER, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_LOOPBACK_SINK_IO_MODE, 0);
}
