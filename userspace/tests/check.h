/* SPDX-License-Identifier: MIT */
/*
 * The host tests' one assertion: a failed CHECK says where and what, and
 * the test goes on (the exit status counts the failures).
 */
#ifndef P2PBUF_TESTS_CHECK_H
#define P2PBUF_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #c); \
			failures++; \
		} \
	} while (0)

#endif
