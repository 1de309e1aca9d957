// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu dma-buf exporter: the whole buffer (PRIME) and sub-ranges of it
 * (P2PGPU_GEM_EXPORT_RANGE). Both are dynamic exporters: they implement
 * pin/unpin and map under the BO's dma_resv, and tell importers about moves
 * with dma_buf_move_notify().
 *
 * Locking follows drivers/dma-buf/dma-buf.c: attach and detach are called
 * without the dma_resv, pin, unpin, map, unmap, vmap and vunmap with it.
 * The attachment records on the BO are protected by the same dma_resv.
 */
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_prime.h>
#include <drm/ttm/ttm_tt.h>

#include "p2pgpu.h"
#include "p2pgpu_trace.h"

static const struct dma_buf_ops p2pgpu_range_dmabuf_ops;

/* the BO behind a dma-buf of ours, and the range of it the dma-buf covers */
static struct p2pgpu_bo *p2pgpu_dmabuf_bo(struct dma_buf *dmabuf, u64 *offset,
					  u64 *length)
{
	struct drm_gem_object *obj;

	if (dmabuf->ops == &p2pgpu_range_dmabuf_ops) {
		struct p2pgpu_range *range = dmabuf->priv;

		*offset = range->offset;
		*length = range->length;
		return range->bo;
	}

	obj = dmabuf->priv;
	*offset = 0;
	*length = obj->size;
	return gem_to_p2pgpu_bo(obj);
}

/* every attachment can reach the BAR: only then may a pin keep VRAM */
static bool p2pgpu_all_p2p(struct p2pgpu_bo *bo)
{
	struct p2pgpu_attach *rec;

	list_for_each_entry(rec, &bo->attachments, link)
		if (rec->decision != P2PGPU_MAPPING_P2P)
			return false;
	return true;
}

/**
 * p2pgpu_dma_buf_attach - &dma_buf_ops.attach implementation
 * @dmabuf: a p2pgpu dma-buf
 * @attach: the new attachment
 *
 * Decides once, for this importer, between peer-to-peer and staging in
 * system memory, and records why. A staged attachment has peer2peer
 * cleared: importers read it to learn what they will get.
 *
 * Return: 0 or -ENOMEM.
 */
static int p2pgpu_dma_buf_attach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct p2pgpu_attach *rec;
	struct p2pgpu_bo *bo;
	u64 offset, length;

	bo = p2pgpu_dmabuf_bo(dmabuf, &offset, &length);
	rec = kzalloc_obj(*rec, GFP_KERNEL);
	if (!rec)
		return -ENOMEM;

	rec->attach = attach;
	strscpy(rec->importer, dev_name(attach->dev), sizeof(rec->importer));
	if (attach->dev->driver)
		strscpy(rec->importer_driver, attach->dev->driver->name,
			sizeof(rec->importer_driver));
	if (attach->importer_ops)
		rec->flags |= P2PGPU_ATTACH_DYNAMIC;
	if (attach->peer2peer)
		rec->flags |= P2PGPU_ATTACH_PEER2PEER;

	p2pgpu_p2p_decide(bo, attach, rec);
	/*
	 * An importer that cannot be revoked (no invalidate_mappings: since
	 * 7.1 a dynamic importer may lack it) would keep VRAM pinned for as
	 * long as it likes, past an unbind: it gets system memory.
	 */
	if (rec->decision == P2PGPU_MAPPING_P2P &&
	    !dma_buf_attach_revocable(attach)) {
		rec->decision = P2PGPU_MAPPING_STAGED;
		rec->reason = P2PGPU_REASON_NOT_REVOCABLE;
	}
	if (rec->decision != P2PGPU_MAPPING_P2P)
		attach->peer2peer = false;
	trace_p2pgpu_attach(bo, rec);

	attach->priv = rec;
	dma_resv_lock(dmabuf->resv, NULL);
	list_add_tail(&rec->link, &bo->attachments);
	dma_resv_unlock(dmabuf->resv);
	atomic_inc(&p2pgpu_bo_dev(bo)->live_attachments);
	return 0;
}

