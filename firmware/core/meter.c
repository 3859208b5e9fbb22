#include "meter.h"

/*
 * BL0937 datasheet (Belling, "BL0937 Single Phase Energy Measurement IC", section 1.4):
 *   F_CF  = 1721506 * V(V) * V(I) / Vref^2
 *   F_CFI =   94638 * V(I) / Vref
 *   F_CFU =   15397 * V(V) / Vref          with Vref = 1.218 V,
 * V(I) = I * shunt and V(V) = U * divider, so P = U * I = F_CF * Vref^2 / (1721506 * shunt *
 * divider), and likewise for current and voltage.
 */
#define BL0937_VREF 1.218
#define BL0937_KP 1721506.0
#define BL0937_KI 94638.0
#define BL0937_KU 15397.0

/*
 * HLW8012 datasheet (HLW Technology, section 3.2), internal oscillator fosc = 3.579 MHz,
 * Vref = 2.43 V:
 *   F_CF  = 48 * V1 * V2 * fosc / (128 * Vref^2)   V1 current channel, V2 voltage channel
 *   F_CF1 = 24 * V1 * fosc / (512 * Vref)           (SEL high: current)
 *   F_CF1 =  2 * V2 * fosc / (512 * Vref)           (SEL low: voltage)
 */
#define HLW_VREF 2.43
#define HLW_FOSC 3579000.0

meter_cal meter_cal_bl0937(double shunt_ohm, double divider)
{
    meter_cal c;
    c.power_w_per_hz = BL0937_VREF * BL0937_VREF / (BL0937_KP * shunt_ohm * divider);
    c.current_a_per_hz = BL0937_VREF / (BL0937_KI * shunt_ohm);
    c.voltage_v_per_hz = BL0937_VREF / (BL0937_KU * divider);
    return c;
}

meter_cal meter_cal_hlw8012(double shunt_ohm, double divider)
{
    meter_cal c;
    c.power_w_per_hz = 128.0 * HLW_VREF * HLW_VREF / (48.0 * HLW_FOSC * shunt_ohm * divider);
    c.current_a_per_hz = 512.0 * HLW_VREF / (24.0 * HLW_FOSC * shunt_ohm);
    c.voltage_v_per_hz = 512.0 * HLW_VREF / (2.0 * HLW_FOSC * divider);
    return c;
}

meter_cal meter_cal_trim(meter_cal c, double power_ratio, double current_ratio,
                         double voltage_ratio)
{
    c.power_w_per_hz *= power_ratio;
    c.current_a_per_hz *= current_ratio;
    c.voltage_v_per_hz *= voltage_ratio;
    return c;
}

double meter_cf_hz(const meter_cal *c, double watts) { return watts / c->power_w_per_hz; }
double meter_cf1_current_hz(const meter_cal *c, double amps) { return amps / c->current_a_per_hz; }
double meter_cf1_voltage_hz(const meter_cal *c, double volts) { return volts / c->voltage_v_per_hz; }

void meter_init(meter_t *m, const meter_cal *cal, double energy_wh, uint64_t now_ms)
{
    m->cal = *cal;
    m->cf1_voltage = false;
    m->have_voltage = m->have_current = false;
    m->power_w = m->current_a = m->voltage_v = 0;
    m->energy_wh = energy_wh;
    m->saved_wh = energy_wh;
    m->saved_at_ms = now_ms;
}

bool meter_window(meter_t *m, uint32_t elapsed_ms, uint32_t cf_pulses, uint32_t cf1_pulses)
{
    if (elapsed_ms == 0) return m->cf1_voltage;
    double secs = (double)elapsed_ms / 1000.0;
    m->power_w = (double)cf_pulses / secs * m->cal.power_w_per_hz;
    /* Each CF pulse is a fixed quantum of energy: power_w_per_hz joules. */
    m->energy_wh += (double)cf_pulses * m->cal.power_w_per_hz / 3600.0;
    double f1 = (double)cf1_pulses / secs;
    if (m->cf1_voltage) {
        m->voltage_v = f1 * m->cal.voltage_v_per_hz;
        m->have_voltage = true;
    } else {
        m->current_a = f1 * m->cal.current_a_per_hz;
        m->have_current = true;
    }
    m->cf1_voltage = !m->cf1_voltage;
    return m->cf1_voltage;
}

bool meter_should_save(const meter_t *m, uint64_t now_ms)
{
    double unsaved = m->energy_wh - m->saved_wh;
    if (unsaved <= 0) return false;
    uint64_t since = now_ms - m->saved_at_ms;
    if (since >= METER_SAVE_MAX_MS) return true;
    return unsaved >= METER_SAVE_WH && since >= METER_SAVE_MIN_MS;
}

void meter_saved(meter_t *m, uint64_t now_ms)
{
    m->saved_wh = m->energy_wh;
    m->saved_at_ms = now_ms;
}
