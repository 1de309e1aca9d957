// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu memory management: TTM with three domains.
 *
 * VRAM is the BAR, handed out in physically contiguous ranges by TTM's range
 * manager. TT is system memory with struct pages from TTM's pool, the place
 * a buffer is staged for importers that cannot reach the BAR. SYSTEM is
 * where TTM puts TT buffers under pressure (and where it may swap them out).
 *
 * The device has no copy engine: every move is a synchronous CPU copy
 * (ttm_bo_move_memcpy()), so p2pgpu adds no fence to a BO's dma_resv and
 * moves are ordered by the dma_resv lock TTM holds across them. Others do
 * add fences (importers, userspace through DMA_BUF_IOCTL_IMPORT_SYNC_FILE):
 * a move waits for all of them first.
 */
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>

#include <drm/ttm/ttm_range_manager.h>
#include <drm/ttm/ttm_resource.h>
#include <drm/ttm/ttm_tt.h>

#include "p2pgpu.h"
#include "p2pgpu_trace.h"

static unsigned int vram_pin_limit_mb;
module_param(vram_pin_limit_mb, uint, 0644);
MODULE_PARM_DESC(vram_pin_limit_mb,
		 "Cap on pinned VRAM in MiB (0, the default: half of VRAM)");

static const struct ttm_place p2pgpu_place_vram = {
	.mem_type = TTM_PL_VRAM,
};

static const struct ttm_place p2pgpu_place_tt = {
	.mem_type = TTM_PL_TT,
};

static const struct ttm_place p2pgpu_place_sys = {
	.mem_type = TTM_PL_SYSTEM,
};

/* VRAM first, system memory when VRAM is full (TTM tries them in order) */
static const struct ttm_place p2pgpu_places_preferred[] = {
	{ .mem_type = TTM_PL_VRAM },
	{ .mem_type = TTM_PL_TT },
};

static struct ttm_placement p2pgpu_placement_vram = {
	.num_placement = 1,
	.placement = &p2pgpu_place_vram,
};

static struct ttm_placement p2pgpu_placement_tt = {
	.num_placement = 1,
	.placement = &p2pgpu_place_tt,
};

static struct ttm_placement p2pgpu_placement_sys = {
	.num_placement = 1,
	.placement = &p2pgpu_place_sys,
};

static struct ttm_placement p2pgpu_placement_preferred = {
	.num_placement = ARRAY_SIZE(p2pgpu_places_preferred),
	.placement = p2pgpu_places_preferred,
};

/**
 * p2pgpu_ttm_placement - the TTM placement of a uapi placement
 * @placement: P2PGPU_PLACEMENT_*; SYSTEM is TT, system memory with pages
 *
 * Return: a static placement.
 */
struct ttm_placement *p2pgpu_ttm_placement(u32 placement)
{
	switch (placement) {
	case P2PGPU_PLACEMENT_VRAM:
		return &p2pgpu_placement_vram;
	case P2PGPU_PLACEMENT_SYSTEM:
		return &p2pgpu_placement_tt;
	default:
		return &p2pgpu_placement_preferred;
	}
}

/**
 * p2pgpu_vram_pin_limit - the cap on pinned VRAM, in bytes
 * @gpu: the device
 *
 * Return: vram_pin_limit_mb MiB, or half of VRAM when the parameter is 0.
 */
u64 p2pgpu_vram_pin_limit(struct p2pgpu_device *gpu)
{
	unsigned int mb = READ_ONCE(vram_pin_limit_mb);

	return mb ? min_t(u64, (u64)mb << 20, gpu->vram_size) :
		    gpu->vram_size / 2;
}

/**
 * p2pgpu_vram_used - bytes of VRAM allocated to BOs
 * @gpu: the device
 *
 * Return: the VRAM manager's usage.
 */
u64 p2pgpu_vram_used(struct p2pgpu_device *gpu)
{
	return ttm_resource_manager_usage(ttm_manager_type(&gpu->bdev,
							   TTM_PL_VRAM));
}

/**
 * p2pgpu_bo_in_vram - whether a BO currently lives in the BAR
 * @bo: the BO, reserved or otherwise kept from moving
 *
 * Return: true if its resource is VRAM.
 */
bool p2pgpu_bo_in_vram(struct p2pgpu_bo *bo)
{
	return bo->tbo.resource && bo->tbo.resource->mem_type == TTM_PL_VRAM;
}

