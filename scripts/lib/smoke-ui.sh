#!/usr/bin/env bash
# Smoke test of the desk window: `onshi-desk --demo` on a virtual X display (Xvfb + Mesa),
# first frame, the desk ready, a screenshot, a clean exit. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$PWD/target/onshi-test/smoke
mkdir -p "$out"
rm -f "$out/idle.png" "$out/result.png"
bin=$PWD/target/debug/onshi-desk
[[ -x $bin ]] || cargo build --quiet -p onshi-desk
started=$(date +%s%N)
# `timeout` guards against a hang: the smoke test fails instead of stalling CI.
timeout 120 xvfb-run -a -s "-screen 0 1280x900x24" \
  "$bin" --demo --demo-dir "$out/demo" --exit-after-first-frame --screenshot "$out/idle.png" \
  >"$out/idle.log" 2>&1 || { cat "$out/idle.log"; exit 1; }
timeout 120 xvfb-run -a -s "-screen 0 1280x900x24" \
  "$bin" --demo --demo-dir "$out/demo" --scenario result --screenshot "$out/result.png" \
  >"$out/result.log" 2>&1 || { cat "$out/result.log"; exit 1; }
for png in idle result; do
  if [[ ! -s $out/$png.png ]]; then
    echo "no screenshot $out/$png.png"; cat "$out/$png.log"; exit 1
  fi
done
grep -h "first frame after" "$out/idle.log" || true
echo "smoke: $(( ($(date +%s%N) - started) / 1000000 )) ms for both runs; screenshots in $out"
echo "smoke test of the desk window: ok"
