// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loopcam test programs: the visual pattern (colour bars, moving box, frame
 * number in digits, frame number as a binary strip) for every raw format,
 * and the conversion of raw frames to RGB24.
 *
 * YUV values are BT.601 limited range; GREY and Y16 are full-range luma.
 * Everything is drawn as rectangles, so a frame is cheap to make: each
 * rectangle's first line is written pixel by pixel and copied to the rest.
 */
#include "frame.h"

#include <string.h>

struct rgb {
	uint8_t r, g, b;
};

/* A colour as the bytes a format stores. */
struct pix {
	uint8_t y, u, v; /* limited-range YUV */
	uint8_t l; /* full-range luma */
	struct rgb c;
};

static struct pix make_pix(struct rgb c)
{
	struct pix p;
	int r = c.r, g = c.g, b = c.b;

	p.c = c;
	p.y = (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
	p.u = (uint8_t)(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
	p.v = (uint8_t)(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
	p.l = (uint8_t)((77 * r + 150 * g + 29 * b + 128) >> 8);
	return p;
}

static inline uint8_t clip8(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static struct rgb yuv_to_rgb(int y, int u, int v)
{
	int c = y - 16, d = u - 128, e = v - 128;
	struct rgb o;

	o.r = clip8((298 * c + 409 * e + 128) >> 8);
	o.g = clip8((298 * c - 100 * d - 208 * e + 128) >> 8);
	o.b = clip8((298 * c + 516 * d + 128) >> 8);
	return o;
}

/* Plane geometry of the YUV layouts: luma w*h at 0, chroma after it. */
struct geom {
	uint32_t w, h, bpl; /* bpl: plane 0 */
	uint32_t cw, ch; /* chroma samples per line / lines */
	size_t c0, c1; /* planar: offsets of U and V planes */
	uint32_t cbpl; /* bytes per chroma line */
};

static struct geom geom_of(const struct lc_format *f, uint32_t w, uint32_t h)
{
	struct geom g = { w, h, lc_bytesperline(f, w), (w + 1) / 2, (h + 1) / 2, 0, 0, 0 };
	size_t luma = (size_t)w * h;

	switch (f->layout) {
	case LC_LAYOUT_PLANAR_YUV420:
		g.cbpl = g.cw;
		g.c0 = luma;
		g.c1 = luma + (size_t)g.cw * g.ch;
		if (f->off[0]) { /* V plane first */
			size_t t = g.c0;

			g.c0 = g.c1;
			g.c1 = t;
		}
		break;
	case LC_LAYOUT_SEMI_YUV422:
		g.ch = h;
		/* fall through */
	case LC_LAYOUT_SEMI_YUV420:
		g.cbpl = 2 * g.cw;
		g.c0 = luma;
		break;
	default:
		break;
	}
	return g;
}

/* Fill rows y0..y1-1 of a plane: the first row is already written in
 * [bx0, bx1) bytes; copy it down. */
static void copy_down(uint8_t *plane, uint32_t bpl, uint32_t y0, uint32_t y1,
		      uint32_t bx0, uint32_t bx1)
{
	for (uint32_t y = y0 + 1; y < y1; y++)
		memcpy(plane + (size_t)y * bpl + bx0, plane + (size_t)y0 * bpl + bx0,
		       bx1 - bx0);
}

static void fill_rect(uint8_t *buf, const struct lc_format *f, const struct geom *g,
		      int64_t x0, int64_t y0, int64_t x1, int64_t y1, const struct pix *p)
{
	uint32_t X0, Y0, X1, Y1;

	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > g->w)
		x1 = g->w;
	if (y1 > g->h)
		y1 = g->h;
	if (x0 >= x1 || y0 >= y1)
		return;
	X0 = (uint32_t)x0, Y0 = (uint32_t)y0, X1 = (uint32_t)x1, Y1 = (uint32_t)y1;

	switch (f->layout) {
	case LC_LAYOUT_PACKED_YUV422: {
		uint8_t *row = buf + (size_t)Y0 * g->bpl;

		/* odd width: the last group's second luma sample is padding; draw
		 * it with its neighbour so every byte of a frame is defined */
		uint32_t xe = (X1 == g->w && g->w % 2) ? X1 + 1 : X1;

		for (uint32_t x = X0; x < xe; x++) {
			uint8_t *m = row + (size_t)(x / 2) * 4;

			m[x % 2 ? f->off[2] : f->off[0]] = p->y;
			m[f->off[1]] = p->u;
			m[f->off[3]] = p->v;
		}
		copy_down(buf, g->bpl, Y0, Y1, (X0 / 2) * 4, ((X1 + 1) / 2) * 4);
		break;
	}
	case LC_LAYOUT_PLANAR_YUV420:
	case LC_LAYOUT_SEMI_YUV420:
	case LC_LAYOUT_SEMI_YUV422: {
		uint32_t cx0 = X0 / 2, cx1 = (X1 + 1) / 2;
		uint32_t cy0, cy1;
		int semi = f->layout != LC_LAYOUT_PLANAR_YUV420;

		memset(buf + (size_t)Y0 * g->bpl + X0, p->y, X1 - X0);
		copy_down(buf, g->bpl, Y0, Y1, X0, X1);
		if (f->layout == LC_LAYOUT_SEMI_YUV422) {
			cy0 = Y0;
			cy1 = Y1;
		} else {
			cy0 = Y0 / 2;
			cy1 = (Y1 + 1) / 2;
		}
		if (semi) {
			uint8_t *plane = buf + g->c0;
			uint8_t *row = plane + (size_t)cy0 * g->cbpl;

			for (uint32_t cx = cx0; cx < cx1; cx++) {
				row[2 * cx + f->off[0]] = p->u;
				row[2 * cx + 1 - f->off[0]] = p->v;
			}
			copy_down(plane, g->cbpl, cy0, cy1, 2 * cx0, 2 * cx1);
		} else {
			uint8_t *pu = buf + g->c0, *pv = buf + g->c1;

			memset(pu + (size_t)cy0 * g->cbpl + cx0, p->u, cx1 - cx0);
			copy_down(pu, g->cbpl, cy0, cy1, cx0, cx1);
			memset(pv + (size_t)cy0 * g->cbpl + cx0, p->v, cx1 - cx0);
			copy_down(pv, g->cbpl, cy0, cy1, cx0, cx1);
		}
		break;
	}
	case LC_LAYOUT_GREY:
		memset(buf + (size_t)Y0 * g->bpl + X0, p->l, X1 - X0);
		copy_down(buf, g->bpl, Y0, Y1, X0, X1);
		break;
	case LC_LAYOUT_Y16:
	case LC_LAYOUT_RGB565:
	case LC_LAYOUT_RGB: {
		uint8_t *row = buf + (size_t)Y0 * g->bpl;
		uint8_t px[4];
		unsigned bpp = f->bpp;

		if (f->layout == LC_LAYOUT_Y16) {
			px[0] = p->l; /* 16-bit LE: l * 257 */
			px[1] = p->l;
		} else if (f->layout == LC_LAYOUT_RGB565) {
			unsigned v = (unsigned)(p->c.r >> 3) << 11 |
				     (unsigned)(p->c.g >> 2) << 5 | (unsigned)(p->c.b >> 3);

			px[0] = (uint8_t)v;
			px[1] = (uint8_t)(v >> 8);
		} else {
			px[f->off[0]] = p->c.r;
			px[f->off[1]] = p->c.g;
			px[f->off[2]] = p->c.b;
			if (bpp == 4)
				px[f->off[3]] = 0xff;
		}
		for (uint32_t x = X0; x < X1; x++)
			memcpy(row + (size_t)x * bpp, px, bpp);
		copy_down(buf, g->bpl, Y0, Y1, X0 * bpp, X1 * bpp);
		break;
	}
	case LC_LAYOUT_COMPRESSED:
		break;
	}
}

/* 5x7 digits, one byte per row, bit 4 = leftmost column. */
static const uint8_t font5x7[10][7] = {
	{ 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e }, /* 0 */
	{ 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e }, /* 1 */
	{ 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f }, /* 2 */
	{ 0x1e, 0x01, 0x01, 0x0e, 0x01, 0x01, 0x1e }, /* 3 */
	{ 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02 }, /* 4 */
	{ 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e }, /* 5 */
	{ 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e }, /* 6 */
	{ 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 }, /* 7 */
	{ 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e }, /* 8 */
	{ 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c }, /* 9 */
};

/* Layout of the pattern for a frame size. */
struct bars_layout {
	uint32_t top_h; /* top strip (seq): rows [0, top_h) */
	uint32_t bars_h; /* colour bars: rows [top_h, bars_h) */
	uint32_t strip_y; /* binary strips: rows [strip_y, h) */
	uint32_t strip_mid; /* ~seq strip starts here */
	uint32_t box; /* box edge */
};

static struct bars_layout layout_of(uint32_t w, uint32_t h)
{
	struct bars_layout l;
	uint32_t strip_h = h / 8 < 2 ? 2 : h / 8;

	(void)w;
	l.top_h = h / 24 ? h / 24 : 1;
	l.bars_h = h * 2 / 3;
	l.strip_y = h - strip_h;
	l.strip_mid = l.strip_y + strip_h / 2;
	l.box = h / 8 < 4 ? 4 : h / 8;
	return l;
}

static uint32_t cell_x(uint32_t w, uint32_t k)
{
	return (uint32_t)((uint64_t)k * w / 32);
}

static const struct rgb bar_colours[8] = {
	{ 191, 191, 191 }, { 191, 191, 0 }, { 0, 191, 191 }, { 0, 191, 0 },
	{ 191, 0, 191 }, { 191, 0, 0 }, { 0, 0, 191 }, { 0, 0, 0 },
};

int lc_bars_fill(void *buf, const struct lc_format *f, uint32_t w, uint32_t h,
		 uint32_t seq)
{
	struct geom g;
	struct bars_layout l;
	struct pix white, black, dark, one, zero, boxc;
	char digits[16];
	int nd;
	uint32_t mid_h, scale, dx, dy, travel, bx;
	/* inside of the box, changing with the frame (so does the chroma) */
	static const struct rgb box_colours[6] = {
		{ 255, 255, 255 }, { 255, 64, 64 }, { 64, 255, 64 },
		{ 64, 64, 255 }, { 255, 255, 64 }, { 255, 64, 255 },
	};

	if (lc_format_is_compressed(f) || w < LC_BARS_MIN_W || h < LC_BARS_MIN_H)
		return -1;
	g = geom_of(f, w, h);
	l = layout_of(w, h);
	white = make_pix((struct rgb){ 255, 255, 255 });
	black = make_pix((struct rgb){ 0, 0, 0 });
	dark = make_pix((struct rgb){ 40, 40, 40 });
	/* strip cells: bright yellow = 1, dark blue = 0, so both luma and
	 * chroma carry the number (a tear in any plane shows) */
	one = make_pix((struct rgb){ 255, 255, 0 });
	zero = make_pix((struct rgb){ 0, 0, 255 });
	boxc = make_pix(box_colours[seq % 6]);

	/* colour bars */
	for (uint32_t i = 0; i < 8; i++) {
		struct pix p = make_pix(bar_colours[i]);

		fill_rect(buf, f, &g, (int64_t)i * w / 8, l.top_h, (int64_t)(i + 1) * w / 8,
			  l.bars_h, &p);
	}
	/* moving box: black border, coloured inside, crossing the bars */
	travel = w > l.box ? w - l.box : 1;
	bx = (uint32_t)(((uint64_t)seq * (w / 64 + 1)) % travel);
	{
		int64_t y0 = (l.top_h + l.bars_h) / 2 - l.box / 2;
		uint32_t bd = l.box / 8 ? l.box / 8 : 1;

		fill_rect(buf, f, &g, bx, y0, bx + l.box, y0 + l.box, &black);
		fill_rect(buf, f, &g, bx + bd, y0 + bd, bx + l.box - bd, y0 + l.box - bd,
			  &boxc);
	}
	/* frame number in digits on a dark band */
	fill_rect(buf, f, &g, 0, l.bars_h, w, l.strip_y, &dark);
	mid_h = l.strip_y - l.bars_h;
	nd = snprintf(digits, sizeof(digits), "%u", seq);
	scale = mid_h / 9;
	while (scale && (uint64_t)nd * 6 * scale + 2 * scale > w)
		scale--;
	dx = 2 * scale;
	dy = l.bars_h + (mid_h - 7 * scale) / 2;
	for (int i = 0; scale && i < nd; i++) {
		const uint8_t *glyph = font5x7[digits[i] - '0'];

		for (uint32_t r = 0; r < 7; r++)
			for (uint32_t c = 0; c < 5; c++)
				if (glyph[r] & (0x10 >> c))
					fill_rect(buf, f, &g, dx + (i * 6 + c) * scale,
						  dy + r * scale,
						  dx + (i * 6 + c + 1) * scale,
						  dy + (r + 1) * scale, &white);
	}
	/* binary strips: seq at the top; seq, then ~seq at the bottom; MSB in the
	 * leftmost cell */
	for (uint32_t k = 0; k < 32; k++) {
		int bit = (seq >> (31 - k)) & 1;

		fill_rect(buf, f, &g, cell_x(w, k), 0, cell_x(w, k + 1), l.top_h,
			  bit ? &one : &zero);
		fill_rect(buf, f, &g, cell_x(w, k), l.strip_y, cell_x(w, k + 1), l.strip_mid,
			  bit ? &one : &zero);
		fill_rect(buf, f, &g, cell_x(w, k), l.strip_mid, cell_x(w, k + 1), h,
			  bit ? &zero : &one);
	}
	return 0;
}

/* Brightness 0..255 of pixel (x, y) of a raw frame. */
static int luma_at(const uint8_t *buf, const struct lc_format *f, const struct geom *g,
		   uint32_t x, uint32_t y)
{
	const uint8_t *row = buf + (size_t)y * g->bpl;

	switch (f->layout) {
	case LC_LAYOUT_PACKED_YUV422:
		return row[(size_t)(x / 2) * 4 + (x % 2 ? f->off[2] : f->off[0])];
	case LC_LAYOUT_PLANAR_YUV420:
	case LC_LAYOUT_SEMI_YUV420:
	case LC_LAYOUT_SEMI_YUV422:
	case LC_LAYOUT_GREY:
		return row[x];
	case LC_LAYOUT_Y16:
		return row[2 * x + 1];
	default: {
		const uint8_t *p = row + (size_t)x * f->bpp;
		uint8_t rgb[3];

		if (f->layout == LC_LAYOUT_RGB565) {
			unsigned v = p[0] | (unsigned)p[1] << 8;

			rgb[0] = (uint8_t)((v >> 11) << 3);
			rgb[1] = (uint8_t)(((v >> 5) & 0x3f) << 2);
			rgb[2] = (uint8_t)((v & 0x1f) << 3);
		} else {
			rgb[0] = p[f->off[0]];
			rgb[1] = p[f->off[1]];
			rgb[2] = p[f->off[2]];
		}
		return (77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) >> 8;
	}
	}
}

static int decode_strips(uint32_t w, uint32_t h, uint32_t *seq,
			 int (*lum)(const void *ctx, uint32_t x, uint32_t y), const void *ctx)
{
	struct bars_layout l = layout_of(w, h);
	uint32_t ya = l.strip_y + (l.strip_mid - l.strip_y) / 2;
	uint32_t yb = l.strip_mid + (h - l.strip_mid) / 2;
	uint32_t a = 0, b = 0;

	if (w < LC_BARS_MIN_W || h < LC_BARS_MIN_H)
		return -1;
	for (uint32_t k = 0; k < 32; k++) {
		uint32_t x = (cell_x(w, k) + cell_x(w, k + 1) - 1) / 2;

		a = a << 1 | (lum(ctx, x, ya) >= 128);
		b = b << 1 | (lum(ctx, x, yb) >= 128);
	}
	if (a != ~b)
		return -1;
	*seq = a;
	return 0;
}

struct raw_ctx {
	const uint8_t *buf;
	const struct lc_format *f;
	struct geom g;
};

static int raw_lum(const void *ctx, uint32_t x, uint32_t y)
{
	const struct raw_ctx *c = ctx;

	return luma_at(c->buf, c->f, &c->g, x, y);
}

struct rgb_ctx {
	const uint8_t *rgb;
	uint32_t w;
};

static int rgb_lum(const void *ctx, uint32_t x, uint32_t y)
{
	const struct rgb_ctx *c = ctx;
	const uint8_t *p = c->rgb + ((size_t)y * c->w + x) * 3;

	return (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8;
}

int lc_bars_decode(const void *buf, const struct lc_format *f, uint32_t w,
		   uint32_t h, uint32_t *seq)
{
	struct raw_ctx c = { buf, f, geom_of(f, w, h) };

	if (lc_format_is_compressed(f))
		return -1;
	return decode_strips(w, h, seq, raw_lum, &c);
}

int lc_bars_decode_rgb(const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t *seq)
{
	struct rgb_ctx c = { rgb, w };

	return decode_strips(w, h, seq, rgb_lum, &c);
}

int lc_to_rgb(const void *src, const struct lc_format *f, uint32_t w, uint32_t h,
	      uint8_t *rgb)
{
	const uint8_t *buf = src;
	struct geom g = geom_of(f, w, h);

	if (lc_format_is_compressed(f))
		return -1;
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *row = buf + (size_t)y * g.bpl;
		uint8_t *o = rgb + (size_t)y * w * 3;

		for (uint32_t x = 0; x < w; x++, o += 3) {
			struct rgb c;

			switch (f->layout) {
			case LC_LAYOUT_PACKED_YUV422: {
				const uint8_t *m = row + (size_t)(x / 2) * 4;

				c = yuv_to_rgb(m[x % 2 ? f->off[2] : f->off[0]], m[f->off[1]],
					       m[f->off[3]]);
				break;
			}
			case LC_LAYOUT_PLANAR_YUV420: {
				size_t ci = (size_t)(y / 2) * g.cbpl + x / 2;

				c = yuv_to_rgb(row[x], buf[g.c0 + ci], buf[g.c1 + ci]);
				break;
			}
			case LC_LAYOUT_SEMI_YUV420:
			case LC_LAYOUT_SEMI_YUV422: {
				uint32_t cy = f->layout == LC_LAYOUT_SEMI_YUV420 ? y / 2 : y;
				const uint8_t *cr = buf + g.c0 + (size_t)cy * g.cbpl + 2 * (x / 2);

				c = yuv_to_rgb(row[x], cr[f->off[0]], cr[1 - f->off[0]]);
				break;
			}
			case LC_LAYOUT_GREY:
				c = (struct rgb){ row[x], row[x], row[x] };
				break;
			case LC_LAYOUT_Y16:
				c = (struct rgb){ row[2 * x + 1], row[2 * x + 1], row[2 * x + 1] };
				break;
			case LC_LAYOUT_RGB565: {
				unsigned v = row[2 * x] | (unsigned)row[2 * x + 1] << 8;

				/* expand 5/6 bits to 8 by repeating the top bits */
				c.r = (uint8_t)((v >> 11) << 3 | (v >> 13));
				c.g = (uint8_t)(((v >> 5) & 0x3f) << 2 | ((v >> 9) & 3));
				c.b = (uint8_t)((v & 0x1f) << 3 | ((v >> 2) & 7));
				break;
			}
			case LC_LAYOUT_RGB: {
				const uint8_t *p = row + (size_t)x * f->bpp;

				c = (struct rgb){ p[f->off[0]], p[f->off[1]], p[f->off[2]] };
				break;
			}
			default:
				return -1;
			}
			o[0] = c.r;
			o[1] = c.g;
			o[2] = c.b;
		}
	}
	return 0;
}
