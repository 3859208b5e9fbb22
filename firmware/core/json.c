#include "json.h"

#include <string.h>

typedef struct {
    const char *s;
    size_t n, i;
    json_tok *t;
    int max, count;
    int err; /* -1 syntax, -2 limit */
} parser;

static void ws(parser *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->i++;
    }
}

static int new_tok(parser *p, json_type type, size_t start)
{
    if (p->count >= p->max) {
        p->err = -2;
        return -1;
    }
    int k = p->count++;
    p->t[k].type = (uint8_t)type;
    p->t[k].start = (uint32_t)start;
    p->t[k].len = 0;
    p->t[k].next = 0;
    return k;
}

static bool fail(parser *p)
{
    if (p->err == 0) p->err = -1;
    return false;
}

static bool hex4(const char *s)
{
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static bool parse_string(parser *p)
{
    p->i++; /* opening quote */
    size_t start = p->i;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            int k = new_tok(p, JT_STR, start);
            if (k < 0) return false;
            p->t[k].len = (uint32_t)(p->i - start);
            p->t[k].next = (uint32_t)p->count;
            p->i++;
            return true;
        }
        if (c < 0x20) return fail(p); /* control characters must be escaped */
        if (c == '\\') {
            if (p->i + 1 >= p->n) return fail(p);
            char e = p->s[p->i + 1];
            if (e == 'u') {
                if (p->i + 6 > p->n || !hex4(p->s + p->i + 2)) return fail(p);
                p->i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') return fail(p);
            p->i += 2;
            continue;
        }
        p->i++;
    }
    return fail(p);
}

static bool digits(parser *p)
{
    size_t s = p->i;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    return p->i > s;
}

static bool parse_number(parser *p)
{
    size_t start = p->i;
    if (p->s[p->i] == '-') p->i++;
    if (p->i >= p->n) return fail(p);
    if (p->s[p->i] == '0') {
        p->i++;
    } else if (!digits(p)) {
        return fail(p);
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (!digits(p)) return fail(p);
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (!digits(p)) return fail(p);
    }
    int k = new_tok(p, JT_NUM, start);
    if (k < 0) return false;
    p->t[k].len = (uint32_t)(p->i - start);
    p->t[k].next = (uint32_t)p->count;
    return true;
}

static bool parse_lit(parser *p, const char *lit, json_type type)
{
    size_t l = strlen(lit);
    if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0) return fail(p);
    int k = new_tok(p, type, p->i);
    if (k < 0) return false;
    p->t[k].len = (uint32_t)l;
    p->t[k].next = (uint32_t)p->count;
    p->i += l;
    return true;
}

static bool parse_value(parser *p, int depth);

static bool same_key(const parser *p, int a, int b)
{
    return p->t[a].len == p->t[b].len &&
           memcmp(p->s + p->t[a].start, p->s + p->t[b].start, p->t[a].len) == 0;
}

static bool parse_container(parser *p, int depth, bool obj)
{
    if (depth >= JSON_MAX_DEPTH) {
        p->err = -2;
        return false;
    }
    int k = new_tok(p, obj ? JT_OBJ : JT_ARR, p->i);
    if (k < 0) return false;
    p->i++;
    ws(p);
    char close = obj ? '}' : ']';
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
    } else {
        for (;;) {
            ws(p);
            if (obj) {
                if (p->i >= p->n || p->s[p->i] != '"') return fail(p);
                int key = p->count;
                if (!parse_string(p)) return false;
                /* Refuse duplicate keys: walk the earlier keys of this object. */
                for (int j = k + 1; j < key; j = (int)p->t[j + 1].next)
                    if (same_key(p, j, key)) return fail(p);
                ws(p);
                if (p->i >= p->n || p->s[p->i] != ':') return fail(p);
                p->i++;
                ws(p);
            }
            if (!parse_value(p, depth + 1)) return false;
            ws(p);
            if (p->i >= p->n) return fail(p);
            if (p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->s[p->i] == close) {
                p->i++;
                break;
            }
            return fail(p);
        }
    }
    p->t[k].len = (uint32_t)(p->i - p->t[k].start);
    p->t[k].next = (uint32_t)p->count;
    return true;
}

