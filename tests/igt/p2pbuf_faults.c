// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbuf_faults: the GPU -> NIC path under faults.
 *
 * - SIGKILL of the exporting or the importing process in the middle of a
 *   transfer: the other side goes on, nothing leaks.
 * - Closing the five objects of a shared buffer (GEM handle, DRM fd, dma-buf
 *   fd, memory region, NIC fd) in each of the 120 orders.
 * - Unbinding the GPU while its buffers are exported and registered on the
 *   NIC: the importer is told (move_notify), transfers on its regions fail
 *   with -ENODEV, everything is freed once, and the GPU binds again.
 * - Slab allocation failures (failslab, through the per-task fail-nth
 *   interface) at every allocation of the create, export, attach, register
 *   and first-map paths: each fails with -ENOMEM and unwinds completely.
 *
 * Leaks are judged by the drivers' debugfs object counters (and kmemleak,
 * which the harness scans afterwards).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "p2pbuf_common.h"

#define FAILSLAB	"/sys/kernel/debug/failslab"

static int pg;
static char gpu_addr[32];
static uint32_t caps;

/* a buffer of @npages, its first bytes a known pattern via the CPU */
static uint32_t make_buf(int gpu, unsigned int npages, uint32_t placement,
			 unsigned int seed)
{
	uint32_t h = p2p_create(gpu, (uint64_t)npages * pg, placement);
	uint8_t *p = p2p_gem_mmap(gpu, h, (size_t)npages * pg);

	p2p_fill(p, (size_t)npages * pg, seed);
	munmap(p, (size_t)npages * pg);
	return h;
}

/* read @len bytes at @off of region @mr back through the NIC and compare */
static void verify_mr(int nic, uint32_t mr, uint64_t off, uint64_t len,
		      unsigned int seed)
{
	uint8_t *u = p2p_anon(2 * len + pg), *want = u + len;
	uint32_t hu = p2p_reg_user(nic, u, len);

	memset(u, 0, len);
	p2p_fill(want, off + len, seed);
	p2p_transfer(nic, hu, 0, mr, off, len);
	igt_assert_f(!memcmp(u, want + off, len), "data differs\n");
	igt_assert_eq(__p2p_dereg(nic, hu), 0);
	munmap(u, 2 * len + pg);
}

static void wait_ok(pid_t pid)
{
	int status;

	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		     "child %d: status %#x\n", pid, status);
}

