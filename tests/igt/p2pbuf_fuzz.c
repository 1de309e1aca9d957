// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbuf_fuzz: a bounded, seeded random ioctl fuzzer for p2pgpu and
 * p2prdma. Random ioctl numbers, sizes and fields (valid and invalid
 * handles, flags, pads, offsets, lengths, overflowing ranges, descriptors
 * of the wrong type, bad pointers) are interleaved with valid create,
 * export, register, transfer, deregister and close calls so that real
 * objects exist to be hit. Every answer must be success or an errno the
 * uapi allows; afterwards both drivers' object counters (debugfs) must be
 * back to zero and the drivers must still work.
 *
 * P2PBUF_FUZZ_SEED (default fixed), P2PBUF_FUZZ_SECONDS (default 120) and
 * P2PBUF_FUZZ_OPS (default 1000000) bound a run; the seed and the number
 * of calls made are printed: rerun with both to replay a run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/eventfd.h>

#include "p2pbuf_common.h"

#define SLOTS		12
#define UBUF_SIZE	(64 << 10)
#define DEFAULT_SEED	0x70327062756655ULL

static uint64_t rng;

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

struct bo { uint32_t handle; uint64_t size; };
struct dbuf { int fd; uint64_t size; };
struct mr { uint32_t handle; uint64_t length; };

static int gpu = -1, nic = -1;
static struct bo bos[SLOTS];
static struct dbuf dbufs[SLOTS];
static struct mr mrs[SLOTS];
static uint8_t *ubuf;
static int devnull = -1, efd = -1, pipefd[2] = { -1, -1 };
static void *unmapped;
static int pg;

static struct {
	unsigned long calls, ok;
	unsigned long creates, exports, regs, transfers;
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

static uint32_t pick_gem(void)
{
	struct bo *b = &bos[below(SLOTS)];

	if (b->handle && chance(85))
		return b->handle;
	return chance(50) ? below(64) : (uint32_t)rnd();
}

static int pick_fd(uint64_t *size)
{
	struct dbuf *d = &dbufs[below(SLOTS)];

	*size = 0;
	if (d->fd >= 0 && chance(75)) {
		*size = d->size;
		return d->fd;
	}
	switch (below(8)) {
	case 0:
		return gpu;
	case 1:
		return nic;
	case 2:
		return devnull;
	case 3:
		return efd;
	case 4:
		return pipefd[0];
	case 5:
		return -1;
	case 6:
		return 1000 + below(1000);	/* not open */
	default:
		return (int)rnd();
	}
}

static uint32_t pick_mr(uint64_t *len)
{
	struct mr *m = &mrs[below(SLOTS)];

	*len = 0;
	if (m->handle && chance(85)) {
		*len = m->length;
		return m->handle;
	}
	return chance(50) ? below(64) : (uint32_t)rnd();
}

static bool errno_in(int err, const int *allowed, int n)
{
	for (int i = 0; i < n; i++)
		if (err == allowed[i])
			return true;
	return false;
}

/* success, or an errno the drivers (and the DRM and dma-buf cores) allow */
static void check(const char *what, int ret)
{
	static const int allowed[] = {
		EINVAL, ENOENT, EBADF, EFAULT, ENOMEM, ENOSPC, E2BIG, ERANGE,
		EOVERFLOW, ENOTTY, EOPNOTSUPP, EBUSY, ETIMEDOUT, ENODEV, EPERM,
		EACCES, EINTR, ENOSYS, EMFILE,
	};

	st.calls++;
	if (!ret) {
		st.ok++;
		return;
	}
	igt_assert_f(ret < 0 && errno_in(-ret, allowed,
					 sizeof(allowed) / sizeof(allowed[0])),
		     "%s (call %lu): unexpected result %d (%s)\n", what,
		     st.calls, ret, ret < 0 ? strerror(-ret) : "positive");
}

static void put_bo(uint32_t handle, uint64_t size)
{
	for (int i = 0; i < SLOTS; i++)
		if (!bos[i].handle) {
			bos[i].handle = handle;
			bos[i].size = size;
			return;
		}
	__p2p_gem_close(gpu, handle);
}

static void put_dbuf(int fd, uint64_t size)
{
	for (int i = 0; i < SLOTS; i++)
		if (dbufs[i].fd < 0) {
			dbufs[i].fd = fd;
			dbufs[i].size = size;
			return;
		}
	close(fd);
}

static void put_mr(uint32_t handle, uint64_t len)
{
	for (int i = 0; i < SLOTS; i++)
		if (!mrs[i].handle) {
			mrs[i].handle = handle;
			mrs[i].length = len;
			return;
		}
	__p2p_dereg(nic, handle);
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
		if (mrs[i].handle == handle)
			mrs[i].handle = 0;
}

static void op_create(void)
{
	struct drm_p2pgpu_gem_create c = {};
	int ret;

	if (chance(60)) {
		c.size = (1 + below(16)) * (uint64_t)pg - (chance(10) ? 1 : 0);
		c.placement = 1 + below(3);
	} else {
		c.size = rv64();
		c.placement = rv32();
		c.flags = chance(70) ? 0 : rv32();
		c.pad = chance(70) ? 0 : rv32();
	}
	ret = __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &c);
	check("GEM_CREATE", ret);
	if (ret)
		return;
	st.creates++;
	/* big ones are not kept: mapping them would populate gigabytes */
	if (c.size <= (4 << 20))
		put_bo(c.handle, c.size);
	else
		__p2p_gem_close(gpu, c.handle);
}

