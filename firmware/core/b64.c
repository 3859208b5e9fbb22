#include "b64.h"

static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
    size_t need = ((n + 2) / 3) * 4;
    if (cap < need + 1) return 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alpha[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alpha[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int val(char c, bool url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

/* Decodes `digits` base64 digits (no padding characters) into exactly `want` bytes. */
static bool decode_digits(uint8_t *out, size_t want, const char *s, size_t digits, bool url)
{
    if (digits != (want * 4 + 2) / 3) return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < digits; i++) {
        int v = val(s[i], url);
        if (v < 0) return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1u;
    }
    return o == want && acc == 0; /* leftover bits must be zero (canonical) */
}

bool b64_decode_exact(uint8_t *out, size_t want, const char *s, size_t len)
{
    if (len != ((want + 2) / 3) * 4) return false;
    size_t pad = want % 3 == 0 ? 0 : 3 - want % 3;
    for (size_t i = len - pad; i < len; i++)
        if (s[i] != '=') return false;
    return decode_digits(out, want, s, len - pad, false);
}

bool b64url_decode_exact(uint8_t *out, size_t want, const char *s, size_t len)
{
    return decode_digits(out, want, s, len, true);
}

bool b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s, size_t len)
{
    if (len == 0 || len % 4 != 0) return false;
    size_t want = len / 4 * 3;
    if (s[len - 1] == '=') want--;
    if (s[len - 2] == '=') want--;
    if (want > cap) return false;
    if (!b64_decode_exact(out, want, s, len)) return false;
    *out_len = want;
    return true;
}
