/* The pairing HTTP/1.1 server: GET /pair/hello?pv=2&sid=...&share=..., POST /pair/claim.
 * One connection at a time (pairing is one person with one hub), non-blocking, every request bounded: at most
 * HTTP_MAX_REQUEST bytes of head and body together, a Content-Length body only (no chunked),
 * and HTTP_TIMEOUT_MS to send it. Each answer closes the connection (Connection: close). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hal.h"
#include "pair.h"
#include "sim.h"

#define HTTP_MAX_REQUEST (PAIR_MAX_BODY + 2048)
#define HTTP_TIMEOUT_MS 5000u

#define HTTP_DRAIN_MS 1000u

static int listen_fd = -1, conn_fd = -1;
static char req[HTTP_MAX_REQUEST + 1];
static size_t req_len;
static uint64_t conn_started;
/* After answering, the rest of the request is read and dropped until the client closes (or a
 * second passes): closing with unread input makes the kernel send a RST, which can destroy
 * the answer before the client reads it (a "lingering close"). */
static bool draining;
static uint64_t drain_started;

bool sim_http_start(int port)
{
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) return false;
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 8) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &len) != 0)
        return false;
    sim_opt.http_port = ntohs(a.sin_port);
    return true;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    default: return "Internal Server Error";
    }
}

static void close_conn(void)
{
    if (conn_fd >= 0) close(conn_fd);
    conn_fd = -1;
    req_len = 0;
    draining = false;
}

static void respond(int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, reason(status), strlen(body));
    /* Answers are small (< 1 KB): the socket buffer takes them whole, even non-blocking. */
    (void)!send(conn_fd, head, (size_t)n, MSG_NOSIGNAL);
    (void)!send(conn_fd, body, strlen(body), MSG_NOSIGNAL);
    shutdown(conn_fd, SHUT_WR);
    draining = true;
    drain_started = hal_millis();
}

/* Content-Length from the head; -1 if absent, -2 if invalid or chunked. */
static long content_length(const char *head, size_t head_len)
{
    long len = -1;
    const char *p = head, *end = head + head_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        size_t l = (size_t)(eol - p);
        if (l > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
            char num[24];
            const char *v = p + 15;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            size_t vl = (size_t)(eol - v);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' ')) vl--;
            if (vl == 0 || vl >= sizeof num) return -2;
            memcpy(num, v, vl);
            num[vl] = '\0';
            for (size_t k = 0; k < vl; k++)
                if (num[k] < '0' || num[k] > '9') return -2;
            len = strtol(num, NULL, 10);
        } else if (l > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0) {
            return -2;
        }
        p = eol + 1;
    }
    return len;
}

/* Returns true once the request is complete and answered. */
static bool handle(void)
{
    char *head_end = NULL;
    for (size_t i = 0; i + 3 < req_len; i++)
        if (memcmp(req + i, "\r\n\r\n", 4) == 0) {
            head_end = req + i;
            break;
        }
    if (!head_end) {
        if (req_len >= HTTP_MAX_REQUEST) {
            respond(413, "{\"error\":\"too_large\"}");
            return true;
        }
        return false;
    }
    size_t head_len = (size_t)(head_end - req);
    long clen = content_length(req, head_len);
    if (clen == -2) {
        respond(400, "{\"error\":\"malformed\"}");
        return true;
    }
    size_t body_len = clen < 0 ? 0 : (size_t)clen;
    if (body_len > PAIR_MAX_BODY) {
        respond(413, "{\"error\":\"too_large\"}");
        return true;
    }
    const char *body = head_end + 4;
    if (head_len + 4 + body_len > HTTP_MAX_REQUEST) {
        respond(413, "{\"error\":\"too_large\"}");
        return true;
    }
    if ((size_t)(req + req_len - body) < body_len) return false; /* more to come */

    /* Request line: METHOD SP target SP HTTP/1.x, all searched within the line itself (a
     * space after a stray CR, "GET\rX /a", must not count: the line is over by then). The head
     * ends in CRLF CRLF, so the line has a CR within head_len + 1 bytes. */
    const char *line_end = memchr(req, '\r', head_len + 1);
    size_t line_len = (size_t)(line_end - req);
    const char *sp1 = memchr(req, ' ', line_len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || (size_t)(line_end - sp2 - 1) < 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        respond(400, "{\"error\":\"malformed\"}");
        return true;
    }
    size_t mlen = (size_t)(sp1 - req);
    const char *target = sp1 + 1;
    size_t tlen = (size_t)(sp2 - target);
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    char out[1024];
    int status;
    if (plen == 11 && memcmp(target, "/pair/hello", 11) == 0) {
        if (mlen != 3 || memcmp(req, "GET", 3) != 0) {
            respond(405, "{\"error\":\"method_not_allowed\"}");
            return true;
        }
        /* The core reads the query (pv, sid, share) itself. */
        status = plug_http_hello(&sim_plug, q ? q + 1 : NULL, q ? tlen - plen - 1 : 0, out,
                                 sizeof out);
    } else if (plen == 11 && memcmp(target, "/pair/claim", 11) == 0) {
        if (mlen != 4 || memcmp(req, "POST", 4) != 0) {
            respond(405, "{\"error\":\"method_not_allowed\"}");
            return true;
        }
        status = plug_http_claim(&sim_plug, body, body_len, out, sizeof out);
    } else {
        respond(404, "{\"error\":\"not_found\"}");
        return true;
    }
    respond(status, out);
    return true;
}

int sim_http_pollfds(struct pollfd *pfd)
{
    if (conn_fd >= 0 && draining && hal_millis() - drain_started > HTTP_DRAIN_MS) close_conn();
    if (conn_fd >= 0 && !draining && hal_millis() - conn_started > HTTP_TIMEOUT_MS) {
        respond(408, "{\"error\":\"timeout\"}");
    }
    /* One connection at a time: others wait in the listen backlog. */
    pfd->fd = conn_fd >= 0 ? conn_fd : listen_fd;
    pfd->events = POLLIN;
    pfd->revents = 0;
    return 1;
}

void sim_http_after_poll(const struct pollfd *pfd, int n)
{
    if (n < 1 || !(pfd->revents & (POLLIN | POLLHUP | POLLERR))) return;
    if (pfd->fd == listen_fd) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        conn_fd = fd;
        req_len = 0;
        conn_started = hal_millis();
        return;
    }
    if (draining) {
        char scratch[1024];
        ssize_t d = recv(conn_fd, scratch, sizeof scratch, 0);
        if (d == 0 || (d < 0 && errno != EAGAIN && errno != EINTR)) close_conn();
        return;
    }
    ssize_t r = recv(conn_fd, req + req_len, HTTP_MAX_REQUEST - req_len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        close_conn();
        return;
    }
    req_len += (size_t)r;
    req[req_len] = '\0';
    handle();
}
