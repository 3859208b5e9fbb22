/* Pairing (protocol 2, CPace): the PAKE against the shared vectors (made by the hub's code with
 * @noble/curves, re-derived here with libsodium), whole hello/claim runs against a hub side
 * written on libsodium (hub_side.c), and every refusal: the pairing window, the hello rate,
 * wrong codes and their lock, replays, expiry. */
#include <sodium.h>
#include <stdlib.h>

#include "b64.h"
#include "fake_hal.h"
#include "hub_side.h"
#include "pair.h"
#include "tests.h"
#include "vectors.h"

static pair_identity me;
static pair_state st;

/* The plug of the vectors, its window open as at power-on, no session yet. */
static void vector_plug(void)
{
    static char id[32], code[16];
    snprintf(id, sizeof id, "%s", vec_str("id"));
    snprintf(code, sizeof code, "%s", vec_str("setupCode"));
    me.id = id;
    me.model = "hearth-plug-sim";
    me.fw = "1.0.0";
    me.setup_code = code;
    CHECK(vec_b64("pairing.plugBoxSecretKey", me.box_sk, 32));
    CHECK(vec_b64("pairing.plugBoxPublicKey", me.box_pk, 32));
    pair_init(&st);
    pair_open_window(&st, 0, 600000);
}

static int hello_q(const char *query, uint64_t now, char *out, size_t cap)
{
    buf_t b;
    buf_init(&b, out, cap);
    return pair_hello(&st, &me, false, query, query ? strlen(query) : 0, now, &b);
}

static int claim(const char *body, uint64_t now, pair_creds *c, char *out, size_t cap)
{
    buf_t b;
    buf_init(&b, out, cap);
    return pair_claim(&st, &me, false, body, strlen(body), now, c, &b);
}

static void from_hex(uint8_t *out, const char *hex, size_t n)
{
    size_t got = 0;
    CHECK(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL) == 0 && got == n);
}

static void pake_matches_vectors(void)
{
    vector_plug();
    uint8_t sid[16], gs[384], want_gs[384], g[32], want[32], scalar[32], hub_share[32], share[32];
    CHECK(vec_b64("pairing.pake.sid", sid, 16));
    size_t n = pake_generator_string(gs, sizeof gs, me.setup_code, me.id, sid);
    const char *hex = vec_str("pairing.pake.generatorString");
    CHECK_INT(n, strlen(hex) / 2);
    from_hex(want_gs, hex, n);
    CHECK(memcmp(gs, want_gs, n) == 0);
    CHECK(pake_generator(g, me.setup_code, me.id, sid));
    from_hex(want, vec_str("pairing.pake.generator"), 32);
    CHECK(memcmp(g, want, 32) == 0);
    /* The hub's share from its scalar, with libsodium as the hub does with @noble/curves. */
    CHECK(vec_b64("pairing.pake.hubScalar", scalar, 32));
    CHECK(crypto_scalarmult_ristretto255(hub_share, scalar, g) == 0);
    CHECK(vec_b64("pairing.pake.hubShare", want, 32));
    CHECK(memcmp(hub_share, want, 32) == 0);
    /* The plug's share and every key. */
    pake_keys k;
    CHECK(vec_b64("pairing.pake.plugScalar", scalar, 32));
    CHECK(pake_respond(&k, share, scalar, me.setup_code, me.id, sid, hub_share, me.box_pk));
    CHECK(vec_b64("pairing.pake.plugShare", want, 32));
    CHECK(memcmp(share, want, 32) == 0);
    CHECK(vec_b64("pairing.pake.hubConfirm", want, 32));
    CHECK(memcmp(k.hub_confirm, want, 32) == 0);
    CHECK(vec_b64("pairing.pake.plugConfirm", want, 32));
    CHECK(memcmp(k.plug_confirm, want, 32) == 0);
    CHECK(vec_b64("pairing.pake.claimKey", want, 32));
    CHECK(memcmp(k.claim_key, want, 32) == 0);
    /* A hub with the wrong code: the plug expects another confirmation than the one it gets. */
    uint8_t wrong_share[32], got_confirm[32];
    const char *w = vec_str("pairing.pake.wrongCode.hubShareUrl");
    CHECK(b64url_decode_exact(wrong_share, 32, w, strlen(w)));
    CHECK(pake_respond(&k, share, scalar, me.setup_code, me.id, sid, wrong_share, me.box_pk));
    CHECK(vec_b64("pairing.pake.wrongCode.plugExpects", want, 32));
    CHECK(memcmp(k.hub_confirm, want, 32) == 0);
    CHECK(vec_b64("pairing.pake.wrongCode.hubConfirm", got_confirm, 32));
    CHECK(memcmp(k.hub_confirm, got_confirm, 32) != 0);
}

