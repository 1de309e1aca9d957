/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2pbuf's compat layer, the one place that knows kernels differ: both
 * modules (and tests/kmod) are compiled with -include of this file. The
 * drivers call the newest API names; where compat/probe.sh found a kernel
 * without a feature (p2pbuf_features.h, generated per kernel tree), the
 * names are mapped onto what that kernel has. Nothing here compares
 * kernel versions: distributions backport API changes under an old
 * version number.
 */
#ifndef P2PBUF_COMPAT_H
#define P2PBUF_COMPAT_H

#include <linux/dma-buf.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>

#include "p2pbuf_features.h"

/* 6.13: the symbol namespace is a string, MODULE_IMPORT_NS("DMA_BUF"). */
#ifdef P2PBUF_HAVE_MODULE_IMPORT_NS_TOKEN
#undef MODULE_IMPORT_NS
#define MODULE_IMPORT_NS(ns) MODULE_INFO(import_ns, ns)
#endif

/*
 * 7.1: dma_buf_attach_ops.move_notify became .invalidate_mappings and
 * dma_buf_move_notify() became dma_buf_invalidate_mappings(); importers
 * can always be told to drop their mappings (CONFIG_DMABUF_MOVE_NOTIFY is
 * gone). Before, only kernels built with CONFIG_DMABUF_MOVE_NOTIFY could:
 * P2PBUF_INVALIDATE_MAPPINGS says whether this one can.
 */
#ifdef P2PBUF_HAVE_DMA_BUF_INVALIDATE_MAPPINGS_OP
#define P2PBUF_INVALIDATE_MAPPINGS 1
#else
#define invalidate_mappings move_notify
#define P2PBUF_INVALIDATE_MAPPINGS IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY)
#endif
#ifndef P2PBUF_HAVE_DMA_BUF_INVALIDATE_MAPPINGS
#define dma_buf_invalidate_mappings(dmabuf) dma_buf_move_notify(dmabuf)
#endif

/*
 * 7.1: dma_buf_attach_revocable(), an importer that promises to unmap within
 * bounded time after invalidate_mappings. Before, every dynamic importer
 * had to have move_notify (dma_buf_dynamic_attach() refused one without),
 * so the same test says the same thing there.
 */
#ifndef P2PBUF_HAVE_DMA_BUF_ATTACH_REVOCABLE
static inline bool dma_buf_attach_revocable(struct dma_buf_attachment *attach)
{
	return attach->importer_ops && attach->importer_ops->invalidate_mappings;
}
#endif

/* 6.1 sg_is_dma_bus_address() is 6.12 sg_dma_is_bus_address(). */
#ifndef P2PBUF_HAVE_SG_DMA_IS_BUS_ADDRESS
#define sg_dma_is_bus_address(sg) sg_is_dma_bus_address(sg)
#endif

/* 6.8 renamed PCI_IRQ_LEGACY to PCI_IRQ_INTX. */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

/*
 * 6.11 exported pcim_request_region(). Before, pci_request_region() of a
 * device enabled by pcim_enable_device() was released with it.
 */
#ifndef P2PBUF_HAVE_PCIM_REQUEST_REGION
#define pcim_request_region(pdev, bar, name) pci_request_region(pdev, bar, name)
#endif

/*
 * 7.x's typed allocators, with the GFP flags the drivers always pass; the
 * array forms keep kcalloc()'s overflow check.
 */
#ifndef P2PBUF_HAVE_KZALLOC_OBJ
#include <linux/slab.h>
#define kzalloc_obj(P, gfp) kzalloc(sizeof(P), gfp)
#define kzalloc_objs(P, count, gfp) kcalloc(count, sizeof(P), gfp)
#define kvzalloc_objs(P, count, gfp) kvcalloc(count, sizeof(P), gfp)
#endif

#ifdef P2PBUF_COMPAT_DRM
#include <drm/drm_debugfs.h>
#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/ttm/ttm_bo.h>
#include <drm/ttm/ttm_device.h>

/*
 * 6.14 removed drm_driver.date; before, DRM_IOCTL_VERSION warns when a
 * driver has none. Written inside the drm_driver initializer: p2pgpu's
 * date, as DRM_IOCTL_VERSION reports it where it still exists.
 */
