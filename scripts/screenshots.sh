#!/usr/bin/env bash
# Regenerates docs/screenshots/: every screen of the desktop app, light and
# dark, at 1280×800 and narrow, taken from the real app paired with real
# managers over a local relay (tests/examples/screenshots.rs).
#
#   scripts/screenshots.sh [OUT_DIR]     default: docs/screenshots
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/install.sh
source "$here/install.sh"
cd "$ROOT"
install_all || die "installing what the screenshots need failed (see above)"
out="${1:-docs/screenshots}"
npm run build:ui
cargo run --quiet --locked -p nodepair-tests --example screenshots -- "$out"
