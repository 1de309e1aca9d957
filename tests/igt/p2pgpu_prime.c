// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu PRIME: whole-buffer export and self-import, a static importer
 * (vgem) that is staged in system memory with the reason recorded, sub-range
 * exports, CPU access through the dma-buf (mmap, DMA_BUF_IOCTL_SYNC) that
 * stays coherent across migrations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pbuf_pattern.h"
#include "p2pgpu_igt.h"

static int gpu = -1;
static size_t pg;
static struct drm_p2pgpu_device_query dq;

static uint8_t *map_dmabuf(int dmabuf, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);

	igt_assert(p != MAP_FAILED);
	return p;
}

static int __export_range(uint32_t handle, uint64_t offset, uint64_t length,
			  int *fd)
{
	struct drm_p2pgpu_gem_export_range r = {
		.handle = handle, .flags = DRM_CLOEXEC | DRM_RDWR,
		.offset = offset, .length = length, .fd = -1,
	};
	int ret = drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r);

	if (!ret)
		*fd = r.fd;
	return ret;
}

/*
 * Buffers hold a position-keyed pattern (p2pbuf_pattern.h): byte i of the
 * whole buffer is pattern byte i, so a view of a sub-range that starts at
 * byte R is checked against positions R onwards, and a view showing the
 * wrong offset, permuted pages or another buffer fails.
 */
static void fill(uint8_t *p, size_t size, uint8_t seed)
{
	p2p_pat_fill(p, size, seed, 0);
}

/* @p shows buffer bytes [first, first + size) of pattern @seed */
static void check(const uint8_t *p, size_t size, uint8_t seed, size_t first)
{
	p2p_pat_assert(p, size, seed, first, "buffer bytes %#zx-%#zx",
		       first, first + size);
}

/*
 * Whether vgem maps a dma-buf when it imports it (and so pins a buffer of a
 * dynamic exporter). Since 6.15 drivers on the shmem helpers import without
 * mapping (drm_gem_shmem_prime_import_no_map): the harness says which
 * kernel it booted (tests/vm/manifest: P2PBUF_VGEM_MAPS_AT_IMPORT=0).
 */
static bool vgem_maps_at_import(void)
{
	const char *v = getenv("P2PBUF_VGEM_MAPS_AT_IMPORT");

	return !v || strcmp(v, "0");
}

static void sync_dmabuf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	igt_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s), 0);
}

