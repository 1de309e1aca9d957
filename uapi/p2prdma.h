/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * p2prdma: an RDMA-NIC-like device that registers memory regions from
 * dma-buf file descriptors (the semantics of rdma-core's ibv_reg_dmabuf_mr)
 * and from user memory, and moves data between them with its DMA engine.
 *
 * One character device per NIC: /dev/p2prdma<N>. Regions belong to the open
 * file that registered them; closing it deregisters them.
 */
#ifndef _UAPI_P2PRDMA_H_
#define _UAPI_P2PRDMA_H_

#include <linux/ioctl.h>
#include <linux/types.h>

/* access bits, as IBV_ACCESS_* */
#define P2PRDMA_ACCESS_LOCAL_WRITE	(1u << 0)
#define P2PRDMA_ACCESS_REMOTE_WRITE	(1u << 1)
#define P2PRDMA_ACCESS_REMOTE_READ	(1u << 2)
#define P2PRDMA_ACCESS_ALL		(P2PRDMA_ACCESS_LOCAL_WRITE | \
					 P2PRDMA_ACCESS_REMOTE_WRITE | \
					 P2PRDMA_ACCESS_REMOTE_READ)

/* registration flags */
#define P2PRDMA_REG_PINNED	(1u << 0)	/* pin the dma-buf, no move_notify */
#define P2PRDMA_REG_REQUIRE_P2P	(1u << 1)	/* peer-to-peer or -EREMOTEIO */

/**
 * struct p2prdma_reg_dmabuf_mr - register a memory region from a dma-buf
 * @fd: [in] dma-buf file descriptor; may be closed after registration.
 * @access: [in] P2PRDMA_ACCESS_* bits.
 * @offset: [in] start within the dma-buf.
 * @length: [in] bytes, non-zero; offset + length <= dma-buf size.
 * @iova: [in] the address the region is known by; must have the same
 * offset within a page as @offset.
 * @flags: [in] P2PRDMA_REG_* bits.
 * @handle: [out] the region's key, non-zero.
 *
 * The attachment is dynamic and peer-to-peer capable; it is mapped on first
 * use. With %P2PRDMA_REG_PINNED, or when the exporter is not dynamic, the
 * buffer is pinned and mapped at registration and never moves; the only
 * move_notify (invalidate_mappings) it can get is its exporter's revoke
 * (the exporting device is unbound, vfio-pci's memory decode goes off).
 * Such a region is "pinned but revocable", as rdma-core's pinned dma-buf
 * MRs on irdma and erdma: the revoke is for good; the driver unmaps and
 * unpins the buffer inside the exporter's callback, with no DMA of its own
 * in flight into it, and every later transfer on the region fails with
 * -ENODEV until the region is deregistered.
 *
 * A pinned region that the exporter places in system memory counts against
 * the caller's RLIMIT_MEMLOCK, as user memory does (CAP_IPC_LOCK exempts).
 *
 * Strict mode, %P2PRDMA_REG_REQUIRE_P2P: the region must be peer device
 * memory reached peer-to-peer, never staged. The registration maps the
 * buffer at once (pinned or not) and judges the mapping itself: PCI bus
 * addresses, or DMA addresses that lead to no system RAM. When the exporter
 * declines peer-to-peer for this NIC at attach, or hands a mapping of system
 * memory, the registration fails with -EREMOTEIO and nothing stays
 * attached, mapped or pinned; %P2PRDMA_IOCTL_QUERY_REFUSAL then tells what
 * was refused (the exporter's own reason is its business: for p2pgpu,
 * `p2pctl explain` or its p2pgpu_attach trace event). A strict region that
 * the exporter later moves to system memory is not staged either: transfers
 * on it fail with -EREMOTEIO (no byte moved) until it is back in device
 * memory or deregistered.
 *
 * Errors: -EBADF @fd is not an open file; -EINVAL @fd is not a dma-buf,
 * zero length, unknown access bits or flags, iova page offset mismatch;
 * -EACCES write access (LOCAL_WRITE or REMOTE_WRITE) through an @fd opened
 * read-only (e.g. a PRIME export without DRM_RDWR); -EOVERFLOW offset +
 * length or iova + length overflows; -ERANGE beyond the dma-buf; -ENOSPC
 * the exporter has no room to pin it (e.g. past a cap on pinned device
 * memory); -ENODEV the exporting device is gone; -EOPNOTSUPP pinning
 * refused by the exporter otherwise; -ENOMEM, also for a pinned region in
 * system memory past RLIMIT_MEMLOCK; -EREMOTEIO with
 * %P2PRDMA_REG_REQUIRE_P2P only: the buffer would be staged in system
 * memory for this NIC (no other case returns it).
 */
