// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu GEM objects: a GEM object is the &ttm_buffer_object.base embedded
 * in each BO, so GEM and TTM share the dma_resv, the mmap offset and the
 * lifetime (the GEM reference count drops the TTM one).
 */
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem_ttm_helper.h>
#include <drm/drm_prime.h>
#include <drm/drm_print.h>

#include "p2pgpu.h"

/* as long as TTM waits for a busy buffer (ttm_bo_wait_ctx()) */
#define P2PGPU_FENCE_TIMEOUT_MS	15000

static void p2pgpu_gem_free(struct drm_gem_object *obj)
{
	ttm_bo_fini(&gem_to_p2pgpu_bo(obj)->tbo);
}

/**
 * p2pgpu_gem_vm_fault - &vm_operations_struct.fault for p2pgpu BOs
 * @vmf: the fault
 *
 * ttm_bo_vm_fault() with one difference: once the device is unplugged, or
 * the BO revoked, the fault is SIGBUS rather than TTM's dummy page. The
 * memory was taken from everyone who used it; a process still touching it
 * is told so, as a process touching a truncated file is, instead of
 * reading zeros that look like data.
 *
 * Return: what TTM answers, or VM_FAULT_SIGBUS.
 */
static vm_fault_t p2pgpu_gem_vm_fault(struct vm_fault *vmf)
{
	struct ttm_buffer_object *tbo = vmf->vma->vm_private_data;
	vm_fault_t ret;
	int idx;

	ret = ttm_bo_vm_reserve(tbo, vmf);
	if (ret)
		return ret;

	if (to_p2pgpu_bo(tbo)->revoked ||
	    !drm_dev_enter(tbo->base.dev, &idx)) {
		dma_resv_unlock(tbo->base.resv);
		return VM_FAULT_SIGBUS;
	}
	ret = ttm_bo_vm_fault_reserved(vmf, vmf->vma->vm_page_prot,
				       TTM_BO_VM_NUM_PREFAULT);
	drm_dev_exit(idx);
	/* TTM dropped the lock itself when it asks for a retry */
	if (ret == VM_FAULT_RETRY && !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT))
		return ret;
	dma_resv_unlock(tbo->base.resv);
	return ret;
}

const struct vm_operations_struct p2pgpu_gem_vm_ops = {
	.fault = p2pgpu_gem_vm_fault,
	.open = ttm_bo_vm_open,
	.close = ttm_bo_vm_close,
	.access = ttm_bo_vm_access,
};

static const struct drm_gem_object_funcs p2pgpu_gem_funcs = {
	.free = p2pgpu_gem_free,
	.export = p2pgpu_gem_prime_export,
	.vm_ops = &p2pgpu_gem_vm_ops,
	.mmap = drm_gem_ttm_mmap,
	.vmap = drm_gem_ttm_vmap,
	.vunmap = drm_gem_ttm_vunmap,
	.print_info = drm_gem_ttm_print_info,
};

static void p2pgpu_bo_destroy(struct ttm_buffer_object *tbo)
{
	struct p2pgpu_bo *bo = to_p2pgpu_bo(tbo);
	struct p2pgpu_device *gpu = p2pgpu_bo_dev(bo);

	mutex_lock(&gpu->bos_lock);
	list_del(&bo->dev_link);
	mutex_unlock(&gpu->bos_lock);
	atomic_dec(&gpu->live_bos);

	drm_gem_object_release(&tbo->base);
	kfree(bo);
}

/**
 * p2pgpu_bo_create - allocate a BO and place it
 * @gpu: the device
 * @size: size in bytes, page aligned, non-zero
 * @placement: P2PGPU_PLACEMENT_*
 * @out: [out] the BO, holding one GEM reference
 *
 * Return: 0, -ENOSPC when VRAM only was asked and it is full of pinned
 * buffers, or another negative errno.
 */
int p2pgpu_bo_create(struct p2pgpu_device *gpu, u64 size, u32 placement,
		     struct p2pgpu_bo **out)
{
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct ttm_placement *pl;
	struct p2pgpu_bo *bo;
	int ret;

	bo = kzalloc_obj(*bo, GFP_KERNEL);
	if (!bo)
		return -ENOMEM;

	bo->requested = placement;
	INIT_LIST_HEAD(&bo->attachments);
	INIT_LIST_HEAD(&bo->ranges);
	INIT_LIST_HEAD(&bo->staged_maps);
	bo->tbo.base.funcs = &p2pgpu_gem_funcs;
	drm_gem_private_object_init(&gpu->drm, &bo->tbo.base, size);

	mutex_lock(&gpu->bos_lock);
	list_add_tail(&bo->dev_link, &gpu->bos);
	mutex_unlock(&gpu->bos_lock);
	atomic_inc(&gpu->live_bos);

	pl = p2pgpu_ttm_placement(placement);
	/* on failure TTM calls p2pgpu_bo_destroy() */
	ret = ttm_bo_init_reserved(&gpu->bdev, &bo->tbo, ttm_bo_type_device,
				   pl, 0, &ctx, NULL, NULL, p2pgpu_bo_destroy);
	if (ret) {
		if (placement == P2PGPU_PLACEMENT_VRAM)
			ret = p2pgpu_vram_errno(gpu, size, ret);
		return ret;
	}
	ttm_bo_unreserve(&bo->tbo);

