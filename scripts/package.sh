#!/usr/bin/env bash
# Builds NodePair's Debian packages into dist/:
#   nodepair-manager_<version>_<arch>.deb   the daemon, its systemd unit, /etc/nodepair/manager.toml
#   nodepair-relay_<version>_<arch>.deb     the Waku relay and its systemd unit
#   NodePair_<version>_<arch>.deb           the desktop app (Tauri's bundler; --no-app skips it)
# with their man pages and shell completions (packaging/), and runs lintian
# on each (tags it is told to leave out are listed in packaging/lintian-overrides
# and explained in packaging/README.md).
#
#   bash scripts/package.sh [--no-install] [--no-app]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/install.sh
source "$here/install.sh"
cd "$ROOT"

skip_install=""
app=1
for arg in "$@"; do
  case $arg in
    --no-install) skip_install=--no-install ;;
    --no-app) app=0 ;;
    *) die "unknown option $arg (expected --no-install, --no-app)" ;;
  esac
done
install_unless_skipped "the packages" "$skip_install"

out="$ROOT/dist"
mkdir -p "$out"
note "building the release binaries (a first build takes several minutes)"
cargo build --release --locked -p nodepair-manager -p nodepair-waku --bin nodepair-manager --bin nodepair-relay
for pkg in nodepair-manager nodepair-waku; do
  cargo deb --no-build --locked -p "$pkg" --output "$out"
done
if ((app)); then
  note "building the desktop app's package (Tauri)"
  npm run tauri -- build --bundles deb
  cp "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb "$out"/
fi

status=0
for deb in "$out"/*.deb; do
  note "lintian $(basename "$deb")"
  # Tags in packaging/lintian-overrides (none yet) are left out, by name.
  lintian --suppress-tags-from-file "$ROOT/packaging/lintian-overrides" --fail-on error "$deb" || status=1
done
ls -l "$out"/*.deb
exit $status
