// SPDX-License-Identifier: GPL-2.0
/*
 * Unbinding the NIC while its files close: once the unbind returns, no DMA
 * mapping of the device may remain, whichever of the two got there first.
 * The kernel's DMA-API debugging says so, not the driver: its check at the
 * driver's release ("pending DMA allocations", read from /dev/kmsg) and its
 * list of live mappings (<debugfs>/dma-api/dump).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pbuf_common.h"

#define DMA_DUMP	"/sys/kernel/debug/dma-api/dump"
#define NIC_DRV		"/sys/bus/pci/drivers/p2prdma"
#define ROUNDS		3
#define REGIONS		1024
#define REGION_PAGES	1

static char bdf[32];

/* live DMA mappings the DMA-API debugging holds for @dev */
static int dma_mappings_of(const char *dev)
{
	char line[512], key[64];
	int n = 0;
	FILE *f = fopen(DMA_DUMP, "r");

	igt_assert(f);
	snprintf(key, sizeof(key), " %s ", dev);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, key))
			n++;
	fclose(f);
	return n;
}

static void nic_bdf(int nic)
{
	struct p2prdma_device_info info = {};

	igt_assert_eq(__p2p_ioctl(nic, P2PRDMA_IOCTL_DEVICE_INFO, &info), 0);
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", info.pci_domain,
		 info.pci_bus, info.pci_devfn >> 3, info.pci_devfn & 7);
}

static int reopen_nic(void)
{
	int fd = -1;

	for (int i = 0; i < 200 && fd < 0; i++) {
		fd = p2p_nic_open();
		if (fd < 0)
			usleep(10000);
	}
	igt_assert_f(fd >= 0, "%s did not come back after rebind\n",
		     P2P_NIC_PATH);
	return fd;
}

/* /dev/kmsg, positioned at its end: the kernel's messages from now on */
static int kmsg_from_now(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	igt_assert(fd >= 0);
	igt_assert(lseek(fd, 0, SEEK_END) >= 0);
	return fd;
}

/* whether the kernel said @what about @dev since kmsg_from_now() */
static bool kmsg_says(int fd, const char *dev, const char *what)
{
	char rec[2048];
	ssize_t n;
	bool found = false;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, dev) && strstr(rec, what)) {
			igt_info("kernel: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
			found = true;
		}
	}
	return found;
}

static void register_regions(int nic, uint8_t *mem, size_t len)
{
	for (int i = 0; i < REGIONS; i++)
		p2p_reg_user(nic, mem + i * (len / REGIONS), len / REGIONS);
	igt_assert(dma_mappings_of(bdf) >= REGIONS);
}

static void *close_file(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

igt_main
{
	int nic = -1;

	igt_fixture {
		nic = p2p_nic_open();
		igt_require_f(nic >= 0, "no %s\n", P2P_NIC_PATH);
		igt_require_f(access(DMA_DUMP, R_OK) == 0,
			      "no DMA-API debugging in this kernel (%s)\n",
			      DMA_DUMP);
		nic_bdf(nic);
	}

	igt_describe("unbind racing the last close of a file with many regions leaves no mapping");
	igt_subtest("racing-close") {
		size_t len = REGIONS * REGION_PAGES * getpagesize();
		uint8_t *mem = p2p_anon(len);

		double t, close_time;

		memset(mem, 1, len);
		/* how long a close takes to tear REGIONS regions down */
		register_regions(nic, mem, len);
		t = p2p_now();
		close(nic);
		close_time = p2p_now() - t;
		igt_info("closing a file with %d regions took %.1f ms\n",
			 REGIONS, close_time * 1e3);
		nic = p2p_nic_open();

		for (int round = 0; round < ROUNDS; round++) {
			/* unbind at points spread over the close's teardown */
			long ns = close_time * 1e9 * (0.1 + 0.15 * round);
			struct timespec delay = { ns / 1000000000, ns % 1000000000 };
			pthread_t closer;
			bool pending;
			int left, kmsg = kmsg_from_now();

			register_regions(nic, mem, len);

			igt_assert_eq(pthread_create(&closer, NULL, close_file,
						     &nic), 0);
			nanosleep(&delay, NULL);
			p2p_sysfs_write(NIC_DRV "/unbind", bdf);
			/* the unbind has returned: nothing of the device may remain */
			left = dma_mappings_of(bdf);
			pending = kmsg_says(kmsg, bdf, "pending DMA allocations");
			close(kmsg);
			igt_assert_eq(pthread_join(closer, NULL), 0);
			igt_assert_f(!pending,
				     "round %d: %s was unbound with DMA mappings still live (DMA-API debugging)\n",
				     round, bdf);
			igt_assert_f(left == 0,
				     "round %d: %d DMA mapping(s) of %s still live after its unbind returned\n",
				     round, left, bdf);
			p2p_sysfs_write(NIC_DRV "/bind", bdf);
			nic = reopen_nic();
		}
		munmap(mem, len);
	}

	igt_fixture {
		if (nic >= 0)
			close(nic);
	}
}
