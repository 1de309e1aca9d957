/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Independent observation of the p2p/staged data path: what the hardware
 * was told to do, read without asking either driver.
 *
 * - the GPU's VRAM BAR range from /sys/bus/pci/devices/<bdf>/resource and
 *   its bytes through an uncached mmap of resource2 (the guests boot with
 *   iomem=relaxed, so this works while p2pgpu owns the BAR);
 * - the edu NIC's DMA registers (SRC 0x80, DST 0x88, COUNT 0x90, CMD 0x98:
 *   they keep the last programmed values) through an mmap of resource0,
 *   read only, never written;
 * - under intel-iommu, an IOVA translated through the kernel's own page
 *   tables (debugfs iommu/intel/<bdf>/domain_translation_struct);
 * - the PCI topology (common upstream bridge, host bridge allow-list) from
 *   the sysfs device paths.
 *
 * Plain C, no IGT: both the IGT binaries and observe-lastdma use it.
 */
#ifndef P2PBUF_OBSERVE_H
#define P2PBUF_OBSERVE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define OBS_PCI_DEVICES		"/sys/bus/pci/devices"
#define OBS_IOMMU_DEBUGFS	"/sys/kernel/debug/iommu/intel"
#define OBS_GPU_VENDOR		0x1af4	/* ivshmem: the GPU, VRAM in BAR2 */
#define OBS_GPU_DEVICE		0x1110
#define OBS_NIC_VENDOR		0x1234	/* edu: the NIC */
#define OBS_NIC_DEVICE		0x11e8
#define OBS_VRAM_BAR		2
#define OBS_MAX_DEVS		8

/* edu registers (QEMU hw/misc/edu.c) and its internal buffer */
#define OBS_EDU_SRC		0x80
#define OBS_EDU_DST		0x88
#define OBS_EDU_COUNT		0x90
#define OBS_EDU_CMD		0x98
#define OBS_EDU_CMD_RUN		0x1
#define OBS_EDU_CMD_TO_RAM	0x2
#define OBS_EDU_BUF		0x40000ull

#define OBS_BDF_LEN		16

struct obs_gpu {
	char bdf[OBS_BDF_LEN];
	uint64_t bar_start, bar_end;	/* inclusive, as sysfs prints it */
	const volatile uint8_t *bar;	/* resource2, uncached; NULL until mapped */
	size_t bar_len;
};

struct obs_nic {
	char bdf[OBS_BDF_LEN];
	const volatile uint8_t *regs;	/* resource0; NULL until mapped */
	size_t regs_len;
};

/* the last DMA the NIC was programmed with */
struct obs_dma {
	uint64_t src, dst, count, cmd;
};

/* where a device address lands */
enum obs_where {
	OBS_WHERE_BAR,		/* the raw BAR address */
	OBS_WHERE_SYSTEM,	/* not a BAR address, no IOMMU: system memory */
	OBS_WHERE_IOVA_BAR,	/* an IOVA the IOMMU maps into the BAR */
	OBS_WHERE_IOVA_SYSTEM,	/* an IOVA the IOMMU maps elsewhere */
	OBS_WHERE_IOVA_UNMAPPED,	/* an IOVA with no mapping (now) */
	OBS_WHERE_IOVA_OPAQUE,		/* an IOVA; no IOMMU debugfs to read */
};

static inline const char *obs_where_str(enum obs_where w)
{
	static const char *const s[] = {
		[OBS_WHERE_BAR] = "bar", [OBS_WHERE_SYSTEM] = "system",
		[OBS_WHERE_IOVA_BAR] = "iova-bar",
		[OBS_WHERE_IOVA_SYSTEM] = "iova-system",
		[OBS_WHERE_IOVA_UNMAPPED] = "iova-unmapped",
		[OBS_WHERE_IOVA_OPAQUE] = "iova-opaque",
	};

	return s[w];
}

