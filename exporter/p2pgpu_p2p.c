// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu peer-to-peer: registering the VRAM BAR with P2PDMA, deciding per
 * importer whether it can reach the BAR, and describing VRAM with the BAR's
 * P2PDMA struct pages so that the DMA layer, not this driver, picks how the
 * importer addresses it (PCI bus address through a switch, IOVA or physical
 * address through an allow-listed host bridge, or a refusal).
 */
#include <linux/mm.h>
#include <linux/pci-p2pdma.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "p2pgpu.h"

static const char * const p2pgpu_reasons[] = {
	[P2PGPU_REASON_NONE] = "none",
	[P2PGPU_REASON_IMPORTER_NO_P2P] = "importer-no-p2p",
	[P2PGPU_REASON_IMPORTER_NOT_PCI] = "importer-not-pci",
	[P2PGPU_REASON_NO_COMMON_SWITCH] = "no-common-switch",
	[P2PGPU_REASON_ACS_REDIRECT] = "acs-redirect",
	[P2PGPU_REASON_KERNEL_NO_P2PDMA] = "kernel-no-p2pdma",
	[P2PGPU_REASON_DISABLED_BY_PARAM] = "disabled-by-param",
	[P2PGPU_REASON_PINNED_IN_SYSTEM] = "pinned-in-system",
	[P2PGPU_REASON_SYSTEM_PLACEMENT] = "system-placement",
	[P2PGPU_REASON_MAP_REFUSED] = "map-refused",
	[P2PGPU_REASON_NOT_REVOCABLE] = "not-revocable",
};

/**
 * p2pgpu_reason_name - text for a P2PGPU_REASON_* value
 * @reason: the value
 *
 * Return: a static string.
 */
const char *p2pgpu_reason_name(u32 reason)
{
	if (reason < ARRAY_SIZE(p2pgpu_reasons) && p2pgpu_reasons[reason])
		return p2pgpu_reasons[reason];
	return "unknown";
}

/**
 * p2pgpu_p2p_init - offer the VRAM BAR to P2PDMA
 * @gpu: the device
 *
 * Gives the BAR ZONE_DEVICE pages, device-managed. A kernel without
 * CONFIG_PCI_P2PDMA answers -EOPNOTSUPP: the device still works, every
 * importer is then staged in system memory.
 */
void p2pgpu_p2p_init(struct p2pgpu_device *gpu)
{
	int ret;

	ret = pci_p2pdma_add_resource(gpu->pci, P2PGPU_VRAM_BAR, 0, 0);
	gpu->p2pdma_err = ret;
	gpu->p2pdma = !ret;
	if (ret)
		drm_info(&gpu->drm,
			 "VRAM is not P2PDMA memory (%d): importers will be staged\n",
			 ret);
}

static DEFINE_RATELIMIT_STATE(p2pgpu_refusal_ratelimit, 60 * HZ, 3);

/* whether a PCI bridge (not just the host bridge) is upstream of both */
static bool p2pgpu_share_bridge(struct pci_dev *a, struct pci_dev *b)
{
	struct pci_dev *ua, *ub;

	for (ua = pci_upstream_bridge(a); ua; ua = pci_upstream_bridge(ua))
		for (ub = pci_upstream_bridge(b); ub; ub = pci_upstream_bridge(ub))
			if (ua == ub)
				return true;
	return false;
}

/**
 * p2pgpu_p2p_decide - peer-to-peer or staged, for one attachment
 * @bo: the exported BO
 * @attach: the new attachment (peer2peer as the importer asked)
 * @rec: [out] decision, reason and distance
 *
 * The first failing condition is the reason; the distance is measured
 * whenever the question can be asked, for debugfs and QUERY.
 */
void p2pgpu_p2p_decide(struct p2pgpu_bo *bo, struct dma_buf_attachment *attach,
		       struct p2pgpu_attach *rec)
{
	struct p2pgpu_device *gpu = p2pgpu_bo_dev(bo);
	struct pci_dev *client = NULL;
	u32 reason;

	rec->distance = -1;
	if (dev_is_pci(attach->dev)) {
		client = to_pci_dev(attach->dev);
		if (gpu->p2pdma)
			rec->distance = pci_p2pdma_distance(gpu->pci,
							    attach->dev,
							    false);
		/*
		 * Let the P2PDMA core say in the log why it refuses (no common
		 * upstream bridge, host bridge not allow-listed, ACS), once in
		 * a while: the same importer may attach again and again.
		 */
		if (gpu->p2pdma && rec->distance < 0 && attach->peer2peer &&
		    __ratelimit(&p2pgpu_refusal_ratelimit))
			pci_p2pdma_distance(gpu->pci, attach->dev, true);
	}

	if (!attach->peer2peer)
		reason = P2PGPU_REASON_IMPORTER_NO_P2P;
	else if (!gpu->p2pdma || !P2PBUF_INVALIDATE_MAPPINGS)
		reason = P2PGPU_REASON_KERNEL_NO_P2PDMA;
	else if (!READ_ONCE(p2pgpu_param_p2p))
		reason = P2PGPU_REASON_DISABLED_BY_PARAM;
	else if (bo->requested == P2PGPU_PLACEMENT_SYSTEM)
		reason = P2PGPU_REASON_SYSTEM_PLACEMENT;
	else if (!client)
		reason = P2PGPU_REASON_IMPORTER_NOT_PCI;
	else if (rec->distance < 0)
		reason = p2pgpu_share_bridge(gpu->pci, client) ?
			 P2PGPU_REASON_ACS_REDIRECT :
			 P2PGPU_REASON_NO_COMMON_SWITCH;
	else
		reason = P2PGPU_REASON_NONE;

	rec->reason = reason;
	rec->decision = reason == P2PGPU_REASON_NONE ? P2PGPU_MAPPING_P2P :
						       P2PGPU_MAPPING_STAGED;
}

/**
 * p2pgpu_p2p_vram_sgt - a scatterlist of the BAR pages behind a VRAM BO
 * @bo: the BO, reserved and in VRAM
 * @offset: start within the BO, page aligned
 * @length: length, page aligned
 * @dev: the device it will be DMA mapped for (its segment size limit)
 *
 * VRAM allocations are contiguous, so this is one segment per maximum
 * segment size of @dev.
 *
 * Return: an unmapped table or an ERR_PTR().
 */
struct sg_table *p2pgpu_p2p_vram_sgt(struct p2pgpu_bo *bo, u64 offset,
				     u64 length, struct device *dev)
{
	struct p2pgpu_device *gpu = p2pgpu_bo_dev(bo);
	unsigned long npages = length >> PAGE_SHIFT, i, pfn;
	struct page **pages;
	struct sg_table *sgt;
	int ret;

	if (!gpu->p2pdma)
		return ERR_PTR(-EREMOTEIO);

	pfn = PHYS_PFN(gpu->vram_phys) + bo->tbo.resource->start +
	      (offset >> PAGE_SHIFT);

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < npages; i++)
		pages[i] = pfn_to_page(pfn + i);

	sgt = kzalloc_obj(*sgt, GFP_KERNEL);
	if (!sgt) {
		ret = -ENOMEM;
		goto err_free_pages;
	}
	ret = sg_alloc_table_from_pages_segment(sgt, pages, npages, 0, length,
						dma_get_max_seg_size(dev),
						GFP_KERNEL);
	if (ret)
		goto err_free_sgt;
	kvfree(pages);
	return sgt;

err_free_sgt:
	kfree(sgt);
err_free_pages:
	kvfree(pages);
	return ERR_PTR(ret);
}
