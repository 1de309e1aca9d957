// SPDX-License-Identifier: GPL-2.0
/*
 * CPU mappings of p2pgpu buffers across moves: a move must zap the moved
 * buffer's mappings, whichever file they were made through (the DRM device,
 * a PRIME dma-buf, a range dma-buf), so that they fault in the new
 * location, and no other buffer's. Whether a mapping was zapped is read
 * from the kernel's own page-fault count for this process (getrusage's
 * ru_minflt), not from the driver.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2pbuf_common.h"

#define SMALL	(64 * 1024)
#define LARGE	(1024 * 1024)
#define RANGE_OFF	(64 * 1024)
#define RANGE_LEN	(64 * 1024)

static int gpu = -1;
static size_t pg;

static long minor_faults(void)
{
	struct rusage ru;

	igt_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/* reads one byte per page; returns the page faults that took */
static long touch_pages(const volatile uint8_t *p, size_t size)
{
	long before = minor_faults();
	unsigned int sum = 0;

	for (size_t i = 0; i < size; i += pg)
		sum += p[i];
	igt_debug("touched %zu pages (sum %u)\n", size / pg, sum);
	return minor_faults() - before;
}

/* a pattern no other offset or buffer has: (tag, byte offset) keyed */
static uint8_t pattern_byte(uint32_t tag, size_t off)
{
	uint64_t x = ((uint64_t)tag << 32) ^ (off / 8) ^ 0x9e3779b97f4a7c15ull;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint8_t)(x >> (8 * (off % 8)));
}

static void fill(volatile uint8_t *p, size_t size, uint32_t tag, size_t base)
{
	for (size_t i = 0; i < size; i++)
		p[i] = pattern_byte(tag, base + i);
}

static void assert_pattern(const volatile uint8_t *p, size_t size,
			   uint32_t tag, size_t base, const char *what)
{
	for (size_t i = 0; i < size; i++)
		igt_assert_f(p[i] == pattern_byte(tag, base + i),
			     "%s: byte %zu is 0x%02x, expected 0x%02x (tag %u)\n",
			     what, base + i, p[i], pattern_byte(tag, base + i),
			     tag);
}

static uint32_t residence(uint32_t handle)
{
	struct drm_p2pgpu_gem_query q;

	p2pgpu_query(gpu, handle, &q, NULL, 0);
	return q.placement;
}

static void migrate(uint32_t handle, uint32_t placement)
{
	igt_assert_eq(__p2p_migrate(gpu, handle, placement), 0);
}

/* exports [RANGE_OFF, +RANGE_LEN) of @handle and maps it read-only */
static uint8_t *map_range(uint32_t handle, int *fd)
{
	struct drm_p2pgpu_gem_export_range r = {
		.handle = handle, .offset = RANGE_OFF, .length = RANGE_LEN,
		.flags = DRM_CLOEXEC | DRM_RDWR,
	};
	uint8_t *map;

	igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r),
		      0);
	map = mmap(NULL, RANGE_LEN, PROT_READ, MAP_SHARED, r.fd, 0);
	igt_assert(map != MAP_FAILED);
	*fd = r.fd;
	return map;
}

/*
 * A buffer mapped through @map (GEM, PRIME or range) follows its buffer:
 * after a move its pages fault again and show what was written in the new
 * location, never the old one.
 */
static void follows_move(uint8_t *map, uint8_t *gem, size_t map_off,
			 size_t map_len, uint32_t handle, const char *what)
{
	long faults;

	fill(gem, LARGE, 1, 0);
	assert_pattern(map, map_len, 1, map_off, what);
	igt_assert_eq(touch_pages(map, map_len), 0);

	migrate(handle, P2PGPU_PLACEMENT_SYSTEM);
	igt_assert_eq_u32(residence(handle), P2PGPU_RESIDENT_SYSTEM);
	fill(gem, LARGE, 2, 0);
	faults = touch_pages(map, map_len);
	igt_assert_f(faults > 0,
		     "%s: no page fault after its buffer moved: the mapping still points at the old location\n",
		     what);
	assert_pattern(map, map_len, 2, map_off, what);

	migrate(handle, P2PGPU_PLACEMENT_VRAM);
	igt_assert_eq_u32(residence(handle), P2PGPU_RESIDENT_VRAM);
	fill(gem, LARGE, 3, 0);
	assert_pattern(map, map_len, 3, map_off, what);
}

