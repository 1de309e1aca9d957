/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test-only p2p_test_importer.ko (tests/kmod/p2p_test_importer.c), a
 * dynamic dma-buf importer for QEMU's edu device, driven through its debugfs
 * control file: loading it, its commands and its reports. Shared by
 * p2pgpu_decision, p2pgpu_revoke and p2prdma_vfio.
 */
#ifndef P2P_TEST_IMPORTER_H
#define P2P_TEST_IMPORTER_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "igt_subset.h"
#include "p2p_kmod.h"

#define TI_CTL		"/sys/kernel/debug/p2p_test_importer/ctl"
#define TI_MAX_SEGS	16

/* an attachment's "status" report */
struct ti_status {
	int mapped, bus, peer2peer;
	unsigned int nents, move_notify, maps;
	unsigned int nsegs;		/* of its first TI_MAX_SEGS segments */
	uint64_t addr[TI_MAX_SEGS];
	uint32_t len[TI_MAX_SEGS];
};

/*
 * One command to the test importer's control file @fd: 0, or the command's
 * -errno. Its report goes to @out (@len bytes) when @out is given.
 */
__attribute__((format(printf, 4, 5)))
static inline int ti_cmd(int fd, char *out, size_t len, const char *fmt, ...)
{
	char cmd[64];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (pwrite(fd, cmd, strlen(cmd), 0) < 0)
		return -errno;
	if (out) {
		n = pread(fd, out, len - 1, 0);
		igt_assert(n >= 0);
		out[n] = '\0';
	}
	return 0;
}

/*
 * The test importer attaches dma-buf @buf, allowing peer-to-peer if @p2p,
 * in @mode (0, or the module's stuck / not-revocable modes): its slot, or
 * the attach's -errno. *@peer2peer (if given): the attachment's peer2peer.
 */
static inline int __ti_attach(int fd, int buf, bool p2p, int mode,
			      int *peer2peer)
{
	char out[128];
	int ret, slot = -1, p = -1;

	ret = ti_cmd(fd, out, sizeof(out), "attach %d %d %d", buf, p2p, mode);
	if (ret)
		return ret;
	igt_assert_f(sscanf(out, "ret 0 slot %d peer2peer %d", &slot, &p) == 2,
		     "test importer attach: '%s'\n", out);
	if (peer2peer)
		*peer2peer = p;
	return slot;
}

/* a command on a slot ("map 3", "detach 3", ...) that must succeed */
static inline void ti_ok(int fd, const char *verb, int slot)
{
	int ret = ti_cmd(fd, NULL, 0, "%s %d", verb, slot);

	igt_assert_f(ret == 0, "test importer %s %d: %s\n", verb, slot,
		     strerror(-ret));
}

/* what the test importer reports of @slot */
static inline void ti_status(int fd, int slot, struct ti_status *s)
{
	char out[4096], *line;

	memset(s, 0, sizeof(*s));
	igt_assert_eq(ti_cmd(fd, out, sizeof(out), "status %d", slot), 0);
	igt_assert_eq(sscanf(out, "ret 0 mapped %d nents %u bus %d move_notify %u maps %u peer2peer %d",
			     &s->mapped, &s->nents, &s->bus, &s->move_notify,
			     &s->maps, &s->peer2peer), 6);
	for (line = strstr(out, "seg "); line && s->nsegs < TI_MAX_SEGS;
	     line = strstr(line + 1, "seg ")) {
		unsigned long long addr;
		unsigned int i, len;

		igt_assert_eq(sscanf(line, "seg %u %llx %u", &i, &addr, &len), 3);
		s->addr[s->nsegs] = addr;
		s->len[s->nsegs++] = len;
	}
}

/*
 * Loads p2p_test_importer.ko from $P2PBUF_KMOD_DIR unless it is loaded
 * already, and opens its control file. The module missing is a skip when
 * @skip (in a fixture: the binary's every subtest needs it), else a
 * failure. *@loaded: whether this call loaded it, for ti_unload().
 */
static inline int ti_load(bool skip, bool *loaded)
{
	return p2p_kmod_load("p2p_test_importer", TI_CTL, skip, loaded);
}

/* closes @fd, and unloads the module if ti_load() had @loaded it */
static inline void ti_unload(int fd, bool loaded)
{
	close(fd);
	if (loaded)
		igt_assert_f(syscall(SYS_delete_module, "p2p_test_importer",
				     O_NONBLOCK) == 0,
			     "unloading p2p_test_importer: %s\n",
			     strerror(errno));
}

#endif /* P2P_TEST_IMPORTER_H */
