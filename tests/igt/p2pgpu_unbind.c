// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu unbind: the PCI device goes away under open files, live buffers,
 * CPU mappings (GEM and dma-buf mmap) and exported dma-bufs, one of them
 * pinned by a NIC registration. What the driver documents and does:
 * drm_dev_unplug() makes every later ioctl answer -ENODEV and zaps every
 * CPU mapping of the device's address space, which PRIME dma-buf files
 * share (drm_gem_dmabuf_export()); range exports have files of their own,
 * whose mappings the removal zaps (p2pgpu_revoke_all() through
 * p2pgpu_bo_move_notify()); every buffer is revoked, and a later fault in
 * any of them is SIGBUS (p2pgpu_gem_vm_fault()), never the BAR nor the
 * buffer's old pages. This test asserts exactly that, and that after the
 * device binds again a new buffer covering the whole new VRAM never shows
 * through the old mappings (they still fault), nor do writes through them
 * reach it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pbuf_pattern.h"
#include "p2pgpu_drm.h"
#include "p2prdma.h"

#define DRV "/sys/bus/pci/drivers/p2pgpu"
#define NIC "/dev/p2prdma0"

static struct drm_p2pgpu_device_query dq;
static char addr[32];
static int gpu = -1;

static void sysfs_write(const char *path, const char *val)
{
	int f = open(path, O_WRONLY);

	igt_assert_f(f >= 0, "%s: %s\n", path, strerror(errno));
	igt_assert_f(write(f, val, strlen(val)) == (ssize_t)strlen(val),
		     "%s < %s: %s\n", path, val, strerror(errno));
	close(f);
}

static void *map_gem(int fd, uint32_t handle, size_t size)
{
	struct drm_p2pgpu_gem_mmap_offset mo = { .handle = handle };
	void *p;

	igt_assert_eq(drmIoctl(fd, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, mo.offset);
	igt_assert(p != MAP_FAILED);
	return p;
}

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_sig;

static void probe_handler(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_jmp, 1);
}

/*
 * Copies @n bytes from a mapping (or writes @val at @at, when @out is
 * NULL) with SIGBUS and SIGSEGV caught: returns the signal, or 0.
 */
