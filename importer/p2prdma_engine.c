// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: the DMA engine of QEMU's edu device, and transfers between
 * regions through its internal 4 KiB buffer.
 */
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iommu.h>
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/sched/signal.h>

#include "p2prdma.h"

#define EDU_REG_ID		0x00
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_START		BIT(0)
#define EDU_DMA_TO_RAM		BIT(1)
#define EDU_DMA_IRQ		BIT(2)
#define EDU_IRQ_DMA		0x100
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		4096
/*
 * QEMU's edu (7.2 at least) aborts the whole VM with hw_error() on a DMA
 * whose last byte is the buffer's last byte (its range check is off by
 * one), so only a power-of-two part strictly inside the buffer is used.
 */
#define EDU_BUF_USABLE		(EDU_BUF_SIZE / 2)

static irqreturn_t p2prdma_irq(int irq, void *data)
{
	struct p2prdma_nic *nic = data;
	u32 status = readl(nic->mmio + EDU_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;
	writel(status, nic->mmio + EDU_REG_IRQ_ACK);
	if (status & EDU_IRQ_DMA)
		complete(&nic->dma_done);
	return IRQ_HANDLED;
}

static bool p2prdma_engine_busy(struct p2prdma_nic *nic)
{
	return readq(nic->mmio + EDU_REG_DMA_CMD) & EDU_DMA_START;
}

/*
 * An address no memory answers at, whose low 28 bits are zero: a device
 * that truncates it reaches physical address 0 instead.
 */
#define EDU_REACH_PROBE_ADDR	BIT_ULL(63)
#define EDU_REACH_PROBE_MS	1000

/*
 * QEMU's edu truncates every DMA address to its "dma_mask" property: 28 bits
 * unless QEMU was started with -device edu,dma_mask=<mask>, and no register
 * tells which (hw/misc/edu.c: edu_clamp_addr(); the DMA registers read back
 * what was written). A DMA to 2^63 shows it. With a 64-bit mask it reaches no
 * memory and QEMU drops it; truncated, it writes physical address 0, which
 * x86 reserves (the real-mode interrupt table) and Linux does not use once
 * booted. Those 8 bytes get a random mark first and are restored after.
 * Behind an IOMMU the DMA would fault instead: not tried there.
 *
 * Return: 0 when the device reaches 64-bit addresses (or it cannot be told
 * safely), -ENODEV when it truncates them, -ETIMEDOUT when its engine does
 * not finish.
 */
static int p2prdma_engine_check_reach(struct p2prdma_nic *nic)
{
	unsigned long deadline;
	u64 *low, mark, saved;
	bool truncated;

	if (!IS_ENABLED(CONFIG_X86) || device_iommu_mapped(&nic->pci->dev))
		return 0;
	low = memremap(0, sizeof(*low), MEMREMAP_WB);
	if (!low)
		return 0;

	get_random_bytes(&mark, sizeof(mark));
	saved = READ_ONCE(*low);
	WRITE_ONCE(*low, mark);
	/* 8 bytes of the device buffer to 2^63, no interrupt: polled */
	writeq(EDU_BUF_ADDR, nic->mmio + EDU_REG_DMA_SRC);
	writeq(EDU_REACH_PROBE_ADDR, nic->mmio + EDU_REG_DMA_DST);
	writeq(sizeof(mark), nic->mmio + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | EDU_DMA_TO_RAM, nic->mmio + EDU_REG_DMA_CMD);
	deadline = jiffies + msecs_to_jiffies(EDU_REACH_PROBE_MS);
	while (p2prdma_engine_busy(nic) && time_before(jiffies, deadline))
		usleep_range(5000, 10000);
	if (p2prdma_engine_busy(nic)) {
		/* it may still write address 0: leave the mark to it */
		memunmap(low);
		dev_err(&nic->pci->dev, "DMA engine did not finish a DMA in %u ms\n",
			EDU_REACH_PROBE_MS);
		return -ETIMEDOUT;
	}
	truncated = READ_ONCE(*low) != mark;
	WRITE_ONCE(*low, saved);
	memunmap(low);

	if (truncated) {
		dev_err(&nic->pci->dev,
			"edu truncates DMA addresses to its dma_mask (QEMU's default: 28 bits, 256 MiB): start QEMU with -device edu,dma_mask=0xffffffffffffffff\n");
		return -ENODEV;
	}
	return 0;
}

/**
 * p2prdma_engine_init() - set up DMA mask, bus mastering and the interrupt
 * @nic: the device, BAR0 mapped.
 *
 * Return: 0 or a negative errno.
 */
int p2prdma_engine_init(struct p2prdma_nic *nic)
{
	struct pci_dev *pci = nic->pci;
	int ret;

	/* what p2prdma_engine_check_reach() makes sure of before any use */
	ret = dma_set_mask_and_coherent(&pci->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	/*
	 * The device addresses regions through a per-page table and splits
	 * every DMA at page boundaries, so a mapped segment may be of any
	 * length the DMA layer can map: do not make exporters split at the
	 * PCI default of 64 KiB, but do where swiotlb bounces (256 KiB).
	 */
	dma_set_max_seg_size(&pci->dev,
			     min_t(size_t, UINT_MAX,
				   dma_max_mapping_size(&pci->dev)));
	nic->drain_ms = P2PRDMA_DRAIN_MS;
	mutex_init(&nic->engine_lock);
	init_completion(&nic->dma_done);

	pci_set_master(pci);
	ret = p2prdma_engine_check_reach(nic);
	if (ret)
		goto clear_master;

	ret = pci_alloc_irq_vectors(pci, 1, 1, PCI_IRQ_MSI | PCI_IRQ_INTX);
	if (ret < 0)
		goto clear_master;
	ret = request_irq(pci_irq_vector(pci, 0), p2prdma_irq, IRQF_SHARED,
			  nic->name, nic);
	if (ret)
		goto free_vectors;
	return 0;

free_vectors:
	pci_free_irq_vectors(pci);
clear_master:
	pci_clear_master(pci);
	return ret;
}

/**
 * p2prdma_engine_fini() - undo p2prdma_engine_init()
 * @nic: the device; no transfer can be running.
 */
void p2prdma_engine_fini(struct p2prdma_nic *nic)
{
	pci_clear_master(nic->pci);
	free_irq(pci_irq_vector(nic->pci, 0), nic);
	pci_free_irq_vectors(nic->pci);
}

/*
 * A quarantined engine comes back once its late DMA is over: it can no
 * longer reach memory that was unmapped meanwhile. Engine lock held.
 */
static int p2prdma_engine_ready(struct p2prdma_nic *nic)
{
	if (!nic->engine_quarantined)
		return 0;
	if (p2prdma_engine_busy(nic))
		return -EIO;
	pci_set_master(nic->pci);
	nic->engine_quarantined = false;
	dev_info(&nic->pci->dev, "DMA engine idle again, back in service\n");
	return 0;
}

/*
 * One DMA between @addr and the device buffer. Engine lock held, and the
 * reservation lock of @addr's dma-buf if it has one: the buffer cannot move
 * while the device accesses it, and the caller may unmap @addr as soon as
 * this returns, so the device must not touch @addr after that, whatever
 * happened.
 */
static int p2prdma_engine_dma(struct p2prdma_nic *nic, dma_addr_t addr,
			      u32 len, bool to_ram, unsigned long deadline)
{
	long left = (long)(deadline - jiffies);
	unsigned long drain;
	long ret;

	ret = p2prdma_engine_ready(nic);
	if (ret)
		return ret;
	if (left <= 0)
		return -ETIMEDOUT;

	reinit_completion(&nic->dma_done);
	writeq(to_ram ? EDU_BUF_ADDR : addr, nic->mmio + EDU_REG_DMA_SRC);
	writeq(to_ram ? addr : EDU_BUF_ADDR, nic->mmio + EDU_REG_DMA_DST);
	writeq(len, nic->mmio + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0),
	       nic->mmio + EDU_REG_DMA_CMD);

	/* a signal ends the wait, not the DMA: drained below like a late one */
	for (;;) {
		ret = wait_for_completion_interruptible_timeout(&nic->dma_done,
								left);
		if (ret <= 0)
			break;
		if (!p2prdma_engine_busy(nic))
			return 0;
		/*
		 * The late interrupt of an earlier DMA, one that outlived its
		 * transfer's deadline, completed this wait while this DMA
		 * still runs: wait on. Busy is read again after the re-arm,
		 * so that this DMA's own interrupt cannot be lost in between.
		 */
		reinit_completion(&nic->dma_done);
		if (!p2prdma_engine_busy(nic))
			return 0;
		left = (long)(deadline - jiffies);
		if (left <= 0) {
			ret = 0;
			break;
		}
	}

	/*
	 * Late or interrupted: give the DMA a bounded grace period, then
	 * take bus mastering away, so that whatever it still does cannot
	 * reach memory once the caller unlocks or unmaps.
	 */
	drain = jiffies + msecs_to_jiffies(nic->drain_ms);
	while (p2prdma_engine_busy(nic)) {
		if (time_after_eq(jiffies, drain)) {
			pci_clear_master(nic->pci);
			nic->engine_quarantined = true;
			dev_err(&nic->pci->dev,
				"DMA still running %u ms past its deadline: bus mastering off until it ends\n",
				nic->drain_ms);
			break;
		}
		usleep_range(5000, 10000);
	}
	return ret == -ERESTARTSYS ? -EINTR : -ETIMEDOUT;
}

/*
 * Implicit synchronisation. RDMA core's ib_umem_dmabuf waits only for the
 * exporter's KERNEL fences (a move still copying): an RDMA NIC's DMA is
 * started by the application and by remote peers, at times the kernel never
 * sees, so ordering it against other users of the buffer is left to them
 * (explicit sync). This NIC's transfer is different: a synchronous copy the
 * kernel itself drives, chunk by chunk, so the kernel knows when each side
 * is read and written, and honours the fences other users put in the
 * reservation object (a GPU job, DMA_BUF_IOCTL_IMPORT_SYNC_FILE), as DRM
 * drivers do for implicit sync: writing a dma-buf waits for all of its
 * fences, reading it for the fences of its writers.
 */
static enum dma_resv_usage p2prdma_side_usage(bool to_ram)
{
	/* to_ram: the DMA writes the region */
	return dma_resv_usage_rw(to_ram);
}

/*
 * Wait for a dma-buf side's fences without the reservation lock: a fence
 * from userspace may never signal, and its exporter must still be able to
 * take the lock (to move or revoke the buffer) meanwhile. Interruptible,
 * and bounded by the transfer's deadline.
 */
static int p2prdma_side_wait(struct p2prdma_mr *mr, bool to_ram,
			     unsigned long deadline)
{
	long left = (long)(deadline - jiffies);
	long ret;

	if (!mr->is_dmabuf)
		return 0;
	if (left <= 0)
		return -ETIMEDOUT;
	ret = dma_resv_wait_timeout(mr->dmabuf->resv, p2prdma_side_usage(to_ram),
				    true, left);
	if (ret == -ERESTARTSYS)
		return -EINTR;
	if (ret < 0)
		return ret;
	return ret ? 0 : -ETIMEDOUT;
}

/*
 * One side of a chunk: lock the dma-buf (if any), make sure it is mapped,
 * run the DMA, unlock. Holding the reservation lock across the DMA is what
 * keeps the exporter from moving the buffer under it.
 *
 * A fence that appeared since p2prdma_side_wait() (the exporter moving the
 * buffer for our own map, another user) is not waited for here, under the
 * lock: -EAGAIN sends the caller back to wait without it.
 */
static int p2prdma_side(struct p2prdma_nic *nic, struct p2prdma_mr *mr,
			u64 off, u32 len, bool to_ram, unsigned long deadline,
			bool *via_system)
{
	struct device *dev = p2prdma_dma_dev(nic);
	struct dma_resv *resv = NULL;
	dma_addr_t addr;
	bool sync;
	int ret;

	if (mr->is_dmabuf) {
		resv = mr->dmabuf->resv;
		ret = dma_resv_lock_interruptible(resv, NULL);
		if (ret)
			return ret;
		ret = p2prdma_dmabuf_ensure_mapped(mr);
		if (ret)
			goto unlock_resv;
		if (!dma_resv_test_signaled(resv, p2prdma_side_usage(to_ram))) {
			ret = -EAGAIN;
			goto unlock_resv;
		}
		if (mr->backing != P2PRDMA_BACKING_PEER)
			*via_system = true;
	}

	addr = p2prdma_mr_dma_addr(mr, off);
	/*
	 * User memory is mapped without syncs (see p2prdma_reg_user()): sync
	 * the chunk, where the platform needs it. Where it does not (a
	 * coherent direct mapping) the sync would do nothing, and the page
	 * may be mapped by two regions at the same DMA address, which makes
	 * a partial sync ambiguous to DMA-API debugging.
	 *
	 * Both syncs are in the mapping's direction, also for a device write:
	 * the bounce buffer then holds the CPU's bytes before the DMA, so the
	 * bytes the device does not write (a DMA cut short by a timeout and
	 * denied the bus) come back unchanged instead of as what the bounce
	 * buffer held since the registration.
	 */
	sync = !mr->is_dmabuf && dma_need_sync(dev, addr);
	if (sync)
		dma_sync_single_for_device(dev, addr, len, DMA_BIDIRECTIONAL);
	ret = p2prdma_engine_dma(nic, addr, len, to_ram, deadline);
	if (sync && to_ram)
		dma_sync_single_for_cpu(dev, addr, len, DMA_BIDIRECTIONAL);

unlock_resv:
	if (resv)
		dma_resv_unlock(resv);
	return ret;
}

static u32 p2prdma_page_left(struct p2prdma_mr *mr, u64 off)
{
	return PAGE_SIZE - offset_in_page(mr->pgoff + off);
}

/**
 * p2prdma_transfer() - copy between two regions, chunk by chunk
 * @nic: the device.
 * @dst: destination region.
 * @src: source region.
 * @args: offsets and length already checked against both regions.
 *
 * Chunks are split at the device buffer's size (EDU_BUF_USABLE) and at
 * page boundaries of either side (one translation entry per page). Before
 * each chunk the dma-buf sides' fences are waited for (implicit sync, see
 * p2prdma_side_wait()), up to the transfer's deadline.
 *
 * Return: 0, -ETIMEDOUT (the device or a fence missed the deadline), -EINTR
 * (a signal), or another negative errno; @args->bytes_via_system is
 * updated.
 */
int p2prdma_transfer(struct p2prdma_nic *nic, struct p2prdma_mr *dst,
		     struct p2prdma_mr *src, struct p2prdma_transfer *args)
{
	u32 timeout_ms = args->timeout_ms ?: P2PRDMA_DEFAULT_TIMEOUT_MS;
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	u64 done = 0;
	int ret = 0;

	args->bytes_via_system = 0;
	while (done < args->length) {
		u64 s = args->src_offset + done;
		u64 d = args->dst_offset + done;
		bool via_system = false;
		u32 len;

		len = min_t(u64, args->length - done, EDU_BUF_USABLE);
		len = min(len, p2prdma_page_left(src, s));
		len = min(len, p2prdma_page_left(dst, d));

		if (fatal_signal_pending(current) || signal_pending(current))
			return -EINTR;

		do {
			/* never under the engine lock: other transfers go on */
			ret = p2prdma_side_wait(src, false, deadline);
			if (!ret)
				ret = p2prdma_side_wait(dst, true, deadline);
			if (ret)
				return ret;

			/* the device buffer holds the chunk between the halves */
			ret = mutex_lock_interruptible(&nic->engine_lock);
			if (ret)
				return ret;
			via_system = false;
			ret = p2prdma_side(nic, src, s, len, false, deadline,
					   &via_system);
			if (!ret)
				ret = p2prdma_side(nic, dst, d, len, true,
						   deadline, &via_system);
			mutex_unlock(&nic->engine_lock);
		} while (ret == -EAGAIN);
		if (ret)
			return ret;

		if (via_system)
			args->bytes_via_system += len;
		done += len;
	}
	return 0;
}
