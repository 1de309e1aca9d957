// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbuf_stress: both drivers under concurrency and memory pressure.
 *
 * - threads: 8 threads share buffers (and one DRM fd) and, each on its own
 *   NIC fd, register them, write and read back their own slice through the
 *   NIC, evict (MIGRATE) them under each other, and run private create /
 *   export / register / transfer / close cycles, for a bounded time, while
 *   a pressure thread brings a shared buffer into VRAM and creates a buffer
 *   of the whole VRAM, so that TTM must evict under the threads. Every
 *   read-back and, at the end, every slice seen by the CPU must hold what
 *   its thread last wrote. With move_notify, moves must have happened under
 *   the threads and reached their regions: observed from the regions
 *   (QUERY_MR invalidate_count, map_count), from the buffers' move counts,
 *   from the pressure thread (a VRAM-sized buffer was created while a shared
 *   buffer sat in VRAM: it was evicted) and, as a second opinion, from
 *   p2pgpu's debugfs (each shared buffer's moves and its attachments' maps
 *   must agree with what the NIC and GEM_QUERY said). Lockdep and the other
 *   debuggers judge the rest.
 * - oversubscribe: four times VRAM in buffers, each exported and held by a
 *   dynamic p2prdma region; buffers are pulled into VRAM in turn (evicting
 *   the others under their importers) and read and written through the NIC:
 *   every byte stays intact.
 * - pin-cap: pinned registrations of VRAM buffers stop at the exporter's
 *   cap on pinned VRAM with -ENOSPC, and work again once one is released.
 *
 * P2PBUF_STRESS_SECONDS (default 40) bounds the threads subtest.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "p2pbuf_common.h"
#include "p2pbuf_sync.h"

#define NTHREADS	8
#define NSHARED		4
#define SLICE		256

static int pg, gpu = -1;
static struct drm_p2pgpu_device_query dq;

struct shared {
	uint32_t handle;
	int dmabuf;
	size_t size;
};

static struct shared shared[NSHARED];
static double deadline;
/* the workers and the main thread meet here to let it read debugfs */
static pthread_barrier_t done_barrier, read_barrier;
/* map_count of each shared buffer's regions when the workers stopped */
static unsigned long region_maps[NSHARED];
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;

/* the pressure thread's account */
static struct {
	pthread_t tid;
	char err[256];
	unsigned long rounds, created, evicted, migrate_enomem;
} pressure;

struct thread {
	pthread_t tid;
	int id;
	uint64_t rng;
	char err[256];
	unsigned long writes, reads, migrates, cycles, moved, remaps;
	unsigned long migrate_enomem;
	/* what this thread last wrote into its slice of each shared buffer */
	unsigned int gen[NSHARED];
};

static struct thread threads[NTHREADS];

static uint32_t trnd(struct thread *t, uint32_t n)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return (uint32_t)(t->rng % n);
}

/* the slice of thread @id in a shared buffer, and its content for @gen */
static uint64_t slice_off(int id)
{
	return (uint64_t)id * pg + 64;
}

static void slice_data(uint8_t *p, int id, int b, unsigned int gen)
{
	p2p_fill(p, SLICE, (unsigned int)(id * 1000 + b * 100) + gen);
}

#define FAIL(t, ...) do { \
	snprintf((t)->err, sizeof((t)->err), __VA_ARGS__); \
	goto out; \
} while (0)

