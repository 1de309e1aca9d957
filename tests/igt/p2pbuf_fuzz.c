// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbuf_fuzz: a bounded, seeded random ioctl fuzzer for p2pgpu and
 * p2prdma. Random ioctl numbers, sizes and fields (valid and invalid
 * handles, flags, pads, offsets, lengths, overflowing ranges, descriptors
 * of the wrong type, bad pointers) are interleaved with valid create,
 * export, register, transfer, deregister and close calls so that real
 * objects exist to be hit.
 *
 * Every answer is judged against the ioctl's own contract:
 * - each ioctl has the set of errnos its uapi comment documents
 *   (uapi/p2pgpu_drm.h, uapi/p2prdma.h; the DRM core's for GEM_CLOSE and
 *   PRIME, EFAULT where the fuzzer passed a bad pointer); any other errno
 *   fails the run;
 * - a call the fuzzer built to be valid (live objects, arguments within
 *   the documented bounds) must succeed; only the documented answers to
 *   the objects' state (a pinned buffer's -EBUSY, no VRAM's -ENOSPC) are
 *   allowed instead;
 * - a call with an argument the uapi rejects must fail;
 * - every transfer that succeeds between regions the fuzzer can see with
 *   the CPU is checked byte for byte: valid transfers write a fresh
 *   position-keyed pattern (p2pbuf_pattern.h) into the source first, and
 *   the destination must hold it, at the right offset (a dma-buf region is
 *   read through the buffer's own GEM mmap at range offset + region offset
 *   + transfer offset), with the bytes just outside it untouched;
 * - a run must make real transfers: at least one per 4 s of its time
 *   bound (P2PBUF_FUZZ_MIN_TRANSFERS overrides).
 * Afterwards both drivers' object counters (debugfs) must be back to zero
 * and the drivers must still work.
 *
 * P2PBUF_FUZZ_SEED (default fixed), P2PBUF_FUZZ_SECONDS (default 120) and
 * P2PBUF_FUZZ_OPS (default 1000000) bound a run; the seed and the number
 * of iterations made are printed: rerun with P2PBUF_FUZZ_SEED and
 * P2PBUF_FUZZ_OPS set to them to replay a run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/eventfd.h>

#include "p2pbuf_common.h"
#include "p2pbuf_pattern.h"
#include "p2pbuf_sync.h"

#define SLOTS		12
#define UBUF_SIZE	(64 << 10)
#define DEFAULT_SEED	0x70327062756655ULL
#define MAX_XFER	300

static uint64_t rng, seed0;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(uint32_t percent)
{
	return below(100) < percent;
}

/*
 * What the fuzzer knows of its objects. A buffer has a uid for its whole
 * life (a dma-buf and a region remember it after the handle is closed).
 */
struct bo {
	uint32_t handle, uid, placement;
	uint64_t size;
};

struct dbuf {
	int fd;
	uint64_t size;		/* 0: unknown */
	uint32_t uid;		/* the buffer's, 0: unknown */
	uint32_t handle;	/* the handle it was exported from */
	uint32_t placement;	/* the buffer's, 0: unknown */
	bool range;		/* an EXPORT_RANGE dma-buf */
	uint64_t range_off;	/* where it starts in the buffer */
};

struct mr {
	uint32_t handle;
	uint64_t length;
	bool user, pinned;
	bool strict;		/* P2PRDMA_REG_REQUIRE_P2P: never staged */
	uint32_t uid;		/* dma-buf regions: the buffer's uid */
	uint64_t bo_off;	/* dma-buf regions: where it starts in the buffer */
	uint8_t *view;		/* the CPU's view of byte 0, NULL: none */
	void *map;		/* a mapping made for @view */
	size_t map_len;
	bool has_sync;		/* dma-buf regions with a view: @sync_fd */
	int sync_fd;		/* a dma-buf fd of the buffer for DMA_BUF_IOCTL_SYNC */
};

static int gpu = -1, nic = -1;
static struct bo bos[SLOTS];
static struct dbuf dbufs[SLOTS];
static struct mr mrs[SLOTS];
static uint8_t *ubuf;
static int devnull = -1, efd = -1, pipefd[2] = { -1, -1 };
static void *unmapped;
static int pg;
static uint32_t next_uid = 1;

static struct {
	unsigned long calls, ok;
	unsigned long creates, exports, regs, transfers, verified, valid;
} st;

/* a "interesting" 64-bit value */
static uint64_t rv64(void)
{
	static const uint64_t special[] = {
		0, 1, 2, 7, 4095, 4096, 4097, 8192, 0x10000, 0x100000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		1ULL << 40, 1ULL << 47, 1ULL << 63, ~0ULL, ~0ULL - 4095,
		~0ULL - 4096, 0xfffffffffffff000ULL,
	};

	switch (below(4)) {
	case 0:
		return special[below(sizeof(special) / sizeof(special[0]))];
	case 1:
		return (uint64_t)below(64) * pg;
	case 2:
		return below(1 << 20);
	default:
		return rnd();
	}
}

static uint32_t rv32(void)
{
	return chance(60) ? (uint32_t)below(8) : (uint32_t)rv64();
}

/* a user pointer: mostly valid, else NULL, tiny, kernel or unmapped */
static void *rptr(void *valid)
{
	switch (below(10)) {
	case 0:
		return NULL;
	case 1:
		return (void *)1;
	case 2:
		return (void *)0xffff888000000000ULL;
	case 3:
		return unmapped;
	default:
		return valid;
	}
}

static struct bo *find_bo(uint32_t handle)
{
	for (int i = 0; i < SLOTS; i++)
		if (handle && bos[i].handle == handle)
			return &bos[i];
	return NULL;
}

static uint32_t pick_gem(void)
{
	struct bo *b = &bos[below(SLOTS)];

	if (b->handle && chance(85))
		return b->handle;
	return chance(50) ? below(64) : (uint32_t)rnd();
}

static struct dbuf *pick_fd(int *fd)
{
	struct dbuf *d = &dbufs[below(SLOTS)];

