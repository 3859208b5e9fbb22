/* sha256.h: SHA-256 (FIPS 180-4) in portable C, streaming. The core checks a firmware image it
 * reads back from the inactive slot against the signed manifest's hash; hal.h's crypto has no
 * streaming hash, and this is small (about 1 KB of RV32 code) and needs no SDK. */
#ifndef HEARTH_SHA256_H
#define HEARTH_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const uint8_t *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);

#endif
