// SPDX-License-Identifier: GPL-2.0
/*
 * Strict mode: a region registered with P2PRDMA_REG_REQUIRE_P2P is peer
 * memory reached peer-to-peer, or the registration fails with -EREMOTEIO
 * and leaves nothing attached, pinned or moved. Each verdict is checked
 * against the hardware (p2pbuf_landing.h: the edu DMA registers and the
 * BAR's bytes), not against what the drivers report: where strict
 * succeeds the NIC's write must be in the BAR; where it is refused, the
 * same buffer registered without the flag must really be staged.
 *
 * Environment: P2PBUF_EXPECT (p2p-bus, p2p-host, p2p-iova, staged).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pbuf_common.h"
#include "p2pbuf_landing.h"
#include "p2prdma.h"

static int gpu = -1, nic = -1, pg;
static struct landing land;

static int query_refusal(int fd, struct p2prdma_refusal *r)
{
	memset(r, 0, sizeof(*r));
	return __p2p_ioctl(fd, P2PRDMA_IOCTL_QUERY_REFUSAL, r);
}

/* the buffer's placement and pin state, and how many attachments it has */
static uint32_t bo_state(uint32_t bo, uint32_t *placement, bool *pinned)
{
	struct drm_p2pgpu_gem_query q;
	uint32_t n = p2pgpu_query(gpu, bo, &q, NULL, 0);

	*placement = q.placement;
	*pinned = q.flags & P2PGPU_BO_PINNED;
	return n;
}

/* the NIC writes a fresh pattern from user memory into region @mr */
static bool write_and_observe(uint32_t mr, const char *what)
{
	uint8_t *user = p2p_anon(pg);
	uint32_t um = p2p_reg_user(nic, user, pg);
	uint64_t addr;
	bool p2p;

	landing_pattern(user, pg);
	p2p_transfer(nic, mr, 0, um, 0, pg);
	p2p = landing_p2p(&land, what, user, pg, &addr);
	igt_assert_eq(__p2p_dereg(nic, um), 0);
	munmap(user, pg);
	return p2p;
}

/*
 * A VRAM buffer registered strictly (plus @flags): p2p topologies must
 * take it and the NIC's write must land in the BAR; staged ones must
 * refuse it with -EREMOTEIO, leave no trace, say so in QUERY_REFUSAL, and
 * the same buffer registered without strictness must really be staged.
 */
static void strict_register(uint32_t flags)
{
	bool want_p2p = obs_expect_p2p(land.expect), pinned;
	struct p2pbuf_counts_pair { struct p2p_counts before, after; } c;
	struct p2prdma_refusal r;
	uint32_t bo, mr = 0, placement, natt;
	char exp_name[64];
	struct stat sb;
	int buf, ret;

	bo = p2pgpu_create(gpu, pg, P2PGPU_PLACEMENT_VRAM);
	buf = p2pgpu_export(gpu, bo);
	igt_assert_eq(fstat(buf, &sb), 0);
	landing_exp_name(buf, exp_name, sizeof(exp_name));
	p2p_counts(&c.before);

	ret = __p2p_reg_dmabuf(nic, buf, 0, pg,
			       flags | P2PRDMA_REG_REQUIRE_P2P, &mr);
	natt = bo_state(bo, &placement, &pinned);
	igt_info("strict registration (flags %#x): %s; buffer %s, %s, %u attachment(s)\n",
		 flags | P2PRDMA_REG_REQUIRE_P2P, ret ? strerror(-ret) : "ok",
		 placement == P2PGPU_RESIDENT_VRAM ? "in VRAM" : "in system memory",
		 pinned ? "pinned" : "not pinned", natt);

	if (want_p2p) {
		igt_assert_f(ret == 0,
			     "%s: a strict registration of a VRAM buffer must succeed, got %s\n",
			     obs_expect_str(land.expect), strerror(-ret));
		igt_assert_f(placement == P2PGPU_RESIDENT_VRAM && natt == 1,
			     "strict and granted: expected the buffer in VRAM with our one attachment, seen placement %u, %u attachment(s)\n",
			     placement, natt);
		igt_assert_f(!!pinned == !!(flags & P2PRDMA_REG_PINNED),
			     "pinned is %d, the registration asked %s\n", pinned,
			     flags & P2PRDMA_REG_PINNED ? "PINNED" : "no pin");
		igt_assert_f(write_and_observe(mr, "strict region"),
			     "%s: strict registration granted, but the NIC's write did not go into the BAR\n",
			     obs_expect_str(land.expect));
		igt_assert_eq(__p2p_dereg(nic, mr), 0);
	} else {
		igt_assert_f(ret == -EREMOTEIO,
			     "staged topology (%s): a strict registration must fail with EREMOTEIO, got %s\n",
			     land.why, ret ? strerror(-ret) : "success");
		/* nothing left: no attachment, no pin, no move, no mapping */
		p2p_counts(&c.after);
		igt_assert_f(natt == 0 && !pinned && placement == P2PGPU_RESIDENT_VRAM,
			     "a refused strict registration left %u attachment(s), pinned %d, placement %u (expected 0, 0, VRAM)\n",
			     natt, pinned, placement);
		igt_assert_f(c.after.nic_attachments == c.before.nic_attachments &&
			     c.after.mappings == c.before.mappings &&
			     c.after.regions == c.before.regions,
			     "p2prdma objects before/after the refusal: attachments %d/%d mappings %d/%d regions %d/%d\n",
			     c.before.nic_attachments, c.after.nic_attachments,
			     c.before.mappings, c.after.mappings,
			     c.before.regions, c.after.regions);
		/* the refusal stays queryable */
		igt_assert_eq(query_refusal(nic, &r), 0);
		igt_info("QUERY_REFUSAL: stage %u error %u backing %u exporter '%s' ino %llu offset %llu length %llu\n",
			 r.stage, r.error, r.backing, r.exporter,
			 (unsigned long long)r.dmabuf_ino,
			 (unsigned long long)r.offset,
			 (unsigned long long)r.length);
		igt_assert_f((r.stage == P2PRDMA_REFUSED_ATTACH ||
			      r.stage == P2PRDMA_REFUSED_MAP) &&
			     r.error == EREMOTEIO && !strcmp(r.exporter, exp_name) &&
			     r.dmabuf_ino == (uint64_t)sb.st_ino &&
			     r.offset == 0 && r.length == (uint64_t)pg,
			     "QUERY_REFUSAL does not describe the refusal: expected stage attach/map, EREMOTEIO, exporter %s (fdinfo), inode %llu, 0+%d\n",
			     exp_name, (unsigned long long)sb.st_ino, pg);
		/* the refusal was right: without strictness the path is staged */
		mr = p2p_reg_dmabuf(nic, buf, 0, pg, flags);
		igt_assert_f(!write_and_observe(mr, "the same buffer, not strict"),
			     "strict mode refused a buffer that the NIC then reached peer-to-peer\n");
		igt_assert_eq(__p2p_dereg(nic, mr), 0);
	}
	close(buf);
	p2pgpu_gem_close(gpu, bo);
}

