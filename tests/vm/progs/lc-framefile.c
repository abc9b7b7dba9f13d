// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lc-framefile: writes a raw file of concatenated test frames (what
 * lc-produce sends, for clients that stream from a file: v4l2-ctl
 * --stream-from, GStreamer filesrc, FFmpeg -f rawvideo), and checks such a
 * file after it went through a device and a client (v4l2-ctl --stream-to,
 * GStreamer filesink, FFmpeg -f rawvideo out.raw): every frame whole, in
 * the right format, of the right size, in order, none missing.
 *
 *   lc-framefile write -F FOURCC:WxH -n N -o FILE [options]
 *   lc-framefile check -F FOURCC:WxH [options] FILE
 *
 * Exit status: 0 pass; 1 a check failed; 2 usage or I/O error.
 */
#include "frame.h"
#include "v4l2util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum pattern { PAT_TEST, PAT_BARS };

struct opts {
	int check; /* 0 = write mode */
	const struct lc_format *fmt;
	uint32_t width, height;
	uint64_t frames;
	int frames_set;
	const char *out;
	const char *in;
	uint32_t stream_id;
	int stream_id_set;
	uint64_t seq_start;
	int seq_start_set;
	uint32_t min_bytes, max_bytes;
	enum pattern pattern;
	int allow_gaps;
	unsigned max_report;
	int verbose;
};

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: lc-framefile write -F FOURCC:WxH -n N -o FILE [options]\n"
"       lc-framefile check -F FOURCC:WxH [options] FILE\n"
"\n"
"write: a file of N test frames (lc-produce's pattern), one after the other,\n"
"       frames numbered --seq-start.. of stream --stream-id.\n"
"check: every frame of FILE whole (header, every payload byte), of format\n"
"       FOURCC WxH, of the exact frame size, frame numbers increasing by one\n"
"       within one stream.\n"
"\n"
"  -F, --format FOURCC:WxH  frame format (YUYV:640x480, YU12:641x481, MJPEG:640x480)\n"
"  -n, --frames N           write: frames to write; check: frames the file must hold\n"
"  -o, --output FILE        write: the file to create ('-' = stdout)\n"
"      --stream-id N        write: stream id in the headers (default 0x4c43)\n"
"                           check: the stream every frame must belong to\n"
"      --seq-start N        write: number of the first frame (default 0)\n"
"                           check: the number the first frame must have\n"
"      --frame-bytes MIN:MAX  compressed formats: frame sizes (write; default\n"
"                           w*h/4 .. w*h*2); check reads each size from its header\n"
"  -p, --pattern P          test (default) | bars (raw formats only; check redraws\n"
"                           each frame from the number it shows and compares)\n"
"      --allow-gaps         check: frames may be missing (order is still checked)\n"
"      --max-report N       check: report at most N problems in detail (default 10)\n"
"  -v, --verbose            one line per frame\n"
"  -h, --help\n"
"\n"
"Output: 'checked: ...' lines, problems on stderr, and a last line\n"
"'result=pass frames=N ...'. Exit 0 pass, 1 a check failed, 2 usage/I/O error.\n");
}

