#!/usr/bin/env bash
# Runs every fuzz target of protocol/ and waku/ for SECONDS each (default 20) and
# prints the executions each managed. A crash fails the run and leaves the
# input under <crate>/fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh            20 s per target
#   bash scripts/fuzz.sh 600        10 minutes per target
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
seconds=${1:-20}

# cargo fuzz needs nightly-only sanitizer flags; this lets the stable
# toolchain accept them, for this build only.
export RUSTC_BOOTSTRAP=1
for crate in protocol waku; do
  cd "$ROOT/$crate"
  targets=$(cargo fuzz list)
  cargo fuzz build >/dev/null 2>&1 || cargo fuzz build
  for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    log=$(mktemp)
    if ! cargo fuzz run "$t" -- -max_total_time="$seconds" >"$log" 2>&1; then
      tail -n 40 "$log"
      rm -f "$log"
      die "fuzz target $t crashed (input kept under $crate/fuzz/artifacts/$t/)"
    fi
    runs=$(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}')
    printf '  %-24s %10s runs in %s s, no crash\n' "$crate/$t" "${runs:-?}" "$seconds"
    rm -f "$log"
  done
done