struct p2prdma_reg_dmabuf_mr {
	__s32 fd;
	__u32 access;
	__u64 offset;
	__u64 length;
	__u64 iova;
	__u32 flags;
	__u32 handle;
};

/**
 * struct p2prdma_reg_user_mr - register (and pin) plain user memory
 * @addr: [in] user virtual address, any alignment.
 * @length: [in] bytes, non-zero.
 * @access: [in] P2PRDMA_ACCESS_* bits.
 * @handle: [out] the region's key, non-zero.
 * @flags: [in] none defined yet: must be zero (room to grow).
 * @pad: [in] must be zero.
 *
 * The pinned pages count against the caller's RLIMIT_MEMLOCK (the mm's
 * pinned_vm, as ibv_reg_mr's do) for as long as the region lives, unless
 * the caller has CAP_IPC_LOCK.
 *
 * Errors: -EINVAL zero length, unknown access bits or flags, pad; -EOVERFLOW
 * addr + length overflows; -EFAULT unmapped memory; -ENOMEM past
 * RLIMIT_MEMLOCK, for a region of as many pages as the machine has or
 * more, or out of memory.
 */
struct p2prdma_reg_user_mr {
	__u64 addr;
	__u64 length;
	__u32 access;
	__u32 handle;
	__u32 flags;
	__u32 pad;
};

/**
 * struct p2prdma_dereg_mr - deregister a region
 * @handle: [in] key from registration.
 * @flags: [in] none defined yet: must be zero (room to grow).
 *
 * Errors: -ENOENT no such region on this file (never registered, already
 * deregistered, or another file's); -EINVAL unknown flags.
 */
struct p2prdma_dereg_mr {
	__u32 handle;
	__u32 flags;
};

/* values of p2prdma_query_mr.backing */
#define P2PRDMA_BACKING_UNMAPPED	0	/* not mapped now */
#define P2PRDMA_BACKING_PEER		1	/* peer device memory (PCI BAR) */
#define P2PRDMA_BACKING_SYSTEM		2	/* system memory */

/* bits of p2prdma_query_mr.flags */
#define P2PRDMA_MR_DMABUF	(1u << 0)
#define P2PRDMA_MR_PINNED	(1u << 1)
#define P2PRDMA_MR_INVALIDATED	(1u << 2)	/* move_notify seen, not re-mapped */
#define P2PRDMA_MR_BUS_ADDR	(1u << 3)	/* PCI bus addresses, no IOMMU */

/**
 * struct p2prdma_query_mr - state of a region
 * @handle: [in] key.
 * @flags: [out] P2PRDMA_MR_* bits.
 * @length: [out] bytes.
 * @iova: [out] as registered.
 * @backing: [out] P2PRDMA_BACKING_*.
 * @num_segments: [out] contiguous DMA segments of the current mapping.
 * @map_count: [out] times the region was mapped (first map included).
 * @invalidate_count: [out] mappings move_notify invalidated.
 * @pad: must be zero.
 * @sg_entries: [out] DMA-mapped entries of the current mapping's scatter
 * table (the exporter's for a dma-buf, ours for user memory), 0 when not
 * mapped. Kernels before this field reported 0 here and required 0 on
 * input; its input value is now ignored.
 *
 * Errors: -ENOENT no such region; -EINVAL pad.
 */
