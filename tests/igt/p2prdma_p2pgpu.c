// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma importing p2pgpu VRAM buffers: peer-to-peer where the topology
 * allows it, staged otherwise; move_notify on eviction and re-map on next
 * use; pinned registrations; and teardown by a killed process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <linux/dma-buf.h>

#include "igt_subset.h"
#include "p2pgpu_igt.h"
#include "p2prdma.h"

#define assert_eq_u64(a, b) \
	igt_assert_f((uint64_t)(a) == (uint64_t)(b), "%s = %llu, expected %llu\n", \
		     #a, (unsigned long long)(a), (unsigned long long)(b))

#define NPAGES 4

static int fd = -1, gpu = -1;
static uint32_t base;
static int pg;
static uint32_t caps;
/* expected backing of a fresh VRAM buffer: 0 = topology not known */
static uint32_t expect_backing;

struct vbuf {
	uint32_t handle;
	int dmabuf;
	uint8_t *cpu;
	size_t size;
};

/*
 * The p2pgpu device with the lowest PCI address. In multi that is the GPU
 * behind the switch with p2prdma0 (tests/vm/topologies.sh), whichever card
 * number it has: a GPU re-bound under an open file comes back under a new
 * one.
 */
static int open_first_gpu_by_address(void)
{
	drmDevicePtr devs[16], best = NULL;
	int n = drmGetDevices2(0, devs, 16), fd = -1;

	for (int i = 0; i < n; i++) {
		drmPciBusInfoPtr b = devs[i]->businfo.pci;

		if (devs[i]->bustype != DRM_BUS_PCI ||
		    devs[i]->deviceinfo.pci->vendor_id != 0x1af4 ||
		    devs[i]->deviceinfo.pci->device_id != 0x1110 ||
		    !(devs[i]->available_nodes & (1 << DRM_NODE_PRIMARY)))
			continue;
		if (!best || b->domain < best->businfo.pci->domain ||
		    (b->domain == best->businfo.pci->domain &&
		     (b->bus << 8 | b->dev << 3 | b->func) <
		     (best->businfo.pci->bus << 8 | best->businfo.pci->dev << 3 |
		      best->businfo.pci->func)))
			best = devs[i];
	}
	if (best)
		fd = open(best->nodes[DRM_NODE_PRIMARY], O_RDWR | O_CLOEXEC);
	if (n > 0)
		drmFreeDevices(devs, n);
	return fd;
}

static uint32_t live_regions(int f)
{
	struct p2prdma_device_info info = {};

	igt_assert_eq(ioctl(f, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
	return info.live_regions;
}

static uint32_t reg_user(int f, void *addr, uint64_t len)
{
	struct p2prdma_reg_user_mr r = {
		.addr = (uintptr_t)addr, .length = len,
		.access = P2PRDMA_ACCESS_ALL,
	};

	igt_assert_eq(ioctl(f, P2PRDMA_IOCTL_REG_USER_MR, &r), 0);
	return r.handle;
}

static uint32_t reg_dmabuf(int f, int buf, uint64_t off, uint64_t len,
			   uint32_t flags)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .offset = off, .length = len, .iova = off,
		.access = P2PRDMA_ACCESS_ALL, .flags = flags,
	};

	igt_assert_f(ioctl(f, P2PRDMA_IOCTL_REG_DMABUF_MR, &r) == 0,
		     "REG_DMABUF_MR: %s\n", strerror(errno));
	return r.handle;
}

static void query(uint32_t h, struct p2prdma_query_mr *q)
{
	memset(q, 0, sizeof(*q));
	q->handle = h;
	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, q), 0);
}

static int __transfer(int f, uint32_t dst, uint64_t doff, uint32_t src,
		      uint64_t soff, uint64_t len, uint64_t *via)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .dst_offset = doff,
		.src_offset = soff, .length = len,
	};
	int ret = ioctl(f, P2PRDMA_IOCTL_TRANSFER, &t);

	if (via)
		*via = t.bytes_via_system;
	return ret;
}

static uint64_t transfer(uint32_t dst, uint64_t doff, uint32_t src,
			 uint64_t soff, uint64_t len)
{
	uint64_t via = 0;

	igt_assert_f(__transfer(fd, dst, doff, src, soff, len, &via) == 0,
		     "TRANSFER: %s\n", strerror(errno));
	return via;
}

