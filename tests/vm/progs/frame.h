/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loopcam test programs: frame helpers shared by lc-produce, lc-consume and
 * the host unit tests.
 *
 *  - a table of the pixel formats loopcam carries, with bytes-per-line and
 *    frame-size rules (also for odd sizes);
 *  - the test pattern: a 48-byte header (magic, stream id, sequence, send
 *    time, frame size, format, header checksum) followed by a payload whose
 *    64-bit word k is a function of (stream, sequence, k) that differs
 *    between any two frames, so a frame made of parts of two frames, a
 *    partially written frame or a truncated frame is found by a full or a
 *    sampled check;
 *  - the sequence tracker used by readers (missed / out-of-order frames,
 *    v4l2 sequence agreement, timestamps);
 *  - a visual pattern (colour bars, moving box, frame number in digits and a
 *    binary strip the number can be read back from) for every raw format, a
 *    converter of every raw format to RGB, and a PNG writer (zlib).
 */
#ifndef LC_FRAME_H
#define LC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- formats ----------------------------------------------------------- */

enum lc_layout {
	LC_LAYOUT_PACKED_YUV422, /* YUYV UYVY YVYU: 2 pixels in 4 bytes */
	LC_LAYOUT_PLANAR_YUV420, /* YU12 YV12: Y plane, then two chroma planes */
	LC_LAYOUT_SEMI_YUV420, /* NV12 NV21: Y plane, then interleaved chroma */
	LC_LAYOUT_SEMI_YUV422, /* NV16: Y plane, then interleaved chroma, full height */
	LC_LAYOUT_GREY, /* GREY: 8-bit luma */
	LC_LAYOUT_Y16, /* Y16: 16-bit little-endian luma */
	LC_LAYOUT_RGB, /* 3 or 4 bytes per pixel, byte offsets of R, G, B */
	LC_LAYOUT_RGB565, /* 16-bit little-endian rrrrrggg gggbbbbb */
	LC_LAYOUT_COMPRESSED, /* variable-size frames */
};

struct lc_format {
	uint32_t fourcc;
	const char *name; /* canonical short name: "YUYV", "NV12", "RGB24" ... */
	const char *aliases; /* other accepted names, space separated */
	enum lc_layout layout;
	uint8_t bpp; /* bytes per pixel of plane 0 (packed, RGB, grey) */
	/*
	 * PACKED_YUV422: byte offsets of Y0, U, Y1, V in the 4-byte group.
	 * RGB: byte offsets of R, G, B (off[3] = alpha/padding, 0xff = none).
	 * PLANAR/SEMI: off[0] = 1 when V comes before U.
	 */
	uint8_t off[4];
};

/* All formats, terminated by an entry with fourcc 0. */
extern const struct lc_format lc_formats[];

const struct lc_format *lc_format_by_fourcc(uint32_t fourcc);

/*
 * Parses a format given by a user: a name or alias (case-insensitive,
 * "YUYV", "I420", "rgb24", "mjpeg", "y16") or a fourcc code ("YU12",
 * "RGB3", "XR24", "Y16 "). Returns NULL and writes why into err (with the
 * list of known names) when it is not a known format.
 */
const struct lc_format *lc_format_parse(const char *s, char *err, size_t errlen);

/*
 * Printable form of a fourcc: 4 characters, non-printable bytes as '.',
 * trailing spaces dropped, "-BE" appended if the big-endian bit is set.
 * buf must hold at least 8 bytes. Returns buf.
 */
char *lc_fourcc_str(uint32_t fourcc, char *buf);
/* Known format: its name; otherwise lc_fourcc_str(). buf >= 8 bytes. */
const char *lc_format_name(uint32_t fourcc, char *buf);

static inline int lc_format_is_compressed(const struct lc_format *f)
{
	return f->layout == LC_LAYOUT_COMPRESSED;
}

/* Bytes per line of plane 0 (the luma plane for planar formats); 0 for
 * compressed formats. */
uint32_t lc_bytesperline(const struct lc_format *f, uint32_t width);
/* Exact size of one frame in bytes; 0 for compressed formats. */
size_t lc_frame_size(const struct lc_format *f, uint32_t width, uint32_t height);