/**
 * p2pgpu_dma_buf_detach - &dma_buf_ops.detach implementation
 * @dmabuf: a p2pgpu dma-buf
 * @attach: the attachment going away (unmapped and unpinned by the core)
 */
static void p2pgpu_dma_buf_detach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct p2pgpu_attach *rec = attach->priv;
	u64 offset, length;

	dma_resv_lock(dmabuf->resv, NULL);
	list_del(&rec->link);
	dma_resv_unlock(dmabuf->resv);
	attach->priv = NULL;
	kfree(rec);
	atomic_dec(&p2pgpu_bo_dev(p2pgpu_dmabuf_bo(dmabuf, &offset,
						   &length))->live_attachments);
}

/**
 * p2pgpu_dma_buf_pin - &dma_buf_ops.pin implementation
 * @attach: the attachment asking (a static importer, a pinning dynamic one,
 * or any importer on a kernel without CONFIG_DMABUF_MOVE_NOTIFY)
 *
 * A pinned BO stays in VRAM only if every importer reaches the BAR and
 * could be told about later moves; otherwise it is pinned in system memory.
 *
 * Return: 0, -ENOSPC past the VRAM pin cap, -EBUSY pinned elsewhere,
 * -ENODEV once the device is unplugged or the buffer revoked.
 */
static int p2pgpu_dma_buf_pin(struct dma_buf_attachment *attach)
{
	struct p2pgpu_bo *bo;
	u64 offset, length;
	int idx, ret;

	dma_resv_assert_held(attach->dmabuf->resv);

	bo = p2pgpu_dmabuf_bo(attach->dmabuf, &offset, &length);
	/* an unplugged device moves nothing, into its BAR least of all */
	if (bo->revoked || !drm_dev_enter(bo->tbo.base.dev, &idx))
		return -ENODEV;
	ret = p2pgpu_bo_pin(bo, P2PBUF_INVALIDATE_MAPPINGS &&
			    p2pgpu_all_p2p(bo));
	drm_dev_exit(idx);
	return ret;
}

/**
 * p2pgpu_dma_buf_unpin - &dma_buf_ops.unpin implementation
 * @attach: the attachment that pinned
 */
static void p2pgpu_dma_buf_unpin(struct dma_buf_attachment *attach)
{
	struct p2pgpu_bo *bo;
	u64 offset, length;

	dma_resv_assert_held(attach->dmabuf->resv);

	bo = p2pgpu_dmabuf_bo(attach->dmabuf, &offset, &length);
	p2pgpu_bo_unpin(bo);
}

/* the staged copy @sgt is, NULL when it is a mapping of the BAR */
static struct p2pgpu_staged_sgt *p2pgpu_staged_find(struct p2pgpu_bo *bo,
						    struct sg_table *sgt)
{
	struct p2pgpu_staged_sgt *copy;
	struct p2pgpu_staged_map *map;

	list_for_each_entry(map, &bo->staged_maps, link)
		list_for_each_entry(copy, &map->copies, link)
			if (&copy->sgt == sgt)
				return copy;
	return NULL;
}

/*
 * Drop a shared staged mapping once no importer holds a copy. A stale one's
 * pages may already be freed or elsewhere: it was synced for the CPU before
 * the BO moved, and nothing is copied back now.
 */
static void p2pgpu_staged_map_put(struct p2pgpu_bo *bo,
				  struct p2pgpu_staged_map *map)
{
	if (!list_empty(&map->copies))
		return;
	list_del(&map->link);
	dma_unmap_sgtable(map->dev, &map->sgt, map->dir,
			  map->stale ? DMA_ATTR_SKIP_CPU_SYNC : 0);
	sg_free_table(&map->sgt);
	kfree(map);
}

/*
 * The importer's copy of the DMA addresses of [@offset, @offset + @length)
 * of a shared staged mapping of the whole BO. As the dma-buf core's own
 * tables (dma_buf_phys_vec_to_sgt()), it has no struct pages: importers
 * must not touch them.
 */