/**
 * p2pgpu_bo_move_notify - tell dynamic importers the BO's backing changes
 * @bo: the BO, reserved
 *
 * Every dma-buf of the BO (the whole-buffer export and the range exports)
 * shares its dma_resv; dma_buf_invalidate_mappings() makes each dynamic importer
 * drop its mapping and re-map on next use. CPU mappings need nothing here:
 * every dma-buf of a BO maps through the DRM device's address space at the
 * BO's fake offset (as drm_gem_dmabuf_export() arranges), which TTM zaps
 * for exactly this BO on every move and swap-out, and drm_dev_unplug() for
 * every BO on unbind.
 *
 * Staged DMA mappings are synced for the CPU first, so that what devices
 * wrote through a bounce buffer is in the pages the move copies or swaps
 * out, and are stale from then on: the next map makes a new one.
 */
void p2pgpu_bo_move_notify(struct p2pgpu_bo *bo)
{
	struct p2pgpu_staged_map *map;
	struct p2pgpu_range *range;

	dma_resv_assert_held(bo->tbo.base.resv);

	p2pgpu_bo_sync_staged(bo, true);
	list_for_each_entry(map, &bo->staged_maps, link)
		map->stale = true;

	if (bo->dmabuf || !list_empty(&bo->ranges))
		trace_p2pgpu_invalidate(bo);
	if (bo->dmabuf)
		dma_buf_invalidate_mappings(bo->dmabuf);
	list_for_each_entry(range, &bo->ranges, link)
		dma_buf_invalidate_mappings(range->dmabuf);
}

/**
 * p2pgpu_vram_errno - what a failed placement in VRAM means
 * @gpu: the device
 * @size: bytes asked for
 * @ret: what TTM answered
 *
 * ttm_bo_validate() reports "no space" as -ENOMEM, for old userspace, and
 * a failed kernel allocation as -ENOMEM too. No space is -ENOSPC only when
 * the pinned part of VRAM leaves less than @size: nothing can be evicted
 * to make room. Otherwise it is memory, -ENOMEM.
 *
 * Return: -ENOSPC or @ret.
 */
int p2pgpu_vram_errno(struct p2pgpu_device *gpu, u64 size, int ret)
{
	u64 pinned;

	if (ret != -ENOMEM)
		return ret;
	spin_lock(&gpu->pin_lock);
	pinned = gpu->vram_pinned;
	spin_unlock(&gpu->pin_lock);
	return size > gpu->vram_size - min(pinned, gpu->vram_size) ?
	       -ENOSPC : -ENOMEM;
}

/**
 * p2pgpu_bo_validate - move a BO where a placement says
 * @bo: the BO, reserved
 * @placement: P2PGPU_PLACEMENT_*; SYSTEM means TT (system memory with
 * pages that can be DMA mapped)
 * @interruptible: wait interruptibly for TTM
 *
 * Return: 0, -EBUSY if pinned elsewhere, -ENOSPC if VRAM was asked for and
 * cannot be made (everything there is pinned), -ENOMEM, or another error.
 */
int p2pgpu_bo_validate(struct p2pgpu_bo *bo, u32 placement, bool interruptible)
{
	struct ttm_operation_ctx ctx = { .interruptible = interruptible };
	struct ttm_placement *pl = p2pgpu_ttm_placement(placement);
	int ret;

	dma_resv_assert_held(bo->tbo.base.resv);

	if (bo->tbo.pin_count) {
		unsigned int i;

		/* TTM refuses to move it (-EINVAL): answer whether it need not */
		for (i = 0; i < pl->num_placement; i++)
			if (bo->tbo.resource &&
			    bo->tbo.resource->mem_type == pl->placement[i].mem_type)
				return 0;
		return -EBUSY;
	}

	ret = ttm_bo_validate(&bo->tbo, pl, &ctx);
	if (placement == P2PGPU_PLACEMENT_VRAM)
		ret = p2pgpu_vram_errno(p2pgpu_bo_dev(bo), bo->tbo.base.size,
					ret);
	return ret;
}

/*
 * ttm_bo_pin() only counts: the resource stays on its manager's LRU until it
 * is next moved to the tail, and ttm_resource_manager_evict_all() (unbind)
 * takes whatever is on the LRU. Put it on (or off) the pinned list now, as
 * xe does, so nothing evicts a pinned BO from under its importers.
 */
static void p2pgpu_ttm_pin(struct p2pgpu_bo *bo)
{
	ttm_bo_pin(&bo->tbo);
	ttm_bo_move_to_lru_tail_unlocked(&bo->tbo);
}

