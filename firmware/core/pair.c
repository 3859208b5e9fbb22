#include "pair.h"

#include <string.h>

#include "b64.h"
#include "hal.h"
#include "json.h"

bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

void pair_init(pair_state *s) { memset(s, 0, sizeof *s); }

void pair_open_window(pair_state *s, uint64_t now_ms, uint32_t ms)
{
    if (now_ms + ms > s->window_until_ms) s->window_until_ms = now_ms + ms;
}

bool pair_window_open(const pair_state *s, uint64_t now_ms) { return now_ms < s->window_until_ms; }

static int error(buf_t *out, int status, const char *code)
{
    buf_str(out, "{\"error\":");
    buf_json_str(out, code);
    buf_char(out, '}');
    return status;
}

void pair_hello_proof(uint8_t out[32], const char *setup_code, const char *id,
                      const uint8_t box_pk[32], const char *hub_nonce, size_t nonce_len,
                      const uint8_t plug_nonce[32])
{
    char mem[256], b64[48];
    buf_t m;
    buf_init(&m, mem, sizeof mem);
    buf_str(&m, "hearth-pair-v1|");
    buf_str(&m, id);
    buf_char(&m, '|');
    b64_encode(b64, sizeof b64, box_pk, 32);
    buf_str(&m, b64);
    buf_char(&m, '|');
    buf_mem(&m, hub_nonce, nonce_len);
    buf_char(&m, '|');
    b64_encode(b64, sizeof b64, plug_nonce, 32);
    buf_str(&m, b64);
    hal_hmac_sha256(out, (const uint8_t *)setup_code, strlen(setup_code), (const uint8_t *)mem,
                    m.len);
}

void pair_claim_proof(uint8_t out[32], const char *setup_code, const char *id,
                      const uint8_t plug_nonce[32])
{
    char mem[128], b64[48];
    buf_t m;
    buf_init(&m, mem, sizeof mem);
    buf_str(&m, "hearth-claim-v1|");
    buf_str(&m, id);
    buf_char(&m, '|');
    b64_encode(b64, sizeof b64, plug_nonce, 32);
    buf_str(&m, b64);
    hal_hmac_sha256(out, (const uint8_t *)setup_code, strlen(setup_code), (const uint8_t *)mem,
                    m.len);
}

static void field_b64(buf_t *out, bool *first, const char *key, const uint8_t *v, size_t n)
{
    char b64[48];
    b64_encode(b64, sizeof b64, v, n);
    buf_json_key(out, first, key);
    buf_json_str(out, b64);
}

int pair_hello(pair_state *s, const pair_identity *me, bool claimed, const char *hub_nonce,
               size_t nonce_len, uint64_t now_ms, buf_t *out)
{
    if (claimed) return error(out, 409, "already_claimed");
    if (!pair_window_open(s, now_ms)) return error(out, 403, "not_in_pairing_mode");
    uint8_t raw[32];
    /* 32 random bytes in base64url without padding: 43 characters, nothing else. */
    if (hub_nonce == NULL || !b64url_decode_exact(raw, 32, hub_nonce, nonce_len))
        return error(out, 400, "malformed");
    /* Counted once well-formed: these are the hellos that cost an HMAC and replace the nonce. */
    if (now_ms - s->rate_start_ms >= PAIR_HELLO_RATE_MS || s->rate_n == 0) {
        s->rate_start_ms = now_ms;
        s->rate_n = 0;
    }
    if (s->rate_n >= PAIR_HELLO_PER_MIN) return error(out, 429, "rate_limited");
    s->rate_n++;
    hal_random(s->plug_nonce, 32);
    s->nonce_valid = true;
    s->nonce_at_ms = now_ms;
    uint8_t proof[32];
    pair_hello_proof(proof, me->setup_code, me->id, me->box_pk, hub_nonce, nonce_len,
                     s->plug_nonce);
    bool first = true;
    buf_char(out, '{');
    buf_json_key(out, &first, "id");
    buf_json_str(out, me->id);
    buf_json_key(out, &first, "model");
    buf_json_str(out, me->model);
    buf_json_key(out, &first, "fw");
    buf_json_str(out, me->fw);
    buf_json_key(out, &first, "pv");
    buf_str(out, "1");
    buf_json_key(out, &first, "claimed");
    buf_str(out, "false");
    field_b64(out, &first, "boxPublicKey", me->box_pk, 32);
    field_b64(out, &first, "plugNonce", s->plug_nonce, 32);
    field_b64(out, &first, "proof", proof, 32);
    buf_char(out, '}');
    return 200;
}

