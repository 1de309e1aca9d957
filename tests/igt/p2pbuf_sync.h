/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU access to a dma-buf as the dma-buf contract asks for it
 * (Documentation/driver-api/dma-buf.rst, "CPU Access to DMA Buffer
 * Objects"): bracketed by DMA_BUF_IOCTL_SYNC, so that the exporter syncs
 * its importers' mappings (bounce buffers under swiotlb, non-coherent
 * caches) with the pages the CPU sees. And whether this kernel was booted
 * to bounce every streaming mapping (swiotlb=force), for the exporters
 * that sync no importer's mapping at all.
 */
#ifndef P2PBUF_SYNC_H
#define P2PBUF_SYNC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/dma-buf.h>

#include "igt_subset.h"

/* DMA_BUF_IOCTL_SYNC on @fd (any dma-buf fd of the buffer), retried on EINTR */
static inline void p2p_dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };
	int ret;

	do {
		ret = ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
	} while (ret && (errno == EINTR || errno == EAGAIN));
	igt_assert_f(ret == 0, "DMA_BUF_IOCTL_SYNC %#llx on fd %d: %s\n",
		     (unsigned long long)flags, fd, strerror(errno));
}

#define p2p_cpu_begin(fd, rw)	p2p_dmabuf_sync(fd, DMA_BUF_SYNC_START | (rw))
#define p2p_cpu_end(fd, rw)	p2p_dmabuf_sync(fd, DMA_BUF_SYNC_END | (rw))

/*
 * Booted with swiotlb=force (or swiotlb=<slabs>,force): every streaming DMA
 * mapping bounces, so bytes reach the pages only through the syncs of the
 * mapping that the device used.
 */
static inline bool p2p_swiotlb_forced(void)
{
	char line[4096], *tok, *save = NULL;
	FILE *f = fopen("/proc/cmdline", "r");
	bool forced = false;

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (!strncmp(tok, "swiotlb=", 8) &&
			    (!strcmp(tok + 8, "force") || strstr(tok + 8, ",force")))
				forced = true;
	fclose(f);
	return forced;
}

#endif