static int probe(volatile uint8_t *p, size_t n, uint8_t *out, size_t at,
		 uint8_t val)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	int sig = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	probe_sig = 0;
	if (sigsetjmp(probe_jmp, 1) == 0) {
		if (out)
			for (size_t i = 0; i < n; i += 8)
				*(uint64_t *)(out + i) =
					*(volatile uint64_t *)(p + i);
		else
			p[at] = val;
	} else {
		sig = probe_sig;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/* one CPU mapping made before the unbind, and what it showed then */
struct view {
	const char *name;
	volatile uint8_t *p;
	size_t len;
	uint64_t seed;		/* the buffer's pattern before the unbind */
	uint64_t first;		/* the view's first byte in the buffer */
	uint8_t *snap;		/* what it read after the unbind */
};

static void add_view(struct view *v, int *n, const char *name, void *p,
		     size_t len, uint64_t seed, uint64_t first)
{
	v[*n] = (struct view){ .name = name, .p = p, .len = len,
			       .seed = seed, .first = first };
	(*n)++;
}

/* a sub-range export: its own dma-buf file, its own address space */
static int export_range(int fd, uint32_t handle, uint64_t offset,
			uint64_t length)
{
	struct drm_p2pgpu_gem_export_range r = {
		.handle = handle, .flags = DRM_CLOEXEC | DRM_RDWR,
		.offset = offset, .length = length, .fd = -1,
	};

	igt_assert_eq(drmIoctl(fd, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r), 0);
	return r.fd;
}

igt_main
{
	igt_fixture {
		gpu = __drm_open_driver(DRIVER_ANY);
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		igt_require_f(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY,
				       &dq) == 0,
			      "the DRM device is not p2pgpu\n");
		snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", dq.pci_domain,
			 dq.pci_bus, dq.pci_devfn >> 3, dq.pci_devfn & 7);
		igt_require_f(access(DRV "/unbind", W_OK) == 0,
			      "no %s/unbind\n", DRV);
	}

	igt_describe("unbind under open, mapped, exported and pinned buffers: -ENODEV, old mappings fault with SIGBUS; after rebind a new buffer never shows through them");
	igt_subtest("unbind-with-buffers") {
		const size_t size = 1 << 20;
		struct drm_p2pgpu_gem_create cv = { .size = size,
			.placement = P2PGPU_PLACEMENT_VRAM };
		struct drm_p2pgpu_gem_create cs = { .size = size,
			.placement = P2PGPU_PLACEMENT_SYSTEM };
		struct drm_p2pgpu_gem_create cp = { .size = size,
			.placement = P2PGPU_PLACEMENT_VRAM };
		struct drm_p2pgpu_gem_create cn;
		struct drm_p2pgpu_device_query d = {};
		struct drm_p2pgpu_gem_mmap_offset mo = {};
		struct drm_p2pgpu_gem_migrate mig = {};
		struct drm_p2pgpu_gem_export_range er = {};
		struct drm_p2pgpu_gem_query gq = {};
		struct p2prdma_reg_dmabuf_mr reg = {};
		struct p2prdma_dereg_mr dereg = {};
		struct view views[8];
		int nviews = 0, fv, fs, fp, rs, rp, nic, other, sig, newfd = -1;
		volatile uint8_t *np;
		void *m;

		/* a VRAM buffer, a system one, and one a NIC pinned */
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &cv), 0);
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &cs), 0);
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &cp), 0);
		igt_assert_eq(drmPrimeHandleToFD(gpu, cv.handle, DRM_CLOEXEC | DRM_RDWR, &fv), 0);
		igt_assert_eq(drmPrimeHandleToFD(gpu, cs.handle, DRM_CLOEXEC | DRM_RDWR, &fs), 0);
		igt_assert_eq(drmPrimeHandleToFD(gpu, cp.handle, DRM_CLOEXEC | DRM_RDWR, &fp), 0);
		add_view(views, &nviews, "VRAM GEM mmap",
			 map_gem(gpu, cv.handle, size), size, 0x11, 0);
		add_view(views, &nviews, "system GEM mmap",
			 map_gem(gpu, cs.handle, size), size, 0x22, 0);
		add_view(views, &nviews, "pinned GEM mmap",
			 map_gem(gpu, cp.handle, size), size, 0x33, 0);
		for (int i = 0; i < 3; i++)
			p2p_pat_fill(views[i].p, size, views[i].seed, 0);
		/*
		 * Range exports are dma-bufs of p2pgpu's own: unlike PRIME
		 * ones (whose file shares the DRM device's address space) only
		 * p2pgpu itself can zap their mappings.
		 */
		rs = export_range(gpu, cs.handle, 4096, size - 4096);
		rp = export_range(gpu, cp.handle, 3 * 4096, size - 4 * 4096);
		add_view(views, &nviews, "VRAM dma-buf mmap",
			 mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fv, 0), size, 0x11, 0);
		add_view(views, &nviews, "system dma-buf mmap",
			 mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fs, 0), size, 0x22, 0);
		add_view(views, &nviews, "pinned dma-buf mmap",
			 mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fp, 0), size, 0x33, 0);
		add_view(views, &nviews, "system range dma-buf mmap",
			 mmap(NULL, size - 4096, PROT_READ | PROT_WRITE,
			      MAP_SHARED, rs, 0), size - 4096, 0x22, 4096);
		add_view(views, &nviews, "pinned range dma-buf mmap",
			 mmap(NULL, size - 4 * 4096, PROT_READ | PROT_WRITE,
			      MAP_SHARED, rp, 0), size - 4 * 4096, 0x33, 3 * 4096);
		for (int i = 0; i < nviews; i++) {
			igt_assert_f(views[i].p != MAP_FAILED, "%s: %s\n",
				     views[i].name, strerror(errno));
			p2p_pat_assert(views[i].p, views[i].len, views[i].seed,
				       views[i].first, "%s before the unbind",
				       views[i].name);
			views[i].snap = malloc(views[i].len);
			igt_assert(views[i].snap);
		}

		/* pinned by the NIC: in VRAM where the NIC reaches the BAR */
		nic = open(NIC, O_RDWR | O_CLOEXEC);
		igt_assert_f(nic >= 0, "%s: %s\n", NIC, strerror(errno));
		reg = (struct p2prdma_reg_dmabuf_mr){ .fd = fp, .length = size,
			.access = P2PRDMA_ACCESS_ALL, .flags = P2PRDMA_REG_PINNED };
		igt_assert_eq(ioctl(nic, P2PRDMA_IOCTL_REG_DMABUF_MR, &reg), 0);
		gq.handle = cp.handle;
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &gq), 0);
		igt_assert(gq.flags & P2PGPU_BO_PINNED);
		igt_info("pinned buffer in %s before the unbind\n",
			 gq.placement == P2PGPU_RESIDENT_VRAM ? "VRAM" : "system memory");

		sysfs_write(DRV "/unbind", addr);

		/* every ioctl, and a new GEM mmap, answers -ENODEV */
		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), ENODEV);
		cn = (struct drm_p2pgpu_gem_create){ .size = size,
			.placement = P2PGPU_PLACEMENT_VRAM };
		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &cn), ENODEV);
		mo.handle = cv.handle;
		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo), ENODEV);
		gq = (struct drm_p2pgpu_gem_query){ .handle = cv.handle };
		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &gq), ENODEV);
		mig = (struct drm_p2pgpu_gem_migrate){ .handle = cs.handle,
			.placement = P2PGPU_PLACEMENT_VRAM };
		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &mig), ENODEV);
		er = (struct drm_p2pgpu_gem_export_range){ .handle = cv.handle,
			.flags = DRM_CLOEXEC, .length = 4096 };
		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &er), ENODEV);
		p2p_assert_errno(drmPrimeHandleToFD(gpu, cs.handle, DRM_CLOEXEC, &newfd), ENODEV);
		m = mmap(NULL, size, PROT_READ, MAP_SHARED, gpu, 0x100000000ULL);
		igt_assert_f(m == MAP_FAILED && errno == ENODEV,
			     "GEM mmap after unbind: %p, errno %d (%s), expected -ENODEV\n",
			     m, errno, strerror(errno));

		/*
		 * The old mappings: the buffers were revoked, so neither the
		 * BAR nor the old pages, nor zeros that look like data: every
		 * read and write faults with SIGBUS, on every page.
		 */
		for (int i = 0; i < nviews; i++) {
			for (size_t off = 0; off < views[i].len; off += 4096) {
				sig = probe(views[i].p + off, 8, views[i].snap, 0, 0);
				igt_assert_f(sig == SIGBUS,
					     "%s after unbind: reading at %#zx got signal %d (%s), expected SIGBUS (a revoked buffer)\n",
					     views[i].name, off, sig,
					     sig ? strsignal(sig) : "none");
			}
			sig = probe(views[i].p, 0, NULL, 8 * i + 1, 0xa0 + i);
			igt_assert_f(sig == SIGBUS,
				     "%s after unbind: writing got signal %d (%s), expected SIGBUS\n",
				     views[i].name, sig, sig ? strsignal(sig) : "none");
		}

		/* the NIC's region of the revoked buffer goes */
		dereg.handle = reg.handle;
		igt_assert_eq(ioctl(nic, P2PRDMA_IOCTL_DEREG_MR, &dereg), 0);
		close(nic);
		close(gpu);
		gpu = -1;

		sysfs_write(DRV "/bind", addr);
		other = __drm_open_driver(DRIVER_ANY);
		igt_assert(other >= 0);
		igt_assert_eq(drmIoctl(other, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_size, dq.vram_size);
		igt_assert_eq_u64(d.vram_used, 0);

		/* a new buffer over all of the new VRAM: every old BAR page */
		cn = (struct drm_p2pgpu_gem_create){ .size = d.vram_size,
			.placement = P2PGPU_PLACEMENT_VRAM };
		igt_assert_eq(drmIoctl(other, DRM_IOCTL_P2PGPU_GEM_CREATE, &cn), 0);
		np = map_gem(other, cn.handle, d.vram_size);
		p2p_pat_fill(np, d.vram_size, 0x4e, 0);

		for (int i = 0; i < nviews; i++) {
			/* still revoked: nothing of the new device shows */
			for (size_t off = 0; off < views[i].len; off += 4096) {
				sig = probe(views[i].p + off, 8, views[i].snap, 0, 0);
				igt_assert_f(sig == SIGBUS,
					     "%s after rebind: reading at %#zx got signal %d (%s), expected SIGBUS: the new device's buffer may show through an old mapping\n",
					     views[i].name, off, sig,
					     sig ? strsignal(sig) : "none");
				/* and writes through it do not reach the new VRAM */
				sig = probe(views[i].p, 0, NULL, off + 7 * i, 0x5a);
				igt_assert_eq(sig, SIGBUS);
			}
		}
		p2p_pat_assert(np, d.vram_size, 0x4e, 0,
			       "the new VRAM after writes through the old mappings");

		for (int i = 0; i < nviews; i++) {
			munmap((void *)views[i].p, views[i].len);
			free(views[i].snap);
		}
		munmap((void *)np, d.vram_size);
		close(fv);
		close(fs);
		close(fp);
		close(rs);
		close(rp);
		close(other);
	}

	igt_fixture {
		if (gpu >= 0)
			close(gpu);
	}
}
