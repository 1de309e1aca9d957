/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A position-keyed test pattern, and an exact check of it.
 *
 * Every aligned 8-byte word of the pattern is a keyed hash (splitmix64's
 * finaliser) of (seed, the word's byte position). Nothing repeats: a
 * wrong buffer (another seed), an ignored or wrong offset, swapped or
 * permuted pages, a stale copy (an older seed) or a shifted copy all read
 * different bytes. Sums, XORs and short-period patterns are blind to most
 * of those; comparing every byte is not.
 *
 * @pos is the byte's position in the pattern's own coordinates, e.g. its
 * offset in the whole buffer: a sub-range starting at byte R of the buffer
 * is checked with first = R, so a range that ignores its offset fails.
 */
#ifndef P2PBUF_PATTERN_H
#define P2PBUF_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "igt_subset.h"

static inline uint64_t p2p_pat_word(uint64_t seed, uint64_t word_pos)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + word_pos * 0xd6e8feb86659fd93ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* the pattern's byte at position @pos */
static inline uint8_t p2p_pat_byte(uint64_t seed, uint64_t pos)
{
	return (uint8_t)(p2p_pat_word(seed, pos & ~7ULL) >> (8 * (pos & 7)));
}

/*
 * Writes bytes [first, first + n) of pattern @seed to @p. Through a
 * volatile pointer: @p may be an uncached BAR mapping.
 */
static inline void p2p_pat_fill(volatile void *p, size_t n, uint64_t seed,
				uint64_t first)
{
	volatile uint8_t *b = p;
	size_t i = 0;

	/* whole aligned words where possible: fast, also through the BAR */
	while (i < n && ((first + i) & 7))
		b[i] = p2p_pat_byte(seed, first + i), i++;
	if (!(((uintptr_t)(b + i)) & 7)) {
		for (; i + 8 <= n; i += 8)
			*(volatile uint64_t *)(b + i) = p2p_pat_word(seed, first + i);
	}
	for (; i < n; i++)
		b[i] = p2p_pat_byte(seed, first + i);
}

/*
 * The first byte of @p (n bytes) that differs from the pattern, as an
 * index into @p, or -1 if all match.
 */
static inline long p2p_pat_mismatch(const volatile void *p, size_t n,
				    uint64_t seed, uint64_t first)
{
	const volatile uint8_t *b = p;
	size_t i = 0;

	while (i < n && ((first + i) & 7)) {
		if (b[i] != p2p_pat_byte(seed, first + i))
			return (long)i;
		i++;
	}
	if (!(((uintptr_t)(b + i)) & 7)) {
		for (; i + 8 <= n; i += 8)
			if (*(const volatile uint64_t *)(b + i) !=
			    p2p_pat_word(seed, first + i))
				break;
	}
	for (; i < n; i++)
		if (b[i] != p2p_pat_byte(seed, first + i))
			return (long)i;
	return -1;
}

/*
 * Asserts @p holds bytes [first, first + n) of pattern @seed, naming the
 * first mismatching position, what was read and what was expected.
 */
#define p2p_pat_assert(p, n, seed, first, what...) \
	do { \
		const volatile uint8_t *__pp = (const volatile uint8_t *)(p); \
		uint64_t __ps = (seed), __pf = (first); \
		long __pm = p2p_pat_mismatch(__pp, (n), __ps, __pf); \
		char __pw[160]; \
		snprintf(__pw, sizeof(__pw), what); \
		igt_assert_f(__pm < 0, \
			     "%s: byte %ld (position %#llx) reads %#04x, expected %#04x (pattern seed %#llx)\n", \
			     __pw, __pm, (unsigned long long)(__pf + __pm), \
			     __pm < 0 ? 0 : __pp[__pm], \
			     __pm < 0 ? 0 : p2p_pat_byte(__ps, __pf + __pm), \
			     (unsigned long long)__ps); \
	} while (0)

#endif /* P2PBUF_PATTERN_H */
