#!/usr/bin/env bash
# Runs the official Altogic JavaScript client (npm `altogic` 2.3.9) against the emulator.
# Does not build the emulator: build it first (`cargo build --release -p altogic-emulator`)
# or pass its path in ALTOGIC_EMULATOR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
node --test official_client.test.mjs
