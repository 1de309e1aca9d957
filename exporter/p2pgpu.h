/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2pgpu: a DRM driver whose VRAM is a PCI BAR (QEMU ivshmem-plain BAR2),
 * managed by TTM and shared with other devices as dma-bufs, peer-to-peer
 * where the PCI topology allows it and through system memory otherwise.
 */
#ifndef P2PGPU_H
#define P2PGPU_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>
#include <drm/ttm/ttm_bo.h>
#include <drm/ttm/ttm_device.h>
#include <drm/ttm/ttm_placement.h>

#include "p2pgpu_drm.h"

#define P2PGPU_DRIVER_NAME	"p2pgpu"
#define P2PGPU_VRAM_BAR		2

extern bool p2pgpu_param_p2p;

/*
 * 6.19+: VRAM is a P2PDMA provider without struct pages, mapped for
 * importers by dma_buf_phys_vec_to_sgt(). Before, the BAR gets ZONE_DEVICE
 * pages from pci_p2pdma_add_resource() and is mapped as a page scatterlist.
 */
#if defined(P2PBUF_HAVE_PCIM_P2PDMA_PROVIDER) && \
	defined(P2PBUF_HAVE_DMA_BUF_PHYS_VEC_TO_SGT)
#define P2PGPU_PAGELESS 1
#else
#define P2PGPU_PAGELESS 0
#endif

struct p2pdma_provider;

/**
 * struct p2pgpu_device - one p2pgpu PCI function
 * @drm: the DRM device; its lifetime (refcounted) is the structure's.
 * @bdev: the TTM device managing VRAM, TT and SYSTEM.
 * @pci: the PCI function.
 * @vram_phys: CPU physical address of the VRAM BAR.
 * @vram_size: size of the VRAM BAR in bytes.
 * @bar_bus_addr: PCI bus address of the VRAM BAR.
 * @tt_pages: size of the TT domain in pages.
 * @p2pdma: the BAR is registered with P2PDMA (as a provider, or as
 * ZONE_DEVICE pages where the kernel has no providers).
 * @p2pdma_err: why it is not (a negative errno), else 0.
 * @provider: the BAR as a page-less P2PDMA provider (P2PGPU_PAGELESS).
 * @p2pmem: the whole of P2PDMA's genalloc pool for the BAR's pages, taken
 * by p2pgpu so that the pool hands nothing out (!P2PGPU_PAGELESS).
 * @vram_wc: CPU mappings of VRAM are write-combined (the BAR has no
 * ZONE_DEVICE pages, whose uncached memory type it would conflict with).
 * @ttm_ready: @bdev and its managers are initialised.
 * @pin_lock: protects @vram_pinned.
 * @vram_pinned: bytes of VRAM pinned.
 * @bos_lock: protects @bos.
 * @bos: every live BO, for debugfs.
 * @live_bos: BOs not yet destroyed, for leak checks (debugfs).
 * @live_attachments: dma-buf attachments of its BOs not yet detached.
 * @live_dmabufs: dma-bufs exported from its BOs (whole and ranges) not yet
 * released.
 * @active_maps: dma-buf mappings handed to importers and not yet unmapped.
 * @unmap_wq: woken when @active_maps drops to zero (a revoke waits on it).
 */
struct p2pgpu_device {
	struct drm_device drm;
	struct ttm_device bdev;
	struct pci_dev *pci;
	resource_size_t vram_phys;
	u64 vram_size;
	u64 bar_bus_addr;
	unsigned long tt_pages;
	bool p2pdma;
	int p2pdma_err;
	struct p2pdma_provider *provider;
	void *p2pmem;
	bool vram_wc;
	bool ttm_ready;
	spinlock_t pin_lock; /* protects vram_pinned */
	u64 vram_pinned;
	struct mutex bos_lock; /* protects bos */
	struct list_head bos;
	atomic_t live_bos;
	atomic_t live_attachments;
	atomic_t live_dmabufs;
	atomic_t active_maps;
	wait_queue_head_t unmap_wq;
};