static void p2pgpu_ttm_unpin(struct p2pgpu_bo *bo)
{
	ttm_bo_unpin(&bo->tbo);
	ttm_bo_move_to_lru_tail_unlocked(&bo->tbo);
}

/**
 * p2pgpu_bo_pin - pin a BO for a dma-buf importer
 * @bo: the BO, reserved
 * @vram: the importer can use VRAM (every attachment is peer-to-peer)
 *
 * The first pin decides where the BO stays: VRAM if @vram and it is allowed
 * there (counted against vram_pin_limit_mb), system memory otherwise. Later
 * pins only count; a later pin that needs system memory while the BO is
 * pinned in VRAM fails.
 *
 * Return: 0, -ENOSPC past the VRAM pin cap, -EBUSY pinned in the wrong place.
 */
int p2pgpu_bo_pin(struct p2pgpu_bo *bo, bool vram)
{
	struct p2pgpu_device *gpu = p2pgpu_bo_dev(bo);
	u64 size = bo->tbo.base.size;
	u32 where;
	int ret;

	dma_resv_assert_held(bo->tbo.base.resv);

	if (bo->tbo.pin_count) {
		if (!vram && p2pgpu_bo_in_vram(bo))
			return -EBUSY;
		p2pgpu_ttm_pin(bo);
		return 0;
	}

	if (vram && bo->requested != P2PGPU_PLACEMENT_SYSTEM) {
		spin_lock(&gpu->pin_lock);
		if (gpu->vram_pinned + size > p2pgpu_vram_pin_limit(gpu)) {
			spin_unlock(&gpu->pin_lock);
			return -ENOSPC;
		}
		/* reserve the room before moving, so two pins cannot race past the cap */
		gpu->vram_pinned += size;
		spin_unlock(&gpu->pin_lock);

		where = bo->requested == P2PGPU_PLACEMENT_VRAM ?
			P2PGPU_PLACEMENT_VRAM : P2PGPU_PLACEMENT_VRAM_PREFERRED;
		ret = p2pgpu_bo_validate(bo, where, true);
		if (!ret && p2pgpu_bo_in_vram(bo)) {
			bo->vram_pin_accounted = true;
			p2pgpu_ttm_pin(bo);
			return 0;
		}
		spin_lock(&gpu->pin_lock);
		gpu->vram_pinned -= size;
		spin_unlock(&gpu->pin_lock);
		if (ret && ret != -ENOSPC && ret != -ENOMEM)
			return ret;
		/* no room (or memory) for VRAM: pin in system memory, staged */
	}

	ret = p2pgpu_bo_validate(bo, P2PGPU_PLACEMENT_SYSTEM, true);
	if (ret)
		return ret;
	p2pgpu_ttm_pin(bo);
	return 0;
}

/**
 * p2pgpu_bo_unpin - drop one pin
 * @bo: the BO, reserved
 */
void p2pgpu_bo_unpin(struct p2pgpu_bo *bo)
{
	struct p2pgpu_device *gpu = p2pgpu_bo_dev(bo);

	dma_resv_assert_held(bo->tbo.base.resv);

	p2pgpu_ttm_unpin(bo);
	if (!bo->tbo.pin_count && bo->vram_pin_accounted) {
		bo->vram_pin_accounted = false;
		spin_lock(&gpu->pin_lock);
		gpu->vram_pinned -= bo->tbo.base.size;
		spin_unlock(&gpu->pin_lock);
	}
}

static struct ttm_tt *p2pgpu_ttm_tt_create(struct ttm_buffer_object *tbo,
					   u32 page_flags)
{
	struct ttm_tt *tt;

	tt = kzalloc_obj(*tt, GFP_KERNEL);
	if (!tt)
		return NULL;

	/* plain cached pages: x86 DMA is coherent, and no PAT change is made */
	if (ttm_tt_init(tt, tbo, page_flags, ttm_cached, 0)) {
		kfree(tt);
		return NULL;
	}
	return tt;
}

static void p2pgpu_ttm_tt_destroy(struct ttm_device *bdev, struct ttm_tt *tt)
{
	ttm_tt_fini(tt);
	kfree(tt);
}

