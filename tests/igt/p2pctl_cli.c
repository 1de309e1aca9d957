// SPDX-License-Identifier: MIT
/*
 * p2pctl and the dma-buf fd-passing path it relies on, tested end to end.
 *
 * Self-contained: runs the p2pctl binary ($P2PBUF_REPO/build/bin/p2pctl) by
 * fork/exec with a pipe, parses its JSON with the small parser below, and
 * passes dma-buf fds with its own SCM_RIGHTS code (not libp2pbuf's), so a
 * bug in the library cannot hide itself. Builds with the plain IGT rule.
 *
 * Environment: P2PBUF_REPO (repository root), P2PBUF_TOPOLOGY (switch,
 * rootports, hostbridge, iommu, stock, multi: what the decisions must be).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>

#include "igt_subset.h"
#include "p2pgpu_drm.h"
#include "p2prdma.h"
#include "p2pbuf_observe.h"
#include "p2pbuf_sync.h"

/* ------------------------------------------------------------------ */
/* A minimal JSON parser (RFC 8259 syntax, strict)                       */
/* ------------------------------------------------------------------ */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	bool b;
	double num;
	char *str;
	int n;			/* array/object members */
	char **keys;		/* object keys */
	struct jval **v;	/* members */
};

struct jp {
	const char *s;
	const char *err;
};

static void jws(struct jp *p)
{
	while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
		p->s++;
}

static struct jval *jnew(enum jtype t)
{
	struct jval *v = calloc(1, sizeof(*v));

	igt_assert(v);
	v->t = t;
	return v;
}

static char *jstring(struct jp *p)
{
	size_t cap = 16, n = 0;
	char *out = malloc(cap);

	igt_assert(out);
	if (*p->s != '"') {
		p->err = "expected string";
		free(out);
		return NULL;
	}
	p->s++;
	for (;;) {
		unsigned char c = (unsigned char)*p->s;

		if (n + 8 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			igt_assert(out);
		}
		if (!c || c < 0x20) {
			p->err = "unterminated string or raw control character";
			free(out);
			return NULL;
		}
		p->s++;
		if (c == '"')
			break;
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*p->s++;
		switch (c) {
		case '"': case '\\': case '/': out[n++] = (char)c; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			unsigned int u = 0, i;

			for (i = 0; i < 4; i++) {
				if (!isxdigit((unsigned char)p->s[i])) {
					p->err = "bad \\u escape";
					free(out);
					return NULL;
				}
				u = u * 16 + (isdigit((unsigned char)p->s[i]) ?
					      p->s[i] - '0' : (tolower(p->s[i]) - 'a' + 10));
			}
			p->s += 4;
			out[n++] = u < 0x80 ? (char)u : '?';
			break;
		}
		default:
			p->err = "bad escape";
			free(out);
			return NULL;
		}
	}
	out[n] = '\0';
	return out;
}

static struct jval *jvalue(struct jp *p, int depth);

static void jadd(struct jval *v, char *key, struct jval *m)
{
	v->v = realloc(v->v, (v->n + 1) * sizeof(*v->v));
	v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
	igt_assert(v->v && v->keys);
	v->v[v->n] = m;
	v->keys[v->n] = key;
	v->n++;
}

static struct jval *jvalue(struct jp *p, int depth)
{
	struct jval *v;

