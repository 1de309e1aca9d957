/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the NIC's last DMA into a VRAM buffer really went, for tests that
 * must not believe either driver (strict mode, tracepoints): the address the
 * edu engine was programmed with (resource0), translated through the IOMMU
 * where one is on, and the BAR's own bytes (resource2). Built on
 * p2pbuf_observe.h; one GPU/NIC pair (the first of each).
 */
#ifndef P2PBUF_LANDING_H
#define P2PBUF_LANDING_H

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "igt_subset.h"
#include "p2pbuf_observe.h"

struct landing {
	struct obs_gpu gpu;
	struct obs_nic nic;
	enum obs_expect expect;	/* what the topology must show */
	char why[256];
};

/*
 * The first GPU and NIC (bound to our drivers: the caller opened them) and
 * what their data path must be: P2PBUF_EXPECT, else the sysfs topology
 * where it alone decides (a common switch).
 */
static inline void landing_init(struct landing *l)
{
	char bdfs[OBS_MAX_DEVS][OBS_BDF_LEN];
	const char *env = getenv("P2PBUF_EXPECT");
	enum obs_expect derived;

	memset(l, 0, sizeof(*l));
	igt_require_f(obs_find_pci(OBS_GPU_VENDOR, OBS_GPU_DEVICE, bdfs,
				   OBS_MAX_DEVS) > 0,
		      "no ivshmem function (the GPU) in this VM\n");
	igt_assert_f(obs_gpu_init(&l->gpu, bdfs[0], true) == 0,
		     "%s: cannot map resource2 (booted without iomem=relaxed?): %s\n",
		     bdfs[0], strerror(errno));
	igt_require_f(obs_find_pci(OBS_NIC_VENDOR, OBS_NIC_DEVICE, bdfs,
				   OBS_MAX_DEVS) > 0,
		      "no edu function (the NIC) in this VM\n");
	igt_assert_f(obs_nic_init(&l->nic, bdfs[0]) == 0,
		     "%s: cannot map resource0: %s\n", bdfs[0], strerror(errno));
	derived = obs_derive(l->gpu.bdf, l->nic.bdf, l->why, sizeof(l->why));
	if (env && *env) {
		l->expect = obs_expect_parse(env);
		igt_assert_f(l->expect != OBS_EXPECT_UNKNOWN,
			     "P2PBUF_EXPECT=%s: not one of p2p-bus p2p-host p2p-iova staged\n",
			     env);
	} else {
		igt_require_f(derived == OBS_EXPECT_P2P_BUS,
			      "P2PBUF_EXPECT unset and the topology alone does not decide (%s)\n",
			      l->why);
		l->expect = derived;
	}
	igt_info("GPU %s (BAR2 %#" PRIx64 "-%#" PRIx64 "), NIC %s: expecting %s (topology: %s)\n",
		 l->gpu.bdf, l->gpu.bar_start, l->gpu.bar_end, l->nic.bdf,
		 obs_expect_str(l->expect), l->why);
}

static inline void landing_fini(struct landing *l)
{
	obs_gpu_fini(&l->gpu);
	obs_nic_fini(&l->nic);
}

/* a per-run pattern: stale bytes of an earlier run cannot match it */
static inline void landing_pattern(uint8_t *p, size_t n)
{
	static uint64_t seed;

	if (!seed)
		seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid() << 20;
	obs_fill(p, n, seed++);
}

/* the dma-buf's exporter name as the dma-buf core shows it (fdinfo exp_name) */
static inline void landing_exp_name(int fd, char *out, size_t n)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	igt_assert_f(f, "%s: %s\n", path, strerror(errno));
	out[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "exp_name: %63s", out) == 1)
			break;
	fclose(f);
	igt_assert_f(out[0], "%s has no exp_name: not a dma-buf\n", path);
	(void)n;
}

/*
 * The NIC just wrote the @len bytes of @pat into a VRAM buffer (its last
 * DMA, read from its registers, must end that write: the engine moves it
 * in chunks, the last one ends where the write ends): returns true when
 * they went peer-to-peer into the BAR, false when staged, and fails when
 * the hardware contradicts itself (an address in the BAR without the bytes
 * there, or the bytes in the BAR for an address outside it). @what names
 * the step in messages; @addr gets the programmed device address.
 */
static inline bool landing_p2p(const struct landing *l, const char *what,
			       const uint8_t *pat, size_t len, uint64_t *addr)
{
	enum obs_where where;
	struct obs_dma d;
	uint64_t phys, at = 0;
	uint8_t *bar, *seen;
	bool p2p;
	int gi, n;

	obs_last_dma(&l->nic, &d);
	igt_assert_f(d.cmd & OBS_EDU_CMD_TO_RAM,
		     "%s: the NIC's last DMA (CMD %#" PRIx64 ") was not a write to memory\n",
		     what, d.cmd);
	igt_assert_f(d.count && d.count <= len,
		     "%s: the NIC's last DMA was %#" PRIx64 " bytes, not the end of a %zu-byte write\n",
		     what, d.count, len);
	/* where the write started: the buffer is contiguous within a page */
	*addr = obs_dma_addr(&d) + d.count - len;
	where = obs_classify(l->nic.bdf, &l->gpu, 1, *addr, len, &gi, &phys);
	bar = obs_bar_snapshot(&l->gpu);
	igt_assert_f(bar, "no memory for a copy of the BAR\n");
	n = obs_find(bar, l->gpu.bar_len, pat, len, &at, 1);
	free(bar);
	igt_info("%s: NIC's write started at %#" PRIx64 " (%s, physical %#" PRIx64 "; last chunk %#" PRIx64 " bytes at %#" PRIx64 "); the pattern is in BAR2 %d time(s)\n",
		 what, *addr, obs_where_str(where), phys, d.count,
		 obs_dma_addr(&d), n);

	switch (where) {
	case OBS_WHERE_BAR:
	case OBS_WHERE_IOVA_BAR:
		seen = malloc(len);
		igt_assert(seen);
		obs_bar_read(&l->gpu, phys - l->gpu.bar_start, seen, len);
		igt_assert_f(!memcmp(seen, pat, len),
			     "%s: the NIC was given %#" PRIx64 ", BAR2 offset %#" PRIx64 ", but the BAR does not hold the pattern there\n",
			     what, *addr, phys - l->gpu.bar_start);
		free(seen);
		p2p = true;
		break;
	case OBS_WHERE_IOVA_OPAQUE:
		/* no IOMMU debugfs: the BAR's bytes decide */
		p2p = n > 0;
		break;
	default:
		igt_assert_f(n == 0,
			     "%s: the NIC was given %#" PRIx64 " (%s), outside the BAR, yet the BAR holds the pattern\n",
			     what, *addr, obs_where_str(where));
		p2p = false;
		break;
	}
	return p2p;
}

#endif /* P2PBUF_LANDING_H */
