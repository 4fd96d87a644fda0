#!/usr/bin/env bash
# Installs whatever is missing, then runs every test NodePair has and prints
# each runner's totals. Exits non-zero if any step fails; every step runs
# either way, so one run shows all that is wrong.
#
#   scripts/test.sh            everything
#   scripts/test.sh --no-install   skip the install step (already done)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/install.sh
source "$here/install.sh"
cd "$ROOT"

install_unless_skipped "the tests" "${1:-}"

logs="$(mktemp -d "${TMPDIR:-/tmp}/nodepair-test.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
results=()
failed=0

# step NAME COMMAND...: runs one step, keeps its output for the totals.
step() {
  local name=$1
  shift
  note "$name: $*"
  local start=$SECONDS
  if "$@" 2>&1 | tee "$logs/$name.log"; then
    results+=("ok      $name ($((SECONDS - start)) s)")
  else
    results+=("FAILED  $name ($((SECONDS - start)) s)")
    failed=1
  fi
}

# The Tauri binary embeds the built UI, so build it before any cargo step.
step ui-build npm run build:ui
step rustfmt cargo fmt --all --check
step clippy cargo clippy --workspace --all-targets --locked -- -D warnings
# Every test in a process of its own, four at a time, the longest first
# (.config/nextest.toml); nextest runs no doctests, so they follow.
# The programs the cross-process tests start, built first: otherwise the
# first tests of the run wait minutes on that build, and it counts as theirs.
step build cargo build --workspace --bins --locked
step cargo-test cargo nextest run --workspace --locked
step doctest cargo test --workspace --doc --locked
for target in $CROSS_CHECK_TARGETS; do
  step "check-$target" bash scripts/cross-check.sh "$target"
done
step typecheck npm run typecheck
step vitest npm run test:ui
step node-test npm test -w tests
# A short run of every fuzz target (NODEPAIR_FUZZ_SECONDS each, 5 by
# default); the long runs are `bash scripts/fuzz.sh --long`.
step fuzz bash scripts/fuzz.sh "${NODEPAIR_FUZZ_SECONDS:-5}"
# The shared target dir keeps every version of every crate it ever built:
# what this run did not use goes once it is over NODEPAIR_TARGET_MAX.
step prune cargo sweep --maxsize "${NODEPAIR_TARGET_MAX:-40GB}"

# Totals per runner, read from each runner's own closing lines.
sum() { awk '{ s += $1 } END { print s + 0 }'; }
# nextest's last line: "Summary [ 385s] 569 tests run: 568 passed (8 slow),
# 1 failed, 1 skipped"; the doctests' lines: "test result: ok. 1 passed; …".
nextest_line=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/cargo-test.log" 2>/dev/null | grep -E '^ *Summary \[' | tail -n1)
cargo_pass=$(( $(grep -o '[0-9]* passed' <<<"$nextest_line" | sum) + $(grep -ho '[0-9]* passed;' "$logs/doctest.log" 2>/dev/null | sum) ))
cargo_fail=$(( $(grep -oE '[0-9]* (failed|timed out)' <<<"$nextest_line" | sum) + $(grep -ho '[0-9]* failed;' "$logs/doctest.log" 2>/dev/null | sum) ))
cargo_skip=$(( $(grep -o '[0-9]* skipped' <<<"$nextest_line" | sum) + $(grep -ho '[0-9]* ignored;' "$logs/doctest.log" 2>/dev/null | sum) ))
vitest_line=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/vitest.log" 2>/dev/null | grep -E '^ *Tests ' | tail -n1)
vitest_pass=$(grep -o '[0-9]* passed' <<<"$vitest_line" | sum)
vitest_fail=$(grep -o '[0-9]* failed' <<<"$vitest_line" | sum)
node_pass=$(grep -ho '^# pass [0-9]*' "$logs/node-test.log" 2>/dev/null | awk '{print $3}' | sum)
node_fail=$(grep -ho '^# fail [0-9]*' "$logs/node-test.log" 2>/dev/null | awk '{print $3}' | sum)

echo
echo "Slowest tests:"
sed 's/\x1b\[[0-9;]*m//g' "$logs/cargo-test.log" 2>/dev/null |
  sed -nE 's/^ *(PASS|FAIL|TIMEOUT|SIGKILL|SIGSEGV) \[ *([0-9.]+)s\] (\([^)]*\) )?(.*)$/\2 \1 \4/p' |
  sort -rn | head -n 10 | awk '{ printf "  %8.1f s  %-7s %s\n", $1, $2, $3 " " $4 }'
echo
echo "Steps:"
printf '  %s\n' "${results[@]}"
echo "  total: $SECONDS s"
echo
echo "Tests:"
printf '  %-12s %5s passed, %s failed, %s ignored\n' "cargo" "$cargo_pass" "$cargo_fail" "$cargo_skip"
printf '  %-12s %5s passed, %s failed\n' "vitest" "$vitest_pass" "$vitest_fail"
printf '  %-12s %5s passed, %s failed\n' "node --test" "$node_pass" "$node_fail"
total_pass=$((cargo_pass + vitest_pass + node_pass))
total_fail=$((cargo_fail + vitest_fail + node_fail))
echo
echo "Total: $total_pass passed, $total_fail failed"
if ((failed)); then
  echo "Some steps FAILED (above)."
  exit 1
fi
