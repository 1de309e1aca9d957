// SPDX-License-Identifier: MIT
/*
 * p2pctl bench: what sharing a p2pgpu VRAM buffer with a p2prdma NIC costs,
 * against the kernel's own dma-buf exporters (udmabuf, the system dma-heap)
 * and a plain memcpy, all measured in this one run on this one machine.
 * Every ratio printed is p2pbuf / peer from numbers taken here; a peer that
 * cannot be measured is "n/a" with the reason.
 *
 *   map cost       attach + map the largest VRAM buffer on the NIC, against
 *                  udmabuf and the system heap of the same size on the same
 *                  NIC: time, scatterlist entries, DMA-contiguous segments
 *   steady state   re-maps (the NIC's map_count) over N transfers with no
 *                  move, then over N transfers after one eviction
 *   migration      GEM_MIGRATE VRAM -> system -> VRAM against memcpy
 *   scale          create / export / register / register+map cost with
 *                  1k, 10k, 100k live buffers
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <xf86drm.h>

#include "bench.h"
#include "cli.h"
#include "json.h"
#include "p2pbuf.h"

#define MAX_REPS	64
#define MAX_LEVELS	8
#define XFER_LEN	64
#define SCALE_BO_SIZE	4096
#define NAN_D		(0.0 / 0.0)

static const char bench_help[] =
	"NAME\n"
	"    p2pctl bench - measure p2pbuf against its peers in this machine\n"
	"\n"
	"SYNOPSIS\n"
	"    p2pctl bench [--gpu DEV] [--nic DEV] [--size BYTES] [--reps N]\n"
	"                 [--transfers N] [--steady-budget SEC]\n"
	"                 [--scale N,N,...] [--sample N] [--scale-budget SEC]\n"
	"                 [--skip map,steady,migrate,scale] [--json[=FILE]]\n"
	"                 [--map-sizes SIZE,...] [--remap N] [--warmup N]\n"
	"\n"
	"DESCRIPTION\n"
	"    Map cost: registers (attach + map) the largest VRAM buffer the GPU can\n"
	"    hold (or --size) on the NIC, and a udmabuf (memfd) and a system dma-heap\n"
	"    buffer of the same size on the same NIC; all three through the same\n"
	"    pinned registration path (udmabuf and heaps are not dynamic: the NIC\n"
	"    pins and maps them at registration). Prints time, scatterlist entries\n"
	"    and DMA-contiguous segments, each as the ratio p2pbuf / peer. Also the\n"
	"    default dynamic registration: attach time and lazy map on first use.\n"
	"\n"
	"    Steady state: re-maps counted by the NIC driver over N transfers with\n"
	"    no move (expect 0), then after one eviction to system memory\n"
	"    (expect 1). Stops early at --steady-budget and prints the N done.\n"
	"\n"
	"    Migration: GEM_MIGRATE VRAM -> system -> VRAM throughput against\n"
	"    memcpy of the same size.\n"
	"\n"
	"    Scale: grows a population of live one-page buffers (created,\n"
	"    exported, registered on the NIC) and times --sample more of each\n"
	"    operation at every --scale level; stops at --scale-budget or when\n"
	"    memory runs low, and prints what was reached.\n"
	"\n"
	"    Map sizes (--map-sizes 4K,64M,1G): the pinned registration of each\n"
	"    exporter at each size, --reps samples, min / median / max, and the\n"
	"    growth largest / smallest (\"no difference\" when they overlap).\n"
	"\n"
	"    Re-map (--remap N): N samples of transfer, GEM_MIGRATE (the NIC's\n"
	"    table is invalidated), transfer (re-maps): p50 / p99 of each and of\n"
	"    the paired difference.\n"
	"\n"
	"    --warmup N: N buffers created, exported, registered (dynamic and\n"
	"    pinned) and freed before the scale population grows.\n"
	"\n"
	"    The table goes to stdout and progress to stderr. --json writes the\n"
	"    results as one JSON object to stdout, as every p2pctl command does\n"
	"    (the table then goes to stderr); --json=FILE to FILE instead.\n"
	"\n"
	"OPTIONS\n"
	"    --gpu DEV, --nic DEV  an index (0, gpu0) or a PCI address\n"
	"    --size BYTES          whole bytes, suffix K, M, G or T (1024^1..4)\n"
	"    --reps N              1 to 64     --transfers N   0 to 10^9\n"
	"    --sample N            1 to 10^6   --scale N,...   rising, 1 to 10^7 each\n"
	"    --steady-budget SEC, --scale-budget SEC   0 to 86400\n"
	"\n"
	"DEFAULTS\n"
	"    --reps 5 --transfers 10000 --steady-budget 120 --scale 1000,10000,100000\n"
	"    --sample 200 --scale-budget 900\n"
	"\n"
	"EXIT STATUS\n"
	"    0 success, 1 a part failed, 2 usage error, 3 no device\n";

struct bopts {
	struct cli_dev gpu_sel, nic_sel;
	int gpu, nic, reps;
	uint64_t size, transfers;
	double steady_budget, scale_budget;
	uint64_t levels[MAX_LEVELS];
	int nlevels;
	unsigned int sample;
	const char *json;
	bool skip_map, skip_steady, skip_migrate, skip_scale;
	uint64_t map_sizes[MAX_LEVELS];
	int nmap_sizes;
	unsigned int remap, warmup;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_REPS];

	if (n <= 0)
		return NAN_D;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_d);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* a distribution of samples: what every timed row reports */
struct dist {
	int n;
	double min, med, max, p99;
};

static struct dist dist_of(const double *v, int n)
{
	struct dist d = { .n = n, .min = NAN_D, .med = NAN_D, .max = NAN_D,
			  .p99 = NAN_D };
	double s[MAX_REPS];

	if (n <= 0)
		return d;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_d);
	d.min = s[0];
	d.max = s[n - 1];
	d.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	/* nearest rank: with fewer than 100 samples p99 is the maximum */
	d.p99 = s[(int)((n * 99 + 99) / 100) - 1];
	return d;
}

/* dist_of() for any number of samples: sorts @v in place */
static struct dist dist_sorted(double *v, int n)
{
	struct dist d = { .n = n, .min = NAN_D, .med = NAN_D, .max = NAN_D,
			  .p99 = NAN_D };

	if (n <= 0)
		return d;
	qsort(v, n, sizeof(*v), cmp_d);
	d.min = v[0];
	d.max = v[n - 1];
	d.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	d.p99 = v[(int)((n * 99 + 99) / 100) - 1];
	return d;
}

static bool dist_overlap(const struct dist *a, const struct dist *b)
{
	return !(a->max < b->min || b->max < a->min);
}

static double ratio(double a, double b)
{
	if (a != a || b != b || b == 0)
		return NAN_D;
	return a / b;
}

static const char *fmt_time(char *buf, size_t n, double s)
{
	if (s != s)
		snprintf(buf, n, "n/a");
	else if (s < 1e-3)
		snprintf(buf, n, "%.1f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, n, "%.2f ms", s * 1e3);
	else
		snprintf(buf, n, "%.2f s", s);
	return buf;
}

static const char *fmt_ratio(char *buf, size_t n, double r)
{
	if (r != r)
		snprintf(buf, n, "n/a");
	else
		snprintf(buf, n, "%.3g", r);
	return buf;
}

static const char *fmt_size(char *buf, size_t n, uint64_t v)
{
	if (v >= (1ull << 30) && !(v & ((1ull << 30) - 1)))
		snprintf(buf, n, "%" PRIu64 " GiB", v >> 30);
	else if (v >= (1ull << 20) && !(v & ((1ull << 20) - 1)))
		snprintf(buf, n, "%" PRIu64 " MiB", v >> 20);
	else if (v >= 1024 && !(v & 1023))
		snprintf(buf, n, "%" PRIu64 " KiB", v >> 10);
	else
		snprintf(buf, n, "%" PRIu64 " B", v);
	return buf;
}

static const char *fmt_dist(char *buf, size_t n, const struct dist *d)
{
	char a[32], b[32], c[32];

	if (!d->n) {
		snprintf(buf, n, "n/a");
		return buf;
	}
	snprintf(buf, n, "%s / %s / %s", fmt_time(a, sizeof(a), d->min),
		 fmt_time(b, sizeof(b), d->med), fmt_time(c, sizeof(c), d->max));
	return buf;
}

/*
 * a / b of two time distributions: the ratio of the medians with the range
 * the extremes allow, or "no difference" when the two overlap.
 */
static const char *fmt_cmp(char *buf, size_t n, const struct dist *a,
			   const struct dist *b)
{
	if (!a->n || !b->n)
		snprintf(buf, n, "n/a");
	else if (dist_overlap(a, b))
		snprintf(buf, n, "no difference (overlap; medians %.3g)",
			 a->med / b->med);
	else
		snprintf(buf, n, "%.3g (%.3g to %.3g)", a->med / b->med,
			 a->min / b->max, a->max / b->min);
	return buf;
}

static bool progress_due(double *next)
{
	double t = now();

	if (t < *next)
		return false;
	*next = t + 5;
	return true;
}

/* ------------------------------------------------------------------ */
/* raw ioctls: the library adds nothing worth timing                    */
/* ------------------------------------------------------------------ */

static int gem_create(int fd, uint64_t size, uint32_t placement, uint32_t *h)
{
	struct drm_p2pgpu_gem_create c = { .size = size, .placement = placement };

	if (drmIoctl(fd, DRM_IOCTL_P2PGPU_GEM_CREATE, &c))
		return -errno;
	*h = c.handle;
	return 0;
}

static void gem_close(int fd, uint32_t h)
{
	struct drm_gem_close c = { .handle = h };

	drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

static int gem_export(int fd, uint32_t h, int *out)
{
	if (drmPrimeHandleToFD(fd, h, DRM_CLOEXEC | DRM_RDWR, out))
		return -errno;
	return 0;
}

static int gem_migrate(int fd, uint32_t h, uint32_t placement)
{
	struct drm_p2pgpu_gem_migrate m = { .handle = h, .placement = placement };

	if (drmIoctl(fd, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &m))
		return -errno;
	return 0;
}

static int gem_placement(int fd, uint32_t h, uint32_t *placement,
			 uint32_t *moves)
{
	struct drm_p2pgpu_gem_query q = { .handle = h };

	if (drmIoctl(fd, DRM_IOCTL_P2PGPU_GEM_QUERY, &q))
		return -errno;
	*placement = q.placement;
	if (moves)
		*moves = q.move_count;
	return 0;
}

static int mr_reg(int fd, int buf, uint64_t len, uint32_t flags, uint32_t *h)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .length = len, .access = P2PRDMA_ACCESS_ALL,
		.flags = flags,
	};

	if (ioctl(fd, P2PRDMA_IOCTL_REG_DMABUF_MR, &r))
		return -errno;
	*h = r.handle;
	return 0;
}

static int mr_reg_user(int fd, void *p, uint64_t len, uint32_t *h)
{
	struct p2prdma_reg_user_mr r = {
		.addr = (uintptr_t)p, .length = len, .access = P2PRDMA_ACCESS_ALL,
	};

	if (ioctl(fd, P2PRDMA_IOCTL_REG_USER_MR, &r))
		return -errno;
	*h = r.handle;
	return 0;
}

static void mr_dereg(int fd, uint32_t h)
{
	struct p2prdma_dereg_mr d = { .handle = h };

	ioctl(fd, P2PRDMA_IOCTL_DEREG_MR, &d);
}

static int mr_query(int fd, uint32_t h, struct p2prdma_query_mr *q)
{
	memset(q, 0, sizeof(*q));
	q->handle = h;
	if (ioctl(fd, P2PRDMA_IOCTL_QUERY_MR, q))
		return -errno;
	return 0;
}

static int mr_transfer(int fd, uint32_t dst, uint32_t src, uint64_t len,
		       uint64_t *via_system)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .length = len,
	};

	if (ioctl(fd, P2PRDMA_IOCTL_TRANSFER, &t))
		return -errno;
	if (via_system)
		*via_system = t.bytes_via_system;
	return 0;
}

