/* MQTT over TLS (docs/plug-protocol.md, "MQTT over TLS"): the PSK derivation against the shared
 * vectors, and a claim from a hub with TLS making the plug dial the TLS port with that PSK. */
#include <stdio.h>

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

const test_case plug_tls_tests[] = {
    {"tls: the PSK of the shared vectors (HKDF-SHA256 of the password's SHA-256)", psk_matches_the_vector},
    {"tls: a claim with tlsPort connects there with the PSK, also after a reboot", claim_with_tls_port_connects_over_tls},
    {"tls: a claim without tlsPort stays on cleartext MQTT", claim_without_tls_port_stays_cleartext},
    {NULL, NULL},
};
