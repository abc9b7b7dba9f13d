// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: pixel formats, frame sizes and the "FOURCC:WxH@fps" notation.
 *
 * Sizes follow the layouts userspace libraries use for single-buffer
 * frames (libav's av_image_get_buffer_size with alignment 1, GStreamer's
 * packed layouts), so a frame written by one and read by another has the
 * same byte count. Odd sizes round chroma up: a 641x481 NV12 frame has
 * 641*481 luma bytes and 321*241 CbCr pairs.
 */

#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/videodev2.h>

#include "loopcam.h"

#define RAW(fcc, b, h, v, cp, y)                                              \
	{ .fourcc = (fcc), .bpp = (b), .hsub = (h), .vsub = (v),              \
	  .chroma_planes = (cp), .yuv = (y) }
#define COMPRESSED(fcc)                                                       \
	{ .fourcc = (fcc), .hsub = 1, .vsub = 1, .compressed = true }

/*
 * In the order ENUM_FMT lists them: what browsers prefer first (I420,
 * NV12, YUYV), then the rest of the raw formats, then compressed.
 */
static const struct loopcam_fmt_info loopcam_formats[] = {
	RAW(V4L2_PIX_FMT_YUV420, 1, 2, 2, 2, true),
	RAW(V4L2_PIX_FMT_NV12, 1, 2, 2, 1, true),
	RAW(V4L2_PIX_FMT_YUYV, 2, 2, 1, 0, true),
	RAW(V4L2_PIX_FMT_UYVY, 2, 2, 1, 0, true),
	RAW(V4L2_PIX_FMT_YVYU, 2, 2, 1, 0, true),
	RAW(V4L2_PIX_FMT_NV21, 1, 2, 2, 1, true),
	RAW(V4L2_PIX_FMT_YVU420, 1, 2, 2, 2, true),
	RAW(V4L2_PIX_FMT_NV16, 1, 2, 1, 1, true),
	RAW(V4L2_PIX_FMT_GREY, 1, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_Y16, 2, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_RGB24, 3, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_BGR24, 3, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_RGB565, 2, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_XRGB32, 4, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_XBGR32, 4, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_ARGB32, 4, 1, 1, 0, false),
	RAW(V4L2_PIX_FMT_ABGR32, 4, 1, 1, 0, false),
	COMPRESSED(V4L2_PIX_FMT_MJPEG),
	COMPRESSED(V4L2_PIX_FMT_JPEG),
	COMPRESSED(V4L2_PIX_FMT_H264),
	COMPRESSED(V4L2_PIX_FMT_HEVC),
	COMPRESSED(V4L2_PIX_FMT_VP8),
	COMPRESSED(V4L2_PIX_FMT_VP9),
};

const struct loopcam_fmt_info *loopcam_fmt_by_index(unsigned int index)
{
	return index < ARRAY_SIZE(loopcam_formats) ? &loopcam_formats[index] :
						       NULL;
}

const struct loopcam_fmt_info *loopcam_fmt_find(u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(loopcam_formats); i++)
		if (loopcam_formats[i].fourcc == fourcc)
			return &loopcam_formats[i];
	return NULL;
}

/*
 * A compressed frame is in practice never larger than the raw 4:2:2 frame
 * of the same size; that is the default room, a floor keeps tiny sizes
 * usable for headers, and a producer may ask for up to twice as much.
 */
static u32 loopcam_compressed_size(u32 width, u32 height)
{
	return max_t(u32, width * height * 2, SZ_64K);
}

static u32 loopcam_compressed_max(u32 width, u32 height)
{
	return min_t(u32, 2 * loopcam_compressed_size(width, height),
		     LOOPCAM_MAX_FRAME_BYTES);
}

/**
 * loopcam_fmt_fill() - complete a format from its pixel format and size
 * @pix: format with width and height already within the device's limits;
 *	bytesperline, sizeimage, field and colorimetry are set here.
 * @info: the format @pix->pixelformat describes.
 *
 * A compressed format keeps a caller-given sizeimage between the raw 4:2:2
 * size and twice that (at most %LOOPCAM_MAX_FRAME_BYTES), so producers with
 * large key frames can ask for room. Colorimetry given by the caller is kept when valid.
 */
void loopcam_fmt_fill(struct v4l2_pix_format *pix,
		      const struct loopcam_fmt_info *info)
{
	u32 w = pix->width, h = pix->height;
	u32 cw = DIV_ROUND_UP(w, info->hsub);
	u32 ch = DIV_ROUND_UP(h, info->vsub);

	pix->field = V4L2_FIELD_NONE;
	pix->flags = 0;
	if (info->compressed) {
		pix->bytesperline = 0;
		pix->sizeimage = clamp_t(u32, pix->sizeimage,
					 loopcam_compressed_size(w, h),
					 loopcam_compressed_max(w, h));
	} else if (info->chroma_planes == 0) {
		/* Packed: 4:2:2 formats store whole Y0-Cb-Y1-Cr groups. */
		pix->bytesperline = cw * info->hsub * info->bpp;
		pix->sizeimage = pix->bytesperline * h;
	} else {
		pix->bytesperline = w;
		/* Interleaved CbCr: two bytes per pair; planar: one per plane. */
		pix->sizeimage = w * h + 2 * cw * ch;
	}

	if (pix->colorspace == V4L2_COLORSPACE_DEFAULT ||
	    pix->colorspace > V4L2_COLORSPACE_DCI_P3) {
		if (info->fourcc == V4L2_PIX_FMT_MJPEG ||
		    info->fourcc == V4L2_PIX_FMT_JPEG)
			pix->colorspace = V4L2_COLORSPACE_JPEG;
		else if (info->yuv || info->compressed)
			pix->colorspace = V4L2_COLORSPACE_SMPTE170M;
		else
			pix->colorspace = V4L2_COLORSPACE_SRGB;
		pix->xfer_func = V4L2_XFER_FUNC_DEFAULT;
		pix->ycbcr_enc = V4L2_YCBCR_ENC_DEFAULT;
		pix->quantization = V4L2_QUANTIZATION_DEFAULT;
	}
	if (pix->xfer_func > V4L2_XFER_FUNC_SMPTE2084)
		pix->xfer_func = V4L2_XFER_FUNC_DEFAULT;
	if (pix->ycbcr_enc > V4L2_YCBCR_ENC_SMPTE240M)
		pix->ycbcr_enc = V4L2_YCBCR_ENC_DEFAULT;
	if (pix->quantization > V4L2_QUANTIZATION_LIM_RANGE)
		pix->quantization = V4L2_QUANTIZATION_DEFAULT;
	/* Y'CbCr encoding means nothing for RGB and grey formats. */
	if (!info->yuv)
		pix->ycbcr_enc = V4L2_YCBCR_ENC_DEFAULT;
}

