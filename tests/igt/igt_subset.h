/* SPDX-License-Identifier: MIT */
/*
 * The subset of IGT 1.27.1's core API (igt_core.h, drmtest.h) that p2pbuf's
 * tests use, declared by hand: Debian ships the IGT runtime (libigt.so.0 in
 * intel-gpu-tools) but not its headers. Macros and prototypes follow
 * igt_core.h of that release, so the binaries link against and behave with
 * the real runtime (subtest enumeration, --run-subtest, exit codes 0/77/98).
 *
 * Where a full IGT with headers is installed (pkg-config igt-gpu-tools),
 * the Makefile defines HAVE_IGT_HEADERS and this file includes those.
 */
#ifndef P2PBUF_IGT_SUBSET_H
#define P2PBUF_IGT_SUBSET_H

#ifdef HAVE_IGT_HEADERS
#include <igt.h>
#else

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define IGT_LOG_DOMAIN (NULL)

enum igt_log_level {
	IGT_LOG_DEBUG,
	IGT_LOG_INFO,
	IGT_LOG_WARN,
	IGT_LOG_CRITICAL,
	IGT_LOG_NONE,
};

struct option;
typedef int (*igt_opt_handler_t)(int opt, int opt_index, void *data);

extern sigjmp_buf igt_subtest_jmpbuf;

int igt_subtest_init_parse_opts(int *argc, char **argv,
				const char *extra_short_opts,
				const struct option *extra_long_opts,
				const char *help_str,
				igt_opt_handler_t extra_opt_handler,
				void *handler_data);
bool __igt_run_subtest(const char *subtest_name, const char *file,
		       const int line);
bool __igt_fixture(void);
void __igt_fixture_complete(void);
__attribute__((noreturn)) void __igt_fixture_end(void);
void igt_success(void);
__attribute__((noreturn)) void igt_fail(int exitcode);
__attribute__((noreturn)) void igt_exit(void);
__attribute__((noreturn, format(printf, 1, 2))) void igt_skip(const char *f, ...);
__attribute__((noreturn, format(printf, 6, 7)))
void __igt_fail_assert(const char *domain, const char *file, const int line,
		       const char *func, const char *assertion,
		       const char *format, ...);
__attribute__((noreturn, format(printf, 5, 6)))
void __igt_skip_check(const char *file, const int line, const char *func,
		      const char *check, const char *format, ...);
__attribute__((format(printf, 3, 4)))
void igt_log(const char *domain, enum igt_log_level level,
	     const char *format, ...);
__attribute__((format(printf, 1, 2))) void igt_describe_f(const char *fmt, ...);
const char *igt_subtest_name(void);
bool igt_only_list_subtests(void);
bool __igt_fork(void);
int __igt_waitchildren(void);
void igt_waitchildren(void);

#define __igt_tokencat2(x, y) x ## y
#define igt_tokencat(x, y) __igt_tokencat2(x, y)
#define igt_unique(prefix) igt_tokencat(prefix, __LINE__)

#define igt_main \
	static void igt_tokencat(__real_main, __LINE__)(void); \
	int main(int argc, char **argv) \
	{ \
		igt_subtest_init_parse_opts(&argc, argv, NULL, NULL, NULL, \
					    NULL, NULL); \
		igt_tokencat(__real_main, __LINE__)(); \
		igt_exit(); \
	} \
	static void igt_tokencat(__real_main, __LINE__)(void)

#define igt_subtest(name) \
	for (; __igt_run_subtest((name), __FILE__, __LINE__) && \
	       (sigsetjmp(igt_subtest_jmpbuf, 1) == 0); \
	       igt_success())

#define igt_fixture \
	for (volatile int igt_unique(__tmpint) = 0; \
	     igt_unique(__tmpint) < 1 && \
	     (__igt_fixture() && (sigsetjmp(igt_subtest_jmpbuf, 1) == 0)); \
	     igt_unique(__tmpint)++, __igt_fixture_complete())

#define igt_describe(dsc) igt_describe_f("%s", dsc)

#define igt_fork(child, num_children) \
	for (int child = 0; child < (num_children); child++) \
		for (; __igt_fork(); exit(0))

#define igt_debug(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_DEBUG, f)
#define igt_info(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_INFO, f)
#define igt_warn(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_WARN, f)

#define igt_assert(expr) \
	do { \
		if (!(expr)) \
			__igt_fail_assert(IGT_LOG_DOMAIN, __FILE__, __LINE__, \
					  __func__, #expr, NULL); \
	} while (0)

#define igt_assert_f(expr, f...) \
	do { \
		if (!(expr)) \
			__igt_fail_assert(IGT_LOG_DOMAIN, __FILE__, __LINE__, \
					  __func__, #expr, f); \
	} while (0)

#define igt_assert_cmp_t(T, fmt, n1, cmp, ncmp, n2) \
	do { \
		T __n1 = (n1), __n2 = (n2); \
		if (!(__n1 cmp __n2)) \
			__igt_fail_assert(IGT_LOG_DOMAIN, __FILE__, __LINE__, \
					  __func__, #n1 " " #cmp " " #n2, \
					  "error: " fmt " " #ncmp " " fmt "\n", \
					  __n1, __n2); \
	} while (0)

#define igt_assert_eq(n1, n2) igt_assert_cmp_t(int, "%d", n1, ==, !=, n2)
#define igt_assert_neq(n1, n2) igt_assert_cmp_t(int, "%d", n1, !=, ==, n2)
#define igt_assert_lt(n1, n2) igt_assert_cmp_t(int, "%d", n1, <, >=, n2)
#define igt_assert_lte(n1, n2) igt_assert_cmp_t(int, "%d", n1, <=, >, n2)
#define igt_assert_eq_u32(n1, n2) \
	igt_assert_cmp_t(uint32_t, "%#x", n1, ==, !=, n2)
#define igt_assert_eq_u64(n1, n2) \
	igt_assert_cmp_t(unsigned long long, "%#llx", (unsigned long long)(n1), ==, !=, \
			 (unsigned long long)(n2))
#define igt_assert_lte_u64(n1, n2) \
	igt_assert_cmp_t(unsigned long long, "%#llx", (unsigned long long)(n1), <=, >, \
			 (unsigned long long)(n2))

#define igt_require(expr) \
	do { \
		if (!(expr)) \
			__igt_skip_check(__FILE__, __LINE__, __func__, #expr, \
					 NULL); \
	} while (0)

#define igt_require_f(expr, f...) \
	do { \
		if (!(expr)) \
			__igt_skip_check(__FILE__, __LINE__, __func__, #expr, f); \
	} while (0)

#define igt_skip_on_f(expr, f...) igt_require_f(!(expr), f)

/* drmtest.h */
#define DRIVER_VGEM	(1 << 2)
#define DRIVER_ANY	~(DRIVER_VGEM)

int drm_open_driver(int chipset);
int drm_open_driver_render(int chipset);
int __drm_open_driver(int chipset);

#endif /* HAVE_IGT_HEADERS */

/*
 * Asserts that an ioctl-style call fails with exactly @err: the project's
 * errno contract is part of the uapi.
 */
#define p2p_assert_errno(call, err) \
	do { \
		int __r = (call); \
		int __e = errno; \
		igt_assert_f(__r == -1 && __e == (err), \
			     "%s: expected errno %d (%s), got ret %d errno %d (%s)\n", \
			     #call, (err), strerror(err), __r, __e, strerror(__e)); \
	} while (0)

#endif /* P2PBUF_IGT_SUBSET_H */
