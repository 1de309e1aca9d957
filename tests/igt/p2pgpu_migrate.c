// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu migration: data survives GEM_MIGRATE between VRAM and system
 * memory and back, and TTM's eviction when VRAM is oversubscribed four
 * times; VRAM_PREFERRED falls back to system memory instead of evicting.
 *
 * Every check compares each byte with a position-keyed pattern
 * (p2pbuf_pattern.h), seeded per buffer and per write: swapped or
 * misplaced pages, another buffer's data or a stale copy all fail.
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
#include "p2pbuf_pattern.h"
#include "p2pgpu_igt.h"

static int gpu = -1;
static size_t pg;
static struct drm_p2pgpu_device_query dq;

/* the whole buffer gets pattern @seed, through a fresh GEM mmap */
static void fill(uint32_t handle, size_t size, uint64_t seed)
{
	void *p = p2pgpu_mmap(gpu, handle, size);

	p2p_pat_fill(p, size, seed, 0);
	munmap(p, size);
}

/* every byte of the buffer is pattern @seed's, read through a fresh mmap */
static void verify(uint32_t handle, size_t size, uint64_t seed,
		   const char *when)
{
	void *p = p2pgpu_mmap(gpu, handle, size);

	p2p_pat_assert(p, size, seed, 0, "handle %u, %s", handle, when);
	munmap(p, size);
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

	igt_describe("VRAM -> system -> VRAM keeps every byte in place; a mapping follows");
	igt_subtest("roundtrip") {
		size_t size = 4 << 20;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_gem_query q;
		uint8_t *p;

		fill(h, size, 0x1234);
		p = p2pgpu_mmap(gpu, h, size);
		igt_assert_eq_u32(resident(h), P2PGPU_RESIDENT_VRAM);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u32(q.move_count, 1);
		verify(h, size, 0x1234, "VRAM -> system");
		p2p_pat_assert(p, size, 0x1234, 0,
			       "VRAM -> system, the mapping made in VRAM");

		/* already there: nothing moves */
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.move_count, 1);

		/* written in system memory, read back from VRAM */
		p2p_pat_fill(p, size, 0x4321, 0);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_VRAM);
		igt_assert_eq_u32(q.move_count, 2);
		verify(h, size, 0x4321, "system -> VRAM");
		p2p_pat_assert(p, size, 0x4321, 0,
			       "system -> VRAM, the mapping made in system memory");
		munmap(p, size);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("a VRAM_PREFERRED buffer migrates both ways too");
	igt_subtest("roundtrip-preferred") {
		size_t size = 1 << 20;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM_PREFERRED);

		fill(h, size, 77);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);
		igt_assert_eq_u32(resident(h), P2PGPU_RESIDENT_SYSTEM);
		verify(h, size, 77, "VRAM -> system");
		fill(h, size, 78);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
		igt_assert_eq_u32(resident(h), P2PGPU_RESIDENT_VRAM);
		verify(h, size, 78, "system -> VRAM");
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("VRAM oversubscribed 4x: TTM evicts, every byte survives in place");
	igt_subtest("oversubscribe") {
		size_t size = 8 << 20;
		unsigned int n = 4 * dq.vram_size / size, in_vram = 0, moved = 0;
		uint32_t *h = calloc(n, sizeof(*h));
		uint64_t *seed = calloc(n, sizeof(*seed));
		struct drm_p2pgpu_device_query d = {};
		char when[64];

		igt_assert(h && seed);
		for (unsigned int i = 0; i < n; i++) {
			h[i] = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
			/* a new VRAM buffer is in VRAM: older ones made room */
			igt_assert_eq_u32(resident(h[i]), P2PGPU_RESIDENT_VRAM);
			seed[i] = 0x0500 + i;
			fill(h[i], size, seed[i]);
		}
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_lte_u64(d.vram_used, d.vram_size);

		for (unsigned int i = 0; i < n; i++) {
			struct drm_p2pgpu_gem_query q;

			p2pgpu_query(gpu, h[i], &q, NULL, 0);
			in_vram += q.placement == P2PGPU_RESIDENT_VRAM;
			moved += q.move_count > 0;
			snprintf(when, sizeof(when), "buffer %u after eviction", i);
			verify(h[i], size, seed[i], when);
		}
		igt_info("%u buffers, %u in VRAM, %u evicted\n", n, in_vram, moved);
		igt_assert_lte_u64(in_vram, d.vram_size / size);
		igt_assert(moved >= n - d.vram_size / size);

		/* bring each back in turn, rewritten in VRAM: evicting the others again */
		for (unsigned int i = 0; i < n; i += 3) {
			igt_assert_eq(__p2pgpu_migrate(gpu, h[i], P2PGPU_PLACEMENT_VRAM), 0);
			igt_assert_eq_u32(resident(h[i]), P2PGPU_RESIDENT_VRAM);
			snprintf(when, sizeof(when), "buffer %u back in VRAM", i);
			verify(h[i], size, seed[i], when);
			seed[i] += 0x1000;
			fill(h[i], size, seed[i]);
		}
		for (unsigned int i = 0; i < n; i++) {
			snprintf(when, sizeof(when), "buffer %u at the end", i);
			verify(h[i], size, seed[i], when);
			p2pgpu_gem_close(gpu, h[i]);
		}
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_used, 0);
		free(h);
		free(seed);
	}

	igt_describe("VRAM_PREFERRED takes system memory rather than evicting");
	igt_subtest("preferred-fallback") {
		size_t size = 8 << 20;
		unsigned int n = dq.vram_size / size;
		uint32_t *h = calloc(n, sizeof(*h)), p;

		igt_assert(h);
		for (unsigned int i = 0; i < n; i++)
			h[i] = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		p = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM_PREFERRED);
		igt_assert_eq_u32(resident(p), P2PGPU_RESIDENT_SYSTEM);
		for (unsigned int i = 0; i < n; i++)
			igt_assert_eq_u32(resident(h[i]), P2PGPU_RESIDENT_VRAM);
		fill(p, size, 5);
		/* asked explicitly, it does evict */
		igt_assert_eq(__p2pgpu_migrate(gpu, p, P2PGPU_PLACEMENT_VRAM), 0);
		igt_assert_eq_u32(resident(p), P2PGPU_RESIDENT_VRAM);
		verify(p, size, 5, "system -> VRAM, evicting");
		p2pgpu_gem_close(gpu, p);
		for (unsigned int i = 0; i < n; i++)
			p2pgpu_gem_close(gpu, h[i]);
		free(h);
	}

	igt_describe("a system-only buffer is never evicted into or placed in VRAM");
	igt_subtest("system-stays") {
		size_t size = 2 << 20;
		uint32_t s = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_SYSTEM), v;

		fill(s, size, 99);
		v = p2pgpu_create(gpu, dq.vram_size, P2PGPU_PLACEMENT_VRAM);
		igt_assert_eq_u32(resident(s), P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u32(resident(v), P2PGPU_RESIDENT_VRAM);
		verify(s, size, 99, "next to a VRAM-sized buffer");
		p2pgpu_gem_close(gpu, v);
		p2pgpu_gem_close(gpu, s);
	}

	igt_fixture {
		close(gpu);
	}
}
