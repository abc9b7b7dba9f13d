/*
 * loopback output device: feeds a V4L2 loopback device (loopcam, v4l2loopback)
 * Copyright (c) 2026 the loopcam authors
 *
 * This file is part of FFmpeg.
 *
 * FFmpeg is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * FFmpeg is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with FFmpeg; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA
 */

/**
 * @file
 * V4L2 loopback output device.
 *
 * Unlike the v4l2 output device, which writes each packet as it comes, this
 * one makes the loopback device a camera readers can rely on: it converts
 * any raw input to the device's configured format (or picks the format
 * closest to the input), tells the device the frame rate, streams through
 * the device's MMAP buffers, plays frames at their timestamps, and repeats
 * the last frame at the device rate while the input stalls; when the input
 * ends it can hold the last frame, black or a placeholder image.
 *
 *   ffmpeg -i input.mp4 -f loopback /dev/video0
 *   ffmpeg -i rtsp://... -f loopback -pace 0 -label "Door" auto
 */

/* O_CLOEXEC: FFmpeg builds with _XOPEN_SOURCE=600, which predates it. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/videodev2.h>

#include "libavutil/avstring.h"
#include "libavutil/frame.h"
#include "libavutil/imgutils.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/pixdesc.h"
#include "libavutil/time.h"
#include "libavcodec/avcodec.h"
#include "libavformat/avformat.h"
#include "libavdevice/avdevice.h"
#include "libavformat/version.h"
#include "libswscale/swscale.h"

/* The project's uapi header, copied next to this file by the build. */
#include "linux/v4l2loopback.h"

/* FFmpeg 6.0 moved the muxer callbacks out of the public AVOutputFormat. */
#if LIBAVFORMAT_VERSION_MAJOR >= 60
#include "libavformat/mux.h"
typedef FFOutputFormat LoopbackOutputFormat;
#define LOOPBACK_PUBLIC(field) .p.field
#else
typedef AVOutputFormat LoopbackOutputFormat;
#define LOOPBACK_PUBLIC(field) .field
#endif

#define MAX_BUFFERS           32
#define DEFAULT_RATE          (AVRational){ 30, 1 }
/* How long a buffer may take to come back before the device counts as hung. */
#define DEVICE_TIMEOUT_US     (5 * 1000000LL)
/* How often a blocking wait looks at the interrupt callback. */
#define WAIT_SLICE_US         100000
/* A frame this late starts a new timeline instead of a burst to catch up. */
#define LATE_RESYNC_US        500000
/* How long a device node just created may take to appear (udev). */
#define NODE_APPEAR_US        (5 * 1000000LL)

enum LoopbackEnd {
    END_STOP,                   ///< stop streaming; the device's placeholder takes over
    END_LAST,                   ///< keep showing the last frame until interrupted
    END_BLACK,                  ///< show black frames until interrupted
    END_IMAGE,                  ///< show the -placeholder image until interrupted
};

enum LoopbackIO {
    IO_MMAP,
    IO_WRITE,
};

typedef struct LoopbackBuffer {
    void *start;
    size_t length;
    int queued;                 ///< the device has it
} LoopbackBuffer;

typedef struct LoopbackContext {
    const AVClass *class;

    /* options */
    char *device_format;
    int width, height;
    AVRational framerate;
    char *label;
    int split;
    int keep_device;
    int pace;
    int repeat;
    int on_end;
    char *placeholder_file;
    int timeout_ms;
    int io;
    int nb_buffers;
    int sws_flags;
    int threads;

    /* the device */
    int fd;
    char *path;
    int created_nr;             ///< device made through the control device, or -1
    struct v4l2_pix_format pix; ///< the format the device took
    enum AVPixelFormat dev_pix_fmt;   ///< AV_PIX_FMT_NONE: compressed
    int swap_chroma;            ///< YV12: V plane before U
    int64_t interval_us;        ///< one frame at the device rate
    LoopbackBuffer buffers[MAX_BUFFERS];
    int nb_mapped;
    int streaming;
    uint8_t *frame;             ///< write() I/O: one frame in device layout

    /* conversion */
    struct SwsContext *sws;
    AVFrame *src_frame, *dst_frame;   ///< sws_scale_frame() wrappers
    enum AVPixelFormat sws_in_fmt;
    int sws_in_w, sws_in_h;

    /* timing */
    int64_t pts_offset_us;      ///< wall clock minus pts; AV_NOPTS_VALUE until set

    /* keep-alive: repeats from a thread while write_packet() waits for input */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;       ///< the device, the last frame and the fields below
    int lock_initialized;
    pthread_cond_t cond;
    int stop;
    AVPacket *last;             ///< last input packet (a reference), for repeats
    int ending;                 ///< input ended: hold the picture (-on_end)
    int show_placeholder;       ///< repeat the placeholder, not the last frame
    uint8_t *placeholder;       ///< -placeholder in device layout; NULL: black
    int64_t last_out_us;        ///< when the last frame went to the device
    int last_was_repeat;        ///< and it was the keep-alive's
    int error;                  ///< first device error seen by the keep-alive

    uint64_t nb_frames, nb_repeats;
} LoopbackContext;

/* ------------------------------------------------------------------------ */
/* Formats                                                                  */

static const struct {
    uint32_t fourcc;
    enum AVPixelFormat pix_fmt;     ///< AV_PIX_FMT_NONE for compressed
    enum AVCodecID codec_id;        ///< for compressed pass-through
} formats[] = {
    { V4L2_PIX_FMT_YUV420,  AV_PIX_FMT_YUV420P,  AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_YVU420,  AV_PIX_FMT_YUV420P,  AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_NV12,    AV_PIX_FMT_NV12,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_NV21,    AV_PIX_FMT_NV21,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_NV16,    AV_PIX_FMT_NV16,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_YUYV,    AV_PIX_FMT_YUYV422,  AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_UYVY,    AV_PIX_FMT_UYVY422,  AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_YVYU,    AV_PIX_FMT_YVYU422,  AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_GREY,    AV_PIX_FMT_GRAY8,    AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_Y16,     AV_PIX_FMT_GRAY16LE, AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_RGB24,   AV_PIX_FMT_RGB24,    AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_BGR24,   AV_PIX_FMT_BGR24,    AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_RGB565,  AV_PIX_FMT_RGB565LE, AV_CODEC_ID_NONE },
    /* V4L2 names the order within a little-endian word, FFmpeg in memory. */
    { V4L2_PIX_FMT_XBGR32,  AV_PIX_FMT_BGR0,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_XRGB32,  AV_PIX_FMT_0RGB,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_ABGR32,  AV_PIX_FMT_BGRA,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_ARGB32,  AV_PIX_FMT_ARGB,     AV_CODEC_ID_NONE },
    { V4L2_PIX_FMT_MJPEG,   AV_PIX_FMT_NONE,     AV_CODEC_ID_MJPEG },
    { V4L2_PIX_FMT_JPEG,    AV_PIX_FMT_NONE,     AV_CODEC_ID_MJPEG },
    { V4L2_PIX_FMT_H264,    AV_PIX_FMT_NONE,     AV_CODEC_ID_H264 },
    { V4L2_PIX_FMT_HEVC,    AV_PIX_FMT_NONE,     AV_CODEC_ID_HEVC },
    { V4L2_PIX_FMT_VP8,     AV_PIX_FMT_NONE,     AV_CODEC_ID_VP8 },
    { V4L2_PIX_FMT_VP9,     AV_PIX_FMT_NONE,     AV_CODEC_ID_VP9 },
};

static int format_index(uint32_t fourcc)
{
    for (int i = 0; i < FF_ARRAY_ELEMS(formats); i++)
        if (formats[i].fourcc == fourcc)
            return i;
    return -1;
}

static const char *fourcc_str(uint32_t fourcc, char buf[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (fourcc >> (8 * i)) & 0x7f;
        buf[i] = c >= ' ' && c < 0x7f ? c : '.';
    }
    buf[4] = '\0';
    return buf;
}

/*
 * The fourcc named by the device_format option: a V4L2 fourcc, a common
 * alias, or an FFmpeg pixel format name. 0 when it names nothing known.
 */