static void wait_killed(pid_t pid)
{
	int status;

	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert_f(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		     "child %d: status %#x\n", pid, status);
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The importer: registers @buf (dynamic, or pinned), tells @ready, then
 * copies the buffer out and checks it until @stop says so or for ever.
 * Exits 0 if every copy matched.
 */
static void importer_loop(int buf, unsigned int npages, unsigned int seed,
			  bool pinned, int ready, int stop)
{
	uint64_t len = (uint64_t)npages * pg;
	int nic = p2p_nic_open();
	uint8_t *u, *want;
	uint32_t hb, hu;
	unsigned long n = 0;
	char c = 'r';

	if (nic < 0)
		_exit(2);
	u = p2p_anon(2 * len);
	want = u + len;
	p2p_fill(want, len, seed);
	if (__p2p_reg_user(nic, u, len, &hu) ||
	    __p2p_reg_dmabuf(nic, buf, 0, len, pinned ? P2PRDMA_REG_PINNED : 0,
			     &hb))
		_exit(3);
	if (write(ready, &c, 1) != 1)
		_exit(4);
	for (;;) {
		struct timeval tv = {};
		fd_set fds;

		memset(u, 0, len);
		if (__p2p_transfer(nic, hu, 0, hb, 0, len))
			_exit(5);
		if (memcmp(u, want, len))
			_exit(6);
		n++;
		if (stop < 0)
			continue;
		FD_ZERO(&fds);
		FD_SET(stop, &fds);
		if (select(stop + 1, &fds, NULL, NULL, &tv) > 0)
			break;
	}
	igt_info("importer: %lu checked copies\n", n);
	_exit(n ? 0 : 7);
}

static void subtest_kill_exporter(void)
{
	int sv[2], ready[2], stop[2];
	pid_t exporter, importer;
	char c;

	igt_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	igt_assert_eq(pipe(ready), 0);
	igt_assert_eq(pipe(stop), 0);

	exporter = fork();
	igt_assert(exporter >= 0);
	if (!exporter) {
		int gpu = p2p_gpu_open();
		uint32_t h;

		if (gpu < 0)
			_exit(2);
		h = make_buf(gpu, 4, P2PGPU_PLACEMENT_VRAM_PREFERRED, 11);
		if (p2p_send_fd(sv[1], p2p_export(gpu, h)))
			_exit(3);
		/* keep the GEM handle and DRM fd open until killed */
		for (;;)
			pause();
	}

	importer = fork();
	igt_assert(importer >= 0);
	if (!importer) {
		int buf = p2p_recv_fd(sv[0]);

		if (buf < 0)
			_exit(8);
		importer_loop(buf, 4, 11, false, ready[1], stop[0]);
	}

	igt_assert_eq(read(ready[0], &c, 1), 1);
	msleep(500);
	/* the exporter dies with its GEM handle and DRM fd mid-transfer */
	kill(exporter, SIGKILL);
	wait_killed(exporter);
	/* the importer's copies go on and stay correct */
	msleep(1500);
	igt_assert_eq(write(stop[1], "s", 1), 1);
	wait_ok(importer);

	close(sv[0]);
	close(sv[1]);
	close(ready[0]);
	close(ready[1]);
	close(stop[0]);
	close(stop[1]);
	p2p_assert_idle(0);
}

static void subtest_kill_importer(bool pinned)
{
	int gpu = p2p_gpu_open(), ready[2], buf;
	struct drm_p2pgpu_gem_query q;
	uint32_t h;
	pid_t importer;
	char c;

	igt_assert(gpu >= 0);
	h = make_buf(gpu, 4, P2PGPU_PLACEMENT_VRAM_PREFERRED, 21);
	buf = p2p_export(gpu, h);
	igt_assert_eq(pipe(ready), 0);

	importer = fork();
	igt_assert(importer >= 0);
	if (!importer)
		importer_loop(buf, 4, 21, pinned, ready[1], -1);

	igt_assert_eq(read(ready[0], &c, 1), 1);
	msleep(700);
	kill(importer, SIGKILL);
	wait_killed(importer);
	close(ready[0]);
	close(ready[1]);

	/* the exporter sees no attachment and no pin left */
	memset(&q, 0, sizeof(q));
	q.handle = h;
	igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q), 0);
	igt_assert_eq_u32(q.num_attachments, 0);
	igt_assert_eq_u32(q.flags & P2PGPU_BO_PINNED, 0);
	if (caps & P2PGPU_CAP_MOVE_NOTIFY)
		igt_assert_eq(__p2p_migrate(gpu, h, P2PGPU_PLACEMENT_SYSTEM), 0);

	/* and it still works for a new importer */
	{
		int nic = p2p_nic_open();
		uint32_t hb = p2p_reg_dmabuf(nic, buf, 0, 4 * pg, 0);

		verify_mr(nic, hb, 0, pg, 21);
		close(nic);
	}
	close(buf);
	close(gpu);
	p2p_assert_idle(0);
}

enum { OBJ_GEM, OBJ_DRM, OBJ_DMABUF, OBJ_MR, OBJ_NIC, NOBJ };
static const char *const obj_names[NOBJ] = { "gem", "drm", "dmabuf", "mr", "nic" };

static bool next_perm(int *a, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	while (a[j] <= a[i])
		j--;
	t = a[i]; a[i] = a[j]; a[j] = t;
	for (i++, j = n - 1; i < j; i++, j--) {
		t = a[i]; a[i] = a[j]; a[j] = t;
	}
	return true;
}