static void op_gem_close(void)
{
	uint32_t h = pick_gem();
	int ret = __p2p_gem_close(gpu, h);

	check("GEM_CLOSE", ret);
	if (!ret)
		forget_gem(h);
}

static void op_export(void)
{
	struct drm_prime_handle p = { .handle = pick_gem(), .fd = -1 };
	int ret;

	p.flags = chance(80) ? DRM_CLOEXEC | DRM_RDWR : rv32();
	ret = __p2p_ioctl(gpu, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
	check("PRIME_HANDLE_TO_FD", ret);
	if (ret)
		return;
	st.exports++;
	for (int i = 0; i < SLOTS; i++)
		if (bos[i].handle == p.handle) {
			put_dbuf(p.fd, bos[i].size);
			return;
		}
	put_dbuf(p.fd, 0);
}

static void op_export_range(void)
{
	struct drm_p2pgpu_gem_export_range r = { .handle = pick_gem(), .fd = -1 };
	int ret;

	r.flags = chance(80) ? DRM_CLOEXEC : rv32();
	if (chance(50)) {
		r.offset = below(8) * (uint64_t)pg;
		r.length = (1 + below(8)) * (uint64_t)pg;
	} else {
		r.offset = rv64();
		r.length = rv64();
	}
	r.pad = chance(85) ? 0 : rv32();
	ret = __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r);
	check("GEM_EXPORT_RANGE", ret);
	if (!ret) {
		st.exports++;
		put_dbuf(r.fd, r.length);
	}
}

static void op_migrate(void)
{
	struct drm_p2pgpu_gem_migrate m = { .handle = pick_gem() };

	m.placement = chance(80) ? 1 + below(2) : rv32();
	check("GEM_MIGRATE", __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &m));
}

static void op_query(void)
{
	struct drm_p2pgpu_attachment_info infos[4];
	struct drm_p2pgpu_gem_query q = { .handle = pick_gem() };

	q.num_attachments = chance(70) ? below(5) : rv32();
	q.attachments = (uintptr_t)rptr(infos);
	if (q.num_attachments > 4 && q.attachments == (uintptr_t)infos)
		q.num_attachments = 4;
	q.pad = chance(85) ? 0 : rv32();
	check("GEM_QUERY", __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q));
}

static void op_mmap_offset(void)
{
	struct drm_p2pgpu_gem_mmap_offset mo = { .handle = pick_gem() };

	mo.flags = chance(85) ? 0 : rv32();
	check("GEM_MMAP_OFFSET",
	      __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo));
}

static void op_device_query(void)
{
	struct drm_p2pgpu_device_query dq;

	check("DEVICE_QUERY", __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY,
					   rptr(&dq)));
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
	check("raw DRM ioctl", ret);
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
	uint64_t size;
	int ret;

	p.fd = pick_fd(&size);
	p.flags = chance(80) ? 0 : rv32();
	ret = __p2p_ioctl(gpu, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
	check("PRIME_FD_TO_HANDLE", ret);
	if (!ret && size)
		put_bo(p.handle, size);
}

static void op_reg_dmabuf(void)
{
	struct p2prdma_reg_dmabuf_mr r = {};
	uint64_t size;
	int ret;

	r.fd = pick_fd(&size);
	if (size && chance(60)) {
		r.offset = below(size / pg) * (uint64_t)pg + (chance(20) ? below(pg) : 0);
		r.length = 1 + below(size - r.offset);
		r.iova = r.offset + (chance(80) ? 0 : (uint64_t)pg * below(1000));
		r.access = chance(90) ? P2PRDMA_ACCESS_ALL : rv32();
		r.flags = chance(70) ? 0 : (chance(80) ? P2PRDMA_REG_PINNED : rv32());
	} else {
		r.offset = rv64();
		r.length = rv64();
		r.iova = chance(50) ? r.offset : rv64();
		r.access = rv32();
		r.flags = rv32();
	}
	ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);
	check("REG_DMABUF_MR", ret);
	if (!ret) {
		st.regs++;
		put_mr(r.handle, r.length);
	}
}

static void op_reg_user(void)
{
	struct p2prdma_reg_user_mr r = {};
	int ret;

	if (chance(60)) {
		uint64_t off = below(UBUF_SIZE);

		r.addr = (uintptr_t)ubuf + off;
		r.length = 1 + below(UBUF_SIZE - off);
		r.access = P2PRDMA_ACCESS_ALL;
	} else {
		r.addr = chance(50) ? (uintptr_t)rptr(ubuf) : rv64();
		r.length = rv64();
		r.access = rv32();
	}
	ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_REG_USER_MR, &r);
	check("REG_USER_MR", ret);
	if (!ret) {
		st.regs++;
		put_mr(r.handle, r.length);
	}
}

