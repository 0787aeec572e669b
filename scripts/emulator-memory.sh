#!/usr/bin/env bash
# Measures whether the emulator's memory comes back: two rounds of 20 s of runOnce from 4
# keep-alive connections under --retention 2s; after each, once every execution is
# forgotten, its VmRSS against the start (target: within 24 MiB). Prints the figures.
# ALTOGIC_EMULATOR_MEMORY_SECONDS and ALTOGIC_EMULATOR_MEMORY_ROUNDS change the load.
set -euo pipefail
cd "$(dirname "$0")/.."
ALTOGIC_EMULATOR_MEMORY_SECONDS=${ALTOGIC_EMULATOR_MEMORY_SECONDS:-20} \
ALTOGIC_EMULATOR_MEMORY_ROUNDS=${ALTOGIC_EMULATOR_MEMORY_ROUNDS:-2} \
    cargo test --release -p altogic-emulator --test memory -- --nocapture 2>&1 |
    grep -E '^(emulator memory|  round|test result|thread .* panicked)|VmRSS'
