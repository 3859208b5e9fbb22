#!/usr/bin/env bash
# The ESP-IDF version check of port/esp-idf (idf_version.cmake) run in CMake's script mode with
# made-up versions, since no ESP-IDF is installed here: the supported ones pass, every other
# one stops with the message that names the supported range.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
check="$(mktemp)"
trap 'rm -f "$check"' EXIT
cat >"$check" <<CMAKE
include("$PWD/port/esp-idf/idf_version.cmake")
hearth_check_idf_version("\${MAJOR}" "\${MINOR}" "\${PATCH}")
CMAKE

fail=0
expect() { # expect ok|refused MAJOR.MINOR.PATCH
  local want="$1" v="$2" out rc=0
  IFS=. read -r major minor patch <<<"$v"
  out="$(cmake -DMAJOR="$major" -DMINOR="$minor" -DPATCH="$patch" -P "$check" 2>&1)" || rc=$?
  local got=ok
  if [ "$rc" -ne 0 ]; then
    got=refused
    # CMake wraps the message: compare it as one line.
    if ! tr -s ' \n' '  ' <<<"$out" | grep -q "ESP-IDF $major.$minor.$patch is not supported; use 5.3.3 or a later 5.3.x, 5.4.2 or a later 5.4.x, or 5.5.x"; then
      echo "  FAIL $v: refused without the message: $out"
      fail=1
    fi
  fi
  if [ "$got" != "$want" ]; then
    echo "  FAIL ESP-IDF $v: $got, want $want"
    fail=1
  fi
}
for v in 5.3.3 5.3.5 5.3.12 5.4.2 5.4.3 5.5.0 5.5.1; do expect ok "$v"; done
for v in 5.1.0 5.2.5 5.3.0 5.3.2 5.4.0 5.4.1 6.0.0 6.1.0 4.4.8 x.y.z 5.4; do expect refused "$v"; done
[ "$fail" -eq 0 ] && echo "idf version check: 7 supported, 11 refused, as stated"
exit "$fail"
