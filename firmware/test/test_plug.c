/* The plug as a whole on the fake board: what it publishes, stores and switches as pairing,
 * connection, commands, metering and the button happen. */
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

#define SHUNT 0.001
#define DIVIDER (1000.0 / (5 * 470000.0 + 1000.0))

static plug_t plug;
static uint8_t hub_sk[64];

static plug_config config(plug_power_on pon)
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
static void boot_vector_plug(plug_power_on pon)
{
    uint8_t pk[32], sk[32];
    if (!fake_store_has("box_pk")) {
        CHECK(vec_b64("pairing.plugBoxPublicKey", pk, 32));
        CHECK(vec_b64("pairing.plugBoxSecretKey", sk, 32));
        fake_store_put("box_pk", pk, 32);
        fake_store_put("box_sk", sk, 32);
    }
    plug_config c = config(pon);
    CHECK(plug_init(&plug, &c));
    uint8_t seed[32], hpk[32];
    CHECK(vec_b64("hub.signSeed", seed, 32));
    crypto_sign_seed_keypair(hpk, hub_sk, seed);
}

static void reboot(plug_power_on pon)
{
    fake_reset_board();
    boot_vector_plug(pon);
}

static void claim_with_vectors(void)
{
    CHECK(vec_b64("pairing.plugNonce", plug.pair.plug_nonce, 32));
    plug.pair.nonce_valid = true;
    plug.pair.nonce_at_ms = fake.now_ms;
    const char *body = vec_str("claim.body");
    char out[128];
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 200);
}

static void go_online(void)
{
    plug_tick(&plug);
    CHECK_INT(plug.state, PLUG_CONNECTING);
    plug_mqtt_connected(&plug);
    CHECK_INT(plug.state, PLUG_ONLINE);
}

static void online_plug(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim_with_vectors();
    go_online();
}

/* A switch command signed by the vectors' hub key; its length. */
static size_t make_cmd(uint64_t c, int64_t t, const char *v, char *payload, size_t cap)
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

static void send(uint64_t c, int64_t t, const char *v)
{
    char payload[512];
    size_t len = make_cmd(c, t, v, payload, sizeof payload);
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/cmd", payload, len);
}

static void run_ms(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 10) {
        fake.now_ms += 10;
        plug_tick(&plug);
    }
}

static void first_boot_is_unclaimed(void)
{
    plug_config c = config(POWER_ON_OFF);
    CHECK(plug_init(&plug, &c));
    CHECK_INT(plug.state, PLUG_UNCLAIMED);
    CHECK(fake_store_has("box_pk") && fake_store_has("box_sk"));
    uint8_t pk[32];
    CHECK_INT(hal_store_get("box_pk", pk, 32), 32);
    CHECK(memcmp(pk, plug.ident.box_pk, 32) == 0);
    run_ms(5000);
    CHECK_INT(fake.connects, 0); /* nothing to connect to */
    /* The key pair survives a reboot. */
    reboot(POWER_ON_OFF);
    plug_init(&plug, &c);
    CHECK(memcmp(pk, plug.ident.box_pk, 32) == 0);
    /* Unusable ids are refused (they end up in MQTT topics). */
    c.id = "plug/#";
    CHECK(!plug_init(&plug, &c));
    c.id = "Plug-ABC";
    CHECK(!plug_init(&plug, &c));
    c.id = "";
    CHECK(!plug_init(&plug, &c));
}

static void hello_over_core(void)
{
    boot_vector_plug(POWER_ON_OFF);
    char out[512];
    const char *n = vec_str("pairing.hubNonce");
    CHECK_INT(plug_http_hello(&plug, n, strlen(n), out, sizeof out), 200);
    CHECK(strstr(out, "\"id\":\"plug-0a1b2c3d4e5f\"") != NULL);
    CHECK_INT(plug_http_hello(&plug, n, strlen(n), out, 16), 500); /* no room: no half answer */
}

