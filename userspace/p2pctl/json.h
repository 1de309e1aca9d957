/* SPDX-License-Identifier: MIT */
/* A minimal JSON writer for p2pctl: enough to emit valid, escaped JSON. */
#ifndef P2PCTL_JSON_H
#define P2PCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	bool first[32];		/* no element written yet at this depth */
	bool after_key;
};

void json_init(struct json *j, FILE *f);
void json_begin_obj(struct json *j);
void json_end_obj(struct json *j);
void json_begin_arr(struct json *j);
void json_end_arr(struct json *j);
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);	/* NULL -> null */
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_double(struct json *j, double v);	/* NaN -> null */
void json_null(struct json *j);
/* key + value shorthands */
void json_kstr(struct json *j, const char *k, const char *s);
void json_kint(struct json *j, const char *k, int64_t v);
void json_kuint(struct json *j, const char *k, uint64_t v);
void json_kbool(struct json *j, const char *k, bool v);
void json_kdouble(struct json *j, const char *k, double v);
void json_finish(struct json *j);	/* trailing newline */

#endif