/**
 * struct p2pgpu_bo - a buffer object
 * @tbo: the TTM BO; its embedded GEM object is the BO's GEM object.
 * @requested: the P2PGPU_PLACEMENT_* it was created with.
 * @move_count: times it changed between VRAM and system memory.
 * @vram_pin_accounted: its size is counted in &p2pgpu_device.vram_pinned.
 * @dmabuf: the live whole-buffer export, protected by the BO's dma_resv.
 * Not &drm_gem_object.dma_buf: that one is dropped with the last GEM
 * handle while importers may still hold the dma-buf.
 * @attachments: &struct p2pgpu_attach records of every dma-buf attachment
 * (whole buffer and ranges), protected by the BO's dma_resv.
 * @ranges: &struct p2pgpu_range exports, protected by the BO's dma_resv.
 * @staged_maps: &struct p2pgpu_staged_map DMA mappings of its system memory
 * pages, shared by the attachments of one device, protected by the BO's
 * dma_resv.
 * @dev_link: entry in &p2pgpu_device.bos.
 * @revoke_link: entry in the list p2pgpu_revoke_all() works through.
 * @revoked: its memory was taken from its importers for good (the device is
 * gone): maps, pins, vmaps and CPU faults fail from then on. Written under
 * the BO's dma_resv, read under it.
 */
struct p2pgpu_bo {
	struct ttm_buffer_object tbo;
	u32 requested;
	u32 move_count;
	bool vram_pin_accounted;
	struct dma_buf *dmabuf;
	struct list_head attachments;
	struct list_head ranges;
	struct list_head staged_maps;
	struct list_head dev_link;
	struct list_head revoke_link;
	bool revoked;
};

/**
 * struct p2pgpu_staged_map - one DMA mapping of a BO's system memory pages
 * for one device, shared by every attachment of that device that maps the
 * same range
 * @link: entry in &p2pgpu_bo.staged_maps.
 * @dev: the importing device the mapping is for.
 * @dir: its DMA direction.
 * @sgt: the mapping of all of the BO's pages; never handed out (the dma-buf core may mangle what
 * importers get), each map_dma_buf gets a copy of its DMA addresses.
 * @copies: &struct p2pgpu_staged_sgt tables handed out and not yet unmapped.
 * @stale: the BO moved or was swapped out since: the pages are no longer the
 * BO's, so no new attachment shares it and CPU access does not sync it.
 *
 * One mapping per device rather than per attachment or range: under swiotlb
 * every mapping has its own bounce buffer, so two mappings of the same pages
 * for one device would each hold a different version of the bytes, and
 * DMA-API debugging rightly warns once more than seven mappings of a page
 * overlap.
 */
struct p2pgpu_staged_map {
	struct list_head link;
	struct device *dev;
	enum dma_data_direction dir;
	struct sg_table sgt;
	struct list_head copies;
	bool stale;
};

/**
 * struct p2pgpu_staged_sgt - a copy of a staged mapping given to an importer
 * @sgt: what map_dma_buf returned.
 * @map: the shared mapping it copies.
 * @link: entry in &p2pgpu_staged_map.copies.
 */
struct p2pgpu_staged_sgt {
	struct sg_table sgt;
	struct p2pgpu_staged_map *map;
	struct list_head link;
};

/**
 * struct p2pgpu_range - a sub-range of a BO exported as its own dma-buf
 * @bo: the BO; the range holds a GEM reference on it.
 * @offset: start in bytes, page aligned.
 * @length: length in bytes, page aligned.
 * @dmabuf: the dma-buf (weak: the range lives as long as the dma-buf).
 * @link: entry in &p2pgpu_bo.ranges.
 */
struct p2pgpu_range {
	struct p2pgpu_bo *bo;
	u64 offset;
	u64 length;
	struct dma_buf *dmabuf;
	struct list_head link;
};

/**
 * struct p2pgpu_attach - what p2pgpu decided for one dma-buf attachment
 * @link: entry in &p2pgpu_bo.attachments.
 * @attach: the dma-buf attachment.
 * @importer: dev_name() of the importing device.
 * @importer_driver: its driver's name, "" if none.
 * @decision: P2PGPU_MAPPING_P2P or P2PGPU_MAPPING_STAGED.
 * @mapping: P2PGPU_MAPPING_*: how it is mapped right now.
 * @reason: P2PGPU_REASON_*.
 * @distance: pci_p2pdma_distance() between the devices, -1 if none.
 * @flags: P2PGPU_ATTACH_* bits, P2PGPU_ATTACH_MAP_* among them: the route
 * P2PDMA gives the pair (pci_p2pdma_map_type()), set at attach time.
 * @map_count: times it was mapped.
 * @active_maps: mappings not yet unmapped.
 */
