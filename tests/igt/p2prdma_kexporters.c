// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma with the kernel's own exporters (udmabuf, the system dma-heap,
 * vgem through PRIME): none is dynamic, so regions are pinned at
 * registration; data moved by the device must show through the buffer's
 * own CPU mapping, bracketed by DMA_BUF_IOCTL_SYNC as the dma-buf contract
 * asks. Under swiotlb=force only the system heap syncs the NIC's mapping
 * there (6.12's and 7.3's udmabuf sync only their own misc device's
 * mapping; vgem's PRIME ops sync nothing): the subtests of the other two
 * that move data skip there, saying so.
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
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <xf86drm.h>
#include <drm_mode.h>

#include "igt_subset.h"
#include "p2prdma.h"
#include "p2pbuf_sync.h"

#define assert_eq_u64(a, b) \
	igt_assert_f((uint64_t)(a) == (uint64_t)(b), "%s = %llu, expected %llu\n", \
		     #a, (unsigned long long)(a), (unsigned long long)(b))

#define NPAGES 4

static int fd = -1;
static uint32_t base;
static int pg;

struct kbuf {
	int dmabuf;
	uint8_t *cpu;
	size_t size;
	int keep;	/* another fd to close (memfd, DRM) */
};

static uint32_t live_regions(void)
{
	struct p2prdma_device_info info = {};

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
	return info.live_regions;
}

static uint32_t reg_user(void *addr, uint64_t len)
{
	struct p2prdma_reg_user_mr r = {
		.addr = (uintptr_t)addr, .length = len,
		.access = P2PRDMA_ACCESS_ALL,
	};

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_REG_USER_MR, &r), 0);
	return r.handle;
}

static int __reg_dmabuf(int buf, uint64_t off, uint64_t len, uint64_t iova,
			uint32_t flags, uint32_t *handle)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .offset = off, .length = len, .iova = iova,
		.access = P2PRDMA_ACCESS_ALL, .flags = flags,
	};
	int ret = ioctl(fd, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);

	if (!ret)
		*handle = r.handle;
	return ret;
}

static void query(uint32_t h, struct p2prdma_query_mr *q)
{
	memset(q, 0, sizeof(*q));
	q->handle = h;
	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, q), 0);
}

static uint64_t transfer(uint32_t dst, uint64_t doff, uint32_t src,
			 uint64_t soff, uint64_t len)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .dst_offset = doff,
		.src_offset = soff, .length = len,
	};

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_TRANSFER, &t), 0);
	return t.bytes_via_system;
}

static void dereg(uint32_t h)
{
	struct p2prdma_dereg_mr d = { .handle = h };

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEREG_MR, &d), 0);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

static void kbuf_put(struct kbuf *b)
{
	munmap(b->cpu, b->size);
	close(b->dmabuf);
	if (b->keep >= 0)
		close(b->keep);
}

static struct kbuf udmabuf_new(size_t size)
{
	struct udmabuf_create create = {};
	struct kbuf b = { .size = size };
	int dev = open("/dev/udmabuf", O_RDWR);

	igt_require_f(dev >= 0, "no /dev/udmabuf (%s)\n", strerror(errno));
	b.keep = memfd_create("p2prdma", MFD_ALLOW_SEALING);
	igt_assert(b.keep >= 0);
	igt_assert_eq(ftruncate(b.keep, size), 0);
	igt_assert_eq(fcntl(b.keep, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	create.memfd = b.keep;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.size = size;
	b.dmabuf = ioctl(dev, UDMABUF_CREATE, &create);
	igt_assert_f(b.dmabuf >= 0, "UDMABUF_CREATE: %s\n", strerror(errno));
	close(dev);
	/* verify through the memfd: the pages udmabuf exports */
	b.cpu = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b.keep, 0);
	igt_assert(b.cpu != MAP_FAILED);
	return b;
}

static struct kbuf heap_new(size_t size)
{
	struct dma_heap_allocation_data alloc = {
		.len = size, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct kbuf b = { .size = size, .keep = -1 };
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

	igt_require_f(heap >= 0, "no system dma-heap (%s)\n", strerror(errno));
	igt_assert_eq(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc), 0);
	close(heap);
	b.dmabuf = alloc.fd;
	b.cpu = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b.dmabuf, 0);
	igt_assert(b.cpu != MAP_FAILED);
	return b;
}

static struct kbuf vgem_new(size_t size)
{
	struct drm_mode_create_dumb create = {
		.width = size / 4, .height = 1, .bpp = 32,
	};
	struct drm_mode_map_dumb map = {};
	struct kbuf b = { .size = size };