/* a region's invalidations and re-maps, into the thread's totals */
static int account_region(struct thread *t, int nic, uint32_t mr)
{
	struct p2prdma_query_mr q;
	int ret = __p2p_query(nic, mr, &q);

	if (ret)
		return ret;
	t->moved += q.invalidate_count;
	if (q.map_count > 1)
		t->remaps += q.map_count - 1;
	return 0;
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	int nic = p2p_nic_open();
	uint8_t *u = p2p_anon(4 * pg), *want = u + 2 * pg;
	uint32_t hu, mr[NSHARED] = {};
	bool registered = false;
	int ret;

	if (nic < 0)
		FAIL(t, "open NIC: %s", strerror(errno));
	if ((ret = __p2p_reg_user(nic, u, 2 * pg, &hu)))
		FAIL(t, "reg user: %s", strerror(-ret));
	for (int b = 0; b < NSHARED; b++) {
		if ((ret = __p2p_reg_dmabuf(nic, shared[b].dmabuf, 0,
					    shared[b].size, 0, &mr[b])))
			FAIL(t, "reg shared %d: %s", b, strerror(-ret));
		/* start from what the main thread wrote: generation 0 */
		t->gen[b] = 0;
	}
	registered = true;

	while (p2p_now() < deadline) {
		int b = trnd(t, NSHARED);

		switch (trnd(t, 8)) {
		case 0: case 1: case 2:
			/* write a new generation of our slice */
			slice_data(u, t->id, b, t->gen[b] + 1);
			ret = __p2p_transfer(nic, mr[b], slice_off(t->id), hu, 0,
					     SLICE);
			if (ret)
				FAIL(t, "write %d: %s", b, strerror(-ret));
			t->gen[b]++;
			t->writes++;
			break;
		case 3: case 4:
			memset(u + pg, 0, SLICE);
			ret = __p2p_transfer(nic, hu, pg, mr[b], slice_off(t->id),
					     SLICE);
			if (ret)
				FAIL(t, "read %d: %s", b, strerror(-ret));
			slice_data(want, t->id, b, t->gen[b]);
			if (memcmp(u + pg, want, SLICE))
				FAIL(t, "buffer %d slice %d: generation %u lost",
				     b, t->id, t->gen[b]);
			t->reads++;
			break;
		case 5: {
			uint32_t where = trnd(t, 2) ? P2PGPU_PLACEMENT_VRAM :
						      P2PGPU_PLACEMENT_SYSTEM;

			ret = __p2p_migrate(gpu, shared[b].handle, where);
			/*
			 * -ENOMEM: VRAM is held by a buffer being created
			 * (the pressure thread's), which TTM cannot evict
			 * while it is reserved. The uapi does not list it
			 * for MIGRATE: counted and reported, not hidden.
			 */
			if (ret == -ENOMEM)
				t->migrate_enomem++;
			else if (ret && ret != -ENOSPC && ret != -EBUSY)
				FAIL(t, "migrate %d: %s", b, strerror(-ret));
			t->migrates++;
			break;
		}
		case 6: {
			/* a private buffer, start to end */
			static const uint32_t pl[] = {
				P2PGPU_PLACEMENT_VRAM, P2PGPU_PLACEMENT_SYSTEM,
				P2PGPU_PLACEMENT_VRAM_PREFERRED,
			};
			uint32_t h, m;
			int buf;
			bool pinned = trnd(t, 3) == 0;

			ret = __p2p_create(gpu, 2 * pg, pl[trnd(t, 3)], &h);
			/* no room: VRAM pinned, or held by a buffer being created */
			if (ret == -ENOSPC || ret == -ENOMEM)
				break;
			if (ret)
				FAIL(t, "create: %s", strerror(-ret));
			if ((ret = __p2p_export(gpu, h, &buf)))
				FAIL(t, "export: %s", strerror(-ret));
			ret = __p2p_reg_dmabuf(nic, buf, 0, 2 * pg,
					       pinned ? P2PRDMA_REG_PINNED : 0, &m);
			if (ret == -ENOSPC && pinned) {
				/* past the VRAM pin cap: fine under load */
			} else if (ret) {
				FAIL(t, "reg private: %s", strerror(-ret));
			} else {
				p2p_fill(u, 128, t->id + 77);
				if ((ret = __p2p_transfer(nic, m, pg, hu, 0, 128)))
					FAIL(t, "private write: %s", strerror(-ret));
				memset(u + pg, 0, 128);
				if ((ret = __p2p_transfer(nic, hu, pg, m, pg, 128)))
					FAIL(t, "private read: %s", strerror(-ret));
				if (memcmp(u, u + pg, 128))
					FAIL(t, "private buffer data lost");
				if ((ret = __p2p_dereg(nic, m)))
					FAIL(t, "dereg private: %s", strerror(-ret));
			}
			close(buf);
			if ((ret = __p2p_gem_close(gpu, h)))
				FAIL(t, "gem close: %s", strerror(-ret));
			t->cycles++;
			break;
		}
		default: {
			/* register our view of a shared buffer again */
			if ((ret = account_region(t, nic, mr[b])))
				FAIL(t, "query: %s", strerror(-ret));
			if ((ret = __p2p_dereg(nic, mr[b])))
				FAIL(t, "dereg shared: %s", strerror(-ret));
			if ((ret = __p2p_reg_dmabuf(nic, shared[b].dmabuf, 0,
						    shared[b].size, 0, &mr[b])))
				FAIL(t, "re-reg shared %d: %s", b, strerror(-ret));
			break;
		}
		}
	}

out:
	/* the regions as they are now, for the exporter's side to agree with */
	for (int b = 0; registered && b < NSHARED; b++) {
		struct p2prdma_query_mr q;

		if (!mr[b] || __p2p_query(nic, mr[b], &q))
			continue;
		t->moved += q.invalidate_count;
		if (q.map_count > 1)
			t->remaps += q.map_count - 1;
		pthread_mutex_lock(&region_lock);
		region_maps[b] += q.map_count;
		pthread_mutex_unlock(&region_lock);
	}
	pthread_barrier_wait(&done_barrier);
	pthread_barrier_wait(&read_barrier);
	if (nic >= 0)
		close(nic);
	munmap(u, 4 * pg);
	return NULL;
}

