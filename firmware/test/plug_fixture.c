/* The plug under test on the fake board, and what every plug test does to it: boot it with the
 * shared vectors' keys, claim it, bring it online, sign commands as the hub, let time pass. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "../port/common/fw_test_key.h"
#include "b64.h"
#include "sha256.h"
#include "fake_hal.h"
#include "plug.h"
#include "check.h"
#include "vectors.h"
#include "plug_fixture.h"
#include "hub_side.h"

plug_t plug;
uint8_t hub_sk[64];

plug_config plug_test_config(plug_power_on pon)
{
    static char id[32];
    snprintf(id, sizeof id, "%s", vec_str("id"));
    plug_config c;
    memset(&c, 0, sizeof c);
    c.id = id;
    c.model = "hearth-plug-sim";
    c.fw = "1.0.0";
    c.setup_code = "12345678";
    c.power_on = pon;
    c.cal = meter_cal_bl0937(SHUNT, DIVIDER);
    c.overcurrent_a = 16;
    c.telemetry_ms = 1000;
    c.keepalive_s = 10;
    c.fw_pk = HEARTH_FW_TEST_PK;
    return c;
}

/* A new plug holding the vectors' box key pair (as if made at its first boot). */
void boot_vector_plug(plug_power_on pon)
{
    uint8_t pk[32], sk[32];
    if (!fake_store_has("box_pk")) {
        CHECK(vec_b64("pairing.plugBoxPublicKey", pk, 32));
        CHECK(vec_b64("pairing.plugBoxSecretKey", sk, 32));
        fake_store_put("box_pk", pk, 32);
        fake_store_put("box_sk", sk, 32);
    }
    plug_config c = plug_test_config(pon);
    CHECK(plug_init(&plug, &c));
    uint8_t seed[32], hpk[32];
    CHECK(vec_b64("hub.signSeed", seed, 32));
    crypto_sign_seed_keypair(hpk, hub_sk, seed);
}

void reboot_plug(plug_power_on pon)
{
    fake_reset_board();
    boot_vector_plug(pon);
}

void claim_with_vectors(void)
{
    open_vector_session(&plug.pair, fake.now_ms);
    const char *body = vec_str("claim.body");
    char out[128];
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 200);
}

void go_online(void)
{
    plug_tick(&plug);
    CHECK_INT(plug.state, PLUG_CONNECTING);
    plug_mqtt_connected(&plug);
    CHECK_INT(plug.state, PLUG_ONLINE);
}

void online_plug(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim_with_vectors();
    go_online();
}

/* A switch command signed by the vectors' hub key; its length. */
size_t make_cmd(uint64_t c, int64_t t, const char *v, char *payload, size_t cap)
{
    char msg[160], sig64[100];
    uint8_t sig[64];
    size_t len = cmd_signed_message(msg, sizeof msg, plug.id, c, (uint64_t)t, "switch", v,
                                    strlen(v));
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(payload, cap,
             "{\"c\":%llu,\"t\":%lld,\"cap\":\"switch\",\"v\":%s,\"sig\":\"%s\"}",
             (unsigned long long)c, (long long)t, v, sig64);
    return strlen(payload);
}

void send_switch(uint64_t c, int64_t t, const char *v)
{
    char payload[512];
    size_t len = make_cmd(c, t, v, payload, sizeof payload);
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/cmd", payload, len);
}

void run_ms(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 10) {
        fake.now_ms += 10;
        plug_tick(&plug);
    }
}
