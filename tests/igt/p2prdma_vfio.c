// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma importing from vfio-pci's dma-buf exporter
 * (VFIO_DEVICE_FEATURE_DMA_BUF, CONFIG_VFIO_PCI_DMABUF in 7.x): the kernel's
 * own MMIO exporter, page-less (P2PDMA provider, dma_buf_phys_vec_to_sgt()),
 * which accepts only importers that opt into peer2peer and can be revoked,
 * and which revokes by invalidate_mappings and then waits for every
 * importer to unmap.
 *
 * The VM hands a second ivshmem function to vfio-pci (tests/vm/topologies.sh
 * vfio_bar_dev, guest-run.sh hand_vfio); this test owns it through the
 * group/container API, exports its BAR2, registers it on p2prdma as
 * ibv_reg_dmabuf_mr would, and has the edu engine write it. Bytes are checked
 * through vfio's own region read (pread on the device fd), never through
 * p2prdma; the address the engine was programmed with is read from the edu's
 * registers. Revokes come from the vfio side: memory decode off in
 * PCI_COMMAND through vfio's config region, VFIO_DEVICE_RESET, and closing
 * the device. Each revoking call runs in a child process with a watchdog:
 * vfio waits for the importers' unmap (7.3.4: without a bound), so an importer
 * that does not unmap shows as a call that does not return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "igt_subset.h"
#include "p2p_test_importer.h"
#include "p2pbuf_common.h"
#include "p2pbuf_observe.h"

/* 7.x's uapi (include/uapi/linux/vfio.h); the build host's headers are older */
#ifndef VFIO_DEVICE_FEATURE_DMA_BUF
#define VFIO_DEVICE_FEATURE_DMA_BUF 11

struct vfio_region_dma_range {
	__u64 offset;
	__u64 length;
};

struct vfio_device_feature_dma_buf {
	__u32 region_index;
	__u32 open_flags;
	__u32 flags;
	__u32 nr_ranges;
	struct vfio_region_dma_range dma_ranges[];
};
#endif

#define VFIO_DRV		"/sys/bus/pci/drivers/vfio-pci"
#define BAR			VFIO_PCI_BAR2_REGION_INDEX	/* ivshmem's memory */
#define BACKGROUND		0xc3
/* vfio's revoke bound the contract names (dma-buf revoke, 7.1+) */
#define REVOKE_BOUND_S		1.0
/* a revoking call still blocked after this has an importer that never unmapped */
#define REVOKE_WATCHDOG_MS	10000
#define KMSG_TIMEOUT_LINE	"Timed out waiting for DMABUF unmap"

static int pg;
static int nic = -1, container = -1, group = -1;
static char vbdf[OBS_BDF_LEN], nic_bdf[OBS_BDF_LEN];
static uint64_t bar_start, bar_end;	/* BAR2's bus range, from sysfs */
static struct obs_nic nic_regs;
static unsigned int seed;

struct vdev {
	int fd;
	uint64_t bar_off, bar_size;	/* BAR2 region in the device fd */
	uint64_t cfg_off;		/* config region */
};

static void fill(uint8_t *p, size_t n, unsigned int s)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 29 + s * 11 + 5);
}

/* the ivshmem function bound to vfio-pci, or false */
static bool find_vfio_dev(char bdf[OBS_BDF_LEN])
{
	char bdfs[OBS_MAX_DEVS][OBS_BDF_LEN], path[PATH_MAX];
	int n = obs_find_pci(OBS_GPU_VENDOR, OBS_GPU_DEVICE, bdfs, OBS_MAX_DEVS);

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), VFIO_DRV "/%s", bdfs[i]);
		if (!access(path, F_OK))
			return obs_set_bdf(bdf, bdfs[i]) == 0;
	}
	return false;
}

static int iommu_group_of(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), OBS_PCI_DEVICES "/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	return atoi(strrchr(target, '/') + 1);
}

static void region_info(int fd, unsigned int index, uint64_t *off,
			uint64_t *size)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	igt_assert_f(ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0,
		     "VFIO_DEVICE_GET_REGION_INFO %u: %s\n", index, strerror(errno));
	*off = ri.offset;
	*size = ri.size;
}

/* PCI_COMMAND's memory decode, through vfio's config region */
static int set_memory_decode(int fd, uint64_t cfg_off, bool on)
{
	uint16_t cmd;

	if (pread(fd, &cmd, sizeof(cmd), cfg_off + PCI_COMMAND) != sizeof(cmd))
		return -errno;
	cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MEMORY;
	if (pwrite(fd, &cmd, sizeof(cmd), cfg_off + PCI_COMMAND) != sizeof(cmd))
		return -errno;
	return 0;
}

