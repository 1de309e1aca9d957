// SPDX-License-Identifier: GPL-2.0
/*
 * p2pgpu debugfs: <debugfs>/dri/<minor>/p2pgpu_bos lists the device, every
 * BO and every attachment of its dma-bufs, with the peer-to-peer decision,
 * its reason and the PCI distance to the importer; p2pgpu_objects counts
 * the live BOs, dma-buf attachments and exported dma-bufs, for leak checks.
 */
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>

#include "p2pgpu.h"

static const char *p2pgpu_mapping_name(u32 mapping)
{
	switch (mapping) {
	case P2PGPU_MAPPING_P2P:
		return "p2p";
	case P2PGPU_MAPPING_STAGED:
		return "staged";
	default:
		return "none";
	}
}

static const char *p2pgpu_placement_name(u32 placement)
{
	switch (placement) {
	case P2PGPU_PLACEMENT_VRAM:
		return "vram";
	case P2PGPU_PLACEMENT_SYSTEM:
		return "system";
	default:
		return "vram-preferred";
	}
}

static const char *p2pgpu_domain_name(struct ttm_resource *res)
{
	if (!res)
		return "none";
	switch (res->mem_type) {
	case TTM_PL_VRAM:
		return "vram";
	case TTM_PL_TT:
		return "tt";
	default:
		return "system";
	}
}

static void p2pgpu_debugfs_bo(struct seq_file *m, struct p2pgpu_bo *bo)
{
	struct p2pgpu_attach *rec;

	seq_printf(m, "bo %p size %zu requested %s in %s pin %u moves %u%s\n",
		   bo, bo->tbo.base.size, p2pgpu_placement_name(bo->requested),
		   p2pgpu_domain_name(bo->tbo.resource), bo->tbo.pin_count,
		   bo->move_count,
		   bo->dmabuf || !list_empty(&bo->ranges) ? " exported" : "");
	list_for_each_entry(rec, &bo->attachments, link)
		seq_printf(m,
			   "  attachment %s (%s) decision %s mapping %s reason %s distance %d%s%s%s maps %u map-type %s\n",
			   rec->importer,
			   rec->importer_driver[0] ? rec->importer_driver : "-",
			   p2pgpu_mapping_name(rec->decision),
			   p2pgpu_mapping_name(rec->mapping),
			   p2pgpu_reason_name(rec->reason), rec->distance,
			   rec->flags & P2PGPU_ATTACH_DYNAMIC ? " dynamic" : "",
			   rec->flags & P2PGPU_ATTACH_PEER2PEER ? " peer2peer" : "",
			   rec->flags & P2PGPU_ATTACH_BUS_ADDR ? " bus-address" : "",
			   rec->map_count, p2pgpu_map_type_name(rec->flags));
}

static int p2pgpu_debugfs_bos(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct p2pgpu_device *gpu = to_p2pgpu(entry->dev);
	struct p2pgpu_bo *bo;

	seq_printf(m, "vram %llu bytes at bus %#llx, used %llu, pinned %llu of %llu\n",
		   gpu->vram_size, gpu->bar_bus_addr, p2pgpu_vram_used(gpu),
		   gpu->vram_pinned, p2pgpu_vram_pin_limit(gpu));
	seq_printf(m, "p2pdma %s (%d), move_notify %s, p2p param %s\n",
		   gpu->p2pdma ? "yes" : "no", gpu->p2pdma_err,
		   P2PBUF_INVALIDATE_MAPPINGS ? "yes" : "no",
		   READ_ONCE(p2pgpu_param_p2p) ? "on" : "off");
	seq_printf(m, "p2pdma provider %s, vram cpu mappings %s\n",
		   P2PGPU_PAGELESS ? "page-less" : "zone-device-pages",
		   gpu->vram_wc ? "write-combined" : "uncached");

	mutex_lock(&gpu->bos_lock);
	list_for_each_entry(bo, &gpu->bos, dev_link) {
		/*
		 * Only try: a BO is destroyed with its dma_resv unlocked but
		 * under bos_lock, so waiting for a dma_resv here would order
		 * bos_lock before every dma_resv in the system.
		 */
		if (!dma_resv_trylock(bo->tbo.base.resv)) {
			seq_printf(m, "bo %p busy\n", bo);
			continue;
		}
		p2pgpu_debugfs_bo(m, bo);
		dma_resv_unlock(bo->tbo.base.resv);
	}
	mutex_unlock(&gpu->bos_lock);
	return 0;
}

static int p2pgpu_debugfs_objects(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct p2pgpu_device *gpu = to_p2pgpu(entry->dev);

	seq_printf(m, "bos %d\nattachments %d\ndmabufs %d\n",
		   atomic_read(&gpu->live_bos),
		   atomic_read(&gpu->live_attachments),
		   atomic_read(&gpu->live_dmabufs));
	return 0;
}

/**
 * p2pgpu_debugfs_init - register the device's debugfs files
 * @gpu: the device, after drm_dev_register() (the compat stand-in for
 *	kernels before 6.3 needs the minor's directory)
 */
void p2pgpu_debugfs_init(struct p2pgpu_device *gpu)
{
	drm_debugfs_add_file(&gpu->drm, "p2pgpu_bos", p2pgpu_debugfs_bos, NULL);
	drm_debugfs_add_file(&gpu->drm, "p2pgpu_objects",
			     p2pgpu_debugfs_objects, NULL);
}
