/*
 * Wi-Fi: connect with the credentials esp_wifi keeps in NVS, or, if there are none or they do
 * not work, take new ones over Improv serial (https://www.improv-wifi.com/serial/) on the
 * console UART, so a browser (ESP Web Tools) or Home Assistant can provision the plug over USB.
 *
 * Improv serial packet: "IMPROV" | version 1 | type | length | data | checksum (sum of all
 * previous bytes, mod 256), then '\n'. Types: 1 current state, 2 error, 3 RPC command,
 * 4 RPC result. States: 2 ready, 3 provisioning, 4 provisioned. RPC commands: 1 Wi-Fi settings
 * (ssid, password as length-prefixed strings), 2 current state, 3 device info.
 */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "driver/uart.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "freertos/event_groups.h"
#include "hal.h"
#include "nvs.h"
#include "sdkconfig.h"

#define IMPROV_STATE_READY 0x02
#define IMPROV_STATE_PROVISIONING 0x03
#define IMPROV_STATE_PROVISIONED 0x04
#define IMPROV_ERR_NONE 0x00
#define IMPROV_ERR_INVALID 0x01
#define IMPROV_ERR_UNKNOWN_CMD 0x02
#define IMPROV_ERR_CONNECT 0x03
#define GOT_IP BIT0
#define CONNECT_TIMEOUT_MS 20000

static EventGroupHandle_t wifi_events;
static char ip_text[16];

static void on_wifi(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED) {
        xEventGroupClearBits(wifi_events, GOT_IP);
        esp_wifi_connect(); /* keep trying: the relay works meanwhile, MQTT backs off */
    } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
        ip_event_got_ip_t *e = data;
        esp_ip4addr_ntoa(&e->ip_info.ip, ip_text, sizeof ip_text);
        xEventGroupSetBits(wifi_events, GOT_IP);
    }
}

static bool try_connect(void)
{
    esp_wifi_disconnect();
    esp_wifi_connect();
    return xEventGroupWaitBits(wifi_events, GOT_IP, pdFALSE, pdTRUE,
                               pdMS_TO_TICKS(CONNECT_TIMEOUT_MS)) & GOT_IP;
}

static void improv_send(uint8_t type, const uint8_t *data, uint8_t len)
{
    uint8_t pkt[6 + 3 + 255 + 2];
    memcpy(pkt, "IMPROV", 6);
    pkt[6] = 1;
    pkt[7] = type;
    pkt[8] = len;
    memcpy(pkt + 9, data, len);
    uint8_t sum = 0;
    for (size_t i = 0; i < 9u + len; i++) sum = (uint8_t)(sum + pkt[i]);
    pkt[9 + len] = sum;
    pkt[10 + len] = '\n';
    uart_write_bytes(UART_NUM_0, pkt, 11u + len);
}

static void improv_state(uint8_t s) { improv_send(0x01, &s, 1); }
static void improv_error(uint8_t e) { improv_send(0x02, &e, 1); }

/* An RPC result: command, total length, then length-prefixed strings. */
static void improv_result(uint8_t cmd, const char *const *strs, int n)
{
    uint8_t d[255];
    size_t o = 2;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(strs[i]);
        if (o + 1 + l > sizeof d) break;
        d[o++] = (uint8_t)l;
        memcpy(d + o, strs[i], l);
        o += l;
    }
    d[0] = cmd;
    d[1] = (uint8_t)(o - 2);
    improv_send(0x04, d, (uint8_t)o);
}