static void claim_connects_with_credentials(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim_with_vectors();
    CHECK_INT(plug.state, PLUG_CLAIMED);
    CHECK_INT(fake.discovery_changes, 1);
    CHECK(fake.last_discovery_claimed);
    CHECK_STR(fake.last_note, "{\"event\":\"claimed\"}");
    char s[64];
    fake_store_get_str("claimed", s, sizeof s);
    CHECK_STR(s, "1");
    fake_store_get_str("ctr", s, sizeof s);
    CHECK_STR(s, "7");
    plug_tick(&plug);
    CHECK_INT(plug.state, PLUG_CONNECTING);
    CHECK_INT(fake.connects, 1);
    CHECK_STR(fake.conn_host, "127.0.0.1");
    CHECK_INT(fake.conn_port, 1883);
    CHECK_STR(fake.conn_client, "plug-0a1b2c3d4e5f");
    CHECK_STR(fake.conn_user, "plug-0a1b2c3d4e5f");
    CHECK(strncmp(fake.conn_pass, "pw-", 3) == 0);
    CHECK_STR(fake.conn_will, "hearth/plug-0a1b2c3d4e5f/status=offline");
    CHECK_INT(fake.conn_keepalive, 10);
    CHECK(!fake.conn_clean);
    plug_mqtt_connected(&plug);
    /* [protocol: MQTT] on connect: retained online, subscribe to cmd, publish the state. */
    CHECK_STR(fake.pubs[0].topic, "hearth/plug-0a1b2c3d4e5f/status");
    CHECK_STR(fake.pubs[0].payload, "online");
    CHECK(fake.pubs[0].retain && fake.pubs[0].qos == 1);
    CHECK_STR(fake.subs[0], "hearth/plug-0a1b2c3d4e5f/cmd");
    CHECK_STR(fake.pubs[1].topic, "hearth/plug-0a1b2c3d4e5f/state");
    CHECK_STR(fake.pubs[1].payload, "{\"switch\":false}");
    CHECK(!fake.pubs[1].retain && fake.pubs[1].qos == 1);
    /* A second hello or claim is refused. */
    char out[128];
    CHECK_INT(plug_http_hello(&plug, "x", 1, out, sizeof out), 409);
    CHECK_INT(plug_http_claim(&plug, "{}", 2, out, sizeof out), 409);
}

static void claimed_state_survives_reboot(void)
{
    online_plug();
    reboot(POWER_ON_OFF);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    go_online();
    CHECK_STR(fake.conn_user, "plug-0a1b2c3d4e5f");
}

static void accepted_command_switches_and_confirms(void)
{
    online_plug();
    fake.npubs = 0;
    send(8, fake.unix_ms, "true");
    CHECK(fake.relay);
    const fake_pub *s = fake_last_pub("/state");
    CHECK(s && strcmp(s->payload, "{\"switch\":true}") == 0 && s->qos == 1);
    /* Unchanged value: still confirmed with a state message. */
    send(9, fake.unix_ms, "true");
    CHECK_INT(fake_count_pubs("/state"), 2);
    CHECK_INT(fake_count_pubs("/event"), 0);
    char ctr[24];
    fake_store_get_str("ctr", ctr, sizeof ctr);
    CHECK_STR(ctr, "9");
    send(10, fake.unix_ms, "false");
    CHECK(!fake.relay);
    CHECK_STR(fake_last_pub("/state")->payload, "{\"switch\":false}");
}

static void rejected_commands_are_reported_not_obeyed(void)
{
    online_plug();
    send(8, fake.unix_ms, "true");
    fake.npubs = 0;
    /* Replay of an accepted counter. */
    send(8, fake.unix_ms, "false");
    CHECK(fake.relay);
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"replay\",\"counter\":8}");
    CHECK_STR(fake.last_note,
              "{\"event\":\"command\",\"result\":\"rejected\",\"reason\":\"replay\",\"counter\":8}");
    /* The claim's counter (7) is the floor: the vectors' first command (c=1) is a replay. */
    const char *v0 = vec_str("commands.0.payload");
    fake_deliver(&plug, plug.topic_cmd, v0, strlen(v0));
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"replay\",\"counter\":1}");
    /* Stale. */
    send(20, fake.unix_ms - 31000, "false");
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"stale\",\"counter\":20}");
    /* Forged: tampered vector. */
    const char *t = vec_str("tamperedCommands.0.payload");
    fake_deliver(&plug, plug.topic_cmd, t, strlen(t));
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"bad_signature\",\"counter\":1}");
    /* Malformed. */
    fake_deliver(&plug, plug.topic_cmd, "{\"c\":", 5);
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"malformed\",\"counter\":0}");
    CHECK(fake.relay);
    CHECK_INT(fake_count_pubs("/state"), 0);
    /* Stale and forged commands did not move the counter. */
    char ctr[24];
    fake_store_get_str("ctr", ctr, sizeof ctr);
    CHECK_STR(ctr, "8");
    /* The vectors' command 41 at its own time is accepted. */
    fake.unix_ms = (int64_t)vec_u64("commands.2.t");
    const char *v2 = vec_str("commands.2.payload");
    fake_deliver(&plug, plug.topic_cmd, v2, strlen(v2));
    CHECK_STR(fake_last_pub("/state")->payload, "{\"switch\":true}");
    /* Other topics are ignored. */
    int before = fake.npubs;
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/ota", v2, strlen(v2));
    plug_mqtt_message(&plug, NULL, v2, strlen(v2));
    CHECK_INT(fake.npubs, before);
}

