#include "plug.h"

#include <string.h>

#include "buf.h"
#include "clock.h"
#include "hal.h"
#include "kv.h"
#include "mqtt_psk.h"

/* Storage keys (15 characters at most: the NVS limit). */
#define K_BOX_PK "box_pk"
#define K_BOX_SK "box_sk"
#define K_CLAIMED "claimed"
#define K_HOST "mq_host"
#define K_PORT "mq_port"
#define K_TLS_PORT "mq_tls_port"
#define K_USER "mq_user"
#define K_PASS "mq_pass"
/* Not "mq_pass...": tools and tests find the password as the one key starting with mq_pass. */
#define K_PASS_NEXT "mq_next_pass"
#define K_HUB_PK "hub_pk"
#define K_COUNTER "ctr"
#define K_RELAY "relay"
#define K_ENERGY "energy_mwh"

static void notify(const char *json) { hal_notify(json); }

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > PLUG_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

static void make_topic(char *out, size_t cap, const char *id, const char *leaf)
{
    buf_t b;
    buf_init(&b, out, cap);
    buf_str(&b, "hearth/");
    buf_str(&b, id);
    buf_char(&b, '/');
    buf_str(&b, leaf);
}

const char *plug_state_name(plug_state s)
{
    switch (s) {
    case PLUG_UNCLAIMED: return "unclaimed";
    case PLUG_CLAIMED: return "claimed";
    case PLUG_CONNECTING: return "connecting";
    default: return "online";
    }
}

static bool load_identity(plug_t *p)
{
    if (hal_store_get(K_BOX_PK, p->ident.box_pk, 32) == 32 &&
        hal_store_get(K_BOX_SK, p->ident.box_sk, 32) == 32)
        return true;
    /* First boot: make the pairing key pair. The secret key never leaves storage. */
    if (!hal_box_keypair(p->ident.box_pk, p->ident.box_sk)) return false;
    return hal_store_set(K_BOX_SK, p->ident.box_sk, 32) &&
           hal_store_set(K_BOX_PK, p->ident.box_pk, 32);
}

static bool load_creds(plug_t *p)
{
    char flag[4];
    uint64_t port;
    pair_creds *c = &p->creds;
    if (!kv_get_str(K_CLAIMED, flag, sizeof flag) || strcmp(flag, "1") != 0) return false;
    if (!kv_get_str(K_HOST, c->host, sizeof c->host) || !kv_get_u64(K_PORT, &port) || port == 0 ||
        port > 65535 || !kv_get_str(K_USER, c->username, sizeof c->username) ||
        !kv_get_str(K_PASS, c->password, sizeof c->password) ||
        hal_store_get(K_HUB_PK, c->hub_pk, 32) != 32 || !kv_get_u64(K_COUNTER, &p->last_counter))
        return false;
    c->port = (uint16_t)port;
    /* Optional: plugs paired by a hub without TLS have none. */
    c->tls_port = kv_get_u64(K_TLS_PORT, &port) && port > 0 && port <= 65535 ? (uint16_t)port : 0;
    /* A password change that a power cut interrupted: confirmed by the next connection. */
    if (!kv_get_str(K_PASS_NEXT, p->pass_next, sizeof p->pass_next)) p->pass_next[0] = '\0';
    return true;
}

