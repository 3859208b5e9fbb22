/*
 * buf.h: a bounded string builder. Appends never write past the capacity; once something does
 * not fit the builder is marked overflowed and every later append is ignored, so callers check
 * once at the end instead of after each append. Always NUL-terminated (cap >= 1).
 * Also the small JSON writer: keys and string values are escaped per RFC 8259 section 7.
 */
#ifndef HEARTH_BUF_H
#define HEARTH_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
} buf_t;

void buf_init(buf_t *b, char *mem, size_t cap);
void buf_mem(buf_t *b, const void *data, size_t n);
void buf_str(buf_t *b, const char *s);
void buf_char(buf_t *b, char c);
void buf_u64(buf_t *b, uint64_t v);
void buf_i64(buf_t *b, int64_t v);
/* v rounded to `decimals` places (0..6), written without exponent, e.g. 59.87, -0.5, 0.
 * Magnitudes are clamped to 9e15 / 10^decimals (meter readings never get near); NaN is 0. */
void buf_fixed(buf_t *b, double v, int decimals);
bool buf_ok(const buf_t *b);

/* JSON writer helpers: the caller writes '{' and '}' and passes `first` to place commas. */
void buf_json_str(buf_t *b, const char *s);
void buf_json_key(buf_t *b, bool *first, const char *key);

#endif
