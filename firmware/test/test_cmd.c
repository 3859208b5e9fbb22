/* Command verification against the shared vectors (tweetnacl signatures verified by
 * libsodium, and re-signed by libsodium from the same seed, byte for byte), then every way a
 * command can be refused. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "b64.h"
#include "buf.h"
#include "cmd.h"
#include "fake_hal.h"
#include "tests.h"
#include "vectors.h"

static uint8_t hub_pk[32], hub_sk[64];

static void load_hub_key(void)
{
    uint8_t seed[32], pk[32];
    CHECK(vec_b64("hub.signSeed", seed, 32));
    CHECK(vec_b64("hub.signPublicKey", hub_pk, 32));
    crypto_sign_seed_keypair(pk, hub_sk, seed);
    CHECK(memcmp(pk, hub_pk, 32) == 0); /* same key from the same seed */
}

static const char *ID = "plug-0a1b2c3d4e5f";

static void vectors_verify_and_resign(void)
{
    load_hub_key();
    CHECK_STR(vec_str("id"), ID);
    int n = 0;
    for (int i = 0; vec_tok("commands") >= 0; i++) {
        char path[32];
        snprintf(path, sizeof path, "commands.%d", i);
        if (vec_tok(path) < 0) break;
        n++;
        char p_payload[64], p_message[64], p_sig[64], p_c[64], p_t[64];
        path[16] = '\0'; /* commands.NNNNNNN at most: keeps the compiler sure of the sizes */
        snprintf(p_payload, sizeof p_payload, "%s.payload", path);
        snprintf(p_message, sizeof p_message, "%s.message", path);
        snprintf(p_sig, sizeof p_sig, "%s.sig", path);
        snprintf(p_c, sizeof p_c, "%s.c", path);
        snprintf(p_t, sizeof p_t, "%s.t", path);
        const char *payload = vec_str(p_payload);
        const char *message = vec_str(p_message);
        uint8_t sig[64], mine[64];
        CHECK(vec_b64(p_sig, sig, 64));
        /* libsodium verifies tweetnacl's signature over the exact message. */
        CHECK(crypto_sign_verify_detached(sig, (const uint8_t *)message, strlen(message),
                                          hub_pk) == 0);
        /* Ed25519 is deterministic: the same key signs the same bytes. */
        crypto_sign_detached(mine, NULL, (const uint8_t *)message, strlen(message), hub_sk);
        CHECK(memcmp(sig, mine, 64) == 0);
        /* The plug rebuilds the same message from the payload and accepts the command. */
        cmd_t c;
        int64_t t = (int64_t)vec_u64(p_t);
        CHECK_INT(cmd_verify(ID, hub_pk, 0, t + 29000, payload, strlen(payload), &c), CMD_OK);
        CHECK_INT(c.counter, vec_u64(p_c));
        char rebuilt[160];
        const char *v = c.value ? "true" : "false";
        size_t len = cmd_signed_message(rebuilt, sizeof rebuilt, ID, c.counter, c.t, c.cap, v,
                                        strlen(v));
        CHECK(len == strlen(message) && memcmp(rebuilt, message, len) == 0);
    }
    CHECK(n >= 4);
}

static void tampered_vectors_rejected(void)
{
    load_hub_key();
    int n = 0;
    for (int i = 0;; i++) {
        char path[64];
        snprintf(path, sizeof path, "tamperedCommands.%d.payload", i);
        if (vec_tok(path) < 0) break;
        n++;
        const char *payload = vec_str(path);
        cmd_t c;
        CHECK_INT(cmd_verify(ID, hub_pk, 0, 1767225600000, payload, strlen(payload), &c),
                  CMD_BAD_SIGNATURE);
    }
    CHECK_INT(n, 3);
}

/* A freshly signed command, as the hub would send it. */
static const char *sign(uint64_t c, uint64_t t, const char *v)
{
    static char out[512];
    char msg[160], sig64[100];
    uint8_t sig[64];
    size_t len = cmd_signed_message(msg, sizeof msg, ID, c, t, "switch", v, strlen(v));
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(out, sizeof out, "{\"c\":%llu,\"t\":%llu,\"cap\":\"switch\",\"v\":%s,\"sig\":\"%s\"}",
             (unsigned long long)c, (unsigned long long)t, v, sig64);
    return out;
}

