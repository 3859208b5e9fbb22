#include "kv.h"

#include <string.h>

#include "buf.h"
#include "hal.h"

bool kv_set_u64(const char *key, uint64_t v)
{
    char mem[24];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_u64(&b, v);
    return hal_store_set(key, mem, b.len);
}

bool kv_get_u64(const char *key, uint64_t *v)
{
    char mem[24];
    int n = hal_store_get(key, mem, sizeof mem - 1);
    if (n <= 0 || n > 20) return false;
    uint64_t acc = 0;
    for (int i = 0; i < n; i++) {
        if (mem[i] < '0' || mem[i] > '9') return false;
        uint64_t d = (uint64_t)(mem[i] - '0');
        if (acc > (UINT64_MAX - d) / 10u) return false;
        acc = acc * 10u + d;
    }
    *v = acc;
    return true;
}

bool kv_get_str(const char *key, char *out, size_t cap)
{
    int n = hal_store_get(key, out, cap - 1);
    if (n < 0) return false;
    out[n] = '\0';
    return strlen(out) == (size_t)n; /* no embedded NUL */
}

bool kv_set_str(const char *key, const char *s) { return hal_store_set(key, s, strlen(s)); }
