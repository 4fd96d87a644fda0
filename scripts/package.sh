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
# Only this build's packages: an older version left here would be linted and
# matched by `dpkg -i dist/nodepair-manager_*.deb`.
rm -f "$out"/*.deb "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb
note "building the release binaries (a first build takes several minutes)"
cargo build --release --locked -p nodepair-manager -p nodepair-waku --bin nodepair-manager --bin nodepair-relay
for pkg in nodepair-manager nodepair-waku; do
  cargo deb --no-build --locked -p "$pkg" --output "$out"
done
if ((app)); then
  note "building the desktop app's package (Tauri)"
  # The app's man pages (gzipped, as Debian keeps them) and completions go
  # in through Tauri's deb `files`, named in a config merged over
  # src-tauri/tauri.conf.json for this build.
  extra="$out/app-files"
  rm -rf "$extra" && mkdir -p "$extra"
  files=()
  for page in packaging/man/nodepair.1 packaging/man/nodepair-*.1; do
    # The manager's and the relay's own pages are in their packages.
    case $(basename "$page") in
      nodepair-managers.1) ;;
      nodepair-manager* | nodepair-relay*) continue ;;
    esac
    gzip -9n <"$page" >"$extra/$(basename "$page").gz"
    files+=("\"/usr/share/man/man1/$(basename "$page").gz\": \"$extra/$(basename "$page").gz\"")
  done
  files+=("\"/usr/share/bash-completion/completions/nodepair\": \"$ROOT/packaging/completions/nodepair.bash\"")
  files+=("\"/usr/share/zsh/vendor-completions/_nodepair\": \"$ROOT/packaging/completions/_nodepair\"")
  files+=("\"/usr/share/fish/vendor_completions.d/nodepair.fish\": \"$ROOT/packaging/completions/nodepair.fish\"")
  # Tauri names the package node-pair (its productName, kebab-cased), and
  # would put a changelog of its own under usr/share/doc/NodePair.
  files+=("\"/usr/share/doc/node-pair/copyright\": \"$ROOT/packaging/copyright\"")
  gzip -9n <packaging/changelog.app >"$extra/changelog.gz"
  files+=("\"/usr/share/doc/node-pair/changelog.gz\": \"$extra/changelog.gz\"")
  (IFS=,; printf '{"bundle": {"linux": {"deb": {"files": {%s}}}}}\n' "${files[*]}") >"$extra/tauri.deb.json"
  # Built, stripped (as cargo-deb strips the others), then bundled.
  npm run tauri -- build --no-bundle
  strip --strip-unneeded "$CARGO_TARGET_DIR/release/nodepair"
  npm run tauri -- bundle --bundles deb --config "$extra/tauri.deb.json"
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
