/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GstLoopbackRgbConvert: packed 8-bit RGB (RGB, BGR, RGBx, BGRA, ...) to
 * packed 4:2:2 (YUY2, UYVY, YVYU) or 4:2:0 (I420, YV12, NV12, NV21)
 * at the same size, in one pass over the input.
 *
 * Screen grabs and renderers hand loopbacksink RGB, and cameras carry YUV.
 * GstVideoConverter does this in several passes per line (unpack to AYUV,
 * matrix, chroma resampling, pack), which costs about as much as this on
 * a CPU with SIMD and several times as much where SIMD is dear (under
 * emulation, 19 ms against 2-4 ms a 640x480 frame). The result is
 * GstVideoConverter's to within one step of 8 bits: the same matrix (the
 * output's colorimetry), range and centred chroma (the average of the 2
 * or 2x2 pixels a chroma sample covers). Anything else, scaling
 * included, is left to GstVideoConverter: gst_loopback_rgb_convert_new()
 * returns NULL.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "gstloopbackrgbconvert.h"

/* Fixed-point coefficients: value * 2^SHIFT. */
#define SHIFT 14

struct _GstLoopbackRgbConvert
{
  gint width, height;
  gboolean chroma_420;          /* else 4:2:2: chroma on every line */
  /* Input pixel: its size and where R, G and B are in it. */
  guint in_pstride, r, g, b;
  /* 4:2:0 output (Y planar): bytes from one U (V) sample to the next. */
  guint c_pstride;
  /* 4:2:2 output: where Y, Y, U and V are in a pair's 32 bits (LE). */
  guint y0_bit, y1_bit, u_bit, v_bit;
  /* Y, U and V from R, G and B, times 2^SHIFT. */
  gint yr, yg, yb, ur, ug, ub, vr, vg, vb;
  gint y_add;                   /* Y offset and rounding, times 2^SHIFT */
  /* U, V offset and rounding, times 2^SHIFT times the pixels summed. */
  gint c_add;
  guint8 *spare_row;            /* Y of the line below an odd last line */
};

static gboolean
lbs_rgb_format_supported (GstVideoFormat format)
{
  switch (format) {
    case GST_VIDEO_FORMAT_RGB:
    case GST_VIDEO_FORMAT_BGR:
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_BGRA:
    case GST_VIDEO_FORMAT_ARGB:
    case GST_VIDEO_FORMAT_ABGR:
      return TRUE;
    default:
      return FALSE;
  }
}

/* 1: packed 4:2:2, 2: 4:2:0, 0: neither. */
static gint
lbs_yuv_format_kind (GstVideoFormat format)
{
  switch (format) {
    case GST_VIDEO_FORMAT_YUY2:
    case GST_VIDEO_FORMAT_UYVY:
    case GST_VIDEO_FORMAT_YVYU:
      return 1;
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_YV12:
    case GST_VIDEO_FORMAT_NV12:
    case GST_VIDEO_FORMAT_NV21:
      return 2;
    default:
      return 0;
  }
}

/* R's and B's weights rounded; G's makes the three sum to @total. */
static void
lbs_rgb_coefficients (gdouble cr, gdouble cb, gdouble scale, gint total,
    gint * r, gint * g, gint * b)
{
  *r = (gint) lround (cr * scale);
  *b = (gint) lround (cb * scale);
  *g = total - *r - *b;
}

/**
 * gst_loopback_rgb_convert_new:
 * @in: the input: packed 8-bit RGB, full range, progressive.
 * @out: the output: a 4:2:2 or 4:2:0 8-bit YUV format above, the same
 *     size, with a known matrix and centred (or unknown) chroma siting.
 *
 * Returns: (transfer full) (nullable): the converter, or %NULL when this
 * pair is not one it does.
 */
