// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu peer-to-peer: registering the VRAM BAR with P2PDMA, deciding per
 * importer whether it can reach the BAR and by which route, and mapping VRAM
 * for it so that the DMA layer, not this driver, picks how the importer
 * addresses it (PCI bus address through a switch, IOVA or physical address
 * through an allow-listed host bridge, or a refusal).
 *
 * Where the kernel has page-less P2PDMA providers (6.19+) the BAR is one:
 * no ZONE_DEVICE pages, nothing in P2PDMA's allocator, and VRAM is mapped
 * with dma_buf_phys_vec_to_sgt(), as vfio-pci maps its BARs. Before, the BAR
 * gets ZONE_DEVICE pages and VRAM is mapped as a page scatterlist.
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pci-p2pdma.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#ifdef P2PBUF_HAVE_DMA_BUF_PHYS_VEC_TO_SGT
#include <linux/dma-buf-mapping.h>
#endif

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

#if !P2PGPU_PAGELESS
static void p2pgpu_p2p_release_pool(void *data)
{
	struct p2pgpu_device *gpu = data;

	pci_free_p2pmem(gpu->pci, gpu->p2pmem, gpu->vram_size);
}

/*
 * pci_p2pdma_add_resource() puts the BAR's pages into P2PDMA's genalloc
 * pool as well, and /sys/bus/pci/devices/<gpu>/p2pmem/allocate hands that
 * pool's pages to any process that maps it (published or not), pages TTM
 * also owns. Taking the whole pool leaves it nothing to give. The release
 * is device-managed after the pages', so it runs before they go.
 */
static int p2pgpu_p2p_take_pool(struct p2pgpu_device *gpu)
{
	gpu->p2pmem = pci_alloc_p2pmem(gpu->pci, gpu->vram_size);
	if (!gpu->p2pmem)
		return -EBUSY;
	return devm_add_action_or_reset(&gpu->pci->dev, p2pgpu_p2p_release_pool,
					gpu);
}
#endif

/**
 * p2pgpu_p2p_init - offer the VRAM BAR to P2PDMA
 * @gpu: the device
 *
 * With page-less providers the BAR becomes one (device-managed); before,
 * it gets ZONE_DEVICE pages, whose P2PDMA allocator pool p2pgpu then takes
 * whole, so that VRAM has one owner. A kernel without CONFIG_PCI_P2PDMA
 * answers -EOPNOTSUPP: the device still works, every importer is then
 * staged in system memory.
 *
 * CPU mappings of VRAM are write-combined where the BAR has no ZONE_DEVICE
 * pages: P2PDMA maps those uncached, and PAT allows one memory type per
 * range.
 */
