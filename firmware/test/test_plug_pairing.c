/* The plug as a whole on the fake board. Pairing: the first boot, the hello and its window, the
 * claim, factory reset. */
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
#include "hub_side.h"

static void first_boot_is_unclaimed(void)
{
    plug_config c = plug_test_config(POWER_ON_OFF);
    CHECK(plug_init(&plug, &c));
    CHECK_INT(plug.state, PLUG_UNCLAIMED);
    CHECK(fake_store_has("box_pk") && fake_store_has("box_sk"));
    uint8_t pk[32];
    CHECK_INT(hal_store_get("box_pk", pk, 32), 32);
    CHECK(memcmp(pk, plug.ident.box_pk, 32) == 0);
    run_ms(5000);
    CHECK_INT(fake.connects, 0); /* nothing to connect to */
    /* The key pair survives a reboot. */
    reboot_plug(POWER_ON_OFF);
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
    hub_session h;
    hub_start(&h, "12345678", plug.id);
    CHECK_INT(plug_http_hello(&plug, h.query, strlen(h.query), out, sizeof out), 200);
    CHECK(strstr(out, "\"id\":\"plug-0a1b2c3d4e5f\"") != NULL);
    CHECK_INT(plug_http_hello(&plug, h.query, strlen(h.query), out, 16), 500); /* no room: no half answer */
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
    reboot_plug(POWER_ON_OFF);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    go_online();
    CHECK_STR(fake.conn_user, "plug-0a1b2c3d4e5f");
}

static void storage_failure_on_claim(void)
{
    boot_vector_plug(POWER_ON_OFF);
    fake.store_fail = true;
    open_vector_session(&plug.pair, fake.now_ms);
    const char *body = vec_str("claim.body");
    char out[128];
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 500);
    CHECK_STR(out, "{\"error\":\"storage\"}");
    CHECK_INT(plug.state, PLUG_UNCLAIMED);
    fake.store_fail = false;
    reboot_plug(POWER_ON_OFF);
    CHECK_INT(plug.state, PLUG_UNCLAIMED); /* "claimed" is written last */
}

static void pairs_through_hello_and_claim(void)
{
    /* The real flow, a random session: hello, then a claim from the hub side on libsodium. */
    plug_config c = plug_test_config(POWER_ON_OFF);
    CHECK(plug_init(&plug, &c));
    char out[512], plain[512], body[2048];
    hub_session h;
    hub_start(&h, "12345678", plug.id);
    CHECK_INT(plug_http_hello(&plug, h.query, strlen(h.query), out, sizeof out), 200);
    CHECK(hub_finish(&h, out));
    hub_claim_plaintext(plain, sizeof plain, plug.id, "s3cret", 41);
    hub_claim_body(&h, plain, body, sizeof body);
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 200);
    CHECK(plug.claimed && plug.last_counter == 41);
    plug_tick(&plug);
    CHECK_STR(fake.conn_host, "10.0.0.2");
    CHECK_STR(fake.conn_pass, "s3cret");
}

static void hello_at(uint64_t now, int want)
{
    char out[512], q[128];
    snprintf(q, sizeof q, "pv=2&sid=%s&share=%s", vec_str("pairing.pake.sidUrl"),
             vec_str("pairing.pake.hubShareUrl"));
    fake.now_ms = now;
    CHECK_INT(plug_http_hello(&plug, q, strlen(q), out, sizeof out), want);
}

/* Defence in depth (the PAKE already gives a listener nothing to test codes with): the plug opens
 * sessions only in a window opened at the plug (power-on, a button press, a factory reset). */
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
    plug_config c = plug_test_config(POWER_ON_OFF);
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

const test_case plug_pairing_tests[] = {
    {"plug: hello answered only in the pairing window (power-on, button, reset)", hello_only_in_the_pairing_window},
    {"plug: hello rate-limited per minute", hello_is_rate_limited_in_the_plug},
    {"plug: a short power-on window; a button press still opens 10 minutes", button_window_is_always_ten_minutes},
    {"plug: factory reset erases the Wi-Fi credentials too", factory_reset_forgets_wifi},
    {"plug: pairs through hello and a libsodium-sealed claim", pairs_through_hello_and_claim},
    {"plug: first boot makes a key pair and stays unclaimed", first_boot_is_unclaimed},
    {"plug: hello through the plug", hello_over_core},
    {"plug: claim, then connect with the credentials, online/subscribe/state", claim_connects_with_credentials},
    {"plug: claimed state survives a reboot", claimed_state_survives_reboot},
    {"plug: storage failure during claim leaves it unclaimed", storage_failure_on_claim},
    {NULL, NULL},
};
