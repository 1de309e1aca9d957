/* SPDX-License-Identifier: MIT */
/*
 * libp2pbuf: userspace access to the p2pbuf drivers.
 *
 *   p2pgpu.ko   a DRM driver ("p2pgpu") whose VRAM is a PCI BAR; GEM buffers
 *               are exported as dma-bufs that importers map peer-to-peer or
 *               through a system-memory staging copy.
 *   p2prdma.ko  an RDMA-NIC-like device (/dev/p2prdma<N>) that registers
 *               memory regions from dma-bufs and user memory and moves data
 *               between them by DMA.
 *
 * Conventions
 *   - Every function returning int returns 0 (or a non-negative count) on
 *     success and a negative errno value on failure; errno is not relied on.
 *     p2pbuf_strerror() turns such a value into text, including the kernel's
 *     internal codes (ENOTSUPP = 524, ...) that libc does not know.
 *   - File descriptors opened by the library are O_CLOEXEC.
 *   - The library keeps no global state and is thread-compatible: distinct
 *     objects may be used from distinct threads without locking.
 *
 * Typical use
 *
 *	struct p2pbuf_gpu *gpu;  struct p2pbuf_nic *nic;  struct p2pbuf_bo *bo;
 *	int fd; uint32_t mr;
 *	p2pbuf_gpu_open(0, &gpu);
 *	p2pbuf_nic_open(0, &nic);
 *	p2pbuf_bo_create(gpu, 1 << 20, P2PGPU_PLACEMENT_VRAM, &bo);
 *	p2pbuf_bo_export(bo, &fd);
 *	p2pbuf_nic_reg_dmabuf(nic, fd, 0, 1 << 20, P2PRDMA_ACCESS_ALL, 0, &mr);
 *	...
 */
#ifndef P2PBUF_H
#define P2PBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p2pgpu_drm.h"
#include "p2prdma.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI (SONAME libp2pbuf.so.0)
 *   - Structures the library allocates (struct p2pbuf_gpu, _nic, _bo) are
 *     only ever used through pointers: they may grow at the end.
 *   - Structures the caller allocates and the library fills one at a time
 *     (p2pbuf_gpu_info, p2pbuf_nic_info, p2pbuf_bo_state, p2pbuf_probe) start
 *     with a size field and are filled by the *_ex() functions, which take
 *     the caller's sizeof() (as libibverbs' ibv_query_device_ex() takes
 *     attr_size): a newer library writes only what an older caller has room
 *     for, an older library zeroes what it does not know and says in ->size
 *     how many bytes it filled. The functions without _ex fill the layout of
 *     this first version.
 *   - Arrays the caller allocates (p2pbuf_gpu_desc, p2pbuf_nic_desc) have a
 *     fixed stride, so they carry zeroed reserved space for later fields.
 *   - The version of the library is p2pbuf_version(); it is defined once, as
 *     VERSION in the top-level Makefile.
 */

/**
 * P2PBUF_DRM_MAJOR - the p2pgpu DRM interface this library speaks: the major
 * version DRM_IOCTL_VERSION reports (drm_driver.major in exporter/
 * p2pgpu_drv.c). A different major is refused at open with -EPROTO;
 * minors only add. p2prdma reports no interface version (its uapi has none).
 */
#define P2PBUF_DRM_MAJOR 1

/** p2pbuf_version() - the library's version, e.g. "0.2.0". */
const char *p2pbuf_version(void);

/** Length of a PCI address string "dddd:bb:dd.f" plus its NUL. */
#define P2PBUF_PCI_ADDR_LEN 16
/** Maximum device node path length. */
#define P2PBUF_PATH_LEN 64

/* ------------------------------------------------------------------ */
/* Errors and explanations                                             */
/* ------------------------------------------------------------------ */

/**
 * p2pbuf_strerror() - text for a (negative or positive) errno value.
 * Knows the kernel-internal codes that leak to userspace (ERESTARTSYS 512,
 * ENOIOCTLCMD 515, ENOTSUPP 524, EPROBE_DEFER 517, ...), so it never
 * returns "Unknown error 524". Needs no glibc extension (strerror_r).
 * Returns a string valid until the next call in the same thread.
 */
const char *p2pbuf_strerror(int err);

/** p2pbuf_reason_str() - short name of a P2PGPU_REASON_* ("no-common-switch"). */
const char *p2pbuf_reason_str(uint32_t reason);

/**
 * p2pbuf_reason_explain() - a sentence or two: what a P2PGPU_REASON_* means,
 * its likely cause and how to fix it. Never NULL, for any value.
 */
const char *p2pbuf_reason_explain(uint32_t reason);