/* what a topology's GPU/NIC pair must show */
enum obs_expect {
	OBS_EXPECT_UNKNOWN,
	OBS_EXPECT_P2P_BUS,	/* common switch: raw BAR address */
	OBS_EXPECT_P2P_HOST,	/* through the host bridge, no IOMMU: raw BAR */
	OBS_EXPECT_P2P_IOVA,	/* through the IOMMU: an IOVA mapped to the BAR */
	OBS_EXPECT_STAGED,	/* system memory: the BAR never sees the data */
};

static inline const char *obs_expect_str(enum obs_expect e)
{
	static const char *const s[] = {
		[OBS_EXPECT_UNKNOWN] = "unknown", [OBS_EXPECT_P2P_BUS] = "p2p-bus",
		[OBS_EXPECT_P2P_HOST] = "p2p-host",
		[OBS_EXPECT_P2P_IOVA] = "p2p-iova", [OBS_EXPECT_STAGED] = "staged",
	};

	return s[e];
}

static inline enum obs_expect obs_expect_parse(const char *s)
{
	for (int e = OBS_EXPECT_P2P_BUS; e <= OBS_EXPECT_STAGED; e++)
		if (s && !strcmp(s, obs_expect_str(e)))
			return e;
	return OBS_EXPECT_UNKNOWN;
}

static inline bool obs_expect_p2p(enum obs_expect e)
{
	return e == OBS_EXPECT_P2P_BUS || e == OBS_EXPECT_P2P_HOST ||
	       e == OBS_EXPECT_P2P_IOVA;
}

/* copy a BDF-sized name; longer ones are not PCI addresses */
static inline int obs_set_bdf(char bdf[OBS_BDF_LEN], const char *name)
{
	size_t n = strlen(name);

	if (n >= OBS_BDF_LEN)
		return -ENAMETOOLONG;
	memcpy(bdf, name, n + 1);
	return 0;
}