/* Parses "WxH" (e.g. "640x480"); 0 on success, -1 (message in err) if not. */
int lc_parse_size(const char *s, uint32_t *w, uint32_t *h, char *err, size_t errlen);
/* Parses "FOURCC:WxH"; 0 on success, -1 (message in err) if not. */
int lc_parse_format_size(const char *s, const struct lc_format **f, uint32_t *w,
			 uint32_t *h, char *err, size_t errlen);

/* ---- test pattern -------------------------------------------------------- */

#define LC_HDR_MAGIC 0x3146434cu /* "LCF1" as little-endian bytes */
#define LC_HDR_SIZE 48u

/* The header, decoded (in memory it is little-endian, at offset 0). */
struct lc_frame_hdr {
	uint32_t magic;
	uint32_t stream; /* producer run id: changes when a producer restarts */
	uint64_t seq; /* producer's frame number, from 0 */
	uint64_t send_ns; /* CLOCK_MONOTONIC when the producer queued/wrote it */
	uint32_t size; /* total frame size in bytes, header included */
	uint32_t fourcc;
	uint32_t width;
	uint32_t height;
	uint64_t check; /* checksum of the 40 bytes before it */
};

/* Writes the header and the payload of frame (stream, seq) into buf[0..size). */
void lc_pattern_fill(void *buf, size_t size, const struct lc_frame_hdr *hdr);
/* Rewrites only the header (e.g. the send time just before queueing). */
void lc_pattern_write_hdr(void *buf, const struct lc_frame_hdr *hdr);
/* Decodes the header; 0 if magic and checksum are right, -1 if no magic,
 * -2 if the checksum is wrong. */
int lc_pattern_read_hdr(const void *buf, size_t len, struct lc_frame_hdr *hdr);

/* Expected 64-bit payload word k of frame (stream, seq) (k >= 6). */
uint64_t lc_pattern_word(uint32_t stream, uint64_t seq, uint64_t k);
/*
 * Which frame of this stream, within window of near_seq, has the n payload
 * words starting at word index k equal to words[]? 0 and *seq if found.
 */
int lc_pattern_find_seq(uint32_t stream, uint64_t near_seq, uint64_t window,
			const uint64_t *words, uint64_t k, size_t n, uint64_t *seq);

/* Size of compressed-format test frame seq, between lo and hi inclusive. */
uint32_t lc_pattern_compressed_size(uint64_t seq, uint32_t lo, uint32_t hi);

enum lc_check_mode {
	LC_CHECK_FULL, /* every byte */
	LC_CHECK_SAMPLED, /* header, first and last word of every 4 KiB page,
			     64 pseudo-random words and the tail */
};

enum lc_check_status {
	LC_FRAME_OK = 0,
	LC_FRAME_FOREIGN, /* no magic at offset 0: not a test frame */
	LC_FRAME_BAD_HDR, /* magic present, header checksum wrong */
	LC_FRAME_BAD_SIZE, /* length differs from the header's size */
	LC_FRAME_TORN, /* payload does not belong to the header's frame */
};

struct lc_check_result {
	enum lc_check_status status;
	struct lc_frame_hdr hdr; /* valid unless FOREIGN or BAD_HDR */
	size_t bad_offset; /* TORN: first wrong byte */
	size_t bad_end; /* TORN, full mode: end of the first run of wrong words */
	int other_valid; /* TORN: the wrong data is from another frame of the
			    stream within 4096 of the header's sequence */
	uint64_t other_seq; /* ... of this sequence number */
	char msg[200]; /* one line, for humans */
};

/* Checks buf[0..len) as one test frame. Returns r->status. */
enum lc_check_status lc_pattern_check(const void *buf, size_t len,
				      enum lc_check_mode mode,
				      struct lc_check_result *r);

const char *lc_check_status_name(enum lc_check_status s);

/* ---- reader bookkeeping -------------------------------------------------- */