	*out = bo;
	return 0;
}

/**
 * p2pgpu_gem_prime_import - &drm_driver.gem_prime_import implementation
 * @drm: the importing device
 * @dmabuf: the dma-buf
 *
 * Only p2pgpu's own whole-buffer dma-bufs of the same device are imported:
 * they resolve to the exported GEM object itself.
 *
 * Return: the GEM object (one reference) or ERR_PTR(-EOPNOTSUPP).
 */
struct drm_gem_object *p2pgpu_gem_prime_import(struct drm_device *drm,
					       struct dma_buf *dmabuf)
{
	struct drm_gem_object *obj;

	if (dmabuf->ops == &p2pgpu_dmabuf_ops) {
		obj = dmabuf->priv;
		if (obj->dev == drm) {
			drm_gem_object_get(obj);
			return obj;
		}
	}
	return ERR_PTR(-EOPNOTSUPP);
}

/**
 * p2pgpu_gem_create_ioctl - DRM_IOCTL_P2PGPU_GEM_CREATE
 * @drm: the device
 * @data: &struct drm_p2pgpu_gem_create
 * @file: the caller
 *
 * Return: 0, -EINVAL, -E2BIG, -ENOSPC or -ENOMEM as the uapi documents,
 * -ENODEV once the device is unplugged.
 */
int p2pgpu_gem_create_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct p2pgpu_device *gpu = to_p2pgpu(drm);
	struct drm_p2pgpu_gem_create *args = data;
	u64 size, limit, tt_size, pinned;
	struct p2pgpu_bo *bo;
	int idx, ret;

	if (args->flags || args->pad || !args->size)
		return -EINVAL;

	tt_size = (u64)gpu->tt_pages << PAGE_SHIFT;
	switch (args->placement) {
	case P2PGPU_PLACEMENT_VRAM:
		limit = gpu->vram_size;
		break;
	case P2PGPU_PLACEMENT_SYSTEM:
		limit = tt_size;
		break;
	case P2PGPU_PLACEMENT_VRAM_PREFERRED:
		limit = max(gpu->vram_size, tt_size);
		break;
	default:
		return -EINVAL;
	}

	if (check_add_overflow(args->size, (u64)PAGE_SIZE - 1, &size))
		return -E2BIG;
	size &= PAGE_MASK;
	if (size > limit)
		return -E2BIG;

	if (args->placement == P2PGPU_PLACEMENT_VRAM) {
		/* nothing can be evicted from the pinned part of VRAM */
		spin_lock(&gpu->pin_lock);
		pinned = gpu->vram_pinned;
		spin_unlock(&gpu->pin_lock);
		if (size > gpu->vram_size - pinned)
			return -ENOSPC;
	}

	/* a revoke lists the BOs once: none may appear after it */
	if (!drm_dev_enter(drm, &idx))
		return -ENODEV;
	ret = p2pgpu_bo_create(gpu, size, args->placement, &bo);
	drm_dev_exit(idx);
	if (ret)
		return ret;

	ret = drm_gem_handle_create(file, &bo->tbo.base, &args->handle);
	/* the handle holds the object now, or it is freed here */
	drm_gem_object_put(&bo->tbo.base);
	return ret;
}

/**
 * p2pgpu_gem_mmap_offset_ioctl - DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET
 * @drm: the device
 * @data: &struct drm_p2pgpu_gem_mmap_offset
 * @file: the caller
 *
 * Return: 0, -EINVAL for flags, -ENOENT for an unknown handle.
 */
int p2pgpu_gem_mmap_offset_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct drm_p2pgpu_gem_mmap_offset *args = data;
	struct drm_gem_object *obj;

	if (args->flags)
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	args->offset = drm_vma_node_offset_addr(&obj->vma_node);
	drm_gem_object_put(obj);
	return 0;
}

/**
 * p2pgpu_gem_query_ioctl - DRM_IOCTL_P2PGPU_GEM_QUERY
 * @drm: the device
 * @data: &struct drm_p2pgpu_gem_query
 * @file: the caller
 *
 * A snapshot under the BO's dma_resv of where it is and of every
 * attachment of its dma-bufs.
 *
 * Return: 0, -EINVAL for pad, -ENOENT, -EFAULT, -ENOMEM, -EINTR.
 */
