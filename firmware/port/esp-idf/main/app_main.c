/*
 * The Hearth plug on an ESP32-C3: wires the portable core (../../core) to this board.
 * Start-up order matters: the relay gets its power-on state before anything touches the
 * network, and the core runs (button, metering, over-current) while Wi-Fi is still coming up
 * or being provisioned.
 */
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "board.h"
#include "esp_app_desc.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_netif_sntp.h"
#include "esp_system.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "sodium.h"

static const char *TAG = "hearth";

plug_t board_plug;
SemaphoreHandle_t core_lock;

static char id[18];
static char setup_code[9];

static void core_loop(void *arg)
{
    (void)arg;
    for (;;) {
        board_net_wait(pdMS_TO_TICKS(10)); /* wake at once for a command, else every 10 ms */
        CORE_LOCK();
        board_net_dispatch();
        plug_tick(&board_plug);
        CORE_UNLOCK();
        if (board_restart_pending) esp_restart(); /* after a factory reset: back to provisioning */
    }
}

static void start_sntp(void)
{
    /* The hub first (it is on the LAN and works without internet), then the public pool.
     * Until a server answers, hal_unix_ms() is 0 and commands are refused as stale. */
    static char hub_host[sizeof board_plug.creds.host];
    snprintf(hub_host, sizeof hub_host, "%s", board_plug.claimed ? board_plug.creds.host : "pool.ntp.org");
    esp_sntp_config_t cfg = ESP_NETIF_SNTP_DEFAULT_CONFIG_MULTIPLE(2, ESP_SNTP_SERVER_LIST(hub_host, "pool.ntp.org"));
    esp_netif_sntp_init(&cfg);
}

void app_main(void)
{
    board_nvs_init();
    board_gpio_init();
    board_meter_init();
    if (sodium_init() < 0) abort();

    uint8_t mac[6];
    esp_read_mac(mac, ESP_MAC_WIFI_STA);
    snprintf(id, sizeof id, "plug-%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    if (!board_factory_setup_code(setup_code)) abort();
    const char *fw = esp_app_get_description()->version;
    ESP_LOGI(TAG, "id %s, pairing QR: HEARTH:%s:%s", id, id, setup_code);

    plug_config cfg = {
        .id = id,
        .model = CONFIG_HEARTH_MODEL,
        .fw = fw,
        .setup_code = setup_code,
        .power_on = (plug_power_on)CONFIG_HEARTH_POWER_ON_STATE,
        .overcurrent_a = CONFIG_HEARTH_OVERCURRENT_DECIAMP / 10.0,
        .telemetry_ms = 1000,
        .keepalive_s = 10,
    };
    static uint8_t fw_pk[32];
    const char *pk_b64 = CONFIG_HEARTH_FW_RELEASE_PK;
    if (b64_decode_exact(fw_pk, 32, pk_b64, strlen(pk_b64))) cfg.fw_pk = fw_pk;
    else ESP_LOGW(TAG, "no firmware release key configured: updates are refused");
    double shunt = CONFIG_HEARTH_SHUNT_MICROOHM / 1e6;
    double divider = (double)CONFIG_HEARTH_DIVIDER_LOWER_OHM /
                     (CONFIG_HEARTH_DIVIDER_UPPER_OHM + CONFIG_HEARTH_DIVIDER_LOWER_OHM);
#if CONFIG_HEARTH_METER_HLW8012
    cfg.cal = meter_cal_hlw8012(shunt, divider);
#else
    cfg.cal = meter_cal_bl0937(shunt, divider);
#endif
    core_lock = xSemaphoreCreateMutex();
    board_net_queue_init();
    if (!plug_init(&board_plug, &cfg)) {
        ESP_LOGE(TAG, "core init failed (storage?)");
        abort();
    }
    xTaskCreate(core_loop, "hearth-core", 8192, NULL, 5, NULL);

    board_wifi_connect_or_provision(id, fw);
    start_sntp();
    uint16_t port = board_http_start();
    CORE_LOCK();
    board_mdns_start(id, port, CONFIG_HEARTH_MODEL, fw);
    CORE_UNLOCK();
}
