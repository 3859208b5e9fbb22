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

static void claim(const char *body)
{
    CHECK(vec_b64("pairing.plugNonce", plug.pair.plug_nonce, 32));
    plug.pair.nonce_valid = true;
    plug.pair.nonce_at_ms = fake.now_ms;
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

/* The hub's signed "mqtts" command (cap "mqtts", v the TLS port). */
static void send_mqtts(uint64_t c, const char *port)
{
    char msg[200], sig64[100], payload[400];
    uint8_t sig[64];
    size_t len = cmd_signed_message(msg, sizeof msg, plug.id, c, (uint64_t)fake.unix_ms, "mqtts", port,
                                    strlen(port));
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, len, hub_sk);
    b64_encode(sig64, sizeof sig64, sig, 64);
    snprintf(payload, sizeof payload, "{\"c\":%llu,\"t\":%lld,\"cap\":\"mqtts\",\"v\":%s,\"sig\":\"%s\"}",
             (unsigned long long)c, (long long)fake.unix_ms, port, sig64);
    fake_deliver(&plug, "hearth/plug-0a1b2c3d4e5f/cmd", payload, strlen(payload));
}

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

const test_case plug_tls_tests[] = {
    {"tls: a signed mqtts command moves a cleartext plug to TLS with its PSK, kept across reboots", signed_command_moves_a_cleartext_plug},
    {"tls: an mqtts command with a bad port or a forged signature changes nothing", unsigned_or_bad_mqtts_is_refused},
    {"tls: the PSK of the shared vectors (HKDF-SHA256 of the password's SHA-256)", psk_matches_the_vector},
    {"tls: a claim with tlsPort connects there with the PSK, also after a reboot", claim_with_tls_port_connects_over_tls},
    {"tls: a claim without tlsPort stays on cleartext MQTT", claim_without_tls_port_stays_cleartext},
    {NULL, NULL},
};