/* ------------------------------------------------------------------ */
/* map cost                                                             */
/* ------------------------------------------------------------------ */

enum { X_P2PGPU, X_UDMABUF, X_HEAP, X_N };
static const char *const xname[X_N] = { "p2pgpu VRAM", "udmabuf (memfd)",
					 "system dma-heap" };
static const char *const xkey[X_N] = { "p2pgpu", "udmabuf", "system_heap" };

struct map_row {
	bool avail;
	char why[200];
	int n;
	double t[MAX_REPS];
	double med;
	uint32_t sg_entries, segments, backing, mr_flags;
};

struct map_res {
	bool ran;
	char why[200];
	uint64_t size, pages;
	struct map_row row[X_N];
	/* the default, dynamic registration of the p2pgpu buffer */
	bool dyn_avail;
	char dyn_why[200];
	double dyn_attach, dyn_first, dyn_second;
	uint32_t dyn_sg_entries, dyn_segments, dyn_backing, dyn_map_count;
};

/* one buffer of an exporter: its dma-buf and what keeps it alive */
struct xbuf {
	int dmabuf, keep;
	uint32_t gem;
};

static void xbuf_put(int gpufd, int kind, struct xbuf *b)
{
	if (b->dmabuf >= 0)
		close(b->dmabuf);
	if (b->keep >= 0)
		close(b->keep);
	if (kind == X_P2PGPU && b->gem)
		gem_close(gpufd, b->gem);
	b->dmabuf = b->keep = -1;
	b->gem = 0;
}

static int xbuf_new(int gpufd, int kind, uint64_t size, struct xbuf *b,
		    char *why, size_t wn)
{
	int dev, ret;

	b->dmabuf = b->keep = -1;
	b->gem = 0;
	switch (kind) {
	case X_P2PGPU: {
		uint32_t pl = 0;

		ret = gem_create(gpufd, size, P2PGPU_PLACEMENT_VRAM, &b->gem);
		if (ret) {
			snprintf(why, wn, "GEM_CREATE of %" PRIu64 " bytes in VRAM: %s",
				 size, p2pbuf_strerror(ret));
			return ret;
		}
		ret = gem_export(gpufd, b->gem, &b->dmabuf);
		if (ret) {
			snprintf(why, wn, "PRIME export: %s", p2pbuf_strerror(ret));
			break;
		}
		ret = gem_placement(gpufd, b->gem, &pl, NULL);
		if (!ret && pl != P2PGPU_RESIDENT_VRAM) {
			snprintf(why, wn, "the buffer is not in VRAM");
			ret = -EIO;
		}
		break;
	}
	case X_UDMABUF: {
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC,
					    .size = size };

		dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
		if (dev < 0) {
			ret = -errno;
			snprintf(why, wn, "/dev/udmabuf: %s", p2pbuf_strerror(ret));
			return ret;
		}
		b->keep = memfd_create("p2pctl-bench", MFD_ALLOW_SEALING | MFD_CLOEXEC);
		if (b->keep < 0 || ftruncate(b->keep, size) ||
		    fcntl(b->keep, F_ADD_SEALS, F_SEAL_SHRINK)) {
			ret = -errno;
			snprintf(why, wn, "memfd: %s", p2pbuf_strerror(ret));
			close(dev);
			break;
		}
		c.memfd = b->keep;
		b->dmabuf = ioctl(dev, UDMABUF_CREATE, &c);
		ret = b->dmabuf < 0 ? -errno : 0;
		close(dev);
		if (ret)
			snprintf(why, wn,
				 "UDMABUF_CREATE of %" PRIu64 " bytes: %s (udmabuf.size_limit_mb?)",
				 size, p2pbuf_strerror(ret));
		break;
	}
	default: {
		struct dma_heap_allocation_data a = {
			.len = size, .fd_flags = O_RDWR | O_CLOEXEC,
		};

		dev = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
		if (dev < 0) {
			ret = -errno;
			snprintf(why, wn, "/dev/dma_heap/system: %s", p2pbuf_strerror(ret));
			return ret;
		}
		ret = ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &a) ? -errno : 0;
		close(dev);
		if (ret)
			snprintf(why, wn, "DMA_HEAP_IOCTL_ALLOC of %" PRIu64 " bytes: %s",
				 size, p2pbuf_strerror(ret));
		else
			b->dmabuf = a.fd;
		break;
	}
	}
	if (ret)
		xbuf_put(gpufd, kind, b);
	return ret;
}

/* the largest VRAM buffer: the whole BAR if it fits, else halving */
static uint64_t largest_vram_bo(int gpufd, uint64_t vram)
{
	uint64_t s = vram & ~4095ull;
	uint32_t h = 0;

	while (s >= 4096) {
		if (!gem_create(gpufd, s, P2PGPU_PLACEMENT_VRAM, &h)) {
			gem_close(gpufd, h);
			return s;
		}
		s /= 2;
	}
	return 0;
}

static void bench_map(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
		      const struct p2pbuf_gpu_info *gi, const struct bopts *o,
		      struct map_res *r)
{
	struct p2prdma_query_mr q;
	int k, rep, ret;

	memset(r, 0, sizeof(*r));
	r->ran = true;
	if (o->size) {
		r->size = (o->size + 4095) & ~4095ull;
	} else {
		r->size = largest_vram_bo(gpu->fd, gi->vram_size);
		if (r->size > gi->vram_pin_limit) {
			fprintf(stderr,
				"bench: map: the VRAM pin limit (%" PRIu64 " MiB) is below the largest buffer; using it (raise p2pgpu.vram_pin_limit_mb)\n",
				gi->vram_pin_limit >> 20);
			r->size = gi->vram_pin_limit & ~4095ull;
		}
	}
	if (!r->size) {
		snprintf(r->why, sizeof(r->why), "no VRAM buffer can be created");
		r->ran = false;
		return;
	}
	r->pages = r->size / 4096;

	for (k = 0; k < X_N; k++) {
		struct map_row *row = &r->row[k];

		row->avail = true;
		for (rep = 0; rep < o->reps && row->avail; rep++) {
			struct xbuf b;
			uint32_t h = 0;
			double t0, t1;

			fprintf(stderr, "bench: map: %s, %" PRIu64 " MiB, rep %d/%d\n",
				xname[k], r->size >> 20, rep + 1, o->reps);
			ret = xbuf_new(gpu->fd, k, r->size, &b, row->why,
				       sizeof(row->why));
			if (ret) {
				row->avail = false;
				break;
			}
			t0 = now();
			ret = mr_reg(nic->fd, b.dmabuf, r->size, P2PRDMA_REG_PINNED, &h);
			t1 = now();
			if (ret) {
				snprintf(row->why, sizeof(row->why),
					 "REG_DMABUF_MR (pinned): %s", p2pbuf_strerror(ret));
				row->avail = false;
			} else {
				row->t[row->n++] = t1 - t0;
				if (!mr_query(nic->fd, h, &q)) {
					row->sg_entries = q.sg_entries;
					row->segments = q.num_segments;
					row->backing = q.backing;
					row->mr_flags = q.flags;
				}
				mr_dereg(nic->fd, h);
			}
			xbuf_put(gpu->fd, k, &b);
		}
		row->med = median(row->t, row->n);
		if (row->avail && row->sg_entries == 0)
			snprintf(row->why, sizeof(row->why),
				 "QUERY_MR reports no sg_entries (a p2prdma without that field)");
	}
	if (r->row[X_P2PGPU].avail &&
	    r->row[X_P2PGPU].backing != P2PRDMA_BACKING_PEER)
		snprintf(r->row[X_P2PGPU].why, sizeof(r->row[X_P2PGPU].why),
			 "mapped from %s, not peer-to-peer: the ratios are of staging",
			 p2pbuf_backing_str(r->row[X_P2PGPU].backing));

	/* the default path: attach at registration, map on first use */
	{
		struct xbuf b;
		uint32_t h = 0, hu = 0;
		void *u;
		double t0;

		r->dyn_avail = false;
		u = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (u == MAP_FAILED || mr_reg_user(nic->fd, u, 4096, &hu)) {
			snprintf(r->dyn_why, sizeof(r->dyn_why), "user region: %s",
				 strerror(errno));
			return;
		}
		fprintf(stderr, "bench: map: p2pgpu VRAM, dynamic registration + lazy map\n");
		if (xbuf_new(gpu->fd, X_P2PGPU, r->size, &b, r->dyn_why,
			     sizeof(r->dyn_why)))
			goto out_user;
		t0 = now();
		ret = mr_reg(nic->fd, b.dmabuf, r->size, 0, &h);
		r->dyn_attach = now() - t0;
		if (ret) {
			snprintf(r->dyn_why, sizeof(r->dyn_why), "REG_DMABUF_MR: %s",
				 p2pbuf_strerror(ret));
			goto out_buf;
		}
		t0 = now();
		ret = mr_transfer(nic->fd, h, hu, XFER_LEN, NULL);
		r->dyn_first = now() - t0;
		if (!ret) {
			t0 = now();
			ret = mr_transfer(nic->fd, h, hu, XFER_LEN, NULL);
			r->dyn_second = now() - t0;
		}
		if (ret) {
			snprintf(r->dyn_why, sizeof(r->dyn_why), "TRANSFER: %s",
				 p2pbuf_strerror(ret));
		} else if (!mr_query(nic->fd, h, &q)) {
			r->dyn_avail = true;
			r->dyn_sg_entries = q.sg_entries;
			r->dyn_segments = q.num_segments;
			r->dyn_backing = q.backing;
			r->dyn_map_count = q.map_count;
		}
		mr_dereg(nic->fd, h);
out_buf:
		xbuf_put(gpu->fd, X_P2PGPU, &b);
out_user:
		mr_dereg(nic->fd, hu);
		munmap(u, 4096);
	}
}

/* ------------------------------------------------------------------ */
/* kernel timestamps: kprobes on the importer's map path                */
/* ------------------------------------------------------------------ */

/*
 * Where a map's time goes, and when an invalidate was seen, from the
 * kernel's own clock: kprobe events (tracefs) on p2prdma's move_notify,
 * on dma_buf_map_attachment() (the exporter's map, DMA mapping included)
 * and p2prdma_mr_fill_table() (the NIC's translation table), and on the
 * return of p2prdma_dmabuf_map() (the table is ready: the transfer's DMA
 * can start). Each probe hit costs a trap, so timed rows are taken without
 * them and these only on runs of their own.
 */
enum { KT_INV, KT_MAP_IN, KT_MAP_OUT, KT_FILL_IN, KT_FILL_OUT, KT_READY, KT_N };
static const char *const kt_def[KT_N] = {
	"p:p2pbuf_bench/inv p2prdma_move_notify",
	"p:p2pbuf_bench/map_in dma_buf_map_attachment",
	"r:p2pbuf_bench/map_out dma_buf_map_attachment",
	"p:p2pbuf_bench/fill_in p2prdma_mr_fill_table",
	"r:p2pbuf_bench/fill_out p2prdma_mr_fill_table",
	"r:p2pbuf_bench/ready p2prdma_dmabuf_map",
};
static const char *const kt_name[KT_N] = { "inv", "map_in", "map_out",
					   "fill_in", "fill_out", "ready" };
#define TRACEFS "/sys/kernel/tracing"
#define KT_MAX 4096

struct kt_ev {
	double ts;
	int id;
};

static bool kt_on;
static char kt_why[160];

static int kt_write(const char *file, const char *text, bool append)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void kt_stop(void)
{
	char def[96];
	int k;

	kt_write("events/p2pbuf_bench/enable", "0", false);
	for (k = 0; k < KT_N; k++) {
		snprintf(def, sizeof(def), "-:%s", strchr(kt_def[k], ':') + 1);
		*strchr(def + 2, ' ') = 0;
		kt_write("kprobe_events", def, true);
	}
	kt_on = false;
}

