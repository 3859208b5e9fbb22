#include "fake_hal.h"

#include <stdio.h>
#include <string.h>

#include "plug.h"

fake_board fake;
uint8_t fake_slot[FAKE_SLOT];

typedef struct {
    char key[16];
    uint8_t val[512];
    size_t len;
    bool used;
} slot;

static slot store[32];

void fake_reset_board(void)
{
    memset(&fake, 0, sizeof fake);
    fake.connect_ok = true;
    fake.now_ms = 1000;
    fake.unix_ms = 1767225600000; /* the vectors' t0 */
    fake.ota_slot_size = FAKE_SLOT;
    fake.mqtt_fragment = 1024; /* esp-mqtt's default buffer */
}

void fake_reset_all(void)
{
    memset(store, 0, sizeof store);
    memset(fake_slot, 0xff, sizeof fake_slot);
    fake_reset_board();
}

uint64_t hal_millis(void) { return fake.now_ms; }
int64_t hal_unix_ms(void) { return fake.unix_ms; }
void hal_relay_write(bool on) { fake.relay = on; }
void hal_led_write(bool on) { fake.led = on; }
bool hal_button_read(void) { return fake.button; }
void hal_meter_select(hal_cf1_mode mode) { fake.cf1_mode = mode; }

uint32_t hal_meter_take(hal_meter_pin pin)
{
    uint32_t n = fake.pulses[pin];
    fake.pulses[pin] = 0;
    return n;
}

static slot *find(const char *key)
{
    for (size_t i = 0; i < sizeof store / sizeof store[0]; i++)
        if (store[i].used && strcmp(store[i].key, key) == 0) return &store[i];
    return NULL;
}

int hal_store_get(const char *key, void *buf, size_t cap)
{
    slot *s = find(key);
    if (!s) return -1;
    if (s->len > cap) return -2;
    memcpy(buf, s->val, s->len);
    return (int)s->len;
}

bool hal_store_set(const char *key, const void *data, size_t len)
{
    if (fake.store_fail || strlen(key) > 15 || len > sizeof store[0].val) return false;
    slot *s = find(key);
    for (size_t i = 0; !s && i < sizeof store / sizeof store[0]; i++)
        if (!store[i].used) s = &store[i];
    if (!s) return false;
    s->used = true;
    snprintf(s->key, sizeof s->key, "%s", key);
    memcpy(s->val, data, len);
    s->len = len;
    fake.store_writes++;
    return true;
}

bool hal_store_erase_all(void)
{
    memset(store, 0, sizeof store);
    return true;
}

void hal_wifi_forget(void)
{
    fake.wifi_forgets++;
    memset(fake.wifi_ssid, 0, sizeof fake.wifi_ssid);
}

void fake_deliver(void *plug, const char *topic, const char *payload, size_t len)
{
    size_t step = fake.mqtt_fragment ? fake.mqtt_fragment : (len ? len : 1);
    size_t off = 0;
    do {
        size_t n = len - off < step ? len - off : step;
        plug_mqtt_fragment((plug_t *)plug, off == 0 ? topic : NULL, off == 0 ? strlen(topic) : 0,
                           payload + off, n, off, len);
        off += n;
    } while (off < len);
}

bool fake_store_has(const char *key) { return find(key) != NULL; }

int fake_store_get_str(const char *key, char *out, size_t cap)
{
    int n = hal_store_get(key, out, cap - 1);
    out[n < 0 ? 0 : n] = '\0';
    return n;
}

void fake_store_put(const char *key, const void *data, size_t len)
{
    bool f = fake.store_fail;
    fake.store_fail = false;
    hal_store_set(key, data, len);
    fake.store_fail = f;
}