static uint32_t parse_device_format(const char *name)
{
    static const struct { const char *alias; uint32_t fourcc; } aliases[] = {
        { "I420",  V4L2_PIX_FMT_YUV420 }, { "YV12", V4L2_PIX_FMT_YVU420 },
        { "YUY2",  V4L2_PIX_FMT_YUYV },   { "MJPEG", V4L2_PIX_FMT_MJPEG },
        { "RGB24", V4L2_PIX_FMT_RGB24 },  { "BGR24", V4L2_PIX_FMT_BGR24 },
        { "HEVC",  V4L2_PIX_FMT_HEVC },
    };
    enum AVPixelFormat pix_fmt;

    for (int i = 0; i < FF_ARRAY_ELEMS(aliases); i++)
        if (!av_strcasecmp(name, aliases[i].alias))
            return aliases[i].fourcc;
    if (strlen(name) == 4) {
        uint32_t fourcc = v4l2_fourcc(name[0], name[1], name[2], name[3]);
        if (format_index(fourcc) >= 0)
            return fourcc;
    }
    pix_fmt = av_get_pix_fmt(name);
    for (int i = 0; i < FF_ARRAY_ELEMS(formats); i++)
        if (pix_fmt != AV_PIX_FMT_NONE && formats[i].pix_fmt == pix_fmt)
            return formats[i].fourcc;
    return 0;
}

/*
 * The device format for raw input when the device leaves the choice to us:
 * the input's own format if it is one browsers read (Chromium prefers I420,
 * then NV12, then YUYV), else the closest of those.
 */
static uint32_t pick_fourcc(enum AVPixelFormat in)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(in);

    switch (in) {
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P:
        return V4L2_PIX_FMT_YUV420;
    case AV_PIX_FMT_NV12:
        return V4L2_PIX_FMT_NV12;
    case AV_PIX_FMT_YUYV422:
        return V4L2_PIX_FMT_YUYV;
    default:
        break;
    }
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        if (desc->log2_chroma_w == 1 && desc->log2_chroma_h == 0)
            return V4L2_PIX_FMT_YUYV;           /* 4:2:2 */
        if (desc->log2_chroma_w == 1 && desc->log2_chroma_h == 1 &&
            !(desc->flags & AV_PIX_FMT_FLAG_PLANAR && desc->comp[1].plane != desc->comp[2].plane))
            return V4L2_PIX_FMT_NV12;           /* semi-planar 4:2:0 */
    }
    return V4L2_PIX_FMT_YUV420;
}

/*
 * Plane pointers and strides of a frame in the device's layout: planes one
 * after the other, chroma strides as the loopback device computes them
 * (whole chroma samples, rounded up for odd sizes).
 */
static void device_planes(const LoopbackContext *ctx, uint8_t *base,
                          uint8_t *data[4], int linesize[4])
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(ctx->dev_pix_fmt);
    int cw = AV_CEIL_RSHIFT((int)ctx->pix.width, desc->log2_chroma_w);
    int ch = AV_CEIL_RSHIFT((int)ctx->pix.height, desc->log2_chroma_h);
    int planes = av_pix_fmt_count_planes(ctx->dev_pix_fmt);
    uint8_t *p = base;

    memset(data, 0, 4 * sizeof(*data));
    memset(linesize, 0, 4 * sizeof(*linesize));
    data[0] = p;
    linesize[0] = ctx->pix.bytesperline;
    p += (size_t)linesize[0] * ctx->pix.height;
    for (int i = 1; i < planes; i++) {
        /* semi-planar: one plane of CbCr pairs; planar: one per component */
        linesize[i] = planes == 2 ? 2 * cw : cw;
        data[i] = p;
        p += (size_t)linesize[i] * ch;
    }
    if (ctx->swap_chroma)
        FFSWAP(uint8_t *, data[1], data[2]);
}

/* ------------------------------------------------------------------------ */
/* Finding, creating and removing devices                                   */

static char *sysfs_read(const char *node, const char *attr)
{
    char path[256], buf[256];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/sys/class/video4linux/%s/%s", node, attr);
    if (!(f = fopen(path, "re")))
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return av_strdup(buf);
}

/* The node name ("video5") of a device path. */
static const char *node_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static uint32_t device_caps(int fd, struct v4l2_capability *cap)
{
    memset(cap, 0, sizeof(*cap));
    if (ioctl(fd, VIDIOC_QUERYCAP, cap) < 0)
        return 0;
    return cap->capabilities & V4L2_CAP_DEVICE_CAPS ? cap->device_caps
                                                     : cap->capabilities;
}

/*
 * Whether sysfs name @name belongs to a device labelled @label: split
 * devices name their nodes "LABEL (output)" and "LABEL (capture)".
 */
static int name_has_label(const char *name, const char *label)
{
    size_t n = strlen(label);

    if (strncmp(name, label, n))
        return 0;
    return !name[n] || !strcmp(name + n, " (output)") ||
           !strcmp(name + n, " (capture)");
}

/* The output node of the device labelled @label, or NULL. */
static char *find_by_label(AVFormatContext *s, const char *label)
{
    char *found = NULL;

    for (int nr = 0; nr < 256 && !found; nr++) {
        char node[32], path[64], *name;
        struct v4l2_capability cap;
        int fd;

        snprintf(node, sizeof(node), "video%d", nr);
        if (!(name = sysfs_read(node, "name")))
            continue;
        if (name_has_label(name, label)) {
            snprintf(path, sizeof(path), "/dev/%s", node);
            if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) >= 0) {
                if (device_caps(fd, &cap) & V4L2_CAP_VIDEO_OUTPUT)
                    found = av_strdup(path);
                close(fd);
            }
        }
        av_free(name);
    }
    if (found)
        av_log(s, AV_LOG_VERBOSE, "device labelled '%s': %s\n", label, found);
    return found;
}

static int create_device(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    const char *ctl_path = "/dev/" V4L2LOOPBACK_CTL_NAME;
    struct loopcam_device_config c = { 0 };
    int ctl, err;

    if ((ctl = open(ctl_path, O_RDWR | O_CLOEXEC)) < 0) {
        err = AVERROR(errno);
        av_log(s, AV_LOG_ERROR, "Cannot create a device: cannot open %s: %s%s\n",
               ctl_path, av_err2str(err), err == AVERROR(ENOENT) ?
               " (is the v4l2loopback module loaded? modprobe v4l2loopback)" : "");
        return err;
    }
    c.magic = LOOPCAM_CONFIG_MAGIC;
    c.size = sizeof(c);
    c.flags = ctx->split ? LOOPCAM_FLAG_SPLIT : 0;
    c.output_nr = -1;
    c.capture_nr = -1;
    av_strlcpy(c.card_label, ctx->label ? ctx->label : "loopcam",
               sizeof(c.card_label));
    if (ioctl(ctl, LOOPCAM_CTL_ADD, &c) < 0) {
        err = AVERROR(errno);
        close(ctl);
        av_log(s, AV_LOG_ERROR, "Cannot create a device through %s: %s%s\n",
               ctl_path, av_err2str(err), err == AVERROR(ENOTTY) ?
               " (the loaded module is not loopcam's: create the device with "
               "v4l2loopback-ctl and name it)" : "");
        return err;
    }
    close(ctl);
    ctx->created_nr = c.output_nr;
    ctx->path = av_asprintf("/dev/video%d", c.output_nr);
    if (!ctx->path)
        return AVERROR(ENOMEM);
    /* A combined device reports no capture node of its own (-1). */
    if (c.capture_nr >= 0 && c.capture_nr != c.output_nr)
        av_log(s, AV_LOG_INFO, "created '%s': output %s, readers open /dev/video%d\n",
               c.card_label, ctx->path, c.capture_nr);
    else
        av_log(s, AV_LOG_INFO, "created '%s': %s\n", c.card_label, ctx->path);
    return 0;
}

static void remove_device(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    int ctl = open("/dev/" V4L2LOOPBACK_CTL_NAME, O_RDWR | O_CLOEXEC);

    /* The number is passed by value, as v4l2loopback does. */
    if (ctl < 0 || ioctl(ctl, V4L2LOOPBACK_CTL_REMOVE, (unsigned long)ctx->created_nr) < 0)
        av_log(s, AV_LOG_WARNING, "Could not remove /dev/video%d: %s\n",
               ctx->created_nr, errno == EBUSY ? "a reader still has it open"
                                               : strerror(errno));
    else
        av_log(s, AV_LOG_VERBOSE, "removed /dev/video%d\n", ctx->created_nr);
    if (ctl >= 0)
        close(ctl);
    ctx->created_nr = -1;
}

