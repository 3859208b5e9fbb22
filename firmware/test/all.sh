#!/usr/bin/env bash
# Every firmware test, from the repo root (scripts/test calls it): host unit tests of core/
# under ASan/UBSan, a bounded fuzzing run of every parser, the RV32IMC freestanding build, the
# ESP-IDF version check, then the simulator against a real broker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source firmware/test/deps.sh
firmware_ensure_test_debs

echo "-- firmware: host unit tests of core/"
make -s -C firmware test
echo "-- firmware: fuzzing every parser of untrusted bytes (libFuzzer, ASan + UBSan, seconds each)"
bash firmware/test/fuzz/run.sh
echo "-- firmware: core/ for RV32IMC (ESP32-C3 class), freestanding"
make -s -C firmware rv32
echo "-- firmware: the ESP-IDF project's version check (cmake -P, made-up versions)"
bash firmware/test/idf-version.sh
echo "-- firmware: plug simulator against mosquitto (inside a loopback-only network namespace)"
hearth_ensure_node
make -s -C firmware sim
scripts/netns-run node --test firmware/test/sim/sim.test.ts
echo "-- firmware: simulator mDNS seen by Avahi (namespace + private /run/avahi-daemon)"
scripts/netns-run unshare --mount --propagation private bash -c \
  'mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && exec node --test firmware/test/sim/mdns.test.ts'
