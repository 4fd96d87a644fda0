#!/usr/bin/env bash
# Installs whatever NodePair's build, demo and tests need and is not there yet.
# Idempotent: a second run finds everything in place and changes nothing.
# Sourced by scripts/demo.sh and scripts/test.sh; also runnable on its own.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

# Debian/Ubuntu packages: Tauri 2's build dependencies, then what the tests
# use (a virtual display, WebKit's WebDriver, a Secret Service, screenshots,
# systemd-analyze, a skewed clock).
APT_PACKAGES=(
  build-essential pkg-config libssl-dev curl ca-certificates git
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev file
  xvfb xauth x11-utils dbus-x11 at-spi2-core imagemagick webkit2gtk-driver fonts-dejavu-core
  gnome-keyring dbus libsecret-tools
  systemd  # systemd-analyze checks the manager's unit file
  faketime  # the clock-skew fault test runs the manager minutes off
  python3 util-linux procps  # another user's connection (setpriv) to the app's control socket; pgrep
  xdotool haskell-gtk-sni-tray-utils  # the tray menu's screenshot: a tray that draws, a click
  podman runc busybox-static  # a real container engine (Docker API) for the containers tests, images from a busybox rootfs
  iproute2 nftables  # the WAN test and bench: network namespaces, veth pairs, loss
  lintian man-db bash-completion  # the packages: checked, and their man pages and completions tried
  nodejs npm
)

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    # `node` may come from elsewhere (nodesource, nvm): only ask apt when absent.
    if [[ $p == nodejs || $p == npm ]] && command -v "${p/nodejs/node}" >/dev/null 2>&1; then
      continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    note "apt: all ${#APT_PACKAGES[@]} packages present"
    return
  fi
  note "apt: installing ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  # Mirrors are flaky now and then: one retry, as the brief says.
  retry_once "${sudo[@]}" apt-get update -q || return 1
  retry_once "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_rust() {
  # rustup's default location, for a shell that has not sourced ~/.cargo/env.
  [[ -x $HOME/.cargo/bin/cargo ]] && export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v cargo >/dev/null 2>&1; then
    # Debian's own rustc is too old for edition 2024: install rustup's.
    note "rust: installing the stable toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
      sh -s -- -y --profile minimal --component rustfmt,clippy ||
      die "installing Rust failed: install it from https://rustup.rs and run this again"
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  local have
  have=$(rustc --version | awk '{print $2}')
  if ! version_at_least "$have" "$RUST_MIN"; then
    die "Rust $have is older than the $RUST_MIN this workspace needs: run 'rustup update'"
  fi
  # rustfmt and clippy are part of the test command.
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    note "rustup: adding rustfmt and clippy"
    rustup component add rustfmt clippy || return 1
  fi
  # The keystore, the manager and the app are type-checked for macOS and
  # Windows (scripts/cross-check.sh).
  local t missing=()
  for t in $CROSS_CHECK_TARGETS; do
    rustup target list --installed 2>/dev/null | grep -qx "$t" || missing+=("$t")
  done
  if ((${#missing[@]})); then
    note "rustup: adding the standard library for ${missing[*]} (type-checking only)"
    rustup target add "${missing[@]}" || return 1
  fi
}

# cargo_tool COMMAND CRATE: builds CRATE with cargo unless COMMAND runs.
cargo_tool() {
  if "$1" --version >/dev/null 2>&1; then
    note "cargo: $2 present"
  else
    note "cargo: building $2 (once)"
    cargo install "$2" --locked || return 1
  fi
}

# Tools built with cargo that the tests run: cargo-nextest runs the tests,
# cargo-fuzz the fuzz step, cargo-sweep keeps the shared target dir bounded,
# cargo-deb builds the manager's and the relay's packages, tauri-driver
# (2.1.0: newer is an alpha) drives the window's WebDriver tests.
install_cargo_tools() {
  cargo_tool cargo-nextest cargo-nextest || return 1
  cargo_tool cargo-fuzz cargo-fuzz || return 1
  cargo_tool cargo-sweep cargo-sweep || return 1
  cargo_tool cargo-deb cargo-deb || return 1
  if cargo install --list 2>/dev/null | grep -q '^tauri-driver v2\.1\.0:'; then
    note "cargo: tauri-driver 2.1.0 present"
  else
    note "cargo: building tauri-driver 2.1.0 (once)"
    cargo install tauri-driver@2.1.0 --locked || return 1
  fi
}

install_npm() {
  local stamp="$ROOT/node_modules/.nodepair-lock.sha256"
  if [[ -f $stamp && $(cat "$stamp") == "$(lock_hash)" ]]; then
    note "npm: node_modules matches package-lock.json"
    return
  fi
  note "npm: installing from package-lock.json"
  # `npm install`, not `npm ci`: the lock file lists only the platform
  # binaries of @tauri-apps/cli that the registry serves, and `npm ci`
  # refuses a lock without every optional platform package. With a lock in
  # place `npm install` installs exactly the locked versions.
  (cd "$ROOT" && retry_once npm install --no-audit --no-fund --loglevel=error) || return 1
  lock_hash >"$stamp"
}

lock_hash() {
  cat "$ROOT/package-lock.json" "$ROOT"/package.json "$ROOT"/*/package.json | sha256sum | cut -d' ' -f1
}

install_all() {
  install_apt && install_rust && install_cargo_tools && install_npm
}

# install_unless_skipped WHAT ARG: install_all, unless ARG is --no-install;
# WHAT names what the install is for, in the error.
install_unless_skipped() {
  if [[ ${2:-} != --no-install ]]; then
    install_all || die "installing what $1 need failed (see above)"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  install_all
fi