	if (d->fd >= 0 && chance(75)) {
		*fd = d->fd;
		return d;
	}
	switch (below(8)) {
	case 0:
		*fd = gpu;
		break;
	case 1:
		*fd = nic;
		break;
	case 2:
		*fd = devnull;
		break;
	case 3:
		*fd = efd;
		break;
	case 4:
		*fd = pipefd[0];
		break;
	case 5:
		*fd = -1;
		break;
	case 6:
		*fd = 1000 + below(1000);	/* not open */
		break;
	default:
		*fd = (int)rnd();
	}
	return NULL;
}

static uint32_t pick_mr(struct mr **m)
{
	struct mr *r = &mrs[below(SLOTS)];

	*m = NULL;
	if (r->handle && chance(85)) {
		*m = r;
		return r->handle;
	}
	return chance(50) ? below(64) : (uint32_t)rnd();
}

/*
 * The contract of one call: the errnos its ioctl may answer, and whether
 * the fuzzer built it valid (must succeed, or answer one of @state_ok,
 * the documented answers to the objects' state) or with an argument the
 * uapi rejects (must fail).
 */
enum expect { ANY, VALID, INVALID };

#define ERRS(...) ((const int[]){ __VA_ARGS__, 0 })

static const int *const E_CREATE = ERRS(EINVAL, E2BIG, ENOSPC, ENOMEM);
static const int *const E_MMAP_OFFSET = ERRS(ENOENT, EINVAL);
static const int *const E_QUERY = ERRS(ENOENT, EFAULT, EINVAL);
static const int *const E_EXPORT_RANGE = ERRS(ENOENT, EINVAL, ERANGE, EOVERFLOW);
static const int *const E_MIGRATE = ERRS(ENOENT, EINVAL, EBUSY, ENOSPC);
static const int *const E_DEVICE_QUERY = ERRS(EFAULT);
/* DRM core: drm_gem_close_ioctl(), drm_prime_*_ioctl() */
static const int *const E_GEM_CLOSE = ERRS(EINVAL);
static const int *const E_HANDLE_TO_FD = ERRS(ENOENT, EINVAL);
static const int *const E_FD_TO_HANDLE = ERRS(EBADF, EINVAL, EOPNOTSUPP);
/* any p2pgpu ioctl, any core one that is refused (unknown number: EINVAL) */
static const int *const E_RAW_GPU = ERRS(EINVAL, E2BIG, ENOSPC, ENOMEM, ENOENT,
					 EFAULT, EBUSY, ERANGE, EOVERFLOW);
static const int *const E_REG_DMABUF = ERRS(EBADF, EINVAL, EACCES, EOVERFLOW,
					    ERANGE, ENOSPC, ENODEV, EOPNOTSUPP,
					    ENOMEM, EREMOTEIO);
#define REG_FLAGS (P2PRDMA_REG_PINNED | P2PRDMA_REG_REQUIRE_P2P)
#define P2PRDMA_WRITE_BITS (P2PRDMA_ACCESS_LOCAL_WRITE | P2PRDMA_ACCESS_REMOTE_WRITE)

static const int *const E_REG_USER = ERRS(EINVAL, EOVERFLOW, EFAULT, ENOMEM);
static const int *const E_DEREG = ERRS(ENOENT, EINVAL);
static const int *const E_QUERY_MR = ERRS(ENOENT, EINVAL, EFAULT);
static const int *const E_TRANSFER = ERRS(ENOENT, EINVAL, EOVERFLOW, ERANGE,
					  ETIMEDOUT, ENODEV, EINTR, EIO, EFAULT,
					  EREMOTEIO);
static const int *const E_DEVICE_INFO = ERRS(EFAULT);
static const int *const E_RAW_NIC = ERRS(EBADF, EINVAL, EACCES, EOVERFLOW, ERANGE,
					 ENOSPC, ENODEV, EOPNOTSUPP, ENOMEM,
					 EFAULT, ENOENT, ETIMEDOUT, EINTR, EIO,
					 EREMOTEIO);
static const int *const E_UNKNOWN_NIC = ERRS(ENOTTY);
static const int *const E_NONE = ERRS(0);

static bool errno_in(int err, const int *set)
{
	for (; *set; set++)
		if (err == *set)
			return true;
	return false;
}

static void check(const char *what, int ret, const int *allowed,
		  enum expect ex, const int *state_ok, const char *why)
{
	st.calls++;
	if (ex == VALID)
		st.valid++;
	if (!ret) {
		st.ok++;
		igt_assert_f(ex != INVALID,
			     "%s (call %lu): succeeded, but the fuzzer built it invalid: %s\n",
			     what, st.calls, why);
		return;
	}
	igt_assert_f(ret < 0 && errno_in(-ret, allowed),
		     "%s (call %lu): errno %d (%s) is not one the uapi documents for it\n",
		     what, st.calls, -ret, ret < 0 ? strerror(-ret) : "positive");
	igt_assert_f(ex != VALID || errno_in(-ret, state_ok),
		     "%s (call %lu): a valid call failed with %s (%s)\n",
		     what, st.calls, strerror(-ret), why);
}

/*
 * Every CPU view the fuzzer maps is also recorded here, so that none can
 * outlive the run (a mapping holds its buffer and its file).
 */
#define MAX_VIEWS	64
static struct { void *p; size_t len; } views[MAX_VIEWS];
static unsigned long views_made, views_unmapped;

static void *view_map(size_t len, int fd, off_t off)
{
	void *p;
	int i;

	for (i = 0; i < MAX_VIEWS && views[i].p; i++)
		;
	if (i == MAX_VIEWS)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (p == MAP_FAILED)
		return NULL;
	views[i].p = p;
	views[i].len = len;
	views_made++;
	return p;
}

static void view_unmap(void *p)
{
	for (int i = 0; i < MAX_VIEWS; i++)
		if (views[i].p == p) {
			igt_assert_f(munmap(p, views[i].len) == 0,
				     "munmap %p: %s\n", p, strerror(errno));
			views[i].p = NULL;
			views_unmapped++;
		}
}