static void subtest_close_orders(void)
{
	int order[NOBJ] = { 0, 1, 2, 3, 4 }, count = 0;
	double start = p2p_now();

	do {
		bool open[NOBJ] = { true, true, true, true, true };
		bool pinned = count & 1, verified = false;
		unsigned int seed = 30 + count;
		int gpu = p2p_gpu_open(), nic = p2p_nic_open(), buf;
		uint32_t h, mr;
		char desc[64] = "";

		igt_assert(gpu >= 0 && nic >= 0);
		h = make_buf(gpu, 2, P2PGPU_PLACEMENT_VRAM_PREFERRED, seed);
		buf = p2p_export(gpu, h);
		mr = p2p_reg_dmabuf(nic, buf, 0, 2 * pg,
				    pinned ? P2PRDMA_REG_PINNED : 0);

		for (int i = 0; i < NOBJ; i++) {
			int o = order[i];

			strcat(desc, obj_names[o]);
			strcat(desc, i < NOBJ - 1 ? "," : "");
			/* the region is still reachable: it must still work */
			if (!verified && (o == OBJ_MR || o == OBJ_NIC)) {
				verify_mr(nic, mr, 64, 128, seed);
				verified = true;
			}
			switch (o) {
			case OBJ_GEM:
				/* a handle dies with its DRM fd */
				if (open[OBJ_DRM])
					igt_assert_eq(__p2p_gem_close(gpu, h), 0);
				break;
			case OBJ_DRM:
				close(gpu);
				break;
			case OBJ_DMABUF:
				close(buf);
				break;
			case OBJ_MR:
				if (open[OBJ_NIC])
					igt_assert_eq(__p2p_dereg(nic, mr), 0);
				break;
			case OBJ_NIC:
				close(nic);
				break;
			}
			open[o] = false;
		}
		igt_debug("order %d: %s\n", count, desc);
		p2p_assert_idle(0);
		count++;
	} while (next_perm(order, NOBJ));
	igt_assert_eq(count, 120);
	igt_info("%d close orders in %.1f s\n", count, p2p_now() - start);
}