static bool kt_start(void)
{
	int k, ret;

	for (k = 0; k < KT_N; k++) {
		ret = kt_write("kprobe_events", kt_def[k], true);
		if (ret) {
			snprintf(kt_why, sizeof(kt_why), "kprobe '%s': %s",
				 kt_def[k], strerror(-ret));
			kt_stop();
			return false;
		}
	}
	kt_write("buffer_size_kb", "4096", false);
	kt_write("trace", "", false);
	ret = kt_write("events/p2pbuf_bench/enable", "1", false);
	if (ret) {
		snprintf(kt_why, sizeof(kt_why), "enable: %s", strerror(-ret));
		kt_stop();
		return false;
	}
	kt_on = true;
	return true;
}

/* the events since the last call, oldest first; the buffer is emptied */
static int kt_read(struct kt_ev *ev, int max)
{
	char line[512], *p;
	FILE *f;
	int n = 0, k;

	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (line[0] == '#' || !(p = strstr(line, ": ")))
			continue;
		for (k = 0; k < KT_N; k++) {
			char tag[32];

			snprintf(tag, sizeof(tag), ": %s: ", kt_name[k]);
			if (strstr(line, tag))
				break;
		}
		if (k == KT_N)
			continue;
		/* "task-pid [cpu] flags  12345.678901: name: ..." */
		*p = 0;
		p = strrchr(line, ' ');
		if (!p)
			continue;
		ev[n].ts = strtod(p + 1, NULL);
		ev[n].id = k;
		n++;
	}
	fclose(f);
	kt_write("trace", "", false);
	return n;
}

/* the time from the first event @a to the first @b after it, or NaN */
static double kt_span(const struct kt_ev *ev, int n, int a, int b)
{
	int i, j;

	for (i = 0; i < n; i++)
		if (ev[i].id == a)
			for (j = i + 1; j < n; j++)
				if (ev[j].id == b)
					return ev[j].ts - ev[i].ts;
	return NAN_D;
}

/* ------------------------------------------------------------------ */
/* map cost against size                                                */
/* ------------------------------------------------------------------ */

struct size_res {
	bool ran;
	int nsizes;
	uint64_t size[MAX_LEVELS];
	struct map_row row[MAX_LEVELS][X_N];
	struct dist d[MAX_LEVELS][X_N];
	/* the same buffer's second registration: see bench_sizes() */
	double t2[MAX_LEVELS][X_N][MAX_REPS];
	struct dist d2[MAX_LEVELS][X_N];
	/* traced registrations: the exporter's map and the NIC's table */
	char kt_why[160];
	struct dist kexp[MAX_LEVELS][X_N], ktab[MAX_LEVELS][X_N];
	/* the control: see sizes_control() */
	bool ctl_ran;
	double ctl[2][MAX_REPS];
	struct dist d_ctl[2];
};

#define CTL_SWEEP	(64ull << 20)

#define KT_REPS 5

/* KT_REPS more registrations of one buffer with the kprobes on */
static void sizes_traced(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
			 uint64_t size, int k, struct dist *exp, struct dist *tab)
{
	static struct kt_ev ev[KT_MAX];
	double e[KT_REPS], t[KT_REPS];
	int rep, n = 0, nev;
	struct xbuf b;
	char why[200];
	uint32_t h = 0;

	for (rep = 0; rep < KT_REPS; rep++) {
		if (xbuf_new(gpu->fd, k, size, &b, why, sizeof(why)))
			break;
		kt_read(ev, KT_MAX);
		if (!mr_reg(nic->fd, b.dmabuf, size, P2PRDMA_REG_PINNED, &h)) {
			nev = kt_read(ev, KT_MAX);
			e[n] = kt_span(ev, nev, KT_MAP_IN, KT_MAP_OUT);
			t[n] = kt_span(ev, nev, KT_FILL_IN, KT_FILL_OUT);
			if (e[n] == e[n] && t[n] == t[n])
				n++;
			mr_dereg(nic->fd, h);
		}
		xbuf_put(gpu->fd, k, &b);
	}
	*exp = dist_of(e, n);
	*tab = dist_of(t, n);
}

/*
 * The control for the first registrations: a 4 KiB p2pgpu buffer,
 * registered once untimed, then timed right after the process wrote 4 KiB
 * ([0]) or 64 MiB ([1]) of its own, already faulted memory. No buffer is
 * made and no driver runs in between: what [1] costs over [0] is the
 * emulator's, whatever the exporter.
 */
static void sizes_control(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
			  const struct bopts *o, struct size_res *r)
{
	struct xbuf b;
	char why[200];
	uint32_t h = 0;
	double t0;
	int rep, pass, n = 0;
	char *junk;

	junk = malloc(CTL_SWEEP);
	if (!junk)
		return;
	memset(junk, 1, CTL_SWEEP);
	__asm__ volatile("" : : "r"(junk) : "memory");
	if (xbuf_new(gpu->fd, X_P2PGPU, 4096, &b, why, sizeof(why)))
		goto out;
	if (mr_reg(nic->fd, b.dmabuf, 4096, P2PRDMA_REG_PINNED, &h))
		goto put;
	mr_dereg(nic->fd, h);
	for (rep = 0; rep < o->reps; rep++) {
		for (pass = 0; pass < 2; pass++) {
			memset(junk, rep + pass, pass ? CTL_SWEEP : 4096);
			/* the stores are the point: keep the compiler from dropping them */
			__asm__ volatile("" : : "r"(junk) : "memory");
			t0 = now();
			if (mr_reg(nic->fd, b.dmabuf, 4096, P2PRDMA_REG_PINNED, &h))
				goto put;
			r->ctl[pass][n] = now() - t0;
			mr_dereg(nic->fd, h);
		}
		n++;
	}
	r->d_ctl[0] = dist_of(r->ctl[0], n);
	r->d_ctl[1] = dist_of(r->ctl[1], n);
	r->ctl_ran = true;
put:
	xbuf_put(gpu->fd, X_P2PGPU, &b);
out:
	free(junk);
}

/*
 * One timed pinned registration of @b for the map-size rows: its time in
 * *@t; on failure @row says @what failed and is no longer available.
 */
static int sizes_reg(struct p2pbuf_nic *nic, const struct xbuf *b,
		     uint64_t size, struct map_row *row, const char *what,
		     uint32_t *h, double *t)
{
	double t0 = now();
	int ret = mr_reg(nic->fd, b->dmabuf, size, P2PRDMA_REG_PINNED, h);

	*t = now() - t0;
	if (ret) {
		snprintf(row->why, sizeof(row->why), "%s (pinned): %s", what,
			 p2pbuf_strerror(ret));
		row->avail = false;
	}
	return ret;
}

/*
 * REG_DMABUF_MR (pinned) of each exporter's buffer at each size, the
 * exporters interleaved within every repetition so that a slow moment of
 * the host hits all of them alike. The buffer is made before the clock
 * starts: only attach + pin + map + the MR table are timed.
 *
 * Each buffer is registered twice, deregistered in between. Under TCG the
 * first registration after a buffer was made pays for the making: any
 * sweep of tens of MiB (p2pgpu clearing new VRAM, udmabuf and the heap
 * zeroing pages, or the process memset()ing its own memory) leaves QEMU's
 * software TLB full of other pages, and every page the ioctl then touches
 * misses (sizes_control() shows it in every run). The second
 * registration of the same buffer does all the work again (attach, pin,
 * map, table: nothing is kept across a deregistration) with that TLB
 * warm; its growth with size is the exporter's.
 */
static void bench_sizes(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
			const struct bopts *o, struct size_res *r)
{
	struct p2prdma_query_mr q;
	int si, k, rep, ret;

	memset(r, 0, sizeof(*r));
	r->ran = true;
	r->nsizes = o->nmap_sizes;
	for (si = 0; si < o->nmap_sizes; si++) {
		r->size[si] = (o->map_sizes[si] + 4095) & ~4095ull;
		for (k = 0; k < X_N; k++)
			r->row[si][k].avail = true;
		for (rep = 0; rep < o->reps; rep++) {
			fprintf(stderr, "bench: map sizes: %" PRIu64 " KiB, rep %d/%d\n",
				r->size[si] >> 10, rep + 1, o->reps);
			for (k = 0; k < X_N; k++) {
				struct map_row *row = &r->row[si][k];
				struct xbuf b;
				uint32_t h = 0;

				if (!row->avail)
					continue;
				ret = xbuf_new(gpu->fd, k, r->size[si], &b, row->why,
					       sizeof(row->why));
				if (ret) {
					row->avail = false;
					continue;
				}
				if (!sizes_reg(nic, &b, r->size[si], row, "REG_DMABUF_MR",
					       &h, &row->t[row->n])) {
					if (!mr_query(nic->fd, h, &q)) {
						row->sg_entries = q.sg_entries;
						row->segments = q.num_segments;
						row->backing = q.backing;
					}
					mr_dereg(nic->fd, h);
					if (!sizes_reg(nic, &b, r->size[si], row,
						       "second REG_DMABUF_MR", &h,
						       &r->t2[si][k][row->n])) {
						row->n++;
						mr_dereg(nic->fd, h);
					}
				}
				xbuf_put(gpu->fd, k, &b);
			}
		}
		for (k = 0; k < X_N; k++) {
			r->d[si][k] = dist_of(r->row[si][k].t, r->row[si][k].n);
			r->d2[si][k] = dist_of(r->t2[si][k], r->row[si][k].n);
		}
	}
	fprintf(stderr, "bench: map sizes: control\n");
	sizes_control(gpu, nic, o, r);
	if (!kt_start()) {
		snprintf(r->kt_why, sizeof(r->kt_why), "%s", kt_why);
		return;
	}
	for (si = 0; si < r->nsizes; si++)
		for (k = 0; k < X_N; k++)
			if (r->row[si][k].avail) {
				fprintf(stderr, "bench: map sizes: %" PRIu64 " KiB, %s, traced\n",
					r->size[si] >> 10, xname[k]);
				sizes_traced(gpu, nic, r->size[si], k,
					     &r->kexp[si][k], &r->ktab[si][k]);
			}
	kt_stop();
}

/* ------------------------------------------------------------------ */
/* invalidate -> re-map latency                                         */
/* ------------------------------------------------------------------ */

struct remap_res {
	bool ran;
	char why[200];
	int n;
	uint32_t remaps, invalidates;
	double plain[MAX_REPS], after[MAX_REPS], migrate[MAX_REPS];
	struct dist d_plain, d_after, d_migrate, d_extra;
	/* kernel timestamps: invalidate -> table ready, and the re-map itself */
	char kt_why[160];
	int kn;
	double inv_ready[MAX_REPS], remap_k[MAX_REPS], exp_k[MAX_REPS], tab_k[MAX_REPS];
	struct dist d_inv_ready, d_remap_k, d_exp_k, d_tab_k;
};

/*
 * Each sample: a transfer from a 64 KiB VRAM-preferred buffer that needs
 * no map (the plain one), then GEM_MIGRATE to the other placement (the
 * exporter's move_notify reaches p2prdma inside it, which drops its table),
 * then the next transfer, which re-maps lazily before its DMA. The
 * re-map's latency is that transfer's time over the plain one's, paired
 * sample by sample; the transfer is two edu DMAs of ~100 ms of virtual
 * time, so the DMA's own jitter is in both.
 */