static struct sg_table *p2pgpu_staged_copy(struct p2pgpu_staged_map *map,
					   u64 offset, u64 length)
{
	u64 pos = 0, end = offset + length, from, to;
	struct scatterlist *src, *dst;
	struct p2pgpu_staged_sgt *copy;
	unsigned int i, n = 0;

	/* the DMA segments, in order, map the BO's bytes in order */
	for_each_sgtable_dma_sg(&map->sgt, src, i) {
		if (pos < end && pos + sg_dma_len(src) > offset)
			n++;
		pos += sg_dma_len(src);
	}
	if (WARN_ON(!n || pos < end))
		return ERR_PTR(-EINVAL);

	copy = kzalloc_obj(*copy, GFP_KERNEL);
	if (!copy)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(&copy->sgt, n, GFP_KERNEL)) {
		kfree(copy);
		return ERR_PTR(-ENOMEM);
	}
	dst = copy->sgt.sgl;
	pos = 0;
	for_each_sgtable_dma_sg(&map->sgt, src, i) {
		from = max(pos, offset);
		to = min(pos + sg_dma_len(src), end);
		if (from < to) {
			sg_set_page(dst, NULL, 0, 0);
			sg_dma_address(dst) = sg_dma_address(src) + (from - pos);
			sg_dma_len(dst) = to - from;
			dst = sg_next(dst);
		}
		pos += sg_dma_len(src);
	}
	copy->map = map;
	list_add_tail(&copy->link, &map->copies);
	return &copy->sgt;
}

/*
 * A new DMA mapping of all of the BO's TT pages for one device: a range
 * export shares it too, so that no page is mapped twice for one device (a
 * second bounce buffer would hold another version of its bytes, and the
 * CPU syncs would copy the older one over the newer).
 */
static struct p2pgpu_staged_map *
p2pgpu_staged_map_new(struct p2pgpu_bo *bo, struct device *dev,
		      enum dma_data_direction dir)
{
	struct ttm_tt *tt = bo->tbo.ttm;
	struct p2pgpu_staged_map *map;
	int ret;

	map = kzalloc_obj(*map, GFP_KERNEL);
	if (!map)
		return ERR_PTR(-ENOMEM);

	ret = sg_alloc_table_from_pages_segment(&map->sgt, tt->pages,
						tt->num_pages, 0,
						(u64)tt->num_pages << PAGE_SHIFT,
						dma_get_max_seg_size(dev),
						GFP_KERNEL);
	if (ret)
		goto err_free_map;

	/*
	 * Without CPU syncs, as amdgpu maps GTT: CPU access syncs the mapping
	 * (begin/end_cpu_access), a move or swap-out syncs it for the CPU
	 * first, and other devices may map the same pages at once, which the
	 * DMA API only supports for mappings that skip the syncs. swiotlb
	 * still copies the pages into its bounce buffer here.
	 */
	ret = dma_map_sgtable(dev, &map->sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_free_table;

	map->dev = dev;
	map->dir = dir;
	INIT_LIST_HEAD(&map->copies);
	list_add_tail(&map->link, &bo->staged_maps);
	return map;

err_free_table:
	sg_free_table(&map->sgt);
err_free_map:
	kfree(map);
	return ERR_PTR(ret);
}

/*
 * The importer's view of system memory pages: a DMA mapping of the TT
 * pages, one per device, shared by that device's attachments of the BO and
 * of its ranges.
 */
static struct sg_table *p2pgpu_map_tt(struct p2pgpu_bo *bo, u64 offset,
				      u64 length, struct device *dev,
				      enum dma_data_direction dir)
{
	struct ttm_tt *tt = bo->tbo.ttm;
	struct p2pgpu_staged_map *map;
	struct sg_table *sgt;

	if (!tt || !ttm_tt_is_populated(tt))
		return ERR_PTR(-EINVAL);

	list_for_each_entry(map, &bo->staged_maps, link)
		if (!map->stale && map->dev == dev && map->dir == dir)
			return p2pgpu_staged_copy(map, offset, length);

