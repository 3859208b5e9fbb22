/* hal.h time and GPIO on the ESP32: relay, LED, button. */
#include <sys/time.h>

#include "board.h"
#include "driver/gpio.h"
#include "esp_timer.h"
#include "hal.h"
#include "sdkconfig.h"

void board_gpio_init(void)
{
    gpio_config_t out = {
        .pin_bit_mask = (1ULL << CONFIG_HEARTH_GPIO_RELAY) | (1ULL << CONFIG_HEARTH_GPIO_LED) |
                        (1ULL << CONFIG_HEARTH_GPIO_SEL),
        .mode = GPIO_MODE_OUTPUT,
    };
    ESP_ERROR_CHECK(gpio_config(&out));
    gpio_config_t in = {
        .pin_bit_mask = 1ULL << CONFIG_HEARTH_GPIO_BUTTON,
        .mode = GPIO_MODE_INPUT,
        .pull_up_en = GPIO_PULLUP_ENABLE,
    };
    ESP_ERROR_CHECK(gpio_config(&in));
}

uint64_t hal_millis(void) { return (uint64_t)(esp_timer_get_time() / 1000); }

int64_t hal_unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    /* Before SNTP the RTC counts from 1970: anything before 2025 means "not known". */
    if (tv.tv_sec < 1735689600) return 0;
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void hal_relay_write(bool on) { gpio_set_level(CONFIG_HEARTH_GPIO_RELAY, on ? 1 : 0); }

void hal_led_write(bool on)
{
#if CONFIG_HEARTH_LED_ACTIVE_LOW
    on = !on;
#endif
    gpio_set_level(CONFIG_HEARTH_GPIO_LED, on ? 1 : 0);
}

bool hal_button_read(void) { return gpio_get_level(CONFIG_HEARTH_GPIO_BUTTON) == 0; }
