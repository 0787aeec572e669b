#!/usr/bin/env bash
# Builds and runs the C and C++ test suites against the release library and the fixture server:
# natively, with ASan/LSan/UBSan, then under valgrind (fork cases left out there: valgrind
# would check the child too).
# Usage: tests/c/run.sh [--no-valgrind]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/target/c-tests
mkdir -p "$out"

cargo build --release --quiet --lib --example fixture_server

CFLAGS=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1 -I"$root/include")
gcc "${CFLAGS[@]}" tests/c/test_altogic.c -o "$out/test_altogic" \
    -L"$root/target/release" -laltogic -Wl,-rpath,"$root/target/release" -lpthread
# The same suite with AddressSanitizer, LeakSanitizer and UBSan on the C side.
gcc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    tests/c/test_altogic.c -o "$out/test_altogic_asan" \
    -L"$root/target/release" -laltogic -Wl,-rpath,"$root/target/release" -lpthread
# The C++ API, with the same sanitizers, and its example.
CXXFLAGS=(-std=c++17 -Wall -Wextra -Wpedantic -Werror -g -O1 -I"$root/include")
g++ "${CXXFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    tests/cpp/test_altogic.cpp -o "$out/test_altogic_cpp" \
    -L"$root/target/release" -laltogic -Wl,-rpath,"$root/target/release" -lpthread
g++ "${CXXFLAGS[@]}" examples/cpp/run_task.cpp -o "$out/run_task_cpp" \
    -L"$root/target/release" -laltogic -Wl,-rpath,"$root/target/release" -lpthread
# The C header must also compile as C++ (cpp_compat).
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$root/include" -fsyntax-only -x c++ - <<'CPP'
#include "altogic.h"
int main() { AltogicClient *c = altogic_client_new(nullptr, nullptr, nullptr, nullptr); altogic_client_free(c); altogic_cancel_free(altogic_cancel_new()); altogic_queue_free(altogic_queue_new(nullptr)); return 0; }
CPP

. scripts/servers.sh
start_fixture "$out"
url=$fixture_url

echo "== C tests (native)"
timeout 300 "$out/test_altogic" "$url"

echo "== C tests (ASan, LSan, UBSan)"
# Forking while other threads allocate can hang inside ASan's own allocator (see the suite).
ASAN_OPTIONS=detect_leaks=1 ALTOGIC_TEST_NO_FORK_WHILE_CALLING=1 timeout 300 "$out/test_altogic_asan" "$url"

echo "== C++ tests (ASan, LSan, UBSan)"
ASAN_OPTIONS=detect_leaks=1 timeout 300 "$out/test_altogic_cpp" "$url"

if [ "${1:-}" != "--no-valgrind" ]; then
    command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
    echo "== C tests under valgrind"
    # valgrind.supp: glibc's resolver state of the queue's lookup thread, alive at exit.
    ALTOGIC_TEST_NO_FORK=1 timeout 900 valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --suppressions="$root/tests/c/valgrind.supp" \
        "$out/test_altogic" "$url"
fi
