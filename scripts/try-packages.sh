#!/usr/bin/env bash
# Tries the manager's and the relay's packages in dist/ on this machine, as an
# operator would, then removes them: installs them with dpkg -i, runs
# `--version`, opens the man page, completes `nodepair-manager pa<TAB>` in
# bash, removes them with dpkg -r and checks that the state directories are
# still there. Needs root; changes the machine while it runs.
#
#   bash scripts/package.sh --no-app && sudo bash scripts/try-packages.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$ROOT"
[[ $(id -u) -eq 0 ]] || die "run as root: it installs and removes packages"
shopt -s nullglob
debs=(dist/nodepair-manager_*.deb dist/nodepair-relay_*.deb)
((${#debs[@]} == 2)) || die "expected one manager and one relay package in dist/ (bash scripts/package.sh --no-app)"

note "dpkg -i ${debs[*]}"
dpkg -i "${debs[@]}"
made=()
for state in /var/lib/nodepair /var/lib/private/nodepair; do
  [[ -e $state ]] || made+=("$state")
  mkdir -p "$state" && touch "$state/.kept-by-try-packages"
done

note "versions"
nodepair-manager --version
nodepair-relay --version

note "man nodepair-manager (first lines)"
MANWIDTH=80 man nodepair-manager 2>/dev/null | head -n 8
man -w nodepair-manager-pair

note "bash completion of 'nodepair-manager pa<TAB>'"
completed=$(bash --norc -c '
  source /usr/share/bash-completion/bash_completion
  COMP_LINE="nodepair-manager pa"; COMP_POINT=${#COMP_LINE}
  COMP_WORDS=(nodepair-manager pa); COMP_CWORD=1
  _completion_loader nodepair-manager
  complete -p nodepair-manager >/dev/null
  func=$(complete -p nodepair-manager | sed -E "s/.*-F ([^ ]+).*/\1/")
  "$func" nodepair-manager pa nodepair-manager
  echo "${COMPREPLY[*]}"')
echo "nodepair-manager pa<TAB> -> $completed"
[[ $completed == pair ]] || die "expected 'pair', got '$completed'"

note "dpkg -r nodepair-manager nodepair-relay"
dpkg -r nodepair-manager nodepair-relay
for f in /usr/bin/nodepair-manager /usr/bin/nodepair-relay; do
  [[ ! -e $f ]] || die "$f is still there after dpkg -r"
done
for state in /var/lib/nodepair /var/lib/private/nodepair; do
  [[ -e $state/.kept-by-try-packages ]] || die "$state was removed with the package"
  rm -f "$state/.kept-by-try-packages"
done
# dpkg -r keeps conffiles (/etc/nodepair/manager.toml): purge them, or this
# machine's manager commands and the tests would go on reading that file.
note "dpkg --purge nodepair-manager nodepair-relay"
dpkg --purge nodepair-manager nodepair-relay
[[ ! -e /etc/nodepair/manager.toml ]] || die "/etc/nodepair/manager.toml is still there after purge"
for state in "${made[@]}"; do rmdir "$state" 2>/dev/null || true; done
[[ ${#made[@]} -lt 2 ]] || rmdir /var/lib/private 2>/dev/null || true
note "installed, tried, removed and purged; the state directories were left alone"