static void unmap_mr(struct mr *m)
{
	if (m->map)
		view_unmap(m->map);
	m->map = NULL;
	m->view = NULL;
	if (m->has_sync)
		close(m->sync_fd);
	m->has_sync = false;
}

/*
 * The CPU reads or writes a dma-buf region's view only between
 * DMA_BUF_IOCTL_SYNCs, as the dma-buf contract asks: a staged mapping may
 * bounce (swiotlb), and only the exporter's sync moves the bytes between
 * the NIC's bounce buffer and the pages the view shows.
 */
static void mr_cpu(struct mr *m, uint64_t flags)
{
	if (m->has_sync)
		p2p_dmabuf_sync(m->sync_fd, flags);
}

static void put_bo(uint32_t handle, uint64_t size, uint32_t uid,
		   uint32_t placement)
{
	if (find_bo(handle))
		return;
	for (int i = 0; i < SLOTS; i++)
		if (!bos[i].handle) {
			bos[i] = (struct bo){ handle, uid, placement, size };
			return;
		}
	__p2p_gem_close(gpu, handle);
}

static void put_dbuf(int fd, uint64_t size, struct bo *b, bool range,
		     uint64_t range_off)
{
	for (int i = 0; i < SLOTS; i++)
		if (dbufs[i].fd < 0) {
			dbufs[i] = (struct dbuf){ .fd = fd, .size = size,
				.range = range, .range_off = range_off };
			if (b) {
				dbufs[i].uid = b->uid;
				dbufs[i].handle = b->handle;
				dbufs[i].placement = b->placement;
			}
			return;
		}
	close(fd);
}

static void put_mr(struct mr *m)
{
	for (int i = 0; i < SLOTS; i++)
		if (!mrs[i].handle) {
			mrs[i] = *m;
			return;
		}
	unmap_mr(m);
	__p2p_dereg(nic, m->handle);
}

static void forget_gem(uint32_t handle)
{
	for (int i = 0; i < SLOTS; i++)
		if (bos[i].handle == handle)
			bos[i].handle = 0;
}

static void forget_mr(uint32_t handle)
{
	for (int i = 0; i < SLOTS; i++)
		if (mrs[i].handle == handle) {
			unmap_mr(&mrs[i]);
			mrs[i].handle = 0;
		}
}

static void op_create(void)
{
	struct drm_p2pgpu_gem_create c = {};
	enum expect ex = ANY;
	int ret;

	if (chance(60)) {
		c.size = (1 + below(16)) * (uint64_t)pg - (chance(10) ? 1 : 0);
		c.placement = 1 + below(3);
		/* small, any placement: VRAM is never all pinned here */
		ex = VALID;
	} else {
		c.size = rv64();
		c.placement = rv32();
		c.flags = chance(70) ? 0 : rv32();
		c.pad = chance(70) ? 0 : rv32();
		if (!c.size || c.flags || c.pad || c.placement < 1 ||
		    c.placement > 3)
			ex = INVALID;
	}
	ret = __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &c);
	check("GEM_CREATE", ret, E_CREATE, ex, E_NONE,
	      "a small buffer, a valid placement");
	if (ret)
		return;
	st.creates++;
	/* big ones are not kept: mapping them would populate gigabytes */
	if (c.size <= (4 << 20))
		put_bo(c.handle, (c.size + pg - 1) & ~(uint64_t)(pg - 1),
		       next_uid++, c.placement);
	else
		__p2p_gem_close(gpu, c.handle);
}

static void op_gem_close(void)
{
	uint32_t h = pick_gem();
	int ret = __p2p_gem_close(gpu, h);

	check("GEM_CLOSE", ret, E_GEM_CLOSE, find_bo(h) ? VALID : ANY, E_NONE,
	      "a live handle");
	if (!ret)
		forget_gem(h);
}

static void op_export(void)
{
	struct drm_prime_handle p = { .handle = pick_gem(), .fd = -1 };
	struct bo *b = find_bo(p.handle);
	enum expect ex = ANY;
	int ret;

	p.flags = chance(80) ? DRM_CLOEXEC | DRM_RDWR : rv32();
	if (p.flags & ~(DRM_CLOEXEC | DRM_RDWR))
		ex = INVALID;
	else if (b)
		ex = VALID;
	ret = __p2p_ioctl(gpu, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
	check("PRIME_HANDLE_TO_FD", ret, E_HANDLE_TO_FD, ex, E_NONE,
	      "a live handle, valid flags");
	if (ret)
		return;
	st.exports++;
	put_dbuf(p.fd, b ? b->size : 0, b, false, 0);
}

static void op_export_range(void)
{
	struct drm_p2pgpu_gem_export_range r = { .handle = pick_gem(), .fd = -1 };
	struct bo *b = find_bo(r.handle);
	enum expect ex = ANY;
	uint64_t end;
	int ret;

	/* read-only and read-write ranges: the NIC may only read the former */
	r.flags = chance(80) ? DRM_CLOEXEC | (chance(50) ? DRM_RDWR : 0) : rv32();
	if (chance(50)) {
		r.offset = below(8) * (uint64_t)pg;
		r.length = (1 + below(8)) * (uint64_t)pg;
	} else {
		r.offset = rv64();
		r.length = rv64();
	}
	r.pad = chance(85) ? 0 : rv32();
	if ((r.flags & ~(DRM_CLOEXEC | DRM_RDWR)) || r.pad || !r.length ||
	    (r.offset % pg) || (r.length % pg) ||
	    __builtin_add_overflow(r.offset, r.length, &end))
		ex = INVALID;
	else if (b && end > b->size)
		ex = INVALID;
	else if (b)
		ex = VALID;
	ret = __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r);
	check("GEM_EXPORT_RANGE", ret, E_EXPORT_RANGE, ex, E_NONE,
	      "a live handle, an aligned range inside it");
	if (!ret) {
		st.exports++;
		put_dbuf(r.fd, r.length, b, true, r.offset);
	}
}

