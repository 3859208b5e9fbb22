/* The plug as a whole on the fake board. Time from the hub: a plug without SNTP takes the hub's
 * signed time. */
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
    send_switch(8, hub_now, "true");
    CHECK(!fake.relay);
    CHECK_STR(fake_last_pub("/event")->payload,
              "{\"type\":\"cmd_rejected\",\"reason\":\"stale\",\"counter\":8}");
    char nonce[40];
    last_time_nonce(nonce, sizeof nonce);
    fake.now_ms += 40; /* round trip: the hub read its clock 20 ms after the request */
    answer_time(nonce, (uint64_t)hub_now + 20, hub_sk);
    CHECK_STR(fake.last_note, "{\"event\":\"time\",\"result\":\"ok\"}");
    send_switch(9, hub_now + 20, "true");
    CHECK(fake.relay);
    /* The clock runs on: 20 s later a command stamped 20 s later is fresh, one from then is
     * 20 s old (still inside 30 s), one stamped 31 s before is stale. */
    run_ms(20000);
    send_switch(10, hub_now + 20040, "false");
    CHECK(!fake.relay);
    send_switch(11, hub_now + 20040 - 31000, "true");
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
    send_switch(8, 0, "true"); /* stale: asks again (5 s since the last request) */
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
    send_switch(8, hub_now, "true");
    CHECK(fake.relay);
    send_switch(9, fake.unix_ms, "false");
    CHECK(fake.relay);
    /* Requests are rate-limited: stale commands do not flood the hub. */
    int requests = fake_count_pubs("/timereq");
    for (uint64_t c = 10; c < 20; c++) send_switch(c, 1, "false");
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

const test_case plug_time_tests[] = {
    {"plug: without a clock, takes the hub's signed time and then obeys", no_clock_takes_time_from_hub},
    {"plug: time answers need the open nonce, the hub's key, and come once, in time", time_answers_need_the_open_nonce_and_the_hub_key},
    {"plug: the hub's time wins over SNTP, is re-read hourly and on reconnect, rate-limited", hub_time_wins_and_is_refreshed},
    {"plug: the hub's time answer from the shared vectors verifies; a changed time does not", time_vector_from_the_hub},
    {NULL, NULL},
};
