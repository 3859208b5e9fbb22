/*
 * mqtt_rx.h: puts an MQTT message back together from the fragments a port's MQTT client hands
 * over. esp-mqtt delivers a message larger than its buffer as several MQTT_EVENT_DATA events:
 * the first carries the topic, each carries current_data_offset and total_data_len. Every port
 * (the ESP32, the simulator, the host tests) feeds fragments through here, so the path that
 * runs on the plug is the one the tests run.
 *
 * Bounded: at most MQTT_RX_MAX + 1 bytes are kept. A longer message is handed on as its first
 * MQTT_RX_MAX + 1 bytes, one over every handler's limit, so the core refuses it as malformed
 * (as it would the whole message) without ever holding it; the bytes past the bound are
 * counted, never copied or read. A fragment that does not continue the message in progress
 * (wrong offset, different total, more bytes than announced, no topic on a first fragment)
 * drops that message: a gap is never filled with stale bytes.
 */
#ifndef HEARTH_MQTT_RX_H
#define HEARTH_MQTT_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota.h"

#define MQTT_RX_TOPIC_MAX 64
/* The largest message a plug takes: a firmware chunk (header + 4 KB). Commands are <= 1 KB. */
#define MQTT_RX_MAX (OTA_HEADER + OTA_CHUNK)

typedef struct {
    char topic[MQTT_RX_TOPIC_MAX];
    char payload[MQTT_RX_MAX + 1];
    size_t total;  /* the message's announced length */
    size_t got;    /* bytes of it received so far */
    bool active;   /* a message is in progress */
} mqtt_rx;

void mqtt_rx_reset(mqtt_rx *rx);
/* One fragment: `len` bytes at `offset` of a `total`-byte message; the topic only matters on
 * the first (offset 0) fragment. True once the message is complete: then rx->topic and
 * rx->payload hold it and *out_len its length (at most MQTT_RX_MAX + 1, see above). */
bool mqtt_rx_feed(mqtt_rx *rx, const char *topic, size_t topic_len, const char *data, size_t len,
                  size_t offset, size_t total, size_t *out_len);

#endif
