// SPDX-License-Identifier: MIT
/*
 * libp2pbuf against the LD_PRELOAD device mock (tests/mock_devices.c), run
 * by `make test` with MOCK_GPUS=3 MOCK_NICS=2: the parts of the API that
 * need a device. GPU order by PCI address (the mock lists them backwards),
 * open by PCI address and by an existing DRM fd, the size contract of the
 * _ex queries, PRIME import of a received dma-buf, the caller's iova
 * reaching the NIC, and the DRM interface version check.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "p2pbuf.h"

static void test_order_and_pci(void)
{
	struct p2pbuf_gpu_desc d[4];
	struct p2pbuf_gpu *g = NULL;
	struct p2pbuf_nic *n = NULL;
	int i, cnt;

	memset(d, 0xff, sizeof(d));
	cnt = p2pbuf_gpu_list(d, 4);
	CHECK(cnt == 3);
	for (i = 1; i < cnt && i < 4; i++)
		CHECK(strcmp(d[i - 1].pci, d[i].pci) < 0);
	CHECK(!strcmp(d[0].pci, "0000:02:00.0"));
	CHECK(d[0].drv_major == P2PBUF_DRM_MAJOR);
	for (i = 0; i < 6; i++)
		CHECK(d[0].reserved[i] == 0);

	CHECK(p2pbuf_gpu_open(1, &g) == 0 && g && !strcmp(g->pci, "0000:12:00.0"));
	p2pbuf_gpu_close(g);
	CHECK(p2pbuf_gpu_open_pci("0000:22:00.0", &g) == 0 && g &&
	      !strcmp(g->pci, "0000:22:00.0"));
	p2pbuf_gpu_close(g);
	CHECK(p2pbuf_gpu_open_pci("12:00.0", &g) == 0 && g &&
	      !strcmp(g->pci, "0000:12:00.0"));
	p2pbuf_gpu_close(g);
	g = (void *)1;
	CHECK(p2pbuf_gpu_open_pci("0000:99:00.0", &g) == -ENODEV && !g);
	CHECK(p2pbuf_gpu_open_pci("gpu0", &g) == -EINVAL);
	CHECK(p2pbuf_nic_open_pci("0000:13:00.0", &n) == 0 && n &&
	      !strcmp(n->node, "/dev/p2prdma1"));
	p2pbuf_nic_close(n);
}

static void test_open_fd(void)
{
	struct p2pbuf_gpu *g = NULL;
	struct p2pbuf_gpu_desc d[3];
	int fd;

	CHECK(p2pbuf_gpu_list(d, 3) == 3);
	fd = open(d[2].node, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(p2pbuf_gpu_open_fd(fd, &g) == 0 && g);
	if (g) {
		CHECK(g->fd != fd);
		CHECK(!strcmp(g->pci, d[2].pci));
		CHECK(!strcmp(g->node, d[2].node));
		p2pbuf_gpu_close(g);
	}
	/* the caller's fd is still its own and open */
	CHECK(fcntl(fd, F_GETFD) >= 0);
	close(fd);
	fd = open("/dev/null", O_RDWR);
	CHECK(p2pbuf_gpu_open_fd(fd, &g) == -ENODEV);
	close(fd);
}

