#!/usr/bin/env bash
# Runs every benchmark NodePair has and writes their tables, with the
# machine they ran on, to bench/results.md (see bench/README.md).
#
#   bash scripts/bench.sh              all of them (about 25 minutes; the WAN bench needs root)
#   bash scripts/bench.sh --no-install skip the install step
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/install.sh
source "$here/install.sh"
cd "$ROOT"

install_unless_skipped "the benchmarks" "${1:-}"

out="$ROOT/bench/results.md"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nodepair-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0

# bench NAME TITLE COMMAND...: runs one benchmark, keeps the lines of its
# tables (and the notes right under them).
bench() {
  local name=$1 title=$2
  shift 2
  note "$name: $*"
  if "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    {
      echo "## $title"
      echo
      echo '```text'
      echo "$*"
      echo '```'
      awk '/^\|/ || /^\(/ || /^$/' "$tmp/$name.out" | cat -s
      echo
    } >>"$tmp/tables.md"
  else
    # The panic and what came before it, without the backtrace's frames.
    grep -Ev '^ +([0-9]+: | +at )' "$tmp/$name.err" | tail -n 30
    echo "## $title: FAILED (see the command's output)" >>"$tmp/tables.md"
    failed=1
  fi
}

bench protocol "Session crypto against the raw cipher" \
  cargo bench -p nodepair-protocol --bench protocol --locked
bench pairing "Pairing, reconnect, requests, manager at rest" \
  cargo bench -p nodepair-tests --bench pairing --locked
bench load "One manager, 1000 apps" \
  cargo bench -p nodepair-tests --bench load --locked
bench fleet "One app, 100 managers, in its window" \
  cargo bench -p nodepair-tests --bench fleet --locked
bench wan "Across a WAN: three relays in a line, app and manager in network namespaces" \
  cargo bench -p nodepair-tests --bench wan --locked
bench relay "Our relay against js-waku's" \
  cargo bench -p nodepair-waku --bench relay --locked

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# Benchmark results"
  echo
  echo "Written by \`bash scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit"
  echo "\`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\`. What each row measures and the goals: [README.md](README.md)."
  echo
  echo "| machine | |"
  echo "|---|---|"
  echo "| CPU | ${cpu:-unknown}, $(nproc) cores |"
  echo "| memory | $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
  echo "| system | $(uname -sr), $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null) |"
  echo "| Rust | $(rustc --version) |"
  echo "| Node.js | $(node --version 2>/dev/null || echo none) |"
  echo
  cat "$tmp/tables.md"
} >"$out"
note "wrote $out"
exit "$failed"
