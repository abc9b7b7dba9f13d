/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loopbacksink's one-pass RGB to YUV converter (gst-plugin/
 * gstloopbackrgbconvert.c) against GstVideoConverter: every input layout
 * it takes, every output format, odd and even sizes, BT.601 / BT.709 /
 * BT.2020, limited and full range. Every output byte must be the exact
 * value rounded, and agree with GstVideoConverter's; pairs it does not
 * take must be refused.
 */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

#include "gstloopbackrgbconvert.h"

static const GstVideoFormat rgb_formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_ARGB,
  GST_VIDEO_FORMAT_ABGR,
};

static const GstVideoFormat yuv_formats[] = {
  GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_UYVY, GST_VIDEO_FORMAT_YVYU,
  GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YV12, GST_VIDEO_FORMAT_NV12,
  GST_VIDEO_FORMAT_NV21,
};

/* Over all comparisons so far: off the exact value, off GstVideoConverter. */
static gdouble worst_error;
static guint worst_diff;

/*
 * Bars of pure colours (the extremes of every matrix), a ramp, and noise,
 * so that neighbouring pixels differ in every way chroma averaging sees.
 */
static void
fill_rgb (GstVideoFrame * f, guint32 seed)
{
  const GstVideoFormatInfo *fi = f->info.finfo;
  guint ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
  guint ro = GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_R);
  guint go = GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_G);
  guint bo = GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_B);
  gint w = GST_VIDEO_FRAME_WIDTH (f), h = GST_VIDEO_FRAME_HEIGHT (f);
  GRand *rand = g_rand_new_with_seed (seed);

  for (gint y = 0; y < h; y++) {
    guint8 *p = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);

    for (gint x = 0; x < w; x++, p += ps) {
      guint band = (guint) (y * 4 / h);
      guint32 r = g_rand_int (rand);
      guint bar = (guint) x / 3 % 8;

      if (ps == 4)
        p[0] = p[1] = p[2] = p[3] = (guint8) (r >> 24);    /* x or alpha */
      if (band == 0) {
        p[ro] = bar & 1 ? 255 : 0;
        p[go] = bar & 2 ? 255 : 0;
        p[bo] = bar & 4 ? 255 : 0;
      } else if (band == 1) {
        p[ro] = (guint8) (x * 255 / MAX (w - 1, 1));
        p[go] = (guint8) (y * 255 / MAX (h - 1, 1));
        p[bo] = (guint8) (255 - x * 255 / MAX (w - 1, 1));
      } else {
        p[ro] = (guint8) r;
        p[go] = (guint8) (r >> 8);
        p[bo] = (guint8) (r >> 16);
      }
    }
  }
  g_rand_free (rand);
}

static const gchar *
matrix_name (GstVideoColorMatrix matrix)
{
  switch (matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT601:
      return "BT.601";
    case GST_VIDEO_COLOR_MATRIX_BT709:
      return "BT.709";
    case GST_VIDEO_COLOR_MATRIX_BT2020:
      return "BT.2020";
    case GST_VIDEO_COLOR_MATRIX_SMPTE240M:
      return "SMPTE 240M";
    default:
      return "other";
  }
}

/* The output's matrix and range, as the reference uses them. */
typedef struct
{
  gdouble kr, kb;
  gint offset[GST_VIDEO_MAX_COMPONENTS], scale[GST_VIDEO_MAX_COMPONENTS];
} Matrix;

/*
 * The exact value of output sample (@cx, @cy) of component @comp of
 * format @fo: @m applied to each input pixel it covers (the edge pixel
 * repeated past an odd edge), averaged.
 */