static int open_device(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    int64_t until;
    int err;

    if (!strcmp(s->url, "auto")) {
        if (ctx->label)
            ctx->path = find_by_label(s, ctx->label);
        if (!ctx->path && (err = create_device(s)) < 0)
            return err;
    } else {
        if (ctx->label)
            av_log(s, AV_LOG_WARNING, "-label is only used with the output name 'auto'\n");
        ctx->path = av_strdup(s->url);
    }
    if (!ctx->path)
        return AVERROR(ENOMEM);

    /* A node just created appears, with its permissions, when udev is done. */
    until = av_gettime_relative() + (ctx->created_nr >= 0 ? NODE_APPEAR_US : 0);
    while ((ctx->fd = open(ctx->path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0 &&
           (errno == ENOENT || errno == EACCES) && av_gettime_relative() < until)
        av_usleep(10000);
    if (ctx->fd < 0) {
        err = AVERROR(errno);
        if (err == AVERROR(ENOENT))
            av_log(s, AV_LOG_ERROR, "%s does not exist (list the devices with "
                   "'loopcam-ctl list', or use 'auto' to create one)\n", ctx->path);
        else if (err == AVERROR(EACCES))
            av_log(s, AV_LOG_ERROR, "Cannot open %s: %s (join the 'video' group)\n",
                   ctx->path, av_err2str(err));
        else
            av_log(s, AV_LOG_ERROR, "Cannot open %s: %s\n", ctx->path, av_err2str(err));
        return err;
    }
    return 0;
}

/* Checks the device can take frames from us; explains why not. */
static int check_device(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_capability cap;
    const char *node = node_name(ctx->path);
    uint32_t caps = device_caps(ctx->fd, &cap);
    char *peer, *state;

    if (!caps) {
        av_log(s, AV_LOG_ERROR, "%s is not a video device\n", ctx->path);
        return AVERROR(ENODEV);
    }
    av_log(s, AV_LOG_VERBOSE, "%s: driver '%s', card '%s', caps 0x%08x\n",
           ctx->path, cap.driver, cap.card, caps);
    if (caps & V4L2_CAP_VIDEO_OUTPUT)
        return 0;

    peer = sysfs_read(node, "peer");
    state = sysfs_read(node, "state");
    /* An exclusive-caps node hides OUTPUT while another producer streams. */
    if (!peer && state && !strcmp(state, "capture"))
        av_log(s, AV_LOG_ERROR, "%s is in use by another producer\n", ctx->path);
    else if (peer)
        av_log(s, AV_LOG_ERROR, "%s is a capture node: write to the device's "
               "output node /dev/%s\n", ctx->path, peer);
    else
        av_log(s, AV_LOG_ERROR, "%s cannot take video (no VIDEO_OUTPUT): "
               "is it a loopback device?\n", ctx->path);
    av_free(peer);
    av_free(state);
    return AVERROR(EINVAL);
}

/* An AVERROR for a failed device call; says what happened. */
static int device_error(AVFormatContext *s, const char *what, int errnum)
{
    LoopbackContext *ctx = s->priv_data;

    if (errnum == ENODEV)
        av_log(s, AV_LOG_ERROR, "%s was removed\n", ctx->path);
    else if (errnum == EBUSY)
        av_log(s, AV_LOG_ERROR, "%s: %s: the device is in use by another producer\n",
               ctx->path, what);
    else
        av_log(s, AV_LOG_ERROR, "%s: %s failed: %s\n", ctx->path, what, strerror(errnum));
    return AVERROR(errnum);
}

/* ------------------------------------------------------------------------ */
/* Negotiation                                                              */

/*
 * The format fixed by whoever configured the device (loopcam-ctl set-caps,
 * keep_format): the sysfs "format" attribute is empty otherwise.
 */
static int fixed_format(AVFormatContext *s, struct v4l2_pix_format *pix)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
    char *attr = sysfs_read(node_name(ctx->path), "format");
    int fixed = attr && *attr && ioctl(ctx->fd, VIDIOC_G_FMT, &f) == 0;

    av_free(attr);
    if (fixed)
        *pix = f.fmt.pix;
    return fixed;
}

static int set_format(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    const AVCodecParameters *par = s->streams[0]->codecpar;
    int compressed_in = par->codec_id != AV_CODEC_ID_RAWVIDEO &&
                        par->codec_id != AV_CODEC_ID_WRAPPED_AVFRAME;
    struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
    struct v4l2_pix_format fixed;
    struct v4l2_pix_format *pix = &f.fmt.pix;
    char want[5], got[5];
    uint32_t want_fourcc;
    int idx, is_fixed = fixed_format(s, &fixed);

    if (ctx->device_format) {
        if (!(pix->pixelformat = parse_device_format(ctx->device_format))) {
            av_log(s, AV_LOG_ERROR, "Unknown device_format '%s': use a V4L2 fourcc "
                   "(YUYV, NV12, YU12, MJPG, ...) or an FFmpeg pixel format name\n",
                   ctx->device_format);
            return AVERROR(EINVAL);
        }
    } else if (is_fixed) {
        pix->pixelformat = fixed.pixelformat;
    } else if (compressed_in) {
        for (int i = 0; i < FF_ARRAY_ELEMS(formats) && !pix->pixelformat; i++)
            if (formats[i].codec_id == par->codec_id)
                pix->pixelformat = formats[i].fourcc;
    } else {
        pix->pixelformat = pick_fourcc(par->format);
    }

    idx = format_index(pix->pixelformat);
    if (idx < 0 || (compressed_in && formats[idx].codec_id != par->codec_id) ||
        (!compressed_in && formats[idx].codec_id != AV_CODEC_ID_NONE)) {
        av_log(s, AV_LOG_ERROR, "Cannot feed %s input into a %s device: %s\n",
               avcodec_get_name(par->codec_id), fourcc_str(pix->pixelformat, want),
               compressed_in ? "compressed input passes through only into the same "
               "compressed format (decode it, or set -device_format)" :
               "raw input needs a raw device format (re-encode with -c:v mjpeg "
               "for an MJPG device)");
        return AVERROR(EINVAL);
    }

    pix->width = ctx->width ? ctx->width : is_fixed ? fixed.width : par->width;
    pix->height = ctx->height ? ctx->height : is_fixed ? fixed.height : par->height;
    pix->field = V4L2_FIELD_NONE;
    want_fourcc = pix->pixelformat;
    if (compressed_in && is_fixed && fixed.pixelformat == pix->pixelformat &&
        fixed.width == pix->width && fixed.height == pix->height) {
        /* Readers already streaming have buffers of the announced size. */
        pix->sizeimage = fixed.sizeimage;
    } else if (compressed_in) {
        /* Room for the largest frame we may get; the device caps it. */
        pix->sizeimage = FFMAX(pix->width * pix->height * 2, 1 << 20);
    } else if (av_pix_fmt_desc_get(formats[idx].pix_fmt)->flags & AV_PIX_FMT_FLAG_RGB) {
        pix->colorspace = V4L2_COLORSPACE_SRGB;
    } else {
        pix->colorspace = par->color_space == AVCOL_SPC_BT709 ? V4L2_COLORSPACE_REC709
                                                              : V4L2_COLORSPACE_SMPTE170M;
        pix->quantization = V4L2_QUANTIZATION_LIM_RANGE;
    }

    if (ioctl(ctx->fd, VIDIOC_S_FMT, &f) < 0)
        return device_error(s, "VIDIOC_S_FMT", errno);
    fourcc_str(pix->pixelformat, got);
    if ((idx = format_index(pix->pixelformat)) < 0 ||
        (formats[idx].codec_id != AV_CODEC_ID_NONE) != compressed_in) {
        av_log(s, AV_LOG_ERROR, "%s chose format %s, which this input cannot be "
               "made into\n", ctx->path, got);
        return AVERROR(EINVAL);
    }
    if (!pix->width || !pix->height) {
        av_log(s, AV_LOG_ERROR, "%s refused the format\n", ctx->path);
        return AVERROR(EINVAL);
    }
    if (pix->pixelformat != want_fourcc)
        av_log(s, AV_LOG_WARNING, "%s keeps format %s instead of %s: converting to it\n",
               ctx->path, got, fourcc_str(want_fourcc, want));
    if ((ctx->width && pix->width != ctx->width) ||
        (ctx->height && pix->height != ctx->height))
        av_log(s, AV_LOG_WARNING, "%s took %ux%u instead of the %dx%d asked for "
               "(see its max_width/max_height)\n", ctx->path, pix->width,
               pix->height, ctx->width, ctx->height);
    ctx->pix = *pix;
    ctx->dev_pix_fmt = formats[idx].pix_fmt;
    ctx->swap_chroma = pix->pixelformat == V4L2_PIX_FMT_YVU420;
    return 0;
}

/* The device rate: the option, else the stream's, else 30 frames/s. */
static AVRational stream_rate(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    AVStream *st = s->streams[0];

    if (ctx->framerate.num > 0 && ctx->framerate.den > 0)
        return ctx->framerate;
    if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
        return st->avg_frame_rate;
    if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0)
        return st->r_frame_rate;
    return DEFAULT_RATE;
}

