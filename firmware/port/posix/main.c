/*
 * plug-sim: the Hearth plug core on Linux. Same core as the ESP32, with libsodium for crypto,
 * libmosquitto for MQTT, files for flash, a tiny HTTP server for pairing, its own mDNS
 * responder and a simulated load behind a simulated BL0937.
 *
 *   plug-sim --id ID --setup-code CODE --state DIR [--load-watts W] [--model M]
 *            [--http-port N] [--address A] [--telemetry-ms N] [--keepalive S]
 *            [--power-on off|on|restore] [--volts V] [--overcurrent-a A] [--no-mdns]
 *            [--no-clock] [--fw VERSION] [--ota-slot-kb N] [--pairing-window-s N]
 *            [--mqtt-buffer N] [--die-after-store KEY]
 *
 * --fw: the factory firmware version (default 1.0.0); once an update was activated the
 * simulator reports that version instead (ota-boot in the state directory). --ota-slot-kb: the
 * inactive OTA slot's size (default 1536). Firmware images must be signed with the TEST
 * firmware key (port/common/fw_test_key.h). After an update the simulator re-executes itself:
 * same pid, same stdout, a new "started" line.
 *
 * --pairing-window-s: how long /pair/hello is answered after start (default 600, the plug's 10
 * minutes; tests shorten it); a button press (SIGUSR1) opens 10 minutes, as on the plug. --mqtt-buffer: received MQTT messages reach the core in
 * pieces of this many bytes, as esp-mqtt hands over anything larger than its buffer (default
 * 1024, esp-mqtt's default, so every firmware chunk goes through reassembly; 0: up to 8192).
 *
 * --die-after-store KEY: a power cut for tests: the process ends at once (exit 137, as after
 * SIGKILL) right after storing KEY, e.g. mq_next_pass in the middle of a password change.
 *
 * --no-clock: the simulator does not know the wall clock, like an ESP32 after a power cut with
 * no SNTP (internet down); it takes the hub's time (docs/plug-protocol.md, "Time").
 *
 * stdout: one JSON object per line for each notable event. SIGTERM/SIGINT: orderly exit
 * (retained offline, DISCONNECT, mDNS goodbye). SIGUSR1: a button press (toggles the relay and,
 * unclaimed, opens the pairing window).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fw_test_key.h"
#include "buf.h"
#include "sim.h"

#define SIM_FW "1.0.0"

sim_options sim_opt;
plug_t sim_plug;
static volatile sig_atomic_t stop_signal, button_presses;

void sim_event(const char *json)
{
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void usage_exit(const char *why)
{
    fprintf(stderr, "plug-sim: %s\n"
                    "usage: plug-sim --id ID --setup-code CODE --state DIR [--load-watts W] "
                    "[--model M] [--http-port N] [--address A] [--telemetry-ms N] "
                    "[--keepalive S] [--power-on off|on|restore] [--volts V] "
                    "[--overcurrent-a A] [--no-mdns] [--no-clock] [--fw VERSION] "
                    "[--ota-slot-kb N] [--pairing-window-s N] [--mqtt-buffer N] [--die-after-store KEY]\n",
            why);
    exit(2);
}

static double num_arg(const char *flag, const char *v, double min, double max)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= min && d <= max)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: expected a number in [%g, %g], got '%s'", flag, min, max, v);
        usage_exit(msg);
    }
    return d;
}

/* The first up, non-loopback IPv4 address, else 127.0.0.1 (inside the test namespace). */
static void default_address(char *out, size_t cap)
{
    snprintf(out, cap, "127.0.0.1");
    struct ifaddrs *ifs, *i;
    if (getifaddrs(&ifs) != 0) return;
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)cap);
        break;
    }
    freeifaddrs(ifs);
}

