// SPDX-License-Identifier: GPL-2.0
/*
 * Fences on p2pgpu dma-bufs: implicit synchronisation through the
 * reservation object, observed by time and by bytes.
 *
 * Unsignalled fences come from sw_sync (<debugfs>/sync/sw_sync, one
 * timeline per fence) where the kernel has CONFIG_SW_SYNC, else from the
 * test module p2p_test_fence.ko as a sync_file. A KERNEL-usage fence (what
 * an exporter leaves behind a move still in progress) can only be added by
 * the kernel: p2p_test_fence.ko adds it.
 *
 * "Waits" is measured: another thread signals the fence after
 * SIGNAL_DELAY_MS and records when; the waiting call must return after that
 * moment, and must not have returned before it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>

#include "p2pbuf_common.h"
#include "p2p_kmod.h"

/* sw_sync's uapi (drivers/dma-buf/sw_sync.c); IGT's helpers are not ours */
struct p2p_sw_sync_create_fence_data {
	uint32_t value;
	char name[32];
	int32_t fence;
};

#define P2P_SW_SYNC_IOC_CREATE_FENCE \
	_IOWR('W', 0x00, struct p2p_sw_sync_create_fence_data)
#define P2P_SW_SYNC_IOC_INC	_IOW('W', 0x01, uint32_t)

#define SW_SYNC_PATH	"/sys/kernel/debug/sync/sw_sync"
#define TF_CTL		"/sys/kernel/debug/p2p_test_fence/ctl"
#define TF_USAGE_KERNEL	0

#define SIGNAL_DELAY_MS	300
/* a waiter must not be back before the signal; allow the clock's slack */
#define MIN_WAIT_S	(SIGNAL_DELAY_MS / 1000.0 - 0.02)

static int gpu = -1, nic = -1, tf = -1;
static bool tf_loaded, have_sw_sync;
static size_t pg;

/* an unsignalled fence: its sync_file, and how to signal it */
struct tfence {
	int fd;		/* sync_file */
	int timeline;	/* sw_sync timeline, or -1 */
	int id;		/* p2p_test_fence id, or -1 */
};

/* ---- p2p_test_fence.ko ---- */

