/* Metering against known pulse trains: the frequencies a BL0937 or HLW8012 would output for a
 * known load (from the datasheet formulas), fed as pulse counts, must read back as that load. */
#include "meter.h"
#include "tests.h"

/* A typical plug: 1 mOhm shunt, 5 x 470k + 1k divider. */
#define SHUNT 0.001
#define DIVIDER (1000.0 / (5 * 470000.0 + 1000.0))

/* Pulses in a window for a frequency, carrying the fraction over like a real counter would. */
static uint32_t pulses(double hz, uint32_t ms, double *carry)
{
    double exact = hz * ms / 1000.0 + *carry;
    uint32_t n = (uint32_t)exact;
    *carry = exact - n;
    return n;
}

static void bl0937_formula_matches_datasheet(void)
{
    meter_cal c = meter_cal_bl0937(SHUNT, DIVIDER);
    /* 230 V, 60 W resistive: I = 0.26087 A. V(V) = 97.83 mV, V(I) = 0.26087 mV. */
    double vv = 230 * DIVIDER, vi = 60.0 / 230 * SHUNT;
    CHECK_NEAR(meter_cf_hz(&c, 60), 1721506 * vv * vi / (1.218 * 1.218), 1e-9);
    CHECK_NEAR(meter_cf1_current_hz(&c, 60.0 / 230), 94638 * vi / 1.218, 1e-9);
    CHECK_NEAR(meter_cf1_voltage_hz(&c, 230), 15397 * vv / 1.218, 1e-9);
    /* About 29.6 Hz on CF for 60 W: 1.35 W per Hz. */
    CHECK_NEAR(meter_cf_hz(&c, 60), 29.6, 0.1);
}

static void reads_a_60w_load(void)
{
    meter_cal c = meter_cal_bl0937(SHUNT, DIVIDER);
    meter_t m;
    meter_init(&m, &c, 0, 0);
    double cp = 0, ci = 0, cu = 0; /* a counter per quantity carries its own fraction */
    double cf = meter_cf_hz(&c, 60), fi = meter_cf1_current_hz(&c, 60.0 / 230);
    double fu = meter_cf1_voltage_hz(&c, 230);
    for (int w = 0; w < 10; w++) {
        uint32_t n1 = m.cf1_voltage ? pulses(fu, 1000, &cu) : pulses(fi, 1000, &ci);
        meter_window(&m, 1000, pulses(cf, 1000, &cp), n1);
    }
    /* One-second windows quantise CF to whole pulses: +-1 pulse = +-1.35 W. */
    CHECK_NEAR(m.power_w, 60, 1.4);
    CHECK_NEAR(m.voltage_v, 230, 0.5);
    CHECK_NEAR(m.current_a, 0.261, 0.005);
    CHECK(m.have_voltage && m.have_current);
}

static void alternates_cf1_between_current_and_voltage(void)
{
    meter_cal c = meter_cal_bl0937(SHUNT, DIVIDER);
    meter_t m;
    meter_init(&m, &c, 0, 0);
    CHECK(!m.cf1_voltage);
    CHECK(meter_window(&m, 1000, 0, 0));  /* next: voltage */
    CHECK(!meter_window(&m, 1000, 0, 0)); /* next: current */
    CHECK(!meter_window(&m, 0, 5, 5));    /* an empty window changes nothing */
    CHECK_NEAR(m.power_w, 0, 0);
}

static void hlw8012_reads_2kw(void)
{
    meter_cal c = meter_cal_hlw8012(SHUNT, DIVIDER);
    /* F_CF = 48 V1 V2 fosc / (128 Vref^2) */
    double v1 = 2000.0 / 240 * SHUNT, v2 = 240 * DIVIDER;
    CHECK_NEAR(meter_cf_hz(&c, 2000), 48 * v1 * v2 * 3579000 / (128 * 2.43 * 2.43), 1e-9);
    meter_t m;
    meter_init(&m, &c, 0, 0);
    double cp = 0, c1 = 0;
    for (int w = 0; w < 4; w++) {
        double f1 = m.cf1_voltage ? meter_cf1_voltage_hz(&c, 240)
                                  : meter_cf1_current_hz(&c, 2000.0 / 240);
        meter_window(&m, 2000, pulses(meter_cf_hz(&c, 2000), 2000, &cp), pulses(f1, 2000, &c1));
    }
    CHECK_NEAR(m.power_w, 2000, 2000 * 0.01);
    CHECK_NEAR(m.voltage_v, 240, 1);
    CHECK_NEAR(m.current_a, 8.333, 0.05);
}

