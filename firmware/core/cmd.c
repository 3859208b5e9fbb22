#include "cmd.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "hal.h"
#include "json.h"

const char *cmd_reason(cmd_result r)
{
    switch (r) {
    case CMD_OK: return "ok";
    case CMD_BAD_SIGNATURE: return "bad_signature";
    case CMD_REPLAY: return "replay";
    case CMD_STALE: return "stale";
    default: return "malformed";
    }
}

size_t cmd_signed_message(char *out, size_t cap, const char *id, uint64_t c, uint64_t t,
                          const char *capability, const char *v_json, size_t v_len)
{
    buf_t b;
    buf_init(&b, out, cap);
    buf_str(&b, "hearth-cmd-v1|");
    buf_str(&b, id);
    buf_char(&b, '|');
    buf_u64(&b, c);
    buf_char(&b, '|');
    buf_u64(&b, t);
    buf_char(&b, '|');
    buf_str(&b, capability);
    buf_char(&b, '|');
    buf_mem(&b, v_json, v_len);
    return buf_ok(&b) ? b.len : 0;
}

/* The base64url alphabet only: the password goes into storage, CONNECT and the PSK as is. */
static bool secret_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < CMD_SECRET_MIN || n > CMD_SECRET_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return false;
    }
    return true;
}

cmd_result cmd_verify(const char *id, const uint8_t hub_pk[32], uint64_t last_counter,
                      int64_t now_unix_ms, const char *payload, size_t len, cmd_t *out)
{
    memset(out, 0, sizeof *out);
    if (payload == NULL || len == 0 || len > CMD_MAX_LEN) return CMD_MALFORMED;

    json_tok toks[40];
    json_doc d;
    if (json_parse(&d, payload, len, toks, 40) < 1 || toks[0].type != JT_OBJ)
        return CMD_MALFORMED;
    int tc = json_find(&d, 0, "c"), tt = json_find(&d, 0, "t");
    int tcap = json_find(&d, 0, "cap"), tv = json_find(&d, 0, "v");
    int tsig = json_find(&d, 0, "sig");
    /* The counter is read first so that every rejection can report it. */
    if (!json_get_u64(&d, tc, CMD_MAX_INT, &out->counter)) {
        out->counter = 0;
        return CMD_MALFORMED;
    }
    if (!json_get_u64(&d, tt, CMD_MAX_INT, &out->t)) return CMD_MALFORMED;
    if (!json_get_str(&d, tcap, out->cap, sizeof out->cap)) return CMD_MALFORMED;
    /* The relay (a boolean), moving to TLS (a port) and starting a firmware update (an object,
     * checked by ota.c). */
    if (strcmp(out->cap, "switch") == 0) {
        if (!json_get_bool(&d, tv, &out->value)) return CMD_MALFORMED;
    } else if (strcmp(out->cap, "mqtts") == 0) {
        /* Move to MQTT over TLS (docs/plug-protocol.md "MQTT over TLS"): v is the TLS port. */
        uint64_t port;
        if (!json_get_u64(&d, tv, 65535, &port) || port == 0) return CMD_MALFORMED;
        out->port = (uint16_t)port;
    } else if (strcmp(out->cap, "mqpass") == 0) {
        /* A new MQTT password (docs/plug-protocol.md "Changing a plug's password"). */
        if (!json_get_str(&d, tv, out->secret, sizeof out->secret) || !secret_ok(out->secret))
            return CMD_MALFORMED;
    } else if (strcmp(out->cap, "ota_begin") != 0 || tv < 0 || toks[tv].type != JT_OBJ) {
        return CMD_MALFORMED;
    }
    uint8_t sig[64];
    size_t sig_len;
    const char *sig_b64 = json_raw(&d, tsig, &sig_len);
    if (tsig < 0 || toks[tsig].type != JT_STR || !b64_decode_exact(sig, 64, sig_b64, sig_len))
        return CMD_MALFORMED;

    char msg[CMD_MAX_LEN + 96];
    size_t vlen;
    const char *vraw = json_raw(&d, tv, &vlen);
    /* A string token's raw text is inside its quotes; the signed text is JSON, quotes included
     * (the secret's alphabet needs no escapes, so the text is exactly what the hub signed). */
    if (toks[tv].type == JT_STR) {
        vraw--;
        vlen += 2;
    }
    out->v_raw = vraw;
    out->v_len = vlen;
    size_t mlen = cmd_signed_message(msg, sizeof msg, id, out->counter, out->t, out->cap, vraw,
                                     vlen);
    if (mlen == 0) return CMD_MALFORMED;
    if (!hal_ed25519_verify(sig, (const uint8_t *)msg, mlen, hub_pk)) return CMD_BAD_SIGNATURE;
    if (out->counter <= last_counter) return CMD_REPLAY;
    /* No clock yet (before SNTP) means no way to tell a fresh command from an old one. */
    if (now_unix_ms <= 0) return CMD_STALE;
    int64_t t = (int64_t)out->t;
    int64_t diff = now_unix_ms > t ? now_unix_ms - t : t - now_unix_ms;
    if (diff > CMD_WINDOW_MS) return CMD_STALE;
    return CMD_OK;
}