struct p2prdma_query_mr {
	__u32 handle;
	__u32 flags;
	__u64 length;
	__u64 iova;
	__u32 backing;
	__u32 num_segments;
	__u32 map_count;
	__u32 invalidate_count;
	__u32 pad;
	__u32 sg_entries;
};

/* the longest a transfer may take, in p2prdma_transfer.timeout_ms */
#define P2PRDMA_TRANSFER_MAX_TIMEOUT_MS	60000u

/**
 * struct p2prdma_transfer - copy bytes from one region to another by DMA
 * @dst_handle: [in] destination region key.
 * @src_handle: [in] source region key.
 * @dst_offset: [in] offset in the destination region.
 * @src_offset: [in] offset in the source region.
 * @length: [in] bytes, non-zero.
 * @timeout_ms: [in] bound on the whole transfer in milliseconds, at most
 * 60000 (%P2PRDMA_TRANSFER_MAX_TIMEOUT_MS); 0 = the driver's default, 10 s.
 * @flags: [in] must be zero.
 * @bytes_via_system: [out] bytes whose dma-buf side was mapped from system
 * memory (staging) rather than peer-to-peer.
 *
 * The device copies through its internal 4 KiB buffer, chunk by chunk.
 * Each chunk is done with the dma-buf's reservation lock held, so the
 * exporter cannot move the buffer under an in-flight DMA. A region
 * invalidated by move_notify (before or during a transfer) is re-mapped
 * before its next chunk; the transfer goes on in the new location.
 *
 * Implicit synchronisation: before each chunk, the transfer waits for the
 * fences in a dma-buf side's reservation object, without holding its lock:
 * for all of them (DMA_RESV_USAGE_READ and below) on the destination, which
 * it writes, and for the writers' (DMA_RESV_USAGE_WRITE and below: the
 * exporter's moves, a DMA_BUF_IOCTL_IMPORT_SYNC_FILE with
 * DMA_BUF_SYNC_WRITE) on the source, which it reads. A fence that does not
 * signal before @timeout_ms fails the transfer with -ETIMEDOUT, no byte of
 * that chunk written; a signal while waiting fails it with -EINTR.
 *
 * A DMA still running at the deadline (or at a signal) gets a grace period
 * to end; past it the device loses bus mastering until the DMA is over, so
 * it never reaches memory after the call returns, and later transfers
 * work again once it is.
 *
 * Errors: -ENOENT unknown handle; -EINVAL zero length, flags, @timeout_ms
 * above the maximum, or the destination lacks write access; -EOVERFLOW offset + length overflows;
 * -ERANGE past a region's end; -ETIMEDOUT the device did not finish in
 * time, or a side's fences did not signal in time; -ENODEV the exporter
 * revoked the buffer (a pinned region stays revoked until deregistered; a
 * dynamic one asks the exporter again at its next transfer); -EREMOTEIO a
 * side registered with %P2PRDMA_REG_REQUIRE_P2P is now mapped from system
 * memory (nothing moved); -EINTR a signal arrived (the transfer may be
 * partly done); -EIO the device is still busy with a DMA that outlived an
 * earlier transfer.
 */
struct p2prdma_transfer {
	__u32 dst_handle;
	__u32 src_handle;
	__u64 dst_offset;
	__u64 src_offset;
	__u64 length;
	__u32 timeout_ms;
	__u32 flags;
	__u64 bytes_via_system;
};

/**
 * struct p2prdma_device_info - the NIC
 * @pci_domain: [out] PCI domain.
 * @pci_bus: [out] PCI bus.
 * @pci_devfn: [out] PCI devfn.
 * @dma_mask_bits: [out] width of the device's DMA mask.
 * @live_regions: [out] regions currently registered on this device (all
 * files), for leak checks.
 * @flags: [in] none defined yet: must be zero (room to grow: a flag may ask
 * for more information in later versions).
 *
 * Errors: -EINVAL unknown flags.
 */
