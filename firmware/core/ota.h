/*
 * ota.h: firmware image manifests (docs/plug-protocol.md, "Firmware update").
 *
 * A release is signed offline with the firmware-signing key (Ed25519); the plug knows only its
 * public key, compiled into the firmware (plug_config.fw_pk). The signature covers a manifest,
 * `"hearth-fw-v1|" model "|" version "|" size "|" sha256(base64)`, so a plug refuses an image
 * for another model, an older (or the same) version unless the hub's signed command allows a
 * downgrade, an image larger than its slot, and, once the bytes are in, anything whose SHA-256
 * differs from the signed one. The hub's `ota_begin` command carries
 * `{"manifest":{"model","version","size","sha256"},"sig":<64 B>,"downgrade":bool}` as its value.
 */
#ifndef HEARTH_OTA_H
#define HEARTH_OTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_CHUNK 4096u          /* bytes per chunk; a multiple of the flash sector */
#define OTA_HEADER 36u           /* chunk header: offset (4 bytes, big-endian) + image SHA-256 */
#define OTA_VALUE_MAX 448        /* the ota_begin value's JSON text, as stored */
#define OTA_MODEL_MAX 63
#define OTA_VERSION_MAX 23
#define OTA_RETRY_MS 3000u       /* a chunk request unanswered this long is sent again */
#define OTA_MAX_RETRIES 10       /* ...this many times in a row while online: then "timeout" */
#define OTA_PROGRESS_EVERY (16u * OTA_CHUNK) /* a progress event every 64 KB */

typedef enum {
    OTA_OK,
    OTA_MALFORMED,
    OTA_BAD_SIGNATURE,
    OTA_WRONG_MODEL,
    OTA_DOWNGRADE,
    OTA_TOO_LARGE,
    OTA_BAD_HASH,
    OTA_WRITE_FAILED,
    OTA_TIMEOUT,
    OTA_UNSUPPORTED,
    OTA_BOOT_FAILED, /* the new image was activated but the plug came back on the old one */
} ota_result;

typedef struct {
    char model[OTA_MODEL_MAX + 1];
    char version[OTA_VERSION_MAX + 1];
    uint32_t size;
    uint8_t sha256[32];
    char sha256_b64[45];
    uint8_t sig[64];
    bool downgrade;
} ota_manifest;

/* Parses the ota_begin value (the JSON object above). OTA_OK or OTA_MALFORMED. */
ota_result ota_parse(const char *json, size_t len, ota_manifest *m);
/* The signed string; its length, 0 if it does not fit. */
size_t ota_signed_message(char *out, size_t cap, const char *model, const char *version,
                          uint32_t size, const char *sha256_b64);
/* Checks, in this order: the release signature (bad_signature), the model (wrong_model), the
 * version against the running one (downgrade: older or equal, unless m->downgrade), the size
 * against the slot (too_large). The signature comes first: an unsigned manifest learns nothing. */
ota_result ota_check(const ota_manifest *m, const uint8_t fw_pk[32], const char *model,
                     const char *running_version, uint32_t slot_size);
/* Compares "MAJOR.MINOR.PATCH" (decimal, each < 10^9): <0, 0, >0; false if either is invalid. */
bool ota_version_cmp(const char *a, const char *b, int *out);
const char *ota_reason(ota_result r);

#endif
