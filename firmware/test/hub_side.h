/* hub_side.h: the hub's half of pairing (protocol 2), re-derived in C straight on libsodium for
 * the tests (the hub does it in TypeScript on @noble/curves: hub/src/drivers/plug/pake.ts). Only
 * the generator comes from core/pake.c, itself checked against the shared vectors. Also the
 * vectors' session, for tests that need a plug as if the vectors' hello had just run. */
#ifndef HEARTH_HUB_SIDE_H
#define HEARTH_HUB_SIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pair.h"

typedef struct {
    uint8_t sid[PAKE_SID_BYTES];
    uint8_t scalar[32];
    uint8_t share[32];
    pake_keys keys;
    char query[128]; /* pv=2&sid=...&share=... */
} hub_session;

/* A fresh session with this code for plug id (random sid and scalar). */
void hub_start(hub_session *h, const char *code, const char *id);
/* The keys from the plug's hello answer (its share and box key); false if it has none. */
bool hub_finish(hub_session *h, const char *hello_json);
/* The claim body for plaintext, under the session's claim key and confirmation. */
void hub_claim_body(const hub_session *h, const char *plaintext, char *out, size_t cap);
/* The plaintext of a claim: these MQTT credentials, the vectors' hub key, counter. */
void hub_claim_plaintext(char *out, size_t cap, const char *id, const char *password,
                         uint64_t counter);

/* The vectors' session opened on s at now_ms: their sid, hub share and plug scalar. */
void open_vector_session(pair_state *s, uint64_t now_ms);

#endif