bool plug_init(plug_t *p, const plug_config *cfg)
{
    memset(p, 0, sizeof *p);
    if (cfg->id == NULL || !valid_id(cfg->id) || cfg->setup_code == NULL) return false;
    p->cfg = *cfg;
    if (p->cfg.telemetry_ms == 0) p->cfg.telemetry_ms = 1000;
    if (p->cfg.keepalive_s == 0) p->cfg.keepalive_s = 10;
    memcpy(p->id, cfg->id, strlen(cfg->id) + 1);
    p->ident.id = p->id;
    p->ident.model = cfg->model ? cfg->model : "hearth-plug";
    p->ident.fw = cfg->fw ? cfg->fw : "0.0.0";
    p->ident.setup_code = cfg->setup_code;
    make_topic(p->topic_status, sizeof p->topic_status, p->id, "status");
    make_topic(p->topic_cmd, sizeof p->topic_cmd, p->id, "cmd");
    make_topic(p->topic_state, sizeof p->topic_state, p->id, "state");
    make_topic(p->topic_telemetry, sizeof p->topic_telemetry, p->id, "telemetry");
    make_topic(p->topic_event, sizeof p->topic_event, p->id, "event");
    make_topic(p->topic_timereq, sizeof p->topic_timereq, p->id, "timereq");
    make_topic(p->topic_time, sizeof p->topic_time, p->id, "time");
    clock_init(&p->clock);
    if (!load_identity(p)) return false;
    pair_init(&p->pair);
    plug_ota_init(p);
    mqtt_rx_reset(&p->rx);

    uint64_t now = hal_millis();
    /* Power-on (and a factory reset, which comes back through here): the person is at the plug. */
    if (p->cfg.pair_window_ms == 0) p->cfg.pair_window_ms = PLUG_PAIR_WINDOW_MS;
    pair_open_window(&p->pair, now, p->cfg.pair_window_ms);
    uint64_t mwh = 0;
    (void)kv_get_u64(K_ENERGY, &mwh);
    meter_init(&p->meter, &cfg->cal, (double)mwh / 1000.0, now);
    p->window_start_ms = now;
    hal_meter_select(HAL_CF1_CURRENT);
    (void)hal_meter_take(HAL_PIN_CF);
    (void)hal_meter_take(HAL_PIN_CF1);

    uint64_t relay = 0;
    switch (cfg->power_on) {
    case POWER_ON_ON: p->relay = true; break;
    case POWER_ON_RESTORE: p->relay = kv_get_u64(K_RELAY, &relay) && relay == 1; break;
    default: p->relay = false; break;
    }
    hal_relay_write(p->relay);

    p->claimed = load_creds(p);
    if (!p->claimed) memset(&p->creds, 0, sizeof p->creds);
    p->state = p->claimed ? PLUG_CLAIMED : PLUG_UNCLAIMED;
    p->backoff_ms = PLUG_BACKOFF_MIN_MS;
    p->next_attempt_ms = now; /* first attempt right away */
    return true;
}

/* ---- publishing ---- */

static void publish_state(plug_t *p)
{
    if (p->state != PLUG_ONLINE) return;
    const char *s = p->relay ? "{\"switch\":true}" : "{\"switch\":false}";
    hal_mqtt_publish(p->topic_state, s, strlen(s), 1, false);
}

static void publish_telemetry(plug_t *p)
{
    char mem[160];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_str(&b, "{\"power\":");
    buf_fixed(&b, p->meter.power_w, 1);
    buf_str(&b, ",\"voltage\":");
    buf_fixed(&b, p->meter.voltage_v, 1);
    buf_str(&b, ",\"current\":");
    buf_fixed(&b, p->meter.current_a, 3);
    buf_str(&b, ",\"energy\":");
    buf_fixed(&b, p->meter.energy_wh / 1000.0, 4);
    buf_char(&b, '}');
    if (buf_ok(&b)) hal_mqtt_publish(p->topic_telemetry, mem, b.len, 0, false);
}

static void save_energy(plug_t *p, uint64_t now)
{
    uint64_t mwh = (uint64_t)(p->meter.energy_wh * 1000.0 + 0.5);
    if (kv_set_u64(K_ENERGY, mwh)) meter_saved(&p->meter, now);
}

