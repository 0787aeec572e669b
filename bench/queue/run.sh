#!/usr/bin/env bash
# The completion queue under load (bench/queue/queue_bench.c): 10,000 waits with a 1 s
# timeout on slowReport executions through one queue and epoll, then 1,000 waits sharing one
# token, against the emulator on a free loopback port. Prints the figures and PASS or MISS
# for each target. Run by `make bench` after bench.py, or alone:
#   bench/queue/run.sh [WAITS [TIMEOUT_MS [TASK [EXECUTIONS [CANCELLED]]]]]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
out=$root/target/bench/queue
mkdir -p "$out"

cargo build --release -q -p altogic --lib
cargo build --release -q -p altogic-emulator
gcc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -Iinclude bench/queue/queue_bench.c \
    -Ltarget/release -laltogic -Wl,-rpath,"$root/target/release" -o "$out/queue_bench"

. scripts/servers.sh
start_emulator "$out"
echo "queue bench: emulator at $url; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/queue_bench" "$url" demo-client-key "${1:-10000}" "${2:-1000}" "${3:-slowReport}" "${4:-1000}" "${5:-1000}"
