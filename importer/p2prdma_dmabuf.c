// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: regions of dma-bufs, modelled on ib_umem_dmabuf. The default is
 * a dynamic, peer-to-peer capable attachment mapped lazily under the
 * reservation lock and invalidated by move_notify; pinned mode pins at
 * registration like ib_umem_dmabuf_get_pinned().
 */
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/ioport.h>
#include <linux/jiffies.h>
#include <linux/overflow.h>

#include "p2prdma.h"
#include "p2prdma_trace.h"

/* the exporter may still be moving the content when it hands us a mapping */
#define P2PRDMA_FENCE_TIMEOUT_MS	5000

static void p2prdma_dmabuf_unmap(struct p2prdma_mr *mr)
{
	dma_resv_assert_held(mr->dmabuf->resv);

	if (!mr->sgt)
		return;
	dma_buf_unmap_attachment(mr->attach, mr->sgt, DMA_BIDIRECTIONAL);
	atomic_dec(&mr->nic->live_mappings);
	mr->sgt = NULL;
	mr->mapped = false;
	mr->backing = P2PRDMA_BACKING_UNMAPPED;
	mr->num_segments = 0;
	mr->bus_addr = false;
}

/**
 * p2prdma_move_notify() - the exporter is about to move or revoke the buffer
 * @attach: our attachment; importer_priv is the region.
 *
 * Called with the reservation lock held. Drops the mapping before it
 * returns, so an exporter that waits for its importers to unmap (the revoke
 * contract of dma_buf_attach_revocable(), vfio-pci's 1 s bound) never
 * waits for us. The DMA engine is already quiet for this region: every
 * transfer chunk holds this same reservation lock from before it looks up
 * the address until its DMA has completed, or, for a DMA that outlived its
 * deadline, until bus mastering is off (p2prdma_engine_dma()), so the
 * exporter cannot get here with a DMA of ours in flight into the old
 * location, and none can start once the mapping is gone.
 *
 * For a dynamic region it means the buffer moves and the next transfer
 * re-maps wherever it went (or gets the exporter's -ENODEV once it was
 * revoked). A pinned buffer does not move, so for a pinned region it means
 * the memory is taken away for good (the exporting device is unbound,
 * vfio-pci's memory decode goes off): as ib_umem_dmabuf's "pinned but
 * revocable" regions do (irdma, erdma), the region unmaps and unpins here
 * and is revoked: its transfers fail with -ENODEV until it is deregistered,
 * without asking the exporter again.
 *
 * A dynamic region with nothing mapped has nothing to drop: before the
 * first use, and while our own map or pin makes the exporter move the
 * buffer (staging).
 */
static void p2prdma_move_notify(struct dma_buf_attachment *attach)
{
	struct p2prdma_mr *mr = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (mr->pinned) {
		/* still registering: the pin and map below are not done yet */
		if (mr->revoked || !mr->sgt)
			return;
		mr->invalidate_count++;
		p2prdma_dmabuf_unmap(mr);
		dma_buf_unpin(mr->attach);
		mr->revoked = true;
		mr->invalidated = true;
		trace_p2prdma_revoke(mr);
		dev_info(p2prdma_dma_dev(mr->nic),
			 "pinned region %u revoked by its exporter: transfers on it fail with -ENODEV until it is deregistered\n",
			 mr->handle);
		return;
	}
	if (!mr->sgt)
		return;
	mr->invalidate_count++;
	trace_p2prdma_invalidate(mr);
	p2prdma_dmabuf_unmap(mr);
	mr->invalidated = true;
}

static const struct dma_buf_attach_ops p2prdma_importer_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = p2prdma_move_notify,
};