static bool parse_value(parser *p, int depth)
{
    ws(p);
    if (p->i >= p->n) return fail(p);
    switch (p->s[p->i]) {
    case '{': return parse_container(p, depth, true);
    case '[': return parse_container(p, depth, false);
    case '"': return parse_string(p);
    case 't': return parse_lit(p, "true", JT_TRUE);
    case 'f': return parse_lit(p, "false", JT_FALSE);
    case 'n': return parse_lit(p, "null", JT_NULL);
    default:
        if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9')) return parse_number(p);
        return fail(p);
    }
}

int json_parse(json_doc *d, const char *s, size_t n, json_tok *toks, int max)
{
    parser p = {s, n, 0, toks, max, 0, 0};
    d->s = s;
    d->t = toks;
    d->n = 0;
    if (s == NULL || max < 1 || n > 0x7fffffffu) return -2;
    if (!parse_value(&p, 0)) return p.err ? p.err : -1;
    ws(&p);
    if (p.i != n) return -1; /* trailing garbage */
    d->n = p.count;
    return p.count;
}

int json_find(const json_doc *d, int obj, const char *key)
{
    if (obj < 0 || obj >= d->n || d->t[obj].type != JT_OBJ) return -1;
    size_t kl = strlen(key);
    int end = (int)d->t[obj].next;
    for (int j = obj + 1; j < end; j = (int)d->t[j + 1].next) {
        if (d->t[j].len == kl && memcmp(d->s + d->t[j].start, key, kl) == 0) return j + 1;
    }
    return -1;
}

int json_at(const json_doc *d, int arr, int i)
{
    if (arr < 0 || arr >= d->n || d->t[arr].type != JT_ARR || i < 0) return -1;
    int end = (int)d->t[arr].next;
    int j = arr + 1;
    for (int k = 0; j < end; k++, j = (int)d->t[j].next)
        if (k == i) return j;
    return -1;
}

const char *json_raw(const json_doc *d, int tok, size_t *len)
{
    if (tok < 0 || tok >= d->n) {
        *len = 0;
        return "";
    }
    *len = d->t[tok].len;
    return d->s + d->t[tok].start;
}

bool json_str_eq(const json_doc *d, int tok, const char *lit)
{
    if (tok < 0 || tok >= d->n || d->t[tok].type != JT_STR) return false;
    size_t l = strlen(lit);
    return d->t[tok].len == l && memcmp(d->s + d->t[tok].start, lit, l) == 0;
}

static uint32_t hexval(const char *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else v |= (uint32_t)(c - 'A' + 10);
    }
    return v;
}

static bool put_utf8(char *out, size_t cap, size_t *o, uint32_t cp)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xC0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xE0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        tmp[0] = (char)(0xF0 | (cp >> 18));
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (cap - *o <= n) return false; /* keep room for the NUL */
    memcpy(out + *o, tmp, n);
    *o += n;
    return true;
}

bool json_get_str(const json_doc *d, int tok, char *out, size_t cap)
{
    if (tok < 0 || tok >= d->n || d->t[tok].type != JT_STR || cap == 0) return false;
    const char *s = d->s + d->t[tok].start;
    size_t n = d->t[tok].len, o = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c != '\\') {
            if (cap - o <= 1) return false;
            out[o++] = c;
            i++;
            continue;
        }
        char e = s[i + 1]; /* the parser guaranteed a complete escape */
        i += 2;
        uint32_t cp;
        switch (e) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            cp = hexval(s + i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
                uint32_t lo = hexval(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return false; /* NUL, lone surrogate */
            break;
        default: cp = (uint32_t)(unsigned char)e; break; /* " \ / */
        }
        if (!put_utf8(out, cap, &o, cp)) return false;
    }
    out[o] = '\0';
    return true;
}

bool json_get_u64(const json_doc *d, int tok, uint64_t max, uint64_t *out)
{
    if (tok < 0 || tok >= d->n || d->t[tok].type != JT_NUM) return false;
    const char *s = d->s + d->t[tok].start;
    size_t n = d->t[tok].len;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false; /* minus, fraction or exponent */
        uint64_t dgt = (uint64_t)(s[i] - '0');
        if (dgt > max || v > (max - dgt) / 10u) return false;
        v = v * 10u + dgt;
    }
    *out = v;
    return true;
}

bool json_get_bool(const json_doc *d, int tok, bool *out)
{
    if (tok < 0 || tok >= d->n) return false;
    if (d->t[tok].type == JT_TRUE) *out = true;
    else if (d->t[tok].type == JT_FALSE) *out = false;
    else return false;
    return true;
}