void plug_set_relay(plug_t *p, bool on, const char *source)
{
    bool changed = on != p->relay;
    p->relay = on;
    hal_relay_write(on);
    /* Confirm first, then persist: the relay state and energy writes are not needed for the
     * confirmation, and a flash write can take milliseconds (a sector erase, tens). */
    publish_state(p);
    if (!changed) return;
    (void)kv_set_u64(K_RELAY, on ? 1 : 0);
    /* A relay change often precedes unplugging: keep the energy counter current. */
    save_energy(p, hal_millis());
    char mem[96];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_str(&b, "{\"event\":\"relay\",\"on\":");
    buf_str(&b, on ? "true" : "false");
    buf_str(&b, ",\"source\":");
    buf_json_str(&b, source);
    buf_char(&b, '}');
    if (buf_ok(&b)) notify(mem);
}

/* ---- time from the hub (clock.h) ---- */

static void request_time(plug_t *p, uint64_t now, bool force)
{
    if (p->state != PLUG_ONLINE || !clock_due(&p->clock, now, force)) return;
    char mem[48];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    clock_request(&p->clock, now, &b);
    if (buf_ok(&b)) hal_mqtt_publish(p->topic_timereq, mem, b.len, 0, false);
}

static void on_time(plug_t *p, const char *payload, size_t len)
{
    clock_result r = clock_accept(&p->clock, p->id, p->creds.hub_pk, hal_millis(), payload, len);
    char note[96];
    buf_t n;
    buf_init(&n, note, sizeof note);
    buf_str(&n, "{\"event\":\"time\",\"result\":");
    buf_json_str(&n, clock_reason(r));
    buf_char(&n, '}');
    if (buf_ok(&n)) notify(note);
}

/* ---- connection state machine ---- */

static void schedule_retry(plug_t *p, uint64_t now)
{
    /* Equal jitter: half the back-off fixed, half random, so plugs that lost the hub together
     * (hub restart) do not all come back in the same millisecond. */
    uint32_t half = p->backoff_ms / 2, r = 0;
    hal_random(&r, sizeof r);
    p->next_attempt_ms = now + half + r % (half + 1);
    p->backoff_ms = p->backoff_ms >= PLUG_BACKOFF_MAX_MS / 2 ? PLUG_BACKOFF_MAX_MS
                                                             : p->backoff_ms * 2;
    p->state = PLUG_CLAIMED;
}

/* A failed attempt with the new password makes the next one use the old, and the other way
 * round: whichever of the two the hub holds (it keeps both until the new one connects), the
 * plug gets in within two attempts, whatever a power cut on either side interrupted. */
static void attempt_failed(plug_t *p)
{
    if (p->pass_next[0] != '\0') p->next_failed = p->conn_next;
}

static void start_connect(plug_t *p, uint64_t now)
{
    hal_mqtt_params mp;
    const char *password = p->creds.password;
    p->conn_next = p->creds.tls_port && p->pass_next[0] != '\0' && !p->next_failed;
    if (p->conn_next) password = p->pass_next;
    buf_t id;
    buf_init(&id, p->psk_identity, sizeof p->psk_identity);
    buf_str(&id, p->creds.username);
    if (p->conn_next) buf_str(&id, "/next");
    mp.host = p->creds.host;
    mp.port = p->creds.tls_port ? p->creds.tls_port : p->creds.port;
    mp.psk = NULL;
    mp.psk_identity = p->psk_identity;
    if (p->creds.tls_port) {
        mqtt_psk_derive(p->psk, password, strlen(password));
        mp.psk = p->psk;
    }
    mp.client_id = p->id;
    mp.username = p->creds.username;
    mp.password = password;
    mp.keepalive_s = p->cfg.keepalive_s;
    mp.clean_session = false;
    mp.will_topic = p->topic_status;
    mp.will_payload = "offline";
    p->state = PLUG_CONNECTING;
    p->connect_started_ms = now;
    if (!buf_ok(&id) || !hal_mqtt_connect(&mp)) {
        attempt_failed(p);
        schedule_retry(p, now);
    }
}

