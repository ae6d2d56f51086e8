#!/usr/bin/env bash
# Prints the licences of every crate linked into onshi-desk for target $1: for each crate its
# name, version, licence expression and repository, then the licence files it ships (LICENSE*,
# COPYING*, NOTICE*), from Cargo's registry cache. Used by scripts/build-windows for the
# installer's licenses\THIRD-PARTY.txt. Run from the repository root.
set -euo pipefail
target=${1:?target triple}
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src

echo "Third-party software in onshi-desk.exe ($target)"
echo "================================================="
echo
# Normal (linked) dependencies only: build tools and proc macros are not part of the exe.
cargo tree --locked --target "$target" -e normal --prefix none --no-dedupe \
  -f '{p}|{l}|{r}' -p onshi-desk --no-default-features --features demo 2>/dev/null \
  | sort -u | while IFS='|' read -r package license repository; do
    name=${package%% *}
    rest=${package#* v}
    version=${rest%% *}
    # The project's own crates (path dependencies) carry the project's licence.
    [[ $package == *"("* ]] && continue
    echo "----------------------------------------------------------------------"
    echo "$name $version — ${license:-licence not declared}${repository:+ — $repository}"
    echo "----------------------------------------------------------------------"
    shopt -s nullglob
    found=0
    for dir in "$registry"/*/"$name-$version"; do
      for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE* "$dir"/license*; do
        [[ -f $f ]] || continue
        echo "[$(basename "$f")]"
        cat "$f"
        echo
        found=1
      done
      break
    done
    ((found)) || echo "(no licence file in the crate; licence: ${license:-not declared})"
    echo
  done