static int set_rate(AVFormatContext *s, AVRational rate)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };

    av_reduce(&rate.num, &rate.den, rate.num, rate.den, 1000000);
    parm.parm.output.capability = V4L2_CAP_TIMEPERFRAME;
    parm.parm.output.timeperframe.numerator = rate.den;
    parm.parm.output.timeperframe.denominator = rate.num;
    if (ioctl(ctx->fd, VIDIOC_S_PARM, &parm) < 0)
        av_log(s, AV_LOG_WARNING, "%s: cannot set %d/%d frames/s: %s\n",
               ctx->path, rate.num, rate.den, strerror(errno));
    ctx->interval_us = av_rescale(1000000, rate.den, rate.num);
    return 0;
}

static void set_timeout(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_control c = { .id = V4L2LOOPBACK_CID_TIMEOUT, .value = ctx->timeout_ms };

    if (ctx->timeout_ms >= 0 && ioctl(ctx->fd, VIDIOC_S_CTRL, &c) < 0)
        av_log(s, AV_LOG_WARNING, "%s: cannot set the placeholder timeout: %s\n",
               ctx->path, strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* I/O                                                                      */

static int setup_mmap(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_requestbuffers req = {
        .count = ctx->nb_buffers,
        .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
        .memory = V4L2_MEMORY_MMAP,
    };

    if (ioctl(ctx->fd, VIDIOC_REQBUFS, &req) < 0)
        return AVERROR(errno);
    if (req.count < 2) {
        av_log(s, AV_LOG_ERROR, "%s gave %u buffers, 2 are needed (is its "
               "memory budget, max_memory_mb, used up?)\n", ctx->path, req.count);
        return AVERROR(ENOMEM);
    }
    for (unsigned i = 0; i < FFMIN(req.count, MAX_BUFFERS); i++) {
        struct v4l2_buffer buf = {
            .index = i,
            .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
            .memory = V4L2_MEMORY_MMAP,
        };
        void *p;

        if (ioctl(ctx->fd, VIDIOC_QUERYBUF, &buf) < 0)
            return device_error(s, "VIDIOC_QUERYBUF", errno);
        p = mmap(NULL, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED,
                 ctx->fd, buf.m.offset);
        if (p == MAP_FAILED)
            return device_error(s, "mmap", errno);
        ctx->buffers[i].start = p;
        ctx->buffers[i].length = buf.length;
        ctx->buffers[i].queued = 0;
        ctx->nb_mapped++;
    }
    return 0;
}

static int setup_io(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_capability cap;
    uint32_t caps = device_caps(ctx->fd, &cap);
    int err;

    if (ctx->io == IO_MMAP && (caps & V4L2_CAP_STREAMING)) {
        if ((err = setup_mmap(s)) >= 0)
            return 0;
        if (err == AVERROR(EBUSY) || err == AVERROR(ENODEV) || err == AVERROR(ENOMEM))
            return err == AVERROR(EBUSY) ? device_error(s, "VIDIOC_REQBUFS", EBUSY) : err;
        av_log(s, AV_LOG_WARNING, "%s: MMAP streaming failed (%s); using write()\n",
               ctx->path, av_err2str(err));
    }
    if (!(caps & V4L2_CAP_READWRITE)) {
        av_log(s, AV_LOG_ERROR, "%s supports neither MMAP streaming nor write()\n",
               ctx->path);
        return AVERROR(ENOSYS);
    }
    ctx->io = IO_WRITE;
    if (!(ctx->frame = av_mallocz(ctx->pix.sizeimage)))
        return AVERROR(ENOMEM);
    return 0;
}

/*
 * Waits until the device is ready for a frame, looking at the interrupt
 * callback every WAIT_SLICE_US; 0, or an AVERROR when the device fails,
 * hangs for DEVICE_TIMEOUT_US or the user interrupts.
 */
static int wait_writable(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    int64_t until = av_gettime_relative() + DEVICE_TIMEOUT_US;
    struct pollfd p = { .fd = ctx->fd, .events = POLLOUT };

    for (;;) {
        int n = poll(&p, 1, WAIT_SLICE_US / 1000);

        if (n < 0 && errno != EINTR)
            return device_error(s, "poll", errno);
        if (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
            return device_error(s, "poll", ENODEV);
        if (n > 0)
            return 0;
        if (s->interrupt_callback.callback &&
            s->interrupt_callback.callback(s->interrupt_callback.opaque))
            return AVERROR_EXIT;
        if (av_gettime_relative() > until) {
            av_log(s, AV_LOG_ERROR, "%s has not taken a frame for %lld s\n",
                   ctx->path, (long long)(DEVICE_TIMEOUT_US / 1000000));
            return AVERROR(ETIMEDOUT);
        }
    }
}

/*
 * A buffer to render the next frame into: its index, or an AVERROR. The
 * lowest-numbered free one, after taking back the oldest the device is done
 * with. With readers that keep up, every frame then goes out in buffer 0:
 * one frame of memory is written and read over and over and stays in the
 * CPU caches, where taking the buffers in turn would sweep through all.
 */
static int get_buffer(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_buffer buf = {
        .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
        .memory = V4L2_MEMORY_MMAP,
    };
    int err;

    for (;;) {
        if (ctx->streaming) {
            if (ioctl(ctx->fd, VIDIOC_DQBUF, &buf) == 0) {
                if (buf.index >= ctx->nb_mapped)
                    return device_error(s, "VIDIOC_DQBUF", EINVAL);
                ctx->buffers[buf.index].queued = 0;
            } else if (errno != EAGAIN && errno != EINTR) {
                return device_error(s, "VIDIOC_DQBUF", errno);
            }
        }
        for (int i = 0; i < ctx->nb_mapped; i++)
            if (!ctx->buffers[i].queued)
                return i;
        if ((err = wait_writable(s)) < 0)
            return err;
    }
}

static int queue_buffer(AVFormatContext *s, int index, size_t bytesused)
{
    LoopbackContext *ctx = s->priv_data;
    struct v4l2_buffer buf = {
        .index = index,
        .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
        .memory = V4L2_MEMORY_MMAP,
        .bytesused = bytesused,
        .field = V4L2_FIELD_NONE,
    };
    int64_t now = av_gettime_relative();
    int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;

    /* Readers see when the frame was shown, on the monotonic clock. */
    buf.timestamp.tv_sec = now / 1000000;
    buf.timestamp.tv_usec = now % 1000000;
    if (ioctl(ctx->fd, VIDIOC_QBUF, &buf) < 0)
        return device_error(s, "VIDIOC_QBUF", errno);
    ctx->buffers[index].queued = 1;
    if (!ctx->streaming) {
        if (ioctl(ctx->fd, VIDIOC_STREAMON, &type) < 0)
            return device_error(s, "VIDIOC_STREAMON", errno);
        ctx->streaming = 1;
    }
    return 0;
}

static int write_frame(AVFormatContext *s, const uint8_t *data, size_t size)
{
    LoopbackContext *ctx = s->priv_data;

    for (;;) {
        ssize_t n = write(ctx->fd, data, size);
        int err;

        if (n == (ssize_t)size)
            return 0;
        if (n >= 0) {
            av_log(s, AV_LOG_ERROR, "%s took %zd of %zu bytes\n", ctx->path, n, size);
            return AVERROR(EIO);
        }
        if (errno != EAGAIN && errno != EINTR)
            return device_error(s, "write", errno);
        if ((err = wait_writable(s)) < 0)
            return err;
    }
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                */

/* The picture a packet carries: rawvideo bytes or a wrapped AVFrame. */
static int packet_picture(AVFormatContext *s, const AVPacket *pkt,
                          const uint8_t *data[4], int linesize[4],
                          int *w, int *h, enum AVPixelFormat *fmt)
{
    const AVCodecParameters *par = s->streams[0]->codecpar;

    if (par->codec_id == AV_CODEC_ID_WRAPPED_AVFRAME) {
        const AVFrame *frame = (const AVFrame *)pkt->data;

        for (int i = 0; i < 4; i++) {
            data[i] = frame->data[i];
            linesize[i] = frame->linesize[i];
        }
        *w = frame->width;
        *h = frame->height;
        *fmt = frame->format;
        return 0;
    }
    *w = par->width;
    *h = par->height;
    *fmt = par->format;
    if (pkt->size < av_image_get_buffer_size(*fmt, *w, *h, 1)) {
        av_log(s, AV_LOG_ERROR, "Packet of %d bytes is smaller than a %dx%d %s frame\n",
               pkt->size, *w, *h, av_get_pix_fmt_name(*fmt));
        return AVERROR_INVALIDDATA;
    }
    return av_image_fill_arrays((uint8_t **)data, linesize, pkt->data, *fmt, *w, *h, 1);
}

/*
 * Tells a scaler the input's and the device's YCbCr matrix and range, which
 * libswscale cannot know from the pixel formats alone.
 */
static void set_colorimetry(const LoopbackContext *ctx, struct SwsContext *sws,
                            enum AVPixelFormat in_fmt, enum AVColorRange in_range,
                            enum AVColorSpace in_space)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(in_fmt);
    int in_full = in_range == AVCOL_RANGE_JPEG ||
                  in_fmt == AV_PIX_FMT_YUVJ420P || in_fmt == AV_PIX_FMT_YUVJ422P ||
                  in_fmt == AV_PIX_FMT_YUVJ444P || (desc && desc->flags & AV_PIX_FMT_FLAG_RGB);
    int out_full = ctx->pix.quantization == V4L2_QUANTIZATION_FULL_RANGE ||
                   ctx->pix.colorspace == V4L2_COLORSPACE_JPEG ||
                   ctx->pix.colorspace == V4L2_COLORSPACE_SRGB;
    int in_cs = in_space == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    int out_cs = ctx->pix.colorspace == V4L2_COLORSPACE_REC709 ||
                 ctx->pix.ycbcr_enc == V4L2_YCBCR_ENC_709 ? SWS_CS_ITU709 : SWS_CS_ITU601;

    /* Ignored (with a harmless error return) where both sides are RGB. */
    sws_setColorspaceDetails(sws, sws_getCoefficients(in_cs), in_full,
                             sws_getCoefficients(out_cs), out_full, 0, 1 << 16, 1 << 16);
}

static int update_scaler(AVFormatContext *s, int w, int h, enum AVPixelFormat fmt)
{
    LoopbackContext *ctx = s->priv_data;
    const AVCodecParameters *par = s->streams[0]->codecpar;

    if (ctx->sws && ctx->sws_in_w == w && ctx->sws_in_h == h && ctx->sws_in_fmt == fmt)
        return 0;
    sws_freeContext(ctx->sws);
    if (!(ctx->sws = sws_alloc_context()))
        return AVERROR(ENOMEM);
    av_opt_set_int(ctx->sws, "srcw", w, 0);
    av_opt_set_int(ctx->sws, "srch", h, 0);
    av_opt_set_int(ctx->sws, "src_format", fmt, 0);
    av_opt_set_int(ctx->sws, "dstw", ctx->pix.width, 0);
    av_opt_set_int(ctx->sws, "dsth", ctx->pix.height, 0);
    av_opt_set_int(ctx->sws, "dst_format", ctx->dev_pix_fmt, 0);
    av_opt_set_int(ctx->sws, "sws_flags", ctx->sws_flags, 0);
    /* Slices in parallel: the conversion is on the muxer's thread alone. */
    av_opt_set_int(ctx->sws, "threads", ctx->threads, 0);
    if (sws_init_context(ctx->sws, NULL, NULL) < 0) {
        sws_freeContext(ctx->sws);
        ctx->sws = NULL;
        av_log(s, AV_LOG_ERROR, "Cannot convert %dx%d %s to %ux%u %s\n", w, h,
               av_get_pix_fmt_name(fmt), ctx->pix.width, ctx->pix.height,
               av_get_pix_fmt_name(ctx->dev_pix_fmt));
        return AVERROR(EINVAL);
    }
    set_colorimetry(ctx, ctx->sws, fmt, par->color_range, par->color_space);
    ctx->sws_in_w = w;
    ctx->sws_in_h = h;
    ctx->sws_in_fmt = fmt;
    return 0;
}

static void keep_memory(void *opaque, uint8_t *data)
{
    /* The device's buffer: unmapped in deinit(), not freed here. */
}

/*
 * Converts a picture into device memory with sws_scale_frame(), which runs
 * the conversion's slices on the "threads" threads (sws_scale() uses one).
 * Both frames must hold buffer references, or libswscale would copy the
 * source first: the packet's buffer, and a wrapper around the device's.
 */
static int scale(AVFormatContext *s, const AVPacket *pkt,
                 const uint8_t *const src_data[4], const int src_linesize[4],
                 uint8_t *dst, size_t room, uint8_t *const dst_data[4],
                 const int dst_linesize[4])
{
    LoopbackContext *ctx = s->priv_data;
    const AVFrame *src = ctx->src_frame;
    AVFrame *out = ctx->dst_frame;
    int err;

    if (s->streams[0]->codecpar->codec_id == AV_CODEC_ID_WRAPPED_AVFRAME) {
        src = (const AVFrame *)pkt->data;
    } else {
        if (!pkt->buf)      /* not refcounted: no threads, but no copy */
            return sws_scale(ctx->sws, src_data, src_linesize, 0, ctx->sws_in_h,
                             dst_data, dst_linesize);
        if (!(ctx->src_frame->buf[0] = av_buffer_ref(pkt->buf)))
            return AVERROR(ENOMEM);
        for (int i = 0; i < 4; i++) {
            ctx->src_frame->data[i] = (uint8_t *)src_data[i];
            ctx->src_frame->linesize[i] = src_linesize[i];
        }
        ctx->src_frame->width = ctx->sws_in_w;
        ctx->src_frame->height = ctx->sws_in_h;
        ctx->src_frame->format = ctx->sws_in_fmt;
    }

    if (!(out->buf[0] = av_buffer_create(dst, room, keep_memory, NULL, 0))) {
        av_frame_unref(ctx->src_frame);
        return AVERROR(ENOMEM);
    }
    for (int i = 0; i < 4; i++) {
        out->data[i] = dst_data[i];
        out->linesize[i] = dst_linesize[i];
    }
    out->width = ctx->pix.width;
    out->height = ctx->pix.height;
    out->format = ctx->dev_pix_fmt;
    err = sws_scale_frame(ctx->sws, out, src);
    av_frame_unref(out);
    av_frame_unref(ctx->src_frame);
    return err < 0 ? err : 0;
}

static int fill_black(const LoopbackContext *ctx, uint8_t *data[4],
                      const int linesize[4])
{
    ptrdiff_t ls[4] = { linesize[0], linesize[1], linesize[2], linesize[3] };

    return av_image_fill_black(data, ls, ctx->dev_pix_fmt, AVCOL_RANGE_MPEG,
                               ctx->pix.width, ctx->pix.height);
}

/* ------------------------------------------------------------------------ */
/* Placeholder image                                                        */

/* Decodes the first picture of @file: any image (or video) FFmpeg reads. */
static int decode_image(AVFormatContext *s, const char *file, AVFrame *frame)
{
    AVFormatContext *ic = NULL;
    AVCodecContext *dec = NULL;
    const AVCodec *codec;
    AVPacket *pkt = av_packet_alloc();
    int idx = -1, err;

    if (!pkt)
        return AVERROR(ENOMEM);
    if ((err = avformat_open_input(&ic, file, NULL, NULL)) < 0 ||
        (err = avformat_find_stream_info(ic, NULL)) < 0 ||
        (err = idx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)) < 0)
        goto out;
    if (!(dec = avcodec_alloc_context3(codec))) {
        err = AVERROR(ENOMEM);
        goto out;
    }
    if ((err = avcodec_parameters_to_context(dec, ic->streams[idx]->codecpar)) < 0 ||
        (err = avcodec_open2(dec, codec, NULL)) < 0)
        goto out;
    while ((err = avcodec_receive_frame(dec, frame)) == AVERROR(EAGAIN)) {
        if ((err = av_read_frame(ic, pkt)) == AVERROR_EOF) {
            err = avcodec_send_packet(dec, NULL);   /* drain: EOF if no picture */
        } else if (err >= 0) {
            if (pkt->stream_index == idx)
                err = avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
        }
        if (err < 0)
            break;
    }
out:
    if (err < 0)
        av_log(s, AV_LOG_ERROR, "Cannot read a picture from the placeholder '%s': %s\n",
               file, err == AVERROR_EOF ? "no picture in it" : av_err2str(err));
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&ic);
    return err;
}

/*
 * Offsets plane pointers to the pixel at (@x, @y), which lies on the
 * chroma grid.
 */
static void offset_planes(enum AVPixelFormat fmt, uint8_t *data[4],
                          const int linesize[4], int x, int y)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);

    for (int i = 0; i < 4 && data[i]; i++) {
        int chroma = (i == 1 || i == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);

        data[i] += (ptrdiff_t)(chroma ? y >> desc->log2_chroma_h : y) * linesize[i];
        if (x > 0)
            data[i] += av_image_get_linesize(fmt, x, i);
    }
}

