/* hal.h network on the ESP32: esp-mqtt for MQTT, the mdns component for discovery, the log for
 * notes. esp-mqtt calls back on its own task, so its events are copied into a queue and handed
 * to the core by board_net_dispatch() in the main loop, under core_lock (hal.h: the core is
 * entered by one task at a time, and never from inside a HAL call). */
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_tls.h"
#include "freertos/queue.h"
#include "hal.h"
#include "mdns.h"
#include "mqtt_client.h"

static const char *TAG = "hearth";

#define NET_TOPIC_MAX MQTT_RX_TOPIC_MAX
/* esp-mqtt's receive buffer: one firmware chunk (the largest message, mqtt_rx.h) with its topic
 * and MQTT header fits, so a chunk arrives in one MQTT_EVENT_DATA. Its default of 1 KB would
 * split every chunk; CONFIG_MQTT_BUFFER_SIZE only counts with CONFIG_MQTT_USE_CUSTOM_CONFIG, so
 * the size is set on the client (.buffer.size). Anything larger still arrives in fragments of
 * at most this size (current_data_offset, total_data_len), which the core reassembles with a
 * bound (plug_mqtt_fragment). */
#define NET_MQTT_BUFFER (MQTT_RX_MAX + NET_TOPIC_MAX + 16)
/* Outgoing messages are small (state, events, chunk requests). */
#define NET_MQTT_OUT_BUFFER 1024

/* One MQTT_EVENT_DATA: a fragment of a message, copied exactly (data_len bytes, never more).
 * The queue holds 8 of ~4.3 KB: ~35 KB of heap, affordable on the C3 (400 KB SRAM); a plug only
 * ever has one chunk request out at a time. */
typedef enum { EV_CONNECTED, EV_DISCONNECTED, EV_MESSAGE } ev_kind;
typedef struct {
    ev_kind kind;
    char topic[NET_TOPIC_MAX];
    size_t topic_len; /* 0 on every fragment but the first */
    char data[NET_MQTT_BUFFER];
    size_t len, offset, total;
} net_event;

static QueueHandle_t events;
static esp_mqtt_client_handle_t client;
static bool rollback_confirmed;

static void on_mqtt(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    esp_mqtt_event_handle_t e = data;
    static net_event ev; /* the MQTT task is the only writer */
    memset(&ev, 0, sizeof ev);
    switch ((esp_mqtt_event_id_t)id) {
    case MQTT_EVENT_CONNECTED: ev.kind = EV_CONNECTED; break;
    case MQTT_EVENT_DISCONNECTED:
    case MQTT_EVENT_ERROR: ev.kind = EV_DISCONNECTED; break;
    case MQTT_EVENT_DATA:
        ev.kind = EV_MESSAGE;
        if (e->data_len < 0 || e->current_data_offset < 0 || e->total_data_len < 0) return;
        /* Never larger than the client's buffer; if it were, dropping it leaves a gap the core
         * sees (the message is dropped whole), where truncating would not. */
        if ((size_t)e->data_len > sizeof ev.data) return;
        if (e->current_data_offset == 0 && e->topic && e->topic_len > 0 &&
            e->topic_len < NET_TOPIC_MAX) {
            memcpy(ev.topic, e->topic, (size_t)e->topic_len);
            ev.topic_len = (size_t)e->topic_len;
        }
        memcpy(ev.data, e->data, (size_t)e->data_len);
        ev.len = (size_t)e->data_len;
        ev.offset = (size_t)e->current_data_offset;
        ev.total = (size_t)e->total_data_len;
        break;
    default: return;
    }
    xQueueSend(events, &ev, pdMS_TO_TICKS(100));
}

void board_net_queue_init(void) { events = xQueueCreate(8, sizeof(net_event)); }

void board_net_wait(TickType_t ticks)
{
    net_event *peek = malloc(sizeof *peek); /* too big for the loop task's stack */
    if (peek) {
        xQueuePeek(events, peek, ticks);
        free(peek);
    }
}

void board_net_dispatch(void)
{
    static net_event ev;
    while (xQueueReceive(events, &ev, 0) == pdTRUE) {
        switch (ev.kind) {
        case EV_CONNECTED:
            plug_mqtt_connected(&board_plug);
            /* This image reached the hub: keep it (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE). */
            if (!rollback_confirmed) {
                esp_ota_mark_app_valid_cancel_rollback();
                rollback_confirmed = true;
            }
            break;
        case EV_DISCONNECTED: plug_mqtt_disconnected(&board_plug); break;
        case EV_MESSAGE:
            plug_mqtt_fragment(&board_plug, ev.topic, ev.topic_len, ev.data, ev.len, ev.offset,
                               ev.total);
            break;
        }
    }
}

