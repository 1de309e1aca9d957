// SPDX-License-Identifier: MIT
/* p2pctl: see cli.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

void cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "p2pctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'p2pctl %s%s--help'.\n", cmd ? cmd : "",
		cmd ? " " : "");
}

/*
 * getopt hands a required argument the next word even when that is the
 * next option (`--gpu --json`): that is a missing value, not a bad one.
 */
static bool missing(const char *cmd, const char *opt, const char *s,
		    const char *wants)
{
	if (s && *s && !(s[0] == '-' && (s[1] < '0' || s[1] > '9')))
		return false;
	if (s && *s)
		cli_usage(cmd, "%s requires a value (%s); '%s' is the next option", opt,
			  wants, s);
	else
		cli_usage(cmd, "%s requires a value (%s)", opt, wants);
	return true;
}

static const struct {
	const char *name;
	unsigned int shift;
} suffixes[] = {
	{ "", 0 },
	{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
	{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
	{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
	{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	{ "b", 0 },
};

/* @v with the largest suffix that keeps it whole: 65536 -> "64K" */
static const char *size_str(uint64_t v, char *b, size_t n)
{
	static const char u[] = "KMGT";
	int i = -1;

	while (v && !(v & 1023) && i < 3) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(b, n, "%" PRIu64, v);
	else
		snprintf(b, n, "%" PRIu64 "%c", v, u[i]);
	return b;
}

/* digits of @s in base 10 or (0x) 16 into @v; the end in @end. -ERANGE on overflow. */
static int digits(const char *s, uint64_t *v, const char **end)
{
	int base = 10;
	uint64_t x = 0;
	const char *p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && p[2]) {
		base = 16;
		p += 2;
	}
	if (!*p || !strchr(base == 16 ? "0123456789abcdefABCDEF" : "0123456789", *p))
		return -EINVAL;
	for (; *p; p++) {
		const char *dig = "0123456789abcdef";
		const char *q = strchr(dig, *p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		unsigned int d;

		if (!q || !*q || (d = (unsigned int)(q - dig)) >= (unsigned int)base)
			break;
		if (x > (UINT64_MAX - d) / base)
			return -ERANGE;
		x = x * base + d;
	}
	*v = x;
	*end = p;
	return 0;
}

static int range_err(const char *cmd, const char *opt, const char *s,
		     uint64_t lo, uint64_t hi, bool size)
{
	char a[32], b[32];

	if (size)
		cli_usage(cmd, "%s: '%s' is out of range (%s to %s bytes)", opt, s,
			  size_str(lo, a, sizeof(a)), size_str(hi, b, sizeof(b)));
	else
		cli_usage(cmd, "%s: '%s' is out of range (%" PRIu64 " to %" PRIu64 ")",
			  opt, s, lo, hi);
	return -1;
}

int cli_size(const char *cmd, const char *opt, const char *s, uint64_t lo,
	     uint64_t hi, uint64_t *v)
{
	const char *end;
	uint64_t x;
	size_t i;
	int ret;

	if (missing(cmd, opt, s, "a byte count like 16384, 64K or 1M"))
		return -1;
	if (*s == '-') {
		cli_usage(cmd, "%s: '%s' is negative; it wants a byte count like 16384, 64K or 1M",
			  opt, s);
		return -1;
	}
	ret = digits(s, &x, &end);
	if (ret == -ERANGE)
		return range_err(cmd, opt, s, lo, hi, true);
	if (ret) {
		cli_usage(cmd, "%s: '%s' is not a byte count (like 16384, 64K or 1M)", opt, s);
		return -1;
	}
	if (*end == '.' || *end == ',') {
		cli_usage(cmd, "%s: '%s' has a fraction; give whole bytes with an optional K, M or G suffix (1536K, not 1.5M)",
			  opt, s);
		return -1;
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (!strcasecmp(end, suffixes[i].name))
			break;
	if (i == sizeof(suffixes) / sizeof(suffixes[0])) {
		cli_usage(cmd, "%s: '%s' has an unknown suffix '%s' (K, M, G or T)", opt, s, end);
		return -1;
	}
	if (suffixes[i].shift && x > (UINT64_MAX >> suffixes[i].shift))
		return range_err(cmd, opt, s, lo, hi, true);
	x <<= suffixes[i].shift;
	if (x < lo || x > hi)
		return range_err(cmd, opt, s, lo, hi, true);
	*v = x;
	return 0;
}

int cli_count(const char *cmd, const char *opt, const char *s, uint64_t lo,
	      uint64_t hi, uint64_t *v)
{
	const char *end;
	uint64_t x;
	char w[64];
	int ret;

	snprintf(w, sizeof(w), "a number from %" PRIu64 " to %" PRIu64, lo, hi);
	if (missing(cmd, opt, s, w))
		return -1;
	if (*s == '-') {
		cli_usage(cmd, "%s: '%s' is negative; it wants a number from %" PRIu64
			  " to %" PRIu64, opt, s, lo, hi);
		return -1;
	}
	ret = digits(s, &x, &end);
	if (ret == -ERANGE)
		return range_err(cmd, opt, s, lo, hi, false);
	if (ret || *end) {
		cli_usage(cmd, "%s: '%s' is not a whole number (it wants %" PRIu64 " to %" PRIu64 ")",
			  opt, s, lo, hi);
		return -1;
	}
	if (x < lo || x > hi)
		return range_err(cmd, opt, s, lo, hi, false);
	*v = x;
	return 0;
}

int cli_dev_parse(const char *cmd, const char *opt, const char *s,
		  struct cli_dev *d)
{
	const char *end;
	uint64_t x;

	memset(d, 0, sizeof(*d));
	d->index = -1;
	if (missing(cmd, opt, s, "an index like 0, or a PCI address like 0000:03:00.0"))
		return -1;
	if (!p2pbuf_pci_parse(s, d->pci)) {
		d->set = true;
		return 0;
	}
	/* "gpu1" as `devices` prints it is an index too */
	if (!strncmp(s, opt + 2, 3))
		s += 3;
	if (*s != '-' && !digits(s, &x, &end) && !*end && x <= INT32_MAX) {
		d->set = true;
		d->index = (int)x;
		return 0;
	}
	cli_usage(cmd, "%s: '%s' is neither a device index (0, 1, ...) nor a PCI address (0000:03:00.0)",
		  opt, s);
	return -1;
}

int cli_dev_resolve(const char *kind, const struct cli_dev *d,
		    const char *const *pci, int n)
{
	int i;

	if (!d->set)
		return n ? 0 : -1;
	for (i = 0; i < n; i++)
		if (d->index < 0 ? !strcmp(pci[i], d->pci) : i == d->index)
			return i;
	if (d->index >= 0)
		fprintf(stderr, "p2pctl: there is no %s%d (found %d)", kind, d->index, n);
	else
		fprintf(stderr, "p2pctl: there is no %s at %s (found %d)", kind, d->pci, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s %s%d %s", i ? "," : ":", kind, i, pci[i]);
	fprintf(stderr, "\n");
	return -1;
}

static bool has(const char *step, const char *what)
{
	return step && strstr(step, what);
}

void cli_hint(int err, const char *step)
{
	const char *h = NULL;

	if (err > 0)
		err = -err;
	switch (err) {
	case -EPROTO:
		if (has(step, "open"))
			h = "the loaded p2pgpu speaks another interface version than this p2pctl "
			    "(`p2pctl devices` shows it); install matching modules and tools "
			    "from one p2pbuf version";
		break;
	case -EOPNOTSUPP:
	case -524:
		h = "the exporter refused this importer; run `p2pctl explain`";
		break;
	case -ENOSPC:
		if (has(step, "dma-buf"))
			h = "the GPU had no room to pin the buffer for the NIC: pinned VRAM is at "
			    "p2pgpu's cap (module parameter vram_pin_limit_mb; `p2pctl devices` "
			    "shows pinned and the limit), not necessarily full VRAM";
		else if (has(step, "create"))
			h = "VRAM is full of pinned buffers; try a smaller --size or free some";
		break;
	case -ENOMEM:
		if (has(step, "dma-buf"))
			h = "the NIC could not register it: out of memory, or a region pinned in "
			    "system memory is past your locked-memory limit (`ulimit -l`)";
		else if (has(step, "user memory"))
			h = "pinning user memory is past your locked-memory limit (`ulimit -l`; "
			    "CAP_IPC_LOCK lifts it) or out of memory; try a smaller --size";
		else if (has(step, "create"))
			h = "out of memory while creating the buffer; try a smaller --size";
		break;
	case -E2BIG:
		h = "--size is larger than the VRAM (see `p2pctl devices`)";
		break;
	case -ETIMEDOUT:
		h = "the NIC's DMA engine did not finish in time; see `dmesg`";
		break;
	case -EACCES:
	case -EPERM:
		if (has(step, "NIC"))
			h = "no permission on /dev/p2prdma*: join group rdma (udev rule "
			    "70-p2prdma.rules) or run as root";
		else
			h = "no permission on the GPU's DRM node: join group render or run as root";
		break;
	case -ENODEV:
		h = "the device went away (unbound or removed); `p2pctl devices` lists what is there";
		break;
	case -ENOENT:
		if (has(step, "attachment"))
			h = "the GPU driver lists no attachment for this NIC: the NIC did not map "
			    "the buffer; see `dmesg`";
		break;
	default:
		break;
	}
	if (!h && err)
		h = "the driver's message is in `dmesg`";
	if (h)
		fprintf(stderr, "  hint: %s.\n", h);
}
