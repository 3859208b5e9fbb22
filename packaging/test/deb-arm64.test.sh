#!/usr/bin/env bash
# The arm64 package (the Raspberry Pi's), built on this machine and run under emulation: build it
# with `scripts/build-deb --arch arm64` (gzip, fast), check its fields, check that the bundled node
# and every native module (.node) are aarch64 ELF objects (file and readelf, independently of the
# build's own check), extract it and run the extracted hub's arm64 node under qemu-user
# (qemu-aarch64-static emulating a Pi 3's Cortex-A53, Debian's arm64 cross libc as its root, -L),
# through the packaged launchers; then the smoke steps shared with deb.test.sh (hub-smoke.sh):
# health and the web UI, first-run setup with the one-time code from DATA/setup-code, a device over
# MQTT, a history query, a clean stop. Loopback only, ephemeral ports, nothing outside a temp dir; prints the build time,
# the package size and the hub's start-to-health time under emulation.
# Not in `npm test` (several minutes on a shared 2-core machine): HEARTH_ARM64_TEST=1 npm test runs
# it after the native package test; alone: bash packaging/test/deb-arm64.test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib/env.sh
source packaging/test/hub-smoke.sh
hearth_ensure_node
# qemu-user-static: one static qemu-aarch64 per arch, no binfmt_misc registration needed (the
# emulator is named explicitly, so nothing machine-wide changes). The arm64 cross libraries are
# the root the arm64 node's dynamic loader and libstdc++ come from.
hearth_ensure_debs qemu-aarch64-static:qemu-user-static file:file readelf:binutils curl:curl
cross_debs=()
for deb in libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross; do
  dpkg -s "$deb" >/dev/null 2>&1 || cross_debs+=(":$deb")
done
[ ${#cross_debs[@]} -eq 0 ] || hearth_ensure_debs "${cross_debs[@]}"
qemu_root=/usr/aarch64-linux-gnu

tmp="$(mktemp -d "${TMPDIR:-/tmp}/hearth-deb-arm64-test.XXXXXX")"
smoke_dir="$tmp"
cleanup() {
  smoke_cleanup
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { printf 'arm64 deb test FAILED: %s\n' "$*" >&2; [ -f "$tmp/hub.log" ] && tail -n 30 "$tmp/hub.log" >&2; exit 1; }
ok() { printf '  ok  %s\n' "$*"; }

# --- build, on this (amd64) machine
t0="$(date +%s)"
deb="$(bash scripts/build-deb --arch arm64 --out "$tmp/out" --compression gzip | tail -n 1)"
build_s="$(($(date +%s) - t0))"
[ -f "$deb" ] || fail "scripts/build-deb --arch arm64 made no package"
version="$(node -p 'require("./package.json").version')"
[ "$(basename "$deb")" = "hearth_${version}_arm64.deb" ] || fail "package named $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || fail "Architecture: $(dpkg-deb -f "$deb" Architecture)"
ok "built $(basename "$deb") on $(uname -m) in ${build_s}s ($(du -h "$deb" | cut -f1), gzip); Architecture arm64"

# --- every binary is aarch64: the bundled node and each native module, by file and by readelf
x="$tmp/x"
dpkg-deb -x "$deb" "$x"
lib="$x/usr/lib/hearth"
is_aarch64() { # FILE: an aarch64 ELF by both file(1) and readelf's header
  file -b "$1" | grep -q '^ELF 64-bit LSB .*ARM aarch64' && readelf -h "$1" | grep -Eq '^ +Machine: +AArch64$'
}
[ "$(cat "$lib/node/VERSION")" = "$(node -p process.version)" ] ||
  fail "bundled Node $(cat "$lib/node/VERSION"), this machine's runtime is $(node -p process.version)"
# Every ELF object in the package, whatever its name (found by its magic bytes), then each judged
# by file and readelf.
node -e 'const fs = require("fs"), path = require("path"), head = Buffer.alloc(4);
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) { const fd = fs.openSync(p, "r"); const n = fs.readSync(fd, head, 0, 4, 0); fs.closeSync(fd);
      if (n === 4 && head.readUInt32BE(0) === 0x7f454c46) console.log(p); } } };
  walk(process.argv[1])' "$x" | LC_ALL=C sort >"$tmp/elf"
while read -r f; do is_aarch64 "$f" || fail "${f#"$x"/} is not aarch64: $(file -b "$f")"; done <"$tmp/elf"
for object in node/bin/node node_modules/better-sqlite3/prebuilds/linux-arm64.node \
  node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node; do
  grep -qx "$lib/$object" "$tmp/elf" || fail "no $object in the package"
done
# The package's libc6 dependency covers the newest glibc symbol version any of them needs (the
# better-sqlite3 binary needs 2.34), so apt refuses a system where the hub could not load.
need="$(while read -r f; do objdump -T "$f" | grep -o 'GLIBC_[0-9.]*'; done <"$tmp/elf" | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
have="$(dpkg-deb -f "$deb" Depends | sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p')"
[[ "$need" =~ ^2\.[0-9.]+$ ]] || fail "could not read the glibc versions the binaries need: '$need'"
[ -n "$have" ] && dpkg --compare-versions "$have" ge "$need" ||
  fail "Depends: $(dpkg-deb -f "$deb" Depends); the binaries need libc6 (>= $need)"
ok "all $(wc -l <"$tmp/elf") ELF objects in the package are aarch64 (file, readelf), need glibc <= $need (Depends libc6 >= $have): $(sed "s#^$lib/##" "$tmp/elf" | tr '\n' ' ')"

# --- the arm64 node under qemu-user. The extracted node is renamed and a shim put in its place,
#     so the packaged launchers (hearth-hub, hearth-admin) run unchanged and every node they start
#     is the arm64 binary under the emulator: nothing here can fall back to this machine's node.
#     The emulated CPU is a Cortex-A53, the oldest core of the supported Pis (3B+, Zero 2 W; ARMv8.0):
#     qemu's default "max" CPU has every newer extension and would hide a binary that needs one.
mv "$lib/node/bin/node" "$lib/node/bin/node.aarch64"
printf '#!/bin/sh\nexec qemu-aarch64-static -cpu cortex-a53 -L %s "$(dirname "$0")/node.aarch64" "$@"\n' "$qemu_root" >"$lib/node/bin/node"
chmod +x "$lib/node/bin/node"
arch="$("$lib/node/bin/node" -p 'process.arch + " " + process.version')" || fail "the arm64 node does not run under qemu-aarch64-static"
[ "$arch" = "arm64 $(node -p process.version)" ] || fail "under qemu the bundled node says: $arch"
ok "the bundled node runs under qemu-aarch64-static on an emulated Cortex-A53: process.arch, version = $arch"

# --- the smoke test, on the emulated hub (slow: allow minutes for the start)
data="$tmp/data"
smoke_start_hub "$x" "$data" "$tmp/hub.log" 600
ok "the emulated hub answered GET /api/v1/health ${smoke_start_s}s after its start"
pgrep -f "node.aarch64 .*$lib/hub/src/main.ts" >/dev/null || fail "the hub is not the arm64 node under qemu"
smoke_health_and_ui "$x" "$version"
smoke_setup_with_code "$x" "$data"
smoke_mqtt_device_history
smoke_stop_hub

echo "arm64 deb test passed: build ${build_s}s (gzip), package $(du -h "$deb" | cut -f1), hub start to health under qemu-user ${smoke_start_s}s"
