// SPDX-License-Identifier: GPL-2.0
/*
 * The drivers' tracepoints (<tracefs>/events/p2pgpu, .../p2prdma), read
 * back from the trace buffer after an attach, a transfer, a migration and
 * a second transfer, and held against what really happened: the importer
 * is the edu function's PCI name from sysfs, the decision is the data path
 * the hardware showed (p2pbuf_landing.h: the edu DMA registers and the
 * BAR's bytes), the mapped DMA address is the one the edu engine was
 * programmed with, and the moves, invalidations and re-maps come in the
 * order the test caused them.
 *
 * Environment: P2PBUF_EXPECT (p2p-bus, p2p-host, p2p-iova, staged).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "p2pbuf_common.h"
#include "p2pbuf_landing.h"
#include "p2prdma.h"

#define TRACEFS		"/sys/kernel/tracing"
#define MAX_LINES	4096

static int gpu = -1, nic = -1, pg;
static bool move_notify;	/* else the dma-buf core pins at map */
static struct landing land;
static char *lines[MAX_LINES];
static int nlines;

static void tracefs_write(const char *file, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	igt_assert_f(fd >= 0, "open %s: %s\n", path, strerror(errno));
	igt_assert_f(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		     "write '%s' to %s: %s\n", val, path, strerror(errno));
	close(fd);
}

/* tracefs where the kernel has it; the test guests do not mount it */
static void tracefs_require(void)
{
	struct stat st;

	if (stat(TRACEFS "/events", &st) && mount("nodev", TRACEFS, "tracefs", 0, NULL))
		igt_require_f(errno != ENODEV,
			      "the kernel has no tracefs (CONFIG_TRACING off)\n");
	igt_assert_f(stat(TRACEFS "/events", &st) == 0,
		     "cannot mount tracefs on " TRACEFS ": %s\n", strerror(errno));
}

/* an empty buffer, then every event of both drivers on */
static void trace_start(void)
{
	tracefs_write("tracing_on", "0");
	tracefs_write("trace", "");
	tracefs_write("events/p2pgpu/enable", "1");
	tracefs_write("events/p2prdma/enable", "1");
	tracefs_write("tracing_on", "1");
}

/* stop, and keep the lines of our events */
static void trace_stop(void)
{
	char buf[1024];
	FILE *f;

	tracefs_write("tracing_on", "0");
	tracefs_write("events/p2pgpu/enable", "0");
	tracefs_write("events/p2prdma/enable", "0");
	for (int i = 0; i < nlines; i++)
		free(lines[i]);
	nlines = 0;
	f = fopen(TRACEFS "/trace", "r");
	igt_assert_f(f, "open " TRACEFS "/trace: %s\n", strerror(errno));
	while (fgets(buf, sizeof(buf), f) && nlines < MAX_LINES) {
		if (buf[0] == '#' || (!strstr(buf, " p2pgpu_") && !strstr(buf, " p2prdma_")))
			continue;
		buf[strcspn(buf, "\n")] = 0;
		lines[nlines++] = strdup(buf);
		igt_debug("trace: %s\n", buf);
	}
	fclose(f);
	igt_info("%d p2pgpu/p2prdma trace line(s)\n", nlines);
}

/* "key=value" of a trace line into @out; false when absent */
static bool field(const char *line, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			size_t l = strcspn(p + kl + 1, " ");

			snprintf(out, n, "%.*s", (int)(l < n ? l : n - 1), p + kl + 1);
			return true;
		}
		p += kl;
	}
	return false;
}

static bool field_is(const char *line, const char *key, const char *want)
{
	char v[64];

	return field(line, key, v, sizeof(v)) && !strcmp(v, want);
}

static uint64_t field_u64(const char *line, const char *key)
{
	char v[64];

	igt_assert_f(field(line, key, v, sizeof(v)), "no %s= in: %s\n", key, line);
	return strtoull(v, NULL, 0);
}

/* the next line at or after @from of event @ev whose @key is @val */
static int find(int from, const char *ev, const char *key, const char *val)
{
	char tag[64];

	snprintf(tag, sizeof(tag), " %s: ", ev);
	for (int i = from; i < nlines; i++)
		if (strstr(lines[i], tag) && field_is(lines[i], key, val))
			return i;
	return -1;
}