enum { O_STREAM_ID = 256, O_SEQ_START, O_FRAME_BYTES, O_ALLOW_GAPS, O_MAX_REPORT };

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "frames", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "stream-id", required_argument, NULL, O_STREAM_ID },
		{ "seq-start", required_argument, NULL, O_SEQ_START },
		{ "frame-bytes", required_argument, NULL, O_FRAME_BYTES },
		{ "allow-gaps", no_argument, NULL, O_ALLOW_GAPS },
		{ "max-report", required_argument, NULL, O_MAX_REPORT },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	int c;

	memset(o, 0, sizeof(*o));
	o->stream_id = 0x4c43;
	o->max_report = 10;
	if (argc < 2) {
		usage(stderr);
		return -1;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		exit(0);
	}
	if (strcmp(argv[1], "check") == 0) {
		o->check = 1;
	} else if (strcmp(argv[1], "write") != 0) {
		lc_err("first argument must be 'write' or 'check', not '%s' (see --help)",
		       argv[1]);
		return -1;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "F:n:o:p:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (lc_parse_format_size(optarg, &o->fmt, &o->width, &o->height, err,
						 sizeof(err))) {
				lc_err("--format: %s", err);
				return -1;
			}
			break;
		case 'n':
			if (lc_opt_u64("--frames", optarg, &o->frames))
				return -1;
			o->frames_set = 1;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "test") == 0) {
				o->pattern = PAT_TEST;
			} else if (strcmp(optarg, "bars") == 0) {
				o->pattern = PAT_BARS;
			} else {
				lc_err("--pattern: '%s' unknown (use test or bars)", optarg);
				return -1;
			}
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_STREAM_ID:
			if (lc_opt_u32("--stream-id", optarg, &o->stream_id))
				return -1;
			o->stream_id_set = 1;
			break;
		case O_SEQ_START:
			if (lc_opt_u64("--seq-start", optarg, &o->seq_start))
				return -1;
			o->seq_start_set = 1;
			break;
		case O_FRAME_BYTES: {
			char *colon = strchr(optarg, ':');

			if (!colon) {
				lc_err("--frame-bytes: expected MIN:MAX, got '%s'", optarg);
				return -1;
			}
			*colon = '\0';
			if (lc_opt_u32("--frame-bytes MIN", optarg, &o->min_bytes) ||
			    lc_opt_u32("--frame-bytes MAX", colon + 1, &o->max_bytes))
				return -1;
			if (o->min_bytes > o->max_bytes || o->min_bytes < LC_HDR_SIZE) {
				lc_err("--frame-bytes: need %u <= MIN <= MAX", LC_HDR_SIZE);
				return -1;
			}
			break;
		}
		case O_ALLOW_GAPS:
			o->allow_gaps = 1;
			break;
		case O_MAX_REPORT:
			if (lc_opt_u32("--max-report", optarg, &o->max_report))
				return -1;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->fmt) {
		lc_err("--format FOURCC:WxH is required");
		return -1;
	}
	if (o->check) {
		if (optind != argc - 1) {
			lc_err("check: give exactly one FILE (see --help)");
			return -1;
		}
		o->in = argv[optind];
	} else {
		if (optind < argc) {
			lc_err("write: unexpected argument '%s' (see --help)", argv[optind]);
			return -1;
		}
		if (!o->out || !o->frames_set || !o->frames) {
			lc_err("write: -o FILE and -n N (N >= 1) are required");
			return -1;
		}
	}
	if (o->pattern == PAT_BARS && lc_format_is_compressed(o->fmt)) {
		lc_err("--pattern bars: %s is compressed; use --pattern test", o->fmt->name);
		return -1;
	}
	if (o->pattern == PAT_BARS && (o->width < LC_BARS_MIN_W || o->height < LC_BARS_MIN_H)) {
		lc_err("--pattern bars needs at least %ux%u", LC_BARS_MIN_W, LC_BARS_MIN_H);
		return -1;
	}
	if (o->pattern == PAT_TEST && !lc_format_is_compressed(o->fmt) &&
	    lc_frame_size(o->fmt, o->width, o->height) < LC_HDR_SIZE) {
		lc_err("a %s %ux%u frame is smaller than the %u-byte test header", o->fmt->name,
		       o->width, o->height, LC_HDR_SIZE);
		return -1;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len, const char *path)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			lc_err("%s: write failed: %s", path, w < 0 ? strerror(errno) : "wrote 0");
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int do_write(const struct opts *o)
{
	int compressed = lc_format_is_compressed(o->fmt);
	size_t fsize = lc_frame_size(o->fmt, o->width, o->height);
	uint32_t lo = o->min_bytes, hi = o->max_bytes;
	uint64_t total = 0;
	uint8_t *buf;
	int fd;

	if (compressed && !hi) {
		hi = o->width * o->height * 2;
		lo = hi / 8;
		if (lo < LC_HDR_SIZE)
			lo = LC_HDR_SIZE;
	}
	buf = malloc(compressed ? hi : fsize);
	if (!buf) {
		lc_err("out of memory");
		return 2;
	}
	fd = strcmp(o->out, "-") == 0 ? 1 : open(o->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		lc_err("cannot create %s: %s", o->out, strerror(errno));
		free(buf);
		return 2;
	}
	for (uint64_t i = 0; i < o->frames; i++) {
		uint64_t seq = o->seq_start + i;
		size_t len = compressed ? lc_pattern_compressed_size(seq, lo, hi) : fsize;

		if (o->pattern == PAT_TEST) {
			struct lc_frame_hdr hdr;

			memset(&hdr, 0, sizeof(hdr));
			hdr.stream = o->stream_id;
			hdr.seq = seq;
			hdr.size = (uint32_t)len;
			hdr.fourcc = o->fmt->fourcc;
			hdr.width = o->width;
			hdr.height = o->height;
			lc_pattern_fill(buf, len, &hdr);
		} else {
			lc_bars_fill(buf, o->fmt, o->width, o->height, (uint32_t)seq);
		}
		if (write_all(fd, buf, len, o->out)) {
			free(buf);
			return 2;
		}
		total += len;
	}
	if (fd != 1 && close(fd)) {
		lc_err("%s: close failed: %s", o->out, strerror(errno));
		free(buf);
		return 2;
	}
	free(buf);
	printf("wrote: %s: %llu %s %ux%u frames (%s pattern, stream %08x, frames %llu..%llu), "
	       "%llu bytes\n", o->out, (unsigned long long)o->frames, o->fmt->name, o->width,
	       o->height, o->pattern == PAT_TEST ? "test" : "bars", o->stream_id,
	       (unsigned long long)o->seq_start,
	       (unsigned long long)(o->seq_start + o->frames - 1), (unsigned long long)total);
	return 0;
}

