/* Fuzz target: a claimed, online plug receiving MQTT data the way esp-mqtt hands it over.
 * Input: byte 0 picks the topic (cmd, time, ota, another plug's, an over-long one), byte 1 the
 * fragment size (0: whole), the rest is the payload, delivered in fragments through
 * plug_mqtt_fragment(): the reassembly bound, command verification, the time answer and the
 * firmware chunk header all see it. Byte 0 bit 7 leaves the second fragment out (a gap). */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "fake_hal.h"
#include "plug.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static plug_t plug;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return sodium_init() < 0 ? 1 : 0;
}

static void claimed_online_plug(void)
{
    fake_reset_all();
    uint8_t pk[32] = {1, 2, 3};
    fake_store_put("claimed", "1", 1);
    fake_store_put("mq_host", "127.0.0.1", 9);
    fake_store_put("mq_port", "1883", 4);
    fake_store_put("mq_user", "plug-0a1b2c3d4e5f", 17);
    fake_store_put("mq_pass", "pw", 2);
    fake_store_put("hub_pk", pk, 32);
    fake_store_put("ctr", "7", 1);
    static const uint8_t fw_pk[32] = {4, 5, 6};
    plug_config c;
    memset(&c, 0, sizeof c);
    c.id = "plug-0a1b2c3d4e5f";
    c.setup_code = "12345678";
    c.model = "hearth-plug-sim";
    c.fw = "1.0.0";
    c.fw_pk = fw_pk;
    c.cal = meter_cal_bl0937(0.001, 1000.0 / 2351000.0);
    (void)plug_init(&plug, &c);
    plug_tick(&plug);
    plug_mqtt_connected(&plug);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    claimed_online_plug();
    static const char *topics[] = {"hearth/plug-0a1b2c3d4e5f/cmd", "hearth/plug-0a1b2c3d4e5f/time",
                                   "hearth/plug-0a1b2c3d4e5f/ota", "hearth/plug-000000000000/cmd",
                                   "hearth/plug-0a1b2c3d4e5f/cmd/and/a/topic/far/too/long/for/the/buffer/xx"};
    const char *topic = topics[(data[0] & 0x7f) % 5];
    size_t step = data[1];
    const char *p = (const char *)data + 2;
    size_t n = size - 2;
    bool gap = data[0] & 0x80; /* leave the second piece out: the message must be dropped */
    size_t off = 0, index = 0;
    for (;;) {
        size_t k = step == 0 || n - off < step ? n - off : step;
        if (!(gap && index == 1))
            plug_mqtt_fragment(&plug, off == 0 ? topic : NULL, off == 0 ? strlen(topic) : 0,
                               p + off, k, off, n);
        off += k;
        index++;
        if (off >= n) break;
    }
    return 0;
}
