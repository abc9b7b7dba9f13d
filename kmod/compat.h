/* SPDX-License-Identifier: GPL-2.0+ */
/*
 * loopcam: the one place that knows kernel API differences.
 *
 * Kbuild detects each difference from the kernel's own headers
 * (LOOPCAM_HAVE_* below), not from its version number, because
 * distributions backport API changes. Supported: 6.1 (Debian 12) to 7.x.
 */
#ifndef LOOPCAM_COMPAT_H
#define LOOPCAM_COMPAT_H

#include <media/v4l2-fh.h>
#include <media/videobuf2-v4l2.h>

/*
 * Before 6.13 vb2 only drops queue->lock around a blocking DQBUF through
 * these callbacks; 7.0 removed them and always uses queue->lock.
 */
#ifdef LOOPCAM_HAVE_VB2_WAIT_OPS
#define LOOPCAM_VB2_WAIT_OPS                                                  \
	.wait_prepare = vb2_ops_wait_prepare,                                 \
	.wait_finish = vb2_ops_wait_finish,
#else
#define LOOPCAM_VB2_WAIT_OPS
#endif

/* 6.18 passes the file to v4l2_fh_add/del, which set private_data. */
static inline void loopcam_fh_add(struct v4l2_fh *fh, struct file *file)
{
#ifndef LOOPCAM_HAVE_FH_ADD_FILE
	file->private_data = fh;
	v4l2_fh_add(fh);
#else
	v4l2_fh_add(fh, file);
#endif
}

static inline void loopcam_fh_del(struct v4l2_fh *fh, struct file *file)
{
#ifndef LOOPCAM_HAVE_FH_ADD_FILE
	v4l2_fh_del(fh);
#else
	v4l2_fh_del(fh, file);
#endif
}

#endif /* LOOPCAM_COMPAT_H */
