// SPDX-License-Identifier: MIT
/*
 * libp2pbuf: see p2pbuf.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xf86drm.h>
#include <linux/dma-buf.h>

#include "p2pbuf.h"

#define P2PBUF_EXPORT __attribute__((visibility("default")))

#ifndef P2PBUF_VERSION_STR
#error "P2PBUF_VERSION_STR comes from VERSION in the top-level Makefile"
#endif

/*
 * The sizes of the caller-allocated structures as SONAME 0 first shipped
 * them: what the functions without _ex fill, and the least an _ex caller
 * must pass. When a structure grows, these stay.
 */
#define GPU_INFO_SIZE_V0	72
#define NIC_INFO_SIZE_V0	28
#define BO_STATE_SIZE_V0	40
#define PROBE_SIZE_V0		72
#define REFUSAL_SIZE_V0		72
_Static_assert(sizeof(struct p2pbuf_gpu_info) >= GPU_INFO_SIZE_V0, "gpu_info shrank");
_Static_assert(sizeof(struct p2pbuf_nic_info) >= NIC_INFO_SIZE_V0, "nic_info shrank");
_Static_assert(sizeof(struct p2pbuf_bo_state) >= BO_STATE_SIZE_V0, "bo_state shrank");
_Static_assert(sizeof(struct p2pbuf_probe) >= PROBE_SIZE_V0, "probe shrank");
_Static_assert(sizeof(struct p2pbuf_refusal) >= REFUSAL_SIZE_V0, "refusal shrank");
_Static_assert(sizeof(struct p2pbuf_gpu_desc) == 112, "gpu_desc stride is ABI");
_Static_assert(sizeof(struct p2pbuf_nic_desc) == 112, "nic_desc stride is ABI");

/*
 * Copies the library's full @src (@src_size bytes, whose first u32 is the
 * size field) into the caller's @dst of @dst_size bytes: as much as both
 * know, the rest of the caller's zeroed, and the size field says how much
 * was filled.
 */
static int fill_sized(void *dst, size_t dst_size, void *src, size_t src_size,
		      size_t min_size)
{
	size_t n = dst_size < src_size ? dst_size : src_size;
	uint32_t filled = (uint32_t)n;

	if (!dst || dst_size < min_size)
		return -EINVAL;
	memcpy(src, &filled, sizeof(filled));
	memset(dst, 0, dst_size);
	memcpy(dst, src, n);
	return 0;
}

P2PBUF_EXPORT const char *p2pbuf_version(void)
{
	return P2PBUF_VERSION_STR;
}

/* ------------------------------------------------------------------ */
/* Errors and explanations                                             */
/* ------------------------------------------------------------------ */

/*
 * strerror_r() in whichever form the libc declares: GNU (glibc, with
 * _GNU_SOURCE) returns the text, XSI (musl, POSIX) fills the buffer.
 * strerrordesc_np() would need glibc 2.32.
 */
static const char *libc_strerror(int err)
{
	static __thread char buf[128];
	const char *s;

#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	s = strerror_r(err, buf, sizeof(buf));
#else
	s = strerror_r(err, buf, sizeof(buf)) ? NULL : buf;
#endif
	if (!s || !*s || !strncmp(s, "Unknown error", 13)) {
		snprintf(buf, sizeof(buf), "unknown error code %d", err);
		s = buf;
	}
	return s;
}

P2PBUF_EXPORT const char *p2pbuf_strerror(int err)
{

	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	/* kernel-internal codes (include/linux/errno.h) that can leak out */
	case 512: return "restart system call (ERESTARTSYS, kernel-internal): interrupted by a signal";
	case 513: return "restart system call (ERESTARTNOINTR, kernel-internal)";
	case 514: return "restart if no handler (ERESTARTNOHAND, kernel-internal)";
	case 515: return "ioctl not supported by this driver (ENOIOCTLCMD, kernel-internal): the module is older or newer than this tool";
	case 516: return "restart via restart_block (ERESTART_RESTARTBLOCK, kernel-internal)";
	case 517: return "driver probe deferred (EPROBE_DEFER, kernel-internal)";
	case 518: return "open found a stale dentry (EOPENSTALE, kernel-internal)";
	case 519: return "parameter not supported (ENOPARAM, kernel-internal)";
	case 521: return "illegal NFS file handle (EBADHANDLE, kernel-internal)";
	case 522: return "update synchronization mismatch (ENOTSYNC, kernel-internal)";
	case 523: return "cookie is stale (EBADCOOKIE, kernel-internal)";
	case 524: return "operation not supported (ENOTSUPP, kernel-internal; the driver should have returned EOPNOTSUPP)";
	case 525: return "buffer or request is too small (ETOOSMALL, kernel-internal)";
	case 526: return "an untranslatable server error (ESERVERFAULT, kernel-internal)";
	case 527: return "type not supported by server (EBADTYPE, kernel-internal)";
	case 528: return "request initiated, but will not complete before timeout (EJUKEBOX, kernel-internal)";
	case 529: return "iocb queued, will get completion event (EIOCBQUEUED, kernel-internal)";
	case 530: return "conflict with recalled state (ERECALLCONFLICT, kernel-internal)";
	case 531: return "NFS file lock reclaim refused (ENOGRACE, kernel-internal)";
	case EREMOTEIO: return "peer-to-peer required (P2PRDMA_REG_REQUIRE_P2P), but the buffer would be staged in system memory for this NIC (EREMOTEIO)";
	case EPROTO: return "protocol error (from an open: the driver's interface version is not the one this libp2pbuf speaks, P2PBUF_DRM_MAJOR)";
	default: break;
	}
	return libc_strerror(err);
}

