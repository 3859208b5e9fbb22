/* hal.h firmware update on the simulator: the inactive OTA slot is the file ota-slot.bin in the
 * state directory, and "booting a slot" means the next start reports that slot's version: the
 * activated version goes into ota-boot (atomically, by rename), which main.c reads at start.
 * Names with a '-' are never storage keys, so a factory reset (hal_store_erase_all) keeps the
 * installed firmware, as flash does. A restart re-executes the simulator (main.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal.h"
#include "sim.h"

static int slot_fd = -1;
static bool restart;

static void path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", sim_opt.state_dir, name);
}

bool sim_restart_requested(void) { return restart; }

bool sim_ota_booted_version(char *out, size_t cap)
{
    char p[600];
    path(p, sizeof p, "ota-boot");
    FILE *f = fopen(p, "rb");
    if (!f) return false;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    return n > 0 && strspn(out, "0123456789.") == n;
}

uint32_t hal_ota_slot_size(void) { return sim_opt.ota_slot_kb * 1024u; }

bool hal_ota_begin(uint32_t size, uint32_t resume_at)
{
    char p[600];
    path(p, sizeof p, "ota-slot.bin");
    if (slot_fd >= 0) close(slot_fd);
    slot_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | (resume_at == 0 ? O_TRUNC : 0), 0600);
    if (slot_fd < 0 || size > hal_ota_slot_size()) return false;
    struct stat st;
    /* Resuming needs the bytes written before; anything after them is dropped. */
    if (fstat(slot_fd, &st) != 0 || (uint64_t)st.st_size < resume_at) return false;
    return ftruncate(slot_fd, resume_at) == 0;
}

bool hal_ota_write(uint32_t offset, const uint8_t *data, size_t len)
{
    return slot_fd >= 0 && pwrite(slot_fd, data, len, offset) == (ssize_t)len;
}

bool hal_ota_read(uint32_t offset, uint8_t *buf, size_t len)
{
    return slot_fd >= 0 && pread(slot_fd, buf, len, offset) == (ssize_t)len;
}

bool hal_ota_activate(const char *version)
{
    char p[600], tmp[600], active[600], slot[600];
    path(p, sizeof p, "ota-boot");
    path(tmp, sizeof tmp, "ota-boot.tmp");
    path(slot, sizeof slot, "ota-slot.bin");
    path(active, sizeof active, "ota-active.bin");
    FILE *f = fopen(tmp, "wb");
    if (!f) return false;
    bool ok = fputs(version, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (slot_fd >= 0) close(slot_fd);
    slot_fd = -1;
    /* The image itself is only kept for inspection: the simulator's code does not change. */
    return ok && rename(slot, active) == 0 && rename(tmp, p) == 0;
}

void hal_ota_abort(void)
{
    char p[600];
    path(p, sizeof p, "ota-slot.bin");
    if (slot_fd >= 0) close(slot_fd);
    slot_fd = -1;
    unlink(p);
}

void hal_restart(void) { restart = true; }