static int tf_cmd(const char *cmd, char *out, size_t outlen)
{
	ssize_t n;

	if (write(tf, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -errno;
	n = pread(tf, out, outlen - 1, 0);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

static void tf_load(void)
{
	if (tf < 0)
		tf = p2p_kmod_load("p2p_test_fence", TF_CTL, true, &tf_loaded);
}

/* a KERNEL-usage fence in @dmabuf's reservation object: its id */
static int tf_add_kernel_fence(int dmabuf)
{
	char cmd[64], out[128];
	int id = -1, ret;

	snprintf(cmd, sizeof(cmd), "add %d %d", dmabuf, TF_USAGE_KERNEL);
	ret = tf_cmd(cmd, out, sizeof(out));
	igt_assert_f(ret == 0 && sscanf(out, "ret 0 fence %d", &id) == 1,
		     "p2p_test_fence %s: %s (%s)\n", cmd, strerror(-ret), out);
	return id;
}

static int tf_signal(int id)
{
	char cmd[32], out[128];

	snprintf(cmd, sizeof(cmd), "signal %d", id);
	return tf_cmd(cmd, out, sizeof(out));
}

/* ---- fences ---- */

static void fence_require(void)
{
	if (have_sw_sync)
		return;
	tf_load();
}

static struct tfence fence_new(void)
{
	struct tfence f = { .fd = -1, .timeline = -1, .id = -1 };

	if (have_sw_sync) {
		struct p2p_sw_sync_create_fence_data d = { .value = 1 };

		f.timeline = open(SW_SYNC_PATH, O_RDWR | O_CLOEXEC);
		igt_assert_f(f.timeline >= 0, "%s: %s\n", SW_SYNC_PATH,
			     strerror(errno));
		strcpy(d.name, "p2pbuf_fences");
		igt_assert_f(ioctl(f.timeline, P2P_SW_SYNC_IOC_CREATE_FENCE,
				   &d) == 0,
			     "SW_SYNC_IOC_CREATE_FENCE: %s\n", strerror(errno));
		f.fd = d.fence;
	} else {
		char out[128];
		int ret = tf_cmd("syncfile", out, sizeof(out));

		igt_assert_f(ret == 0 && sscanf(out, "ret 0 fence %d fd %d",
						&f.id, &f.fd) == 2,
			     "p2p_test_fence syncfile: %s (%s)\n",
			     strerror(-ret), out);
	}
	igt_assert(f.fd >= 0);
	return f;
}

/* 0 or -errno: also called from the signalling thread */
static int fence_signal(struct tfence *f)
{
	uint32_t one = 1;

	if (f->timeline >= 0)
		return ioctl(f->timeline, P2P_SW_SYNC_IOC_INC, &one) ? -errno : 0;
	return tf_signal(f->id);
}

static void fence_close(struct tfence *f)
{
	close(f->fd);
	/* closing a sw_sync timeline signals what is left on it */
	if (f->timeline >= 0)
		close(f->timeline);
	f->fd = f->timeline = -1;
}

/* 1 signalled, 0 active, <0 error: as SYNC_IOC_FILE_INFO says */
static int sync_file_status(int fd)
{
	struct sync_file_info info = {};

	igt_assert_f(ioctl(fd, SYNC_IOC_FILE_INFO, &info) == 0,
		     "SYNC_IOC_FILE_INFO: %s\n", strerror(errno));
	return info.status;
}

static short poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	igt_assert_f(poll(&p, 1, 0) >= 0, "poll: %s\n", strerror(errno));
	return p.revents;
}

static void import_fence(int dmabuf, struct tfence *f, uint32_t flags)
{
	struct dma_buf_import_sync_file imp = { .flags = flags, .fd = f->fd };

	igt_assert_f(ioctl(dmabuf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp) == 0,
		     "DMA_BUF_IOCTL_IMPORT_SYNC_FILE: %s\n", strerror(errno));
}

static int export_fence(int dmabuf, uint32_t flags)
{
	struct dma_buf_export_sync_file exp = { .flags = flags, .fd = -1 };

	igt_assert_f(ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp) == 0,
		     "DMA_BUF_IOCTL_EXPORT_SYNC_FILE: %s\n", strerror(errno));
	igt_assert(exp.fd >= 0);
	return exp.fd;
}

static void cpu_sync(int dmabuf, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	igt_assert_f(ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &s) == 0,
		     "DMA_BUF_IOCTL_SYNC %#llx: %s\n", (unsigned long long)flags,
		     strerror(errno));
}

/* ---- a thread that signals a fence later ---- */

struct signaller {
	pthread_t thread;
	struct tfence *fence;
	/* optional: written into the BAR just before the signal */
	volatile uint8_t *bar_dst;
	const uint8_t *bar_src;
	size_t bar_len;
	double t_signal;
	int ret;
};

static void *signal_later(void *arg)
{
	struct signaller *s = arg;

	usleep(SIGNAL_DELAY_MS * 1000);
	for (size_t i = 0; i < s->bar_len; i++)
		s->bar_dst[i] = s->bar_src[i];
	s->t_signal = p2p_now();
	s->ret = fence_signal(s->fence);
	return NULL;
}

static void signal_start(struct signaller *s, struct tfence *f)
{
	s->fence = f;
	s->t_signal = 0;
	s->ret = -1;
	igt_assert_eq(pthread_create(&s->thread, NULL, signal_later, s), 0);
}

static void signal_join(struct signaller *s)
{
	igt_assert_eq(pthread_join(s->thread, NULL), 0);
	igt_assert_f(s->ret == 0, "signalling the fence: %s\n",
		     strerror(-s->ret));
}

/* @t_back: when the waiting call returned; it must not beat the signal */
static void assert_waited(const char *what, double t0, double t_back,
			  struct signaller *s)
{
	igt_info("%s: back after %.3f s, fence signalled at %.3f s\n", what,
		 t_back - t0, s->t_signal - t0);
	igt_assert_f(t_back - t0 >= MIN_WAIT_S && t_back >= s->t_signal,
		     "%s returned after %.3f s, before the fence was signalled (at %.3f s): it did not wait\n",
		     what, t_back - t0, s->t_signal - t0);
}