static void test_sizes(void)
{
	struct big {
		struct p2pbuf_gpu_info info;
		unsigned char future[32];
	} big;
	struct p2pbuf_gpu_info info;
	struct p2pbuf_nic_info ni;
	struct p2pbuf_gpu *g = NULL;
	struct p2pbuf_nic *n = NULL;
	struct p2pbuf_probe pr;
	size_t i;

	CHECK(p2pbuf_gpu_open(0, &g) == 0);
	CHECK(p2pbuf_nic_open(0, &n) == 0);
	if (!g || !n)
		return;
	/* a caller built against a newer, bigger struct: the tail is zeroed
	 * and size says how much this library filled */
	memset(&big, 0xa5, sizeof(big));
	CHECK(p2pbuf_gpu_info_ex(g, &big.info, sizeof(big)) == 0);
	CHECK(big.info.size == sizeof(struct p2pbuf_gpu_info));
	for (i = 0; i < sizeof(big.future); i++)
		CHECK(big.future[i] == 0);
	CHECK(big.info.vram_size == 64 << 20 && big.info.drv_major == 1);
	/* smaller than the first version: refused, nothing written */
	memset(&info, 0xa5, sizeof(info));
	CHECK(p2pbuf_gpu_info_ex(g, &info, 16) == -EINVAL);
	CHECK(info.size == 0xa5a5a5a5u);
	CHECK(p2pbuf_gpu_info(g, &info) == 0 && info.size == sizeof(info));
	CHECK(p2pbuf_nic_info_ex(n, &ni, sizeof(ni)) == 0 && ni.size == sizeof(ni) &&
	      !strcmp(ni.pci, "0000:03:00.0"));
	CHECK(p2pbuf_probe_pair_ex(g, n, &pr, sizeof(pr)) == 0 && pr.size == sizeof(pr) &&
	      pr.verified);
	CHECK(p2pbuf_probe_pair_ex(g, n, &pr, 8) == -EINVAL);
	p2pbuf_nic_close(n);
	p2pbuf_gpu_close(g);
}

static void test_import_iova(void)
{
	uint64_t *last = dlsym(RTLD_DEFAULT, "mock_last_iova");
	struct p2pbuf_bo *bo = NULL, *imp = NULL;
	struct p2pbuf_gpu *g = NULL;
	struct p2pbuf_nic *n = NULL;
	uint32_t mr = 0;
	void *a, *b;
	int fd = -1;

	CHECK(last);
	CHECK(p2pbuf_gpu_open(0, &g) == 0);
	CHECK(p2pbuf_nic_open(0, &n) == 0);
	if (!g || !n || !last)
		return;
	CHECK(p2pbuf_bo_create(g, 3 * 4096, P2PGPU_PLACEMENT_VRAM, &bo) == 0);
	CHECK(bo && p2pbuf_bo_export(bo, &fd) == 0 && fd >= 0);
	if (fd < 0)
		return;
	CHECK(p2pbuf_bo_import(g, fd, &imp) == 0 && imp);
	if (imp) {
		CHECK(imp->handle == bo->handle && imp->size == bo->size);
		CHECK(p2pbuf_bo_mmap(bo, &a) == 0 && p2pbuf_bo_mmap(imp, &b) == 0);
		memcpy(a, "imported", 8);
		CHECK(!memcmp(b, "imported", 8));
		p2pbuf_bo_munmap(imp);
		free(imp);	/* same GEM handle as bo: closed once, below */
	}
	CHECK(p2pbuf_nic_reg_dmabuf(n, fd, 4096, 4096, P2PRDMA_ACCESS_ALL, 0, &mr) == 0);
	CHECK(*last == 4096);
	p2pbuf_nic_dereg(n, mr);
	CHECK(p2pbuf_nic_reg_dmabuf_iova(n, fd, 4096, 4096, 0x7f0000001000ull,
					 P2PRDMA_ACCESS_ALL, 0, &mr) == 0);
	CHECK(*last == 0x7f0000001000ull);
	p2pbuf_nic_dereg(n, mr);
	close(fd);
	p2pbuf_bo_destroy(bo);
	p2pbuf_nic_close(n);
	p2pbuf_gpu_close(g);
}

static void test_drm_version(void)
{
	struct p2pbuf_gpu *g = (void *)1;

	setenv("MOCK_DRM_MAJOR", "2", 1);
	CHECK(p2pbuf_gpu_open(0, &g) == -EPROTO && !g);
	CHECK(strstr(p2pbuf_strerror(-EPROTO), "interface version"));
	setenv("MOCK_DRM_MAJOR", "1", 1);
	CHECK(p2pbuf_gpu_open(0, &g) == 0 && g);
	p2pbuf_gpu_close(g);
}

int main(void)
{
	if (!dlsym(RTLD_DEFAULT, "mock_last_iova")) {
		fprintf(stderr, "run under LD_PRELOAD=mock_devices.so with MOCK_GPUS=3 MOCK_NICS=2\n");
		return 2;
	}
	test_order_and_pci();
	test_open_fd();
	test_sizes();
	test_import_iova();
	test_drm_version();
	printf("libp2pbuf mock test: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
