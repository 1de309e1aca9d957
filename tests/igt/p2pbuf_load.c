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
		FILE *f;

		if (!strchr(de->d_name, ':'))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/%s/vendor",
			 driver, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = fgets(buf, sizeof(buf), f) && !strncmp(buf, vendor, 6);
		fclose(f);
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/%s/device",
			 driver, de->d_name);
		f = fopen(path, "r");
		if (!f) {
			found = false;
			continue;
		}
		found = found && fgets(buf, sizeof(buf), f) &&
			!strncmp(buf, device, 6);
		fclose(f);
	}
	closedir(dir);
	return found;
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
}
