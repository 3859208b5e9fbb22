/* The plug as a whole on the fake board. Firmware update over MQTT, and esp-mqtt's fragmented
 * messages. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "../port/common/fw_test_key.h"
#include "b64.h"
#include "sha256.h"
#include "fake_hal.h"
#include "plug.h"
#include "tests.h"
#include "vectors.h"
#include "plug_fixture.h"

static char fw_running[24] = "1.0.0";

static void boot_fw(const char *version)
{
    fake_reset_board();
    snprintf(fw_running, sizeof fw_running, "%s", version);
    plug_config c = plug_test_config(POWER_ON_OFF);
    c.fw = fw_running;
    CHECK(plug_init(&plug, &c));
    go_online();
}

static void send_ota(uint64_t counter, const char *value)
{
    char msg[1200], sig64[100], payload[1100];
    uint8_t sig[64];
    size_t len = cmd_signed_message(msg, sizeof msg, plug.id, counter, (uint64_t)fake.unix_ms,
                                    "ota_begin", value, strlen(value));
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(payload, sizeof payload, "{\"c\":%llu,\"t\":%lld,\"cap\":\"ota_begin\",\"v\":%s,\"sig\":\"%s\"}",
             (unsigned long long)counter, (long long)fake.unix_ms, value, sig64);
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/cmd", payload, strlen(payload));
}

/* A test image of n bytes and its ota_begin value, signed with the vectors' firmware key. */
static uint8_t img[20000];
static void make_image(size_t n, const char *version, char *value, size_t cap)
{
    for (size_t i = 0; i < n; i++) img[i] = (uint8_t)(i * 31 + (i >> 8));
    uint8_t d[32], seed[32], pk[32], sk[64], sig[64];
    crypto_hash_sha256(d, img, n);
    char sha[48], sig64[100], msg[200];
    b64_encode(sha, sizeof sha, d, 32);
    CHECK(vec_b64("firmware.signSeed", seed, 32));
    crypto_sign_seed_keypair(pk, sk, seed);
    size_t len = ota_signed_message(msg, sizeof msg, "hearth-plug-sim", version, (uint32_t)n, sha);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(value, cap, "{\"manifest\":{\"model\":\"hearth-plug-sim\",\"version\":\"%s\",\"size\":%zu,"
             "\"sha256\":\"%s\"},\"sig\":\"%s\",\"downgrade\":false}", version, n, sha, sig64);
}

/* The hub's answer to the plug's last request, from `image` (what the hub holds). */
static bool answer_request(const uint8_t *image, size_t size)
{
    const fake_pub *req = fake_last_pub("/ota/req");
    if (!req) return false;
    const char *o = strstr(req->payload, "\"offset\":");
    if (!o) return false;
    uint32_t off = (uint32_t)strtoul(o + 9, NULL, 10);
    static uint8_t chunk[OTA_HEADER + OTA_CHUNK];
    size_t n = size - off < OTA_CHUNK ? size - off : OTA_CHUNK;
    chunk[0] = (uint8_t)(off >> 24), chunk[1] = (uint8_t)(off >> 16);
    chunk[2] = (uint8_t)(off >> 8), chunk[3] = (uint8_t)off;
    memcpy(chunk + 4, plug.ota.sha256, 32);
    memcpy(chunk + OTA_HEADER, image + off, n);
    fake.npubs = 0;
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/ota", (const char *)chunk, OTA_HEADER + n);
    return true;
}

static bool last_ota_event(const char *needle)
{
    const fake_pub *e = fake_last_pub("/event");
    return e && strstr(e->payload, "\"type\":\"ota\"") && strstr(e->payload, needle);
}

static void ota_updates_and_reports_after_restart(void)
{
    online_plug();
    CHECK(last_ota_event("\"state\":\"idle\",\"firmware\":\"1.0.0\""));
    char value[OTA_VALUE_MAX + 1];
    make_image(10000, "1.1.0", value, sizeof value);
    send_ota(8, value);
    CHECK(last_ota_event("\"state\":\"downloading\""));
    CHECK_INT(fake.ota_begins, 1);
    CHECK_INT(fake.ota_resume_at, 0);
    const fake_pub *req = fake_last_pub("/ota/req");
    CHECK(req && req->qos == 0 && strncmp(req->payload, "{\"offset\":0,\"sha256\":\"", 22) == 0);
    int chunks = 0;
    while (fake.restarts == 0 && chunks < 10 && answer_request(img, 10000)) chunks++;
    CHECK_INT(chunks, 3);
    CHECK(memcmp(fake_slot, img, 10000) == 0);
    CHECK_STR(fake.ota_activated, "1.1.0");
    CHECK_INT(fake.restarts, 1);
    CHECK(last_ota_event("\"state\":\"rebooting\""));
    /* The new image boots and says so once; the stored update is forgotten. */
    boot_fw("1.1.0");
    CHECK(last_ota_event("\"state\":\"done\",\"firmware\":\"1.1.0\",\"version\":\"1.1.0\""));
    char v[8];
    CHECK_INT(fake_store_get_str("ota_v", v, sizeof v), 0);
    plug_mqtt_disconnected(&plug);
    run_ms(3000);
    plug_mqtt_connected(&plug);
    CHECK(last_ota_event("\"state\":\"idle\",\"firmware\":\"1.1.0\"}"));
    /* The command counter is the normal one: a replayed ota_begin is refused. */
    send_ota(8, value);
    CHECK_STR(fake_last_pub("/event")->payload, "{\"type\":\"cmd_rejected\",\"reason\":\"replay\",\"counter\":8}");
}