static void op_dereg(void)
{
	struct p2prdma_dereg_mr d = {};
	uint64_t len;
	int ret;

	d.handle = pick_mr(&len);
	d.pad = chance(90) ? 0 : rv32();
	ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_DEREG_MR, &d);
	check("DEREG_MR", ret);
	if (!ret)
		forget_mr(d.handle);
}

static void op_query_mr(void)
{
	struct p2prdma_query_mr q = {};
	uint64_t len;

	q.handle = pick_mr(&len);
	q.pad = chance(90) ? 0 : rv32();
	check("QUERY_MR", __p2p_ioctl(nic, P2PRDMA_IOCTL_QUERY_MR, rptr(&q)));
}

static void op_transfer(void)
{
	struct p2prdma_transfer t = {};
	uint64_t dlen, slen;
	int ret;

	t.dst_handle = pick_mr(&dlen);
	t.src_handle = pick_mr(&slen);
	/*
	 * A real transfer costs two ~100 ms DMAs of the emulated engine, a
	 * thousand times any other call: made now and then (a fixed share,
	 * so a seed still replays) they leave the calls to the rest.
	 */
	if (dlen && slen && chance(15)) {
		uint64_t min = dlen < slen ? dlen : slen;

		t.length = 1 + below(min < 300 ? min : 300);
		t.dst_offset = below(dlen - t.length + 1);
		t.src_offset = below(slen - t.length + 1);
	} else {
		t.length = rv64();
		t.dst_offset = rv64();
		t.src_offset = rv64();
		/* never a long valid one */
		if (dlen && slen && t.length > 300 && t.length <= dlen &&
		    t.length <= slen)
			t.length = 300;
	}
	t.flags = chance(90) ? 0 : rv32();
	t.timeout_ms = chance(95) ? 0 : 5000;
	ret = ioctl(nic, P2PRDMA_IOCTL_TRANSFER, rptr(&t)) ? -errno : 0;
	check("TRANSFER", ret);
	if (!ret)
		st.transfers++;
}

static void op_device_info(void)
{
	struct p2prdma_device_info info;

	check("DEVICE_INFO", __p2p_ioctl(nic, P2PRDMA_IOCTL_DEVICE_INFO,
					  rptr(&info)));
}

static void op_raw_nic(void)
{
	uint64_t buf[16];
	unsigned int nr = below(10);
	unsigned int type = chance(80) ? P2PRDMA_IOCTL_BASE : below(256);
	unsigned int size = chance(50) ? below(sizeof(buf)) : 8 * below(6);
	unsigned long req;

	for (unsigned int i = 0; i < 16; i++)
		buf[i] = chance(50) ? rv64() : 0;
	/* never a random long transfer: bound its length */
	if (type == P2PRDMA_IOCTL_BASE && nr == 4)
		buf[3] = below(512);
	req = _IOC(below(4), type, nr, size);
	check("raw NIC ioctl", __p2p_ioctl(nic, req, rptr(buf)));
}

static void close_all_objects(void)
{
	for (int i = 0; i < SLOTS; i++) {
		if (dbufs[i].fd >= 0)
			close(dbufs[i].fd);
		dbufs[i].fd = -1;
		bos[i].handle = 0;
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
	for (int i = 0; i < SLOTS; i++)
		mrs[i].handle = 0;
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
		igt_info("P2PBUF_FUZZ_SEED=%#llx\n", (unsigned long long)rng);
	}

	igt_describe("random ioctls on both drivers among real objects; counters back to zero");
	igt_subtest("random-ioctls") {
		const char *sec = getenv("P2PBUF_FUZZ_SECONDS");
		const char *nops = getenv("P2PBUF_FUZZ_OPS");
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
		unmapped = p2p_anon(pg);
		munmap(unmapped, pg);
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
		igt_info("fuzz: %lu iterations, %lu ioctls (%lu ok) in %.1f s: %.0f/s; created %lu, exported %lu, registered %lu, transferred %lu\n",
			 i, st.calls, st.ok, took, st.calls / took, st.creates,
			 st.exports, st.regs, st.transfers);
		igt_assert(st.creates && st.exports && st.regs);

		close_all_objects();
		close(gpu);
		close(nic);
		gpu = nic = -1;
		close(devnull);
		close(efd);
		close(pipefd[0]);
		close(pipefd[1]);
		/* descriptors random ioctls made (PRIME of a guessed handle) */
		close_strays(keep, 1024);
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

			check_buf = ubuf + 2 * pg;
			p2p_fill(ubuf, pg, 3);
			memset(check_buf, 0, pg);
			p2p_transfer(nic, mb, 100, mu, 0, pg);
			p2p_transfer(nic, mu, 2 * pg, mb, 100, pg);
			igt_assert(!memcmp(ubuf, check_buf, pg));

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
	}

	igt_fixture {
		if (gpu >= 0)
			close(gpu);
		if (nic >= 0)
			close(nic);
	}
}