static void op_migrate(void)
{
	struct drm_p2pgpu_gem_migrate m = { .handle = pick_gem() };
	struct bo *b = find_bo(m.handle);
	enum expect ex = ANY;

	m.placement = chance(80) ? 1 + below(2) : rv32();
	if (m.placement != P2PGPU_PLACEMENT_VRAM &&
	    m.placement != P2PGPU_PLACEMENT_SYSTEM)
		ex = INVALID;
	else if (b && b->placement == P2PGPU_PLACEMENT_SYSTEM &&
		 m.placement == P2PGPU_PLACEMENT_VRAM)
		ex = INVALID;	/* a system-only buffer never goes to VRAM */
	else if (b && b->placement)
		ex = VALID;
	/* pinned by a region (or, without move_notify, by its mapping) */
	check("GEM_MIGRATE", __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &m),
	      E_MIGRATE, ex, ERRS(EBUSY, ENOSPC),
	      "a live handle, VRAM or system");
}

static void op_query(void)
{
	struct drm_p2pgpu_attachment_info infos[4];
	struct drm_p2pgpu_gem_query q = { .handle = pick_gem() };
	enum expect ex = ANY;

	q.num_attachments = chance(70) ? below(5) : rv32();
	q.attachments = (uintptr_t)rptr(infos);
	if (q.num_attachments > 4 && q.attachments == (uintptr_t)infos)
		q.num_attachments = 4;
	q.pad = chance(85) ? 0 : rv32();
	if (q.pad)
		ex = INVALID;
	else if (find_bo(q.handle) && (q.attachments == (uintptr_t)infos ||
				       !q.num_attachments))
		ex = VALID;
	check("GEM_QUERY", __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q),
	      E_QUERY, ex, E_NONE, "a live handle, room for the answer");
}

static void op_mmap_offset(void)
{
	struct drm_p2pgpu_gem_mmap_offset mo = { .handle = pick_gem() };
	enum expect ex = ANY;

	mo.flags = chance(85) ? 0 : rv32();
	if (mo.flags)
		ex = INVALID;
	else if (find_bo(mo.handle))
		ex = VALID;
	check("GEM_MMAP_OFFSET",
	      __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo),
	      E_MMAP_OFFSET, ex, E_NONE, "a live handle, no flags");
}

static void op_device_query(void)
{
	struct drm_p2pgpu_device_query dq;
	void *p = rptr(&dq);

	check("DEVICE_QUERY", __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, p),
	      E_DEVICE_QUERY, p == &dq ? VALID : INVALID, E_NONE,
	      "a valid pointer");
}

/* any driver ioctl number, direction and size, random contents */
static void op_raw_gpu(void)
{
	uint64_t buf[40];
	unsigned int nr = DRM_COMMAND_BASE + below(12);
	unsigned int size = chance(50) ? below(sizeof(buf)) : 8 * below(6) + 8;
	unsigned long req = _IOC(below(4), DRM_IOCTL_BASE, nr, size);
	int ret;

	for (unsigned int i = 0; i < 40; i++)
		buf[i] = chance(50) ? rv64() : 0;
	/* an ioctl that would make a descriptor: only through op_export_range */
	if (nr == DRM_COMMAND_BASE + DRM_P2PGPU_GEM_EXPORT_RANGE)
		nr = DRM_COMMAND_BASE + DRM_P2PGPU_GEM_QUERY;
	req = _IOC(_IOC_DIR(req), DRM_IOCTL_BASE, nr, size);
	ret = __p2p_ioctl(gpu, req, rptr(buf));
	/* past the driver's ioctls: the DRM core says -EINVAL */
	check("raw DRM ioctl", ret,
	      nr >= DRM_COMMAND_BASE + 6 ? ERRS(EINVAL) : E_RAW_GPU,
	      nr >= DRM_COMMAND_BASE + 6 ? INVALID : ANY, E_NONE,
	      "an unknown driver ioctl");
	/* a GEM_CREATE that made something: its handle is freed with the fd */
}

static void op_close_dbuf(void)
{
	struct dbuf *d = &dbufs[below(SLOTS)];

	if (d->fd < 0)
		return;
	close(d->fd);
	d->fd = -1;
}

static void op_fd_to_handle(void)
{
	struct drm_prime_handle p = {};
	struct dbuf *d;
	enum expect ex = ANY;
	int ret;

	d = pick_fd(&p.fd);
	p.flags = chance(80) ? 0 : rv32();
	/* a whole-buffer dma-buf of this device resolves to its object */
	if (d && d->uid && !d->range)
		ex = VALID;
	else if (d && d->uid)
		ex = INVALID;	/* a range is not an object of its own */
	else if (p.fd == -1 || p.fd == devnull || p.fd == efd ||
		 p.fd == pipefd[0] || p.fd == gpu || p.fd == nic)
		ex = INVALID;
	ret = __p2p_ioctl(gpu, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
	check("PRIME_FD_TO_HANDLE", ret, E_FD_TO_HANDLE, ex, E_NONE,
	      "this device's dma-buf");
	if (!ret && d && d->uid)
		put_bo(p.handle, d->size, d->uid, d->placement);
}

/*
 * A CPU view of a dma-buf region: the buffer's own GEM mmap (independent of
 * the range and dma-buf code under test) when its handle is still open,
 * else the dma-buf's mmap. Mapping calls are not fuzzed ioctls: they do not
 * count and use no random numbers, so a seed still replays.
 */
static void view_dmabuf_mr(struct mr *m, struct dbuf *d, uint64_t off)
{
	struct bo *b = find_bo(d->handle);
	void *p;

	if (b && b->uid == d->uid) {
		struct drm_p2pgpu_gem_mmap_offset mo = { .handle = b->handle };

		if (__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo))
			return;
		p = view_map(b->size, gpu, mo.offset);
		if (!p)
			return;
		m->map = p;
		m->map_len = b->size;
		m->view = (uint8_t *)p + d->range_off + off;
		return;
	}
	p = view_map(d->size, d->fd, 0);
	if (!p)
		return;
	m->map = p;
	m->map_len = d->size;
	m->view = (uint8_t *)p + off;
}