static gdouble
exact_sample (GstVideoFrame * in, const GstVideoFormatInfo * fo,
    const Matrix * m, guint comp, gint cx, gint cy)
{
  const GstVideoFormatInfo *fi = in->info.finfo;
  guint ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
  guint ro = GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_R);
  guint go = GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_G);
  guint bo = GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_B);
  guint wsub = GST_VIDEO_FORMAT_INFO_W_SUB (fo, comp);
  guint hsub = GST_VIDEO_FORMAT_INFO_H_SUB (fo, comp);
  gint w = GST_VIDEO_FRAME_WIDTH (in), h = GST_VIDEO_FRAME_HEIGHT (in);
  gdouble kr = m->kr, kb = m->kb, sum = 0;

  for (gint dy = 0; dy < 1 << hsub; dy++)
    for (gint dx = 0; dx < 1 << wsub; dx++) {
      gint x = MIN ((cx << wsub) + dx, w - 1);
      gint y = MIN ((cy << hsub) + dy, h - 1);
      const guint8 *p = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (in, 0) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (in, 0) + x * ps;
      gdouble r = p[ro], g = p[go], b = p[bo];
      gdouble luma = kr * r + (1 - kr - kb) * g + kb * b;

      if (comp == 0)
        sum += luma;
      else if (comp == 1)
        sum += (b - luma) / (2 * (1 - kb));
      else
        sum += (r - luma) / (2 * (1 - kr));
    }
  sum /= 1 << (wsub + hsub);
  return CLAMP (m->offset[comp] + m->scale[comp] / 255.0 * sum, 0, 255);
}

/* The largest difference from the exact values, over component @comp. */
static gdouble
max_error (GstVideoFrame * in, GstVideoFrame * f, guint comp)
{
  const GstVideoFormatInfo *fo = f->info.finfo;
  gint w = GST_VIDEO_FRAME_COMP_WIDTH (f, comp);
  gint h = GST_VIDEO_FRAME_COMP_HEIGHT (f, comp);
  gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (f, comp);
  gdouble worst = 0;
  Matrix m;

  fail_unless (gst_video_color_matrix_get_Kr_Kb (f->info.colorimetry.matrix,
          &m.kr, &m.kb));
  gst_video_color_range_offsets (f->info.colorimetry.range, fo, m.offset,
      m.scale);
  for (gint y = 0; y < h; y++) {
    const guint8 *p = (guint8 *) GST_VIDEO_FRAME_COMP_DATA (f, comp) +
        y * GST_VIDEO_FRAME_COMP_STRIDE (f, comp);

    for (gint x = 0; x < w; x++)
      worst = MAX (worst, ABS (p[x * ps] - exact_sample (in, fo, &m, comp, x,
                  y)));
  }
  return worst;
}

/* The largest difference over the image bytes of component @comp. */
static guint
max_diff (GstVideoFrame * a, GstVideoFrame * b, guint comp, guint * count)
{
  gint w = GST_VIDEO_FRAME_COMP_WIDTH (a, comp);
  gint h = GST_VIDEO_FRAME_COMP_HEIGHT (a, comp);
  gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (a, comp);
  guint worst = 0;

  *count = 0;
  for (gint y = 0; y < h; y++) {
    const guint8 *pa = (guint8 *) GST_VIDEO_FRAME_COMP_DATA (a, comp) +
        y * GST_VIDEO_FRAME_COMP_STRIDE (a, comp);
    const guint8 *pb = (guint8 *) GST_VIDEO_FRAME_COMP_DATA (b, comp) +
        y * GST_VIDEO_FRAME_COMP_STRIDE (b, comp);

    for (gint x = 0; x < w; x++) {
      guint d = (guint) ABS (pa[x * ps] - pb[x * ps]);

      worst = MAX (worst, d);
      *count += d != 0;
    }
  }
  return worst;
}

static GstBuffer *
new_frame (GstVideoInfo * info, GstVideoFrame * f, GstMapFlags flags)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);

  gst_buffer_memset (buf, 0, 0x5a, info->size);
  fail_unless (gst_video_frame_map (f, info, buf, flags));
  return buf;
}

/*
 * One pair: our output against GstVideoConverter's (one thread, its
 * defaults). Returns the microseconds each took for the frame, best of
 * @rounds, in @us[2].
 */
