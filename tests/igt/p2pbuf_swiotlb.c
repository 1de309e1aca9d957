// SPDX-License-Identifier: GPL-2.0
/*
 * Staged buffers under swiotlb=force, as in confidential VMs (and for
 * devices with a narrow DMA mask): every streaming DMA mapping bounces,
 * so the NIC reads and writes a bounce buffer, not the buffer's pages.
 * Only p2pgpu's begin/end_cpu_access (DMA_BUF_IOCTL_SYNC) move the bytes
 * between the two, as the system dma-heap does for its mapped attachments.
 *
 * The kernel's own evidence is checked, not taken on trust: the command
 * line, swiotlb's debugfs counters (io_tlb_used grows by the staged
 * mapping while it lives and comes back when it goes), and the pages
 * themselves, which must not hold the NIC's bytes before the sync (else
 * nothing bounced) and must hold them after it.
 *
 * Runs where the manifest sets P2PBUF_SWIOTLB=force: there a guest booted
 * without the option fails instead of passing unbounced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pbuf_common.h"
#include "p2pbuf_sync.h"

#define SWIOTLB_DIR	"/sys/kernel/debug/swiotlb"
#define IO_TLB_SIZE	2048	/* bytes per slot (IO_TLB_SHIFT 11) */
#define NPAGES		16
#define POISON		0xa5

static int gpu = -1, nic = -1;
static size_t pg;

static long swiotlb_read(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), SWIOTLB_DIR "/%s", name);
	f = fopen(path, "r");
	igt_assert_f(f, "%s: %s (no swiotlb debugfs: not bouncing?)\n", path,
		     strerror(errno));
	igt_assert_f(fscanf(f, "%ld", &v) == 1, "%s: not a number\n", path);
	fclose(f);
	return v;
}

static void require_forced(void)
{
	const char *want = getenv("P2PBUF_SWIOTLB");

	igt_require_f(want && !strcmp(want, "force"),
		      "this topology does not boot with swiotlb=force (P2PBUF_SWIOTLB unset in the manifest)\n");
	igt_assert_f(p2p_swiotlb_forced(),
		     "the manifest says swiotlb=force, /proc/cmdline lacks it: the VM lost the option\n");
}

/*
 * A staged buffer: the NIC's writes sit in swiotlb until SYNC_START, the
 * CPU's until SYNC_END.
 */
static void subtest_bounce(void)
{
	const size_t size = NPAGES * pg;
	const long slots = size / IO_TLB_SIZE;
	long nslabs, used0, used1, used2;
	uint8_t *u, *cpu, *pat;
	uint32_t bo, hb, hu;
	size_t first_new = size;
	int buf;

	require_forced();
	nslabs = swiotlb_read("io_tlb_nslabs");
	used0 = swiotlb_read("io_tlb_used");
	igt_info("swiotlb: %ld slots (%ld MiB), %ld in use before\n", nslabs,
		 nslabs * IO_TLB_SIZE >> 20, used0);
	igt_assert_f(nslabs > 0, "swiotlb has no slots\n");

	pat = malloc(size);
	igt_assert(pat);
	p2p_fill(pat, size, 12);
	bo = p2p_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
	cpu = p2p_gem_mmap(gpu, bo, size);
	memset(cpu, POISON, size);
	buf = p2p_export(gpu, bo);
	u = p2p_anon(size);
	memcpy(u, pat, size);
	hu = p2p_reg_user(nic, u, size);
	hb = p2p_reg_dmabuf(nic, buf, 0, size, 0);

	/* the NIC writes the staged buffer: its mapping is a bounce buffer */
	p2p_transfer(nic, hb, 0, hu, 0, size);
	used1 = swiotlb_read("io_tlb_used");
	igt_info("swiotlb: %ld slots in use with the staged buffer mapped (+%ld; the buffer is %ld slots)\n",
		 used1, used1 - used0, slots);
	igt_assert_f(used1 - used0 >= slots,
		     "io_tlb_used grew by %ld slots while a %zu-byte staged buffer is mapped for the NIC: expected at least %ld (the mapping does not bounce)\n",
		     used1 - used0, size, slots);

	/* unsynced, the pages cannot have the NIC's bytes: they are in swiotlb */
	for (size_t i = 0; i < size; i++)
		if (cpu[i] != POISON) {
			first_new = i;
			break;
		}
	igt_assert_f(first_new == size,
		     "byte %zu of the pages changed (0x%02x) before any sync: the NIC's DMA did not go through a bounce buffer\n",
		     first_new, cpu[first_new]);

	/* SYNC_START: begin_cpu_access syncs the staged mapping for the CPU */
	p2p_cpu_begin(buf, DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < size; i++)
		igt_assert_f(cpu[i] == pat[i],
			     "after DMA_BUF_SYNC_START, byte %zu reads 0x%02x, expected 0x%02x (what the NIC wrote): begin_cpu_access did not sync the bounce buffer to the pages\n",
			     i, cpu[i], pat[i]);
	p2p_cpu_end(buf, DMA_BUF_SYNC_READ);

	/* SYNC_END: end_cpu_access syncs the CPU's writes for the NIC */
	p2p_fill(pat, size, 77);
	p2p_cpu_begin(buf, DMA_BUF_SYNC_WRITE);
	memcpy(cpu, pat, size);
	p2p_cpu_end(buf, DMA_BUF_SYNC_WRITE);
	memset(u, 0, size);
	p2p_transfer(nic, hu, 0, hb, 0, size);
	for (size_t i = 0; i < size; i++)
		igt_assert_f(u[i] == pat[i],
			     "the NIC read 0x%02x at byte %zu after DMA_BUF_SYNC_END, the CPU wrote 0x%02x: end_cpu_access did not sync the pages to the bounce buffer\n",
			     u[i], i, pat[i]);

	igt_assert_eq(__p2p_dereg(nic, hb), 0);
	igt_assert_eq(__p2p_dereg(nic, hu), 0);
	used2 = swiotlb_read("io_tlb_used");
	igt_info("swiotlb: %ld slots in use after deregistering\n", used2);
	igt_assert_f(used2 - used0 < slots,
		     "io_tlb_used is %ld after deregistering, %ld before: the staged mapping's bounce buffer was not given back\n",
		     used2, used0);

	close(buf);
	munmap(cpu, size);
	munmap(u, size);
	igt_assert_eq(__p2p_gem_close(gpu, bo), 0);
	free(pat);
}

