/* The plug as a whole on the fake board. Signed commands: obeyed and confirmed, or refused and
 * reported; the counter survives. */
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

static void accepted_command_switches_and_confirms(void)
{
    online_plug();
    fake.npubs = 0;
    send_switch(8, fake.unix_ms, "true");
    CHECK(fake.relay);
    const fake_pub *s = fake_last_pub("/state");
    CHECK(s && strcmp(s->payload, "{\"switch\":true}") == 0 && s->qos == 1);
    /* Unchanged value: still confirmed with a state message. */
    send_switch(9, fake.unix_ms, "true");
    CHECK_INT(fake_count_pubs("/state"), 2);
    CHECK_INT(fake_count_pubs("/event"), 0);
    char ctr[24];
    fake_store_get_str("ctr", ctr, sizeof ctr);
    CHECK_STR(ctr, "9");
    send_switch(10, fake.unix_ms, "false");
    CHECK(!fake.relay);
    CHECK_STR(fake_last_pub("/state")->payload, "{\"switch\":false}");
}

static void rejected_commands_are_reported_not_obeyed(void)
{
    online_plug();
    send_switch(8, fake.unix_ms, "true");
    fake.npubs = 0;
    /* Replay of an accepted counter. */
    send_switch(8, fake.unix_ms, "false");
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
    send_switch(20, fake.unix_ms - 31000, "false");
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
    send_switch(50, fake.unix_ms, "true");
    reboot_plug(POWER_ON_OFF);
    go_online();
    fake.npubs = 0;
    send_switch(50, fake.unix_ms, "false"); /* the same counter after the reboot */
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"replay\",\"counter\":50}");
    CHECK(!fake.relay); /* power-on off, and the replay did not switch it on or off */
    send_switch(51, fake.unix_ms, "true");
    CHECK(fake.relay);
}

static void confirms_after_counter_before_relay_and_energy(void)
{
    online_plug();
    int before = fake.store_writes;
    send_switch(8, fake.unix_ms, "true");
    const fake_pub *s = fake_last_pub("/state");
    CHECK(s != NULL);
    /* Exactly one write (the counter) before the confirmation; relay and energy after. */
    CHECK_INT(s->store_writes_before, before + 1);
    CHECK_INT(fake.store_writes, before + 3);
}

const test_case plug_commands_tests[] = {
    {"plug: a command is confirmed after its counter is stored, before relay and energy", confirms_after_counter_before_relay_and_energy},
    {"plug: accepted command switches and confirms with state", accepted_command_switches_and_confirms},
    {"plug: forged, replayed, stale, malformed commands reported, relay unchanged", rejected_commands_are_reported_not_obeyed},
    {"plug: counter persists across a reboot", counter_persists_across_reboot},
    {NULL, NULL},
};
