/* Fuzz target: a claimed, online plug receiving MQTT data the way esp-mqtt hands it over.
 * Input: byte 0 picks the topic (cmd, time, ota, another plug's, an over-long one), byte 1 the
 * fragment size (0: whole), the rest is the payload, delivered in fragments through
 * plug_mqtt_fragment(): the reassembly bound, command verification, the time answer and the
 * firmware chunk header all see it. Byte 0 bit 7 leaves the second fragment out (a gap); bit 6
 * first starts a firmware update with a properly signed ota_begin (keys made from fixed seeds
 * here), so chunks on the ota topic reach the transfer's checks and the slot. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "cmd.h"
#include "fake_hal.h"
#include "plug.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static plug_t plug;
static uint8_t hub_pk[32], fw_pk[32];
static char ota_begin[1024];
static const int64_t T0 = 1767225600000; /* fake_reset_board()'s wall clock */

/* A signed ota_begin (counter 8) for a 10,000-byte image of zeros, version 1.1.0. */
static int make_ota_begin(void)
{
    uint8_t seed[32] = {11}, hub_sk[64], fw_sk[64], img[10000] = {0}, d[32], sig[64];
    crypto_sign_seed_keypair(hub_pk, hub_sk, seed);
    seed[0] = 12;
    crypto_sign_seed_keypair(fw_pk, fw_sk, seed);
    crypto_hash_sha256(d, img, sizeof img);
    char sha[48], sig64[100], msg[1200], value[600];
    b64_encode(sha, sizeof sha, d, 32);
    size_t len = ota_signed_message(msg, sizeof msg, "hearth-plug-sim", "1.1.0", sizeof img, sha);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, fw_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(value, sizeof value,
             "{\"manifest\":{\"model\":\"hearth-plug-sim\",\"version\":\"1.1.0\",\"size\":%zu,"
             "\"sha256\":\"%s\"},\"sig\":\"%s\",\"downgrade\":false}", sizeof img, sha, sig64);
    len = cmd_signed_message(msg, sizeof msg, "plug-0a1b2c3d4e5f", 8, (uint64_t)T0, "ota_begin", value,
                             strlen(value));
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(ota_begin, sizeof ota_begin, "{\"c\":8,\"t\":%lld,\"cap\":\"ota_begin\",\"v\":%s,\"sig\":\"%s\"}",
             (long long)T0, value, sig64);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return sodium_init() < 0 ? 1 : make_ota_begin();
}

static void claimed_online_plug(void)
{
    fake_reset_all();
    fake_store_put("claimed", "1", 1);
    fake_store_put("mq_host", "127.0.0.1", 9);
    fake_store_put("mq_port", "1883", 4);
    fake_store_put("mq_user", "plug-0a1b2c3d4e5f", 17);
    fake_store_put("mq_pass", "pw", 2);
    fake_store_put("hub_pk", hub_pk, 32);
    fake_store_put("ctr", "7", 1);
    plug_config c;
    memset(&c, 0, sizeof c);
    c.id = "plug-0a1b2c3d4e5f";
    c.setup_code = "12345678";
    c.model = "hearth-plug-sim";
    c.fw = "1.0.0";
    c.fw_pk = fw_pk;
    c.cal = meter_cal_bl0937(0.001, 1000.0 / 2351000.0);
    (void)plug_init(&plug, &c);
    plug_tick(&plug);
    plug_mqtt_connected(&plug);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    claimed_online_plug();
    static const char *topics[] = {"hearth/plug-0a1b2c3d4e5f/cmd", "hearth/plug-0a1b2c3d4e5f/time",
                                   "hearth/plug-0a1b2c3d4e5f/ota", "hearth/plug-000000000000/cmd",
                                   "hearth/plug-0a1b2c3d4e5f/cmd/and/a/topic/far/too/long/for/the/buffer/xx"};
    const char *topic = topics[(data[0] & 0x3f) % 5];
    if (data[0] & 0x40) {
        const char *cmd = "hearth/plug-0a1b2c3d4e5f/cmd";
        plug_mqtt_fragment(&plug, cmd, strlen(cmd), ota_begin, strlen(ota_begin), 0, strlen(ota_begin));
    }
    size_t step = data[1];
    const char *p = (const char *)data + 2;
    size_t n = size - 2;
    bool gap = data[0] & 0x80; /* leave the second piece out: the message must be dropped */
    size_t off = 0, index = 0;
    for (;;) {
        size_t k = step == 0 || n - off < step ? n - off : step;
        if (!(gap && index == 1))
            plug_mqtt_fragment(&plug, off == 0 ? topic : NULL, off == 0 ? strlen(topic) : 0,
                               p + off, k, off, n);
        off += k;
        index++;
        if (off >= n) break;
    }
    return 0;
}