static void pake_refuses_invalid_shares(void)
{
    vector_plug();
    uint8_t sid[16], scalar[32], share[32], bad[32];
    pake_keys k;
    memset(&k, 0xa5, sizeof k);
    CHECK(vec_b64("pairing.pake.sid", sid, 16));
    CHECK(vec_b64("pairing.pake.plugScalar", scalar, 32));
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "pairing.pake.invalidShares.%d", i);
        const char *s = vec_str(path);
        CHECK(b64url_decode_exact(bad, 32, s, strlen(s)));
        CHECK(!pake_respond(&k, share, scalar, me.setup_code, me.id, sid, bad, me.box_pk));
        char q[128], out[256];
        snprintf(q, sizeof q, "pv=2&sid=%s&share=%s", vec_str("pairing.pake.sidUrl"), s);
        CHECK_INT(hello_q(q, 1000, out, sizeof out), 400);
        CHECK_STR(out, "{\"error\":\"malformed\"}");
        CHECK(!st.session_valid);
    }
}

static void claim_box_opens_the_vector_plaintext(void)
{
    uint8_t key[32], nonce[24], box[1024], pt[1024], again[1024];
    size_t len;
    CHECK(vec_b64("pairing.pake.claimKey", key, 32));
    CHECK(vec_b64("claim.nonce", nonce, 24));
    const char *b = vec_str("claim.box");
    CHECK(b64_decode(box, sizeof box, &len, b, strlen(b)));
    CHECK(hal_secretbox_open(pt, box, len, nonce, key));
    const char *want = vec_str("claim.plaintext");
    CHECK(len - 16 == strlen(want) && memcmp(pt, want, len - 16) == 0);
    /* libsodium seals the same plaintext to the same bytes as tweetnacl. */
    CHECK(crypto_secretbox_easy(again, (const uint8_t *)want, strlen(want), nonce, key) == 0);
    CHECK(memcmp(again, box, len) == 0);
}

static void claim_with_vector_body(void)
{
    vector_plug();
    open_vector_session(&st, 1000);
    char out[128], want[96];
    pair_creds c;
    CHECK_INT(claim(vec_str("claim.body"), 1000 + 59000, &c, out, sizeof out), 200);
    snprintf(want, sizeof want, "{\"ok\":true,\"confirm\":\"%s\"}", vec_str("pairing.pake.plugConfirm"));
    CHECK_STR(out, want);
    CHECK_STR(c.host, "127.0.0.1");
    CHECK_INT(c.port, 1883);
    CHECK_STR(c.username, me.id);
    CHECK(strncmp(c.password, "pw-", 3) == 0 && strlen(c.password) == 27);
    CHECK_INT(c.counter, 7);
    uint8_t hub_pk[32];
    CHECK(vec_b64("hub.signPublicKey", hub_pk, 32));
    CHECK(memcmp(c.hub_pk, hub_pk, 32) == 0);
    /* One claim per hello: the session is spent. */
    CHECK_INT(claim(vec_str("claim.body"), 1000 + 59000, &c, out, sizeof out), 410);
    CHECK_STR(out, "{\"error\":\"session_expired\"}");
}

