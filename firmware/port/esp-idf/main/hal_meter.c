/* hal.h pulse counting for the BL0937/HLW8012 CF and CF1 outputs.
 * Chips with a PCNT peripheral (ESP32, -S3, -C6) count in hardware. The ESP32-C3 has none
 * (SOC_PCNT_SUPPORTED is 0), so there a GPIO interrupt counts rising edges: at most a few kHz
 * (CF1 in voltage mode is ~1.2 kHz on the reference divider), which costs well under 1 % CPU. */
#include "board.h"
#include "driver/gpio.h"
#include "hal.h"
#include "sdkconfig.h"
#include "soc/soc_caps.h"

#if SOC_PCNT_SUPPORTED
#include "driver/pulse_cnt.h"

static pcnt_unit_handle_t units[2];

static void counter_init(int pin, pcnt_unit_handle_t *unit)
{
    pcnt_unit_config_t uc = {.low_limit = -1, .high_limit = 32767};
    ESP_ERROR_CHECK(pcnt_new_unit(&uc, unit));
    pcnt_glitch_filter_config_t filter = {.max_glitch_ns = 1000};
    ESP_ERROR_CHECK(pcnt_unit_set_glitch_filter(*unit, &filter));
    pcnt_chan_config_t cc = {.edge_gpio_num = pin, .level_gpio_num = -1};
    pcnt_channel_handle_t chan;
    ESP_ERROR_CHECK(pcnt_new_channel(*unit, &cc, &chan));
    ESP_ERROR_CHECK(pcnt_channel_set_edge_action(chan, PCNT_CHANNEL_EDGE_ACTION_INCREASE,
                                                 PCNT_CHANNEL_EDGE_ACTION_HOLD));
    ESP_ERROR_CHECK(pcnt_unit_enable(*unit));
    ESP_ERROR_CHECK(pcnt_unit_clear_count(*unit));
    ESP_ERROR_CHECK(pcnt_unit_start(*unit));
}

void board_meter_init(void)
{
    counter_init(CONFIG_HEARTH_GPIO_CF, &units[HAL_PIN_CF]);
    counter_init(CONFIG_HEARTH_GPIO_CF1, &units[HAL_PIN_CF1]);
}

uint32_t hal_meter_take(hal_meter_pin pin)
{
    int count = 0;
    /* Read then clear: an edge landing between the two is lost, i.e. at most one pulse per
     * one-second window, below the meter's own quantisation. */
    pcnt_unit_get_count(units[pin], &count);
    pcnt_unit_clear_count(units[pin]);
    return count > 0 ? (uint32_t)count : 0;
}

#else /* no PCNT: count in a GPIO interrupt */
#include "freertos/FreeRTOS.h"

static volatile uint32_t counts[2];
static portMUX_TYPE mux = portMUX_INITIALIZER_UNLOCKED;

static void IRAM_ATTR on_edge(void *arg)
{
    counts[(uintptr_t)arg]++;
}

void board_meter_init(void)
{
    gpio_config_t in = {
        .pin_bit_mask = (1ULL << CONFIG_HEARTH_GPIO_CF) | (1ULL << CONFIG_HEARTH_GPIO_CF1),
        .mode = GPIO_MODE_INPUT,
        .intr_type = GPIO_INTR_POSEDGE,
    };
    ESP_ERROR_CHECK(gpio_config(&in));
    ESP_ERROR_CHECK(gpio_install_isr_service(ESP_INTR_FLAG_IRAM));
    ESP_ERROR_CHECK(gpio_isr_handler_add(CONFIG_HEARTH_GPIO_CF, on_edge, (void *)(uintptr_t)HAL_PIN_CF));
    ESP_ERROR_CHECK(gpio_isr_handler_add(CONFIG_HEARTH_GPIO_CF1, on_edge, (void *)(uintptr_t)HAL_PIN_CF1));
}

uint32_t hal_meter_take(hal_meter_pin pin)
{
    taskENTER_CRITICAL(&mux);
    uint32_t n = counts[pin];
    counts[pin] = 0;
    taskEXIT_CRITICAL(&mux);
    return n;
}
#endif

void hal_meter_select(hal_cf1_mode mode)
{
    /* BL0937: SEL low = current. HLW8012: SEL high = current. */
#if CONFIG_HEARTH_METER_HLW8012
    gpio_set_level(CONFIG_HEARTH_GPIO_SEL, mode == HAL_CF1_CURRENT ? 1 : 0);
#else
    gpio_set_level(CONFIG_HEARTH_GPIO_SEL, mode == HAL_CF1_CURRENT ? 0 : 1);
#endif
}
