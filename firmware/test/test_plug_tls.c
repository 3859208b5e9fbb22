/* MQTT over TLS (docs/plug-protocol.md, "MQTT over TLS"): the PSK derivation against the shared
 * vectors, and a claim from a hub with TLS making the plug dial the TLS port with that PSK. */
#include <sodium.h>
#include <stdio.h>

#include "b64.h"
#include "cmd.h"

#include "fake_hal.h"
#include "mqtt_psk.h"
#include "plug.h"
#include "plug_fixture.h"
#include "tests.h"
#include "vectors.h"
#include "hub_side.h"

static void hex_of(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static void psk_matches_the_vector(void)
{
    uint8_t psk[MQTT_PSK_BYTES];
    char hex[2 * MQTT_PSK_BYTES + 1];
    const char *pw = vec_str("mqttPsk.password");
    mqtt_psk_derive(psk, pw, strlen(pw));
    hex_of(hex, psk, sizeof psk);
    CHECK_STR(hex, vec_str("mqttPsk.psk"));
    CHECK_STR(MQTT_PSK_INFO, vec_str("mqttPsk.info"));
    /* One byte more is another key. */
    char longer[200];
    snprintf(longer, sizeof longer, "%sx", pw);
    mqtt_psk_derive(psk, longer, strlen(longer));
    hex_of(hex, psk, sizeof psk);
    CHECK(strcmp(hex, vec_str("mqttPsk.psk")) != 0);
}

static void claim(const char *vector_body)
{
    static char body[4096];
    snprintf(body, sizeof body, "%s", vector_body); /* vec_str's buffers are reused below */
    open_vector_session(&plug.pair, fake.now_ms);
    char out[128];
    CHECK_INT(plug_http_claim(&plug, body, strlen(body), out, sizeof out), 200);
}

static void check_tls_connect(void)
{
    char hex[2 * MQTT_PSK_BYTES + 1];
    CHECK_INT(fake.conn_port, 8883);
    CHECK(fake.conn_tls);
    hex_of(hex, fake.conn_psk, sizeof fake.conn_psk);
    CHECK_STR(hex, vec_str("mqttPsk.psk"));
    CHECK_STR(fake.conn_user, vec_str("mqttPsk.identity"));
}

static void claim_with_tls_port_connects_over_tls(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim(vec_str("mqttPsk.claimBody"));
    go_online();
    check_tls_connect();
    /* Stored: after a reboot it dials TLS again, never the cleartext port. */
    reboot_plug(POWER_ON_OFF);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    go_online();
    check_tls_connect();
}

static void claim_without_tls_port_stays_cleartext(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim(vec_str("claim.body"));
    go_online();
    CHECK_INT(fake.conn_port, 1883);
    CHECK(!fake.conn_tls);
    reboot_plug(POWER_ON_OFF);
    go_online();
    CHECK(!fake.conn_tls);
}

/* A command signed by the vectors' hub key with `v` as raw JSON. */
static void send_cap(uint64_t c, const char *cap, const char *v)
{
    char msg[300], sig64[100], payload[500];
    uint8_t sig[64];
    size_t len = cmd_signed_message(msg, sizeof msg, plug.id, c, (uint64_t)fake.unix_ms, cap, v, strlen(v));
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(payload, sizeof payload, "{\"c\":%llu,\"t\":%lld,\"cap\":\"%s\",\"v\":%s,\"sig\":\"%s\"}",
             (unsigned long long)c, (long long)fake.unix_ms, cap, v, sig64);
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/cmd", payload, strlen(payload));
}

/* The hub's signed "mqtts" command (cap "mqtts", v the TLS port). */
static void send_mqtts(uint64_t c, const char *port) { send_cap(c, "mqtts", port); }

static void signed_command_moves_a_cleartext_plug(void)
{
    online_plug(); /* paired without TLS */
    CHECK(!fake.conn_tls);
    int disconnects = fake.disconnects, connects = fake.connects;
    char pass[128];
    snprintf(pass, sizeof pass, "%s", plug.creds.password);
    send_mqtts(8, "8883");
    CHECK_INT(fake.disconnects, disconnects + 1);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    char s[32];
    fake_store_get_str("mq_tls_port", s, sizeof s);
    CHECK_STR(s, "8883");
    CHECK_STR(fake.last_note, "{\"event\":\"moved_to_tls\"}");
    plug_tick(&plug);
    CHECK_INT(fake.connects, connects + 1);
    CHECK(fake.conn_tls);
    CHECK_INT(fake.conn_port, 8883);
    uint8_t want[MQTT_PSK_BYTES];
    mqtt_psk_derive(want, pass, strlen(pass));
    CHECK(memcmp(fake.conn_psk, want, sizeof want) == 0);
    plug_mqtt_connected(&plug);
    /* Stays moved across a reboot; the same command again changes nothing. */
    reboot_plug(POWER_ON_OFF);
    go_online();
    CHECK(fake.conn_tls);
    disconnects = fake.disconnects;
    send_mqtts(9, "8883");
    CHECK_INT(fake.disconnects, disconnects);
    CHECK_INT(plug.state, PLUG_ONLINE);
}

static void unsigned_or_bad_mqtts_is_refused(void)
{
    online_plug();
    int disconnects = fake.disconnects;
    send_mqtts(8, "0");
    send_mqtts(9, "65536");
    send_mqtts(10, "\"8883\"");
    CHECK_INT(fake.disconnects, disconnects);
    CHECK(!fake_store_has("mq_tls_port") || plug.creds.tls_port == 0);
    /* A forged one (signed by someone else) is refused before anything is stored. */
    uint8_t other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    memcpy(hub_sk, other_sk, sizeof other_sk);
    send_mqtts(11, "8883");
    CHECK_INT(fake.disconnects, disconnects);
    CHECK_INT(plug.creds.tls_port, 0);
    CHECK_INT(plug.state, PLUG_ONLINE);
}

/* ---- changing the MQTT password after the move (docs/plug-protocol.md "Changing a plug's password") ---- */

#define NEW_PASS "N3w-pAssw0rd_from-the-hub-0123456789abcdefg"
#define OTHER_PASS "an0ther-pAssw0rd_from-the-hub-0123456789abcd"

static void check_dials(const char *password, bool next)
{
    char hex[2 * MQTT_PSK_BYTES + 1], want_hex[2 * MQTT_PSK_BYTES + 1], id[64];
    uint8_t want[MQTT_PSK_BYTES];
    CHECK(fake.conn_tls);
    CHECK_STR(fake.conn_pass, password);
    mqtt_psk_derive(want, password, strlen(password));
    hex_of(hex, fake.conn_psk, sizeof fake.conn_psk);
    hex_of(want_hex, want, sizeof want);
    CHECK_STR(hex, want_hex);
    snprintf(id, sizeof id, "%s%s", vec_str("mqttPsk.identity"), next ? "/next" : "");
    CHECK_STR(fake.conn_psk_identity, id);
}

static void stored(const char *key, const char *want)
{
    char s[160] = "";
    fake_store_get_str(key, s, sizeof s);
    CHECK_STR(s, want);
}

/* A plug paired by a hub with TLS, online with the password of the vectors (copied: vec_str's
 * buffer is reused). */
static char vector_password[128];
static const char *tls_plug_online(void)
{
    boot_vector_plug(POWER_ON_OFF);
    claim(vec_str("mqttPsk.claimBody"));
    snprintf(vector_password, sizeof vector_password, "%s", vec_str("mqttPsk.password"));
    go_online();
    check_dials(vector_password, false);
    return vector_password;
}

static void mqpass_changes_the_password_once_a_connection_confirms_it(void)
{
    const char *old = tls_plug_online();
    int disconnects = fake.disconnects;
    send_cap(8, "mqpass", "\"" NEW_PASS "\"");
    /* Stored beside the old one, which stays until the new one has connected. */
    stored("mq_next_pass", NEW_PASS);
    stored("mq_pass", old);
    CHECK_INT(fake.disconnects, disconnects + 1);
    CHECK_INT(plug.state, PLUG_CLAIMED);
    CHECK(strstr(fake.last_note, "password_change") != NULL);
    plug_tick(&plug);
    check_dials(NEW_PASS, true);
    plug_mqtt_connected(&plug);
    stored("mq_pass", NEW_PASS);
    stored("mq_next_pass", "");
    /* Kept across a reboot, under the plain identity. */
    reboot_plug(POWER_ON_OFF);
    go_online();
    check_dials(NEW_PASS, false);
}

/* Ticks until the plug starts its next attempt (after its back-off). */
static void until_connecting(void)
{
    for (int i = 0; i < 20000 && plug.state != PLUG_CONNECTING; i++) run_ms(10);
    CHECK_INT(plug.state, PLUG_CONNECTING);
}

static void a_power_cut_after_storing_the_new_password_recovers(void)
{
    const char *old = tls_plug_online();
    send_cap(8, "mqpass", "\"" NEW_PASS "\"");
    /* Power cut before the plug reconnected (the hub holds both): the new one first. */
    reboot_plug(POWER_ON_OFF);
    plug_tick(&plug);
    check_dials(NEW_PASS, true);
    /* That attempt fails (the hub never stored it, or gave it up): the old one next. */
    plug_mqtt_disconnected(&plug);
    until_connecting();
    check_dials(old, false);
    /* That one fails too (the hub is down): the new one again, and so on. */
    plug_mqtt_disconnected(&plug);
    until_connecting();
    check_dials(NEW_PASS, true);
    plug_mqtt_disconnected(&plug);
    until_connecting();
    check_dials(old, false);
    /* The old one is taken: the hub does not have the new one, so it is dropped. */
    plug_mqtt_connected(&plug);
    stored("mq_pass", old);
    stored("mq_next_pass", "");
    CHECK_STR(plug.pass_next, "");
    /* A power cut after the hub switched but before the plug stored it as its password: the
     * next connection with the new one settles it. */
    send_cap(9, "mqpass", "\"" OTHER_PASS "\"");
    reboot_plug(POWER_ON_OFF);
    stored("mq_pass", old);
    go_online();
    check_dials(OTHER_PASS, true);
    stored("mq_pass", OTHER_PASS);
    stored("mq_next_pass", "");
}

static void mqpass_is_refused_unless_signed_well_formed_and_over_tls(void)
{
    const char *old = tls_plug_online();
    int disconnects = fake.disconnects;
    send_cap(8, "mqpass", "\"short\"");
    send_cap(9, "mqpass", "\"" NEW_PASS "/\"");   /* outside the base64url alphabet */
    send_cap(10, "mqpass", "\"" NEW_PASS NEW_PASS "\""); /* too long */
    send_cap(11, "mqpass", "12345678901234567890123456789012345");
    CHECK_INT(fake.disconnects, disconnects);
    CHECK(!fake_store_has("mq_next_pass") || strlen(plug.pass_next) == 0);
    /* Forged: signed by another key. */
    uint8_t other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    uint8_t saved[64];
    memcpy(saved, hub_sk, sizeof saved);
    memcpy(hub_sk, other_sk, sizeof other_sk);
    send_cap(12, "mqpass", "\"" NEW_PASS "\"");
    memcpy(hub_sk, saved, sizeof saved);
    CHECK_INT(fake.disconnects, disconnects);
    CHECK_INT(plug.state, PLUG_ONLINE);
    stored("mq_pass", old);
    /* Storage failing: nothing changes, the plug stays on its password. */
    fake.store_fail = true;
    send_cap(13, "mqpass", "\"" NEW_PASS "\"");
    fake.store_fail = false;
    CHECK_INT(fake.disconnects, disconnects);
    CHECK_INT(plug.state, PLUG_ONLINE);
    CHECK_STR(plug.pass_next, "");
}

static void mqpass_on_cleartext_is_refused(void)
{
    online_plug(); /* paired without TLS */
    char before[160];
    snprintf(before, sizeof before, "%s", plug.creds.password);
    int disconnects = fake.disconnects;
    send_cap(8, "mqpass", "\"" NEW_PASS "\"");
    CHECK_INT(fake.disconnects, disconnects);
    CHECK_STR(fake.last_note, "{\"event\":\"password_change_refused\",\"reason\":\"cleartext\"}");
    CHECK_STR(plug.creds.password, before);
    CHECK_STR(plug.pass_next, "");
}

const test_case plug_tls_tests[] = {
    {"tls: mqpass stores the new password beside the old one, dials it as <id>/next, keeps it once connected", mqpass_changes_the_password_once_a_connection_confirms_it},
    {"tls: a power cut mid-change recovers: new and old alternate until one connects", a_power_cut_after_storing_the_new_password_recovers},
    {"tls: an mqpass that is malformed, forged or cannot be stored changes nothing", mqpass_is_refused_unless_signed_well_formed_and_over_tls},
    {"tls: an mqpass to a plug on cleartext is refused", mqpass_on_cleartext_is_refused},
    {"tls: a signed mqtts command moves a cleartext plug to TLS with its PSK, kept across reboots", signed_command_moves_a_cleartext_plug},
    {"tls: an mqtts command with a bad port or a forged signature changes nothing", unsigned_or_bad_mqtts_is_refused},
    {"tls: the PSK of the shared vectors (HKDF-SHA256 of the password's SHA-256)", psk_matches_the_vector},
    {"tls: a claim with tlsPort connects there with the PSK, also after a reboot", claim_with_tls_port_connects_over_tls},
    {"tls: a claim without tlsPort stays on cleartext MQTT", claim_without_tls_port_stays_cleartext},
    {NULL, NULL},
};