	if (depth > 64) {
		p->err = "too deep";
		return NULL;
	}
	jws(p);
	switch (*p->s) {
	case '{':
		v = jnew(J_OBJ);
		p->s++;
		jws(p);
		if (*p->s == '}') {
			p->s++;
			return v;
		}
		for (;;) {
			struct jval *m;
			char *k;

			jws(p);
			k = jstring(p);
			if (!k)
				return NULL;
			jws(p);
			if (*p->s++ != ':') {
				p->err = "expected ':'";
				return NULL;
			}
			m = jvalue(p, depth + 1);
			if (!m)
				return NULL;
			jadd(v, k, m);
			jws(p);
			if (*p->s == ',') {
				p->s++;
				continue;
			}
			if (*p->s == '}') {
				p->s++;
				return v;
			}
			p->err = "expected ',' or '}'";
			return NULL;
		}
	case '[':
		v = jnew(J_ARR);
		p->s++;
		jws(p);
		if (*p->s == ']') {
			p->s++;
			return v;
		}
		for (;;) {
			struct jval *m = jvalue(p, depth + 1);

			if (!m)
				return NULL;
			jadd(v, NULL, m);
			jws(p);
			if (*p->s == ',') {
				p->s++;
				continue;
			}
			if (*p->s == ']') {
				p->s++;
				return v;
			}
			p->err = "expected ',' or ']'";
			return NULL;
		}
	case '"':
		v = jnew(J_STR);
		v->str = jstring(p);
		return v->str ? v : NULL;
	case 't':
		if (strncmp(p->s, "true", 4))
			break;
		p->s += 4;
		v = jnew(J_BOOL);
		v->b = true;
		return v;
	case 'f':
		if (strncmp(p->s, "false", 5))
			break;
		p->s += 5;
		return jnew(J_BOOL);
	case 'n':
		if (strncmp(p->s, "null", 4))
			break;
		p->s += 4;
		return jnew(J_NULL);
	default:
		if (*p->s == '-' || isdigit((unsigned char)*p->s)) {
			const char *q = p->s;
			char *end;

			if (*q == '-')
				q++;
			if (*q == '0' && isdigit((unsigned char)q[1])) {
				p->err = "leading zero";
				return NULL;
			}
			v = jnew(J_NUM);
			v->num = strtod(p->s, &end);
			p->s = end;
			return v;
		}
	}
	p->err = "unexpected character";
	return NULL;
}

/* Parses a whole document; fails the test with context if it is invalid. */
static struct jval *jparse(const char *s)
{
	struct jp p = { .s = s };
	struct jval *v = jvalue(&p, 0);

	if (v) {
		jws(&p);
		if (*p.s) {
			v = NULL;
			p.err = "trailing garbage";
		}
	}
	igt_assert_f(v, "invalid JSON (%s) at offset %ld: \"%.40s\"\nwhole output:\n%s\n",
		     p.err, (long)(p.s - s), p.s, s);
	return v;
}

static struct jval *jget(const struct jval *o, const char *k)
{
	int i;

	igt_assert(o && o->t == J_OBJ);
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], k))
			return o->v[i];
	return NULL;
}

static const char *jgets(const struct jval *o, const char *k)
{
	struct jval *v = jget(o, k);

	return v && v->t == J_STR ? v->str : NULL;
}

static bool jgetb(const struct jval *o, const char *k)
{
	struct jval *v = jget(o, k);

	igt_assert_f(v && v->t == J_BOOL, "missing boolean \"%s\"\n", k);
	return v->b;
}

static double jgetn(const struct jval *o, const char *k)
{
	struct jval *v = jget(o, k);

	igt_assert_f(v && v->t == J_NUM, "missing number \"%s\"\n", k);
	return v->num;
}

/* ------------------------------------------------------------------ */
/* Running p2pctl                                                         */
/* ------------------------------------------------------------------ */

static char p2pctl[4096];

static void find_p2pctl(void)
{
	const char *repo = getenv("P2PBUF_REPO");

	snprintf(p2pctl, sizeof(p2pctl), "%s/build/bin/p2pctl",
		 repo && *repo ? repo : ".");
	igt_require_f(access(p2pctl, X_OK) == 0,
		      "%s not built (set P2PBUF_REPO, run `make userspace`)\n",
		      p2pctl);
}

/* Runs p2pctl with @args (NULL-terminated); returns its exit status and
 * its stdout in *out (malloc'ed). stderr goes to the test log. */