static int export_range(uint32_t bo, uint64_t off, uint64_t len)
{
	struct drm_p2pgpu_gem_export_range r = {
		.handle = bo, .flags = DRM_CLOEXEC | DRM_RDWR,
		.offset = off, .length = len,
	};

	igt_assert_eq(__p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_EXPORT_RANGE, &r), 0);
	return r.fd;
}

/*
 * One NIC maps the whole buffer and a range of it (two dma-bufs, two
 * registrations): the pages of the range are mapped twice. The NIC writes
 * through the whole buffer's mapping; SYNC_START must show those bytes,
 * not the range mapping's older copy of the same pages.
 */
static void subtest_whole_and_range(void)
{
	const size_t size = NPAGES * pg, roff = 4 * pg, rlen = 8 * pg;
	uint8_t *u, *cpu, *pat;
	uint32_t bo, hw, hr, hu;
	int whole, range;

	require_forced();
	pat = malloc(size);
	igt_assert(pat);
	bo = p2p_create(gpu, size, P2PGPU_PLACEMENT_VRAM);
	cpu = p2p_gem_mmap(gpu, bo, size);
	memset(cpu, POISON, size);
	whole = p2p_export(gpu, bo);
	range = export_range(bo, roff, rlen);
	u = p2p_anon(size);
	hu = p2p_reg_user(nic, u, size);

	/* the whole buffer mapped first, then the range */
	hw = p2p_reg_dmabuf(nic, whole, 0, size, 0);
	p2p_transfer(nic, hu, 0, hw, 0, 64);
	hr = p2p_reg_dmabuf(nic, range, 0, rlen, 0);
	p2p_transfer(nic, hu, 0, hr, 0, 64);

	/* the NIC writes through the whole buffer's mapping, then the range's */
	p2p_fill(pat, size, 5);
	memcpy(u, pat, size);
	p2p_transfer(nic, hw, 0, hu, 0, size);
	p2p_cpu_begin(whole, DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < size; i++)
		igt_assert_f(cpu[i] == pat[i],
			     "NIC write through the whole buffer's mapping: byte %zu reads 0x%02x after SYNC_START, expected 0x%02x (%s)\n",
			     i, cpu[i], pat[i],
			     i >= roff && i < roff + rlen ?
			     "inside the range also mapped by its own dma-buf: its older bounce buffer was synced over the NIC's bytes" :
			     "outside the range");
	p2p_cpu_end(whole, DMA_BUF_SYNC_READ);

	p2p_fill(pat, rlen, 9);
	memcpy(u, pat, rlen);
	p2p_transfer(nic, hr, 0, hu, 0, rlen);
	p2p_cpu_begin(range, DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < rlen; i++)
		igt_assert_f(cpu[roff + i] == pat[i],
			     "NIC write through the range's mapping: byte %zu of the range reads 0x%02x after SYNC_START, expected 0x%02x\n",
			     i, cpu[roff + i], pat[i]);
	p2p_cpu_end(range, DMA_BUF_SYNC_READ);

	igt_assert_eq(__p2p_dereg(nic, hr), 0);
	igt_assert_eq(__p2p_dereg(nic, hw), 0);
	igt_assert_eq(__p2p_dereg(nic, hu), 0);
	close(range);
	close(whole);
	munmap(cpu, size);
	munmap(u, size);
	igt_assert_eq(__p2p_gem_close(gpu, bo), 0);
	free(pat);
}

igt_main
{
	igt_fixture {
		pg = getpagesize();
		p2p_require_gpu_nic(&gpu, &nic);
	}

	igt_describe("booted with swiotlb=force, a staged buffer's NIC mapping bounces (swiotlb's debugfs counters, the pages before the sync), DMA_BUF_IOCTL_SYNC brings the NIC's bytes to the CPU and the CPU's to the NIC, and the bounce buffer is given back");
	igt_subtest("staged-bounce")
		subtest_bounce();

	igt_describe("one NIC maps a staged buffer whole and a range of it: after SYNC_START the CPU reads what the NIC wrote through either mapping");
	igt_subtest("whole-and-range")
		subtest_whole_and_range();

	igt_fixture {
		close(nic);
		close(gpu);
	}
}
