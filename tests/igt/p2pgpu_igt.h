/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The p2pgpu ioctls as the IGT tests call them: the double-underscore
 * forms return the ioctl's result (-1 and errno, as libdrm does), the others
 * assert success. p2pbuf_common.h builds its asserting helpers on these.
 */
#ifndef P2PGPU_IGT_H
#define P2PGPU_IGT_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pgpu_drm.h"

static inline int __p2pgpu_create(int gpu, uint64_t size, uint32_t placement,
				  uint32_t *handle)
{
	struct drm_p2pgpu_gem_create c = { .size = size, .placement = placement };
	int ret = drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &c);

	if (!ret && handle)
		*handle = c.handle;
	return ret;
}

static inline uint32_t p2pgpu_create(int gpu, uint64_t size, uint32_t placement)
{
	uint32_t h = 0;

	igt_assert_eq(__p2pgpu_create(gpu, size, placement, &h), 0);
	igt_assert(h);
	return h;
}

/* GEM_CLOSE on any DRM fd (p2pgpu or vgem) */
static inline void p2pgpu_gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	igt_assert_eq(drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &c), 0);
}

static inline void *p2pgpu_mmap(int gpu, uint32_t handle, size_t size)
{
	struct drm_p2pgpu_gem_mmap_offset mo = { .handle = handle };
	void *p;

	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo), 0);
	igt_assert(mo.offset && !(mo.offset % getpagesize()));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, gpu, mo.offset);
	igt_assert(p != MAP_FAILED);
	return p;
}

/* returns how many attachments the buffer has; fills up to @cap of them */
static inline uint32_t p2pgpu_query(int gpu, uint32_t handle,
				    struct drm_p2pgpu_gem_query *q,
				    struct drm_p2pgpu_attachment_info *infos,
				    uint32_t cap)
{
	memset(q, 0, sizeof(*q));
	q->handle = handle;
	q->num_attachments = cap;
	q->attachments = (uintptr_t)infos;
	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, q), 0);
	return q->num_attachments;
}

static inline int __p2pgpu_migrate(int gpu, uint32_t handle, uint32_t placement)
{
	struct drm_p2pgpu_gem_migrate m = { .handle = handle,
					    .placement = placement };

	return drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &m);
}

/* PRIME export, the way libdrm users do it */
static inline int p2pgpu_export(int gpu, uint32_t handle)
{
	int fd = -1;

	igt_assert_eq(drmPrimeHandleToFD(gpu, handle, DRM_CLOEXEC | DRM_RDWR,
					 &fd), 0);
	igt_assert(fd >= 0);
	return fd;
}

#endif /* P2PGPU_IGT_H */
