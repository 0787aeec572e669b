#!/usr/bin/env bash
# The demo: builds the library, the emulator and the examples, starts the emulator on a
# free loopback port, runs billOnDemand (printing each status change) and failingTask
# (showing its errors) from C, eight billOnDemand at once through a completion queue and
# epoll from C, then billOnDemand from C++, Python, Go and the altogic-task command line,
# and stops the emulator whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/demo
mkdir -p "$out"

started=$SECONDS
# Each step with the time since the demo began: a first build takes many minutes.
step() { echo "== [$((SECONDS - started)) s] $*"; }

scripts/ensure-tools.sh
step "building the library, the emulator and altogic-task (release; the first build takes" \
    "about 15 minutes on 2 cores, cargo shows its progress)"
# One package per invocation: `cargo build --release -p altogic` (the README's command) then
# finds its build already made. Built together, the emulator's features would be unified
# into the library's dependencies, which would then be built a second time for -p altogic.
cargo build --release -p altogic
cargo build --release -p altogic-emulator
cargo build --release -p altogic-task

step "building the C example against libaltogic.a (static)"
gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -I"$root/include" examples/c/run_task.c \
    -o "$out/run_task" "$root/target/release/libaltogic.a" -lpthread -ldl -lm

step "building the C completion-queue example (epoll) against libaltogic.a (static)"
gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -I"$root/include" examples/c/queue_epoll.c \
    -o "$out/queue_epoll" "$root/target/release/libaltogic.a" -lpthread -ldl -lm

step "building the C++ example against libaltogic.a (static)"
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O2 -I"$root/include" examples/cpp/run_task.cpp \
    -o "$out/run_task_cpp" "$root/target/release/libaltogic.a" -lpthread -ldl -lm

step "building the Go example (links libaltogic.a statically)"
(cd bindings/go && go build -o "$out/runtask_go" ./examples/runtask)

. scripts/servers.sh
start_emulator "$out"
step "emulator at $url (log: $out/emulator.log)"

status=0
step "C: runOnce billOnDemand, then follow it"
"$out/run_task" "$url" demo-client-key billOnDemand || status=1
step "C: runOnce failingTask, then follow it (it ends in errors)"
if "$out/run_task" "$url" demo-client-key failingTask; then
    echo "failingTask was expected to end in errors" >&2
    status=1
fi
step "C: 8 runOnce billOnDemand at once through a completion queue and epoll, each followed by a wait"
"$out/queue_epoll" "$url" demo-client-key billOnDemand 8 || status=1
step "C++: runOnce billOnDemand, then wait for it"
"$out/run_task_cpp" "$url" demo-client-key billOnDemand || status=1
step "Python: runOnce billOnDemand, then follow it (the package straight from bindings/python/src)"
PYTHONPATH=$root/bindings/python/src python3 bindings/python/examples/run_task.py "$url" demo-client-key billOnDemand || status=1
step "Go: runOnce billOnDemand, then follow it"
"$out/runtask_go" "$url" demo-client-key billOnDemand || status=1
step "altogic-task: run billOnDemand, then wait for it (the id is all that run prints)"
export ALTOGIC_ENV_URL=$url ALTOGIC_CLIENT_KEY=demo-client-key
task=$root/target/release/altogic-task
if id=$("$task" run billOnDemand); then
    echo "id=$id"
    "$task" status "$id" || status=1
    "$task" wait "$id" --timeout 30s || status=1
else
    status=1
fi
step "altogic-task: run failingTask --wait (exit status 1: it ended in errors)"
code=0
"$task" run failingTask --wait --timeout 30s || code=$?
[ "$code" = 1 ] || { echo "altogic-task exited $code for failingTask, not 1" >&2; status=1; }

step "over HTTPS: the emulator with a certificate from a CA made for the occasion"
scripts/make-certs.sh "$out/certs"
start_emulator "$out/https" --tls-cert "$out/certs/server.pem" --tls-key "$out/certs/server.key"
step "emulator at $url"
step "C over HTTPS, trusting the CA through SSL_CERT_FILE"
SSL_CERT_FILE=$out/certs/ca.pem "$out/run_task" "$url" demo-client-key billOnDemand || status=1
step "Python over HTTPS, trusting the CA through SSL_CERT_FILE"
SSL_CERT_FILE=$out/certs/ca.pem PYTHONPATH=$root/bindings/python/src \
    python3 bindings/python/examples/run_task.py "$url" demo-client-key billOnDemand || status=1
step "Go over HTTPS, trusting the CA through SSL_CERT_FILE"
SSL_CERT_FILE=$out/certs/ca.pem "$out/runtask_go" "$url" demo-client-key billOnDemand || status=1
step "altogic-task over HTTPS, trusting the CA with --ca-file"
"$task" --env-url "$url" --ca-file "$out/certs/ca.pem" run billOnDemand --wait --timeout 30s || status=1
step "without the CA the certificate is refused: tls_error, exit status 4"
code=0
"$task" --env-url "$url" run billOnDemand 2>"$out/https/refused.txt" || code=$?
cat "$out/https/refused.txt"
[ "$code" = 4 ] && grep -q tls_error "$out/https/refused.txt" || { echo "expected tls_error and exit status 4, got $code" >&2; status=1; }

step "done$([ "$status" = 0 ] || echo ", with failures (above)")"
cat <<BUILT

What the demo built, and how to run each by hand against an emulator: start one with
target/release/altogic-emulator (the demo app on URL=http://127.0.0.1:8787, client key
demo-client-key, tasks billOnDemand and failingTask), then, from the repository's root:
  target/release/libaltogic.so, .a     the library, with include/altogic.h and include/altogic.hpp
  target/release/altogic-emulator      the emulator
  target/release/altogic-task          the command line:
      target/release/altogic-task --env-url URL --client-key demo-client-key run billOnDemand --wait
  $out/run_task URL demo-client-key billOnDemand              (C: examples/c/run_task.c)
  $out/queue_epoll URL demo-client-key billOnDemand 8         (C: a completion queue and epoll)
  $out/run_task_cpp URL demo-client-key billOnDemand          (C++: examples/cpp/run_task.cpp)
  $out/runtask_go URL demo-client-key billOnDemand            (Go: bindings/go/examples/runtask)
  PYTHONPATH=bindings/python/src python3 bindings/python/examples/run_task.py URL demo-client-key billOnDemand
BUILT
exit $status