static void subtest_unbind(void)
{
	int gpu = p2p_gpu_open(), nic = p2p_nic_open(), bv, bs, br, other;
	struct drm_p2pgpu_device_query dq;
	struct p2prdma_query_mr q;
	uint32_t hv, hs, mv, ms, mrange, hu, mu;
	uint32_t inv_v, inv_s, inv_r;
	uint8_t *u = p2p_anon(4 * pg);
	struct drm_p2pgpu_gem_export_range er = {};

	igt_assert(gpu >= 0 && nic >= 0);
	hv = make_buf(gpu, 4, P2PGPU_PLACEMENT_VRAM, 41);
	hs = make_buf(gpu, 4, P2PGPU_PLACEMENT_SYSTEM, 42);
	bv = p2p_export(gpu, hv);
	bs = p2p_export(gpu, hs);
	er.handle = hv;
	er.flags = DRM_CLOEXEC | DRM_RDWR;
	er.offset = pg;
	er.length = 2 * pg;
	igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &er), 0);
	br = er.fd;
	mv = p2p_reg_dmabuf(nic, bv, 0, 4 * pg, 0);
	ms = p2p_reg_dmabuf(nic, bs, 0, 4 * pg, 0);
	mrange = p2p_reg_dmabuf(nic, br, 0, 2 * pg, 0);
	hu = p2p_reg_user(nic, u, 4 * pg);
	mu = hu;

	/* all three mapped and correct before */
	verify_mr(nic, mv, 0, 256, 41);
	verify_mr(nic, ms, 0, 256, 42);
	{
		uint8_t want[256];

		p2p_fill(u + 2 * pg, pg + 256, 41);
		memcpy(want, u + 2 * pg + pg, 256);
		memset(u, 0, 256);
		p2p_transfer(nic, mu, 0, mrange, 0, 256);
		igt_assert(!memcmp(u, want, 256));
	}
	igt_assert_eq(__p2p_query(nic, mv, &q), 0);
	inv_v = q.invalidate_count;
	igt_assert_eq(__p2p_query(nic, ms, &q), 0);
	inv_s = q.invalidate_count;
	igt_assert_eq(__p2p_query(nic, mrange, &q), 0);
	inv_r = q.invalidate_count;

	p2p_sysfs_write(P2P_GPU_DRV "/unbind", gpu_addr);

	/* every importer was told, and let go of its mapping */
	igt_assert_eq(__p2p_query(nic, mv, &q), 0);
	igt_assert_lt(inv_v, q.invalidate_count);
	igt_assert(q.flags & P2PRDMA_MR_INVALIDATED);
	igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_UNMAPPED);
	igt_assert_eq(__p2p_query(nic, ms, &q), 0);
	igt_assert_lt(inv_s, q.invalidate_count);
	igt_assert(q.flags & P2PRDMA_MR_INVALIDATED);
	igt_assert_eq(__p2p_query(nic, mrange, &q), 0);
	igt_assert_lt(inv_r, q.invalidate_count);
	igt_assert(q.flags & P2PRDMA_MR_INVALIDATED);

	/* and cannot use the buffers any more, either way */
	igt_assert_eq(__p2p_transfer(nic, mu, 0, mv, 0, 64), -ENODEV);
	igt_assert_eq(__p2p_transfer(nic, mv, 0, mu, 0, 64), -ENODEV);
	igt_assert_eq(__p2p_transfer(nic, mu, 0, ms, 0, 64), -ENODEV);
	igt_assert_eq(__p2p_transfer(nic, mrange, 0, mu, 0, 64), -ENODEV);
	/* nor register them again, pinned or not */
	{
		uint32_t h;

		igt_assert_eq(__p2p_reg_dmabuf(nic, bs, 0, pg, P2PRDMA_REG_PINNED,
					       &h), -ENODEV);
		/* a dynamic registration maps lazily: its first use fails */
		igt_assert_eq(__p2p_reg_dmabuf(nic, bv, 0, pg, 0, &h), 0);
		igt_assert_eq(__p2p_transfer(nic, mu, 0, h, 0, 64), -ENODEV);
		igt_assert_eq(__p2p_dereg(nic, h), 0);
	}
	p2p_assert_errno(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq), ENODEV);

	/* teardown in an awkward order: GPU side first, regions last */
	close(gpu);
	close(bv);
	close(bs);
	close(br);
	igt_assert_eq(__p2p_dereg(nic, mv), 0);
	igt_assert_eq(__p2p_dereg(nic, ms), 0);
	igt_assert_eq(__p2p_dereg(nic, mrange), 0);
	igt_assert_eq(__p2p_dereg(nic, mu), 0);
	close(nic);
	munmap(u, 4 * pg);
	{
		struct p2p_counts c;

		p2p_counts(&c);
		igt_assert_eq(c.files, 0);
		igt_assert_eq(c.regions, 0);
		igt_assert_eq(c.nic_attachments, 0);
		igt_assert_eq(c.mappings, 0);
	}

	/* bind again: a new device, new buffers work */
	p2p_sysfs_write(P2P_GPU_DRV "/bind", gpu_addr);
	other = p2p_gpu_open();
	igt_assert(other >= 0);
	nic = p2p_nic_open();
	hv = make_buf(other, 4, P2PGPU_PLACEMENT_VRAM, 43);
	bv = p2p_export(other, hv);
	mv = p2p_reg_dmabuf(nic, bv, 0, 4 * pg, 0);
	verify_mr(nic, mv, pg, 512, 43);
	close(nic);
	close(bv);
	close(other);
	p2p_assert_idle(0);
}

/*
 * The exporter's account of its last unbind, from the kernel log: how many
 * buffers it revoked and how many of them were still pinned in VRAM (the
 * device's own ioctls answer -ENODEV by then). False if it said nothing.
 */
static bool last_unbind_report(unsigned int *revoked, unsigned int *pinned)
{
	char rec[1024];
	bool found = false;
	ssize_t n;
	int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	igt_assert(kmsg >= 0);
	while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		const char *msg;

		if (n < 0)	/* overwritten records: go on with the next */
			continue;
		rec[n] = '\0';
		msg = strstr(rec, "unbind: ");
		if (msg && sscanf(msg, "unbind: %u buffer(s) revoked from their importers, %u of them pinned in VRAM",
				  revoked, pinned) == 2)
			found = true;
	}
	close(kmsg);
	return found;
}