static void parse_args(int argc, char **argv)
{
    sim_opt.model = "hearth-plug-sim";
    sim_opt.fw = SIM_FW;
    sim_opt.load_watts = 60;
    sim_opt.volts = 230;
    sim_opt.telemetry_ms = 1000;
    sim_opt.keepalive_s = 10;
    sim_opt.power_on = POWER_ON_RESTORE;
    sim_opt.overcurrent_a = 16;
    sim_opt.mdns = true;
    sim_opt.ota_slot_kb = 1536;
    sim_opt.pair_window_s = 600;
    sim_opt.mqtt_buffer = 1024;
    int http_port = 0;
    const char *address = NULL;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--no-mdns") == 0) {
            sim_opt.mdns = false;
            continue;
        }
        if (strcmp(f, "--no-clock") == 0) {
            sim_opt.no_clock = true;
            continue;
        }
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) usage_exit("help");
        if (i + 1 >= argc) {
            char msg[96];
            snprintf(msg, sizeof msg, "%.40s needs a value", f);
            usage_exit(msg);
        }
        const char *v = argv[++i];
        if (strcmp(f, "--id") == 0) sim_opt.id = v;
        else if (strcmp(f, "--setup-code") == 0) sim_opt.setup_code = v;
        else if (strcmp(f, "--state") == 0) sim_opt.state_dir = v;
        else if (strcmp(f, "--model") == 0) sim_opt.model = v;
        else if (strcmp(f, "--fw") == 0) sim_opt.fw = v;
        else if (strcmp(f, "--ota-slot-kb") == 0) sim_opt.ota_slot_kb = (uint32_t)num_arg(f, v, 0, 16384);
        else if (strcmp(f, "--pairing-window-s") == 0) sim_opt.pair_window_s = (uint32_t)num_arg(f, v, 1, 86400);
        else if (strcmp(f, "--mqtt-buffer") == 0) sim_opt.mqtt_buffer = (uint32_t)num_arg(f, v, 0, SIM_MQTT_BUFFER_MAX);
        else if (strcmp(f, "--address") == 0) address = v;
        else if (strcmp(f, "--die-after-store") == 0) sim_store_die_after(v);
        else if (strcmp(f, "--load-watts") == 0) sim_opt.load_watts = num_arg(f, v, 0, 10000);
        else if (strcmp(f, "--volts") == 0) sim_opt.volts = num_arg(f, v, 1, 400);
        else if (strcmp(f, "--overcurrent-a") == 0) sim_opt.overcurrent_a = num_arg(f, v, 0, 100);
        else if (strcmp(f, "--http-port") == 0) http_port = (int)num_arg(f, v, 0, 65535);
        else if (strcmp(f, "--telemetry-ms") == 0) sim_opt.telemetry_ms = (uint32_t)num_arg(f, v, 10, 3600000);
        else if (strcmp(f, "--keepalive") == 0) sim_opt.keepalive_s = (uint16_t)num_arg(f, v, 1, 65535);
        else if (strcmp(f, "--power-on") == 0) {
            if (strcmp(v, "off") == 0) sim_opt.power_on = POWER_ON_OFF;
            else if (strcmp(v, "on") == 0) sim_opt.power_on = POWER_ON_ON;
            else if (strcmp(v, "restore") == 0) sim_opt.power_on = POWER_ON_RESTORE;
            else usage_exit("--power-on: expected off, on or restore");
        } else {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown flag %.40s", f);
            usage_exit(msg);
        }
    }
    if (!sim_opt.id || !sim_opt.setup_code || !sim_opt.state_dir)
        usage_exit("--id, --setup-code and --state are required");
    size_t cl = strlen(sim_opt.setup_code);
    if (cl != 8 || strspn(sim_opt.setup_code, "0123456789") != cl)
        usage_exit("--setup-code: expected 8 decimal digits");
    if (strlen(sim_opt.model) > 63) usage_exit("--model: at most 63 characters");
    int cmp;
    if (!ota_version_cmp(sim_opt.fw, sim_opt.fw, &cmp)) usage_exit("--fw: expected MAJOR.MINOR.PATCH");
    sim_opt.http_port = http_port;
    if (address) {
        struct in_addr a;
        if (inet_pton(AF_INET, address, &a) != 1) usage_exit("--address: expected an IPv4 address");
        snprintf(sim_opt.address, sizeof sim_opt.address, "%s", address);
    } else {
        default_address(sim_opt.address, sizeof sim_opt.address);
    }
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1) button_presses++;
    else stop_signal = sig;
}