/*
 * Loads -placeholder once, into a frame in the device's layout: scaled to
 * fit and centred on black, so the picture keeps its shape.
 */
static int load_placeholder(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(ctx->dev_pix_fmt);
    int xalign = 1 << desc->log2_chroma_w, yalign = 1 << desc->log2_chroma_h;
    int w = ctx->pix.width, h = ctx->pix.height, linesize[4], err;
    struct SwsContext *sws = NULL;
    AVFrame *img = av_frame_alloc();
    uint8_t *data[4];

    if (!img || !(ctx->placeholder = av_malloc(ctx->pix.sizeimage))) {
        err = AVERROR(ENOMEM);
        goto out;
    }
    if ((err = decode_image(s, ctx->placeholder_file, img)) < 0)
        goto out;
    device_planes(ctx, ctx->placeholder, data, linesize);
    if ((err = fill_black(ctx, data, linesize)) < 0)
        goto out;
    if ((int64_t)img->width * h > (int64_t)img->height * w)
        h = FFMAX(av_rescale(w, img->height, img->width) & ~(yalign - 1), yalign);
    else if ((int64_t)img->width * h < (int64_t)img->height * w)
        w = FFMAX(av_rescale(h, img->width, img->height) & ~(xalign - 1), xalign);
    offset_planes(ctx->dev_pix_fmt, data, linesize,
                  (ctx->pix.width - w) / 2 & ~(xalign - 1),
                  (ctx->pix.height - h) / 2 & ~(yalign - 1));
    sws = sws_getContext(img->width, img->height, img->format, w, h, ctx->dev_pix_fmt,
                         SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws) {
        av_log(s, AV_LOG_ERROR, "Cannot convert the placeholder (%dx%d %s) to %dx%d %s\n",
               img->width, img->height, av_get_pix_fmt_name(img->format), w, h,
               av_get_pix_fmt_name(ctx->dev_pix_fmt));
        err = AVERROR(EINVAL);
        goto out;
    }
    set_colorimetry(ctx, sws, img->format, img->color_range, img->colorspace);
    sws_scale(sws, (const uint8_t *const *)img->data, img->linesize, 0, img->height,
              data, linesize);
    av_log(s, AV_LOG_VERBOSE, "placeholder %s: %dx%d, shown %dx%d\n",
           ctx->placeholder_file, img->width, img->height, w, h);
    err = 0;
out:
    sws_freeContext(sws);
    av_frame_free(&img);
    if (err < 0)
        av_freep(&ctx->placeholder);
    return err;
}

