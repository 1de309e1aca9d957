// SPDX-License-Identifier: GPL-2.0
/*
 * The p2p/staged data path observed independently of both drivers: the NIC
 * DMAs a per-run random pattern into a p2pgpu VRAM buffer, then the test
 * reads the address the edu engine was programmed with (its DMA registers,
 * through resource0) and the BAR itself (resource2, uncached), and under
 * intel-iommu translates the IOVA through the kernel's page tables
 * (debugfs). Nothing here believes p2prdma's backing or bytes_via_system.
 *
 * Environment: P2PBUF_EXPECT (p2p-bus, p2p-host, p2p-iova, staged: what the
 * topology must show; unset: derived from the sysfs topology where it is
 * unambiguous, i.e. a common switch), P2PBUF_OBSERVE_SEED (replays a run's
 * pattern; printed), P2PBUF_P2PMEM (absent: the GPU has no
 * /sys/bus/pci/devices/<gpu>/p2pmem, the kernel's P2PDMA provider has no
 * pages; empty: it has, and its allocator must hand out nothing),
 * P2PBUF_VRAM_CACHING (wc or uc: the PAT memory type of the VRAM BAR, which
 * CPU mappings of VRAM get).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pgpu_igt.h"
#include "p2prdma.h"
#include "p2pbuf_observe.h"
#include "p2pbuf_sync.h"

#define NPAGES		4
/* the NIC's read DMA takes ~100 ms: a 50 ms deadline stops after it */
#define HALF_TIMEOUT_MS	50

struct pair {
	int gpu_fd, nic_fd;
	int gi, ni;		/* indexes into gpus[] and nics[] */
	enum obs_expect expect;
	char why[256];
};

static struct obs_gpu gpus[OBS_MAX_DEVS];
static struct obs_nic nics[OBS_MAX_DEVS];
static int gpu_fds[OBS_MAX_DEVS], nic_fds[OBS_MAX_DEVS];
static int ngpus, nnics;
static uint64_t seed;
static unsigned int runs;
static int pg;

/* the p2pgpu render node driving @bdf, or -1 */
static int open_gpu(const char *bdf)
{
	glob_t g;
	int fd = -1;

	if (glob("/dev/dri/renderD*", 0, NULL, &g))
		return -1;
	for (size_t i = 0; i < g.gl_pathc && fd < 0; i++) {
		struct drm_p2pgpu_device_query dq = {};
		char b[OBS_BDF_LEN];

		fd = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (obs_bdf_of_fd(fd, b) || strcmp(b, bdf) ||
		    drmIoctl(fd, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq)) {
			close(fd);
			fd = -1;
		}
	}
	globfree(&g);
	return fd;
}

/* the /dev/p2prdmaN of @bdf (paired through the misc device's sysfs link) */
static int open_nic(const char *bdf)
{
	glob_t g;
	int fd = -1;

	if (glob("/sys/class/misc/p2prdma*", 0, NULL, &g))
		return -1;
	for (size_t i = 0; i < g.gl_pathc && fd < 0; i++) {
		char b[OBS_BDF_LEN], dev[PATH_MAX];

		if (obs_bdf_of_sysfs(g.gl_pathv[i], b) || strcmp(b, bdf))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", strrchr(g.gl_pathv[i], '/') + 1);
		fd = open(dev, O_RDWR | O_CLOEXEC);
	}
	globfree(&g);
	return fd;
}

