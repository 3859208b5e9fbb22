/* Firmware manifests (docs/plug-protocol.md "Firmware update"): the shared vectors (signed by
 * tweetnacl with the firmware TEST key) checked with libsodium, each refusal with its code, the
 * portable SHA-256 against libsodium's, versions, and the hub's ota_begin command. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "../port/common/fw_test_key.h"
#include "b64.h"
#include "cmd.h"
#include "fake_hal.h"
#include "ota.h"
#include "sha256.h"
#include "tests.h"
#include "vectors.h"

static void sha256_matches_libsodium(void)
{
    static const char *abc = "abc";
    uint8_t a[32], b[32];
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, (const uint8_t *)abc, 3);
    sha256_final(&c, a);
    static const uint8_t want[4] = {0xba, 0x78, 0x16, 0xbf}; /* FIPS 180-2 example */
    CHECK(memcmp(a, want, 4) == 0);
    /* Every length around the block and padding boundaries, fed in uneven pieces. */
    static uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof data; n++) {
        sha256_init(&c);
        for (size_t off = 0; off < n;) {
            size_t piece = (off % 13) + 1 < n - off ? (off % 13) + 1 : n - off;
            sha256_update(&c, data + off, piece);
            off += piece;
        }
        sha256_final(&c, a);
        crypto_hash_sha256(b, data, n);
        if (memcmp(a, b, 32) != 0) {
            printf("  sha256 differs at length %zu\n", n);
            CHECK(0);
            break;
        }
    }
}

static void test_key_is_the_vectors_key(void)
{
    uint8_t pk[32], seed[32], sk[64], derived[32];
    CHECK(vec_b64("firmware.signPublicKey", pk, 32));
    CHECK(memcmp(pk, HEARTH_FW_TEST_PK, 32) == 0);
    CHECK(vec_b64("firmware.signSeed", seed, 32));
    crypto_sign_seed_keypair(derived, sk, seed);
    CHECK(memcmp(derived, pk, 32) == 0);
}

/* What a plug decides about a case: the manifest check, then (for an accepted one) the hash of
 * the image it received. */
static const char *decide(const char *value, const char *image_b64)
{
    ota_manifest m;
    ota_result r = ota_parse(value, strlen(value), &m);
    if (r == OTA_OK) r = ota_check(&m, HEARTH_FW_TEST_PK, vec_str("firmware.model"),
                                   vec_str("firmware.running"), 65536);
    if (r != OTA_OK) return ota_reason(r);
    static uint8_t image[4096];
    size_t n;
    if (!b64_decode(image, sizeof image, &n, image_b64, strlen(image_b64)) || n != m.size)
        return "bad_size";
    uint8_t d[32];
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, image, n);
    sha256_final(&c, d);
    return memcmp(d, m.sha256, 32) == 0 ? "ok" : "bad_hash";
}

static void vectors_each_case(void)
{
    int n = 0;
    for (int i = 0;; i++) {
        char p[64], pv[80], pi[80], pe[80];
        snprintf(p, sizeof p, "firmware.cases.%d", i);
        if (vec_tok(p) < 0) break;
        snprintf(pv, sizeof pv, "%s.value", p);
        snprintf(pi, sizeof pi, "%s.image", p);
        snprintf(pe, sizeof pe, "%s.expect", p);
        char value[OTA_VALUE_MAX + 1], expect[32];
        snprintf(value, sizeof value, "%s", vec_str(pv));
        snprintf(expect, sizeof expect, "%s", vec_str(pe));
        const char *got = decide(value, vec_str(pi));
        if (strcmp(got, expect) != 0) printf("  case %d: got %s, want %s\n", i, got, expect);
        CHECK_STR(got, expect);
        n++;
    }
    CHECK_INT(n, 7);
    /* libsodium verifies tweetnacl's signature over the documented message. */
    const char *msg = vec_str("firmware.manifestMessage");
    ota_manifest m;
    const char *good = vec_str("firmware.cases.0.value");
    CHECK_INT(ota_parse(good, strlen(good), &m), OTA_OK);
    char rebuilt[160];
    size_t len = ota_signed_message(rebuilt, sizeof rebuilt, m.model, m.version, m.size, m.sha256_b64);
    CHECK(len == strlen(msg) && memcmp(rebuilt, msg, len) == 0);
    CHECK(crypto_sign_verify_detached(m.sig, (const uint8_t *)msg, len, HEARTH_FW_TEST_PK) == 0);
}

