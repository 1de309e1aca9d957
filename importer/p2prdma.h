/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2prdma: internal definitions shared by the importer's source files.
 */
#ifndef _P2PRDMA_H_
#define _P2PRDMA_H_

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/xarray.h>

/* the uapi header has the same name: include it by its path */
#include "../uapi/p2prdma.h"

#define P2PRDMA_DEFAULT_TIMEOUT_MS	10000u
/* how long a DMA that missed its deadline may still take, by default */
#define P2PRDMA_DRAIN_MS		2000u

/**
 * struct p2prdma_nic - one bound edu function (the "NIC")
 * @pci: the PCI function; every DMA mapping is made for &pci->dev.
 * @mmio: BAR0.
 * @misc: the character device /dev/p2prdma<N>.
 * @name: its name.
 * @id: N.
 * @ref: held by the driver binding and by every open file.
 * @lock: protects @files and @dead.
 * @files: open files, so that remove can tear their regions down.
 * @dead: the function was unbound; files only answer -ENODEV.
 * @engine_lock: one user of the DMA engine (and its 4 KiB buffer) at a time.
 * @dma_done: signalled by the DMA completion interrupt.
 * @engine_quarantined: a DMA outlived its deadline and the drain: bus
 * mastering is off until the engine is seen idle again.
 * @drain_ms: how long a late DMA may still take before the engine is
 * quarantined (<debugfs>/p2prdma/p2prdma<N>/engine_drain_ms, for tests).
 * @live_regions: regions registered on this device, all files.
 * @open_files: files open on this device.
 * @live_attachments: dma-buf attachments of its regions.
 * @live_mappings: dma-buf mappings its regions hold.
 * @debugfs: its directory in <debugfs>/p2prdma.
 */
struct p2prdma_nic {
	struct pci_dev *pci;
	void __iomem *mmio;
	struct miscdevice misc;
	char name[24];
	int id;
	struct kref ref;
	/* protects @files and @dead */
	struct mutex lock;
	struct list_head files;
	bool dead;
	/* one engine user at a time */
	struct mutex engine_lock;
	struct completion dma_done;
	bool engine_quarantined;
	u32 drain_ms;
	atomic_t live_regions;
	atomic_t open_files;
	atomic_t live_attachments;
	atomic_t live_mappings;
	struct dentry *debugfs;
};

/**
 * struct p2prdma_file - one open file of /dev/p2prdma<N>
 * @nic: the device.
 * @link: in &p2prdma_nic.files.
 * @lock: protects @regions, the regions' lifetime and @dead.
 * @regions: handle -> struct p2prdma_mr.
 * @dead: the device was removed; regions are gone.
 * @refusal: the last strict registration refused (QUERY_REFUSAL).
 */
struct p2prdma_file {
	struct p2prdma_nic *nic;
	struct list_head link;
	/* protects @regions, the regions' lifetime and @dead */
	struct mutex lock;
	struct xarray regions;
	bool dead;
	struct p2prdma_refusal refusal;
};

/**
 * struct p2prdma_mr - a registered memory region
 * @nic: the device.
 * @handle: key in the file's xarray.
 * @access: P2PRDMA_ACCESS_* bits.
 * @length: bytes.
 * @iova: as registered.
 * @offset: start in the dma-buf (dma-buf regions) or user address.
 * @pgoff: offset of the region's first byte within its first page.
 * @npages: PAGE_SIZE pages spanned by the region.
 * @pages: the translation table: DMA address of the start of each block
 * of 1 << @pg_shift bytes of the region (from the start of its first page).
 * @pg_shift: log2 of the table's block size, chosen at each map.
 * @nblocks: entries of @pages in use.
 * @table_cap: entries @pages has room for.
 * @is_dmabuf: region of a dma-buf.
 * @pinned: dma-buf pinned at registration; move_notify must not come.
 * @revoked: the exporter revoked a pinned region (invalidate_mappings on a
 * pinned attachment is for good): mapping and pin are dropped, transfers
 * fail with -ENODEV until it is deregistered.
 * @strict: registered with P2PRDMA_REG_REQUIRE_P2P: never staged.
 * @mapped: @pages is valid.
 * @invalidated: move_notify seen and not re-mapped since.
 * @bus_addr: the mapping holds PCI bus addresses.
 * @backing: P2PRDMA_BACKING_* of the current mapping.
 * @num_segments: contiguous DMA segments of the current mapping.
 * @map_count: mappings made so far.
 * @invalidate_count: move_notify calls received.
 * @dmabuf: the dma-buf (a reference is held).
 * @attach: our attachment to it.
 * @sgt: the exporter's mapping while @mapped.
 * @upages: pinned user pages.
 * @usgt: their scatter table, DMA-mapped.
 * @pin_mm: the address space whose pinned_vm counts this region's pages
 * against its RLIMIT_MEMLOCK (user memory, and dma-bufs pinned in system
 * memory for us), NULL when nothing is counted.
 *
 * Mapping state of dma-buf regions is protected by the dma-buf's
 * reservation lock (move_notify runs under it); the rest by the file lock.
 */
