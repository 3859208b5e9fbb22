/*
 * pake.h: the plug's half of the pairing PAKE, CPace on ristretto255 with SHA-512
 * (draft-irtf-cfrg-cpace, "CPaceRistretto255"; docs/plug-protocol.md "Pairing"). The plug is the
 * responder: it derives the generator from the setup code, answers the hub's share with its own
 * and derives the session's keys. Every primitive (SHA-512, the ristretto255 map and scalar
 * multiplication, HMAC) is the HAL's, i.e. libsodium's; this file only lays out the bytes the
 * draft fixes and Hearth's key schedule after it (the hub's hub/src/drivers/plug/pake.ts does the
 * same, and the shared vectors check both).
 */
#ifndef HEARTH_PAKE_H
#define HEARTH_PAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAKE_SID_BYTES 16
#define PAKE_DSI "CPaceRistretto255"
#define PAKE_LABEL "hearth-pair-v2"

typedef struct {
    uint8_t hub_confirm[32];  /* what the hub's claim must carry */
    uint8_t plug_confirm[32]; /* what the plug answers an accepted claim with */
    uint8_t claim_key[32];    /* the claim's secretbox key */
} pake_keys;

/* generator_string(DSI, PRS = code, CI = lv_cat(PAKE_LABEL, id), sid) into out; its length, or 0
 * if it does not fit. */
size_t pake_generator_string(uint8_t *out, size_t cap, const char *code, const char *id,
                             const uint8_t sid[PAKE_SID_BYTES]);
/* g = element_derivation(SHA-512(generator_string)). False if the inputs are too long. */
bool pake_generator(uint8_t g[32], const char *code, const char *id,
                    const uint8_t sid[PAKE_SID_BYTES]);
/* The responder's step with the given scalar (pair.c passes a random one, the tests the vectors'):
 * share = scalar * g, K = scalar * hub_share, then ISK and the keys. False for a hub share that is
 * not a canonical point or gives the identity; nothing is written to keys then. */
bool pake_respond(pake_keys *keys, uint8_t share[32], const uint8_t scalar[32], const char *code,
                  const char *id, const uint8_t sid[PAKE_SID_BYTES], const uint8_t hub_share[32],
                  const uint8_t box_pk[32]);

#endif
