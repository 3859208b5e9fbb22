/*
 * pair.h: the plug's half of pairing (docs/plug-protocol.md, "Pairing").
 *
 * hello: prove to the hub that this box key belongs to a plug that knows the setup code
 *   (HMAC over both nonces, so the answer cannot be replayed to another hub's hello).
 *   Answered only while the pairing window is open (opened at the plug: power-on, factory
 *   reset, a button press), and at most PAIR_HELLO_PER_MIN times a minute: the proof lets
 *   whoever holds it test codes offline, so it is given out only when the person pairing is
 *   at the plug, and a flood of hellos cannot keep replacing the nonce a real claim needs.
 *   Until pairing uses a PAKE this is the protection of the setup code (a later change).
 * claim: accept credentials only from someone who knows the code (claimProof over the nonce
 *   this plug issued less than 60 s ago), sealed to this plug's box key. Five wrong claims lock
 *   claiming for 60 s, which caps online guessing of the 8-digit code at 5 a minute.
 * Both produce an HTTP status and a JSON body; the HTTP server is the port's business.
 */
#ifndef HEARTH_PAIR_H
#define HEARTH_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PAIR_NONCE_TTL_MS 60000u
#define PAIR_MAX_WRONG 5
#define PAIR_LOCK_MS 60000u
#define PAIR_MAX_BODY 2048
#define PAIR_MAX_PLAINTEXT 1024
#define PAIR_HELLO_PER_MIN 6
#define PAIR_HELLO_RATE_MS 60000u

typedef struct {
    const char *id;
    const char *model;
    const char *fw;
    const char *setup_code;
    uint8_t box_pk[32];
    uint8_t box_sk[32];
} pair_identity;

typedef struct {
    uint8_t plug_nonce[32];
    bool nonce_valid;
    uint64_t nonce_at_ms;
    unsigned wrong;
    bool locked;
    uint64_t locked_until_ms;
    uint64_t window_until_ms;  /* hello is answered while now < this */
    uint64_t rate_start_ms;    /* the current minute of the hello rate limit */
    unsigned rate_n;           /* hellos answered in it */
} pair_state;

typedef struct {
    char host[128];
    uint16_t port;
    uint16_t tls_port; /* the hub's MQTT-over-TLS port (PSK, mqtt_psk.h); 0: cleartext on port */
    char username[48];
    char password[128];
    uint8_t hub_pk[32];
    uint64_t counter;
} pair_creds;

void pair_init(pair_state *s);
/* Opens (or extends) the pairing window for ms from now. */
void pair_open_window(pair_state *s, uint64_t now_ms, uint32_t ms);
bool pair_window_open(const pair_state *s, uint64_t now_ms);
/* GET /pair/hello?nonce=...: returns the HTTP status, the JSON body in out. In this order:
 * 409 already_claimed, 403 not_in_pairing_mode, 400 malformed, 429 rate_limited, 200. */
int pair_hello(pair_state *s, const pair_identity *me, bool claimed, const char *hub_nonce,
               size_t nonce_len, uint64_t now_ms, buf_t *out);
/* POST /pair/claim: on 200, *creds holds what must be stored before answering. */
int pair_claim(pair_state *s, const pair_identity *me, bool claimed, const char *body,
               size_t len, uint64_t now_ms, pair_creds *creds, buf_t *out);

/* The two proofs, shared with the tests. */
void pair_hello_proof(uint8_t out[32], const char *setup_code, const char *id,
                      const uint8_t box_pk[32], const char *hub_nonce, size_t nonce_len,
                      const uint8_t plug_nonce[32]);
void pair_claim_proof(uint8_t out[32], const char *setup_code, const char *id,
                      const uint8_t plug_nonce[32]);

/* Constant-time comparison: no early exit, so timing does not reveal how much matched. */
bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