igt_main
{
	igt_fixture {
		pg = getpagesize();
		gpu = p2p_gpu_open();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
	}

	igt_subtest("move-zaps-only-its-buffer") {
		uint32_t moved = p2p_create(gpu, SMALL, P2PGPU_PLACEMENT_VRAM);
		uint32_t other = p2p_create(gpu, LARGE, P2PGPU_PLACEMENT_VRAM);
		/* exported, so the move has dma-bufs to notify */
		int buf = p2p_export(gpu, moved);
		uint8_t *mo = p2p_gem_mmap(gpu, moved, SMALL);
		uint8_t *ot = p2p_gem_mmap(gpu, other, LARGE);
		long faults;

		fill(ot, LARGE, 7, 0);
		touch_pages(mo, SMALL);
		touch_pages(ot, LARGE);
		igt_assert_eq(touch_pages(ot, LARGE), 0);

		migrate(moved, P2PGPU_PLACEMENT_SYSTEM);
		faults = touch_pages(ot, LARGE);
		igt_assert_f(faults == 0,
			     "moving one buffer zapped another buffer's CPU mapping: %ld page faults on it afterwards\n",
			     faults);
		/* the moved one's own mapping was zapped (control) */
		igt_assert_f(touch_pages(mo, SMALL) > 0,
			     "the moved buffer's own mapping was not zapped\n");
		assert_pattern(ot, LARGE, 7, 0, "unmoved buffer");

		munmap(mo, SMALL);
		munmap(ot, LARGE);
		close(buf);
		p2pgpu_gem_close(gpu, moved);
		p2pgpu_gem_close(gpu, other);
	}

	igt_subtest("prime-mmap-follows-move") {
		uint32_t h = p2p_create(gpu, LARGE, P2PGPU_PLACEMENT_VRAM);
		int buf = p2p_export(gpu, h);
		uint8_t *gem = p2p_gem_mmap(gpu, h, LARGE);
		uint8_t *map = mmap(NULL, LARGE, PROT_READ, MAP_SHARED, buf, 0);

		igt_assert(map != MAP_FAILED);
		follows_move(map, gem, 0, LARGE, h, "PRIME dma-buf mapping");
		munmap(map, LARGE);
		munmap(gem, LARGE);
		close(buf);
		p2pgpu_gem_close(gpu, h);
	}

	igt_subtest("range-mmap-follows-move") {
		uint32_t h = p2p_create(gpu, LARGE, P2PGPU_PLACEMENT_VRAM);
		int range_fd;
		uint8_t *gem = p2p_gem_mmap(gpu, h, LARGE);
		uint8_t *map;

		map = map_range(h, &range_fd);
		follows_move(map, gem, RANGE_OFF, RANGE_LEN, h,
			     "range dma-buf mapping");
		munmap(map, RANGE_LEN);
		/* the range's mapping outlives neither its file nor a move */
		close(range_fd);
		migrate(h, P2PGPU_PLACEMENT_SYSTEM);
		munmap(gem, LARGE);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("a range dma-buf mapping split by munmap and inherited by fork stays the BO's (TTM's vm_open)");
	igt_subtest("range-mmap-split-and-fork") {
		uint32_t h = p2p_create(gpu, LARGE, P2PGPU_PLACEMENT_VRAM);
		int range_fd;
		uint8_t *gem = p2p_gem_mmap(gpu, h, LARGE);
		uint8_t *map;
		pid_t pid;
		int status;

		map = map_range(h, &range_fd);
		fill(gem, LARGE, 4, 0);
		/* two VMAs of one mapping, each opened through TTM's vm_open */
		igt_assert_eq(munmap(map + pg, pg), 0);
		pid = fork();
		igt_assert(pid >= 0);
		if (pid == 0) {
			for (size_t i = 0; i < RANGE_LEN; i += pg)
				if (i != pg && map[i] != pattern_byte(4, RANGE_OFF + i))
					_exit(1);
			_exit(0);
		}
		igt_assert_eq(waitpid(pid, &status, 0), pid);
		igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			     "the forked child read wrong bytes through the range mapping\n");
		migrate(h, P2PGPU_PLACEMENT_SYSTEM);
		fill(gem, LARGE, 5, 0);
		assert_pattern(map, pg, 5, RANGE_OFF, "split range mapping");
		assert_pattern(map + 2 * pg, RANGE_LEN - 2 * pg, 5,
			       RANGE_OFF + 2 * pg, "split range mapping");
		munmap(map, pg);
		munmap(map + 2 * pg, RANGE_LEN - 2 * pg);
		close(range_fd);
		munmap(gem, LARGE);
		p2pgpu_gem_close(gpu, h);
	}

	igt_fixture {
		if (gpu >= 0)
			close(gpu);
	}
}
