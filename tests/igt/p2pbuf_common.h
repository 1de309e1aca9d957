/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the reliability suites (p2pbuf_fuzz, p2pbuf_faults,
 * p2pbuf_stress): opening both drivers, their ioctls in the "__" form that
 * returns -errno, the drivers' debugfs object counters, and fd passing.
 */
#ifndef P2PBUF_COMMON_H
#define P2PBUF_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pgpu_igt.h"
#include "p2prdma.h"

#define P2P_NIC_PATH	"/dev/p2prdma0"
#define P2P_NIC_OBJECTS	"/sys/kernel/debug/p2prdma/p2prdma0/objects"
#define P2P_GPU_OBJECTS	"/sys/kernel/debug/dri/*/p2pgpu_objects"
#define P2P_GPU_DRV	"/sys/bus/pci/drivers/p2pgpu"

/* what the drivers' debugfs "objects" files count */
struct p2p_counts {
	int bos, attachments, dmabufs;		/* p2pgpu */
	int files, regions, nic_attachments, mappings;	/* p2prdma */
};

static inline double p2p_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the p2pgpu device, or -1 */
static inline int p2p_gpu_open(void)
{
	struct drm_p2pgpu_device_query dq = {};
	int fd = __drm_open_driver(DRIVER_ANY);

	if (fd >= 0 && drmIoctl(fd, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &dq)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static inline int p2p_nic_open(void)
{
	return open(P2P_NIC_PATH, O_RDWR | O_CLOEXEC);
}

/* a fixture's GPU and NIC: skips the binary when either is not bound */
static inline void p2p_require_gpu_nic(int *gpu, int *nic)
{
	*gpu = p2p_gpu_open();
	igt_require_f(*gpu >= 0, "no GPU bound to p2pgpu\n");
	*nic = p2p_nic_open();
	igt_require_f(*nic >= 0, "no NIC bound to p2prdma (%s): %s\n",
		      P2P_NIC_PATH, strerror(errno));
}

/* "key value" lines of a debugfs file: the value of @key, or -1 */
static inline int p2p_read_key(const char *path, const char *key)
{
	char line[128], k[64];
	int v, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/* the first p2pgpu_objects file, or NULL (device unbound, no debugfs) */
static inline const char *p2p_gpu_objects_path(void)
{
	static char path[256];
	glob_t g;

	if (glob(P2P_GPU_OBJECTS, 0, NULL, &g))
		return NULL;
	snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

static inline bool p2p_have_counters(void)
{
	return p2p_gpu_objects_path() && access(P2P_NIC_OBJECTS, R_OK) == 0;
}

static inline void p2p_counts(struct p2p_counts *c)
{
	const char *g = p2p_gpu_objects_path();

	memset(c, 0xff, sizeof(*c));
	if (g) {
		c->bos = p2p_read_key(g, "bos");
		c->attachments = p2p_read_key(g, "attachments");
		c->dmabufs = p2p_read_key(g, "dmabufs");
	}
	c->files = p2p_read_key(P2P_NIC_OBJECTS, "files");
	c->regions = p2p_read_key(P2P_NIC_OBJECTS, "regions");
	c->nic_attachments = p2p_read_key(P2P_NIC_OBJECTS, "attachments");
	c->mappings = p2p_read_key(P2P_NIC_OBJECTS, "mappings");
}

static inline void p2p_print_counts(const char *when, struct p2p_counts *c)
{
	igt_info("%s: p2pgpu bos %d attachments %d dmabufs %d; p2prdma files %d regions %d attachments %d mappings %d\n",
		 when, c->bos, c->attachments, c->dmabufs, c->files,
		 c->regions, c->nic_attachments, c->mappings);
}

/*
 * Every object both drivers hold is gone (files: only those the caller
 * still has open, @nic_files).
 */
static inline void p2p_assert_idle(int nic_files)
{
	struct p2p_counts c;

	p2p_counts(&c);
	if (c.bos || c.attachments || c.dmabufs || c.files != nic_files ||
	    c.regions || c.nic_attachments || c.mappings)
		p2p_print_counts("objects left", &c);
	igt_assert_eq(c.bos, 0);
	igt_assert_eq(c.attachments, 0);
	igt_assert_eq(c.dmabufs, 0);
	igt_assert_eq(c.files, nic_files);
	igt_assert_eq(c.regions, 0);
	igt_assert_eq(c.nic_attachments, 0);
	igt_assert_eq(c.mappings, 0);
}

static inline int __p2p_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret ? -errno : 0;
}

/* asserts that a __p2p_ call (which returns -errno) failed with exactly @err */
#define p2p_assert_ret_errno(call, err) \
	do { \
		int __r = (call); \
		igt_assert_f(__r == -(err), \
			     "%s: expected -%d (%s), got %d (%s)\n", #call, \
			     (err), strerror(err), __r, \
			     __r < 0 ? strerror(-__r) : "success"); \
	} while (0)

static inline int __p2p_create(int gpu, uint64_t size, uint32_t placement,
			       uint32_t *handle)
{
	struct drm_p2pgpu_gem_create c = { .size = size, .placement = placement };
	int ret = __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &c);

	*handle = c.handle;
	return ret;
}

static inline uint32_t p2p_create(int gpu, uint64_t size, uint32_t placement)
{
	return p2pgpu_create(gpu, size, placement);
}

static inline int __p2p_gem_close(int gpu, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return __p2p_ioctl(gpu, DRM_IOCTL_GEM_CLOSE, &c);
}

static inline int __p2p_export(int gpu, uint32_t handle, int *fd)
{
	struct drm_prime_handle p = { .handle = handle,
				      .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };
	int ret = __p2p_ioctl(gpu, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);

	*fd = p.fd;
	return ret;
}

static inline int p2p_export(int gpu, uint32_t handle)
{
	return p2pgpu_export(gpu, handle);
}

static inline int __p2p_migrate(int gpu, uint32_t handle, uint32_t placement)
{
	struct drm_p2pgpu_gem_migrate m = { .handle = handle,
					    .placement = placement };

	return __p2p_ioctl(gpu, DRM_IOCTL_P2PGPU_GEM_MIGRATE, &m);
}

static inline void *p2p_gem_mmap(int gpu, uint32_t handle, size_t size)
{
	return p2pgpu_mmap(gpu, handle, size);
}

static inline int __p2p_reg_dmabuf(int nic, int buf, uint64_t off,
				   uint64_t len, uint32_t flags,
				   uint32_t *handle)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .offset = off, .length = len, .iova = off,
		.access = P2PRDMA_ACCESS_ALL, .flags = flags,
	};
	int ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);

	*handle = r.handle;
	return ret;
}

static inline uint32_t p2p_reg_dmabuf(int nic, int buf, uint64_t off,
				      uint64_t len, uint32_t flags)
{
	uint32_t h;
	int ret = __p2p_reg_dmabuf(nic, buf, off, len, flags, &h);

	igt_assert_f(ret == 0, "REG_DMABUF_MR: %s\n", strerror(-ret));
	return h;
}

static inline int __p2p_reg_user(int nic, void *addr, uint64_t len,
				 uint32_t *handle)
{
	struct p2prdma_reg_user_mr r = {
		.addr = (uintptr_t)addr, .length = len,
		.access = P2PRDMA_ACCESS_ALL,
	};
	int ret = __p2p_ioctl(nic, P2PRDMA_IOCTL_REG_USER_MR, &r);

	*handle = r.handle;
	return ret;
}

static inline uint32_t p2p_reg_user(int nic, void *addr, uint64_t len)
{
	uint32_t h;
	int ret = __p2p_reg_user(nic, addr, len, &h);

	igt_assert_f(ret == 0, "REG_USER_MR: %s\n", strerror(-ret));
	return h;
}

static inline int __p2p_dereg(int nic, uint32_t handle)
{
	struct p2prdma_dereg_mr d = { .handle = handle };

	return __p2p_ioctl(nic, P2PRDMA_IOCTL_DEREG_MR, &d);
}

static inline int __p2p_query(int nic, uint32_t handle,
			      struct p2prdma_query_mr *q)
{
	memset(q, 0, sizeof(*q));
	q->handle = handle;
	return __p2p_ioctl(nic, P2PRDMA_IOCTL_QUERY_MR, q);
}

/* no retry on EINTR: a transfer reports it, partly done */
static inline int __p2p_transfer(int nic, uint32_t dst, uint64_t doff,
				 uint32_t src, uint64_t soff, uint64_t len)
{
	struct p2prdma_transfer t = {
		.dst_handle = dst, .src_handle = src, .dst_offset = doff,
		.src_offset = soff, .length = len,
	};

	return ioctl(nic, P2PRDMA_IOCTL_TRANSFER, &t) ? -errno : 0;
}

static inline void p2p_transfer(int nic, uint32_t dst, uint64_t doff,
				uint32_t src, uint64_t soff, uint64_t len)
{
	int ret = __p2p_transfer(nic, dst, doff, src, soff, len);

	igt_assert_f(ret == 0, "TRANSFER: %s\n", strerror(-ret));
}

static inline void *p2p_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	igt_assert(p != MAP_FAILED);
	return p;
}

static inline void p2p_fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + 1);
}

/* SCM_RIGHTS over a unix socket */
static inline int p2p_send_fd(int sock, int fd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static inline int p2p_recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static inline void p2p_sysfs_write(const char *path, const char *val)
{
	int f = open(path, O_WRONLY);

	igt_assert_f(f >= 0, "%s: %s\n", path, strerror(errno));
	igt_assert_f(write(f, val, strlen(val)) == (ssize_t)strlen(val),
		     "%s < %s: %s\n", path, val, strerror(errno));
	close(f);
}

#endif /* P2PBUF_COMMON_H */
