#!/usr/bin/env bash
# Installs whatever is missing, builds NodePair and runs it on this machine.
#
# What it runs grows with the product; today: a local Waku relay on
# 127.0.0.1, the manager's configuration check, and the desktop app's first
# screen (the manager daemon and pairing come with their issues, and then this
# script pairs the app with a manager through the local relay). With a display
# the app opens in a window until you close it; without one it runs on a
# virtual display (Xvfb) for a few seconds and leaves a screenshot.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/install.sh
source "$here/install.sh"
cd "$ROOT"

install_all
note "building the UI and the desktop app"
npm run build:ui --silent >/dev/null
cargo build --locked -p nodepair-app -p nodepair-manager -p nodepair-waku
bin="$CARGO_TARGET_DIR/debug"
out="$CARGO_TARGET_DIR/demo"
mkdir -p "$out"

ran=()
note "nodepair-relay: starting a local Waku relay on 127.0.0.1"
"$bin/nodepair-relay" --listen /ip4/127.0.0.1/tcp/0 --listen /ip4/127.0.0.1/tcp/0/ws --json \
  >"$out/relay.json" 2>"$out/relay.log" &
relay=$!
trap 'kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null' EXIT
for _ in $(seq 1 50); do [[ -s $out/relay.json ]] && break; sleep 0.1; done
[[ -s $out/relay.json ]] || die "the relay did not start (see $out/relay.log)"
ran+=("nodepair-relay: a Waku relay, $(cat "$out/relay.json"); log in $out/relay.log")

note "nodepair-manager: checking its configuration"
"$bin/nodepair-manager" config >"$out/manager-config.toml"
ran+=("nodepair-manager config: the manager's effective configuration, in $out/manager-config.toml")

if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
  note "nodepair: opening the app; close its window to end the demo"
  "$bin/nodepair"
  ran+=("nodepair: the desktop app, in a window on your display")
else
  note "nodepair: no display here, so the app runs on a virtual one (Xvfb)"
  shot="$out/nodepair.png"
  rm -f "$shot"
  # The app shows its window, we wait for WebKit to paint, take a picture of
  # the whole virtual screen, and stop the app.
  xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    NO_AT_BRIDGE=1 "$1" &
    app=$!
    for _ in $(seq 1 60); do
      sleep 0.5
      xwininfo -root -tree 2>/dev/null | grep -q "\"NodePair\"" && break
    done
    sleep 2
    import -window root "$2"
    kill "$app" 2>/dev/null
    wait "$app" 2>/dev/null || true
  ' _ "$bin/nodepair" "$shot"
  [[ -s $shot ]] || die "the app did not show a window on the virtual display"
  ran+=("nodepair: the desktop app on a virtual display; screenshot in $shot")
fi

echo
echo "The demo ran:"
printf '  - %s\n' "${ran[@]}"
echo "Not yet part of NodePair, so not run: the manager daemon, and pairing the app"
echo "with it through the relay."
