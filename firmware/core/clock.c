#include "clock.h"

#include <string.h>

#include "b64.h"
#include "cmd.h"
#include "hal.h"
#include "json.h"

void clock_init(plug_clock *c) { memset(c, 0, sizeof *c); }

const char *clock_reason(clock_result r)
{
    switch (r) {
    case CLOCK_OK: return "ok";
    case CLOCK_UNEXPECTED: return "unexpected";
    case CLOCK_BAD_SIGNATURE: return "bad_signature";
    default: return "malformed";
    }
}

bool clock_due(const plug_clock *c, uint64_t now, bool force)
{
    bool recently = c->requested_once && now - c->requested_ms < CLOCK_RETRY_MS;
    if (recently) return false;
    if (force || !c->synced) return true;
    return now - c->synced_at_ms >= CLOCK_RESYNC_MS;
}

void clock_request(plug_clock *c, uint64_t now, buf_t *out)
{
    hal_random(c->nonce, sizeof c->nonce);
    c->pending = true;
    c->requested_ms = now;
    c->requested_once = true;
    char b64[32];
    b64_encode(b64, sizeof b64, c->nonce, sizeof c->nonce);
    buf_str(out, "{\"n\":\"");
    buf_str(out, b64);
    buf_str(out, "\"}");
}

size_t clock_signed_message(char *out, size_t cap, const char *id, const char *nonce_b64, uint64_t t)
{
    buf_t b;
    buf_init(&b, out, cap);
    buf_str(&b, "hearth-time-v1|");
    buf_str(&b, id);
    buf_char(&b, '|');
    buf_str(&b, nonce_b64);
    buf_char(&b, '|');
    buf_u64(&b, t);
    return buf_ok(&b) ? b.len : 0;
}

clock_result clock_accept(plug_clock *c, const char *id, const uint8_t hub_pk[32], uint64_t now,
                          const char *payload, size_t len)
{
    if (payload == NULL || len == 0 || len > CLOCK_MAX_LEN) return CLOCK_MALFORMED;
    json_tok toks[8];
    json_doc d;
    if (json_parse(&d, payload, len, toks, 8) < 1 || toks[0].type != JT_OBJ) return CLOCK_MALFORMED;
    int tn = json_find(&d, 0, "n"), tt = json_find(&d, 0, "t"), tsig = json_find(&d, 0, "sig");
    uint64_t t;
    uint8_t nonce[CLOCK_NONCE_LEN], sig[64];
    size_t nlen, slen;
    const char *n_b64 = json_raw(&d, tn, &nlen);
    const char *sig_b64 = json_raw(&d, tsig, &slen);
    if (tn < 0 || toks[tn].type != JT_STR || !b64_decode_exact(nonce, sizeof nonce, n_b64, nlen))
        return CLOCK_MALFORMED;
    if (!json_get_u64(&d, tt, CMD_MAX_INT, &t) || t == 0) return CLOCK_MALFORMED;
    if (tsig < 0 || toks[tsig].type != JT_STR || !b64_decode_exact(sig, 64, sig_b64, slen))
        return CLOCK_MALFORMED;
    /* Only an answer to the request still out, and only while it is fresh: an old answer (or
     * one to another plug's nonce) would let someone set this clock to a time of their choice. */
    if (!c->pending || memcmp(nonce, c->nonce, sizeof nonce) != 0 ||
        now - c->requested_ms > CLOCK_REPLY_WINDOW_MS)
        return CLOCK_UNEXPECTED;
    char n_text[32], msg[96];
    b64_encode(n_text, sizeof n_text, c->nonce, sizeof c->nonce);
    size_t mlen = clock_signed_message(msg, sizeof msg, id, n_text, t);
    if (mlen == 0) return CLOCK_MALFORMED;
    if (!hal_ed25519_verify(sig, (const uint8_t *)msg, mlen, hub_pk)) return CLOCK_BAD_SIGNATURE;
    /* The hub read its clock somewhere in the round trip: assume the middle. */
    uint64_t midpoint = c->requested_ms + (now - c->requested_ms) / 2;
    c->offset_ms = (int64_t)t - (int64_t)midpoint;
    c->synced = true;
    c->synced_at_ms = now;
    c->pending = false;
    return CLOCK_OK;
}

int64_t clock_now_unix_ms(const plug_clock *c, uint64_t now, int64_t port_unix_ms)
{
    return c->synced ? c->offset_ms + (int64_t)now : port_unix_ms;
}
