// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu: the PCI driver and the DRM device.
 *
 * The "GPU" is QEMU's ivshmem-plain device: BAR2, 64-bit prefetchable and
 * backed by host memory, is its VRAM. It has no engine and no display; it
 * allocates buffers in VRAM or system memory and shares them as dma-bufs.
 */
#include <linux/dma-resv.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/wait.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "p2pgpu.h"
#include "p2pgpu_trace.h"

bool p2pgpu_param_p2p = true;
module_param_named(p2p, p2pgpu_param_p2p, bool, 0644);
MODULE_PARM_DESC(p2p,
		 "Map VRAM peer-to-peer to importers that can reach it (default: true); read at attach time");

/**
 * p2pgpu_device_query_ioctl - DRM_IOCTL_P2PGPU_DEVICE_QUERY
 * @drm: the device
 * @data: &struct drm_p2pgpu_device_query
 * @file: the caller
 *
 * Return: 0.
 */
static int p2pgpu_device_query_ioctl(struct drm_device *drm, void *data,
				     struct drm_file *file)
{
	struct p2pgpu_device *gpu = to_p2pgpu(drm);
	struct drm_p2pgpu_device_query *args = data;

	memset(args, 0, sizeof(*args));
	args->vram_size = gpu->vram_size;
	args->vram_used = p2pgpu_vram_used(gpu);
	spin_lock(&gpu->pin_lock);
	args->vram_pinned = gpu->vram_pinned;
	spin_unlock(&gpu->pin_lock);
	args->vram_pin_limit = p2pgpu_vram_pin_limit(gpu);
	args->bar_bus_addr = gpu->bar_bus_addr;
	if (gpu->p2pdma)
		args->caps |= P2PGPU_CAP_P2PDMA;
	if (P2PBUF_INVALIDATE_MAPPINGS)
		args->caps |= P2PGPU_CAP_MOVE_NOTIFY;
	if (READ_ONCE(p2pgpu_param_p2p))
		args->caps |= P2PGPU_CAP_P2P_ENABLED;
	args->pci_domain = pci_domain_nr(gpu->pci->bus);
	args->pci_bus = gpu->pci->bus->number;
	args->pci_devfn = gpu->pci->devfn;
	return 0;
}

