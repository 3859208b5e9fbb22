/* The plug as a whole on the fake board. The MQTT connection: back-off with jitter, timeouts, a
 * clean shutdown. */
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

const test_case plug_connection_tests[] = {
    {"plug: shutdown publishes retained offline, disconnects, saves energy", shutdown_says_offline},
    {"plug: back-off with jitter, doubling to 60 s, reset on success", backoff_with_jitter},
    {"plug: connect timeout and lost connection keep the relay", connect_timeout_and_lost_connection},
    {NULL, NULL},
};
