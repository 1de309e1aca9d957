// SPDX-License-Identifier: GPL-2.0
/*
 * Both drivers load, bind their devices, expose their nodes, and unload
 * cleanly. Run by the VM harness with the modules already loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <xf86drm.h>

#include "igt_subset.h"

static bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* Skips when the tree has no sources for @name (the module was not built). */
static void require_built(const char *name)
{
	const char *dir = getenv("P2PBUF_KMOD_DIR");
	char path[PATH_MAX];

	igt_require_f(dir, "P2PBUF_KMOD_DIR not set: run under the VM harness\n");
	snprintf(path, sizeof(path), "%s/%s.ko", dir, name);
	igt_require_f(access(path, F_OK) == 0, "%s.ko was not built\n", name);
}

static void load_module(const char *name)
{
	const char *dir = getenv("P2PBUF_KMOD_DIR");
	char path[PATH_MAX];
	int fd;

	igt_require_f(dir, "P2PBUF_KMOD_DIR not set: run under the VM harness\n");
	snprintf(path, sizeof(path), "%s/%s.ko", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	igt_assert_f(fd >= 0, "open %s: %s\n", path, strerror(errno));
	igt_assert_f(syscall(SYS_finit_module, fd, "", 0) == 0,
		     "finit_module %s: %s\n", path, strerror(errno));
	close(fd);
	igt_assert(module_loaded(name));
}

static void unload_module(const char *name)
{
	igt_assert_f(syscall(SYS_delete_module, name, O_NONBLOCK) == 0,
		     "delete_module %s: %s\n", name, strerror(errno));
	igt_assert(!module_loaded(name));
}

/* reads the first line of @dir/@attr (a PCI ID such as "0x1af4") */
static bool read_id(const char *dir, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX + 32];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	return ok;
}

/* Whether @driver is bound to a PCI device with this vendor and device ID. */
static bool driver_bound(const char *driver, const char *vendor,
			 const char *device)
{
	char path[PATH_MAX], buf[32];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s", driver);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((de = readdir(dir)) && !found) {
		if (!strchr(de->d_name, ':'))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/%s",
			 driver, de->d_name);
		found = read_id(path, "vendor", buf, sizeof(buf)) &&
			!strncmp(buf, vendor, 6) &&
			read_id(path, "device", buf, sizeof(buf)) &&
			!strncmp(buf, device, 6);
	}
	closedir(dir);
	return found;
}

/*
 * Whether the function at sysfs @dir was handed to a driver other than
 * ours (vfio-pci gets an ivshmem in the 7.3 iommu VMs): not ours to test.
 */
static bool handed_elsewhere(const char *dir)
{
	char ov[64];

	return read_id(dir, "driver_override", ov, sizeof(ov)) &&
	       strncmp(ov, "(null)", 6) && strncmp(ov, "p2pgpu", 6) &&
	       strncmp(ov, "p2prdma", 7) && ov[0] != '\n';
}

/*
 * The last PCI device (by address) with this vendor:device, as
 * "DDDD:BB:DD.F": in multi that is the root-port pair's, so the pair behind
 * the switch keeps the first card and p2prdma0 that later tests expect
 * (a device rebound under an open file comes back under a new number).
 * Functions handed to another driver are left out.
 */
static bool find_device(const char *vendor, const char *device, char *bdf,
			size_t len)
{
	char path[PATH_MAX], v[16], d[16];
	struct dirent *de;
	bool found = false;
	DIR *dir = opendir("/sys/bus/pci/devices");

	igt_assert(dir);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s",
			 de->d_name);
		if (!read_id(path, "vendor", v, sizeof(v)) ||
		    !read_id(path, "device", d, sizeof(d)))
			continue;
		if (!strncmp(v, vendor, 6) && !strncmp(d, device, 6) &&
		    !handed_elsewhere(path) &&
		    (!found || strcmp(de->d_name, bdf) > 0)) {
			snprintf(bdf, len, "%s", de->d_name);
			found = true;
		}
	}
	closedir(dir);
	return found;
}

/* the driver the kernel bound @bdf to ("" for none), from sysfs */
static void bound_driver(const char *bdf, char *drv, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	drv[0] = 0;
	if (n > 0) {
		target[n] = 0;
		snprintf(drv, len, "%s", strrchr(target, '/') + 1);
	}
}

/* writes @val to a sysfs file; returns 0 or the errno of the write */
static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	igt_assert_f(fd >= 0, "%s: %s\n", path, strerror(errno));
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		err = errno;
	close(fd);
	return err;
}

static void set_override(const char *bdf, const char *drv)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	/* a lone newline clears it */
	igt_assert_eq(sysfs_write(path, drv[0] ? drv : "\n"), 0);
}

/* asks the PCI core to find @bdf a driver, then reads which one it got */
static void reprobe(const char *bdf, char *drv, size_t len)
{
	sysfs_write("/sys/bus/pci/drivers_probe", bdf);
	bound_driver(bdf, drv, len);
}

/*
 * @driver binds its device only once it is handed it with driver_override,
 * and refuses a device of another kind handed to it.
 */
