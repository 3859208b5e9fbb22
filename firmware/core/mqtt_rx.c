#include "mqtt_rx.h"

#include <string.h>

void mqtt_rx_reset(mqtt_rx *rx)
{
    rx->active = false;
    rx->got = 0;
    rx->total = 0;
}

bool mqtt_rx_feed(mqtt_rx *rx, const char *topic, size_t topic_len, const char *data, size_t len,
                  size_t offset, size_t total, size_t *out_len)
{
    if (offset == 0) {
        /* A new message; one still in progress is abandoned (the client lost its tail). */
        mqtt_rx_reset(rx);
        if (topic == NULL || topic_len == 0 || topic_len >= sizeof rx->topic) return false;
        if (memchr(topic, '\0', topic_len) != NULL) return false;
        memcpy(rx->topic, topic, topic_len);
        rx->topic[topic_len] = '\0';
        rx->total = total;
        rx->active = true;
    } else if (!rx->active || offset != rx->got || total != rx->total) {
        mqtt_rx_reset(rx);
        return false;
    }
    if (len > rx->total - rx->got || (len > 0 && data == NULL)) {
        mqtt_rx_reset(rx);
        return false;
    }
    const size_t cap = sizeof rx->payload;
    if (offset < cap) memcpy(rx->payload + offset, data, len < cap - offset ? len : cap - offset);
    rx->got += len;
    if (rx->got < rx->total) return false;
    *out_len = rx->total < cap ? rx->total : cap;
    rx->active = false;
    return true;
}