/*
 * A pinned registration cannot be moved out of the BAR before the BAR goes
 * away: the exporter revokes it instead (move_notify on a pinned
 * attachment), the importer drops its mapping at once, and transfers fail.
 * Where the importer reaches the BAR the pin holds the buffer in VRAM, so
 * this is the one case where a mapping of the BAR outlives eviction.
 */
static void subtest_unbind_pinned(void)
{
	int gpu = p2p_gpu_open(), nic = p2p_nic_open(), bv, other;
	struct drm_p2pgpu_gem_query bq = {};
	struct drm_p2pgpu_device_query dq = {};
	struct p2prdma_query_mr q;
	uint8_t *u = p2p_anon(pg);
	uint32_t hv, mp, mu;
	bool in_vram;

	igt_assert(gpu >= 0 && nic >= 0);
	hv = make_buf(gpu, 4, P2PGPU_PLACEMENT_VRAM, 51);
	bv = p2p_export(gpu, hv);
	mp = p2p_reg_dmabuf(nic, bv, 0, 4 * pg, P2PRDMA_REG_PINNED);
	mu = p2p_reg_user(nic, u, pg);
	verify_mr(nic, mp, pg, 256, 51);

	bq.handle = hv;
	igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &bq), 0);
	igt_assert(bq.flags & P2PGPU_BO_PINNED);
	in_vram = bq.placement == P2PGPU_PLACEMENT_VRAM;
	igt_assert_eq(__p2p_query(nic, mp, &q), 0);
	igt_assert(q.flags & P2PRDMA_MR_PINNED);
	igt_assert_eq_u32(q.invalidate_count, 0);
	/* pinned in the BAR exactly when the importer maps it peer-to-peer */
	igt_assert_eq(in_vram, q.backing == P2PRDMA_BACKING_PEER);
	igt_info("pinned registration %s before unbind\n",
		 in_vram ? "in VRAM, peer-to-peer" : "in system memory");

	p2p_sysfs_write(P2P_GPU_DRV "/unbind", gpu_addr);

	/* unbind did not evict it from under its pin: it was revoked there */
	{
		unsigned int revoked, pinned;

		igt_assert(last_unbind_report(&revoked, &pinned));
		igt_assert_eq_u32(revoked, 1);
		igt_assert_eq_u32(pinned, in_vram ? 1 : 0);
	}

	/* revoked once, mapping dropped, and nothing reaches the buffer */
	igt_assert_eq(__p2p_query(nic, mp, &q), 0);
	igt_assert_eq_u32(q.invalidate_count, 1);
	igt_assert(q.flags & P2PRDMA_MR_INVALIDATED);
	igt_assert_eq_u32(q.backing, P2PRDMA_BACKING_UNMAPPED);
	igt_assert_eq(__p2p_transfer(nic, mp, 0, mu, 0, 64), -ENODEV);
	igt_assert_eq(__p2p_transfer(nic, mu, 0, mp, 0, 64), -ENODEV);
	{
		struct p2p_counts c;

		p2p_counts(&c);
		igt_assert_eq(c.mappings, 0);
	}

	/* deregistration unpins a buffer whose device is gone */
	igt_assert_eq(__p2p_dereg(nic, mp), 0);
	igt_assert_eq(__p2p_dereg(nic, mu), 0);
	close(bv);
	close(gpu);
	close(nic);
	munmap(u, pg);
	{
		struct p2p_counts c;

		/* the GPU's own counters went with its debugfs */
		p2p_counts(&c);
		igt_assert_eq(c.files, 0);
		igt_assert_eq(c.regions, 0);
		igt_assert_eq(c.nic_attachments, 0);
	}

	p2p_sysfs_write(P2P_GPU_DRV "/bind", gpu_addr);
	other = p2p_gpu_open();
	igt_assert(other >= 0);
	igt_assert_eq(__p2p_ioctl(other, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq), 0);
	igt_assert_eq_u64(dq.vram_pinned, 0);
	nic = p2p_nic_open();
	hv = make_buf(other, 4, P2PGPU_PLACEMENT_VRAM, 52);
	bv = p2p_export(other, hv);
	mp = p2p_reg_dmabuf(nic, bv, 0, 4 * pg, P2PRDMA_REG_PINNED);
	verify_mr(nic, mp, 0, 256, 52);
	igt_assert_eq(__p2p_dereg(nic, mp), 0);
	close(nic);
	close(bv);
	close(other);
	p2p_assert_idle(0);
}

