/*
 * meter.h: power metering from the pulse outputs of a BL0937 or HLW8012.
 *
 * Both chips output square waves whose frequency is proportional to a measured quantity:
 * CF to active power, CF1 to RMS current or RMS voltage (chosen with the SEL pin). Reading the
 * chip is therefore counting pulses over a window and multiplying the frequency by a factor.
 * The factors follow from the datasheet's frequency formulas and the board's shunt resistor
 * and voltage divider (meter_cal_bl0937 / meter_cal_hlw8012), then get trimmed against a known
 * load (meter_cal_trim). Pure functions and state: no HAL calls, so host tests feed exact
 * pulse trains.
 */
#ifndef HEARTH_METER_H
#define HEARTH_METER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double power_w_per_hz;   /* also joules per CF pulse */
    double current_a_per_hz; /* CF1 in current mode */
    double voltage_v_per_hz; /* CF1 in voltage mode */
} meter_cal;

/* shunt in ohms; divider = V(V) pin voltage / mains voltage (e.g. 1k / (5 x 470k + 1k)). */
meter_cal meter_cal_bl0937(double shunt_ohm, double divider);
meter_cal meter_cal_hlw8012(double shunt_ohm, double divider);
/* Calibrate against a known resistive load: multiply each factor by known / measured. */
meter_cal meter_cal_trim(meter_cal c, double power_ratio, double current_ratio,
                         double voltage_ratio);

/* The inverse: the frequency the chip outputs for a given quantity (used by the simulator to
 * produce pulses, and by tests). */
double meter_cf_hz(const meter_cal *c, double watts);
double meter_cf1_current_hz(const meter_cal *c, double amps);
double meter_cf1_voltage_hz(const meter_cal *c, double volts);

/* Energy is written to storage at most every METER_SAVE_MIN_MS once METER_SAVE_WH is unsaved,
 * and every METER_SAVE_MAX_MS whenever anything is unsaved (plus on relay changes, by the
 * caller). At 2 kW that is one write a minute instead of one per pulse; a power cut loses at
 * most 10 Wh or a minute's energy. */
#define METER_SAVE_WH 10.0
#define METER_SAVE_MIN_MS 60000u
#define METER_SAVE_MAX_MS 600000u

typedef struct {
    meter_cal cal;
    bool cf1_voltage; /* what CF1 measured during the current window */
    bool have_voltage, have_current;
    double power_w, current_a, voltage_v;
    double energy_wh; /* lifetime */
    double saved_wh;
    uint64_t saved_at_ms;
} meter_t;

void meter_init(meter_t *m, const meter_cal *cal, double energy_wh, uint64_t now_ms);
/* One finished window of `elapsed_ms` with the pulses counted on each pin. Updates power,
 * energy and whichever of current/voltage CF1 carried, then flips CF1's mode: returns true if
 * CF1 must measure voltage during the next window. */
bool meter_window(meter_t *m, uint32_t elapsed_ms, uint32_t cf_pulses, uint32_t cf1_pulses);
bool meter_should_save(const meter_t *m, uint64_t now_ms);
void meter_saved(meter_t *m, uint64_t now_ms);

#endif
