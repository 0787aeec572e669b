#!/usr/bin/env bash
# The "real network" section of `make bench` (bench/run.sh runs it), or alone:
#   bench/network/run.sh
# runOnce over TLS through a proxy adding 10 ms each way (20 ms round trip), from the library
# (C, the Python binding, the Go binding) and beside it Go net/http, requests.Session and
# reqwest, in two shapes (a worker pool taking turns, a poller calling every 5 s); prints the
# table and the targets and writes bench/results-network.md. About 2 minutes.
#
# Installs when missing (as root, one `apt-get update` first): gcc, openssl, python3-venv, Go
# (golang-go). Builds into target/bench/bin: bench/network/shapes.c (linked to
# target/release/libaltogic.so), bench/network/proxy (netproxy), bench/go (gobench: the Go
# binding and net/http), bench/rust (reqwest-network, in its own workspace and target dir);
# a virtualenv target/bench/venv with requests. The library and the emulator are used as
# built in target/release; they are built (cargo, -p altogic --lib and -p altogic-emulator)
# only when missing, or always with NETWORK_BUILD=1.
#
# Knobs: NETWORK_RTT_MS (20), NETWORK_THREADS (8), NETWORK_ROUNDS (3), NETWORK_POLL_CALLS (4),
# NETWORK_POLL_SECONDS (5), NETWORK_CLIENTS (c,python,gobinding,gonethttp,requests,reqwest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
work=$root/target/bench
bin=$work/bin
mkdir -p "$bin" "$work/network"
started=$SECONDS
step() { printf '==== network: %s\n' "$*"; }

# ---- tools from Debian
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v openssl >/dev/null || missing+=(openssl)
command -v go >/dev/null || missing+=(golang-go)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} (apt-get)"
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench/network: missing ${missing[*]}; run as root or install them" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "bench/network: cargo (Rust) is required: https://rustup.rs" >&2; exit 1; }

# ---- the library and the emulator, as built
if [ "${NETWORK_BUILD:-0}" = 1 ] || [ ! -f target/release/libaltogic.so ] || [ ! -f target/release/libaltogic.a ]; then
    step "cargo build (library)"
    cargo build --release -q -p altogic --lib
fi
if [ "${NETWORK_BUILD:-0}" = 1 ] || [ ! -x target/release/altogic-emulator ]; then
    step "cargo build (emulator)"
    cargo build --release -q -p altogic-emulator
fi

# ---- the programs
step "C program (libaltogic.so), netproxy, gobench (Go binding and net/http)"
gcc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude bench/network/shapes.c -Ltarget/release -laltogic \
    -Wl,-rpath,"$root/target/release" -lpthread -o "$bin/network-c"
(cd bench/network/proxy && go build -o "$bin/netproxy" .)
(cd bench/go && go build -o "$bin/gobench" .)

step "reqwest (bench/rust, a workspace of its own)"
CARGO_TARGET_DIR=$work/cargo cargo build --release -q --locked --manifest-path bench/rust/Cargo.toml --bin reqwest-network
cp "$work/cargo/release/reqwest-network" "$bin/reqwest-network"

step "Python virtualenv (requests); the binding runs from bindings/python/src"
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
"$work/venv/bin/python" -c 'import requests' 2>/dev/null ||
    "$work/venv/bin/pip" install -q --disable-pip-version-check requests

step "ready in $((SECONDS - started)) s; measuring (about 2 minutes)"
# network.py bounds every child and stops them when it ends; this bounds network.py itself.
timeout --kill-after=10 900 "$work/venv/bin/python" bench/network/network.py
