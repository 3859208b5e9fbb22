/*
 * hal.h: everything the portable core needs from the hardware or the host, and nothing more.
 *
 * The core (firmware/core/) includes only this header and the C99 freestanding-friendly headers
 * <stdint.h>, <stddef.h>, <stdbool.h>, <string.h>. Each port (port/posix: the simulator;
 * test/fake_hal.c: the host tests; port/esp-idf: the real plug) implements every function
 * below. The core is not thread-safe: a port enters it from one task at a time (the simulator
 * has one thread; the ESP32 holds a mutex), and no HAL function may call back into the core.
 */
#ifndef HEARTH_HAL_H
#define HEARTH_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- time ---- */

/* Milliseconds since boot, monotonic, never wraps in practice (64 bits). */
uint64_t hal_millis(void);

/* Wall clock in Unix milliseconds, or <= 0 while not known (no SNTP yet). Commands carry the
 * hub's time and are refused as stale while the plug has no clock. */
int64_t hal_unix_ms(void);

/* ---- GPIO ---- */

void hal_relay_write(bool on);
void hal_led_write(bool on);
/* True while the button is held down (already inverted for active-low wiring). */
bool hal_button_read(void);

/* ---- metering: BL0937 / HLW8012 pulse outputs ---- */

typedef enum { HAL_PIN_CF = 0, HAL_PIN_CF1 = 1 } hal_meter_pin;
typedef enum { HAL_CF1_CURRENT = 0, HAL_CF1_VOLTAGE = 1 } hal_cf1_mode;

/* Drive the SEL pin so CF1 outputs current or voltage. The port knows the chip's polarity
 * (BL0937: SEL low = current; HLW8012: SEL high = current). */
void hal_meter_select(hal_cf1_mode mode);
/* Rising edges counted on the pin since the previous call for that pin. */
uint32_t hal_meter_take(hal_meter_pin pin);

/* ---- persistent key-value storage (NVS on the ESP32, files on the simulator) ----
 * Keys are at most 15 characters (the NVS limit). A set must be atomic: after a power cut the
 * key holds either the old or the new value, never a mix. */

/* Copies the value into buf; returns its length, -1 if the key is missing, -2 if it does not
 * fit in cap bytes. */
int hal_store_get(const char *key, void *buf, size_t cap);
bool hal_store_set(const char *key, const void *data, size_t len);
bool hal_store_erase_all(void);

/* Erases the stored Wi-Fi credentials (a factory reset: a plug that is given away must not
 * give out the home's network). The ESP32 erases them and restarts into provisioning once the
 * core's reset is done; the simulator has none to erase and only says so. */
void hal_wifi_forget(void);

/* ---- crypto (libsodium on every port; the core has no crypto primitives of its own) ---- */

bool hal_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t msg_len,
                        const uint8_t pk[32]);
bool hal_box_keypair(uint8_t pk[32], uint8_t sk[32]);
/* NaCl crypto_box_open_easy: box is MAC (16 bytes) then ciphertext; out gets box_len - 16
 * bytes. False if box_len < 16 or the MAC does not verify. */
bool hal_box_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                  const uint8_t sender_pk[32], const uint8_t my_sk[32]);
void hal_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const uint8_t *msg,
                     size_t msg_len);
void hal_random(void *buf, size_t len);
void hal_sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len);
/* NaCl crypto_secretbox_open_easy (XSalsa20-Poly1305): box is MAC (16 bytes) then ciphertext;
 * out gets box_len - 16 bytes. False if box_len < 16 or the MAC does not verify. */
bool hal_secretbox_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                        const uint8_t key[32]);
/* Zeroes secrets in a way the compiler does not drop (sodium_memzero). */
void hal_wipe(void *p, size_t len);

/* ristretto255 (RFC 9496), the pairing PAKE's group (core/pake.c). libsodium >= 1.0.18:
 * crypto_core_ristretto255_from_hash, _scalar_random, crypto_scalarmult_ristretto255. */
/* The element derived from 64 uniform bytes (RFC 9496 section 4.3.4). */
void hal_ristretto255_from_hash(uint8_t p[32], const uint8_t h[64]);
/* A uniformly random scalar in [1, L), 32 bytes little-endian. */
void hal_ristretto255_scalar_random(uint8_t s[32]);
/* q = n * p. False if p is not a canonical encoding of a point, or q is the identity. */
bool hal_ristretto255_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32]);

/* ---- firmware update: the inactive OTA slot (docs/plug-protocol.md, "Firmware update") ----
 * The ESP32 has two app slots; the running one is never touched. The simulator keeps the
 * inactive slot as a file in its state directory. Offsets are written in order, each chunk
 * starting where the previous one ended. */

/* Bytes the inactive slot holds, 0 if this port cannot update itself. */
uint32_t hal_ota_slot_size(void);
/* Prepares the slot for an image of `size` bytes. resume_at 0 starts over (erases what was
 * there); otherwise the first resume_at bytes, written before a reboot, are kept. */
bool hal_ota_begin(uint32_t size, uint32_t resume_at);
bool hal_ota_write(uint32_t offset, const uint8_t *data, size_t len);
/* Reads back what was written (the core hashes the slot, not what it was sent). */
bool hal_ota_read(uint32_t offset, uint8_t *buf, size_t len);
/* The image is verified: boot from it next time. `version` is the manifest's. */
bool hal_ota_activate(const char *version);
/* Forget a transfer (refused image, another one starting). */
void hal_ota_abort(void);
/* Restart now (ESP32: esp_restart; the simulator re-executes itself after this loop pass). */
void hal_restart(void);

/* ---- network ---- */

typedef struct {
    const char *host;
    uint16_t port;
    const char *client_id;
    const char *username;
    const char *password;
    uint16_t keepalive_s;
    bool clean_session;
    const char *will_topic; /* QoS 1, retained */
    const char *will_payload;
    /* Non-NULL: TLS with this 32-byte external PSK and nothing else: the port must offer only
     * the PSK and refuse any certificate the server sends instead (docs/plug-protocol.md,
     * "MQTT over TLS"). NULL: cleartext MQTT. */
    const uint8_t *psk;
    /* The PSK's identity: the username, or username + "/next" while a new password is being
     * confirmed ("Changing a plug's password"). At most 47 characters. */
    const char *psk_identity;
} hal_mqtt_params;

/* Starts a connection; the port later calls plug_mqtt_connected() or plug_mqtt_disconnected().
 * Returns false if it could not even start (the core then backs off). */
bool hal_mqtt_connect(const hal_mqtt_params *p);
void hal_mqtt_disconnect(void);
bool hal_mqtt_publish(const char *topic, const char *payload, size_t len, int qos, bool retain);
bool hal_mqtt_subscribe(const char *topic, int qos);

/* The TXT record's claimed flag changed: re-announce the mDNS service (RFC 6762 section 8.4). */
void hal_discovery_changed(bool claimed);

/* One compact JSON object describing a notable event (claimed, connected, command accepted or
 * rejected...). The simulator prints it as a line; the ESP32 logs it. */
void hal_notify(const char *json);

#endif