struct check_state {
	const struct opts *o;
	uint64_t frames, torn, bad_hdr, foreign, bad_size, fmt_mismatch, out_of_order;
	uint64_t gaps, missing, wrong_stream, trailing, bad_first;
	uint64_t problems;
	int have_prev;
	uint32_t prev_stream;
	uint64_t prev_seq, first_seq;
	uint32_t stream;
};

static void problem(struct check_state *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct check_state *s, const char *fmt, ...)
{
	char line[300];
	va_list ap;
	int n;

	if (s->problems < s->o->max_report) {
		n = snprintf(line, sizeof(line), "%s: frame #%llu: ", s->o->in,
			     (unsigned long long)s->frames);
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
		lc_err("%s", line);
	} else if (s->problems == s->o->max_report) {
		lc_err("%s: further problems not shown (see the counters)", s->o->in);
	}
	s->problems++;
}

/* Order of the frame numbers: one stream, each number one more than the
 * last (or larger, with --allow-gaps), the first one --seq-start. */
static void track(struct check_state *s, uint32_t stream, uint64_t seq)
{
	const struct opts *o = s->o;

	if (!s->have_prev) {
		s->first_seq = seq;
		s->stream = stream;
		if (o->seq_start_set && seq != o->seq_start) {
			s->bad_first++;
			problem(s, "first frame is frame %llu, expected %llu (--seq-start)",
				(unsigned long long)seq, (unsigned long long)o->seq_start);
		}
		if (o->stream_id_set && stream != o->stream_id) {
			s->wrong_stream++;
			problem(s, "frame %llu belongs to stream %08x, expected %08x (--stream-id)",
				(unsigned long long)seq, stream, o->stream_id);
		}
	} else if (stream != s->prev_stream) {
		s->wrong_stream++;
		problem(s, "frame %llu belongs to stream %08x, the frames before to %08x",
			(unsigned long long)seq, stream, s->prev_stream);
	} else if (seq <= s->prev_seq) {
		s->out_of_order++;
		problem(s, "out of order: frame %llu after frame %llu%s",
			(unsigned long long)seq, (unsigned long long)s->prev_seq,
			seq == s->prev_seq ? " (a repeated frame)" : "");
	} else if (seq != s->prev_seq + 1) {
		s->gaps++;
		s->missing += seq - s->prev_seq - 1;
		if (!o->allow_gaps)
			problem(s, "frames %llu..%llu missing (frame %llu after frame %llu)",
				(unsigned long long)s->prev_seq + 1, (unsigned long long)seq - 1,
				(unsigned long long)seq, (unsigned long long)s->prev_seq);
	}
	s->have_prev = 1;
	s->prev_stream = stream;
	s->prev_seq = seq;
}

