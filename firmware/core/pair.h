/*
 * pair.h: the plug's half of pairing (docs/plug-protocol.md, "Pairing", protocol 2).
 *
 * hello: one CPace exchange (pake.h). The hub's share comes in the query, the plug answers with
 *   its own share and box key and keeps the session's keys for 60 s. Nothing in the answer lets
 *   anyone test a setup code offline: a guess needs a claim (online). Still answered only while
 *   the pairing window is open (opened at the plug: power-on, factory reset, a button press),
 *   and at most PAIR_HELLO_PER_MIN times a minute, so a flood cannot keep replacing the session a
 *   real claim needs, nor make the plug do scalar multiplications all day.
 * claim: accepted only with the hub's key confirmation for the open session (the hub used the
 *   same code), its credentials in a secretbox under the session's claim key. A wrong
 *   confirmation ends the session and counts: five lock claiming for 60 s, which caps online
 *   guessing of the 8-digit code at 5 a minute. An accepted claim is answered with the plug's
 *   own confirmation.
 * Both produce an HTTP status and a JSON body; the HTTP server is the port's business.
 */
#ifndef HEARTH_PAIR_H
#define HEARTH_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pake.h"

#define PAIR_VERSION 2
#define PAIR_VERSION_TEXT "2" /* the mDNS TXT pv= */
#define PAIR_SESSION_TTL_MS 60000u
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
    bool session_valid;
    uint64_t session_at_ms;
    uint8_t sid[PAKE_SID_BYTES];
    pake_keys keys;
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
/* GET /pair/hello?pv=2&sid=...&share=...: query is everything after '?' (NULL: none). Returns
 * the HTTP status, the JSON body in out. In this order: 409 already_claimed, 400
 * unsupported_version (pv missing or not 2: an older hub), 403 not_in_pairing_mode, 400
 * malformed, 429 rate_limited, 400 malformed (a share that is not a valid point), 200. */
int pair_hello(pair_state *s, const pair_identity *me, bool claimed, const char *query,
               size_t query_len, uint64_t now_ms, buf_t *out);
/* POST /pair/claim: on 200, *creds holds what must be stored before answering. */
int pair_claim(pair_state *s, const pair_identity *me, bool claimed, const char *body,
               size_t len, uint64_t now_ms, pair_creds *creds, buf_t *out);

/* The value of name=... in a query string (not decoded: base64url and digits need none). */
const char *pair_query_param(const char *q, size_t qlen, const char *name, size_t *vlen);

/* Constant-time comparison: no early exit, so timing does not reveal how much matched. */
bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
