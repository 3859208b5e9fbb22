/* Fuzz target: pairing as the plug sees it over HTTP. First byte: 0 a hello with the rest as its
 * query string; 1 a claim with the rest as its body; 2 a claim whose sealed plaintext is the rest
 * (the harness seals it under the open session's claim key with its confirmation, the way the hub
 * does, so the plaintext parser is reached). */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "fake_hal.h"
#include "pair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static pair_identity me = {.id = "plug-0a1b2c3d4e5f", .model = "m", .fw = "1.0.0", .setup_code = "12345678"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0) return 1;
    /* Fixed keys: runs are reproducible. */
    uint8_t seed[32] = {7};
    crypto_box_seed_keypair(me.box_pk, me.box_sk, seed);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fake_reset_all();
    pair_state st;
    pair_init(&st);
    pair_open_window(&st, 0, 600000);
    /* An open session with fixed keys (what a hello would have left). */
    st.session_valid = true;
    st.session_at_ms = 1000;
    memset(st.sid, 3, sizeof st.sid);
    memset(st.keys.hub_confirm, 4, 32);
    memset(st.keys.plug_confirm, 5, 32);
    memset(st.keys.claim_key, 6, 32);
    char out[1024];
    buf_t b;
    buf_init(&b, out, sizeof out);
    pair_creds creds;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: (void)pair_hello(&st, &me, false, s, n, 2000, &b); break;
    case 1: (void)pair_claim(&st, &me, false, s, n, 2000, &creds, &b); break;
    default: {
        if (n > PAIR_MAX_PLAINTEXT) return 0;
        static uint8_t box[PAIR_MAX_PLAINTEXT + 16];
        uint8_t nonce[24] = {9};
        if (crypto_secretbox_easy(box, data + 1, n, nonce, st.keys.claim_key) != 0) return 0;
        static char body[PAIR_MAX_BODY + 1];
        char sid64[32], c64[48], n64[48];
        static char box64[((PAIR_MAX_PLAINTEXT + 16) / 3 + 2) * 4 + 1];
        b64_encode(sid64, sizeof sid64, st.sid, sizeof st.sid);
        b64_encode(c64, sizeof c64, st.keys.hub_confirm, 32);
        b64_encode(n64, sizeof n64, nonce, 24);
        b64_encode(box64, sizeof box64, box, n + 16);
        int len = snprintf(body, sizeof body,
                           "{\"sid\":\"%s\",\"confirm\":\"%s\",\"nonce\":\"%s\",\"box\":\"%s\"}",
                           sid64, c64, n64, box64);
        if (len < 0 || (size_t)len >= sizeof body) return 0;
        (void)pair_claim(&st, &me, false, body, (size_t)len, 2000, &creds, &b);
        break;
    }
    }
    return 0;
}