static int wrong_claim(pair_state *s, uint64_t now_ms, buf_t *out)
{
    if (++s->wrong >= PAIR_MAX_WRONG) {
        s->wrong = 0;
        s->locked = true;
        s->locked_until_ms = now_ms + PAIR_LOCK_MS;
    }
    return error(out, 403, "wrong_code");
}

static bool get_b64_field(const json_doc *d, int obj, const char *key, uint8_t *out, size_t n)
{
    int t = json_find(d, obj, key);
    size_t len;
    const char *raw = json_raw(d, t, &len);
    return t >= 0 && d->t[t].type == JT_STR && b64_decode_exact(out, n, raw, len);
}

/* The sealed plaintext: claimProof, deviceId, mqtt{host,port,tlsPort?,username,password},
 * hubSignPublicKey, counter. A hub without TLS sends no tlsPort. */
static bool parse_plaintext(const char *pt, size_t len, const char *id, uint8_t proof[32],
                            pair_creds *c)
{
    json_tok toks[32];
    json_doc d;
    if (json_parse(&d, pt, len, toks, 32) < 1 || toks[0].type != JT_OBJ) return false;
    if (!get_b64_field(&d, 0, "claimProof", proof, 32)) return false;
    if (!json_str_eq(&d, json_find(&d, 0, "deviceId"), id)) return false;
    if (!get_b64_field(&d, 0, "hubSignPublicKey", c->hub_pk, 32)) return false;
    if (!json_get_u64(&d, json_find(&d, 0, "counter"), 9007199254740991ull, &c->counter))
        return false;
    int m = json_find(&d, 0, "mqtt");
    uint64_t port;
    if (!json_get_str(&d, json_find(&d, m, "host"), c->host, sizeof c->host) || !c->host[0])
        return false;
    if (!json_get_u64(&d, json_find(&d, m, "port"), 65535, &port) || port == 0) return false;
    c->port = (uint16_t)port;
    int tt = json_find(&d, m, "tlsPort");
    if (tt >= 0 && (!json_get_u64(&d, tt, 65535, &port) || port == 0)) return false;
    c->tls_port = tt >= 0 ? (uint16_t)port : 0;
    if (!json_get_str(&d, json_find(&d, m, "username"), c->username, sizeof c->username))
        return false;
    if (!json_get_str(&d, json_find(&d, m, "password"), c->password, sizeof c->password))
        return false;
    return true;
}

int pair_claim(pair_state *s, const pair_identity *me, bool claimed, const char *body,
               size_t len, uint64_t now_ms, pair_creds *creds, buf_t *out)
{
    if (claimed) return error(out, 409, "already_claimed");
    if (s->locked && now_ms < s->locked_until_ms) return error(out, 429, "locked");
    s->locked = false;
    if (body == NULL || len == 0 || len > PAIR_MAX_BODY) return error(out, 400, "malformed");

    json_tok toks[16];
    json_doc d;
    uint8_t hub_pk[32], nonce[24], box[PAIR_MAX_PLAINTEXT + 16];
    if (json_parse(&d, body, len, toks, 16) < 1 || toks[0].type != JT_OBJ)
        return error(out, 400, "malformed");
    if (!get_b64_field(&d, 0, "hubBoxPublicKey", hub_pk, 32) ||
        !get_b64_field(&d, 0, "nonce", nonce, 24))
        return error(out, 400, "malformed");
    int tb = json_find(&d, 0, "box");
    size_t blen, box_len;
    const char *braw = json_raw(&d, tb, &blen);
    if (tb < 0 || toks[tb].type != JT_STR || !b64_decode(box, sizeof box, &box_len, braw, blen) ||
        box_len <= 16)
        return error(out, 400, "malformed");

    if (!s->nonce_valid || now_ms - s->nonce_at_ms > PAIR_NONCE_TTL_MS) {
        s->nonce_valid = false;
        return error(out, 410, "nonce_expired");
    }

    char pt[PAIR_MAX_PLAINTEXT + 1];
    size_t pt_len = box_len - 16;
    if (!hal_box_open((uint8_t *)pt, box, box_len, nonce, hub_pk, me->box_sk))
        return wrong_claim(s, now_ms, out);
    pt[pt_len] = '\0';

    uint8_t proof[32], want[32];
    pair_creds c;
    memset(&c, 0, sizeof c);
    if (!parse_plaintext(pt, pt_len, me->id, proof, &c)) return error(out, 400, "malformed");
    pair_claim_proof(want, me->setup_code, me->id, s->plug_nonce);
    if (!ct_equal(proof, want, 32)) return wrong_claim(s, now_ms, out);

    s->nonce_valid = false; /* one claim per hello */
    s->wrong = 0;
    *creds = c;
    buf_str(out, "{\"ok\":true}");
    return 200;
}