struct p2prdma_mr {
	struct p2prdma_nic *nic;
	u32 handle;
	u32 access;
	u64 length;
	u64 iova;
	u64 offset;
	unsigned int pgoff;
	unsigned long npages;
	dma_addr_t *pages;
	unsigned int pg_shift;
	unsigned long nblocks;
	unsigned long table_cap;
	bool is_dmabuf;
	bool pinned;
	bool revoked;
	bool strict;
	bool mapped;
	bool invalidated;
	bool bus_addr;
	u32 backing;
	u32 num_segments;
	u32 map_count;
	u32 invalidate_count;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	struct page **upages;
	struct sg_table usgt;
	struct mm_struct *pin_mm;
};

/* why a region was mapped (p2prdma_map trace event) */
#define P2PRDMA_TRACE_MAP_FIRST		0	/* first use */
#define P2PRDMA_TRACE_MAP_INVALIDATED	1	/* after move_notify */
#define P2PRDMA_TRACE_MAP_AGAIN		2	/* after a strict refusal */
/* a strict region's re-map was of system memory (p2prdma_refuse) */
#define P2PRDMA_TRACE_REFUSED_REMAP	3

/* access bits that let the device write into a region */
#define P2PRDMA_WRITE_ACCESS	(P2PRDMA_ACCESS_LOCAL_WRITE | \
				 P2PRDMA_ACCESS_REMOTE_WRITE)

static inline struct device *p2prdma_dma_dev(struct p2prdma_nic *nic)
{
	return &nic->pci->dev;
}

/* p2prdma_pci.c */
void p2prdma_nic_put(struct p2prdma_nic *nic);

/* p2prdma_cdev.c */
int p2prdma_cdev_register(struct p2prdma_nic *nic);
void p2prdma_cdev_unregister(struct p2prdma_nic *nic);

/* p2prdma_mr.c */
struct p2prdma_mr *p2prdma_mr_alloc(struct p2prdma_nic *nic, u64 start,
				    u64 length);
void p2prdma_mr_free(struct p2prdma_mr *mr);
int p2prdma_mr_fill_table(struct p2prdma_mr *mr, struct sg_table *sgt,
			  u64 stream_start);
int p2prdma_reg_user(struct p2prdma_nic *nic,
		     struct p2prdma_reg_user_mr *args, struct p2prdma_mr **out);
void p2prdma_mr_destroy(struct p2prdma_mr *mr);
int p2prdma_mr_account_pins(struct p2prdma_mr *mr);
dma_addr_t p2prdma_mr_dma_addr(struct p2prdma_mr *mr, u64 off);

/* p2prdma_dmabuf.c */
int p2prdma_reg_dmabuf(struct p2prdma_nic *nic,
		       struct p2prdma_reg_dmabuf_mr *args,
		       struct p2prdma_mr **out,
		       struct p2prdma_refusal *refusal);
int p2prdma_dmabuf_ensure_mapped(struct p2prdma_mr *mr);
void p2prdma_dmabuf_destroy(struct p2prdma_mr *mr);

/* p2prdma_engine.c */
int p2prdma_engine_init(struct p2prdma_nic *nic);
void p2prdma_engine_fini(struct p2prdma_nic *nic);
int p2prdma_transfer(struct p2prdma_nic *nic, struct p2prdma_mr *dst,
		     struct p2prdma_mr *src, struct p2prdma_transfer *args);

/* p2prdma_debugfs.c */
void p2prdma_debugfs_init(void);
void p2prdma_debugfs_fini(void);
void p2prdma_debugfs_add(struct p2prdma_nic *nic);
void p2prdma_debugfs_remove(struct p2prdma_nic *nic);

#endif /* _P2PRDMA_H_ */