static int run_ctl(char **out, const char *const *args)
{
	const char *argv[16];
	size_t cap = 4096, n = 0;
	int pfd[2], status, i;
	char *buf;
	pid_t pid;

	argv[0] = p2pctl;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	igt_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	igt_assert(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		execv(p2pctl, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	buf = malloc(cap);
	igt_assert(buf);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			igt_assert(buf);
		}
		r = read(pfd[0], buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(pfd[0]);
	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert_f(WIFEXITED(status), "p2pctl %s died: status 0x%x\n",
		     args[0], status);
	igt_info("$ p2pctl");
	for (i = 0; args[i]; i++)
		igt_info(" %s", args[i]);
	igt_info(" -> exit %d\n", WEXITSTATUS(status));
	igt_debug("%s", buf);
	if (out)
		*out = buf;
	else
		free(buf);
	return WEXITSTATUS(status);
}

static bool module_loaded(const char *m)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/sys/module/%s", m);
	return stat(p, &st) == 0;
}

static void require_drivers(void)
{
	igt_require_f(module_loaded("p2pgpu"), "p2pgpu.ko is not loaded\n");
	igt_require_f(module_loaded("p2prdma"), "p2prdma.ko is not loaded\n");
}

static const char *topology(void)
{
	const char *t = getenv("P2PBUF_TOPOLOGY");

	return t ? t : "";
}

/* What a GPU/NIC pair must show in this topology: decision and reason,
 * NULL when the topology does not pin it down. */
static void expected(const char **decision, const char **reason)
{
	const char *t = topology();

	*decision = *reason = NULL;
	if (!strcmp(t, "switch") || !strcmp(t, "detector")) {
		*decision = "p2p";
		*reason = "none";
	} else if (!strcmp(t, "hostbridge") || !strcmp(t, "iommu")) {
		*decision = "p2p";
		*reason = "none";
	} else if (!strcmp(t, "rootports")) {
		*decision = "staged";
		*reason = "no-common-switch";
	} else if (!strcmp(t, "stock")) {
		*decision = "staged";
		*reason = "kernel-no-p2pdma";
	}
}

static bool pci_addr_ok(const char *s)
{
	unsigned int d, b, dv, f;
	char tail;

	return s && strlen(s) == 12 &&
	       sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dv, &f, &tail) == 4;
}

/* ------------------------------------------------------------------ */
/* fd passing, with our own SCM_RIGHTS code                               */
/* ------------------------------------------------------------------ */

struct msg {
	uint64_t size;
	uint64_t ino;		/* the dma-buf's inode, as the sender sees it */
	int32_t status;		/* child -> parent: 0 ok, else -errno */
	uint32_t dmabuf_mr;
	uint64_t bytes_via_system;
	char nic_pci[16];
};

/* Returns 0 or -errno; never asserts, so the child can use it. */
static int try_send_msg(int sock, int fd, const struct msg *m)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == (ssize_t)sizeof(*m) ? 0 : -errno;
}

static void send_msg(int sock, int fd, const struct msg *m)
{
	igt_assert_eq(try_send_msg(sock, fd, m), 0);
}

/* Returns the fd received (-1 if none), -2 on a short or failed read. */
static int try_recv_msg(int sock, struct msg *m)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*m) ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -2;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int recv_msg(int sock, struct msg *m)
{
	int fd = try_recv_msg(sock, m);

	igt_assert_f(fd != -2, "short or failed message from the other process\n");
	return fd;
}

/* Opens the first DRM device whose driver is p2pgpu; -1 if none. */
static int open_p2pgpu(void)
{
	drmDevicePtr devs[64];
	int n, i, fd = -1;

	n = drmGetDevices2(0, devs, 64);
	for (i = 0; i < n && fd < 0; i++) {
		int t;

		for (t = DRM_NODE_RENDER; t >= DRM_NODE_PRIMARY && fd < 0; t--) {
			drmVersionPtr v;
			int f;

			if (!(devs[i]->available_nodes & (1 << t)))
				continue;
			f = open(devs[i]->nodes[t], O_RDWR | O_CLOEXEC);
			if (f < 0)
				continue;
			v = drmGetVersion(f);
			if (v && !strcmp(v->name, "p2pgpu")) {
				struct drm_p2pgpu_device_query q = { 0 };

				if (drmIoctl(f, DRM_IOCTL_P2PGPU_DEVICE_QUERY, &q) == 0)
					fd = f;
			}
			drmFreeVersion(v);
			if (fd < 0)
				close(f);
		}
	}
	if (n > 0)
		drmFreeDevices(devs, n);
	return fd;
}

static uint8_t pat(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 12) + 0x3c);
}

