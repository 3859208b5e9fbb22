/*
 * mqtt_psk.h: the TLS 1.3 external PSK a plug uses on the hub's TLS port (docs/plug-protocol.md,
 * "MQTT over TLS"): HKDF-SHA256(ikm = SHA-256(password), no salt, info "hearth mqtt psk v1"),
 * 32 bytes, identity = the MQTT username. Derived from the MQTT password the plug got sealed at
 * pairing, so a plug needs no other secret and the hub computes it from what it stores.
 */
#ifndef HEARTH_MQTT_PSK_H
#define HEARTH_MQTT_PSK_H

#include <stddef.h>
#include <stdint.h>

#define MQTT_PSK_BYTES 32
#define MQTT_PSK_INFO "hearth mqtt psk v1"

void mqtt_psk_derive(uint8_t out[MQTT_PSK_BYTES], const char *password, size_t len);

#endif