static struct vdev vdev_open(void)
{
	struct vdev v = {};
	uint64_t cfg_size;

	v.fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, vbdf);
	igt_assert_f(v.fd >= 0, "VFIO_GROUP_GET_DEVICE_FD %s: %s\n", vbdf,
		     strerror(errno));
	region_info(v.fd, BAR, &v.bar_off, &v.bar_size);
	region_info(v.fd, VFIO_PCI_CONFIG_REGION_INDEX, &v.cfg_off, &cfg_size);
	igt_assert_f(v.bar_size == bar_end - bar_start + 1,
		     "vfio's BAR2 region is %" PRIu64 " bytes, sysfs says %" PRIu64 "\n",
		     v.bar_size, bar_end - bar_start + 1);
	/*
	 * Decode survives a close of the device: a subtest that failed
	 * between its revoke and the re-enable must not fail the next ones.
	 */
	igt_assert_eq(set_memory_decode(v.fd, v.cfg_off, true), 0);
	return v;
}

static void vdev_close(struct vdev *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

/* BAR bytes through vfio's region read: the exporter's own path to them */
static void bar_read(struct vdev *v, uint64_t off, void *buf, size_t len)
{
	ssize_t n = pread(v->fd, buf, len, v->bar_off + off);

	igt_assert_f(n == (ssize_t)len, "vfio region read of BAR2 at %#" PRIx64
		     ": %zd (%s)\n", off, n, n < 0 ? strerror(errno) : "short");
}

static void bar_write(struct vdev *v, uint64_t off, const void *buf, size_t len)
{
	ssize_t n = pwrite(v->fd, buf, len, v->bar_off + off);

	igt_assert_f(n == (ssize_t)len, "vfio region write of BAR2 at %#" PRIx64
		     ": %zd (%s)\n", off, n, n < 0 ? strerror(errno) : "short");
}

static void bar_fill_background(struct vdev *v, size_t len)
{
	uint8_t *b = malloc(len);

	igt_assert(b);
	memset(b, BACKGROUND, len);
	bar_write(v, 0, b, len);
	free(b);
}

/* VFIO_DEVICE_FEATURE with @flags for DMA_BUF over [off, off + len) of BAR2 */
static int __feature_dma_buf(int fd, uint32_t flags, uint64_t off, uint64_t len)
{
	struct {
		struct vfio_device_feature hdr;
		struct vfio_device_feature_dma_buf db;
		struct vfio_region_dma_range range;
	} __attribute__((packed)) f = {
		.hdr = { .argsz = sizeof(f),
			 .flags = flags | VFIO_DEVICE_FEATURE_DMA_BUF },
		.db = { .region_index = BAR, .open_flags = O_RDWR | O_CLOEXEC,
			.nr_ranges = 1 },
		.range = { .offset = off, .length = len },
	};
	int ret = ioctl(fd, VFIO_DEVICE_FEATURE, &f);

	return ret < 0 ? -errno : ret;
}

static int export_bar(struct vdev *v, uint64_t off, uint64_t len)
{
	int buf = __feature_dma_buf(v->fd, VFIO_DEVICE_FEATURE_GET, off, len);

	igt_assert_f(buf >= 0, "VFIO_DEVICE_FEATURE_DMA_BUF of BAR2 [%#" PRIx64
		     ", +%#" PRIx64 "): %s\n", off, len, strerror(-buf));
	return buf;
}

static void query(uint32_t h, struct p2prdma_query_mr *q)
{
	igt_assert_eq(__p2p_query(nic, h, q), 0);
}

static void print_query(const char *when, uint32_t h)
{
	struct p2prdma_query_mr q;

	query(h, &q);
	igt_info("%s: region %u flags %#x backing %u segments %u sg_entries %u maps %u invalidations %u\n",
		 when, h, q.flags, q.backing, q.num_segments, q.sg_entries,
		 q.map_count, q.invalidate_count);
}

static int nic_objects(const char *key)
{
	return p2p_read_key(P2P_NIC_OBJECTS, key);
}

static void assert_nic_idle(void)
{
	igt_assert_f(nic_objects("regions") == 0 &&
		     nic_objects("attachments") == 0 &&
		     nic_objects("mappings") == 0,
		     "p2prdma still holds regions %d attachments %d mappings %d after deregistration\n",
		     nic_objects("regions"), nic_objects("attachments"),
		     nic_objects("mappings"));
}

static int __transfer_via(uint32_t dst, uint64_t doff, uint32_t src,
			  uint64_t soff, uint64_t len, uint64_t *via)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .dst_offset = doff,
		.src_offset = soff, .length = len,
	};
	int ret = ioctl(nic, P2PRDMA_IOCTL_TRANSFER, &t) ? -errno : 0;

	if (via)
		*via = t.bytes_via_system;
	return ret;
}

