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