static void counter_persists_across_reboot(void)
{
    online_plug();
    send(50, fake.unix_ms, "true");
    reboot(POWER_ON_OFF);
    go_online();
    fake.npubs = 0;
    send(50, fake.unix_ms, "false"); /* the same counter after the reboot */
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"replay\",\"counter\":50}");
    CHECK(!fake.relay); /* power-on off, and the replay did not switch it on or off */
    send(51, fake.unix_ms, "true");
    CHECK(fake.relay);
}

static void backoff_with_jitter(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim_with_vectors();
    fake.connect_ok = false; /* the connect cannot even start */
    uint64_t expected_max = PLUG_BACKOFF_MIN_MS;
    for (int attempt = 1; attempt <= 10; attempt++) {
        uint64_t before = fake.now_ms;
        int c = fake.connects;
        while (fake.connects == c) {
            fake.now_ms += 10;
            plug_tick(&plug);
        }
        uint64_t waited = fake.now_ms - before;
        if (attempt > 1) {
            /* Equal jitter: between half and all of the current back-off. */
            CHECK(waited >= expected_max / 2 && waited <= expected_max + 10);
            expected_max = expected_max * 2 > PLUG_BACKOFF_MAX_MS ? PLUG_BACKOFF_MAX_MS
                                                                  : expected_max * 2;
        }
        CHECK_INT(plug.state, PLUG_CLAIMED);
    }
    CHECK_INT(plug.backoff_ms, PLUG_BACKOFF_MAX_MS);
    /* A success resets the back-off. */
    fake.connect_ok = true;
    int c = fake.connects;
    for (int i = 0; i < 10000 && fake.connects == c; i++) run_ms(10);
    CHECK_INT(plug.state, PLUG_CONNECTING);
    plug_mqtt_connected(&plug);
    CHECK_INT(plug.backoff_ms, PLUG_BACKOFF_MIN_MS);
}

static void connect_timeout_and_lost_connection(void)
{
    online_plug();
    fake.relay = true;
    plug.relay = true;
    plug_mqtt_disconnected(&plug);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    CHECK(fake.relay); /* offline: the relay keeps its state */
    run_ms(PLUG_BACKOFF_MIN_MS + 10);
    CHECK_INT(plug.state, PLUG_CONNECTING);
    int d = fake.disconnects;
    run_ms(PLUG_CONNECT_TIMEOUT_MS + 10); /* no CONNACK ever */
    CHECK_INT(fake.disconnects, d + 1);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    /* A CONNACK for a connection already given up is ignored. */
    plug_mqtt_connected(&plug);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    CHECK(fake.relay);
}

static void power_on_modes(void)
{
    online_plug();
    send(8, fake.unix_ms, "true");
    reboot(POWER_ON_OFF);
    CHECK(!fake.relay);
    reboot(POWER_ON_RESTORE);
    CHECK(fake.relay);
    reboot(POWER_ON_ON);
    CHECK(fake.relay);
    go_online();
    send(20, fake.unix_ms, "false");
    reboot(POWER_ON_RESTORE);
    CHECK(!fake.relay);
    reboot(POWER_ON_ON);
    CHECK(fake.relay);
}

static void telemetry_from_pulses(void)
{
    online_plug();
    send(8, fake.unix_ms, "true");
    meter_cal cal = meter_cal_bl0937(SHUNT, DIVIDER);
    double cf_carry = 0, cf1_carry = 0;
    fake.npubs = 0;
    /* 100 W at 230 V for 10 s, fed as pulses each 10 ms tick. */
    for (int i = 0; i < 1000; i++) {
        double f1 = fake.cf1_mode == HAL_CF1_VOLTAGE ? meter_cf1_voltage_hz(&cal, 230)
                                                      : meter_cf1_current_hz(&cal, 100.0 / 230);
        double a = meter_cf_hz(&cal, 100) / 100 + cf_carry, b = f1 / 100 + cf1_carry;
        fake.pulses[HAL_PIN_CF] += (uint32_t)a;
        fake.pulses[HAL_PIN_CF1] += (uint32_t)b;
        cf_carry = a - (uint32_t)a;
        cf1_carry = b - (uint32_t)b;
        fake.now_ms += 10;
        plug_tick(&plug);
    }
    CHECK(fake_count_pubs("/telemetry") >= 9);
    const fake_pub *t = fake_last_pub("/telemetry");
    CHECK(t->qos == 0 && !t->retain);
    json_tok tok[16];
    json_doc d;
    CHECK(json_parse(&d, t->payload, strlen(t->payload), tok, 16) == 9);
    size_t n;
    const char *raw = json_raw(&d, json_find(&d, 0, "power"), &n);
    double w = atof(raw);
    CHECK_NEAR(w, 100, 2);
    CHECK_NEAR(atof(json_raw(&d, json_find(&d, 0, "voltage"), &n)), 230, 1);
    CHECK_NEAR(atof(json_raw(&d, json_find(&d, 0, "current"), &n)), 0.435, 0.01);
    CHECK(json_find(&d, 0, "energy") > 0);
}

