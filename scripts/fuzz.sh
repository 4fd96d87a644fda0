#!/usr/bin/env bash
# Runs every fuzz target of protocol/ and waku/ and prints the executions each
# managed. A crash fails the run and leaves the input under
# <crate>/fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh            5 s per target (what the test command runs)
#   bash scripts/fuzz.sh 600        10 minutes per target
#   bash scripts/fuzz.sh --long     each target to 10 million executions or
#                                   30 minutes, whichever comes first, and a
#                                   table of the counts in bench/fuzz-long-runs.md
#
# Corpora are kept under <crate>/fuzz/corpus/<target>/ and grow run after run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

long=0
seconds=${1:-5}
runs_cap=()
if [[ ${1:-} == --long ]]; then
  long=1
  seconds=1800
  runs_cap=(-runs=10000000)
fi
report="$ROOT/bench/fuzz-long-runs.md"
rows=()

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
    start=$SECONDS
    if ! cargo fuzz run "$t" -- -max_total_time="$seconds" "${runs_cap[@]}" >"$log" 2>&1; then
      tail -n 40 "$log"
      rm -f "$log"
      die "fuzz target $t crashed (input kept under $crate/fuzz/artifacts/$t/)"
    fi
    took=$((SECONDS - start))
    runs=$(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}')
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    printf '  %-26s %10s runs in %4s s, no crash (corpus: %s inputs)\n' "$crate/$t" "${runs:-?}" "$took" "$corpus"
    rows+=("| \`$crate/$t\` | ${runs:-?} | $took s | $corpus | none |")
    rm -f "$log"
  done
done

if ((long)); then
  {
    echo "# Long fuzz runs"
    echo
    echo "\`bash scripts/fuzz.sh --long\` at $(git -C "$ROOT" rev-parse --short HEAD)," \
      "$(date -u '+%Y-%m-%d %H:%M UTC'): each target until 10 million executions or" \
      "30 minutes, one target at a time on $(nproc) cores, starting from the corpus" \
      "earlier runs left (kept on this machine, not in git)."
    echo
    echo "| target | executions | time | corpus after | crashes |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${rows[@]}"
  } >"$report"
  note "counts written to bench/fuzz-long-runs.md"
fi
