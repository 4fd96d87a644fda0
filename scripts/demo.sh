#!/usr/bin/env bash
# Installs whatever is missing, builds NodePair and runs it on this machine.
#
# What it runs grows with the product; today: a local Waku relay on
# 127.0.0.1, a manager daemon that knows only that relay, the app without a
# window (`nodepair pair`) showing a pairing code, the manager pairing with it
# by that code, and then the desktop app's window, which reconnects to the
# manager by itself and lists it online. With a display the app opens in a window until you
# close it; without one it runs on a virtual display (Xvfb) for a few seconds
# and leaves a screenshot. Everything it starts is stopped at the end; its
# files are in $CARGO_TARGET_DIR/demo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/install.sh
source "$here/install.sh"
cd "$ROOT"

install_all
note "building the UI, the desktop app, the manager and the relay"
npm run build:ui --silent >/dev/null
cargo build --locked -p nodepair-app -p nodepair-manager -p nodepair-waku
bin="$CARGO_TARGET_DIR/debug"
out="$CARGO_TARGET_DIR/demo"
rm -rf "$out"
mkdir -p "$out"

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# wait_for FILE PATTERN WHAT: waits up to 20 s for PATTERN to appear in FILE.
wait_for() {
  local _
  for _ in $(seq 1 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$3 (see $1)"
}

ran=()
note "nodepair-relay: starting a local Waku relay on 127.0.0.1"
"$bin/nodepair-relay" --listen /ip4/127.0.0.1/tcp/0 --cluster 42 --json \
  >"$out/relay.json" 2>"$out/relay.log" &
pids+=($!)
wait_for "$out/relay.json" listen "the relay did not start"
relay_addr=$(sed -e 's/.*"listen":\["\([^"]*\)".*/\1/' "$out/relay.json")
ran+=("nodepair-relay: a Waku relay at $relay_addr; log in $out/relay.log")

note "nodepair-manager run: the daemon, which knows only the relay"
printf '%s\n' \
  'display_name = "demo-manager"' \
  "state_dir = \"$out/manager-state\"" \
  'capabilities = ["info", "host"]' \
  '' '[network]' 'preset = "local"' "bootstrap = [\"$relay_addr\"]" 'cluster = 42' 'shard = 0' \
  '' '[keystore]' 'backend = "vault"' >"$out/manager.toml"
manager=("$bin/nodepair-manager" --config "$out/manager.toml")
# A demo vault passphrase, from the environment (never the command line).
export NODEPAIR_VAULT_PASSPHRASE="demo passphrase"
"${manager[@]}" run >"$out/manager.out" 2>"$out/manager.log" &
pids+=($!)
wait_for "$out/manager.out" "nodepair-manager running" "the manager daemon did not start"
ran+=("$(cat "$out/manager.out")")

note "nodepair pair: the app, without a window, shows a pairing code"
printf '%s\n' \
  'display_name = "demo-app"' \
  "data_dir = \"$out/app-data\"" \
  '' '[network]' 'preset = "local"' "bootstrap = [\"$relay_addr\"]" 'cluster = 42' 'shard = 0' \
  '' '[keystore]' 'backend = "vault"' >"$out/app.toml"
# The window reads its settings from $XDG_CONFIG_HOME/nodepair/app.toml.
mkdir -p "$out/app-config/nodepair"
cp "$out/app.toml" "$out/app-config/nodepair/app.toml"
# The app answers "does the server show the same string?" from its standard
# input: this script compares the two screens below and answers for both.
mkfifo "$out/app.answer"
"$bin/nodepair" --config "$out/app.toml" pair <"$out/app.answer" >"$out/app.out" 2>"$out/app.log" &
app_pid=$!
pids+=("$app_pid")
exec 7>"$out/app.answer"
wait_for "$out/app.out" "^Pairing code: " "the app did not show a code"
code=$(sed -n 's/^Pairing code: //p' "$out/app.out")
cat "$out/app.out"

note "nodepair-manager pair: typing the code the app shows"
# Both sides show a verification string and ask their person whether the
# other screen shows the same; here the script looks at both and answers.
coproc PAIR { "${manager[@]}" pair "$code" 2>"$out/pair.log"; }
: >"$out/pair.out"
on_server=""
while IFS= read -r line <&"${PAIR[0]}"; do
  printf '%s\n' "$line" | tee -a "$out/pair.out"
  if [[ -z $on_server && $line == verification:* ]]; then
    on_server=$(cut -d" " -f2-3 <<<"$line")
    wait_for "$out/app.out" "^verification: " "the app did not show a verification string"
    on_app=$(sed -n 's/^verification: //p' "$out/app.out" | head -n1 | cut -d" " -f1-2)
    note "the server shows $on_server, the app shows $on_app"
    if [[ $on_server == "$on_app" ]]; then
      echo yes >&"${PAIR[1]}"
      echo yes >&7
    else
      echo no >&"${PAIR[1]}"
      echo no >&7
      die "the verification strings differ: someone else answered the code"
    fi
  fi
done
exec 7>&-
wait "$app_pid" || die "the app did not finish pairing (see $out/app.log)"
ran+=("nodepair-manager pair: $(grep '^paired with' "$out/pair.out"), through the relay only")
ran+=("both sides showed the verification string $on_server; the script compared them and confirmed on both")
ran+=("nodepair pair (the app): $(grep '^paired with' "$out/app.out")")
"${manager[@]}" peers | tee "$out/peers.out"
ran+=("nodepair-manager peers: the paired app, in $out/peers.out")

# The window opens the same keys and reconnects to the manager by itself.
export XDG_CONFIG_HOME="$out/app-config"
if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
  note "nodepair: opening the app; close its window to end the demo"
  "$bin/nodepair"
  ran+=("nodepair: the desktop app, in a window on your display, with the paired manager")
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
    sleep 4
    import -window root "$2"
    kill "$app" 2>/dev/null
    wait "$app" 2>/dev/null || true
  ' _ "$bin/nodepair" "$shot"
  [[ -s $shot ]] || die "the app did not show a window on the virtual display"
  ran+=("nodepair: the desktop app on a virtual display, listing the paired manager; screenshot in $shot")
fi

echo
echo "The demo ran:"
printf '  - %s\n' "${ran[@]}"
echo "The window can pair too (its \"Pair a manager\" button); the demo pairs through"
echo "the same binary's terminal mode so that it runs without anyone clicking."
echo "Open the manager in the window to see its host: CPU, memory, disks, charts."
echo "Not run here (they need a node, systemd units and logs to share): the Ethereum node, services and logs views."
