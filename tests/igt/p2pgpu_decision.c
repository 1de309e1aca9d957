// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu's peer-to-peer decision, asked for a real PCI peer: the test-only
 * p2p_test_importer.ko attaches p2pgpu dma-bufs dynamically for QEMU's edu
 * device and reports what it was given (segments, DMA addresses, whether
 * they are PCI bus addresses, move_notify calls). What is expected depends
 * on the PCIe topology the VM was started with (P2PBUF_TOPOLOGY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2p_test_importer.h"
#include "p2pbuf_pattern.h"
#include "p2pgpu_igt.h"

#define P2P_PARAM "/sys/module/p2pgpu/parameters/p2p"

static int gpu = -1, ti = -1;
static size_t pg;
static struct drm_p2pgpu_device_query dq;
static bool ti_loaded;

/* what a p2p-capable importer gets in this topology */
static struct {
	const char *name;
	uint32_t decision, reason;
	bool bus;	/* PCI bus addresses into the BAR */
	bool in_bar;	/* DMA addresses inside the BAR's bus range */
	uint32_t route;	/* P2PGPU_ATTACH_MAP_* bit of a PCI importer */
} expect;

#define ROUTE_BITS (P2PGPU_ATTACH_MAP_BUS_ADDR | P2PGPU_ATTACH_MAP_HOST_BRIDGE)

static int ti_attach(int dmabuf, bool p2p)
{
	int slot = __ti_attach(ti, dmabuf, p2p, 0, NULL);

	igt_assert_f(slot >= 0, "attach: %s\n", strerror(-slot));
	return slot;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Every byte of a slot's dma-buf as dma_buf_vmap() shows it, read in the
 * test importer's chunks.
 */
static void ti_vmapread(int slot, uint8_t *dst, size_t size)
{
	static char out[8192];
	size_t off = 0;

	while (off < size) {
		unsigned int got_off, len;
		char *hex;

		igt_assert_eq(ti_cmd(ti, out, sizeof(out), "vmapread %d %zu",
				     slot, off), 0);
		igt_assert_f(sscanf(out, "ret 0 off %u len %u", &got_off,
				    &len) == 2 && got_off == off && len &&
			     off + len <= size,
			     "vmapread %d %zu: '%.40s'\n", slot, off, out);
		hex = strchr(out, '\n');
		igt_assert(hex);
		hex++;
		for (unsigned int i = 0; i < len; i++) {
			int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

			igt_assert_f(hi >= 0 && lo >= 0,
				     "vmapread %d %zu: bad hex at byte %u\n",
				     slot, off, i);
			dst[off + i] = hi << 4 | lo;
		}
		off += len;
	}
}

/* writes bytes [0, size) of pattern @seed through a GEM mmap */
static void fill(uint32_t handle, size_t size, uint64_t seed)
{
	void *p = p2pgpu_mmap(gpu, handle, size);

	p2p_pat_fill(p, size, seed, 0);
	munmap(p, size);
}

static bool in_bar(uint64_t addr, uint64_t len)
{
	return addr >= dq.bar_bus_addr &&
	       addr + len <= dq.bar_bus_addr + dq.vram_size;
}

static bool p2p_expected(void)
{
	return expect.decision == P2PGPU_MAPPING_P2P;
}

static void set_p2p_param(bool on)
{
	int f = open(P2P_PARAM, O_WRONLY);

	igt_assert(f >= 0);
	igt_assert_eq(write(f, on ? "1" : "0", 1), 1);
	close(f);
}

/* the mapping a p2p-capable importer got for a fresh VRAM buffer */
static void check_p2p_mapping(const struct ti_status *s, uint64_t size)
{
	igt_assert(s->mapped);
	igt_assert_eq(s->bus, expect.bus);
	for (unsigned int i = 0; i < s->nsegs; i++) {
		igt_info("seg %u: %#llx + %u\n", i,
			 (unsigned long long)s->addr[i], s->len[i]);
		igt_assert_eq(in_bar(s->addr[i], s->len[i]), expect.in_bar);
	}
	if (expect.in_bar)
		/* the start of the buffer is where TTM put it in the BAR */
		igt_assert_lte_u64(s->addr[0] + size,
				   dq.bar_bus_addr + dq.vram_size);
}

static const char *const reason_names[] = {
	"none", "importer-no-p2p", "importer-not-pci", "no-common-switch",
	"acs-redirect", "kernel-no-p2pdma", "disabled-by-param",
	"pinned-in-system", "system-placement", "map-refused",
};

/* whether a p2pgpu debugfs file lists an attachment of @importer for @reason */
static bool debugfs_lists(const char *importer, uint32_t reason)
{
	char want[128], buf[8192];
	bool found = false;
	glob_t g;

	snprintf(want, sizeof(want), "attachment %s ", importer);
	if (glob("/sys/kernel/debug/dri/*/p2pgpu_bos", 0, NULL, &g))
		return false;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		int f = open(g.gl_pathv[i], O_RDONLY);
		ssize_t n;
		char *line;

		if (f < 0)
			continue;
		n = read(f, buf, sizeof(buf) - 1);
		close(f);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		igt_debug("%s:\n%s", g.gl_pathv[i], buf);
		for (line = strstr(buf, want); line && !found;
		     line = strstr(line + 1, want)) {
			char *end = strchr(line, '\n'), r[64];

			snprintf(r, sizeof(r), " reason %s ", reason_names[reason]);
			if (end)
				*end = '\0';
			found = strstr(line, r);
			if (end)
				*end = '\n';
		}
	}
	globfree(&g);
	return found;
}

igt_main
{
	igt_fixture {
		const char *topo = getenv("P2PBUF_TOPOLOGY");

		pg = getpagesize();
		gpu = __drm_open_driver(DRIVER_ANY);
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		igt_require_f(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY,
				       &dq) == 0,
			      "the DRM device is not p2pgpu\n");
		igt_require_f(topo, "P2PBUF_TOPOLOGY not set: run under the VM harness\n");
		expect.name = topo;
		expect.decision = P2PGPU_MAPPING_P2P;
		expect.reason = P2PGPU_REASON_NONE;
		/*
		 * multi: the first GPU and the first edu enumerate behind the
		 * switch (bus order); the other pair is p2pctl_cli's business.
		 */
		if (!strcmp(topo, "switch") || !strcmp(topo, "multi")) {
			expect.bus = true;
			expect.in_bar = true;
			expect.route = P2PGPU_ATTACH_MAP_BUS_ADDR;
		} else if (!strcmp(topo, "hostbridge")) {
			/* no IOMMU: the CPU physical address, not a bus address */
			expect.in_bar = true;
			expect.route = P2PGPU_ATTACH_MAP_HOST_BRIDGE;
		} else if (!strcmp(topo, "iommu")) {
			/* IOVAs, nowhere near the BAR */
			expect.route = P2PGPU_ATTACH_MAP_HOST_BRIDGE;
		} else if (!strcmp(topo, "rootports")) {
			expect.decision = P2PGPU_MAPPING_STAGED;
			expect.reason = P2PGPU_REASON_NO_COMMON_SWITCH;
		} else if (!strcmp(topo, "stock")) {
			expect.decision = P2PGPU_MAPPING_STAGED;
			expect.reason = P2PGPU_REASON_KERNEL_NO_P2PDMA;
		} else {
			igt_require_f(false, "no expectations for topology %s\n", topo);
		}
		ti = ti_load(true, &ti_loaded);
	}

	igt_describe("a p2p importer of a fresh VRAM buffer: the topology's decision, one segment");
	igt_subtest("p2p-importer") {
		size_t size = 64 << 10;	/* the edu device's 64 KiB segment limit */
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_attachment_info info;
		struct drm_p2pgpu_gem_query q;
		struct ti_status s;
		int fd = p2pgpu_export(gpu, h), slot;

		slot = ti_attach(fd, true);
		igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, &info, 1), 1);
		igt_info("%s: importer %s (%s) decision %u reason %u distance %d\n",
			 expect.name, info.importer, info.importer_driver,
			 info.decision, info.reason, info.distance);
		igt_assert_eq_u32(info.decision, expect.decision);
		igt_assert_eq_u32(info.reason, expect.reason);
		igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_NONE);
		igt_assert_eq_u32(info.map_count, 0);
		igt_assert_eq_u32(info.flags & ~ROUTE_BITS, P2PGPU_ATTACH_DYNAMIC |
						P2PGPU_ATTACH_PEER2PEER);
		igt_assert_f((info.flags & ROUTE_BITS) == expect.route,
			     "route bits %#x in topology %s, expected %#x (bus-addr %#x, host-bridge %#x)\n",
			     info.flags & ROUTE_BITS, expect.name, expect.route,
			     P2PGPU_ATTACH_MAP_BUS_ADDR, P2PGPU_ATTACH_MAP_HOST_BRIDGE);
		igt_assert_eq(info.distance >= 0, p2p_expected());
		ti_status(ti, slot, &s);
		/* staged importers learn it from peer2peer */
		igt_assert_eq(s.peer2peer, p2p_expected());

		ti_ok(ti, "map", slot);
		ti_status(ti, slot, &s);
		p2pgpu_query(gpu, h, &q, &info, 1);
		igt_assert_eq_u32(info.map_count, 1);
		if (p2p_expected()) {
			check_p2p_mapping(&s, size);
			igt_assert_eq(s.nents, 1);
			igt_assert_eq_u32(s.len[0], size);
			igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_P2P);
			igt_assert_eq_u32(!!(info.flags & P2PGPU_ATTACH_BUS_ADDR),
					  expect.bus);
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_VRAM);
			igt_assert_eq_u32(q.move_count, 0);
		} else {
			igt_assert(s.mapped && !s.bus);
			for (unsigned int i = 0; i < s.nsegs; i++)
				igt_assert(!in_bar(s.addr[i], s.len[i]));
			igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_STAGED);
			igt_assert(!(info.flags & P2PGPU_ATTACH_BUS_ADDR));
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
			igt_assert_eq_u32(q.move_count, 1);
		}
		igt_assert(debugfs_lists(info.importer, info.reason));
		ti_ok(ti, "unmap", slot);
		p2pgpu_query(gpu, h, &q, &info, 1);
		igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_NONE);
		ti_ok(ti, "detach", slot);
		igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, NULL, 0), 0);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("an importer without allow_peer2peer is staged: IMPORTER_NO_P2P");
	igt_subtest("no-p2p-importer") {
		size_t size = 256 << 10;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_attachment_info info;
		struct drm_p2pgpu_gem_query q;
		struct ti_status s;
		int fd = p2pgpu_export(gpu, h), slot;

		slot = ti_attach(fd, false);
		p2pgpu_query(gpu, h, &q, &info, 1);
		igt_assert_eq_u32(info.decision, P2PGPU_MAPPING_STAGED);
		igt_assert_eq_u32(info.reason, P2PGPU_REASON_IMPORTER_NO_P2P);
		/* the route is the topology's, whoever asks */
		igt_assert_eq_u32(info.flags & ~ROUTE_BITS, P2PGPU_ATTACH_DYNAMIC);
		igt_assert_eq_u32(info.flags & ROUTE_BITS, expect.route);
		ti_ok(ti, "map", slot);
		ti_status(ti, slot, &s);
		igt_assert(s.mapped && !s.bus && !s.peer2peer);
		for (unsigned int i = 0; i < s.nsegs; i++)
			igt_assert(!in_bar(s.addr[i], s.len[i]));
		p2pgpu_query(gpu, h, &q, &info, 1);
		igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_STAGED);
		ti_ok(ti, "detach", slot);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("a system-only buffer is staged: SYSTEM_PLACEMENT");
	igt_subtest("system-placement") {
		uint32_t h = p2pgpu_create(gpu, 64 << 10, P2PGPU_PLACEMENT_SYSTEM);
		struct drm_p2pgpu_attachment_info info;
		struct drm_p2pgpu_gem_query q;
		int fd = p2pgpu_export(gpu, h), slot;

		slot = ti_attach(fd, true);
		p2pgpu_query(gpu, h, &q, &info, 1);
		igt_assert_eq_u32(info.decision, P2PGPU_MAPPING_STAGED);
		/* the kernel's missing support is found first */
		igt_assert_eq_u32(info.reason,
				  dq.caps & P2PGPU_CAP_P2PDMA ?
				  P2PGPU_REASON_SYSTEM_PLACEMENT :
				  P2PGPU_REASON_KERNEL_NO_P2PDMA);
		ti_ok(ti, "detach", slot);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("p2p=0 stages every new attachment: DISABLED_BY_PARAM");
	igt_subtest("disabled-by-param") {
		uint32_t h = p2pgpu_create(gpu, 64 << 10, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_attachment_info info[2];
		struct drm_p2pgpu_device_query d = {};
		struct drm_p2pgpu_gem_query q;
		int fd = p2pgpu_export(gpu, h), s1, s2;

		set_p2p_param(false);
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		s1 = ti_attach(fd, true);
		set_p2p_param(true);
		igt_assert(!(d.caps & P2PGPU_CAP_P2P_ENABLED));
		s2 = ti_attach(fd, true);
		igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, info, 2), 2);
		igt_assert_eq_u32(info[0].decision, P2PGPU_MAPPING_STAGED);
		igt_assert_eq_u32(info[0].reason,
				  dq.caps & P2PGPU_CAP_P2PDMA ?
				  P2PGPU_REASON_DISABLED_BY_PARAM :
				  P2PGPU_REASON_KERNEL_NO_P2PDMA);
		/* decided at attach time: the second one got the parameter back */
		igt_assert_eq_u32(info[1].decision, expect.decision);
		igt_assert_eq_u32(info[1].reason, expect.reason);
		ti_ok(ti, "detach", s1);
		ti_ok(ti, "detach", s2);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("MIGRATE sends move_notify; the importer re-maps where the buffer is");
	igt_subtest("move-notify") {
		size_t size = 64 << 10;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_attachment_info info;
		struct drm_p2pgpu_gem_query q;
		struct ti_status s;
		unsigned int before;
		int fd = p2pgpu_export(gpu, h), slot;

		slot = ti_attach(fd, true);
		ti_ok(ti, "map", slot);
		ti_status(ti, slot, &s);
		igt_assert(s.mapped);
		before = s.move_notify;

		if (!(dq.caps & P2PGPU_CAP_MOVE_NOTIFY)) {
			/* the core pinned the buffer for the mapping */
			p2pgpu_query(gpu, h, &q, NULL, 0);
			igt_assert(q.flags & P2PGPU_BO_PINNED);
			p2p_assert_errno(__p2pgpu_migrate(gpu, h, p2p_expected() ?
						   P2PGPU_PLACEMENT_SYSTEM :
						   P2PGPU_PLACEMENT_VRAM),
					 EBUSY);
			ti_status(ti, slot, &s);
			igt_assert(s.mapped);
			igt_assert_eq(s.move_notify, before);
			ti_ok(ti, "detach", slot);
			p2pgpu_query(gpu, h, &q, NULL, 0);
			igt_assert(!(q.flags & P2PGPU_BO_PINNED));
			close(fd);
			p2pgpu_gem_close(gpu, h);
			igt_success();
		}

		/* wherever it is now, move it to the other place */
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert_eq(__p2pgpu_migrate(gpu, h, q.placement == P2PGPU_RESIDENT_VRAM ?
					P2PGPU_PLACEMENT_SYSTEM :
					P2PGPU_PLACEMENT_VRAM), 0);
		ti_status(ti, slot, &s);
		igt_assert_eq(s.move_notify, before + 1);
		igt_assert(!s.mapped);

		if (p2p_expected()) {
			/* p2p attachments take the buffer where it is: system */
			ti_ok(ti, "map", slot);
			ti_status(ti, slot, &s);
			igt_assert(s.mapped && !s.bus);
			igt_assert_eq(s.move_notify, before + 1);
			p2pgpu_query(gpu, h, &q, &info, 1);
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
			igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_STAGED);
			igt_assert_eq_u32(info.decision, P2PGPU_MAPPING_P2P);

			igt_assert_eq(__p2pgpu_migrate(gpu, h, P2PGPU_PLACEMENT_VRAM), 0);
			ti_status(ti, slot, &s);
			igt_assert_eq(s.move_notify, before + 2);
			igt_assert(!s.mapped);
			ti_ok(ti, "map", slot);
			ti_status(ti, slot, &s);
			check_p2p_mapping(&s, size);
			p2pgpu_query(gpu, h, &q, &info, 1);
			igt_assert_eq_u32(info.mapping, P2PGPU_MAPPING_P2P);
			igt_assert_eq_u32(info.map_count, 3);
		} else {
			/* staged: mapping moves it back to system memory */
			ti_ok(ti, "map", slot);
			ti_status(ti, slot, &s);
			igt_assert(s.mapped && !s.bus);
			p2pgpu_query(gpu, h, &q, NULL, 0);
			igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
		}
		ti_ok(ti, "detach", slot);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("mapping for a staged importer moves the buffer: the p2p importer is notified");
	igt_subtest("mixed-importers") {
		size_t size = 64 << 10;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_attachment_info info[2];
		struct drm_p2pgpu_gem_query q;
		struct ti_status s;
		int fd = p2pgpu_export(gpu, h), sp, ss;

		igt_require_f(p2p_expected() &&
			      (dq.caps & P2PGPU_CAP_MOVE_NOTIFY),
			      "no peer-to-peer in topology %s\n", expect.name);
		sp = ti_attach(fd, true);
		ss = ti_attach(fd, false);
		ti_ok(ti, "map", sp);
		ti_status(ti, sp, &s);
		igt_assert(s.mapped);
		igt_assert_eq(s.move_notify, 0);

		ti_ok(ti, "map", ss);
		ti_status(ti, sp, &s);
		igt_assert(!s.mapped);
		igt_assert_eq(s.move_notify, 1);
		igt_assert_eq_u32(p2pgpu_query(gpu, h, &q, info, 2), 2);
		igt_assert_eq_u32(q.placement, P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq_u32(info[0].decision, P2PGPU_MAPPING_P2P);
		igt_assert_eq_u32(info[0].mapping, P2PGPU_MAPPING_NONE);
		igt_assert_eq_u32(info[1].decision, P2PGPU_MAPPING_STAGED);
		igt_assert_eq_u32(info[1].mapping, P2PGPU_MAPPING_STAGED);

		ti_ok(ti, "detach", ss);
		ti_ok(ti, "detach", sp);
		close(fd);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("pins: VRAM when every importer is p2p, capped; MIGRATE gets -EBUSY");
	igt_subtest("pin") {
		size_t size = 1 << 20;
		uint32_t h = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		uint32_t big = p2pgpu_create(gpu, dq.vram_pin_limit + pg, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_device_query d = {};
		struct drm_p2pgpu_gem_query q;
		int fd = p2pgpu_export(gpu, h), fdb = p2pgpu_export(gpu, big), slot, sb, ret;
		bool vram = p2p_expected() && (dq.caps & P2PGPU_CAP_MOVE_NOTIFY);

		slot = ti_attach(fd, true);
		ti_ok(ti, "pin", slot);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert(q.flags & P2PGPU_BO_PINNED);
		igt_assert_eq_u32(q.placement, vram ? P2PGPU_RESIDENT_VRAM :
						      P2PGPU_RESIDENT_SYSTEM);
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_pinned, vram ? size : 0);
		p2p_assert_errno(__p2pgpu_migrate(gpu, h, vram ? P2PGPU_PLACEMENT_SYSTEM :
					   P2PGPU_PLACEMENT_VRAM), EBUSY);

		/* past the cap */
		sb = ti_attach(fdb, true);
		ret = ti_cmd(ti, NULL, 0, "pin %d", sb);
		igt_assert_eq(ret, vram ? -ENOSPC : 0);
		if (!ret)
			ti_ok(ti, "unpin", sb);
		ti_ok(ti, "detach", sb);

		ti_ok(ti, "unpin", slot);
		p2pgpu_query(gpu, h, &q, NULL, 0);
		igt_assert(!(q.flags & P2PGPU_BO_PINNED));
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_pinned, 0);
		ti_ok(ti, "detach", slot);
		close(fdb);
		close(fd);
		p2pgpu_gem_close(gpu, big);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("dma_buf_vmap reads exactly what the CPU wrote, whole buffers and ranges");
	igt_subtest("vmap") {
		size_t size = 128 << 10;
		uint32_t hv = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
		uint32_t hs = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_SYSTEM);
		/* two sub-ranges: the offset decides which bytes each shows */
		struct drm_p2pgpu_gem_export_range r[2] = {
			{ .handle = hv, .flags = DRM_CLOEXEC | DRM_RDWR,
			  .offset = 4 * pg, .length = 3 * pg },
			{ .handle = hv, .flags = DRM_CLOEXEC | DRM_RDWR,
			  .offset = 17 * pg, .length = 2 * pg },
		};
		uint8_t *got = malloc(size);
		int fv, fs, a, b, c[2];

		igt_assert(got);
		fill(hv, size, 0x7601);
		fill(hs, size, 0x5302);
		fv = p2pgpu_export(gpu, hv);
		fs = p2pgpu_export(gpu, hs);
		for (int i = 0; i < 2; i++)
			igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE,
					       &r[i]), 0);
		a = ti_attach(fv, true);
		b = ti_attach(fs, false);
		for (int i = 0; i < 2; i++)
			c[i] = ti_attach(r[i].fd, true);

		ti_vmapread(a, got, size);
		p2p_pat_assert(got, size, 0x7601, 0, "vmap of the VRAM buffer");
		ti_vmapread(b, got, size);
		p2p_pat_assert(got, size, 0x5302, 0, "vmap of the system buffer");
		for (int i = 0; i < 2; i++) {
			ti_vmapread(c[i], got, r[i].length);
			p2p_pat_assert(got, r[i].length, 0x7601, r[i].offset,
				       "vmap of range %d (offset %#llx)", i,
				       (unsigned long long)r[i].offset);
		}

		/* moved to system memory and rewritten: no stale copy shows */
		igt_assert_eq(__p2pgpu_migrate(gpu, hv, P2PGPU_PLACEMENT_SYSTEM), 0);
		fill(hv, size, 0x7603);
		ti_vmapread(a, got, size);
		p2p_pat_assert(got, size, 0x7603, 0, "vmap after migration");
		ti_vmapread(c[1], got, r[1].length);
		p2p_pat_assert(got, r[1].length, 0x7603, r[1].offset,
			       "vmap of range 1 after migration");

		ti_ok(ti, "detach", a);
		ti_ok(ti, "detach", b);
		for (int i = 0; i < 2; i++) {
			ti_ok(ti, "detach", c[i]);
			close(r[i].fd);
		}
		close(fv);
		close(fs);
		free(got);
		p2pgpu_gem_close(gpu, hv);
		p2pgpu_gem_close(gpu, hs);
	}

	igt_fixture {
		ti_unload(ti, ti_loaded);
		close(gpu);
	}
}