static void bench_remap(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
			const struct bopts *o, struct remap_res *r)
{
	struct p2prdma_query_mr q0, q1;
	double extra[MAX_REPS], t0;
	struct xbuf b = { .dmabuf = -1, .keep = -1 };
	uint32_t h = 0, hu = 0, pl = 0;
	int i, ret;
	void *u;

	memset(r, 0, sizeof(*r));
	u = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u == MAP_FAILED || mr_reg_user(nic->fd, u, 4096, &hu)) {
		snprintf(r->why, sizeof(r->why), "user region: %s", strerror(errno));
		return;
	}
	ret = gem_create(gpu->fd, 65536, P2PGPU_PLACEMENT_VRAM_PREFERRED, &b.gem);
	if (!ret)
		ret = gem_export(gpu->fd, b.gem, &b.dmabuf);
	if (!ret)
		ret = mr_reg(nic->fd, b.dmabuf, 65536, 0, &h);
	/* the first map is not a re-map */
	if (!ret)
		ret = mr_transfer(nic->fd, hu, h, XFER_LEN, NULL);
	if (!ret)
		ret = mr_query(nic->fd, h, &q0);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "set-up: %s", p2pbuf_strerror(ret));
		goto out;
	}
	if (!kt_start())
		snprintf(r->kt_why, sizeof(r->kt_why), "%s", kt_why);
	for (i = 0; i < (int)o->remap && i < MAX_REPS; i++) {
		static struct kt_ev ev[KT_MAX];
		int nev;

		fprintf(stderr, "bench: remap: sample %d/%u\n", i + 1, o->remap);
		t0 = now();
		ret = mr_transfer(nic->fd, hu, h, XFER_LEN, NULL);
		r->plain[i] = now() - t0;
		if (kt_on)
			kt_read(ev, KT_MAX);
		if (!ret)
			ret = gem_placement(gpu->fd, b.gem, &pl, NULL);
		if (!ret) {
			t0 = now();
			ret = gem_migrate(gpu->fd, b.gem,
					  pl == P2PGPU_RESIDENT_VRAM ?
					  P2PGPU_PLACEMENT_SYSTEM :
					  P2PGPU_PLACEMENT_VRAM);
			r->migrate[i] = now() - t0;
		}
		if (!ret) {
			t0 = now();
			ret = mr_transfer(nic->fd, hu, h, XFER_LEN, NULL);
			r->after[i] = now() - t0;
		}
		if (ret) {
			snprintf(r->why, sizeof(r->why), "sample %d: %s", i + 1,
				 p2pbuf_strerror(ret));
			goto out;
		}
		extra[i] = r->after[i] - r->plain[i];
		r->n++;
		if (kt_on) {
			nev = kt_read(ev, KT_MAX);
			r->inv_ready[r->kn] = kt_span(ev, nev, KT_INV, KT_READY);
			r->remap_k[r->kn] = kt_span(ev, nev, KT_MAP_IN, KT_READY);
			r->exp_k[r->kn] = kt_span(ev, nev, KT_MAP_IN, KT_MAP_OUT);
			r->tab_k[r->kn] = kt_span(ev, nev, KT_FILL_IN, KT_FILL_OUT);
			if (r->inv_ready[r->kn] == r->inv_ready[r->kn] &&
			    r->remap_k[r->kn] == r->remap_k[r->kn])
				r->kn++;
		}
	}
	r->d_inv_ready = dist_of(r->inv_ready, r->kn);
	r->d_remap_k = dist_of(r->remap_k, r->kn);
	r->d_exp_k = dist_of(r->exp_k, r->kn);
	r->d_tab_k = dist_of(r->tab_k, r->kn);
	if (!mr_query(nic->fd, h, &q1)) {
		r->remaps = q1.map_count - q0.map_count;
		r->invalidates = q1.invalidate_count - q0.invalidate_count;
	}
	r->d_plain = dist_of(r->plain, r->n);
	r->d_after = dist_of(r->after, r->n);
	r->d_migrate = dist_of(r->migrate, r->n);
	r->d_extra = dist_of(extra, r->n);
	r->ran = true;
out:
	if (kt_on)
		kt_stop();
	if (h)
		mr_dereg(nic->fd, h);
	xbuf_put(gpu->fd, X_P2PGPU, &b);
	if (hu)
		mr_dereg(nic->fd, hu);
	munmap(u, 4096);
}

/* ------------------------------------------------------------------ */
/* steady state                                                         */
/* ------------------------------------------------------------------ */

struct steady_phase {
	uint64_t n;
	double secs;
	uint32_t remaps, invalidates;
	uint64_t via_system;
	char stop[80];
};

struct steady_res {
	bool ran;
	char why[200];
	uint64_t requested;
	uint32_t backing_before, backing_after;
	struct steady_phase ph[2];	/* no move; after one eviction */
};

static int steady_phase(int fd, uint32_t dst, uint32_t src, const struct bopts *o,
			const char *what, struct steady_phase *p)
{
	struct p2prdma_query_mr q0, q1;
	double t0 = now(), next = t0 + 5;
	uint64_t vs = 0;
	int ret;

	ret = mr_query(fd, src, &q0);
	if (ret)
		return ret;
	snprintf(p->stop, sizeof(p->stop), "all %" PRIu64 " done", o->transfers);
	for (p->n = 0; p->n < o->transfers; p->n++) {
		if (now() - t0 >= o->steady_budget) {
			snprintf(p->stop, sizeof(p->stop),
				 "stopped at the %.0f s time budget", o->steady_budget);
			break;
		}
		ret = mr_transfer(fd, dst, src, XFER_LEN, &vs);
		if (ret)
			return ret;
		p->via_system += vs;
		if (progress_due(&next))
			fprintf(stderr, "bench: steady (%s): %" PRIu64 "/%" PRIu64 " transfers, %.0f s\n",
				what, p->n + 1, o->transfers, now() - t0);
	}
	p->secs = now() - t0;
	ret = mr_query(fd, src, &q1);
	if (ret)
		return ret;
	p->remaps = q1.map_count - q0.map_count;
	p->invalidates = q1.invalidate_count - q0.invalidate_count;
	return 0;
}

static void bench_steady(struct p2pbuf_gpu *gpu, struct p2pbuf_nic *nic,
			 const struct bopts *o, struct steady_res *r)
{
	struct p2prdma_query_mr q;
	struct xbuf b;
	uint32_t h = 0, hu = 0;
	void *u;
	int ret;

	memset(r, 0, sizeof(*r));
	r->requested = o->transfers;
	u = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u == MAP_FAILED || mr_reg_user(nic->fd, u, 4096, &hu)) {
		snprintf(r->why, sizeof(r->why), "user region: %s", strerror(errno));
		return;
	}
	if (xbuf_new(gpu->fd, X_P2PGPU, 65536, &b, r->why, sizeof(r->why)))
		goto out_user;
	ret = mr_reg(nic->fd, b.dmabuf, 65536, 0, &h);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "REG_DMABUF_MR: %s", p2pbuf_strerror(ret));
		goto out_buf;
	}
	/* the first use maps: not a re-map */
	ret = mr_transfer(nic->fd, hu, h, XFER_LEN, NULL);
	if (!ret)
		ret = mr_query(nic->fd, h, &q);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "first transfer: %s", p2pbuf_strerror(ret));
		goto out_mr;
	}
	r->backing_before = q.backing;
	ret = steady_phase(nic->fd, hu, h, o, "no move", &r->ph[0]);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "transfer: %s", p2pbuf_strerror(ret));
		goto out_mr;
	}
	ret = gem_migrate(gpu->fd, b.gem, P2PGPU_PLACEMENT_SYSTEM);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "GEM_MIGRATE (eviction): %s",
			 p2pbuf_strerror(ret));
		goto out_mr;
	}
	ret = steady_phase(nic->fd, hu, h, o, "after one eviction", &r->ph[1]);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "transfer after eviction: %s",
			 p2pbuf_strerror(ret));
		goto out_mr;
	}
	if (!mr_query(nic->fd, h, &q))
		r->backing_after = q.backing;
	/* the eviction's move_notify came before the phase's first query */
	r->ph[1].invalidates = q.invalidate_count;
	r->ran = true;
out_mr:
	mr_dereg(nic->fd, h);
out_buf:
	xbuf_put(gpu->fd, X_P2PGPU, &b);
out_user:
	if (hu)
		mr_dereg(nic->fd, hu);
	munmap(u, 4096);
}

/* ------------------------------------------------------------------ */
/* staging migration                                                    */
/* ------------------------------------------------------------------ */

struct migrate_res {
	bool ran;
	char why[200];
	uint64_t size;
	int n;
	double to_sys[MAX_REPS], to_vram[MAX_REPS], cpy[MAX_REPS];
	double cpy_fresh[MAX_REPS];
	double med_sys, med_vram, med_cpy;
	struct dist d_sys, d_vram, d_cpy, d_fresh;
};

static void bench_migrate(struct p2pbuf_gpu *gpu, uint64_t size,
			  const struct bopts *o, struct migrate_res *r)
{
	uint32_t h = 0, pl = 0;
	char *a, *b;
	void *map;
	struct drm_p2pgpu_gem_mmap_offset mo = {};
	double t0;
	int rep, ret;

	memset(r, 0, sizeof(*r));
	r->size = size;
	ret = gem_create(gpu->fd, size, P2PGPU_PLACEMENT_VRAM_PREFERRED, &h);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "GEM_CREATE: %s", p2pbuf_strerror(ret));
		return;
	}
	/* real content: write the whole buffer through its CPU mapping */
	mo.handle = h;
	if (drmIoctl(gpu->fd, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo) == 0) {
		map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   gpu->fd, mo.offset);
		if (map != MAP_FAILED) {
			memset(map, 0x5a, size);
			munmap(map, size);
		}
	}
	a = malloc(size);
	b = malloc(size);
	if (!a || !b) {
		snprintf(r->why, sizeof(r->why), "malloc: out of memory");
		goto out;
	}
	memset(a, 1, size);
	memset(b, 2, size);
	for (rep = 0; rep < o->reps; rep++) {
		fprintf(stderr, "bench: migrate: %" PRIu64 " MiB, rep %d/%d\n",
			size >> 20, rep + 1, o->reps);
		t0 = now();
		ret = gem_migrate(gpu->fd, h, P2PGPU_PLACEMENT_SYSTEM);
		r->to_sys[rep] = now() - t0;
		if (!ret && !gem_placement(gpu->fd, h, &pl, NULL) &&
		    pl != P2PGPU_RESIDENT_SYSTEM)
			ret = -EIO;
		if (ret) {
			snprintf(r->why, sizeof(r->why), "GEM_MIGRATE to system: %s",
				 p2pbuf_strerror(ret));
			goto out;
		}
		t0 = now();
		ret = gem_migrate(gpu->fd, h, P2PGPU_PLACEMENT_VRAM);
		r->to_vram[rep] = now() - t0;
		if (!ret && !gem_placement(gpu->fd, h, &pl, NULL) &&
		    pl != P2PGPU_RESIDENT_VRAM)
			ret = -EIO;
		if (ret) {
			snprintf(r->why, sizeof(r->why), "GEM_MIGRATE to VRAM: %s",
				 p2pbuf_strerror(ret));
			goto out;
		}
		t0 = now();
		memcpy(rep % 2 ? a : b, rep % 2 ? b : a, size);
		r->cpy[rep] = now() - t0;
		/*
		 * The peer of a move into system memory: there the pages are
		 * new (TTM populates the TT, and Debian's init_on_alloc zeroes
		 * each page); here the page faults zero them.
		 */
		{
			void *fresh;

			t0 = now();
			fresh = mmap(NULL, size, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (fresh != MAP_FAILED) {
				memcpy(fresh, a, size);
				r->cpy_fresh[rep] = now() - t0;
				munmap(fresh, size);
			}
		}
		/* keep the copy from being optimised away */
		if (((volatile char *)a)[size / 2] == 7)
			fputc(' ', stderr);
		r->n++;
	}
	r->med_sys = median(r->to_sys, r->n);
	r->med_vram = median(r->to_vram, r->n);
	r->med_cpy = median(r->cpy, r->n);
	r->d_sys = dist_of(r->to_sys, r->n);
	r->d_vram = dist_of(r->to_vram, r->n);
	r->d_cpy = dist_of(r->cpy, r->n);
	r->d_fresh = dist_of(r->cpy_fresh, r->n);
	r->ran = true;
out:
	free(a);
	free(b);
	gem_close(gpu->fd, h);
}

/* ------------------------------------------------------------------ */
/* scale                                                                */
/* ------------------------------------------------------------------ */

