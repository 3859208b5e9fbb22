/* A do-nothing HAL and main for the RV32IMC link check: linking core/ against only picolibc
 * and libgcc proves it needs nothing from an SDK (any other symbol would fail the link), and
 * the linked size is the real cost of core on an ESP32-C3, soft-float helpers included. */
#include "hal.h"
#include "plug.h"

uint64_t hal_millis(void) { return 0; }
int64_t hal_unix_ms(void) { return 0; }
void hal_relay_write(bool on) { (void)on; }
void hal_led_write(bool on) { (void)on; }
bool hal_button_read(void) { return false; }
void hal_meter_select(hal_cf1_mode mode) { (void)mode; }
uint32_t hal_meter_take(hal_meter_pin pin) { return (uint32_t)pin; }
int hal_store_get(const char *key, void *buf, size_t cap) { (void)key; (void)buf; (void)cap; return -1; }
bool hal_store_set(const char *key, const void *data, size_t len) { (void)key; (void)data; (void)len; return true; }
bool hal_store_erase_all(void) { return true; }
void hal_wifi_forget(void) {}
bool hal_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t msg_len, const uint8_t pk[32])
{ (void)sig; (void)msg; (void)msg_len; (void)pk; return false; }
bool hal_box_keypair(uint8_t pk[32], uint8_t sk[32]) { (void)pk; (void)sk; return true; }
bool hal_box_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24],
                  const uint8_t sender_pk[32], const uint8_t my_sk[32])
{ (void)out; (void)box; (void)box_len; (void)nonce; (void)sender_pk; (void)my_sk; return false; }
void hal_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len)
{ (void)out; (void)key; (void)key_len; (void)msg; (void)msg_len; }
void hal_random(void *buf, size_t len) { (void)buf; (void)len; }
void hal_sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len) { (void)out; (void)msg; (void)msg_len; }
bool hal_secretbox_open(uint8_t *out, const uint8_t *box, size_t box_len, const uint8_t nonce[24], const uint8_t key[32])
{ (void)out; (void)box; (void)box_len; (void)nonce; (void)key; return false; }
void hal_wipe(void *p, size_t len) { (void)p; (void)len; }
void hal_ristretto255_from_hash(uint8_t p[32], const uint8_t h[64]) { (void)p; (void)h; }
void hal_ristretto255_scalar_random(uint8_t s[32]) { (void)s; }
bool hal_ristretto255_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32])
{ (void)q; (void)n; (void)p; return false; }
bool hal_mqtt_connect(const hal_mqtt_params *p) { (void)p; return false; }
void hal_mqtt_disconnect(void) {}
bool hal_mqtt_publish(const char *topic, const char *payload, size_t len, int qos, bool retain)
{ (void)topic; (void)payload; (void)len; (void)qos; (void)retain; return true; }
bool hal_mqtt_subscribe(const char *topic, int qos) { (void)topic; (void)qos; return true; }
void hal_discovery_changed(bool claimed) { (void)claimed; }
void hal_notify(const char *json) { (void)json; }
uint32_t hal_ota_slot_size(void) { return 0x180000; }
bool hal_ota_begin(uint32_t size, uint32_t resume_at) { (void)size; (void)resume_at; return true; }
bool hal_ota_write(uint32_t offset, const uint8_t *data, size_t len) { (void)offset; (void)data; (void)len; return true; }
bool hal_ota_read(uint32_t offset, uint8_t *buf, size_t len) { (void)offset; (void)buf; (void)len; return true; }
bool hal_ota_activate(const char *version) { (void)version; return true; }
void hal_ota_abort(void) {}
void hal_restart(void) {}

static plug_t plug;

int main(void)
{
    plug_config cfg = {0};
    cfg.id = "plug-000000000000";
    cfg.setup_code = "00000000";
    static const uint8_t fw_pk[32] = {0};
    cfg.fw_pk = fw_pk;
    cfg.cal = meter_cal_bl0937(0.001, 1000.0 / 2351000.0);
    if (!plug_init(&plug, &cfg)) return 1;
    char out[512];
    plug_http_hello(&plug, "", 0, out, sizeof out);
    plug_http_claim(&plug, "", 0, out, sizeof out);
    plug_mqtt_fragment(&plug, "", 0, "", 0, 0, 0);
    plug_mqtt_connected(&plug);
    plug_mqtt_disconnected(&plug);
    for (;;) plug_tick(&plug);
}