static void op_reg_dmabuf(void)
{
	struct p2prdma_reg_dmabuf_mr r = {};
	struct dbuf *d;
	enum expect ex = ANY;
	uint64_t end, iend;
	int ret;

	d = pick_fd(&r.fd);
	if (d && d->size && chance(60)) {
		r.offset = below(d->size / pg) * (uint64_t)pg + (chance(20) ? below(pg) : 0);
		r.length = 1 + below(d->size - r.offset);
		r.iova = r.offset + (chance(80) ? 0 : (uint64_t)pg * below(1000));
		r.access = chance(90) ? P2PRDMA_ACCESS_ALL : rv32();
		r.flags = chance(70) ? 0 :
			  chance(80) ? (uint32_t)below(REG_FLAGS + 1) : rv32();
	} else {
		r.offset = rv64();
		r.length = rv64();
		r.iova = chance(50) ? r.offset : rv64();
		r.access = rv32();
		r.flags = rv32();
	}
	if (!r.length || (r.access & ~P2PRDMA_ACCESS_ALL) ||
	    (r.flags & ~REG_FLAGS) ||
	    (r.iova % pg) != (r.offset % pg) ||
	    __builtin_add_overflow(r.offset, r.length, &end) ||
	    __builtin_add_overflow(r.iova, r.length, &iend))
		ex = INVALID;
	else if (r.fd == -1 || r.fd == devnull || r.fd == efd ||
		 r.fd == pipefd[0] || r.fd == gpu || r.fd == nic)
		ex = INVALID;	/* not a dma-buf */
	else if (d && d->size && end > d->size)
		ex = INVALID;
	else if ((r.access & P2PRDMA_WRITE_BITS) &&
		 (fcntl(r.fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
		ex = INVALID;	/* -EACCES: device writes through a read-only fd */
	else if (d && d->size)
		ex = VALID;
	ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);
	/*
	 * A pin may find no room (-ENOSPC) or be refused (-EOPNOTSUPP); a
	 * strict registration is refused where the buffer would be staged
	 * (-EREMOTEIO: system placement, staged topology, evicted).
	 */
	check("REG_DMABUF_MR", ret, E_REG_DMABUF, ex,
	      (r.flags & REG_FLAGS) == REG_FLAGS ?
	      ERRS(ENOSPC, EOPNOTSUPP, EREMOTEIO) :
	      r.flags & P2PRDMA_REG_PINNED ? ERRS(ENOSPC, EOPNOTSUPP) :
	      r.flags & P2PRDMA_REG_REQUIRE_P2P ? ERRS(EREMOTEIO) : E_NONE,
	      "a dma-buf, a range inside it, valid access and flags");
	if (!ret) {
		struct mr m = { .handle = r.handle, .length = r.length,
				.pinned = r.flags & P2PRDMA_REG_PINNED,
				.strict = r.flags & P2PRDMA_REG_REQUIRE_P2P };

		st.regs++;
		if (d && d->size && d->uid && r.access == P2PRDMA_ACCESS_ALL) {
			m.uid = d->uid;
			m.bo_off = d->range_off + r.offset;
			view_dmabuf_mr(&m, d, r.offset);
			/* the fuzzer may close @d: the region keeps a sync fd */
			if (m.view) {
				m.sync_fd = fcntl(r.fd, F_DUPFD_CLOEXEC, 0);
				igt_assert_f(m.sync_fd >= 0, "dup dma-buf fd %d: %s\n",
					     r.fd, strerror(errno));
				m.has_sync = true;
			}
		}
		put_mr(&m);
	}
}

static void op_reg_user(void)
{
	struct p2prdma_reg_user_mr r = {};
	enum expect ex = ANY;
	uint64_t end;
	int ret;

	if (chance(60)) {
		uint64_t off = below(UBUF_SIZE);

		r.addr = (uintptr_t)ubuf + off;
		r.length = 1 + below(UBUF_SIZE - off);
		r.access = P2PRDMA_ACCESS_ALL;
		ex = VALID;
	} else {
		r.addr = chance(50) ? (uintptr_t)rptr(ubuf) : rv64();
		r.length = rv64();
		r.access = rv32();
		if (!r.length || (r.access & ~P2PRDMA_ACCESS_ALL) ||
		    __builtin_add_overflow(r.addr, r.length, &end))
			ex = INVALID;
	}
	ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_REG_USER_MR, &r);
	check("REG_USER_MR", ret, E_REG_USER, ex, E_NONE,
	      "a range of mapped memory, valid access");
	if (!ret) {
		struct mr m = { .handle = r.handle, .length = r.length,
				.user = true };

		st.regs++;
		/* the CPU sees it only where it lies within ubuf */
		if (r.addr >= (uintptr_t)ubuf && r.access == P2PRDMA_ACCESS_ALL &&
		    r.addr + r.length <= (uintptr_t)ubuf + UBUF_SIZE)
			m.view = (uint8_t *)(uintptr_t)r.addr;
		put_mr(&m);
	}
}

static void op_dereg(void)
{
	struct p2prdma_dereg_mr d = {};
	struct mr *m;
	enum expect ex = ANY;
	int ret;

	d.handle = pick_mr(&m);
	d.flags = chance(90) ? 0 : rv32();
	if (d.flags)
		ex = INVALID;
	else if (m)
		ex = VALID;
	ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_DEREG_MR, &d);
	check("DEREG_MR", ret, E_DEREG, ex, E_NONE, "a live region");
	if (!ret)
		forget_mr(d.handle);
}

static void op_query_mr(void)
{
	struct p2prdma_query_mr q = {};
	struct mr *m;
	enum expect ex = ANY;
	void *p;

	q.handle = pick_mr(&m);
	q.pad = chance(90) ? 0 : rv32();
	p = rptr(&q);
	if (p != &q || q.pad)
		ex = INVALID;
	else if (m)
		ex = VALID;
	check("QUERY_MR", __p2p_ioctl(nic, P2PRDMA_IOCTL_QUERY_MR, p),
	      E_QUERY_MR, ex, E_NONE, "a live region");
}

