/* The crypto part of hal.h on libsodium, shared by every port: the host tests, the simulator
 * and the ESP32 (through the espressif/libsodium component), so the tests exercise exactly the
 * primitives the plug runs. */
#include <sodium.h>

#include "hal.h"

bool hal_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t msg_len,
                        const uint8_t pk[32])
{
    return crypto_sign_verify_detached(sig, msg, msg_len, pk) == 0;
}

bool hal_box_keypair(uint8_t pk[32], uint8_t sk[32]) { return crypto_box_keypair(pk, sk) == 0; }

bool hal_box_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                  const uint8_t sender_pk[32], const uint8_t my_sk[32])
{
    if (box_len < crypto_box_MACBYTES) return false;
    return crypto_box_open_easy(out, box, box_len, nonce, sender_pk, my_sk) == 0;
}

void hal_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const uint8_t *msg,
                     size_t msg_len)
{
    /* The streaming API takes a key of any length (RFC 2104), unlike crypto_auth_hmacsha256. */
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, msg_len);
    crypto_auth_hmacsha256_final(&st, out);
}

void hal_random(void *buf, size_t len) { randombytes_buf(buf, len); }

void hal_sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len)
{
    crypto_hash_sha512(out, msg, msg_len);
}

bool hal_secretbox_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                        const uint8_t key[32])
{
    if (box_len < crypto_secretbox_MACBYTES) return false;
    return crypto_secretbox_open_easy(out, box, box_len, nonce, key) == 0;
}

void hal_wipe(void *p, size_t len) { sodium_memzero(p, len); }

void hal_ristretto255_from_hash(uint8_t p[32], const uint8_t h[64])
{
    crypto_core_ristretto255_from_hash(p, h);
}

void hal_ristretto255_scalar_random(uint8_t s[32]) { crypto_core_ristretto255_scalar_random(s); }

bool hal_ristretto255_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32])
{
    /* -1 for a non-canonical p or an identity result (libsodium checks both). */
    return crypto_scalarmult_ristretto255(q, n, p) == 0;
}