/*
 * Renders a packet (NULL: the placeholder, black if none) into a frame of the device's layout at
 * @dst, holding @room bytes; sets the bytes used.
 */
static int render(AVFormatContext *s, const AVPacket *pkt, uint8_t *dst,
                  size_t room, size_t *used)
{
    LoopbackContext *ctx = s->priv_data;
    uint8_t *dst_data[4];
    int dst_linesize[4], src_linesize[4], w, h, err;
    const uint8_t *src_data[4];
    enum AVPixelFormat fmt;

    if (ctx->dev_pix_fmt == AV_PIX_FMT_NONE) {
        if (!pkt)
            return AVERROR(EAGAIN);     /* no black for compressed formats */
        /* EAGAIN: nothing to show this time; the buffer stays free. */
        if ((size_t)pkt->size > room) {
            /* One lost frame, not the end of the camera. */
            av_log(s, AV_LOG_WARNING, "Frame of %d bytes does not fit the device's "
                   "%zu-byte buffers: dropped\n", pkt->size, room);
            return AVERROR(EAGAIN);
        }
        memcpy(dst, pkt->data, pkt->size);
        *used = pkt->size;
        return 0;
    }

    if (room < ctx->pix.sizeimage)
        return AVERROR_BUG;
    device_planes(ctx, dst, dst_data, dst_linesize);
    *used = ctx->pix.sizeimage;
    if (!pkt && ctx->placeholder) {
        memcpy(dst, ctx->placeholder, ctx->pix.sizeimage);
        return 0;
    }
    if (!pkt)
        return fill_black(ctx, dst_data, dst_linesize);

    if ((err = packet_picture(s, pkt, src_data, src_linesize, &w, &h, &fmt)) < 0)
        return err;
    if (fmt == ctx->dev_pix_fmt && w == (int)ctx->pix.width && h == (int)ctx->pix.height) {
        /* Already the device format: one copy, plane by plane. */
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);

        for (int i = 0; i < av_pix_fmt_count_planes(fmt); i++) {
            int lines = i && i < 3 ? AV_CEIL_RSHIFT(h, desc->log2_chroma_h) : h;
            av_image_copy_plane(dst_data[i], dst_linesize[i], src_data[i],
                                src_linesize[i], av_image_get_linesize(fmt, w, i), lines);
        }
        return 0;
    }
    if ((err = update_scaler(s, w, h, fmt)) < 0)
        return err;
    return scale(s, pkt, src_data, src_linesize, dst, room, dst_data, dst_linesize);
}

/*
 * Puts a frame (NULL: the placeholder) on the device. Called with ctx->lock held, from
 * write_packet() and from the keep-alive thread.
 */
