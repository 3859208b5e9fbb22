/* Pairing's timing, shown by structure rather than by a clock (issue 17; docs/plug-protocol.md
 * "Timing"): the test binary is linked with --wrap for every crypto call of the PAKE, so each
 * test counts the work the plug does. A hello costs the same whatever code the hub used (the
 * plug cannot tell: it derives with its own code), and a claim does no crypto before the
 * confirmation is compared (ct_equal, all 32 bytes): a wrong code and a right one cost the
 * same up to that comparison, which is the answer they get. */
#include <string.h>

#include "fake_hal.h"
#include "hub_side.h"
#include "pair.h"
#include "tests.h"
#include "vectors.h"

typedef struct {
    int sha512, from_hash, scalarmult, hmac, secretbox_open, box_open;
} work_t;
static work_t work;

void __real_hal_sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len);
void __wrap_hal_sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len)
{
    work.sha512++;
    __real_hal_sha512(out, msg, msg_len);
}
void __real_hal_ristretto255_from_hash(uint8_t p[32], const uint8_t h[64]);
void __wrap_hal_ristretto255_from_hash(uint8_t p[32], const uint8_t h[64])
{
    work.from_hash++;
    __real_hal_ristretto255_from_hash(p, h);
}
bool __real_hal_ristretto255_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32]);
bool __wrap_hal_ristretto255_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32])
{
    work.scalarmult++;
    return __real_hal_ristretto255_scalarmult(q, n, p);
}
void __real_hal_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const uint8_t *msg,
                            size_t msg_len);
void __wrap_hal_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const uint8_t *msg,
                            size_t msg_len)
{
    work.hmac++;
    __real_hal_hmac_sha256(out, key, key_len, msg, msg_len);
}
bool __real_hal_secretbox_open(uint8_t *out, const uint8_t *box, size_t box_len,
                               const uint8_t nonce[24], const uint8_t key[32]);
bool __wrap_hal_secretbox_open(uint8_t *out, const uint8_t *box, size_t box_len,
                               const uint8_t nonce[24], const uint8_t key[32])
{
    work.secretbox_open++;
    return __real_hal_secretbox_open(out, box, box_len, nonce, key);
}
bool __real_hal_box_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                         const uint8_t sender_pk[32], const uint8_t my_sk[32]);
bool __wrap_hal_box_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                         const uint8_t sender_pk[32], const uint8_t my_sk[32])
{
    work.box_open++;
    return __real_hal_box_open(out, box, box_len, nonce, sender_pk, my_sk);
}

static pair_identity me;
static pair_state st;

static void fresh_plug(void)
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

static bool same_work(work_t a, work_t b) { return memcmp(&a, &b, sizeof a) == 0; }

/* One hello and one claim from a hub holding `code`: the plug's work on each, and the status. */
static void run(const char *code, work_t *hello, work_t *claim, int *status)
{
    fresh_plug();
    hub_session h;
    hub_start(&h, code, me.id);
    char out[512], pt[512], body[2048];
    buf_t b;
    buf_init(&b, out, sizeof out);
    memset(&work, 0, sizeof work);
    CHECK_INT(pair_hello(&st, &me, false, h.query, strlen(h.query), 1000, &b), 200);
    *hello = work;
    CHECK(hub_finish(&h, out));
    hub_claim_plaintext(pt, sizeof pt, me.id, "pw-timing", 0);
    hub_claim_body(&h, pt, body, sizeof body);
    pair_creds c;
    buf_init(&b, out, sizeof out);
    memset(&work, 0, sizeof work);
    *status = pair_claim(&st, &me, false, body, strlen(body), 2000, &c, &b);
    *claim = work;
}

static void hello_costs_the_same_for_any_code(void)
{
    work_t right_hello, right_claim, wrong_hello, wrong_claim;
    int right_status, wrong_status;
    char code[16]; /* vec_str's buffer is reused by the next lookup */
    snprintf(code, sizeof code, "%s", vec_str("setupCode"));
    run(code, &right_hello, &right_claim, &right_status);
    run("00000001", &wrong_hello, &wrong_claim, &wrong_status);
    CHECK_INT(right_status, 200);
    CHECK_INT(wrong_status, 403);
    /* The whole derivation (generator, two scalar multiplications, ISK, three keys) runs at
     * hello, the same for both: the plug's code is the only code it uses. */
    CHECK(same_work(right_hello, wrong_hello));
    CHECK_INT(right_hello.from_hash, 1);
    CHECK_INT(right_hello.scalarmult, 2);
    CHECK_INT(right_hello.hmac, 3);
    /* At claim, nothing is derived before the comparison: a wrong code's refusal does no crypto
     * at all, and the right code's only crypto is opening the box, after the comparison said
     * yes (which its answer says anyway). */
    CHECK(same_work(wrong_claim, (work_t){0}));
    CHECK(same_work(right_claim, (work_t){.secretbox_open = 1}));
}

const test_case pake_work_tests[] = {
    {"pair: a hello costs the same for any code; a claim does no crypto before the comparison",
     hello_costs_the_same_for_any_code},
    {NULL, NULL},
};