/* Connected: with the new password, it is now the password (the hub switched to it on this
 * CONNECT and refuses the old one); with the old one while a new one waits, the hub never got
 * to hold the new one (or gave it up): drop it, the hub sends another. Stored in that order,
 * each key atomically, so a power cut between the two writes leaves both equal. */
static void settle_password(plug_t *p)
{
    if (p->pass_next[0] == '\0') return;
    if (p->conn_next) {
        if (!kv_set_str(K_PASS, p->pass_next)) {
            notify("{\"event\":\"store_failed\",\"key\":\"mq_pass\"}");
            return; /* mq_next_pass stays: the next connection tries it first again */
        }
        memcpy(p->creds.password, p->pass_next, strlen(p->pass_next) + 1);
    }
    (void)kv_set_str(K_PASS_NEXT, "");
    notify(p->conn_next ? "{\"event\":\"password_changed\"}" : "{\"event\":\"password_change_dropped\"}");
    p->pass_next[0] = '\0';
    p->conn_next = false;
    p->next_failed = false;
}

void plug_mqtt_connected(plug_t *p)
{
    if (p->state != PLUG_CONNECTING) return;
    p->state = PLUG_ONLINE;
    p->backoff_ms = PLUG_BACKOFF_MIN_MS;
    settle_password(p);
    hal_mqtt_publish(p->topic_status, "online", 6, 1, true);
    hal_mqtt_subscribe(p->topic_cmd, 1);
    /* QoS 0: an answer that arrives after a reconnection is useless (its nonce is gone). */
    hal_mqtt_subscribe(p->topic_time, 0);
    publish_state(p);
    p->last_telemetry_ms = hal_millis();
    notify("{\"event\":\"mqtt_connected\"}");
    /* Every new connection re-reads the hub's time: the hub may have restarted, its clock
     * stepped, or this plug rebooted without one. */
    request_time(p, hal_millis(), true);
    /* Says which firmware runs and where an update stands (resumes one in progress). */
    plug_ota_connected(p);
}

void plug_mqtt_disconnected(plug_t *p)
{
    mqtt_rx_reset(&p->rx); /* a message cut off by the disconnection never completes */
    if (p->state != PLUG_CONNECTING && p->state != PLUG_ONLINE) return;
    if (p->state == PLUG_CONNECTING) attempt_failed(p);
    if (p->state == PLUG_ONLINE) notify("{\"event\":\"mqtt_disconnected\"}");
    schedule_retry(p, hal_millis());
}

/* ---- commands ---- */

/* The hub's signed "mqtts" command: from now on only its TLS port, with the PSK. Stored first,
 * then the cleartext connection is dropped and the TLS one made at once; the retained `online`
 * stays, so the hub sees no gap. Already there: nothing to do. */
static void move_to_tls(plug_t *p, uint16_t port)
{
    if (p->creds.tls_port == port) return;
    if (!kv_set_u64(K_TLS_PORT, port)) {
        notify("{\"event\":\"store_failed\",\"key\":\"mq_tls_port\"}");
        return;
    }
    p->creds.tls_port = port;
    if (p->state == PLUG_CONNECTING || p->state == PLUG_ONLINE) hal_mqtt_disconnect();
    mqtt_rx_reset(&p->rx);
    p->state = PLUG_CLAIMED;
    p->backoff_ms = PLUG_BACKOFF_MIN_MS;
    p->next_attempt_ms = hal_millis();
    notify("{\"event\":\"moved_to_tls\"}");
}

/* The hub's signed "mqpass" command (docs/plug-protocol.md "Changing a plug's password"): the
 * new password is stored beside the old one, then the plug reconnects with it at once. Only
 * over TLS: sent in clear it would be no better than the old one. */
