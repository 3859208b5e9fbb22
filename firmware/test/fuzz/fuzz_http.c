/* Fuzz target: the simulator's pairing HTTP server (port/posix/http_pair.c, included so its
 * static request handling is reached without a socket) over a plug on the fake HAL. The input
 * is the bytes a client sent, handed over in two reads split at byte 0's value (0: one read),
 * as the poll loop does. No socket is open (fd -1): answers go nowhere. */
#include "../../port/posix/http_pair.c"

#include <sodium.h>

#include "fake_hal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

sim_options sim_opt;
plug_t sim_plug;
void sim_event(const char *json) { (void)json; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return sodium_init() < 0 ? 1 : 0;
}

/* As sim_http_after_poll does: append what recv() returned (bounded by the room left), then
 * handle the request so far. */
static void feed(const uint8_t *d, size_t n)
{
    close_conn();
    size_t first = d[0] && d[0] < n ? d[0] : n;
    for (size_t off = 0; off < n && !draining;) {
        size_t want = off == 0 ? first : n - off;
        size_t room = HTTP_MAX_REQUEST - req_len;
        size_t k = want < room ? want : room;
        if (k == 0) break; /* recv() of 0 bytes: the server closes */
        memcpy(req + req_len, d + off, k);
        req_len += k;
        req[req_len] = '\0';
        off += k;
        if (handle()) break;
    }
    close_conn();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fake_reset_all();
    plug_config c;
    memset(&c, 0, sizeof c);
    c.id = "plug-0a1b2c3d4e5f";
    c.setup_code = "12345678";
    c.cal = meter_cal_bl0937(0.001, 1000.0 / 2351000.0);
    (void)plug_init(&sim_plug, &c);
    feed(data, size);
    return 0;
}
