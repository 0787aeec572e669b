#!/usr/bin/env bash
# Installs what the build and the tests need when the machine lacks it (Debian packages,
# as root); does nothing when everything is there.
set -euo pipefail
missing=()
command -v cargo >/dev/null || { echo "cargo (Rust) is required: https://rustup.rs" >&2; exit 1; }
for tool in gcc g++ make; do command -v "$tool" >/dev/null || missing+=("$tool"); done
command -v python3 >/dev/null || missing+=(python3 python3-venv)
command -v go >/dev/null || missing+=(golang-go)
if [ "${1:-}" = "--tests" ]; then
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    command -v cmake >/dev/null || missing+=(cmake)
    command -v valgrind >/dev/null || missing+=(valgrind)
    command -v node >/dev/null || missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--tests" ]; then
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi
