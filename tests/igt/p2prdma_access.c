// SPDX-License-Identifier: GPL-2.0
/*
 * Who may use the NIC, and how much memory they may pin through it:
 * the device node's mode, RLIMIT_MEMLOCK for pinned user memory and for
 * dma-bufs pinned in system memory (as ibv_reg_mr accounts them), and
 * read-only dma-buf descriptors. The pinned amount is read from the
 * kernel's own count, VmPin in /proc/self/status.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pbuf_common.h"

/* an unprivileged user, and the group udev gives the node (README) */
#define NOBODY_UID	65534
#define RDMA_GID	4242
#define LIMIT		(64 * 1024)

static int gpu = -1, nic = -1;
static size_t pg;
static char render[64];

static long vm_pin_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	igt_assert(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	igt_assert_f(kb >= 0, "no VmPin in /proc/self/status\n");
	return kb;
}

/* what udev's rule does on a real system: the node to group RDMA_GID */
static void give_to_group(const char *path, struct stat *saved)
{
	igt_assert_eq(stat(path, saved), 0);
	igt_assert_eq(chown(path, 0, RDMA_GID), 0);
	igt_assert_eq(chmod(path, 0660), 0);
}

static void restore(const char *path, const struct stat *saved)
{
	igt_assert_eq(chown(path, saved->st_uid, saved->st_gid), 0);
	igt_assert_eq(chmod(path, saved->st_mode & 07777), 0);
}

/* in a child: become nobody, in @gid if non-zero, with a memlock limit */
static void drop_privileges(gid_t gid, rlim_t memlock)
{
	struct rlimit rl = { memlock, memlock };

	igt_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	igt_assert_eq(setgroups(gid ? 1 : 0, &gid), 0);
	igt_assert_eq(setgid(gid ? gid : NOBODY_UID), 0);
	igt_assert_eq(setuid(NOBODY_UID), 0);
	igt_assert_neq(setuid(0), 0);
}

static int read_only_export(uint32_t handle)
{
	int fd = -1;

	igt_assert_eq(drmPrimeHandleToFD(gpu, handle, DRM_CLOEXEC, &fd), 0);
	igt_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	return fd;
}

static int __reg_dmabuf_access(int f, int buf, size_t len, uint32_t access,
			       uint32_t flags, uint32_t *handle)
{
	struct p2prdma_reg_dmabuf_mr r = {
		.fd = buf, .length = len, .access = access, .flags = flags,
	};
	int ret = __p2p_ioctl(f, P2PRDMA_IOCTL_REG_DMABUF_MR, &r);

	*handle = r.handle;
	return ret;
}

igt_main
{
	igt_fixture {
		char *name;

		pg = getpagesize();
		nic = p2p_nic_open();
		igt_require_f(nic >= 0, "no %s\n", P2P_NIC_PATH);
		gpu = p2p_gpu_open();
		igt_require_f(gpu >= 0, "no p2pgpu device\n");
		name = drmGetRenderDeviceNameFromFd(gpu);
		igt_assert_f(name, "p2pgpu has no render node\n");
		snprintf(render, sizeof(render), "%s", name);
		free(name);
	}

	igt_describe("the node is the owner's and its group's only, as the README says");
	igt_subtest("node-mode") {
		struct stat st;

		igt_assert_eq(stat(P2P_NIC_PATH, &st), 0);
		igt_assert_f((st.st_mode & 07777) == 0660,
			     "%s has mode %04o, the README says 0660\n",
			     P2P_NIC_PATH, st.st_mode & 07777);
	}

	igt_describe("a read-only dma-buf descriptor registers for reads only");
	igt_subtest("read-only-dmabuf") {
		uint32_t h = p2p_create(gpu, 4 * pg, P2PGPU_PLACEMENT_VRAM);
		uint8_t *cpu = p2p_gem_mmap(gpu, h, 4 * pg);
		uint8_t *u = p2p_anon(4 * pg);
		int ro = read_only_export(h);
		uint32_t hro, hu, hw;

		p2p_fill(cpu, 4 * pg, 5);
		p2p_assert_ret_errno(__reg_dmabuf_access(nic, ro, 4 * pg,
					P2PRDMA_ACCESS_LOCAL_WRITE, 0, &hw),
				     EACCES);
		p2p_assert_ret_errno(__reg_dmabuf_access(nic, ro, 4 * pg,
					P2PRDMA_ACCESS_REMOTE_WRITE, 0, &hw),
				     EACCES);
		p2p_assert_ret_errno(__reg_dmabuf_access(nic, ro, 4 * pg,
					P2PRDMA_ACCESS_ALL,
					P2PRDMA_REG_PINNED, &hw), EACCES);
		igt_assert_eq(__reg_dmabuf_access(nic, ro, 4 * pg,
						  P2PRDMA_ACCESS_REMOTE_READ, 0,
						  &hro), 0);

		/* the NIC reads it, and cannot write into it */
		hu = p2p_reg_user(nic, u, 4 * pg);
		p2p_transfer(nic, hu, 0, hro, 0, 4 * pg);
		igt_assert(!memcmp(u, cpu, 4 * pg));
		memset(u, 0xa5, 4 * pg);
		p2p_assert_ret_errno(__p2p_transfer(nic, hro, 0, hu, 0, pg),
				     EINVAL);
		p2p_fill(u, 4 * pg, 5);
		igt_assert(!memcmp(u, cpu, 4 * pg));

		igt_assert_eq(__p2p_dereg(nic, hro), 0);
		igt_assert_eq(__p2p_dereg(nic, hu), 0);
		close(ro);
		munmap(u, 4 * pg);
		munmap(cpu, 4 * pg);
		p2pgpu_gem_close(gpu, h);
	}

	igt_describe("an unprivileged user pins no more user memory than RLIMIT_MEMLOCK");
	igt_subtest("unprivileged-memlock") {
		struct stat saved;

		give_to_group(P2P_NIC_PATH, &saved);
		igt_fork(child, 1) {
			uint8_t *u = p2p_anon(LIMIT + pg);
			uint32_t h1, h2, h3;
			int f;

			drop_privileges(RDMA_GID, LIMIT);
			f = open(P2P_NIC_PATH, O_RDWR);
			igt_assert_f(f >= 0, "group member cannot open: %s\n",
				     strerror(errno));
			igt_assert_eq(vm_pin_kb(), 0);
			igt_assert_eq(__p2p_reg_user(f, u, LIMIT / 2, &h1), 0);
			igt_assert_eq(__p2p_reg_user(f, u + LIMIT / 2, LIMIT / 2,
						     &h2), 0);
			igt_assert_eq(vm_pin_kb(), LIMIT / 1024);
			/* one page past the limit: refused, nothing counted */
			p2p_assert_ret_errno(__p2p_reg_user(f, u + LIMIT, pg,
							    &h3), ENOMEM);
			igt_assert_eq(vm_pin_kb(), LIMIT / 1024);
			/* the same memory twice is pinned twice, as ib_umem */
			p2p_assert_ret_errno(__p2p_reg_user(f, u, pg, &h3),
					     ENOMEM);
			igt_assert_eq(__p2p_dereg(f, h1), 0);
			igt_assert_eq(vm_pin_kb(), LIMIT / 2048);
			igt_assert_eq(__p2p_reg_user(f, u + LIMIT, pg, &h3), 0);
			close(f);
			/* closing the file unpins and uncounts everything */
			igt_assert_eq(vm_pin_kb(), 0);
		}
		igt_waitchildren();

		igt_fork(child, 1) {
			drop_privileges(0, LIMIT);
			igt_assert_eq(open(P2P_NIC_PATH, O_RDWR), -1);
			igt_assert_eq(errno, EACCES);
		}
		igt_waitchildren();
		restore(P2P_NIC_PATH, &saved);
	}

	igt_describe("a dma-buf pinned in system memory counts against RLIMIT_MEMLOCK");
	igt_subtest("unprivileged-pinned-dmabuf") {
		struct stat saved_nic, saved_render;

		give_to_group(P2P_NIC_PATH, &saved_nic);
		give_to_group(render, &saved_render);
		igt_fork(child, 1) {
			uint8_t *u = p2p_anon(LIMIT);
			uint32_t hu, hp, h;
			int f, g, buf;

			drop_privileges(RDMA_GID, LIMIT);
			f = open(P2P_NIC_PATH, O_RDWR);
			g = open(render, O_RDWR);
			igt_assert(f >= 0 && g >= 0);
			h = p2p_create(g, LIMIT / 2, P2PGPU_PLACEMENT_SYSTEM);
			buf = p2p_export(g, h);

			igt_assert_eq(__p2p_reg_user(f, u, LIMIT - LIMIT / 4,
						     &hu), 0);
			p2p_assert_ret_errno(__p2p_reg_dmabuf(f, buf, 0,
							      LIMIT / 2,
							      P2PRDMA_REG_PINNED,
							      &hp), ENOMEM);
			igt_assert_eq(vm_pin_kb(), (LIMIT - LIMIT / 4) / 1024);
			/* not pinned, it is the exporter's to move: not counted */
			igt_assert_eq(__p2p_reg_dmabuf(f, buf, 0, LIMIT / 2, 0,
						       &hp), 0);
			igt_assert_eq(vm_pin_kb(), (LIMIT - LIMIT / 4) / 1024);
			igt_assert_eq(__p2p_dereg(f, hp), 0);

			igt_assert_eq(__p2p_dereg(f, hu), 0);
			igt_assert_eq(__p2p_reg_dmabuf(f, buf, 0, LIMIT / 2,
						       P2PRDMA_REG_PINNED, &hp),
				      0);
			igt_assert_eq(vm_pin_kb(), LIMIT / 2048);
			igt_assert_eq(__p2p_dereg(f, hp), 0);
			igt_assert_eq(vm_pin_kb(), 0);
			close(buf);
			close(g);
			close(f);
		}
		igt_waitchildren();
		restore(render, &saved_render);
		restore(P2P_NIC_PATH, &saved_nic);
	}

	igt_fixture {
		close(gpu);
		close(nic);
	}
}
