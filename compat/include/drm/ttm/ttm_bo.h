/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-in for kernels before 6.4, which split <drm/ttm/ttm_bo.h> into
 * these two. Found only through -idirafter: a kernel's own ttm_bo.h wins.
 */
#include <drm/ttm/ttm_bo_api.h>
#include <drm/ttm/ttm_bo_driver.h>