static cmd_result verify(uint64_t last, int64_t now, const char *payload, cmd_t *c)
{
    return cmd_verify(ID, hub_pk, last, now, payload, strlen(payload), c);
}

static void replay_and_stale(void)
{
    load_hub_key();
    cmd_t c;
    int64_t now = 1767225600000;
    CHECK_INT(verify(4, now, sign(5, (uint64_t)now, "true"), &c), CMD_OK);
    CHECK_INT(verify(5, now, sign(5, (uint64_t)now, "true"), &c), CMD_REPLAY);
    CHECK_INT(c.counter, 5);
    CHECK_INT(verify(9, now, sign(5, (uint64_t)now, "true"), &c), CMD_REPLAY);
    /* The window is +-30 s inclusive. */
    CHECK_INT(verify(0, now, sign(1, (uint64_t)(now - 30000), "true"), &c), CMD_OK);
    CHECK_INT(verify(0, now, sign(1, (uint64_t)(now + 30000), "true"), &c), CMD_OK);
    CHECK_INT(verify(0, now, sign(1, (uint64_t)(now - 30001), "true"), &c), CMD_STALE);
    CHECK_INT(verify(0, now, sign(1, (uint64_t)(now + 30001), "true"), &c), CMD_STALE);
    /* Without a clock nothing is fresh. */
    CHECK_INT(verify(0, 0, sign(1, 20000, "true"), &c), CMD_STALE);
    /* A replay is a replay even when also stale: the counter is checked first. */
    CHECK_INT(verify(3, now, sign(2, 5, "true"), &c), CMD_REPLAY);
}