igt_main
{
	igt_fixture {
		pg = getpagesize();
		gpu = __drm_open_driver(DRIVER_ANY);
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		igt_require_f(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY,
				       &dq) == 0,
			      "the DRM device is not p2pgpu\n");
	}

	igt_describe("PRIME export, and import into the same device gives the same handle");
	igt_subtest("self-import") {
		uint32_t h = p2pgpu_create(gpu, 16 * pg, P2PGPU_PLACEMENT_VRAM), h2 = 0;
		struct drm_p2pgpu_gem_query q;
		struct stat a, b;
		int fd = p2pgpu_export(gpu, h), fd2 = p2pgpu_export(gpu, h);

		igt_assert_eq(fstat(fd, &a), 0);
		igt_assert_eq(fstat(fd2, &b), 0);
		igt_assert_eq_u64(a.st_ino, b.st_ino);
		igt_assert_eq_u64(lseek(fd, 0, SEEK_END), 16 * pg);
		igt_assert_eq(drmPrimeFDToHandle(gpu, fd, &h2), 0);
		igt_assert_eq_u32(h2, h);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.flags, P2PGPU_BO_EXPORTED);
		igt_assert_eq_u32(q.num_attachments, 0);

		/* another file of the same device imports the same object */
		{
			int other = __drm_open_driver(DRIVER_ANY);
			uint32_t h3 = 0;

			igt_assert(other >= 0);
			igt_assert_eq(drmPrimeFDToHandle(other, fd, &h3), 0);
			igt_assert(h3);
			p2pgpu_query(gpu, h, &q, NULL, 0);
			igt_assert_eq_u32(q.num_attachments, 0);
			close(other);
		}
		close(fd);
		close(fd2);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("the dma-buf's mmap and the GEM mmap show the same bytes");
	igt_subtest("dmabuf-mmap") {
		size_t size = 64 * pg;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		uint8_t *g = (uint8_t *)p2pgpu_mmap(gpu, h, size), *d;
		int fd = p2pgpu_export(gpu, h);

		fill(g, size, 3);
		d = map_dmabuf(fd, size);
		sync_dmabuf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		check(d, size, 3, 0);
		sync_dmabuf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		sync_dmabuf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		fill(d, size, 9);
		sync_dmabuf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		check(g, size, 9, 0);

		/* both mappings follow the buffer to system memory and back */
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		check(d, size, 9, 0);
		fill(g, size, 11);
		check(d, size, 11, 0);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
		check(d, size, 11, 0);
		fill(d, size, 13);
		check(g, size, 13, 0);

		/* past the end, and private mappings, are refused */
		igt_assert(mmap(NULL, size + pg, PROT_READ, MAP_SHARED, fd, 0) ==
			   MAP_FAILED);
		igt_assert(mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				fd, 0) == MAP_FAILED);

		munmap(d, size);
		munmap(g, size);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("DMA_BUF_IOCTL_SYNC accepts valid flags and rejects others");
	igt_subtest("dmabuf-sync") {
		uint32_t h = p2pgpu_create(gpu, pg, P2PGPU_PLACEMENT_SYSTEM);
		int fd = p2pgpu_export(gpu, h);
		struct dma_buf_sync s = { .flags = ~0ull };

		sync_dmabuf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		sync_dmabuf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
		p2p_assert_errno(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s), EINVAL);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("vgem, a static importer, is staged in system memory: IMPORTER_NO_P2P");
	igt_subtest("vgem-import") {
		size_t size = 32 * pg;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM), vh = 0;
		struct drm_p2pgpu_attachment_info info[2];
		struct drm_p2pgpu_gem_query q;
		uint8_t *g = (uint8_t *)p2pgpu_mmap(gpu, h, size);
		int vgem, fd;

		fill(g, size, 21);
		vgem = drm_open_driver(DRIVER_VGEM);
		fd = p2pgpu_export(gpu, h);
		igt_assert_eq(drmPrimeFDToHandle(vgem, fd, &vh), 0);

		memset(info, 0xff, sizeof(info));
		igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, info, 2), 1);
		if (!vgem_maps_at_import()) {
			/* decided at attach; nothing pinned or moved until a map */
			igt_assert_eq_u32(q.flags, P2PGPU_BO_EXPORTED);
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_VRAM);
			igt_assert_eq_u32(q.move_count, 0);
			igt_assert(!strcmp(info[0].importer, "vgem"));
			igt_assert_eq_u32(info[0].decision, P2PGPU_MAPPING_STAGED);
			igt_assert_eq_u32(info[0].reason, P2PGPU_REASON_IMPORTER_NO_P2P);
			igt_assert_eq_u32(info[0].map_count, 0);
			/* not pinned: the buffer still moves both ways */
			igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
			igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
			check(g, size, 21, 0);
			close(fd);
			p2pgpu_gem_close(vgem, vh);
			igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, NULL, 0), 0);
		} else {
			igt_assert_eq_u32(q.flags, P2PGPU_BO_EXPORTED | P2PGPU_BO_PINNED);
			/* a static importer pins; it cannot reach VRAM: system memory */
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
			igt_assert_eq_u32(q.move_count, 1);
			igt_info("importer %s driver '%s' distance %d\n", info[0].importer,
				 info[0].importer_driver, info[0].distance);
			igt_assert(!strcmp(info[0].importer, "vgem"));
			igt_assert_eq_u32(info[0].decision, P2PGPU_MAPPING_STAGED);
			igt_assert_eq_u32(info[0].reason, P2PGPU_REASON_IMPORTER_NO_P2P);
			igt_assert_eq_u32(info[0].mapping, P2PGPU_MAPPING_STAGED);
			igt_assert_eq_u32(info[0].flags, 0);
			igt_assert_eq_u32(info[0].map_count, 1);
			igt_assert_eq(info[0].distance, -1);
			/* untouched past the capacity */
			igt_assert_eq_u32(info[1].decision, ~0u);

			/* only the count is asked for */
			igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, NULL, 0), 1);
			/* a bad array is reported */
			q = (struct drm_p2pgpu_gem_query){ .handle = h,
				.num_attachments = 1, .attachments = 8 };
			p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q),
					 EFAULT);

			/* pinned by the importer: it stays */
			p2p_assert_errno(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), EBUSY);
			igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
			check(g, size, 21, 0);

			/* the importer lets go: unpinned, still exported by the handle */
			close(fd);
			p2pgpu_gem_close(vgem, vh);
			igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, NULL, 0), 0);
			igt_assert_eq_u32(q.flags, P2PGPU_BO_EXPORTED);
			igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
			p2pgpu_query(gpu, h, &q, NULL, 0);
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_VRAM);
			igt_assert_eq_u32(q.move_count, 2);
			check(g, size, 21, 0);
		}
		close(vgem);
		munmap(g, size);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("sub-range export: bounds, contents at the range's offset both ways, size, attachments on the buffer");
	igt_subtest("export-range") {
		size_t size = 16 * pg, off = 4 * pg, len = 8 * pg;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM_PREFERRED), vh;
		struct drm_p2pgpu_attachment_info info[1];
		struct drm_p2pgpu_gem_query q;
		uint8_t *g = (uint8_t *)p2pgpu_mmap(gpu, h, size), *r, *r3;
		int fd = -1, fd2 = -1, fd3 = -1, vgem;

		fill(g, size, 33);
		igt_assert_eq(__export_range(h, off, len, &fd), 0);
		igt_assert_eq_u64(lseek(fd, 0, SEEK_END), len);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.flags, P2PGPU_BO_EXPORTED);

		r = map_dmabuf(fd, len);
		check(r, len, 33, off);
		igt_assert(mmap(NULL, len + pg, PROT_READ, MAP_SHARED, fd, 0) ==
			   MAP_FAILED);
		/* an offset into the range */
		{
			uint8_t *r2 = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd,
					   2 * pg);

			igt_assert(r2 != MAP_FAILED);
			check(r2, pg, 33, off + 2 * pg);
			munmap(r2, pg);
		}

		/* a second, overlapping range at another offset */
		igt_assert_eq(__export_range(h, off + 3 * pg, 5 * pg, &fd3), 0);
		r3 = map_dmabuf(fd3, 5 * pg);
		check(r3, 5 * pg, 33, off + 3 * pg);

		/* written through the range: lands at the range's offset, only there */
		p2p_pat_fill(r, len, 34, off);
		check(g, off, 33, 0);
		check(g + off, len, 34, off);
		check(g + off + len, size - off - len, 33, off + len);
		check(r3, 5 * pg, 34, off + 3 * pg);

		/* the range follows the buffer */
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		fill(g, size, 35);
		check(r, len, 35, off);
		check(r3, 5 * pg, 35, off + 3 * pg);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
		check(r, len, 35, off);
		check(r3, 5 * pg, 35, off + 3 * pg);
		munmap(r3, 5 * pg);
		close(fd3);

		/* the whole buffer as a range, and the last page */
		igt_assert_eq(__export_range(h, 0, size, &fd2), 0);
		r3 = map_dmabuf(fd2, size);
		check(r3, size, 35, 0);
		munmap(r3, size);
		close(fd2);
		igt_assert_eq(__export_range(h, size - pg, pg, &fd2), 0);
		r3 = map_dmabuf(fd2, pg);
		check(r3, pg, 35, size - pg);
		munmap(r3, pg);
		close(fd2);

		/* an importer of the range is an attachment of the buffer */
		vgem = drm_open_driver(DRIVER_VGEM);
		igt_assert_eq(drmPrimeFDToHandle(vgem, fd, &vh), 0);
		igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, info, 1), 1);
		igt_assert_eq_u32(info[0].decision, P2PGPU_MAPPING_STAGED);
		igt_assert_eq_u32(info[0].reason, P2PGPU_REASON_IMPORTER_NO_P2P);
		igt_assert_eq(!!(q.flags & P2PGPU_BO_PINNED), vgem_maps_at_import());
		check(r, len, 35, off);
		p2pgpu_gem_close(vgem, vh);
		close(vgem);

		/* the dma-buf outlives the handle and the mapping outlives both */
		munmap(g, size);
		p2pgpu_gem_close(gpu, h);
		check(r, len, 35, off);
		close(fd);
		check(r, len, 35, off);
		munmap(r, len);
	}

	igt_fixture {
		close(gpu);
	}
}