static void dereg(uint32_t h)
{
	struct p2prdma_dereg_mr d = { .handle = h };

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEREG_MR, &d), 0);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 29 + seed);
}

static struct vbuf vram_new(size_t size)
{
	struct vbuf b = { .size = size };

	b.handle = p2pgpu_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
	b.dmabuf = p2pgpu_export(gpu, b.handle);
	b.cpu = p2pgpu_mmap(gpu, b.handle, size);
	return b;
}

static void vram_put(struct vbuf *b)
{
	munmap(b->cpu, b->size);
	if (b->dmabuf >= 0)
		close(b->dmabuf);
	p2pgpu_gem_close(gpu, b->handle);
}

static void dma_buf_sync(int buf, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	igt_assert_f(ioctl(buf, DMA_BUF_IOCTL_SYNC, &s) == 0,
		     "DMA_BUF_IOCTL_SYNC %#llx: %s\n",
		     (unsigned long long)flags, strerror(errno));
}

static void *upages(size_t n)
{
	void *p = mmap(NULL, n * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	igt_assert(p != MAP_FAILED);
	return p;
}

/* user -> region -> user through the device, checked through the GPU mmap */
static uint64_t round_trip(struct vbuf *b, uint32_t hb, uint32_t hu,
			   uint8_t *u, unsigned int seed)
{
	uint64_t len = 2 * pg, via;

	/*
	 * CPU access through the GEM mapping is bracketed by the dma-buf's
	 * sync (same pages): staged mappings may be bounce buffers.
	 */
	fill(u, len, seed);
	dma_buf_sync(b->dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	memset(b->cpu, 0, b->size);
	dma_buf_sync(b->dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	via = transfer(hb, pg, hu, 0, len);
	dma_buf_sync(b->dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	igt_assert(!memcmp(b->cpu + pg, u, len));
	igt_assert_eq(b->cpu[pg - 1], 0);

	fill(b->cpu, b->size, seed + 1);
	dma_buf_sync(b->dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	memset(u + len, 0, len);
	via += transfer(hu, len, hb, 10, len);
	igt_assert(!memcmp(u + len, b->cpu + 10, len));
	return via;
}

static void check_backing(struct p2prdma_query_mr *q, uint64_t via,
			  uint64_t moved)
{
	if (expect_backing)
		igt_assert_eq_u32(q->backing, expect_backing);
	if (q->backing == P2PRDMA_BACKING_PEER)
		assert_eq_u64(via, 0);
	else
		assert_eq_u64(via, moved);
}

/*
 * The placement a registered buffer is not in: a p2p importer keeps it in
 * VRAM, a staged one (rootports, stock) moves it to system memory.
 */
static uint32_t away(void)
{
	return expect_backing == P2PRDMA_BACKING_SYSTEM ?
	       P2PGPU_PLACEMENT_VRAM : P2PGPU_PLACEMENT_SYSTEM;
}

igt_main
{
	igt_fixture {
		struct drm_p2pgpu_device_query dq = {};
		const char *topo = getenv("P2PBUF_TOPOLOGY");

		pg = getpagesize();
		fd = open("/dev/p2prdma0", O_RDWR);
		igt_require_f(fd >= 0, "no /dev/p2prdma0\n");
		base = live_regions(fd);
		gpu = open_first_gpu_by_address();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		igt_require_f(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY,
				       &dq) == 0,
			      "the DRM device is not p2pgpu\n");
		caps = dq.caps;
		/* multi: card0 and p2prdma0 are the pair behind the switch */
		if (topo && (!strcmp(topo, "switch") || !strcmp(topo, "multi") ||
			     !strcmp(topo, "hostbridge") ||
			     !strcmp(topo, "iommu")))
			expect_backing = P2PRDMA_BACKING_PEER;
		else if (topo && (!strcmp(topo, "rootports") ||
				  !strcmp(topo, "stock")))
			expect_backing = P2PRDMA_BACKING_SYSTEM;
		igt_info("topology %s, caps %#x\n", topo ?: "?", caps);
	}

	igt_describe("a fresh VRAM buffer maps in one segment, PEER where the topology allows");
	igt_subtest("vram-transfer") {
		struct vbuf b = vram_new(NPAGES * pg);
		uint8_t *u = upages(4);
		struct p2prdma_query_mr q;
		uint32_t hb, hu;
		uint64_t via;

		hu = reg_user(fd, u, 4 * pg);
		hb = reg_dmabuf(fd, b.dmabuf, 0, b.size, 0);
		query(hb, &q);
		igt_assert_eq_u32(q.flags & (P2PRDMA_MR_DMABUF |
					     P2PRDMA_MR_PINNED),
				  P2PRDMA_MR_DMABUF);
		/* mapped lazily, on first use */
		igt_assert_eq_u32(q.map_count, 0);
		igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_UNMAPPED);

		via = round_trip(&b, hb, hu, u, 1);
		query(hb, &q);
		igt_assert_eq_u32(q.map_count, 1);
		igt_assert_eq_u32(q.num_segments, 1);
		check_backing(&q, via, 4 * pg);
		/* only the DMA layer marks bus addresses: informational */
		igt_info("backing %u, %s\n", q.backing,
			 q.flags & P2PRDMA_MR_BUS_ADDR ? "bus addresses" :
			 "DMA addresses");

		dereg(hb);
		dereg(hu);
		vram_put(&b);
		munmap(u, 4 * pg);
	}

	igt_describe("eviction: move_notify invalidates, the next transfer re-maps once");
	igt_subtest("evict-remap") {
		struct vbuf b = vram_new(NPAGES * pg);
		uint8_t *u = upages(4);
		struct p2prdma_query_mr q;
		uint32_t hb, hu;

		hu = reg_user(fd, u, 4 * pg);
		hb = reg_dmabuf(fd, b.dmabuf, 0, b.size, 0);
		round_trip(&b, hb, hu, u, 5);
		query(hb, &q);
		igt_assert_eq_u32(q.map_count, 1);

		if (!(caps & P2PGPU_CAP_MOVE_NOTIFY)) {
			/* the core pinned the buffer at map: it cannot move */
			igt_assert_neq(__p2pgpu_migrate(gpu, b.handle, away()), 0);
			query(hb, &q);
			igt_assert_eq_u32(q.invalidate_count, 0);
			igt_assert(!(q.flags & P2PRDMA_MR_INVALIDATED));
		} else {
			uint64_t via;

			igt_assert_eq(__p2pgpu_migrate(gpu, b.handle, away()), 0);
			query(hb, &q);
			igt_assert(q.flags & P2PRDMA_MR_INVALIDATED);
			igt_assert_eq_u32(q.invalidate_count, 1);
			igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_UNMAPPED);

			/*
			 * A p2p importer maps the buffer where it now is
			 * (system memory); a staged one brings it back there.
			 */
			via = round_trip(&b, hb, hu, u, 9);
			query(hb, &q);
			igt_assert_eq_u32(q.map_count, 2);
			igt_assert(!(q.flags & P2PRDMA_MR_INVALIDATED));
			igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_SYSTEM);
			assert_eq_u64(via, 4 * pg);

			/* and into VRAM */
			igt_assert_eq(__p2pgpu_migrate(gpu, b.handle,
						P2PGPU_PLACEMENT_VRAM), 0);
			query(hb, &q);
			igt_assert_eq_u32(q.invalidate_count, 2);
			via = round_trip(&b, hb, hu, u, 13);
			query(hb, &q);
			igt_assert_eq_u32(q.map_count, 3);
			check_backing(&q, via, 4 * pg);
		}

		/* no move, no re-map: 100 transfers, as the issue asks */
		query(hb, &q);
		{
			uint32_t before = q.map_count;
			uint32_t inv_before = q.invalidate_count;

			for (int i = 0; i < 100; i++) {
				u[0] = (uint8_t)i;
				transfer(hb, 0, hu, 0, 64);
				dma_buf_sync(b.dmabuf, DMA_BUF_SYNC_START |
					     DMA_BUF_SYNC_READ);
				igt_assert_eq(b.cpu[0], (uint8_t)i);
				dma_buf_sync(b.dmabuf, DMA_BUF_SYNC_END |
					     DMA_BUF_SYNC_READ);
			}
			query(hb, &q);
			igt_assert_eq_u32(q.map_count, before);
			igt_assert_eq_u32(q.invalidate_count, inv_before);
			igt_info("maps %u, invalidations %u, segments %u, backing %u (%s); 100 transfers without a move re-mapped %u times\n",
				 q.map_count, q.invalidate_count,
				 q.num_segments, q.backing,
				 q.flags & P2PRDMA_MR_BUS_ADDR ?
				 "bus addresses" : "DMA addresses",
				 q.map_count - before);
		}

		dereg(hb);
		dereg(hu);
		vram_put(&b);
		munmap(u, 4 * pg);
	}

	igt_describe("a pinned registration keeps the buffer in place");
	igt_subtest("pinned") {
		struct vbuf b = vram_new(NPAGES * pg);
		uint8_t *u = upages(4);
		struct p2prdma_query_mr q;
		uint32_t hb, hu;
		uint64_t via;

		hu = reg_user(fd, u, 4 * pg);
		hb = reg_dmabuf(fd, b.dmabuf, 0, b.size, P2PRDMA_REG_PINNED);
		query(hb, &q);
		igt_assert(q.flags & P2PRDMA_MR_PINNED);
		igt_assert_eq_u32(q.map_count, 1);
		p2p_assert_errno(__p2pgpu_migrate(gpu, b.handle, away()), EBUSY);
		via = round_trip(&b, hb, hu, u, 21);
		query(hb, &q);
		igt_assert_eq_u32(q.invalidate_count, 0);
		igt_assert_eq_u32(q.map_count, 1);
		check_backing(&q, via, 4 * pg);
		dereg(hb);
		/* unpinned again: it may move */
		if (caps & P2PGPU_CAP_MOVE_NOTIFY)
			igt_assert_eq(__p2pgpu_migrate(gpu, b.handle, away()), 0);
		dereg(hu);
		vram_put(&b);
		munmap(u, 4 * pg);
	}

	igt_describe("closing the dma-buf fd keeps the region working");
	igt_subtest("close-dmabuf-fd") {
		struct vbuf b = vram_new(NPAGES * pg);
		uint8_t *u = upages(4);
		uint32_t hb, hu;

		hu = reg_user(fd, u, 4 * pg);
		hb = reg_dmabuf(fd, b.dmabuf, pg, 2 * pg, 0);
		close(b.dmabuf);
		b.dmabuf = -1;
		fill(u, pg, 77);
		transfer(hb, 0, hu, 0, pg);
		/* a new fd of the same dma-buf, for the CPU access bracket */
		b.dmabuf = p2pgpu_export(gpu, b.handle);
		dma_buf_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		igt_assert(!memcmp(b.cpu + pg, u, pg));
		dma_buf_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		dereg(hb);
		dereg(hu);
		vram_put(&b);
		munmap(u, 4 * pg);
	}

	igt_describe("a SIGKILLed process with regions and a transfer in flight leaks nothing");
	igt_subtest("sigkill") {
		struct vbuf b = vram_new(NPAGES * pg);
		struct vbuf b2 = vram_new(pg);
		struct timespec ts = { 0, 300 * 1000 * 1000 };
		uint32_t before = live_regions(fd);
		int ready[2], status;
		pid_t pid;
		char c;

		igt_assert_eq(pipe(ready), 0);
		pid = fork();
		igt_assert(pid >= 0);
		if (pid == 0) {
			int f = open("/dev/p2prdma0", O_RDWR);
			uint8_t *u = upages(4);
			uint32_t hu, hb;

			hu = reg_user(f, u, 4 * pg);
			hb = reg_dmabuf(f, b.dmabuf, 0, b.size, 0);
			reg_dmabuf(f, b2.dmabuf, 0, pg, P2PRDMA_REG_PINNED);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				__transfer(f, hb, 0, hu, 0, 4 * pg, NULL);
		}
		close(ready[1]);
		igt_assert_eq(read(ready[0], &c, 1), 1);
		igt_assert_eq_u32(live_regions(fd), before + 3);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		igt_assert_eq(waitpid(pid, &status, 0), pid);
		igt_assert(WIFSIGNALED(status));
		close(ready[0]);
		igt_assert_eq_u32(live_regions(fd), before);
		/* the buffer is free to move again */
		if (caps & P2PGPU_CAP_MOVE_NOTIFY)
			igt_assert_eq(__p2pgpu_migrate(gpu, b2.handle, away()), 0);
		vram_put(&b2);
		vram_put(&b);
	}

	igt_describe("one staged buffer registered nine times (nine attachments of one NIC, all mapped at once) makes no DMA-API overlap warning, and each region's DMA is what the CPU reads through the dma-buf, bracketed by DMA_BUF_IOCTL_SYNC");
	igt_subtest("same-buffer-many-regions") {
		enum { MANY = 9 };	/* DMA-API debugging warns past 7 overlaps */
		uint32_t h[MANY], hu;
		struct p2prdma_query_mr q;
		struct vbuf b = { .size = pg };
		uint8_t *u = upages(1), *map;
		unsigned int i;
		int kmsg;

		/* system memory: staged for every importer, in every topology */
		b.handle = p2pgpu_create(gpu, pg, P2PGPU_PLACEMENT_SYSTEM);
		b.dmabuf = p2pgpu_export(gpu, b.handle);
		b.cpu = p2pgpu_mmap(gpu, b.handle, pg);
		map = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED,
			   b.dmabuf, 0);
		igt_assert_f(map != MAP_FAILED, "dma-buf mmap: %s\n",
			     strerror(errno));
		/* the kernel log from here on: DMA-API debugging's verdict */
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
		if (kmsg >= 0)
			lseek(kmsg, 0, SEEK_END);

		hu = reg_user(fd, u, pg);
		for (i = 0; i < MANY; i++)
			h[i] = reg_dmabuf(fd, b.dmabuf, 0, pg, 0);
		/* a transfer into each maps it; all nine stay mapped */
		for (i = 0; i < MANY; i++) {
			fill(u, pg, 100 + i);
			transfer(h[i], 0, hu, 0, pg);
			dma_buf_sync(b.dmabuf, DMA_BUF_SYNC_START |
				     DMA_BUF_SYNC_READ);
			igt_assert_f(!memcmp(map, u, pg),
				     "region %u of %u: the CPU does not read what the NIC wrote (byte 0: %#x, want %#x)\n",
				     i + 1, MANY, map[0], u[0]);
			dma_buf_sync(b.dmabuf, DMA_BUF_SYNC_END |
				     DMA_BUF_SYNC_READ);
		}
		for (i = 0; i < MANY; i++) {
			query(h[i], &q);
			igt_assert_f(q.backing == P2PRDMA_BACKING_SYSTEM,
				     "region %u: backing %u, want system (%u)\n",
				     i + 1, q.backing, P2PRDMA_BACKING_SYSTEM);
		}

		if (kmsg >= 0) {
			char line[1024];
			ssize_t n;

			while ((n = read(kmsg, line, sizeof(line) - 1)) > 0 ||
			       (n < 0 && errno == EPIPE)) {
				if (n <= 0)
					continue;
				line[n] = 0;
				igt_assert_f(!strstr(line, "overlapping mappings"),
					     "DMA-API debugging: %s", line);
			}
			close(kmsg);
		}

		for (i = 0; i < MANY; i++)
			dereg(h[i]);
		dereg(hu);
		munmap(map, pg);
		munmap(u, pg);
		vram_put(&b);
	}

	igt_describe("GEM_QUERY fills every attachment the caller has room for, past 1024 too");
	igt_subtest("query-many-attachments") {
		enum { MANY = 1100 };
		struct vbuf b = vram_new(pg);
		struct drm_p2pgpu_attachment_info *infos;
		struct drm_p2pgpu_gem_query q;
		uint32_t *h = calloc(MANY, sizeof(*h));
		unsigned int i, n;

		igt_assert(h);
		/* each dynamic registration is one attachment of the dma-buf */
		for (i = 0; i < MANY; i++)
			h[i] = reg_dmabuf(fd, b.dmabuf, 0, pg, 0);

		infos = calloc(2 * MANY, sizeof(*infos));
		igt_assert(infos);
		n = p2pgpu_query(gpu, b.handle, &q, infos, 2 * MANY);
		igt_assert_eq_u32(n, MANY);
		for (i = 0; i < 2 * MANY; i++)
			igt_assert_f(i < MANY ? infos[i].importer[0] != 0 :
						infos[i].importer[0] == 0,
				     "attachment %u of %u: %s (capacity %u)\n", i,
				     MANY, i < MANY ? "not filled" :
				     "written past the count", 2 * MANY);

		/* a smaller capacity: exactly that many, the true count back */
		memset(infos, 0, 2 * MANY * sizeof(*infos));
		n = p2pgpu_query(gpu, b.handle, &q, infos, MANY - 1);
		igt_assert_eq_u32(n, MANY);
		igt_assert(infos[MANY - 2].importer[0] != 0);
		igt_assert(infos[MANY - 1].importer[0] == 0);

		for (i = 0; i < MANY; i++)
			dereg(h[i]);
		free(infos);
		free(h);
		vram_put(&b);
	}

	igt_fixture {
		igt_assert_eq_u32(live_regions(fd), base);
		close(gpu);
		close(fd);
	}
}