static inline int obs_read_hex(const char *path, unsigned long *v)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%lx", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* the BDFs of every PCI device @vendor:@device, sorted; returns the count */
static inline int obs_find_pci(unsigned int vendor, unsigned int device,
			       char bdfs[][OBS_BDF_LEN], int max)
{
	struct dirent **ents;
	int n, found = 0;

	n = scandir(OBS_PCI_DEVICES, &ents, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		unsigned long v, d;

		if (ents[i]->d_name[0] != '.' && found < max) {
			snprintf(path, sizeof(path), OBS_PCI_DEVICES "/%s/vendor",
				 ents[i]->d_name);
			if (!obs_read_hex(path, &v) && v == vendor) {
				snprintf(path, sizeof(path),
					 OBS_PCI_DEVICES "/%s/device",
					 ents[i]->d_name);
				if (!obs_read_hex(path, &d) && d == device &&
				    !obs_set_bdf(bdfs[found], ents[i]->d_name))
					found++;
			}
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	return found;
}

/* resource line @bar of @bdf: "start end flags" */
static inline int obs_bar_range(const char *bdf, int bar, uint64_t *start,
				uint64_t *end)
{
	char path[PATH_MAX], line[128];
	unsigned long long s, e, fl;
	int i = 0, ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), OBS_PCI_DEVICES "/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (i++ != bar)
			continue;
		if (sscanf(line, "%llx %llx %llx", &s, &e, &fl) == 3 && e > s) {
			*start = s;
			*end = e;
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

/* mmap resource@bar of @bdf read-only (sysfs maps it uncached) */
static inline const volatile uint8_t *obs_map_resource(const char *bdf,
							int bar, size_t len)
{
	char path[PATH_MAX];
	void *p;
	int fd;

	snprintf(path, sizeof(path), OBS_PCI_DEVICES "/%s/resource%d", bdf, bar);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static inline int obs_gpu_init(struct obs_gpu *g, const char *bdf, bool map)
{
	memset(g, 0, sizeof(*g));
	if (obs_set_bdf(g->bdf, bdf) ||
	    obs_bar_range(bdf, OBS_VRAM_BAR, &g->bar_start, &g->bar_end))
		return -ENOENT;
	g->bar_len = g->bar_end - g->bar_start + 1;
	if (map) {
		g->bar = obs_map_resource(bdf, OBS_VRAM_BAR, g->bar_len);
		if (!g->bar)
			return -errno ?: -EIO;
	}
	return 0;
}

static inline void obs_gpu_fini(struct obs_gpu *g)
{
	if (g->bar)
		munmap((void *)g->bar, g->bar_len);
	g->bar = NULL;
}

static inline bool obs_in_bar(const struct obs_gpu *g, uint64_t addr,
			      uint64_t len)
{
	return addr >= g->bar_start && len && addr + len - 1 <= g->bar_end &&
	       addr + len - 1 >= addr;
}

static inline int obs_nic_init(struct obs_nic *n, const char *bdf)
{
	uint64_t s = 0, e = 0;

	memset(n, 0, sizeof(*n));
	if (obs_set_bdf(n->bdf, bdf) ||
	    obs_bar_range(bdf, 0, &s, &e))
		return -ENOENT;
	n->regs_len = e - s + 1;
	n->regs = obs_map_resource(bdf, 0, n->regs_len);
	return n->regs ? 0 : (-errno ?: -EIO);
}

static inline void obs_nic_fini(struct obs_nic *n)
{
	if (n->regs)
		munmap((void *)n->regs, n->regs_len);
	n->regs = NULL;
}

/* edu answers 8-byte reads of its DMA registers; read-only use */
static inline uint64_t obs_edu_reg(const struct obs_nic *n, unsigned int off)
{
	return *(const volatile uint64_t *)(n->regs + off);
}

static inline void obs_last_dma(const struct obs_nic *n, struct obs_dma *d)
{
	d->cmd = obs_edu_reg(n, OBS_EDU_CMD);
	d->src = obs_edu_reg(n, OBS_EDU_SRC);
	d->dst = obs_edu_reg(n, OBS_EDU_DST);
	d->count = obs_edu_reg(n, OBS_EDU_COUNT);
}

/* the RAM-side (device) address of a DMA: edu copies to or from its buffer */
static inline uint64_t obs_dma_addr(const struct obs_dma *d)
{
	return d->cmd & OBS_EDU_CMD_TO_RAM ? d->dst : d->src;
}

/* the PCI device behind a sysfs node's "device" link, e.g. class/misc/p2prdma0 */
static inline int obs_bdf_of_sysfs(const char *dir, char bdf[OBS_BDF_LEN])
{
	char path[PATH_MAX + 8], real[PATH_MAX];
	const char *b;

	snprintf(path, sizeof(path), "%s/device", dir);
	if (!realpath(path, real))
		return -errno;
	b = strrchr(real, '/');
	return obs_set_bdf(bdf, b ? b + 1 : real);
}

/* the PCI device of an open character device (a DRM node, /dev/p2prdmaN) */
static inline int obs_bdf_of_fd(int fd, char bdf[OBS_BDF_LEN])
{
	char dir[64];
	struct stat st;

	if (fstat(fd, &st) || !S_ISCHR(st.st_mode))
		return -ENODEV;
	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	return obs_bdf_of_sysfs(dir, bdf);
}

/* the /sys/devices path of a PCI device: its chain of bridges */
static inline int obs_pci_path(const char *bdf, char real[PATH_MAX])
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), OBS_PCI_DEVICES "/%s", bdf);
	return realpath(path, real) ? 0 : -errno;
}

/*
 * The deepest PCI bridge above both devices (its BDF in @common), or -ENOENT
 * when they meet only at the host bridge (the pciDDDD:BB root).
 */
static inline int obs_common_bridge(const char *a, const char *b,
				    char common[OBS_BDF_LEN])
{
	char pa[PATH_MAX], pb[PATH_MAX], *sa, *sb, *ta, *tb;
	int ret = -ENOENT;

	if (obs_pci_path(a, pa) || obs_pci_path(b, pb))
		return -ENODEV;
	/* /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/... */
	ta = strtok_r(pa, "/", &sa);
	tb = strtok_r(pb, "/", &sb);
	while (ta && tb && !strcmp(ta, tb)) {
		/* a PCI device component, not "sys", "devices" or the root */
		if (strlen(ta) == 12 && ta[4] == ':' && ta[7] == ':' &&
		    strcmp(ta, a) && strcmp(ta, b)) {
			ret = obs_set_bdf(common, ta);
		}
		ta = strtok_r(NULL, "/", &sa);
		tb = strtok_r(NULL, "/", &sb);
	}
	return ret;
}

/* the device sits behind an IOMMU that translates its DMA */
static inline bool obs_iommu_on(const char *bdf)
{
	char path[PATH_MAX], dom[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), OBS_PCI_DEVICES "/%s/iommu_group/type", bdf);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(dom, sizeof(dom), f))
		dom[0] = 0;
	fclose(f);
	return strncmp(dom, "identity", 8) != 0;
}