GstLoopbackRgbConvert *
gst_loopback_rgb_convert_new (const GstVideoInfo * in, const GstVideoInfo * out)
{
  const GstVideoFormatInfo *fin = in->finfo, *fout = out->finfo;
  const GstVideoColorimetry *cout = &out->colorimetry;
  gint kind = lbs_yuv_format_kind (GST_VIDEO_INFO_FORMAT (out));
  gint offset[GST_VIDEO_MAX_COMPONENTS], scale[GST_VIDEO_MAX_COMPONENTS];
  GstLoopbackRgbConvert *c;
  gdouble kr, kb, ys, us, vs;

  if (!lbs_rgb_format_supported (GST_VIDEO_INFO_FORMAT (in)) || !kind
      || GST_VIDEO_INFO_WIDTH (in) != GST_VIDEO_INFO_WIDTH (out)
      || GST_VIDEO_INFO_HEIGHT (in) != GST_VIDEO_INFO_HEIGHT (out)
      || GST_VIDEO_INFO_WIDTH (in) < 1 || GST_VIDEO_INFO_HEIGHT (in) < 1
      || GST_VIDEO_INFO_INTERLACE_MODE (in) !=
      GST_VIDEO_INTERLACE_MODE_PROGRESSIVE
      || in->colorimetry.range == GST_VIDEO_COLOR_RANGE_16_235
      || (out->chroma_site != GST_VIDEO_CHROMA_SITE_UNKNOWN
          && out->chroma_site != GST_VIDEO_CHROMA_SITE_NONE)
      || !gst_video_color_matrix_get_Kr_Kb (cout->matrix, &kr, &kb))
    return NULL;

  c = g_new0 (GstLoopbackRgbConvert, 1);
  c->width = GST_VIDEO_INFO_WIDTH (in);
  c->height = GST_VIDEO_INFO_HEIGHT (in);
  c->chroma_420 = kind == 2;
  c->in_pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (fin, 0);
  c->r = GST_VIDEO_FORMAT_INFO_POFFSET (fin, GST_VIDEO_COMP_R);
  c->g = GST_VIDEO_FORMAT_INFO_POFFSET (fin, GST_VIDEO_COMP_G);
  c->b = GST_VIDEO_FORMAT_INFO_POFFSET (fin, GST_VIDEO_COMP_B);
  c->c_pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (fout, GST_VIDEO_COMP_U);
  c->y0_bit = 8 * GST_VIDEO_FORMAT_INFO_POFFSET (fout, GST_VIDEO_COMP_Y);
  c->y1_bit = c->y0_bit + 16;
  c->u_bit = 8 * GST_VIDEO_FORMAT_INFO_POFFSET (fout, GST_VIDEO_COMP_U);
  c->v_bit = 8 * GST_VIDEO_FORMAT_INFO_POFFSET (fout, GST_VIDEO_COMP_V);

  /*
   * Y = off_y + scale_y/255 (Kr R + Kg G + Kb B), U and V the scaled
   * differences B - Y and R - Y: the output's matrix and range, as
   * GstVideoConverter has them. Its default leaves transfer function and
   * primaries as they are, and so does this.
   */
  gst_video_color_range_offsets (cout->range, fout, offset, scale);
  ys = scale[0] / 255.0 * (1 << SHIFT);
  us = scale[1] / 255.0 / (2.0 * (1.0 - kb)) * (1 << SHIFT);
  vs = scale[2] / 255.0 / (2.0 * (1.0 - kr)) * (1 << SHIFT);
  /* White is Y off_y + scale_y, grey has no colour: sums that are exact. */
  lbs_rgb_coefficients (kr, kb, ys, (gint) lround (ys), &c->yr, &c->yg,
      &c->yb);
  lbs_rgb_coefficients (-kr, 1.0 - kb, us, 0, &c->ur, &c->ug, &c->ub);
  lbs_rgb_coefficients (1.0 - kr, -kb, vs, 0, &c->vr, &c->vg, &c->vb);
  c->y_add = (offset[0] << SHIFT) + (1 << (SHIFT - 1));
  c->c_add = (offset[1] << (SHIFT + c->chroma_420 + 1)) +
      (1 << (SHIFT + c->chroma_420));
  if (c->chroma_420 && c->height % 2)
    c->spare_row = g_malloc ((gsize) c->width);
  return c;
}

/**
 * gst_loopback_rgb_convert_free:
 * @convert: (transfer full): a converter.
 */
void
gst_loopback_rgb_convert_free (GstLoopbackRgbConvert * convert)
{
  g_free (convert->spare_row);
  g_free (convert);
}

static inline guint8
lbs_luma (const GstLoopbackRgbConvert * c, const guint8 * p)
{
  return (guint8) ((c->yr * p[c->r] + c->yg * p[c->g] + c->yb * p[c->b] +
          c->y_add) >> SHIFT);
}

static inline guint8
lbs_clamp (gint v)
{
  return (guint8) CLAMP (v, 0, 255);
}

/*
 * U and V from the sums of the 2^@log2_n pixels one chroma sample covers
 * (@log2_n a constant, so the shift is one).
 */
static inline void
lbs_chroma (const GstLoopbackRgbConvert * c, guint log2_n, gint rs, gint gs,
    gint bs, guint8 * u, guint8 * v)
{
  *u = lbs_clamp ((c->ur * rs + c->ug * gs + c->ub * bs + c->c_add) >>
      (SHIFT + log2_n));
  *v = lbs_clamp ((c->vr * rs + c->vg * gs + c->vb * bs + c->c_add) >>
      (SHIFT + log2_n));
}

/* A pair of pixels into packed 4:2:2: one 32-bit store. */
static inline void
lbs_store_pair (const GstLoopbackRgbConvert * c, guint32 y0, guint32 y1,
    guint32 u, guint32 v, guint8 * out)
{
  guint32 word = GUINT32_TO_LE (y0 << c->y0_bit | y1 << c->y1_bit |
      u << c->u_bit | v << c->v_bit);

  memcpy (out, &word, 4);
}