	b.keep = __drm_open_driver(DRIVER_VGEM);
	igt_require_f(b.keep >= 0, "vgem is not loaded\n");
	igt_assert_eq(drmIoctl(b.keep, DRM_IOCTL_MODE_CREATE_DUMB, &create), 0);
	igt_assert(create.size >= size);
	igt_assert_eq(drmPrimeHandleToFD(b.keep, create.handle,
					 DRM_CLOEXEC | DRM_RDWR, &b.dmabuf), 0);
	map.handle = create.handle;
	igt_assert_eq(drmIoctl(b.keep, DRM_IOCTL_MODE_MAP_DUMB, &map), 0);
	b.cpu = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b.keep,
		     map.offset);
	igt_assert(b.cpu != MAP_FAILED);
	return b;
}

/*
 * The exporter must make the NIC's DMA visible to the CPU. Under
 * swiotlb=force the NIC reads and writes a bounce buffer that only the
 * exporter's begin/end_cpu_access can sync with the pages, and 6.12's
 * udmabuf (begin_cpu_udmabuf(): ubuf->sg, a mapping for its misc device)
 * and vgem (drm_gem_prime_dmabuf_ops: no CPU-access ops; maps and unmaps
 * with DMA_ATTR_SKIP_CPU_SYNC) never sync an importer's mapping: the
 * bytes stay in the bounce buffer.
 */
static void require_importer_syncs(const char *exporter, const char *how)
{
	igt_require_f(!p2p_swiotlb_forced(),
		      "booted with swiotlb=force and %s does not sync an importer's mapping (%s): the NIC's bytes never leave its bounce buffer\n",
		      exporter, how);
}

#define UDMABUF_NO_SYNC "its begin/end_cpu_access sync only its own misc device's mapping"
#define VGEM_NO_SYNC "drm_gem_prime_dmabuf_ops: no begin/end_cpu_access, maps with DMA_ATTR_SKIP_CPU_SYNC"

/*
 * Register, check pinned state, move data both ways, deregister.
 *
 * Every DMA_BUF_IOCTL_SYNC here is read-write: udmabuf maps its own table
 * at the first sync with that sync's direction and syncs later ones with
 * theirs, which DMA-API debugging reports ("syncs DMA memory with
 * different direction": mapped DMA_TO_DEVICE, synced DMA_FROM_DEVICE).
 */
static void exercise(struct kbuf *b)
{
	size_t size = b->size;
	uint8_t *u = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct p2prdma_query_mr q;
	uint32_t hu, hb, hs;
	uint64_t len = pg + 50;

	igt_assert(u != MAP_FAILED);
	hu = reg_user(u, size);

	igt_assert_eq(__reg_dmabuf(b->dmabuf, 0, size, 0, 0, &hb), 0);
	igt_assert_eq_u32(live_regions(), base + 2);
	query(hb, &q);
	igt_assert_eq_u32(q.flags & (P2PRDMA_MR_DMABUF | P2PRDMA_MR_PINNED |
				     P2PRDMA_MR_INVALIDATED),
			  P2PRDMA_MR_DMABUF | P2PRDMA_MR_PINNED);
	igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_SYSTEM);
	igt_assert_eq_u32(q.map_count, 1);
	igt_assert(q.num_segments >= 1 && q.num_segments <= NPAGES);
	assert_eq_u64(q.length, size);

	/* user -> dma-buf, unaligned, crossing a page */
	fill(u, size, 3);
	p2p_cpu_begin(b->dmabuf, DMA_BUF_SYNC_RW);
	memset(b->cpu, 0, size);
	p2p_cpu_end(b->dmabuf, DMA_BUF_SYNC_RW);
	assert_eq_u64(transfer(hb, 100, hu, 7, len), len);
	p2p_cpu_begin(b->dmabuf, DMA_BUF_SYNC_RW);
	igt_assert_f(!memcmp(b->cpu + 100, u + 7, len),
		     "the CPU does not read what the NIC wrote into the dma-buf\n");
	igt_assert_eq(b->cpu[99], 0);
	igt_assert_eq(b->cpu[100 + len], 0);
	p2p_cpu_end(b->dmabuf, DMA_BUF_SYNC_RW);

	/* dma-buf -> user */
	p2p_cpu_begin(b->dmabuf, DMA_BUF_SYNC_RW);
	fill(b->cpu, size, 99);
	p2p_cpu_end(b->dmabuf, DMA_BUF_SYNC_RW);
	memset(u, 0, size);
	assert_eq_u64(transfer(hu, 0, hb, 2 * pg + 5, pg), pg);
	p2p_cpu_begin(b->dmabuf, DMA_BUF_SYNC_RW);
	igt_assert_f(!memcmp(u, b->cpu + 2 * pg + 5, pg),
		     "the NIC did not read what the CPU wrote into the dma-buf\n");
	p2p_cpu_end(b->dmabuf, DMA_BUF_SYNC_RW);

	query(hb, &q);
	igt_assert_eq_u32(q.invalidate_count, 0);
	igt_assert_eq_u32(q.map_count, 1);
	/*
	 * One registration of a buffer at a time: exporters that map with CPU
	 * syncs cannot map the same pages twice for one device under
	 * DMA-API debugging.
	 */
	dereg(hb);

	/* a sub-range registration addresses from its own start */
	igt_assert_eq(__reg_dmabuf(b->dmabuf, pg + 16, 2 * pg, 0x7000 + 16, 0,
				   &hs), 0);
	memset(u, 0, size);
	transfer(hu, 0, hs, 0, 2 * pg);
	p2p_cpu_begin(b->dmabuf, DMA_BUF_SYNC_RW);
	igt_assert(!memcmp(u, b->cpu + pg + 16, 2 * pg));
	p2p_cpu_end(b->dmabuf, DMA_BUF_SYNC_RW);

	/* explicitly pinned is the same thing */
	dereg(hs);
	igt_assert_eq(__reg_dmabuf(b->dmabuf, 0, pg, 0, P2PRDMA_REG_PINNED,
				   &hs), 0);
	query(hs, &q);
	igt_assert(q.flags & P2PRDMA_MR_PINNED);
	igt_assert_eq_u32(q.map_count, 1);

	dereg(hs);
	dereg(hu);
	igt_assert_eq_u32(live_regions(), base);
	munmap(u, size);
}