/* failslab: fail the Nth slab allocation of this thread */
static int fail_nth_fd = -1;
static bool failslab_ready;

static void debugfs_write(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FAILSLAB "/%s", name);
	p2p_sysfs_write(path, val);
}

static void failslab_setup(void)
{
	igt_require_f(access(FAILSLAB "/ignore-gfp-wait", W_OK) == 0,
		      "no %s: the kernel has no FAILSLAB with FAULT_INJECTION_DEBUG_FS\n",
		      FAILSLAB);
	if (failslab_ready)
		return;
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	igt_require_f(fail_nth_fd >= 0, "no /proc/thread-self/fail-nth\n");
	/*
	 * Only this task is ever failed, only by fail-nth (probability 0),
	 * GFP_KERNEL allocations included, and silently: a stack dump per
	 * failure would read as a kernel splat.
	 */
	debugfs_write("task-filter", "Y");
	debugfs_write("probability", "0");
	debugfs_write("ignore-gfp-wait", "N");
	debugfs_write("verbose", "0");
	p2p_sysfs_write("/proc/self/make-it-fail", "1");
	failslab_ready = true;
}

static void failslab_restore(void)
{
	if (!failslab_ready)
		return;
	p2p_sysfs_write("/proc/self/make-it-fail", "0");
	debugfs_write("ignore-gfp-wait", "Y");
	debugfs_write("verbose", "2");
	debugfs_write("task-filter", "N");
	close(fail_nth_fd);
	failslab_ready = false;
}

struct inject_ctx {
	int gpu, nic, buf;
	uint32_t placement, handle, mr, hu;
	uint8_t *u;
	int out_fd;
	uint32_t out_handle;
};

typedef int (*inject_fn)(struct inject_ctx *c);

/*
 * Fail the 1st, 2nd, ... slab allocation of @op until it no longer reaches
 * the Nth: each failure must be -ENOMEM and leave the counters as before.
 * @prepare runs before each try, @cleanup after it whatever it answered,
 * @undo after a success.
 */
static void inject_loop(const char *name, struct inject_ctx *c,
			inject_fn prepare, inject_fn op, inject_fn cleanup,
			inject_fn undo)
{
	struct p2p_counts before, after;
	int failed = 0, absorbed = 0, n;

	for (n = 1; n < 1000; n++) {
		char num[16];
		int ret, len;

		p2p_counts(&before);
		if (prepare)
			igt_assert_eq(prepare(c), 0);
		len = snprintf(num, sizeof(num), "%d", n);
		igt_assert_eq(pwrite(fail_nth_fd, num, len, 0), len);
		ret = op(c);
		len = pread(fail_nth_fd, num, sizeof(num) - 1, 0);
		igt_assert_eq(pwrite(fail_nth_fd, "0", 1, 0), 1);
		igt_assert(len > 0);
		num[len] = 0;
		if (cleanup)
			cleanup(c);

		if (atoi(num)) {
			/* the Nth allocation never came: done */
			igt_assert_f(ret == 0, "%s: %s without an injected failure\n",
				     name, strerror(-ret));
			if (undo)
				undo(c);
			break;
		}
		if (ret == 0) {
			/* a failure someone absorbed (a fallback, a retry) */
			absorbed++;
			if (undo)
				undo(c);
			continue;
		}
		igt_assert_f(ret == -ENOMEM,
			     "%s: allocation %d failed, the call answered %d (%s), not -ENOMEM\n",
			     name, n, ret, strerror(-ret));
		failed++;
		p2p_counts(&after);
		if (memcmp(&before, &after, sizeof(before))) {
			p2p_print_counts("before", &before);
			p2p_print_counts("after", &after);
			igt_assert_f(false, "%s: allocation %d failed, objects left behind\n",
				     name, n);
		}
	}
	igt_info("%s: %d allocations, %d failed cleanly with -ENOMEM, %d absorbed\n",
		 name, n - 1, failed, absorbed);
	igt_assert_lt(n, 1000);
	igt_assert_lt(0, failed);
}

