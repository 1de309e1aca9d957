// SPDX-License-Identifier: GPL-2.0
/*
 * observe-lastdma: where did the NIC's last DMA go? Reads the edu engine's
 * DMA registers (resource0, read only) and the GPUs' VRAM BARs (sysfs
 * resource), translates an IOVA through intel-iommu's debugfs, and prints
 *
 *   @@P2PBUF-OBSERVE last-dma nic=<bdf> dir=to-ram|from-ram src=.. dst=..
 *     count=.. addr=.. bar=<start>-<end> gpu=<bdf> where=<where> phys=..
 *
 * (one line), where <where> is bar, system, iova-bar, iova-system or
 * iova-unmapped. No driver is asked. For the demo and the p2pctl tests:
 * run it right after `p2pctl share`, whose last DMA is the NIC's write of
 * the buffer's last chunk.
 *
 * Usage: observe-lastdma [p2prdmaN]  (default p2prdma0). Exit 0 when the
 * registers were read, 1 otherwise.
 */
#define _GNU_SOURCE
#include <inttypes.h>

#include "p2pbuf_observe.h"

int main(int argc, char **argv)
{
	char bdfs[OBS_MAX_DEVS][OBS_BDF_LEN], dir[128], nic_bdf[OBS_BDF_LEN];
	const char *node = argc > 1 ? argv[1] : "p2prdma0";
	struct obs_gpu gpus[OBS_MAX_DEVS];
	struct obs_nic nic;
	struct obs_dma d;
	uint64_t addr, phys;
	enum obs_where w;
	int n, ngpus = 0, gi;

	snprintf(dir, sizeof(dir), "/sys/class/misc/%s", node);
	if (obs_bdf_of_sysfs(dir, nic_bdf) || obs_nic_init(&nic, nic_bdf)) {
		printf("@@P2PBUF-OBSERVE last-dma error=cannot read the registers of %s (%s)\n",
		       node, strerror(errno));
		return 1;
	}
	n = obs_find_pci(OBS_GPU_VENDOR, OBS_GPU_DEVICE, bdfs, OBS_MAX_DEVS);
	for (int i = 0; i < n; i++)
		if (!obs_gpu_init(&gpus[ngpus], bdfs[i], false))
			ngpus++;
	obs_last_dma(&nic, &d);
	addr = obs_dma_addr(&d);
	w = obs_classify(nic_bdf, gpus, ngpus, addr, d.count ?: 1, &gi, &phys);
	if (gi < 0 && ngpus)
		gi = 0;		/* name the first GPU's BAR for reference */
	printf("@@P2PBUF-OBSERVE last-dma nic=%s dir=%s%s src=%#" PRIx64 " dst=%#" PRIx64
	       " count=%#" PRIx64 " addr=%#" PRIx64 " bar=%#" PRIx64 "-%#" PRIx64
	       " gpu=%s where=%s phys=%#" PRIx64 "\n",
	       nic_bdf, d.cmd & OBS_EDU_CMD_TO_RAM ? "to-ram" : "from-ram",
	       d.cmd & OBS_EDU_CMD_RUN ? " busy" : "", d.src, d.dst, d.count, addr,
	       gi >= 0 ? gpus[gi].bar_start : 0, gi >= 0 ? gpus[gi].bar_end : 0,
	       gi >= 0 ? gpus[gi].bdf : "none", obs_where_str(w), phys);
	obs_nic_fini(&nic);
	return 0;
}
