/* The plug as a whole on the fake board. Metering and the relay: power-on modes, telemetry,
 * over-current, energy, the button. */
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

static void power_on_modes(void)
{
    online_plug();
    send_switch(8, fake.unix_ms, "true");
    reboot_plug(POWER_ON_OFF);
    CHECK(!fake.relay);
    reboot_plug(POWER_ON_RESTORE);
    CHECK(fake.relay);
    reboot_plug(POWER_ON_ON);
    CHECK(fake.relay);
    go_online();
    send_switch(20, fake.unix_ms, "false");
    reboot_plug(POWER_ON_RESTORE);
    CHECK(!fake.relay);
    reboot_plug(POWER_ON_ON);
    CHECK(fake.relay);
}

static void telemetry_from_pulses(void)
{
    online_plug();
    send_switch(8, fake.unix_ms, "true");
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
    send_switch(8, fake.unix_ms, "true");
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
    send_switch(8, fake.unix_ms, "true");
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
    send_switch(9, fake.unix_ms, "false");
    fake_store_get_str("energy_mwh", e, sizeof e);
    CHECK_NEAR(atof(e) / 1000.0, plug.meter.energy_wh, 0.001);
    CHECK_NEAR(plug.meter.energy_wh, 1000.0 * 300 / 3600, 0.5);
    double before = plug.meter.energy_wh;
    reboot_plug(POWER_ON_OFF);
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

const test_case plug_meter_tests[] = {
    {"plug: power-on off / on / restore", power_on_modes},
    {"plug: telemetry from a 100 W pulse train", telemetry_from_pulses},
    {"plug: over-current cuts the relay and reports", overcurrent_cuts_off},
    {"plug: energy saved sparingly, on relay change, restored at boot", energy_is_saved_and_restored},
    {"plug: button debounce, toggle offline, 10 s factory reset", button_toggles_and_resets},
    {NULL, NULL},
};
