#!/usr/bin/env bash
# `make soak`: the soak run (examples/soak.rs) against the emulator and the misbehaving
# fixture server, for SOAK_SECONDS (default 60). make test runs a short one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/soak
mkdir -p "$out"
seconds=${SOAK_SECONDS:-60}

cargo build --release --quiet -p altogic --examples
cargo build --release --quiet -p altogic-emulator
. scripts/servers.sh
start_emulator "$out" --retention 5s --workers 8
start_fixture "$out"

echo "== soak for $seconds s: emulator $url, misbehaving server $fixture_url"
timeout $((seconds + 60)) "$root/target/release/examples/soak" "$url" "$fixture_url" "$seconds"
