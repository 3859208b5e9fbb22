/*
 * plug_ota.c: the plug's half of a firmware update (docs/plug-protocol.md, "Firmware update").
 *
 * The hub's signed `ota_begin` names a manifest signed by the release key; once it checks out
 * the plug pulls the image chunk by chunk (`ota/req` {offset} -> `ota` binary chunk), writing
 * each to the inactive slot and storing how far it got, so a plug that loses power or its
 * connection continues where it stopped. At the end it hashes what the slot holds, and only
 * an image whose SHA-256 is the signed one is activated; a half-written or altered image is
 * never booted. Progress and results go out as `{"type":"ota",...}` events.
 *
 * Storage: ota_v (the ota_begin value as received: manifest + signature), ota_off (bytes
 * written), ota_act ("1" once the slot was activated: telling a rollback from a power cut).
 */
#include <string.h>

#include "buf.h"
#include "hal.h"
#include "kv.h"
#include "plug.h"
#include "sha256.h"

#define K_OTA_V "ota_v"
#define K_OTA_OFF "ota_off"
#define K_OTA_ACT "ota_act"

static void make(char *out, size_t cap, const char *id, const char *leaf)
{
    buf_t b;
    buf_init(&b, out, cap);
    buf_str(&b, "hearth/");
    buf_str(&b, id);
    buf_str(&b, leaf);
}

/* `{<head>"state":S,"firmware":F[,"version":V,"offset":N,"size":N][,"error":E]}` */
static bool ota_json(plug_t *p, buf_t *b, const char *head, const char *state, const char *error)
{
    bool first = true;
    buf_char(b, '{');
    buf_str(b, head);
    buf_json_key(b, &first, "state");
    buf_json_str(b, state);
    buf_json_key(b, &first, "firmware");
    buf_json_str(b, p->ident.fw);
    if (p->ota.version[0]) {
        buf_json_key(b, &first, "version");
        buf_json_str(b, p->ota.version);
        buf_json_key(b, &first, "offset");
        buf_u64(b, p->ota_offset);
        buf_json_key(b, &first, "size");
        buf_u64(b, p->ota.size);
    }
    if (error) {
        buf_json_key(b, &first, "error");
        buf_json_str(b, error);
    }
    buf_char(b, '}');
    return buf_ok(b);
}

static void report(plug_t *p, const char *state, const char *error)
{
    char mem[256];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    if (p->state == PLUG_ONLINE && ota_json(p, &b, "\"type\":\"ota\",", state, error))
        hal_mqtt_publish(p->topic_event, mem, b.len, 1, false);
    buf_init(&b, mem, sizeof mem);
    if (ota_json(p, &b, "\"event\":\"ota\",", state, error)) hal_notify(mem);
}

static void clear_stored(void)
{
    (void)kv_set_str(K_OTA_V, "");
    (void)kv_set_u64(K_OTA_OFF, 0);
    (void)kv_set_str(K_OTA_ACT, "");
}

static void fail(plug_t *p, ota_result r)
{
    hal_ota_abort();
    clear_stored();
    p->ota_state = PLUG_OTA_IDLE;
    const char *code = ota_reason(r);
    /* Offline, the failure is reported when the plug is back (it is never lost). */
    if (p->state != PLUG_ONLINE) memcpy(p->ota_error, code, strlen(code) + 1);
    report(p, "failed", code);
    memset(&p->ota, 0, sizeof p->ota);
    p->ota_offset = 0;
}

static void request(plug_t *p)
{
    p->ota_req_ms = hal_millis();
    if (p->state != PLUG_ONLINE) return;
    char mem[96];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_str(&b, "{\"offset\":");
    buf_u64(&b, p->ota_offset);
    buf_str(&b, ",\"sha256\":");
    buf_json_str(&b, p->ota.sha256_b64);
    buf_char(&b, '}');
    if (buf_ok(&b)) hal_mqtt_publish(p->topic_ota_req, mem, b.len, 0, false);
}