static int read_full(int fd, uint8_t *p, size_t len, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t r = read(fd, p + *got, len - *got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

static int do_check(const struct opts *o)
{
	struct check_state s;
	int compressed = lc_format_is_compressed(o->fmt);
	size_t fsize = lc_frame_size(o->fmt, o->width, o->height);
	size_t cap = compressed ? (size_t)64 << 20 : fsize;
	uint8_t *buf, *ref = NULL;
	struct stat stt;
	uint64_t offset = 0;
	int fd, failed;

	memset(&s, 0, sizeof(s));
	s.o = o;
	fd = open(o->in, O_RDONLY);
	if (fd < 0 || fstat(fd, &stt)) {
		lc_err("cannot open %s: %s", o->in, strerror(errno));
		return 2;
	}
	buf = malloc(cap);
	if (o->pattern == PAT_BARS)
		ref = malloc(fsize);
	if (!buf || (o->pattern == PAT_BARS && !ref)) {
		lc_err("out of memory");
		return 2;
	}
	printf("checking: %s: %lld bytes as %s %ux%u%s%s\n", o->in, (long long)stt.st_size,
	       o->fmt->name, o->width, o->height,
	       compressed ? " (frame sizes from the headers)" : "",
	       o->pattern == PAT_BARS ? " bars" : " test frames");
	if (!compressed)
		printf("checking: frame size %zu bytes: %lld frame(s) and %lld byte(s) over\n",
		       fsize, (long long)(stt.st_size / (off_t)fsize),
		       (long long)(stt.st_size % (off_t)fsize));

	for (;;) {
		size_t len, got;
		struct lc_frame_hdr hdr;
		uint32_t stream = 0;
		uint64_t seq = 0;
		int ok_seq = 0;

		if (compressed) {
			int h;

			if (read_full(fd, buf, LC_HDR_SIZE, &got)) {
				lc_err("%s: read failed: %s", o->in, strerror(errno));
				return 2;
			}
			if (got == 0)
				break;
			h = lc_pattern_read_hdr(buf, got, &hdr);
			if (h) {
				/* without a header the next frame cannot be found */
				s.trailing = (uint64_t)stt.st_size - offset;
				if (got < LC_HDR_SIZE)
					problem(&s, "%zu bytes at the end, less than a header", got);
				else
					problem(&s, "no valid test header at offset %llu (%s): "
						"cannot find the remaining %llu bytes' frames",
						(unsigned long long)offset,
						h == -1 ? "no magic" : "checksum wrong",
						(unsigned long long)s.trailing);
				if (h == -2)
					s.bad_hdr++;
				else
					s.foreign++;
				break;
			}
			len = hdr.size;
			if (len < LC_HDR_SIZE || len > cap) {
				s.bad_hdr++;
				problem(&s, "header at offset %llu gives an impossible size %zu",
					(unsigned long long)offset, len);
				s.trailing = (uint64_t)stt.st_size - offset;
				break;
			}
			if (read_full(fd, buf + LC_HDR_SIZE, len - LC_HDR_SIZE, &got)) {
				lc_err("%s: read failed: %s", o->in, strerror(errno));
				return 2;
			}
			got += LC_HDR_SIZE;
		} else {
			len = fsize;
			if (read_full(fd, buf, len, &got)) {
				lc_err("%s: read failed: %s", o->in, strerror(errno));
				return 2;
			}
			if (got == 0)
				break;
		}
		if (got < len) {
			s.trailing = got;
			s.bad_size++;
			problem(&s, "file ends %zu bytes into a %zu-byte frame (a truncated frame)",
				got, len);
			break;
		}

		if (o->pattern == PAT_TEST) {
			struct lc_check_result r;
			enum lc_check_status st = lc_pattern_check(buf, len, LC_CHECK_FULL, &r);

			switch (st) {
			case LC_FRAME_OK:
				break;
			case LC_FRAME_FOREIGN:
				s.foreign++;
				problem(&s, "at offset %llu: %s", (unsigned long long)offset, r.msg);
				break;
			case LC_FRAME_BAD_HDR:
				s.bad_hdr++;
				problem(&s, "at offset %llu: %s", (unsigned long long)offset, r.msg);
				break;
			case LC_FRAME_BAD_SIZE:
				s.bad_size++;
				problem(&s, "at offset %llu: %s", (unsigned long long)offset, r.msg);
				break;
			case LC_FRAME_TORN:
				s.torn++;
				problem(&s, "at offset %llu: %s", (unsigned long long)offset, r.msg);
				break;
			}
			if (st == LC_FRAME_OK || st == LC_FRAME_TORN || st == LC_FRAME_BAD_SIZE) {
				if (r.hdr.fourcc != o->fmt->fourcc || r.hdr.width != o->width ||
				    r.hdr.height != o->height) {
					char n1[8];

					s.fmt_mismatch++;
					problem(&s, "frame %llu is %s %ux%u, expected %s %ux%u",
						(unsigned long long)r.hdr.seq,
						lc_format_name(r.hdr.fourcc, n1), r.hdr.width,
						r.hdr.height, o->fmt->name, o->width, o->height);
				}
				stream = r.hdr.stream;
				seq = r.hdr.seq;
				ok_seq = 1;
			}
		} else {
			uint32_t n;

			if (lc_bars_decode(buf, o->fmt, o->width, o->height, &n)) {
				s.torn++;
				problem(&s, "at offset %llu: frame number strips unreadable",
					(unsigned long long)offset);
			} else {
				lc_bars_fill(ref, o->fmt, o->width, o->height, n);
				if (memcmp(ref, buf, fsize)) {
					size_t i = 0;

					while (ref[i] == buf[i])
						i++;
					s.torn++;
					problem(&s, "bars frame %u differs from its expected image "
						"from byte %zu (0x%02x, expected 0x%02x)", n, i,
						buf[i], ref[i]);
				}
				seq = n;
				ok_seq = 1;
			}
		}
		if (ok_seq)
			track(&s, stream, seq);
		if (o->verbose)
			printf("frame #%llu offset=%llu bytes=%zu seq=%lld\n",
			       (unsigned long long)s.frames, (unsigned long long)offset, len,
			       ok_seq ? (long long)seq : -1LL);
		s.frames++;
		offset += len;
	}
	close(fd);
	free(buf);
	free(ref);

	failed = s.torn || s.bad_hdr || s.foreign || s.bad_size || s.fmt_mismatch ||
		 s.out_of_order || s.wrong_stream || s.trailing || s.bad_first ||
		 (s.gaps && !o->allow_gaps) || !s.frames;
	if (!s.frames)
		lc_err("%s: no frame in the file", o->in);
	if (o->frames_set && s.frames != o->frames) {
		lc_err("%s: %llu frame(s), expected %llu", o->in, (unsigned long long)s.frames,
		       (unsigned long long)o->frames);
		failed = 1;
	}
	if (!failed) {
		printf("checked: %llu frame(s) of %s %ux%u, every byte as sent%s\n",
		       (unsigned long long)s.frames, o->fmt->name, o->width, o->height,
		       compressed ? ", each of the size in its header" :
				    ", exact frame size, no bytes over");
		printf("checked: frames %llu..%llu in order%s\n",
		       (unsigned long long)s.first_seq, (unsigned long long)s.prev_seq,
		       o->allow_gaps ? "" : ", none missing, none repeated");
	}
	printf("result=%s frames=%llu torn=%llu bad_hdr=%llu foreign=%llu bad_size=%llu "
	       "fmt_mismatch=%llu out_of_order=%llu wrong_stream=%llu gaps=%llu missing=%llu "
	       "trailing_bytes=%llu first_seq=%lld last_seq=%lld stream=%08x format=%s "
	       "size=%ux%u\n",
	       failed ? "fail" : "pass", (unsigned long long)s.frames,
	       (unsigned long long)s.torn, (unsigned long long)s.bad_hdr,
	       (unsigned long long)s.foreign, (unsigned long long)s.bad_size,
	       (unsigned long long)s.fmt_mismatch, (unsigned long long)s.out_of_order,
	       (unsigned long long)s.wrong_stream, (unsigned long long)s.gaps,
	       (unsigned long long)s.missing, (unsigned long long)s.trailing,
	       s.have_prev ? (long long)s.first_seq : -1LL,
	       s.have_prev ? (long long)s.prev_seq : -1LL, s.stream, o->fmt->name, o->width,
	       o->height);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;

	lc_prog = "lc-framefile";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &o))
		return 2;
	return o.check ? do_check(&o) : do_write(&o);
}
