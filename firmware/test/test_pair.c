/* Pairing against the shared vectors: the hello proof the hub will recompute, the claim the
 * hub seals with tweetnacl, opened by libsodium; then every refusal. */
#include <sodium.h>
#include <stdlib.h>

#include "b64.h"
#include "fake_hal.h"
#include "pair.h"
#include "tests.h"
#include "vectors.h"

static pair_identity me;
static pair_state st;

/* The plug of the vectors, with the plug nonce of the vectors as if its hello just ran. */
static void vector_plug(uint64_t now)
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
    pair_open_window(&st, 0, 600000); /* as at power-on */
    CHECK(vec_b64("pairing.plugNonce", st.plug_nonce, 32));
    st.nonce_valid = true;
    st.nonce_at_ms = now;
}

static int claim(const char *body, uint64_t now, pair_creds *c, char *out, size_t cap)
{
    buf_t b;
    buf_init(&b, out, cap);
    return pair_claim(&st, &me, false, body, strlen(body), now, c, &b);
}

static void proofs_match_vectors(void)
{
    vector_plug(0);
    uint8_t want[32], got[32], pk[32];
    /* The box public key follows from the secret key, in libsodium as in tweetnacl. */
    crypto_scalarmult_base(pk, me.box_sk);
    CHECK(memcmp(pk, me.box_pk, 32) == 0);
    const char *hub_nonce = vec_str("pairing.hubNonce");
    pair_hello_proof(got, me.setup_code, me.id, me.box_pk, hub_nonce, strlen(hub_nonce),
                     st.plug_nonce);
    CHECK(vec_b64("pairing.helloProof", want, 32));
    CHECK(memcmp(got, want, 32) == 0);
    pair_claim_proof(got, me.setup_code, me.id, st.plug_nonce);
    CHECK(vec_b64("pairing.claimProof", want, 32));
    CHECK(memcmp(got, want, 32) == 0);
    /* The wrong-code proofs differ. */
    CHECK(vec_b64("pairing.tampered.claimProof", want, 32));
    CHECK(memcmp(got, want, 32) != 0);
    CHECK(vec_b64("pairing.tampered.helloProof", want, 32));
    pair_hello_proof(got, me.setup_code, me.id, me.box_pk, hub_nonce, strlen(hub_nonce),
                     st.plug_nonce);
    CHECK(memcmp(got, want, 32) != 0);
}

static void hello_answers_with_a_proof(void)
{
    vector_plug(0);
    const char *hub_nonce = vec_str("pairing.hubNonce");
    char out[512];
    buf_t b;
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_hello(&st, &me, false, hub_nonce, strlen(hub_nonce), 5000, &b), 200);
    json_tok t[32];
    json_doc d;
    CHECK(json_parse(&d, out, strlen(out), t, 32) > 0);
    CHECK(json_str_eq(&d, json_find(&d, 0, "id"), me.id));
    CHECK(json_str_eq(&d, json_find(&d, 0, "model"), "hearth-plug-sim"));
    CHECK(json_str_eq(&d, json_find(&d, 0, "fw"), "1.0.0"));
    CHECK(d.t[json_find(&d, 0, "claimed")].type == JT_FALSE);
    uint64_t pv;
    CHECK(json_get_u64(&d, json_find(&d, 0, "pv"), 10, &pv) && pv == 1);
    char s[64];
    uint8_t nonce[32], proof[32], pk[32], want[32];
    CHECK(json_get_str(&d, json_find(&d, 0, "plugNonce"), s, sizeof s));
    CHECK(b64_decode_exact(nonce, 32, s, strlen(s)));
    CHECK(memcmp(nonce, st.plug_nonce, 32) == 0 && st.nonce_at_ms == 5000);
    CHECK(json_get_str(&d, json_find(&d, 0, "boxPublicKey"), s, sizeof s));
    CHECK(b64_decode_exact(pk, 32, s, strlen(s)) && memcmp(pk, me.box_pk, 32) == 0);
    CHECK(json_get_str(&d, json_find(&d, 0, "proof"), s, sizeof s));
    CHECK(b64_decode_exact(proof, 32, s, strlen(s)));
    /* What the hub does with the code the person typed. */
    pair_hello_proof(want, "12345678", me.id, pk, hub_nonce, strlen(hub_nonce), nonce);
    CHECK(memcmp(proof, want, 32) == 0);
    pair_hello_proof(want, "12345679", me.id, pk, hub_nonce, strlen(hub_nonce), nonce);
    CHECK(memcmp(proof, want, 32) != 0);
}