/* child: receive the dma-buf, check it is the same file, fill it by DMA */
static int fdpass_child(int sock)
{
	struct p2prdma_device_info di = { 0 };
	struct msg m;
	struct stat st;
	uint8_t *u;
	uint64_t i;
	int fd, nic;

	fd = try_recv_msg(sock, &m);
	if (fd < 0)
		return 10;
	if (fstat(fd, &st) || (uint64_t)st.st_ino != m.ino)
		return 11;		/* not the file the parent sent */
	if ((uint64_t)lseek(fd, 0, SEEK_END) != m.size)
		return 12;		/* dma-bufs report their size */
	m.status = 0;
	nic = open("/dev/p2prdma0", O_RDWR | O_CLOEXEC);
	if (nic < 0) {
		m.status = -ENODEV;
	} else {
		struct p2prdma_reg_dmabuf_mr rd = {
			.fd = fd, .length = m.size, .access = P2PRDMA_ACCESS_ALL,
		};
		struct p2prdma_reg_user_mr ru = {
			.length = m.size, .access = P2PRDMA_ACCESS_ALL,
		};
		struct p2prdma_transfer t = { .length = m.size };

		u = mmap(NULL, m.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (u == MAP_FAILED)
			return 13;
		for (i = 0; i < m.size; i++)
			u[i] = pat(i);
		ru.addr = (uintptr_t)u;
		if (ioctl(nic, P2PRDMA_IOCTL_DEVICE_INFO, &di) ||
		    ioctl(nic, P2PRDMA_IOCTL_REG_DMABUF_MR, &rd) ||
		    ioctl(nic, P2PRDMA_IOCTL_REG_USER_MR, &ru)) {
			m.status = -errno;
		} else {
			close(fd);	/* the region keeps the dma-buf */
			fd = -1;
			t.dst_handle = rd.handle;
			t.src_handle = ru.handle;
			if (ioctl(nic, P2PRDMA_IOCTL_TRANSFER, &t))
				m.status = -errno;
			m.bytes_via_system = t.bytes_via_system;
			m.dmabuf_mr = rd.handle;
		}
		snprintf(m.nic_pci, sizeof(m.nic_pci), "%04x:%02x:%02x.%x",
			 di.pci_domain & 0xffff, di.pci_bus & 0xff,
			 (di.pci_devfn >> 3) & 0x1f, di.pci_devfn & 7);
	}
	if (try_send_msg(sock, -1, &m))
		return 15;
	/* hold the registration until the parent has checked */
	if (read(sock, &i, 1) < 0)
		return 14;
	if (nic >= 0)
		close(nic);
	if (fd >= 0)
		close(fd);
	return 0;
}

static void test_fd_passing(void)
{
	const size_t size = 3 * 4096;
	struct drm_p2pgpu_gem_create c = {
		.size = size, .placement = P2PGPU_PLACEMENT_VRAM,
	};
	struct drm_p2pgpu_gem_mmap_offset mo = { 0 };
	struct drm_p2pgpu_attachment_info att[8];
	struct drm_p2pgpu_gem_query q = { 0 };
	struct drm_gem_close cl = { 0 };
	struct msg m = { 0 };
	int sv[2], gpu, dmabuf, status, i, found = -1;
	struct stat st;
	uint8_t *cpu;
	pid_t pid;
	uint64_t k;

	gpu = open_p2pgpu();
	igt_require_f(gpu >= 0, "no p2pgpu DRM device\n");
	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_CREATE, &c), 0);
	igt_assert_eq(drmPrimeHandleToFD(gpu, c.handle, DRM_CLOEXEC | DRM_RDWR,
					 &dmabuf), 0);
	igt_assert_eq(fstat(dmabuf, &st), 0);
	igt_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);

	pid = fork();
	igt_assert(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(fdpass_child(sv[1]));
	}
	close(sv[1]);
	m.size = size;
	m.ino = st.st_ino;
	send_msg(sv[0], dmabuf, &m);
	close(dmabuf);		/* only the child holds it now */

	igt_assert_eq(recv_msg(sv[0], &m), -1);
	if (m.status == -ENODEV) {
		/* no NIC: the fd arrived intact, which is what we can check */
		igt_assert_eq((int)write(sv[0], "k", 1), 1);
		igt_assert_eq(waitpid(pid, &status, 0), pid);
		igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			     "child status 0x%x\n", status);
		cl.handle = c.handle;
		drmIoctl(gpu, DRM_IOCTL_GEM_CLOSE, &cl);
		close(gpu);
		igt_skip("no /dev/p2prdma0: the fd was passed and checked, no DMA done\n");
	}
	igt_assert_f(m.status == 0, "child: NIC step failed: %s\n", strerror(-m.status));

	/* the child's NIC must show up as an importer of our buffer */
	q.handle = c.handle;
	q.num_attachments = 8;
	q.attachments = (uintptr_t)att;
	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q), 0);
	igt_assert_f(q.flags & P2PGPU_BO_EXPORTED, "buffer not flagged exported\n");
	for (i = 0; i < (int)q.num_attachments && i < 8; i++)
		if (!strncmp(att[i].importer, m.nic_pci, sizeof(att[i].importer)))
			found = i;
	igt_assert_f(found >= 0, "no attachment by %s (%u attachments)\n",
		     m.nic_pci, q.num_attachments);
	igt_assert_f(m.bytes_via_system ==
		     (att[found].decision == P2PGPU_MAPPING_P2P ? 0 : size),
		     "decision %u but %llu of %zu bytes via system memory\n",
		     att[found].decision, (unsigned long long)m.bytes_via_system,
		     size);

	/*
	 * and the data it DMA'd must be in our buffer, read between
	 * DMA_BUF_IOCTL_SYNCs as the dma-buf contract asks (a staged mapping
	 * may bounce: swiotlb); the handle gives the same dma-buf back
	 */
	mo.handle = c.handle;
	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_MMAP_OFFSET, &mo), 0);
	cpu = mmap(NULL, size, PROT_READ, MAP_SHARED, gpu, (off_t)mo.offset);
	igt_assert(cpu != MAP_FAILED);
	igt_assert_eq(drmPrimeHandleToFD(gpu, c.handle, DRM_CLOEXEC, &dmabuf), 0);
	p2p_cpu_begin(dmabuf, DMA_BUF_SYNC_READ);
	for (k = 0; k < size; k++)
		igt_assert_f(cpu[k] == pat(k), "byte %llu: 0x%02x, expected 0x%02x\n",
			     (unsigned long long)k, cpu[k], pat(k));
	p2p_cpu_end(dmabuf, DMA_BUF_SYNC_READ);
	close(dmabuf);
	munmap(cpu, size);

	igt_assert_eq((int)write(sv[0], "k", 1), 1);
	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		     "child status 0x%x\n", status);
	close(sv[0]);

	/* the child is gone: its attachment must be gone too */
	q.num_attachments = 8;
	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_P2PGPU_GEM_QUERY, &q), 0);
	igt_assert_eq(q.num_attachments, 0);
	cl.handle = c.handle;
	igt_assert_eq(drmIoctl(gpu, DRM_IOCTL_GEM_CLOSE, &cl), 0);
	close(gpu);
}