void p2pgpu_p2p_init(struct p2pgpu_device *gpu)
{
	bool pages = false;
	int ret;

#if P2PGPU_PAGELESS
	ret = pcim_p2pdma_init(gpu->pci);
	if (!ret) {
		gpu->provider = pcim_p2pdma_provider(gpu->pci, P2PGPU_VRAM_BAR);
		if (!gpu->provider)
			ret = -EOPNOTSUPP;
	}
#else
	ret = pci_p2pdma_add_resource(gpu->pci, P2PGPU_VRAM_BAR, 0, 0);
	if (!ret) {
		pages = true;
		ret = p2pgpu_p2p_take_pool(gpu);
	}
#endif
	gpu->p2pdma_err = ret;
	gpu->p2pdma = !ret;
	if (ret)
		drm_info(&gpu->drm,
			 "VRAM is not P2PDMA memory (%d): importers will be staged\n",
			 ret);

	gpu->vram_wc = !pages &&
		       !devm_arch_io_reserve_memtype_wc(&gpu->pci->dev,
							gpu->vram_phys,
							gpu->vram_size);
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
 * p2pgpu_map_type_name - text for the P2PGPU_ATTACH_MAP_* bits of flags
 * @flags: P2PGPU_ATTACH_* bits
 *
 * Return: a static string.
 */
const char *p2pgpu_map_type_name(u32 flags)
{
	if (flags & P2PGPU_ATTACH_MAP_BUS_ADDR)
		return "bus-addr";
	if (flags & P2PGPU_ATTACH_MAP_HOST_BRIDGE)
		return "host-bridge";
	return "none";
}

#ifndef P2PBUF_HAVE_PCI_P2PDMA_MAP_TYPE
/* pci_bridge_has_acs_redir() of drivers/pci/p2pdma.c */
static bool p2pgpu_acs_redirects(struct pci_dev *pdev)
{
	u16 ctrl;

	if (!pdev->acs_cap)
		return false;
	pci_read_config_word(pdev, pdev->acs_cap + PCI_ACS_CTRL, &ctrl);
	return ctrl & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
}

/*
 * The walk of calc_map_type_and_dist() in drivers/pci/p2pdma.c: a pair the
 * P2PDMA core accepts talks by bus address when an upstream device is
 * common to both and no device on either way up to it redirects requests
 * (ACS); otherwise through the host bridge.
 */
static bool p2pgpu_route_bus_addr(struct pci_dev *provider,
				  struct pci_dev *client)
{
	struct pci_dev *a, *b;
	bool acs = false;

	for (a = provider; a; a = pci_upstream_bridge(a)) {
		acs |= p2pgpu_acs_redirects(a);
		for (b = client; b; b = pci_upstream_bridge(b))
			if (a == b)
				goto common;
	}
	return false;

common:
	for (b = client; b != a; b = pci_upstream_bridge(b))
		acs |= p2pgpu_acs_redirects(b);
	return !acs;
}
#endif

/*
 * The route P2PDMA gives @client to the BAR, as P2PGPU_ATTACH_MAP_* bits.
 * 7.3 declares pci_p2pdma_map_type() but does not export it (its caller,
 * dma_buf_phys_vec_to_sgt(), is built in): there the P2PDMA core's own
 * distance says whether a route exists and its walk, mirrored above, which.
 */
static u32 p2pgpu_p2p_map_type(struct p2pgpu_device *gpu,
			       struct pci_dev *client, int distance)
{
#ifdef P2PBUF_HAVE_PCI_P2PDMA_MAP_TYPE
	if (gpu->provider) {
		switch (pci_p2pdma_map_type(gpu->provider, &client->dev)) {
		case PCI_P2PDMA_MAP_BUS_ADDR:
			return P2PGPU_ATTACH_MAP_BUS_ADDR;
		case PCI_P2PDMA_MAP_THRU_HOST_BRIDGE:
			return P2PGPU_ATTACH_MAP_HOST_BRIDGE;
		default:
			return 0;
		}
	}
#endif
	if (distance < 0)
		return 0;
#ifdef P2PBUF_HAVE_PCI_P2PDMA_MAP_TYPE
	return P2PGPU_ATTACH_MAP_HOST_BRIDGE;
#else
	return p2pgpu_route_bus_addr(gpu->pci, client) ?
	       P2PGPU_ATTACH_MAP_BUS_ADDR : P2PGPU_ATTACH_MAP_HOST_BRIDGE;
#endif
}

/**
 * p2pgpu_p2p_decide - peer-to-peer or staged, for one attachment
 * @bo: the exported BO
 * @attach: the new attachment (peer2peer as the importer asked)
 * @rec: [out] decision, reason, distance and map type
 *
 * The first failing condition is the reason; the distance and the route
 * (P2PGPU_ATTACH_MAP_*) are measured whenever the question can be asked,
 * for debugfs and QUERY.
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
		if (gpu->p2pdma)
			rec->flags |= p2pgpu_p2p_map_type(gpu, client,
							  rec->distance);
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

#if P2PGPU_PAGELESS
/**
 * p2pgpu_p2p_map_vram - map VRAM behind a BO for an importer
 * @bo: the BO, reserved and in VRAM
 * @attach: the importer's attachment, decided peer-to-peer
 * @offset: start within the BO, page aligned
 * @length: length, page aligned
 * @dir: DMA direction
 *
 * The BAR's physical range, cut at the importer's maximum segment size,
 * mapped by dma_buf_phys_vec_to_sgt(): by bus address below a switch, else
 * through the host bridge (one IOVA range behind an IOMMU, then a single
 * entry whatever its length, or a mapping per segment). The table has no
 * pages. Bus-address entries are marked as the DMA layer marks those of a
 * P2PDMA page mapping, so that importers read both paths alike.
 *
 * Return: the mapped table, ERR_PTR(-EREMOTEIO) if P2PDMA refuses the pair,
 * or another ERR_PTR().
 */
struct sg_table *p2pgpu_p2p_map_vram(struct p2pgpu_bo *bo,
				     struct dma_buf_attachment *attach,
				     u64 offset, u64 length,
				     enum dma_data_direction dir)
{
	struct p2pgpu_device *gpu = p2pgpu_bo_dev(bo);
	struct p2pgpu_attach *rec = attach->priv;
	u64 seg = max_t(u64, PAGE_SIZE,
			dma_get_max_seg_size(attach->dev) & PAGE_MASK);
	size_t nr = DIV_ROUND_UP_ULL(length, seg), i;
	struct scatterlist *sg;
	struct phys_vec *vec;
	struct sg_table *sgt;
	phys_addr_t phys;

	if (!gpu->provider)
		return ERR_PTR(-EREMOTEIO);

	phys = gpu->vram_phys + ((u64)bo->tbo.resource->start << PAGE_SHIFT) +
	       offset;
	vec = kvmalloc_array(nr, sizeof(*vec), GFP_KERNEL);
	if (!vec)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < nr; i++) {
		vec[i].paddr = phys + i * seg;
		vec[i].len = min_t(u64, seg, length - i * seg);
	}
	sgt = dma_buf_phys_vec_to_sgt(attach, gpu->provider, vec, nr, length,
				      dir);
	kvfree(vec);
	/* -EINVAL: P2PDMA has no route for the pair (NOT_SUPPORTED) */
	if (IS_ERR(sgt))
		return PTR_ERR(sgt) == -EINVAL ? ERR_PTR(-EREMOTEIO) : sgt;

	/*
	 * A bus address is the BAR's own plus the provider's offset: where
	 * the mapping says otherwise, the route was the host bridge's.
	 */
	if ((rec->flags & P2PGPU_ATTACH_MAP_BUS_ADDR) &&
	    sg_dma_address(sgt->sgl) != phys + gpu->provider->bus_offset) {
		rec->flags &= ~P2PGPU_ATTACH_MAP_BUS_ADDR;
		rec->flags |= P2PGPU_ATTACH_MAP_HOST_BRIDGE;
	}
	if (rec->flags & P2PGPU_ATTACH_MAP_BUS_ADDR)
		for_each_sgtable_dma_sg(sgt, sg, i)
			sg_dma_mark_bus_address(sg);
	return sgt;
}