P2PBUF_EXPORT const char *p2pbuf_reason_str(uint32_t reason)
{
	switch (reason) {
	case P2PGPU_REASON_NONE: return "none";
	case P2PGPU_REASON_IMPORTER_NO_P2P: return "importer-no-p2p";
	case P2PGPU_REASON_IMPORTER_NOT_PCI: return "importer-not-pci";
	case P2PGPU_REASON_NO_COMMON_SWITCH: return "no-common-switch";
	case P2PGPU_REASON_ACS_REDIRECT: return "acs-redirect";
	case P2PGPU_REASON_KERNEL_NO_P2PDMA: return "kernel-no-p2pdma";
	case P2PGPU_REASON_DISABLED_BY_PARAM: return "disabled-by-param";
	case P2PGPU_REASON_PINNED_IN_SYSTEM: return "pinned-in-system";
	case P2PGPU_REASON_SYSTEM_PLACEMENT: return "system-placement";
	case P2PGPU_REASON_MAP_REFUSED: return "map-refused";
	case P2PGPU_REASON_NOT_REVOCABLE: return "not-revocable";
	default: return "unknown";
	}
}

P2PBUF_EXPORT const char *p2pbuf_reason_explain(uint32_t reason)
{
	switch (reason) {
	case P2PGPU_REASON_NONE:
		return "peer-to-peer: the NIC reads and writes the GPU's VRAM "
		       "BAR directly, no copy through system memory. Nothing "
		       "to fix.";
	case P2PGPU_REASON_IMPORTER_NO_P2P:
		return "the importing driver did not declare allow_peer2peer "
		       "in its dma_buf_attach_ops (static importers never do), "
		       "so the exporter must stage the buffer in system memory. "
		       "Fix: use an importer that supports dynamic, "
		       "peer-to-peer attachments (p2prdma does; check that "
		       "the right driver imported the buffer).";
	case P2PGPU_REASON_IMPORTER_NOT_PCI:
		return "the importing device is not a PCI device (e.g. a "
		       "virtual or platform device), and peer-to-peer DMA "
		       "needs two PCI functions. Fix: import with a PCI device; "
		       "staging through system memory is the only path "
		       "otherwise.";
	case P2PGPU_REASON_NO_COMMON_SWITCH:
		return "the devices are on different root ports and the host "
		       "bridge is not on the kernel's p2p allow-list "
		       "(pci_p2pdma_distance() = -1: \"do not share an upstream "
		       "bridge or whitelisted host bridge\"). Fix: put both "
		       "devices behind one PCIe switch, or use an allow-listed "
		       "host bridge (AMD Zen, some Intel Xeon).";
	case P2PGPU_REASON_ACS_REDIRECT:
		return "the devices share a PCIe switch, but Access Control "
		       "Services on the switch ports redirect peer traffic up "
		       "to a host bridge that is not allow-listed. Fix: boot "
		       "with pci=disable_acs_redir=<bdf of the switch "
		       "downstream ports> (e.g. "
		       "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0); "
		       "note this weakens IOMMU isolation between the devices.";
	case P2PGPU_REASON_KERNEL_NO_P2PDMA:
		return "kernel built without CONFIG_PCI_P2PDMA (Debian 12's "
		       "stock 6.1 and 6.12 kernels) or, before 7.1, without "
		       "CONFIG_DMABUF_MOVE_NOTIFY. Fix: a kernel that has them, "
		       "e.g. Debian 13's trixie-backports linux-image-amd64 "
		       "(7.3: CONFIG_PCI_P2PDMA=y), or rebuild with "
		       "CONFIG_PCI_P2PDMA=y (needs ZONE_DEVICE and "
		       "SPARSEMEM_VMEMMAP) and, before 7.1, "
		       "CONFIG_DMABUF_MOVE_NOTIFY=y.";
	case P2PGPU_REASON_DISABLED_BY_PARAM:
		return "peer-to-peer is switched off by the p2pgpu module "
		       "parameter p2p=0. Fix: load it with p2pgpu.p2p=1 (modprobe "
		       "p2pgpu p2p=1, or p2pgpu.p2p=1 on the kernel command "
		       "line), or echo 1 > /sys/module/p2pgpu/parameters/p2p "
		       "if it is writable, then re-create the buffers.";
	case P2PGPU_REASON_PINNED_IN_SYSTEM:
		return "another importer pinned the buffer in system memory "
		       "(a static or P2PRDMA_REG_PINNED importer that cannot "
		       "reach VRAM), so every importer gets the system-memory "
		       "copy. Fix: release that importer's registration, or "
		       "give it its own buffer.";
	case P2PGPU_REASON_SYSTEM_PLACEMENT:
		return "the buffer was created with P2PGPU_PLACEMENT_SYSTEM, "
		       "so there is no VRAM to share. Fix: create it with "
		       "P2PGPU_PLACEMENT_VRAM or _VRAM_PREFERRED (and make "
		       "sure VRAM is not full).";
	case P2PGPU_REASON_MAP_REFUSED:
		return "peer-to-peer looked possible but the DMA API refused to "
		       "map the VRAM BAR for the importer (-EREMOTEIO), e.g. an "
		       "IOMMU setup that cannot translate peer addresses. Fix: "
		       "check dmesg for DMAR/IOMMU messages; try iommu=pt or "
		       "putting both devices behind one switch.";
	case P2PGPU_REASON_NOT_REVOCABLE:
		return "the importer could reach the BAR, but its driver cannot "
		       "be revoked (no invalidate_mappings callback, kernel "
		       "7.1 and later): VRAM is never pinned for it, because an "
		       "unbind or reset could not take the BAR back. Fix: use "
		       "an importer with invalidate_mappings (dynamic or pinned "
		       "but revocable, as p2prdma, irdma, erdma); staging "
		       "through system memory is the only path otherwise.";
	default:
		return "unknown reason code: this tool is older than the "
		       "p2pgpu driver; update libp2pbuf/p2pctl.";
	}
}

