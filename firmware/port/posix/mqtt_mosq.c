/* hal.h MQTT on libmosquitto, driven from the simulator's own poll loop (no mosquitto
 * thread), so the core is only ever entered from one thread. libmosquitto's callbacks only
 * record what happened (CONNACK, a message, the connection ending); the loop hands it to the
 * core afterwards. That keeps the core out of HAL calls it made (hal.h), and out of
 * libmosquitto callbacks, where a publish is only queued: outside them it goes straight to the
 * socket, so a command's state confirmation leaves before the plug writes its storage. */
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "hal.h"
#include "sim.h"

#define INBOX 4

static struct mosquitto *mosq;
static bool active;         /* between hal_mqtt_connect() and the core hearing it ended */
static bool lost;           /* the connection ended; tell the core after this loop pass */
static bool connack;        /* accepted CONNACK; tell the core after this loop pass */

/* Messages received in one loop pass, handed to the core in pieces of --mqtt-buffer bytes
 * through plug_mqtt_fragment(), the way esp-mqtt hands over a message larger than its buffer,
 * so the reassembly that runs on the plug runs here too. Only the first MQTT_RX_MAX + 1 bytes
 * are kept: the core's reassembly never looks at bytes past that bound (it only counts them),
 * so the rest of a longer message is passed as pieces of a zeroed buffer. */
typedef struct {
    char topic[MQTT_RX_TOPIC_MAX];
    char payload[MQTT_RX_MAX + 1];
    size_t len;   /* bytes kept */
    size_t total; /* the message's length */
} inbox_msg;
static inbox_msg inbox[INBOX];
static int inbox_n;

void sim_mqtt_init(void) { mosquitto_lib_init(); }

static void note(const char *event, int rc, const char *why)
{
    char mem[200];
    buf_t b;
    buf_init(&b, mem, sizeof mem);
    buf_str(&b, "{\"event\":");
    buf_json_str(&b, event);
    buf_str(&b, ",\"rc\":");
    buf_i64(&b, rc);
    buf_str(&b, ",\"reason\":");
    buf_json_str(&b, why);
    buf_char(&b, '}');
    if (buf_ok(&b)) sim_event(mem);
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    (void)ud;
    if (rc == 0) {
        connack = true;
    } else {
        note("mqtt_connect_refused", rc, mosquitto_connack_string(rc));
        lost = true;
    }
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    (void)ud;
    (void)rc;
    lost = true;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    (void)ud;
    if (inbox_n >= INBOX || strlen(msg->topic) >= sizeof inbox[0].topic) return;
    inbox_msg *in = &inbox[inbox_n++];
    snprintf(in->topic, sizeof in->topic, "%s", msg->topic);
    size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    in->total = len;
    in->len = len > sizeof in->payload ? sizeof in->payload : len;
    memcpy(in->payload, msg->payload, in->len);
}

static void deliver(const inbox_msg *in)
{
    static char piece[SIM_MQTT_BUFFER_MAX];
    size_t step = sim_opt.mqtt_buffer ? sim_opt.mqtt_buffer : SIM_MQTT_BUFFER_MAX;
    size_t off = 0;
    do {
        size_t n = in->total - off < step ? in->total - off : step;
        const char *data = in->payload + off;
        if (off + n > in->len) { /* reaches past what was kept: zeros there, never read */
            size_t kept = off < in->len ? in->len - off : 0;
            memset(piece, 0, n);
            memcpy(piece, in->payload + off, kept);
            data = piece;
        }
        plug_mqtt_fragment(&sim_plug, off == 0 ? in->topic : NULL, off == 0 ? strlen(in->topic) : 0,
                           data, n, off, in->total);
        off += n;
    } while (off < in->total);
}

static void drop(void)
{
    if (mosq) mosquitto_destroy(mosq); /* no callbacks from here */
    mosq = NULL;
    connack = false;
    inbox_n = 0;
}

