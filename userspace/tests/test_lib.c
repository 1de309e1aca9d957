// SPDX-License-Identifier: MIT
/*
 * Host-side unit test of libp2pbuf's device-independent parts: fd passing
 * over SCM_RIGHTS between two processes, error and reason texts, PCI
 * address formatting, device enumeration without devices. `make test`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "p2pbuf.h"

static void test_fdpass(void)
{
	int sv[2], fd, got, status;
	char payload[32], buf[32];
	struct stat a, b;
	pid_t pid;
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	fd = memfd_create("p2pbuf-test", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(write(fd, "hello", 5) == 5);
	CHECK(fstat(fd, &a) == 0);
	pid = fork();
	if (pid == 0) {
		char r[6] = { 0 };
		struct stat st;
		int f;

		close(sv[0]);
		n = p2pbuf_recv_fd(sv[1], &f, buf, sizeof(buf));
		if (n != 7 || memcmp(buf, "payload", 7) || f < 0)
			_exit(1);
		if (fstat(f, &st) || pread(f, r, 5, 0) != 5 || strcmp(r, "hello"))
			_exit(2);
		/* send it back, with no payload */
		if (p2pbuf_send_fd(sv[1], f, NULL, 0))
			_exit(3);
		/* and a data-only message */
		if (p2pbuf_send_fd(sv[1], -1, "x", 1))
			_exit(4);
		_exit(0);
	}
	close(sv[1]);
	memcpy(payload, "payload", 7);
	CHECK(p2pbuf_send_fd(sv[0], fd, payload, 7) == 0);
	n = p2pbuf_recv_fd(sv[0], &got, NULL, 0);
	CHECK(n == 1 && got >= 0);
	CHECK(fstat(got, &b) == 0 && a.st_ino == b.st_ino);
	n = p2pbuf_recv_fd(sv[0], &got, buf, sizeof(buf));
	CHECK(n == 1 && got == -1 && buf[0] == 'x');
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	/* peer closed */
	n = p2pbuf_recv_fd(sv[0], &got, buf, sizeof(buf));
	CHECK(n == 0 && got == -1);
	close(sv[0]);
	close(fd);
}

static void test_text(void)
{
	char pci[P2PBUF_PCI_ADDR_LEN];
	uint32_t r;
	int e;

	for (e = 1; e < 600; e++)
		CHECK(!strstr(p2pbuf_strerror(-e), "Unknown error"));
	CHECK(strstr(p2pbuf_strerror(-524), "not supported"));
	CHECK(strstr(p2pbuf_strerror(EOPNOTSUPP), "not supported"));
	for (r = 0; r <= P2PGPU_REASON_NOT_REVOCABLE; r++) {
		CHECK(strcmp(p2pbuf_reason_str(r), "unknown"));
		CHECK(strcmp(p2pbuf_reason_explain(r), p2pbuf_reason_explain(999)));
	}
	CHECK(strstr(p2pbuf_reason_explain(P2PGPU_REASON_KERNEL_NO_P2PDMA),
		     "CONFIG_PCI_P2PDMA=y"));
	CHECK(strstr(p2pbuf_reason_explain(P2PGPU_REASON_ACS_REDIRECT),
		     "pci=disable_acs_redir="));
	CHECK(strstr(p2pbuf_reason_explain(P2PGPU_REASON_DISABLED_BY_PARAM),
		     "p2pgpu.p2p=1"));
	p2pbuf_pci_addr(pci, 0, 3, (2 << 3) | 1);
	CHECK(!strcmp(pci, "0000:03:02.1"));
	p2pbuf_pci_addr(pci, 0x10000, 0x1ff, 0xff);
	CHECK(strlen(pci) == 12);
	/* no glibc-only strerrordesc_np(): unknown codes still get a text */
	CHECK(strstr(p2pbuf_strerror(-4000), "unknown error code 4000"));
	CHECK(!strcmp(p2pbuf_strerror(-ENOENT), "No such file or directory"));
}

static void test_pci_parse(void)
{
	char pci[P2PBUF_PCI_ADDR_LEN];

	CHECK(p2pbuf_pci_parse("0000:03:00.0", pci) == 0 && !strcmp(pci, "0000:03:00.0"));
	CHECK(p2pbuf_pci_parse("03:1F.7", pci) == 0 && !strcmp(pci, "0000:03:1f.7"));
	CHECK(p2pbuf_pci_parse("00AB:c0:01.1", pci) == 0 && !strcmp(pci, "00ab:c0:01.1"));
	CHECK(p2pbuf_pci_parse("0", pci) == -EINVAL);
	CHECK(p2pbuf_pci_parse("03:00.8", pci) == -EINVAL);
	CHECK(p2pbuf_pci_parse("03:20.0", pci) == -EINVAL);
	CHECK(p2pbuf_pci_parse("0x3:00.0", pci) == -EINVAL);
	CHECK(p2pbuf_pci_parse("03:00.0x", pci) == -EINVAL);
	CHECK(p2pbuf_pci_parse("-3:00.0", pci) == -EINVAL);
}

static void test_version(void)
{
	/* the one version: VERSION in the top-level Makefile */
	CHECK(!strcmp(p2pbuf_version(), EXPECT_VERSION));
}

static void test_enum(void)
{
	struct p2pbuf_gpu *g = (void *)1;
	struct p2pbuf_nic *n = (void *)1;
	int ng = p2pbuf_gpu_list(NULL, 0), nn = p2pbuf_nic_list(NULL, 0);

	CHECK(ng >= 0 && nn >= 0);
	if (!ng)
		CHECK(p2pbuf_gpu_open(0, &g) == -ENODEV && !g);
	if (!nn)
		CHECK(p2pbuf_nic_open(0, &n) == -ENODEV && !n);
	CHECK(p2pbuf_gpu_list(NULL, 1) == -EINVAL);
}

int main(void)
{
	test_fdpass();
	test_text();
	test_enum();
	test_pci_parse();
	test_version();
	printf("libp2pbuf unit test: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
