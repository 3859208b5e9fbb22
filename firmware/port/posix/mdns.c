/*
 * A small mDNS responder (RFC 6762) for one DNS-SD service (RFC 6763):
 *   _hearth-plug._tcp.local        PTR  <id>._hearth-plug._tcp.local
 *   <id>._hearth-plug._tcp.local   SRV  0 0 <http port> <id>.local
 *   <id>._hearth-plug._tcp.local   TXT  id= model= fw= claimed=0|1 pv=2
 *   <id>.local                     A    --address
 *   _services._dns-sd._udp.local   PTR  _hearth-plug._tcp.local   (RFC 6763 section 9)
 * It answers queries for these names, announces them at start and when `claimed` changes
 * (twice, one second apart: RFC 6762 section 8.3) and says goodbye with TTL 0 on exit
 * (section 10.1). Deliberately left out, because the plug id is unique by construction and the
 * simulator runs on quiet test networks: probing and conflict resolution (8.1-8.2, 9),
 * known-answer suppression (7.1) and the random 20-120 ms delay for shared answers (6).
 * IPv4 only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hal.h"
#include "sim.h"

#define MDNS_PORT 5353
#define MDNS_GROUP "224.0.0.251"
#define TYPE_A 1
#define TYPE_PTR 12
#define TYPE_TXT 16
#define TYPE_SRV 33
#define TYPE_ANY 255
#define CLASS_IN 1
#define CACHE_FLUSH 0x8000 /* RFC 6762 10.2: set on unique records only, never on the PTR */
#define TTL_HOST 120       /* RFC 6762 10: records carrying a host name or address */
#define TTL_OTHER 4500     /* RFC 6762 10: everything else */

static int fd = -1;
static char type_name[] = "_hearth-plug._tcp.local";
static char services_name[] = "_services._dns-sd._udp.local";
static char instance_name[128], host_name[80];
static uint64_t second_announce_at;
static bool second_announce_pending;

enum { R_PTR = 1, R_SRV = 2, R_TXT = 4, R_A = 8, R_ENUM = 16 };

typedef struct {
    uint8_t b[1500];
    size_t n;
    bool overflow;
} pkt;

static void put(pkt *p, const void *d, size_t n)
{
    if (p->overflow || n > sizeof p->b - p->n) {
        p->overflow = true;
        return;
    }
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void put16(pkt *p, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(p, b, 2);
}

static void put32(pkt *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(p, b, 4);
}

/* A dotted name as labels, uncompressed (our packets are small). */
static void put_name(pkt *p, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        uint8_t len = (uint8_t)(l > 63 ? 63 : l);
        put(p, &len, 1);
        put(p, name, len);
        name += l + (dot ? 1 : 0);
    }
    put(p, "", 1);
}

static void rr_head(pkt *p, const char *name, uint16_t type, bool unique, uint32_t ttl,
                    bool legacy)
{
    put_name(p, name);
    put16(p, type);
    put16(p, (uint16_t)(CLASS_IN | (unique && !legacy ? CACHE_FLUSH : 0)));
    put32(p, legacy && ttl > 10 ? 10 : ttl); /* RFC 6762 6.7: legacy unicast TTL <= 10 s */
}

/* Writes rdata of unknown length: reserve the length, fill, patch. */
static size_t rd_begin(pkt *p)
{
    put16(p, 0);
    return p->n;
}

static void rd_end(pkt *p, size_t start)
{
    if (p->overflow) return;
    size_t len = p->n - start;
    p->b[start - 2] = (uint8_t)(len >> 8);
    p->b[start - 1] = (uint8_t)len;
}

static void txt_entry(pkt *p, const char *k, const char *v)
{
    char e[256];
    int n = snprintf(e, sizeof e, "%s=%s", k, v);
    if (n < 0 || n > 255) return;
    uint8_t len = (uint8_t)n;
    put(p, &len, 1);
    put(p, e, len);
}