/* One line into packed 4:2:2. A last odd pixel is its own pair. */
static void
lbs_rgb_line_422 (const GstLoopbackRgbConvert * convert, const guint8 * s,
    guint8 * out)
{
  /* A copy the output bytes cannot alias: kept in registers. */
  const GstLoopbackRgbConvert k = *convert, *c = &k;
  const guint ps = c->in_pstride, ro = c->r, go = c->g, bo = c->b;
  guint8 u, v;
  gint x;

  for (x = 0; x + 1 < c->width; x += 2) {
    const guint8 *a = s, *b = s + ps;

    lbs_chroma (c, 1, a[ro] + b[ro], a[go] + b[go], a[bo] + b[bo], &u, &v);
    lbs_store_pair (c, lbs_luma (c, a), lbs_luma (c, b), u, v, out);
    s += 2 * ps;
    out += 4;
  }
  if (x < c->width) {
    guint8 y = lbs_luma (c, s);

    lbs_chroma (c, 1, 2 * s[ro], 2 * s[go], 2 * s[bo], &u, &v);
    lbs_store_pair (c, y, y, u, v, out);
  }
}

/* Two lines into 4:2:0: their Y, and the chroma line they share. */
static void
lbs_rgb_lines_420 (const GstLoopbackRgbConvert * convert, const guint8 * s0,
    const guint8 * s1, guint8 * y0, guint8 * y1, guint8 * u, guint8 * v)
{
  const GstLoopbackRgbConvert k = *convert, *c = &k;
  const guint ps = c->in_pstride, cps = c->c_pstride;
  const guint ro = c->r, go = c->g, bo = c->b;
  gint x;

  for (x = 0; x + 1 < c->width; x += 2) {
    const guint8 *a = s0, *b = s0 + ps, *d = s1, *e = s1 + ps;

    y0[0] = lbs_luma (c, a);
    y0[1] = lbs_luma (c, b);
    y1[0] = lbs_luma (c, d);
    y1[1] = lbs_luma (c, e);
    lbs_chroma (c, 2, a[ro] + b[ro] + d[ro] + e[ro],
        a[go] + b[go] + d[go] + e[go], a[bo] + b[bo] + d[bo] + e[bo], u, v);
    s0 += 2 * ps;
    s1 += 2 * ps;
    y0 += 2;
    y1 += 2;
    u += cps;
    v += cps;
  }
  if (x < c->width) {
    y0[0] = lbs_luma (c, s0);
    y1[0] = lbs_luma (c, s1);
    lbs_chroma (c, 2, 2 * (s0[ro] + s1[ro]), 2 * (s0[go] + s1[go]),
        2 * (s0[bo] + s1[bo]), u, v);
  }
}

/**
 * gst_loopback_rgb_convert_frame:
 * @convert: the converter made for these frames' formats.
 * @in: an input frame, mapped for reading.
 * @out: the output frame, mapped for writing.
 */
void
gst_loopback_rgb_convert_frame (const GstLoopbackRgbConvert * convert,
    const GstVideoFrame * in, GstVideoFrame * out)
{
  const GstLoopbackRgbConvert *c = convert;
  const guint8 *s = GST_VIDEO_FRAME_PLANE_DATA (in, 0);
  gint ss = GST_VIDEO_FRAME_PLANE_STRIDE (in, 0);
  guint8 *y, *u, *v;
  gint ys, cs, line;

  if (!c->chroma_420) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (out, 0);
    gint ds = GST_VIDEO_FRAME_PLANE_STRIDE (out, 0);

    for (line = 0; line < c->height; line++)
      lbs_rgb_line_422 (c, s + (gsize) line * ss, d + (gsize) line * ds);
    return;
  }
  y = GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_Y);
  u = GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_U);
  v = GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_V);
  ys = GST_VIDEO_FRAME_COMP_STRIDE (out, GST_VIDEO_COMP_Y);
  cs = GST_VIDEO_FRAME_COMP_STRIDE (out, GST_VIDEO_COMP_U);
  for (line = 0; line + 1 < c->height; line += 2)
    lbs_rgb_lines_420 (c, s + (gsize) line * ss, s + (gsize) (line + 1) * ss,
        y + (gsize) line * ys, y + (gsize) (line + 1) * ys,
        u + (gsize) (line / 2) * cs, v + (gsize) (line / 2) * cs);
  /* An odd last line is its own pair; its twin's Y goes nowhere. */
  if (line < c->height)
    lbs_rgb_lines_420 (c, s + (gsize) line * ss, s + (gsize) line * ss,
        y + (gsize) line * ys, c->spare_row,
        u + (gsize) (line / 2) * cs, v + (gsize) (line / 2) * cs);
}
