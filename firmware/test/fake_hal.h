/* fake_hal.h: hal.h for host tests. Time, GPIO, pulse counters, storage and MQTT are plain
 * variables the tests set and inspect; crypto is the real libsodium (port/posix). Storage lives
 * in memory and survives fake_reset_board(), which is how tests simulate a reboot. */
#ifndef HEARTH_FAKE_HAL_H
#define HEARTH_FAKE_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal.h"

#define FAKE_MAX_PUB 64

typedef struct {
    char topic[64];
    char payload[256];
    int qos;
    bool retain;
    int store_writes_before; /* storage writes made before this publish */
} fake_pub;

typedef struct {
    uint64_t now_ms;
    int64_t unix_ms;
    bool relay, led, button;
    hal_cf1_mode cf1_mode;
    uint32_t pulses[2];
    bool connect_ok;
    int connects, disconnects;
    char conn_host[128], conn_user[48], conn_pass[128], conn_client[48], conn_will[64];
    uint16_t conn_port, conn_keepalive;
    bool conn_tls;            /* the last connect asked for TLS with a PSK */
    uint8_t conn_psk[32];
    char conn_psk_identity[64];
    bool conn_clean;
    fake_pub pubs[FAKE_MAX_PUB];
    int npubs;
    char subs[4][64];
    int nsubs;
    int discovery_changes;
    bool last_discovery_claimed;
    char last_note[256];
    int notes;
    int store_writes;
    bool store_fail;
    /* Wi-Fi credentials as the port keeps them (outside the core's storage) */
    char wifi_ssid[33];
    int wifi_forgets;
    /* received MQTT messages reach the core in fragments of this many bytes, as esp-mqtt
     * delivers anything larger than its buffer (fake_deliver); 0: whole */
    size_t mqtt_fragment;
    /* firmware update: the inactive slot lives in fake_slot (flash: it survives a reboot) */
    uint32_t ota_slot_size; /* what hal_ota_slot_size() answers (default FAKE_SLOT) */
    int ota_begins, ota_aborts, restarts;
    uint32_t ota_resume_at;
    char ota_activated[24];
} fake_board;

#define FAKE_SLOT 65536
extern uint8_t fake_slot[FAKE_SLOT];

extern fake_board fake;

/* Clears the board (not the storage): a reboot. */
void fake_reset_board(void);
/* Clears storage too: a new plug. */
void fake_reset_all(void);
/* The last publish on a topic ending in leaf, or NULL. */
const fake_pub *fake_last_pub(const char *leaf);
int fake_count_pubs(const char *leaf);
bool fake_store_has(const char *key);
int fake_store_get_str(const char *key, char *out, size_t cap);
void fake_store_put(const char *key, const void *data, size_t len);
/* Delivers a received MQTT message to the plug the way esp-mqtt does: in fragments of
 * fake.mqtt_fragment bytes through plug_mqtt_fragment() (the topic on the first only). */
void fake_deliver(void *plug, const char *topic, const char *payload, size_t len);

#endif