static void stop_client(void)
{
    if (!client) return;
    esp_mqtt_client_stop(client);
    esp_mqtt_client_destroy(client);
    client = NULL;
}

/* MQTT over TLS with the plug's PSK (docs/plug-protocol.md, "MQTT over TLS"). mbedTLS in
 * ESP-IDF 5.3-5.5 has TLS 1.3 only as an experimental option, so the plug speaks TLS 1.2 with
 * one suite, ECDHE-PSK-CHACHA20-POLY1305 (0xCCAC: ECDHE, so forward secret; AEAD; ChaCha20 is
 * fast in software on the C3): the hub accepts it beside TLS 1.3. Offering no certificate suite
 * at all is what makes a server without the PSK (a man in the middle) fail the handshake:
 * esp-tls does not verify a certificate in PSK mode. */
static const int PSK_SUITES[] = {0xCCAC, 0};
static uint8_t psk_key[32];
static char psk_identity[48];
static psk_hint_key_t psk_hint = {.key = psk_key, .key_size = sizeof psk_key, .hint = psk_identity};

bool hal_mqtt_connect(const hal_mqtt_params *p)
{
    stop_client();
    esp_mqtt_client_config_t cfg = {
        .broker.address.hostname = p->host,
        .broker.address.port = p->port,
        .broker.address.transport = MQTT_TRANSPORT_OVER_TCP,
        .credentials.client_id = p->client_id,
        .credentials.username = p->username,
        .credentials.authentication.password = p->password,
        .session.keepalive = p->keepalive_s,
        .session.disable_clean_session = !p->clean_session,
        .session.last_will.topic = p->will_topic,
        .session.last_will.msg = p->will_payload,
        .session.last_will.qos = 1,
        .session.last_will.retain = 1,
        /* The core owns reconnection (back-off with jitter). */
        .network.disable_auto_reconnect = true,
        .buffer.size = NET_MQTT_BUFFER,
        .buffer.out_size = NET_MQTT_OUT_BUFFER,
    };
    if (p->psk) {
        if (strlen(p->psk_identity) >= sizeof psk_identity) return false;
        memcpy(psk_key, p->psk, sizeof psk_key);
        memcpy(psk_identity, p->psk_identity, strlen(p->psk_identity) + 1);
        cfg.broker.address.transport = MQTT_TRANSPORT_OVER_SSL;
        cfg.broker.verification.psk_hint_key = &psk_hint;
        cfg.broker.verification.ciphersuites_list = PSK_SUITES;
    }
    client = esp_mqtt_client_init(&cfg);
    if (!client) return false;
    esp_mqtt_client_register_event(client, ESP_EVENT_ANY_ID, on_mqtt, NULL);
    if (esp_mqtt_client_start(client) != ESP_OK) {
        stop_client();
        return false;
    }
    return true;
}

void hal_mqtt_disconnect(void)
{
    if (client) esp_mqtt_client_disconnect(client);
    stop_client();
}

bool hal_mqtt_publish(const char *topic, const char *payload, size_t len, int qos, bool retain)
{
    /* enqueue: never block the core's task on the network */
    return client && esp_mqtt_client_enqueue(client, topic, payload, (int)len, qos, retain, true) >= 0;
}

bool hal_mqtt_subscribe(const char *topic, int qos)
{
    return client && esp_mqtt_client_subscribe(client, topic, qos) >= 0;
}

static bool mdns_up;

void board_mdns_start(const char *id, uint16_t http_port, const char *model, const char *fw)
{
    ESP_ERROR_CHECK(mdns_init());
    mdns_hostname_set(id);
    mdns_txt_item_t txt[] = {
        {"id", id}, {"model", model}, {"fw", fw},
        {"claimed", board_plug.claimed ? "1" : "0"}, {"pv", PAIR_VERSION_TEXT},
    };
    ESP_ERROR_CHECK(mdns_service_add(id, "_hearth-plug", "_tcp", http_port, txt, 5));
    mdns_up = true;
}

void hal_discovery_changed(bool claimed)
{
    /* The component re-announces changed TXT records itself. */
    if (mdns_up) mdns_service_txt_item_set("_hearth-plug", "_tcp", "claimed", claimed ? "1" : "0");
}

void hal_notify(const char *json) { ESP_LOGI(TAG, "%s", json); }
