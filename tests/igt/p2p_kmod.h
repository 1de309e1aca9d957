/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a test-only module of tests/kmod/ (built by the VM harness into
 * $P2PBUF_KMOD_DIR) and opening its debugfs control file.
 */
#ifndef P2P_KMOD_H
#define P2P_KMOD_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "igt_subset.h"

/*
 * Loads @mod.ko from $P2PBUF_KMOD_DIR unless it is loaded already, and
 * opens its control file @ctl: the descriptor. The module missing is a skip
 * when @skip (the binary's every subtest needs it), else a failure.
 * *@loaded: whether this call loaded it, for the caller's unload.
 */
static inline int p2p_kmod_load(const char *mod, const char *ctl, bool skip,
				bool *loaded)
{
	const char *dir = getenv("P2PBUF_KMOD_DIR");
	char path[512];
	int f, fd;

	igt_require_f(dir || !skip, "P2PBUF_KMOD_DIR not set: run under the VM harness\n");
	igt_assert_f(dir, "P2PBUF_KMOD_DIR not set: run under the VM harness\n");
	snprintf(path, sizeof(path), "%s/%s.ko", dir, mod);
	f = open(path, O_RDONLY | O_CLOEXEC);
	igt_require_f(f >= 0 || !skip, "%s was not built: %s\n", path,
		      strerror(errno));
	igt_assert_f(f >= 0, "%s was not built: %s\n", path, strerror(errno));
	*loaded = false;
	if (syscall(SYS_finit_module, f, "", 0) == 0)
		*loaded = true;
	else
		igt_assert_f(errno == EEXIST, "finit_module %s: %s\n", path,
			     strerror(errno));
	close(f);
	fd = open(ctl, O_RDWR | O_CLOEXEC);
	igt_assert_f(fd >= 0, "%s: %s\n", ctl, strerror(errno));
	return fd;
}

#endif /* P2P_KMOD_H */
