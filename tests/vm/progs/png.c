// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loopcam test programs: minimal PNG writer (8-bit RGB, no interlace,
 * filter 0 on every row), using zlib for the deflate stream and CRCs.
 */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int put_chunk(FILE *fp, const char type[4], const uint8_t *data, uint32_t len)
{
	uint8_t b[4];
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)type, 4);
	if (len)
		crc = crc32(crc, data, len);
	be32(b, len);
	if (fwrite(b, 1, 4, fp) != 4 || fwrite(type, 1, 4, fp) != 4)
		return -1;
	if (len && fwrite(data, 1, len, fp) != len)
		return -1;
	be32(b, (uint32_t)crc);
	return fwrite(b, 1, 4, fp) == 4 ? 0 : -1;
}

int lc_png_write(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h,
		 char *err, size_t errlen)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	size_t stride = (size_t)w * 3, raw_len = (stride + 1) * h;
	uint8_t ihdr[13];
	uint8_t *raw = NULL, *z = NULL;
	uLongf zlen;
	FILE *fp = NULL;
	int zrc, saved;

	if (!w || !h || raw_len > 0x7fffffffu) {
		snprintf(err, errlen, "%s: cannot write a %ux%u PNG", path, w, h);
		errno = EINVAL;
		return -1;
	}
	raw = malloc(raw_len);
	zlen = compressBound((uLong)raw_len);
	z = malloc(zlen);
	if (!raw || !z) {
		snprintf(err, errlen, "%s: out of memory for a %ux%u PNG", path, w, h);
		goto fail_errno;
	}
	for (uint32_t y = 0; y < h; y++) {
		raw[y * (stride + 1)] = 0; /* filter: none */
		memcpy(raw + y * (stride + 1) + 1, rgb + y * stride, stride);
	}
	zrc = compress2(z, &zlen, raw, (uLong)raw_len, 6);
	if (zrc != Z_OK) {
		snprintf(err, errlen, "%s: zlib compress2 failed (%d)", path, zrc);
		errno = EIO;
		goto fail;
	}
	fp = fopen(path, "wb");
	if (!fp) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto fail_errno;
	}
	be32(ihdr, w);
	be32(ihdr + 4, h);
	ihdr[8] = 8; /* bit depth */
	ihdr[9] = 2; /* colour type: RGB */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering */
	ihdr[12] = 0; /* no interlace */
	if (fwrite(sig, 1, 8, fp) != 8 || put_chunk(fp, "IHDR", ihdr, 13) ||
	    put_chunk(fp, "IDAT", z, (uint32_t)zlen) || put_chunk(fp, "IEND", NULL, 0)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		goto fail_errno;
	}
	if (fclose(fp)) {
		fp = NULL;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		goto fail_errno;
	}
	free(raw);
	free(z);
	return 0;

fail_errno:
	saved = errno ? errno : EIO;
	if (fp)
		fclose(fp);
	free(raw);
	free(z);
	errno = saved;
	return -1;
fail:
	saved = errno;
	if (fp)
		fclose(fp);
	free(raw);
	free(z);
	errno = saved;
	return -1;
}