static void bad_signatures(void)
{
    load_hub_key();
    cmd_t c;
    int64_t now = 1767225600000;
    char p[512];
    snprintf(p, sizeof p, "%s", sign(5, (uint64_t)now, "true"));
    /* Another plug's command: the id is part of the signed message. */
    char msg[160], sig64[100];
    uint8_t sig[64];
    size_t len = cmd_signed_message(msg, sizeof msg, "plug-ffffffffffff", 5, (uint64_t)now,
                                    "switch", "true", 4);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(p, sizeof p, "{\"c\":5,\"t\":%lld,\"cap\":\"switch\",\"v\":true,\"sig\":\"%s\"}",
             (long long)now, sig64);
    CHECK_INT(verify(0, now, p, &c), CMD_BAD_SIGNATURE);
    /* Signed by some other key. */
    uint8_t other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    len = cmd_signed_message(msg, sizeof msg, ID, 5, (uint64_t)now, "switch", "true", 4);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, other_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(p, sizeof p, "{\"c\":5,\"t\":%lld,\"cap\":\"switch\",\"v\":true,\"sig\":\"%s\"}",
             (long long)now, sig64);
    CHECK_INT(verify(0, now, p, &c), CMD_BAD_SIGNATURE);
    CHECK_INT(c.counter, 5);
    /* An all-zero signature. */
    snprintf(p, sizeof p, "{\"c\":5,\"t\":%lld,\"cap\":\"switch\",\"v\":true,\"sig\":\"%s\"}",
             (long long)now,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
    CHECK_INT(verify(0, now, p, &c), CMD_BAD_SIGNATURE);
}

static void malformed_commands(void)
{
    load_hub_key();
    cmd_t c;
    int64_t now = 1767225600000;
    const char *sig = "\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"";
    char p[600];
    const char *bodies[] = {
        "", "null", "[]", "{}", "not json", "{\"c\":1}",
        "{\"c\":-1,\"t\":1,\"cap\":\"switch\",\"v\":true,%s}",
        "{\"c\":1.5,\"t\":1,\"cap\":\"switch\",\"v\":true,%s}",
        "{\"c\":\"1\",\"t\":1,\"cap\":\"switch\",\"v\":true,%s}",
        "{\"c\":9007199254740992,\"t\":1,\"cap\":\"switch\",\"v\":true,%s}",
        "{\"c\":1,\"t\":1e3,\"cap\":\"switch\",\"v\":true,%s}",
        "{\"c\":1,\"t\":1,\"cap\":\"dimmer\",\"v\":true,%s}",
        "{\"c\":1,\"t\":1,\"cap\":\"switch\",\"v\":1,%s}",
        "{\"c\":1,\"t\":1,\"cap\":\"switch\",\"v\":\"true\",%s}",
        "{\"c\":1,\"t\":1,\"cap\":\"switch\",%s}",
        "{\"c\":1,\"t\":1,\"cap\":\"switch\",\"v\":true,\"sig\":\"AAAA\"}",
        "{\"c\":1,\"t\":1,\"cap\":\"switch\",\"v\":true,\"sig\":12}",
        "{\"c\":1,\"t\":1,\"cap\":\"switch\",\"v\":true}",
        "{\"c\":1,\"c\":2,\"t\":1,\"cap\":\"switch\",\"v\":true,%s}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        snprintf(p, sizeof p, bodies[i], sig);
        cmd_result r = verify(0, now, p, &c);
        if (r != CMD_MALFORMED) printf("  not malformed (%d): %s\n", (int)r, p);
        CHECK_INT(r, CMD_MALFORMED);
    }
    /* Over the size bound, even if otherwise fine. */
    char big[CMD_MAX_LEN + 40];
    memset(big, ' ', sizeof big);
    const char *good = sign(5, (uint64_t)now, "true");
    memcpy(big, good, strlen(good));
    CHECK_INT(cmd_verify(ID, hub_pk, 0, now, big, sizeof big, &c), CMD_MALFORMED);
    CHECK_INT(cmd_verify(ID, hub_pk, 0, now, NULL, 0, &c), CMD_MALFORMED);
    CHECK_STR(cmd_reason(CMD_MALFORMED), "malformed");
    CHECK_STR(cmd_reason(CMD_BAD_SIGNATURE), "bad_signature");
    CHECK_STR(cmd_reason(CMD_REPLAY), "replay");
    CHECK_STR(cmd_reason(CMD_STALE), "stale");
    /* Whitespace and key order do not matter: the message is rebuilt from the values. */
    char reordered[512];
    const char *s = strstr(good, "\"sig\":");
    snprintf(reordered, sizeof reordered, "{ %.*s , \"v\" : true, \"cap\":\"switch\", \"t\":%lld,\"c\":5}",
             (int)(strlen(s) - 1), s, (long long)now);
    CHECK_INT(verify(0, now, reordered, &c), CMD_OK);
}

static void mutated_commands_never_crash(void)
{
    load_hub_key();
    int64_t now = 1767225600000;
    char good[512];
    snprintf(good, sizeof good, "%s", sign(5, (uint64_t)now, "true"));
    size_t n = strlen(good);
    srand(11);
    int ok = 0;
    for (int round = 0; round < 3000; round++) {
        char *heap = malloc(n); /* exact size: ASan catches any overread */
        memcpy(heap, good, n);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++) heap[rand() % (int)n] = (char)(rand() % 256);
        size_t len = (size_t)(rand() % 4 == 0 ? rand() % (int)n : (int)n);
        cmd_t c;
        cmd_result r = cmd_verify(ID, hub_pk, 0, now, heap, len, &c);
        CHECK(r >= CMD_OK && r <= CMD_STALE);
        if (r == CMD_OK) ok++; /* only whitespace-like or irrelevant bytes can keep it valid */
        free(heap);
    }
    CHECK(ok < 3000);
}

const test_case cmd_tests[] = {
    {"cmd: 3000 mutated and truncated commands: a verdict, never a crash", mutated_commands_never_crash},
    {"cmd: tweetnacl vectors verify with libsodium and re-sign byte for byte",
     vectors_verify_and_resign},
    {"cmd: tampered vectors rejected as bad_signature", tampered_vectors_rejected},
    {"cmd: replay and stale (+-30 s window, no clock)", replay_and_stale},
    {"cmd: wrong plug, wrong key, zero signature", bad_signatures},
    {"cmd: malformed commands, size bound, field order", malformed_commands},
    {NULL, NULL},
};