/** p2pbuf_mapping_str() - "none", "p2p", "staged" for P2PGPU_MAPPING_*. */
const char *p2pbuf_mapping_str(uint32_t mapping);

/** p2pbuf_backing_str() - "unmapped", "peer", "system" for P2PRDMA_BACKING_*. */
const char *p2pbuf_backing_str(uint32_t backing);

/** p2pbuf_pci_addr() - format a PCI address as "dddd:bb:dd.f" into @buf. */
void p2pbuf_pci_addr(char buf[P2PBUF_PCI_ADDR_LEN], uint32_t domain,
		     uint32_t bus, uint32_t devfn);

/**
 * p2pbuf_pci_parse() - read "dddd:bb:dd.f" or "bb:dd.f" (hex, either case)
 * into the canonical form p2pbuf_pci_addr() writes. -EINVAL if @s is not a
 * PCI address.
 */
int p2pbuf_pci_parse(const char *s, char out[P2PBUF_PCI_ADDR_LEN]);

/* ------------------------------------------------------------------ */
/* GPUs (p2pgpu DRM devices)                                           */
/* ------------------------------------------------------------------ */

/** struct p2pbuf_gpu_desc - a p2pgpu device found by enumeration. */
struct p2pbuf_gpu_desc {
	char node[P2PBUF_PATH_LEN];	/* render node, or primary if none */
	char pci[P2PBUF_PCI_ADDR_LEN];	/* "dddd:bb:dd.f" or "" */
	int32_t drv_major, drv_minor;	/* DRM_IOCTL_VERSION of the driver */
	uint32_t reserved[6];		/* zero; room for later fields */
};

/**
 * p2pbuf_gpu_list() - find the GPUs driven by "p2pgpu", via libdrm
 * (drmGetDevices2 + drmGetVersion: no hard-coded paths), in PCI address
 * order (the order of the indexes p2pbuf_gpu_open() takes), whatever
 * order libdrm returns them in.
 * @out: array of @max entries (may be NULL when @max is 0).
 * Returns the number of GPUs found (may exceed @max; only @max are
 * written), or a negative errno.
 */
int p2pbuf_gpu_list(struct p2pbuf_gpu_desc *out, int max);

/** struct p2pbuf_gpu - an open p2pgpu device. Fields are read-only. */
struct p2pbuf_gpu {
	int fd;				/* DRM file descriptor */
	char node[P2PBUF_PATH_LEN];
	char pci[P2PBUF_PCI_ADDR_LEN];
};

/** p2pbuf_gpu_open() - open the @index'th GPU of p2pbuf_gpu_list(). -ENODEV if none. */
int p2pbuf_gpu_open(int index, struct p2pbuf_gpu **out);
/** p2pbuf_gpu_open_path() - open a given DRM node; -ENODEV if not p2pgpu. */
int p2pbuf_gpu_open_path(const char *node, struct p2pbuf_gpu **out);
/**
 * p2pbuf_gpu_open_pci() - open the GPU at PCI address @pci ("0000:03:00.0"
 * or "03:00.0"). -EINVAL if @pci is not an address, -ENODEV if no p2pgpu
 * GPU is there.
 */
int p2pbuf_gpu_open_pci(const char *pci, struct p2pbuf_gpu **out);
/**
 * p2pbuf_gpu_open_fd() - wrap a DRM fd the caller already has (e.g. from a
 * compositor or a launcher). The library works on its own duplicate
 * (F_DUPFD_CLOEXEC), so the caller keeps and closes @fd as before.
 * -ENODEV if @fd is not a p2pgpu device.
 */
int p2pbuf_gpu_open_fd(int fd, struct p2pbuf_gpu **out);
/** p2pbuf_gpu_close() - close; NULL is a no-op. Buffers must be destroyed first. */
void p2pbuf_gpu_close(struct p2pbuf_gpu *gpu);

/** struct p2pbuf_gpu_info - DEVICE_QUERY, decoded. New fields go at the end. */
struct p2pbuf_gpu_info {
	uint32_t size;			/* [out] bytes the library filled */
	uint32_t caps;			/* P2PGPU_CAP_* */
	char pci[P2PBUF_PCI_ADDR_LEN];
	uint64_t vram_size, vram_used, vram_pinned, vram_pin_limit;
	uint64_t bar_bus_addr;
	int32_t drv_major, drv_minor;	/* DRM_IOCTL_VERSION of the driver */
};

/**
 * p2pbuf_gpu_info_ex() - device and VRAM state.
 * @info_size: sizeof(*@info) as the caller was compiled; -EINVAL if smaller
 * than the first version of the structure.
 */
