// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loopcam test programs: the test-frame pattern and its checker.
 *
 * Layout of a test frame of S bytes (all little-endian):
 *   0  u32 magic "LCF1"      4  u32 stream id
 *   8  u64 sequence         16  u64 send time (CLOCK_MONOTONIC ns)
 *  24  u32 frame size S     28  u32 fourcc
 *  32  u32 width            36  u32 height
 *  40  u64 checksum of bytes 0..39
 *  48  payload: 64-bit word k (bytes 8k..8k+7) =
 *        B ^ (k*C1) ^ rotl(B2, k % 64),  B = M(seq + stream*C2), B2 = M(B ^ C3)
 *      where M is a 64-bit mixer; the last partial word holds the low bytes of
 *      its value.
 * Byte i of the payload is thus a function of (stream, sequence, i). Two
 * frames differ in every word (and, thanks to the rotating term, in about
 * 255 of 256 bytes, not in fixed byte lanes); a wrong word is traced back
 * to the nearby frame it came from by search.
 */
#include "frame.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define C1 0x9e3779b97f4a7c15ull /* odd: k*C1 is a bijection of k */
#define C2 0xd1b54a32d192ed03ull
#define C3 0x2545f4914f6cdd1dull
#define M1 0xbf58476d1ce4e5b9ull
#define M2 0x94d049bb133111ebull
#define PAGE 4096u
#define HDR_WORDS (LC_HDR_SIZE / 8)

static inline uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * M1;
	z = (z ^ (z >> 27)) * M2;
	return z ^ (z >> 31);
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Native-endian word loads for the hot loops; the pattern is defined
 * little-endian, so convert on big-endian hosts. */