struct lc_seqtrack {
	/* counters */
	uint64_t received; /* frames passed to lc_seqtrack_frame */
	uint64_t missed; /* producer frames skipped between received ones */
	uint64_t out_of_order; /* header seq not increasing within a stream */
	uint64_t repeats; /* the previous frame again, with repeats_ok */
	uint64_t seq_mismatch; /* v4l2 sequence gap != header seq gap */
	uint64_t v4l2_gaps; /* frames skipped according to v4l2 sequence */
	uint64_t ts_backwards; /* v4l2 timestamp went back */
	uint64_t streams; /* distinct producer runs seen */
	uint64_t first_seq; /* header seq of the first frame */
	/* settings */
	int repeats_ok; /* the previous frame again is a repeat, not out of order */
	/* state */
	int have_prev;
	uint32_t prev_stream;
	uint64_t prev_seq;
	int prev_has_v4l2;
	uint32_t prev_v4l2_seq;
	int have_prev_ts;
	uint64_t prev_ts_ns;
	char last_problem[200]; /* description of the latest problem */
};

void lc_seqtrack_init(struct lc_seqtrack *t);
/*
 * Accounts for one received test frame. has_v4l2 says whether v4l2_seq is
 * valid (streaming I/O); ts_ns is the v4l2 timestamp in ns (0 = none).
 * Returns 0 if the frame is in order, 1 if something was counted as a
 * problem (out of order, sequence mismatch, timestamp backwards); missed
 * frames are not a problem here.
 */
int lc_seqtrack_frame(struct lc_seqtrack *t, uint32_t stream, uint64_t seq,
		      int has_v4l2, uint32_t v4l2_seq, uint64_t ts_ns);
/* For frames without a usable header where the sequence is unknown:
 * follows only the timestamp; 1 if it went back. */
int lc_seqtrack_ts(struct lc_seqtrack *t, uint64_t ts_ns);
/* For frames without a test header: only v4l2 sequence and timestamps. */
int lc_seqtrack_v4l2_only(struct lc_seqtrack *t, uint32_t v4l2_seq, uint64_t ts_ns);

/* Percentile p (0..100) of n values (sorts v in place); 0 if n == 0. */
uint64_t lc_percentile(uint64_t *v, size_t n, double p);

/* ---- visual pattern ------------------------------------------------------ */

/* Smallest frame the visual pattern can be drawn into. */
#define LC_BARS_MIN_W 32u
#define LC_BARS_MIN_H 16u

/*
 * Draws frame seq of the visual pattern into buf (lc_frame_size bytes):
 * a thin strip of 32 cells holding seq at the top, 75% colour bars down to
 * two thirds of the height, a box moving with seq (its colour cycles with
 * seq), the decimal frame number on a dark band, and at the bottom a strip
 * holding seq above a strip holding ~seq. Cells: MSB leftmost, cell k spans
 * x in [k*w/32, (k+1)*w/32), 1 = yellow (bright), 0 = blue (dark); each
 * bottom strip is half of the bottom max(2, h/8) rows. Every byte of the
 * frame is defined, so a reader can compare a frame exactly with one drawn
 * from the decoded number; frames differ at the start and end of every
 * plane, so tears are found unless they fall where two frames agree.
 * Returns 0, or -1 for compressed formats or a too small frame.
 */
int lc_bars_fill(void *buf, const struct lc_format *f, uint32_t w, uint32_t h,
		 uint32_t seq);
/* Reads the frame number back from a bars frame; 0 if found (both strips
 * agree), -1 if the strips are not readable. */
int lc_bars_decode(const void *buf, const struct lc_format *f, uint32_t w,
		   uint32_t h, uint32_t *seq);
/* The same from an RGB24 image (e.g. a converted frame). */
int lc_bars_decode_rgb(const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t *seq);

/*
 * Converts a raw frame to RGB24 (w*h*3 bytes, R G B). YUV is taken as
 * BT.601 limited range (what lc_bars_fill writes). Returns 0, or -1 for
 * compressed formats.
 */
int lc_to_rgb(const void *buf, const struct lc_format *f, uint32_t w, uint32_t h,
	      uint8_t *rgb);

/*
 * Writes an RGB24 image as PNG. Returns 0, or -1 with errno set (and a
 * message in err) on failure.
 */
int lc_png_write(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h,
		 char *err, size_t errlen);

/* ---- misc ---------------------------------------------------------------- */

uint64_t lc_now_ns(void); /* CLOCK_MONOTONIC */

#endif /* LC_FRAME_H */