/**
 * p2prdma_sgt_backing() - what memory a dma-buf mapping reaches
 * @dev: the device the table was mapped for (the NIC).
 * @sgt: the exporter's DMA-mapped table.
 *
 * Judged from the DMA addresses alone. Not from attach->peer2peer: the
 * exporter rewrites it and no contract backs it (amdgpu and xe leave it
 * set while a buffer sits in system memory). Not from sg_page() either:
 * page-less P2PDMA providers leave no pages and CONFIG_DMABUF_DEBUG
 * mangles the page pointers importers get. A PCI bus address is a peer's
 * BAR by definition. Any other DMA address is followed back to a CPU
 * physical address (through the IOMMU's page tables when the NIC is behind
 * a translating domain, else as the direct mapping made it): system RAM
 * means the buffer is staged, anything else is peer MMIO reached through
 * the host bridge. One segment in system RAM makes the whole mapping
 * staged: the NIC cannot be said to work peer-to-peer on it.
 *
 * Return: P2PRDMA_BACKING_PEER or P2PRDMA_BACKING_SYSTEM.
 */
static u32 p2prdma_sgt_backing(struct device *dev, struct sg_table *sgt)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	struct scatterlist *sg;
	unsigned int i;

	if (!sgt->nents)
		return P2PRDMA_BACKING_SYSTEM;
	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t dma = sg_dma_address(sg);
		phys_addr_t phys;

		if (sg_dma_is_bus_address(sg))
			continue;
		if (!domain || domain->type == IOMMU_DOMAIN_IDENTITY)
			phys = dma_to_phys(dev, dma);
		else
			phys = iommu_iova_to_phys(domain, dma);
		/* an IOVA that leads nowhere is no proof of peer memory */
		if (!phys || page_is_ram(PHYS_PFN(phys)))
			return P2PRDMA_BACKING_SYSTEM;
	}
	return P2PRDMA_BACKING_PEER;
}

/*
 * Map the attachment and build the translation table for the registered
 * sub-range. Reservation lock held.
 */
static int p2prdma_dmabuf_map(struct p2prdma_mr *mr)
{
	struct sg_table *sgt;
	u32 why;
	int ret;

	dma_resv_assert_held(mr->dmabuf->resv);

	sgt = dma_buf_map_attachment(mr->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);

	ret = p2prdma_mr_fill_table(mr, sgt, ALIGN_DOWN(mr->offset, PAGE_SIZE));
	if (ret) {
		dma_buf_unmap_attachment(mr->attach, sgt, DMA_BIDIRECTIONAL);
		return ret;
	}
	why = mr->invalidated ? P2PRDMA_TRACE_MAP_INVALIDATED :
	      mr->map_count ? P2PRDMA_TRACE_MAP_AGAIN : P2PRDMA_TRACE_MAP_FIRST;
	mr->sgt = sgt;
	atomic_inc(&mr->nic->live_mappings);
	mr->mapped = true;
	mr->invalidated = false;
	mr->map_count++;
	mr->backing = p2prdma_sgt_backing(p2prdma_dma_dev(mr->nic), sgt);
	trace_p2prdma_map(mr, why);
	return 0;
}

static int p2prdma_dmabuf_wait(struct p2prdma_mr *mr)
{
	long ret;

	ret = dma_resv_wait_timeout(mr->dmabuf->resv, DMA_RESV_USAGE_KERNEL,
				    false,
				    msecs_to_jiffies(P2PRDMA_FENCE_TIMEOUT_MS));
	if (ret < 0)
		return ret;
	return ret ? 0 : -ETIMEDOUT;
}

/**
 * p2prdma_dmabuf_ensure_mapped() - map a dma-buf region if needed
 * @mr: the region; its reservation lock must be held.
 *
 * The exporter's KERNEL fences (a move still copying into the new
 * location) are not waited for here, under the lock: the transfer checks
 * them with every other fence it waits for (p2prdma_side()).
 *
 * Return: 0 when @mr->pages is valid; -ENODEV for a revoked region;
 * -EREMOTEIO when a strict region would be mapped from system memory
 * (it is left unmapped); or the exporter's error.
 */
