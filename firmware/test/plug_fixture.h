/* The plug under test and the steps the plug tests share (test/plug_fixture.c). */
#ifndef HEARTH_PLUG_FIXTURE_H
#define HEARTH_PLUG_FIXTURE_H
#include <stddef.h>
#include <stdint.h>

#include "plug.h"

/* The simulator's BL0937 front end: a 1 mΩ shunt and a 5 × 470 kΩ : 1 kΩ voltage divider. */
#define SHUNT 0.001
#define DIVIDER (1000.0 / (5 * 470000.0 + 1000.0))

extern plug_t plug;      /* the plug under test */
extern uint8_t hub_sk[64]; /* the vectors' hub signing key: what signs commands and time */

plug_config plug_test_config(plug_power_on pon);
void boot_vector_plug(plug_power_on pon);
void reboot_plug(plug_power_on pon);
void claim_with_vectors(void);
void go_online(void);
void online_plug(void);
size_t make_cmd(uint64_t c, int64_t t, const char *v, char *payload, size_t cap);
void send_switch(uint64_t c, int64_t t, const char *v);
void run_ms(uint64_t ms);
#endif