static void setup(void)
{
	char bdfs[OBS_MAX_DEVS][OBS_BDF_LEN];
	const char *s = getenv("P2PBUF_OBSERVE_SEED");
	int n;

	pg = getpagesize();
	seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) * 1000003u ^ getpid();
	igt_info("pattern seed %#" PRIx64 " (P2PBUF_OBSERVE_SEED replays it)\n", seed);

	n = obs_find_pci(OBS_GPU_VENDOR, OBS_GPU_DEVICE, bdfs, OBS_MAX_DEVS);
	for (int i = 0; i < n; i++) {
		int fd = open_gpu(bdfs[i]);

		if (fd < 0)
			continue;	/* not bound to p2pgpu */
		igt_assert_f(obs_gpu_init(&gpus[ngpus], bdfs[i], true) == 0,
			     "%s: cannot map resource2 (booted without iomem=relaxed?): %s\n",
			     bdfs[i], strerror(errno));
		gpu_fds[ngpus++] = fd;
		igt_info("GPU %s: VRAM BAR2 %#" PRIx64 "-%#" PRIx64 " (sysfs)\n",
			 bdfs[i], gpus[ngpus - 1].bar_start, gpus[ngpus - 1].bar_end);
	}
	n = obs_find_pci(OBS_NIC_VENDOR, OBS_NIC_DEVICE, bdfs, OBS_MAX_DEVS);
	for (int i = 0; i < n; i++) {
		int fd = open_nic(bdfs[i]);

		if (fd < 0)
			continue;	/* not bound to p2prdma */
		igt_assert_f(obs_nic_init(&nics[nnics], bdfs[i]) == 0,
			     "%s: cannot map resource0: %s\n", bdfs[i], strerror(errno));
		nic_fds[nnics++] = fd;
		igt_info("NIC %s (%s IOMMU)\n", bdfs[i],
			 obs_iommu_on(bdfs[i]) ? "behind an" : "no");
	}
}

/* the first pair and what it must show: P2PBUF_EXPECT, else the topology */
static struct pair first_pair(void)
{
	const char *env = getenv("P2PBUF_EXPECT");
	struct pair p = { .gi = 0, .ni = 0 };
	enum obs_expect derived;

	igt_require_f(ngpus && nnics, "no GPU bound to p2pgpu or no NIC bound to p2prdma\n");
	p.gpu_fd = gpu_fds[0];
	p.nic_fd = nic_fds[0];
	derived = obs_derive(gpus[0].bdf, nics[0].bdf, p.why, sizeof(p.why));
	if (env && *env) {
		p.expect = obs_expect_parse(env);
		igt_assert_f(p.expect != OBS_EXPECT_UNKNOWN,
			     "P2PBUF_EXPECT=%s: not one of p2p-bus p2p-host p2p-iova staged\n",
			     env);
		igt_info("expecting %s (P2PBUF_EXPECT); the topology says %s: %s\n",
			 obs_expect_str(p.expect), obs_expect_str(derived), p.why);
	} else {
		/* a host bridge's answer also depends on the kernel: not guessed */
		igt_require_f(derived == OBS_EXPECT_P2P_BUS,
			      "P2PBUF_EXPECT unset and the topology alone does not decide (%s)\n",
			      p.why);
		p.expect = derived;
		igt_info("expecting %s from the topology: %s\n",
			 obs_expect_str(p.expect), p.why);
	}
	return p;
}

static void *upages(size_t n)
{
	void *p = mmap(NULL, n * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	igt_assert(p != MAP_FAILED);
	return p;
}

static uint32_t reg_user(int nic, void *addr, uint64_t len)
{
	struct p2prdma_reg_user_mr r = {
		.addr = (uintptr_t)addr, .length = len,
		.access = P2PRDMA_ACCESS_ALL,
	};

	igt_assert_f(ioctl(nic, P2PRDMA_IOCTL_REG_USER_MR, &r) == 0,
		     "REG_USER_MR: %s\n", strerror(errno));
	return r.handle;
}

static uint32_t reg_dmabuf(int nic, int buf, uint64_t len, uint32_t flags)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .length = len, .access = P2PRDMA_ACCESS_ALL,
		.flags = flags,
	};

	igt_assert_f(ioctl(nic, P2PRDMA_IOCTL_REG_DMABUF_MR, &r) == 0,
		     "REG_DMABUF_MR: %s\n", strerror(errno));
	return r.handle;
}

static void dereg(int nic, uint32_t h)
{
	struct p2prdma_dereg_mr d = { .handle = h };

	igt_assert_eq(ioctl(nic, P2PRDMA_IOCTL_DEREG_MR, &d), 0);
}

static int __transfer(int nic, uint32_t dst, uint64_t doff, uint32_t src,
		      uint64_t soff, uint64_t len, uint32_t timeout_ms)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .dst_offset = doff,
		.src_offset = soff, .length = len, .timeout_ms = timeout_ms,
	};

	return ioctl(nic, P2PRDMA_IOCTL_TRANSFER, &t) ? -errno : 0;
}

static const char *pair_name(const struct pair *p)
{
	static char s[64];

	snprintf(s, sizeof(s), "GPU %s / NIC %s", gpus[p->gi].bdf, nics[p->ni].bdf);
	return s;
}