static int add_records(pkt *p, int which, uint32_t ttl_scale, bool legacy)
{
    int count = 0;
    size_t s;
    /* ttl_scale is 0 for goodbyes, 1 otherwise. */
    if (which & R_ENUM) {
        rr_head(p, services_name, TYPE_PTR, false, TTL_OTHER * ttl_scale, legacy);
        s = rd_begin(p);
        put_name(p, type_name);
        rd_end(p, s);
        count++;
    }
    if (which & R_PTR) {
        rr_head(p, type_name, TYPE_PTR, false, TTL_OTHER * ttl_scale, legacy);
        s = rd_begin(p);
        put_name(p, instance_name);
        rd_end(p, s);
        count++;
    }
    if (which & R_SRV) {
        rr_head(p, instance_name, TYPE_SRV, true, TTL_HOST * ttl_scale, legacy);
        s = rd_begin(p);
        put16(p, 0); /* priority */
        put16(p, 0); /* weight */
        put16(p, (uint16_t)sim_opt.http_port);
        put_name(p, host_name);
        rd_end(p, s);
        count++;
    }
    if (which & R_TXT) {
        rr_head(p, instance_name, TYPE_TXT, true, TTL_OTHER * ttl_scale, legacy);
        s = rd_begin(p);
        txt_entry(p, "id", sim_opt.id);
        txt_entry(p, "model", sim_opt.model);
        txt_entry(p, "fw", sim_opt.fw);
        txt_entry(p, "claimed", sim_plug.claimed ? "1" : "0");
        txt_entry(p, "pv", PAIR_VERSION_TEXT);
        rd_end(p, s);
        count++;
    }
    if (which & R_A) {
        struct in_addr a;
        inet_pton(AF_INET, sim_opt.address, &a);
        rr_head(p, host_name, TYPE_A, true, TTL_HOST * ttl_scale, legacy);
        put16(p, 4);
        put(p, &a.s_addr, 4);
        count++;
    }
    return count;
}

static void send_to(const pkt *p, const struct sockaddr_in *to)
{
    if (p->overflow) return;
    (void)!sendto(fd, p->b, p->n, 0, (const struct sockaddr *)to, sizeof *to);
}

static void send_multicast(const pkt *p)
{
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(MDNS_PORT);
    inet_pton(AF_INET, MDNS_GROUP, &to.sin_addr);
    send_to(p, &to);
}

/* An unsolicited response with everything: announcements (ttl_scale 1) and goodbyes (0). */
static void send_all(uint32_t ttl_scale)
{
    pkt p = {.n = 0, .overflow = false};
    put16(&p, 0);      /* id */
    put16(&p, 0x8400); /* QR, AA */
    put16(&p, 0);
    put16(&p, 4);
    put16(&p, 0);
    put16(&p, 0);
    add_records(&p, R_PTR | R_SRV | R_TXT | R_A, ttl_scale, false);
    send_multicast(&p);
}

void sim_mdns_announce(void)
{
    if (fd < 0) return;
    send_all(1);
    second_announce_pending = true;
    second_announce_at = hal_millis() + 1000;
}

void sim_mdns_goodbye(void)
{
    if (fd < 0) return;
    send_all(0);
}

void sim_mdns_tick(void)
{
    if (second_announce_pending && hal_millis() >= second_announce_at) {
        second_announce_pending = false;
        send_all(1);
    }
}

bool sim_mdns_start(void)
{
    snprintf(instance_name, sizeof instance_name, "%s.%s", sim_opt.id, type_name);
    snprintf(host_name, sizeof host_name, "%s.local", sim_opt.id);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1, ttl = 255;
    /* Share 5353 with any other responder on the host (Avahi does the same). */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(MDNS_PORT);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) goto fail;
    struct ip_mreqn m;
    memset(&m, 0, sizeof m);
    inet_pton(AF_INET, MDNS_GROUP, &m.imr_multiaddr);
    inet_pton(AF_INET, sim_opt.address, &m.imr_address);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) {
        /* The advertised address may not be local (a NAT'd demo): let routing choose. */
        m.imr_address.s_addr = htonl(INADDR_ANY);
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) goto fail;
    }
    /* Send from the advertised address's interface; loop back so local browsers hear us. */
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl); /* RFC 6762 11 */
    sim_mdns_announce();
    return true;
fail:
    close(fd);
    fd = -1;
    return false;
}

/* Reads a possibly compressed name at *off into out (dotted, lowercase-insensitive compare
 * later). Bounded: at most 16 pointer jumps and 255 characters; false on anything odd. */