int p2pbuf_gpu_info_ex(struct p2pbuf_gpu *gpu, struct p2pbuf_gpu_info *info,
		       size_t info_size);
/** p2pbuf_gpu_info() - p2pbuf_gpu_info_ex() with the first version's size. */
int p2pbuf_gpu_info(struct p2pbuf_gpu *gpu, struct p2pbuf_gpu_info *info);

/* ------------------------------------------------------------------ */
/* Buffers                                                              */
/* ------------------------------------------------------------------ */

/** struct p2pbuf_bo - a GEM buffer. Fields are read-only. */
struct p2pbuf_bo {
	struct p2pbuf_gpu *gpu;
	uint32_t handle;
	uint64_t size;		/* page-rounded size */
	void *map;		/* CPU mapping from p2pbuf_bo_mmap(), or NULL */
};

/** p2pbuf_bo_create() - create a buffer; @placement is P2PGPU_PLACEMENT_*. */
int p2pbuf_bo_create(struct p2pbuf_gpu *gpu, uint64_t size, uint32_t placement,
		     struct p2pbuf_bo **out);
/** p2pbuf_bo_destroy() - unmap and close the GEM handle; NULL is a no-op. */
void p2pbuf_bo_destroy(struct p2pbuf_bo *bo);
/**
 * p2pbuf_bo_mmap() - map the whole buffer read/write (shared) for the CPU.
 * Idempotent: returns the existing mapping if there is one.
 */
int p2pbuf_bo_mmap(struct p2pbuf_bo *bo, void **ptr);
/** p2pbuf_bo_munmap() - drop the CPU mapping, if any. */
void p2pbuf_bo_munmap(struct p2pbuf_bo *bo);

/** struct p2pbuf_bo_state - GEM_QUERY, without the attachments. */
struct p2pbuf_bo_state {
	uint32_t struct_size;	/* [out] bytes the library filled */
	uint32_t reserved0;	/* zero */
	uint64_t size;
	uint32_t placement;	/* P2PGPU_RESIDENT_* */
	uint32_t flags;		/* P2PGPU_BO_* */
	uint32_t move_count;
	uint32_t requested;	/* P2PGPU_PLACEMENT_* */
	uint32_t num_attachments; /* total, may exceed what was returned */
};

/**
 * p2pbuf_bo_query() - where the buffer is and who maps it.
 * @att: array of *@n attachment records to fill (may be NULL when *@n is 0).
 * @n: [in] capacity of @att; [out] number written (<= capacity).
 * @st: [out] state, may be NULL; st->num_attachments is the total count.
 */
int p2pbuf_bo_query(struct p2pbuf_bo *bo, struct p2pbuf_bo_state *st,
		    struct drm_p2pgpu_attachment_info *att, unsigned int *n);
/** p2pbuf_bo_query_ex() - p2pbuf_bo_query() with sizeof(*@st) in @st_size. */
int p2pbuf_bo_query_ex(struct p2pbuf_bo *bo, struct p2pbuf_bo_state *st,
		       size_t st_size, struct drm_p2pgpu_attachment_info *att,
		       unsigned int *n);

/**
 * p2pbuf_bo_find_attachment() - query and pick the attachment whose importer
 * dev_name() equals @importer (e.g. a NIC's PCI address).
 * Returns 0 and fills @out, -ENOENT if there is no such attachment.
 */
int p2pbuf_bo_find_attachment(struct p2pbuf_bo *bo, const char *importer,
			      struct drm_p2pgpu_attachment_info *out);

/**
 * p2pbuf_bo_import() - a buffer from a dma-buf fd received from another
 * process (PRIME import into @gpu; the fd stays the caller's). The
 * exporter decides whether @gpu can import it (a p2pgpu dma-buf of the same
 * device always can). Destroy with p2pbuf_bo_destroy(). DRM gives an object
 * one handle per open file: importing a buffer this same struct p2pbuf_gpu
 * exported returns a second p2pbuf_bo with the first one's handle, and
 * destroying either closes that handle for both.
 */
int p2pbuf_bo_import(struct p2pbuf_gpu *gpu, int dmabuf_fd,
		     struct p2pbuf_bo **out);
/** p2pbuf_bo_export() - PRIME export as a dma-buf fd (DRM_CLOEXEC | DRM_RDWR). */
int p2pbuf_bo_export(struct p2pbuf_bo *bo, int *fd);
/** p2pbuf_bo_export_range() - export a page-aligned sub-range as its own dma-buf. */
int p2pbuf_bo_export_range(struct p2pbuf_bo *bo, uint64_t offset,
			   uint64_t length, int *fd);
