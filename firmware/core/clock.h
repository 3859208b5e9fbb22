/*
 * clock.h: the plug's wall clock, taken from the hub (docs/plug-protocol.md, "Time").
 *
 * Commands carry the hub's time and are refused when it is more than 30 s from the plug's, so
 * a command captured and held back cannot be played later. An ESP32 has no battery-backed clock:
 * after a power cut it knows the time only once someone tells it. SNTP needs the internet, and
 * a home whose internet is down must still switch its lamps, so the plug asks the hub instead:
 * it publishes a fresh random nonce, the hub answers with its time signed together with that
 * nonce, and the plug keeps `hub time - monotonic time` as its offset. The nonce makes an old
 * answer worthless (it cannot set the clock back to let a held-back command through), and the
 * hub's time is what matters anyway: it is the clock the commands are stamped with.
 *
 * Once synced the hub's time wins over SNTP; before the first sync the port's clock (SNTP when
 * it has one) is used, and with neither, commands are refused as stale until the hub answers.
 */
#ifndef HEARTH_CLOCK_H
#define HEARTH_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CLOCK_NONCE_LEN 16
#define CLOCK_REPLY_WINDOW_MS 10000u   /* an answer later than this is ignored */
#define CLOCK_RETRY_MS 5000u           /* at most one request per this while unsynced */
#define CLOCK_RESYNC_MS 3600000u       /* re-sync hourly: crystals drift ~1-2 s a day */
#define CLOCK_MAX_LEN 256

typedef enum { CLOCK_OK, CLOCK_MALFORMED, CLOCK_UNEXPECTED, CLOCK_BAD_SIGNATURE } clock_result;

typedef struct {
    bool synced;
    int64_t offset_ms;      /* hub unix ms minus hal_millis() */
    uint64_t synced_at_ms;  /* hal_millis() of the last sync */
    bool pending;           /* a request is out and its nonce not yet answered */
    uint8_t nonce[CLOCK_NONCE_LEN];
    uint64_t requested_ms;  /* hal_millis() when the pending (or last) request left */
    bool requested_once;
} plug_clock;

void clock_init(plug_clock *c);
/* True when a request is due: never synced and none in the last CLOCK_RETRY_MS, or the last sync
 * is older than CLOCK_RESYNC_MS. `force` asks for one now (e.g. after a stale command) unless
 * one left within CLOCK_RETRY_MS. */
bool clock_due(const plug_clock *c, uint64_t now, bool force);
/* Makes a new nonce and writes the request `{"n":"<base64>"}` into out. */
void clock_request(plug_clock *c, uint64_t now, buf_t *out);
/* Checks the hub's answer `{"n":"<base64>","t":<unix ms>,"sig":"<base64>"}` against the pending
 * nonce and the hub's key; on success sets the offset (half the round trip added) and clears
 * the nonce, so each answer counts once. */
clock_result clock_accept(plug_clock *c, const char *id, const uint8_t hub_pk[32], uint64_t now,
                          const char *payload, size_t len);
/* The time commands are checked against: the hub's, else the port's (<= 0: unknown). */
int64_t clock_now_unix_ms(const plug_clock *c, uint64_t now, int64_t port_unix_ms);
const char *clock_reason(clock_result r);
/* The signed string "hearth-time-v1|" id "|" nonce_b64 "|" t; its length, 0 if it does not fit. */
size_t clock_signed_message(char *out, size_t cap, const char *id, const char *nonce_b64, uint64_t t);

#endif