/* the first byte of @got that differs from @want, or @len */
static size_t first_diff(const uint8_t *got, const uint8_t *want, size_t len)
{
	size_t i;

	for (i = 0; i < len && got[i] == want[i]; i++)
		;
	return i;
}

static size_t first_not(const uint8_t *got, uint8_t val, size_t len)
{
	size_t i;

	for (i = 0; i < len && got[i] == val; i++)
		;
	return i;
}

/*
 * BAR [0, @span) through vfio: @want over [@off, @off + @len), BACKGROUND
 * elsewhere.
 */
static void assert_bar(struct vdev *v, size_t span, uint64_t off,
		       const uint8_t *want, size_t len, const char *what)
{
	uint8_t *b = malloc(span);
	size_t d;

	igt_assert(b);
	bar_read(v, 0, b, span);
	d = first_not(b, BACKGROUND, off);
	igt_assert_f(d == off, "%s: BAR byte %#zx is %#x, expected the background %#x (vfio region read)\n",
		     what, d, b[d], BACKGROUND);
	d = first_diff(b + off, want, len);
	igt_assert_f(d == len, "%s: BAR byte %#" PRIx64 " is %#x, the NIC should have written %#x there (vfio region read)\n",
		     what, off + d, b[off + d], want[d]);
	d = first_not(b + off + len, BACKGROUND, span - off - len);
	igt_assert_f(d == span - off - len,
		     "%s: BAR byte %#" PRIx64 " is %#x, past the transfer: expected the background %#x (vfio region read)\n",
		     what, off + len + d, b[off + len + d], BACKGROUND);
	free(b);
}

/*
 * The engine's last DMA was into this BAR by an IOVA: not the BAR's bus
 * address (behind intel-iommu a raw bus address would fault), and where
 * the kernel's IOMMU page tables can be read (intel-iommu debugfs, the
 * debug kernel), translated into BAR2 at @off..@off + @len.
 */
static void assert_iova_into_bar(uint64_t off, uint64_t len)
{
	struct obs_dma d;
	uint64_t addr, phys;
	int ret;

	obs_last_dma(&nic_regs, &d);
	addr = obs_dma_addr(&d);
	igt_info("edu's last DMA: cmd %#" PRIx64 " dst %#" PRIx64 " count %#" PRIx64
		 "; BAR2 of %s is %#" PRIx64 "-%#" PRIx64 " (sysfs)\n",
		 d.cmd, d.dst, d.count, vbdf, bar_start, bar_end);
	igt_assert_f(d.cmd & OBS_EDU_CMD_TO_RAM,
		     "edu's last DMA read memory (cmd %#" PRIx64 "), expected its write into the BAR\n",
		     d.cmd);
	igt_assert_f(obs_iommu_on(nic_bdf),
		     "%s is not behind a translating IOMMU: this test expects the vIOMMU topology\n",
		     nic_bdf);
	igt_assert_f(addr < bar_start || addr > bar_end,
		     "edu was programmed with %#" PRIx64 ", BAR2's bus address range itself: behind the IOMMU it must be an IOVA\n",
		     addr);
	ret = obs_iommu_translate(nic_bdf, addr, &phys);
	if (ret == -ENODEV) {
		igt_info("no intel-iommu debugfs in this kernel: the bytes read back through vfio prove where IOVA %#" PRIx64 " leads\n",
			 addr);
		return;
	}
	igt_assert_f(ret == 0, "IOVA %#" PRIx64 " has no mapping in %s's IOMMU domain\n",
		     addr, nic_bdf);
	igt_assert_f(phys >= bar_start + off && phys < bar_start + off + len,
		     "IOVA %#" PRIx64 " translates to %#" PRIx64 ", expected inside BAR2 [%#" PRIx64 ", +%#" PRIx64 ")\n",
		     addr, phys, bar_start + off, len);
	igt_info("IOVA %#" PRIx64 " -> %#" PRIx64 " in BAR2 (IOMMU page tables)\n",
		 addr, phys);
}

/* /dev/kmsg from now on */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	igt_assert_f(fd >= 0, "/dev/kmsg: %s\n", strerror(errno));
	lseek(fd, 0, SEEK_END);
	return fd;
}

/* prints what the kernel said since kmsg_open(); whether @needle was among it */
static bool kmsg_scan(int fd, const char *needle)
{
	char rec[8192];
	bool seen = false;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		/* the message, without its SUBSYSTEM=/DEVICE= lines */
		if (strchr(rec, '\n'))
			strchr(rec, '\n')[1] = 0;
		if (strstr(rec, needle))
			seen = true;
		if (strstr(rec, "vfio") || strstr(rec, "p2prdma") ||
		    strstr(rec, "DMABUF") || strstr(rec, "DMAR"))
			igt_info("kmsg: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
	}
	close(fd);
	return seen;
}