/**
 * loopcam_fmt_fill_black() - fill a raw frame with black
 * @data: frame of @pix->sizeimage bytes.
 * @pix: its format (raw).
 *
 * Limited-range Y'CbCr black (Y 16, Cb/Cr 128); zero for RGB and grey.
 */
void loopcam_fmt_fill_black(void *data, const struct v4l2_pix_format *pix)
{
	const struct loopcam_fmt_info *info = loopcam_fmt_find(pix->pixelformat);
	u8 *p = data;
	size_t i, luma;

	if (!info || !info->yuv) {
		memset(data, 0, pix->sizeimage);
		return;
	}
	if (info->chroma_planes) {
		luma = (size_t)pix->width * pix->height;
		memset(p, 16, luma);
		memset(p + luma, 128, pix->sizeimage - luma);
		return;
	}
	/* Packed 4:2:2: luma at even bytes for YUYV/YVYU, odd for UYVY. */
	for (i = 0; i + 1 < pix->sizeimage; i += 2) {
		bool luma_first = pix->pixelformat != V4L2_PIX_FMT_UYVY;

		p[i] = luma_first ? 16 : 128;
		p[i + 1] = luma_first ? 128 : 16;
	}
}

/**
 * loopcam_fmt_parse() - parse "FOURCC:WxH@fps" (fps may be "N" or "N/D")
 * @str: the text; ":WxH" and "@fps" parts are each optional, and a
 *	trailing newline is ignored.
 * @out: the result; parts not given are 0 (defaults).
 *
 * Return: 0, or -EINVAL for anything malformed or out of range.
 */
int loopcam_fmt_parse(const char *str, struct loopcam_format *out)
{
	char fcc[5] = { ' ', ' ', ' ', ' ', 0 };
	const char *p = str;
	unsigned int n = 0;
	int consumed = 0;

	memset(out, 0, sizeof(*out));
	while (*p && *p != ':' && *p != '@' && *p != '\n') {
		if (n == 4)
			return -EINVAL;
		fcc[n++] = *p++;
	}
	if (n) {
		out->fourcc = v4l2_fourcc(fcc[0], fcc[1], fcc[2], fcc[3]);
		if (!loopcam_fmt_find(out->fourcc))
			return -EINVAL;
	}
	if (*p == ':') {
		if (sscanf(p + 1, "%ux%u%n", &out->width, &out->height,
			   &consumed) != 2)
			return -EINVAL;
		p += 1 + consumed;
		if (out->width < LOOPCAM_MIN_SIZE ||
		    out->width > LOOPCAM_MAX_SIZE ||
		    out->height < LOOPCAM_MIN_SIZE ||
		    out->height > LOOPCAM_MAX_SIZE)
			return -EINVAL;
	}
	if (*p == '@') {
		if (sscanf(p + 1, "%u/%u%n", &out->fps_num, &out->fps_den,
			   &consumed) == 2) {
			p += 1 + consumed;
		} else if (sscanf(p + 1, "%u%n", &out->fps_num, &consumed) == 1) {
			out->fps_den = 1;
			p += 1 + consumed;
		} else {
			return -EINVAL;
		}
		if (!out->fps_num || !out->fps_den ||
		    (u64)out->fps_num * LOOPCAM_MIN_FPS_INTERVAL_US >
			    (u64)out->fps_den * USEC_PER_SEC)
			return -EINVAL;
	}
	if (*p == '\n')
		p++;
	return *p ? -EINVAL : 0;
}

/**
 * loopcam_fmt_print() - print a format as "FOURCC:WxH@fps"
 * @buf: destination.
 * @size: size of @buf.
 * @pix: the format.
 * @timeperframe: its frame interval; printed as "N" when whole, else "N/D".
 *
 * Return: characters written, as scnprintf().
 */
int loopcam_fmt_print(char *buf, size_t size, const struct v4l2_pix_format *pix,
		      const struct v4l2_fract *timeperframe)
{
	u32 num = timeperframe->denominator, den = timeperframe->numerator;
	u32 f = pix->pixelformat;
	char fcc[5] = { f & 0xff, (f >> 8) & 0xff, (f >> 16) & 0xff, f >> 24, 0 };

	if (den && num % den == 0)
		return scnprintf(buf, size, "%s:%ux%u@%u", fcc, pix->width,
				 pix->height, num / den);
	return scnprintf(buf, size, "%s:%ux%u@%u/%u", fcc, pix->width,
			 pix->height, num, den);
}
