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

static void field_b64(buf_t *out, bool *first, const char *key, const uint8_t *v, size_t n)
{
    char b64[48];
    b64_encode(b64, sizeof b64, v, n);
    buf_json_key(out, first, key);
    buf_json_str(out, b64);
}

const char *pair_query_param(const char *q, size_t qlen, const char *name, size_t *vlen)
{
    size_t n = strlen(name), i = 0;
    while (q != NULL && i < qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&') end++;
        if (end - i > n && memcmp(q + i, name, n) == 0 && q[i + n] == '=') {
            *vlen = end - i - n - 1;
            return q + i + n + 1;
        }
        i = end + 1;
    }
    return NULL;
}

int pair_hello(pair_state *s, const pair_identity *me, bool claimed, const char *query,
               size_t query_len, uint64_t now_ms, buf_t *out)
{
    if (claimed) return error(out, 409, "already_claimed");
    size_t pv_len = 0, sid_len = 0, share_len = 0;
    const char *pv = pair_query_param(query, query_len, "pv", &pv_len);
    /* A hub of protocol 1 sends only ?nonce=: it is told which version this plug speaks. */
    if (pv == NULL || pv_len != 1 || pv[0] != '0' + PAIR_VERSION) {
        buf_str(out, "{\"error\":\"unsupported_version\",\"pv\":");
        buf_u64(out, PAIR_VERSION);
        buf_char(out, '}');
        return 400;
    }
    if (!pair_window_open(s, now_ms)) return error(out, 403, "not_in_pairing_mode");
    const char *sid_text = pair_query_param(query, query_len, "sid", &sid_len);
    const char *share_text = pair_query_param(query, query_len, "share", &share_len);
    uint8_t sid[PAKE_SID_BYTES], hub_share[32];
    /* base64url without padding of exactly 16 and 32 bytes, nothing else. */
    if (sid_text == NULL || share_text == NULL ||
        !b64url_decode_exact(sid, sizeof sid, sid_text, sid_len) ||
        !b64url_decode_exact(hub_share, 32, share_text, share_len))
        return error(out, 400, "malformed");
    /* Counted once well-formed: these are the hellos that cost two scalar multiplications. */
    if (now_ms - s->rate_start_ms >= PAIR_HELLO_RATE_MS || s->rate_n == 0) {
        s->rate_start_ms = now_ms;
        s->rate_n = 0;
    }
    if (s->rate_n >= PAIR_HELLO_PER_MIN) return error(out, 429, "rate_limited");
    s->rate_n++;
    uint8_t scalar[32], share[32];
    pake_keys keys;
    hal_ristretto255_scalar_random(scalar);
    bool ok = pake_respond(&keys, share, scalar, me->setup_code, me->id, sid, hub_share, me->box_pk);
    hal_wipe(scalar, sizeof scalar);
    if (!ok) return error(out, 400, "malformed"); /* not a point, or the identity */
    /* The new session replaces the previous one (the rate limit keeps a flood from doing it). */
    s->keys = keys;
    hal_wipe(&keys, sizeof keys);
    memcpy(s->sid, sid, sizeof sid);
    s->session_valid = true;
    s->session_at_ms = now_ms;
    bool first = true;
    buf_char(out, '{');
    buf_json_key(out, &first, "id");
    buf_json_str(out, me->id);
    buf_json_key(out, &first, "model");
    buf_json_str(out, me->model);
    buf_json_key(out, &first, "fw");
    buf_json_str(out, me->fw);
    buf_json_key(out, &first, "pv");
    buf_u64(out, PAIR_VERSION);
    buf_json_key(out, &first, "claimed");
    buf_str(out, "false");
    field_b64(out, &first, "boxPublicKey", me->box_pk, 32);
    field_b64(out, &first, "share", share, 32);
    buf_char(out, '}');
    return 200;
}

static void end_session(pair_state *s)
{
    s->session_valid = false;
    hal_wipe(&s->keys, sizeof s->keys);
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

/* The sealed plaintext: deviceId, mqtt{host,port,tlsPort?,username,password},
 * hubSignPublicKey, counter. A hub without TLS sends no tlsPort. */
static bool parse_plaintext(const char *pt, size_t len, const char *id, pair_creds *c)
{
    json_tok toks[32];
    json_doc d;
    if (json_parse(&d, pt, len, toks, 32) < 1 || toks[0].type != JT_OBJ) return false;
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
    uint8_t sid[PAKE_SID_BYTES], confirm[32], nonce[24], box[PAIR_MAX_PLAINTEXT + 16];
    if (json_parse(&d, body, len, toks, 16) < 1 || toks[0].type != JT_OBJ)
        return error(out, 400, "malformed");
    if (!get_b64_field(&d, 0, "sid", sid, sizeof sid) ||
        !get_b64_field(&d, 0, "confirm", confirm, 32) || !get_b64_field(&d, 0, "nonce", nonce, 24))
        return error(out, 400, "malformed");
    int tb = json_find(&d, 0, "box");
    size_t blen, box_len;
    const char *braw = json_raw(&d, tb, &blen);
    if (tb < 0 || toks[tb].type != JT_STR || !b64_decode(box, sizeof box, &box_len, braw, blen) ||
        box_len <= 16)
        return error(out, 400, "malformed");

    if (s->session_valid && now_ms - s->session_at_ms > PAIR_SESSION_TTL_MS) end_session(s);
    /* No open session, or another one than this claim's (a replayed or superseded claim). */
    if (!s->session_valid || !ct_equal(sid, s->sid, sizeof sid))
        return error(out, 410, "session_expired");

    /* The one online guess: a confirmation made with another code ends the session. */
    if (!ct_equal(confirm, s->keys.hub_confirm, 32)) {
        end_session(s);
        return wrong_claim(s, now_ms, out);
    }
    char pt[PAIR_MAX_PLAINTEXT + 1];
    size_t pt_len = box_len - 16;
    bool opened = hal_secretbox_open((uint8_t *)pt, box, box_len, nonce, s->keys.claim_key);
    uint8_t plug_confirm[32];
    memcpy(plug_confirm, s->keys.plug_confirm, 32);
    end_session(s); /* one claim per hello, whatever follows */
    if (!opened) return error(out, 400, "malformed");
    pt[pt_len] = '\0';
    pair_creds c;
    memset(&c, 0, sizeof c);
    bool parsed = parse_plaintext(pt, pt_len, me->id, &c);
    hal_wipe(pt, sizeof pt); /* the MQTT password */
    if (!parsed) return error(out, 400, "malformed");

    s->wrong = 0;
    *creds = c;
    hal_wipe(&c, sizeof c);
    bool first = true;
    buf_str(out, "{\"ok\":true");
    first = false;
    field_b64(out, &first, "confirm", plug_confirm, 32);
    buf_char(out, '}');
    return 200;
}
