/*
 * b64.h: base64 (RFC 4648). The protocol puts binary values in JSON as standard base64 with
 * padding (section 4); only the hub's hello nonce travels in a URL, as base64url without
 * padding (section 5). Decoding is strict: wrong alphabet, wrong length, wrong padding or
 * non-zero trailing bits are refused, so each value has exactly one accepted spelling.
 */
#ifndef HEARTH_B64_H
#define HEARTH_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the encoding and a NUL; returns its length, or 0 if it does not fit in cap. */
size_t b64_encode(char *out, size_t cap, const uint8_t *in, size_t n);
/* Decodes exactly `want` bytes from s[0..len); false on any deviation. */
bool b64_decode_exact(uint8_t *out, size_t want, const char *s, size_t len);
/* Standard base64 of unknown length up to cap bytes; *out_len gets the decoded length. */
bool b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s, size_t len);
/* base64url without padding, exactly `want` bytes. */
bool b64url_decode_exact(uint8_t *out, size_t want, const char *s, size_t len);

#endif
