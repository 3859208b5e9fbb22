/* hal.h storage as one file per key in --state DIR, like flash: a set writes a temporary file
 * and renames it over the old one (rename is atomic on POSIX), so a simulator killed at any
 * point (SIGKILL is its power cut) leaves each key with the old or the new value, never a mix.
 * No fsync: surviving the *host's* power loss is not the simulator's job, and three fsyncs per
 * command (counter, relay, energy) cost 8-20 ms on a VM disk, more than a command round trip. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal.h"
#include "sim.h"

static char dir[512];
static const char *die_after;

void sim_store_die_after(const char *key) { die_after = key; }

bool sim_store_open(const char *d)
{
    if (strlen(d) >= sizeof dir - 32) return false;
    snprintf(dir, sizeof dir, "%s", d);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return false;
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Keys come from the core: [a-z0-9_], at most 15 characters. Anything else is refused rather
 * than turned into a path. */
static bool path_for(const char *key, char *out, size_t cap, const char *suffix)
{
    size_t n = strlen(key);
    if (n == 0 || n > 15) return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return snprintf(out, cap, "%s/%s%s", dir, key, suffix) < (int)cap;
}

int hal_store_get(const char *key, void *buf, size_t cap)
{
    char path[600];
    if (!path_for(key, path, sizeof path, "")) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if ((size_t)st.st_size > cap) {
        close(fd);
        return -2;
    }
    ssize_t n = read(fd, buf, (size_t)st.st_size);
    close(fd);
    return n == st.st_size ? (int)n : -1;
}

bool hal_store_set(const char *key, const void *data, size_t len)
{
    char path[600], tmp[600];
    if (!path_for(key, path, sizeof path, "") || !path_for(key, tmp, sizeof tmp, ".tmp"))
        return false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = write(fd, data, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    if (die_after != NULL && strcmp(key, die_after) == 0) _exit(137);
    return true;
}

bool hal_store_erase_all(void)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    char path[600];
    bool ok = true;
    while ((e = readdir(d)) != NULL) {
        /* '-' is never in a key: ota-boot and the slots are the firmware, not settings. */
        if (e->d_name[0] == '.' || strchr(e->d_name, '-')) continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        if (unlink(path) != 0) ok = false;
    }
    closedir(d);
    return ok;
}
