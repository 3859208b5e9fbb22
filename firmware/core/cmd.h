/*
 * cmd.h: verification of the hub's signed commands (docs/plug-protocol.md, "Signed commands").
 *
 * A command is accepted only if, in this order: it parses and has the expected fields
 * (else "malformed"), its Ed25519 signature over the exact signed string verifies with the
 * hub's key ("bad_signature"), its counter is above the last accepted one ("replay"), and its
 * time is within 30 s of the plug's clock ("stale"). The signature is checked before the
 * counter so that an unsigned message can never tell anything about the counter state.
 * Capabilities: "switch" (v a boolean), "mqtts" (v the hub's TLS port: move there), "mqpass"
 * (v the plug's new MQTT password: a string of CMD_SECRET_MIN..CMD_SECRET_MAX characters of the
 * base64url alphabet) and "ota_begin" (v an object, read by ota.h).
 */
#ifndef HEARTH_CMD_H
#define HEARTH_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMD_MAX_LEN 1024 /* an ota_begin carries a manifest and two signatures */
#define CMD_WINDOW_MS 30000
#define CMD_MAX_INT 9007199254740991ull /* 2^53 - 1: the largest integer JSON on the hub keeps */
#define CMD_SECRET_MIN 32 /* "mqpass": the hub sends 43 (256 bits, base64url) */
#define CMD_SECRET_MAX 64

typedef enum { CMD_OK, CMD_MALFORMED, CMD_BAD_SIGNATURE, CMD_REPLAY, CMD_STALE } cmd_result;

typedef struct {
    uint64_t counter; /* 0 if it could not be read */
    uint64_t t;
    char cap[16];
    bool value;          /* cap "switch" */
    uint16_t port;       /* cap "mqtts": the hub's MQTT-over-TLS port */
    char secret[CMD_SECRET_MAX + 1]; /* cap "mqpass": the new MQTT password */
    const char *v_raw;   /* the value's raw JSON text inside the payload (cap "ota_begin": an object) */
    size_t v_len;
} cmd_t;

cmd_result cmd_verify(const char *id, const uint8_t hub_pk[32], uint64_t last_counter,
                      int64_t now_unix_ms, const char *payload, size_t len, cmd_t *out);
const char *cmd_reason(cmd_result r);

/* The signed string: "hearth-cmd-v1|" id "|" c "|" t "|" cap "|" JSON(v), with JSON(v) given
 * as its raw text. Returns its length, 0 if it does not fit. */
size_t cmd_signed_message(char *out, size_t cap, const char *id, uint64_t c, uint64_t t,
                          const char *capability, const char *v_json, size_t v_len);

#endif