#define PFAIL(...) do { \
	snprintf(pressure.err, sizeof(pressure.err), __VA_ARGS__); \
	return NULL; \
} while (0)

static int bo_query(uint32_t handle, struct drm_p2pgpu_gem_query *q)
{
	memset(q, 0, sizeof(*q));
	q->handle = handle;
	return __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, q);
}

/*
 * VRAM pressure under the workers: bring a shared buffer into VRAM, then
 * create a buffer as large as VRAM. If that succeeds, TTM evicted whatever
 * was in VRAM, the shared buffer included: its move count must have gone
 * up. (-ENOSPC: a worker's private buffer is pinned in VRAM just now.)
 */
static void *pressure_main(void *arg)
{
	for (unsigned int k = 0; p2p_now() < deadline; k++) {
		struct shared *s = &shared[k % NSHARED];
		struct drm_p2pgpu_gem_query before, after;
		uint32_t big;
		int ret;

		ret = __p2p_migrate(gpu, s->handle, P2PGPU_PLACEMENT_VRAM);
		/* -ENOMEM: as for the workers' migrations (counted, reported) */
		if (ret == -ENOMEM)
			pressure.migrate_enomem++;
		else if (ret && ret != -ENOSPC && ret != -EBUSY)
			PFAIL("migrate shared %u: %s", k % NSHARED, strerror(-ret));
		if ((ret = bo_query(s->handle, &before)))
			PFAIL("query: %s", strerror(-ret));
		pressure.rounds++;
		ret = __p2p_create(gpu, dq.vram_size, P2PGPU_PLACEMENT_VRAM, &big);
		if (ret == -ENOSPC || ret == -ENOMEM) {
			usleep(200 * 1000);
			continue;
		}
		if (ret)
			PFAIL("create a VRAM-sized buffer: %s", strerror(-ret));
		pressure.created++;
		if ((ret = bo_query(s->handle, &after)))
			PFAIL("query: %s", strerror(-ret));
		if (before.placement == P2PGPU_RESIDENT_VRAM) {
			if (after.move_count == before.move_count)
				PFAIL("a VRAM-sized buffer was created while shared buffer %u stayed in VRAM (move count %u)",
				      k % NSHARED, after.move_count);
			pressure.evicted++;
		}
		if ((ret = __p2p_gem_close(gpu, big)))
			PFAIL("close: %s", strerror(-ret));
		usleep(500 * 1000);
	}
	return NULL;
}

/* a shared buffer's line in p2pgpu_bos: its moves and its attachments' maps */
struct bo_report {
	int found, busy;
	unsigned int moves;
	unsigned long maps;
	unsigned int attachments;
};

static void debugfs_shared(struct bo_report *rep)
{
	const char *objects = p2p_gpu_objects_path();
	char path[256], line[512];
	struct bo_report *cur = NULL;
	FILE *f;

	memset(rep, 0, NSHARED * sizeof(*rep));
	if (!objects)
		return;
	snprintf(path, sizeof(path), "%s", objects);
	/* .../p2pgpu_objects -> .../p2pgpu_bos */
	strcpy(strrchr(path, '/') + 1, "p2pgpu_bos");
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long size;
		unsigned int moves, maps;
		char *m;

		if (!strncmp(line, "bo ", 3)) {
			cur = NULL;
			/* locked with every worker stopped: counts as unseen */
			if (strstr(line, " busy")) {
				rep[0].busy++;
				continue;
			}
			if (sscanf(line, "bo %*s size %lu", &size) != 1)
				continue;
			m = strstr(line, " moves ");
			for (int b = 0; b < NSHARED && m; b++)
				if (size == shared[b].size) {
					cur = &rep[b];
					cur->found++;
					if (sscanf(m, " moves %u", &moves) == 1)
						cur->moves = moves;
				}
		} else if (cur && (m = strstr(line, " maps "))) {
			if (sscanf(m, " maps %u", &maps) == 1)
				cur->maps += maps;
			cur->attachments++;
		}
	}
	fclose(f);
}

