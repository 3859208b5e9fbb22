/* hal.h firmware update on the ESP32: the inactive app slot through esp_ota_*. Compiled only in
 * this project (never built here: no ESP32 toolchain; see ../README.md). Opened with
 * OTA_WITH_SEQUENTIAL_WRITES, esp_ota_write erases each 4 KB sector as it enters it (no 1.9 MB
 * erase up front that would stall the plug for seconds), and core chunks are 4 KB aligned, so a
 * transfer resumed at a stored offset (esp_ota_resume: an ESP-IDF recent enough to have it)
 * erases and rewrites from that sector boundary on.
 * Activation is esp_ota_end (which validates the image header) plus esp_ota_set_boot_partition;
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE rolls back an image that never reaches MQTT (hal_net.c
 * confirms it), which the core reports as boot_failed. */
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_system.h"

#include "hal.h"

static const esp_partition_t *slot;
static esp_ota_handle_t handle;
static bool open_;

uint32_t hal_ota_slot_size(void)
{
    const esp_partition_t *p = esp_ota_get_next_update_partition(NULL);
    return p ? (uint32_t)p->size : 0;
}

bool hal_ota_begin(uint32_t size, uint32_t resume_at)
{
    if (open_) esp_ota_abort(handle);
    open_ = false;
    slot = esp_ota_get_next_update_partition(NULL);
    if (!slot || size > slot->size) return false;
    esp_err_t err = resume_at == 0
                        ? esp_ota_begin(slot, OTA_WITH_SEQUENTIAL_WRITES, &handle)
                        : esp_ota_resume(slot, OTA_WITH_SEQUENTIAL_WRITES, resume_at, &handle);
    open_ = err == ESP_OK;
    return open_;
}

bool hal_ota_write(uint32_t offset, const uint8_t *data, size_t len)
{
    (void)offset; /* esp_ota_write is sequential; the core only writes in order */
    return open_ && esp_ota_write(handle, data, len) == ESP_OK;
}

bool hal_ota_read(uint32_t offset, uint8_t *buf, size_t len)
{
    return slot && esp_partition_read(slot, offset, buf, len) == ESP_OK;
}

bool hal_ota_activate(const char *version)
{
    (void)version; /* the image's own esp_app_desc carries it */
    if (!open_) return false;
    open_ = false;
    return esp_ota_end(handle) == ESP_OK && esp_ota_set_boot_partition(slot) == ESP_OK;
}

void hal_ota_abort(void)
{
    if (open_) esp_ota_abort(handle);
    open_ = false;
}

void hal_restart(void) { esp_restart(); }