static void overcurrent_cuts_off(void)
{
    online_plug();
    send(8, fake.unix_ms, "true");
    meter_cal cal = meter_cal_bl0937(SHUNT, DIVIDER);
    fake.npubs = 0;
    /* 20 A through a 16 A limit: the current window trips it. */
    for (int w = 0; w < 3 && fake.relay; w++) {
        double f1 = fake.cf1_mode == HAL_CF1_VOLTAGE ? meter_cf1_voltage_hz(&cal, 230)
                                                      : meter_cf1_current_hz(&cal, 20);
        fake.pulses[HAL_PIN_CF] = (uint32_t)meter_cf_hz(&cal, 4600);
        fake.pulses[HAL_PIN_CF1] = (uint32_t)f1;
        fake.now_ms += 1000;
        plug_tick(&plug);
    }
    CHECK(!fake.relay);
    const fake_pub *e = fake_last_pub("/event");
    const char *prefix = "{\"type\":\"overcurrent\",\"current\":";
    CHECK(e && strncmp(e->payload, prefix, strlen(prefix)) == 0);
    CHECK_NEAR(atof(e->payload + strlen(prefix)), 20, 0.1);
    CHECK(strncmp(fake.last_note, "{\"event\":\"overcurrent\",\"current\":", 33) == 0);
    CHECK_STR(fake_last_pub("/state")->payload, "{\"switch\":false}");
    char r[8];
    fake_store_get_str("relay", r, sizeof r);
    CHECK_STR(r, "0");
}

static void energy_is_saved_and_restored(void)
{
    online_plug();
    send(8, fake.unix_ms, "true");
    meter_cal cal = meter_cal_bl0937(SHUNT, DIVIDER);
    /* 1 kW for 5 simulated minutes (1 s windows). */
    for (int s = 0; s < 300; s++) {
        fake.pulses[HAL_PIN_CF] = (uint32_t)(meter_cf_hz(&cal, 1000) + 0.5);
        fake.now_ms += 1000;
        plug_tick(&plug);
    }
    /* 83 Wh so far, written at most once a minute: about 5 writes, not 300. */
    char e[24];
    fake_store_get_str("energy_mwh", e, sizeof e);
    CHECK(atoll(e) > 60000 && atoll(e) <= 84000);
    /* Switching off saves the counter at once. */
    send(9, fake.unix_ms, "false");
    fake_store_get_str("energy_mwh", e, sizeof e);
    CHECK_NEAR(atof(e) / 1000.0, plug.meter.energy_wh, 0.001);
    CHECK_NEAR(plug.meter.energy_wh, 1000.0 * 300 / 3600, 0.5);
    double before = plug.meter.energy_wh;
    reboot(POWER_ON_OFF);
    CHECK_NEAR(plug.meter.energy_wh, before, 0.001);
}

static void button_toggles_and_resets(void)
{
    online_plug();
    fake.npubs = 0;
    /* A bounce shorter than the debounce time does nothing. */
    fake.button = true;
    run_ms(30);
    fake.button = false;
    run_ms(100);
    CHECK(!fake.relay);
    /* A press toggles, even offline. */
    plug_mqtt_disconnected(&plug);
    fake.button = true;
    run_ms(200);
    fake.button = false;
    run_ms(100);
    CHECK(fake.relay);
    /* Held 10 s: factory reset, unclaimed with a new key pair, relay kept, energy kept. */
    uint8_t old_pk[32];
    memcpy(old_pk, plug.ident.box_pk, 32);
    plug.meter.energy_wh = 12.5;
    fake.button = true;
    run_ms(PLUG_RESET_HOLD_MS + 200);
    fake.button = false;
    run_ms(200);
    CHECK_INT(plug.state, PLUG_UNCLAIMED);
    CHECK(!fake_store_has("claimed") && !fake_store_has("mq_pass"));
    CHECK(memcmp(old_pk, plug.ident.box_pk, 32) != 0);
    CHECK(fake.relay); /* the release after the reset did not toggle */
    CHECK(!fake.last_discovery_claimed);
    CHECK_NEAR(plug.meter.energy_wh, 12.5, 0.001);
}

static void storage_failure_on_claim(void)
{
    boot_vector_plug(POWER_ON_OFF);
    fake.store_fail = true;
    CHECK(vec_b64("pairing.plugNonce", plug.pair.plug_nonce, 32));
    plug.pair.nonce_valid = true;
    plug.pair.nonce_at_ms = fake.now_ms;
    const char *body = vec_str("claim.body");
    char out[128];
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 500);
    CHECK_STR(out, "{\"error\":\"storage\"}");
    CHECK_INT(plug.state, PLUG_UNCLAIMED);
    fake.store_fail = false;
    reboot(POWER_ON_OFF);
    CHECK_INT(plug.state, PLUG_UNCLAIMED); /* "claimed" is written last */
}