	map = p2pgpu_staged_map_new(bo, dev, dir);
	if (IS_ERR(map))
		return ERR_CAST(map);
	sgt = p2pgpu_staged_copy(map, offset, length);
	if (IS_ERR(sgt))
		p2pgpu_staged_map_put(bo, map);
	return sgt;
}

/* map_dma_buf proper, the device known to be present */
static struct sg_table *
p2pgpu_dma_buf_map_present(struct dma_buf_attachment *attach,
			   struct p2pgpu_bo *bo, u64 offset, u64 length,
			   enum dma_data_direction dir)
{
	struct p2pgpu_attach *rec = attach->priv;
	struct sg_table *sgt = NULL;
	int ret = 0;

	if (rec->decision == P2PGPU_MAPPING_P2P) {
		/* SYSTEM may be swapped out: bring it back, to VRAM if allowed */
		if (!bo->tbo.pin_count && !p2pgpu_bo_in_vram(bo) &&
		    bo->tbo.resource->mem_type != TTM_PL_TT)
			ret = p2pgpu_bo_validate(bo, bo->requested ==
						 P2PGPU_PLACEMENT_SYSTEM ?
						 P2PGPU_PLACEMENT_SYSTEM :
						 P2PGPU_PLACEMENT_VRAM_PREFERRED,
						 true);
		if (ret)
			return ERR_PTR(ret);

		if (p2pgpu_bo_in_vram(bo)) {
			sgt = p2pgpu_p2p_map_vram(bo, attach, offset, length,
						  dir);
			if (!IS_ERR(sgt)) {
				rec->reason = P2PGPU_REASON_NONE;
				rec->mapping = P2PGPU_MAPPING_P2P;
				goto mapped;
			}
			if (PTR_ERR(sgt) != -EREMOTEIO)
				return sgt;
			/* the DMA layer knows better than the distance check */
			rec->decision = P2PGPU_MAPPING_STAGED;
			rec->reason = P2PGPU_REASON_MAP_REFUSED;
			attach->peer2peer = false;
		} else if (bo->tbo.pin_count) {
			rec->reason = P2PGPU_REASON_PINNED_IN_SYSTEM;
		}
	}

	/* staged: the importer gets system memory */
	ret = p2pgpu_bo_validate(bo, P2PGPU_PLACEMENT_SYSTEM, true);
	if (ret)
		return ERR_PTR(ret);
	sgt = p2pgpu_map_tt(bo, offset, length, attach->dev, dir);
	if (IS_ERR(sgt))
		return sgt;
	rec->mapping = P2PGPU_MAPPING_STAGED;

mapped:
	/*
	 * peer2peer tells the importer what it holds: the BAR or system
	 * memory (importers such as p2prdma report their backing from it).
	 * A staged decision cleared it for good at attach time.
	 */
	attach->peer2peer = rec->mapping == P2PGPU_MAPPING_P2P;
	if (sg_dma_is_bus_address(sgt->sgl))
		rec->flags |= P2PGPU_ATTACH_BUS_ADDR;
	else
		rec->flags &= ~P2PGPU_ATTACH_BUS_ADDR;
	rec->map_count++;
	rec->active_maps++;
	trace_p2pgpu_map(bo, rec, sgt);
	return sgt;
}

/**
 * p2pgpu_dma_buf_map - &dma_buf_ops.map_dma_buf implementation
 * @attach: the attachment
 * @dir: DMA direction
 *
 * An unpinned BO is first put where the attachment can use it: system
 * memory for a staged attachment (other importers get move_notify), VRAM or
 * system memory, wherever it is, for a peer-to-peer one. VRAM is mapped by
 * p2pgpu_p2p_map_vram(); if P2PDMA refuses the pair (-EREMOTEIO) the
 * attachment is staged from then on.
 *
 * Once the device is unplugged, or the buffer revoked, nothing is mapped
 * any more: the BAR is going or gone, and importers were told to let go
 * (p2pgpu_revoke_all()). Every mapping handed out is counted until it is
 * unmapped: a revoke waits for that count to drop to zero.
 *
 * Return: the mapped table, ERR_PTR(-ENODEV) after unplug or revoke, or
 * another ERR_PTR().
 */
static struct sg_table *p2pgpu_dma_buf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct p2pgpu_bo *bo;
	struct sg_table *sgt;
	u64 offset, length;
	int idx;