static int op_create(struct inject_ctx *c)
{
	return __p2p_create(c->gpu, 4 * pg, c->placement, &c->out_handle);
}

static int undo_create(struct inject_ctx *c)
{
	return __p2p_gem_close(c->gpu, c->out_handle);
}

static int op_export(struct inject_ctx *c)
{
	return __p2p_export(c->gpu, c->handle, &c->out_fd);
}

static int undo_fd(struct inject_ctx *c)
{
	return close(c->out_fd);
}

static int op_export_range(struct inject_ctx *c)
{
	struct drm_p2pgpu_gem_export_range er = {
		.handle = c->handle, .flags = DRM_CLOEXEC | DRM_RDWR,
		.offset = pg, .length = 2 * pg,
	};
	int ret = __p2p_ioctl(c->gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &er);

	c->out_fd = er.fd;
	return ret;
}

static int op_reg(struct inject_ctx *c)
{
	return __p2p_reg_dmabuf(c->nic, c->buf, 0, 4 * pg, 0, &c->mr);
}

static int op_reg_pinned(struct inject_ctx *c)
{
	return __p2p_reg_dmabuf(c->nic, c->buf, 0, 4 * pg, P2PRDMA_REG_PINNED,
				&c->mr);
}

static int undo_reg(struct inject_ctx *c)
{
	return __p2p_dereg(c->nic, c->mr);
}

static int op_reg_user(struct inject_ctx *c)
{
	return __p2p_reg_user(c->nic, c->u, 3 * pg + 100, &c->mr);
}

/* a fresh region every time, so that the transfer maps it */
static int prepare_transfer(struct inject_ctx *c)
{
	return __p2p_reg_dmabuf(c->nic, c->buf, 0, 4 * pg, 0, &c->mr);
}

static int op_transfer(struct inject_ctx *c)
{
	return __p2p_transfer(c->nic, c->hu, 0, c->mr, 0, 64);
}

/* what a failed subtest left open: the next one closes it */
static struct inject_ctx *left_open;

static void inject_close(struct inject_ctx *c)
{
	close(c->buf);
	close(c->gpu);
	close(c->nic);
	munmap(c->u, 4 * pg);
	left_open = NULL;
}

static void inject_setup(struct inject_ctx *c, uint32_t placement)
{
	if (left_open)
		inject_close(left_open);
	memset(c, 0, sizeof(*c));
	left_open = c;
	c->gpu = p2p_gpu_open();
	c->nic = p2p_nic_open();
	igt_assert(c->gpu >= 0 && c->nic >= 0);
	c->placement = placement;
	c->handle = make_buf(c->gpu, 4, placement, 51);
	c->buf = p2p_export(c->gpu, c->handle);
	c->u = p2p_anon(4 * pg);
	c->hu = p2p_reg_user(c->nic, c->u, 4 * pg);
}

static void inject_teardown(struct inject_ctx *c)
{
	inject_close(c);
	p2p_assert_idle(0);
}

static const struct {
	const char *name;
	uint32_t placement;
} placements[] = {
	{ "vram", P2PGPU_PLACEMENT_VRAM },
	{ "system", P2PGPU_PLACEMENT_SYSTEM },
	{ "vram-preferred", P2PGPU_PLACEMENT_VRAM_PREFERRED },
};

static unsigned int pi;