/* ------------------------------------------------------------------ */

static void test_topology_json(void)
{
	const char *args[] = { "topology", "--json", NULL };
	const char *dev_args[] = { "devices", "--json", NULL };
	const char *want_decision, *want_reason;
	struct jval *top, *devs, *pairs, *gpus, *nics;
	int rc, i, np2p = 0, nstaged = 0;
	char *out;

	require_drivers();
	rc = run_ctl(&out, dev_args);
	devs = jparse(out);
	igt_require_f(rc != 3, "p2pctl devices: no GPU or no NIC bound\n");
	igt_assert_eq(rc, 0);

	rc = run_ctl(&out, args);
	top = jparse(out);
	igt_assert_eq(rc, 0);
	gpus = jget(top, "gpus");
	nics = jget(top, "nics");
	pairs = jget(top, "pairs");
	igt_assert(gpus && gpus->t == J_ARR && gpus->n >= 1);
	igt_assert(nics && nics->t == J_ARR && nics->n >= 1);
	igt_assert(pairs && pairs->t == J_ARR);
	igt_assert_eq(pairs->n, gpus->n * nics->n);
	igt_assert_eq(jget(devs, "gpus")->n, gpus->n);
	igt_assert_eq(jget(devs, "nics")->n, nics->n);
	for (i = 0; i < gpus->n; i++) {
		igt_assert(pci_addr_ok(jgets(gpus->v[i], "pci")));
		igt_assert(jgetn(gpus->v[i], "vram_size") > 0);
	}
	for (i = 0; i < nics->n; i++)
		igt_assert(pci_addr_ok(jgets(nics->v[i], "pci")));
	for (i = 1; i < gpus->n; i++)
		igt_assert_f(strcmp(jgets(gpus->v[i - 1], "pci"), jgets(gpus->v[i], "pci")) < 0,
			     "gpu%d %s listed before gpu%d %s: not PCI order\n", i - 1,
			     jgets(gpus->v[i - 1], "pci"), i, jgets(gpus->v[i], "pci"));
	{
		/* the last GPU chosen by its PCI address, not its index */
		const char *pci = jgets(gpus->v[gpus->n - 1], "pci");
		const char *one[] = { "topology", "--json", "--gpu", pci, NULL };
		struct jval *sel, *sp;
		char *o1;

		igt_assert_eq(run_ctl(&o1, one), 0);
		sel = jparse(o1);
		sp = jget(sel, "pairs");
		igt_assert_f(sp && sp->n == nics->n, "--gpu %s: %d pairs, expected %d\n",
			     pci, sp ? sp->n : -1, nics->n);
		for (i = 0; i < sp->n; i++)
			igt_assert_f(!strcmp(jgets(sp->v[i], "gpu_pci"), pci),
				     "--gpu %s probed %s\n", pci, jgets(sp->v[i], "gpu_pci"));
	}

	expected(&want_decision, &want_reason);
	for (i = 0; i < pairs->n; i++) {
		struct jval *p = pairs->v[i];
		const char *dec, *rea;
		double dist, via, bytes;

		igt_assert_f(jgetb(p, "ok"), "pair %d failed: %s at %s\n", i,
			     jgets(p, "error"), jgets(p, "failed_step"));
		igt_assert(jgetb(p, "verified"));
		igt_assert(pci_addr_ok(jgets(p, "gpu_pci")));
		igt_assert(pci_addr_ok(jgets(p, "nic_pci")));
		dec = jgets(p, "decision");
		rea = jgets(p, "reason");
		dist = jgetn(p, "distance");
		via = jgetn(p, "bytes_via_system");
		bytes = jgetn(p, "bytes");
		igt_assert(dec && rea);
		igt_assert(jgets(p, "explanation") && *jgets(p, "explanation"));
		igt_assert(bytes > 0);
		if (!strcmp(dec, "p2p")) {
			np2p++;
			igt_assert_f(!strcmp(rea, "none"), "p2p with reason %s\n", rea);
			igt_assert_f(dist >= 0, "p2p at distance %g\n", dist);
			igt_assert_f(via == 0, "p2p but %g bytes via system memory\n", via);
			igt_assert(!strcmp(jgets(p, "nic_backing"), "peer"));
		} else {
			igt_assert_f(!strcmp(dec, "staged"), "decision '%s'\n", dec);
			nstaged++;
			igt_assert_f(strcmp(rea, "none"), "staged with no reason\n");
			igt_assert_f(via == bytes, "staged but %g of %g bytes via system\n",
				     via, bytes);
			igt_assert(!strcmp(jgets(p, "nic_backing"), "system"));
		}
		if (want_decision) {
			igt_assert_f(!strcmp(dec, want_decision),
				     "topology %s: decision %s, expected %s\n",
				     topology(), dec, want_decision);
			igt_assert_f(!strcmp(rea, want_reason),
				     "topology %s: reason %s, expected %s\n",
				     topology(), rea, want_reason);
		}
	}
	if (!strcmp(topology(), "multi"))
		igt_assert_f(np2p >= 1 && nstaged >= 1,
			     "multi: %d p2p and %d staged pairs\n", np2p, nstaged);
}