static int count(const char *ev, const char *key, const char *val)
{
	int n = 0;

	for (int i = find(0, ev, key, val); i >= 0; i = find(i + 1, ev, key, val))
		n++;
	return n;
}

static void dump_lines(void)
{
	for (int i = 0; i < nlines; i++)
		igt_info("  %s\n", lines[i]);
}

static uint64_t mmap_offset(uint32_t bo)
{
	struct drm_p2pgpu_gem_mmap_offset mo = { .handle = bo };

	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo), 0);
	return mo.offset;
}

/* the NIC writes a fresh page into @mr; where it went, by the hardware */
static bool nic_write(uint32_t mr, const char *what, uint64_t *addr)
{
	uint8_t *user = p2p_anon(pg);
	uint32_t um = p2p_reg_user(nic, user, pg);
	bool p2p;

	landing_pattern(user, pg);
	p2p_transfer(nic, mr, 0, um, 0, pg);
	p2p = landing_p2p(&land, what, user, pg, addr);
	igt_assert_eq(__p2p_dereg(nic, um), 0);
	munmap(user, pg);
	return p2p;
}

#define trace_assert(cond, f...) \
	do { \
		if (!(cond)) \
			dump_lines(); \
		igt_assert_f(cond, f); \
	} while (0)

igt_main
{
	igt_fixture {
		pg = getpagesize();
		p2p_require_gpu_nic(&gpu, &nic);
		landing_init(&land);
		tracefs_require();
		{
			struct drm_p2pgpu_device_query dq = {};

			igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq), 0);
			move_notify = dq.caps & P2PGPU_CAP_MOVE_NOTIFY;
		}
	}

	igt_describe("every event of both drivers is listed in tracefs");
	igt_subtest("events") {
		static const char *const ev[] = {
			"p2pgpu/p2pgpu_attach", "p2pgpu/p2pgpu_map",
			"p2pgpu/p2pgpu_move", "p2pgpu/p2pgpu_invalidate",
			"p2pgpu/p2pgpu_revoke", "p2prdma/p2prdma_map",
			"p2prdma/p2prdma_invalidate", "p2prdma/p2prdma_revoke",
			"p2prdma/p2prdma_refuse",
		};
		char path[256];
		struct stat st;

		for (unsigned int i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
			snprintf(path, sizeof(path), TRACEFS "/events/%s/format", ev[i]);
			igt_assert_f(stat(path, &st) == 0, "%s: %s\n", path,
				     strerror(errno));
		}
	}

	igt_describe("attach, transfer, migrate, transfer: the events name the edu function, the decision the hardware showed, the DMA address it was given, the move, the invalidations and the re-map");
	igt_subtest("attach-migrate-transfer") {
		uint64_t off, addr1, addr2;
		char bo_s[32], mr_s[16], a1[32], a2[32];
		int buf, at, m1, mv, inv, rinv, m2, ret;
		uint32_t bo, mr, target;
		bool p2p1, p2p2;

		bo = p2pgpu_create(gpu, pg, P2PGPU_PLACEMENT_VRAM);
		off = mmap_offset(bo);
		buf = p2pgpu_export(gpu, bo);
		trace_start();
		mr = p2p_reg_dmabuf(nic, buf, 0, pg, 0);
		p2p1 = nic_write(mr, "first transfer", &addr1);
		/* away from where it is: p2p buffers leave VRAM, staged ones come back */
		target = p2p1 ? P2PGPU_PLACEMENT_SYSTEM : P2PGPU_PLACEMENT_VRAM;
		ret = __p2pgpu_migrate(gpu, bo, target);
		/* without move_notify the core pinned the buffer at our map */
		igt_assert_f(move_notify ? ret == 0 : ret != 0,
			     "GEM_MIGRATE: %s (the kernel %s move_notify)\n",
			     ret ? strerror(errno) : "moved",
			     move_notify ? "has" : "lacks");
		p2p2 = nic_write(mr, "after the migration", &addr2);
		trace_stop();
		igt_assert_f(p2p1 == obs_expect_p2p(land.expect) && !p2p2,
			     "the hardware showed %s then %s; expected %s then staged\n",
			     p2p1 ? "p2p" : "staged", p2p2 ? "p2p" : "staged",
			     obs_expect_str(land.expect));

		snprintf(bo_s, sizeof(bo_s), "%#" PRIx64, off);
		snprintf(mr_s, sizeof(mr_s), "%u", mr);
		snprintf(a1, sizeof(a1), "%#" PRIx64, addr1);
		snprintf(a2, sizeof(a2), "%#" PRIx64, addr2);

		/* the decision, for the edu function by its sysfs name */
		trace_assert(count("p2pgpu_attach", "bo", bo_s) == 1,
			     "expected one p2pgpu_attach for bo=%s, seen %d\n",
			     bo_s, count("p2pgpu_attach", "bo", bo_s));
		at = find(0, "p2pgpu_attach", "bo", bo_s);
		trace_assert(field_is(lines[at], "importer", land.nic.bdf) &&
			     field_is(lines[at], "driver", "p2prdma") &&
			     field_is(lines[at], "decision", p2p1 ? "p2p" : "staged") &&
			     field_is(lines[at], "reason", "none") == p2p1,
			     "p2pgpu_attach: expected importer=%s driver=p2prdma decision=%s (reason none iff p2p), seen: %s\n",
			     land.nic.bdf, p2p1 ? "p2p" : "staged", lines[at]);

		/* the first map: what the edu engine was given */
		m1 = find(at, "p2pgpu_map", "bo", bo_s);
		trace_assert(m1 > at && field_is(lines[m1], "importer", land.nic.bdf) &&
			     field_is(lines[m1], "mapping", p2p1 ? "p2p" : "staged") &&
			     field_u64(lines[m1], "dma") == addr1,
			     "p2pgpu_map after the attach: expected mapping=%s dma=%s (the edu's DST register), seen: %s\n",
			     p2p1 ? "p2p" : "staged", a1, m1 >= 0 ? lines[m1] : "none");
		m1 = find(0, "p2prdma_map", "mr", mr_s);
		trace_assert(m1 >= 0 && field_is(lines[m1], "dev", land.nic.bdf) &&
			     field_is(lines[m1], "reason", "first-use") &&
			     field_is(lines[m1], "backing", p2p1 ? "peer" : "system") &&
			     field_u64(lines[m1], "dma") == addr1,
			     "p2prdma_map of mr=%s: expected dev=%s reason=first-use backing=%s dma=%s, seen: %s\n",
			     mr_s, land.nic.bdf, p2p1 ? "peer" : "system", a1,
			     m1 >= 0 ? lines[m1] : "none");

		for (int i = m1; i < nlines; i++)
			igt_info("  %s\n", lines[i]);
		if (!move_notify) {
			/* pinned since the map: nothing moved, nothing to tell */
			trace_assert(find(m1, "p2pgpu_move", "bo", bo_s) < 0 &&
				     count("p2prdma_invalidate", "mr", mr_s) == 0 &&
				     find(m1 + 1, "p2prdma_map", "mr", mr_s) < 0 &&
				     addr2 == addr1,
				     "no move_notify: the buffer was pinned at the first map, yet it moved, was invalidated or re-mapped\n");
			goto done;
		}
		/* the migration: a move of this bo, its importers told */
		mv = find(m1, "p2pgpu_move", "bo", bo_s);
		if (!p2p1) {
			/* staging moved it out at the first map; the migration brings it back */
			trace_assert(find(0, "p2pgpu_move", "bo", bo_s) < m1,
				     "staged: expected the staging move of bo=%s before the first map\n",
				     bo_s);
		}
		trace_assert(mv > m1 && field_is(lines[mv], "from", "vram") == p2p1 &&
			     field_is(lines[mv], "to", "vram") == !p2p1,
			     "p2pgpu_move of bo=%s after the first map: expected %s, seen: %s\n",
			     bo_s, p2p1 ? "from=vram to system memory" :
			     "from system memory to=vram", mv >= 0 ? lines[mv] : "none");
		inv = find(m1, "p2pgpu_invalidate", "bo", bo_s);
		rinv = find(m1, "p2prdma_invalidate", "mr", mr_s);
		trace_assert(inv > m1 && rinv > inv &&
			     field_is(lines[rinv], "dev", land.nic.bdf) &&
			     field_is(lines[rinv], "pinned", "0"),
			     "expected p2pgpu_invalidate bo=%s then p2prdma_invalidate dev=%s mr=%s pinned=0 after the first map (lines %d, %d)\n",
			     bo_s, land.nic.bdf, mr_s, inv, rinv);

		/* the re-map, where the buffer is now: system memory */
		m2 = find(rinv, "p2prdma_map", "mr", mr_s);
		trace_assert(m2 > rinv && field_is(lines[m2], "reason", "invalidated") &&
			     field_is(lines[m2], "backing", "system") &&
			     field_u64(lines[m2], "dma") == addr2,
			     "p2prdma re-map of mr=%s: expected reason=invalidated backing=system dma=%s, seen: %s\n",
			     mr_s, a2, m2 >= 0 ? lines[m2] : "none");
		trace_assert(count("p2prdma_revoke", "mr", mr_s) == 0 &&
			     count("p2prdma_refuse", "mr", mr_s) == 0,
			     "a dynamic, non-strict region got a revoke or refusal event\n");
done:
		igt_assert_eq(__p2p_dereg(nic, mr), 0);
		close(buf);
		p2pgpu_gem_close(gpu, bo);
	}

	igt_describe("a strict registration: p2prdma_refuse (the dma-buf's exporter name) and a staged p2pgpu_attach where it is refused, neither where it is granted");
	igt_subtest("strict-refusal") {
		bool p2p = obs_expect_p2p(land.expect);
		char bo_s[32], exp_name[64];
		uint32_t bo, mr = 0;
		int buf, ret, at, rf;

		bo = p2pgpu_create(gpu, pg, P2PGPU_PLACEMENT_VRAM);
		snprintf(bo_s, sizeof(bo_s), "%#" PRIx64, mmap_offset(bo));
		buf = p2pgpu_export(gpu, bo);
		landing_exp_name(buf, exp_name, sizeof(exp_name));
		trace_start();
		ret = __p2p_reg_dmabuf(nic, buf, 0, pg, P2PRDMA_REG_REQUIRE_P2P, &mr);
		trace_stop();
		igt_assert_f(ret == (p2p ? 0 : -EREMOTEIO),
			     "strict registration (%s): %s\n",
			     obs_expect_str(land.expect), strerror(-ret));
		at = find(0, "p2pgpu_attach", "bo", bo_s);
		rf = find(0, "p2prdma_refuse", "dev", land.nic.bdf);
		trace_assert(at >= 0 && field_is(lines[at], "importer", land.nic.bdf) &&
			     field_is(lines[at], "decision", p2p ? "p2p" : "staged"),
			     "p2pgpu_attach for bo=%s: expected importer=%s decision=%s\n",
			     bo_s, land.nic.bdf, p2p ? "p2p" : "staged");
		if (p2p)
			trace_assert(rf < 0, "granted, yet p2prdma_refuse: %s\n", lines[rf]);
		else
			trace_assert(rf > at && field_is(lines[rf], "exporter", exp_name) &&
				     (field_is(lines[rf], "stage", "attach") ||
				      field_is(lines[rf], "stage", "map")),
				     "refused: expected p2prdma_refuse dev=%s exporter=%s stage=attach|map after the attach, seen: %s\n",
				     land.nic.bdf, exp_name, rf >= 0 ? lines[rf] : "none");
		if (!ret)
			igt_assert_eq(__p2p_dereg(nic, mr), 0);
		close(buf);
		p2pgpu_gem_close(gpu, bo);
	}

	igt_fixture {
		for (int i = 0; i < nlines; i++)
			free(lines[i]);
		landing_fini(&land);
		close(nic);
		close(gpu);
	}
}
