/* Fuzz target: the core's parsers of untrusted bytes, chosen by the first input byte:
 * 0 JSON (json_parse and every accessor over every token), 1 firmware manifests (ota_parse),
 * 2 signed commands (cmd_verify), 3 base64 / base64url decoders, 4 the hub's time answer
 * (clock_accept against an open nonce). Built with libFuzzer, ASan and UBSan (Makefile). */
#include <stdint.h>
#include <string.h>

#include "b64.h"
#include "clock.h"
#include "cmd.h"
#include "fake_hal.h"
#include "json.h"
#include "ota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t hub_pk[32] = {1, 2, 3};

static void walk_json(const char *s, size_t n)
{
    json_tok toks[32];
    json_doc d;
    int count = json_parse(&d, s, n, toks, 32);
    for (int i = 0; i < count; i++) {
        char str[64];
        uint64_t u;
        bool b;
        size_t len;
        (void)json_get_str(&d, i, str, sizeof str);
        (void)json_get_u64(&d, i, UINT64_MAX, &u);
        (void)json_get_bool(&d, i, &b);
        (void)json_raw(&d, i, &len);
        (void)json_str_eq(&d, i, "switch");
        (void)json_find(&d, i, "c");
        (void)json_find(&d, i, "manifest");
        (void)json_at(&d, i, 0);
        (void)json_at(&d, i, 3);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: walk_json(s, n); break;
    case 1: {
        ota_manifest m;
        (void)ota_parse(s, n, &m);
        break;
    }
    case 2: {
        cmd_t c;
        (void)cmd_verify("plug-0a1b2c3d4e5f", hub_pk, 7, 1767225600000, s, n, &c);
        break;
    }
    case 3: {
        uint8_t out[64];
        size_t len;
        (void)b64_decode(out, sizeof out, &len, s, n);
        (void)b64_decode_exact(out, 32, s, n);
        (void)b64url_decode_exact(out, 32, s, n);
        break;
    }
    default: {
        plug_clock c;
        char mem[64];
        buf_t b;
        clock_init(&c);
        buf_init(&b, mem, sizeof mem);
        clock_request(&c, 1000, &b);
        (void)clock_accept(&c, "plug-0a1b2c3d4e5f", hub_pk, 1500, s, n);
        break;
    }
    }
    return 0;
}