static void p2pgpu_evict_flags(struct ttm_buffer_object *tbo,
			       struct ttm_placement *placement)
{
	/* VRAM makes room by staging in system memory; TT gives way to SYSTEM */
	if (tbo->resource && tbo->resource->mem_type == TTM_PL_VRAM)
		*placement = p2pgpu_placement_tt;
	else
		*placement = p2pgpu_placement_sys;
}

static bool p2pgpu_mem_is_vram(struct ttm_resource *res)
{
	return res && res->mem_type == TTM_PL_VRAM;
}

/*
 * The copies between the BAR and system memory move 64 bits at a time, 64
 * bytes a step. TTM's own copy (ttm_move_memcpy() through
 * drm_memcpy_from_wc()) uses movntdqa only on bare metal: in a VM, where
 * this device lives, it falls back to memcpy_fromio()/memcpy_toio(), which
 * on x86 are `rep movsl`, 4 bytes a step, and memset_io() for a new BO.
 * Under QEMU's TCG every string-instruction step is a pass through the
 * translated block, so that ran at about an eighth of a user-space
 * memcpy(); the BAR is 64-bit and prefetchable, 8-byte accesses are what
 * it takes best on real hardware too.
 */
static void p2pgpu_copy_from_vram(void *dst, const void __iomem *src,
				  size_t len)
{
	const u64 __iomem *s = src;
	u64 *d = dst;

	for (; len >= 64; len -= 64, s += 8, d += 8) {
		d[0] = __raw_readq(s + 0);
		d[1] = __raw_readq(s + 1);
		d[2] = __raw_readq(s + 2);
		d[3] = __raw_readq(s + 3);
		d[4] = __raw_readq(s + 4);
		d[5] = __raw_readq(s + 5);
		d[6] = __raw_readq(s + 6);
		d[7] = __raw_readq(s + 7);
	}
}

static void p2pgpu_copy_to_vram(void __iomem *dst, const void *src,
				size_t len)
{
	u64 __iomem *d = dst;
	const u64 *s = src;

	for (; len >= 64; len -= 64, s += 8, d += 8) {
		__raw_writeq(s[0], d + 0);
		__raw_writeq(s[1], d + 1);
		__raw_writeq(s[2], d + 2);
		__raw_writeq(s[3], d + 3);
		__raw_writeq(s[4], d + 4);
		__raw_writeq(s[5], d + 5);
		__raw_writeq(s[6], d + 6);
		__raw_writeq(s[7], d + 7);
	}
}

static void p2pgpu_clear_vram(void __iomem *dst, size_t len)
{
	u64 __iomem *d = dst;

	for (; len >= 64; len -= 64, d += 8) {
		__raw_writeq(0, d + 0);
		__raw_writeq(0, d + 1);
		__raw_writeq(0, d + 2);
		__raw_writeq(0, d + 3);
		__raw_writeq(0, d + 4);
		__raw_writeq(0, d + 5);
		__raw_writeq(0, d + 6);
		__raw_writeq(0, d + 7);
	}
}

static int p2pgpu_io_mem_reserve(struct ttm_device *bdev,
				 struct ttm_resource *mem);

/**
 * p2pgpu_bo_move_copy - copy a BO between VRAM and system memory
 * @tbo: the BO, reserved, its users done with it
 * @ctx: TTM's context
 * @new_mem: where it goes; one of the two places is VRAM
 *
 * What ttm_bo_move_memcpy() does (populate the system pages, copy, or
 * clear the VRAM of a BO that had no content, then switch resources), with
 * the copy above: the VRAM side is mapped once for the whole move, each
 * system page with kmap_local_page() (the TT is cached, see
 * p2pgpu_ttm_tt_create()). A TT that is not plain cached pages, or a move
 * without one, is left to TTM.
 *
 * Return: 0 or a negative errno; the BO keeps its old place on error.
 */
static int p2pgpu_bo_move_copy(struct ttm_buffer_object *tbo,
			       struct ttm_operation_ctx *ctx,
			       struct ttm_resource *new_mem)
{
	struct ttm_resource *old_mem = tbo->resource;
	bool to_vram = p2pgpu_mem_is_vram(new_mem);
	struct ttm_resource *vram = to_vram ? new_mem : old_mem;
	struct ttm_tt *tt = tbo->ttm;
	void __iomem *io;
	bool clear;
	pgoff_t i;
	int ret;

	if (!tt || tt->caching != ttm_cached)
		return ttm_bo_move_memcpy(tbo, ctx, new_mem);

