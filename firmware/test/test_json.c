/* Tests of the bounded JSON reader: what it accepts, what it refuses, and that no input makes
 * it read out of bounds (the suite runs under AddressSanitizer). */
#include <stdint.h>
#include <stdlib.h>

#include "json.h"
#include "tests.h"

static int parse(const char *s, json_tok *t, int max)
{
    json_doc d;
    return json_parse(&d, s, strlen(s), t, max);
}

static void reads_a_command(void)
{
    const char *s = " {\"c\":12,\"t\":1767225600000,\"cap\":\"switch\",\"v\":true,"
                    "\"m\":{\"host\":\"h\\u00e9\\n\",\"port\":1883},\"a\":[1,{\"x\":null},-2.5e3]} ";
    json_tok t[32];
    json_doc d;
    CHECK(json_parse(&d, s, strlen(s), t, 32) > 0);
    uint64_t v = 0;
    bool b = false;
    char str[16];
    CHECK(json_get_u64(&d, json_find(&d, 0, "c"), 100, &v) && v == 12);
    CHECK(json_get_u64(&d, json_find(&d, 0, "t"), UINT64_MAX, &v) && v == 1767225600000ull);
    CHECK(json_get_bool(&d, json_find(&d, 0, "v"), &b) && b);
    CHECK(json_str_eq(&d, json_find(&d, 0, "cap"), "switch"));
    int m = json_find(&d, 0, "m");
    CHECK(json_get_str(&d, json_find(&d, m, "host"), str, sizeof str));
    CHECK_STR(str, "h\xc3\xa9\n");
    CHECK(json_get_u64(&d, json_find(&d, m, "port"), 65535, &v) && v == 1883);
    int a = json_find(&d, 0, "a");
    CHECK(json_at(&d, a, 2) > 0 && d.t[json_at(&d, a, 2)].type == JT_NUM);
    CHECK(json_find(&d, json_at(&d, a, 1), "x") > 0);
    CHECK_INT(json_at(&d, a, 3), -1);
    CHECK_INT(json_find(&d, 0, "missing"), -1);
    CHECK_INT(json_find(&d, a, "c"), -1); /* not an object */
    CHECK(!json_get_u64(&d, json_find(&d, 0, "c"), 11, &v)); /* above max */
    CHECK(!json_get_str(&d, json_find(&d, m, "host"), str, 4)); /* does not fit */
}

static void refuses_bad_syntax(void)
{
    const char *bad[] = {
        "", " ", "{", "}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "{\"a\":1}x",
        "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":.5}", "{\"a\":+1}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\x01\"}", "{a:1}", "{'a':1}", "{\"a\":1}{", "{\"a\":1,\"a\":2}", "\"\\",
        "[", "[[[", "{\"a\":[1 2]}", "{\"a\":NaN}", "{\"a\":Infinity}",
    };
    json_tok t[32];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], t, 32) > 0) {
            printf("  accepted: %s\n", bad[i]);
            CHECK(!"bad JSON accepted");
        }
    }
}

static void enforces_limits(void)
{
    json_tok t[64];
    CHECK_INT(parse("[[[[[[[[[1]]]]]]]]]", t, 64), -2); /* depth 9 */
    CHECK(parse("[[[[[[[[1]]]]]]]]", t, 64) > 0);         /* depth 8 */
    CHECK_INT(parse("[1,2,3,4]", t, 4), -2);           /* 5 tokens */
    CHECK_INT(parse("[1,2,3,4]", t, 5), 5);
    json_doc d;
    CHECK_INT(json_parse(&d, NULL, 0, t, 4), -2);
    /* Strings with U+0000 cannot become C strings. */
    char out[8];
    CHECK(json_parse(&d, "\"a\\u0000\"", 9, t, 4) == 1);
    CHECK(!json_get_str(&d, 0, out, sizeof out));
    CHECK(json_parse(&d, "\"\\ud83d\\ude00\"", 14, t, 4) == 1);
    CHECK(json_get_str(&d, 0, out, sizeof out));
    CHECK_STR(out, "\xf0\x9f\x98\x80");
    CHECK(json_parse(&d, "\"\\ud83d\"", 8, t, 4) == 1);
    CHECK(!json_get_str(&d, 0, out, sizeof out)); /* lone surrogate */
}

static void reads_only_its_bytes(void)
{
    /* Not NUL-terminated: the reader must stop at n. */
    char s[12];
    memcpy(s, "{\"a\":12345}", 11);
    s[11] = '9';
    json_tok t[4];
    json_doc d;
    CHECK(json_parse(&d, s, 11, t, 4) == 3);
    CHECK(json_parse(&d, s, 10, t, 4) < 0);
}

static void survives_garbage(void)
{
    /* Every truncation and single-byte mutation of a valid message, plus random bytes. */
    const char *base = "{\"c\":3,\"t\":1767225600000,\"cap\":\"switch\",\"v\":false,"
                       "\"sig\":\"AAAA\",\"x\":[{\"y\":\"\\u00e9\"}]}";
    size_t n = strlen(base);
    char buf[128];
    json_tok t[16];
    json_doc d;
    for (size_t cut = 0; cut <= n; cut++) {
        char *heap = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(heap, base, cut);
        json_parse(&d, heap, cut, t, 16);
        free(heap);
    }
    const char mutations[] = "{}[]\":,\\u0-e.9tfn \x01\xff";
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof mutations - 1; k++) {
            memcpy(buf, base, n);
            buf[i] = mutations[k];
            if (json_parse(&d, buf, n, t, 16) > 0) {
                char out[64];
                uint64_t v;
                bool b;
                for (int j = 0; j < d.n; j++) {
                    json_get_str(&d, j, out, sizeof out);
                    json_get_u64(&d, j, UINT64_MAX, &v);
                    json_get_bool(&d, j, &b);
                }
            }
        }
    }
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rand() % 64);
        char *heap = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) heap[i] = "{}[]\":,0123\\ u\"tx"[rand() % 18];
        json_parse(&d, heap, len, t, 16);
        free(heap);
    }
    CHECK(1);
}

const test_case json_tests[] = {
    {"json: reads a command and nested values", reads_a_command},
    {"json: refuses bad syntax, duplicate keys", refuses_bad_syntax},
    {"json: depth and token limits, NUL and surrogates", enforces_limits},
    {"json: never reads past n", reads_only_its_bytes},
    {"json: truncations, mutations and random bytes never crash", survives_garbage},
    {NULL, NULL},
};
