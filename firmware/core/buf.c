#include "buf.h"

#include <string.h>

void buf_init(buf_t *b, char *mem, size_t cap)
{
    b->p = mem;
    b->cap = cap;
    b->len = 0;
    b->overflow = cap == 0;
    if (cap > 0) mem[0] = '\0';
}

void buf_mem(buf_t *b, const void *data, size_t n)
{
    if (b->overflow) return;
    if (n >= b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_str(buf_t *b, const char *s) { buf_mem(b, s, strlen(s)); }

void buf_char(buf_t *b, char c) { buf_mem(b, &c, 1); }

void buf_u64(buf_t *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n > 0) buf_char(b, tmp[--n]);
}

void buf_i64(buf_t *b, int64_t v)
{
    if (v < 0) {
        buf_char(b, '-');
        buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        buf_u64(b, (uint64_t)v);
    }
}

void buf_fixed(buf_t *b, double v, int decimals)
{
    static const uint32_t scale[] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u};
    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    if (!(v == v)) v = 0; /* NaN never reaches the wire */
    bool neg = v < 0;
    double a = neg ? -v : v;
    double limit = 9e15 / (double)scale[decimals]; /* keeps the scaled value exact in 53 bits */
    if (a > limit) a = limit;
    /* Round half away from zero on the scaled integer. */
    double scaled = a * (double)scale[decimals] + 0.5;
    uint64_t n = (uint64_t)scaled;
    uint64_t ip = n / scale[decimals];
    uint64_t fp = n % scale[decimals];
    if (neg && n != 0) buf_char(b, '-');
    buf_u64(b, ip);
    if (decimals > 0 && fp != 0) {
        char tmp[6];
        int d = decimals;
        for (int i = d - 1; i >= 0; i--) {
            tmp[i] = (char)('0' + (fp % 10u));
            fp /= 10u;
        }
        while (d > 0 && tmp[d - 1] == '0') d--; /* 59.50 -> 59.5, as JSON.stringify would */
        buf_char(b, '.');
        buf_mem(b, tmp, (size_t)d);
    }
}

bool buf_ok(const buf_t *b) { return !b->overflow; }

void buf_json_str(buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    buf_char(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf_char(b, '\\');
            buf_char(b, (char)c);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_mem(b, esc, sizeof esc);
        } else {
            buf_char(b, (char)c);
        }
    }
    buf_char(b, '"');
}

void buf_json_key(buf_t *b, bool *first, const char *key)
{
    if (!*first) buf_char(b, ',');
    *first = false;
    buf_json_str(b, key);
    buf_char(b, ':');
}
