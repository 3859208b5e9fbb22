#include "ota.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "hal.h"
#include "json.h"

const char *ota_reason(ota_result r)
{
    switch (r) {
    case OTA_OK: return "ok";
    case OTA_BAD_SIGNATURE: return "bad_signature";
    case OTA_WRONG_MODEL: return "wrong_model";
    case OTA_DOWNGRADE: return "downgrade";
    case OTA_TOO_LARGE: return "too_large";
    case OTA_BAD_HASH: return "bad_hash";
    case OTA_WRITE_FAILED: return "write_failed";
    case OTA_TIMEOUT: return "timeout";
    case OTA_UNSUPPORTED: return "unsupported";
    case OTA_BOOT_FAILED: return "boot_failed";
    default: return "malformed";
    }
}

size_t ota_signed_message(char *out, size_t cap, const char *model, const char *version,
                          uint32_t size, const char *sha256_b64)
{
    buf_t b;
    buf_init(&b, out, cap);
    buf_str(&b, "hearth-fw-v1|");
    buf_str(&b, model);
    buf_char(&b, '|');
    buf_str(&b, version);
    buf_char(&b, '|');
    buf_u64(&b, size);
    buf_char(&b, '|');
    buf_str(&b, sha256_b64);
    return buf_ok(&b) ? b.len : 0;
}

/* One number of a version: 1-9 digits, no leading zero unless it is "0". */
static const char *version_part(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == 9) return NULL;
        v = v * 10 + (uint32_t)(s[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0')) return NULL;
    *out = v;
    return s + n;
}

static bool version_parse(const char *s, uint32_t v[3])
{
    for (int i = 0; i < 3; i++) {
        s = version_part(s, &v[i]);
        if (!s || *s != (i < 2 ? '.' : '\0')) return false;
        s++;
    }
    return true;
}

bool ota_version_cmp(const char *a, const char *b, int *out)
{
    uint32_t va[3], vb[3];
    if (!version_parse(a, va) || !version_parse(b, vb)) return false;
    *out = 0;
    for (int i = 0; i < 3 && *out == 0; i++) *out = va[i] < vb[i] ? -1 : va[i] > vb[i] ? 1 : 0;
    return true;
}

static bool model_ok(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (*s == '|' || (unsigned char)*s < 0x20) return false;
    return true;
}

ota_result ota_parse(const char *json, size_t len, ota_manifest *m)
{
    memset(m, 0, sizeof *m);
    if (json == NULL || len == 0 || len > OTA_VALUE_MAX) return OTA_MALFORMED;
    json_tok toks[24];
    json_doc d;
    if (json_parse(&d, json, len, toks, 24) < 1 || toks[0].type != JT_OBJ) return OTA_MALFORMED;
    int tm = json_find(&d, 0, "manifest"), ts = json_find(&d, 0, "sig");
    int td = json_find(&d, 0, "downgrade");
    if (tm < 0 || toks[tm].type != JT_OBJ) return OTA_MALFORMED;
    if (td >= 0 && !json_get_bool(&d, td, &m->downgrade)) return OTA_MALFORMED;
    uint64_t size;
    size_t sl;
    const char *s;
    if (!json_get_str(&d, json_find(&d, tm, "model"), m->model, sizeof m->model) ||
        !model_ok(m->model) ||
        !json_get_str(&d, json_find(&d, tm, "version"), m->version, sizeof m->version) ||
        !json_get_u64(&d, json_find(&d, tm, "size"), 0xffffffffu, &size) || size == 0)
        return OTA_MALFORMED;
    int cmp;
    if (!ota_version_cmp(m->version, m->version, &cmp)) return OTA_MALFORMED;
    m->size = (uint32_t)size;
    int th = json_find(&d, tm, "sha256");
    s = json_raw(&d, th, &sl);
    if (th < 0 || toks[th].type != JT_STR || sl != 44 || !b64_decode_exact(m->sha256, 32, s, sl))
        return OTA_MALFORMED;
    memcpy(m->sha256_b64, s, 44);
    m->sha256_b64[44] = '\0';
    s = json_raw(&d, ts, &sl);
    if (ts < 0 || toks[ts].type != JT_STR || !b64_decode_exact(m->sig, 64, s, sl))
        return OTA_MALFORMED;
    return OTA_OK;
}

ota_result ota_check(const ota_manifest *m, const uint8_t fw_pk[32], const char *model,
                     const char *running_version, uint32_t slot_size)
{
    char msg[160];
    size_t n = ota_signed_message(msg, sizeof msg, m->model, m->version, m->size, m->sha256_b64);
    if (n == 0) return OTA_MALFORMED;
    if (!hal_ed25519_verify(m->sig, (const uint8_t *)msg, n, fw_pk)) return OTA_BAD_SIGNATURE;
    if (strcmp(m->model, model) != 0) return OTA_WRONG_MODEL;
    int cmp;
    /* A running version we cannot read (a development build) takes any signed version. */
    if (ota_version_cmp(m->version, running_version, &cmp) && cmp <= 0 && !m->downgrade)
        return OTA_DOWNGRADE;
    if (slot_size == 0) return OTA_UNSUPPORTED;
    if (m->size > slot_size) return OTA_TOO_LARGE;
    return OTA_OK;
}
