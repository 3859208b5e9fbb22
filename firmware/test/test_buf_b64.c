/* Tests of the string builder, the number formatting that goes on the wire, and base64. */
#include <stdint.h>

#include "b64.h"
#include "buf.h"
#include "tests.h"

static const char *fixed(double v, int d)
{
    static char mem[64];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_fixed(&b, v, d);
    return mem;
}

static void formats_numbers_like_json(void)
{
    CHECK_STR(fixed(59.87, 1), "59.9");
    CHECK_STR(fixed(59.5, 3), "59.5");
    CHECK_STR(fixed(0, 2), "0");
    CHECK_STR(fixed(-0.0001, 2), "0");
    CHECK_STR(fixed(-2.25, 1), "-2.3");
    CHECK_STR(fixed(230.04, 1), "230");
    CHECK_STR(fixed(1234.56789, 4), "1234.5679");
    CHECK_STR(fixed(0.26087, 3), "0.261");
    CHECK_STR(fixed(1e300, 1), "900000000000000");
    CHECK_STR(fixed(-1e300, 0), "-9000000000000000");
    double nan = 0.0 / 0.0;
    CHECK_STR(fixed(nan, 1), "0");
}

static void builder_stops_at_capacity(void)
{
    char mem[8];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_str(&b, "1234567");
    CHECK(buf_ok(&b));
    buf_char(&b, 'x');
    CHECK(!buf_ok(&b));
    CHECK_STR(mem, "1234567");
    buf_str(&b, "y");
    CHECK_STR(mem, "1234567");
    buf_init(&b, mem, sizeof mem);
    buf_u64(&b, UINT64_MAX);
    CHECK(!buf_ok(&b));
}

static void json_strings_are_escaped(void)
{
    char mem[64];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_json_str(&b, "a\"b\\c\n\x01");
    CHECK_STR(mem, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    buf_init(&b, mem, sizeof mem);
    buf_i64(&b, -42);
    buf_u64(&b, 18446744073709551615ull);
    CHECK_STR(mem, "-4218446744073709551615");
}

static void base64_round_trips(void)
{
    uint8_t in[5] = {0xfb, 0xff, 0x00, 0x10, 0x80}, out[5];
    char s[16];
    for (size_t n = 1; n <= 5; n++) {
        size_t len = b64_encode(s, sizeof s, in, n);
        CHECK(len == ((n + 2) / 3) * 4);
        CHECK(b64_decode_exact(out, n, s, len));
        CHECK(memcmp(in, out, n) == 0);
    }
    CHECK_INT(b64_encode(s, 4, in, 3), 0); /* no room for the NUL */
    b64_encode(s, sizeof s, in, 5);
    CHECK_STR(s, "+/8AEIA=");
}

static void base64_is_strict(void)
{
    uint8_t out[32];
    size_t n;
    CHECK(!b64_decode_exact(out, 5, "+/8AEIA", 7));   /* missing padding */
    CHECK(!b64_decode_exact(out, 5, "+/8AEIB=", 8));  /* non-zero trailing bits */
    CHECK(!b64_decode_exact(out, 5, "-_8AEIA=", 8));  /* url alphabet */
    CHECK(!b64_decode_exact(out, 5, "+/8A=IA=", 8));  /* padding inside */
    CHECK(!b64_decode_exact(out, 4, "+/8AEIA=", 8));  /* wrong length */
    CHECK(!b64_decode(out, 32, &n, "abc", 3));
    CHECK(!b64_decode(out, 2, &n, "+/8AEIA=", 8));    /* over capacity */
    CHECK(b64_decode(out, 32, &n, "+/8AEIA=", 8) && n == 5);
    CHECK(b64url_decode_exact(out, 5, "-_8AEIA", 7));
    CHECK(!b64url_decode_exact(out, 5, "-_8AEIA=", 8));
    CHECK(!b64url_decode_exact(out, 5, "+/8AEIA", 7));
}

const test_case buf_tests[] = {
    {"buf: numbers formatted like JSON", formats_numbers_like_json},
    {"buf: stops at capacity", builder_stops_at_capacity},
    {"buf: JSON strings escaped", json_strings_are_escaped},
    {NULL, NULL},
};

const test_case b64_tests[] = {
    {"b64: round trips", base64_round_trips},
    {"b64: strict decoding", base64_is_strict},
    {NULL, NULL},
};