struct p2pgpu_attach {
	struct list_head link;
	struct dma_buf_attachment *attach;
	char importer[32];
	char importer_driver[32];
	u32 decision;
	u32 mapping;
	u32 reason;
	s32 distance;
	u32 flags;
	u32 map_count;
	u32 active_maps;
};

static inline struct p2pgpu_device *to_p2pgpu(struct drm_device *drm)
{
	return container_of(drm, struct p2pgpu_device, drm);
}

static inline struct p2pgpu_device *bdev_to_p2pgpu(struct ttm_device *bdev)
{
	return container_of(bdev, struct p2pgpu_device, bdev);
}

static inline struct p2pgpu_bo *to_p2pgpu_bo(struct ttm_buffer_object *tbo)
{
	return container_of(tbo, struct p2pgpu_bo, tbo);
}

static inline struct p2pgpu_bo *gem_to_p2pgpu_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct p2pgpu_bo, tbo.base);
}

static inline struct p2pgpu_device *p2pgpu_bo_dev(struct p2pgpu_bo *bo)
{
	return to_p2pgpu(bo->tbo.base.dev);
}

/* p2pgpu_ttm.c */
int p2pgpu_ttm_init(struct p2pgpu_device *gpu);
void p2pgpu_ttm_fini(struct p2pgpu_device *gpu);
void p2pgpu_ttm_evict_vram(struct p2pgpu_device *gpu);
struct ttm_placement *p2pgpu_ttm_placement(u32 placement);
bool p2pgpu_bo_in_vram(struct p2pgpu_bo *bo);
int p2pgpu_vram_errno(struct p2pgpu_device *gpu, u64 size, int ret);
int p2pgpu_bo_validate(struct p2pgpu_bo *bo, u32 placement, bool interruptible);
int p2pgpu_bo_pin(struct p2pgpu_bo *bo, bool vram);
void p2pgpu_bo_unpin(struct p2pgpu_bo *bo);
void p2pgpu_bo_move_notify(struct p2pgpu_bo *bo);
void p2pgpu_bo_sync_staged(struct p2pgpu_bo *bo, bool for_cpu);
u64 p2pgpu_vram_pin_limit(struct p2pgpu_device *gpu);
u64 p2pgpu_vram_used(struct p2pgpu_device *gpu);

/* p2pgpu_gem.c */
extern const struct vm_operations_struct p2pgpu_gem_vm_ops;
int p2pgpu_bo_create(struct p2pgpu_device *gpu, u64 size, u32 placement,
		     struct p2pgpu_bo **out);
struct drm_gem_object *p2pgpu_gem_prime_import(struct drm_device *drm,
					       struct dma_buf *dmabuf);
int p2pgpu_gem_create_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int p2pgpu_gem_mmap_offset_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file);
int p2pgpu_gem_query_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file);
int p2pgpu_gem_migrate_ioctl(struct drm_device *drm, void *data,
			     struct drm_file *file);

/* p2pgpu_dmabuf.c */
extern const struct dma_buf_ops p2pgpu_dmabuf_ops;
struct dma_buf *p2pgpu_gem_prime_export(struct drm_gem_object *obj,
					int flags);
int p2pgpu_gem_export_range_ioctl(struct drm_device *drm, void *data,
				  struct drm_file *file);

/* p2pgpu_p2p.c */
void p2pgpu_p2p_init(struct p2pgpu_device *gpu);
void p2pgpu_p2p_decide(struct p2pgpu_bo *bo, struct dma_buf_attachment *attach,
		       struct p2pgpu_attach *rec);
struct sg_table *p2pgpu_p2p_map_vram(struct p2pgpu_bo *bo,
				     struct dma_buf_attachment *attach,
				     u64 offset, u64 length,
				     enum dma_data_direction dir);
void p2pgpu_p2p_unmap_vram(struct dma_buf_attachment *attach,
			   struct sg_table *sgt, enum dma_data_direction dir);
const char *p2pgpu_map_type_name(u32 flags);
const char *p2pgpu_reason_name(u32 reason);

/* p2pgpu_debugfs.c */
void p2pgpu_debugfs_init(struct p2pgpu_device *gpu);

#endif /* P2PGPU_H */
