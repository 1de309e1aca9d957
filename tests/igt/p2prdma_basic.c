// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma basics: device info, user memory regions, transfers between them,
 * and the exact errno of every bad input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/udmabuf.h>

#include "igt_subset.h"
#include "p2prdma.h"

/* igt_subset.h's igt_assert_eq_u64 prints uint64_t with %llx: avoid it */
#define assert_eq_u64(a, b) \
	igt_assert_f((uint64_t)(a) == (uint64_t)(b), "%s = %llu, expected %llu\n", \
		     #a, (unsigned long long)(a), (unsigned long long)(b))

static int pg;

static int rdma_open(void)
{
	int fd = open("/dev/p2prdma0", O_RDWR);

	igt_require_f(fd >= 0, "no /dev/p2prdma0 (%s)\n", strerror(errno));
	return fd;
}

static uint32_t live_regions(int fd)
{
	struct p2prdma_device_info info = {};

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
	return info.live_regions;
}

static int __reg_user(int fd, void *addr, uint64_t len, uint32_t access,
		      uint32_t *handle)
{
	struct p2prdma_reg_user_mr r = {
		.addr = (uintptr_t)addr, .length = len, .access = access,
	};
	int ret = ioctl(fd, P2PRDMA_IOCTL_REG_USER_MR, &r);

	if (!ret && handle)
		*handle = r.handle;
	return ret;
}

static uint32_t reg_user(int fd, void *addr, uint64_t len)
{
	uint32_t h = 0;
	int ret = __reg_user(fd, addr, len, P2PRDMA_ACCESS_ALL, &h);

	igt_assert_f(ret == 0 && h != 0,
		     "REG_USER_MR(fd %d, %p, %llu): ret %d errno %d, handle %u\n",
		     fd, addr, (unsigned long long)len, ret, errno, h);
	return h;
}

static int dereg(int fd, uint32_t h)
{
	struct p2prdma_dereg_mr d = { .handle = h };

	return ioctl(fd, P2PRDMA_IOCTL_DEREG_MR, &d);
}

static int __transfer(int fd, uint32_t dst, uint64_t doff, uint32_t src,
		      uint64_t soff, uint64_t len, uint64_t *via_system)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .dst_offset = doff,
		.src_offset = soff, .length = len,
	};
	int ret = ioctl(fd, P2PRDMA_IOCTL_TRANSFER, &t);

	if (!ret && via_system)
		*via_system = t.bytes_via_system;
	return ret;
}

static int __reg_dmabuf(int fd, int buf, uint64_t off, uint64_t len,
			uint64_t iova, uint32_t access, uint32_t flags)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .offset = off, .length = len, .iova = iova,
		.access = access, .flags = flags,
	};

	return ioctl(fd, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);
}