static void shutdown_says_offline(void)
{
    online_plug();
    plug.meter.energy_wh = 3.25;
    plug_shutdown(&plug);
    const fake_pub *s = fake_last_pub("/status");
    CHECK(s && strcmp(s->payload, "offline") == 0 && s->retain && s->qos == 1);
    CHECK_INT(fake.disconnects, 1);
    char e[24];
    fake_store_get_str("energy_mwh", e, sizeof e);
    CHECK_STR(e, "3250");
}

static void confirms_after_counter_before_relay_and_energy(void)
{
    online_plug();
    int before = fake.store_writes;
    send(8, fake.unix_ms, "true");
    const fake_pub *s = fake_last_pub("/state");
    CHECK(s != NULL);
    /* Exactly one write (the counter) before the confirmation; relay and energy after. */
    CHECK_INT(s->store_writes_before, before + 1);
    CHECK_INT(fake.store_writes, before + 3);
}

static void pairs_through_hello_and_claim(void)
{
    /* The real flow, no fixed nonce: hello, then a claim sealed with libsodium. */
    plug_config c = config(POWER_ON_OFF);
    CHECK(plug_init(&plug, &c));
    char out[512], plain[512], body[2048], b64a[64], b64b[64], b64c[1024];
    const char *hub_nonce = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA";
    CHECK_INT(plug_http_hello(&plug, hub_nonce, strlen(hub_nonce), out, sizeof out), 200);
    json_tok t[32];
    json_doc d;
    CHECK(json_parse(&d, out, strlen(out), t, 32) > 0);
    char plug_nonce[64], box_pk_b64[64];
    uint8_t box_pk[32], nonce_raw[32];
    CHECK(json_get_str(&d, json_find(&d, 0, "plugNonce"), plug_nonce, sizeof plug_nonce));
    CHECK(json_get_str(&d, json_find(&d, 0, "boxPublicKey"), box_pk_b64, sizeof box_pk_b64));
    CHECK(b64_decode_exact(box_pk, 32, box_pk_b64, strlen(box_pk_b64)));
    CHECK(b64_decode_exact(nonce_raw, 32, plug_nonce, strlen(plug_nonce)));
    uint8_t proof[32], hub_sign_pk[32], hub_sign_sk[64], eph_pk[32], eph_sk[32], nonce[24];
    pair_claim_proof(proof, "12345678", plug.id, nonce_raw);
    crypto_sign_keypair(hub_sign_pk, hub_sign_sk);
    crypto_box_keypair(eph_pk, eph_sk);
    randombytes_buf(nonce, sizeof nonce);
    b64_encode(b64a, sizeof b64a, proof, 32);
    b64_encode(b64b, sizeof b64b, hub_sign_pk, 32);
    snprintf(plain, sizeof plain,
             "{\"claimProof\":\"%s\",\"deviceId\":\"%s\",\"mqtt\":{\"host\":\"10.0.0.2\","
             "\"port\":1883,\"username\":\"%s\",\"password\":\"s3cret\"},"
             "\"hubSignPublicKey\":\"%s\",\"counter\":41}",
             b64a, plug.id, plug.id, b64b);
    uint8_t sealed[600];
    CHECK(crypto_box_easy(sealed, (const uint8_t *)plain, strlen(plain), nonce, box_pk, eph_sk) == 0);
    b64_encode(b64a, sizeof b64a, eph_pk, 32);
    b64_encode(b64b, sizeof b64b, nonce, 24);
    b64_encode(b64c, sizeof b64c, sealed, strlen(plain) + 16);
    snprintf(body, sizeof body, "{\"hubBoxPublicKey\":\"%s\",\"nonce\":\"%s\",\"box\":\"%s\"}",
             b64a, b64b, b64c);
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 200);
    CHECK(plug.claimed && plug.last_counter == 41);
    plug_tick(&plug);
    CHECK_STR(fake.conn_host, "10.0.0.2");
    CHECK_STR(fake.conn_pass, "s3cret");
}

/* ---- time from the hub ---- */

/* The nonce of the plug's last time request, as published. */
static void last_time_nonce(char *out, size_t cap)
{
    const fake_pub *req = fake_last_pub("/timereq");
    CHECK(req != NULL);
    const char *start = strstr(req->payload, "\"n\":\"");
    CHECK(start != NULL);
    start += 5;
    const char *end = strchr(start, '"');
    CHECK(end != NULL && (size_t)(end - start) < cap);
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
}

/* The hub's answer for nonce and time t, signed with sk. */
static void answer_time(const char *nonce, uint64_t t, const uint8_t *sk)
{
    char msg[96], sig64[100], payload[256];
    uint8_t sig[64];
    size_t len = clock_signed_message(msg, sizeof msg, plug.id, nonce, t);
    CHECK(len > 0);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(payload, sizeof payload, "{\"n\":\"%s\",\"t\":%llu,\"sig\":\"%s\"}", nonce,
             (unsigned long long)t, sig64);
    fake_deliver(&plug, plug.topic_time, payload, strlen(payload));
}

