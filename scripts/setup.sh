#!/usr/bin/env bash
# Set up the development environment (idempotent; run from any directory).
#
#   ./scripts/setup.sh          .venv in the repo root with the project installed (editable)
#   ./scripts/setup.sh --test   also the test and dev extras, and Debian's dovecot-imapd,
#                               openssl and pipx for the integration tests (apt-get when
#                               missing; without root or sudo those tests skip)
set -euo pipefail

usage() { sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

with_test=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup.sh: Python >= 3.11 is required, python3 is $(python3 -V 2>&1)" >&2
    exit 1
fi

# Reuse a working .venv; (re)create a missing or broken one.
if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    if ! python3 -m venv --clear .venv; then
        echo "setup.sh: 'python3 -m venv' failed (on Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi

pip=(.venv/bin/python -m pip -q --disable-pip-version-check)
if [ "$with_test" -eq 1 ]; then
    "${pip[@]}" install -e '.[test,dev]'
else
    "${pip[@]}" install -e .
fi

[ "$with_test" -eq 1 ] || exit 0

# dovecot lives in /usr/sbin, which a non-root PATH on Debian may lack.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

if have dovecot && have openssl && have pipx; then
    exit 0
fi

skip_note="setup.sh: could not install dovecot-imapd/openssl/pipx; the Dovecot (and pipx) integration tests will skip"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "$skip_note (not root, no sudo)"
        exit 0
    fi
    if [ -t 0 ]; then sudo_cmd=(sudo); else sudo_cmd=(sudo -n); fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$skip_note (no apt-get)"
    exit 0
fi

echo "setup.sh: installing dovecot-imapd, openssl and pipx with apt-get"
# (${a[@]+"${a[@]}"}: an empty array under `set -u` in any bash)
if ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get -qq update >/dev/null &&
    ${sudo_cmd[@]+"${sudo_cmd[@]}"} env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends dovecot-imapd openssl pipx >/dev/null; then
    :
else
    echo "$skip_note (apt-get failed)"
fi