/** p2pbuf_bo_migrate() - move to P2PGPU_PLACEMENT_VRAM or _SYSTEM. */
int p2pbuf_bo_migrate(struct p2pbuf_bo *bo, uint32_t placement);

/* ------------------------------------------------------------------ */
/* NICs (p2prdma)                                                       */
/* ------------------------------------------------------------------ */

/** struct p2pbuf_nic_desc - a NIC found by enumeration. */
struct p2pbuf_nic_desc {
	char node[P2PBUF_PATH_LEN];	/* /dev/p2prdma<N> */
	char pci[P2PBUF_PCI_ADDR_LEN];	/* from DEVICE_INFO */
	uint32_t reserved[8];		/* zero; room for later fields */
};

/**
 * p2pbuf_nic_list() - the /dev/p2prdma<N> devices in N order, each asked its
 * PCI address. Returns the count (may exceed @max) or a negative errno.
 */
int p2pbuf_nic_list(struct p2pbuf_nic_desc *out, int max);

/** struct p2pbuf_nic - an open NIC. Regions belong to this open file. */
struct p2pbuf_nic {
	int fd;
	char node[P2PBUF_PATH_LEN];
	char pci[P2PBUF_PCI_ADDR_LEN];
};

int p2pbuf_nic_open(int index, struct p2pbuf_nic **out);
int p2pbuf_nic_open_path(const char *node, struct p2pbuf_nic **out);
/** p2pbuf_nic_open_pci() - the NIC at PCI address @pci; -ENODEV if none. */
int p2pbuf_nic_open_pci(const char *pci, struct p2pbuf_nic **out);
/** p2pbuf_nic_close() - close; deregisters every region of this file. */
void p2pbuf_nic_close(struct p2pbuf_nic *nic);

/** struct p2pbuf_nic_info - DEVICE_INFO, decoded. New fields go at the end. */
struct p2pbuf_nic_info {
	uint32_t size;			/* [out] bytes the library filled */
	char pci[P2PBUF_PCI_ADDR_LEN];
	uint32_t dma_mask_bits;
	uint32_t live_regions;
};
/** p2pbuf_nic_info_ex() - as p2pbuf_gpu_info_ex(), for a NIC. */
int p2pbuf_nic_info_ex(struct p2pbuf_nic *nic, struct p2pbuf_nic_info *info,
		       size_t info_size);
int p2pbuf_nic_info(struct p2pbuf_nic *nic, struct p2pbuf_nic_info *info);

/**
 * p2pbuf_nic_reg_dmabuf() - register [@offset, @offset + @length) of a dma-buf
 * at iova @offset (p2pbuf_nic_reg_dmabuf_iova() chooses it). @flags:
 * P2PRDMA_REG_*. The fd may be closed afterwards.
 *
 * Strict mode: with P2PRDMA_REG_REQUIRE_P2P in @flags the NIC must reach the
 * buffer peer-to-peer; where the exporter would stage it in system memory
 * the call fails with -EREMOTEIO, nothing stays registered, and
 * p2pbuf_nic_last_refusal_ex() says what was refused. Transfers on such a
 * region fail with -EREMOTEIO, rather than go through system memory, if the
 * exporter later moves the buffer there.
 */
int p2pbuf_nic_reg_dmabuf(struct p2pbuf_nic *nic, int dmabuf_fd,
			  uint64_t offset, uint64_t length, uint32_t access,
			  uint32_t flags, uint32_t *handle);
/**
 * p2pbuf_nic_reg_dmabuf_iova() - as ibv_reg_dmabuf_mr(): the caller chooses
 * the region's @iova (its page offset must equal @offset's).
 */
int p2pbuf_nic_reg_dmabuf_iova(struct p2pbuf_nic *nic, int dmabuf_fd,
			       uint64_t offset, uint64_t length, uint64_t iova,
			       uint32_t access, uint32_t flags,
			       uint32_t *handle);
/** p2pbuf_nic_reg_user() - register (pin) user memory. */
int p2pbuf_nic_reg_user(struct p2pbuf_nic *nic, void *addr, uint64_t length,
			uint32_t access, uint32_t *handle);
int p2pbuf_nic_dereg(struct p2pbuf_nic *nic, uint32_t handle);
int p2pbuf_nic_query_mr(struct p2pbuf_nic *nic, uint32_t handle,
			struct p2prdma_query_mr *out);