/* Every byte is in: hash the slot as written, activate only the signed image, restart. */
static void finish(plug_t *p)
{
    sha256_ctx h;
    uint8_t piece[256], digest[32];
    sha256_init(&h);
    for (uint32_t off = 0; off < p->ota.size;) {
        uint32_t n = p->ota.size - off < sizeof piece ? p->ota.size - off : (uint32_t)sizeof piece;
        if (!hal_ota_read(off, piece, n)) { fail(p, OTA_WRITE_FAILED); return; }
        sha256_update(&h, piece, n);
        off += n;
    }
    sha256_final(&h, digest);
    if (memcmp(digest, p->ota.sha256, 32) != 0) { fail(p, OTA_BAD_HASH); return; }
    if (!kv_set_str(K_OTA_ACT, "1") || !hal_ota_activate(p->ota.version))
        { fail(p, OTA_WRITE_FAILED); return; }
    report(p, "rebooting", NULL);
    hal_restart();
}

void plug_ota_init(plug_t *p)
{
    make(p->topic_ota, sizeof p->topic_ota, p->id, "/ota");
    make(p->topic_ota_req, sizeof p->topic_ota_req, p->id, "/ota/req");
    p->ota_state = PLUG_OTA_IDLE;
    char v[OTA_VALUE_MAX + 1], act[4];
    if (!kv_get_str(K_OTA_V, v, sizeof v) || v[0] == '\0') return;
    bool activated = kv_get_str(K_OTA_ACT, act, sizeof act) && strcmp(act, "1") == 0;
    uint64_t off = 0;
    (void)kv_get_u64(K_OTA_OFF, &off);
    if (ota_parse(v, strlen(v), &p->ota) != OTA_OK) {
        clear_stored();
        memset(&p->ota, 0, sizeof p->ota);
        return;
    }
    if (strcmp(p->ota.version, p->ident.fw) == 0) {
        /* The new image runs (also if the power went between activating it and noting that). */
        p->ota_state = PLUG_OTA_DONE; /* reported, then forgotten, once connected */
        p->ota_offset = p->ota.size;
        return;
    }
    /* Activated, yet the old image runs: the bootloader rolled back (or the power went between
     * noting the activation and switching the boot slot). */
    if (activated) { fail(p, OTA_BOOT_FAILED); return; }
    ota_result r = p->cfg.fw_pk ? ota_check(&p->ota, p->cfg.fw_pk, p->ident.model, p->ident.fw,
                                            hal_ota_slot_size())
                                : OTA_UNSUPPORTED;
    if (r != OTA_OK) return fail(p, r);
    /* Resume at the last stored offset (always a whole number of chunks, or the end). */
    if (off > p->ota.size) off = 0;
    if (off < p->ota.size) off -= off % OTA_CHUNK;
    if (!hal_ota_begin(p->ota.size, (uint32_t)off)) { fail(p, OTA_WRITE_FAILED); return; }
    p->ota_offset = (uint32_t)off;
    p->ota_state = PLUG_OTA_DOWNLOADING;
}

