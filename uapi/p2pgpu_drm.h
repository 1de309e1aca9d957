/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * p2pgpu: a DRM driver whose VRAM is a PCI BAR, exporting buffers as dma-bufs
 * that peers map either peer-to-peer or through a system-memory staging copy.
 */
#ifndef _UAPI_P2PGPU_DRM_H_
#define _UAPI_P2PGPU_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: p2pgpu placements
 *
 * A buffer lives in VRAM (the device's PCI BAR) or in system memory.
 * Creation asks for one of the placements below; the buffer may move later
 * (eviction under VRAM pressure, staging for an importer that cannot reach
 * the BAR, P2PGPU_GEM_MIGRATE), unless pinned.
 *
 * %P2PGPU_PLACEMENT_VRAM: VRAM only; creation fails with -ENOSPC when VRAM
 * is full of pinned buffers, otherwise unpinned buffers are evicted.
 * %P2PGPU_PLACEMENT_SYSTEM: system memory only.
 * %P2PGPU_PLACEMENT_VRAM_PREFERRED: VRAM when there is room, else system
 * memory.
 */
#define P2PGPU_PLACEMENT_VRAM		1
#define P2PGPU_PLACEMENT_SYSTEM		2
#define P2PGPU_PLACEMENT_VRAM_PREFERRED	3

/**
 * DOC: p2pgpu attachment reasons
 *
 * Why an attachment is staged in system memory rather than mapped
 * peer-to-peer. %P2PGPU_REASON_NONE means the attachment is peer-to-peer.
 *
 * %P2PGPU_REASON_IMPORTER_NO_P2P: the importer did not set
 * allow_peer2peer in its dma_buf_attach_ops (static importers never do).
 * %P2PGPU_REASON_IMPORTER_NOT_PCI: the importing device is not a PCI device.
 * %P2PGPU_REASON_NO_COMMON_SWITCH: the devices share no PCI switch and the
 * host bridge is not on the kernel's P2PDMA allow-list.
 * %P2PGPU_REASON_ACS_REDIRECT: the devices share a switch but ACS redirects
 * peer traffic up to a host bridge that is not allow-listed.
 * %P2PGPU_REASON_KERNEL_NO_P2PDMA: the kernel was built without
 * CONFIG_PCI_P2PDMA (or without CONFIG_DMABUF_MOVE_NOTIFY, so the buffer
 * cannot be moved back into VRAM under a peer).
 * %P2PGPU_REASON_DISABLED_BY_PARAM: module parameter p2p=0.
 * %P2PGPU_REASON_PINNED_IN_SYSTEM: another importer pinned the buffer in
 * system memory.
 * %P2PGPU_REASON_SYSTEM_PLACEMENT: the buffer was created system-only.
 * %P2PGPU_REASON_MAP_REFUSED: p2p looked possible but the DMA API refused to
 * map the BAR for the importer (-EREMOTEIO).
 * %P2PGPU_REASON_NOT_REVOCABLE: the importer could reach the BAR but cannot
 * be revoked (kernels with dma_buf_attach_revocable(), 7.1 and later: it
 * has no invalidate_mappings callback, so it promises no unmap in bounded
 * time). VRAM is never pinned for such an importer, since an unbind could
 * not take the BAR back from it: it is staged in system memory instead of
 * refused, as any other importer that cannot use VRAM is.
 */
#define P2PGPU_REASON_NONE		0
#define P2PGPU_REASON_IMPORTER_NO_P2P	1
#define P2PGPU_REASON_IMPORTER_NOT_PCI	2
#define P2PGPU_REASON_NO_COMMON_SWITCH	3
#define P2PGPU_REASON_ACS_REDIRECT	4
#define P2PGPU_REASON_KERNEL_NO_P2PDMA	5
#define P2PGPU_REASON_DISABLED_BY_PARAM	6
#define P2PGPU_REASON_PINNED_IN_SYSTEM	7
#define P2PGPU_REASON_SYSTEM_PLACEMENT	8
#define P2PGPU_REASON_MAP_REFUSED	9
#define P2PGPU_REASON_NOT_REVOCABLE	10

#define DRM_P2PGPU_GEM_CREATE		0x00
#define DRM_P2PGPU_GEM_MMAP_OFFSET	0x01
#define DRM_P2PGPU_GEM_QUERY		0x02
#define DRM_P2PGPU_GEM_EXPORT_RANGE	0x03
#define DRM_P2PGPU_GEM_MIGRATE		0x04
#define DRM_P2PGPU_DEVICE_QUERY		0x05

/**
 * struct drm_p2pgpu_gem_create - create a buffer
 * @size: [in] size in bytes; rounded up to PAGE_SIZE; non-zero.
 * @placement: [in] one of P2PGPU_PLACEMENT_*.
 * @flags: [in] must be zero.
 * @handle: [out] GEM handle.
 * @pad: must be zero.
 *
 * Errors: -EINVAL bad placement, zero size, non-zero flags or pad;
 * -E2BIG size larger than the placement can ever hold; -ENOSPC no room
 * (VRAM full of pinned buffers); -ENOMEM.
 */
struct drm_p2pgpu_gem_create {
	__u64 size;
	__u32 placement;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/**
 * struct drm_p2pgpu_gem_mmap_offset - fake offset for mmap() on the DRM fd
 * @handle: [in] GEM handle.
 * @flags: [in] must be zero.
 * @offset: [out] offset to pass to mmap().
 *
 * Errors: -ENOENT unknown handle; -EINVAL non-zero flags.
 */
struct drm_p2pgpu_gem_mmap_offset {
	__u32 handle;
	__u32 flags;
	__u64 offset;
};

/* values of drm_p2pgpu_attachment_info.mapping */
#define P2PGPU_MAPPING_NONE	0	/* attached, not mapped now */
#define P2PGPU_MAPPING_P2P	1	/* mapped peer-to-peer to the BAR */
#define P2PGPU_MAPPING_STAGED	2	/* mapped from system memory */

/* bits of drm_p2pgpu_attachment_info.flags */
#define P2PGPU_ATTACH_DYNAMIC	(1u << 0)	/* importer handles move_notify */
#define P2PGPU_ATTACH_PEER2PEER	(1u << 1)	/* importer allows peer2peer */
#define P2PGPU_ATTACH_BUS_ADDR	(1u << 2)	/* last map: PCI bus addresses */
/*
 * The route P2PDMA gives the importer to the BAR, decided at attach time
 * (pci_p2pdma_map_type()); neither bit: no route (NOT_SUPPORTED, not a PCI
 * device, or no P2PDMA).
 */
/* by PCI bus address, below a common switch */
#define P2PGPU_ATTACH_MAP_BUS_ADDR	(1u << 3)
/* through the host bridge: by CPU physical address or IOVA */
#define P2PGPU_ATTACH_MAP_HOST_BRIDGE	(1u << 4)

/**
 * struct drm_p2pgpu_attachment_info - one attachment of a buffer's dma-buf
 * @importer: NUL-terminated dev_name() of the importing device.
 * @importer_driver: NUL-terminated name of its driver, "" if none.
 * @decision: P2PGPU_MAPPING_P2P or P2PGPU_MAPPING_STAGED, as decided at
 * attach time.
 * @mapping: P2PGPU_MAPPING_*: how it is mapped right now.
 * @reason: P2PGPU_REASON_*: why @decision is staged.
 * @distance: pci_p2pdma_distance() between the devices, -1 if none.
 * @flags: P2PGPU_ATTACH_* bits.
 * @map_count: times this attachment has been mapped.
 */
struct drm_p2pgpu_attachment_info {
	char importer[32];
	char importer_driver[32];
	__u32 decision;
	__u32 mapping;
	__u32 reason;
	__s32 distance;
	__u32 flags;
	__u32 map_count;
};

/* values of drm_p2pgpu_gem_query.placement */
#define P2PGPU_RESIDENT_VRAM	1
#define P2PGPU_RESIDENT_SYSTEM	2

/* bits of drm_p2pgpu_gem_query.flags (out) */
#define P2PGPU_BO_PINNED	(1u << 0)
#define P2PGPU_BO_EXPORTED	(1u << 1)

/**
 * struct drm_p2pgpu_gem_query - where a buffer is and who maps it
 * @handle: [in] GEM handle.
 * @num_attachments: [in] capacity of @attachments; [out] number of
 * attachments the buffer has (may exceed the capacity: only that many are
 * written).
 * @attachments: [in] user pointer to an array of
 * struct drm_p2pgpu_attachment_info, may be 0 when @num_attachments is 0.
 * @size: [out] size in bytes.
 * @placement: [out] P2PGPU_RESIDENT_*.
 * @flags: [out] P2PGPU_BO_* bits.
 * @move_count: [out] times the buffer changed placement.
 * @requested: [out] the P2PGPU_PLACEMENT_* it was created with.
 * @pad: must be zero.
 * @pad2: must be zero.
 *
 * Errors: -ENOENT unknown handle; -EFAULT bad @attachments; -EINVAL pad.
 */
struct drm_p2pgpu_gem_query {
	__u32 handle;
	__u32 num_attachments;
	__u64 attachments;
	__u64 size;
	__u32 placement;
	__u32 flags;
	__u32 move_count;
	__u32 requested;
	__u32 pad;
	__u32 pad2;
};

/**
 * struct drm_p2pgpu_gem_export_range - export a sub-range as its own dma-buf
 * @handle: [in] GEM handle.
 * @flags: [in] DRM_CLOEXEC and/or DRM_RDWR, nothing else.
 * @offset: [in] start, page aligned.
 * @length: [in] length, page aligned, non-zero, offset + length <= size.
 * @fd: [out] the dma-buf file descriptor.
 * @pad: must be zero.
 *
 * Errors: -ENOENT unknown handle; -EINVAL unaligned, zero, unknown flags,
 * pad; -ERANGE beyond the buffer; -EOVERFLOW offset + length overflows.
 */
struct drm_p2pgpu_gem_export_range {
	__u32 handle;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__s32 fd;
	__u32 pad;
};

/**
 * struct drm_p2pgpu_gem_migrate - move a buffer (e.g. evict it)
 * @handle: [in] GEM handle.
 * @placement: [in] P2PGPU_PLACEMENT_VRAM or P2PGPU_PLACEMENT_SYSTEM.
 * @flags: [in] none defined yet: must be zero (room to grow).
 * @pad: [in] must be zero.
 *
 * Dynamic importers get move_notify and re-map on next use. The move waits
 * first for every fence in the buffer's reservation object (an importer's
 * DMA, a DMA_BUF_IOCTL_IMPORT_SYNC_FILE of any direction): the content is
 * copied once its users are done with it.
 *
 * Errors: -ENOENT; -EINVAL bad placement, unknown flags, pad; -EBUSY
 * pinned elsewhere; -ENOSPC no VRAM; -ETIMEDOUT the buffer's fences did not signal within
 * 15 s (nothing moved); -EINTR a signal arrived while waiting for them.
 */
struct drm_p2pgpu_gem_migrate {
	__u32 handle;
	__u32 placement;
	__u32 flags;
	__u32 pad;
};

/* bits of drm_p2pgpu_device_query.caps */
#define P2PGPU_CAP_P2PDMA	(1u << 0)	/* kernel has CONFIG_PCI_P2PDMA */
#define P2PGPU_CAP_MOVE_NOTIFY	(1u << 1)	/* CONFIG_DMABUF_MOVE_NOTIFY */
#define P2PGPU_CAP_P2P_ENABLED	(1u << 2)	/* module parameter p2p=1 */

/**
 * struct drm_p2pgpu_device_query - the device and its VRAM
 * @vram_size: [out] bytes of VRAM (the BAR).
 * @vram_used: [out] bytes of VRAM in use.
 * @vram_pinned: [out] bytes of VRAM pinned.
 * @vram_pin_limit: [out] module parameter cap on pinned VRAM, bytes.
 * @bar_bus_addr: [out] PCI bus address of the VRAM BAR.
 * @caps: [out] P2PGPU_CAP_* bits.
 * @pci_domain: [out] PCI domain.
 * @pci_bus: [out] PCI bus.
 * @pci_devfn: [out] PCI devfn.
 * @pad: [out] zero, reserved.
 * @pad2: [out] zero, reserved.
 */
struct drm_p2pgpu_device_query {
	__u64 vram_size;
	__u64 vram_used;
	__u64 vram_pinned;
	__u64 vram_pin_limit;
	__u64 bar_bus_addr;
	__u32 caps;
	__u32 pci_domain;
	__u32 pci_bus;
	__u32 pci_devfn;
	__u32 pad;
	__u32 pad2;
};

#define DRM_IOCTL_P2PGPU_GEM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_P2PGPU_GEM_CREATE, struct drm_p2pgpu_gem_create)
#define DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_P2PGPU_GEM_MMAP_OFFSET, struct drm_p2pgpu_gem_mmap_offset)
#define DRM_IOCTL_P2PGPU_GEM_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_P2PGPU_GEM_QUERY, struct drm_p2pgpu_gem_query)
#define DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_P2PGPU_GEM_EXPORT_RANGE, struct drm_p2pgpu_gem_export_range)
#define DRM_IOCTL_P2PGPU_GEM_MIGRATE \
	DRM_IOW(DRM_COMMAND_BASE + DRM_P2PGPU_GEM_MIGRATE, struct drm_p2pgpu_gem_migrate)
#define DRM_IOCTL_P2PGPU_DEVICE_QUERY \
	DRM_IOR(DRM_COMMAND_BASE + DRM_P2PGPU_DEVICE_QUERY, struct drm_p2pgpu_device_query)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_P2PGPU_DRM_H_ */