static void check_binds_only_when_handed(const char *driver,
					 const char *vendor,
					 const char *device,
					 const char *other_vendor,
					 const char *other_device,
					 const char *other_driver)
{
	char bdf[PATH_MAX], other[PATH_MAX], drv[64], path[PATH_MAX];

	igt_assert(find_device(vendor, device, bdf, sizeof(bdf)));
	bound_driver(bdf, drv, sizeof(drv));
	igt_assert_f(!strcmp(drv, driver), "%s is bound to '%s', not %s\n",
		     bdf, drv, driver);

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	igt_assert_eq(sysfs_write(path, bdf), 0);
	set_override(bdf, "");
	reprobe(bdf, drv, sizeof(drv));
	igt_assert_f(!drv[0], "%s claimed %s without being handed it\n",
		     drv, bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	igt_assert_neq(sysfs_write(path, bdf), 0);
	bound_driver(bdf, drv, sizeof(drv));
	igt_assert_f(!drv[0], "an explicit bind without driver_override bound %s\n",
		     bdf);

	/* a device of another kind handed to it: refused */
	igt_assert(find_device(other_vendor, other_device, other,
			       sizeof(other)));
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind",
		 other_driver);
	igt_assert_eq(sysfs_write(path, other), 0);
	set_override(other, driver);
	reprobe(other, drv, sizeof(drv));
	igt_assert_f(strcmp(drv, driver), "%s bound %s, a device of another kind\n",
		     driver, other);
	set_override(other, other_driver);
	reprobe(other, drv, sizeof(drv));
	igt_assert_f(!strcmp(drv, other_driver), "%s did not come back to %s\n",
		     other, other_driver);

	set_override(bdf, driver);
	reprobe(bdf, drv, sizeof(drv));
	igt_assert_f(!strcmp(drv, driver), "%s handed to %s is bound to '%s'\n",
		     bdf, driver, drv);
}

static void check_version_name(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);

	igt_assert(v);
	igt_assert_f(!strcmp(v->name, "p2pgpu"), "driver name '%s'\n", v->name);
	drmFreeVersion(v);
}

static int open_render_node(void)
{
	drmDevicePtr devs[16];
	int n, i, fd = -1;

	n = drmGetDevices2(0, devs, 16);
	for (i = 0; i < n && fd < 0; i++) {
		drmVersionPtr v;
		int cand;

		if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
			continue;
		cand = open(devs[i]->nodes[DRM_NODE_RENDER], O_RDWR | O_CLOEXEC);
		if (cand < 0)
			continue;
		v = drmGetVersion(cand);
		if (v && !strcmp(v->name, "p2pgpu"))
			fd = cand;
		else
			close(cand);
		drmFreeVersion(v);
	}
	drmFreeDevices(devs, n > 0 ? n : 0);
	return fd;
}

igt_main
{
	igt_describe("p2pgpu binds the ivshmem VRAM device");
	igt_subtest("exporter-bound") {
		require_built("p2pgpu");
		igt_assert(module_loaded("p2pgpu"));
		igt_assert_f(driver_bound("p2pgpu", "0x1af4", "0x1110"),
			     "p2pgpu is not bound to an ivshmem device\n");
	}

	igt_describe("p2prdma binds the edu NIC");
	igt_subtest("importer-bound") {
		require_built("p2prdma");
		igt_assert(module_loaded("p2prdma"));
		igt_assert_f(driver_bound("p2prdma", "0x1234", "0x11e8"),
			     "p2prdma is not bound to an edu device\n");
	}

	igt_describe("IGT's drm_open_driver finds the card by its name");
	igt_subtest("drm-open-driver") {
		int fd;

		require_built("p2pgpu");
		igt_assert(!strcmp(getenv("IGT_FORCE_DRIVER") ?: "", "p2pgpu"));
		fd = drm_open_driver(DRIVER_ANY);
		igt_assert(fd >= 0);
		check_version_name(fd);
		close(fd);
	}

	igt_describe("the render node answers DRM_IOCTL_VERSION with p2pgpu");
	igt_subtest("render-node") {
		int fd;

		require_built("p2pgpu");
		fd = open_render_node();

		igt_assert_f(fd >= 0, "no render node named p2pgpu\n");
		check_version_name(fd);
		close(fd);
	}

	igt_describe("the NIC's character device opens");
	igt_subtest("nic-chardev") {
		int fd;

		require_built("p2prdma");
		fd = open("/dev/p2prdma0", O_RDWR | O_CLOEXEC);

		igt_assert_f(fd >= 0, "/dev/p2prdma0: %s\n", strerror(errno));
		close(fd);
	}

	igt_describe("p2prdma unloads, loads and binds again");
	igt_subtest("importer-unload-reload") {
		require_built("p2prdma");
		unload_module("p2prdma");
		load_module("p2prdma");
		igt_assert(driver_bound("p2prdma", "0x1234", "0x11e8"));
	}

	igt_describe("p2pgpu unloads, loads and binds again");
	igt_subtest("exporter-unload-reload") {
		require_built("p2pgpu");
		unload_module("p2pgpu");
		load_module("p2pgpu");
		igt_assert(driver_bound("p2pgpu", "0x1af4", "0x1110"));
	}

	igt_describe("the drivers bind a device only when handed it (driver_override), and only their own kind");
	igt_subtest("binds-only-when-handed") {
		check_binds_only_when_handed("p2pgpu", "0x1af4", "0x1110",
					     "0x1234", "0x11e8", "p2prdma");
		check_binds_only_when_handed("p2prdma", "0x1234", "0x11e8",
					     "0x1af4", "0x1110", "p2pgpu");
		/* what the later tests open is back */
		for (int i = 0; i < 200 && access("/dev/p2prdma0", F_OK); i++)
			usleep(10000);
		igt_assert_eq(access("/dev/p2prdma0", F_OK), 0);
	}
}