static void no_clock_takes_time_from_hub(void)
{
    fake_reset_all();
    fake.unix_ms = 0; /* an ESP32 after a power cut with the internet down: no SNTP */
    online_plug();
    CHECK_INT(fake.nsubs, 3);
    CHECK_STR(fake.subs[1], "hearth/plug-0a1b2c3d4e5f/time");
    CHECK_STR(fake.subs[2], "hearth/plug-0a1b2c3d4e5f/ota");
    const fake_pub *req = fake_last_pub("/timereq");
    CHECK(req && req->qos == 0 && !req->retain);
    int64_t hub_now = 1767225600000;
    /* Before the hub answered, no command can be judged fresh. */
    send(8, hub_now, "true");
    CHECK(!fake.relay);
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"stale\",\"counter\":8}");
    char nonce[40];
    last_time_nonce(nonce, sizeof nonce);
    fake.now_ms += 40; /* round trip: the hub read its clock 20 ms after the request */
    answer_time(nonce, (uint64_t)hub_now + 20, hub_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"ok\"}");
    send(9, hub_now + 20, "true");
    CHECK(fake.relay);
    /* The clock runs on: 20 s later a command stamped 20 s later is fresh, one from then is
     * 20 s old (still inside 30 s), one stamped 31 s before is stale. */
    run_ms(20000);
    send(10, hub_now + 20040, "false");
    CHECK(!fake.relay);
    send(11, hub_now + 20040 - 31000, "true");
    CHECK(!fake.relay);
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"stale\",\"counter\":11}");
}

static void time_answers_need_the_open_nonce_and_the_hub_key(void)
{
    fake_reset_all();
    fake.unix_ms = 0;
    online_plug();
    char nonce[40];
    last_time_nonce(nonce, sizeof nonce);
    /* Signed by someone else. */
    uint8_t other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    answer_time(nonce, 1767225600000, other_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"bad_signature\"}");
    /* Another nonce (an old answer played again). */
    answer_time("AAAAAAAAAAAAAAAAAAAAAA==", 1767225600000, hub_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"unexpected\"}");
    /* Malformed. */
    fake_deliver(&plug, plug.topic_time, "{\"n\":1}", 7);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"malformed\"}");
    CHECK(!plug.clock.synced);
    /* The right answer counts once: the same bytes again are unexpected. */
    answer_time(nonce, 1767225600000, hub_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"ok\"}");
    answer_time(nonce, 1767225700000, hub_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"unexpected\"}");
    /* An answer later than the reply window is ignored. */
    fake.now_ms += 5000;
    send(8, 0, "true"); /* stale: asks again (5 s since the last request) */
    last_time_nonce(nonce, sizeof nonce);
    fake.now_ms += 10001;
    answer_time(nonce, 1767225800000, hub_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"unexpected\"}");
    /* Still on the first answer's clock. */
    CHECK_INT(plug.clock.offset_ms + (int64_t)fake.now_ms - 1767225600000,
              (int64_t)fake.now_ms - (int64_t)plug.clock.synced_at_ms);
}

/* The hub's (tweetnacl) answer from the shared vectors is accepted by the plug. */
static void time_vector_from_the_hub(void)
{
    /* vec_str() answers in one shared buffer: copy what is used together. */
    char id[40], nonce[40], message[128], sig[100], payload[256];
    snprintf(id, sizeof id, "%s", vec_str("id"));
    snprintf(nonce, sizeof nonce, "%s", vec_str("time.nonce"));
    snprintf(message, sizeof message, "%s", vec_str("time.message"));
    snprintf(sig, sizeof sig, "%s", vec_str("time.sig"));
    snprintf(payload, sizeof payload, "%s", vec_str("time.payload"));
    uint64_t t = vec_u64("time.t");
    plug_clock c;
    clock_init(&c);
    CHECK(vec_b64("time.nonce", c.nonce, CLOCK_NONCE_LEN));
    c.pending = true;
    c.requested_ms = 1000;
    uint8_t pk[32];
    CHECK(vec_b64("hub.signPublicKey", pk, 32));
    char msg[96];
    size_t len = clock_signed_message(msg, sizeof msg, id, nonce, t);
    CHECK(len == strlen(message) && memcmp(msg, message, len) == 0);
    CHECK_INT(clock_accept(&c, id, pk, 1000, payload, strlen(payload)), CLOCK_OK);
    CHECK_INT(clock_now_unix_ms(&c, 1000, 0), (int64_t)t);
    /* Tampered time: the signature no longer matches. */
    c.pending = true;
    char forged[256];
    snprintf(forged, sizeof forged, "{\"n\":\"%s\",\"t\":%llu,\"sig\":\"%s\"}", nonce,
             (unsigned long long)t - 60000, sig);
    CHECK_INT(clock_accept(&c, id, pk, 1000, forged, strlen(forged)), CLOCK_BAD_SIGNATURE);
}