/*
 * The NIC's device address @addr of a @len-byte DMA at buffer offset @boff
 * must land where @p's expectation says, and the BAR must hold @data there
 * (p2p) or nowhere (staged). @what names the direction.
 */
static void check_landing(const struct pair *p, const char *what,
			  uint64_t addr, uint64_t len, const uint8_t *data)
{
	const struct obs_gpu *g = &gpus[p->gi];
	enum obs_where where, want;
	uint64_t phys, off;
	uint8_t *seen;
	int gi;

	where = obs_classify(nics[p->ni].bdf, gpus, ngpus, addr, len, &gi, &phys);
	igt_info("%s: %s: the NIC was programmed with %#" PRIx64 " (+%#" PRIx64 "): %s%s%s, physical %#" PRIx64 "; BAR2 %#" PRIx64 "-%#" PRIx64 "\n",
		 pair_name(p), what, addr, len, obs_where_str(where),
		 gi >= 0 ? " of GPU " : "", gi >= 0 ? gpus[gi].bdf : "", phys,
		 g->bar_start, g->bar_end);

	switch (p->expect) {
	case OBS_EXPECT_P2P_BUS:
	case OBS_EXPECT_P2P_HOST:
		want = OBS_WHERE_BAR;
		break;
	case OBS_EXPECT_P2P_IOVA:
		want = OBS_WHERE_IOVA_BAR;
		break;
	default:
		want = obs_iommu_on(nics[p->ni].bdf) ? OBS_WHERE_IOVA_SYSTEM :
						       OBS_WHERE_SYSTEM;
		break;
	}
	if (where == OBS_WHERE_IOVA_OPAQUE &&
	    (want == OBS_WHERE_IOVA_BAR || want == OBS_WHERE_IOVA_SYSTEM)) {
		/*
		 * The IOMMU's tables cannot be read here: the NIC was given an
		 * IOVA (inside no BAR); where it led is decided by the bytes:
		 * after the NIC's write check_bar() requires every page of the
		 * pattern in the BAR (p2p) or none of it (staged).
		 */
		igt_info("%s: %s: an IOVA; no IOMMU debugfs (CONFIG_INTEL_IOMMU_DEBUGFS) to translate it: the BAR's bytes decide\n",
			 pair_name(p), what);
		return;
	}
	igt_assert_f(where == want && (want == OBS_WHERE_SYSTEM ||
				       want == OBS_WHERE_IOVA_SYSTEM ||
				       gi == p->gi),
		     "%s: %s: expected %s (an address %s BAR2 %#" PRIx64 "-%#" PRIx64 " of GPU %s%s), "
		     "seen %#" PRIx64 " = %s%s%s (physical %#" PRIx64 ")\n",
		     pair_name(p), what, obs_expect_str(p->expect),
		     obs_expect_p2p(p->expect) ? "inside" : "outside",
		     g->bar_start, g->bar_end, g->bdf,
		     p->expect == OBS_EXPECT_P2P_IOVA ? ", reached by IOVA" : "",
		     addr, obs_where_str(where), gi >= 0 ? " of GPU " : "",
		     gi >= 0 ? gpus[gi].bdf : "", phys);
	if (!obs_expect_p2p(p->expect))
		return;

	/* the bytes are in the BAR itself, where the address says */
	off = phys - g->bar_start;
	seen = malloc(len);
	igt_assert(seen);
	obs_bar_read(g, off, seen, len);
	if (memcmp(seen, data, len)) {
		size_t i = 0;

		while (seen[i] == data[i])
			i++;
		igt_assert_f(false,
			     "%s: %s: BAR2 at offset %#" PRIx64 " (through resource2) does not hold the pattern: "
			     "byte %zu is %#04x, expected %#04x\n",
			     pair_name(p), what, off, i, seen[i], data[i]);
	}
	free(seen);
}

/*
 * staged: not one 64-byte piece of the pattern anywhere in the BAR;
 * p2p: every page of it somewhere in the BAR.
 */