igt_main
{
	igt_fixture {
		struct drm_p2pgpu_device_query dq = {};
		int gpu, nic;

		pg = getpagesize();
		gpu = p2p_gpu_open();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		nic = p2p_nic_open();
		igt_require_f(nic >= 0, "no %s\n", P2P_NIC_PATH);
		igt_require_f(p2p_have_counters(),
			      "no p2pgpu_objects / p2prdma objects in debugfs\n");
		igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq), 0);
		caps = dq.caps;
		snprintf(gpu_addr, sizeof(gpu_addr), "%04x:%02x:%02x.%x",
			 dq.pci_domain, dq.pci_bus, dq.pci_devfn >> 3,
			 dq.pci_devfn & 7);
		close(gpu);
		close(nic);
		p2p_assert_idle(0);
	}

	igt_describe("SIGKILL the exporting process mid-transfer: the importer goes on");
	igt_subtest("kill-exporter")
		subtest_kill_exporter();

	igt_describe("SIGKILL the importing process mid-transfer (dynamic region)");
	igt_subtest("kill-importer")
		subtest_kill_importer(false);

	igt_describe("SIGKILL the importing process mid-transfer (pinned region)");
	igt_subtest("kill-importer-pinned")
		subtest_kill_importer(true);

	igt_describe("close GEM handle, DRM fd, dma-buf fd, region and NIC fd in all 120 orders");
	igt_subtest("close-orders")
		subtest_close_orders();

	igt_describe("unbind the GPU under exported, registered, mapped buffers; bind again");
	igt_subtest("unbind-registered") {
		igt_require_f(access(P2P_GPU_DRV "/unbind", W_OK) == 0,
			      "no %s/unbind\n", P2P_GPU_DRV);
		subtest_unbind();
	}

	igt_describe("unbind the GPU under a pinned registration: it is revoked, not left mapped");
	igt_subtest("unbind-pinned") {
		igt_require_f(access(P2P_GPU_DRV "/unbind", W_OK) == 0,
			      "no %s/unbind\n", P2P_GPU_DRV);
		subtest_unbind_pinned();
	}

	for (pi = 0; pi < 3; pi++) {
		char name[64];

		snprintf(name, sizeof(name), "failslab-create-%s",
			 placements[pi].name);
		igt_subtest(name) {
			static struct inject_ctx c;

			failslab_setup();
			inject_setup(&c, placements[pi].placement);
			inject_loop(name, &c, NULL, op_create, NULL, undo_create);
			inject_teardown(&c);
		}
	}

	igt_subtest("failslab-export") {
		static struct inject_ctx c;

		failslab_setup();
		inject_setup(&c, P2PGPU_PLACEMENT_VRAM_PREFERRED);
		/* a handle's first export: the cached one would not allocate */
		close(c.buf);
		c.handle = make_buf(c.gpu, 4, P2PGPU_PLACEMENT_VRAM_PREFERRED, 52);
		inject_loop("export", &c, NULL, op_export, NULL, undo_fd);
		c.buf = p2p_export(c.gpu, c.handle);
		inject_teardown(&c);
	}

	igt_subtest("failslab-export-range") {
		static struct inject_ctx c;

		failslab_setup();
		inject_setup(&c, P2PGPU_PLACEMENT_VRAM);
		inject_loop("export-range", &c, NULL, op_export_range, NULL,
			    undo_fd);
		inject_teardown(&c);
	}

	igt_subtest("failslab-register") {
		static struct inject_ctx c;

		failslab_setup();
		inject_setup(&c, P2PGPU_PLACEMENT_VRAM);
		inject_loop("register", &c, NULL, op_reg, NULL, undo_reg);
		inject_teardown(&c);
	}

	igt_subtest("failslab-register-pinned") {
		static struct inject_ctx c;

		failslab_setup();
		inject_setup(&c, P2PGPU_PLACEMENT_VRAM);
		inject_loop("register-pinned", &c, NULL, op_reg_pinned, NULL,
			    undo_reg);
		inject_teardown(&c);
	}

	igt_subtest("failslab-register-user") {
		static struct inject_ctx c;

		failslab_setup();
		inject_setup(&c, P2PGPU_PLACEMENT_SYSTEM);
		inject_loop("register-user", &c, NULL, op_reg_user, NULL,
			    undo_reg);
		inject_teardown(&c);
	}

	igt_subtest("failslab-first-map") {
		static struct inject_ctx c;

		failslab_setup();
		inject_setup(&c, P2PGPU_PLACEMENT_VRAM);
		inject_loop("first-map", &c, prepare_transfer, op_transfer,
			    undo_reg, NULL);
		inject_teardown(&c);
	}

	igt_fixture
		failslab_restore();
}
