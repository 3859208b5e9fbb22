/* board.h: what the ESP32 port's files share. The core is entered under core_lock only. */
#ifndef HEARTH_BOARD_H
#define HEARTH_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "plug.h"

extern plug_t board_plug;
extern SemaphoreHandle_t core_lock;

#define CORE_LOCK() xSemaphoreTake(core_lock, portMAX_DELAY)
#define CORE_UNLOCK() xSemaphoreGive(core_lock)

/* hal_board.c */
void board_gpio_init(void);
/* hal_meter.c */
void board_meter_init(void);
/* hal_nvs.c */
void board_nvs_init(void);
bool board_factory_setup_code(char out[9]);
/* hal_net.c: MQTT events are queued by the MQTT task and handed to the core here. */
void board_net_queue_init(void);
/* Blocks up to ticks for a network event, without taking core_lock. */
void board_net_wait(TickType_t ticks);
/* Hands queued events to the core: call with core_lock held. */
void board_net_dispatch(void);
void board_mdns_start(const char *id, uint16_t http_port, const char *model, const char *fw);
/* pairing_http.c */
uint16_t board_http_start(void);
/* provisioning_improv.c: blocks until Wi-Fi credentials are stored and the plug has an IP. */
void board_wifi_connect_or_provision(const char *id, const char *fw);
/* Set by hal_wifi_forget (a factory reset): the core's task restarts the chip once the core is
 * done, so the plug comes back unprovisioned, into Improv. */
extern volatile bool board_restart_pending;

#endif
