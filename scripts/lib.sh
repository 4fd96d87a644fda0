#!/usr/bin/env bash
# Helpers shared by the install, demo and test scripts.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Oldest Rust the workspace builds with (`rust-version` in Cargo.toml).
RUST_MIN=1.89
# One target dir outside the clone, so a fresh clone (CI's) reuses earlier
# builds instead of compiling libp2p and Tauri again. Override freely.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nodepair/target}"

note() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() {
  printf '\033[1;31merror:\033[0m %s\n' "$*" >&2
  exit 1
}

retry_once() {
  "$@" && return 0
  note "failed, retrying once: $*"
  sleep 5
  "$@"
}

# version_at_least HAVE WANT: true when HAVE >= WANT (dotted numbers).
version_at_least() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

# Targets the keystore is type-checked for (its macOS and Windows keyrings).
CROSS_CHECK_TARGETS="x86_64-apple-darwin x86_64-pc-windows-msvc"
