#!/usr/bin/env bash
# Runs the official Altogic JavaScript client (npm `altogic` 2.3.9) against the emulator,
# over HTTP, then over HTTPS with a throw-away CA (scripts/make-certs.sh) that only this
# node process trusts (NODE_EXTRA_CA_CERTS; the machine's trust store is not touched).
# Does not build the emulator: build it first (`cargo build --release -p altogic-emulator`)
# or pass its path in ALTOGIC_EMULATOR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
node --test official_client.test.mjs
certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
../../scripts/make-certs.sh "$certs"
NODE_EXTRA_CA_CERTS="$certs/ca.pem" ALTOGIC_EMULATOR_TLS_DIR="$certs" node --test official_client.test.mjs