	dma_resv_assert_held(attach->dmabuf->resv);

	bo = p2pgpu_dmabuf_bo(attach->dmabuf, &offset, &length);
	if (bo->revoked || !drm_dev_enter(bo->tbo.base.dev, &idx))
		return ERR_PTR(-ENODEV);
	sgt = p2pgpu_dma_buf_map_present(attach, bo, offset, length, dir);
	if (!IS_ERR(sgt))
		atomic_inc(&p2pgpu_bo_dev(bo)->active_maps);
	drm_dev_exit(idx);
	return sgt;
}

/**
 * p2pgpu_dma_buf_unmap - &dma_buf_ops.unmap_dma_buf implementation
 * @attach: the attachment
 * @sgt: a table p2pgpu_dma_buf_map() returned for it
 * @dir: DMA direction
 */
static void p2pgpu_dma_buf_unmap(struct dma_buf_attachment *attach,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct p2pgpu_attach *rec = attach->priv;
	struct p2pgpu_staged_sgt *copy;
	struct p2pgpu_staged_map *map;
	struct p2pgpu_bo *bo;
	u64 offset, length;

	dma_resv_assert_held(attach->dmabuf->resv);

	bo = p2pgpu_dmabuf_bo(attach->dmabuf, &offset, &length);
	copy = p2pgpu_staged_find(bo, sgt);
	if (copy) {
		map = copy->map;
		list_del(&copy->link);
		sg_free_table(&copy->sgt);
		kfree(copy);
		p2pgpu_staged_map_put(bo, map);
	} else {
		p2pgpu_p2p_unmap_vram(attach, sgt, dir);
	}

	if (rec->active_maps && !--rec->active_maps)
		rec->mapping = P2PGPU_MAPPING_NONE;
	if (atomic_dec_and_test(&p2pgpu_bo_dev(bo)->active_maps))
		wake_up_all(&p2pgpu_bo_dev(bo)->unmap_wq);
}

/**
 * p2pgpu_dma_buf_mmap - &dma_buf_ops.mmap implementation
 * @dmabuf: a p2pgpu dma-buf
 * @vma: the mapping, its offset already checked against the dma-buf's size
 *
 * TTM faults the pages in from wherever the BO is at the time. The mapping
 * lives in the DRM device's address space at the BO's fake offset (every
 * p2pgpu dma-buf's f_mapping is the device's), so TTM's zap of the BO on a
 * move reaches it and no other BO's mappings.
 *
 * Return: 0 or -EINVAL for a private (COW) mapping.
 */
static int p2pgpu_dma_buf_mmap(struct dma_buf *dmabuf,
			       struct vm_area_struct *vma)
{
	struct p2pgpu_bo *bo;
	u64 offset, length;

	bo = p2pgpu_dmabuf_bo(dmabuf, &offset, &length);
	/* TTM finds the BO's pages by the GEM fake offset */
	vma->vm_pgoff += drm_vma_node_start(&bo->tbo.base.vma_node) +
			 (offset >> PAGE_SHIFT);
	/* ours, over the core's dummy ones: a revoked BO faults SIGBUS */
	vma->vm_ops = &p2pgpu_gem_vm_ops;
	return ttm_bo_mmap_obj(vma, &bo->tbo);
}

/**
 * p2pgpu_dma_buf_vmap - &dma_buf_ops.vmap implementation
 * @dmabuf: a p2pgpu dma-buf
 * @map: [out] the kernel mapping of the dma-buf's range
 *
 * The BO is pinned where it is for as long as the kernel mapping exists.
 * Once the device is unplugged or the buffer revoked there is nothing to
 * map: the BAR is going or gone.
 *
 * Return: 0, -ENODEV after unplug or revoke, or another negative errno.
 */