int p2prdma_dmabuf_ensure_mapped(struct p2prdma_mr *mr)
{
	int ret;

	dma_resv_assert_held(mr->dmabuf->resv);

	if (mr->revoked)
		return -ENODEV;
	if (mr->sgt)
		return 0;
	ret = p2prdma_dmabuf_map(mr);
	if (ret)
		return ret;
	/* strict: the exporter moved it to system memory; no staging */
	if (mr->strict && mr->backing != P2PRDMA_BACKING_PEER) {
		trace_p2prdma_refuse(mr, P2PRDMA_TRACE_REFUSED_REMAP);
		p2prdma_dmabuf_unmap(mr);
		return -EREMOTEIO;
	}
	return 0;
}

/*
 * Tell a closed descriptor (-EBADF) from one that is not a dma-buf
 * (-EINVAL), and refuse device writes through a descriptor opened
 * read-only (-EACCES): a PRIME export without DRM_RDWR must stay read-only
 * for every importer it is handed to.
 */
static struct dma_buf *p2prdma_dmabuf_get(int fd, bool write)
{
	struct dma_buf *dmabuf;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		dmabuf = ERR_PTR(-EINVAL);
	} else if (write && !(file->f_mode & FMODE_WRITE)) {
		dma_buf_put(dmabuf);
		dmabuf = ERR_PTR(-EACCES);
	}
	fput(file);
	return dmabuf;
}

static int p2prdma_dmabuf_pin_map(struct p2prdma_mr *mr)
{
	int ret;

	dma_resv_lock(mr->dmabuf->resv, NULL);
	ret = dma_buf_pin(mr->attach);
	if (ret) {
		/*
		 * No memory, no room, no device, or a signal (the call is
		 * restarted): as is; any other refusal is the exporter's.
		 */
		if (ret != -ENOMEM && ret != -ENOSPC && ret != -ENODEV &&
		    ret != -ERESTARTSYS && ret != -EINTR)
			ret = -EOPNOTSUPP;
		goto unlock_resv;
	}
	ret = p2prdma_dmabuf_map(mr);
	if (ret)
		goto unpin_buf;
	ret = p2prdma_dmabuf_wait(mr);
	if (ret)
		goto unmap_buf;
	dma_resv_unlock(mr->dmabuf->resv);
	return 0;

unmap_buf:
	p2prdma_dmabuf_unmap(mr);
unpin_buf:
	dma_buf_unpin(mr->attach);
unlock_resv:
	dma_resv_unlock(mr->dmabuf->resv);
	return ret;
}

/* strict and not mapped yet: map now, the mapping is the verdict */
static int p2prdma_dmabuf_map_now(struct p2prdma_mr *mr)
{
	int ret;

	dma_resv_lock(mr->dmabuf->resv, NULL);
	ret = p2prdma_dmabuf_map(mr);
	dma_resv_unlock(mr->dmabuf->resv);
	return ret;
}

/* what QUERY_REFUSAL reports for a strict registration refused at @stage */
static void p2prdma_note_refusal(struct p2prdma_mr *mr, u32 stage,
				 struct p2prdma_refusal *refusal)
{
	trace_p2prdma_refuse(mr, stage);
	*refusal = (struct p2prdma_refusal){
		.stage = stage,
		.error = EREMOTEIO,
		.backing = mr->backing,
		.dmabuf_ino = file_inode(mr->dmabuf->file)->i_ino,
		.offset = mr->offset,
		.length = mr->length,
	};
	strscpy(refusal->exporter, mr->dmabuf->exp_name ?: "",
		sizeof(refusal->exporter));
}

/**
 * p2prdma_reg_dmabuf() - register a region of a dma-buf
 * @nic: the device.
 * @args: flags, access and length checked by the caller.
 * @out: the region on success.
 * @refusal: [out] filled when a strict registration is refused.
 *
 * Return: 0 or the errno documented in the uapi header.
 */
int p2prdma_reg_dmabuf(struct p2prdma_nic *nic,
		       struct p2prdma_reg_dmabuf_mr *args,
		       struct p2prdma_mr **out,
		       struct p2prdma_refusal *refusal)
{
	struct dma_buf *dmabuf;
	struct p2prdma_mr *mr;
	u64 end;
	int ret;