static void manifest_refusals(void)
{
    const char *good = vec_str("firmware.cases.0.value");
    ota_manifest m;
    CHECK_INT(ota_parse(good, strlen(good), &m), OTA_OK);
    CHECK_STR(m.version, "1.1.0");
    CHECK_INT(m.size, 1000);
    CHECK(!m.downgrade);
    /* Larger than the slot. */
    CHECK_INT(ota_check(&m, HEARTH_FW_TEST_PK, "hearth-plug-sim", "1.0.0", 999), OTA_TOO_LARGE);
    CHECK_INT(ota_check(&m, HEARTH_FW_TEST_PK, "hearth-plug-sim", "1.0.0", 0), OTA_UNSUPPORTED);
    /* The same version is not an update; an unreadable running version takes any. */
    CHECK_INT(ota_check(&m, HEARTH_FW_TEST_PK, "hearth-plug-sim", "1.1.0", 65536), OTA_DOWNGRADE);
    CHECK_INT(ota_check(&m, HEARTH_FW_TEST_PK, "hearth-plug-sim", "dev", 65536), OTA_OK);
    /* The signature is checked before anything else: an unsigned manifest learns nothing. */
    uint8_t other[32] = {1};
    CHECK_INT(ota_check(&m, other, "another-model", "9.0.0", 1), OTA_BAD_SIGNATURE);
    static const char *bad[] = {
        "{}",
        "{\"manifest\":{\"model\":\"m\",\"version\":\"1.0\",\"size\":1,\"sha256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},\"sig\":\"\"}",
        "{\"manifest\":{\"model\":\"m|x\",\"version\":\"1.0.0\",\"size\":1,\"sha256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},\"sig\":\"AAAA\"}",
        "{\"manifest\":{\"model\":\"m\",\"version\":\"1.0.0\",\"size\":0,\"sha256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},\"sig\":\"AAAA\"}",
        "{\"manifest\":{\"model\":\"m\",\"version\":\"1.0.0\",\"size\":1,\"sha256\":\"AAAA\"},\"sig\":\"AAAA\"}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(ota_parse(bad[i], strlen(bad[i]), &m), OTA_MALFORMED);
}

static void versions_compare_numerically(void)
{
    int c = 99;
    CHECK(ota_version_cmp("1.10.0", "1.9.9", &c) && c > 0);
    CHECK(ota_version_cmp("1.0.0", "1.0.0", &c) && c == 0);
    CHECK(ota_version_cmp("0.9.12", "1.0.0", &c) && c < 0);
    static const char *invalid[] = {"", "1", "1.0", "1.0.0.0", "01.0.0", "1.0.x", "1..0", "1.0.0-rc1",
                                    "1234567890.0.0"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        CHECK(!ota_version_cmp(invalid[i], "1.0.0", &c));
}

static void ota_begin_command_verifies(void)
{
    uint8_t hub_pk[32];
    CHECK(vec_b64("hub.signPublicKey", hub_pk, 32));
    const char *payload = vec_str("firmware.command.payload");
    int64_t t = (int64_t)vec_u64("firmware.command.t");
    cmd_t c;
    CHECK_INT(cmd_verify("plug-0a1b2c3d4e5f", hub_pk, 41, t, payload, strlen(payload), &c), CMD_OK);
    CHECK_STR(c.cap, "ota_begin");
    const char *good = vec_str("firmware.cases.0.value");
    CHECK(c.v_len == strlen(good) && memcmp(c.v_raw, good, c.v_len) == 0);
    /* The usual refusals hold for it too. */
    CHECK_INT(cmd_verify("plug-0a1b2c3d4e5f", hub_pk, 42, t, payload, strlen(payload), &c), CMD_REPLAY);
    char tampered[1024];
    snprintf(tampered, sizeof tampered, "%s", payload);
    char *v = strstr(tampered, "\"1.1.0\"");
    CHECK(v != NULL);
    if (v) v[3] = '2';
    CHECK_INT(cmd_verify("plug-0a1b2c3d4e5f", hub_pk, 0, t, tampered, strlen(tampered), &c), CMD_BAD_SIGNATURE);
}

const test_case ota_tests[] = {
    {"ota: portable SHA-256 equals libsodium's for 0-300 bytes in uneven pieces", sha256_matches_libsodium},
    {"ota: the simulator's test key is the vectors' firmware key", test_key_is_the_vectors_key},
    {"ota: shared vectors: good, wrong model, bad signature (2), downgrade (refused, allowed), bad hash", vectors_each_case},
    {"ota: too large, unsupported, same version, signature first, malformed manifests", manifest_refusals},
    {"ota: versions compare numerically; anything else is invalid", versions_compare_numerically},
    {"ota: the hub's ota_begin command from the vectors verifies; replay and tampering refused", ota_begin_command_verifies},
    {NULL, NULL},
};
