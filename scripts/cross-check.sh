#!/usr/bin/env bash
# Type-checks what runs on macOS and Windows (the keystore, the manager, the
# app) for TARGET on this Linux machine: `cargo clippy --target TARGET`, warnings
# refused as on Linux.
#
#   bash scripts/cross-check.sh TARGET      e.g. x86_64-pc-windows-msvc
#
# Some dependencies compile C in their build scripts (ring, SQLite, the
# Windows resource of the app's icon), and this machine has no C toolchain
# for those targets. A type-check links nothing, so they get a stand-in
# compiler, archiver and resource compiler (scripts/check-only/) that write
# empty objects: the Rust is checked for the target, the C is not built.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$ROOT"

target=${1:?usage: cross-check.sh TARGET}
var=${target//-/_}
stand_in="$ROOT/scripts/check-only"
export "CC_$var=$stand_in/cc" "CXX_$var=$stand_in/cc" "AR_$var=$stand_in/ar"
export "RC_$var=$stand_in/rc"
# cc asks xcrun for an SDK on Apple targets unless one is named.
[[ $target == *apple* ]] && export SDKROOT="${SDKROOT:-$stand_in}"
# clippy is a type-check too, and holds the code off Linux to the same lints.
cargo clippy --locked --keep-going --target "$target" -p nodepair-keystore -p nodepair-manager -p nodepair-app -- -D warnings