static void
compare (GstVideoFormat from, GstVideoFormat to, gint w, gint h,
    GstVideoColorMatrix matrix, GstVideoColorRange range, guint rounds,
    gint64 us[2])
{
  GstVideoInfo in, out;
  GstVideoFrame fin, fours, ftheirs;
  GstBuffer *bin, *bours, *btheirs;
  GstLoopbackRgbConvert *ours;
  GstVideoConverter *theirs;
  gchar *what;

  gst_video_info_set_format (&in, from, w, h);
  gst_video_info_set_format (&out, to, w, h);
  out.colorimetry.matrix = matrix;
  out.colorimetry.range = range;
  what = g_strdup_printf ("%s %dx%d -> %s (%s, %s)",
      gst_video_format_to_string (from), w, h, gst_video_format_to_string (to),
      matrix_name (matrix),
      range == GST_VIDEO_COLOR_RANGE_0_255 ? "full" : "limited");

  ours = gst_loopback_rgb_convert_new (&in, &out);
  fail_unless (ours != NULL, "%s: refused", what);
  theirs = gst_video_converter_new (&in, &out,
      gst_structure_new ("c", GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT,
          1, NULL));
  fail_unless (theirs != NULL);

  bin = new_frame (&in, &fin, GST_MAP_READWRITE);
  fill_rgb (&fin, (guint32) (w * 31 + h + from * 7));
  bours = new_frame (&out, &fours, GST_MAP_READWRITE);
  btheirs = new_frame (&out, &ftheirs, GST_MAP_READWRITE);

  us[0] = us[1] = G_MAXINT64;
  for (guint r = 0; r < rounds; r++) {
    gint64 t = g_get_monotonic_time ();

    gst_loopback_rgb_convert_frame (ours, &fin, &fours);
    us[0] = MIN (us[0], g_get_monotonic_time () - t);
    t = g_get_monotonic_time ();
    gst_video_converter_frame (theirs, &fin, &ftheirs);
    us[1] = MIN (us[1], g_get_monotonic_time () - t);
  }

  /*
   * Ours is the exact value rounded (its coefficients have 14 bits);
   * GstVideoConverter's 8-bit matrix is off by up to 1.5 itself, so the
   * two agree to within 2. That they agree at all says that both take
   * the same matrix, range and chroma positions from the caps.
   */
  for (guint comp = 0; comp < 3; comp++) {
    gdouble err = max_error (&fin, &fours, comp);
    guint n, d = max_diff (&fours, &ftheirs, comp, &n);

    fail_unless (err <= 0.6, "%s: component %u is off the exact value by "
        "up to %.2f", what, comp, err);
    fail_unless (d <= 2, "%s: component %u differs from GstVideoConverter's "
        "by up to %u (%u samples)", what, comp, d, n);
    worst_error = MAX (worst_error, err);
    worst_diff = MAX (worst_diff, d);
  }

  gst_video_frame_unmap (&fin);
  gst_video_frame_unmap (&fours);
  gst_video_frame_unmap (&ftheirs);
  gst_buffer_unref (bin);
  gst_buffer_unref (bours);
  gst_buffer_unref (btheirs);
  gst_video_converter_free (theirs);
  gst_loopback_rgb_convert_free (ours);
  g_free (what);
}

GST_START_TEST (test_matches_videoconverter)
{
  static const gint sizes[][2] = { {2, 2}, {1, 1}, {64, 48}, {33, 17},
  {321, 241}
  };
  guint pairs = 0;
  gint64 us[2];

  worst_error = 0;
  worst_diff = 0;
  for (guint i = 0; i < G_N_ELEMENTS (rgb_formats); i++)
    for (guint o = 0; o < G_N_ELEMENTS (yuv_formats); o++)
      for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
        compare (rgb_formats[i], yuv_formats[o], sizes[s][0], sizes[s][1],
            GST_VIDEO_COLOR_MATRIX_BT601, GST_VIDEO_COLOR_RANGE_16_235, 1, us);
        pairs++;
      }
  g_print ("# checked: %u RGB layouts x %u YUV formats x %u sizes (odd "
      "included), BT.601 limited, %u pairs: every sample within %.2f of the "
      "exact value, within %u of GstVideoConverter's\n",
      (guint) G_N_ELEMENTS (rgb_formats), (guint) G_N_ELEMENTS (yuv_formats),
      (guint) G_N_ELEMENTS (sizes), pairs, worst_error, worst_diff);
}

GST_END_TEST;