static void change_password(plug_t *p, const char *secret)
{
    if (p->creds.tls_port == 0) {
        notify("{\"event\":\"password_change_refused\",\"reason\":\"cleartext\"}");
        return;
    }
    if (strcmp(secret, p->creds.password) == 0) return;
    if (!kv_set_str(K_PASS_NEXT, secret)) {
        notify("{\"event\":\"store_failed\",\"key\":\"mq_next_pass\"}");
        return;
    }
    memcpy(p->pass_next, secret, strlen(secret) + 1);
    p->next_failed = false;
    if (p->state == PLUG_CONNECTING || p->state == PLUG_ONLINE) hal_mqtt_disconnect();
    mqtt_rx_reset(&p->rx);
    p->state = PLUG_CLAIMED;
    p->backoff_ms = PLUG_BACKOFF_MIN_MS;
    p->next_attempt_ms = hal_millis();
    notify("{\"event\":\"password_change\",\"state\":\"stored\"}");
}

/* `<head>"reason":"...","counter":N}`: the same fields for the published event and the note. */
static bool rejection_json(buf_t *b, const char *head, cmd_result r, uint64_t counter)
{
    buf_str(b, head);
    buf_str(b, "\"reason\":");
    buf_json_str(b, cmd_reason(r));
    buf_str(b, ",\"counter\":");
    buf_u64(b, counter);
    buf_char(b, '}');
    return buf_ok(b);
}

static void report_rejection(plug_t *p, cmd_result r, uint64_t counter)
{
    char mem[128];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    if (!rejection_json(&b, "{\"type\":\"cmd_rejected\",", r, counter)) return;
    if (p->state == PLUG_ONLINE) hal_mqtt_publish(p->topic_event, mem, b.len, 1, false);
    char note[160];
    buf_t n;
    buf_init(&n, note, sizeof note);
    if (rejection_json(&n, "{\"event\":\"command\",\"result\":\"rejected\",", r, counter)) notify(note);
}

void plug_mqtt_message(plug_t *p, const char *topic, const char *payload, size_t len)
{
    if (!p->claimed || topic == NULL) return;
    if (strcmp(topic, p->topic_time) == 0) {
        on_time(p, payload, len);
        return;
    }
    if (strcmp(topic, p->topic_ota) == 0) {
        plug_ota_chunk(p, (const uint8_t *)payload, len);
        return;
    }
    if (strcmp(topic, p->topic_cmd) != 0) return;
    uint64_t now = hal_millis();
    cmd_t c;
    cmd_result r = cmd_verify(p->id, p->creds.hub_pk, p->last_counter,
                              clock_now_unix_ms(&p->clock, now, hal_unix_ms()), payload, len, &c);
    if (r != CMD_OK) {
        report_rejection(p, r, c.counter);
        /* A stale command may mean this clock is off: ask the hub (rate-limited). */
        if (r == CMD_STALE) request_time(p, now, true);
        return;
    }
    /* Persist the counter before obeying: a reboot right after must still refuse a replay. */
    p->last_counter = c.counter;
    if (!kv_set_u64(K_COUNTER, c.counter)) notify("{\"event\":\"store_failed\",\"key\":\"ctr\"}");
    char note[128];
    buf_t n;
    buf_init(&n, note, sizeof note);
    buf_str(&n, "{\"event\":\"command\",\"result\":\"accepted\",\"counter\":");
    buf_u64(&n, c.counter);
    if (strcmp(c.cap, "ota_begin") == 0) {
        buf_str(&n, ",\"cap\":\"ota_begin\"}");
        if (buf_ok(&n)) notify(note);
        plug_ota_begin(p, c.v_raw, c.v_len);
        return;
    }
    if (strcmp(c.cap, "mqtts") == 0) {
        buf_str(&n, ",\"cap\":\"mqtts\",\"port\":");
        buf_u64(&n, c.port);
        buf_char(&n, '}');
        if (buf_ok(&n)) notify(note);
        move_to_tls(p, c.port);
        return;
    }
    if (strcmp(c.cap, "mqpass") == 0) {
        buf_str(&n, ",\"cap\":\"mqpass\"}"); /* never the password itself */
        if (buf_ok(&n)) notify(note);
        change_password(p, c.secret);
        return;
    }
    buf_str(&n, ",\"switch\":");
    buf_str(&n, c.value ? "true" : "false");
    buf_char(&n, '}');
    if (buf_ok(&n)) notify(note);
    plug_set_relay(p, c.value, "command"); /* publishes the state even if unchanged */
}

