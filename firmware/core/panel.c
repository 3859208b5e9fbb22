/* The plug's front panel: one button and one LED. A press toggles the relay (debounced) and, on
 * an unclaimed plug, opens the pairing window; holding it 10 s factory-resets the plug; the LED
 * shows pairing and connection state, else the relay. */
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
            plug_button_pressed(p); /* a short press toggles (and opens pairing if unclaimed) */
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
    /* Unclaimed with the pairing window open: slow blink (ready to pair); claimed but offline:
     * fast blink; otherwise the relay (an unclaimed plug that does not blink needs a press). */
    if (p->state == PLUG_UNCLAIMED && pair_window_open(&p->pair, now))
        hal_led_write((now / 1000u) % 2u == 0);
    else if (p->state == PLUG_UNCLAIMED) hal_led_write(p->relay);
    else if (p->state != PLUG_ONLINE) hal_led_write((now / 250u) % 2u == 0);
    else hal_led_write(p->relay);
}

void plug_panel_tick(plug_t *p, uint64_t now)
{
    tick_button(p, now);
    tick_led(p, now);
}