bool hal_mqtt_connect(const hal_mqtt_params *p)
{
    drop();
    lost = false;
    mosq = mosquitto_new(p->client_id, p->clean_session, NULL);
    if (!mosq) return false;
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    /* Small packets that someone waits for (PUBACK, state confirmations): no Nagle delay. */
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_disconnect_callback_set(mosq, on_disconnect);
    mosquitto_message_callback_set(mosq, on_message);
    if (mosquitto_username_pw_set(mosq, p->username, p->password) != MOSQ_ERR_SUCCESS ||
        mosquitto_will_set(mosq, p->will_topic, (int)strlen(p->will_payload), p->will_payload, 1,
                           true) != MOSQ_ERR_SUCCESS) {
        drop();
        return false;
    }
    if (p->psk) {
        /* libmosquitto takes its own reference to the context (MOSQ_OPT_SSL_CTX); without
         * its defaults it uses the context exactly as made (tls_psk.c). */
        void *ctx = sim_tls_psk_context(p->psk, p->psk_identity);
        int set = ctx ? mosquitto_void_option(mosq, MOSQ_OPT_SSL_CTX, ctx) : MOSQ_ERR_TLS;
        if (ctx) sim_tls_context_free(ctx);
        if (set != MOSQ_ERR_SUCCESS ||
            mosquitto_int_option(mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0) != MOSQ_ERR_SUCCESS) {
            note("mqtt_tls_failed", set, "cannot make the TLS context");
            drop();
            return false;
        }
    }
    /* A blocking TCP connect: instant on loopback, and the simulator only runs there. */
    int rc = mosquitto_connect(mosq, p->host, p->port, p->keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
        note("mqtt_connect_failed", rc, mosquitto_strerror(rc));
        drop();
        return false;
    }
    active = true;
    return true;
}

void hal_mqtt_disconnect(void)
{
    if (mosq) {
        mosquitto_disconnect(mosq);
        mosquitto_loop_write(mosq, 1);
    }
    drop();
    active = false;
    lost = false;
}

bool hal_mqtt_publish(const char *topic, const char *payload, size_t len, int qos, bool retain)
{
    return mosq && mosquitto_publish(mosq, NULL, topic, (int)len, payload, qos, retain) ==
                       MOSQ_ERR_SUCCESS;
}

bool hal_mqtt_subscribe(const char *topic, int qos)
{
    return mosq && mosquitto_subscribe(mosq, NULL, topic, qos) == MOSQ_ERR_SUCCESS;
}

int sim_mqtt_pollfd(struct pollfd *pfd)
{
    int fd = mosq ? mosquitto_socket(mosq) : -1;
    if (fd < 0) return 0;
    pfd->fd = fd;
    pfd->events = POLLIN | (mosquitto_want_write(mosq) ? POLLOUT : 0);
    pfd->revents = 0;
    return 1;
}

void sim_mqtt_after_poll(const struct pollfd *pfd, int n)
{
    if (mosq) {
        int rc = MOSQ_ERR_SUCCESS;
        if (n > 0 && (pfd->revents & (POLLIN | POLLHUP | POLLERR))) rc = mosquitto_loop_read(mosq, 1);
        if (mosq && rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq))
            rc = mosquitto_loop_write(mosq, 1);
        if (mosq && rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq);
        if (rc != MOSQ_ERR_SUCCESS) lost = true;
    }
    if (connack && active) {
        connack = false;
        plug_mqtt_connected(&sim_plug);
    }
    for (int i = 0; i < inbox_n && mosq; i++)
        deliver(&inbox[i]);
    inbox_n = 0;
    if (lost && active) {
        lost = false;
        active = false;
        drop();
        plug_mqtt_disconnected(&sim_plug);
    }
}

void sim_mqtt_shutdown(void)
{
    /* A clean DISCONNECT makes the broker discard the will ([MQTT-3.14.4-3]); the hub's
     * broker publishes offline for a plug that disconnects anyway. */
    hal_mqtt_disconnect();
    mosquitto_lib_cleanup();
}