static inline uint64_t load_word(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void store_word(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

/* Per-frame constants of the payload. */
struct pat {
	uint64_t b;
	uint64_t rot[64]; /* rotl(B2, j) */
};

static void pat_init(struct pat *pt, uint32_t stream, uint64_t seq)
{
	uint64_t b2;

	pt->b = mix(seq + (uint64_t)stream * C2);
	b2 = mix(pt->b ^ C3);
	pt->rot[0] = b2;
	for (int j = 1; j < 64; j++)
		pt->rot[j] = (b2 << j) | (b2 >> (64 - j));
}

static inline uint64_t pat_word(const struct pat *pt, uint64_t k)
{
	return pt->b ^ (k * C1) ^ pt->rot[k & 63];
}

uint64_t lc_pattern_word(uint32_t stream, uint64_t seq, uint64_t k)
{
	struct pat pt;

	pat_init(&pt, stream, seq);
	return pat_word(&pt, k);
}

int lc_pattern_find_seq(uint32_t stream, uint64_t near_seq, uint64_t window,
			const uint64_t *words, uint64_t k, size_t n, uint64_t *seq)
{
	for (uint64_t d = 0; d <= window; d++) {
		for (int sign = 0; sign < 2; sign++) {
			uint64_t s = sign ? near_seq - d : near_seq + d;
			struct pat pt;
			size_t i;

			if (sign && d == 0)
				continue;
			pat_init(&pt, stream, s);
			for (i = 0; i < n && pat_word(&pt, k + i) == words[i]; i++)
				;
			if (i == n) {
				*seq = s;
				return 0;
			}
		}
	}
	return -1;
}

static void encode_hdr(uint8_t h[LC_HDR_SIZE], const struct lc_frame_hdr *hdr)
{
	uint64_t c = 0x6c6f6f7063616d31ull; /* "loopcam1" */

	st32(h + 0, LC_HDR_MAGIC);
	st32(h + 4, hdr->stream);
	st64(h + 8, hdr->seq);
	st64(h + 16, hdr->send_ns);
	st32(h + 24, hdr->size);
	st32(h + 28, hdr->fourcc);
	st32(h + 32, hdr->width);
	st32(h + 36, hdr->height);
	for (int i = 0; i < 5; i++)
		c = mix(c ^ ld64(h + 8 * i));
	st64(h + 40, c);
}

void lc_pattern_write_hdr(void *buf, const struct lc_frame_hdr *hdr)
{
	uint8_t h[LC_HDR_SIZE];
	size_t n = hdr->size < LC_HDR_SIZE ? hdr->size : LC_HDR_SIZE;

	encode_hdr(h, hdr);
	memcpy(buf, h, n);
}

int lc_pattern_read_hdr(const void *buf, size_t len, struct lc_frame_hdr *hdr)
{
	const uint8_t *p = buf;
	uint8_t again[LC_HDR_SIZE];

	memset(hdr, 0, sizeof(*hdr));
	if (len < 4 || ld32(p) != LC_HDR_MAGIC)
		return -1;
	if (len < LC_HDR_SIZE)
		return -2;
	hdr->magic = ld32(p);
	hdr->stream = ld32(p + 4);
	hdr->seq = ld64(p + 8);
	hdr->send_ns = ld64(p + 16);
	hdr->size = ld32(p + 24);
	hdr->fourcc = ld32(p + 28);
	hdr->width = ld32(p + 32);
	hdr->height = ld32(p + 36);
	hdr->check = ld64(p + 40);
	encode_hdr(again, hdr);
	if (memcmp(again, p, LC_HDR_SIZE) != 0)
		return -2;
	return 0;
}

void lc_pattern_fill(void *buf, size_t size, const struct lc_frame_hdr *hdr)
{
	uint8_t *p = buf;
	size_t nwords = size / 8;
	struct pat pt;

	pat_init(&pt, hdr->stream, hdr->seq);
	for (size_t k = HDR_WORDS; k < nwords; k++)
		store_word(p + 8 * k, pat_word(&pt, k));
	if (size % 8 && nwords >= HDR_WORDS) {
		uint64_t v = pat_word(&pt, nwords);

		for (size_t i = 0; i < size % 8; i++)
			p[8 * nwords + i] = (uint8_t)(v >> (8 * i));
	}
	lc_pattern_write_hdr(buf, hdr);
}

uint32_t lc_pattern_compressed_size(uint64_t seq, uint32_t lo, uint32_t hi)
{
	if (lo >= hi)
		return hi;
	if (seq % 8 == 0)
		return hi;
	if (seq % 8 == 1)
		return lo;
	return lo + (uint32_t)(mix(seq ^ 0x5eedull) % ((uint64_t)hi - lo + 1));
}

const char *lc_check_status_name(enum lc_check_status s)
{
	switch (s) {
	case LC_FRAME_OK:
		return "ok";
	case LC_FRAME_FOREIGN:
		return "foreign";
	case LC_FRAME_BAD_HDR:
		return "bad-header";
	case LC_FRAME_BAD_SIZE:
		return "bad-size";
	case LC_FRAME_TORN:
		return "torn";
	}
	return "?";
}

/* Value of byte i of the frame, i >= LC_HDR_SIZE. */
static inline uint8_t expected_byte(const struct pat *pt, size_t i)
{
	return (uint8_t)(pat_word(pt, i / 8) >> (8 * (i % 8)));
}

/* Is word k of buf wrong? (k < nwords) */
static inline bool word_bad(const uint8_t *p, const struct pat *pt, size_t k)
{
	return load_word(p + 8 * k) != pat_word(pt, k);
}

/* First wrong byte at or after word k0, among full words and the tail;
 * len if none. */
static size_t scan_from(const uint8_t *p, size_t len, const struct pat *pt, size_t k0)
{
	size_t nwords = len / 8;
	size_t k = k0;

	/* up to a multiple of 64 words one by one */
	for (; k < nwords && (k & 63); k++)
		if (word_bad(p, pt, k))
			goto found;
	/* blocks of 64 words: OR of differences, vectorisable */
	while (k + 64 <= nwords) {
		uint64_t acc = 0, kc = (uint64_t)k * C1;

		for (size_t j = 0; j < 64; j++)
			acc |= load_word(p + 8 * (k + j)) ^ (pt->b ^ (kc + j * C1) ^ pt->rot[j]);
		if (acc)
			break;
		k += 64;
	}
	for (; k < nwords; k++)
		if (word_bad(p, pt, k))
			goto found;
	for (size_t i = 8 * nwords; i < len; i++)
		if (p[i] != expected_byte(pt, i))
			return i;
	return len;
found: {
	uint64_t d = load_word(p + 8 * k) ^ pat_word(pt, k);

	return 8 * k + (size_t)__builtin_ctzll(d) / 8;
}
}

static void describe_torn(const uint8_t *p, size_t len, const struct pat *pt,
			  struct lc_check_result *r, enum lc_check_mode mode)
{
	size_t off = r->bad_offset;
	size_t k = off / 8;
	size_t nwords = len / 8;

	r->status = LC_FRAME_TORN;
	r->bad_end = off + 1;
	if (mode == LC_CHECK_FULL) {
		/* end of this run of wrong words */
		size_t e = k;

		while (e < nwords && word_bad(p, pt, e))
			e++;
		r->bad_end = e < nwords ? 8 * e : len;
		if (e == k) /* the wrong byte is in the tail */
			r->bad_end = len;
	}
	/* do the wrong words belong to a nearby frame of this stream? */
	if (k + 1 < nwords && word_bad(p, pt, k) && word_bad(p, pt, k + 1)) {
		uint64_t w[2] = { load_word(p + 8 * k), load_word(p + 8 * (k + 1)) };
		uint64_t s;

		if (lc_pattern_find_seq(r->hdr.stream, r->hdr.seq, 4096, w, k, 2, &s) == 0) {
			r->other_valid = 1;
			r->other_seq = s;
		}
	}
	if (r->other_valid)
		snprintf(r->msg, sizeof(r->msg),
			 "torn frame: header says frame %llu of stream %08x but bytes "
			 "%zu..%zu%s hold frame %llu",
			 (unsigned long long)r->hdr.seq, r->hdr.stream, off, r->bad_end - 1,
			 mode == LC_CHECK_FULL ? "" : " (at least)",
			 (unsigned long long)r->other_seq);
	else
		snprintf(r->msg, sizeof(r->msg),
			 "torn frame: frame %llu of stream %08x has a wrong byte at offset %zu "
			 "(0x%02x, expected 0x%02x)%s%zu..%zu wrong",
			 (unsigned long long)r->hdr.seq, r->hdr.stream, off, p[off],
			 expected_byte(pt, off),
			 mode == LC_CHECK_FULL ? "; bytes " : "; at least ", off,
			 r->bad_end - 1);
}

enum lc_check_status lc_pattern_check(const void *buf, size_t len,
				      enum lc_check_mode mode,
				      struct lc_check_result *r)
{
	const uint8_t *p = buf;
	struct pat pt;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = lc_pattern_read_hdr(buf, len, &r->hdr);
	if (rc == -1) {
		r->status = LC_FRAME_FOREIGN;
		if (len < 4)
			snprintf(r->msg, sizeof(r->msg),
				 "not a test frame: only %zu bytes", len);
		else
			snprintf(r->msg, sizeof(r->msg),
				 "not a test frame: no magic at offset 0 (bytes %02x %02x %02x %02x)",
				 p[0], p[1], p[2], p[3]);
		return r->status;
	}
	if (rc == -2) {
		r->status = len < LC_HDR_SIZE ? LC_FRAME_BAD_SIZE : LC_FRAME_BAD_HDR;
		if (len < LC_HDR_SIZE)
			snprintf(r->msg, sizeof(r->msg),
				 "truncated frame: %zu bytes, shorter than the %u-byte header",
				 len, LC_HDR_SIZE);
		else
			snprintf(r->msg, sizeof(r->msg),
				 "bad header: magic present but checksum wrong (header torn or "
				 "overwritten)");
		return r->status;
	}
	if (r->hdr.size != len) {
		r->status = LC_FRAME_BAD_SIZE;
		snprintf(r->msg, sizeof(r->msg),
			 "%s frame: got %zu bytes, frame %llu was sent with %u bytes",
			 len < r->hdr.size ? "truncated" : "over-long", len,
			 (unsigned long long)r->hdr.seq, r->hdr.size);
		return r->status;
	}

	pat_init(&pt, r->hdr.stream, r->hdr.seq);
	if (mode == LC_CHECK_FULL) {
		r->bad_offset = scan_from(p, len, &pt, HDR_WORDS);
	} else {
		size_t nwords = len / 8;
		size_t first = len;
		uint64_t x = r->hdr.seq * C1 + 1;

		/* first and last word of every page */
		for (size_t pg = 0; pg * PAGE < len && first == len; pg++) {
			size_t k0 = pg * (PAGE / 8), k1 = k0 + PAGE / 8 - 1;

			if (k0 >= HDR_WORDS && k0 < nwords && word_bad(p, &pt, k0))
				first = 8 * k0;
			else if (k1 < nwords && word_bad(p, &pt, k1))
				first = 8 * k1;
		}
		/* pseudo-random words */
		for (int i = 0; i < 64 && nwords > HDR_WORDS; i++) {
			size_t k;

			x = mix(x);
			k = HDR_WORDS + (size_t)(x % (nwords - HDR_WORDS));
			if (8 * k < first && word_bad(p, &pt, k))
				first = 8 * k;
		}
		/* tail */
		for (size_t i = 8 * nwords; i < len && first == len; i++)
			if (p[i] != expected_byte(&pt, i))
				first = i;
		if (first < len && first % 8 == 0 && first < 8 * nwords) {
			/* exact byte within the word */
			uint64_t d = load_word(p + first) ^ pat_word(&pt, first / 8);

			first += (size_t)__builtin_ctzll(d) / 8;
		}
		r->bad_offset = first;
	}
	if (r->bad_offset >= len) {
		r->bad_offset = 0;
		r->status = LC_FRAME_OK;
		snprintf(r->msg, sizeof(r->msg), "frame %llu ok",
			 (unsigned long long)r->hdr.seq);
		return r->status;
	}
	describe_torn(p, len, &pt, r, mode);
	return r->status;
}

/* ---- reader bookkeeping ---------------------------------------------- */

void lc_seqtrack_init(struct lc_seqtrack *t)
{
	memset(t, 0, sizeof(*t));
}

static int track_ts(struct lc_seqtrack *t, uint64_t ts_ns)
{
	int bad = 0;

	if (!ts_ns)
		return 0;
	if (t->have_prev_ts && ts_ns < t->prev_ts_ns) {
		t->ts_backwards++;
		snprintf(t->last_problem, sizeof(t->last_problem),
			 "timestamp went back by %llu us (%llu.%06llu s after %llu.%06llu s)",
			 (unsigned long long)(t->prev_ts_ns - ts_ns) / 1000,
			 (unsigned long long)ts_ns / 1000000000ull,
			 (unsigned long long)ts_ns / 1000 % 1000000,
			 (unsigned long long)t->prev_ts_ns / 1000000000ull,
			 (unsigned long long)t->prev_ts_ns / 1000 % 1000000);
		bad = 1;
	}
	t->have_prev_ts = 1;
	t->prev_ts_ns = ts_ns;
	return bad;
}

int lc_seqtrack_ts(struct lc_seqtrack *t, uint64_t ts_ns)
{
	return track_ts(t, ts_ns);
}

int lc_seqtrack_frame(struct lc_seqtrack *t, uint32_t stream, uint64_t seq,
		      int has_v4l2, uint32_t v4l2_seq, uint64_t ts_ns)
{
	int bad = 0;

	if (t->received == 0)
		t->first_seq = seq;
	t->received++;
	if (!t->have_prev || stream != t->prev_stream) {
		/* first frame, or a new producer run: restart the comparison */
		t->streams++;
	} else if (seq == t->prev_seq && t->repeats_ok) {
		t->repeats++;
	} else if (seq <= t->prev_seq) {
		t->out_of_order++;
		snprintf(t->last_problem, sizeof(t->last_problem),
			 "out of order: frame %llu after frame %llu",
			 (unsigned long long)seq, (unsigned long long)t->prev_seq);
		bad = 1;
	} else {
		uint64_t gap = seq - t->prev_seq - 1;

		t->missed += gap;
		if (has_v4l2 && t->prev_has_v4l2) {
			uint32_t vgap = v4l2_seq - t->prev_v4l2_seq - 1;

			if (v4l2_seq != t->prev_v4l2_seq && vgap < 0x80000000u)
				t->v4l2_gaps += vgap;
			if (v4l2_seq == t->prev_v4l2_seq || vgap != gap) {
				t->seq_mismatch++;
				snprintf(t->last_problem, sizeof(t->last_problem),
					 "sequence mismatch: frames %llu -> %llu (%llu missed) "
					 "but v4l2 sequence %u -> %u",
					 (unsigned long long)t->prev_seq,
					 (unsigned long long)seq, (unsigned long long)gap,
					 t->prev_v4l2_seq, v4l2_seq);
				bad = 1;
			}
		}
	}
	if (track_ts(t, ts_ns))
		bad = 1;
	t->have_prev = 1;
	t->prev_stream = stream;
	t->prev_seq = seq;
	t->prev_has_v4l2 = has_v4l2;
	t->prev_v4l2_seq = v4l2_seq;
	return bad;
}

int lc_seqtrack_v4l2_only(struct lc_seqtrack *t, uint32_t v4l2_seq, uint64_t ts_ns)
{
	int bad = 0;

	t->received++;
	if (t->have_prev && t->prev_has_v4l2) {
		if (v4l2_seq == t->prev_v4l2_seq ||
		    (uint32_t)(v4l2_seq - t->prev_v4l2_seq) > 0x80000000u) {
			t->out_of_order++;
			snprintf(t->last_problem, sizeof(t->last_problem),
				 "out of order: v4l2 sequence %u after %u", v4l2_seq,
				 t->prev_v4l2_seq);
			bad = 1;
		} else {
			t->v4l2_gaps += (uint32_t)(v4l2_seq - t->prev_v4l2_seq - 1);
			t->missed += (uint32_t)(v4l2_seq - t->prev_v4l2_seq - 1);
		}
	}
	if (track_ts(t, ts_ns))
		bad = 1;
	t->have_prev = 1;
	t->prev_has_v4l2 = 1;
	t->prev_v4l2_seq = v4l2_seq;
	return bad;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t lc_percentile(uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	/* nearest rank */
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}