enum { OP_CREATE, OP_EXPORT, OP_REG, OP_MAP, OP_N };
static const char *const opname[OP_N] = { "create", "export",
					  "register (attach)",
					  "register+map (pinned)" };
static const char *const opkey[OP_N] = { "create", "export", "register",
					 "register_map" };

struct scale_level {
	uint64_t target;
	bool reached;
	unsigned int n;		/* samples timed */
	double mean[OP_N];
	struct dist d[OP_N];	/* min / median / max of the samples */
	uint32_t map_backing_peer, map_backing_system;
};

struct scale_res {
	bool ran;
	char why[200];
	char stop[200];
	uint64_t live_max;
	double grow_secs, teardown_secs;
	long mem_per_buf;	/* bytes, from MemAvailable */
	uint64_t warmup;	/* buffers made and freed before timing */
	int nlevels;
	struct scale_level lv[MAX_LEVELS];
};

static long mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static void bench_scale(const struct bopts *o, struct scale_res *r)
{
	uint64_t max = 0, i, live = 0;
	struct p2pbuf_gpu *gpu = NULL;
	struct p2pbuf_nic *nic = NULL;
	uint32_t *gem = NULL;
	long mem0, mem;
	double t0, next, sums[MAX_LEVELS][OP_N] = { { 0 } };
	double *sv[OP_N];
	int lvl = 0, ret, k;
	struct rlimit rl;

	memset(r, 0, sizeof(*r));
	for (k = 0; k < OP_N; k++)
		sv[k] = calloc(o->sample, sizeof(double));
	if (!sv[0] || !sv[1] || !sv[2] || !sv[3])
		for (k = 0; k < OP_N; k++) {
			free(sv[k]);
			sv[k] = NULL;
		}
	r->nlevels = o->nlevels;
	for (k = 0; k < o->nlevels; k++) {
		r->lv[k].target = o->levels[k];
		if (o->levels[k] > max)
			max = o->levels[k];
	}
	/* DRM files are closed after registration, but headroom is cheap */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* a file of their own each: closing them tears everything down */
	ret = p2pbuf_gpu_open(o->gpu, &gpu);
	if (!ret)
		ret = p2pbuf_nic_open(o->nic, &nic);
	gem = calloc(max ? max : 1, sizeof(*gem));
	if (ret || !gem) {
		snprintf(r->why, sizeof(r->why), "open: %s",
			 p2pbuf_strerror(ret ? ret : -ENOMEM));
		goto out;
	}
	r->ran = true;
	snprintf(r->stop, sizeof(r->stop), "every level reached");
	/*
	 * Warm-up: the first few hundred operations of a fresh process and
	 * driver pay for caches, slabs and page tables coming up, which made
	 * the per-operation cost fall as live buffers grew. Do the same
	 * operations, untimed, and free their buffers before the population
	 * grows.
	 */
	for (i = 0; i < o->warmup; i++) {
		uint32_t wg = 0, wh = 0, whp = 0;
		int wbuf = -1;

		if (gem_create(gpu->fd, SCALE_BO_SIZE, P2PGPU_PLACEMENT_VRAM_PREFERRED, &wg))
			break;
		if (!gem_export(gpu->fd, wg, &wbuf)) {
			if (!mr_reg(nic->fd, wbuf, SCALE_BO_SIZE, 0, &wh))
				mr_dereg(nic->fd, wh);
			if (!mr_reg(nic->fd, wbuf, SCALE_BO_SIZE, P2PRDMA_REG_PINNED, &whp))
				mr_dereg(nic->fd, whp);
			close(wbuf);
		}
		gem_close(gpu->fd, wg);
	}
	r->warmup = i;
	mem0 = mem_available();
	t0 = now();
	next = t0 + 5;
	for (i = 0; i < max && lvl < o->nlevels; i++) {
		uint64_t target = o->levels[lvl];
		uint64_t window = o->sample < target ? o->sample : target;
		bool timed = i >= target - window;
		double a, b, c, d, e;
		int buf = -1;
		uint32_t h = 0, hp = 0;

		if (now() - t0 > o->scale_budget) {
			snprintf(r->stop, sizeof(r->stop),
				 "stopped at the %.0f s time budget with %" PRIu64 " live buffers",
				 o->scale_budget, live);
			break;
		}
		if (!(i % 1000)) {
			mem = mem_available();
			if (mem >= 0 && mem < (256l << 20)) {
				snprintf(r->stop, sizeof(r->stop),
					 "stopped with %" PRIu64 " live buffers: %ld MiB of memory left",
					 live, mem >> 20);
				break;
			}
		}
		a = now();
		ret = gem_create(gpu->fd, SCALE_BO_SIZE,
				 P2PGPU_PLACEMENT_VRAM_PREFERRED, &gem[i]);
		b = now();
		if (!ret)
			ret = gem_export(gpu->fd, gem[i], &buf);
		c = now();
		if (!ret)
			ret = mr_reg(nic->fd, buf, SCALE_BO_SIZE, 0, &h);
		d = now();
		if (ret) {
			snprintf(r->stop, sizeof(r->stop),
				 "stopped with %" PRIu64 " live buffers: %s", live,
				 p2pbuf_strerror(ret));
			if (buf >= 0)
				close(buf);
			if (gem[i])
				gem_close(gpu->fd, gem[i]);
			break;
		}
		live++;
		if (timed) {
			struct p2prdma_query_mr q;

			/* a second, pinned registration: attach + pin + map */
			e = now();
			ret = mr_reg(nic->fd, buf, SCALE_BO_SIZE, P2PRDMA_REG_PINNED, &hp);
			e = now() - e;
			if (ret) {
				snprintf(r->stop, sizeof(r->stop),
					 "stopped with %" PRIu64 " live buffers: pinned registration: %s",
					 live, p2pbuf_strerror(ret));
				close(buf);
				break;
			}
			if (!mr_query(nic->fd, hp, &q)) {
				if (q.backing == P2PRDMA_BACKING_PEER)
					r->lv[lvl].map_backing_peer++;
				else
					r->lv[lvl].map_backing_system++;
			}
			mr_dereg(nic->fd, hp);
			sums[lvl][OP_CREATE] += b - a;
			sums[lvl][OP_EXPORT] += c - b;
			sums[lvl][OP_REG] += d - c;
			sums[lvl][OP_MAP] += e;
			if (sv[0] && r->lv[lvl].n < o->sample) {
				sv[OP_CREATE][r->lv[lvl].n] = b - a;
				sv[OP_EXPORT][r->lv[lvl].n] = c - b;
				sv[OP_REG][r->lv[lvl].n] = d - c;
				sv[OP_MAP][r->lv[lvl].n] = e;
			}
			r->lv[lvl].n++;
		}
		close(buf);
		if (live == target) {
			r->lv[lvl].reached = true;
			for (k = 0; k < OP_N; k++) {
				r->lv[lvl].mean[k] = sums[lvl][k] / r->lv[lvl].n;
				if (sv[k])
					r->lv[lvl].d[k] = dist_sorted(sv[k], r->lv[lvl].n);
			}
			fprintf(stderr, "bench: scale: level %" PRIu64 " reached in %.0f s\n",
				target, now() - t0);
			lvl++;
		}
		if (progress_due(&next))
			fprintf(stderr, "bench: scale: %" PRIu64 "/%" PRIu64 " live buffers, %.0f s\n",
				live, max, now() - t0);
	}
	r->grow_secs = now() - t0;
	r->live_max = live;
	mem = mem_available();
	if (mem0 > 0 && mem > 0 && live)
		r->mem_per_buf = (mem0 - mem) / (long)live;
	fprintf(stderr, "bench: scale: tearing down %" PRIu64 " buffers\n", live);
	t0 = now();
	p2pbuf_nic_close(nic);
	nic = NULL;
	p2pbuf_gpu_close(gpu);
	gpu = NULL;
	r->teardown_secs = now() - t0;
out:
	for (k = 0; k < OP_N; k++)
		free(sv[k]);
	free(gem);
	p2pbuf_nic_close(nic);
	p2pbuf_gpu_close(gpu);
}

/* ------------------------------------------------------------------ */
/* output                                                               */
/* ------------------------------------------------------------------ */

static struct size_res sizes;
static struct remap_res remap;

static void print_sizes_remap(const struct bopts *o)
{
	char b1[96], b2[96], b3[96], b4[96];
	int si, k;

	if (o->nmap_sizes) {
		const struct size_res *r = &sizes;

		printf("Map cost against size: REG_DMABUF_MR (pinned: attach + pin + map + MR table), min / median / max of %d, exporters interleaved; each buffer registered twice (deregistered in between): the first registration right after the buffer was made, the second with QEMU's software TLB warm again (see bench-results/README.md)\n\n",
		       o->reps);
		printf("| size | registration | p2pgpu VRAM | udmabuf (memfd) | system dma-heap | sg entries p2pgpu / udmabuf / heap | p2pgpu backing |\n");
		printf("|---|---|---|---|---|---|---|\n");
		for (si = 0; si < r->nsizes; si++) {
			int pass;

			for (pass = 0; pass < 2; pass++) {
				printf("| %s | %s |", fmt_size(b1, sizeof(b1), r->size[si]),
				       pass ? "second" : "first");
				for (k = 0; k < X_N; k++)
					printf(" %s |", r->row[si][k].avail ?
					       fmt_dist(b2, sizeof(b2), pass ? &r->d2[si][k] :
							&r->d[si][k]) :
					       r->row[si][k].why);
				printf(" %u / %u / %u | %s |\n", r->row[si][X_P2PGPU].sg_entries,
				       r->row[si][X_UDMABUF].sg_entries,
				       r->row[si][X_HEAP].sg_entries,
				       p2pbuf_backing_str(r->row[si][X_P2PGPU].backing));
			}
		}
		printf("\n");
		if (r->nsizes > 1) {
			int last = r->nsizes - 1;

			printf("Growth, largest / smallest (%s / %s): ratio of medians (range from the extremes), or no difference\n\n",
			       fmt_size(b1, sizeof(b1), r->size[last]),
			       fmt_size(b2, sizeof(b2), r->size[0]));
			printf("| exporter | first registration | second registration |\n|---|---|---|\n");
			for (k = 0; k < X_N; k++)
				printf("| %s | %s | %s |\n", xname[k],
				       fmt_cmp(b3, sizeof(b3), &r->d[last][k], &r->d[0][k]),
				       fmt_cmp(b4, sizeof(b4), &r->d2[last][k], &r->d2[0][k]));
			printf("\n");
		}
		if (r->ctl_ran)
			printf("Control: the same registered 4 KiB p2pgpu buffer registered again right after the process wrote 4 KiB / 64 MiB of its own memory (no buffer made, no driver call between): %s / %s, ratio %s\n\n",
			       fmt_dist(b1, sizeof(b1), &r->d_ctl[0]),
			       fmt_dist(b2, sizeof(b2), &r->d_ctl[1]),
			       fmt_cmp(b3, sizeof(b3), &r->d_ctl[1], &r->d_ctl[0]));
		if (r->kt_why[0]) {
			printf("Kernel breakdown: n/a (%s)\n\n", r->kt_why);
		} else {
			printf("Kernel breakdown (kprobes, %d more registrations each, not timed above): dma_buf_map_attachment() (the exporter's map, DMA mapping included) and p2prdma_mr_fill_table() (the NIC's per-page table), min / median / max\n\n",
			       KT_REPS);
			printf("| size | exporter | exporter map | NIC table |\n|---|---|---|---|\n");
			for (si = 0; si < r->nsizes; si++)
				for (k = 0; k < X_N; k++)
					printf("| %s | %s | %s | %s |\n",
					       fmt_size(b1, sizeof(b1), r->size[si]), xname[k],
					       fmt_dist(b2, sizeof(b2), &r->kexp[si][k]),
					       fmt_dist(b3, sizeof(b3), &r->ktab[si][k]));
			printf("\n");
		}
	}
	if (o->remap) {
		const struct remap_res *r = &remap;

		printf("Invalidate -> re-map: %d samples of [transfer, GEM_MIGRATE (move_notify), transfer] on a 64 KiB buffer, placement alternating VRAM <-> system\n\n",
		       r->n);
		if (!r->ran) {
			printf("n/a (%s)\n\n", r->why);
			return;
		}
		printf("| what | min | p50 | p99 | max |\n|---|---|---|---|---|\n");
#define RROW(name, d) printf("| %s | %s | %s | %s | %s |\n", name, \
		fmt_time(b1, sizeof(b1), (d).min), fmt_time(b2, sizeof(b2), (d).med), \
		fmt_time(b3, sizeof(b3), (d).p99), fmt_time(b4, sizeof(b4), (d).max))
		RROW("transfer, no map needed", r->d_plain);
		RROW("transfer after the invalidate (re-maps)", r->d_after);
		RROW("re-map latency (paired difference)", r->d_extra);
		RROW("GEM_MIGRATE 64 KiB", r->d_migrate);
		if (r->kt_why[0]) {
			printf("| kernel timestamps | n/a (%s) | | | |\n", r->kt_why);
		} else {
			RROW("kernel: move_notify seen -> re-mapped table ready", r->d_inv_ready);
			RROW("kernel: re-map (map_attachment entry -> table ready)", r->d_remap_k);
			RROW("kernel: of which the exporter's map", r->d_exp_k);
			RROW("kernel: of which the NIC's table", r->d_tab_k);
		}
#undef RROW
		printf("  re-maps %u and invalidates %u over %d samples (expected %d each); after / plain: %s\n\n",
		       r->remaps, r->invalidates, r->n, r->n,
		       fmt_cmp(b1, sizeof(b1), &r->d_after, &r->d_plain));
	}
}

