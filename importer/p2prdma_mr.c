// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: memory regions, their page-granular translation table, and
 * regions of plain (pinned) user memory.
 */
#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "p2prdma.h"

/**
 * p2prdma_mr_alloc() - allocate a region and its (empty) translation table
 * @nic: the device.
 * @start: where the region starts (dma-buf offset or user address); only
 * its offset within a page matters here.
 * @length: bytes, non-zero, @start + @length already checked for overflow.
 *
 * Return: the region, or NULL.
 */
struct p2prdma_mr *p2prdma_mr_alloc(struct p2prdma_nic *nic, u64 start,
				    u64 length)
{
	struct p2prdma_mr *mr;
	u64 first = ALIGN_DOWN(start, PAGE_SIZE);
	u64 end = start + length;

	mr = kzalloc_obj(*mr, GFP_KERNEL);
	if (!mr)
		return NULL;
	mr->nic = nic;
	mr->length = length;
	mr->offset = start;
	mr->pgoff = offset_in_page(start);
	/* end may be the top of the address space: count pages without ALIGN */
	mr->npages = ((end - 1 - first) >> PAGE_SHIFT) + 1;
	mr->pages = kvmalloc_array(mr->npages, sizeof(*mr->pages),
				   GFP_KERNEL_ACCOUNT);
	if (!mr->pages) {
		kfree(mr);
		return NULL;
	}
	return mr;
}

/**
 * p2prdma_mr_free() - free a region that holds no mapping any more
 * @mr: the region.
 */
void p2prdma_mr_free(struct p2prdma_mr *mr)
{
	kvfree(mr->pages);
	kfree(mr);
}

/**
 * p2prdma_mr_fill_table() - build the page table from a DMA-mapped sg table
 * @mr: the region.
 * @sgt: the mapping.
 * @stream_start: position, in the byte stream @sgt describes, of the start
 * of the region's first page.
 *
 * Like mlx5's MTT, the device only knows one DMA address per PAGE_SIZE
 * page, so each page of the region must be DMA-contiguous; it counts the
 * contiguous segments and whether any of them is a PCI bus address.
 *
 * Return: 0, or -EINVAL if the mapping does not cover the region or splits
 * a page.
 */
int p2prdma_mr_fill_table(struct p2prdma_mr *mr, struct sg_table *sgt,
			  u64 stream_start)
{
	struct scatterlist *sg = sgt->sgl;
	unsigned int nents = sgt->nents;
	u64 cur = 0;		/* stream position of the start of @sg */
	unsigned long i;
	u32 segs = 0;
	bool bus = false;

	for (i = 0; i < mr->npages; i++) {
		/* the first page's bytes before the region may not be mapped */
		u64 in_page = i ? 0 : mr->pgoff;
		u64 pos = stream_start + ((u64)i << PAGE_SHIFT) + in_page;
		u64 need = min_t(u64, PAGE_SIZE - in_page,
				 mr->pgoff + mr->length -
				 ((u64)i << PAGE_SHIFT) - in_page);

		while (nents && pos >= cur + sg_dma_len(sg)) {
			cur += sg_dma_len(sg);
			sg = sg_next(sg);
			nents--;
		}
		if (!nents || pos < cur || pos + need > cur + sg_dma_len(sg))
			return -EINVAL;
		if (sg_dma_is_bus_address(sg))
			bus = true;
		mr->pages[i] = sg_dma_address(sg) + (pos - cur) - in_page;
		if (!i || mr->pages[i] != mr->pages[i - 1] + PAGE_SIZE)
			segs++;
	}
	mr->num_segments = segs;
	mr->bus_addr = bus;
	return 0;
}

/**
 * p2prdma_mr_dma_addr() - DMA address of a byte of a mapped region
 * @mr: the region.
 * @off: byte offset in the region, < length.
 *
 * Return: the address; the device may access up to the end of that page.
 */
dma_addr_t p2prdma_mr_dma_addr(struct p2prdma_mr *mr, u64 off)
{
	u64 pos = mr->pgoff + off;

	return mr->pages[pos >> PAGE_SHIFT] + offset_in_page(pos);
}

/**
 * p2prdma_mr_account_pins() - count a region's pages as pinned by the caller
 * @mr: the region, its pages about to be pinned.
 *
 * As ib_umem_get() does: pinned pages count against the caller's
 * RLIMIT_MEMLOCK through its mm's pinned_vm, unless it has CAP_IPC_LOCK, so
 * an unprivileged user cannot pin more memory through the NIC than through
 * rdma-core. The count follows the region, not the file: it is dropped
 * when the region is destroyed, whoever destroys it.
 *
 * Return: 0, or -ENOMEM past the limit.
 */
