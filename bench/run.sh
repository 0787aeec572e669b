#!/usr/bin/env bash
# `make bench`: builds what the benchmark needs, installs what is missing, runs bench/bench.py.
#
# Installs (as root, only when missing): nginx (nginx-light, else nginx) and wrk with apt-get
# (one `apt-get update` first); node_modules of bench/js (npm ci: the official client, altogic
# 2.3.9); a virtualenv in target/bench/venv with requests, matplotlib and this repository's
# Python package (pip install ./bindings/python). Builds the library and the emulator (cargo),
# the C, C++, Go and Rust (reqwest) bench programs into target/bench/bin.
#
# Then the real network (bench/network/run.sh: TLS through a proxy adding a 20 ms round trip,
# writes bench/results-network.md), the completion queue from C (bench/queue/run.sh) and
# 10,000 waits from Python and Go (bench/waits/run.py), each printing its targets.
#
# BENCH_SECONDS (per cell, default 1.0) and BENCH_ROUNDS (default 3) shorten a run, e.g.
# BENCH_SECONDS=0.3 BENCH_ROUNDS=1 BENCH_MILLION=20000 make bench for a smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
work=$root/target/bench
bin=$work/bin
mkdir -p "$bin"
started=$SECONDS

step() { printf '==== %s\n' "$*"; }

# nginx started by bench.py is its child; should bench.py die without stopping it, stop the
# one whose pid file is ours (and only if it runs our config).
cleanup() {
    local pidfile=$work/nginx/nginx.pid pid
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [ -n "$pid" ] && grep -qs "$work/nginx/nginx.conf" "/proc/$pid/cmdline"; then
            kill "$pid" 2>/dev/null || true
        fi
    fi
}
trap cleanup EXIT

# ---- tools from Debian
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v node >/dev/null || missing+=(nodejs npm)
command -v g++ >/dev/null || missing+=(g++)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} (apt-get)"
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench: missing ${missing[*]}; run as root or install them" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    pkgs=()
    for p in "${missing[@]}"; do
        if [ "$p" = nginx ]; then
            # nginx-light is enough (a `return` is all it serves); newer Debian has only nginx.
            if apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=(nginx); fi
        else
            pkgs+=("$p")
        fi
    done
    apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin

# ---- builds
step "cargo build (library, emulator)"
cargo build --release -q -p altogic --lib
cargo build --release -q -p altogic-emulator

step "C and C++ bench programs"
gcc -O2 -Wall -Wextra -Werror -Iinclude bench/c/bench.c -Ltarget/release -laltogic \
    -Wl,-rpath,"$root/target/release" -lpthread -o "$bin/c-bench"
g++ -std=c++17 -O2 -Wall -Wextra -Werror -Iinclude bench/cpp/bench.cpp -Ltarget/release -laltogic \
    -Wl,-rpath,"$root/target/release" -lpthread -o "$bin/cpp-bench"

step "Go bench program (binding linked statically, and net/http)"
(cd bench/go && go build -o "$bin/gobench" .)

step "Rust reqwest::blocking bench program (a workspace of its own)"
CARGO_TARGET_DIR=$work/cargo cargo build --release -q --locked --manifest-path bench/rust/Cargo.toml
cp "$work/cargo/release/reqwest-bench" "$bin/reqwest-bench"

step "official JavaScript client (npm ci in bench/js)"
if ! (cd bench/js && node -e 'process.exit(require("altogic/package.json").version === "2.3.9" ? 0 : 1)' 2>/dev/null); then
    (cd bench/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

step "Python virtualenv (requests, matplotlib, this repository's package)"
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
"$work/venv/bin/python" -c 'import requests, matplotlib' 2>/dev/null ||
    "$work/venv/bin/pip" install -q --disable-pip-version-check requests matplotlib
# Always reinstalled: the package embeds libaltogic.so as built now.
"$work/venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python

step "ready in $((SECONDS - started)) s; measuring"
"$work/venv/bin/python" bench/bench.py

network_section() {
    step "the real network: TLS, 20 ms round trip, connections counted (bench/network/run.sh)"
    bench/network/run.sh
}
network_section

step "the completion queue: 10,000 started waits, 1,000 sharing a token (bench/queue/run.sh)"
bench/queue/run.sh

step "10,000 waits from Python's AsyncClient and Go goroutines, beside aiohttp and net/http (bench/waits/run.py)"
"$work/venv/bin/python" -c 'import aiohttp' 2>/dev/null ||
    "$work/venv/bin/pip" install -q --disable-pip-version-check aiohttp
# httpx is left out here: 1,000 of its waits took 32 s, 10,000 did not end in 300 s.
"$work/venv/bin/python" bench/waits/run.py

step "Go: 2,000 calls in flight in a net/http service, half cancelled by their clients (bench/go-cancel)"
(cd bench/go-cancel && go run . -emulator "$root/target/release/altogic-emulator")
echo "bench: done in $((SECONDS - started)) s"
