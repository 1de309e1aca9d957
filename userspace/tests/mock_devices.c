// SPDX-License-Identifier: MIT
/*
 * LD_PRELOAD mock of one p2pgpu GPU (0000:02:00.0) and one p2prdma NIC
 * (0000:03:00.0), to exercise p2pctl's flows on a host without the drivers.
 * Buffers are memfds; the NIC "DMA" is a pwrite. MOCK_TOPOLOGY=switch
 * (peer-to-peer) or rootports (staged, no-common-switch) or stock
 * (staged, kernel-no-p2pdma); MOCK_CORRUPT=1 corrupts one byte per transfer.
 * Only for `make test`: not installed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "p2pgpu_drm.h"
#include "p2prdma.h"

#define GPU_NODE "/dev/dri/renderD199"
#define NIC_NODE "/dev/p2prdma0"
enum { NONE, GPU, NIC };
static int kind[4096];
struct bo { int memfd; uint64_t size; int exported; };
static struct bo bos[256];
struct mr { int used, fd; uint64_t addr, len; int dmabuf; };
static struct mr mrs[256];

static int staged(void)
{
	const char *t = getenv("MOCK_TOPOLOGY");

	return t && strcmp(t, "switch");
}

static uint32_t reason(void)
{
	const char *t = getenv("MOCK_TOPOLOGY");

	if (!staged())
		return P2PGPU_REASON_NONE;
	return !strcmp(t, "stock") ? P2PGPU_REASON_KERNEL_NO_P2PDMA :
	       P2PGPU_REASON_NO_COMMON_SWITCH;
}

static int fake_open(const char *path)
{
	int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
	int fd;

	if (strcmp(path, GPU_NODE) && strcmp(path, NIC_NODE))
		return -2;
	fd = real("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && fd < 4096)
		kind[fd] = strcmp(path, GPU_NODE) ? NIC : GPU;
	return fd;
}

int open(const char *path, int flags, ...)
{
	int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
	mode_t mode = 0;
	va_list ap;
	int fd = fake_open(path);

	if (fd != -2)
		return fd;
	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return real(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int close(int fd)
{
	int (*real)(int) = dlsym(RTLD_NEXT, "close");

	if (fd >= 0 && fd < 4096)
		kind[fd] = NONE;
	return real(fd);
}

static DIR *devdir;
static int injected;

DIR *opendir(const char *name)
{
	DIR *(*real)(const char *) = dlsym(RTLD_NEXT, "opendir");
	DIR *d = real(name);

	if (d && !strcmp(name, "/dev")) {
		devdir = d;
		injected = 0;
	}
	return d;
}

struct dirent *readdir(DIR *d)
{
	struct dirent *(*real)(DIR *) = dlsym(RTLD_NEXT, "readdir");
	static struct dirent fake;
	struct dirent *e = real(d);

	if (!e && d == devdir && !injected) {
		injected = 1;
		memset(&fake, 0, sizeof(fake));
		strcpy(fake.d_name, "p2prdma0");
		fake.d_type = DT_CHR;
		return &fake;
	}
	return e;
}

struct dirent64 *readdir64(DIR *d) __attribute__((alias("readdir")));

int drmGetDevices2(uint32_t flags, drmDevicePtr devs[], int max)
{
	drmDevicePtr d;

	if (!devs || max < 1)
		return 1;
	d = calloc(1, sizeof(*d) + sizeof(char *) * DRM_NODE_MAX +
		   sizeof(drmPciBusInfo) + 64);
	d->nodes = (char **)(d + 1);
	d->available_nodes = 1 << DRM_NODE_RENDER;
	d->nodes[DRM_NODE_RENDER] = (char *)(d->nodes + DRM_NODE_MAX) +
				    sizeof(drmPciBusInfo);
	strcpy(d->nodes[DRM_NODE_RENDER], GPU_NODE);
	d->bustype = DRM_BUS_PCI;
	d->businfo.pci = (drmPciBusInfo *)(d->nodes + DRM_NODE_MAX);
	d->businfo.pci->bus = 2;
	devs[0] = d;
	return 1;
}

void drmFreeDevices(drmDevicePtr devs[], int count)
{
	int i;

	for (i = 0; i < count; i++)
		free(devs[i]);
}

static int gpu_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case DRM_IOCTL_VERSION: {
		struct drm_version *v = arg;

		if (v->name && v->name_len >= 6)
			memcpy(v->name, "p2pgpu", 6);
		if (v->date && v->date_len >= 1)
			memcpy(v->date, "0", 1);
		if (v->desc && v->desc_len >= 4)
			memcpy(v->desc, "mock", 4);
		v->name_len = 6;
		v->date_len = 1;
		v->desc_len = 4;
		return 0;
	}
	case DRM_IOCTL_P2PGPU_DEVICE_QUERY: {
		struct drm_p2pgpu_device_query *q = arg;

		memset(q, 0, sizeof(*q));
		q->vram_size = 64 << 20;
		q->vram_pin_limit = 32 << 20;
		q->bar_bus_addr = 0xfe000000;
		q->caps = staged() && reason() == P2PGPU_REASON_KERNEL_NO_P2PDMA ?
			  P2PGPU_CAP_P2P_ENABLED : 7;
		q->pci_bus = 2;
		return 0;
	}
	case DRM_IOCTL_P2PGPU_GEM_CREATE: {
		struct drm_p2pgpu_gem_create *c = arg;
		uint32_t h;

		for (h = 1; h < 256 && bos[h].size; h++)
			;
		if (h == 256)
			return -ENOSPC;
		c->size = (c->size + 4095) & ~4095ull;
		bos[h].memfd = memfd_create("bo", MFD_CLOEXEC);
		if (ftruncate(bos[h].memfd, c->size))
			return -ENOMEM;
		bos[h].size = c->size;
		c->handle = h;
		return 0;
	}
	case DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET: {
		struct drm_p2pgpu_gem_mmap_offset *m = arg;

		m->offset = (uint64_t)m->handle << 32;
		return 0;
	}
	case DRM_IOCTL_P2PGPU_GEM_QUERY: {
		struct drm_p2pgpu_gem_query *q = arg;
		struct drm_p2pgpu_attachment_info a;
		struct bo *b = &bos[q->handle & 255];

		if (!b->size)
			return -ENOENT;
		q->size = b->size;
		q->placement = staged() ? P2PGPU_RESIDENT_SYSTEM : P2PGPU_RESIDENT_VRAM;
		q->flags = b->exported ? P2PGPU_BO_EXPORTED : 0;
		if (b->exported && q->num_attachments) {
			memset(&a, 0, sizeof(a));
			strcpy(a.importer, "0000:03:00.0");
			strcpy(a.importer_driver, "p2prdma");
			a.decision = staged() ? P2PGPU_MAPPING_STAGED : P2PGPU_MAPPING_P2P;
			a.mapping = a.decision;
			a.reason = reason();
			a.distance = staged() ? -1 : 4;
			a.flags = P2PGPU_ATTACH_DYNAMIC | P2PGPU_ATTACH_PEER2PEER |
				  (staged() ? 0 : P2PGPU_ATTACH_BUS_ADDR);
			a.map_count = 1;
			memcpy((void *)(uintptr_t)q->attachments, &a, sizeof(a));
		}
		q->num_attachments = b->exported ? 1 : 0;
		return 0;
	}
	case DRM_IOCTL_PRIME_HANDLE_TO_FD: {
		struct drm_prime_handle *p = arg;
		struct bo *b = &bos[p->handle & 255];

		if (!b->size)
			return -ENOENT;
		b->exported = 1;
		p->fd = fcntl(b->memfd, F_DUPFD_CLOEXEC, 0);
		return 0;
	}
	case DRM_IOCTL_GEM_CLOSE: {
		struct drm_gem_close *c = arg;
		struct bo *b = &bos[c->handle & 255];

		if (!b->size)
			return -ENOENT;
		close(b->memfd);
		memset(b, 0, sizeof(*b));
		return 0;
	}
	}
	return -ENOTTY;
}

static int nic_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case P2PRDMA_IOCTL_DEVICE_INFO: {
		struct p2prdma_device_info *d = arg;

		memset(d, 0, sizeof(*d));
		d->pci_bus = 3;
		d->dma_mask_bits = 64;
		return 0;
	}
	case P2PRDMA_IOCTL_REG_DMABUF_MR: {
		struct p2prdma_reg_dmabuf_mr *r = arg;
		uint32_t h;

		for (h = 1; h < 256 && mrs[h].used; h++)
			;
		mrs[h].used = 1;
		mrs[h].dmabuf = 1;
		mrs[h].fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
		if (mrs[h].fd < 0)
			return -EBADF;
		mrs[h].len = r->length;
		r->handle = h;
		return 0;
	}
	case P2PRDMA_IOCTL_REG_USER_MR: {
		struct p2prdma_reg_user_mr *r = arg;
		uint32_t h;

		for (h = 1; h < 256 && mrs[h].used; h++)
			;
		mrs[h].used = 1;
		mrs[h].addr = r->addr;
		mrs[h].len = r->length;
		r->handle = h;
		return 0;
	}
	case P2PRDMA_IOCTL_DEREG_MR: {
		struct p2prdma_dereg_mr *d = arg;
		struct mr *m = &mrs[d->handle & 255];

		if (!m->used)
			return -ENOENT;
		if (m->dmabuf)
			close(m->fd);
		memset(m, 0, sizeof(*m));
		return 0;
	}
	case P2PRDMA_IOCTL_QUERY_MR: {
		struct p2prdma_query_mr *q = arg;
		struct mr *m = &mrs[q->handle & 255];

		if (!m->used)
			return -ENOENT;
		q->length = m->len;
		q->backing = !m->dmabuf || staged() ? P2PRDMA_BACKING_SYSTEM :
			     P2PRDMA_BACKING_PEER;
		q->flags = m->dmabuf ? P2PRDMA_MR_DMABUF : 0;
		return 0;
	}
	case P2PRDMA_IOCTL_TRANSFER: {
		struct p2prdma_transfer *t = arg;
		struct mr *d = &mrs[t->dst_handle & 255], *s = &mrs[t->src_handle & 255];
		char *buf;

		if (!d->used || !s->used || !d->dmabuf || s->dmabuf)
			return -EINVAL;
		buf = (char *)(uintptr_t)(s->addr + t->src_offset);
		if (getenv("MOCK_CORRUPT"))
			buf[t->length / 2] ^= 1;
		if (pwrite(d->fd, buf, t->length, t->dst_offset) != (ssize_t)t->length)
			return -EIO;
		t->bytes_via_system = staged() ? t->length : 0;
		return 0;
	}
	}
	return -ENOTTY;
}

int ioctl(int fd, unsigned long req, ...)
{
	int (*real)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
	void *arg;
	va_list ap;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd >= 4096 || kind[fd] == NONE)
		return real(fd, req, arg);
	ret = kind[fd] == GPU ? gpu_ioctl(req, arg) : nic_ioctl(req, arg);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *(*real)(void *, size_t, int, int, int, off_t) = dlsym(RTLD_NEXT, "mmap");

	if (fd >= 0 && fd < 4096 && kind[fd] == GPU) {
		struct bo *b = &bos[((uint64_t)off >> 32) & 255];

		if (!b->size)
			return MAP_FAILED;
		return real(addr, len, prot, flags, b->memfd, 0);
	}
	return real(addr, len, prot, flags, fd, off);
}

void *mmap64(void *, size_t, int, int, int, off_t) __attribute__((alias("mmap")));