static int p2pgpu_dma_buf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct p2pgpu_bo *bo;
	u64 offset, length;
	int idx, ret;

	dma_resv_assert_held(dmabuf->resv);

	bo = p2pgpu_dmabuf_bo(dmabuf, &offset, &length);
	if (bo->revoked || !drm_dev_enter(bo->tbo.base.dev, &idx))
		return -ENODEV;
	ret = p2pgpu_bo_pin(bo, p2pgpu_bo_in_vram(bo));
	if (ret == -ENOSPC)
		ret = p2pgpu_bo_pin(bo, false);
	if (ret)
		goto exit_dev;

	ret = ttm_bo_vmap(&bo->tbo, map);
	if (ret) {
		p2pgpu_bo_unpin(bo);
		goto exit_dev;
	}
	iosys_map_incr(map, offset);
exit_dev:
	drm_dev_exit(idx);
	return ret;
}

/**
 * p2pgpu_dma_buf_vunmap - &dma_buf_ops.vunmap implementation
 * @dmabuf: a p2pgpu dma-buf
 * @map: what p2pgpu_dma_buf_vmap() returned
 */
static void p2pgpu_dma_buf_vunmap(struct dma_buf *dmabuf,
				  struct iosys_map *map)
{
	struct iosys_map whole = *map;
	struct p2pgpu_bo *bo;
	u64 offset, length;

	dma_resv_assert_held(dmabuf->resv);

	bo = p2pgpu_dmabuf_bo(dmabuf, &offset, &length);
	if (whole.is_iomem)
		whole.vaddr_iomem = (u8 __iomem *)whole.vaddr_iomem - offset;
	else
		whole.vaddr = (u8 *)whole.vaddr - offset;
	ttm_bo_vunmap(&bo->tbo, &whole);
	p2pgpu_bo_unpin(bo);
}

/**
 * p2pgpu_bo_sync_staged - sync the BO's staged DMA mappings
 * @bo: the BO, reserved
 * @for_cpu: make the devices' writes visible to the CPU (else the CPU's
 * writes to the devices)
 *
 * As the system dma-heap does for its mapped attachments: where the DMA
 * layer bounces (swiotlb: confidential VMs, devices with a narrow DMA mask,
 * swiotlb=force) or the CPU's caches are not coherent, the device and the
 * CPU see the same bytes only after these syncs.
 */
void p2pgpu_bo_sync_staged(struct p2pgpu_bo *bo, bool for_cpu)
{
	struct p2pgpu_staged_map *map;

	dma_resv_assert_held(bo->tbo.base.resv);

	list_for_each_entry(map, &bo->staged_maps, link) {
		if (map->stale)
			continue;
		if (for_cpu)
			dma_sync_sgtable_for_cpu(map->dev, &map->sgt, map->dir);
		else
			dma_sync_sgtable_for_device(map->dev, &map->sgt,
						    map->dir);
	}
}

/* begin (@for_cpu) or end CPU access: sync every staged mapping of the BO */
static int p2pgpu_dma_buf_cpu_access(struct dma_buf *dmabuf, bool for_cpu)
{
	struct p2pgpu_bo *bo;
	u64 offset, length;
	int ret;

	bo = p2pgpu_dmabuf_bo(dmabuf, &offset, &length);
	/* the CPU's writes must reach the devices even if a signal came */
	if (for_cpu) {
		ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
		if (ret)
			return ret;
	} else {
		dma_resv_lock(dmabuf->resv, NULL);
	}
	p2pgpu_bo_sync_staged(bo, for_cpu);
	dma_resv_unlock(dmabuf->resv);
	if (!for_cpu)
		/* the CPU's write-combined VRAM stores leave their buffers */
		wmb();
	return 0;
}

/**
 * p2pgpu_dma_buf_begin_cpu_access - &dma_buf_ops.begin_cpu_access
 * implementation
 * @dmabuf: a p2pgpu dma-buf
 * @dir: the access about to happen
 *
 * The dma-buf core has already waited for the fences in the dma_resv.
 * VRAM is mapped uncached or write-combined; system memory that devices have mapped is
 * synced for the CPU, so that what they wrote through a bounce buffer (or
 * past the CPU's caches) is what the CPU reads. All of the BO's staged
 * mappings are synced, those of its range exports too: they share its
 * pages.
 *
 * Return: 0 or -EINTR.
 */
