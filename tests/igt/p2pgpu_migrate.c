// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu migration: data survives GEM_MIGRATE between VRAM and system
 * memory and back, and TTM's eviction when VRAM is oversubscribed four
 * times; VRAM_PREFERRED falls back to system memory instead of evicting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pgpu_igt.h"

static int gpu = -1;
static size_t pg;
static struct drm_p2pgpu_device_query dq;

static uint64_t fill(uint32_t handle, size_t size, uint32_t seed)
{
	uint32_t *p = p2pgpu_mmap(gpu, handle, size);
	uint64_t sum = 0;

	for (size_t i = 0; i < size / 4; i++) {
		p[i] = seed ^ (uint32_t)(i * 2654435761u);
		sum += p[i];
	}
	munmap(p, size);
	return sum;
}

static uint64_t checksum(uint32_t handle, size_t size)
{
	uint32_t *p = p2pgpu_mmap(gpu, handle, size);
	uint64_t sum = 0;

	for (size_t i = 0; i < size / 4; i++)
		sum += p[i];
	munmap(p, size);
	return sum;
}

static uint32_t resident(uint32_t handle)
{
	struct drm_p2pgpu_gem_query q;

	p2pgpu_query(gpu, handle, &q, NULL, 0);
	return q.placement;
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

	igt_describe("VRAM -> system -> VRAM keeps the data; a mapping follows");
	igt_subtest("roundtrip") {
		size_t size = 4 << 20;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		uint64_t sum = fill(h, size, 0x1234);
		struct drm_p2pgpu_gem_query q;
		uint32_t *p = p2pgpu_mmap(gpu, h, size);

		igt_assert_eq_u32(resident(h), P2PGPU_RESIDENT_VRAM);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u32(q.move_count, 1);
		igt_assert_eq_u64(checksum(h, size), sum);
		igt_assert_eq_u32(p[12345], 0x1234 ^ (uint32_t)(12345 * 2654435761u));

		/* already there: nothing moves */
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.move_count, 1);

		/* written in system memory, read back from VRAM */
		p[7] = 0xdeadbeef;
		sum += 0xdeadbeef - (0x1234 ^ (uint32_t)(7 * 2654435761u));
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_VRAM);
		igt_assert_eq_u32(q.move_count, 2);
		igt_assert_eq_u64(checksum(h, size), sum);
		igt_assert_eq_u32(p[7], 0xdeadbeef);
		munmap(p, size);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("a VRAM_PREFERRED buffer migrates both ways too");
	igt_subtest("roundtrip-preferred") {
		size_t size = 1 << 20;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM_PREFERRED);
		uint64_t sum = fill(h, size, 77);

		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		igt_assert_eq_u32(resident(h), P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u64(checksum(h, size), sum);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
		igt_assert_eq_u32(resident(h), P2PGPU_RESIDENT_VRAM);
		igt_assert_eq_u64(checksum(h, size), sum);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("VRAM oversubscribed 4x: TTM evicts, every byte survives");
	igt_subtest("oversubscribe") {
		size_t size = 8 << 20;
		unsigned int n = 4 * dq.vram_size / size, in_vram = 0, moved = 0;
		uint32_t *h = calloc(n, sizeof(*h));
		uint64_t *sum = calloc(n, sizeof(*sum));
		struct drm_p2pgpu_device_query d = {};

		igt_assert(h && sum);
		for (unsigned int i = 0; i < n; i++) {
			h[i] = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
			/* a new VRAM buffer is in VRAM: older ones made room */
			igt_assert_eq_u32(resident(h[i]), P2PGPU_RESIDENT_VRAM);
			sum[i] = fill(h[i], size, i * 0x01010101u);
		}
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_lte_u64(d.vram_used, d.vram_size);

		for (unsigned int i = 0; i < n; i++) {
			struct drm_p2pgpu_gem_query q;

			p2pgpu_query(gpu, h[i], &q, NULL, 0);
			in_vram += q.placement == P2PGPU_RESIDENT_VRAM;
			moved += q.move_count > 0;
			igt_assert_eq_u64(checksum(h[i], size), sum[i]);
		}
		igt_info("%u buffers, %u in VRAM, %u evicted\n", n, in_vram, moved);
		igt_assert_lte_u64(in_vram, d.vram_size / size);
		igt_assert(moved >= n - d.vram_size / size);

		/* bring each back in turn: evicting the others again */
		for (unsigned int i = 0; i < n; i += 3) {
			igt_assert_eq(__p2pgpu_migrate(gpu, h[i], P2PGPU_PLACEMENT_VRAM), 0);
			igt_assert_eq_u32(resident(h[i]), P2PGPU_RESIDENT_VRAM);
			igt_assert_eq_u64(checksum(h[i], size), sum[i]);
		}
		for (unsigned int i = 0; i < n; i++) {
			igt_assert_eq_u64(checksum(h[i], size), sum[i]);
			p2pgpu_gem_close(gpu, h[i]);
		}
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_used, 0);
		free(h);
		free(sum);
	}

	igt_describe("VRAM_PREFERRED takes system memory rather than evicting");
	igt_subtest("preferred-fallback") {
		size_t size = 8 << 20;
		unsigned int n = dq.vram_size / size;
		uint32_t *h = calloc(n, sizeof(*h)), p;
		uint64_t sum;

		igt_assert(h);
		for (unsigned int i = 0; i < n; i++)
			h[i] = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		p = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM_PREFERRED);
		igt_assert_eq_u32(resident(p), P2PGPU_RESIDENT_SYSTEM);
		for (unsigned int i = 0; i < n; i++)
			igt_assert_eq_u32(resident(h[i]), P2PGPU_RESIDENT_VRAM);
		sum = fill(p, size, 5);
		/* asked explicitly, it does evict */
		igt_assert_eq(__p2pgpu_migrate(gpu, p, P2PGPU_PLACEMENT_VRAM), 0);
		igt_assert_eq_u32(resident(p), P2PGPU_RESIDENT_VRAM);
		igt_assert_eq_u64(checksum(p, size), sum);
		p2pgpu_gem_close(gpu, p);
		for (unsigned int i = 0; i < n; i++)
			p2pgpu_gem_close(gpu, h[i]);
		free(h);
	}

	igt_describe("a system-only buffer is never evicted into or placed in VRAM");
	igt_subtest("system-stays") {
		size_t size = 2 << 20;
		uint32_t s = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_SYSTEM);
		uint64_t sum = fill(s, size, 99);
		uint32_t v = p2pgpu_create(gpu, dq.vram_size, P2PGPU_PLACEMENT_VRAM);

		igt_assert_eq_u32(resident(s), P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u32(resident(v), P2PGPU_RESIDENT_VRAM);
		igt_assert_eq_u64(checksum(s, size), sum);
		p2pgpu_gem_close(gpu, v);
		p2pgpu_gem_close(gpu, s);
	}

	igt_fixture {
		close(gpu);
	}
}