igt_main
{
	igt_fixture {
		pg = getpagesize();
		p2p_require_gpu_nic(&gpu, &nic);
		landing_init(&land);
	}

	igt_describe("QUERY_REFUSAL on a new file reports nothing, and rejects unknown flags");
	igt_subtest("refusal-query") {
		struct p2prdma_refusal r;
		int fd = p2p_nic_open();

		igt_assert(fd >= 0);
		igt_assert_eq(query_refusal(fd, &r), 0);
		igt_assert_f(r.stage == P2PRDMA_REFUSED_NONE && !r.error,
			     "a new file reports a refusal: stage %u error %u\n",
			     r.stage, r.error);
		memset(&r, 0, sizeof(r));
		r.flags = 1;
		igt_assert_eq(__p2p_ioctl(fd, P2PRDMA_IOCTL_QUERY_REFUSAL, &r),
			      -EINVAL);
		close(fd);
	}

	igt_describe("REQUIRE_P2P: granted with the write in the BAR (p2p), or EREMOTEIO with nothing left and a staged path (staged)");
	igt_subtest("strict-dynamic")
		strict_register(0);

	igt_describe("REQUIRE_P2P | PINNED: pinned in VRAM and written peer-to-peer, or EREMOTEIO and not pinned");
	igt_subtest("strict-pinned")
		strict_register(P2PRDMA_REG_PINNED);

	igt_describe("a strict region moved to system memory: the NIC refuses to read it (EREMOTEIO) and programs no DMA");
	igt_subtest("strict-evicted") {
		struct obs_dma before, after;
		uint32_t bo, mr, um;
		uint8_t *user;
		int buf;

		igt_require_f(obs_expect_p2p(land.expect),
			      "staged topology: no strict region can exist here (strict-dynamic shows the refusal)\n");
		bo = p2pgpu_create(gpu, pg, P2PGPU_PLACEMENT_VRAM);
		buf = p2pgpu_export(gpu, bo);
		mr = p2p_reg_dmabuf(nic, buf, 0, pg, P2PRDMA_REG_REQUIRE_P2P);
		igt_assert(write_and_observe(mr, "strict region in VRAM"));
		igt_assert_eq(__p2pgpu_migrate(gpu, bo, P2PGPU_PLACEMENT_SYSTEM), 0);

		user = p2p_anon(pg);
		memset(user, 0x5a, pg);
		um = p2p_reg_user(nic, user, pg);
		obs_last_dma(&land.nic, &before);
		/* the strict region is the source: its side is mapped first */
		igt_assert_eq(__p2p_transfer(nic, um, 0, mr, 0, pg), -EREMOTEIO);
		obs_last_dma(&land.nic, &after);
		igt_assert_f(!memcmp(&before, &after, sizeof(before)),
			     "the refused transfer programmed the NIC: SRC %#" PRIx64 "->%#" PRIx64 " DST %#" PRIx64 "->%#" PRIx64 " CMD %#" PRIx64 "->%#" PRIx64 "\n",
			     before.src, after.src, before.dst, after.dst,
			     before.cmd, after.cmd);
		for (int i = 0; i < pg; i++)
			igt_assert_f(user[i] == 0x5a,
				     "user memory changed at byte %d by a refused transfer\n", i);

		/* back in VRAM, the region works again */
		igt_assert_eq(__p2pgpu_migrate(gpu, bo, P2PGPU_PLACEMENT_VRAM), 0);
		igt_assert(write_and_observe(mr, "strict region back in VRAM"));
		igt_assert_eq(__p2p_dereg(nic, um), 0);
		igt_assert_eq(__p2p_dereg(nic, mr), 0);
		munmap(user, pg);
		close(buf);
		p2pgpu_gem_close(gpu, bo);
	}

	igt_fixture {
		landing_fini(&land);
		close(nic);
		close(gpu);
	}
}
