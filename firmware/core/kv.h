/* kv.h: typed access to hal.h storage. Numbers are stored as decimal text, so a value is
 * readable in the simulator's state directory and survives a change of integer width. */
#ifndef HEARTH_KV_H
#define HEARTH_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool kv_set_u64(const char *key, uint64_t v);
/* False if missing, empty, longer than 20 digits, not all digits, or over UINT64_MAX. */
bool kv_get_u64(const char *key, uint64_t *v);
bool kv_set_str(const char *key, const char *s);
/* NUL-terminated into out; false if missing, too long or holding a NUL. */
bool kv_get_str(const char *key, char *out, size_t cap);

#endif