/*
 * The kernel's P2PDMA host bridge allow-list, as far as these guests go:
 * AMD Zen and later CPUs (cpu_supports_p2pdma()); q35's Intel host bridge
 * 8086:29c0 is not on pci_p2pdma_whitelist.
 */
static inline bool obs_host_bridge_allowed(void)
{
	char line[256], vendor[64] = "";
	int family = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!vendor[0])
			sscanf(line, "vendor_id : %63s", vendor);
		if (!family)
			sscanf(line, "cpu family : %d", &family);
	}
	fclose(f);
	return !strcmp(vendor, "AuthenticAMD") && family >= 0x17;
}

/*
 * What the topology alone says a GPU/NIC pair gets, for a kernel with
 * P2PDMA: a common bridge means p2p by bus address; meeting at the host
 * bridge means p2p through it only when it is allow-listed, by IOVA when an
 * IOMMU translates the NIC. (QEMU's xio3130 downstream ports have no ACS,
 * so no redirect can stand in the way here.)
 */
static inline enum obs_expect obs_derive(const char *gpu, const char *nic,
					 char *why, size_t whylen)
{
	char common[OBS_BDF_LEN];
	bool iommu = obs_iommu_on(nic);

	if (!obs_common_bridge(gpu, nic, common)) {
		snprintf(why, whylen, "%.15s and %.15s share the bridge %.15s%s", gpu,
			 nic, common, iommu ? " (IOMMU on)" : "");
		return iommu ? OBS_EXPECT_UNKNOWN : OBS_EXPECT_P2P_BUS;
	}
	if (!obs_host_bridge_allowed()) {
		snprintf(why, whylen,
			 "%.15s and %.15s meet at the host bridge, which is not allow-listed",
			 gpu, nic);
		return OBS_EXPECT_STAGED;
	}
	snprintf(why, whylen, "%.15s and %.15s meet at an allow-listed host bridge%s",
		 gpu, nic, iommu ? ", IOMMU on" : "");
	return iommu ? OBS_EXPECT_P2P_IOVA : OBS_EXPECT_P2P_HOST;
}

/*
 * Translate @iova of @nic_bdf through intel-iommu's page tables as the
 * kernel's debugfs dumps them (drivers/iommu/intel/debugfs.c
 * domain_translation_struct_show: "0x<iova pfn> |\t<PML5E>\t<PML4E>\t<PDPE>
 * [\t<PDE>[\t<PTE>]]", the last entry printed being the leaf).
 * Returns 0, -ENOENT (no mapping for @iova), -ENODEV (no such debugfs).
 */
