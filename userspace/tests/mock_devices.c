// SPDX-License-Identifier: MIT
/*
 * LD_PRELOAD mock of p2pgpu GPUs (the first at 0000:02:00.0) and p2prdma
 * NICs (the first at 0000:03:00.0), to exercise p2pctl's flows on a host
 * without the drivers. Buffers are memfds; the NIC "DMA" is a pwrite.
 *   MOCK_TOPOLOGY=switch (peer-to-peer), rootports (staged,
 *     no-common-switch) or stock (staged, kernel-no-p2pdma)
 *   MOCK_CORRUPT=1     corrupts one byte per transfer
 *   MOCK_GPUS=N, MOCK_NICS=N   how many (default 1 each); GPU i is at bus
 *     0x02 + 0x10 i, NIC j at 0x03 + 0x10 j; libdrm lists the GPUs in
 *     reverse bus order, as probe order can be
 *   MOCK_DRM_MAJOR=N   the DRM interface major the GPUs report (default 1)
 *   MOCK_FAIL=op:ERRNO one ioctl fails: op is create, reg-dmabuf, reg-user
 *     or transfer; ERRNO is ENOSPC, ENOMEM, ETIMEDOUT or EACCES
 * mock_last_iova holds the iova of the last REG_DMABUF_MR.
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
#include <linux/dma-buf.h>

#include "p2pgpu_drm.h"
#include "p2prdma.h"

#include <sys/stat.h>

#define MAXDEV 16
enum { NONE, GPU, NIC };
static int kind[4096], devidx[4096];
struct bo { int memfd; uint64_t size; int exported; int importer; };
static struct bo bos[256];
struct mr { int used, fd; uint64_t addr, len; int dmabuf; };
static struct mr mrs[256];
uint64_t mock_last_iova;

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

static int ngpus(void)
{
	int n = env_int("MOCK_GPUS", 1);

	return n < 0 ? 0 : n > MAXDEV ? MAXDEV : n;
}

static int nnics(void)
{
	int n = env_int("MOCK_NICS", 1);

	return n < 0 ? 0 : n > MAXDEV ? MAXDEV : n;
}

static void gpu_node(int i, char *b, size_t n)
{
	snprintf(b, n, "/dev/dri/renderD%d", 199 - i);
}

static void nic_node(int i, char *b, size_t n)
{
	snprintf(b, n, "/dev/p2prdma%d", i);
}

static int gpu_bus(int i) { return 0x02 + 0x10 * i; }
static int nic_bus(int i) { return 0x03 + 0x10 * i; }

/* -errno if MOCK_FAIL names @op, else 0 */
static int mock_fail(const char *op)
{
	const char *f = getenv("MOCK_FAIL"), *c;
	size_t n = strlen(op);

	if (!f || strncmp(f, op, n) || f[n] != ':')
		return 0;
	c = f + n + 1;
	if (!strcmp(c, "ENOSPC"))
		return -ENOSPC;
	if (!strcmp(c, "ENOMEM"))
		return -ENOMEM;
	if (!strcmp(c, "ETIMEDOUT"))
		return -ETIMEDOUT;
	if (!strcmp(c, "EACCES"))
		return -EACCES;
	return -EIO;
}

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
	int fd, i, k = NONE, idx = 0;
	char b[64];

	for (i = 0; i < ngpus() && k == NONE; i++) {
		gpu_node(i, b, sizeof(b));
		if (!strcmp(path, b)) {
			k = GPU;
			idx = i;
		}
	}
	for (i = 0; i < nnics() && k == NONE; i++) {
		nic_node(i, b, sizeof(b));
		if (!strcmp(path, b)) {
			k = NIC;
			idx = i;
		}
	}
	if (k == NONE)
		return -2;
	fd = real("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && fd < 4096) {
		kind[fd] = k;
		devidx[fd] = idx;
	}
	return fd;
}

/* a duplicate of a device fd is the same device (p2pbuf_gpu_open_fd) */
int fcntl(int fd, int cmd, ...)
{
	int (*real)(int, int, ...) = dlsym(RTLD_NEXT, "fcntl");
	va_list ap;
	long arg;
	int r;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	r = real(fd, cmd, arg);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0 && r < 4096 &&
	    fd >= 0 && fd < 4096) {
		kind[r] = kind[fd];
		devidx[r] = devidx[fd];
	}
	return r;
}

int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

char *drmGetDeviceNameFromFd2(int fd)
{
	char b[64];

	if (fd < 0 || fd >= 4096 || kind[fd] != GPU)
		return NULL;
	gpu_node(devidx[fd], b, sizeof(b));
	return strdup(b);
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
static int injected;	/* NICs listed so far */

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

	if (!e && d == devdir && injected < nnics()) {
		memset(&fake, 0, sizeof(fake));
		snprintf(fake.d_name, sizeof(fake.d_name), "p2prdma%d", injected++);
		fake.d_type = DT_CHR;
		return &fake;
	}
	return e;
}