/*
 * A row of the staging migration table: GEM_MIGRATE's times @d and those
 * of memcpy @cpy of the same @mib MiB, and the throughput ratio.
 */
static void print_migrate_row(const char *what, double mib,
			      const struct dist *d, const struct dist *cpy)
{
	char b1[96], b2[96], b3[96];

	printf("| %s | %s | %.0f | %s | %.0f | %s |\n", what,
	       fmt_dist(b1, sizeof(b1), d), mib / d->med,
	       fmt_dist(b2, sizeof(b2), cpy), mib / cpy->med,
	       fmt_cmp(b3, sizeof(b3), cpy, d));
}

static void print_tables(const struct p2pbuf_gpu_info *gi,
			 const struct p2pbuf_nic_info *ni, const char *kernel,
			 const struct bopts *o, const struct map_res *m,
			 const struct steady_res *s, const struct migrate_res *g,
			 const struct scale_res *c)
{
	char b1[96], b2[96], b3[96], b4[96];
	int k, l, op;

	printf("p2pctl bench: GPU %s (VRAM %s), NIC %s, kernel %s\n", gi->pci,
	       fmt_size(b1, sizeof(b1), gi->vram_size), ni->pci, kernel);
	printf("All ratios are p2pbuf / peer, both measured in this run.\n\n");

	if (!o->skip_map) {
		const struct map_row *p = &m->row[X_P2PGPU];

		if (!m->ran) {
			printf("Map cost: n/a (%s)\n\n", m->why);
		} else {
			printf("Map cost: attach + map a %s buffer (%" PRIu64 " pages) on the NIC, pinned registration, median of %d\n\n",
			       fmt_size(b1, sizeof(b1), m->size), m->pages, o->reps);
			printf("| exporter | time | sg entries | DMA segments | backing | time ratio | sg entries ratio | segments ratio |\n");
			printf("|---|---|---|---|---|---|---|---|\n");
			for (k = 0; k < X_N; k++) {
				const struct map_row *row = &m->row[k];

				if (!row->avail) {
					printf("| %s | n/a | n/a | n/a | n/a | n/a | n/a | n/a |\n",
					       xname[k]);
					continue;
				}
				printf("| %s | %s | %u | %u | %s |", xname[k],
				       fmt_time(b1, sizeof(b1), row->med), row->sg_entries,
				       row->segments, p2pbuf_backing_str(row->backing));
				if (k == X_P2PGPU) {
					printf(" - | - | - |\n");
					continue;
				}
				printf(" %s | %s | %s |\n",
				       fmt_ratio(b2, sizeof(b2), p->avail ? ratio(p->med, row->med) : NAN_D),
				       fmt_ratio(b3, sizeof(b3), p->avail && p->sg_entries && row->sg_entries ?
						 ratio(p->sg_entries, row->sg_entries) : NAN_D),
				       fmt_ratio(b4, sizeof(b4), p->avail ? ratio(p->segments, row->segments) : NAN_D));
			}
			for (k = 0; k < X_N; k++)
				if (m->row[k].why[0])
					printf("  %s: %s\n", xname[k], m->row[k].why);
			if (m->dyn_avail)
				printf("  default (dynamic) registration of the p2pgpu buffer: attach %s; first %d-byte transfer %s (lazy map + DMA), second %s; %u sg entries, %u segments, %s\n",
				       fmt_time(b1, sizeof(b1), m->dyn_attach), XFER_LEN,
				       fmt_time(b2, sizeof(b2), m->dyn_first),
				       fmt_time(b3, sizeof(b3), m->dyn_second),
				       m->dyn_sg_entries, m->dyn_segments,
				       p2pbuf_backing_str(m->dyn_backing));
			else
				printf("  default (dynamic) registration: n/a (%s)\n", m->dyn_why);
			printf("\n");
		}
	}

	if (!o->skip_steady) {
		printf("Steady state: re-maps counted by p2prdma (QUERY_MR map_count) over N %d-byte transfers from a 64 KiB VRAM buffer\n\n",
		       XFER_LEN);
		if (!s->ran) {
			printf("n/a (%s)\n\n", s->why);
		} else {
			printf("| phase | transfers done (of %" PRIu64 " asked) | re-maps | expected | per transfer | backing |\n",
			       s->requested);
			printf("|---|---|---|---|---|---|\n");
			printf("| no move | %" PRIu64 " | %u | 0 | %s | %s |\n", s->ph[0].n,
			       s->ph[0].remaps,
			       fmt_time(b1, sizeof(b1), s->ph[0].n ? s->ph[0].secs / s->ph[0].n : NAN_D),
			       p2pbuf_backing_str(s->backing_before));
			printf("| after one eviction | %" PRIu64 " | %u | 1 | %s | %s |\n",
			       s->ph[1].n, s->ph[1].remaps,
			       fmt_time(b1, sizeof(b1), s->ph[1].n ? s->ph[1].secs / s->ph[1].n : NAN_D),
			       p2pbuf_backing_str(s->backing_after));
			printf("  no move: %s; after eviction: %s (move_notify seen: %u)\n\n",
			       s->ph[0].stop, s->ph[1].stop, s->ph[1].invalidates);
		}
	}

	if (!o->skip_migrate) {
		printf("Staging migration: GEM_MIGRATE of a %s buffer against memcpy of the same size, median of %d\n\n",
		       fmt_size(b1, sizeof(b1), g->size), g->n);
		if (!g->ran) {
			printf("n/a (%s)\n\n", g->why);
		} else {
			double mib = g->size / 1048576.0;

			printf("| direction | time min / median / max | MiB/s (median) | memcpy min / median / max | memcpy MiB/s (median) | throughput GEM_MIGRATE / memcpy |\n");
			printf("|---|---|---|---|---|---|\n");
			print_migrate_row("VRAM -> system", mib, &g->d_sys, &g->d_cpy);
			print_migrate_row("system -> VRAM", mib, &g->d_vram, &g->d_cpy);
			print_migrate_row("VRAM -> system, against memcpy into new pages (mmap + fault)",
					  mib, &g->d_sys, &g->d_fresh);
			printf("\n");
		}
	}

	print_sizes_remap(o);

	if (!o->skip_scale) {
		printf("Scale: median cost of each operation on %u more one-page buffers with that many live (created + exported + registered)\n\n",
		       o->sample);
		if (!c->ran) {
			printf("n/a (%s)\n\n", c->why);
			return;
		}
		printf("| live buffers |");
		for (op = 0; op < OP_N; op++)
			printf(" %s |", opname[op]);
		printf("\n|---|");
		for (op = 0; op < OP_N; op++)
			printf("---|");
		printf("\n");
		for (l = 0; l < c->nlevels; l++) {
			printf("| %" PRIu64 " |", c->lv[l].target);
			for (op = 0; op < OP_N; op++)
				printf(" %s |", c->lv[l].reached ?
				       fmt_time(b1, sizeof(b1), c->lv[l].d[op].med) :
				       "not reached");
			printf("\n");
		}
		for (l = 1; l < c->nlevels; l++) {
			if (!c->lv[0].reached || !c->lv[l].reached)
				continue;
			printf("| growth %" PRIu64 " -> %" PRIu64 " |", c->lv[0].target,
			       c->lv[l].target);
			for (op = 0; op < OP_N; op++)
				printf(" x%s |", fmt_ratio(b1, sizeof(b1),
					ratio(c->lv[l].d[op].med, c->lv[0].d[op].med)));
			printf("\n");
		}
		printf("  warm-up first: %" PRIu64 " buffers made, registered and freed untimed\n",
		       c->warmup);
		printf("  %s; %" PRIu64 " live at most, grown in %.0f s, torn down in %.1f s, ~%ld bytes of memory per live buffer\n",
		       c->stop, c->live_max, c->grow_secs, c->teardown_secs,
		       c->mem_per_buf);
		for (l = 0; l < c->nlevels; l++)
			if (c->lv[l].reached)
				printf("  at %" PRIu64 ": the pinned registrations mapped %u peer-to-peer, %u from system memory\n",
				       c->lv[l].target, c->lv[l].map_backing_peer,
				       c->lv[l].map_backing_system);
		printf("\n");
	}
}

static void json_map_row(struct json *j, const struct map_row *row,
			 const struct map_row *p2p, int k)
{
	int i;

	json_begin_obj(j);
	json_kstr(j, "exporter", xkey[k]);
	json_kbool(j, "available", row->avail);
	json_kstr(j, "note", row->why[0] ? row->why : NULL);
	if (row->avail) {
		json_kdouble(j, "median_s", row->med);
		json_key(j, "samples_s");
		json_begin_arr(j);
		for (i = 0; i < row->n; i++)
			json_double(j, row->t[i]);
		json_end_arr(j);
		json_kuint(j, "sg_entries", row->sg_entries);
		json_kuint(j, "dma_segments", row->segments);
		json_kstr(j, "backing", p2pbuf_backing_str(row->backing));
		json_kbool(j, "bus_addr", row->mr_flags & P2PRDMA_MR_BUS_ADDR);
	}
	if (k != X_P2PGPU) {
		bool ok = row->avail && p2p->avail;

		json_key(j, "ratio_p2pbuf_over_this");
		json_begin_obj(j);
		json_kdouble(j, "time", ok ? ratio(p2p->med, row->med) : NAN_D);
		json_kdouble(j, "sg_entries", ok && p2p->sg_entries && row->sg_entries ?
			     ratio(p2p->sg_entries, row->sg_entries) : NAN_D);
		json_kdouble(j, "dma_segments", ok ? ratio(p2p->segments, row->segments) : NAN_D);
		json_end_obj(j);
	}
	json_end_obj(j);
}

static void json_dist(struct json *j, const char *key, const struct dist *d,
		      const double *v)
{
	int i;

	json_key(j, key);
	json_begin_obj(j);
	json_kint(j, "n", d->n);
	json_kdouble(j, "min_s", d->min);
	json_kdouble(j, "median_s", d->med);
	json_kdouble(j, "p99_s", d->p99);
	json_kdouble(j, "max_s", d->max);
	if (v) {
		json_key(j, "samples_s");
		json_begin_arr(j);
		for (i = 0; i < d->n; i++)
			json_double(j, v[i]);
		json_end_arr(j);
	}
	json_end_obj(j);
}