void plug_mqtt_fragment(plug_t *p, const char *topic, size_t topic_len, const char *data,
                        size_t len, size_t offset, size_t total)
{
    size_t n;
    if (mqtt_rx_feed(&p->rx, topic, topic_len, data, len, offset, total, &n))
        plug_mqtt_message(p, p->rx.topic, p->rx.payload, n);
}

/* ---- pairing ---- */

int plug_http_hello(plug_t *p, const char *query, size_t query_len, char *out, size_t cap)
{
    buf_t b;
    buf_init(&b, out, cap);
    int status = pair_hello(&p->pair, &p->ident, p->claimed, query, query_len, hal_millis(), &b);
    if (status == 403 || status == 429) {
        char note[96];
        buf_t n;
        buf_init(&n, note, sizeof note);
        buf_str(&n, "{\"event\":\"hello_refused\",\"reason\":");
        buf_json_str(&n, status == 403 ? "not_in_pairing_mode" : "rate_limited");
        buf_char(&n, '}');
        if (buf_ok(&n)) notify(note);
    }
    return buf_ok(&b) ? status : 500;
}

void plug_button_pressed(plug_t *p)
{
    plug_set_relay(p, !p->relay, "button");
    if (p->claimed) return;
    uint64_t now = hal_millis();
    pair_open_window(&p->pair, now, PLUG_PAIR_WINDOW_MS);
    char note[96];
    buf_t n;
    buf_init(&n, note, sizeof note);
    buf_str(&n, "{\"event\":\"pairing_window\",\"seconds\":");
    buf_u64(&n, (p->pair.window_until_ms - now) / 1000u);
    buf_char(&n, '}');
    if (buf_ok(&n)) notify(note);
}

static bool store_creds(const pair_creds *c)
{
    /* "claimed" is written last: a power cut midway leaves an unclaimed plug, never a
     * half-configured one. */
    return kv_set_str(K_HOST, c->host) && kv_set_u64(K_PORT, c->port) &&
           kv_set_u64(K_TLS_PORT, c->tls_port) &&
           kv_set_str(K_USER, c->username) && kv_set_str(K_PASS, c->password) &&
           kv_set_str(K_PASS_NEXT, "") &&
           hal_store_set(K_HUB_PK, c->hub_pk, 32) && kv_set_u64(K_COUNTER, c->counter) &&
           kv_set_str(K_CLAIMED, "1");
}

int plug_http_claim(plug_t *p, const char *body, size_t len, char *out, size_t cap)
{
    buf_t b;
    buf_init(&b, out, cap);
    pair_creds c;
    int status = pair_claim(&p->pair, &p->ident, p->claimed, body, len, hal_millis(), &c, &b);
    if (status == 200) {
        if (!store_creds(&c)) {
            buf_init(&b, out, cap);
            buf_str(&b, "{\"error\":\"storage\"}");
            return 500;
        }
        p->creds = c;
        p->pass_next[0] = '\0';
        p->last_counter = c.counter;
        p->claimed = true;
        p->state = PLUG_CLAIMED;
        p->backoff_ms = PLUG_BACKOFF_MIN_MS;
        p->next_attempt_ms = hal_millis();
        notify("{\"event\":\"claimed\"}");
        hal_discovery_changed(true);
    } else {
        char note[96];
        buf_t n;
        buf_init(&n, note, sizeof note);
        buf_str(&n, "{\"event\":\"claim_refused\",\"status\":");
        buf_u64(&n, (uint64_t)status);
        buf_char(&n, '}');
        if (buf_ok(&n)) notify(note);
    }
    return buf_ok(&b) ? status : 500;
}