bool hal_mqtt_connect(const hal_mqtt_params *p)
{
    fake.connects++;
    snprintf(fake.conn_host, sizeof fake.conn_host, "%s", p->host);
    snprintf(fake.conn_user, sizeof fake.conn_user, "%s", p->username);
    snprintf(fake.conn_pass, sizeof fake.conn_pass, "%s", p->password);
    snprintf(fake.conn_client, sizeof fake.conn_client, "%s", p->client_id);
    snprintf(fake.conn_will, sizeof fake.conn_will, "%s=%s", p->will_topic, p->will_payload);
    fake.conn_port = p->port;
    fake.conn_tls = p->psk != NULL;
    if (p->psk) memcpy(fake.conn_psk, p->psk, sizeof fake.conn_psk);
    snprintf(fake.conn_psk_identity, sizeof fake.conn_psk_identity, "%s", p->psk ? p->psk_identity : "");
    fake.conn_keepalive = p->keepalive_s;
    fake.conn_clean = p->clean_session;
    return fake.connect_ok;
}

void hal_mqtt_disconnect(void) { fake.disconnects++; }

bool hal_mqtt_publish(const char *topic, const char *payload, size_t len, int qos, bool retain)
{
    if (fake.npubs >= FAKE_MAX_PUB) {
        memmove(&fake.pubs[0], &fake.pubs[1], sizeof fake.pubs[0] * (FAKE_MAX_PUB - 1));
        fake.npubs--;
    }
    fake_pub *p = &fake.pubs[fake.npubs++];
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    snprintf(p->payload, sizeof p->payload, "%.*s", (int)len, payload);
    p->qos = qos;
    p->retain = retain;
    p->store_writes_before = fake.store_writes;
    return true;
}

bool hal_mqtt_subscribe(const char *topic, int qos)
{
    (void)qos;
    if (fake.nsubs < 4) snprintf(fake.subs[fake.nsubs++], sizeof fake.subs[0], "%s", topic);
    return true;
}

void hal_discovery_changed(bool claimed)
{
    fake.discovery_changes++;
    fake.last_discovery_claimed = claimed;
}

void hal_notify(const char *json)
{
    fake.notes++;
    snprintf(fake.last_note, sizeof fake.last_note, "%s", json);
}

static bool ends_with(const char *s, const char *leaf)
{
    size_t a = strlen(s), b = strlen(leaf);
    return a >= b && strcmp(s + a - b, leaf) == 0;
}

const fake_pub *fake_last_pub(const char *leaf)
{
    for (int i = fake.npubs - 1; i >= 0; i--)
        if (ends_with(fake.pubs[i].topic, leaf)) return &fake.pubs[i];
    return NULL;
}

int fake_count_pubs(const char *leaf)
{
    int n = 0;
    for (int i = 0; i < fake.npubs; i++)
        if (ends_with(fake.pubs[i].topic, leaf)) n++;
    return n;
}

uint32_t hal_ota_slot_size(void) { return fake.ota_slot_size; }

bool hal_ota_begin(uint32_t size, uint32_t resume_at)
{
    fake.ota_begins++;
    fake.ota_resume_at = resume_at;
    if (size > FAKE_SLOT || resume_at > size) return false;
    memset(fake_slot + resume_at, 0xff, FAKE_SLOT - resume_at); /* erased flash */
    return true;
}

bool hal_ota_write(uint32_t offset, const uint8_t *data, size_t len)
{
    if (fake.store_fail || offset > FAKE_SLOT || len > FAKE_SLOT - offset) return false;
    memcpy(fake_slot + offset, data, len);
    return true;
}

bool hal_ota_read(uint32_t offset, uint8_t *buf, size_t len)
{
    if (offset > FAKE_SLOT || len > FAKE_SLOT - offset) return false;
    memcpy(buf, fake_slot + offset, len);
    return true;
}

bool hal_ota_activate(const char *version)
{
    snprintf(fake.ota_activated, sizeof fake.ota_activated, "%s", version);
    return true;
}

void hal_ota_abort(void) { fake.ota_aborts++; }
void hal_restart(void) { fake.restarts++; }