static void test_reasons(void)
{
	const char *args[] = { "explain", "--all", "--json", NULL };
	/* a code this p2pctl does not know is a usage error (exit 2), not an explanation */
	const char *unk_args[] = { "explain", "--reason", "4242", "--json", NULL };
	/* a phrase each explanation must contain: the fix, not just the name */
	static const char *const must[] = {
		[P2PGPU_REASON_NONE] = "peer-to-peer",
		[P2PGPU_REASON_IMPORTER_NO_P2P] = "allow_peer2peer",
		[P2PGPU_REASON_IMPORTER_NOT_PCI] = "PCI",
		[P2PGPU_REASON_NO_COMMON_SWITCH] = "switch",
		[P2PGPU_REASON_ACS_REDIRECT] = "disable_acs_redir",
		[P2PGPU_REASON_KERNEL_NO_P2PDMA] = "CONFIG_PCI_P2PDMA=y",
		[P2PGPU_REASON_DISABLED_BY_PARAM] = "p2pgpu.p2p=1",
		[P2PGPU_REASON_PINNED_IN_SYSTEM] = "pinned",
		[P2PGPU_REASON_SYSTEM_PLACEMENT] = "P2PGPU_PLACEMENT_VRAM",
		[P2PGPU_REASON_MAP_REFUSED] = "EREMOTEIO",
	};
	const int nreasons = (int)(sizeof(must) / sizeof(must[0]));
	struct jval *all;
	char *out;
	int i, k, rc;

	rc = run_ctl(&out, unk_args);
	igt_assert_f(rc == 2, "explain --reason 4242: exit %d, expected 2 (unknown code)\n", rc);
	igt_assert_f(!*out, "explain --reason 4242 printed on stdout: %s\n", out);
	free(out);

	igt_assert_eq(run_ctl(&out, args), 0);
	all = jparse(out);
	igt_assert(all->t == J_ARR);
	igt_assert_f(all->n >= nreasons, "%d reasons explained, uapi has %d\n",
		     all->n, nreasons);
	for (i = 0; i < nreasons; i++) {
		struct jval *r = all->v[i];
		const char *name = jgets(r, "name"), *text = jgets(r, "explanation");

		igt_assert_eq((int)jgetn(r, "code"), i);
		igt_assert_f(name && *name && strcmp(name, "unknown"),
			     "reason %d has no name\n", i);
		igt_assert_f(text && strlen(text) > 40 && !strstr(text, "unknown reason code"),
			     "reason %d (%s) has no real explanation\n", i, name);
		igt_assert_f(strstr(text, must[i]),
			     "reason %d (%s): explanation lacks \"%s\": %s\n",
			     i, name, must[i], text);
		for (k = 0; k < i; k++)
			igt_assert_f(strcmp(name, jgets(all->v[k], "name")),
				     "reasons %d and %d share the name %s\n", k, i, name);
	}
}

