#include "mqtt_psk.h"

#include <string.h>

#include "hal.h"
#include "sha256.h"

void mqtt_psk_derive(uint8_t out[MQTT_PSK_BYTES], const char *password, size_t len)
{
    uint8_t digest[32], prk[32], zero_salt[32];
    uint8_t info[sizeof MQTT_PSK_INFO]; /* the info string, then the counter byte 0x01 */
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, (const uint8_t *)password, len);
    sha256_final(&c, digest);
    /* RFC 5869: extract with an all-zero salt of hash length, then one expand block (L = 32). */
    memset(zero_salt, 0, sizeof zero_salt);
    hal_hmac_sha256(prk, zero_salt, sizeof zero_salt, digest, sizeof digest);
    memcpy(info, MQTT_PSK_INFO, sizeof MQTT_PSK_INFO - 1);
    info[sizeof MQTT_PSK_INFO - 1] = 0x01;
    hal_hmac_sha256(out, prk, sizeof prk, info, sizeof info);
    memset(prk, 0, sizeof prk);
    memset(digest, 0, sizeof digest);
}