/* Handles one RPC packet's data; returns true once Wi-Fi is connected. */
static bool improv_rpc(const uint8_t *d, uint8_t len, const char *id, const char *fw)
{
    if (len < 2 || d[1] != len - 2) {
        improv_error(IMPROV_ERR_INVALID);
        return false;
    }
    switch (d[0]) {
    case 0x01: { /* Wi-Fi settings */
        uint8_t sl = len > 2 ? d[2] : 0;
        if (3u + sl >= len || sl == 0 || sl > 32) {
            improv_error(IMPROV_ERR_INVALID);
            return false;
        }
        uint8_t pl = d[3 + sl];
        if (4u + sl + pl != len || pl > 64) {
            improv_error(IMPROV_ERR_INVALID);
            return false;
        }
        wifi_config_t c = {0};
        memcpy(c.sta.ssid, d + 3, sl);
        memcpy(c.sta.password, d + 4 + sl, pl);
        improv_state(IMPROV_STATE_PROVISIONING);
        esp_wifi_set_config(WIFI_IF_STA, &c);
        if (!try_connect()) {
            improv_error(IMPROV_ERR_CONNECT);
            improv_state(IMPROV_STATE_READY);
            return false;
        }
        improv_state(IMPROV_STATE_PROVISIONED);
        char url[48];
        snprintf(url, sizeof url, "http://%s/pair/hello", ip_text);
        const char *r[] = {url};
        improv_result(0x01, r, 1);
        return true;
    }
    case 0x02:
        improv_state(IMPROV_STATE_READY);
        return false;
    case 0x03: {
        const char *r[] = {"Hearth plug", fw, CONFIG_IDF_TARGET, id};
        improv_result(0x03, r, 4);
        return false;
    }
    default: improv_error(IMPROV_ERR_UNKNOWN_CMD); return false;
    }
}

static void improv_loop(const char *id, const char *fw)
{
    uart_driver_install(UART_NUM_0, 512, 512, 0, NULL, 0);
    uint8_t pkt[6 + 3 + 255 + 1];
    size_t n = 0;
    improv_state(IMPROV_STATE_READY);
    for (;;) {
        uint8_t b;
        if (uart_read_bytes(UART_NUM_0, &b, 1, pdMS_TO_TICKS(1000)) != 1) continue;
        /* Resynchronise on the "IMPROV" header; everything is bounded by the length byte. */
        if (n < 6 && b != (uint8_t)"IMPROV"[n]) {
            n = b == 'I' ? 1 : 0;
            continue;
        }
        pkt[n++] = b;
        if (n < 9) continue;
        size_t want = 9u + pkt[8] + 1u;
        if (n < want) continue;
        uint8_t sum = 0;
        for (size_t i = 0; i + 1 < want; i++) sum = (uint8_t)(sum + pkt[i]);
        bool ok = pkt[6] == 1 && pkt[want - 1] == sum;
        n = 0;
        if (!ok) {
            improv_error(IMPROV_ERR_INVALID);
            continue;
        }
        if (pkt[7] == 0x03 && improv_rpc(pkt + 9, pkt[8], id, fw)) return;
    }
}

void board_wifi_connect_or_provision(const char *id, const char *fw)
{
    wifi_events = xEventGroupCreate();
    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    esp_netif_t *sta = esp_netif_create_default_wifi_sta();
    esp_netif_set_hostname(sta, id);
    wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
    ESP_ERROR_CHECK(esp_wifi_init(&init));
    ESP_ERROR_CHECK(esp_wifi_set_storage(WIFI_STORAGE_FLASH));
    ESP_ERROR_CHECK(esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_wifi, NULL));
    ESP_ERROR_CHECK(esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_wifi, NULL));
    ESP_ERROR_CHECK(esp_wifi_set_mode(WIFI_MODE_STA));
    ESP_ERROR_CHECK(esp_wifi_start());
    wifi_config_t c;
    if (esp_wifi_get_config(WIFI_IF_STA, &c) == ESP_OK && c.sta.ssid[0] && try_connect()) return;
    ESP_LOGW("hearth", "no working Wi-Fi credentials: waiting for Improv over serial");
    improv_loop(id, fw);
}

volatile bool board_restart_pending;

/* A factory reset forgets the Wi-Fi too: a plug given away must not give out the home's network.
 * esp_wifi keeps the credentials in NVS namespace "nvs.net80211"; esp_wifi_restore() erases
 * them, and before Wi-Fi is initialised (a reset while booting) the namespace is erased directly.
 * Then the chip restarts (board_restart_pending) and, with no credentials, waits for Improv. */
void hal_wifi_forget(void)
{
    if (esp_wifi_restore() != ESP_OK) {
        nvs_handle_t h;
        if (nvs_open("nvs.net80211", NVS_READWRITE, &h) == ESP_OK) {
            nvs_erase_all(h);
            nvs_commit(h);
            nvs_close(h);
        }
    }
    ESP_LOGW("hearth", "factory reset: Wi-Fi credentials erased, restarting into provisioning");
    board_restart_pending = true;
}