static const struct drm_ioctl_desc p2pgpu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(P2PGPU_GEM_CREATE, p2pgpu_gem_create_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(P2PGPU_GEM_MMAP_OFFSET, p2pgpu_gem_mmap_offset_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(P2PGPU_GEM_QUERY, p2pgpu_gem_query_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(P2PGPU_GEM_EXPORT_RANGE,
			  p2pgpu_gem_export_range_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(P2PGPU_GEM_MIGRATE, p2pgpu_gem_migrate_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(P2PGPU_DEVICE_QUERY, p2pgpu_device_query_ioctl,
			  DRM_RENDER_ALLOW),
};

DEFINE_DRM_GEM_FOPS(p2pgpu_fops);

static const struct drm_driver p2pgpu_drm_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER,
	.ioctls = p2pgpu_ioctls,
	.num_ioctls = ARRAY_SIZE(p2pgpu_ioctls),
	.fops = &p2pgpu_fops,
	.gem_prime_import = p2pgpu_gem_prime_import,
	/*
	 * Before 6.6 the DRM core did PRIME only for drivers that set these;
	 * since, it calls the same helpers when they are unset.
	 */
	.prime_handle_to_fd = drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle = drm_gem_prime_fd_to_handle,
	.name = P2PGPU_DRIVER_NAME,
	.desc = "PCI BAR VRAM shared peer-to-peer",
	P2PBUF_DRM_DRIVER_DATE
	.major = 1,
	.minor = 0,
};

#define P2PGPU_IVSHMEM_DEVICE_ID	0x1110

/* the last reference to the DRM device is gone: so is every BO */
static void p2pgpu_drm_release(struct drm_device *drm, void *unused)
{
	p2pgpu_ttm_fini(to_p2pgpu(drm));
}

static int p2pgpu_pci_probe(struct pci_dev *pci, const struct pci_device_id *id)
{
	struct p2pgpu_device *gpu;
	struct drm_device *drm;
	int ret;

	/* driver_override hands any device to us: only ivshmem is VRAM */
	if (pci->vendor != PCI_VENDOR_ID_REDHAT_QUMRANET ||
	    pci->device != P2PGPU_IVSHMEM_DEVICE_ID)
		return -ENODEV;

	gpu = devm_drm_dev_alloc(&pci->dev, &p2pgpu_drm_driver,
				 struct p2pgpu_device, drm);
	if (IS_ERR(gpu))
		return PTR_ERR(gpu);
	drm = &gpu->drm;
	gpu->pci = pci;
	spin_lock_init(&gpu->pin_lock);
	INIT_LIST_HEAD(&gpu->bos);
	init_waitqueue_head(&gpu->unmap_wq);
	ret = drmm_mutex_init(drm, &gpu->bos_lock);
	if (ret)
		return ret;

	ret = pcim_enable_device(pci);
	if (ret)
		return ret;

	if (!(pci_resource_flags(pci, P2PGPU_VRAM_BAR) & IORESOURCE_MEM) ||
	    pci_resource_len(pci, P2PGPU_VRAM_BAR) < PAGE_SIZE) {
		drm_err(drm, "BAR%d is not memory\n", P2PGPU_VRAM_BAR);
		return -ENODEV;
	}
	ret = pcim_request_region(pci, P2PGPU_VRAM_BAR, P2PGPU_DRIVER_NAME);
	if (ret)
		return ret;
	gpu->vram_phys = pci_resource_start(pci, P2PGPU_VRAM_BAR);
	gpu->vram_size = pci_resource_len(pci, P2PGPU_VRAM_BAR);
	gpu->bar_bus_addr = pci_bus_address(pci, P2PGPU_VRAM_BAR);

	p2pgpu_p2p_init(gpu);

	ret = p2pgpu_ttm_init(gpu);
	if (ret)
		return ret;
	ret = drmm_add_action_or_reset(drm, p2pgpu_drm_release, NULL);
	if (ret)
		return ret;

	pci_set_drvdata(pci, gpu);

	ret = drm_dev_register(drm, 0);
	if (ret)
		return ret;
	p2pgpu_debugfs_init(gpu);

	drm_info(drm, "VRAM %llu MiB at bus %#llx, P2PDMA %s\n",
		 gpu->vram_size >> 20, gpu->bar_bus_addr,
		 gpu->p2pdma ? "on" : "off");
	return 0;
}

/*
 * How long a revoke waits for the fences of the buffers, and then for their
 * importers to unmap: vfio-pci's bound for its BARs' dma-bufs.
 */
#define P2PGPU_REVOKE_TIMEOUT_MS	1000

/* every live BO, each with a GEM reference, on @list */
static void p2pgpu_collect_bos(struct p2pgpu_device *gpu,
			       struct list_head *list)
{
	struct p2pgpu_bo *bo;

	mutex_lock(&gpu->bos_lock);
	list_for_each_entry(bo, &gpu->bos, dev_link)
		/* one on its way to destruction has no importers left */
		if (kref_get_unless_zero(&bo->tbo.base.refcount))
			list_add_tail(&bo->revoke_link, list);
	mutex_unlock(&gpu->bos_lock);
}

/* name each importer of @bo that still maps it: it broke the contract */
static void p2pgpu_log_late_importers(struct p2pgpu_device *gpu,
				      struct p2pgpu_bo *bo,
				      unsigned int waited_ms)
{
	struct p2pgpu_attach *rec;

	dma_resv_lock(bo->tbo.base.resv, NULL);
	list_for_each_entry(rec, &bo->attachments, link)
		if (rec->active_maps)
			drm_err(&gpu->drm,
				"revoke: importer %s (%s) did not unmap %u mapping(s) of a %zu-byte buffer in %s within %u ms; it may still read that memory\n",
				rec->importer,
				rec->importer_driver[0] ? rec->importer_driver :
				"no driver", rec->active_maps,
				bo->tbo.base.size,
				rec->mapping == P2PGPU_MAPPING_P2P ? "VRAM" :
				"system memory", waited_ms);
	dma_resv_unlock(bo->tbo.base.resv);
}

/**
 * p2pgpu_revoke_all - take every BO's memory back from its importers
 * @gpu: the device, unplugged: no ioctl, map, pin or fault gets past
 * drm_dev_enter() any more
 *
 * The revoke of dma_buf_invalidate_mappings()'s contract, as vfio-pci does
 * it for its BARs. For each BO, under its dma_resv: mark it revoked (maps,
 * pins, vmaps and CPU faults fail from now on, whatever the device's
 * state), invalidate every importer's mapping (for a pinned importer that
 * is a permanent revoke; moving VRAM out already told the dynamic
 * importers of unpinned buffers), and wait for the fences in its dma_resv:
 * until they signal, importers may still access the memory. Then, without
 * a lock, wait for the importers to unmap: until they do they may still
 * read it. Both waits are bounded, P2PGPU_REVOKE_TIMEOUT_MS each for all
 * the BOs together, since an unbind must end; an importer that did not
 * unmap in time broke its promise (dma_buf_attach_revocable()) or never
 * made one, and is named in the log with what it still maps.
 *
 * Each dma_resv is taken without bos_lock held, so bos_lock is never
 * ordered before a dma_resv.
 */
static void p2pgpu_revoke_all(struct p2pgpu_device *gpu)
{
	unsigned int revoked = 0, pinned_in_vram = 0, waited_ms;
	unsigned long deadline, start;
	struct p2pgpu_bo *bo, *tmp;
	LIST_HEAD(bos);
	long left;

	p2pgpu_collect_bos(gpu, &bos);

	deadline = jiffies + msecs_to_jiffies(P2PGPU_REVOKE_TIMEOUT_MS);
	list_for_each_entry(bo, &bos, revoke_link) {
		dma_resv_lock(bo->tbo.base.resv, NULL);
		bo->revoked = true;
		if (bo->tbo.pin_count && p2pgpu_bo_in_vram(bo))
			pinned_in_vram++;
		/* for an importer that pinned it, this is the revoke */
		trace_p2pgpu_revoke(bo);
		p2pgpu_bo_move_notify(bo);
		left = max_t(long, (long)(deadline - jiffies), 0);
		if (dma_resv_wait_timeout(bo->tbo.base.resv,
					  DMA_RESV_USAGE_BOOKKEEP, false,
					  left) <= 0)
			drm_err(&gpu->drm,
				"revoke: fences of a %zu-byte buffer did not signal within %u ms\n",
				bo->tbo.base.size, P2PGPU_REVOKE_TIMEOUT_MS);
		dma_resv_unlock(bo->tbo.base.resv);
		revoked++;
	}

	start = jiffies;
	left = wait_event_timeout(gpu->unmap_wq,
				  !atomic_read(&gpu->active_maps),
				  msecs_to_jiffies(P2PGPU_REVOKE_TIMEOUT_MS));
	waited_ms = jiffies_to_msecs(jiffies - start);
	if (!left)
		list_for_each_entry(bo, &bos, revoke_link)
			p2pgpu_log_late_importers(gpu, bo, waited_ms);

	list_for_each_entry_safe(bo, tmp, &bos, revoke_link) {
		list_del(&bo->revoke_link);
		drm_gem_object_put(&bo->tbo.base);
	}
	drm_info(&gpu->drm,
		 "unbind: %u buffer(s) revoked from their importers, %u of them pinned in VRAM\n",
		 revoked, pinned_in_vram);
}

static void p2pgpu_pci_remove(struct pci_dev *pci)
{
	struct p2pgpu_device *gpu = pci_get_drvdata(pci);

	/* no new ioctls, maps or pins; CPU mappings fault with SIGBUS */
	drm_dev_unplug(&gpu->drm);
	/*
	 * The BAR's P2PDMA pages and region go with the device-managed
	 * resources right after this: move what can move to system memory.
	 */
	p2pgpu_ttm_evict_vram(gpu);
	p2pgpu_revoke_all(gpu);
}

/*
 * ivshmem is a generic QEMU device that other software uses too (shared
 * memory between VMs, Looking Glass): p2pgpu binds one only when it is
 * handed it with driver_override, never on its own, and has no
 * MODULE_DEVICE_TABLE, so nothing loads it for a device it would not bind.
 */
static const struct pci_device_id p2pgpu_pci_ids[] = {
	{ PCI_DEVICE_DRIVER_OVERRIDE(PCI_VENDOR_ID_REDHAT_QUMRANET,
				     P2PGPU_IVSHMEM_DEVICE_ID, true) },
	{ }
};

static struct pci_driver p2pgpu_pci_driver = {
	.name = P2PGPU_DRIVER_NAME,
	.id_table = p2pgpu_pci_ids,
	.probe = p2pgpu_pci_probe,
	.remove = p2pgpu_pci_remove,
};
module_pci_driver(p2pgpu_pci_driver);

MODULE_IMPORT_NS("DMA_BUF");
MODULE_DESCRIPTION("p2pgpu: PCI BAR VRAM exported as dma-bufs, peer-to-peer");
MODULE_LICENSE("GPL");
