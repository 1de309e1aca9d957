// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: memory regions, their translation table, and regions of plain
 * (pinned) user memory.
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
 * p2prdma_mr_alloc() - allocate a region, without its translation table
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
	/* the table is sized at each map: see p2prdma_mr_fill_table() */
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
 * p2prdma_mr_fill_table() - build the translation table from a DMA-mapped sg table
 * @mr: the region.
 * @sgt: the mapping.
 * @stream_start: position, in the byte stream @sgt describes, of the start
 * of the region's first page.
 *
 * Like an RDMA NIC's MTT (ib_umem_find_best_pgsz(), mlx5), the table holds
 * one DMA address per block, and the block is the largest power of two,
 * PAGE_SIZE at least, that every break between DMA-contiguous runs of the
 * mapping inside the region falls on: a region mapped in one run (a VRAM
 * buffer peer-to-peer) is one entry whatever its size, so the map costs
 * the same for 4 KiB and 1 GiB; scattered system pages are one entry per
 * page as before. The table is allocated here, under the dma-buf's
 * reservation lock (allocating there is allowed: reclaim may not take it),
 * and kept for the next map. It also counts the contiguous runs and
 * whether any of them is a PCI bus address.
 *
 * Return: 0, -EINVAL if the mapping does not cover the region or a break
 * between runs splits a page, -ENOMEM.
 */
int p2prdma_mr_fill_table(struct p2prdma_mr *mr, struct sg_table *sgt,
			  u64 stream_start)
{
	u64 lo = stream_start + mr->pgoff, hi = lo + mr->length;
	u64 end = mr->pgoff + mr->length;	/* region-relative */
	struct scatterlist *sg;
	unsigned int nents, shift;
	u64 cur, covered = lo, mask = 0;
	dma_addr_t run_end = 0;
	unsigned long k;
	u32 segs = 0;
	bool bus = false;

	/* the breaks between DMA-contiguous runs, region-relative */
	for (sg = sgt->sgl, nents = sgt->nents, cur = 0; nents;
	     sg = sg_next(sg), nents--) {
		u64 s = cur, e = cur + sg_dma_len(sg);

		cur = e;
		if (e <= lo)
			continue;
		if (s >= hi)
			break;
		if (s > covered)
			return -EINVAL;
		if (s <= lo) {
			segs = 1;
		} else if (sg_dma_address(sg) != run_end) {
			mask |= s - stream_start;
			segs++;
		}
		run_end = sg_dma_address(sg) + sg_dma_len(sg);
		covered = e;
		if (sg_dma_is_bus_address(sg))
			bus = true;
	}
	if (covered < hi || (mask & ~PAGE_MASK))
		return -EINVAL;

	shift = mask ? __ffs64(mask) : fls64(end - 1);
	shift = clamp_t(unsigned int, shift, PAGE_SHIFT, 62);
	mr->nblocks = ((end - 1) >> shift) + 1;
	if (mr->nblocks > mr->table_cap) {
		kvfree(mr->pages);
		mr->table_cap = 0;
		mr->pages = kvmalloc_array(mr->nblocks, sizeof(*mr->pages),
					   GFP_KERNEL_ACCOUNT);
		if (!mr->pages)
			return -ENOMEM;
		mr->table_cap = mr->nblocks;
	}
	mr->pg_shift = shift;

	/*
	 * Each block's address; block 0 is found by the region's first byte
	 * (the bytes of its page before it may not be mapped).
	 */
	k = 0;
	for (sg = sgt->sgl, nents = sgt->nents, cur = 0; nents && k < mr->nblocks;
	     sg = sg_next(sg), nents--) {
		u64 s = cur, e = cur + sg_dma_len(sg);

		cur = e;
		for (; k < mr->nblocks; k++) {
			u64 pos = stream_start + ((u64)k << shift);
			u64 at = k ? pos : lo;

			if (at >= e)
				break;
			if (at < s)
				return -EINVAL;
			mr->pages[k] = sg_dma_address(sg) + (pos - s);
		}
	}
	if (k < mr->nblocks)
		return -EINVAL;
	mr->num_segments = segs;
	mr->bus_addr = bus;
	return 0;
}

/**
 * p2prdma_mr_dma_addr() - DMA address of a byte of a mapped region
 * @mr: the region.
 * @off: byte offset in the region, < length.
 *
 * Return: the address; the device may access up to the end of that page
 * (of that table block, which is one page at least).
 */
dma_addr_t p2prdma_mr_dma_addr(struct p2prdma_mr *mr, u64 off)
{
	u64 pos = mr->pgoff + off;

	return mr->pages[pos >> mr->pg_shift] +
	       (pos & (BIT_ULL(mr->pg_shift) - 1));
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