/* ---- buffers ---- */

struct vbuf {
	uint32_t handle;
	int dmabuf;
	uint8_t *gem;
	size_t size;
};

static struct vbuf vbuf_new(size_t size, uint32_t placement)
{
	struct vbuf b = { .size = size };

	b.handle = p2p_create(gpu, size, placement);
	b.dmabuf = p2p_export(gpu, b.handle);
	b.gem = p2p_gem_mmap(gpu, b.handle, size);
	return b;
}

static void vbuf_free(struct vbuf *b)
{
	munmap(b->gem, b->size);
	close(b->dmabuf);
	p2pgpu_gem_close(gpu, b->handle);
}

static void random_fill(uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		igt_assert_f(r > 0, "getrandom: %s\n", strerror(errno));
		got += r;
	}
}

/* first differing byte, or -1 */
static long first_diff(const volatile uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

#define assert_bytes(what, got, want, n) \
	do { \
		long __d = first_diff((got), (want), (n)); \
		igt_assert_f(__d < 0, \
			     "%s: byte %ld is %#x, expected %#x (exact compare of %zu bytes)\n", \
			     (what), __d, (got)[__d < 0 ? 0 : __d], \
			     (want)[__d < 0 ? 0 : __d], (size_t)(n)); \
	} while (0)

static int transfer_t(uint32_t dst, uint32_t src, uint64_t len,
		      uint32_t timeout_ms)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .length = len,
		.timeout_ms = timeout_ms,
	};

	return ioctl(nic, P2PRDMA_IOCTL_TRANSFER, &t) ? -errno : 0;
}

/* ---- the VRAM BAR, read and written by the test itself ---- */

struct bar {
	volatile uint8_t *map;
	size_t size;
};

static bool bar_map(struct bar *bar)
{
	char path[128];
	struct stat st;
	int f;

	igt_assert_eq(fstat(gpu, &st), 0);
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/resource2",
		 major(st.st_rdev), minor(st.st_rdev));
	f = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (f < 0)
		return false;
	igt_assert_eq(fstat(f, &st), 0);
	bar->size = st.st_size;
	bar->map = mmap(NULL, bar->size, PROT_READ | PROT_WRITE, MAP_SHARED, f,
			0);
	close(f);
	return bar->map != MAP_FAILED;
}

/* where @want (random, at least a page) lies in the BAR: page aligned */
static long bar_find(struct bar *bar, const uint8_t *want, size_t len)
{
	long found = -1;

	for (size_t off = 0; off + len <= bar->size; off += pg) {
		if (memcmp((const void *)(bar->map + off), want, 16))
			continue;
		if (first_diff(bar->map + off, want, len) >= 0)
			continue;
		igt_assert_f(found < 0, "the random pattern is twice in the BAR\n");
		found = (long)off;
	}
	return found;
}

/* ---- GEM_MIGRATE in another thread ---- */

struct migrator {
	pthread_t thread;
	uint32_t handle;
	uint32_t placement;
	volatile int done;
	double t_done;
	int ret;
};

static void *migrate_now(void *arg)
{
	struct migrator *m = arg;

	m->ret = __p2p_migrate(gpu, m->handle, m->placement);
	m->t_done = p2p_now();
	m->done = 1;
	return NULL;
}