static void started_event(void)
{
    char mem[512];
    buf_t b;
    bool first = true;
    buf_init(&b, mem, sizeof mem);
    buf_char(&b, '{');
    buf_json_key(&b, &first, "event");
    buf_json_str(&b, "started");
    buf_json_key(&b, &first, "id");
    buf_json_str(&b, sim_opt.id);
    buf_json_key(&b, &first, "httpPort");
    buf_u64(&b, (uint64_t)sim_opt.http_port);
    buf_json_key(&b, &first, "address");
    buf_json_str(&b, sim_opt.address);
    buf_json_key(&b, &first, "firmware");
    buf_json_str(&b, sim_opt.fw);
    buf_json_key(&b, &first, "claimed");
    buf_str(&b, sim_plug.claimed ? "true" : "false");
    buf_json_key(&b, &first, "relay");
    buf_str(&b, sim_relay() ? "true" : "false");
    buf_json_key(&b, &first, "energyKwh");
    buf_fixed(&b, sim_plug.meter.energy_wh / 1000.0, 4);
    buf_json_key(&b, &first, "mdns");
    buf_str(&b, sim_opt.mdns ? "true" : "false");
    buf_char(&b, '}');
    sim_event(mem);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    if (sodium_init() < 0) {
        fprintf(stderr, "plug-sim: libsodium failed to initialise\n");
        return 1;
    }
    if (!sim_store_open(sim_opt.state_dir)) {
        fprintf(stderr, "plug-sim: cannot use state directory %s\n", sim_opt.state_dir);
        return 1;
    }
    sim_hal_init();
    sim_mqtt_init();
    static char booted[24];
    if (sim_ota_booted_version(booted, sizeof booted)) sim_opt.fw = booted;

    plug_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = sim_opt.id;
    cfg.model = sim_opt.model;
    cfg.fw = sim_opt.fw;
    cfg.setup_code = sim_opt.setup_code;
    cfg.power_on = sim_opt.power_on;
    /* The simulated board: BL0937, 1 mOhm shunt, 5 x 470k + 1k divider. */
    cfg.cal = meter_cal_bl0937(0.001, 1000.0 / (5 * 470000.0 + 1000.0));
    cfg.overcurrent_a = sim_opt.overcurrent_a;
    cfg.telemetry_ms = sim_opt.telemetry_ms;
    cfg.keepalive_s = sim_opt.keepalive_s;
    cfg.fw_pk = HEARTH_FW_TEST_PK;
    cfg.pair_window_ms = sim_opt.pair_window_s * 1000u;
    if (!plug_init(&sim_plug, &cfg)) {
        fprintf(stderr, "plug-sim: --id must be 1-32 characters of [a-z0-9-] (e.g. plug-0123456789ab),"
                        " and the state directory writable\n");
        return 2;
    }
    if (!sim_http_start(sim_opt.http_port)) {
        fprintf(stderr, "plug-sim: cannot listen on HTTP port %d: %s\n", sim_opt.http_port,
                strerror(errno));
        return 1;
    }
    if (sim_opt.mdns && !sim_mdns_start()) {
        fprintf(stderr, "plug-sim: cannot start mDNS on 224.0.0.251:5353: %s\n", strerror(errno));
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    started_event();

    while (!stop_signal && !sim_restart_requested()) {
        struct pollfd fds[4];
        int n = 0, nm, nh, nd;
        nm = sim_mqtt_pollfd(&fds[n]);
        n += nm;
        nh = sim_http_pollfds(&fds[n]);
        n += nh;
        nd = sim_mdns_pollfd(&fds[n]);
        n += nd;
        int r = poll(fds, (nfds_t)n, 10);
        if (r < 0 && errno != EINTR) break;
        sim_mqtt_after_poll(&fds[0], nm);
        sim_http_after_poll(&fds[nm], nh);
        sim_mdns_after_poll(&fds[nm + nh], nd);
        sim_mdns_tick();
        while (button_presses > 0) {
            button_presses--;
            plug_button_pressed(&sim_plug);
        }
        plug_tick(&sim_plug);
    }
    plug_shutdown(&sim_plug);
    sim_mqtt_shutdown();
    sim_mdns_goodbye();
    if (sim_restart_requested() && !stop_signal) {
        /* The new slot "boots": the same program again, which now reports the new version. */
        sim_event("{\"event\":\"restarting\"}");
        fflush(NULL);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "plug-sim: cannot restart: %s\n", strerror(errno));
        return 1;
    }
    sim_event("{\"event\":\"stopped\"}");
    return 0;
}