struct dirent64 *readdir64(DIR *d) __attribute__((alias("readdir")));

int drmGetDevices2(uint32_t flags, drmDevicePtr devs[], int max)
{
	int n = ngpus(), k;

	if (!devs)
		return n;
	for (k = 0; k < n && k < max; k++) {
		int i = n - 1 - k;	/* reverse bus order */
		drmDevicePtr d;

		d = calloc(1, sizeof(*d) + sizeof(char *) * DRM_NODE_MAX +
			   sizeof(drmPciBusInfo) + 64);
		d->nodes = (char **)(d + 1);
		d->available_nodes = 1 << DRM_NODE_RENDER;
		d->nodes[DRM_NODE_RENDER] = (char *)(d->nodes + DRM_NODE_MAX) +
					    sizeof(drmPciBusInfo);
		gpu_node(i, d->nodes[DRM_NODE_RENDER], 64);
		d->bustype = DRM_BUS_PCI;
		d->businfo.pci = (drmPciBusInfo *)(d->nodes + DRM_NODE_MAX);
		d->businfo.pci->bus = gpu_bus(i);
		devs[k] = d;
	}
	return k;
}

void drmFreeDevices(drmDevicePtr devs[], int count)
{
	int i;

	for (i = 0; i < count; i++)
		free(devs[i]);
}

/* the buffer a dma-buf fd (a dup of its memfd) belongs to, or 0 */
static uint32_t bo_of_fd(int fd)
{
	struct stat a, b;
	uint32_t h;

	if (fstat(fd, &a))
		return 0;
	for (h = 1; h < 256; h++)
		if (bos[h].size && !fstat(bos[h].memfd, &b) && a.st_ino == b.st_ino)
			return h;
	return 0;
}

static int gpu_ioctl(int gi, unsigned long req, void *arg)
{
	int ret;

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
		v->version_major = env_int("MOCK_DRM_MAJOR", 1);
		v->version_minor = 0;
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
		q->pci_bus = gpu_bus(gi);
		return 0;
	}
	case DRM_IOCTL_P2PGPU_GEM_CREATE: {
		struct drm_p2pgpu_gem_create *c = arg;
		uint32_t h;

		ret = mock_fail("create");
		if (ret)
			return ret;
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
			snprintf(a.importer, sizeof(a.importer), "0000:%02x:00.0",
				 nic_bus(b->importer));
			strcpy(a.importer_driver, "p2prdma");
			a.decision = staged() ? P2PGPU_MAPPING_STAGED : P2PGPU_MAPPING_P2P;
			a.mapping = a.decision;
			a.reason = reason();
			a.distance = staged() ? -1 : 4;
			a.flags = P2PGPU_ATTACH_DYNAMIC | P2PGPU_ATTACH_PEER2PEER |
				  (staged() ? 0 : P2PGPU_ATTACH_BUS_ADDR |
						 P2PGPU_ATTACH_MAP_BUS_ADDR);
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
	case DRM_IOCTL_PRIME_FD_TO_HANDLE: {
		struct drm_prime_handle *p = arg;

		p->handle = bo_of_fd(p->fd);
		return p->handle ? 0 : -EINVAL;
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

static int nic_ioctl(int ni, unsigned long req, void *arg)
{
	int ret;

	switch (req) {
	case P2PRDMA_IOCTL_DEVICE_INFO: {
		struct p2prdma_device_info *d = arg;

		memset(d, 0, sizeof(*d));
		d->pci_bus = nic_bus(ni);
		d->dma_mask_bits = 64;
		return 0;
	}
	case P2PRDMA_IOCTL_REG_DMABUF_MR: {
		struct p2prdma_reg_dmabuf_mr *r = arg;
		uint32_t h, b;

		ret = mock_fail("reg-dmabuf");
		if (ret)
			return ret;
		mock_last_iova = r->iova;
		b = bo_of_fd(r->fd);
		if (b)
			bos[b].importer = ni;
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

		ret = mock_fail("reg-user");
		if (ret)
			return ret;
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

		ret = mock_fail("transfer");
		if (ret)
			return ret;
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
	/* the mock's dma-bufs are memfds: CPU access needs no sync */
	if (req == DMA_BUF_IOCTL_SYNC)
		return 0;
	if (fd < 0 || fd >= 4096 || kind[fd] == NONE)
		return real(fd, req, arg);
	ret = kind[fd] == GPU ? gpu_ioctl(devidx[fd], req, arg) :
				nic_ioctl(devidx[fd], req, arg);
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