enum revoke_how { REVOKE_DECODE, REVOKE_RESET, REVOKE_CLOSE };

static const char *const revoke_name[] = {
	[REVOKE_DECODE] = "memory decode off (PCI_COMMAND through vfio's config region)",
	[REVOKE_RESET] = "VFIO_DEVICE_RESET",
	[REVOKE_CLOSE] = "closing the vfio device",
};

struct revoke_result {
	double seconds;
	int err;
};

/*
 * Revokes from the vfio side in a child process and returns how long the
 * revoking call took. vfio returns from it only once every importer has
 * unmapped, so a call that does not return within the watchdog is an
 * importer (p2prdma) that kept its mapping: the test fails instead of
 * hanging. For REVOKE_CLOSE the parent's copy of the device fd is closed
 * first, so that the child's close is the last one.
 */
static double vfio_revoke(struct vdev *v, enum revoke_how how)
{
	struct revoke_result r = { .err = 0 };
	int go[2], res[2], status;
	struct pollfd pfd;
	char c = 'g';
	pid_t pid;

	igt_assert(pipe(go) == 0 && pipe(res) == 0);
	pid = fork();
	igt_assert(pid >= 0);
	if (!pid) {
		double t0;

		/*
		 * Not the NIC: if the revoke blocks, the parent's exit must
		 * still release p2prdma's regions (and so unblock it).
		 */
		close(nic);
		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		t0 = p2p_now();
		switch (how) {
		case REVOKE_DECODE:
			r.err = set_memory_decode(v->fd, v->cfg_off, false);
			break;
		case REVOKE_RESET:
			r.err = ioctl(v->fd, VFIO_DEVICE_RESET) ? -errno : 0;
			break;
		case REVOKE_CLOSE:
			r.err = close(v->fd) ? -errno : 0;
			break;
		}
		r.seconds = p2p_now() - t0;
		_exit(write(res[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(go[0]);
	close(res[1]);
	if (how == REVOKE_CLOSE)
		vdev_close(v);
	igt_assert_eq(write(go[1], &c, 1), 1);
	close(go[1]);

	pfd = (struct pollfd){ .fd = res[0], .events = POLLIN };
	igt_assert_f(poll(&pfd, 1, REVOKE_WATCHDOG_MS) == 1,
		     "the revoke by %s still blocks after %d ms: vfio waits for its importers to unmap, and p2prdma did not\n",
		     revoke_name[how], REVOKE_WATCHDOG_MS);
	igt_assert_eq(read(res[0], &r, sizeof(r)), (int)sizeof(r));
	close(res[0]);
	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert_f(r.err == 0, "revoke by %s failed: %s\n", revoke_name[how],
		     strerror(-r.err));
	igt_info("revoke by %s returned after %.3f s\n", revoke_name[how],
		 r.seconds);
	return r.seconds;
}

/*
 * What p2prdma must have done by the time vfio's revoke returned: dropped
 * the mapping (vfio waited for that), seen exactly one invalidation.
 */
static void assert_revoked(uint32_t h)
{
	struct p2prdma_query_mr q;

	print_query("after the revoke", h);
	query(h, &q);
	igt_assert_f(q.flags & P2PRDMA_MR_INVALIDATED,
		     "region flags %#x: the revoke did not invalidate p2prdma's mapping\n",
		     q.flags);
	igt_assert_f(q.backing == P2PRDMA_BACKING_UNMAPPED,
		     "region backing %u after the revoke, expected unmapped (%u)\n",
		     q.backing, P2PRDMA_BACKING_UNMAPPED);
	igt_assert_eq_u32(q.invalidate_count, 1);
	igt_assert_eq(nic_objects("mappings"), 0);
}

struct xfer {
	uint32_t dst, src;
	uint64_t len;
	int ret;
	double start;
};

static void *xfer_thread(void *arg)
{
	struct xfer *x = arg;

	x->start = p2p_now();
	x->ret = __transfer_via(x->dst, 0, x->src, 0, x->len, NULL);
	return NULL;
}

/*
 * The test importer (tests/kmod/p2p_test_importer.c) attaches dynamically
 * with invalidate_mappings, so it is revocable, and with allow_peer2peer as
 * asked: vfio must refuse it without peer2peer and accept it with.
 */
static void test_importer_attach(int buf)
{
	int ti, ret, slot, peer2peer = -1;
	bool loaded;

	ti = ti_load(false, &loaded);

	ret = __ti_attach(ti, buf, false, 0, NULL);
	igt_assert_f(ret == -EOPNOTSUPP,
		     "a revocable importer without peer2peer attaching vfio's dma-buf: expected EOPNOTSUPP from vfio's attach, got %d (%s)\n",
		     ret, ret < 0 ? strerror(-ret) : "attached");
	slot = __ti_attach(ti, buf, true, 0, &peer2peer);
	igt_assert_f(slot >= 0, "a revocable peer2peer importer attaching vfio's dma-buf: %s\n",
		     strerror(-slot));
	igt_info("test importer: without peer2peer refused (EOPNOTSUPP), with it attached: slot %d peer2peer %d\n",
		 slot, peer2peer);
	ti_ok(ti, "detach", slot);
	ti_unload(ti, loaded);
}

/* a user region of @len bytes filled with pattern @s */
static uint32_t user_region(uint8_t **mem, size_t len, unsigned int s)
{
	*mem = p2p_anon(len);
	fill(*mem, len, s);
	return p2p_reg_user(nic, *mem, len);
}

/*
 * Where each revoke subtest starts: BAR2's first @span bytes set to the
 * background, the dma-buf of the whole BAR (returned) registered (*@hb), a
 * user region of @ulen bytes of pattern @s (*@hu, *@src), and the NIC's
 * write of its first @len bytes to BAR offset 0, checked through vfio as
 * @when (not checked if @when is NULL).
 */
static int revoke_setup(struct vdev *v, size_t span, size_t len, size_t ulen,
			unsigned int s, const char *when, uint32_t *hb,
			uint32_t *hu, uint8_t **src)
{
	int buf;

	bar_fill_background(v, span);
	buf = export_bar(v, 0, v->bar_size);
	*hb = p2p_reg_dmabuf(nic, buf, 0, v->bar_size, 0);
	*hu = user_region(src, ulen, s);
	igt_assert_eq(__transfer_via(*hb, 0, *hu, 0, len, NULL), 0);
	if (when)
		assert_bar(v, span, 0, *src, len, when);
	return buf;
}

/*
 * Revokes by @how: the revoking call (@what) returns within vfio's bound,
 * and vfio did not log that an importer (p2prdma) failed to unmap in time.
 */
static void revoke_in_bound(struct vdev *v, enum revoke_how how,
			    const char *what)
{
	int km = kmsg_open();
	double t = vfio_revoke(v, how);

	igt_assert_f(!kmsg_scan(km, KMSG_TIMEOUT_LINE),
		     "the kernel logged \"" KMSG_TIMEOUT_LINE "\": p2prdma did not unmap in time\n");
	igt_assert_f(t < REVOKE_BOUND_S,
		     "%s took %.3f s, past vfio's %.1f s bound for importers to unmap\n",
		     what, t, REVOKE_BOUND_S);
}

/* a transfer into revoked region @hb is refused: vfio does not map it again */
static void assert_transfer_enodev(uint32_t hb, uint64_t doff, uint32_t hu,
				   uint64_t soff, uint64_t len,
				   const char *what)
{
	int ret = __transfer_via(hb, doff, hu, soff, len, NULL);

	igt_info("transfer into %s: %d (%s)\n", what, ret,
		 ret ? strerror(-ret) : "success");
	igt_assert_f(ret == -ENODEV,
		     "a transfer into %s returned %d (%s), expected ENODEV\n",
		     what, ret, ret ? strerror(-ret) : "success");
}

igt_main
{
	igt_fixture {
		int g, err;
		struct vdev v;
		const char *handed = getenv("P2PBUF_VFIO_BDF");

		pg = getpagesize();
		seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
		igt_info("pattern seed %u\n", seed);
		igt_require_f(access(VFIO_DRV, F_OK) == 0,
			      "this kernel has no vfio-pci driver (no %s: CONFIG_VFIO_PCI unset, modprobe vfio-pci failed)%s%s\n",
			      VFIO_DRV, handed ? "; the VM's vfio BAR device is " : "",
			      handed ? handed : "");
		igt_assert_f(find_vfio_dev(vbdf),
			     "vfio-pci is loaded but no ivshmem function is bound to it: the VM must hand one over (topologies.sh vfio_bar_dev, guest-run.sh hand_vfio)\n");
		igt_assert_eq(obs_bar_range(vbdf, BAR, &bar_start, &bar_end), 0);
		g = iommu_group_of(vbdf);
		igt_assert_f(g >= 0, "%s has no IOMMU group: the vIOMMU is off\n", vbdf);
		igt_info("vfio device %s, IOMMU group %d, BAR2 %#" PRIx64 "-%#" PRIx64 "\n",
			 vbdf, g, bar_start, bar_end);

		nic = p2p_nic_open();
		igt_assert_f(nic >= 0, P2P_NIC_PATH ": %s\n", strerror(errno));
		igt_assert_eq(obs_bdf_of_fd(nic, nic_bdf), 0);
		igt_assert_f(obs_nic_init(&nic_regs, nic_bdf) == 0,
			     "%s: cannot map resource0 (booted without iomem=relaxed?)\n",
			     nic_bdf);

		container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		igt_assert_f(container >= 0, "/dev/vfio/vfio: %s\n", strerror(errno));
		igt_assert_eq(ioctl(container, VFIO_GET_API_VERSION), VFIO_API_VERSION);
		igt_assert_f(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
			     "the vfio container has no type1v2 IOMMU backend\n");
		{
			char path[64];
			struct vfio_group_status st = { .argsz = sizeof(st) };

			snprintf(path, sizeof(path), "/dev/vfio/%d", g);
			group = open(path, O_RDWR | O_CLOEXEC);
			igt_assert_f(group >= 0, "%s: %s\n", path, strerror(errno));
			igt_assert_eq(ioctl(group, VFIO_GROUP_GET_STATUS, &st), 0);
			igt_assert_f(st.flags & VFIO_GROUP_FLAGS_VIABLE,
				     "IOMMU group %d is not viable: a device in it is bound to another driver\n",
				     g);
		}
		igt_assert_f(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0,
			     "VFIO_GROUP_SET_CONTAINER: %s\n", strerror(errno));
		igt_assert_f(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0,
			     "VFIO_SET_IOMMU type1v2: %s\n", strerror(errno));

		v = vdev_open();
		err = __feature_dma_buf(v.fd, VFIO_DEVICE_FEATURE_PROBE |
					VFIO_DEVICE_FEATURE_GET, 0, pg);
		vdev_close(&v);
		igt_require_f(err != -ENOTTY,
			      "vfio-pci has no VFIO_DEVICE_FEATURE_DMA_BUF: CONFIG_VFIO_PCI_DMABUF is off in this kernel\n");
		igt_assert_f(err == 0, "VFIO_DEVICE_FEATURE_PROBE of DMA_BUF: %s\n",
			     strerror(-err));
	}

	igt_describe("vfio's exporter refuses a revocable importer without peer2peer (the test importer) and one that is neither (vgem), and accepts p2prdma (peer2peer, revocable), whose registration pins and maps it");
	igt_subtest("attach-requires-peer2peer") {
		struct vdev v = vdev_open();
		int buf = export_bar(&v, 0, v.bar_size);
		int vgem = __drm_open_driver(DRIVER_VGEM);
		struct p2prdma_query_mr q;
		uint32_t h = 0;
		int ret;

		test_importer_attach(buf);
		igt_assert_f(vgem >= 0, "vgem is not loaded (guest-run.sh loads it)\n");
		ret = drmPrimeFDToHandle(vgem, buf, &h);
		igt_assert_f(ret && errno == EOPNOTSUPP,
			     "vgem (no peer2peer) importing vfio's dma-buf: expected EOPNOTSUPP from vfio's attach, got %d (%s)\n",
			     ret, ret ? strerror(errno) : "imported");
		close(vgem);

		ret = __p2p_reg_dmabuf(nic, buf, 0, v.bar_size, 0, &h);
		igt_assert_f(ret == 0,
			     "p2prdma registering vfio's dma-buf: %s (vfio attaches only peer2peer, revocable importers)\n",
			     strerror(-ret));
		print_query("registered", h);
		query(h, &q);
		igt_assert_eq_u32(q.flags & (P2PRDMA_MR_DMABUF | P2PRDMA_MR_PINNED |
					     P2PRDMA_MR_INVALIDATED),
				  P2PRDMA_MR_DMABUF | P2PRDMA_MR_PINNED);
		igt_assert_eq_u32(q.map_count, 1);
		igt_assert_f(!(q.flags & P2PRDMA_MR_BUS_ADDR),
			     "the mapping holds PCI bus addresses; behind the vIOMMU it must be an IOVA\n");
		igt_assert_eq(__p2p_dereg(nic, h), 0);
		close(buf);
		vdev_close(&v);
		assert_nic_idle();
	}

	igt_describe("the edu engine writes vfio's BAR through p2prdma by an IOVA, and reads it back; bytes checked through vfio's region read");
	igt_subtest("dma-into-bar") {
		struct vdev v = vdev_open();
		size_t span = 4 * pg, off = pg + 100, len = pg + 300;
		uint8_t *src, *back = p2p_anon(len), *b;
		uint32_t hu, hb, hback;
		uint64_t via;
		int buf;

		bar_fill_background(&v, span);
		buf = export_bar(&v, 0, v.bar_size);
		hb = p2p_reg_dmabuf(nic, buf, 0, v.bar_size, 0);
		close(buf);	/* the registration keeps the dma-buf */
		hu = user_region(&src, len, seed);

		igt_assert_eq(__transfer_via(hb, off, hu, 0, len, &via), 0);
		igt_info("NIC -> BAR %zu bytes at %#zx, bytes_via_system %" PRIu64 "\n",
			 len, off, via);
		assert_iova_into_bar(off, len);
		assert_bar(&v, span, off, src, len, "after the NIC's write");

		/* the other way: a pattern written through vfio, read by the NIC */
		b = malloc(len);
		igt_assert(b);
		fill(b, len, seed + 1);
		bar_write(&v, off, b, len);
		hback = p2p_reg_user(nic, back, len);
		igt_assert_eq(__transfer_via(hback, 0, hb, off, len, &via), 0);
		igt_assert_f(first_diff(back, b, len) == len,
			     "the NIC read byte %#zx of BAR2 as %#x, vfio wrote %#x there\n",
			     off + first_diff(back, b, len),
			     back[first_diff(back, b, len)], b[first_diff(back, b, len)]);
		print_query("after the transfers", hb);

		igt_assert_eq(__p2p_dereg(nic, hb), 0);
		igt_assert_eq(__p2p_dereg(nic, hu), 0);
		igt_assert_eq(__p2p_dereg(nic, hback), 0);
		assert_nic_idle();
		free(b);
		vdev_close(&v);
	}

	igt_describe("memory decode off through vfio revokes: p2prdma unmaps inside the bound, later transfers fail, a new registration is refused, no byte lands, deregistration works");
	igt_subtest("revoke-memory-decode") {
		struct vdev v = vdev_open();
		size_t span = 4 * pg, len = pg;
		uint32_t hu, hb, h2;
		uint8_t *src;
		int buf, ret;

		buf = revoke_setup(&v, span, len, 2 * len, seed + 2,
				   "before the revoke", &hb, &hu, &src);

		revoke_in_bound(&v, REVOKE_DECODE, "the revoke");
		assert_revoked(hb);

		assert_transfer_enodev(hb, 2 * len, hu, len, len,
				       "the revoked region");
		ret = __p2p_reg_dmabuf(nic, buf, 0, v.bar_size, 0, &h2);
		igt_info("registering the revoked dma-buf again: %d (%s)\n", ret,
			 ret ? strerror(-ret) : "success");
		igt_assert_f(ret == -ENODEV,
			     "registering a revoked vfio dma-buf returned %d (%s), expected ENODEV\n",
			     ret, ret ? strerror(-ret) : "success");

		/* decode back on: vfio un-revokes; the failed transfer wrote nothing */
		igt_assert_eq(set_memory_decode(v.fd, v.cfg_off, true), 0);
		assert_bar(&v, span, 0, src, len, "after the refused transfer");
		ret = __transfer_via(hb, 2 * len, hu, len, len, NULL);
		igt_info("after vfio re-enabled memory decode (un-revoke), a transfer on the same region: %d (%s)\n",
			 ret, ret ? strerror(-ret) : "success: p2prdma re-mapped it");

		igt_assert_eq(__p2p_dereg(nic, hb), 0);
		igt_assert_eq(__p2p_dereg(nic, hu), 0);
		close(buf);
		vdev_close(&v);
		assert_nic_idle();
	}

	igt_describe("a revoke while the engine is writing the BAR: vfio waits at most for the chunk in flight, the transfer stops with ENODEV, the bytes that landed are a prefix");
	igt_subtest("revoke-during-transfer") {
		struct vdev v = vdev_open();
		size_t len = 8 * pg, k;
		struct xfer x = { .len = len, .ret = 1 };
		uint8_t *src, *b = malloc(len);
		pthread_t th;
		int buf, km;
		double t;

		igt_assert(b);
		bar_fill_background(&v, len);
		buf = export_bar(&v, 0, v.bar_size);
		x.dst = p2p_reg_dmabuf(nic, buf, 0, v.bar_size, 0);
		x.src = user_region(&src, len, seed + 3);

		km = kmsg_open();
		igt_assert_eq(pthread_create(&th, NULL, xfer_thread, &x), 0);
		usleep(1000 * 1000);	/* ~10 of its 32 DMAs under TCG */
		t = vfio_revoke(&v, REVOKE_DECODE);
		igt_assert_eq(pthread_join(th, NULL), 0);
		igt_info("transfer of %zu bytes: %d (%s) after %.3f s\n", len, x.ret,
			 x.ret ? strerror(-x.ret) : "success", p2p_now() - x.start);
		igt_assert_f(!kmsg_scan(km, KMSG_TIMEOUT_LINE),
			     "the kernel logged \"" KMSG_TIMEOUT_LINE "\"\n");
		igt_assert_f(x.ret == -ENODEV,
			     "the transfer the revoke interrupted returned %d (%s), expected ENODEV%s\n",
			     x.ret, x.ret ? strerror(-x.ret) : "success",
			     x.ret ? "" : " (it finished before the revoke: too fast for this test)");
		igt_assert_f(t < REVOKE_BOUND_S,
			     "the revoke took %.3f s under a running transfer, past the %.1f s bound\n",
			     t, REVOKE_BOUND_S);
		assert_revoked(x.dst);

		igt_assert_eq(set_memory_decode(v.fd, v.cfg_off, true), 0);
		bar_read(&v, 0, b, len);
		k = first_diff(b, src, len);
		igt_info("%zu of %zu bytes landed before the revoke\n", k, len);
		igt_assert_f(k < len, "every byte landed: the revoke did not stop the transfer\n");
		igt_assert_f(first_not(b + k, BACKGROUND, len - k) == len - k,
			     "BAR byte %#zx is %#x after the first unwritten one at %#zx: not a prefix, a DMA landed after the revoke\n",
			     k + first_not(b + k, BACKGROUND, len - k),
			     b[k + first_not(b + k, BACKGROUND, len - k)], k);

		igt_assert_eq(__p2p_dereg(nic, x.dst), 0);
		igt_assert_eq(__p2p_dereg(nic, x.src), 0);
		close(buf);
		free(b);
		vdev_close(&v);
		assert_nic_idle();
	}

	igt_describe("VFIO_DEVICE_RESET revokes around the reset: p2prdma unmaps, the call returns; vfio un-revokes after it");
	igt_subtest("revoke-reset") {
		struct vdev v = vdev_open();
		struct vfio_device_info info = { .argsz = sizeof(info) };
		size_t span = 2 * pg, len = pg;
		uint32_t hu, hb;
		uint8_t *src;
		int buf, ret;

		igt_assert_eq(ioctl(v.fd, VFIO_DEVICE_GET_INFO, &info), 0);
		igt_assert_f(info.flags & VFIO_DEVICE_FLAGS_RESET,
			     "vfio reports no reset method for %s (flags %#x)\n",
			     vbdf, info.flags);
		buf = revoke_setup(&v, span, len, len, seed + 4, NULL, &hb,
				   &hu, &src);

		revoke_in_bound(&v, REVOKE_RESET,
				"VFIO_DEVICE_RESET (revoke, reset, un-revoke)");
		print_query("after the reset", hb);
		{
			struct p2prdma_query_mr q;

			query(hb, &q);
			igt_assert_f(q.invalidate_count == 1,
				     "p2prdma saw %u invalidations of its mapping around the reset, expected 1\n",
				     q.invalidate_count);
		}
		ret = __transfer_via(hb, len, hu, 0, len, NULL);
		igt_info("a transfer after the reset: %d (%s)\n", ret,
			 ret ? strerror(-ret) : "success: p2prdma re-mapped it");
		igt_assert_f(ret == 0 || ret == -ENODEV,
			     "a transfer after the reset returned %d (%s): expected success (re-mapped) or ENODEV\n",
			     ret, strerror(-ret));

		igt_assert_eq(__p2p_dereg(nic, hb), 0);
		igt_assert_eq(__p2p_dereg(nic, hu), 0);
		close(buf);
		vdev_close(&v);
		assert_nic_idle();
	}

	igt_describe("closing the vfio device revokes for good: p2prdma unmaps inside the bound, transfers fail with ENODEV, deregistration works");
	igt_subtest("revoke-close") {
		struct vdev v = vdev_open();
		size_t span = 2 * pg, len = pg;
		uint32_t hu, hb;
		uint8_t *src;

		close(revoke_setup(&v, span, len, len, seed + 5,
				   "before the close", &hb, &hu, &src));

		revoke_in_bound(&v, REVOKE_CLOSE,
				"closing the device (revoke, then disable and reset the function)");
		assert_revoked(hb);
		assert_transfer_enodev(hb, len, hu, 0, len,
				       "the region of the closed device");
		igt_assert_eq(__p2p_dereg(nic, hb), 0);
		igt_assert_eq(__p2p_dereg(nic, hu), 0);
		assert_nic_idle();
	}

	igt_fixture {
		obs_nic_fini(&nic_regs);
		if (group >= 0)
			close(group);
		if (container >= 0)
			close(container);
		if (nic >= 0)
			close(nic);
	}
}
