// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu unbind: the PCI device goes away under open files, live buffers,
 * CPU mappings and an exported dma-buf. Nothing may crash or leak: ioctls
 * fail with -ENODEV, mappings read a dummy page, the buffers are freed when
 * their last user lets go, and the device binds again.
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
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pgpu_drm.h"

#define DRV "/sys/bus/pci/drivers/p2pgpu"

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

	igt_describe("unbind with buffers open, mapped and exported; then bind again");
	igt_subtest("unbind-with-buffers") {
		size_t size = 1 << 20;
		struct drm_p2pgpu_gem_create cv = { .size = size,
			.placement = P2PGPU_PLACEMENT_VRAM };
		struct drm_p2pgpu_gem_create cs = { .size = size,
			.placement = P2PGPU_PLACEMENT_SYSTEM };
		struct drm_p2pgpu_device_query d = {};
		volatile uint8_t *v, *s, *dv;
		int dmabuf = -1, other;
		uint8_t sink = 0;

		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &cv), 0);
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &cs), 0);
		v = map_gem(gpu, cv.handle, size);
		s = map_gem(gpu, cs.handle, size);
		v[0] = 1;
		s[0] = 2;
		igt_assert_eq(drmPrimeHandleToFD(gpu, cv.handle,
						 DRM_CLOEXEC | DRM_RDWR, &dmabuf), 0);
		dv = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
		igt_assert(dv != MAP_FAILED);
		igt_assert_eq(dv[0], 1);

		sysfs_write(DRV "/unbind", addr);

		p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d),
				 ENODEV);
		/* no SIGBUS, no stale BAR: whatever is read is harmless */
		sink += v[0] + s[0] + dv[0];
		v[1] = 3;
		igt_info("read %u after unbind\n", sink);

		munmap((void *)v, size);
		munmap((void *)s, size);
		munmap((void *)dv, size);
		close(dmabuf);
		close(gpu);
		gpu = -1;

		sysfs_write(DRV "/bind", addr);
		other = __drm_open_driver(DRIVER_ANY);
		igt_assert(other >= 0);
		igt_assert_eq(drmIoctl(other, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_size, dq.vram_size);
		igt_assert_eq_u64(d.vram_used, 0);
		igt_assert_eq(drmIoctl(other, DRM_IOCTL_P2PGPU_GEM_CREATE, &cv), 0);
		close(other);
	}

	igt_fixture {
		if (gpu >= 0)
			close(gpu);
	}
}
