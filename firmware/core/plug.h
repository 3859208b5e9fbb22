/*
 * plug.h: the plug itself. Owns the connection state machine, the relay, metering, telemetry
 * and the glue between MQTT messages, pairing requests and storage.
 *
 *   UNCLAIMED --claim ok--> CLAIMED --backoff elapsed--> CONNECTING --CONNACK--> ONLINE
 *       ^                     ^  ^                           |                   |
 *       |                     |  +------ failure/timeout ----+                   |
 *       |                     +---------------- connection lost -----------------+
 *       +---- factory reset (button held 10 s) from any state
 *
 * Offline (any state but ONLINE) the relay keeps its state and the button still works: the
 * hub is a convenience, not a dependency for switching a lamp.
 *
 * The port calls plug_tick() often (every 10-50 ms) and forwards network events.
 */
#ifndef HEARTH_PLUG_H
#define HEARTH_PLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "cmd.h"
#include "meter.h"
#include "mqtt_rx.h"
#include "ota.h"
#include "pair.h"

#define PLUG_ID_MAX 32
#define PLUG_BACKOFF_MIN_MS 1000u
#define PLUG_BACKOFF_MAX_MS 60000u
#define PLUG_CONNECT_TIMEOUT_MS 15000u
#define PLUG_METER_WINDOW_MS 1000u
#define PLUG_DEBOUNCE_MS 50u
#define PLUG_RESET_HOLD_MS 10000u
/* An unclaimed plug answers /pair/hello only while its pairing window is open: for this long
 * after power-on or a factory reset, and after a button press (docs/plug-protocol.md). */
#define PLUG_PAIR_WINDOW_MS (10u * 60u * 1000u)

typedef enum { PLUG_UNCLAIMED, PLUG_CLAIMED, PLUG_CONNECTING, PLUG_ONLINE } plug_state;
typedef enum { POWER_ON_OFF, POWER_ON_ON, POWER_ON_RESTORE } plug_power_on;

typedef struct {
    const char *id; /* plug-<12 hex>; [a-z0-9-] only, it goes into MQTT topics */
    const char *model;
    const char *fw;
    const char *setup_code;
    plug_power_on power_on;
    meter_cal cal;
    double overcurrent_a; /* relay off above this RMS current; 0 disables */
    uint32_t telemetry_ms;
    uint16_t keepalive_s;
    const uint8_t *fw_pk; /* the firmware-signing public key (32 bytes), compiled in; NULL: no OTA */
    uint32_t pair_window_ms; /* the window after power-on / reset; 0: PLUG_PAIR_WINDOW_MS (a
                              * button press always opens PLUG_PAIR_WINDOW_MS) */
} plug_config;

typedef enum { PLUG_OTA_IDLE, PLUG_OTA_DOWNLOADING, PLUG_OTA_DONE } plug_ota_state;

typedef struct {
    plug_config cfg;
    char id[PLUG_ID_MAX + 1];
    pair_identity ident;
    pair_state pair;
    pair_creds creds;
    bool claimed;
    plug_state state;
    uint32_t backoff_ms;
    uint64_t next_attempt_ms;
    uint64_t connect_started_ms;
    bool relay;
    uint64_t last_counter;
    meter_t meter;
    uint64_t window_start_ms;
    uint64_t last_telemetry_ms;
    bool btn_stable, btn_raw;
    uint64_t btn_changed_ms, btn_down_ms;
    bool btn_reset_done;
    char topic_status[PLUG_ID_MAX + 16], topic_cmd[PLUG_ID_MAX + 16];
    char topic_state[PLUG_ID_MAX + 16], topic_telemetry[PLUG_ID_MAX + 16];
    char topic_event[PLUG_ID_MAX + 16];
    char topic_timereq[PLUG_ID_MAX + 16], topic_time[PLUG_ID_MAX + 16];
    plug_clock clock;
    /* firmware update (plug_ota.c) */
    char topic_ota[PLUG_ID_MAX + 16], topic_ota_req[PLUG_ID_MAX + 16];
    plug_ota_state ota_state;
    ota_manifest ota;
    uint32_t ota_offset;      /* bytes written to the slot and stored as such */
    uint64_t ota_req_ms;      /* when the pending chunk request left */
    uint8_t ota_retries;
    char ota_error[16];       /* the last failure's code, reported once on the next connection */
    mqtt_rx rx;               /* the MQTT message being reassembled from fragments */
    uint8_t psk[32];          /* the TLS PSK of the password dialled, made at each connect */
    /* A new MQTT password from the hub's signed "mqpass" command, stored but not yet confirmed
     * by a connection ("" when none; docs/plug-protocol.md "Changing a plug's password"). */
    char pass_next[CMD_SECRET_MAX + 1];
    bool conn_next;           /* the connection being made (or up) uses pass_next */
    bool next_failed;         /* the last attempt with pass_next failed: try the old one next */
    char psk_identity[PLUG_ID_MAX + 8];
} plug_t;

/* Loads (or on first boot creates) the identity, loads credentials, counter and energy, sets
 * the relay per the power-on mode. False if the config is unusable (bad id, no storage). */
bool plug_init(plug_t *p, const plug_config *cfg);
void plug_tick(plug_t *p);

void plug_mqtt_connected(plug_t *p);
void plug_mqtt_disconnected(plug_t *p);
void plug_mqtt_message(plug_t *p, const char *topic, const char *payload, size_t len);
/* What every port calls for received data: one fragment of a message (mqtt_rx.h). A client
 * that delivers whole messages passes offset 0 and total = len. Complete messages go on to
 * plug_mqtt_message(). */
void plug_mqtt_fragment(plug_t *p, const char *topic, size_t topic_len, const char *data,
                        size_t len, size_t offset, size_t total);

/* Pairing HTTP endpoints: return the status, write the JSON body into out. */
/* query: what follows '?' in the request target (NULL if none). */
int plug_http_hello(plug_t *p, const char *query, size_t query_len, char *out, size_t cap);
int plug_http_claim(plug_t *p, const char *body, size_t len, char *out, size_t cap);

void plug_set_relay(plug_t *p, bool on, const char *source);
/* A short press of the button: toggles the relay and, on an unclaimed plug, (re)opens the
 * pairing window. The simulator calls it on SIGUSR1. */
void plug_button_pressed(plug_t *p);
/* Forgets the hub, the pairing key and the Wi-Fi credentials; keeps the relay state and the
 * lifetime energy counter; opens the pairing window. */
void plug_factory_reset(plug_t *p);
/* Orderly stop: publish retained offline (a clean DISCONNECT discards the will), then
 * disconnect. */
void plug_shutdown(plug_t *p);
const char *plug_state_name(plug_state s);
/* plug_ota.c: firmware update. */
void plug_ota_init(plug_t *p);
void plug_ota_begin(plug_t *p, const char *v, size_t len);
void plug_ota_chunk(plug_t *p, const uint8_t *data, size_t len);
void plug_ota_connected(plug_t *p);
void plug_ota_tick(plug_t *p, uint64_t now);
/* panel.c: button and LED, called by plug_tick(). */
void plug_panel_tick(plug_t *p, uint64_t now);

#endif