	if ((tt->page_flags & TTM_TT_FLAG_SWAPPED) || !to_vram) {
		ret = ttm_bo_populate(tbo, ctx);
		if (ret)
			return ret;
	}
	/*
	 * A BO whose system side never had pages has no content: as in
	 * ttm_bo_move_memcpy(), its VRAM is zeroed if the TT asks for zeroed
	 * pages, else left as it is.
	 */
	clear = to_vram && !ttm_tt_is_populated(tt);
	if (clear && !(tt->page_flags & TTM_TT_FLAG_ZERO_ALLOC)) {
		ttm_bo_move_sync_cleanup(tbo, new_mem);
		return 0;
	}

	ret = p2pgpu_io_mem_reserve(tbo->bdev, vram);
	if (ret)
		return ret;
	io = vram->bus.caching == ttm_write_combined ?
	     ioremap_wc(vram->bus.offset, tbo->base.size) :
	     ioremap(vram->bus.offset, tbo->base.size);
	if (!io)
		return -ENOMEM;

	for (i = 0; i < PFN_UP(tbo->base.size); i++) {
		void __iomem *vpage = io + (i << PAGE_SHIFT);
		void *page;

		if (clear) {
			p2pgpu_clear_vram(vpage, PAGE_SIZE);
		} else {
			page = kmap_local_page(tt->pages[i]);
			if (to_vram)
				p2pgpu_copy_to_vram(vpage, page, PAGE_SIZE);
			else
				p2pgpu_copy_from_vram(page, vpage, PAGE_SIZE);
			kunmap_local(page);
		}
		/* a 1 GiB BO is 262144 pages: let others run meanwhile */
		if (!(i % 1024))
			cond_resched();
	}
	iounmap(io);

	ttm_bo_move_sync_cleanup(tbo, new_mem);
	return 0;
}

static int p2pgpu_bo_move(struct ttm_buffer_object *tbo, bool evict,
			  struct ttm_operation_ctx *ctx,
			  struct ttm_resource *new_mem, struct ttm_place *hop)
{
	struct p2pgpu_bo *bo = to_p2pgpu_bo(tbo);
	struct ttm_resource *old_mem = tbo->resource;
	u32 from;
	bool created;
	int ret;

	if (!old_mem) {
		/* a new BO: VRAM is reached through a zero-filled SYSTEM one */
		if (new_mem->mem_type == TTM_PL_VRAM) {
			hop->mem_type = TTM_PL_SYSTEM;
			hop->flags = TTM_PL_FLAG_TEMPORARY;
			return -EMULTIHOP;
		}
		ttm_bo_move_null(tbo, new_mem);
		return 0;
	}

	/*
	 * The buffer's users must be done with it before its content is
	 * copied and the old backing reused: an importer's DMA or a job that
	 * userspace fenced (DMA_BUF_IOCTL_IMPORT_SYNC_FILE) may still be
	 * writing it. ttm_bo_validate() does not wait, and the cleanup after
	 * ttm_bo_move_memcpy() waits only once the copy is made, so wait here,
	 * for every usage, as the context allows (interruptible, no_wait_gpu).
	 */
	ret = ttm_bo_wait_ctx(tbo, ctx);
	if (ret)
		return ret;

	/*
	 * Importers must stop using the old backing before it is reused: tell
	 * them first (the dma_resv is held), they re-map on next use.
	 */
	p2pgpu_bo_move_notify(bo);

	from = old_mem->mem_type;
	if (!p2pgpu_mem_is_vram(old_mem) && !p2pgpu_mem_is_vram(new_mem)) {
		/* TT <-> SYSTEM keeps the same pages */
		trace_p2pgpu_move(bo, from, new_mem->mem_type, evict);
		ttm_bo_move_null(tbo, new_mem);
		return 0;
	}

	/*
	 * A new BO's zero-filled bounce to VRAM is its creation, not a move;
	 * so is leaving a SYSTEM resource that never had pages: before 6.2
	 * TTM started every BO in such a placeholder instead of none.
	 */
	created = (old_mem->placement & TTM_PL_FLAG_TEMPORARY) ||
		  (old_mem->mem_type == TTM_PL_SYSTEM &&
		   !(tbo->ttm && ttm_tt_is_populated(tbo->ttm)));

	/* VRAM <-> system memory: the CPU copies, there is no copy engine */
	ret = p2pgpu_bo_move_copy(tbo, ctx, new_mem);
	if (ret)
		return ret;
	if (!created) {
		bo->move_count++;
		trace_p2pgpu_move(bo, from, tbo->resource->mem_type, evict);
	}
	return 0;
}