void plug_ota_begin(plug_t *p, const char *v, size_t len)
{
    ota_manifest m;
    ota_result r = ota_parse(v, len, &m);
    if (r == OTA_OK)
        r = p->cfg.fw_pk ? ota_check(&m, p->cfg.fw_pk, p->ident.model, p->ident.fw,
                                     hal_ota_slot_size())
                         : OTA_UNSUPPORTED;
    if (r != OTA_OK) {
        /* A refused image leaves a transfer in progress alone; the report names the refused one. */
        ota_manifest keep = p->ota;
        uint32_t keep_off = p->ota_offset;
        p->ota = m;
        p->ota_offset = 0;
        report(p, "failed", ota_reason(r));
        p->ota = keep;
        p->ota_offset = keep_off;
        return;
    }
    if (p->ota_state == PLUG_OTA_DOWNLOADING && m.size == p->ota.size &&
        memcmp(m.sha256, p->ota.sha256, 32) == 0) {
        /* The same image again (the hub restarted, or retried): carry on from here. */
        p->ota.downgrade = m.downgrade;
        p->ota_retries = 0;
        report(p, "downloading", NULL);
        if (p->ota_offset >= p->ota.size) finish(p);
        else request(p);
        return;
    }
    if (p->ota_state == PLUG_OTA_DOWNLOADING) hal_ota_abort();
    p->ota_error[0] = '\0';
    p->ota = m;
    p->ota_offset = 0;
    p->ota_retries = 0;
    /* Offset before manifest: a stored manifest always has an offset that belongs to it. */
    if (!hal_ota_begin(m.size, 0) || !kv_set_u64(K_OTA_OFF, 0) || !kv_set_str(K_OTA_ACT, "")) {
        p->ota_state = PLUG_OTA_DOWNLOADING;
        { fail(p, OTA_WRITE_FAILED); return; }
    }
    char stored[OTA_VALUE_MAX + 1];
    memcpy(stored, v, len);
    stored[len] = '\0';
    if (!kv_set_str(K_OTA_V, stored)) { fail(p, OTA_WRITE_FAILED); return; }
    p->ota_state = PLUG_OTA_DOWNLOADING;
    report(p, "downloading", NULL);
    request(p);
}

void plug_ota_chunk(plug_t *p, const uint8_t *data, size_t len)
{
    if (p->ota_state != PLUG_OTA_DOWNLOADING || len < OTA_HEADER) return;
    uint32_t offset = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                      (uint32_t)data[2] << 8 | (uint32_t)data[3];
    /* Another image's chunk, a duplicate or a late answer to an earlier request: not ours. */
    if (memcmp(data + 4, p->ota.sha256, 32) != 0 || offset != p->ota_offset) return;
    uint32_t want = p->ota.size - offset < OTA_CHUNK ? p->ota.size - offset : OTA_CHUNK;
    if (len - OTA_HEADER != want) return;
    if (!hal_ota_write(offset, data + OTA_HEADER, want)) { fail(p, OTA_WRITE_FAILED); return; }
    p->ota_offset = offset + want;
    (void)kv_set_u64(K_OTA_OFF, p->ota_offset);
    p->ota_retries = 0;
    if (p->ota_offset >= p->ota.size) { finish(p); return; }
    if (p->ota_offset % OTA_PROGRESS_EVERY == 0) report(p, "downloading", NULL);
    request(p);
}

void plug_ota_connected(plug_t *p)
{
    hal_mqtt_subscribe(p->topic_ota, 0);
    switch (p->ota_state) {
    case PLUG_OTA_DONE:
        report(p, "done", NULL);
        clear_stored();
        memset(&p->ota, 0, sizeof p->ota);
        p->ota_offset = 0;
        p->ota_state = PLUG_OTA_IDLE;
        break;
    case PLUG_OTA_DOWNLOADING:
        p->ota_retries = 0;
        report(p, "downloading", NULL);
        if (p->ota_offset >= p->ota.size) finish(p);
        else request(p);
        break;
    default:
        if (p->ota_error[0]) {
            report(p, "failed", p->ota_error);
            p->ota_error[0] = '\0';
        } else {
            report(p, "idle", NULL);
        }
        break;
    }
}

void plug_ota_tick(plug_t *p, uint64_t now)
{
    if (p->ota_state != PLUG_OTA_DOWNLOADING || p->state != PLUG_ONLINE) return;
    if (now - p->ota_req_ms < OTA_RETRY_MS) return;
    if (p->ota_retries >= OTA_MAX_RETRIES) { fail(p, OTA_TIMEOUT); return; }
    p->ota_retries++;
    request(p);
}