static void hub_time_wins_and_is_refreshed(void)
{
    fake_reset_all();
    fake.unix_ms = 1767225600000; /* the plug has SNTP time... */
    online_plug();
    int64_t hub_now = fake.unix_ms + 3600000; /* ...and the hub's clock is an hour ahead */
    char nonce[40];
    last_time_nonce(nonce, sizeof nonce);
    answer_time(nonce, (uint64_t)hub_now, hub_sk);
    /* Commands are stamped by the hub: its clock is the one that counts. */
    send(8, hub_now, "true");
    CHECK(fake.relay);
    send(9, fake.unix_ms, "false");
    CHECK(fake.relay);
    /* Requests are rate-limited: stale commands do not flood the hub. */
    int requests = fake_count_pubs("/timereq");
    for (uint64_t c = 10; c < 20; c++) send(c, 1, "false");
    CHECK_INT(fake_count_pubs("/timereq"), requests);
    /* Hourly re-sync while online, and a fresh one on every new connection. */
    fake.npubs = 0;
    run_ms(CLOCK_RESYNC_MS);
    CHECK(fake_count_pubs("/timereq") >= 1);
    plug_mqtt_disconnected(&plug);
    fake.npubs = 0;
    run_ms(CLOCK_RETRY_MS + 1000); /* reconnecting (the last request is older than the retry gap) */
    CHECK_INT(plug.state, PLUG_CONNECTING);
    plug_mqtt_connected(&plug);
    CHECK_INT(fake_count_pubs("/timereq"), 1);
}

/* ---- firmware update ---- */

static char fw_running[24] = "1.0.0";

