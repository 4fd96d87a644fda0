#!/usr/bin/env bash
# Runs every fuzz target of protocol/ and waku/ and prints the executions each
# managed. A crash fails the run and leaves the input under
# <crate>/fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh            5 s per target (what the test command runs)
#   bash scripts/fuzz.sh 600        10 minutes per target
#   bash scripts/fuzz.sh --long [CRATE/TARGET...]
#                                   each target (or those named, e.g.
#                                   waku/enr) to 10 million executions or 30
#                                   minutes, whichever comes first; each one's
#                                   row in bench/fuzz-long-runs.md is replaced
#                                   as soon as it finishes
#
# Corpora are kept under <crate>/fuzz/corpus/<target>/ and grow run after run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

long=0
seconds=${1:-5}
runs_cap=()
only=()
if [[ ${1:-} == --long ]]; then
  long=1
  seconds=1800
  runs_cap=(-runs=10000000)
  shift
  only=("$@")
fi
report="$ROOT/bench/fuzz-long-runs.md"

# wanted CRATE/TARGET: true when no target was named or this one was.
wanted() {
  ((${#only[@]} == 0)) && return 0
  local o
  for o in "${only[@]}"; do [[ $o == "$1" ]] && return 0; done
  return 1
}

# record ROW: puts ROW (a table row starting with its target) in the report
# in place of that target's earlier row, rows kept in target order.
record() {
  local key="${1%% | *}" rows=()
  if [[ -f $report ]]; then
    mapfile -t rows < <(grep '^| `' "$report" | grep -vF -- "$key |")
  fi
  rows+=("$1")
  {
    echo "# Long fuzz runs"
    echo
    echo "\`bash scripts/fuzz.sh --long\`: each target until 10 million executions or"
    echo "30 minutes, whichever comes first, one target at a time, starting from the"
    echo "corpus earlier runs left (kept on the machine, not in git). Each row says"
    echo "when and at which commit it ran, on the machine of [results.md](results.md)"
    echo "($(nproc) cores, shared with other work: a run that stopped at 30 minutes"
    echo "ran at whatever speed the machine gave it)."
    echo
    echo "| target | executions | time | corpus after | crashes | commit, date |"
    echo "|---|---:|---:|---:|---|---|"
    printf '%s\n' "${rows[@]}" | sort
  } >"$report.tmp"
  mv "$report.tmp" "$report"
}

# cargo fuzz needs nightly-only sanitizer flags; this lets the stable
# toolchain accept them, for this build only.
export RUSTC_BOOTSTRAP=1
for crate in protocol waku; do
  cd "$ROOT/$crate"
  targets=()
  for t in $(cargo fuzz list); do
    if wanted "$crate/$t"; then targets+=("$t"); fi
  done
  ((${#targets[@]})) || continue
  cargo fuzz build >/dev/null 2>&1 || cargo fuzz build
  for t in "${targets[@]}"; do
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
    if ((long)); then
      record "| \`$crate/$t\` | ${runs:-?} | $took s | $corpus | none | $(git -C "$ROOT" rev-parse --short HEAD), $(date -u '+%Y-%m-%d') |"
    fi
    rm -f "$log"
  done
done

if ((long)); then
  note "counts written to bench/fuzz-long-runs.md"
fi