static void check_bar(const struct pair *p, const uint8_t *pat, size_t len)
{
	const struct obs_gpu *g = &gpus[p->gi];
	uint8_t *bar = obs_bar_snapshot(g);
	bool p2p = obs_expect_p2p(p->expect);
	size_t piece = p2p ? (size_t)pg : 64, step = p2p ? (size_t)pg : 512;

	igt_assert_f(bar, "no memory for a copy of the %zu MiB BAR\n", g->bar_len >> 20);
	for (size_t o = 0; o + piece <= len; o += step) {
		uint64_t at = 0;
		int n = obs_find(bar, g->bar_len, pat + o, piece, &at, 1);

		igt_assert_f(p2p ? n >= 1 : n == 0,
			     "%s: %s, yet BAR2 (read through resource2) %s the pattern's bytes %zu-%zu (%d place(s), first at BAR offset %#" PRIx64 ")\n",
			     pair_name(p), obs_expect_str(p->expect),
			     p2p ? "lacks" : "holds", o, o + piece - 1, n, at);
	}
	igt_info("%s: %s of the pattern is in the %zu MiB BAR (searched through resource2)\n",
		 pair_name(p), p2p ? "every page" : "none", g->bar_len >> 20);
	free(bar);
}

/*
 * The NIC writes a fresh pattern into a VRAM buffer (user MR -> dma-buf MR)
 * and reads it back (dma-buf MR -> user MR); both addresses it was given and
 * the BAR's contents must match the pair's expectation.
 */
static void data_path(const struct pair *p, uint32_t reg_flags)
{
	const size_t size = NPAGES * pg, len = 2 * pg;
	struct obs_dma d, before;
	uint32_t bo, hb, hu;
	uint8_t *pat, *u, *cpu;
	uint64_t s = seed + ++runs;
	int buf, ret, tries;

	igt_info("%s: pattern seed %#" PRIx64 ", expecting %s (%s)\n",
		 pair_name(p), s, obs_expect_str(p->expect), p->why);
	pat = malloc(len);
	igt_assert(pat);
	obs_fill(pat, len, s);

	bo = p2pgpu_create(p->gpu_fd, size, P2PGPU_PLACEMENT_VRAM);
	buf = p2pgpu_export(p->gpu_fd, bo);
	cpu = p2pgpu_mmap(p->gpu_fd, bo, size);
	memset(cpu, 0, size);
	u = upages(NPAGES);
	memcpy(u, pat, len);
	hu = reg_user(p->nic_fd, u, size);
	hb = reg_dmabuf(p->nic_fd, buf, size, reg_flags);

	/* NIC writes VRAM: the last DMA is the last chunk's write */
	ret = __transfer(p->nic_fd, hb, pg, hu, 0, len, 0);
	igt_assert_f(ret == 0, "TRANSFER user -> VRAM: %s\n", strerror(-ret));
	obs_last_dma(&nics[p->ni], &d);
	igt_info("edu after the write: SRC %#" PRIx64 " DST %#" PRIx64 " COUNT %#" PRIx64 " CMD %#" PRIx64 "\n",
		 d.src, d.dst, d.count, d.cmd);
	igt_assert_f(!(d.cmd & OBS_EDU_CMD_RUN) && (d.cmd & OBS_EDU_CMD_TO_RAM) &&
		     d.src == OBS_EDU_BUF && d.count && d.count <= len,
		     "the NIC's last DMA is not a finished write from its buffer: CMD %#" PRIx64 " SRC %#" PRIx64 " COUNT %#" PRIx64 "\n",
		     d.cmd, d.src, d.count);
	check_landing(p, "NIC writes VRAM", d.dst, d.count, pat + len - d.count);
	check_bar(p, pat, len);
	/*
	 * and the data did reach the buffer (the GEM mmap follows it
	 * anywhere), seen as the dma-buf contract asks: after SYNC_START, which
	 * syncs a staged mapping's bounce buffer (swiotlb) with the pages
	 */
	p2p_cpu_begin(buf, DMA_BUF_SYNC_READ);
	igt_assert_f(!memcmp(cpu + pg, pat, len),
		     "the VRAM buffer's CPU mapping lacks what the NIC wrote\n");
	p2p_cpu_end(buf, DMA_BUF_SYNC_READ);

	/*
	 * NIC reads VRAM. A whole transfer ends with the write into user
	 * memory; with a deadline shorter than one DMA the driver waits for
	 * the read to finish and stops there, leaving it in the registers.
	 */
	before = d;
	for (tries = 0; tries < 3; tries++) {
		ret = __transfer(p->nic_fd, hu, 2 * pg, hb, pg, 64, HALF_TIMEOUT_MS);
		obs_last_dma(&nics[p->ni], &d);
		if (ret == -ETIMEDOUT && !(d.cmd & OBS_EDU_CMD_TO_RAM))
			break;
		igt_info("a %d ms transfer returned %d, edu CMD %#" PRIx64 ": trying again\n",
			 HALF_TIMEOUT_MS, ret, d.cmd);
	}
	igt_info("edu after the read: SRC %#" PRIx64 " DST %#" PRIx64 " COUNT %#" PRIx64 " CMD %#" PRIx64 "\n",
		 d.src, d.dst, d.count, d.cmd);
	igt_assert_f(ret == -ETIMEDOUT && !(d.cmd & (OBS_EDU_CMD_TO_RAM | OBS_EDU_CMD_RUN)) &&
		     d.dst == OBS_EDU_BUF && d.count == 64 && d.src != before.dst,
		     "no finished NIC read of VRAM to observe: transfer %d, CMD %#" PRIx64 " SRC %#" PRIx64 " DST %#" PRIx64 " COUNT %#" PRIx64 "\n",
		     ret, d.cmd, d.src, d.dst, d.count);
	check_landing(p, "NIC reads VRAM", d.src, d.count, pat);

	/* the whole read back, checked in user memory, not through the GPU */
	memset(u + 2 * pg, 0, len);
	ret = __transfer(p->nic_fd, hu, 2 * pg, hb, pg, len, 0);
	igt_assert_f(ret == 0, "TRANSFER VRAM -> user: %s\n", strerror(-ret));
	igt_assert_f(!memcmp(u + 2 * pg, pat, len),
		     "the NIC read back something else than it wrote\n");

	dereg(p->nic_fd, hb);
	dereg(p->nic_fd, hu);
	munmap(u, size);
	munmap(cpu, size);
	close(buf);
	p2pgpu_gem_close(p->gpu_fd, bo);
	free(pat);
}

