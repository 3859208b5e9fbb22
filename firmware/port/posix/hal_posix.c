/* The simulator's board: clocks, a relay and LED that are just variables, and a BL0937 whose
 * pulse outputs follow the simulated load. The pulses go through the same metering code as a
 * real plug's: the frequency comes from the datasheet formula via meter_cf_hz() and friends. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hal.h"
#include "sim.h"

static bool relay, led;
static hal_cf1_mode cf1_mode;
static uint64_t last_take_ms[2];
static double carry[2];

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sim_hal_init(void)
{
    srand48((long)clock_ms(CLOCK_REALTIME));
    last_take_ms[0] = last_take_ms[1] = clock_ms(CLOCK_MONOTONIC);
}

bool sim_relay(void) { return relay; }

uint64_t hal_millis(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t hal_unix_ms(void) { return sim_opt.no_clock ? 0 : (int64_t)clock_ms(CLOCK_REALTIME); }

void hal_relay_write(bool on) { relay = on; }
void hal_led_write(bool on) { led = on; }
bool hal_button_read(void) { return false; /* the simulator toggles on SIGUSR1 instead */ }
void hal_meter_select(hal_cf1_mode mode) { cf1_mode = mode; }

/* Uniform noise in [-frac, +frac]. */
static double noise(double frac) { return (drand48() * 2.0 - 1.0) * frac; }

uint32_t hal_meter_take(hal_meter_pin pin)
{
    uint64_t now = hal_millis();
    double secs = (double)(now - last_take_ms[pin]) / 1000.0;
    last_take_ms[pin] = now;
    const meter_cal *cal = &sim_plug.cfg.cal;
    /* The load draws nothing while the relay is open; the voltage is measured before it. */
    double watts = relay ? sim_opt.load_watts * (1.0 + noise(0.02)) : 0.0;
    double volts = sim_opt.volts + noise(1.0);
    double hz;
    if (pin == HAL_PIN_CF) hz = meter_cf_hz(cal, watts);
    else if (cf1_mode == HAL_CF1_VOLTAGE) hz = meter_cf1_voltage_hz(cal, volts);
    else hz = meter_cf1_current_hz(cal, watts / volts);
    double exact = hz * secs + carry[pin];
    uint32_t n = exact > 0 ? (uint32_t)exact : 0;
    carry[pin] = exact - n;
    return n;
}

void hal_notify(const char *json) { sim_event(json); }

/* The simulator joins no Wi-Fi (it runs on the host's network): nothing to erase. */
void hal_wifi_forget(void) { sim_event("{\"event\":\"wifi_forgotten\"}"); }

void hal_discovery_changed(bool claimed)
{
    (void)claimed;
    sim_mdns_announce();
}
