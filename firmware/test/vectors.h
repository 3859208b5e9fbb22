/* vectors.h: loads test/vectors/plug-vectors.json (made by generate.ts with tweetnacl) once,
 * parsed with the core's own JSON reader, and hands out its fields. */
#ifndef HEARTH_VECTORS_H
#define HEARTH_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

extern const char *vectors_path;
const json_doc *vectors(void);
/* Token of a dotted path like "pairing.helloProof" or "commands.2.payload", or -1. */
int vec_tok(const char *path);
/* String at path (unescaped) into a static rotating buffer; "" if missing. */
const char *vec_str(const char *path);
uint64_t vec_u64(const char *path);
/* Base64 at path decoded into out (exactly n bytes); false if not. */
bool vec_b64(const char *path, uint8_t *out, size_t n);

#endif