static inline int obs_iommu_translate(const char *nic_bdf, uint64_t iova,
				      uint64_t *phys)
{
	char path[PATH_MAX], line[512];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), OBS_IOMMU_DEBUGFS "/%s/domain_translation_struct",
		 nic_bdf);
	f = fopen(path, "r");
	if (!f)
		return -ENODEV;
	while (ret && fgets(line, sizeof(line), f)) {
		unsigned long long pfn, e[5] = { 0 };
		uint64_t start, size, leaf = 0;
		int n, level = 0;
		char *bar;

		if (sscanf(line, "0x%llx", &pfn) != 1)
			continue;
		bar = strchr(line, '|');
		if (!bar)
			continue;
		n = sscanf(bar + 1, "%llx %llx %llx %llx %llx", &e[0], &e[1],
			   &e[2], &e[3], &e[4]);
		/* e[i] is the entry of level 5 - i; the last non-zero one is the leaf */
		for (int i = 0; i < n; i++)
			if (e[i]) {
				leaf = e[i];
				level = 5 - i;
			}
		if (!level)
			continue;
		start = (uint64_t)pfn << 12;
		size = 4096ull << (9 * (level - 1));
		start &= ~(size - 1);
		if (iova < start || iova - start >= size)
			continue;
		*phys = (leaf & 0x000ffffffffff000ull & ~(size - 1)) +
			(iova - start);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * Where the NIC's device address @addr lands: in a GPU's BAR (@gpu set to
 * it, @phys to the CPU physical address), in system memory, or through the
 * IOMMU.
 */
static inline enum obs_where obs_classify(const char *nic_bdf,
					  const struct obs_gpu *gpus, int ngpus,
					  uint64_t addr, uint64_t len,
					  int *gpu, uint64_t *phys)
{
	bool iommu = obs_iommu_on(nic_bdf);
	uint64_t p = addr;

	*gpu = -1;
	*phys = addr;
	for (int i = 0; i < ngpus; i++)
		if (obs_in_bar(&gpus[i], addr, len)) {
			*gpu = i;
			return OBS_WHERE_BAR;
		}
	if (!iommu)
		return OBS_WHERE_SYSTEM;
	switch (obs_iommu_translate(nic_bdf, addr, &p)) {
	case 0:
		break;
	case -ENODEV:
		/* a kernel without CONFIG_INTEL_IOMMU_DEBUGFS (Debian's) */
		return OBS_WHERE_IOVA_OPAQUE;
	default:
		return OBS_WHERE_IOVA_UNMAPPED;
	}
	*phys = p;
	for (int i = 0; i < ngpus; i++)
		if (obs_in_bar(&gpus[i], p, len)) {
			*gpu = i;
			return OBS_WHERE_IOVA_BAR;
		}
	return OBS_WHERE_IOVA_SYSTEM;
}

/* copy out of the uncached BAR (no memcpy: it may use wide or string ops) */
static inline void obs_bar_read(const struct obs_gpu *g, uint64_t off,
				void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t i = 0;

	for (; i + 8 <= len && !((off + i) & 7); i += 8) {
		uint64_t v = *(const volatile uint64_t *)(g->bar + off + i);

		memcpy(d + i, &v, 8);
	}
	for (; i < len; i++)
		d[i] = g->bar[off + i];
}

/* a copy of the whole BAR, read once (malloc'd; NULL when out of memory) */
static inline uint8_t *obs_bar_snapshot(const struct obs_gpu *g)
{
	uint8_t *copy = malloc(g->bar_len);

	if (copy)
		obs_bar_read(g, 0, copy, g->bar_len);
	return copy;
}

/* every offset of @hay where @len bytes of @pat start (up to @max) */
static inline int obs_find(const uint8_t *hay, size_t hlen, const void *pat,
			   size_t len, uint64_t *offs, int max)
{
	const uint8_t *p = hay, *end = hay + hlen;
	int found = 0;

	while ((size_t)(end - p) >= len && (p = memmem(p, end - p, pat, len))) {
		if (found < max)
			offs[found] = p - hay;
		found++;
		p++;
	}
	return found;
}

/* splitmix64: the per-run pattern */
static inline uint64_t obs_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void obs_fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = obs_rand(&s);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

#endif /* P2PBUF_OBSERVE_H */
