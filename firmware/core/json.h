/*
 * json.h: a small, bounded JSON reader (RFC 8259) for the protocol's few flat messages.
 *
 * json_parse() validates the whole text and fills a caller-provided token array (no malloc):
 * each token records its type and where its raw text sits in the input. Limits: at most `max`
 * tokens, nesting depth JSON_MAX_DEPTH, and duplicate keys in one object are refused (two
 * readers could otherwise disagree on which one counts). Anything else is refused with a
 * negative result: the text is then "malformed" for the protocol. Never reads past n bytes.
 */
#ifndef HEARTH_JSON_H
#define HEARTH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 8

typedef enum { JT_OBJ, JT_ARR, JT_STR, JT_NUM, JT_TRUE, JT_FALSE, JT_NULL } json_type;

typedef struct {
    uint8_t type;
    uint32_t start; /* raw text: for strings, inside the quotes */
    uint32_t len;
    uint32_t next; /* index of the first token after this one's subtree */
} json_tok;

typedef struct {
    const char *s;
    const json_tok *t;
    int n;
} json_doc;

/* Returns the token count (>= 1), or -1 on a syntax error, -2 when over a limit. */
int json_parse(json_doc *d, const char *s, size_t n, json_tok *toks, int max);

/* Index of the value of `key` in the object at token `obj`, or -1. */
int json_find(const json_doc *d, int obj, const char *key);
/* Array element i of the array at token arr, or -1. */
int json_at(const json_doc *d, int arr, int i);

/* Unescaped string into out (NUL-terminated); false if not a string, too long, or it holds
 * U+0000 (which C strings cannot carry). */
bool json_get_str(const json_doc *d, int tok, char *out, size_t cap);
/* A non-negative integer with no fraction or exponent, <= max. */
bool json_get_u64(const json_doc *d, int tok, uint64_t max, uint64_t *out);
bool json_get_bool(const json_doc *d, int tok, bool *out);
/* Raw text of a token (for strings: without the quotes). */
const char *json_raw(const json_doc *d, int tok, size_t *len);
/* True if the string token equals lit exactly (raw text, no escapes involved). */
bool json_str_eq(const json_doc *d, int tok, const char *lit);

#endif