	dmabuf = p2prdma_dmabuf_get(args->fd,
				    args->access & P2PRDMA_WRITE_ACCESS);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	/* overflow is checked by the caller; the range only here */
	end = args->offset + args->length;
	if (end > dmabuf->size) {
		ret = -ERANGE;
		goto put_dmabuf;
	}

	mr = p2prdma_mr_alloc(nic, args->offset, args->length);
	if (!mr) {
		ret = -ENOMEM;
		goto put_dmabuf;
	}
	mr->is_dmabuf = true;
	mr->access = args->access;
	mr->iova = args->iova;
	mr->dmabuf = dmabuf;
	mr->backing = P2PRDMA_BACKING_UNMAPPED;
	/* a non-dynamic exporter cannot move: treat it as pinned */
	mr->pinned = (args->flags & P2PRDMA_REG_PINNED) ||
		     !dma_buf_is_dynamic(dmabuf);
	mr->strict = args->flags & P2PRDMA_REG_REQUIRE_P2P;

	mr->attach = dma_buf_dynamic_attach(dmabuf, p2prdma_dma_dev(nic),
					    &p2prdma_importer_ops, mr);
	if (IS_ERR(mr->attach)) {
		ret = PTR_ERR(mr->attach);
		goto free_mr;
	}
	atomic_inc(&nic->live_attachments);

	/*
	 * An exporter clears peer2peer at attach when it will not map its
	 * device memory for us (dma-buf's contract, which amdgpu and p2pgpu
	 * keep): a strict registration is refused there and then, before a
	 * map could move the buffer into system memory for nothing. A flag
	 * still set proves nothing: only the mapping below decides.
	 */
	if (mr->strict && !mr->attach->peer2peer) {
		p2prdma_note_refusal(mr, P2PRDMA_REFUSED_ATTACH, refusal);
		ret = -EREMOTEIO;
		goto detach_buf;
	}

	if (mr->pinned)
		ret = p2prdma_dmabuf_pin_map(mr);
	else if (mr->strict)
		ret = p2prdma_dmabuf_map_now(mr);
	else
		ret = 0;
	if (ret)
		goto detach_buf;
	if (mr->strict && mr->backing != P2PRDMA_BACKING_PEER) {
		p2prdma_note_refusal(mr, P2PRDMA_REFUSED_MAP, refusal);
		ret = -EREMOTEIO;
		goto unmap_buf;
	}

	if (mr->pinned) {
		/*
		 * A dynamic exporter would have been free to evict or swap
		 * these system pages: pinned for us, they are the caller's
		 * locked memory, as user memory is.
		 */
		if (dma_buf_is_dynamic(dmabuf) &&
		    mr->backing == P2PRDMA_BACKING_SYSTEM) {
			ret = p2prdma_mr_account_pins(mr);
			if (ret)
				goto unmap_buf;
		}
	}

	*out = mr;
	return 0;

unmap_buf:
	dma_resv_lock(dmabuf->resv, NULL);
	p2prdma_dmabuf_unmap(mr);
	/* a revoke since the pin dropped it already */
	if (mr->pinned && !mr->revoked)
		dma_buf_unpin(mr->attach);
	dma_resv_unlock(dmabuf->resv);
detach_buf:
	dma_buf_detach(dmabuf, mr->attach);
	atomic_dec(&nic->live_attachments);
free_mr:
	p2prdma_mr_free(mr);
put_dmabuf:
	dma_buf_put(dmabuf);
	return ret;
}

/**
 * p2prdma_dmabuf_destroy() - unmap, unpin and detach a dma-buf region
 * @mr: the region; nothing can use it any more.
 */
void p2prdma_dmabuf_destroy(struct p2prdma_mr *mr)
{
	struct dma_buf *dmabuf = mr->dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);
	p2prdma_dmabuf_unmap(mr);
	/* a revoke dropped the pin already */
	if (mr->pinned && !mr->revoked)
		dma_buf_unpin(mr->attach);
	dma_resv_unlock(dmabuf->resv);
	dma_buf_detach(dmabuf, mr->attach);
	atomic_dec(&mr->nic->live_attachments);
	dma_buf_put(dmabuf);
}
