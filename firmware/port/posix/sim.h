/* sim.h: what the simulator's parts share: its options, the one plug, and event output. */
#ifndef HEARTH_SIM_H
#define HEARTH_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <poll.h>

#include "plug.h"

#define SIM_MQTT_BUFFER_MAX 8192

typedef struct {
    const char *id;
    const char *setup_code;
    const char *state_dir;
    const char *model;
    const char *fw;
    char address[16]; /* dotted IPv4 advertised in the A record */
    double load_watts;
    double volts;
    int http_port; /* the bound port once listening */
    uint32_t telemetry_ms;
    uint16_t keepalive_s;
    plug_power_on power_on;
    double overcurrent_a;
    bool mdns;
    bool no_clock; /* like an ESP32 without SNTP: the wall clock is unknown */
    uint32_t ota_slot_kb; /* size of the simulated inactive OTA slot */
    uint32_t pair_window_s; /* pairing window after power-on and a button press */
    uint32_t mqtt_buffer;   /* received messages reach the core in pieces of this size */
} sim_options;

extern sim_options sim_opt;
extern plug_t sim_plug;

/* One JSON object per line on stdout, flushed at once (tests follow it). */
void sim_event(const char *json);

/* hal_posix.c */
void sim_hal_init(void);
bool sim_relay(void);

/* store_files.c */
bool sim_store_open(const char *dir);
/* Tests: end the process (exit 137) right after `key` is stored: a power cut at that point. */
void sim_store_die_after(const char *key);

/* ota_files.c */
bool sim_restart_requested(void);
/* The version a completed update activated, if any (the factory version otherwise). */
bool sim_ota_booted_version(char *out, size_t cap);

/* mqtt_mosq.c */
void sim_mqtt_init(void);
/* Fills poll fds for the MQTT socket; returns how many (0 or 1). */
int sim_mqtt_pollfd(struct pollfd *pfd);
void sim_mqtt_after_poll(const struct pollfd *pfd, int n);
void sim_mqtt_shutdown(void);
/* tls_psk.c: an SSL_CTX (as void *) for TLS 1.3 with only this PSK, every certificate refused. */
void *sim_tls_psk_context(const uint8_t psk[32], const char *identity);
void sim_tls_context_free(void *ctx);

/* http_pair.c */
bool sim_http_start(int port);
int sim_http_pollfds(struct pollfd *pfd);
void sim_http_after_poll(const struct pollfd *pfd, int n);

/* mdns.c */
bool sim_mdns_start(void);
int sim_mdns_pollfd(struct pollfd *pfd);
void sim_mdns_after_poll(const struct pollfd *pfd, int n);
void sim_mdns_tick(void);
void sim_mdns_announce(void);
void sim_mdns_goodbye(void);

#endif