static void *alloc_pages(size_t n)
{
	void *p = mmap(NULL, n * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	igt_assert(p != MAP_FAILED);
	return p;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static int make_udmabuf(size_t size)
{
	/* a real dma-buf for the argument checks that need one */
	struct udmabuf_create create;
	int memfd, dev, buf;

	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		return -1;
	memfd = memfd_create("p2prdma", MFD_ALLOW_SEALING);
	igt_assert(memfd >= 0);
	igt_assert_eq(ftruncate(memfd, size), 0);
	igt_assert_eq(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	create.memfd = memfd;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.offset = 0;
	create.size = size;
	buf = ioctl(dev, UDMABUF_CREATE, &create);
	close(memfd);
	close(dev);
	return buf;
}

static int transfer_timeout(int fd, uint32_t dst, uint32_t src, uint64_t len,
			    uint32_t timeout_ms)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .length = len,
		.timeout_ms = timeout_ms,
	};

	return ioctl(fd, P2PRDMA_IOCTL_TRANSFER, &t) ? -errno : 0;
}

/* the NIC's PCI function, and its bus-master bit from its config space */
static void nic_sysfs(int fd, char *dir, size_t len)
{
	struct p2prdma_device_info info = {};

	igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
	snprintf(dir, len, "/sys/bus/pci/devices/%04x:%02x:%02x.%x",
		 info.pci_domain, info.pci_bus, info.pci_devfn >> 3,
		 info.pci_devfn & 7);
}

static bool bus_master(const char *dir)
{
	char path[256];
	uint16_t cmd = 0;
	int cfg;

	snprintf(path, sizeof(path), "%s/config", dir);
	cfg = open(path, O_RDONLY);
	igt_assert(cfg >= 0);
	igt_assert_eq(pread(cfg, &cmd, 2, 4), 2);	/* PCI_COMMAND */
	close(cfg);
	return cmd & 0x4;				/* PCI_COMMAND_MASTER */
}

static void write_file(const char *path, const char *val)
{
	int f = open(path, O_WRONLY);

	igt_assert_f(f >= 0, "%s: %s\n", path, strerror(errno));
	igt_assert_eq(write(f, val, strlen(val)), (int)strlen(val));
	close(f);
}

static int fd = -1;
static uint32_t base;

igt_main
{
	igt_fixture {
		pg = getpagesize();
		fd = rdma_open();
		base = live_regions(fd);
	}

	igt_describe("DEVICE_INFO reports the edu function and its DMA mask");
	igt_subtest("device-info") {
		struct p2prdma_device_info info = {};

		igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
		igt_assert_eq_u32(info.dma_mask_bits, 64);
		info.flags = 1;
		p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, &info),
				 EINVAL);
		igt_info("NIC at %04x:%02x:%02x.%x\n", info.pci_domain,
			 info.pci_bus, info.pci_devfn >> 3, info.pci_devfn & 7);
	}

	igt_describe("user regions: register, query, deregister");
	igt_subtest("user-mr") {
		uint8_t *p = alloc_pages(3);
		struct p2prdma_query_mr q = {};
		uint32_t h = reg_user(fd, p + 100, 2 * pg);

		igt_assert_eq_u32(live_regions(fd), base + 1);
		q.handle = h;
		igt_assert_eq(ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, &q), 0);
		assert_eq_u64(q.length, 2 * pg);
		assert_eq_u64(q.iova, (uintptr_t)(p + 100));
		igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_SYSTEM);
		igt_assert_eq_u32(q.flags & (P2PRDMA_MR_DMABUF |
					     P2PRDMA_MR_INVALIDATED), 0);
		igt_assert(q.num_segments >= 1 && q.num_segments <= 3);
		igt_assert_eq_u32(q.map_count, 1);
		igt_assert_eq(dereg(fd, h), 0);
		igt_assert_eq_u32(live_regions(fd), base);
		munmap(p, 3 * pg);
	}

	igt_describe("DMA user -> user through the device, aligned and not");
	igt_subtest("transfer-user") {
		uint8_t *a = alloc_pages(3), *b = alloc_pages(3);
		uint32_t ha, hb;
		uint64_t via = 1;

		fill(a, 3 * pg, 7);
		memset(b, 0, 3 * pg);
		ha = reg_user(fd, a, 3 * pg);
		hb = reg_user(fd, b, 3 * pg);
		igt_assert_eq(__transfer(fd, hb, 0, ha, 0, 2 * pg, &via), 0);
		assert_eq_u64(via, 0);
		igt_assert(!memcmp(a, b, 2 * pg));
		igt_assert_eq(b[2 * pg], 0);

		/* unaligned on both sides, crossing pages differently */
		memset(b, 0, 3 * pg);
		igt_assert_eq(__transfer(fd, hb, 333, ha, 1001, pg + 77, NULL),
			      0);
		igt_assert(!memcmp(a + 1001, b + 333, pg + 77));
		igt_assert_eq(b[332], 0);
		igt_assert_eq(b[333 + pg + 77], 0);

		/* a region may copy within itself */
		igt_assert_eq(__transfer(fd, ha, 2 * pg, ha, 0, 100, NULL), 0);
		igt_assert(!memcmp(a, a + 2 * pg, 100));

		igt_assert_eq(dereg(fd, ha), 0);
		igt_assert_eq(dereg(fd, hb), 0);
		munmap(a, 3 * pg);
		munmap(b, 3 * pg);
	}

	igt_describe("REG_DMABUF_MR rejects every bad input with its errno");
	igt_subtest("reg-dmabuf-errors") {
		int pipefd[2], memfd, closed, buf;

		igt_assert_eq(pipe(pipefd), 0);
		p2p_assert_errno(__reg_dmabuf(fd, pipefd[0], 0, pg, 0,
					      P2PRDMA_ACCESS_ALL, 0), EINVAL);
		memfd = memfd_create("not-a-dmabuf", 0);
		igt_assert(memfd >= 0);
		igt_assert_eq(ftruncate(memfd, pg), 0);
		p2p_assert_errno(__reg_dmabuf(fd, memfd, 0, pg, 0,
					      P2PRDMA_ACCESS_ALL, 0), EINVAL);
		closed = dup(memfd);
		close(closed);
		p2p_assert_errno(__reg_dmabuf(fd, closed, 0, pg, 0,
					      P2PRDMA_ACCESS_ALL, 0), EBADF);
		p2p_assert_errno(__reg_dmabuf(fd, -1, 0, pg, 0,
					      P2PRDMA_ACCESS_ALL, 0), EBADF);
		close(pipefd[0]);
		close(pipefd[1]);
		close(memfd);

		buf = make_udmabuf(4 * pg);
		igt_require_f(buf >= 0, "no udmabuf to check ranges against\n");
		p2p_assert_errno(__reg_dmabuf(fd, buf, 0, 0, 0,
					      P2PRDMA_ACCESS_ALL, 0), EINVAL);
		p2p_assert_errno(__reg_dmabuf(fd, buf, 0, pg, 0, 1u << 7, 0),
				 EINVAL);
		p2p_assert_errno(__reg_dmabuf(fd, buf, 0, pg, 0,
					      P2PRDMA_ACCESS_ALL, 1u << 5),
				 EINVAL);
		p2p_assert_errno(__reg_dmabuf(fd, buf, 0, pg, 8,
					      P2PRDMA_ACCESS_ALL, 0), EINVAL);
		p2p_assert_errno(__reg_dmabuf(fd, buf, ~0ull - 10, pg,
					      (~0ull - 10) & (pg - 1),
					      P2PRDMA_ACCESS_ALL, 0),
				 EOVERFLOW);
		p2p_assert_errno(__reg_dmabuf(fd, buf, 0, pg, ~0ull & ~(pg - 1ull),
					      P2PRDMA_ACCESS_ALL, 0),
				 EOVERFLOW);
		p2p_assert_errno(__reg_dmabuf(fd, buf, pg, 4 * pg, 0,
					      P2PRDMA_ACCESS_ALL, 0), ERANGE);
		p2p_assert_errno(__reg_dmabuf(fd, buf, 5 * pg, pg, 0,
					      P2PRDMA_ACCESS_ALL, 0), ERANGE);
		/* exactly the whole buffer, at an unaligned iova, is fine */
		igt_assert_eq(__reg_dmabuf(fd, buf, 0, 4 * pg, 0x10000,
					   P2PRDMA_ACCESS_ALL, 0), 0);
		igt_assert_eq_u32(live_regions(fd), base + 1);
		close(buf);
		close(fd);
		fd = rdma_open();
		igt_assert_eq_u32(live_regions(fd), base);
	}

	igt_describe("REG_USER_MR, DEREG, QUERY, TRANSFER reject bad input");
	igt_subtest("errors") {
		uint8_t *p = alloc_pages(2);
		struct p2prdma_query_mr q = {};
		struct p2prdma_dereg_mr d = {};
		uint32_t h, ro, other_h;
		int other;

		p2p_assert_errno(__reg_user(fd, p, 0, P2PRDMA_ACCESS_ALL, NULL),
				 EINVAL);
		p2p_assert_errno(__reg_user(fd, p, pg, 1u << 9, NULL), EINVAL);
		{
			/* no flag is defined yet: any must be refused */
			struct p2prdma_reg_user_mr r = {
				.addr = (uintptr_t)p, .length = pg,
				.access = P2PRDMA_ACCESS_ALL, .flags = 1,
			};

			p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_REG_USER_MR,
					       &r), EINVAL);
			r.flags = 0;
			r.pad = 1;
			p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_REG_USER_MR,
					       &r), EINVAL);
		}
		p2p_assert_errno(__reg_user(fd, (void *)(uintptr_t)(~0ull - 5),
					    pg, P2PRDMA_ACCESS_ALL, NULL),
				 EOVERFLOW);
		munmap(p + pg, pg);
		p2p_assert_errno(__reg_user(fd, p, 2 * pg, P2PRDMA_ACCESS_ALL,
					    NULL), EFAULT);

		h = reg_user(fd, p, pg);
		igt_assert_eq(__reg_user(fd, p, pg, P2PRDMA_ACCESS_REMOTE_READ,
					 &ro), 0);

		q.handle = 0xdead;
		p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, &q), ENOENT);
		q.handle = h;
		q.pad = 1;
		p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, &q), EINVAL);
		d.handle = h;
		d.flags = 1;
		p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_DEREG_MR, &d), EINVAL);

		/* transfers */
		p2p_assert_errno(__transfer(fd, 0xdead, 0, h, 0, 8, NULL),
				 ENOENT);
		p2p_assert_errno(__transfer(fd, h, 0, 0xdead, 0, 8, NULL),
				 ENOENT);
		p2p_assert_errno(__transfer(fd, h, 0, h, 0, 0, NULL), EINVAL);
		p2p_assert_errno(__transfer(fd, ro, 0, h, 0, 8, NULL), EINVAL);
		p2p_assert_errno(__transfer(fd, h, 0, h, ~0ull - 2, 8, NULL),
				 EOVERFLOW);
		p2p_assert_errno(__transfer(fd, h, ~0ull - 2, h, 0, 8, NULL),
				 EOVERFLOW);
		p2p_assert_errno(__transfer(fd, h, pg - 4, h, 0, 8, NULL),
				 ERANGE);
		p2p_assert_errno(__transfer(fd, h, 0, h, 1, pg, NULL), ERANGE);
		{
			struct p2prdma_transfer t = {
				.dst_handle = h, .src_handle = h, .length = 8,
				.flags = 1,
			};

			p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_TRANSFER, &t),
					 EINVAL);
		}

		/* another file's handle is unknown here: it has 1..3, we 1..2 */
		other = rdma_open();
		reg_user(other, p, pg);
		reg_user(other, p, pg);
		other_h = reg_user(other, p, pg);
		igt_assert(other_h != h && other_h != ro);
		q.pad = 0;
		q.handle = other_h;
		p2p_assert_errno(ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, &q), ENOENT);
		p2p_assert_errno(__transfer(fd, h, 0, other_h, 0, 8, NULL),
				 ENOENT);
		p2p_assert_errno(dereg(fd, other_h), ENOENT);
		igt_assert_eq(ioctl(other, P2PRDMA_IOCTL_QUERY_MR, &q), 0);
		igt_assert_eq_u32(live_regions(fd), base + 5);
		close(other);
		igt_assert_eq_u32(live_regions(fd), base + 2);

		igt_assert_eq(dereg(fd, h), 0);
		p2p_assert_errno(dereg(fd, h), ENOENT);
		p2p_assert_errno(dereg(fd, 0), ENOENT);
		/* and 0 is still never handed out */
		h = reg_user(fd, p, pg);
		igt_assert_eq(dereg(fd, h), 0);
		igt_assert_eq(dereg(fd, ro), 0);
		igt_assert_eq_u32(live_regions(fd), base);
		munmap(p, pg);
	}

	igt_describe("closing the file frees its regions");
	igt_subtest("close-frees") {
		uint8_t *p = alloc_pages(4);
		int f2 = rdma_open();

		for (int i = 0; i < 4; i++)
			reg_user(f2, p + i * pg, pg);
		igt_assert_eq_u32(live_regions(fd), base + 4);
		close(f2);
		igt_assert_eq_u32(live_regions(fd), base);
		munmap(p, 4 * pg);
	}

	igt_describe("a SIGKILLed process with a transfer in flight leaks nothing");
	igt_subtest("sigkill") {
		struct timespec ts = { 0, 400 * 1000 * 1000 };
		int ready[2], status;
		pid_t pid;
		char c;

		igt_assert_eq(pipe(ready), 0);
		pid = fork();
		igt_assert(pid >= 0);
		if (pid == 0) {
			int f = open("/dev/p2prdma0", O_RDWR);
			uint8_t *a = alloc_pages(4), *b = alloc_pages(4);
			uint32_t ha = reg_user(f, a, 4 * pg);
			uint32_t hb = reg_user(f, b, 4 * pg);

			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				__transfer(f, hb, 0, ha, 0, 4 * pg, NULL);
		}
		close(ready[1]);
		igt_assert_eq(read(ready[0], &c, 1), 1);
		igt_assert_eq_u32(live_regions(fd), base + 2);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		igt_assert_eq(waitpid(pid, &status, 0), pid);
		igt_assert(WIFSIGNALED(status));
		close(ready[0]);
		igt_assert_eq_u32(live_regions(fd), base);
	}

	igt_describe("timeout_ms is bounded; a DMA that outlives it loses bus mastering until it is over, reaches no memory, and the NIC works again");
	igt_subtest("late-dma-quarantined") {
		const char *drain = "/sys/kernel/debug/p2prdma/p2prdma0/engine_drain_ms";
		uint8_t *src = alloc_pages(1), *dst = alloc_pages(1);
		struct timespec after = { 0, 400 * 1000 * 1000 };
		uint32_t hs, hd;
		char dir[128];
		int ret;

		nic_sysfs(fd, dir, sizeof(dir));
		hs = reg_user(fd, src, pg);
		hd = reg_user(fd, dst, pg);
		igt_require_f(access(drain, W_OK) == 0, "no %s\n", drain);
		fill(src, pg, 11);
		memset(dst, 0x5a, pg);

		igt_assert_eq(transfer_timeout(fd, hd, hs, 64,
					       P2PRDMA_TRANSFER_MAX_TIMEOUT_MS + 1),
			      -EINVAL);

		/* late, drained: the DMA ends inside the grace period */
		igt_assert_eq(transfer_timeout(fd, hd, hs, 64, 1), -ETIMEDOUT);
		igt_assert(bus_master(dir));

		/* late, no grace: bus mastering is taken away at once */
		write_file(drain, "0");
		ret = transfer_timeout(fd, hd, hs, 2048, 150);
		igt_assert_eq(ret, -ETIMEDOUT);
		igt_assert_f(!bus_master(dir),
			     "the engine still masters the bus after a DMA outlived its transfer\n");
		/* the late DMA (~100 ms) ends meanwhile, without reaching memory */
		nanosleep(&after, NULL);
		for (int i = 0; i < pg; i++)
			igt_assert_f(dst[i] == 0x5a,
				     "byte %d of the destination changed after its transfer had failed\n",
				     i);
		write_file(drain, "2000");

		/* back in service */
		igt_assert_eq(transfer_timeout(fd, hd, hs, pg, 0), 0);
		igt_assert(bus_master(dir));
		igt_assert(!memcmp(src, dst, pg));

		igt_assert_eq(dereg(fd, hs), 0);
		igt_assert_eq(dereg(fd, hd), 0);
		munmap(src, pg);
		munmap(dst, pg);
	}

	igt_fixture {
		igt_assert_eq_u32(live_regions(fd), base);
		close(fd);
	}
}
