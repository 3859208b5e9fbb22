/* The plug's front panel: one button and one LED. A press toggles the relay (debounced); holding
 * it 10 s factory-resets the plug; the LED shows pairing and connection state, else the relay. */
#include "hal.h"
#include "plug.h"

static void tick_button(plug_t *p, uint64_t now)
{
    bool raw = hal_button_read();
    if (raw != p->btn_raw) {
        p->btn_raw = raw;
        p->btn_changed_ms = now;
    }
    if (raw != p->btn_stable && now - p->btn_changed_ms >= PLUG_DEBOUNCE_MS) {
        p->btn_stable = raw;
        if (raw) {
            p->btn_down_ms = now;
            p->btn_reset_done = false;
        } else if (!p->btn_reset_done) {
            plug_set_relay(p, !p->relay, "button"); /* a short press toggles */
        }
    }
    if (p->btn_stable && !p->btn_reset_done && now - p->btn_down_ms >= PLUG_RESET_HOLD_MS) {
        p->btn_reset_done = true;
        plug_factory_reset(p);
        p->btn_stable = true; /* still held: the release must not toggle */
        p->btn_raw = true;
        p->btn_reset_done = true;
    }
}

static void tick_led(plug_t *p, uint64_t now)
{
    /* Unclaimed: slow blink (ready to pair); claimed but offline: fast blink; online: relay. */
    if (p->state == PLUG_UNCLAIMED) hal_led_write((now / 1000u) % 2u == 0);
    else if (p->state != PLUG_ONLINE) hal_led_write((now / 250u) % 2u == 0);
    else hal_led_write(p->relay);
}

void plug_panel_tick(plug_t *p, uint64_t now)
{
    tick_button(p, now);
    tick_led(p, now);
}