/* p2pctl.c's pattern(): the bytes `p2pctl share` has the NIC write */
static uint8_t share_pattern(uint64_t i)
{
	uint64_t x = (i / 8) * 0x9e3779b97f4a7c15ull + 0x5851f42d4c957f2dull;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	return (uint8_t)(x >> ((i % 8) * 8));
}

/*
 * What p2pctl share printed against what the hardware saw: the NIC's last
 * DMA (edu's registers) is its write of the buffer's last chunk; a "p2p"
 * decision with 0 bytes through system memory must have written the BAR,
 * and the BAR must hold those bytes; "staged" must not have.
 */
static void observe_share(struct jval *r)
{
	const char *nic = jgets(r, "nic_pci"), *gpu = jgets(r, "gpu_pci");
	uint64_t size = (uint64_t)jgetn(r, "size"), addr, phys, off;
	bool p2p = !strcmp(jgets(r, "decision"), "p2p");
	struct obs_gpu g;
	struct obs_nic n;
	struct obs_dma d;
	enum obs_where w;
	int gi;

	igt_assert(nic && gpu);
	igt_assert_f(obs_nic_init(&n, nic) == 0 && obs_gpu_init(&g, gpu, true) == 0,
		     "cannot map %s resource0 or %s resource2 (iomem=relaxed?): %s\n",
		     nic, gpu, strerror(errno));
	obs_last_dma(&n, &d);
	addr = obs_dma_addr(&d);
	w = obs_classify(nic, &g, 1, addr, d.count, &gi, &phys);
	igt_info("p2pctl share said %s, %.0f bytes via system memory; edu's last DMA: CMD %#" PRIx64
		 " SRC %#" PRIx64 " DST %#" PRIx64 " COUNT %#" PRIx64 ": %s (BAR2 %#" PRIx64 "-%#" PRIx64 ")\n",
		 jgets(r, "decision"), jgetn(r, "bytes_via_system"), d.cmd, d.src,
		 d.dst, d.count, obs_where_str(w), g.bar_start, g.bar_end);
	igt_assert_f((d.cmd & OBS_EDU_CMD_TO_RAM) && !(d.cmd & OBS_EDU_CMD_RUN) &&
		     d.src == OBS_EDU_BUF && d.count && d.count <= size,
		     "the NIC's last DMA is not share's finished write: CMD %#" PRIx64 " SRC %#" PRIx64 " COUNT %#" PRIx64 "\n",
		     d.cmd, d.src, d.count);
	if (!p2p) {
		igt_assert_f(w == OBS_WHERE_SYSTEM || w == OBS_WHERE_IOVA_SYSTEM ||
			     w == OBS_WHERE_IOVA_UNMAPPED,
			     "p2pctl share said staged, but the NIC wrote %#" PRIx64 " = %s (BAR2 %#" PRIx64 "-%#" PRIx64 ")\n",
			     addr, obs_where_str(w), g.bar_start, g.bar_end);
	} else if (obs_iommu_on(nic)) {
		/*
		 * share has exited: under iommu.strict its IOVAs are gone.
		 * A raw BAR address would have DMAR-faulted; p2pbuf_observe
		 * translates a live one.
		 */
		igt_assert_f(w != OBS_WHERE_BAR && w != OBS_WHERE_IOVA_SYSTEM,
			     "p2pctl share said p2p, but the NIC wrote %#" PRIx64 " = %s\n",
			     addr, obs_where_str(w));
	} else {
		igt_assert_f(w == OBS_WHERE_BAR,
			     "p2pctl share said p2p with %.0f bytes via system memory, but the NIC wrote %#" PRIx64
			     " = %s, outside BAR2 %#" PRIx64 "-%#" PRIx64 "\n",
			     jgetn(r, "bytes_via_system"), addr, obs_where_str(w),
			     g.bar_start, g.bar_end);
		/* the freed buffer's bytes stay in VRAM: nothing clears it */
		off = phys - g.bar_start;
		for (uint64_t i = 0; i < d.count; i++) {
			uint8_t b = g.bar[off + i], want = share_pattern(size - d.count + i);

			igt_assert_f(b == want,
				     "BAR2 offset %#" PRIx64 " holds %#04x, p2pctl share wrote %#04x there\n",
				     off + i, b, want);
		}
	}
	obs_gpu_fini(&g);
	obs_nic_fini(&n);
}