static void hello_refusals(void)
{
    vector_plug(0);
    char out[512];
    buf_t b;
    const char *bad[] = {"", "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_init(&b, out, sizeof out);
        CHECK_INT(pair_hello(&st, &me, false, bad[i], strlen(bad[i]), 0, &b), 400);
        CHECK_STR(out, "{\"error\":\"malformed\"}");
    }
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_hello(&st, &me, false, NULL, 0, 0, &b), 400);
    const char *ok = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_hello(&st, &me, true, ok, strlen(ok), 0, &b), 409);
    CHECK_STR(out, "{\"error\":\"already_claimed\"}");
}

static int hello_at(uint64_t now, const char *nonce, char *out, size_t cap)
{
    buf_t b;
    buf_init(&b, out, cap);
    return pair_hello(&st, &me, false, nonce, nonce ? strlen(nonce) : 0, now, &b);
}

/* The proof lets its holder test codes offline: only handed out while the window that was
 * opened at the plug lasts, never to whoever asks later. */
static void hello_only_in_the_pairing_window(void)
{
    vector_plug(0);
    const char *ok = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char out[512];
    pair_init(&st); /* nothing opened it */
    CHECK_INT(hello_at(0, ok, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"not_in_pairing_mode\"}");
    CHECK(!st.nonce_valid); /* no nonce issued, no proof given */
    pair_open_window(&st, 1000, 600000);
    CHECK_INT(hello_at(1000, ok, out, sizeof out), 200);
    CHECK(strstr(out, "\"proof\"") != NULL);
    CHECK_INT(hello_at(600999, ok, out, sizeof out), 200);
    CHECK_INT(hello_at(601000, ok, out, sizeof out), 403); /* closed, for good */
    CHECK_INT(hello_at(10000000, ok, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"not_in_pairing_mode\"}");
    /* Reopened (a button press): answered again; a shorter reopening never shortens it. */
    pair_open_window(&st, 20000000, 600000);
    pair_open_window(&st, 20000000, 1000);
    CHECK_INT(hello_at(20500000, ok, out, sizeof out), 200);
    /* A claimed plug says so first, window or not. */
    buf_t b;
    buf_init(&b, out, sizeof out);
    CHECK_INT(pair_hello(&st, &me, true, ok, strlen(ok), 20500000, &b), 409);
}

static void hello_is_rate_limited(void)
{
    vector_plug(0);
    const char *ok = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char out[512];
    uint8_t nonce[32];
    for (int i = 0; i < PAIR_HELLO_PER_MIN; i++) CHECK_INT(hello_at(1000 + (uint64_t)i, ok, out, sizeof out), 200);
    memcpy(nonce, st.plug_nonce, 32);
    CHECK_INT(hello_at(2000, ok, out, sizeof out), 429);
    CHECK_STR(out, "{\"error\":\"rate_limited\"}");
    /* A refused hello does not replace the nonce the last answer carried (a flood cannot
     * spoil the claim in progress). */
    CHECK(memcmp(nonce, st.plug_nonce, 32) == 0);
    CHECK_INT(hello_at(60999, ok, out, sizeof out), 429);
    /* Malformed ones are refused as such and not counted. */
    CHECK_INT(hello_at(61000, "short", out, sizeof out), 400);
    CHECK_INT(hello_at(61000, ok, out, sizeof out), 200);
}

static void claim_with_vector_body(void)
{
    vector_plug(1000);
    char out[128];
    pair_creds c;
    CHECK_INT(claim(vec_str("claim.body"), 1000 + 59000, &c, out, sizeof out), 200);
    CHECK_STR(out, "{\"ok\":true}");
    CHECK_STR(c.host, "127.0.0.1");
    CHECK_INT(c.port, 1883);
    CHECK_STR(c.username, me.id);
    CHECK(strncmp(c.password, "pw-", 3) == 0 && strlen(c.password) == 27);
    CHECK_INT(c.counter, 7);
    uint8_t hub_pk[32];
    CHECK(vec_b64("hub.signPublicKey", hub_pk, 32));
    CHECK(memcmp(c.hub_pk, hub_pk, 32) == 0);
    /* One claim per hello: the nonce is spent. */
    CHECK_INT(claim(vec_str("claim.body"), 1000 + 59000, &c, out, sizeof out), 410);
    CHECK_STR(out, "{\"error\":\"nonce_expired\"}");
}

static void claim_box_opens_the_vector_plaintext(void)
{
    vector_plug(0);
    uint8_t hub_pk[32], nonce[24], box[1024], pt[1024];
    size_t len;
    CHECK(vec_b64("claim.hubBoxPublicKey", hub_pk, 32));
    CHECK(vec_b64("claim.nonce", nonce, 24));
    const char *b = vec_str("claim.box");
    CHECK(b64_decode(box, sizeof box, &len, b, strlen(b)));
    CHECK(hal_box_open(pt, box, len, nonce, hub_pk, me.box_sk));
    const char *want = vec_str("claim.plaintext");
    CHECK(len - 16 == strlen(want) && memcmp(pt, want, len - 16) == 0);
    /* libsodium seals the same plaintext to the same bytes (fixed keys and nonce). */
    uint8_t hub_sk[32], again[1024];
    CHECK(vec_b64("claim.hubBoxSecretKey", hub_sk, 32));
    CHECK(crypto_box_easy(again, (const uint8_t *)want, strlen(want), nonce, me.box_pk, hub_sk) == 0);
    CHECK(memcmp(again, box, len) == 0);
}

static void claim_refusals(void)
{
    vector_plug(1000);
    char out[128];
    pair_creds c;
    /* Tampered box and wrong-code proof: 403, counted. */
    CHECK_INT(claim(vec_str("claim.tampered.body"), 2000, &c, out, sizeof out), 403);
    CHECK_STR(out, "{\"error\":\"wrong_code\"}");
    CHECK_INT(claim(vec_str("claim.wrongCodeBody"), 2000, &c, out, sizeof out), 403);
    CHECK_INT(st.wrong, 2);
    /* Malformed bodies: 400, not counted. */
    const char *bad[] = {"", "{}", "[]", "{\"hubBoxPublicKey\":\"x\",\"nonce\":\"y\",\"box\":\"z\"}",
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

static void claim_nonce_expiry(void)
{
    vector_plug(1000);
    char out[128];
    pair_creds c;
    CHECK_INT(claim(vec_str("claim.body"), 1000 + 60001, &c, out, sizeof out), 410);
    CHECK_STR(out, "{\"error\":\"nonce_expired\"}");
    pair_init(&st); /* never said hello */
    CHECK_INT(claim(vec_str("claim.body"), 0, &c, out, sizeof out), 410);
}

static void five_wrong_claims_lock(void)
{
    vector_plug(1000);
    char out[128];
    pair_creds c;
    for (int i = 0; i < 5; i++)
        CHECK_INT(claim(vec_str("claim.wrongCodeBody"), 2000 + (uint64_t)i, &c, out, sizeof out), 403);
    /* Locked for 60 s, even with the right code. */
    CHECK_INT(claim(vec_str("claim.body"), 2010, &c, out, sizeof out), 429);
    CHECK_STR(out, "{\"error\":\"locked\"}");
    CHECK_INT(claim(vec_str("claim.body"), 2004 + 59999, &c, out, sizeof out), 429);
    /* After the lock the nonce has expired too: a new hello, then the right code works. */
    CHECK_INT(claim(vec_str("claim.body"), 2004 + 60000, &c, out, sizeof out), 410);
    vector_plug(70000);
    CHECK_INT(claim(vec_str("claim.body"), 70000, &c, out, sizeof out), 200);
}

static void garbage_claims_never_crash(void)
{
    vector_plug(1000);
    const char *body = vec_str("claim.body");
    size_t n = strlen(body);
    char out[128];
    pair_creds c;
    for (size_t cut = 0; cut < n; cut += 3) {
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
    {"pair: hello and claim proofs match the vectors", proofs_match_vectors},
    {"pair: hello answers id, model, fw, key, nonce and a checkable proof", hello_answers_with_a_proof},
    {"pair: hello refuses bad nonces and claimed plugs", hello_refusals},
    {"pair: hello only while the pairing window is open (403 not_in_pairing_mode)", hello_only_in_the_pairing_window},
    {"pair: hello is rate-limited (429 rate_limited), the nonce kept", hello_is_rate_limited},
    {"pair: claim with the vector body stores the credentials", claim_with_vector_body},
    {"pair: tweetnacl box opens with libsodium and re-seals byte for byte", claim_box_opens_the_vector_plaintext},
    {"pair: tampered box, wrong code, malformed, already claimed", claim_refusals},
    {"pair: plug nonce expires after 60 s", claim_nonce_expiry},
    {"pair: five wrong claims lock claiming for 60 s", five_wrong_claims_lock},
    {"pair: truncated and oversized claims never crash", garbage_claims_never_crash},
    {NULL, NULL},
};