/* The whole exchange with a random session: the hub side on libsodium, the plug's core. */
static void pairs_with_the_right_code(void)
{
    vector_plug();
    hub_session h;
    hub_start(&h, "12345678", me.id);
    char out[512], pt[512], body[2048];
    CHECK_INT(hello_q(h.query, 1000, out, sizeof out), 200);
    /* Only what the protocol says is in the answer: no proof, nothing made from the code alone. */
    json_tok t[32];
    json_doc d;
    CHECK(json_parse(&d, out, strlen(out), t, 32) > 0);
    const char *keys[] = {"id", "model", "fw", "pv", "claimed", "boxPublicKey", "share"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECK(json_find(&d, 0, keys[i]) >= 0);
    CHECK(json_find(&d, 0, "plugNonce") < 0);
    CHECK(json_str_eq(&d, json_find(&d, 0, "id"), me.id));
    CHECK(d.t[json_find(&d, 0, "claimed")].type == JT_FALSE);
    uint64_t pv = 0;
    CHECK(json_get_u64(&d, json_find(&d, 0, "pv"), 10, &pv) && pv == 2);
    CHECK(json_find(&d, 0, "proof") < 0);
    CHECK(hub_finish(&h, out));
    hub_claim_plaintext(pt, sizeof pt, me.id, "pw-right", 41);
    hub_claim_body(&h, pt, body, sizeof body);
    pair_creds c;
    CHECK_INT(claim(body, 2000, &c, out, sizeof out), 200);
    CHECK_STR(c.password, "pw-right");
    CHECK_INT(c.counter, 41);
    /* The plug's confirmation is the one the hub derived. */
    char want[96], b64c[48];
    b64_encode(b64c, sizeof b64c, h.keys.plug_confirm, 32);
    snprintf(want, sizeof want, "{\"ok\":true,\"confirm\":\"%s\"}", b64c);
    CHECK_STR(out, want);
}

/* A hub with the wrong code: one online guess, refused as wrong_code, nothing stored. */
static void wrong_code_is_one_online_guess(void)
{
    vector_plug();
    hub_session h;
    hub_start(&h, "87654321", me.id);
    char out[512], pt[512], body[2048];
    CHECK_INT(hello_q(h.query, 1000, out, sizeof out), 200);
    CHECK(hub_finish(&h, out));
    hub_claim_plaintext(pt, sizeof pt, me.id, "pw-wrong", 0);
    hub_claim_body(&h, pt, body, sizeof body);
    pair_creds c;
    memset(&c, 0, sizeof c);
    CHECK_INT(claim(body, 2000, &c, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"wrong_code\"}");
    CHECK_INT(st.wrong, 1);
    CHECK(c.password[0] == '\0');
    /* The session is over: the same claim again is not a second guess. */
    CHECK_INT(claim(body, 2001, &c, out, sizeof out), 410);
    CHECK_INT(st.wrong, 1);
}

/* A recorded exchange (hello query and claim) replayed to the same plug later: the plug's new
 * share makes new keys, so the old confirmation is refused and nothing is stored. */
static void replayed_transcript_is_refused(void)
{
    vector_plug();
    hub_session h;
    hub_start(&h, "12345678", me.id);
    char out[512], pt[512], body[2048];
    CHECK_INT(hello_q(h.query, 1000, out, sizeof out), 200);
    CHECK(hub_finish(&h, out));
    hub_claim_plaintext(pt, sizeof pt, me.id, "pw-recorded", 0);
    hub_claim_body(&h, pt, body, sizeof body);
    /* The recorder replays it all into a new session of the plug (the real hub never claimed). */
    char again[512];
    CHECK_INT(hello_q(h.query, 5000, again, sizeof again), 200);
    CHECK(strcmp(again, out) != 0); /* a fresh share for the same query */
    pair_creds c;
    memset(&c, 0, sizeof c);
    CHECK_INT(claim(body, 5001, &c, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"wrong_code\"}");
    CHECK(c.password[0] == '\0');
    /* And the vectors' claim, made for another session, is refused as such. */
    vector_plug();
    CHECK_INT(hello_q(h.query, 1000, out, sizeof out), 200);
    CHECK_INT(claim(vec_str("claim.body"), 1001, &c, out, sizeof out), 410);
    CHECK_STR(out, "{\"error\":\"session_expired\"}");
}

static void hello_refusals(void)
{
    vector_plug();
    char out[512], q[256];
    const char *sid = vec_str("pairing.pake.sidUrl"), *share = vec_str("pairing.pake.hubShareUrl");
    /* An older hub (no pv, or v1's nonce) is told which version this plug speaks. */
    const char *old[] = {NULL, "", "nonce=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "pv=1", "pv=22", "pv="};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
        CHECK_INT(hello_q(old[i], 0, out, sizeof out), 400);
        CHECK_STR(out, "{\"error\":\"unsupported_version\",\"pv\":2}");
    }
    const char *bad_sid[] = {"", "short", "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAA+",
                             "AAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad_sid / sizeof bad_sid[0]; i++) {
        snprintf(q, sizeof q, "pv=2&sid=%s&share=%s", bad_sid[i], share);
        CHECK_INT(hello_q(q, 0, out, sizeof out), 400);
        CHECK_STR(out, "{\"error\":\"malformed\"}");
    }
    snprintf(q, sizeof q, "pv=2&sid=%s", sid);
    CHECK_INT(hello_q(q, 0, out, sizeof out), 400);
    snprintf(q, sizeof q, "pv=2&sid=%s&share=%.42s", sid, share);
    CHECK_INT(hello_q(q, 0, out, sizeof out), 400);
    CHECK(!st.session_valid);
    CHECK_INT(st.rate_n, 0); /* malformed ones are not counted */
    /* Parameters in any order. */
    snprintf(q, sizeof q, "share=%s&sid=%s&pv=2", share, sid);
    CHECK_INT(hello_q(q, 0, out, sizeof out), 200);
    buf_t b;
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_hello(&st, &me, true, q, strlen(q), 0, &b), 409);
    CHECK_STR(out, "{\"error\":\"already_claimed\"}");
}

/* Defence in depth: a session is opened only while the window someone opened at the plug lasts. */
static void hello_only_in_the_pairing_window(void)
{
    vector_plug();
    char q[128], out[512];
    snprintf(q, sizeof q, "pv=2&sid=%s&share=%s", vec_str("pairing.pake.sidUrl"), vec_str("pairing.pake.hubShareUrl"));
    pair_init(&st); /* nothing opened it */
    CHECK_INT(hello_q(q, 0, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"not_in_pairing_mode\"}");
    CHECK(!st.session_valid);
    pair_open_window(&st, 1000, 600000);
    CHECK_INT(hello_q(q, 1000, out, sizeof out), 200);
    CHECK(strstr(out, "\"share\"") != NULL);
    CHECK_INT(hello_q(q, 600999, out, sizeof out), 200);
    CHECK_INT(hello_q(q, 601000, out, sizeof out), 403); /* closed, for good */
    CHECK_INT(hello_q(q, 10000000, out, sizeof out), 403);
    pair_open_window(&st, 20000000, 600000);
    pair_open_window(&st, 20000000, 1000);
    CHECK_INT(hello_q(q, 20500000, out, sizeof out), 200);
}

static void hello_is_rate_limited(void)
{
    vector_plug();
    char q[128], out[512];
    snprintf(q, sizeof q, "pv=2&sid=%s&share=%s", vec_str("pairing.pake.sidUrl"), vec_str("pairing.pake.hubShareUrl"));
    for (int i = 0; i < PAIR_HELLO_PER_MIN; i++) CHECK_INT(hello_q(q, 1000 + (uint64_t)i, out, sizeof out), 200);
    pake_keys keys = st.keys;
    CHECK_INT(hello_q(q, 2000, out, sizeof out), 429);
    CHECK_STR(out, "{\"error\":\"rate_limited\"}");
    /* A refused hello does not replace the session the last answer opened. */
    CHECK(memcmp(&keys, &st.keys, sizeof keys) == 0 && st.session_valid);
    CHECK_INT(hello_q(q, 60999, out, sizeof out), 429);
    CHECK_INT(hello_q(q, 61000, out, sizeof out), 200);
}

static void claim_refusals(void)
{
    vector_plug();
    open_vector_session(&st, 1000);
    char out[128];
    pair_creds c;
    /* A flipped confirmation: wrong_code, counted, the session over. */
    CHECK_INT(claim(vec_str("claim.wrongConfirm.body"), 2000, &c, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"wrong_code\"}");
    CHECK_INT(st.wrong, 1);
    open_vector_session(&st, 1000);
    CHECK_INT(claim(vec_str("claim.wrongCodeBody"), 2000, &c, out, sizeof out), 403);
    CHECK_INT(st.wrong, 2);
    /* The right confirmation with a tampered box: the code was right, the body is not. */
    open_vector_session(&st, 1000);
    CHECK_INT(claim(vec_str("claim.tampered.body"), 2000, &c, out, sizeof out), 400);
    CHECK_STR(out, "{\"error\":\"malformed\"}");
    CHECK_INT(st.wrong, 2);
    CHECK(!st.session_valid);
    /* Malformed bodies: 400, not counted, the session kept. */
    open_vector_session(&st, 1000);
    const char *bad[] = {"", "{}", "[]", "{\"sid\":\"x\",\"confirm\":\"y\",\"nonce\":\"z\",\"box\":\"w\"}",
                         "{\"hubBoxPublicKey\":1}", "garbage"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(claim(bad[i], 2000, &c, out, sizeof out), 400);
        CHECK_STR(out, "{\"error\":\"malformed\"}");
    }
    CHECK_INT(st.wrong, 2);
    /* The right body still works after wrong tries. */
    CHECK_INT(claim(vec_str("claim.body"), 2000, &c, out, sizeof out), 200);
    buf_t b;
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_claim(&st, &me, true, "{}", 2, 2000, &c, &b), 409);
    CHECK_STR(out, "{\"error\":\"already_claimed\"}");
}

static void session_expires(void)
{
    vector_plug();
    open_vector_session(&st, 1000);
    char out[128];
    pair_creds c;
    CHECK_INT(claim(vec_str("claim.body"), 1000 + 60001, &c, out, sizeof out), 410);
    CHECK_STR(out, "{\"error\":\"session_expired\"}");
    pair_init(&st); /* never said hello */
    CHECK_INT(claim(vec_str("claim.body"), 0, &c, out, sizeof out), 410);
}

static void five_wrong_claims_lock(void)
{
    vector_plug();
    char out[128];
    pair_creds c;
    for (int i = 0; i < 5; i++) {
        open_vector_session(&st, 1000);
        CHECK_INT(claim(vec_str("claim.wrongCodeBody"), 2000 + (uint64_t)i, &c, out, sizeof out), 403);
    }
    /* Locked for 60 s, even with the right code. */
    open_vector_session(&st, 2005);
    CHECK_INT(claim(vec_str("claim.body"), 2010, &c, out, sizeof out), 429);
    CHECK_STR(out, "{\"error\":\"locked\"}");
    CHECK_INT(claim(vec_str("claim.body"), 2004 + 59999, &c, out, sizeof out), 429);
    /* After the lock: a new session, then the right code works. */
    open_vector_session(&st, 70000);
    CHECK_INT(claim(vec_str("claim.body"), 70000, &c, out, sizeof out), 200);
}

static void garbage_claims_never_crash(void)
{
    vector_plug();
    const char *body = vec_str("claim.body");
    size_t n = strlen(body);
    char out[128];
    pair_creds c;
    for (size_t cut = 0; cut < n; cut += 3) {
        open_vector_session(&st, 1000);
        char *heap = malloc(cut ? cut : 1);
        memcpy(heap, body, cut);
        buf_t b;
        buf_init(&b, out, sizeof out);
        int s = pair_claim(&st, &me, false, heap, cut, 1000, &c, &b);
        CHECK(s == 400 || s == 403 || s == 429);
        free(heap);
        st.locked = false;
    }
    char big[PAIR_MAX_BODY + 10];
    memset(big, 'a', sizeof big);
    CHECK_INT(claim("", 1000, &c, out, sizeof out), 400);
    buf_t b;
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_claim(&st, &me, false, big, sizeof big, 1000, &c, &b), 400);
}

const test_case pair_tests[] = {
    {"pair: CPace generator, shares, confirmations and claim key match the vectors", pake_matches_vectors},
    {"pair: identity, non-canonical and non-point shares are refused", pake_refuses_invalid_shares},
    {"pair: tweetnacl secretbox opens with libsodium and re-seals byte for byte", claim_box_opens_the_vector_plaintext},
    {"pair: claim with the vector body stores the credentials and confirms", claim_with_vector_body},
    {"pair: hello then claim with the right code, random session", pairs_with_the_right_code},
    {"pair: a wrong code is one online guess, refused as wrong_code", wrong_code_is_one_online_guess},
    {"pair: a replayed hello and claim are refused", replayed_transcript_is_refused},
    {"pair: hello refuses older hubs, bad sids and shares, claimed plugs", hello_refusals},
    {"pair: hello only while the pairing window is open (403 not_in_pairing_mode)", hello_only_in_the_pairing_window},
    {"pair: hello is rate-limited (429 rate_limited), the session kept", hello_is_rate_limited},
    {"pair: wrong confirmation, tampered box, malformed, already claimed", claim_refusals},
    {"pair: the session expires after 60 s", session_expires},
    {"pair: five wrong claims lock claiming for 60 s", five_wrong_claims_lock},
    {"pair: truncated and oversized claims never crash", garbage_claims_never_crash},
    {NULL, NULL},
};