static void test_share(void)
{
	const char *args[] = { "share", "--size", "16384", NULL };
	const char *jargs[] = { "share", "--size", "20480", "--json", NULL };
	const char *want_decision, *want_reason;
	struct jval *r;
	char *out;
	int rc;

	require_drivers();
	rc = run_ctl(&out, args);
	igt_require_f(rc != 3, "p2pctl share: no GPU or no NIC bound\n");
	igt_assert_f(rc == 0, "p2pctl share exited %d\n", rc);
	igt_assert(strstr(out, "data verified"));
	igt_assert(strstr(out, "Decision:"));
	igt_assert(strstr(out, "Bytes through system memory:"));
	free(out);

	rc = run_ctl(&out, jargs);
	igt_assert_f(rc == 0, "p2pctl share --json exited %d\n", rc);
	r = jparse(out);
	igt_assert(jgetb(r, "verified"));
	igt_assert_eq((int)jgetn(r, "mismatched_bytes"), 0);
	igt_assert_eq((int)jgetn(r, "size"), 20480);
	igt_assert(jgets(r, "decision"));
	if (!strcmp(jgets(r, "decision"), "p2p"))
		igt_assert_eq((int)jgetn(r, "bytes_via_system"), 0);
	else
		igt_assert_eq((int)jgetn(r, "bytes_via_system"), 20480);
	observe_share(r);
	expected(&want_decision, &want_reason);
	if (want_decision) {
		igt_assert_f(!strcmp(jgets(r, "decision"), want_decision),
			     "topology %s: decision %s\n", topology(), jgets(r, "decision"));
		igt_assert_f(!strcmp(jgets(r, "reason"), want_reason),
			     "topology %s: reason %s\n", topology(), jgets(r, "reason"));
	}
}

static void test_usage(void)
{
	const char *none[] = { "--help", NULL };
	const char *bad[] = { "no-such-command", NULL };
	const char *badopt[] = { "share", "--size", "lots", NULL };
	static const char *const cmds[] = { "devices", "topology", "explain", "share" };
	char *out;
	unsigned int i;

	igt_assert_eq(run_ctl(&out, none), 0);
	igt_assert(strstr(out, "EXIT STATUS"));
	free(out);
	igt_assert_eq(run_ctl(NULL, bad), 2);
	igt_assert_eq(run_ctl(NULL, badopt), 2);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *h[] = { cmds[i], "--help", NULL };

		igt_assert_eq(run_ctl(&out, h), 0);
		igt_assert(strstr(out, "SYNOPSIS") && strstr(out, "EXIT STATUS"));
		free(out);
	}
}

igt_main
{
	igt_fixture {
		find_p2pctl();
	}

	igt_describe("p2pctl: man-page help for every command, exit 2 on misuse");
	igt_subtest("usage")
		test_usage();

	igt_describe("Every P2PGPU_REASON_* has a distinct name and an explanation with the fix");
	igt_subtest("reason-explanations")
		test_reasons();

	igt_describe("A dma-buf passed over SCM_RIGHTS to another process is the same buffer: "
		     "its NIC registration shows up as an attachment and its DMA lands in VRAM");
	igt_subtest("fd-passing")
		test_fd_passing();

	igt_describe("p2pctl topology --json is valid JSON and matches the VM topology");
	igt_subtest("topology-json")
		test_topology_json();

	igt_describe("p2pctl share: two processes, one dma-buf, data verified");
	igt_subtest("share")
		test_share();
}