static bool read_name(const uint8_t *b, size_t n, size_t *off, char *out, size_t cap)
{
    size_t o = *off, w = 0;
    int jumps = 0;
    bool jumped = false;
    for (;;) {
        if (o >= n) return false;
        uint8_t l = b[o];
        if (l == 0) {
            if (!jumped) *off = o + 1;
            break;
        }
        if ((l & 0xC0) == 0xC0) {
            if (o + 1 >= n || ++jumps > 16) return false;
            if (!jumped) *off = o + 2;
            jumped = true;
            o = ((size_t)(l & 0x3F) << 8) | b[o + 1];
            continue;
        }
        if ((l & 0xC0) != 0 || o + 1 + l > n) return false;
        if (w + l + 2 > cap) return false;
        if (w > 0) out[w++] = '.';
        memcpy(out + w, b + o + 1, l);
        w += l;
        o += 1 + (size_t)l;
    }
    out[w] = '\0';
    return true;
}

static void handle_query(const uint8_t *b, size_t n, const struct sockaddr_in *from)
{
    if (n < 12) return;
    uint16_t flags = (uint16_t)(b[2] << 8 | b[3]);
    if (flags & 0x8000) return; /* a response (maybe our own, looped back) */
    uint16_t qd = (uint16_t)(b[4] << 8 | b[5]);
    bool legacy = ntohs(from->sin_port) != MDNS_PORT; /* RFC 6762 6.7 */
    int answer = 0;
    size_t off = 12;
    size_t q_start = 12, q_end = 12;
    for (int i = 0; i < qd && i < 16; i++) {
        char name[256];
        if (!read_name(b, n, &off, name, sizeof name) || off + 4 > n) return;
        uint16_t qtype = (uint16_t)(b[off] << 8 | b[off + 1]);
        off += 4;
        q_end = off;
        bool any = qtype == TYPE_ANY;
        if (strcasecmp(name, type_name) == 0 && (any || qtype == TYPE_PTR)) answer |= R_PTR;
        if (strcasecmp(name, services_name) == 0 && (any || qtype == TYPE_PTR)) answer |= R_ENUM;
        if (strcasecmp(name, instance_name) == 0) {
            if (any || qtype == TYPE_SRV) answer |= R_SRV;
            if (any || qtype == TYPE_TXT) answer |= R_TXT;
        }
        if (strcasecmp(name, host_name) == 0 && (any || qtype == TYPE_A)) answer |= R_A;
    }
    if (!answer) return;
    /* DNS-SD additional records (RFC 6763 12): with the PTR, the SRV, TXT and A; with the
     * SRV, the A. */
    int extra = 0;
    if (answer & R_PTR) extra |= (R_SRV | R_TXT | R_A) & ~answer;
    if (answer & R_SRV) extra |= R_A & ~answer;
    pkt p = {.n = 0, .overflow = false};
    put16(&p, legacy ? (uint16_t)(b[0] << 8 | b[1]) : 0);
    put16(&p, 0x8400);
    /* Legacy unicast replies repeat the question (RFC 6762 6.7). Only a single plain question
     * is echoed, which covers the resolvers that use it (dig, nslookup). */
    bool echo = legacy && qd == 1 && (b[12] & 0xC0) == 0;
    put16(&p, echo ? 1 : 0);
    size_t counts = p.n;
    put16(&p, 0);
    put16(&p, 0);
    put16(&p, 0);
    if (echo) put(&p, b + q_start, q_end - q_start);
    int an = add_records(&p, answer, 1, legacy);
    int ar = add_records(&p, extra, 1, legacy);
    if (p.overflow) return;
    p.b[counts] = (uint8_t)(an >> 8);
    p.b[counts + 1] = (uint8_t)an;
    p.b[counts + 4] = (uint8_t)(ar >> 8);
    p.b[counts + 5] = (uint8_t)ar;
    if (legacy) send_to(&p, from);
    else send_multicast(&p);
}

int sim_mdns_pollfd(struct pollfd *pfd)
{
    if (fd < 0) return 0;
    pfd->fd = fd;
    pfd->events = POLLIN;
    pfd->revents = 0;
    return 1;
}

void sim_mdns_after_poll(const struct pollfd *pfd, int n)
{
    if (n < 1 || !(pfd->revents & POLLIN)) return;
    for (int i = 0; i < 16; i++) {
        uint8_t b[1500];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
        if (r <= 0) return;
        handle_query(b, (size_t)r, &from);
    }
}
