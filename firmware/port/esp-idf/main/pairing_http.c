/* The pairing endpoints on esp_http_server: GET /pair/hello?pv=2&sid=...&share=...,
 * POST /pair/claim.
 * Requests are bounded before they reach the core (PAIR_MAX_BODY); the core builds every
 * answer. The server runs on its own task, so the core is entered under core_lock. */
#include <string.h>

#include "board.h"
#include "esp_http_server.h"
#include "pair.h"

static esp_err_t send_json(httpd_req_t *req, int status, const char *body)
{
    static const struct {
        int code;
        const char *line;
    } lines[] = {{200, "200 OK"}, {400, "400 Bad Request"}, {403, "403 Forbidden"},
                 {409, "409 Conflict"}, {410, "410 Gone"}, {413, "413 Content Too Large"},
                 {429, "429 Too Many Requests"}};
    const char *line = "500 Internal Server Error";
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (lines[i].code == status) line = lines[i].line;
    httpd_resp_set_status(req, line);
    httpd_resp_set_type(req, "application/json");
    httpd_resp_set_hdr(req, "Cache-Control", "no-store");
    return httpd_resp_sendstr(req, body);
}

static esp_err_t on_hello(httpd_req_t *req)
{
    /* pv=2&sid=<22 chars>&share=<43 chars>: 81 characters; the core reads it. */
    char query[160], out[512];
    bool have = httpd_req_get_url_query_str(req, query, sizeof query) == ESP_OK;
    CORE_LOCK();
    int status = plug_http_hello(&board_plug, have ? query : NULL, have ? strlen(query) : 0, out,
                                 sizeof out);
    CORE_UNLOCK();
    return send_json(req, status, out);
}

static esp_err_t on_claim(httpd_req_t *req)
{
    static char body[PAIR_MAX_BODY]; /* one request at a time: the server has one worker */
    char out[128];
    if (req->content_len == 0 || req->content_len > sizeof body)
        return send_json(req, req->content_len ? 413 : 400,
                         req->content_len ? "{\"error\":\"too_large\"}" : "{\"error\":\"malformed\"}");
    size_t got = 0;
    while (got < req->content_len) {
        int r = httpd_req_recv(req, body + got, req->content_len - got);
        if (r <= 0) return ESP_FAIL; /* closed or timed out: the server drops the socket */
        got += (size_t)r;
    }
    CORE_LOCK();
    int status = plug_http_claim(&board_plug, body, got, out, sizeof out);
    CORE_UNLOCK();
    return send_json(req, status, out);
}

uint16_t board_http_start(void)
{
    httpd_config_t cfg = HTTPD_DEFAULT_CONFIG();
    cfg.server_port = 80;
    /* A hello runs the pairing PAKE on this task: about 6.3 KB of stack with libsodium's scalar
     * multiplication (`make -C firmware pake-cost`, helloStackBytes), more than the default
     * 4 KB. 10 KB leaves room for the server itself and the claim's buffers. */
    cfg.stack_size = 10240;
    cfg.max_open_sockets = 2;
    cfg.recv_wait_timeout = 5;
    cfg.lru_purge_enable = true;
    httpd_handle_t server = NULL;
    ESP_ERROR_CHECK(httpd_start(&server, &cfg));
    static const httpd_uri_t hello = {.uri = "/pair/hello", .method = HTTP_GET, .handler = on_hello};
    static const httpd_uri_t claim = {.uri = "/pair/claim", .method = HTTP_POST, .handler = on_claim};
    httpd_register_uri_handler(server, &hello);
    httpd_register_uri_handler(server, &claim);
    return cfg.server_port;
}
