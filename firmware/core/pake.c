#include "pake.h"

#include <string.h>

#include "hal.h"

/* The draft's lv_cat for fields shorter than 128 bytes: one length byte, then the bytes. */
typedef struct {
    uint8_t *p;
    size_t cap, len;
    bool ok;
} lv_t;

static void lv(lv_t *b, const void *data, size_t n)
{
    if (!b->ok || n > 127 || b->len + 1 + n > b->cap) {
        b->ok = false;
        return;
    }
    b->p[b->len++] = (uint8_t)n;
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void lv_zeros(lv_t *b, size_t n)
{
    if (!b->ok || n > 127 || b->len + 1 + n > b->cap) {
        b->ok = false;
        return;
    }
    b->p[b->len++] = (uint8_t)n;
    memset(b->p + b->len, 0, n);
    b->len += n;
}

size_t pake_generator_string(uint8_t *out, size_t cap, const char *code, const char *id,
                             const uint8_t sid[PAKE_SID_BYTES])
{
    uint8_t ci_mem[128];
    lv_t ci = {ci_mem, sizeof ci_mem, 0, true};
    lv(&ci, PAKE_LABEL, strlen(PAKE_LABEL));
    lv(&ci, id, strlen(id));
    size_t dsi_len = strlen(PAKE_DSI), prs_len = strlen(code);
    /* Zero padding so DSI and PRS fill SHA-512's first 128-byte block (s_in_bytes). */
    size_t used = 1 + (prs_len + 1) + (dsi_len + 1);
    size_t zpad = used < 128 ? 128 - used : 0;
    lv_t g = {out, cap, 0, ci.ok};
    lv(&g, PAKE_DSI, dsi_len);
    lv(&g, code, prs_len);
    lv_zeros(&g, zpad);
    lv(&g, ci_mem, ci.len);
    lv(&g, sid, PAKE_SID_BYTES);
    return g.ok ? g.len : 0;
}

bool pake_generator(uint8_t g[32], const char *code, const char *id,
                    const uint8_t sid[PAKE_SID_BYTES])
{
    uint8_t gs[384], h[64];
    size_t n = pake_generator_string(gs, sizeof gs, code, id, sid);
    if (n == 0) return false;
    hal_sha512(h, gs, n);
    hal_ristretto255_from_hash(g, h);
    hal_wipe(gs, sizeof gs); /* holds the setup code */
    hal_wipe(h, sizeof h);
    return true;
}

static void confirm(uint8_t out[32], const uint8_t isk[64], const char *what)
{
    char label[48];
    size_t n = strlen(PAKE_LABEL), w = strlen(what);
    memcpy(label, PAKE_LABEL, n);
    label[n] = '|';
    memcpy(label + n + 1, what, w);
    hal_hmac_sha256(out, isk, 64, (const uint8_t *)label, n + 1 + w);
}

bool pake_respond(pake_keys *keys, uint8_t share[32], const uint8_t scalar[32], const char *code,
                  const char *id, const uint8_t sid[PAKE_SID_BYTES], const uint8_t hub_share[32],
                  const uint8_t box_pk[32])
{
    uint8_t g[32], k[32], my_share[32], t[256], isk[64];
    bool ok = pake_generator(g, code, id, sid) && hal_ristretto255_scalarmult(my_share, scalar, g) &&
              hal_ristretto255_scalarmult(k, scalar, hub_share);
    if (ok) {
        /* ISK = SHA-512(lv_cat(DSI "_ISK", sid, K) || lv_cat(Ya, ADa = "") || lv_cat(Yb, ADb =
         * the plug's box public key)): the draft's initiator-responder transcript. */
        lv_t b = {t, sizeof t, 0, true};
        lv(&b, PAKE_DSI "_ISK", strlen(PAKE_DSI "_ISK"));
        lv(&b, sid, PAKE_SID_BYTES);
        lv(&b, k, 32);
        lv(&b, hub_share, 32);
        lv(&b, "", 0);
        lv(&b, my_share, 32);
        lv(&b, box_pk, 32);
        ok = b.ok;
        if (ok) {
            hal_sha512(isk, t, b.len);
            confirm(keys->hub_confirm, isk, "hub confirm");
            confirm(keys->plug_confirm, isk, "plug confirm");
            confirm(keys->claim_key, isk, "claim key");
            memcpy(share, my_share, 32);
        }
    }
    hal_wipe(k, sizeof k);
    hal_wipe(t, sizeof t);
    hal_wipe(isk, sizeof isk);
    hal_wipe(g, sizeof g);
    return ok;
}