static void boot_fw(const char *version)
{
    fake_reset_board();
    snprintf(fw_running, sizeof fw_running, "%s", version);
    plug_config c = config(POWER_ON_OFF);
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
    reboot(POWER_ON_OFF);
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

static void hello_at(uint64_t now, int want)
{
    char out[512];
    const char *n = vec_str("pairing.hubNonce");
    fake.now_ms = now;
    CHECK_INT(plug_http_hello(&plug, n, strlen(n), out, sizeof out), want);
}

/* The hello proof lets its holder test setup codes offline: the plug gives it out only in a
 * window opened at the plug (power-on, a button press, a factory reset). */
static void hello_only_in_the_pairing_window(void)
{
    fake.now_ms = 1000;
    boot_vector_plug(POWER_ON_OFF); /* power-on at 1 s: open until 601 s */
    hello_at(600999, 200);
    run_ms(20);
    hello_at(601000, 403);
    CHECK_STR(fake.last_note, "{\"event\":\"hello_refused\",\"reason\":\"not_in_pairing_mode\"}");
    hello_at(5000000, 403);
    /* A press at the plug opens it again for 10 minutes (and toggles the relay, as always). */
    fake.button = true;
    run_ms(200);
    fake.button = false;
    run_ms(100);
    CHECK(fake.relay);
    CHECK_STR(fake.last_note, "{\"event\":\"pairing_window\",\"seconds\":600}");
    hello_at(fake.now_ms + 590000, 200);
    hello_at(fake.now_ms + 20000, 403);
    /* The simulator's press (SIGUSR1) is the same function. */
    plug_button_pressed(&plug);
    hello_at(fake.now_ms + 1000, 200);
    /* A factory reset (held 10 s at the plug) opens it too. */
    fake.now_ms += 20 * 60 * 1000;
    hello_at(fake.now_ms, 403);
    fake.button = true;
    run_ms(PLUG_RESET_HOLD_MS + 200);
    fake.button = false;
    run_ms(200);
    hello_at(fake.now_ms + 1000, 200);
    /* The LED says which: blinking while open, steady (the relay) once closed. */
    fake.now_ms += 11 * 60 * 1000;
    bool seen_on = false, seen_off = false;
    for (int i = 0; i < 300; i++) {
        run_ms(10);
        if (fake.led) seen_on = true; else seen_off = true;
    }
    CHECK(fake.led == fake.relay && !(seen_on && seen_off));
}

/* A shorter window after power-on (plug_config.pair_window_ms, the simulator's
 * --pairing-window-s) does not shorten the one a button press opens. */
static void button_window_is_always_ten_minutes(void)
{
    boot_vector_plug(POWER_ON_OFF);
    plug_config c = config(POWER_ON_OFF);
    c.pair_window_ms = 1000;
    CHECK(plug_init(&plug, &c));
    uint64_t t0 = fake.now_ms;
    hello_at(t0 + 999, 200);
    hello_at(t0 + 1000, 403);
    plug_button_pressed(&plug);
    hello_at(fake.now_ms + PLUG_PAIR_WINDOW_MS - 1, 200);
    hello_at(fake.now_ms + 1, 403);
}

static void hello_is_rate_limited_in_the_plug(void)
{
    boot_vector_plug(POWER_ON_OFF);
    uint64_t t0 = fake.now_ms;
    for (int i = 0; i < PAIR_HELLO_PER_MIN; i++) hello_at(t0 + (uint64_t)i, 200);
    hello_at(t0 + 100, 429);
    CHECK_STR(fake.last_note, "{\"event\":\"hello_refused\",\"reason\":\"rate_limited\"}");
    hello_at(t0 + 60000, 200);
}

/* A plug reset before it is given away must not give out the home's Wi-Fi. */
static void factory_reset_forgets_wifi(void)
{
    online_plug();
    snprintf(fake.wifi_ssid, sizeof fake.wifi_ssid, "%s", "HomeNet");
    fake.button = true;
    run_ms(PLUG_RESET_HOLD_MS + 200);
    fake.button = false;
    run_ms(200);
    CHECK_INT(plug.state, PLUG_UNCLAIMED);
    CHECK_INT(fake.wifi_forgets, 1);
    CHECK_STR(fake.wifi_ssid, "");
    CHECK(!fake_store_has("mq_host") && !fake_store_has("hub_pk"));
}

const test_case plug_tests[] = {
    {"plug: MQTT fragments reassembled (4,132-byte chunk in 1 B..4 KB pieces), bounded, gaps dropped", mqtt_fragments_reassembled_with_a_bound},
    {"plug: hello answered only in the pairing window (power-on, button, reset)", hello_only_in_the_pairing_window},
    {"plug: hello rate-limited per minute", hello_is_rate_limited_in_the_plug},
    {"plug: a short power-on window; a button press still opens 10 minutes", button_window_is_always_ten_minutes},
    {"plug: factory reset erases the Wi-Fi credentials too", factory_reset_forgets_wifi},
    {"plug ota: the new image runs although its activation was not noted: done", ota_activated_then_power_cut_before_noting_it},
    {"plug ota: 1.0.0 -> 1.1.0 in chunks, hashed, activated, reports done after the restart", ota_updates_and_reports_after_restart},
    {"plug ota: a power cut mid-transfer resumes at the stored offset", ota_resumes_after_power_cut},
    {"plug ota: wrong model, bad signature, downgrade, bad hash refused with their codes", ota_refuses_bad_images},
    {"plug ota: no chunks while online: failed with timeout", ota_times_out_without_chunks},
    {"plug ota: activated but the old image came back: boot_failed", ota_activated_but_old_image_boots},
    {"plug: a command is confirmed after its counter is stored, before relay and energy", confirms_after_counter_before_relay_and_energy},
    {"plug: pairs through hello and a libsodium-sealed claim", pairs_through_hello_and_claim},
    {"plug: shutdown publishes retained offline, disconnects, saves energy", shutdown_says_offline},
    {"plug: first boot makes a key pair and stays unclaimed", first_boot_is_unclaimed},
    {"plug: hello through the plug", hello_over_core},
    {"plug: claim, then connect with the credentials, online/subscribe/state", claim_connects_with_credentials},
    {"plug: claimed state survives a reboot", claimed_state_survives_reboot},
    {"plug: accepted command switches and confirms with state", accepted_command_switches_and_confirms},
    {"plug: forged, replayed, stale, malformed commands reported, relay unchanged", rejected_commands_are_reported_not_obeyed},
    {"plug: counter persists across a reboot", counter_persists_across_reboot},
    {"plug: back-off with jitter, doubling to 60 s, reset on success", backoff_with_jitter},
    {"plug: connect timeout and lost connection keep the relay", connect_timeout_and_lost_connection},
    {"plug: power-on off / on / restore", power_on_modes},
    {"plug: telemetry from a 100 W pulse train", telemetry_from_pulses},
    {"plug: over-current cuts the relay and reports", overcurrent_cuts_off},
    {"plug: energy saved sparingly, on relay change, restored at boot", energy_is_saved_and_restored},
    {"plug: button debounce, toggle offline, 10 s factory reset", button_toggles_and_resets},
    {"plug: storage failure during claim leaves it unclaimed", storage_failure_on_claim},
    {"plug: without a clock, takes the hub's signed time and then obeys", no_clock_takes_time_from_hub},
    {"plug: time answers need the open nonce, the hub's key, and come once, in time", time_answers_need_the_open_nonce_and_the_hub_key},
    {"plug: the hub's time wins over SNTP, is re-read hourly and on reconnect, rate-limited", hub_time_wins_and_is_refreshed},
    {"plug: the hub's time answer from the shared vectors verifies; a changed time does not", time_vector_from_the_hub},
    {NULL, NULL},
};