static void ota_resumes_after_power_cut(void)
{
    online_plug();
    char value[OTA_VALUE_MAX + 1];
    make_image(20000, "1.2.0", value, sizeof value);
    send_ota(8, value);
    CHECK(answer_request(img, 20000));
    CHECK(answer_request(img, 20000));
    CHECK_INT(plug.ota_offset, 8192);
    /* A chunk arrives half-way through the third write... and the power goes: reboot. */
    fake_reset_board();
    boot_vector_plug(POWER_ON_OFF);
    CHECK_INT(fake.ota_resume_at, 8192);
    go_online();
    CHECK(last_ota_event("\"state\":\"downloading\",\"firmware\":\"1.0.0\",\"version\":\"1.2.0\",\"offset\":8192"));
    CHECK(strstr(fake_last_pub("/ota/req")->payload, "\"offset\":8192") != NULL);
    /* Stale or foreign chunks are ignored. */
    static uint8_t junk[OTA_HEADER + 10];
    memset(junk, 0, sizeof junk);
    fake_deliver(&plug, plug.topic_ota, (const char *)junk, sizeof junk);
    CHECK_INT(plug.ota_offset, 8192);
    int chunks = 0;
    while (fake.restarts == 0 && chunks < 10 && answer_request(img, 20000)) chunks++;
    CHECK_INT(chunks, 3);
    CHECK(memcmp(fake_slot, img, 20000) == 0);
    CHECK_STR(fake.ota_activated, "1.2.0");
}

static void ota_refuses_bad_images(void)
{
    online_plug();
    /* The vectors' refused manifests: the plug says why, and starts nothing. */
    static const char *cases[][2] = {{"firmware.cases.1.value", "wrong_model"},
                                     {"firmware.cases.2.value", "bad_signature"},
                                     {"firmware.cases.4.value", "downgrade"}};
    for (int i = 0; i < 3; i++) {
        send_ota(10 + (uint64_t)i, vec_str(cases[i][0]));
        char want[48];
        snprintf(want, sizeof want, "\"error\":\"%s\"", cases[i][1]);
        CHECK(last_ota_event("\"state\":\"failed\"") && last_ota_event(want));
    }
    CHECK_INT(fake.ota_begins, 0);
    /* An image altered in transfer is written, hashed, refused, never activated. */
    char value[OTA_VALUE_MAX + 1];
    make_image(5000, "1.1.0", value, sizeof value);
    send_ota(20, value);
    static uint8_t altered[5000];
    memcpy(altered, img, 5000);
    altered[4500] ^= 1;
    while (plug.ota_state == PLUG_OTA_DOWNLOADING && answer_request(altered, 5000)) {
    }
    CHECK(last_ota_event("\"error\":\"bad_hash\""));
    CHECK_STR(fake.ota_activated, "");
    CHECK_INT(fake.restarts, 0);
    CHECK(fake.ota_aborts >= 1);
    /* Nothing left to resume after a reboot. */
    reboot_plug(POWER_ON_OFF);
    CHECK_INT(plug.ota_state, PLUG_OTA_IDLE);
}

static void ota_times_out_without_chunks(void)
{
    online_plug();
    char value[OTA_VALUE_MAX + 1];
    make_image(5000, "1.1.0", value, sizeof value);
    send_ota(8, value);
    fake.npubs = 0;
    run_ms((uint64_t)OTA_RETRY_MS * (OTA_MAX_RETRIES + 1) + 100);
    CHECK(fake_count_pubs("/ota/req") >= OTA_MAX_RETRIES);
    CHECK(last_ota_event("\"error\":\"timeout\""));
    CHECK_INT(plug.ota_state, PLUG_OTA_IDLE);
}

static void ota_activated_but_old_image_boots(void)
{
    online_plug();
    char value[OTA_VALUE_MAX + 1];
    make_image(3000, "1.1.0", value, sizeof value);
    send_ota(8, value);
    while (fake.restarts == 0 && answer_request(img, 3000)) {
    }
    CHECK_INT(fake.restarts, 1);
    /* The bootloader rolled back: 1.0.0 runs again. It says so instead of retrying forever. */
    boot_fw("1.0.0");
    CHECK(last_ota_event("\"error\":\"boot_failed\""));
    CHECK_INT(plug.ota_state, PLUG_OTA_IDLE);
}