/* a / b: the ratio of the medians, or null when the distributions overlap */
static void json_cmp(struct json *j, const char *key, const struct dist *a,
		     const struct dist *b)
{
	bool ok = a->n && b->n && !dist_overlap(a, b);

	json_key(j, key);
	json_begin_obj(j);
	json_kbool(j, "overlap", a->n && b->n && dist_overlap(a, b));
	json_kdouble(j, "ratio_of_medians", a->n && b->n ? a->med / b->med : NAN_D);
	json_kdouble(j, "ratio_low", ok ? a->min / b->max : NAN_D);
	json_kdouble(j, "ratio_high", ok ? a->max / b->min : NAN_D);
	json_end_obj(j);
}

static void json_sizes_remap(struct json *j, const struct bopts *o)
{
	int si, k, last = sizes.nsizes - 1;

	json_key(j, "map_sizes");
	if (!o->nmap_sizes) {
		json_null(j);
	} else {
		json_begin_obj(j);
		json_kstr(j, "method", "REG_DMABUF_MR with P2PRDMA_REG_PINNED, exporters interleaved per repetition; the buffer is made before the clock starts; each buffer registered twice, deregistered in between: time = the first registration (right after the buffer was made), time_second = the second (QEMU's software TLB warm again)");
		json_key(j, "sizes");
		json_begin_arr(j);
		for (si = 0; si < sizes.nsizes; si++) {
			json_begin_obj(j);
			json_kuint(j, "size", sizes.size[si]);
			for (k = 0; k < X_N; k++) {
				const struct map_row *row = &sizes.row[si][k];

				json_key(j, xkey[k]);
				json_begin_obj(j);
				json_kbool(j, "available", row->avail);
				json_kstr(j, "note", row->why[0] ? row->why : NULL);
				json_dist(j, "time", &sizes.d[si][k], row->t);
				json_dist(j, "time_second", &sizes.d2[si][k],
					  sizes.t2[si][k]);
				json_dist(j, "kernel_exporter_map", &sizes.kexp[si][k], NULL);
				json_dist(j, "kernel_nic_table", &sizes.ktab[si][k], NULL);
				json_kuint(j, "sg_entries", row->sg_entries);
				json_kuint(j, "dma_segments", row->segments);
				json_kstr(j, "backing", p2pbuf_backing_str(row->backing));
				json_end_obj(j);
			}
			json_end_obj(j);
		}
		json_end_arr(j);
		if (sizes.nsizes > 1) {
			json_key(j, "growth_largest_over_smallest");
			json_begin_obj(j);
			for (k = 0; k < X_N; k++)
				json_cmp(j, xkey[k], &sizes.d[last][k], &sizes.d[0][k]);
			json_end_obj(j);
			json_key(j, "growth_largest_over_smallest_second");
			json_begin_obj(j);
			for (k = 0; k < X_N; k++)
				json_cmp(j, xkey[k], &sizes.d2[last][k], &sizes.d2[0][k]);
			json_end_obj(j);
		}
		json_key(j, "control_after_process_sweep");
		if (!sizes.ctl_ran) {
			json_null(j);
		} else {
			json_begin_obj(j);
			json_kstr(j, "method", "a registered-before 4 KiB p2pgpu buffer, REG_DMABUF_MR pinned right after the process memset() 4 KiB (after_4k) or 64 MiB (after_64m) of its own faulted memory");
			json_dist(j, "after_4k", &sizes.d_ctl[0], sizes.ctl[0]);
			json_dist(j, "after_64m", &sizes.d_ctl[1], sizes.ctl[1]);
			json_cmp(j, "ratio", &sizes.d_ctl[1], &sizes.d_ctl[0]);
			json_end_obj(j);
		}
		json_end_obj(j);
	}

	json_key(j, "remap");
	if (!o->remap) {
		json_null(j);
	} else {
		json_begin_obj(j);
		json_kbool(j, "ran", remap.ran);
		json_kstr(j, "note", remap.why[0] ? remap.why : NULL);
		json_kstr(j, "method", "per sample: transfer (no map), GEM_MIGRATE of the 64 KiB buffer to the other placement (move_notify), transfer (lazy re-map + DMA); latency = second transfer - first, paired");
		json_kuint(j, "remaps", remap.remaps);
		json_kuint(j, "invalidates", remap.invalidates);
		json_dist(j, "transfer_plain", &remap.d_plain, remap.plain);
		json_dist(j, "transfer_after_invalidate", &remap.d_after, remap.after);
		json_dist(j, "remap_latency", &remap.d_extra, NULL);
		json_dist(j, "migrate_64k", &remap.d_migrate, remap.migrate);
		json_kstr(j, "kernel_note", remap.kt_why[0] ? remap.kt_why : NULL);
		json_kstr(j, "kernel_method", "kprobe events: p2prdma_move_notify entry, dma_buf_map_attachment entry/return, p2prdma_mr_fill_table entry/return, p2prdma_dmabuf_map return (table ready), trace clock");
		json_dist(j, "kernel_invalidate_to_ready", &remap.d_inv_ready, remap.inv_ready);
		json_dist(j, "kernel_remap", &remap.d_remap_k, remap.remap_k);
		json_dist(j, "kernel_remap_exporter_map", &remap.d_exp_k, remap.exp_k);
		json_dist(j, "kernel_remap_nic_table", &remap.d_tab_k, remap.tab_k);
		json_cmp(j, "after_over_plain", &remap.d_after, &remap.d_plain);
		json_end_obj(j);
	}
}