static void subtest_threads(void)
{
	const char *sec = getenv("P2PBUF_STRESS_SECONDS");
	double seconds = sec ? atof(sec) : 40, start = p2p_now();
	unsigned long writes = 0, reads = 0, migrates = 0, cycles = 0, moved = 0;
	unsigned long remaps = 0, bo_moves = 0, migrate_enomem = 0;
	struct bo_report rep[NSHARED];
	uint32_t moves_before[NSHARED];
	uint8_t want[SLICE];
	bool notify = dq.caps & P2PGPU_CAP_MOVE_NOTIFY;

	memset(&pressure, 0, sizeof(pressure));
	memset(region_maps, 0, sizeof(region_maps));
	for (int b = 0; b < NSHARED; b++) {
		struct drm_p2pgpu_gem_query q;
		uint8_t *p;

		/* one page more each: p2pgpu_bos names them by size */
		shared[b].size = (size_t)(NTHREADS + b) * pg;
		shared[b].handle = p2p_create(gpu, shared[b].size,
					      P2PGPU_PLACEMENT_VRAM_PREFERRED);
		p = p2p_gem_mmap(gpu, shared[b].handle, shared[b].size);
		for (int id = 0; id < NTHREADS; id++)
			slice_data(p + slice_off(id), id, b, 0);
		munmap(p, shared[b].size);
		shared[b].dmabuf = p2p_export(gpu, shared[b].handle);
		igt_assert_eq(bo_query(shared[b].handle, &q), 0);
		moves_before[b] = q.move_count;
	}

	deadline = start + seconds;
	igt_assert_eq(pthread_barrier_init(&done_barrier, NULL, NTHREADS + 1), 0);
	igt_assert_eq(pthread_barrier_init(&read_barrier, NULL, NTHREADS + 1), 0);
	igt_assert_eq(pthread_create(&pressure.tid, NULL, pressure_main, NULL), 0);
	for (int i = 0; i < NTHREADS; i++) {
		threads[i].id = i;
		threads[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		igt_assert_eq(pthread_create(&threads[i].tid, NULL, thread_main,
					     &threads[i]), 0);
	}
	igt_assert_eq(pthread_join(pressure.tid, NULL), 0);
	/* the workers stopped, their regions still registered: ask debugfs */
	pthread_barrier_wait(&done_barrier);
	debugfs_shared(rep);
	pthread_barrier_wait(&read_barrier);
	for (int i = 0; i < NTHREADS; i++) {
		struct thread *t = &threads[i];

		igt_assert_eq(pthread_join(t->tid, NULL), 0);
		igt_assert_f(!t->err[0], "thread %d: %s\n", i, t->err);
		writes += t->writes;
		reads += t->reads;
		migrates += t->migrates;
		cycles += t->cycles;
		moved += t->moved;
		remaps += t->remaps;
		migrate_enomem += t->migrate_enomem;
	}
	migrate_enomem += pressure.migrate_enomem;
	pthread_barrier_destroy(&done_barrier);
	pthread_barrier_destroy(&read_barrier);
	igt_assert_f(!pressure.err[0], "pressure thread: %s\n", pressure.err);
	igt_assert_f(!rep[0].busy,
		     "p2pgpu_bos: %d buffer(s) locked with every thread stopped\n",
		     rep[0].busy);
	for (int b = 0; b < NSHARED; b++) {
		struct drm_p2pgpu_gem_query q;

		igt_assert_eq(bo_query(shared[b].handle, &q), 0);
		igt_info("shared %d: %u moves under the threads; debugfs: moves %u, %u attachments mapped %lu times, the NIC's regions %lu times\n",
			 b, q.move_count - moves_before[b], rep[b].moves,
			 rep[b].attachments, rep[b].maps, region_maps[b]);
		bo_moves += q.move_count - moves_before[b];
		/* the second opinion: p2pgpu's own books agree */
		igt_assert_f(rep[b].found == 1,
			     "shared buffer %d: %d lines of size %zu in p2pgpu_bos\n",
			     b, rep[b].found, shared[b].size);
		igt_assert_f(rep[b].moves == q.move_count,
			     "shared buffer %d: debugfs says %u moves, GEM_QUERY %u\n",
			     b, rep[b].moves, q.move_count);
		igt_assert_f(rep[b].attachments == NTHREADS &&
			     rep[b].maps == region_maps[b],
			     "shared buffer %d: p2pgpu mapped its %u attachments %lu times, the NIC's %d regions say %lu maps\n",
			     b, rep[b].attachments, rep[b].maps, NTHREADS,
			     region_maps[b]);
	}
	igt_info("%d threads, %.1f s: %lu writes, %lu checked reads, %lu migrations, %lu private cycles, %lu move_notify seen, %lu re-maps, %lu moves of shared buffers; pressure: %lu rounds, %lu VRAM-sized buffers, %lu evictions of a shared buffer from VRAM\n",
		 NTHREADS, p2p_now() - start, writes, reads, migrates, cycles,
		 moved, remaps, bo_moves, pressure.rounds, pressure.created,
		 pressure.evicted);
	if (migrate_enomem)
		igt_info("note: GEM_MIGRATE answered -ENOMEM %lu times under VRAM pressure: not an errno its uapi documents\n",
			 migrate_enomem);
	igt_assert(writes && reads && cycles);
	if (notify) {
		/* moves happened under the threads and reached their regions */
		igt_assert_f(pressure.evicted >= 1,
			     "no VRAM-sized buffer was created while a shared buffer was in VRAM (%lu rounds, %lu created): nothing was evicted under the threads\n",
			     pressure.rounds, pressure.created);
		igt_assert_f(bo_moves >= NSHARED,
			     "the shared buffers moved %lu times under the threads\n",
			     bo_moves);
		igt_assert_f(moved >= NSHARED && remaps >= NSHARED,
			     "the shared buffers moved %lu times, but the NIC's regions saw %lu move_notify and re-mapped %lu times\n",
			     bo_moves, moved, remaps);
	} else {
		/* without move_notify mapped buffers are pinned: never invalidated */
		igt_assert_f(moved == 0,
			     "no CONFIG_DMABUF_MOVE_NOTIFY, yet the regions saw %lu move_notify\n",
			     moved);
	}

	/* every slice holds its thread's last generation, seen by the CPU */
	for (int b = 0; b < NSHARED; b++) {
		uint8_t *p = p2p_gem_mmap(gpu, shared[b].handle, shared[b].size);

		p2p_cpu_begin(shared[b].dmabuf, DMA_BUF_SYNC_READ);
		for (int id = 0; id < NTHREADS; id++) {
			slice_data(want, id, b, threads[id].gen[b]);
			igt_assert_f(!memcmp(p + slice_off(id), want, SLICE),
				     "buffer %d slice %d: not generation %u\n",
				     b, id, threads[id].gen[b]);
		}
		p2p_cpu_end(shared[b].dmabuf, DMA_BUF_SYNC_READ);
		munmap(p, shared[b].size);
		close(shared[b].dmabuf);
		igt_assert_eq(__p2p_gem_close(gpu, shared[b].handle), 0);
	}
	p2p_assert_idle(0);
}

/* a stamp for every 512 bytes: buffer, offset and a generation */
static uint64_t stamp(unsigned int bo, uint64_t off, unsigned int gen)
{
	return 0x5354414d00000000ULL ^ ((uint64_t)bo << 40) ^ (off << 4) ^ gen;
}

static void subtest_oversubscribe(void)
{
	const size_t bo_size = 4 << 20;
	unsigned int n = (unsigned int)(4 * dq.vram_size / bo_size), rounds = 1;
	uint32_t *h = calloc(n, sizeof(*h)), *mr = calloc(n, sizeof(*mr)), hu;
	unsigned int *gen = calloc(n, sizeof(*gen));
	int *buf = calloc(n, sizeof(*buf)), nic = p2p_nic_open();
	uint64_t *u = p2p_anon(pg), moves = 0, invalidations = 0;
	unsigned long busy = 0, checked = 0;
	double start = p2p_now();

	igt_assert(nic >= 0 && h && mr && gen && buf);
	igt_info("%u buffers of %zu MiB over %llu MiB of VRAM\n", n,
		 bo_size >> 20, (unsigned long long)dq.vram_size >> 20);
	hu = p2p_reg_user(nic, u, pg);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t *p;

		h[i] = p2p_create(gpu, bo_size, P2PGPU_PLACEMENT_VRAM_PREFERRED);
		p = p2p_gem_mmap(gpu, h[i], bo_size);
		for (uint64_t off = 0; off < bo_size; off += 512)
			p[off / 8] = stamp(i, off, 0);
		munmap(p, bo_size);
		buf[i] = p2p_export(gpu, h[i]);
		mr[i] = p2p_reg_dmabuf(nic, buf[i], 0, bo_size, 0);
		/*
		 * Map it now (the first transfer does): a staged importer's
		 * first map moves the buffer itself, which invalidates nothing.
		 */
		u[0] = 0;
		p2p_transfer(nic, hu, 0, mr[i], 0, 8);
		igt_assert_eq_u64(u[0], stamp(i, 0, 0));
	}

	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int k = 0; k < n; k++) {
			unsigned int i = (k * 7 + r * 13) % n;
			uint64_t off = ((uint64_t)(k * 37 + r) % (bo_size / 512)) * 512;
			int ret = __p2p_migrate(gpu, h[i], P2PGPU_PLACEMENT_VRAM);

			/* a buffer the core pinned at map (no move_notify) stays */
			if (ret == -EBUSY && !(dq.caps & P2PGPU_CAP_MOVE_NOTIFY))
				busy++;
			else
				igt_assert_f(ret == 0, "migrate %u: %s\n", i,
					     strerror(-ret));
			/* read a stamp through the NIC, write a new one */
			u[0] = 0;
			p2p_transfer(nic, hu, 0, mr[i], off, 8);
			igt_assert_eq_u64(u[0], stamp(i, off, off ? 0 : gen[i]));
			if (!off) {
				u[1] = stamp(i, 0, ++gen[i]);
				p2p_transfer(nic, mr[i], 0, hu, 8, 8);
			}
			checked++;
		}
	}

	/* every stamp intact, seen by the CPU */
	for (unsigned int i = 0; i < n; i++) {
		struct drm_p2pgpu_gem_query q = { .handle = h[i] };
		struct p2prdma_query_mr mq;
		uint64_t *p = p2p_gem_mmap(gpu, h[i], bo_size);

		/* after SYNC_START: the NIC's stamps may sit in a bounce buffer */
		p2p_cpu_begin(buf[i], DMA_BUF_SYNC_READ);
		for (uint64_t off = 0; off < bo_size; off += 512)
			igt_assert_f(p[off / 8] == stamp(i, off, off ? 0 : gen[i]),
				     "buffer %u offset %llu: %#llx\n", i,
				     (unsigned long long)off,
				     (unsigned long long)p[off / 8]);
		p2p_cpu_end(buf[i], DMA_BUF_SYNC_READ);
		munmap(p, bo_size);
		igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q), 0);
		moves += q.move_count;
		igt_assert_eq(__p2p_query(nic, mr[i], &mq), 0);
		invalidations += mq.invalidate_count;
	}
	igt_info("%lu NIC reads checked in %.1f s; %llu moves, %llu move_notify, %lu busy (pinned by the core)\n",
		 checked, p2p_now() - start, (unsigned long long)moves,
		 (unsigned long long)invalidations, busy);
	if (dq.caps & P2PGPU_CAP_MOVE_NOTIFY) {
		/*
		 * VRAM holds a quarter: buffers moved, and every buffer was
		 * moved at least once while mapped (exactly once when the
		 * importer is staged: its re-map brings it straight back).
		 */
		igt_assert_lt(n, (int)moves);
		igt_assert_f(invalidations >= n,
			     "%llu move_notify for %u mapped buffers\n",
			     (unsigned long long)invalidations, n);
	}

	for (unsigned int i = 0; i < n; i++) {
		igt_assert_eq(__p2p_dereg(nic, mr[i]), 0);
		close(buf[i]);
		igt_assert_eq(__p2p_gem_close(gpu, h[i]), 0);
	}
	close(nic);
	munmap(u, pg);
	free(h);
	free(mr);
	free(gen);
	free(buf);
	p2p_assert_idle(0);
}