igt_main
{
	igt_fixture {
		const char *src;

		pg = getpagesize();
		gpu = p2p_gpu_open();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		nic = p2p_nic_open();
		igt_require_f(nic >= 0, "%s: %s\n", P2P_NIC_PATH,
			      strerror(errno));
		/*
		 * Since 7.x every sw_sync fence taints the kernel (L: "inherently
		 * unsafe"), which the judge fails: the harness then asks for
		 * the test module (P2PBUF_FENCE_SOURCE=p2p_test_fence).
		 */
		src = getenv("P2PBUF_FENCE_SOURCE");
		have_sw_sync = (!src || strcmp(src, "p2p_test_fence")) &&
			       access(SW_SYNC_PATH, R_OK | W_OK) == 0;
		igt_info("fence source: %s\n", have_sw_sync ? "sw_sync" :
			 src ? "p2p_test_fence.ko (P2PBUF_FENCE_SOURCE)" :
			 "p2p_test_fence.ko (no " SW_SYNC_PATH ": CONFIG_SW_SYNC off)");
	}

	igt_describe("IMPORT_SYNC_FILE of an unsignalled write fence into a range dma-buf makes DMA_BUF_IOCTL_SYNC (SYNC_START) on the whole buffer's dma-buf wait for it, and poll() report it busy until then");
	igt_subtest("import-blocks-cpu-sync") {
		struct vbuf b = vbuf_new(2 * pg, P2PGPU_PLACEMENT_VRAM);
		struct drm_p2pgpu_gem_export_range r = {
			.handle = b.handle, .flags = DRM_CLOEXEC | DRM_RDWR,
			.offset = pg, .length = pg,
		};
		struct signaller s = {};
		struct tfence f;
		double t0, t1;

		fence_require();
		igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE,
				       &r), 0);
		igt_assert_f(poll_now(b.dmabuf, POLLIN | POLLOUT) ==
			     (POLLIN | POLLOUT),
			     "an idle dma-buf must poll ready for read and write\n");

		f = fence_new();
		/* the range shares the buffer's reservation object */
		import_fence(r.fd, &f, DMA_BUF_SYNC_WRITE);
		igt_assert_f(poll_now(b.dmabuf, POLLIN) == 0 &&
			     poll_now(b.dmabuf, POLLOUT) == 0,
			     "with an unsignalled write fence poll() said ready (in %#x, out %#x)\n",
			     poll_now(b.dmabuf, POLLIN),
			     poll_now(b.dmabuf, POLLOUT));

		t0 = p2p_now();
		signal_start(&s, &f);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		t1 = p2p_now();
		signal_join(&s);
		assert_waited("SYNC_START|SYNC_READ", t0, t1, &s);
		igt_assert_f(poll_now(b.dmabuf, POLLIN | POLLOUT) ==
			     (POLLIN | POLLOUT),
			     "after the signal poll() must say ready\n");
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

		/* a reader's fence holds up a CPU write, not a CPU read */
		fence_close(&f);
		f = fence_new();
		import_fence(b.dmabuf, &f, DMA_BUF_SYNC_READ);
		igt_assert_f(poll_now(b.dmabuf, POLLIN) == POLLIN &&
			     poll_now(b.dmabuf, POLLOUT) == 0,
			     "with an unsignalled read fence: POLLIN %#x (expected ready), POLLOUT %#x (expected busy)\n",
			     poll_now(b.dmabuf, POLLIN),
			     poll_now(b.dmabuf, POLLOUT));
		t0 = p2p_now();
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		t1 = p2p_now();
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		igt_assert_f(t1 - t0 < MIN_WAIT_S,
			     "a CPU read waited %.3f s for a reader's fence\n",
			     t1 - t0);
		t0 = p2p_now();
		signal_start(&s, &f);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		t1 = p2p_now();
		signal_join(&s);
		assert_waited("SYNC_START|SYNC_WRITE", t0, t1, &s);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

		fence_close(&f);
		close(r.fd);
		vbuf_free(&b);
	}

	igt_describe("EXPORT_SYNC_FILE returns an unsignalled fence while an imported fence is pending, a signalled one after it signals; readers' fences only for a writer's export");
	igt_subtest("export-before-after") {
		struct vbuf b = vbuf_new(pg, P2PGPU_PLACEMENT_VRAM);
		struct tfence w, r;
		int e_rd, e_wr;

		fence_require();
		w = fence_new();
		r = fence_new();
		import_fence(b.dmabuf, &w, DMA_BUF_SYNC_WRITE);

		e_rd = export_fence(b.dmabuf, DMA_BUF_SYNC_READ);
		e_wr = export_fence(b.dmabuf, DMA_BUF_SYNC_WRITE);
		igt_assert_f(sync_file_status(e_rd) == 0 && poll_now(e_rd, POLLIN) == 0,
			     "exported (read) before the signal: status %d, poll %#x; expected active\n",
			     sync_file_status(e_rd), poll_now(e_rd, POLLIN));
		igt_assert_f(sync_file_status(e_wr) == 0 && poll_now(e_wr, POLLIN) == 0,
			     "exported (write) before the signal: status %d, poll %#x; expected active\n",
			     sync_file_status(e_wr), poll_now(e_wr, POLLIN));

		igt_assert_eq(fence_signal(&w), 0);
		igt_assert_f(sync_file_status(e_rd) == 1 &&
			     poll_now(e_rd, POLLIN) == POLLIN,
			     "exported before, after the signal: status %d, poll %#x; expected signalled\n",
			     sync_file_status(e_rd), poll_now(e_rd, POLLIN));
		igt_assert_eq(sync_file_status(e_wr), 1);
		close(e_rd);
		close(e_wr);
		e_rd = export_fence(b.dmabuf, DMA_BUF_SYNC_READ);
		igt_assert_f(sync_file_status(e_rd) == 1,
			     "exported after the signal: status %d, expected signalled\n",
			     sync_file_status(e_rd));
		close(e_rd);

		/* a pending reader: a writer must wait for it, a reader not */
		import_fence(b.dmabuf, &r, DMA_BUF_SYNC_READ);
		e_rd = export_fence(b.dmabuf, DMA_BUF_SYNC_READ);
		e_wr = export_fence(b.dmabuf, DMA_BUF_SYNC_WRITE);
		igt_assert_f(sync_file_status(e_rd) == 1,
			     "a read export includes a reader's fence (status %d)\n",
			     sync_file_status(e_rd));
		igt_assert_f(sync_file_status(e_wr) == 0,
			     "a write export misses a pending reader's fence (status %d)\n",
			     sync_file_status(e_wr));
		igt_assert_eq(fence_signal(&r), 0);
		igt_assert_eq(sync_file_status(e_wr), 1);
		close(e_rd);
		close(e_wr);
		fence_close(&w);
		fence_close(&r);
		vbuf_free(&b);
	}

	igt_describe("A NIC transfer waits for the fences of the dma-buf it writes (all) and reads (writers'), fails -ETIMEDOUT at its timeout_ms leaving the destination's bytes as they were, and completes once the fence signals");
	igt_subtest("nic-transfer-waits") {
		struct vbuf b = vbuf_new(pg, P2PGPU_PLACEMENT_VRAM);
		uint8_t *u1 = p2p_anon(pg), *u2 = p2p_anon(pg);
		uint8_t *old = malloc(pg), *was = malloc(pg);
		uint32_t hd, h1, h2;
		struct signaller s = {};
		struct tfence f;
		double t0, t1;
		int ret;

		fence_require();
		random_fill(u1, pg);
		random_fill(old, pg);
		memcpy(b.gem, old, pg);
		hd = p2p_reg_dmabuf(nic, b.dmabuf, 0, pg, 0);
		h1 = p2p_reg_user(nic, u1, pg);
		h2 = p2p_reg_user(nic, u2, pg);

		/* writing the dma-buf: a pending reader holds it up */
		f = fence_new();
		import_fence(b.dmabuf, &f, DMA_BUF_SYNC_READ);
		t0 = p2p_now();
		ret = transfer_t(hd, h1, pg, 500);
		t1 = p2p_now();
		igt_info("transfer into a fenced dma-buf, timeout 500 ms: %s after %.3f s\n",
			 strerror(-ret), t1 - t0);
		igt_assert_f(ret == -ETIMEDOUT,
			     "transfer into a dma-buf with an unsignalled fence: %s, expected ETIMEDOUT\n",
			     strerror(-ret));
		igt_assert_f(t1 - t0 >= 0.45 && t1 - t0 < 3.0,
			     "the 500 ms timeout took %.3f s\n", t1 - t0);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		memcpy(was, b.gem, pg);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		assert_bytes("destination after the timed-out transfer", was, old, pg);

		t0 = p2p_now();
		signal_start(&s, &f);
		ret = transfer_t(hd, h1, pg, 0);
		t1 = p2p_now();
		signal_join(&s);
		igt_assert_f(ret == 0, "transfer after the signal: %s\n",
			     strerror(-ret));
		assert_waited("transfer into the dma-buf", t0, t1, &s);
		/* the GEM mapping shares the pages: the dma-buf's sync covers it */
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		assert_bytes("destination after the transfer", b.gem, u1, pg);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		fence_close(&f);

		/* reading the dma-buf: a pending writer holds it up */
		memset(u2, 0x5a, pg);
		f = fence_new();
		import_fence(b.dmabuf, &f, DMA_BUF_SYNC_WRITE);
		ret = transfer_t(h2, hd, pg, 500);
		igt_assert_f(ret == -ETIMEDOUT,
			     "transfer out of a dma-buf with an unsignalled write fence: %s, expected ETIMEDOUT\n",
			     strerror(-ret));
		for (size_t i = 0; i < pg; i++)
			igt_assert_f(u2[i] == 0x5a,
				     "user memory byte %zu changed to %#x by a timed-out transfer\n",
				     i, u2[i]);
		t0 = p2p_now();
		signal_start(&s, &f);
		ret = transfer_t(h2, hd, pg, 0);
		t1 = p2p_now();
		signal_join(&s);
		igt_assert_f(ret == 0, "transfer after the signal: %s\n",
			     strerror(-ret));
		assert_waited("transfer out of the dma-buf", t0, t1, &s);
		assert_bytes("user memory after the transfer", u2, u1, pg);
		fence_close(&f);

		/* reading past a pending reader does not wait */
		memset(u2, 0, pg);
		f = fence_new();
		import_fence(b.dmabuf, &f, DMA_BUF_SYNC_READ);
		ret = transfer_t(h2, hd, pg, 5000);
		igt_assert_f(ret == 0,
			     "a read of a dma-buf with only a reader's fence pending: %s\n",
			     strerror(-ret));
		assert_bytes("user memory, read past a reader", u2, u1, pg);
		igt_assert_eq(fence_signal(&f), 0);
		fence_close(&f);

		igt_assert_eq(__p2p_dereg(nic, hd), 0);
		igt_assert_eq(__p2p_dereg(nic, h1), 0);
		igt_assert_eq(__p2p_dereg(nic, h2), 0);
		free(old);
		free(was);
		munmap(u1, pg);
		munmap(u2, pg);
		vbuf_free(&b);
	}

	igt_describe("The importer waits for the exporter's KERNEL fence (a move still in progress) before using the new mapping of a moved buffer, within the transfer's timeout");
	igt_subtest("importer-waits-kernel-fence") {
		struct vbuf b = vbuf_new(pg, P2PGPU_PLACEMENT_VRAM);
		uint8_t *u1 = p2p_anon(pg), *u2 = p2p_anon(pg);
		uint8_t *was = malloc(pg);
		struct drm_p2pgpu_gem_query gq;
		struct p2prdma_query_mr q;
		struct signaller s = {};
		struct tfence kf = { .fd = -1, .timeline = -1 };
		uint32_t hd, h1, h2, maps;
		bool moved;
		double t0, t1;
		int ret;

		tf_load();
		random_fill(u1, pg);
		random_fill(u2, pg);
		hd = p2p_reg_dmabuf(nic, b.dmabuf, 0, pg, 0);
		h1 = p2p_reg_user(nic, u1, pg);
		h2 = p2p_reg_user(nic, u2, pg);
		p2p_transfer(nic, hd, 0, h1, 0, pg);

		/*
		 * The buffer moves (to the other placement: a staged mapping
		 * already put it in system memory): the mapping is dropped.
		 */
		p2pgpu_query(gpu, b.handle, &gq, NULL, 0);
		ret = __p2p_migrate(gpu, b.handle,
				    gq.placement == P2PGPU_RESIDENT_VRAM ?
				    P2PGPU_PLACEMENT_SYSTEM :
				    P2PGPU_PLACEMENT_VRAM);
		igt_assert_eq(__p2p_query(nic, hd, &q), 0);
		moved = ret == 0 && (q.flags & P2PRDMA_MR_INVALIDATED);
		if (!moved) {
			/* no move_notify: the importer's map pinned it */
			p2pgpu_query(gpu, b.handle, &gq, NULL, 0);
			igt_assert_f(ret == -EBUSY && (gq.flags & P2PGPU_BO_PINNED),
				     "GEM_MIGRATE: %s, region flags %#x, buffer flags %#x: expected a move and an invalidation, or EBUSY from a pin\n",
				     strerror(-ret), q.flags, gq.flags);
			igt_info("the buffer is pinned by the importer (no DMABUF_MOVE_NOTIFY): the KERNEL fence is waited for on the same mapping\n");
		}
		maps = q.map_count;

		/* ... and its exporter's copy is still running */
		kf.id = tf_add_kernel_fence(b.dmabuf);
		t0 = p2p_now();
		ret = transfer_t(hd, h2, pg, 400);
		t1 = p2p_now();
		igt_info("transfer behind a KERNEL fence, timeout 400 ms: %s after %.3f s\n",
			 strerror(-ret), t1 - t0);
		igt_assert_f(ret == -ETIMEDOUT,
			     "transfer behind an unsignalled KERNEL fence: %s, expected ETIMEDOUT\n",
			     strerror(-ret));
		igt_assert_f(t1 - t0 >= 0.38 && t1 - t0 < 2.0,
			     "the 400 ms timeout took %.3f s: the fence wait is not bounded by timeout_ms\n",
			     t1 - t0);
		igt_assert_eq(tf_signal(kf.id), 0);
		/* TTM's CPU fault waits for KERNEL fences: read after the signal */
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		memcpy(was, b.gem, pg);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		assert_bytes("destination after the timed-out transfer", was, u1, pg);

		kf.id = tf_add_kernel_fence(b.dmabuf);
		t0 = p2p_now();
		signal_start(&s, &kf);
		ret = transfer_t(hd, h2, pg, 0);
		t1 = p2p_now();
		signal_join(&s);
		igt_assert_f(ret == 0, "transfer after the KERNEL fence signalled: %s\n",
			     strerror(-ret));
		assert_waited("transfer behind a KERNEL fence", t0, t1, &s);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		assert_bytes("destination after the transfer", b.gem, u2, pg);
		cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		igt_assert_eq(__p2p_query(nic, hd, &q), 0);
		igt_assert_f(!(q.flags & P2PRDMA_MR_INVALIDATED) &&
			     q.map_count == maps + (moved ? 1 : 0),
			     "region after the transfer: flags %#x, %u maps (expected %u, not invalidated)\n",
			     q.flags, q.map_count, maps + (moved ? 1 : 0));

		igt_assert_eq(__p2p_dereg(nic, hd), 0);
		igt_assert_eq(__p2p_dereg(nic, h1), 0);
		igt_assert_eq(__p2p_dereg(nic, h2), 0);
		free(was);
		munmap(u1, pg);
		munmap(u2, pg);
		vbuf_free(&b);
	}

	igt_describe("GEM_MIGRATE of a buffer with an unsignalled imported write fence waits for it: still blocked after 300 ms, done after the signal, and the copy holds what the fenced writer wrote into the BAR before signalling");
	igt_subtest("migrate-waits-fence") {
		size_t size = 2 * pg;
		struct vbuf b = vbuf_new(size, P2PGPU_PLACEMENT_VRAM);
		uint8_t *p1 = malloc(size), *p2 = malloc(size);
		struct drm_p2pgpu_gem_query gq;
		struct migrator m = { .placement = P2PGPU_PLACEMENT_SYSTEM };
		struct signaller s = {};
		struct tfence f;
		struct bar bar;
		long off;
		double t0;

		fence_require();
		igt_require_f(bar_map(&bar),
			      "the GPU's resource2 cannot be mapped (sysfs, iomem=relaxed)\n");
		random_fill(p1, size);
		random_fill(p2, size);
		memcpy(b.gem, p1, size);
		p2pgpu_query(gpu, b.handle, &gq, NULL, 0);
		igt_assert_eq_u32(gq.placement, P2PGPU_RESIDENT_VRAM);
		off = bar_find(&bar, p1, size);
		igt_assert_f(off >= 0, "the buffer's bytes are nowhere in the BAR\n");

		f = fence_new();
		import_fence(b.dmabuf, &f, DMA_BUF_SYNC_WRITE);
		m.handle = b.handle;
		t0 = p2p_now();
		igt_assert_eq(pthread_create(&m.thread, NULL, migrate_now, &m), 0);
		/* the fenced writer finishes into VRAM, then signals */
		s.bar_dst = bar.map + off;
		s.bar_src = p2;
		s.bar_len = size;
		signal_start(&s, &f);
		usleep(SIGNAL_DELAY_MS * 1000 - 50000);
		igt_assert_f(!m.done,
			     "GEM_MIGRATE returned (%s) after %.3f s with the fence still unsignalled\n",
			     strerror(-m.ret), m.t_done - t0);
		signal_join(&s);
		igt_assert_eq(pthread_join(m.thread, NULL), 0);
		igt_assert_f(m.ret == 0, "GEM_MIGRATE: %s\n", strerror(-m.ret));
		assert_waited("GEM_MIGRATE", t0, m.t_done, &s);

		p2pgpu_query(gpu, b.handle, &gq, NULL, 0);
		igt_assert_eq_u32(gq.placement, P2PGPU_RESIDENT_SYSTEM);
		/* what the writer wrote before its fence signalled moved along */
		assert_bytes("buffer after the migration", b.gem, p2, size);

		fence_close(&f);
		munmap((void *)bar.map, bar.size);
		free(p1);
		free(p2);
		vbuf_free(&b);
	}

	igt_describe("CPU access through the dma-buf mmap bracketed by DMA_BUF_IOCTL_SYNC sees exactly the bytes the NIC wrote by DMA, and the NIC reads exactly what the CPU wrote there, in VRAM and in system memory");
	igt_subtest("cpu-access-sees-dma") {
		static const uint32_t places[] = { P2PGPU_PLACEMENT_VRAM,
						   P2PGPU_PLACEMENT_SYSTEM };
		size_t size = 2 * pg;

		for (unsigned int i = 0; i < 2; i++) {
			struct vbuf b = vbuf_new(size, places[i]);
			uint8_t *u = p2p_anon(size), *u2 = p2p_anon(size);
			uint8_t *want = malloc(size), *map;
			uint32_t hd, hu, hu2;

			map = mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, b.dmabuf, 0);
			igt_assert_f(map != MAP_FAILED, "dma-buf mmap: %s\n",
				     strerror(errno));
			/* the dma-buf mapping is faulted in before the DMA */
			cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
			memset(map, 0, size);
			cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

			random_fill(u, size);
			hd = p2p_reg_dmabuf(nic, b.dmabuf, 0, size, 0);
			hu = p2p_reg_user(nic, u, size);
			hu2 = p2p_reg_user(nic, u2, size);
			p2p_transfer(nic, hd, 0, hu, 0, size);
			cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
			assert_bytes(i ? "system: CPU read of the NIC's DMA" :
				     "VRAM: CPU read of the NIC's DMA", map, u, size);
			cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

			random_fill(want, size);
			cpu_sync(b.dmabuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
			memcpy(map, want, size);
			cpu_sync(b.dmabuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
			p2p_transfer(nic, hu2, 0, hd, 0, size);
			assert_bytes(i ? "system: NIC read of the CPU's write" :
				     "VRAM: NIC read of the CPU's write", u2, want, size);

			igt_assert_eq(__p2p_dereg(nic, hd), 0);
			igt_assert_eq(__p2p_dereg(nic, hu), 0);
			igt_assert_eq(__p2p_dereg(nic, hu2), 0);
			munmap(map, size);
			munmap(u, size);
			munmap(u2, size);
			free(want);
			vbuf_free(&b);
		}
	}

	igt_fixture {
		if (tf >= 0) {
			char out[64];

			/* a failed subtest may have left one unsignalled */
			tf_cmd("reset", out, sizeof(out));
			close(tf);
		}
		if (tf_loaded) {
			int ret, tries = 0;

			/* TTM may free a closed buffer, and its fences, late */
			while ((ret = syscall(SYS_delete_module,
					      "p2p_test_fence", O_NONBLOCK)) &&
			       errno == EWOULDBLOCK && ++tries < 50)
				usleep(100000);
			igt_assert_f(ret == 0,
				     "unloading p2p_test_fence (a fence of it still referenced?): %s\n",
				     strerror(errno));
		}
		if (nic >= 0)
			close(nic);
		if (gpu >= 0)
			close(gpu);
	}
}
