#include "hub_side.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "check.h"
#include "json.h"
#include "vectors.h"

void hub_start(hub_session *h, const char *code, const char *id)
{
    uint8_t g[32];
    randombytes_buf(h->sid, sizeof h->sid);
    crypto_core_ristretto255_scalar_random(h->scalar);
    CHECK(pake_generator(g, code, id, h->sid));
    CHECK(crypto_scalarmult_ristretto255(h->share, h->scalar, g) == 0);
    char sid[32], share[48];
    sodium_bin2base64(sid, sizeof sid, h->sid, sizeof h->sid, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(share, sizeof share, h->share, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(h->query, sizeof h->query, "pv=2&sid=%s&share=%s", sid, share);
}

static size_t lv(uint8_t *t, size_t n, const void *p, size_t len)
{
    t[n++] = (uint8_t)len;
    memcpy(t + n, p, len);
    return n + len;
}

static void label_mac(uint8_t out[32], const uint8_t isk[64], const char *label)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, isk, 64);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label));
    crypto_auth_hmacsha256_final(&st, out);
}

bool hub_finish(hub_session *h, const char *hello_json)
{
    json_tok t[32];
    json_doc d;
    char s[64];
    uint8_t plug_share[32], box_pk[32], k[32], tr[256], isk[64];
    if (json_parse(&d, hello_json, strlen(hello_json), t, 32) < 1) return false;
    if (!json_get_str(&d, json_find(&d, 0, "share"), s, sizeof s) ||
        !b64_decode_exact(plug_share, 32, s, strlen(s)))
        return false;
    if (!json_get_str(&d, json_find(&d, 0, "boxPublicKey"), s, sizeof s) ||
        !b64_decode_exact(box_pk, 32, s, strlen(s)))
        return false;
    if (crypto_scalarmult_ristretto255(k, h->scalar, plug_share) != 0) return false;
    size_t n = 0;
    n = lv(tr, n, "CPaceRistretto255_ISK", 21);
    n = lv(tr, n, h->sid, sizeof h->sid);
    n = lv(tr, n, k, 32);
    n = lv(tr, n, h->share, 32);
    n = lv(tr, n, "", 0);
    n = lv(tr, n, plug_share, 32);
    n = lv(tr, n, box_pk, 32);
    crypto_hash_sha512(isk, tr, n);
    label_mac(h->keys.hub_confirm, isk, "hearth-pair-v2|hub confirm");
    label_mac(h->keys.plug_confirm, isk, "hearth-pair-v2|plug confirm");
    label_mac(h->keys.claim_key, isk, "hearth-pair-v2|claim key");
    return true;
}

void hub_claim_body(const hub_session *h, const char *plaintext, char *out, size_t cap)
{
    static uint8_t box[2048];
    static char box64[2900];
    uint8_t nonce[24];
    char sid64[32], confirm64[48], nonce64[48];
    size_t len = strlen(plaintext);
    randombytes_buf(nonce, sizeof nonce);
    CHECK(crypto_secretbox_easy(box, (const uint8_t *)plaintext, len, nonce, h->keys.claim_key) == 0);
    b64_encode(sid64, sizeof sid64, h->sid, sizeof h->sid);
    b64_encode(confirm64, sizeof confirm64, h->keys.hub_confirm, 32);
    b64_encode(nonce64, sizeof nonce64, nonce, 24);
    b64_encode(box64, sizeof box64, box, len + 16);
    snprintf(out, cap, "{\"sid\":\"%s\",\"confirm\":\"%s\",\"nonce\":\"%s\",\"box\":\"%s\"}", sid64,
             confirm64, nonce64, box64);
}

void hub_claim_plaintext(char *out, size_t cap, const char *id, const char *password,
                         uint64_t counter)
{
    snprintf(out, cap,
             "{\"deviceId\":\"%s\",\"mqtt\":{\"host\":\"10.0.0.2\",\"port\":1883,\"username\":\"%s\","
             "\"password\":\"%s\"},\"hubSignPublicKey\":\"%s\",\"counter\":%llu}",
             id, id, password, vec_str("hub.signPublicKey"), (unsigned long long)counter);
}

void open_vector_session(pair_state *s, uint64_t now_ms)
{
    uint8_t sid[PAKE_SID_BYTES], hub_share[32], scalar[32], box_pk[32], share[32], want[32];
    char id[32], code[16];
    snprintf(id, sizeof id, "%s", vec_str("id"));
    snprintf(code, sizeof code, "%s", vec_str("setupCode"));
    CHECK(vec_b64("pairing.pake.sid", sid, sizeof sid));
    CHECK(vec_b64("pairing.pake.hubShare", hub_share, 32));
    CHECK(vec_b64("pairing.pake.plugScalar", scalar, 32));
    CHECK(vec_b64("pairing.plugBoxPublicKey", box_pk, 32));
    CHECK(pake_respond(&s->keys, share, scalar, code, id, sid, hub_share, box_pk));
    CHECK(vec_b64("pairing.pake.plugShare", want, 32));
    CHECK(memcmp(share, want, 32) == 0);
    memcpy(s->sid, sid, sizeof sid);
    s->session_valid = true;
    s->session_at_ms = now_ms;
}