#ifdef P2PBUF_HAVE_DRM_DRIVER_DATE
#define P2PBUF_DRM_DRIVER_DATE .date = "20261125",
#else
#define P2PBUF_DRM_DRIVER_DATE
#endif

/* After 6.12 (7.3 has it) ttm_bo_put() became ttm_bo_fini(). */
#ifndef P2PBUF_HAVE_TTM_BO_FINI
#define ttm_bo_fini(bo) ttm_bo_put(bo)
#endif

/*
 * After 6.12 (7.3 has it) ttm_device_init() took TTM_ALLOCATION_* flags
 * in place of its use_dma_alloc and use_dma32 bools. Older kernels also took the funcs
 * without const; TTM never wrote through that pointer.
 */
#ifndef P2PBUF_HAVE_TTM_DEVICE_INIT_ALLOC_FLAGS
#define TTM_ALLOCATION_POOL_USE_DMA_ALLOC BIT(8)
#define TTM_ALLOCATION_POOL_USE_DMA32 BIT(9)
static inline int p2pbuf_ttm_device_init(struct ttm_device *bdev,
					 const struct ttm_device_funcs *funcs,
					 struct device *dev,
					 struct address_space *mapping,
					 struct drm_vma_offset_manager *vma,
					 unsigned int flags)
{
	return ttm_device_init(bdev, (void *)funcs, dev, mapping, vma,
			       flags & TTM_ALLOCATION_POOL_USE_DMA_ALLOC,
			       flags & TTM_ALLOCATION_POOL_USE_DMA32);
}

#define ttm_device_init p2pbuf_ttm_device_init
#endif

/* 6.13 added ttm_bo_populate(); before, ttm_tt_populate() on the BO's TT. */
#ifndef P2PBUF_HAVE_TTM_BO_POPULATE
#include <drm/ttm/ttm_tt.h>
static inline int p2pbuf_ttm_bo_populate(struct ttm_buffer_object *bo,
					 struct ttm_operation_ctx *ctx)
{
	return ttm_tt_populate(bo->bdev, bo->ttm, ctx);
}

#define ttm_bo_populate p2pbuf_ttm_bo_populate
#endif

/*
 * Before 6.9 TTM evicted only for the places of ttm_placement's busy list:
 * there, a placement is made to evict for its own places, as every
 * placement does since.
 */
#include <drm/ttm/ttm_placement.h>

static inline void p2pbuf_ttm_evict_for_own_places(struct ttm_placement *pl)
{
#ifdef P2PBUF_HAVE_TTM_PLACEMENT_BUSY
	pl->num_busy_placement = pl->num_placement;
	pl->busy_placement = pl->placement;
#endif
}

/*
 * 6.3 added drm_debugfs_add_file(). Before, debugfs files belonged to a
 * minor: this stand-in puts them in the primary minor's directory, which
 * exists once drm_dev_register() returned, so call it after that.
 */
#ifndef P2PBUF_HAVE_DRM_DEBUGFS_ADD_FILE
#include <drm/drm_file.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>

struct drm_debugfs_entry {
	struct drm_device *dev;
	int (*show)(struct seq_file *m, void *data);
};

static inline int p2pbuf_debugfs_open(struct inode *inode, struct file *file)
{
	struct drm_debugfs_entry *entry = inode->i_private;

	return single_open(file, entry->show, entry);
}

static inline void drm_debugfs_add_file(struct drm_device *dev,
					const char *name,
					int (*show)(struct seq_file *, void *),
					void *data)
{
	static const struct file_operations fops = {
		.owner = THIS_MODULE,
		.open = p2pbuf_debugfs_open,
		.read = seq_read,
		.llseek = seq_lseek,
		.release = single_release,
	};
	struct drm_debugfs_entry *entry;

	entry = drmm_kzalloc(dev, sizeof(*entry), GFP_KERNEL);
	if (!entry)
		return;
	entry->dev = dev;
	entry->show = show;
	debugfs_create_file(name, 0444, dev->primary->debugfs_root, entry, &fops);
}
#endif
#endif /* P2PBUF_COMPAT_DRM */

#endif /* P2PBUF_COMPAT_H */
