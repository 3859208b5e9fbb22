#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes, a few seconds each (HEARTH_FUZZ_SECONDS, default 6),
# with libFuzzer under ASan and UBSan: the core's (JSON, manifests, commands, base64, the time
# answer, pairing hello/claim and its sealed plaintext, MQTT reassembly through a live plug)
# and the simulator's HTTP request and mDNS packet parsing. Each run starts from the committed
# corpus in test/fuzz/corpus/<target> (read, never written: what a run finds is thrown away), so
# every input that once crashed (the regression-* files) is replayed first. A crash, leak,
# sanitizer report or timeout fails the run and leaves the input in build/fuzz/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs="${HEARTH_FUZZ_SECONDS:-6}"
make -s fuzz
status=0
for t in parsers pair mqtt http mdns; do
  work="$(mktemp -d)"
  log="build/fuzz/$t.log"
  if build/fuzz/fuzz_"$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/crash-$t-" "$work" "test/fuzz/corpus/$t" >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1)"
    echo "fuzz $t: ${runs:-?} inputs in ${secs} s, $cov, no crash"
  else
    echo "fuzz $t: FAILED (input saved as build/fuzz/crash-$t-*); end of its log:"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 || tail -30 "$log"
    status=1
  fi
  rm -rf "$work"
done
exit "$status"