static void subtest_pin_cap(void)
{
	const size_t bo_size = 4 << 20;
	unsigned int n = (unsigned int)(dq.vram_pin_limit / bo_size) + 1, got = 0;
	uint32_t *h = calloc(n, sizeof(*h)), *mr = calloc(n, sizeof(*mr));
	int *buf = calloc(n, sizeof(*buf)), nic = p2p_nic_open(), ret;
	struct drm_p2pgpu_device_query d = {};
	struct drm_p2pgpu_gem_query q;
	bool in_vram;

	igt_assert(nic >= 0 && h && mr && buf);
	for (unsigned int i = 0; i < n; i++) {
		h[i] = p2p_create(gpu, bo_size, P2PGPU_PLACEMENT_VRAM);
		buf[i] = p2p_export(gpu, h[i]);
	}
	mr[0] = p2p_reg_dmabuf(nic, buf[0], 0, bo_size, P2PRDMA_REG_PINNED);
	got = 1;
	memset(&q, 0, sizeof(q));
	q.handle = h[0];
	igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q), 0);
	igt_assert(q.flags & P2PGPU_BO_PINNED);
	in_vram = q.placement == P2PGPU_RESIDENT_VRAM;

	if (in_vram) {
		/* up to the cap, then -ENOSPC */
		for (; got < n - 1; got++)
			mr[got] = p2p_reg_dmabuf(nic, buf[got], 0, bo_size,
						 P2PRDMA_REG_PINNED);
		igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_eq_u64(d.vram_pinned, (uint64_t)got * bo_size);
		ret = __p2p_reg_dmabuf(nic, buf[got], 0, bo_size,
				       P2PRDMA_REG_PINNED, &mr[got]);
		igt_assert_f(ret == -ENOSPC, "pin past the cap: %d (%s)\n", ret,
			     strerror(-ret));
		/* a dynamic registration of the same buffer still works */
		{
			uint32_t m = p2p_reg_dmabuf(nic, buf[got], 0, bo_size, 0);
			uint8_t *u = p2p_anon(pg);
			uint32_t hu = p2p_reg_user(nic, u, pg);

			memset(u, 0xa5, 64);
			p2p_transfer(nic, m, 0, hu, 0, 64);
			igt_assert_eq(__p2p_dereg(nic, m), 0);
			igt_assert_eq(__p2p_dereg(nic, hu), 0);
			munmap(u, pg);
		}
		/* one released, the next pins */
		igt_assert_eq(__p2p_dereg(nic, mr[0]), 0);
		mr[0] = p2p_reg_dmabuf(nic, buf[got], 0, bo_size,
				       P2PRDMA_REG_PINNED);
		igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &d), 0);
		igt_assert_lte_u64(d.vram_pinned, d.vram_pin_limit);
		igt_info("%u pinned of %llu MiB, the next answered -ENOSPC\n",
			 got, (unsigned long long)dq.vram_pin_limit >> 20);
	}

	close(nic);
	for (unsigned int i = 0; i < n; i++) {
		close(buf[i]);
		igt_assert_eq(__p2p_gem_close(gpu, h[i]), 0);
	}
	free(h);
	free(mr);
	free(buf);
	p2p_assert_idle(0);
	igt_require_f(in_vram,
		      "a pinned registration lands in system memory here (the NIC cannot reach VRAM peer-to-peer): no VRAM pin cap to reach\n");
}

igt_main
{
	igt_fixture {
		int nic;

		pg = getpagesize();
		gpu = p2p_gpu_open();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		nic = p2p_nic_open();
		igt_require_f(nic >= 0, "no %s\n", P2P_NIC_PATH);
		close(nic);
		igt_require_f(p2p_have_counters(),
			      "no p2pgpu_objects / p2prdma objects in debugfs\n");
		igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq), 0);
	}

	igt_describe("8 threads: shared buffers registered, written, read, evicted, and private cycles");
	igt_subtest("threads")
		subtest_threads();

	igt_describe("4x VRAM in buffers held by dynamic NIC regions: data intact through evictions");
	igt_subtest("oversubscribe")
		subtest_oversubscribe();

	igt_describe("pinned registrations of VRAM stop at the pin cap with -ENOSPC");
	igt_subtest("pin-cap")
		subtest_pin_cap();

	igt_fixture
		close(gpu);
}