static int p2pgpu_dma_buf_begin_cpu_access(struct dma_buf *dmabuf,
					   enum dma_data_direction dir)
{
	return p2pgpu_dma_buf_cpu_access(dmabuf, true);
}

/**
 * p2pgpu_dma_buf_end_cpu_access - &dma_buf_ops.end_cpu_access
 * implementation
 * @dmabuf: a p2pgpu dma-buf
 * @dir: the access that happened
 *
 * Syncs system memory that devices have mapped for them, so that they read
 * what the CPU wrote (see begin_cpu_access).
 *
 * Return: 0.
 */
static int p2pgpu_dma_buf_end_cpu_access(struct dma_buf *dmabuf,
					 enum dma_data_direction dir)
{
	return p2pgpu_dma_buf_cpu_access(dmabuf, false);
}

/**
 * p2pgpu_dma_buf_release - &dma_buf_ops.release implementation
 * @dmabuf: a whole-buffer dma-buf, its last reference gone
 */
static void p2pgpu_dma_buf_release(struct dma_buf *dmabuf)
{
	struct p2pgpu_bo *bo = gem_to_p2pgpu_bo(dmabuf->priv);

	dma_resv_lock(dmabuf->resv, NULL);
	if (bo->dmabuf == dmabuf)
		bo->dmabuf = NULL;
	dma_resv_unlock(dmabuf->resv);
	atomic_dec(&p2pgpu_bo_dev(bo)->live_dmabufs);
	drm_gem_dmabuf_release(dmabuf);
}

/**
 * p2pgpu_range_release - &dma_buf_ops.release implementation for ranges
 * @dmabuf: a range dma-buf, its last reference gone
 */
static void p2pgpu_range_release(struct dma_buf *dmabuf)
{
	struct p2pgpu_range *range = dmabuf->priv;
	struct drm_device *drm = range->bo->tbo.base.dev;

	dma_resv_lock(dmabuf->resv, NULL);
	list_del(&range->link);
	dma_resv_unlock(dmabuf->resv);

	atomic_dec(&p2pgpu_bo_dev(range->bo)->live_dmabufs);
	drm_gem_object_put(&range->bo->tbo.base);
	kfree(range);
	drm_dev_put(drm);
}

const struct dma_buf_ops p2pgpu_dmabuf_ops = {
	.attach = p2pgpu_dma_buf_attach,
	.detach = p2pgpu_dma_buf_detach,
	.pin = p2pgpu_dma_buf_pin,
	.unpin = p2pgpu_dma_buf_unpin,
	.map_dma_buf = p2pgpu_dma_buf_map,
	.unmap_dma_buf = p2pgpu_dma_buf_unmap,
	.release = p2pgpu_dma_buf_release,
	.begin_cpu_access = p2pgpu_dma_buf_begin_cpu_access,
	.end_cpu_access = p2pgpu_dma_buf_end_cpu_access,
	.mmap = p2pgpu_dma_buf_mmap,
	.vmap = p2pgpu_dma_buf_vmap,
	.vunmap = p2pgpu_dma_buf_vunmap,
};

static const struct dma_buf_ops p2pgpu_range_dmabuf_ops = {
	.attach = p2pgpu_dma_buf_attach,
	.detach = p2pgpu_dma_buf_detach,
	.pin = p2pgpu_dma_buf_pin,
	.unpin = p2pgpu_dma_buf_unpin,
	.map_dma_buf = p2pgpu_dma_buf_map,
	.unmap_dma_buf = p2pgpu_dma_buf_unmap,
	.release = p2pgpu_range_release,
	.begin_cpu_access = p2pgpu_dma_buf_begin_cpu_access,
	.end_cpu_access = p2pgpu_dma_buf_end_cpu_access,
	.mmap = p2pgpu_dma_buf_mmap,
	.vmap = p2pgpu_dma_buf_vmap,
	.vunmap = p2pgpu_dma_buf_vunmap,
};