int p2pgpu_gem_query_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file)
{
	struct drm_p2pgpu_gem_query *args = data;
	struct drm_p2pgpu_attachment_info *infos = NULL;
	struct drm_p2pgpu_attachment_info __user *uinfos;
	struct drm_gem_object *obj;
	struct p2pgpu_attach *rec;
	struct p2pgpu_bo *bo;
	u32 cap = args->num_attachments, room = 0, n;
	int ret;

	if (args->pad || args->pad2)
		return -EINVAL;
	uinfos = u64_to_user_ptr(args->attachments);

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	bo = gem_to_p2pgpu_bo(obj);

	/*
	 * The records are copied out after the lock is dropped (a fault must
	 * not happen under dma_resv), into a buffer sized by the count seen
	 * last time: room for min(capacity, count) entries, retried when
	 * importers attached meanwhile, so every entry the caller has room
	 * for is filled and the capacity alone never bounds an allocation.
	 */
retry:
	ret = dma_resv_lock_interruptible(obj->resv, NULL);
	if (ret)
		goto out_free;
	n = 0;
	list_for_each_entry(rec, &bo->attachments, link)
		n++;
	if (min(n, cap) > room) {
		dma_resv_unlock(obj->resv);
		kvfree(infos);
		room = min(n, cap);
		infos = kvcalloc(room, sizeof(*infos), GFP_KERNEL);
		if (!infos) {
			ret = -ENOMEM;
			goto out_put;
		}
		goto retry;
	}

	args->size = obj->size;
	args->placement = p2pgpu_bo_in_vram(bo) ? P2PGPU_RESIDENT_VRAM :
						  P2PGPU_RESIDENT_SYSTEM;
	args->flags = 0;
	if (bo->tbo.pin_count)
		args->flags |= P2PGPU_BO_PINNED;
	if (bo->dmabuf || !list_empty(&bo->ranges))
		args->flags |= P2PGPU_BO_EXPORTED;
	args->move_count = bo->move_count;
	args->requested = bo->requested;

	n = 0;
	list_for_each_entry(rec, &bo->attachments, link) {
		if (n < room) {
			struct drm_p2pgpu_attachment_info *info = &infos[n];

			memcpy(info->importer, rec->importer,
			       sizeof(info->importer));
			memcpy(info->importer_driver, rec->importer_driver,
			       sizeof(info->importer_driver));
			info->decision = rec->decision;
			info->mapping = rec->mapping;
			info->reason = rec->reason;
			info->distance = rec->distance;
			info->flags = rec->flags;
			info->map_count = rec->map_count;
		}
		n++;
	}
	dma_resv_unlock(obj->resv);

	/* importers may also have detached meanwhile: n may be below room */
	if (min(n, room) &&
	    copy_to_user(uinfos, infos, min(n, room) * sizeof(*infos)))
		ret = -EFAULT;
	args->num_attachments = n;

out_free:
	kvfree(infos);
out_put:
	drm_gem_object_put(obj);
	return ret;
}

/**
 * p2pgpu_gem_migrate_ioctl - DRM_IOCTL_P2PGPU_GEM_MIGRATE
 * @drm: the device
 * @data: &struct drm_p2pgpu_gem_migrate
 * @file: the caller
 *
 * Moves a BO between VRAM and system memory; dynamic importers get
 * move_notify from the move itself. The move waits for the buffer's fences
 * (p2pgpu_bo_move()); most of that wait is done here first, without the
 * dma_resv, so that a fence that takes long (or never signals) does not
 * keep the buffer's importers and exporter from their lock meanwhile.
 *
 * Return: 0, -ENOENT, -EINVAL (bad placement, flags or pad), -EBUSY
 * (pinned elsewhere, or a fence added under the lock did not signal in
 * time), -ENOSPC, -ETIMEDOUT (its fences did not signal within
 * P2PGPU_FENCE_TIMEOUT_MS), -ERESTARTSYS (a signal), -ENODEV (the device
 * was unplugged meanwhile).
 */
int p2pgpu_gem_migrate_ioctl(struct drm_device *drm, void *data,
			     struct drm_file *file)
{
	struct drm_p2pgpu_gem_migrate *args = data;
	struct drm_gem_object *obj;
	struct p2pgpu_bo *bo;
	int idx, ret;
	long lret;

	if ((args->placement != P2PGPU_PLACEMENT_VRAM &&
	     args->placement != P2PGPU_PLACEMENT_SYSTEM) ||
	    args->flags || args->pad)
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	bo = gem_to_p2pgpu_bo(obj);

	/* a system-only buffer never goes to VRAM */
	if (bo->requested == P2PGPU_PLACEMENT_SYSTEM &&
	    args->placement == P2PGPU_PLACEMENT_VRAM) {
		ret = -EINVAL;
		goto out_put;
	}

	lret = dma_resv_wait_timeout(obj->resv, DMA_RESV_USAGE_BOOKKEEP, true,
				     msecs_to_jiffies(P2PGPU_FENCE_TIMEOUT_MS));
	if (lret <= 0) {
		ret = lret ? lret : -ETIMEDOUT;
		goto out_put;
	}

	/* an unplugged device moves nothing, into its BAR least of all */
	if (!drm_dev_enter(drm, &idx)) {
		ret = -ENODEV;
		goto out_put;
	}
	ret = dma_resv_lock_interruptible(obj->resv, NULL);
	if (ret)
		goto exit_dev;
	ret = bo->revoked ? -ENODEV :
	      p2pgpu_bo_validate(bo, args->placement, true);
	dma_resv_unlock(obj->resv);

exit_dev:
	drm_dev_exit(idx);
out_put:
	drm_gem_object_put(obj);
	return ret;
}