igt_main
{
	igt_fixture {
		pg = getpagesize();
		fd = open("/dev/p2prdma0", O_RDWR);
		igt_require_f(fd >= 0, "no /dev/p2prdma0\n");
		base = live_regions();
	}

	igt_describe("udmabuf: pinned, data through the memfd");
	igt_subtest("udmabuf") {
		struct kbuf b;

		require_importer_syncs("udmabuf", UDMABUF_NO_SYNC);
		b = udmabuf_new(NPAGES * pg);

		exercise(&b);
		kbuf_put(&b);
	}

	igt_describe("system dma-heap: pinned, data through the dma-buf mmap");
	igt_subtest("system-heap") {
		struct kbuf b = heap_new(NPAGES * pg);

		exercise(&b);
		kbuf_put(&b);
	}

	igt_describe("vgem dumb buffer via PRIME: data through the GEM mmap");
	igt_subtest("vgem") {
		struct kbuf b;

		require_importer_syncs("vgem", VGEM_NO_SYNC);
		b = vgem_new(NPAGES * pg);

		exercise(&b);
		kbuf_put(&b);
	}

	igt_describe("the region outlives the dma-buf fd");
	igt_subtest("close-dmabuf-fd") {
		struct kbuf b;
		uint8_t *u;
		uint32_t hb, hu;

		/* and the fd to sync with is gone: the memfd shows the pages */
		require_importer_syncs("udmabuf", UDMABUF_NO_SYNC);
		b = udmabuf_new(NPAGES * pg);
		u = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		hu = reg_user(u, pg);
		igt_assert_eq(__reg_dmabuf(b.dmabuf, 0, b.size, 0, 0, &hb), 0);
		close(b.dmabuf);
		b.dmabuf = -1;
		fill(u, pg, 42);
		transfer(hb, pg, hu, 0, pg);
		igt_assert(!memcmp(b.cpu + pg, u, pg));
		dereg(hb);
		dereg(hu);
		munmap(u, pg);
		kbuf_put(&b);
	}

	igt_describe("unbinding the NIC with regions registered detaches cleanly");
	igt_subtest("unbind") {
		struct kbuf b = udmabuf_new(NPAGES * pg);
		struct p2prdma_device_info info = {};
		uint8_t *u = mmap(NULL, pg, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char addr[32];
		uint32_t hb;
		int drv;

		igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
		snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x",
			 info.pci_domain, info.pci_bus, info.pci_devfn >> 3,
			 info.pci_devfn & 7);
		drv = open("/sys/bus/pci/drivers/p2prdma/unbind", O_WRONLY);
		igt_require_f(drv >= 0, "cannot unbind p2prdma\n");

		reg_user(u, pg);
		igt_assert_eq(__reg_dmabuf(b.dmabuf, 0, b.size, 0, 0, &hb), 0);
		igt_assert_eq(write(drv, addr, strlen(addr)),
			      (int)strlen(addr));
		close(drv);
		/* the regions are gone; the file only says so */
		p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info),
				 ENODEV);
		close(fd);
		fd = -1;
		kbuf_put(&b);
		munmap(u, pg);

		drv = open("/sys/bus/pci/drivers/p2prdma/bind", O_WRONLY);
		igt_assert(drv >= 0);
		igt_assert_eq(write(drv, addr, strlen(addr)),
			      (int)strlen(addr));
		close(drv);
		for (int i = 0; i < 100 && fd < 0; i++) {
			fd = open("/dev/p2prdma0", O_RDWR);
			if (fd < 0)
				usleep(10000);
		}
		igt_assert(fd >= 0);
		igt_assert_eq_u32(live_regions(), 0);
		base = 0;
	}

	igt_fixture {
		igt_assert_eq_u32(live_regions(), base);
		close(fd);
	}
}
