# Sourced by firmware/test/all.sh and scripts/plug-sim: installs the Debian packages the
# firmware build needs, through scripts/lib/env.sh (fast no-op when all are present).
# shellcheck source=../../scripts/lib/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib/env.sh"

# Libraries have no command to look for: an empty command name counts as missing in
# hearth_ensure_debs, so they are passed as ":package" when pkg-config cannot find them.
firmware_ensure_build_debs() {
  hearth_ensure_debs cc:gcc make:make pkg-config:pkg-config
  local libs=()
  pkg-config --exists libsodium || libs+=(:libsodium-dev)
  pkg-config --exists libmosquitto || libs+=(:libmosquitto-dev)
  pkg-config --exists libssl || libs+=(:libssl-dev)
  [ ${#libs[@]} -eq 0 ] || hearth_ensure_debs "${libs[@]}"
}

firmware_ensure_test_debs() {
  firmware_ensure_build_debs
  hearth_ensure_debs riscv64-unknown-elf-gcc:gcc-riscv64-unknown-elf cmake:cmake \
    mosquitto:mosquitto mosquitto_passwd:mosquitto avahi-browse:avahi-utils \
    avahi-daemon:avahi-daemon dbus-daemon:dbus-daemon dbus-send:dbus-bin
  [ -f /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] ||
    hearth_ensure_debs :picolibc-riscv64-unknown-elf
  firmware_ensure_fuzz_debs
}

# clang with libFuzzer and the sanitizer runtimes (test/fuzz/run.sh). Debian's clang package
# does not pull the compiler-rt libraries in without recommends: libclang-rt-dev does.
firmware_ensure_fuzz_debs() {
  hearth_ensure_debs clang:clang
  compgen -G "$(clang --print-resource-dir)/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null ||
    hearth_ensure_debs :libclang-rt-dev
}