P2PBUF_EXPORT const char *p2pbuf_mapping_str(uint32_t mapping)
{
	switch (mapping) {
	case P2PGPU_MAPPING_NONE: return "none";
	case P2PGPU_MAPPING_P2P: return "p2p";
	case P2PGPU_MAPPING_STAGED: return "staged";
	default: return "unknown";
	}
}

P2PBUF_EXPORT const char *p2pbuf_backing_str(uint32_t backing)
{
	switch (backing) {
	case P2PRDMA_BACKING_UNMAPPED: return "unmapped";
	case P2PRDMA_BACKING_PEER: return "peer";
	case P2PRDMA_BACKING_SYSTEM: return "system";
	default: return "unknown";
	}
}

P2PBUF_EXPORT void p2pbuf_pci_addr(char buf[P2PBUF_PCI_ADDR_LEN],
				   uint32_t domain, uint32_t bus,
				   uint32_t devfn)
{
	snprintf(buf, P2PBUF_PCI_ADDR_LEN, "%04x:%02x:%02x.%x",
		 domain & 0xffff, bus & 0xff, (devfn >> 3) & 0x1f, devfn & 7);
}

P2PBUF_EXPORT int p2pbuf_pci_parse(const char *s, char out[P2PBUF_PCI_ADDR_LEN])
{
	unsigned int dom = 0, bus, dev, fn;
	int n = -1;

	if (!s || !out)
		return -EINVAL;
	if (sscanf(s, "%4x:%2x:%2x.%1u%n", &dom, &bus, &dev, &fn, &n) != 4 ||
	    s[n]) {
		dom = 0;
		n = -1;
		if (sscanf(s, "%2x:%2x.%1u%n", &bus, &dev, &fn, &n) != 3 || s[n])
			return -EINVAL;
	}
	/* sscanf's %x takes signs and 0x: only hex digits are an address */
	for (n = 0; s[n]; n++)
		if (!strchr("0123456789abcdefABCDEF:.", s[n]))
			return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	p2pbuf_pci_addr(out, dom, bus, (dev << 3) | fn);
	return 0;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static int drm_ioctl(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

static int nic_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && errno == EINTR);
	return ret ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* GPUs                                                                  */
/* ------------------------------------------------------------------ */

struct gpu_found {
	struct p2pbuf_gpu_desc d;
	char primary[P2PBUF_PATH_LEN];
};

/* 1 and the driver's version if @node is a p2pgpu device, else 0. */
static int is_p2pgpu(const char *node, struct p2pbuf_gpu_desc *d)
{
	drmVersionPtr v;
	int fd, ok;

	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	v = drmGetVersion(fd);
	ok = v && v->name && !strcmp(v->name, "p2pgpu");
	if (ok) {
		d->drv_major = v->version_major;
		d->drv_minor = v->version_minor;
	}
	drmFreeVersion(v);
	close(fd);
	return ok;
}

static int cmp_gpu(const void *a, const void *b)
{
	const struct gpu_found *x = a, *y = b;

	return strcmp(x->d.pci, y->d.pci);
}

/*
 * Enumerate, in PCI address order (libdrm returns them in the order of
 * /dev/dri, which follows probe order, not the bus): fills up to @max
 * entries of @out; returns the total count.
 */
static int gpu_enum(struct gpu_found *out, int max)
{
	struct gpu_found *all;
	drmDevicePtr *devs;
	int n, i, found = 0;

	n = drmGetDevices2(0, NULL, 0);
	if (n <= 0)
		return n == 0 || n == -ENODEV || n == -ENOENT ? 0 : n;
	devs = calloc(n, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	n = drmGetDevices2(0, devs, n);
	if (n < 0) {
		free(devs);
		return n == -ENODEV || n == -ENOENT ? 0 : n;
	}
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all) {
		drmFreeDevices(devs, n);
		free(devs);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		drmDevicePtr d = devs[i];
		const char *render = NULL, *primary = NULL;
		struct gpu_found g;

		if (d->available_nodes & (1 << DRM_NODE_RENDER))
			render = d->nodes[DRM_NODE_RENDER];
		if (d->available_nodes & (1 << DRM_NODE_PRIMARY))
			primary = d->nodes[DRM_NODE_PRIMARY];
		if (!render && !primary)
			continue;
		memset(&g, 0, sizeof(g));
		if (!is_p2pgpu(render ? render : primary, &g.d))
			continue;
		copy_str(g.d.node, sizeof(g.d.node), render ? render : primary);
		copy_str(g.primary, sizeof(g.primary), primary);
		if (d->bustype == DRM_BUS_PCI && d->businfo.pci)
			snprintf(g.d.pci, sizeof(g.d.pci), "%04x:%02x:%02x.%x",
				 d->businfo.pci->domain, d->businfo.pci->bus,
				 d->businfo.pci->dev, d->businfo.pci->func);
		all[found++] = g;
	}
	drmFreeDevices(devs, n);
	free(devs);
	qsort(all, found, sizeof(*all), cmp_gpu);
	for (i = 0; i < found && i < max; i++)
		out[i] = all[i];
	free(all);
	return found;
}

P2PBUF_EXPORT int p2pbuf_gpu_list(struct p2pbuf_gpu_desc *out, int max)
{
	struct gpu_found *tmp = NULL;
	int n, i;

	if (max < 0 || (max > 0 && !out))
		return -EINVAL;
	if (max > 0) {
		tmp = calloc(max, sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
	}
	n = gpu_enum(tmp, max);
	for (i = 0; i < n && i < max; i++)
		out[i] = tmp[i].d;
	free(tmp);
	return n;
}

static int gpu_query(int fd, struct drm_p2pgpu_device_query *q)
{
	memset(q, 0, sizeof(*q));
	return drm_ioctl(fd, DRM_IOCTL_P2PGPU_DEVICE_QUERY, q);
}

/* 0 for a p2pgpu of our interface, -ENODEV not p2pgpu, -EPROTO another major. */
static int check_driver(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);
	int ret = -ENODEV;

	if (v && v->name && !strcmp(v->name, "p2pgpu"))
		ret = v->version_major == P2PBUF_DRM_MAJOR ? 0 : -EPROTO;
	drmFreeVersion(v);
	return ret;
}

static int gpu_open_node(const char *node, const char *fallback,
			 struct p2pbuf_gpu **out)
{
	struct drm_p2pgpu_device_query q;
	struct p2pbuf_gpu *gpu;
	int fd, ret;

	if (!node || !out)
		return -EINVAL;
	*out = NULL;
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = check_driver(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	ret = gpu_query(fd, &q);
	if ((ret == -EACCES || ret == -EPERM) && fallback && *fallback) {
		/* driver ioctls not allowed on the render node: try primary */
		int fd2 = open(fallback, O_RDWR | O_CLOEXEC);

		if (fd2 >= 0) {
			ret = gpu_query(fd2, &q);
			if (!ret) {
				close(fd);
				fd = fd2;
				node = fallback;
			} else {
				close(fd2);
			}
		}
	}
	if (ret) {
		close(fd);
		return ret;
	}
	gpu = calloc(1, sizeof(*gpu));
	if (!gpu) {
		close(fd);
		return -ENOMEM;
	}
	gpu->fd = fd;
	copy_str(gpu->node, sizeof(gpu->node), node);
	p2pbuf_pci_addr(gpu->pci, q.pci_domain, q.pci_bus, q.pci_devfn);
	*out = gpu;
	return 0;
}

P2PBUF_EXPORT int p2pbuf_gpu_open_path(const char *node,
				       struct p2pbuf_gpu **out)
{
	return gpu_open_node(node, NULL, out);
}

P2PBUF_EXPORT int p2pbuf_gpu_open(int index, struct p2pbuf_gpu **out)
{
	struct gpu_found *all;
	int n, ret;

	if (!out || index < 0)
		return -EINVAL;
	*out = NULL;
	n = gpu_enum(NULL, 0);
	if (n < 0)
		return n;
	if (index >= n)
		return -ENODEV;
	all = calloc(n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	ret = gpu_enum(all, n);
	if (ret >= 0 && index >= ret)
		ret = -ENODEV;
	if (ret >= 0)
		ret = gpu_open_node(all[index].d.node, all[index].primary, out);
	free(all);
	return ret;
}

P2PBUF_EXPORT int p2pbuf_gpu_open_pci(const char *pci, struct p2pbuf_gpu **out)
{
	char want[P2PBUF_PCI_ADDR_LEN];
	struct gpu_found *all;
	int n, i, ret = -ENODEV;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (p2pbuf_pci_parse(pci, want))
		return -EINVAL;
	n = gpu_enum(NULL, 0);
	if (n <= 0)
		return n < 0 ? n : -ENODEV;
	all = calloc(n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = gpu_enum(all, n);
	for (i = 0; i < n; i++)
		if (!strcmp(all[i].d.pci, want)) {
			ret = gpu_open_node(all[i].d.node, all[i].primary, out);
			break;
		}
	free(all);
	return ret;
}

P2PBUF_EXPORT int p2pbuf_gpu_open_fd(int fd, struct p2pbuf_gpu **out)
{
	struct drm_p2pgpu_device_query q;
	struct p2pbuf_gpu *gpu;
	char *name;
	int dup, ret;

	if (!out || fd < 0)
		return -EINVAL;
	*out = NULL;
	ret = check_driver(fd);
	if (ret)
		return ret;
	ret = gpu_query(fd, &q);
	if (ret)
		return ret;
	gpu = calloc(1, sizeof(*gpu));
	if (!gpu)
		return -ENOMEM;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0) {
		ret = -errno;
		free(gpu);
		return ret;
	}
	gpu->fd = dup;
	name = drmGetDeviceNameFromFd2(dup);
	copy_str(gpu->node, sizeof(gpu->node), name);
	free(name);
	p2pbuf_pci_addr(gpu->pci, q.pci_domain, q.pci_bus, q.pci_devfn);
	*out = gpu;
	return 0;
}

P2PBUF_EXPORT void p2pbuf_gpu_close(struct p2pbuf_gpu *gpu)
{
	if (!gpu)
		return;
	close(gpu->fd);
	free(gpu);
}

P2PBUF_EXPORT int p2pbuf_gpu_info_ex(struct p2pbuf_gpu *gpu,
				     struct p2pbuf_gpu_info *info,
				     size_t info_size)
{
	struct drm_p2pgpu_device_query q;
	struct p2pbuf_gpu_info all;
	drmVersionPtr v;
	int ret;

	if (!gpu || !info || info_size < GPU_INFO_SIZE_V0)
		return -EINVAL;
	ret = gpu_query(gpu->fd, &q);
	if (ret)
		return ret;
	memset(&all, 0, sizeof(all));
	p2pbuf_pci_addr(all.pci, q.pci_domain, q.pci_bus, q.pci_devfn);
	all.vram_size = q.vram_size;
	all.vram_used = q.vram_used;
	all.vram_pinned = q.vram_pinned;
	all.vram_pin_limit = q.vram_pin_limit;
	all.bar_bus_addr = q.bar_bus_addr;
	all.caps = q.caps;
	v = drmGetVersion(gpu->fd);
	if (v) {
		all.drv_major = v->version_major;
		all.drv_minor = v->version_minor;
	}
	drmFreeVersion(v);
	return fill_sized(info, info_size, &all, sizeof(all), GPU_INFO_SIZE_V0);
}

P2PBUF_EXPORT int p2pbuf_gpu_info(struct p2pbuf_gpu *gpu,
				  struct p2pbuf_gpu_info *info)
{
	return p2pbuf_gpu_info_ex(gpu, info, GPU_INFO_SIZE_V0);
}

/* ------------------------------------------------------------------ */
/* Buffers                                                              */
/* ------------------------------------------------------------------ */

P2PBUF_EXPORT int p2pbuf_bo_create(struct p2pbuf_gpu *gpu, uint64_t size,
				   uint32_t placement, struct p2pbuf_bo **out)
{
	struct drm_p2pgpu_gem_create c = { .size = size, .placement = placement };
	struct drm_p2pgpu_gem_query q;
	struct p2pbuf_bo *bo;
	int ret;

	if (!gpu || !out)
		return -EINVAL;
	*out = NULL;
	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return -ENOMEM;
	ret = drm_ioctl(gpu->fd, DRM_IOCTL_P2PGPU_GEM_CREATE, &c);
	if (ret) {
		free(bo);
		return ret;
	}
	bo->gpu = gpu;
	bo->handle = c.handle;
	bo->size = size;
	memset(&q, 0, sizeof(q));
	q.handle = c.handle;
	if (!drm_ioctl(gpu->fd, DRM_IOCTL_P2PGPU_GEM_QUERY, &q) && q.size)
		bo->size = q.size;
	*out = bo;
	return 0;
}

P2PBUF_EXPORT int p2pbuf_bo_import(struct p2pbuf_gpu *gpu, int dmabuf_fd,
				   struct p2pbuf_bo **out)
{
	struct drm_p2pgpu_gem_query q;
	struct p2pbuf_bo *bo;
	uint32_t handle;
	off_t end;

	if (!gpu || !out || dmabuf_fd < 0)
		return -EINVAL;
	*out = NULL;
	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return -ENOMEM;
	if (drmPrimeFDToHandle(gpu->fd, dmabuf_fd, &handle)) {
		int ret = errno ? -errno : -EIO;

		free(bo);
		return ret;
	}
	bo->gpu = gpu;
	bo->handle = handle;
	memset(&q, 0, sizeof(q));
	q.handle = handle;
	if (!drm_ioctl(gpu->fd, DRM_IOCTL_P2PGPU_GEM_QUERY, &q) && q.size) {
		bo->size = q.size;
	} else {
		/* a dma-buf's size is its file's size */
		end = lseek(dmabuf_fd, 0, SEEK_END);
		bo->size = end > 0 ? (uint64_t)end : 0;
	}
	*out = bo;
	return 0;
}

P2PBUF_EXPORT void p2pbuf_bo_munmap(struct p2pbuf_bo *bo)
{
	if (bo && bo->map) {
		munmap(bo->map, bo->size);
		bo->map = NULL;
	}
}

P2PBUF_EXPORT void p2pbuf_bo_destroy(struct p2pbuf_bo *bo)
{
	struct drm_gem_close cl;

	if (!bo)
		return;
	p2pbuf_bo_munmap(bo);
	memset(&cl, 0, sizeof(cl));
	cl.handle = bo->handle;
	drm_ioctl(bo->gpu->fd, DRM_IOCTL_GEM_CLOSE, &cl);
	free(bo);
}

P2PBUF_EXPORT int p2pbuf_bo_mmap(struct p2pbuf_bo *bo, void **ptr)
{
	struct drm_p2pgpu_gem_mmap_offset m;
	void *p;
	int ret;

	if (!bo || !ptr)
		return -EINVAL;
	if (bo->map) {
		*ptr = bo->map;
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.handle = bo->handle;
	ret = drm_ioctl(bo->gpu->fd, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &m);
	if (ret)
		return ret;
	p = mmap(NULL, bo->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bo->gpu->fd, (off_t)m.offset);
	if (p == MAP_FAILED)
		return -errno;
	bo->map = p;
	*ptr = p;
	return 0;
}

P2PBUF_EXPORT int p2pbuf_bo_query_ex(struct p2pbuf_bo *bo,
				     struct p2pbuf_bo_state *st, size_t st_size,
				     struct drm_p2pgpu_attachment_info *att,
				     unsigned int *n)
{
	struct drm_p2pgpu_gem_query q;
	struct p2pbuf_bo_state all;
	unsigned int cap = n ? *n : 0;
	int ret;

	if (!bo || (cap && !att) || (st && st_size < BO_STATE_SIZE_V0))
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	q.handle = bo->handle;
	q.num_attachments = cap;
	q.attachments = cap ? (uintptr_t)att : 0;
	if (cap)
		memset(att, 0, cap * sizeof(*att));
	ret = drm_ioctl(bo->gpu->fd, DRM_IOCTL_P2PGPU_GEM_QUERY, &q);
	if (ret)
		return ret;
	if (n)
		*n = q.num_attachments < cap ? q.num_attachments : cap;
	if (st) {
		memset(&all, 0, sizeof(all));
		all.size = q.size;
		all.placement = q.placement;
		all.flags = q.flags;
		all.move_count = q.move_count;
		all.requested = q.requested;
		all.num_attachments = q.num_attachments;
		fill_sized(st, st_size, &all, sizeof(all), BO_STATE_SIZE_V0);
	}
	return 0;
}

P2PBUF_EXPORT int p2pbuf_bo_query(struct p2pbuf_bo *bo,
				  struct p2pbuf_bo_state *st,
				  struct drm_p2pgpu_attachment_info *att,
				  unsigned int *n)
{
	return p2pbuf_bo_query_ex(bo, st, BO_STATE_SIZE_V0, att, n);
}

P2PBUF_EXPORT int p2pbuf_bo_find_attachment(struct p2pbuf_bo *bo,
					    const char *importer,
					    struct drm_p2pgpu_attachment_info *out)
{
	struct drm_p2pgpu_attachment_info *att;
	struct p2pbuf_bo_state st;
	unsigned int n = 0, i;
	int ret;

	if (!bo || !importer || !out)
		return -EINVAL;
	ret = p2pbuf_bo_query(bo, &st, NULL, &n);
	if (ret)
		return ret;
	if (!st.num_attachments)
		return -ENOENT;
	n = st.num_attachments + 4;	/* room for attachments added meanwhile */
	att = calloc(n, sizeof(*att));
	if (!att)
		return -ENOMEM;
	ret = p2pbuf_bo_query(bo, NULL, att, &n);
	if (!ret) {
		ret = -ENOENT;
		for (i = 0; i < n; i++) {
			att[i].importer[sizeof(att[i].importer) - 1] = '\0';
			att[i].importer_driver[sizeof(att[i].importer_driver) - 1] = '\0';
			if (!strcmp(att[i].importer, importer)) {
				*out = att[i];
				ret = 0;
				break;
			}
		}
	}
	free(att);
	return ret;
}

P2PBUF_EXPORT int p2pbuf_bo_export(struct p2pbuf_bo *bo, int *fd)
{
	int ret;

	if (!bo || !fd)
		return -EINVAL;
	ret = drmPrimeHandleToFD(bo->gpu->fd, bo->handle, DRM_CLOEXEC | DRM_RDWR,
				 fd);
	return ret ? (errno ? -errno : -EIO) : 0;
}

P2PBUF_EXPORT int p2pbuf_bo_export_range(struct p2pbuf_bo *bo, uint64_t offset,
					 uint64_t length, int *fd)
{
	struct drm_p2pgpu_gem_export_range r;
	int ret;

	if (!bo || !fd)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.handle = bo->handle;
	r.flags = DRM_CLOEXEC | DRM_RDWR;
	r.offset = offset;
	r.length = length;
	ret = drm_ioctl(bo->gpu->fd, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r);
	if (ret)
		return ret;
	*fd = r.fd;
	return 0;
}

P2PBUF_EXPORT int p2pbuf_bo_migrate(struct p2pbuf_bo *bo, uint32_t placement)
{
	struct drm_p2pgpu_gem_migrate m;

	if (!bo)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.handle = bo->handle;
	m.placement = placement;
	return drm_ioctl(bo->gpu->fd, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &m);
}

/* ------------------------------------------------------------------ */
/* NICs                                                                 */
/* ------------------------------------------------------------------ */

static int nic_num(const char *name)
{
	char *end;
	long v;

	if (strncmp(name, "p2prdma", 7) || !name[7])
		return -1;
	v = strtol(name + 7, &end, 10);
	if (*end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Device numbers of /dev/p2prdma<N>, sorted; returns count or -errno. */
static int nic_numbers(int **nums)
{
	struct dirent *de;
	int n = 0, cap = 0, *v = NULL;
	DIR *d;

	*nums = NULL;
	d = opendir("/dev");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int k = nic_num(de->d_name);

		if (k < 0)
			continue;
		if (n == cap) {
			int *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[n++] = k;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_int);
	*nums = v;
	return n;
}

static int nic_devinfo(int fd, struct p2prdma_device_info *di)
{
	memset(di, 0, sizeof(*di));
	return nic_ioctl(fd, P2PRDMA_IOCTL_DEVICE_INFO, di);
}

P2PBUF_EXPORT int p2pbuf_nic_list(struct p2pbuf_nic_desc *out, int max)
{
	int *nums, n, i, found = 0;

	if (max < 0 || (max > 0 && !out))
		return -EINVAL;
	n = nic_numbers(&nums);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		struct p2prdma_device_info di;
		struct p2pbuf_nic_desc d;
		int fd;

		memset(&d, 0, sizeof(d));
		snprintf(d.node, sizeof(d.node), "/dev/p2prdma%d", nums[i]);
		fd = open(d.node, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!nic_devinfo(fd, &di))
			p2pbuf_pci_addr(d.pci, di.pci_domain, di.pci_bus,
					di.pci_devfn);
		close(fd);
		if (found < max)
			out[found] = d;
		found++;
	}
	free(nums);
	return found;
}

P2PBUF_EXPORT int p2pbuf_nic_open_path(const char *node,
				       struct p2pbuf_nic **out)
{
	struct p2prdma_device_info di;
	struct p2pbuf_nic *nic;
	int fd, ret;

	if (!node || !out)
		return -EINVAL;
	*out = NULL;
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = nic_devinfo(fd, &di);
	if (ret) {
		close(fd);
		return ret == -ENOTTY ? -ENODEV : ret;
	}
	nic = calloc(1, sizeof(*nic));
	if (!nic) {
		close(fd);
		return -ENOMEM;
	}
	nic->fd = fd;
	copy_str(nic->node, sizeof(nic->node), node);
	p2pbuf_pci_addr(nic->pci, di.pci_domain, di.pci_bus, di.pci_devfn);
	*out = nic;
	return 0;
}

P2PBUF_EXPORT int p2pbuf_nic_open(int index, struct p2pbuf_nic **out)
{
	struct p2pbuf_nic_desc *all;
	int n, ret;

	if (!out || index < 0)
		return -EINVAL;
	*out = NULL;
	n = p2pbuf_nic_list(NULL, 0);
	if (n < 0)
		return n;
	if (index >= n)
		return -ENODEV;
	all = calloc(n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	ret = p2pbuf_nic_list(all, n);
	if (ret >= 0 && index >= ret)
		ret = -ENODEV;
	if (ret >= 0)
		ret = p2pbuf_nic_open_path(all[index].node, out);
	free(all);
	return ret;
}

P2PBUF_EXPORT int p2pbuf_nic_open_pci(const char *pci, struct p2pbuf_nic **out)
{
	char want[P2PBUF_PCI_ADDR_LEN];
	struct p2pbuf_nic_desc *all;
	int n, i, ret = -ENODEV;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (p2pbuf_pci_parse(pci, want))
		return -EINVAL;
	n = p2pbuf_nic_list(NULL, 0);
	if (n <= 0)
		return n < 0 ? n : -ENODEV;
	all = calloc(n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = p2pbuf_nic_list(all, n);
	for (i = 0; i < n; i++)
		if (!strcmp(all[i].pci, want)) {
			ret = p2pbuf_nic_open_path(all[i].node, out);
			break;
		}
	free(all);
	return ret;
}

P2PBUF_EXPORT void p2pbuf_nic_close(struct p2pbuf_nic *nic)
{
	if (!nic)
		return;
	close(nic->fd);
	free(nic);
}

P2PBUF_EXPORT int p2pbuf_nic_info_ex(struct p2pbuf_nic *nic,
				     struct p2pbuf_nic_info *info,
				     size_t info_size)
{
	struct p2prdma_device_info di;
	struct p2pbuf_nic_info all;
	int ret;

	if (!nic || !info || info_size < NIC_INFO_SIZE_V0)
		return -EINVAL;
	ret = nic_devinfo(nic->fd, &di);
	if (ret)
		return ret;
	memset(&all, 0, sizeof(all));
	p2pbuf_pci_addr(all.pci, di.pci_domain, di.pci_bus, di.pci_devfn);
	all.dma_mask_bits = di.dma_mask_bits;
	all.live_regions = di.live_regions;
	return fill_sized(info, info_size, &all, sizeof(all), NIC_INFO_SIZE_V0);
}

P2PBUF_EXPORT int p2pbuf_nic_info(struct p2pbuf_nic *nic,
				  struct p2pbuf_nic_info *info)
{
	return p2pbuf_nic_info_ex(nic, info, NIC_INFO_SIZE_V0);
}

P2PBUF_EXPORT int p2pbuf_nic_reg_dmabuf(struct p2pbuf_nic *nic, int dmabuf_fd,
					uint64_t offset, uint64_t length,
					uint32_t access, uint32_t flags,
					uint32_t *handle)
{
	return p2pbuf_nic_reg_dmabuf_iova(nic, dmabuf_fd, offset, length,
					  offset, access, flags, handle);
}

P2PBUF_EXPORT int p2pbuf_nic_reg_dmabuf_iova(struct p2pbuf_nic *nic,
					     int dmabuf_fd, uint64_t offset,
					     uint64_t length, uint64_t iova,
					     uint32_t access, uint32_t flags,
					     uint32_t *handle)
{
	struct p2prdma_reg_dmabuf_mr r;
	int ret;

	if (!nic || !handle)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.fd = dmabuf_fd;
	r.access = access;
	r.offset = offset;
	r.length = length;
	r.iova = iova;
	r.flags = flags;
	ret = nic_ioctl(nic->fd, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);
	if (!ret)
		*handle = r.handle;
	return ret;
}

P2PBUF_EXPORT int p2pbuf_nic_last_refusal_ex(struct p2pbuf_nic *nic,
					     struct p2pbuf_refusal *out,
					     size_t out_size)
{
	struct p2prdma_refusal r;
	struct p2pbuf_refusal all;
	int ret;

	if (!nic || !out || out_size < REFUSAL_SIZE_V0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	ret = nic_ioctl(nic->fd, P2PRDMA_IOCTL_QUERY_REFUSAL, &r);
	if (ret)
		return ret;
	memset(&all, 0, sizeof(all));
	all.stage = r.stage;
	all.error = -(int)r.error;
	all.backing = r.backing;
	all.dmabuf_ino = r.dmabuf_ino;
	all.offset = r.offset;
	all.length = r.length;
	memcpy(all.exporter, r.exporter, sizeof(all.exporter));
	all.exporter[sizeof(all.exporter) - 1] = 0;
	return fill_sized(out, out_size, &all, sizeof(all), REFUSAL_SIZE_V0);
}

P2PBUF_EXPORT const char *p2pbuf_refusal_stage_str(uint32_t stage)
{
	switch (stage) {
	case P2PRDMA_REFUSED_NONE: return "none";
	case P2PRDMA_REFUSED_ATTACH: return "attach";
	case P2PRDMA_REFUSED_MAP: return "map";
	default: return "unknown";
	}
}

P2PBUF_EXPORT int p2pbuf_nic_reg_user(struct p2pbuf_nic *nic, void *addr,
				      uint64_t length, uint32_t access,
				      uint32_t *handle)
{
	struct p2prdma_reg_user_mr r;
	int ret;

	if (!nic || !handle)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.addr = (uintptr_t)addr;
	r.length = length;
	r.access = access;
	ret = nic_ioctl(nic->fd, P2PRDMA_IOCTL_REG_USER_MR, &r);
	if (!ret)
		*handle = r.handle;
	return ret;
}

P2PBUF_EXPORT int p2pbuf_nic_dereg(struct p2pbuf_nic *nic, uint32_t handle)
{
	struct p2prdma_dereg_mr d;

	if (!nic)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	d.handle = handle;
	return nic_ioctl(nic->fd, P2PRDMA_IOCTL_DEREG_MR, &d);
}

P2PBUF_EXPORT int p2pbuf_nic_query_mr(struct p2pbuf_nic *nic, uint32_t handle,
				      struct p2prdma_query_mr *out)
{
	if (!nic || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->handle = handle;
	return nic_ioctl(nic->fd, P2PRDMA_IOCTL_QUERY_MR, out);
}

P2PBUF_EXPORT int p2pbuf_nic_transfer(struct p2pbuf_nic *nic, uint32_t dst,
				      uint64_t dst_off, uint32_t src,
				      uint64_t src_off, uint64_t length,
				      uint32_t timeout_ms,
				      uint64_t *bytes_via_system)
{
	struct p2prdma_transfer t;
	int ret;

	if (!nic)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	t.dst_handle = dst;
	t.src_handle = src;
	t.dst_offset = dst_off;
	t.src_offset = src_off;
	t.length = length;
	t.timeout_ms = timeout_ms;
	ret = nic_ioctl(nic->fd, P2PRDMA_IOCTL_TRANSFER, &t);
	if (!ret && bytes_via_system)
		*bytes_via_system = t.bytes_via_system;
	return ret;
}

/* ------------------------------------------------------------------ */
/* fd passing                                                            */
/* ------------------------------------------------------------------ */

P2PBUF_EXPORT int p2pbuf_send_fd(int sock, int fd, const void *data,
				 size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char dummy = 0;
	struct iovec iov;
	struct msghdr msg;
	ssize_t r;

	memset(&msg, 0, sizeof(msg));
	memset(&ctl, 0, sizeof(ctl));
	if (data && len) {
		iov.iov_base = (void *)data;
		iov.iov_len = len;
	} else {
		iov.iov_base = &dummy;
		iov.iov_len = 1;
	}
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		r = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r != iov.iov_len)
		return -EMSGSIZE;
	return 0;
}

P2PBUF_EXPORT ssize_t p2pbuf_recv_fd(int sock, int *fd, void *data, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	char dummy;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	int got = -1, trunc = 0;
	ssize_t r;

	if (fd)
		*fd = -1;
	memset(&msg, 0, sizeof(msg));
	if (data && len) {
		iov.iov_base = data;
		iov.iov_len = len;
	} else {
		iov.iov_base = &dummy;
		iov.iov_len = 1;
	}
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do {
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfd, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < 0 && fd) {
				got = f;
			} else {
				close(f);
				trunc = 1;
			}
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		trunc = 1;
	if (trunc) {
		if (got >= 0)
			close(got);
		return -EMSGSIZE;
	}
	if (fd)
		*fd = got;
	return r;
}

/* ------------------------------------------------------------------ */
/* Probe                                                                 */
/* ------------------------------------------------------------------ */

static int probe_pair(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
		      struct p2pbuf_probe *res);

static uint8_t probe_byte(size_t i)
{
	return (uint8_t)((i * 131u + 0x5a) ^ (i >> 8));
}

P2PBUF_EXPORT int p2pbuf_probe_pair(struct p2pbuf_gpu *gpu,
				    struct p2pbuf_nic *nic,
				    struct p2pbuf_probe *res)
{
	return p2pbuf_probe_pair_ex(gpu, nic, res, PROBE_SIZE_V0);
}

P2PBUF_EXPORT int p2pbuf_probe_pair_ex(struct p2pbuf_gpu *gpu,
				       struct p2pbuf_nic *nic,
				       struct p2pbuf_probe *out,
				       size_t out_size)
{
	struct p2pbuf_probe all, *res = &all;
	int ret;

	if (!gpu || !nic || !out || out_size < PROBE_SIZE_V0)
		return -EINVAL;
	ret = probe_pair(gpu, nic, res);
	fill_sized(out, out_size, &all, sizeof(all), PROBE_SIZE_V0);
	return ret;
}

static int probe_pair(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
		      struct p2pbuf_probe *res)
{
	const size_t len = 4096;
	struct drm_p2pgpu_attachment_info att;
	struct p2prdma_query_mr mq;
	struct dma_buf_sync sync;
	struct p2pbuf_bo *bo = NULL;
	uint32_t mr_buf = 0, mr_user = 0;
	uint8_t *user = MAP_FAILED, *cpu;
	int dmabuf = -1, ret;
	void *p;
	size_t i;

	memset(res, 0, sizeof(*res));
	res->distance = -1;

#define STEP(name, call) \
	do { \
		ret = (call); \
		if (ret) { \
			res->failed_step = (name); \
			goto out; \
		} \
	} while (0)

	STEP("create VRAM buffer",
	     p2pbuf_bo_create(gpu, len, P2PGPU_PLACEMENT_VRAM, &bo));
	STEP("export", p2pbuf_bo_export(bo, &dmabuf));
	STEP("register dma-buf on the NIC",
	     p2pbuf_nic_reg_dmabuf(nic, dmabuf, 0, len, P2PRDMA_ACCESS_ALL, 0,
				   &mr_buf));
	user = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	STEP("allocate user memory", user == MAP_FAILED ? -errno : 0);
	for (i = 0; i < len; i++)
		user[i] = probe_byte(i);
	STEP("register user memory on the NIC",
	     p2pbuf_nic_reg_user(nic, user, len, P2PRDMA_ACCESS_ALL, &mr_user));
	STEP("DMA transfer",
	     p2pbuf_nic_transfer(nic, mr_buf, 0, mr_user, 0, len, 0,
				 &res->bytes_via_system));
	res->bytes = len;
	if (!p2pbuf_nic_query_mr(nic, mr_buf, &mq)) {
		res->backing = mq.backing;
		res->mr_flags = mq.flags;
	}
	STEP("find the NIC's attachment",
	     p2pbuf_bo_find_attachment(bo, nic->pci, &att));
	res->decision = att.decision;
	res->mapping = att.mapping;
	res->reason = att.reason;
	res->distance = att.distance;
	res->att_flags = att.flags;
	STEP("map the buffer for the CPU", p2pbuf_bo_mmap(bo, &p));
	cpu = p;
	/*
	 * CPU access between DMA_BUF_IOCTL_SYNCs, as the dma-buf contract
	 * asks: a staged mapping may bounce (swiotlb), and only the sync
	 * brings the NIC's bytes into the pages
	 */
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	STEP("sync the buffer for the CPU",
	     ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync) ? -errno : 0);
	res->verified = 1;
	for (i = 0; i < len; i++) {
		if (cpu[i] != probe_byte(i)) {
			res->verified = 0;
			break;
		}
	}
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	STEP("end the CPU's access",
	     ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync) ? -errno : 0);
	ret = 0;
out:
#undef STEP
	res->error = ret;
	if (mr_user)
		p2pbuf_nic_dereg(nic, mr_user);
	if (mr_buf)
		p2pbuf_nic_dereg(nic, mr_buf);
	if (user != MAP_FAILED)
		munmap(user, len);
	if (dmabuf >= 0)
		close(dmabuf);
	p2pbuf_bo_destroy(bo);
	return ret;
}