static void write_json(FILE *f, const struct p2pbuf_gpu_info *gi,
		       const struct p2pbuf_nic_info *ni, const char *kernel,
		       const struct bopts *o, const struct map_res *m,
		       const struct steady_res *s, const struct migrate_res *g,
		       const struct scale_res *c)
{
	const char *topo = getenv("P2PBUF_TOPOLOGY");
	struct json j;
	char date[32];
	time_t t = time(NULL);
	int k, l, op;

	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	json_init(&j, f);
	json_begin_obj(&j);
	json_kstr(&j, "schema", "p2pbuf-bench/1");
	json_kstr(&j, "date", date);
	json_kstr(&j, "kernel", kernel);
	json_kstr(&j, "topology", topo);
	json_key(&j, "gpu");
	json_begin_obj(&j);
	json_kstr(&j, "pci", gi->pci);
	json_kuint(&j, "vram_size", gi->vram_size);
	json_kuint(&j, "vram_pin_limit", gi->vram_pin_limit);
	json_kuint(&j, "caps", gi->caps);
	json_end_obj(&j);
	json_key(&j, "nic");
	json_begin_obj(&j);
	json_kstr(&j, "pci", ni->pci);
	json_end_obj(&j);

	json_key(&j, "map_cost");
	if (o->skip_map) {
		json_null(&j);
	} else {
		json_begin_obj(&j);
		json_kbool(&j, "ran", m->ran);
		json_kstr(&j, "note", m->why[0] ? m->why : NULL);
		json_kstr(&j, "method", "REG_DMABUF_MR with P2PRDMA_REG_PINNED: attach + pin + map + MR table, one ioctl");
		json_kuint(&j, "size", m->size);
		json_kuint(&j, "pages", m->pages);
		json_kint(&j, "reps", o->reps);
		json_key(&j, "exporters");
		json_begin_arr(&j);
		for (k = 0; k < X_N; k++)
			json_map_row(&j, &m->row[k], &m->row[X_P2PGPU], k);
		json_end_arr(&j);
		json_key(&j, "p2pgpu_dynamic");
		json_begin_obj(&j);
		json_kbool(&j, "available", m->dyn_avail);
		json_kstr(&j, "note", m->dyn_why[0] ? m->dyn_why : NULL);
		json_kdouble(&j, "attach_s", m->dyn_attach);
		json_kdouble(&j, "first_transfer_s", m->dyn_first);
		json_kdouble(&j, "second_transfer_s", m->dyn_second);
		json_kuint(&j, "transfer_bytes", XFER_LEN);
		json_kuint(&j, "sg_entries", m->dyn_sg_entries);
		json_kuint(&j, "dma_segments", m->dyn_segments);
		json_kuint(&j, "map_count", m->dyn_map_count);
		json_kstr(&j, "backing", p2pbuf_backing_str(m->dyn_backing));
		json_end_obj(&j);
		json_end_obj(&j);
	}

	json_key(&j, "steady_state");
	if (o->skip_steady) {
		json_null(&j);
	} else {
		json_begin_obj(&j);
		json_kbool(&j, "ran", s->ran);
		json_kstr(&j, "note", s->why[0] ? s->why : NULL);
		json_kuint(&j, "transfers_requested", s->requested);
		json_kuint(&j, "transfer_bytes", XFER_LEN);
		json_kdouble(&j, "budget_s", o->steady_budget);
		json_key(&j, "phases");
		json_begin_arr(&j);
		for (k = 0; k < 2; k++) {
			json_begin_obj(&j);
			json_kstr(&j, "phase", k ? "after_one_eviction" : "no_move");
			json_kuint(&j, "transfers", s->ph[k].n);
			json_kuint(&j, "remaps", s->ph[k].remaps);
			json_kuint(&j, "expected_remaps", k);
			json_kuint(&j, "invalidates", s->ph[k].invalidates);
			json_kdouble(&j, "seconds", s->ph[k].secs);
			json_kuint(&j, "bytes_via_system", s->ph[k].via_system);
			json_kstr(&j, "backing", p2pbuf_backing_str(k ? s->backing_after :
								     s->backing_before));
			json_kstr(&j, "stop", s->ph[k].stop);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_end_obj(&j);
	}

	json_key(&j, "migration");
	if (o->skip_migrate) {
		json_null(&j);
	} else {
		json_begin_obj(&j);
		json_kbool(&j, "ran", g->ran);
		json_kstr(&j, "note", g->why[0] ? g->why : NULL);
		json_kuint(&j, "size", g->size);
		json_kint(&j, "reps", g->n);
		json_kdouble(&j, "vram_to_system_s", g->ran ? g->med_sys : NAN_D);
		json_kdouble(&j, "system_to_vram_s", g->ran ? g->med_vram : NAN_D);
		json_kdouble(&j, "memcpy_s", g->ran ? g->med_cpy : NAN_D);
		json_kdouble(&j, "ratio_vram_to_system_over_memcpy",
			     g->ran ? ratio(g->med_cpy, g->med_sys) : NAN_D);
		json_kdouble(&j, "ratio_system_to_vram_over_memcpy",
			     g->ran ? ratio(g->med_cpy, g->med_vram) : NAN_D);
		json_dist(&j, "vram_to_system", &g->d_sys, g->to_sys);
		json_dist(&j, "system_to_vram", &g->d_vram, g->to_vram);
		json_dist(&j, "memcpy", &g->d_cpy, g->cpy);
		json_dist(&j, "memcpy_into_new_pages", &g->d_fresh, g->cpy_fresh);
		json_cmp(&j, "throughput_vram_to_system_over_memcpy_into_new_pages", &g->d_fresh, &g->d_sys);
		json_cmp(&j, "throughput_vram_to_system_over_memcpy", &g->d_cpy, &g->d_sys);
		json_cmp(&j, "throughput_system_to_vram_over_memcpy", &g->d_cpy, &g->d_vram);
		json_end_obj(&j);
	}

	json_sizes_remap(&j, o);

	json_key(&j, "scale");
	if (o->skip_scale) {
		json_null(&j);
	} else {
		json_begin_obj(&j);
		json_kbool(&j, "ran", c->ran);
		json_kstr(&j, "note", c->why[0] ? c->why : NULL);
		json_kstr(&j, "stop", c->stop);
		json_kuint(&j, "sample", o->sample);
		json_kuint(&j, "buffer_size", SCALE_BO_SIZE);
		json_kdouble(&j, "budget_s", o->scale_budget);
		json_kuint(&j, "warmup", c->warmup);
		json_kuint(&j, "live_max", c->live_max);
		json_kdouble(&j, "grow_s", c->grow_secs);
		json_kdouble(&j, "teardown_s", c->teardown_secs);
		json_kint(&j, "memory_per_buffer", c->mem_per_buf);
		json_key(&j, "levels");
		json_begin_arr(&j);
		for (l = 0; l < c->nlevels; l++) {
			json_begin_obj(&j);
			json_kuint(&j, "live", c->lv[l].target);
			json_kbool(&j, "reached", c->lv[l].reached);
			json_kuint(&j, "samples", c->lv[l].n);
			for (op = 0; op < OP_N; op++) {
				char key[48];

				snprintf(key, sizeof(key), "%s_mean_s", opkey[op]);
				json_kdouble(&j, key, c->lv[l].reached ? c->lv[l].mean[op] : NAN_D);
				snprintf(key, sizeof(key), "%s", opkey[op]);
				json_dist(&j, key, &c->lv[l].d[op], NULL);
				snprintf(key, sizeof(key), "%s_growth", opkey[op]);
				json_kdouble(&j, key, c->lv[l].reached && c->lv[0].reached ?
					     ratio(c->lv[l].d[op].med, c->lv[0].d[op].med) : NAN_D);
			}
			json_kuint(&j, "map_backing_peer", c->lv[l].map_backing_peer);
			json_kuint(&j, "map_backing_system", c->lv[l].map_backing_system);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_end_obj(&j);
	}
	json_end_obj(&j);
	json_finish(&j);
}

/* ------------------------------------------------------------------ */

static int parse_opts(int argc, char **argv, struct bopts *o)
{
	enum { O_GPU = 256, O_NIC, O_SIZE, O_REPS, O_XFERS, O_SBUDGET, O_SCALE,
	       O_SAMPLE, O_CBUDGET, O_SKIP, O_JSON, O_HELP, O_MSIZES, O_REMAP,
	       O_WARMUP };
	static const struct option lo[] = {
		{ "gpu", required_argument, NULL, O_GPU },
		{ "nic", required_argument, NULL, O_NIC },
		{ "size", required_argument, NULL, O_SIZE },
		{ "reps", required_argument, NULL, O_REPS },
		{ "transfers", required_argument, NULL, O_XFERS },
		{ "steady-budget", required_argument, NULL, O_SBUDGET },
		{ "scale", required_argument, NULL, O_SCALE },
		{ "sample", required_argument, NULL, O_SAMPLE },
		{ "scale-budget", required_argument, NULL, O_CBUDGET },
		{ "skip", required_argument, NULL, O_SKIP },
		{ "map-sizes", required_argument, NULL, O_MSIZES },
		{ "remap", required_argument, NULL, O_REMAP },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "json", optional_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "bench";
	uint64_t v;
	char *s, *tok, *save;
	int c;

	optind = 1;
	opterr = 0;
	/* '+': no permutation, so that `--json FILE` (older form) is seen in order */
	while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
		switch (c) {
		case O_GPU:
			if (cli_dev_parse(cmd, "--gpu", optarg, &o->gpu_sel))
				return -1;
			break;
		case O_NIC:
			if (cli_dev_parse(cmd, "--nic", optarg, &o->nic_sel))
				return -1;
			break;
		case O_REPS:
			if (cli_count(cmd, "--reps", optarg, 1, MAX_REPS, &v))
				return -1;
			o->reps = (int)v;
			break;
		case O_SAMPLE:
			if (cli_count(cmd, "--sample", optarg, 1, 1000000, &v))
				return -1;
			o->sample = (unsigned int)v;
			break;
		case O_SIZE:
			if (cli_size(cmd, "--size", optarg, 1, CLI_MAX_SIZE, &o->size))
				return -1;
			break;
		case O_XFERS:
			if (cli_count(cmd, "--transfers", optarg, 0, 1000000000, &o->transfers))
				return -1;
			break;
		case O_SBUDGET:
		case O_CBUDGET:
			if (cli_count(cmd, c == O_SBUDGET ? "--steady-budget" : "--scale-budget",
				      optarg, 0, 86400, &v))
				return -1;
			*(c == O_SBUDGET ? &o->steady_budget : &o->scale_budget) = v;
			break;
		case O_SCALE:
			o->nlevels = 0;
			s = strdup(optarg);
			for (tok = strtok_r(s, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (o->nlevels == MAX_LEVELS) {
					cli_usage(cmd, "--scale: at most %d levels", MAX_LEVELS);
					free(s);
					return -1;
				}
				if (cli_count(cmd, "--scale", tok, 1, 10000000, &v)) {
					free(s);
					return -1;
				}
				if (o->nlevels && v <= o->levels[o->nlevels - 1]) {
					cli_usage(cmd, "--scale: levels must rise (%" PRIu64 " after %" PRIu64 ")",
						  v, o->levels[o->nlevels - 1]);
					free(s);
					return -1;
				}
				o->levels[o->nlevels++] = v;
			}
			free(s);
			if (!o->nlevels) {
				cli_usage(cmd, "--scale wants levels like 1000,10000");
				return -1;
			}
			break;
		case O_MSIZES:
			o->nmap_sizes = 0;
			s = strdup(optarg);
			for (tok = strtok_r(s, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (o->nmap_sizes == MAX_LEVELS ||
				    cli_size(cmd, "--map-sizes", tok, 1, CLI_MAX_SIZE,
					     &o->map_sizes[o->nmap_sizes])) {
					if (o->nmap_sizes == MAX_LEVELS)
						cli_usage(cmd, "--map-sizes: at most %d sizes", MAX_LEVELS);
					free(s);
					return -1;
				}
				o->nmap_sizes++;
			}
			free(s);
			break;
		case O_REMAP:
			if (cli_count(cmd, "--remap", optarg, 0, MAX_REPS, &v))
				return -1;
			o->remap = (unsigned int)v;
			break;
		case O_WARMUP:
			if (cli_count(cmd, "--warmup", optarg, 0, 1000000, &v))
				return -1;
			o->warmup = (unsigned int)v;
			break;
		case O_SKIP:
			s = strdup(optarg);
			for (tok = strtok_r(s, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "map"))
					o->skip_map = true;
				else if (!strcmp(tok, "steady"))
					o->skip_steady = true;
				else if (!strcmp(tok, "migrate"))
					o->skip_migrate = true;
				else if (!strcmp(tok, "scale"))
					o->skip_scale = true;
				else {
					cli_usage(cmd, "--skip: unknown part '%s' (map, steady, migrate, scale)",
						  tok);
					free(s);
					return -1;
				}
			}
			free(s);
			break;
		case O_JSON:
			o->json = optarg ? optarg : "-";
			/* the older `--json FILE`: bench takes no other argument */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				o->json = argv[optind++];
			break;
		case 'h':
		case O_HELP:
			fputs(bench_help, stdout);
			return 1;
		case ':':
			cli_usage(cmd, "option '%s' requires a value", argv[optind - 1]);
			return -1;
		default:
			cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* The GPU and NIC --gpu/--nic name; EX_OK or the exit status. */
static int open_devices(struct bopts *o, struct p2pbuf_gpu **gpu,
			struct p2pbuf_nic **nic)
{
	struct p2pbuf_gpu_desc gd[64];
	struct p2pbuf_nic_desc nd[64];
	const char *pci[64];
	int ng, nn, i, ret;

	ng = p2pbuf_gpu_list(gd, 64);
	nn = p2pbuf_nic_list(nd, 64);
	ng = ng < 0 ? 0 : ng > 64 ? 64 : ng;
	nn = nn < 0 ? 0 : nn > 64 ? 64 : nn;
	for (i = 0; i < ng; i++)
		pci[i] = gd[i].pci;
	o->gpu = cli_dev_resolve("gpu", &o->gpu_sel, pci, ng);
	if (o->gpu < 0) {
		if (!ng)
			fprintf(stderr, "p2pctl bench: no GPU found (`p2pctl devices` says why)\n");
		return EX_NODEV;
	}
	for (i = 0; i < nn; i++)
		pci[i] = nd[i].pci;
	o->nic = cli_dev_resolve("nic", &o->nic_sel, pci, nn);
	if (o->nic < 0) {
		if (!nn)
			fprintf(stderr, "p2pctl bench: no NIC found (`p2pctl devices` says why)\n");
		return EX_NODEV;
	}
	ret = p2pbuf_gpu_open_path(gd[o->gpu].node, gpu);
	if (ret) {
		fprintf(stderr, "p2pctl bench: gpu%d: %s\n", o->gpu, p2pbuf_strerror(ret));
		cli_hint(ret, "open the GPU");
		return ret == -ENODEV ? EX_NODEV : EX_FAIL;
	}
	ret = p2pbuf_nic_open_path(nd[o->nic].node, nic);
	if (ret) {
		fprintf(stderr, "p2pctl bench: nic%d: %s\n", o->nic, p2pbuf_strerror(ret));
		cli_hint(ret, "open the NIC");
		p2pbuf_gpu_close(*gpu);
		*gpu = NULL;
		return ret == -ENODEV ? EX_NODEV : EX_FAIL;
	}
	return EX_OK;
}

int cmd_bench(int argc, char **argv)
{
	struct bopts o = {
		.reps = 5, .transfers = 10000, .steady_budget = 120,
		.levels = { 1000, 10000, 100000 }, .nlevels = 3, .sample = 200,
		.scale_budget = 900,
	};
	static struct map_res m;
	static struct steady_res s;
	static struct migrate_res g;
	static struct scale_res c;
	struct p2pbuf_gpu_info gi;
	struct p2pbuf_nic_info ni;
	struct p2pbuf_gpu *gpu = NULL;
	struct p2pbuf_nic *nic = NULL;
	struct utsname un;
	char kernel[160];
	int ret;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? EX_OK : EX_USAGE;

	uname(&un);
	snprintf(kernel, sizeof(kernel), "%s %s", un.release, un.machine);
	ret = open_devices(&o, &gpu, &nic);
	if (ret)
		return ret;
	if (p2pbuf_gpu_info(gpu, &gi) || p2pbuf_nic_info(nic, &ni)) {
		fprintf(stderr, "p2pctl bench: device query failed\n");
		ret = EX_FAIL;
		goto out;
	}

	if (!o.skip_map)
		bench_map(gpu, nic, &gi, &o, &m);
	if (!o.skip_steady)
		bench_steady(gpu, nic, &o, &s);
	if (o.nmap_sizes)
		bench_sizes(gpu, nic, &o, &sizes);
	if (o.remap)
		bench_remap(gpu, nic, &o, &remap);
	if (!o.skip_migrate)
		bench_migrate(gpu, o.size ? o.size : m.size ? m.size :
			      largest_vram_bo(gpu->fd, gi.vram_size), &o, &g);
	if (!o.skip_scale)
		bench_scale(&o, &c);

	if (o.json && !strcmp(o.json, "-")) {
		/* stdout is the JSON's: the table goes to stderr */
		int saved;

		fflush(stdout);
		saved = dup(1);
		dup2(2, 1);
		print_tables(&gi, &ni, kernel, &o, &m, &s, &g, &c);
		fflush(stdout);
		if (saved >= 0) {
			dup2(saved, 1);
			close(saved);
		}
	} else {
		print_tables(&gi, &ni, kernel, &o, &m, &s, &g, &c);
	}
	if (o.json) {
		FILE *f = strcmp(o.json, "-") ? fopen(o.json, "w") : stdout;

		if (!f) {
			fprintf(stderr, "p2pctl bench: %s: %s\n", o.json, strerror(errno));
			ret = EX_FAIL;
			goto out;
		}
		write_json(f, &gi, &ni, kernel, &o, &m, &s, &g, &c);
		if (f != stdout)
			fclose(f);
	}
	ret = EX_OK;
	if ((!o.skip_map && !m.ran) || (!o.skip_steady && !s.ran) ||
	    (!o.skip_migrate && !g.ran) || (!o.skip_scale && !c.ran) ||
	    (o.remap && !remap.ran))
		ret = EX_FAIL;
out:
	p2pbuf_nic_close(nic);
	p2pbuf_gpu_close(gpu);
	return ret;
}
