/* hal.h storage on NVS, namespace "hearth". NVS writes one key atomically and levels wear
 * across its pages; the core keeps write rates low on top of that (meter.h). */
#include <string.h>

#include "board.h"
#include "esp_log.h"
#include "esp_random.h"
#include "hal.h"
#include "nvs.h"
#include "nvs_flash.h"

static const char *TAG = "hearth-nvs";
static nvs_handle_t nvs;

void board_nvs_init(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        ESP_ERROR_CHECK(nvs_flash_erase());
        err = nvs_flash_init();
    }
    ESP_ERROR_CHECK(err);
    ESP_ERROR_CHECK(nvs_open("hearth", NVS_READWRITE, &nvs));
}

/* The setup code is written at manufacturing into namespace "factory" (nvs_partition_gen),
 * with the same digits printed on the plug and in its QR code. A development board without
 * one gets a random code, kept, and printed on the console. It survives factory resets,
 * which only erase namespace "hearth". */
bool board_factory_setup_code(char out[9])
{
    nvs_handle_t f;
    size_t len = 9;
    if (nvs_open("factory", NVS_READWRITE, &f) != ESP_OK) return false;
    if (nvs_get_str(f, "setup_code", out, &len) != ESP_OK || strlen(out) != 8) {
        uint32_t r = esp_random() % 100000000u;
        for (int i = 7; i >= 0; i--) {
            out[i] = (char)('0' + r % 10u);
            r /= 10u;
        }
        out[8] = '\0';
        nvs_set_str(f, "setup_code", out);
        nvs_commit(f);
        ESP_LOGW(TAG, "no factory setup code: generated one for this development board");
    }
    nvs_close(f);
    return true;
}

int hal_store_get(const char *key, void *buf, size_t cap)
{
    size_t len = 0;
    if (nvs_get_blob(nvs, key, NULL, &len) != ESP_OK) return -1;
    if (len > cap) return -2;
    if (nvs_get_blob(nvs, key, buf, &len) != ESP_OK) return -1;
    return (int)len;
}

bool hal_store_set(const char *key, const void *data, size_t len)
{
    return nvs_set_blob(nvs, key, data, len) == ESP_OK && nvs_commit(nvs) == ESP_OK;
}

bool hal_store_erase_all(void) { return nvs_erase_all(nvs) == ESP_OK && nvs_commit(nvs) == ESP_OK; }
