/* SPDX-License-Identifier: MIT */
/*
 * What every p2pctl command parses the same way: sizes, counts, device
 * choices (index or PCI address), usage errors, and the hint that follows
 * a failed step.
 */
#ifndef P2PCTL_CLI_H
#define P2PCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "p2pbuf.h"

/* exit codes */
#define EX_OK		0
#define EX_FAIL		1
#define EX_USAGE	2
#define EX_NODEV	3
#define EX_MISMATCH	4

#define CLI_MAX_SIZE	(64ULL << 30)

/* "p2pctl CMD: <message>" and "Try 'p2pctl CMD --help'." on stderr */
void cli_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A byte count: decimal (or 0x hex) digits with an optional K, M, G or T
 * suffix (binary multiples; KiB, MB, ... spelled out too). Fractions,
 * signs, overflow and values outside [@lo, @hi] are refused with a
 * message naming @opt. 0 or -1 (message printed).
 */
int cli_size(const char *cmd, const char *opt, const char *s, uint64_t lo,
	     uint64_t hi, uint64_t *v);

/* A plain count in [@lo, @hi], no suffix. 0 or -1 (message printed). */
int cli_count(const char *cmd, const char *opt, const char *s, uint64_t lo,
	      uint64_t hi, uint64_t *v);

/* A device choice: an index (gpu0 is 0) or a PCI address. */
struct cli_dev {
	bool set;
	int index;				/* -1 when given by address */
	char pci[P2PBUF_PCI_ADDR_LEN];
};

/* Checks the syntax of --gpu/--nic VALUE. 0 or -1 (message printed). */
int cli_dev_parse(const char *cmd, const char *opt, const char *s,
		  struct cli_dev *d);

/*
 * The index among @n devices (@pci[i] their addresses) that @d names, or
 * -1 after printing "there is no gpu99 (found 2 GPUs: gpu0 ..., gpu1 ...)".
 * @kind is "gpu" or "nic".
 */
int cli_dev_resolve(const char *kind, const struct cli_dev *d,
		    const char *const *pci, int n);

/* One "  hint: ..." line for @err at @step ("register the dma-buf on the
 * NIC", "create the VRAM buffer", ...), if there is something to say. */
void cli_hint(int err, const char *step);

#endif