/* the number in a sysfs file, -1 if it cannot be read */
static long long read_num(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoll(buf, NULL, 0) : -1;
}

/*
 * P2PDMA's sysfs allocator must never hand out VRAM, which TTM owns: with
 * page-less providers the GPU has no p2pmem directory at all; with
 * ZONE_DEVICE pages the pool is empty and mapping allocate fails.
 */
static void p2pmem_one_owner(const struct obs_gpu *g)
{
	const char *want = getenv("P2PBUF_P2PMEM");
	char dir[512], path[600];
	struct stat st;
	bool exists;
	void *page;
	int fd;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/p2pmem", g->bdf);
	exists = stat(dir, &st) == 0;
	igt_info("%s: %s %s (P2PBUF_P2PMEM=%s)\n", g->bdf, dir,
		 exists ? "exists" : "does not exist", want ? want : "unset");
	if (want && !strcmp(want, "absent"))
		igt_assert_f(!exists,
			     "%s exists: the BAR has P2PDMA pages and an allocator, expected a page-less provider\n",
			     dir);
	if (want && !strcmp(want, "empty"))
		igt_assert_f(exists,
			     "%s does not exist: expected the BAR's ZONE_DEVICE pages (6.12 P2PDMA)\n",
			     dir);
	if (!exists)
		return;

	snprintf(path, sizeof(path), "%s/size", dir);
	igt_info("p2pmem size %lld\n", read_num(path));
	snprintf(path, sizeof(path), "%s/available", dir);
	igt_assert_f(read_num(path) == 0,
		     "%s is %lld: P2PDMA's allocator still has VRAM to hand out, expected 0\n",
		     path, read_num(path));

	snprintf(path, sizeof(path), "%s/allocate", dir);
	fd = open(path, O_RDWR);
	igt_assert_f(fd >= 0, "cannot open %s: %s\n", path, strerror(errno));
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	igt_assert_f(page == MAP_FAILED,
		     "mmap of %s handed out a page of the VRAM BAR, expected a failure\n",
		     path);
	igt_info("mmap of %s: %s, as expected\n", path, strerror(errno));
	close(fd);
}

/*
 * The PAT memory type of every reservation covering the VRAM BAR: what CPU
 * mappings of VRAM get (a mapping's type comes from this table), from the
 * kernel's own list, not from the driver.
 */