static void p2pgpu_swap_notify(struct ttm_buffer_object *tbo)
{
	/* the pages go to swap: staged importers must let go of them */
	p2pgpu_bo_move_notify(to_p2pgpu_bo(tbo));
}

static int p2pgpu_io_mem_reserve(struct ttm_device *bdev,
				 struct ttm_resource *mem)
{
	struct p2pgpu_device *gpu = bdev_to_p2pgpu(bdev);

	switch (mem->mem_type) {
	case TTM_PL_SYSTEM:
	case TTM_PL_TT:
		return 0;
	case TTM_PL_VRAM:
		mem->bus.offset = gpu->vram_phys +
				  ((u64)mem->start << PAGE_SHIFT);
		mem->bus.is_iomem = true;
		/*
		 * Write-combined where the BAR has the PAT memory type for
		 * it (p2pgpu_p2p_init()); P2PDMA's ZONE_DEVICE pages memremap
		 * it uncached, and any other type would conflict in PAT.
		 */
		mem->bus.caching = gpu->vram_wc ? ttm_write_combined :
						  ttm_uncached;
		return 0;
	default:
		return -EINVAL;
	}
}

static const struct ttm_device_funcs p2pgpu_ttm_funcs = {
	.ttm_tt_create = p2pgpu_ttm_tt_create,
	.ttm_tt_destroy = p2pgpu_ttm_tt_destroy,
	.eviction_valuable = ttm_bo_eviction_valuable,
	.evict_flags = p2pgpu_evict_flags,
	.move = p2pgpu_bo_move,
	.swap_notify = p2pgpu_swap_notify,
	.io_mem_reserve = p2pgpu_io_mem_reserve,
};

/**
 * p2pgpu_ttm_init - set up TTM for a device
 * @gpu: the device, its VRAM BAR known
 *
 * Return: 0 or a negative errno.
 */
int p2pgpu_ttm_init(struct p2pgpu_device *gpu)
{
	struct drm_device *drm = &gpu->drm;
	int ret;

	p2pbuf_ttm_evict_for_own_places(&p2pgpu_placement_vram);
	p2pbuf_ttm_evict_for_own_places(&p2pgpu_placement_tt);
	p2pbuf_ttm_evict_for_own_places(&p2pgpu_placement_sys);
	p2pbuf_ttm_evict_for_own_places(&p2pgpu_placement_preferred);

	ret = ttm_device_init(&gpu->bdev, &p2pgpu_ttm_funcs, drm->dev,
			      drm->anon_inode->i_mapping,
			      drm->vma_offset_manager, 0);
	if (ret)
		return ret;

	ret = ttm_range_man_init(&gpu->bdev, TTM_PL_VRAM, false,
				 gpu->vram_size >> PAGE_SHIFT);
	if (ret)
		goto err_device_fini;

	/* TT can hold all of RAM: the real limit is TTM's own accounting */
	gpu->tt_pages = totalram_pages();
	ret = ttm_range_man_init(&gpu->bdev, TTM_PL_TT, true, gpu->tt_pages);
	if (ret)
		goto err_vram_fini;

	gpu->ttm_ready = true;
	return 0;

err_vram_fini:
	ttm_range_man_fini(&gpu->bdev, TTM_PL_VRAM);
err_device_fini:
	ttm_device_fini(&gpu->bdev);
	return ret;
}

/**
 * p2pgpu_ttm_evict_vram - move every unpinned BO out of the BAR
 * @gpu: the device, being unbound
 */
void p2pgpu_ttm_evict_vram(struct p2pgpu_device *gpu)
{
	struct ttm_resource_manager *man;

	man = ttm_manager_type(&gpu->bdev, TTM_PL_VRAM);
	if (ttm_resource_manager_evict_all(&gpu->bdev, man))
		drm_warn(&gpu->drm, "VRAM still in use at unbind\n");
}

/**
 * p2pgpu_ttm_fini - tear TTM down, once no BO is left
 * @gpu: the device
 */
void p2pgpu_ttm_fini(struct p2pgpu_device *gpu)
{
	if (!gpu->ttm_ready)
		return;
	gpu->ttm_ready = false;
	ttm_range_man_fini(&gpu->bdev, TTM_PL_TT);
	ttm_range_man_fini(&gpu->bdev, TTM_PL_VRAM);
	ttm_device_fini(&gpu->bdev);
}