/**
 * p2pgpu_p2p_unmap_vram - unmap what p2pgpu_p2p_map_vram() mapped
 * @attach: the attachment
 * @sgt: the table
 * @dir: DMA direction
 */
void p2pgpu_p2p_unmap_vram(struct dma_buf_attachment *attach,
			   struct sg_table *sgt, enum dma_data_direction dir)
{
	/*
	 * dma_buf_phys_vec_to_sgt() zeroes orig_nents (the table has no CPU
	 * list) and dma_buf_free_sgt() frees the entries by sg_free_table(),
	 * which counts orig_nents: none, every map leaked them (kmemleak, 7.3
	 * debug). It allocated nents of them, and counts only nents itself.
	 */
	sgt->orig_nents = sgt->nents;
	dma_buf_free_sgt(attach, sgt, dir);
}
#else
/* a scatterlist of the BAR pages behind a VRAM BO, one segment per max */
static struct sg_table *p2pgpu_p2p_vram_sgt(struct p2pgpu_bo *bo, u64 offset,
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

/**
 * p2pgpu_p2p_map_vram - map VRAM behind a BO for an importer
 * @bo: the BO, reserved and in VRAM
 * @attach: the importer's attachment, decided peer-to-peer
 * @offset: start within the BO, page aligned
 * @length: length, page aligned
 * @dir: DMA direction
 *
 * The BAR's P2PDMA pages, one segment per maximum segment size of the
 * importer (VRAM allocations are contiguous), mapped by the DMA layer.
 *
 * Return: the mapped table, ERR_PTR(-EREMOTEIO) if the DMA layer refuses
 * the pair, or another ERR_PTR().
 */
struct sg_table *p2pgpu_p2p_map_vram(struct p2pgpu_bo *bo,
				     struct dma_buf_attachment *attach,
				     u64 offset, u64 length,
				     enum dma_data_direction dir)
{
	struct sg_table *sgt;
	int ret;

	sgt = p2pgpu_p2p_vram_sgt(bo, offset, length, attach->dev);
	if (IS_ERR(sgt))
		return sgt;

	/* BAR memory: there is no CPU cache to sync */
	ret = dma_map_sgtable(attach->dev, sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret) {
		sg_free_table(sgt);
		kfree(sgt);
		return ERR_PTR(ret);
	}
	return sgt;
}

/**
 * p2pgpu_p2p_unmap_vram - unmap what p2pgpu_p2p_map_vram() mapped
 * @attach: the attachment
 * @sgt: the table
 * @dir: DMA direction
 */
void p2pgpu_p2p_unmap_vram(struct dma_buf_attachment *attach,
			   struct sg_table *sgt, enum dma_data_direction dir)
{
	dma_unmap_sgtable(attach->dev, sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(sgt);
	kfree(sgt);
}
#endif