/** struct p2pbuf_refusal - the last strict registration a NIC file refused. */
struct p2pbuf_refusal {
	uint32_t size;		/* [out] bytes the library filled */
	uint32_t stage;		/* P2PRDMA_REFUSED_*; NONE: nothing refused yet */
	int error;		/* negative errno it returned (-EREMOTEIO), 0 if none */
	uint32_t backing;	/* P2PRDMA_BACKING_* of the refused mapping */
	uint64_t dmabuf_ino;	/* st_ino of the dma-buf (fstat() on its fd) */
	uint64_t offset;	/* the range asked for */
	uint64_t length;
	char exporter[32];	/* its exp_name ("drm": a PRIME export) */
};

/**
 * p2pbuf_nic_last_refusal_ex() - the last registration with
 * P2PRDMA_REG_REQUIRE_P2P that @nic's open file refused, into @out of
 * @out_size bytes (sizeof(*out)). The exporter's own reason is its to tell:
 * for a p2pgpu buffer, p2pbuf_probe_pair() (`p2pctl explain`) gives it.
 * Returns 0 or a negative errno (-ENOTTY: p2prdma predates strict mode).
 */
int p2pbuf_nic_last_refusal_ex(struct p2pbuf_nic *nic,
			       struct p2pbuf_refusal *out, size_t out_size);
/** p2pbuf_refusal_stage_str() - "attach", "map" or "none". */
const char *p2pbuf_refusal_stage_str(uint32_t stage);

/**
 * p2pbuf_nic_transfer() - DMA @length bytes from region @src at @src_off to
 * region @dst at @dst_off. @timeout_ms 0 = driver default.
 * @bytes_via_system: [out, may be NULL] bytes staged through system memory.
 */
int p2pbuf_nic_transfer(struct p2pbuf_nic *nic, uint32_t dst, uint64_t dst_off,
			uint32_t src, uint64_t src_off, uint64_t length,
			uint32_t timeout_ms, uint64_t *bytes_via_system);

/* ------------------------------------------------------------------ */
/* Passing dma-buf fds between processes                                */
/* ------------------------------------------------------------------ */

/**
 * p2pbuf_send_fd() - send @fd (SCM_RIGHTS) plus @len bytes of @data (at
 * least one byte is always sent) over the unix socket @sock.
 * @fd may be -1 to send only data.
 */
int p2pbuf_send_fd(int sock, int fd, const void *data, size_t len);

/**
 * p2pbuf_recv_fd() - receive one message sent by p2pbuf_send_fd().
 * @fd: [out] the received descriptor (O_CLOEXEC), -1 if none came.
 * Returns the number of payload bytes received (0 = peer closed; with
 * @data NULL a one-byte dummy buffer is used, so 1 = a message came), or a
 * negative errno. -EMSGSIZE if the payload or the fds were truncated
 * (any extra fds are closed).
 */
ssize_t p2pbuf_recv_fd(int sock, int *fd, void *data, size_t len);

/* ------------------------------------------------------------------ */
/* Probing a GPU -> NIC pair                                            */
/* ------------------------------------------------------------------ */

/** struct p2pbuf_probe - what p2pbuf_probe_pair() found. */
struct p2pbuf_probe {
	uint32_t size;		/* [out] bytes the library filled */
	int error;		/* 0, or negative errno of the failed step */
	const char *failed_step;/* "create", "export", "reg-dmabuf", ... or NULL */
	uint32_t decision;	/* P2PGPU_MAPPING_P2P / _STAGED */
	uint32_t mapping;	/* P2PGPU_MAPPING_* at query time */
	uint32_t reason;	/* P2PGPU_REASON_* */
	int32_t distance;	/* pci_p2pdma_distance, -1 if none */
	uint32_t att_flags;	/* P2PGPU_ATTACH_* */
	uint32_t backing;	/* P2PRDMA_BACKING_* of the NIC's region */
	uint32_t mr_flags;	/* P2PRDMA_MR_* */
	uint64_t bytes;		/* bytes transferred */
	uint64_t bytes_via_system;
	int verified;		/* 1: the CPU read back what the NIC wrote */
};

/**
 * p2pbuf_probe_pair() - find out how @nic reaches @gpu's VRAM: create a
 * one-page VRAM buffer, export it, register it on the NIC, DMA one page into
 * it from a user region (the NIC maps lazily on first use), then read the
 * attachment whose importer is the NIC, check the data and clean up.
 * Returns 0 when the probe ran (see @res), or the negative errno of the step
 * that failed (also in res->error / res->failed_step).
 */
int p2pbuf_probe_pair(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
		      struct p2pbuf_probe *res);
/** p2pbuf_probe_pair_ex() - p2pbuf_probe_pair() with sizeof(*@res). */
int p2pbuf_probe_pair_ex(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
			 struct p2pbuf_probe *res, size_t res_size);

#ifdef __cplusplus
}
#endif

#endif /* P2PBUF_H */
