#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

const char *vectors_path = "firmware/test/vectors/plug-vectors.json";
static char text[65536];
static json_tok toks[1024];
static json_doc doc;
static bool loaded;

const json_doc *vectors(void)
{
    if (loaded) return &doc;
    FILE *f = fopen(vectors_path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", vectors_path);
        exit(2);
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    if (json_parse(&doc, text, n, toks, 1024) < 1) {
        fprintf(stderr, "cannot parse %s\n", vectors_path);
        exit(2);
    }
    loaded = true;
    return &doc;
}

int vec_tok(const char *path)
{
    const json_doc *d = vectors();
    char part[64];
    int tok = 0;
    while (*path && tok >= 0) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return -1;
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (path[n] == '.');
        if (d->t[tok].type == JT_ARR) tok = json_at(d, tok, atoi(part));
        else tok = json_find(d, tok, part);
    }
    return tok;
}

const char *vec_str(const char *path)
{
    static char ring[4][4096];
    static int next;
    char *out = ring[next++ % 4];
    if (!json_get_str(vectors(), vec_tok(path), out, 4096)) out[0] = '\0';
    return out;
}

uint64_t vec_u64(const char *path)
{
    uint64_t v = 0;
    json_get_u64(vectors(), vec_tok(path), UINT64_MAX, &v);
    return v;
}

bool vec_b64(const char *path, uint8_t *out, size_t n)
{
    const char *s = vec_str(path);
    return b64_decode_exact(out, n, s, strlen(s));
}