static void ota_activated_then_power_cut_before_noting_it(void)
{
    online_plug();
    char value[OTA_VALUE_MAX + 1];
    make_image(3000, "1.1.0", value, sizeof value);
    send_ota(8, value);
    while (fake.restarts == 0 && answer_request(img, 3000)) {
    }
    /* As if the power went after the boot slot switched but before ota_act reached storage. */
    fake_store_put("ota_act", "", 0);
    boot_fw("1.1.0");
    CHECK(last_ota_event("\"state\":\"done\",\"firmware\":\"1.1.0\""));
}

/* esp-mqtt hands a message larger than its buffer over in pieces (current_data_offset,
 * total_data_len). A 4,132-byte firmware chunk must arrive whole whatever the piece size, and
 * nothing past the bound is kept or read (ASan watches the copies). */
static void mqtt_fragments_reassembled_with_a_bound(void)
{
    online_plug();
    char value[OTA_VALUE_MAX + 1];
    make_image(10000, "1.1.0", value, sizeof value);
    send_ota(8, value); /* ~600 bytes in 1 KB pieces: one piece */
    CHECK(last_ota_event("\"state\":\"downloading\""));
    fake.mqtt_fragment = 1; /* byte by byte */
    CHECK(answer_request(img, 10000));
    CHECK_INT(plug.ota_offset, 4096);
    fake.mqtt_fragment = 1000; /* 1000 + 1000 + 1000 + 1000 + 132 */
    CHECK(answer_request(img, 10000));
    CHECK_INT(plug.ota_offset, 8192);
    fake.mqtt_fragment = 0; /* whole (a buffer as large as a chunk) */
    CHECK(answer_request(img, 10000));
    CHECK_STR(fake.ota_activated, "1.1.0");
    CHECK(memcmp(fake_slot, img, 10000) == 0);

    /* Larger than any message the plug takes: refused as malformed, never held whole. */
    fake.mqtt_fragment = 1024;
    static char big[3 * MQTT_RX_MAX];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    fake.npubs = 0;
    fake_deliver(&plug, plug.topic_cmd, big, sizeof big);
    CHECK_STR(fake_last_pub("/event")->payload, "{\"type\":\"cmd_rejected\",\"reason\":\"malformed\",\"counter\":0}");

    /* Pieces that do not continue the message drop it whole: a gap, more bytes than
     * announced, a continuation without a start, a disconnection in between. */
    char cmd[512];
    size_t n = make_cmd(9, fake.unix_ms, "true", cmd, sizeof cmd);
    const char *t = plug.topic_cmd;
    fake.npubs = 0;
    plug_mqtt_fragment(&plug, t, strlen(t), cmd, 20, 0, n);
    plug_mqtt_fragment(&plug, NULL, 0, cmd + 21, n - 21, 21, n);
    plug_mqtt_fragment(&plug, t, strlen(t), cmd, 20, 0, n);
    plug_mqtt_fragment(&plug, NULL, 0, cmd + 20, n - 20 + 5, 20, n); /* 5 bytes too many */
    plug_mqtt_fragment(&plug, NULL, 0, cmd + 20, n - 20, 20, n);      /* no start any more */
    plug_mqtt_fragment(&plug, t, strlen(t), cmd, 20, 0, n);
    plug_mqtt_fragment(&plug, NULL, 0, cmd + 20, n - 20, 20, n + 1);  /* another total */
    plug_mqtt_fragment(&plug, "", 0, cmd, n, 0, n);                   /* no topic */
    CHECK_INT(fake.npubs, 0);
    CHECK(!fake.relay);
    plug_mqtt_fragment(&plug, t, strlen(t), cmd, 20, 0, n);
    plug_mqtt_disconnected(&plug);
    run_ms(3000);
    plug_mqtt_connected(&plug);
    fake.npubs = 0;
    plug_mqtt_fragment(&plug, NULL, 0, cmd + 20, n - 20, 20, n);
    CHECK(fake_last_pub("/state") == NULL);
    /* In order, in any piece size: obeyed once. */
    fake.mqtt_fragment = 7;
    fake_deliver(&plug, t, cmd, n);
    CHECK(fake.relay);
    CHECK_STR(fake_last_pub("/state")->payload, "{\"switch\":true}");
}

const test_case plug_ota_tests[] = {
    {"plug: MQTT fragments reassembled (4,132-byte chunk in 1 B..4 KB pieces), bounded, gaps dropped", mqtt_fragments_reassembled_with_a_bound},
    {"plug ota: the new image runs although its activation was not noted: done", ota_activated_then_power_cut_before_noting_it},
    {"plug ota: 1.0.0 -> 1.1.0 in chunks, hashed, activated, reports done after the restart", ota_updates_and_reports_after_restart},
    {"plug ota: a power cut mid-transfer resumes at the stored offset", ota_resumes_after_power_cut},
    {"plug ota: wrong model, bad signature, downgrade, bad hash refused with their codes", ota_refuses_bad_images},
    {"plug ota: no chunks while online: failed with timeout", ota_times_out_without_chunks},
    {"plug ota: activated but the old image came back: boot_failed", ota_activated_but_old_image_boots},
    {NULL, NULL},
};