/**
 * p2pgpu_gem_prime_export - &drm_gem_object_funcs.export implementation
 * @obj: the BO's GEM object
 * @flags: file flags for the dma-buf
 *
 * The DRM helper does the bookkeeping (GEM and device references); the
 * operations are p2pgpu's, as amdgpu does.
 *
 * Return: the dma-buf or an ERR_PTR().
 */
struct dma_buf *p2pgpu_gem_prime_export(struct drm_gem_object *obj, int flags)
{
	struct dma_buf *buf;

	buf = drm_gem_prime_export(obj, flags);
	if (IS_ERR(buf))
		return buf;
	buf->ops = &p2pgpu_dmabuf_ops;
	atomic_inc(&to_p2pgpu(obj->dev)->live_dmabufs);

	/* moves must reach this dma-buf's importers for as long as it lives */
	dma_resv_lock(obj->resv, NULL);
	gem_to_p2pgpu_bo(obj)->dmabuf = buf;
	dma_resv_unlock(obj->resv);
	return buf;
}

/**
 * p2pgpu_gem_export_range_ioctl - DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE
 * @drm: the device
 * @data: &struct drm_p2pgpu_gem_export_range
 * @file: the caller
 *
 * Exports [offset, offset + length) of a BO as a dma-buf of its own,
 * sharing the BO's dma_resv.
 *
 * Return: 0, -ENOENT, -EINVAL, -ERANGE, -EOVERFLOW or -ENOMEM.
 */
int p2pgpu_gem_export_range_ioctl(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct drm_p2pgpu_gem_export_range *args = data;
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct drm_gem_object *obj;
	struct p2pgpu_range *range;
	struct dma_buf *dmabuf;
	u64 end;
	int ret;

	if (args->pad || (args->flags & ~(DRM_CLOEXEC | DRM_RDWR)))
		return -EINVAL;
	if (!args->length || !PAGE_ALIGNED(args->offset) ||
	    !PAGE_ALIGNED(args->length))
		return -EINVAL;
	if (check_add_overflow(args->offset, args->length, &end))
		return -EOVERFLOW;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	if (end > obj->size) {
		ret = -ERANGE;
		goto err_put_obj;
	}

	range = kzalloc_obj(*range, GFP_KERNEL);
	if (!range) {
		ret = -ENOMEM;
		goto err_put_obj;
	}
	range->bo = gem_to_p2pgpu_bo(obj);
	range->offset = args->offset;
	range->length = args->length;

	exp_info.exp_name = P2PGPU_DRIVER_NAME;
	exp_info.owner = THIS_MODULE;
	exp_info.ops = &p2pgpu_range_dmabuf_ops;
	exp_info.size = args->length;
	exp_info.flags = args->flags & (O_CLOEXEC | O_ACCMODE);
	exp_info.priv = range;
	exp_info.resv = obj->resv;

	/* the range keeps the device as PRIME exports do */
	drm_dev_get(drm);
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_dev;
	}
	range->dmabuf = dmabuf;
	/*
	 * CPU mappings of the range go into the device's address space, at
	 * the BO's fake offset (p2pgpu_dma_buf_mmap()), like those of a PRIME
	 * export: TTM's zap of this BO on a move then reaches them, and
	 * nothing ever touches this file's own mapping, which dies with it.
	 */
	dmabuf->file->f_mapping = drm->anon_inode->i_mapping;
	atomic_inc(&to_p2pgpu(drm)->live_dmabufs);
	dma_resv_lock(obj->resv, NULL);
	list_add_tail(&range->link, &range->bo->ranges);
	dma_resv_unlock(obj->resv);

	/* from here the dma-buf owns the range and the GEM reference */
	ret = dma_buf_fd(dmabuf, args->flags & O_CLOEXEC);
	if (ret < 0) {
		dma_buf_put(dmabuf);
		return ret;
	}
	args->fd = ret;
	return 0;

err_put_dev:
	drm_dev_put(drm);
	kfree(range);
err_put_obj:
	drm_gem_object_put(obj);
	return ret;
}