/* whether two CPU views' byte spans overlap */
static bool spans_overlap(const uint8_t *a, uint64_t alen, const uint8_t *b,
			  uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* the bytes a transfer must not touch: just outside its destination span */
struct guard {
	uint8_t *p[2];
	uint8_t val[2];
};

static void guard_take(struct guard *g, struct mr *dst, uint64_t doff,
		       uint64_t len, const uint8_t *src, uint64_t slen)
{
	uint8_t *before = dst->view + doff - 1, *after = dst->view + doff + len;

	g->p[0] = doff && !spans_overlap(before, 1, src, slen) ? before : NULL;
	g->p[1] = doff + len < dst->length &&
		  !spans_overlap(after, 1, src, slen) ? after : NULL;
	for (int i = 0; i < 2; i++)
		if (g->p[i])
			g->val[i] = *g->p[i];
}

static void op_transfer(void)
{
	struct p2prdma_transfer t = {};
	struct mr *dst, *src;
	enum expect ex = ANY;
	bool fresh = false;
	uint64_t pseed = 0, send, dend;
	struct guard g = {};
	void *p;
	int ret;

	t.dst_handle = pick_mr(&dst);
	t.src_handle = pick_mr(&src);
	/*
	 * A real transfer costs two ~100 ms DMAs of the emulated engine, a
	 * thousand times any other call: made now and then (a fixed share,
	 * so a seed still replays) they leave the calls to the rest.
	 */
	if (dst && src && chance(15)) {
		uint64_t min = dst->length < src->length ? dst->length : src->length;

		t.length = 1 + below(min < MAX_XFER ? min : MAX_XFER);
		t.dst_offset = below(dst->length - t.length + 1);
		t.src_offset = below(src->length - t.length + 1);
		fresh = true;
	} else {
		t.length = rv64();
		t.dst_offset = rv64();
		t.src_offset = rv64();
		/* never a long valid one */
		if (dst && src && t.length > MAX_XFER &&
		    t.length <= dst->length && t.length <= src->length)
			t.length = MAX_XFER;
	}
	t.flags = chance(90) ? 0 : rv32();
	t.timeout_ms = chance(95) ? 0 : chance(80) ? 5000 :
		       P2PRDMA_TRANSFER_MAX_TIMEOUT_MS + 1 + below(1000);
	p = rptr(&t);

	if (p != &t || !t.length || t.flags ||
	    t.timeout_ms > P2PRDMA_TRANSFER_MAX_TIMEOUT_MS ||
	    __builtin_add_overflow(t.src_offset, t.length, &send) ||
	    __builtin_add_overflow(t.dst_offset, t.length, &dend))
		ex = INVALID;
	else if (dst && src && (send > src->length || dend > dst->length))
		ex = INVALID;
	else if (dst && src && dst->view && src->view)
		ex = VALID;

	if (ex == VALID) {
		bool overlap = spans_overlap(dst->view + t.dst_offset, t.length,
					     src->view + t.src_offset, t.length);

		if (overlap) {
			/* chunks may split at pages: only disjoint spans are judged */
			ex = ANY;
		} else {
			if (fresh) {
				pseed = seed0 ^ (0x7472616e73666572ULL + st.transfers + 1);
				mr_cpu(src, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
				p2p_pat_fill(src->view + t.src_offset, t.length,
					     pseed, 0);
				mr_cpu(src, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
			}
			mr_cpu(dst, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
			guard_take(&g, dst, t.dst_offset, t.length,
				   src->view + t.src_offset, t.length);
			mr_cpu(dst, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		}
	}

	ret = ioctl(nic, P2PRDMA_IOCTL_TRANSFER, p) ? -errno : 0;
	/* a strict side the exporter has since moved to system memory */
	check("TRANSFER", ret, E_TRANSFER, ex,
	      (dst && dst->strict) || (src && src->strict) ?
	      ERRS(EREMOTEIO) : E_NONE,
	      "two live regions, offsets and length inside both");
	if (ret)
		return;
	st.transfers++;
	if (ex != VALID)
		return;
	/* the bytes themselves, at the right place */
	mr_cpu(dst, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (!fresh)
		mr_cpu(src, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (fresh)
		p2p_pat_assert(dst->view + t.dst_offset, t.length, pseed, 0,
			       "TRANSFER (call %lu) of %llu bytes from region %u +%llu to region %u +%llu (%s, buffer offset %#llx)",
			       st.calls, (unsigned long long)t.length,
			       t.src_handle, (unsigned long long)t.src_offset,
			       t.dst_handle, (unsigned long long)t.dst_offset,
			       dst->user ? "user" : "dma-buf",
			       (unsigned long long)dst->bo_off);
	else
		igt_assert_f(!memcmp(dst->view + t.dst_offset,
				     src->view + t.src_offset, t.length),
			     "TRANSFER (call %lu): region %u +%llu does not hold the %llu bytes of region %u +%llu\n",
			     st.calls, t.dst_handle,
			     (unsigned long long)t.dst_offset,
			     (unsigned long long)t.length, t.src_handle,
			     (unsigned long long)t.src_offset);
	for (int i = 0; i < 2; i++)
		igt_assert_f(!g.p[i] || *g.p[i] == g.val[i],
			     "TRANSFER (call %lu): the byte %s the destination span changed\n",
			     st.calls, i ? "after" : "before");
	if (!fresh)
		mr_cpu(src, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	mr_cpu(dst, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	st.verified++;
}

static void op_device_info(void)
{
	struct p2prdma_device_info info = {};
	void *p = rptr(&info);

	check("DEVICE_INFO", __p2p_ioctl(nic, P2PRDMA_IOCTL_DEVICE_INFO, p),
	      E_DEVICE_INFO, p == &info ? VALID : INVALID, E_NONE,
	      "a valid pointer");
}

static void op_raw_nic(void)
{
	static const unsigned long known[] = {
		P2PRDMA_IOCTL_REG_DMABUF_MR, P2PRDMA_IOCTL_REG_USER_MR,
		P2PRDMA_IOCTL_DEREG_MR, P2PRDMA_IOCTL_QUERY_MR,
		P2PRDMA_IOCTL_TRANSFER, P2PRDMA_IOCTL_DEVICE_INFO,
		P2PRDMA_IOCTL_QUERY_REFUSAL,
	};
	uint64_t buf[16];
	unsigned int nr = below(10);
	/*
	 * fs/ioctl.c answers some types for every file before its driver:
	 * FIOCLEX.. ('T'), FIFREEZE ('X'), FS_IOC_* ('f'), FICLONE (0x94),
	 * FS_IOC_GETFSUUID / GETFSSYSFSPATH (0x15, 6.5 / 6.9: succeeds on
	 * a devtmpfs node). Those are not the NIC's to refuse.
	 */
	static const char vfs_types[] = { 'T', 'X', 'f', 0x94, 0x15, 0 };
	unsigned int type = P2PRDMA_IOCTL_BASE;
	unsigned int size = chance(50) ? below(sizeof(buf)) : 8 * below(6);
	unsigned long req;
	bool is_known = false;

	if (!chance(80)) {
		do
			type = below(256);
		while (type && strchr(vfs_types, (int)type));
	}
	for (unsigned int i = 0; i < 16; i++)
		buf[i] = chance(50) ? rv64() : 0;
	/* never a random long transfer: bound its length */
	if (type == P2PRDMA_IOCTL_BASE && nr == 4)
		buf[3] = below(512);
	req = _IOC(below(4), type, nr, size);
	for (unsigned int i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		is_known |= req == known[i];
	/* only the exact command numbers exist: the rest is -ENOTTY */
	check("raw NIC ioctl", __p2p_ioctl(nic, req, rptr(buf)),
	      is_known ? E_RAW_NIC : E_UNKNOWN_NIC, is_known ? ANY : INVALID,
	      E_NONE, "not a p2prdma command");
}

static void close_all_objects(void)
{
	for (int i = 0; i < SLOTS; i++) {
		if (dbufs[i].fd >= 0)
			close(dbufs[i].fd);
		dbufs[i].fd = -1;
		bos[i].handle = 0;
		unmap_mr(&mrs[i]);
		mrs[i].handle = 0;
	}
}

static void reopen_gpu(void)
{
	if (gpu >= 0)
		close(gpu);
	for (int i = 0; i < SLOTS; i++)
		bos[i].handle = 0;
	gpu = p2p_gpu_open();
	igt_assert(gpu >= 0);
}

static void reopen_nic(void)
{
	if (nic >= 0)
		close(nic);
	for (int i = 0; i < SLOTS; i++) {
		unmap_mr(&mrs[i]);
		mrs[i].handle = 0;
	}
	nic = p2p_nic_open();
	igt_assert(nic >= 0);
}

/* every descriptor above @keep_max that is not ours to keep */
static void close_strays(const bool *keep, int n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int dfd = dirfd(d);

	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dfd)
			continue;
		if (fd < n && keep[fd])
			continue;
		close(fd);
	}
	closedir(d);
}

/*
 * TTM may destroy a released buffer from a worker (ttm_bo_delayed_delete):
 * give the counters a moment, and say how long they took.
 */
static void settle(void)
{
	double t0 = p2p_now();
	struct p2p_counts c;

	for (;;) {
		p2p_counts(&c);
		if ((!c.bos && !c.attachments && !c.dmabufs && !c.regions) ||
		    p2p_now() - t0 > 5)
			break;
		usleep(50 * 1000);
	}
	igt_info("objects settled after %.2f s\n", p2p_now() - t0);
}

/* device mappings the process still has: each holds its objects */
static void report_mappings(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/dev/dri") || strstr(line, "dmabuf") ||
		    strstr(line, "anon_inode"))
			igt_info("still mapped: %s", line);
	fclose(f);
}

static void (*const ops[])(void) = {
	op_create, op_create, op_gem_close, op_export, op_export,
	op_export_range, op_migrate, op_query, op_mmap_offset,
	op_device_query, op_raw_gpu, op_raw_gpu, op_close_dbuf,
	op_fd_to_handle, op_reg_dmabuf, op_reg_dmabuf, op_reg_dmabuf,
	op_reg_user, op_dereg, op_dereg, op_query_mr, op_transfer,
	op_device_info, op_raw_nic, op_raw_nic,
};

igt_main
{
	igt_fixture {
		const char *s = getenv("P2PBUF_FUZZ_SEED");

		pg = getpagesize();
		gpu = p2p_gpu_open();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		nic = p2p_nic_open();
		igt_require_f(nic >= 0, "no %s\n", P2P_NIC_PATH);
		igt_require_f(p2p_have_counters(),
			      "no p2pgpu_objects / p2prdma objects in debugfs\n");
		rng = s ? strtoull(s, NULL, 0) : DEFAULT_SEED;
		if (!rng)
			rng = DEFAULT_SEED;
		seed0 = rng;
		igt_info("P2PBUF_FUZZ_SEED=%#llx\n", (unsigned long long)rng);
	}

	igt_describe("random ioctls on both drivers among real objects; counters back to zero");
	igt_subtest("random-ioctls") {
		const char *sec = getenv("P2PBUF_FUZZ_SECONDS");
		const char *nops = getenv("P2PBUF_FUZZ_OPS");
		const char *mint = getenv("P2PBUF_FUZZ_MIN_TRANSFERS");
		unsigned long min_transfers;
		double limit = sec ? atof(sec) : 120, start = p2p_now(), took;
		unsigned long max = nops ? strtoul(nops, NULL, 0) : 1000000;
		bool keep[1024] = {};
		unsigned long i;
		uint8_t *check_buf;
		DIR *d;
		struct dirent *e;

		/* the descriptors the run started with are not strays */
		d = opendir("/proc/self/fd");
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && atoi(e->d_name) < 1024)
				keep[atoi(e->d_name)] = true;
		closedir(d);

		for (i = 0; i < SLOTS; i++)
			dbufs[i].fd = -1;
		ubuf = p2p_anon(UBUF_SIZE);
		memset(ubuf, 0x5a, UBUF_SIZE);
		/* reserved, never accessible: no later mapping lands there */
		unmapped = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
		igt_assert(unmapped != MAP_FAILED);
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		efd = eventfd(0, EFD_CLOEXEC);
		igt_assert_eq(pipe(pipefd), 0);

		for (i = 0; i < max; i++) {
			if (!(i % 256) && p2p_now() - start > limit)
				break;
			if (chance(1) && chance(20)) {
				/* whole files go, with whatever they hold */
				if (chance(50))
					reopen_gpu();
				else
					reopen_nic();
				continue;
			}
			ops[below(sizeof(ops) / sizeof(ops[0]))]();
		}
		took = p2p_now() - start;
		igt_info("fuzz: %lu iterations, %lu ioctls (%lu ok, %lu built valid) in %.1f s: %.0f/s; created %lu, exported %lu, registered %lu, transferred %lu (%lu verified byte for byte)\n",
			 i, st.calls, st.ok, st.valid, took, st.calls / took,
			 st.creates, st.exports, st.regs, st.transfers,
			 st.verified);
		igt_info("replay: P2PBUF_FUZZ_SEED=%#llx P2PBUF_FUZZ_OPS=%lu\n",
			 (unsigned long long)seed0, i);
		igt_assert(st.creates && st.exports && st.regs);
		/* a run that moved no data tested little of p2prdma */
		min_transfers = mint ? strtoul(mint, NULL, 0) :
			(unsigned long)(took / 4) + 1;
		igt_assert_f(st.verified >= min_transfers,
			     "%lu transfers verified in %.1f s, at least %lu required\n",
			     st.verified, took, min_transfers);

		close_all_objects();
		/* every view went with its region; none may be left over */
		for (int v = 0; v < MAX_VIEWS; v++)
			if (views[v].p) {
				igt_info("view %p (%zu bytes) outlived its region\n",
					 views[v].p, views[v].len);
				view_unmap(views[v].p);
			}
		igt_info("views: %lu mapped, %lu unmapped\n", views_made,
			 views_unmapped);
		close(gpu);
		close(nic);
		gpu = nic = -1;
		close(devnull);
		close(efd);
		close(pipefd[0]);
		close(pipefd[1]);
		/* descriptors random ioctls made (PRIME of a guessed handle) */
		close_strays(keep, 1024);
		report_mappings();
		settle();
		p2p_assert_idle(0);

		/* and both drivers still work */
		gpu = p2p_gpu_open();
		nic = p2p_nic_open();
		igt_assert(gpu >= 0 && nic >= 0);
		{
			uint32_t h = p2p_create(gpu, 2 * pg,
						P2PGPU_PLACEMENT_VRAM_PREFERRED);
			int buf = p2p_export(gpu, h);
			uint32_t mb = p2p_reg_dmabuf(nic, buf, 0, 2 * pg, 0);
			uint32_t mu = p2p_reg_user(nic, ubuf, 4 * pg);

			uint8_t *g = p2p_gem_mmap(gpu, h, 2 * pg);

			check_buf = ubuf + 2 * pg;
			p2p_pat_fill(ubuf, pg, seed0, 0);
			memset(check_buf, 0, pg);
			p2p_cpu_begin(buf, DMA_BUF_SYNC_WRITE);
			memset(g, 0, 2 * pg);
			p2p_cpu_end(buf, DMA_BUF_SYNC_WRITE);
			p2p_transfer(nic, mb, 100, mu, 0, pg);
			/* at byte 100 of the buffer, seen by the CPU */
			p2p_cpu_begin(buf, DMA_BUF_SYNC_READ);
			p2p_pat_assert(g + 100, pg, seed0, 0,
				       "the buffer after a NIC write at +100");
			p2p_cpu_end(buf, DMA_BUF_SYNC_READ);
			p2p_transfer(nic, mu, 2 * pg, mb, 100, pg);
			p2p_pat_assert(check_buf, pg, seed0, 0,
				       "the NIC's read back from +100");
			munmap(g, 2 * pg);

			/*
			 * What this fuzzer found, pinned down: a user region
			 * of more pages than the machine has once reached
			 * kvmalloc() with a size past INT_MAX (a WARN); two
			 * overlapping system-memory mappings of one buffer
			 * tripped DMA-API debugging's overlap check, and so
			 * did a chunk sync of a page two user regions map.
			 */
			{
				/* a second region on the same pages */
				uint32_t mo = p2p_reg_user(nic, ubuf + 100, 200);

				p2p_transfer(nic, mo, 0, mb, 0, 45);
				p2p_transfer(nic, mb, 0, mo, 10, 45);
				igt_assert_eq(__p2p_dereg(nic, mo), 0);
			}
			/* low enough to fit any x86-64 address space */
			igt_assert_eq(__p2p_reg_user(nic, (void *)(1ULL << 32),
						     1ULL << 40, &mu), -ENOMEM);
			igt_assert_eq(__p2p_reg_user(nic, (void *)(1ULL << 32),
						     1ULL << 46, &mu), -ENOMEM);
			{
				uint32_t hs = p2p_create(gpu, 2 * pg,
							 P2PGPU_PLACEMENT_SYSTEM);
				int bs = p2p_export(gpu, hs);
				uint32_t m1 = p2p_reg_dmabuf(nic, bs, 0, 2 * pg,
							     P2PRDMA_REG_PINNED);
				uint32_t m2 = p2p_reg_dmabuf(nic, bs, 0, pg,
							     P2PRDMA_REG_PINNED);

				p2p_transfer(nic, m2, 0, m1, pg, 64);
				close(bs);
				__p2p_gem_close(gpu, hs);
			}
			close(buf);
			__p2p_gem_close(gpu, h);
		}
		close(gpu);
		close(nic);
		gpu = nic = -1;
		p2p_assert_idle(0);
		munmap(ubuf, UBUF_SIZE);
		munmap(unmapped, pg);
	}

	igt_fixture {
		if (gpu >= 0)
			close(gpu);
		if (nic >= 0)
			close(nic);
	}
}