GST_START_TEST (test_matrices_and_ranges)
{
  static const GstVideoColorMatrix matrices[] = {
    GST_VIDEO_COLOR_MATRIX_BT601, GST_VIDEO_COLOR_MATRIX_BT709,
    GST_VIDEO_COLOR_MATRIX_BT2020, GST_VIDEO_COLOR_MATRIX_SMPTE240M,
  };
  static const GstVideoColorRange ranges[] = {
    GST_VIDEO_COLOR_RANGE_16_235, GST_VIDEO_COLOR_RANGE_0_255,
  };
  static const GstVideoFormat outs[] = {
    GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
  };
  gint64 us[2];

  worst_error = 0;
  worst_diff = 0;
  for (guint m = 0; m < G_N_ELEMENTS (matrices); m++)
    for (guint r = 0; r < G_N_ELEMENTS (ranges); r++)
      for (guint o = 0; o < G_N_ELEMENTS (outs); o++)
        compare (GST_VIDEO_FORMAT_BGRx, outs[o], 96, 54, matrices[m],
            ranges[r], 1, us);
  g_print ("# checked: BT.601, BT.709, BT.2020 and SMPTE 240M, limited and "
      "full range, into YUY2, I420 and NV12: every sample within %.2f of the "
      "exact value, within %u of GstVideoConverter's\n", worst_error,
      worst_diff);
}

GST_END_TEST;

/* What it does not do goes to GstVideoConverter: it must say no. */
GST_START_TEST (test_refuses_what_it_does_not_do)
{
  static const struct
  {
    GstVideoFormat from, to;
    gint w, h, out_w;
    const gchar *why;
  } cases[] = {
    {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_YUY2, 64, 48, 32, "scaling"},
    {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YUY2, 64, 48, 64, "YUV input"},
    {GST_VIDEO_FORMAT_RGB16, GST_VIDEO_FORMAT_I420, 64, 48, 64,
        "16-bit RGB input"},
    {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_Y444, 64, 48, 64, "4:4:4 output"},
    {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_GRAY8, 64, 48, 64, "grey output"},
    {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGRx, 64, 48, 64, "RGB output"},
  };
  GstVideoInfo in, out;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gst_video_info_set_format (&in, cases[i].from, cases[i].w, cases[i].h);
    gst_video_info_set_format (&out, cases[i].to, cases[i].out_w, cases[i].h);
    fail_unless (gst_loopback_rgb_convert_new (&in, &out) == NULL,
        "took %s", cases[i].why);
  }

  gst_video_info_set_format (&in, GST_VIDEO_FORMAT_RGB, 64, 48);
  gst_video_info_set_format (&out, GST_VIDEO_FORMAT_I420, 64, 48);
  in.colorimetry.range = GST_VIDEO_COLOR_RANGE_16_235;
  fail_unless (gst_loopback_rgb_convert_new (&in, &out) == NULL,
      "took limited-range RGB");
  in.colorimetry.range = GST_VIDEO_COLOR_RANGE_0_255;
  out.chroma_site = GST_VIDEO_CHROMA_SITE_MPEG2;
  fail_unless (gst_loopback_rgb_convert_new (&in, &out) == NULL,
      "took co-sited chroma");
  out.chroma_site = GST_VIDEO_CHROMA_SITE_NONE;
  out.colorimetry.matrix = GST_VIDEO_COLOR_MATRIX_UNKNOWN;
  fail_unless (gst_loopback_rgb_convert_new (&in, &out) == NULL,
      "took an unknown matrix");
  g_print ("# checked: refused: scaling, YUV and 16-bit input, 4:4:4, grey "
      "and RGB output, limited-range RGB, co-sited chroma, unknown matrix\n");
}

GST_END_TEST;

/* Not a verdict (bench/ measures the sink): the time, for the record. */
GST_START_TEST (test_time_per_frame)
{
  static const GstVideoFormat outs[] = {
    GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_I420,
  };
  gint64 us[2];

  for (guint o = 0; o < G_N_ELEMENTS (outs); o++) {
    compare (GST_VIDEO_FORMAT_RGB, outs[o], 640, 480,
        GST_VIDEO_COLOR_MATRIX_BT601, GST_VIDEO_COLOR_RANGE_16_235, 20, us);
    g_print ("# checked: RGB 640x480 -> %s right; best of 20: %" G_GINT64_FORMAT
        " us one-pass, %" G_GINT64_FORMAT " us GstVideoConverter (1 thread)\n",
        gst_video_format_to_string (outs[o]), us[0], us[1]);
  }
}

GST_END_TEST;

static Suite *
rgbconvert_suite (void)
{
  Suite *s = suite_create ("rgbconvert");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_matches_videoconverter);
  tcase_add_test (tc, test_matrices_and_ranges);
  tcase_add_test (tc, test_refuses_what_it_does_not_do);
  tcase_add_test (tc, test_time_per_frame);
  return s;
}

GST_CHECK_MAIN (rgbconvert);