struct p2prdma_device_info {
	__u32 pci_domain;
	__u32 pci_bus;
	__u32 pci_devfn;
	__u32 dma_mask_bits;
	__u32 live_regions;
	__u32 flags;
};

/* values of p2prdma_refusal.stage */
#define P2PRDMA_REFUSED_NONE	0	/* nothing refused on this file yet */
#define P2PRDMA_REFUSED_ATTACH	1	/* exporter declined p2p at attach */
#define P2PRDMA_REFUSED_MAP	2	/* its mapping was of system memory */

/**
 * struct p2prdma_refusal - the last strict registration this file refused
 * @flags: [in] none defined yet: must be zero.
 * @stage: [out] P2PRDMA_REFUSED_*: how the refusal was decided.
 * @error: [out] the errno the registration returned (EREMOTEIO), 0 with
 * %P2PRDMA_REFUSED_NONE.
 * @backing: [out] P2PRDMA_BACKING_* of the mapping that was refused
 * (UNMAPPED when the exporter declined before any mapping).
 * @dmabuf_ino: [out] inode number of the dma-buf (st_ino of fstat() on its
 * descriptor, "ino:" in /proc/<pid>/fdinfo/<fd>).
 * @offset: [out] as asked.
 * @length: [out] as asked.
 * @exporter: [out] NUL-terminated name of the exporter (its dma-buf's
 * exp_name: "drm" for a DRM PRIME export such as p2pgpu's).
 *
 * Strictness is the importer's policy, so the importer keeps the record:
 * the exporter saw an ordinary attachment come and go. Overwritten by each
 * refusal; regions and other errors leave it alone.
 *
 * Errors: -EINVAL unknown flags.
 */
struct p2prdma_refusal {
	__u32 flags;
	__u32 stage;
	__u32 error;
	__u32 backing;
	__u64 dmabuf_ino;
	__u64 offset;
	__u64 length;
	char exporter[32];
};

/*
 * 0xB9: no subsystem has it in the kernel's
 * Documentation/userspace-api/ioctl/ioctl-number.rst (checked in 6.12);
 * 'R', used before, overlapped linux/random.h (00-1F) and rfkill. An
 * upstream submission adds "0xB9  00-0F  p2prdma.h" to that table.
 */
#define P2PRDMA_IOCTL_BASE	0xB9
#define P2PRDMA_IOCTL_REG_DMABUF_MR \
	_IOWR(P2PRDMA_IOCTL_BASE, 0x00, struct p2prdma_reg_dmabuf_mr)
#define P2PRDMA_IOCTL_REG_USER_MR \
	_IOWR(P2PRDMA_IOCTL_BASE, 0x01, struct p2prdma_reg_user_mr)
#define P2PRDMA_IOCTL_DEREG_MR \
	_IOW(P2PRDMA_IOCTL_BASE, 0x02, struct p2prdma_dereg_mr)
#define P2PRDMA_IOCTL_QUERY_MR \
	_IOWR(P2PRDMA_IOCTL_BASE, 0x03, struct p2prdma_query_mr)
#define P2PRDMA_IOCTL_TRANSFER \
	_IOWR(P2PRDMA_IOCTL_BASE, 0x04, struct p2prdma_transfer)
#define P2PRDMA_IOCTL_DEVICE_INFO \
	_IOWR(P2PRDMA_IOCTL_BASE, 0x05, struct p2prdma_device_info)
#define P2PRDMA_IOCTL_QUERY_REFUSAL \
	_IOWR(P2PRDMA_IOCTL_BASE, 0x06, struct p2prdma_refusal)

#endif /* _UAPI_P2PRDMA_H_ */