int p2prdma_mr_account_pins(struct p2prdma_mr *mr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct mm_struct *mm = current->mm;
	s64 pinned;

	pinned = atomic64_add_return(mr->npages, &mm->pinned_vm);
	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(mr->npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	mmgrab(mm);
	mr->pin_mm = mm;
	return 0;
}

static void p2prdma_mr_unaccount_pins(struct p2prdma_mr *mr)
{
	if (!mr->pin_mm)
		return;
	atomic64_sub(mr->npages, &mr->pin_mm->pinned_vm);
	mmdrop(mr->pin_mm);
	mr->pin_mm = NULL;
}

static void p2prdma_user_unpin(struct p2prdma_mr *mr, unsigned long npinned)
{
	unpin_user_pages_dirty_lock(mr->upages, npinned,
				    mr->access & (P2PRDMA_ACCESS_LOCAL_WRITE |
						  P2PRDMA_ACCESS_REMOTE_WRITE));
	kvfree(mr->upages);
	mr->upages = NULL;
}

/**
 * p2prdma_reg_user() - pin and DMA-map user memory as a region
 * @nic: the device.
 * @args: validated by the caller except for the address range.
 * @out: the region on success.
 *
 * Return: 0 or a negative errno (-EFAULT for unmapped memory).
 */
int p2prdma_reg_user(struct p2prdma_nic *nic,
		     struct p2prdma_reg_user_mr *args, struct p2prdma_mr **out)
{
	struct p2prdma_mr *mr;
	unsigned long npinned = 0;
	unsigned long start;
	unsigned int gup_flags = FOLL_LONGTERM;
	int ret;

	mr = p2prdma_mr_alloc(nic, args->addr, args->length);
	if (!mr)
		return -ENOMEM;
	mr->access = args->access;
	mr->iova = args->addr;
	mr->backing = P2PRDMA_BACKING_SYSTEM;

	if (args->access & (P2PRDMA_ACCESS_LOCAL_WRITE |
			    P2PRDMA_ACCESS_REMOTE_WRITE))
		gup_flags |= FOLL_WRITE;

	ret = p2prdma_mr_account_pins(mr);
	if (ret)
		goto free_mr;

	mr->upages = kvmalloc_array(mr->npages, sizeof(*mr->upages),
				    GFP_KERNEL_ACCOUNT);
	if (!mr->upages) {
		ret = -ENOMEM;
		goto unaccount_pins;
	}

	start = ALIGN_DOWN(args->addr, PAGE_SIZE);
	while (npinned < mr->npages) {
		unsigned long n = min_t(unsigned long, mr->npages - npinned,
					INT_MAX / PAGE_SIZE);

		ret = pin_user_pages_fast(start + (npinned << PAGE_SHIFT), n,
					  gup_flags, mr->upages + npinned);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			goto unpin_pages;
		}
		npinned += ret;
	}

	ret = sg_alloc_table_from_pages_segment(&mr->usgt, mr->upages,
						mr->npages, mr->pgoff,
						args->length,
						dma_get_max_seg_size(p2prdma_dma_dev(nic)),
						GFP_KERNEL);
	if (ret)
		goto unpin_pages;

	/*
	 * Like ib_umem: the same user memory may be registered more than
	 * once, so map without CPU syncs (overlapping mappings with syncs are
	 * not supported) and sync each chunk around its DMA instead.
	 */
	ret = dma_map_sgtable(p2prdma_dma_dev(nic), &mr->usgt,
			      DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto free_sgt;

	/* the sg stream starts at the region's first byte */
	ret = p2prdma_mr_fill_table(mr, &mr->usgt, -(u64)mr->pgoff);
	if (ret)
		goto unmap_sgt;

	mr->mapped = true;
	mr->map_count = 1;
	*out = mr;
	return 0;

unmap_sgt:
	dma_unmap_sgtable(p2prdma_dma_dev(nic), &mr->usgt, DMA_BIDIRECTIONAL,
			  DMA_ATTR_SKIP_CPU_SYNC);
free_sgt:
	sg_free_table(&mr->usgt);
unpin_pages:
	p2prdma_user_unpin(mr, npinned);
unaccount_pins:
	p2prdma_mr_unaccount_pins(mr);
free_mr:
	p2prdma_mr_free(mr);
	return ret;
}

/**
 * p2prdma_mr_destroy() - unmap, unpin or detach, and free a region
 * @mr: the region, already removed from its file.
 */
void p2prdma_mr_destroy(struct p2prdma_mr *mr)
{
	if (mr->is_dmabuf) {
		p2prdma_dmabuf_destroy(mr);
	} else {
		dma_unmap_sgtable(p2prdma_dma_dev(mr->nic), &mr->usgt,
				  DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
		sg_free_table(&mr->usgt);
		p2prdma_user_unpin(mr, mr->npages);
	}
	p2prdma_mr_unaccount_pins(mr);
	atomic_dec(&mr->nic->live_regions);
	p2prdma_mr_free(mr);
}