static void trim_calibrates_against_known_load(void)
{
    meter_cal c = meter_cal_bl0937(SHUNT, DIVIDER);
    /* The board reads 5 % high: 63 W for a known 60 W. */
    double f = meter_cf_hz(&c, 63);
    meter_cal t = meter_cal_trim(c, 60.0 / 63.0, 1, 1);
    meter_t m;
    meter_init(&m, &t, 0, 0);
    meter_window(&m, 10000, (uint32_t)(f * 10 + 0.5), 0);
    CHECK_NEAR(m.power_w, 60, 0.2);
}

static void accumulates_energy_over_hours(void)
{
    meter_cal c = meter_cal_bl0937(SHUNT, DIVIDER);
    meter_t m;
    meter_init(&m, &c, 1500.0, 0); /* 1.5 kWh already on the counter */
    double cp = 0;
    /* 1000 W for 3 simulated hours in 1 s windows, then 3 hours off. */
    for (int s = 0; s < 3 * 3600; s++) meter_window(&m, 1000, pulses(meter_cf_hz(&c, 1000), 1000, &cp), 0);
    for (int s = 0; s < 3 * 3600; s++) meter_window(&m, 1000, 0, 0);
    /* Energy counts pulses, so the only error is the last fractional pulse. */
    CHECK_NEAR(m.energy_wh, 1500.0 + 3000.0, 0.01);
    CHECK_NEAR(m.power_w, 0, 0);
}

static void saves_energy_sparingly(void)
{
    meter_cal c = meter_cal_bl0937(SHUNT, DIVIDER);
    meter_t m;
    meter_init(&m, &c, 0, 0);
    CHECK(!meter_should_save(&m, 10 * 60000)); /* nothing unsaved */
    /* 2 kW: 10 Wh after 18 s, but no write before a minute has passed. */
    double cp = 0;
    int writes = 0;
    for (uint64_t s = 1; s <= 3600; s++) {
        meter_window(&m, 1000, pulses(meter_cf_hz(&c, 2000), 1000, &cp), 0);
        if (meter_should_save(&m, s * 1000)) {
            CHECK(m.energy_wh - m.saved_wh >= METER_SAVE_WH);
            CHECK(s * 1000 - m.saved_at_ms >= METER_SAVE_MIN_MS);
            meter_saved(&m, s * 1000);
            writes++;
        }
    }
    CHECK_INT(writes, 60); /* one a minute for an hour */
    /* 5 W: 10 Wh would take two hours; the 10-minute rule writes first. */
    meter_init(&m, &c, 0, 0);
    writes = 0;
    cp = 0;
    for (uint64_t s = 1; s <= 3600; s++) {
        meter_window(&m, 1000, pulses(meter_cf_hz(&c, 5), 1000, &cp), 0);
        if (meter_should_save(&m, s * 1000)) {
            meter_saved(&m, s * 1000);
            writes++;
        }
    }
    CHECK_INT(writes, 6);
}

const test_case meter_tests[] = {
    {"meter: BL0937 factors follow the datasheet formulas", bl0937_formula_matches_datasheet},
    {"meter: 60 W / 230 V pulse train reads back", reads_a_60w_load},
    {"meter: CF1 alternates current and voltage", alternates_cf1_between_current_and_voltage},
    {"meter: HLW8012 2 kW / 240 V pulse train reads back", hlw8012_reads_2kw},
    {"meter: trim against a known load", trim_calibrates_against_known_load},
    {"meter: energy accumulates over simulated hours", accumulates_energy_over_hours},
    {"meter: energy saved at most once a minute, at least every 10 min", saves_energy_sparingly},
    {NULL, NULL},
};