static void vram_caching(const struct obs_gpu *g, int gpu_fd)
{
	const char *want = getenv("P2PBUF_VRAM_CACHING");
	const char *list = "/sys/kernel/debug/x86/pat_memtype_list";
	uint32_t h = p2pgpu_create(gpu_fd, pg, P2PGPU_PLACEMENT_VRAM);
	unsigned int covering = 0, wc = 0;
	unsigned long long start, end;
	volatile uint8_t *cpu;
	char line[256], type[64];
	FILE *f;

	igt_require_f(want && *want,
		      "P2PBUF_VRAM_CACHING unset: this kernel's expected VRAM memory type is not known\n");
	/* a CPU mapping of a VRAM buffer, faulted in */
	cpu = p2pgpu_mmap(gpu_fd, h, pg);
	cpu[0] = 0x5a;
	igt_assert_eq(cpu[0], 0x5a);

	f = fopen(list, "r");
	igt_assert_f(f, "cannot open %s (debugfs, PAT): %s\n", list,
		     strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "PAT: [mem %llx-%llx] %63s", &start, &end,
			   type) != 3)
			continue;
		if (end <= g->bar_start || start > g->bar_end)
			continue;
		igt_info("%s", line);
		covering++;
		wc += !strcmp(type, "write-combining");
	}
	fclose(f);
	munmap((void *)cpu, pg);
	p2pgpu_gem_close(gpu_fd, h);

	igt_assert_f(covering,
		     "no PAT memory type covers the VRAM BAR %#llx-%#llx while VRAM is mapped\n",
		     (unsigned long long)g->bar_start,
		     (unsigned long long)g->bar_end);
	if (!strcmp(want, "wc"))
		igt_assert_f(wc == covering,
			     "%u of %u PAT memory types of the VRAM BAR are write-combining, expected all\n",
			     wc, covering);
	else
		igt_assert_f(!wc,
			     "%u of %u PAT memory types of the VRAM BAR are write-combining, expected uncached (the BAR has P2PDMA pages)\n",
			     wc, covering);
}

igt_main
{
	igt_fixture
		setup();

	igt_describe("NIC <-> VRAM: the address edu was programmed with and the BAR's bytes match P2PBUF_EXPECT");
	igt_subtest("data-path") {
		struct pair p = first_pair();

		data_path(&p, 0);
	}

	igt_describe("the same with a pinned registration (mapped at registration)");
	igt_subtest("data-path-pinned") {
		struct pair p = first_pair();

		data_path(&p, P2PRDMA_REG_PINNED);
	}

	igt_describe("every GPU/NIC pair shows what its place in the PCI topology decides");
	igt_subtest("multi-pairs") {
		igt_require_f(ngpus * nnics >= 2,
			      "one GPU/NIC pair only (%d GPUs, %d NICs)\n", ngpus, nnics);
		for (int gi = 0; gi < ngpus; gi++)
			for (int ni = 0; ni < nnics; ni++) {
				struct pair p = {
					.gpu_fd = gpu_fds[gi], .nic_fd = nic_fds[ni],
					.gi = gi, .ni = ni,
				};

				p.expect = obs_derive(gpus[gi].bdf, nics[ni].bdf,
						      p.why, sizeof(p.why));
				igt_assert_f(p.expect != OBS_EXPECT_UNKNOWN,
					     "%s: the topology does not decide: %s\n",
					     pair_name(&p), p.why);
				data_path(&p, 0);
			}
	}

	igt_describe("P2PDMA's sysfs allocator hands out no VRAM: no p2pmem with a page-less provider, an empty pool with pages");
	igt_subtest("p2pmem-one-owner") {
		igt_require_f(ngpus, "no GPU bound to p2pgpu\n");
		for (int i = 0; i < ngpus; i++)
			p2pmem_one_owner(&gpus[i]);
	}

	igt_describe("CPU mappings of VRAM get the BAR's PAT memory type: write-combining without P2PDMA pages");
	igt_subtest("vram-caching") {
		igt_require_f(ngpus, "no GPU bound to p2pgpu\n");
		for (int i = 0; i < ngpus; i++)
			vram_caching(&gpus[i], gpu_fds[i]);
	}

	igt_fixture {
		for (int i = 0; i < ngpus; i++) {
			obs_gpu_fini(&gpus[i]);
			close(gpu_fds[i]);
		}
		for (int i = 0; i < nnics; i++) {
			obs_nic_fini(&nics[i]);
			close(nic_fds[i]);
		}
	}
}