static int show(AVFormatContext *s, const AVPacket *pkt)
{
    LoopbackContext *ctx = s->priv_data;
    uint8_t *dst = ctx->frame;
    size_t room = ctx->pix.sizeimage, used = 0;
    int index = -1, err;

    if (ctx->io == IO_MMAP) {
        if ((index = get_buffer(s)) < 0)
            return index;
        dst = ctx->buffers[index].start;
        room = ctx->buffers[index].length;
    }
    err = render(s, pkt, dst, room, &used);
    if (err < 0) {
        /* EAGAIN: nothing to show this time (a dropped frame). */
        return err == AVERROR(EAGAIN) ? 0 : err;
    }
    err = index >= 0 ? queue_buffer(s, index, used) : write_frame(s, dst, used);
    if (err < 0)
        return err;
    ctx->last_out_us = av_gettime_relative();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Keep-alive                                                               */

static int64_t cond_deadline(struct timespec *ts, int64_t at_us)
{
    struct timespec now;
    int64_t delta;

    clock_gettime(CLOCK_MONOTONIC, &now);
    delta = FFMAX(at_us - av_gettime_relative(), 0);
    now.tv_sec += delta / 1000000;
    now.tv_nsec += (delta % 1000000) * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    *ts = now;
    return delta;
}

/*
 * While no new frame comes, shows the last one again (or black) once per
 * device frame interval, so readers keep the rate. The first repeat waits a
 * quarter interval past the due time, so a frame that is merely a little
 * late is not doubled.
 */
static void *keepalive_thread(void *arg)
{
    AVFormatContext *s = arg;
    LoopbackContext *ctx = s->priv_data;

    pthread_mutex_lock(&ctx->lock);
    while (!ctx->stop) {
        int active = (ctx->repeat || ctx->ending) && (ctx->last || ctx->show_placeholder);
        int64_t due = ctx->last_out_us + ctx->interval_us +
                      (ctx->last_was_repeat ? 0 : ctx->interval_us / 4);
        struct timespec ts;

        if (!ctx->error && active && av_gettime_relative() >= due) {
            /* An error (or an interrupt) ends the stream at the next packet. */
            if ((ctx->error = show(s, ctx->show_placeholder ? NULL : ctx->last)) >= 0) {
                ctx->last_was_repeat = 1;
                ctx->nb_repeats++;
            }
            continue;
        }
        if (ctx->error || !active)
            pthread_cond_wait(&ctx->cond, &ctx->lock);
        else if (cond_deadline(&ts, due) > 0)
            pthread_cond_timedwait(&ctx->cond, &ctx->lock, &ts);
    }
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}

static int start_keepalive(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    pthread_condattr_t attr;
    int err;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    err = pthread_cond_init(&ctx->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (err)
        return AVERROR(err);
    if ((err = pthread_create(&ctx->thread, NULL, keepalive_thread, s))) {
        pthread_cond_destroy(&ctx->cond);
        return AVERROR(err);
    }
    ctx->thread_started = 1;
    return 0;
}

static void stop_keepalive(LoopbackContext *ctx)
{
    if (!ctx->thread_started)
        return;
    pthread_mutex_lock(&ctx->lock);
    ctx->stop = 1;
    pthread_cond_signal(&ctx->cond);
    pthread_mutex_unlock(&ctx->lock);
    pthread_join(ctx->thread, NULL);
    pthread_cond_destroy(&ctx->cond);
    ctx->thread_started = 0;
}

/* ------------------------------------------------------------------------ */
/* Muxer callbacks                                                          */

/* Runs before anything that deinit() may have to undo. */
static int loopback_init(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;

    ctx->fd = -1;
    ctx->created_nr = -1;
    ctx->pts_offset_us = AV_NOPTS_VALUE;
    ctx->src_frame = av_frame_alloc();
    ctx->dst_frame = av_frame_alloc();
    return ctx->src_frame && ctx->dst_frame ? 0 : AVERROR(ENOMEM);
}

static int loopback_write_header(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    const AVCodecParameters *par;
    AVRational rate;
    char fcc[5];
    int err;

    if (s->nb_streams != 1 || s->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) {
        av_log(s, AV_LOG_ERROR, "Exactly one video stream is needed (use -map to pick "
               "one, -an to drop audio)\n");
        return AVERROR(EINVAL);
    }
    par = s->streams[0]->codecpar;
    if ((par->codec_id == AV_CODEC_ID_RAWVIDEO && par->format == AV_PIX_FMT_NONE)) {
        av_log(s, AV_LOG_ERROR, "Raw video without a pixel format\n");
        return AVERROR(EINVAL);
    }
    if (par->codec_id == AV_CODEC_ID_H264 && par->extradata_size && par->extradata[0] == 1) {
        av_log(s, AV_LOG_ERROR, "H.264 in MP4 (avcC) framing: readers need Annex B, "
               "add -bsf:v h264_mp4toannexb\n");
        return AVERROR(EINVAL);
    }

    if (ctx->on_end == END_IMAGE && !ctx->placeholder_file) {
        av_log(s, AV_LOG_ERROR, "-on_end image needs an image: add -placeholder FILE\n");
        return AVERROR(EINVAL);
    }
    if (ctx->placeholder_file && ctx->on_end != END_IMAGE)
        av_log(s, AV_LOG_WARNING, "-placeholder is shown with -on_end image only\n");

    if ((err = open_device(s)) < 0 || (err = check_device(s)) < 0 ||
        (err = set_format(s)) < 0)
        return err;
    if (ctx->on_end == END_IMAGE) {
        if (ctx->dev_pix_fmt == AV_PIX_FMT_NONE) {
            av_log(s, AV_LOG_ERROR, "-on_end image needs a raw device format, not the "
                   "compressed one\n");
            return AVERROR(EINVAL);
        }
        if ((err = load_placeholder(s)) < 0)
            return err;
    }
    rate = stream_rate(s);
    set_rate(s, rate);
    set_timeout(s);
    if ((err = setup_io(s)) < 0)
        return err;

    if ((err = pthread_mutex_init(&ctx->lock, NULL)))
        return AVERROR(err);
    ctx->lock_initialized = 1;
    if ((ctx->repeat || ctx->on_end != END_STOP) && (err = start_keepalive(s)) < 0)
        return err;

    av_log(s, AV_LOG_INFO, "%s: %s %ux%u at %d/%d frames/s by %s (%d buffers); "
           "input %s %dx%d: %s\n", ctx->path, fourcc_str(ctx->pix.pixelformat, fcc),
           ctx->pix.width, ctx->pix.height, rate.num, rate.den,
           ctx->io == IO_MMAP ? "MMAP" : "write()", ctx->io == IO_MMAP ? ctx->nb_mapped : 1,
           par->codec_id == AV_CODEC_ID_RAWVIDEO || par->codec_id == AV_CODEC_ID_WRAPPED_AVFRAME
               ? av_get_pix_fmt_name(par->format) : avcodec_get_name(par->codec_id),
           par->width, par->height,
           ctx->dev_pix_fmt == AV_PIX_FMT_NONE ? "passed through" :
           par->format == ctx->dev_pix_fmt && par->width == (int)ctx->pix.width &&
           par->height == (int)ctx->pix.height ? "copied" : "converted");
    return 0;
}

/*
 * Sleeps until the wall-clock time of a frame's timestamp. The timeline
 * starts with the first frame; a frame more than LATE_RESYNC_US late (the
 * input stalled) starts a new one instead of a burst of catch-up frames.
 */
static int pace(AVFormatContext *s, const AVPacket *pkt)
{
    LoopbackContext *ctx = s->priv_data;
    int64_t pts, now = av_gettime_relative(), due;

    if (!ctx->pace || pkt->pts == AV_NOPTS_VALUE)
        return 0;
    pts = av_rescale_q(pkt->pts, s->streams[0]->time_base, AV_TIME_BASE_Q);
    if (ctx->pts_offset_us == AV_NOPTS_VALUE || now - (pts + ctx->pts_offset_us) > LATE_RESYNC_US) {
        if (ctx->pts_offset_us != AV_NOPTS_VALUE)
            av_log(s, AV_LOG_VERBOSE, "input %.3f s late: new timeline\n",
                   (now - (pts + ctx->pts_offset_us)) / 1e6);
        ctx->pts_offset_us = now - pts;
    }
    due = pts + ctx->pts_offset_us;
    while ((now = av_gettime_relative()) < due) {
        if (s->interrupt_callback.callback &&
            s->interrupt_callback.callback(s->interrupt_callback.opaque))
            return AVERROR_EXIT;
        av_usleep(FFMIN(due - now, WAIT_SLICE_US));
    }
    return 0;
}

static int loopback_write_packet(AVFormatContext *s, AVPacket *pkt)
{
    LoopbackContext *ctx = s->priv_data;
    int err;

    if ((err = pace(s, pkt)) < 0)
        return err;

    pthread_mutex_lock(&ctx->lock);
    if ((err = ctx->error) >= 0 && (err = show(s, pkt)) >= 0) {
        ctx->nb_frames++;
        ctx->last_was_repeat = 0;
        if (ctx->thread_started) {
            /* Keep a reference, not a copy, for the keep-alive to repeat. */
            if (!ctx->last && !(ctx->last = av_packet_alloc()))
                err = AVERROR(ENOMEM);
            else {
                av_packet_unref(ctx->last);
                err = av_packet_ref(ctx->last, pkt);
            }
            pthread_cond_signal(&ctx->cond);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return err;
}

/*
 * -on_end holds the picture until SIGINT or SIGTERM. The ffmpeg tool's
 * interrupt callback only fires on a second signal once it has started, so
 * the hold also watches for the signal itself, and passes every signal on
 * to the handler it replaced.
 */
static volatile sig_atomic_t end_signalled;
static struct sigaction end_old_int, end_old_term;

static void end_signal(int sig)
{
    const struct sigaction *old = sig == SIGINT ? &end_old_int : &end_old_term;

    end_signalled = 1;
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
        old->sa_handler != SIG_IGN)
        old->sa_handler(sig);
}

static int interrupted(AVFormatContext *s)
{
    return end_signalled || (s->interrupt_callback.callback &&
                             s->interrupt_callback.callback(s->interrupt_callback.opaque));
}

/* Shows the last frame or black until the user interrupts, if asked to. */
static int hold_end(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    struct sigaction sa = { .sa_handler = end_signal };
    int show_placeholder, err = 0;

    if (ctx->on_end == END_STOP || !ctx->thread_started)
        return 0;
    /* A compressed device has no black: it keeps the last frame. */
    show_placeholder = ctx->on_end != END_LAST && ctx->dev_pix_fmt != AV_PIX_FMT_NONE;
    if (show_placeholder && ctx->placeholder)
        av_log(s, AV_LOG_INFO, "input ended: showing '%s' until interrupted\n",
               ctx->placeholder_file);
    else
        av_log(s, AV_LOG_INFO, "input ended: showing %s until interrupted\n",
               show_placeholder ? "black" : "the last frame");
    pthread_mutex_lock(&ctx->lock);
    ctx->ending = 1;
    ctx->show_placeholder = show_placeholder;
    pthread_cond_signal(&ctx->cond);
    pthread_mutex_unlock(&ctx->lock);
    end_signalled = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &end_old_int);
    sigaction(SIGTERM, &sa, &end_old_term);
    while (!interrupted(s)) {
        pthread_mutex_lock(&ctx->lock);
        err = ctx->error;
        pthread_mutex_unlock(&ctx->lock);
        if (err < 0)
            break;
        av_usleep(WAIT_SLICE_US);
    }
    sigaction(SIGINT, &end_old_int, NULL);
    sigaction(SIGTERM, &end_old_term, NULL);
    /* Interrupted while the device was waited for: that is the asked-for end. */
    return err == AVERROR_EXIT ? 0 : err;
}

static int loopback_write_trailer(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    int err = hold_end(s);

    stop_keepalive(ctx);
    av_log(s, AV_LOG_INFO, "%" PRIu64 " frames shown, %" PRIu64 " repeats\n",
           ctx->nb_frames, ctx->nb_repeats);
    return err;
}

static void loopback_deinit(AVFormatContext *s)
{
    LoopbackContext *ctx = s->priv_data;
    int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;

    stop_keepalive(ctx);
    if (ctx->lock_initialized)
        pthread_mutex_destroy(&ctx->lock);
    if (ctx->streaming)
        ioctl(ctx->fd, VIDIOC_STREAMOFF, &type);
    for (int i = 0; i < ctx->nb_mapped; i++)
        munmap(ctx->buffers[i].start, ctx->buffers[i].length);
    ctx->nb_mapped = 0;
    if (ctx->fd >= 0)
        close(ctx->fd);
    ctx->fd = -1;
    if (ctx->created_nr >= 0 && !ctx->keep_device)
        remove_device(s);
    av_packet_free(&ctx->last);
    sws_freeContext(ctx->sws);
    ctx->sws = NULL;
    av_frame_free(&ctx->src_frame);
    av_frame_free(&ctx->dst_frame);
    av_freep(&ctx->frame);
    av_freep(&ctx->placeholder);
    av_freep(&ctx->path);
}

/* For ffmpeg -sinks loopback: every loopback node that takes video. */
static int loopback_get_device_list(AVFormatContext *s, AVDeviceInfoList *list)
{
    for (int nr = 0; nr < 256; nr++) {
        char path[64];
        struct v4l2_capability cap;
        AVDeviceInfo *info;
        uint32_t caps;
        int fd;

        snprintf(path, sizeof(path), "/dev/video%d", nr);
        if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
            continue;
        caps = device_caps(fd, &cap);
        close(fd);
        if (!(caps & V4L2_CAP_VIDEO_OUTPUT) ||
            strcmp((const char *)cap.driver, V4L2LOOPBACK_DRIVER_NAME))
            continue;
        if (!(info = av_mallocz(sizeof(*info))))
            return AVERROR(ENOMEM);
        info->device_name = av_strdup(path);
        info->device_description = av_strdup((const char *)cap.card);
        info->media_types = av_malloc(sizeof(*info->media_types));
        if (!info->device_name || !info->device_description || !info->media_types ||
            av_dynarray_add_nofree(&list->devices, &list->nb_devices, info) < 0) {
            av_freep(&info->device_name);
            av_freep(&info->device_description);
            av_freep(&info->media_types);
            av_free(info);
            return AVERROR(ENOMEM);
        }
        info->media_types[0] = AVMEDIA_TYPE_VIDEO;
        info->nb_media_types = 1;
    }
    list->default_device = list->nb_devices ? 0 : -1;
    return 0;
}

#define OFFSET(x) offsetof(LoopbackContext, x)
#define ENC AV_OPT_FLAG_ENCODING_PARAM
static const AVOption options[] = {
    { "device_format", "device pixel format: V4L2 fourcc (YUYV, NV12, YU12, MJPG, ...) or "
      "FFmpeg pixel format; default: the device's configured format, else the closest to "
      "the input", OFFSET(device_format), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, ENC },
    { "video_size", "device frame size (input is scaled); default: the device's "
      "configured size, else the input's", OFFSET(width), AV_OPT_TYPE_IMAGE_SIZE,
      { .str = NULL }, 0, 0, ENC },
    /* A rational, not a video_rate: "no rate given" must be representable. */
    { "framerate", "device frame rate (30, 30000/1001, 29.97); default: the stream's",
      OFFSET(framerate), AV_OPT_TYPE_RATIONAL, { .dbl = 0 }, 0, INT_MAX, ENC },
    { "label", "with the output name 'auto': use the device with this card label, or "
      "create one with it", OFFSET(label), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, ENC },
    { "split", "a device created by 'auto' has separate output and capture nodes",
      OFFSET(split), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, ENC },
    { "keep_device", "keep a device created by 'auto' when done",
      OFFSET(keep_device), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, ENC },
    { "pace", "show frames at their timestamps (turn off for live input that is "
      "paced already)", OFFSET(pace), AV_OPT_TYPE_BOOL, { .i64 = 1 }, 0, 1, ENC },
    { "repeat", "repeat the last frame at the device rate while input stalls",
      OFFSET(repeat), AV_OPT_TYPE_BOOL, { .i64 = 1 }, 0, 1, ENC },
    { "on_end", "what readers see when the input ends", OFFSET(on_end), AV_OPT_TYPE_INT,
      { .i64 = END_STOP }, END_STOP, END_IMAGE, ENC, "on_end" },
    { "stop",  "stop streaming (the device's own placeholder follows)", 0,
      AV_OPT_TYPE_CONST, { .i64 = END_STOP },  0, 0, ENC, "on_end" },
    { "last",  "keep showing the last frame until interrupted", 0,
      AV_OPT_TYPE_CONST, { .i64 = END_LAST },  0, 0, ENC, "on_end" },
    { "black", "show black until interrupted", 0,
      AV_OPT_TYPE_CONST, { .i64 = END_BLACK }, 0, 0, ENC, "on_end" },
    { "image", "show the -placeholder image until interrupted", 0,
      AV_OPT_TYPE_CONST, { .i64 = END_IMAGE }, 0, 0, ENC, "on_end" },
    { "placeholder", "image file (PNG, JPEG, ...) for -on_end image; scaled to fit, "
      "centred on black", OFFSET(placeholder_file), AV_OPT_TYPE_STRING, { .str = NULL },
      0, 0, ENC },
    { "timeout", "ms after the producer stops before readers get the device's "
      "placeholder; -1 leaves the device's setting", OFFSET(timeout_ms), AV_OPT_TYPE_INT,
      { .i64 = -1 }, -1, INT_MAX, ENC },
    { "io", "how frames reach the device", OFFSET(io), AV_OPT_TYPE_INT,
      { .i64 = IO_MMAP }, IO_MMAP, IO_WRITE, ENC, "io" },
    { "mmap",  "MMAP streaming (write() if the device cannot)", 0,
      AV_OPT_TYPE_CONST, { .i64 = IO_MMAP },  0, 0, ENC, "io" },
    { "write", "one write() per frame", 0,
      AV_OPT_TYPE_CONST, { .i64 = IO_WRITE }, 0, 0, ENC, "io" },
    { "buffers", "MMAP buffers to ask for", OFFSET(nb_buffers), AV_OPT_TYPE_INT,
      { .i64 = 4 }, 2, MAX_BUFFERS, ENC },
    { "convert_threads", "threads converting each frame (0: one per CPU)", OFFSET(threads),
      AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 64, ENC },
    { "sws_flags", "libswscale flags for conversion and scaling", OFFSET(sws_flags),
      AV_OPT_TYPE_FLAGS, { .i64 = SWS_BICUBIC }, 0, INT_MAX, ENC, "sws_flags" },
    { "bilinear", NULL, 0, AV_OPT_TYPE_CONST, { .i64 = SWS_BILINEAR }, 0, 0, ENC, "sws_flags" },
    { "bicubic",  NULL, 0, AV_OPT_TYPE_CONST, { .i64 = SWS_BICUBIC },  0, 0, ENC, "sws_flags" },
    { "lanczos",  NULL, 0, AV_OPT_TYPE_CONST, { .i64 = SWS_LANCZOS },  0, 0, ENC, "sws_flags" },
    { "point",    NULL, 0, AV_OPT_TYPE_CONST, { .i64 = SWS_POINT },    0, 0, ENC, "sws_flags" },
    { "accurate_rnd", NULL, 0, AV_OPT_TYPE_CONST, { .i64 = SWS_ACCURATE_RND }, 0, 0, ENC,
      "sws_flags" },
    { NULL },
};

static const AVClass loopback_class = {
    .class_name = "loopback outdev",
    .item_name  = av_default_item_name,
    .option     = options,
    .version    = LIBAVUTIL_VERSION_INT,
    .category   = AV_CLASS_CATEGORY_DEVICE_VIDEO_OUTPUT,
};

const LoopbackOutputFormat ff_loopback_muxer = {
    LOOPBACK_PUBLIC(name)        = "loopback",
    LOOPBACK_PUBLIC(long_name)   = NULL_IF_CONFIG_SMALL("V4L2 loopback device (loopcam, v4l2loopback)"),
    LOOPBACK_PUBLIC(audio_codec) = AV_CODEC_ID_NONE,
    /* Frames, not copies of them: conversion reads the decoder's picture. */
    LOOPBACK_PUBLIC(video_codec) = AV_CODEC_ID_WRAPPED_AVFRAME,
    /* The device holds the rate itself: no duplicated frames from ffmpeg. */
    LOOPBACK_PUBLIC(flags)       = AVFMT_NOFILE | AVFMT_VARIABLE_FPS,
    LOOPBACK_PUBLIC(priv_class)  = &loopback_class,
    .priv_data_size              = sizeof(LoopbackContext),
    .init                        = loopback_init,
    .write_header                = loopback_write_header,
    .write_packet                = loopback_write_packet,
    .write_trailer               = loopback_write_trailer,
    .deinit                      = loopback_deinit,
    .get_device_list             = loopback_get_device_list,
};
