/* Fuzz target: the simulator's mDNS responder (port/posix/mdns.c, included so its static packet
 * parsing is reached without a socket): the input is one received UDP packet, from the mDNS
 * port or, if its first byte is odd, from another port (a legacy unicast query, answered with
 * the question echoed). No socket is open (fd -1): answers go nowhere. */
#include "../../port/posix/mdns.c"

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
    sim_opt.id = "plug-0a1b2c3d4e5f";
    sim_opt.model = "hearth-plug-sim";
    sim_opt.fw = "1.0.0";
    snprintf(sim_opt.address, sizeof sim_opt.address, "%s", "127.0.0.1");
    sim_opt.http_port = 8080;
    snprintf(instance_name, sizeof instance_name, "%s.%s", sim_opt.id, type_name);
    snprintf(host_name, sizeof host_name, "%s.local", sim_opt.id);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1500) return 0; /* what recvfrom() can hand over */
    struct sockaddr_in from;
    memset(&from, 0, sizeof from);
    from.sin_family = AF_INET;
    from.sin_port = htons((data[0] & 1) ? 40000 : MDNS_PORT);
    handle_query(data, size, &from); /* libFuzzer's buffer is exactly the packet: ASan sees any read past it */
    return 0;
}