void plug_factory_reset(plug_t *p)
{
    if (p->state == PLUG_CONNECTING || p->state == PLUG_ONLINE) hal_mqtt_disconnect();
    /* Forget the hub, the pairing key and the Wi-Fi (a plug given away must not give out the
     * home's network); keep the lifetime energy counter. */
    uint64_t mwh = (uint64_t)(p->meter.energy_wh * 1000.0 + 0.5);
    (void)hal_store_erase_all();
    (void)kv_set_u64(K_ENERGY, mwh);
    hal_wifi_forget();
    bool relay = p->relay;
    plug_config cfg = p->cfg;
    char id[PLUG_ID_MAX + 1];
    memcpy(id, p->id, sizeof id);
    cfg.id = id;
    notify("{\"event\":\"factory_reset\"}");
    (void)plug_init(p, &cfg); /* new box key pair, unclaimed */
    plug_set_relay(p, relay, "reset");
    hal_discovery_changed(false);
}

void plug_shutdown(plug_t *p)
{
    if (p->state == PLUG_ONLINE) hal_mqtt_publish(p->topic_status, "offline", 7, 1, true);
    if (p->state == PLUG_CONNECTING || p->state == PLUG_ONLINE) hal_mqtt_disconnect();
    p->state = p->claimed ? PLUG_CLAIMED : PLUG_UNCLAIMED;
    save_energy(p, hal_millis());
}

/* ---- periodic work ---- */

static void tick_meter(plug_t *p, uint64_t now)
{
    uint64_t elapsed = now - p->window_start_ms;
    if (elapsed < PLUG_METER_WINDOW_MS) return;
    uint32_t cf = hal_meter_take(HAL_PIN_CF), cf1 = hal_meter_take(HAL_PIN_CF1);
    bool volt_next = meter_window(&p->meter, (uint32_t)elapsed, cf, cf1);
    hal_meter_select(volt_next ? HAL_CF1_VOLTAGE : HAL_CF1_CURRENT);
    p->window_start_ms = now;
    if (p->cfg.overcurrent_a > 0 && p->relay && p->meter.current_a > p->cfg.overcurrent_a) {
        double a = p->meter.current_a;
        plug_set_relay(p, false, "overcurrent");
        char mem[96];
        buf_t b;
        buf_init(&b, mem, sizeof mem);
        buf_str(&b, "{\"type\":\"overcurrent\",\"current\":");
        buf_fixed(&b, a, 3);
        buf_char(&b, '}');
        if (p->state == PLUG_ONLINE) hal_mqtt_publish(p->topic_event, mem, b.len, 1, false);
        char note[96];
        buf_t n;
        buf_init(&n, note, sizeof note);
        buf_str(&n, "{\"event\":\"overcurrent\",\"current\":");
        buf_fixed(&n, a, 3);
        buf_char(&n, '}');
        if (buf_ok(&n)) notify(note);
    }
    if (meter_should_save(&p->meter, now)) save_energy(p, now);
}

void plug_tick(plug_t *p)
{
    uint64_t now = hal_millis();
    plug_panel_tick(p, now);
    tick_meter(p, now);
    switch (p->state) {
    case PLUG_CLAIMED:
        if (now >= p->next_attempt_ms) start_connect(p, now);
        break;
    case PLUG_CONNECTING:
        if (now - p->connect_started_ms >= PLUG_CONNECT_TIMEOUT_MS) {
            hal_mqtt_disconnect();
            attempt_failed(p);
            schedule_retry(p, now);
        }
        break;
    case PLUG_ONLINE:
        if (now - p->last_telemetry_ms >= p->cfg.telemetry_ms) {
            p->last_telemetry_ms = now;
            publish_telemetry(p);
        }
        request_time(p, now, false);
        plug_ota_tick(p, now);
        break;
    default: break;
    }
}
