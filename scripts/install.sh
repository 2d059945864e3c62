#!/usr/bin/env bash
# Install followup-watcher for yourself (no root): the `watcher` command with pipx (in
# ~/.local/bin), and the systemd user unit, its ExecStart= pointing at that command.
# Run it again after `git pull` to upgrade (a running service is restarted).
#
#   ./scripts/install.sh              install or upgrade
#   ./scripts/install.sh --uninstall  stop and remove the unit, then `pipx uninstall`; your
#                                     config (~/.config/followup-watcher) and store
#                                     (~/.local/state/followup-watcher) stay
set -euo pipefail

usage() { sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

uninstall=0
for arg in "$@"; do
    case "$arg" in
        --uninstall) uninstall=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v pipx >/dev/null 2>&1; then
    echo "install.sh: pipx is missing: sudo apt install pipx (Debian 12, Ubuntu), then run this again" >&2
    exit 1
fi

package=followup-watcher
unit=watcher.service
unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
state_dir="${XDG_STATE_HOME:-$HOME/.local/state}/followup-watcher"

# A user manager to talk to (not over SSH without lingering, nor in a container).
have_systemd() { systemctl --user show-environment >/dev/null 2>&1; }

if [ "$uninstall" -eq 1 ]; then
    if [ -f "$unit_dir/$unit" ]; then
        if have_systemd; then
            systemctl --user disable --now "$unit" || true
        fi
        rm -f "$unit_dir/$unit"
        if have_systemd; then systemctl --user daemon-reload; fi
        echo "removed $unit_dir/$unit"
    fi
    if pipx list --short 2>/dev/null | grep -q "^$package "; then
        pipx uninstall "$package"
    fi
    echo "uninstalled; kept your config (${XDG_CONFIG_HOME:-$HOME/.config}/followup-watcher) and store ($state_dir)"
    exit 0
fi

# --force: the same version again is reinstalled from this checkout (an upgrade after git pull).
pipx install --force .
bin_dir="$(pipx environment --value PIPX_BIN_DIR)"
command_path="$bin_dir/watcher"
if [ ! -x "$command_path" ]; then
    echo "install.sh: pipx did not put watcher in $bin_dir" >&2
    exit 1
fi

# The unit runs the command pipx installed; %h keeps the usual path readable.
case "$command_path" in
    "$HOME/.local/bin/watcher") exec_start='%h/.local/bin/watcher run' ;;
    *[[:space:]]*) exec_start="\"$command_path\" run" ;;
    *) exec_start="$command_path run" ;;
esac
mkdir -p "$unit_dir" "$state_dir"
chmod 0700 "$state_dir"
sed "s|^ExecStart=.*|ExecStart=$exec_start|" systemd/watcher.service >"$unit_dir/$unit.tmp"
mv "$unit_dir/$unit.tmp" "$unit_dir/$unit"
echo "installed $unit_dir/$unit (ExecStart=$exec_start)"

if have_systemd; then
    systemctl --user daemon-reload
    if systemctl --user is-active --quiet "$unit"; then
        systemctl --user restart "$unit"
        echo "restarted $unit: now running $("$command_path" --version 2>/dev/null || echo the new version)"
    fi
fi

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "note: $bin_dir is not on your PATH: run 'pipx ensurepath' and open a new shell" ;;
esac
cat <<EOF
next:
  watcher init                                  # the config, asks for your account
  watcher doctor                                # every line should say ✔
  systemctl --user enable --now $unit   # start it, and at every login
  loginctl enable-linger "\$USER"              # a server: keep it running when logged out
EOF
