#!/usr/bin/env bash
# `make test-platforms`: what `make dist-platforms` built, run on this x86_64 machine under
# qemu-user (arm64) and wine (Windows), against the emulator and the test fixture on
# 127.0.0.1 (native x86_64 servers; the programs under test are the other platform's):
#
#   linux-aarch64        the C suite (dynamic and static), the C example, the Go example and
#                        the Go tests (go test -c for arm64), the Python tests with the
#                        aarch64 wheel on Debian's arm64 Python, under qemu-aarch64
#   linux-x86_64-musl    the C example fully static and against the tarball's .so (Debian's
#                        musl loader), the static altogic-task, the Go example as a static
#                        musl program (-tags altogic_musl), run natively
#   linux-aarch64-musl   the C example, fully static, under qemu-aarch64
#   windows-x86_64       the C suite and the C example, with altogic.dll and statically linked
#                        (the suite's POSIX-only cases left out), http://localhost under wine,
#                        altogic-task.exe, the Go example (from the module proxy tree), the
#                        Go tests, and the Rust unit and integration tests, under wine
#
# Runs `make dist-platforms` first when its files are missing. Each check prints a line;
# the script fails if any failed. docs/platforms.md says what is tested how, and why the
# rest is not.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/platform-toolchain.sh
set +e
version=$(scripts/version.sh)
dist=$root/dist
out=$root/target/test-platforms
arm64_sysroot=/usr/aarch64-linux-gnu
started=$SECONDS

passed=0
failed=0
failures=()
check() {
    local name=$1
    shift
    echo
    echo "---- $name"
    local began=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "---- $name: ok ($((SECONDS - began)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "---- $name: FAILED ($((SECONDS - began)) s)"
    fi
}

platform_tools
built() { echo "$root/target/platforms/$1/release"; }
if [ ! -f "$(built aarch64-unknown-linux-gnu)/libaltogic.so" ] ||
    [ ! -f "$(built x86_64-pc-windows-gnu)/altogic.dll" ] ||
    [ ! -f "$(built x86_64-unknown-linux-musl)/libaltogic.a" ] ||
    [ ! -d "$dist/goproxy" ]; then
    scripts/dist-platforms.sh || exit 1
fi
echo "== the native emulator and fixture (release)"
cargo build --release --quiet -p altogic-emulator || exit 1
cargo build --release --quiet -p altogic --lib --example fixture_server || exit 1
# A module cache of this run's own: another one may hold this version from `make dist`
# (its files are read-only, hence go clean).
[ -d "$out/gomodcache" ] && GOMODCACHE=$out/gomodcache go clean -modcache
rm -rf "$out"
mkdir -p "$out"
export GOMODCACHE=$out/gomodcache GOFLAGS=-mod=mod GOSUMDB=off
. scripts/servers.sh
start_emulator "$out" || exit 1
start_fixture "$out" || exit 1
echo "emulator $url, fixture $fixture_url"

zig_cc() { "$platform_venv/bin/python" -m ziglang cc "$@"; }
arm64() { QEMU_LD_PREFIX=$arm64_sysroot qemu-aarch64 "$@"; }
# The example exits 0 when billOnDemand completed; failingTask must end in errors (exit 1).
example_runs() {
    local name=$1
    shift
    "$@" "$url" demo-client-key billOnDemand >"$out/$name.out" 2>&1 || { cat "$out/$name.out"; return 1; }
    grep -q completed "$out/$name.out" || { cat "$out/$name.out"; return 1; }
    "$@" "$url" demo-client-key failingTask >"$out/$name-failing.out" 2>&1
    local status=$?
    [ "$status" = 1 ] || { echo "failingTask: exit $status, want 1"; cat "$out/$name-failing.out"; return 1; }
    tail -2 "$out/$name.out"
}
is_static() { file "$1" && file "$1" | grep -q 'static'; }
elf_machine() { readelf -h "$1" | sed -n 's/ *Machine: *//p'; }

# ---- Linux arm64 (glibc)
a64=$(built aarch64-unknown-linux-gnu)
c_flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -O1 -I"$root/include")
arm64_c_builds() {
    aarch64-linux-gnu-gcc "${c_flags[@]}" tests/c/test_altogic.c -o "$out/test_altogic_arm64" \
        -L"$a64" -laltogic -Wl,-rpath,"$a64" -lpthread &&
        aarch64-linux-gnu-gcc "${c_flags[@]}" tests/c/test_altogic.c -o "$out/test_altogic_arm64_static" \
            "$a64/libaltogic.a" -lpthread -ldl -lm &&
        aarch64-linux-gnu-gcc "${c_flags[@]}" examples/c/run_task.c -o "$out/run_task_arm64" \
            "$a64/libaltogic.a" -lpthread -ldl -lm &&
        [ "$(elf_machine "$out/run_task_arm64")" = AArch64 ]
}
check "linux-aarch64: C suite and example compile and link (gcc aarch64-linux-gnu)" arm64_c_builds
# qemu-user 7.2 cannot run fork() in a multithreaded program reliably: the fork cases are
# left out here (they run natively in make test).
check "linux-aarch64: C suite, libaltogic.so (qemu-aarch64)" \
    env ALTOGIC_TEST_NO_FORK=1 QEMU_LD_PREFIX=$arm64_sysroot timeout 900 qemu-aarch64 "$out/test_altogic_arm64" "$fixture_url"
check "linux-aarch64: C suite, libaltogic.a (qemu-aarch64)" \
    env ALTOGIC_TEST_NO_FORK=1 QEMU_LD_PREFIX=$arm64_sysroot timeout 900 qemu-aarch64 "$out/test_altogic_arm64_static" "$fixture_url"
check "linux-aarch64: C example vs the emulator (qemu-aarch64)" example_runs run_task_arm64 arm64 "$out/run_task_arm64"

# The Go module as `go get` fetches it, from the proxy tree: its archives per platform.
gomod=$out/gomod
go_module() {
    mkdir -p "$gomod"
    cp bindings/go/examples/runtask/main.go "$gomod/"
    (cd "$gomod" && cat >go.mod <<EOF
module platformcheck

go 1.23
EOF
    GOPROXY=file://$dist/goproxy go get "github.com/altogic/altogic-ffi/bindings/go@v$version" >/dev/null)
}
check "the Go module from dist/goproxy" go_module
go_build() { # GOOS GOARCH CC OUTPUT [go build flags...]
    local goos=$1 goarch=$2 cc=$3 output=$4
    shift 4
    (cd "$gomod" && GOOS=$goos GOARCH=$goarch CGO_ENABLED=1 CC=$cc GOPROXY=file://$dist/goproxy \
        go build "$@" -o "$output" .)
}
check "linux-aarch64: Go example builds (GOARCH=arm64, the module's lib/linux-arm64)" \
    go_build linux arm64 aarch64-linux-gnu-gcc "$out/runtask_arm64"
check "linux-aarch64: Go example vs the emulator (qemu-aarch64)" example_runs runtask_arm64 arm64 "$out/runtask_arm64"
# The repository's Go tests for another platform: linked with its archive through pkg-config
# (the tag altogic_pkgconfig), against the emulator started above (ALTOGIC_EMULATOR_URL: from
# under qemu or wine, the tests cannot start this machine's programs; those that would, skip).
go_tests() { # GOOS GOARCH CC ARCHIVE OUTPUT RUNNER...
    local goos=$1 goarch=$2 cc=$3 archive=$4 output=$5
    shift 5
    local pc=$out/pkgconfig-$goos-$goarch
    mkdir -p "$pc"
    cat >"$pc/altogic.pc" <<EOF
Name: altogic
Description: libaltogic for $goos/$goarch
Version: $version
Cflags: -I$root/include
Libs: $archive $(cat "$(dirname "$archive")/native-static-libs.txt")
EOF
    (cd bindings/go && PKG_CONFIG_PATH=$pc GOOS=$goos GOARCH=$goarch CGO_ENABLED=1 CC=$cc \
        go test -c -tags altogic_pkgconfig -o "$output" .) || return 1
    (cd bindings/go && ALTOGIC_EMULATOR_URL=$url timeout 900 "$@" "$output" -test.count=1 -test.timeout=600s -test.v) \
        >"$output.log" 2>&1
    grep -E '^(--- FAIL|FAIL|ok|PASS)' "$output.log"
    echo "$(grep -c '^--- PASS' "$output.log") passed, $(grep -c '^--- SKIP' "$output.log") skipped"
    grep -q '^PASS$' "$output.log"
}
check "linux-aarch64: Go tests (go test -c for arm64, qemu-aarch64)" \
    go_tests linux arm64 aarch64-linux-gnu-gcc "$a64/libaltogic.a" "$out/altogic_go_arm64.test" \
    env QEMU_LD_PREFIX=$arm64_sysroot qemu-aarch64

python_tests_arm64() {
    # The manylinux aarch64 wheel, installed with the tests' packages (arm64 wheels where they
    # are compiled: uvloop) into a folder, run by Debian's arm64 Python under qemu. The fork
    # cases are left out (see the C suite).
    local python site=$out/python-arm64-site
    python=$(platform_arm64_python) || return 1
    "$platform_venv/bin/pip" install -q --target "$site" --platform manylinux2014_aarch64 --python-version 3.11 \
        --implementation cp --only-binary=:all: "pytest>=7" "trio>=0.22" "anyio>=4" "uvloop>=0.17" \
        "$dist/altogic-$version-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl" || return 1
    (cd bindings/python && PYTHONPATH=$site ALTOGIC_EMULATOR=$root/target/release/altogic-emulator \
        timeout 1800 "$python" -c 'import altogic, platform; print(platform.machine(), altogic.__file__)' &&
        PYTHONPATH=$site ALTOGIC_EMULATOR=$root/target/release/altogic-emulator \
            timeout 1800 "$python" -m pytest -p no:cacheprovider -q -k 'not fork' tests)
}
check "linux-aarch64: Python tests with the aarch64 wheel (Debian's arm64 Python 3.11, qemu-aarch64)" python_tests_arm64

# ---- Linux musl: fully static programs
musl_static_example() { # rust-triple zig-target output
    local lib
    lib=$(built "$1")/libaltogic.a
    # Fully static, the program needs an unwinder for the library (Rust unwinds panics to
    # the boundary): gcc -static brings libgcc_eh itself, zig cc takes LLVM's, -lunwind.
    zig_cc -target "$2" -static -std=c11 -O1 -I"$root/include" examples/c/run_task.c "$lib" -lunwind -o "$3" &&
        is_static "$3"
}
check "linux-x86_64-musl: C example, fully static (zig cc -target x86_64-linux-musl)" \
    musl_static_example x86_64-unknown-linux-musl x86_64-linux-musl "$out/run_task_musl"
check "linux-x86_64-musl: C example vs the emulator" example_runs run_task_musl "$out/run_task_musl"
musl_dynamic_example() {
    # Against the tarball's libaltogic.so, run by Debian's musl loader (/lib/ld-musl-x86_64.so.1).
    local tree=$out/musl-tarball
    rm -rf "$tree" && mkdir -p "$tree" && tar -C "$tree" -xzf "$dist/altogic-$version-linux-x86_64-musl.tar.gz" || return 1
    local lib=$tree/altogic-$version-linux-x86_64-musl/lib
    zig_cc -target x86_64-linux-musl -std=c11 -O1 -I"$root/include" examples/c/run_task.c -L"$lib" -laltogic \
        -Wl,-rpath,"$lib" -o "$out/run_task_musl_dynamic" &&
        file "$out/run_task_musl_dynamic" && file "$out/run_task_musl_dynamic" | grep -q 'ld-musl'
}
check "linux-x86_64-musl: C example linked to the tarball's libaltogic.so (zig cc)" musl_dynamic_example
check "linux-x86_64-musl: that example vs the emulator (Debian's musl loader)" \
    example_runs run_task_musl_dynamic "$out/run_task_musl_dynamic"
musl_cli() {
    local tree=$out/musl-tarball/altogic-$version-linux-x86_64-musl
    file "$tree/bin/altogic-task" | grep -q static &&
        "$tree/bin/altogic-task" --env-url "$url" --client-key demo-client-key run billOnDemand --wait
}
check "linux-x86_64-musl: the tarball's static altogic-task vs the emulator" musl_cli
check "linux-x86_64-musl: Go example, static (-tags altogic_musl, zig cc for musl)" \
    go_build linux amd64 "$platform_venv/bin/python -m ziglang cc -target x86_64-linux-musl" "$out/runtask_musl" \
    -tags altogic_musl -ldflags "-linkmode external -extldflags '-static -lunwind'"
check "linux-x86_64-musl: the Go example is static" is_static "$out/runtask_musl"
check "linux-x86_64-musl: Go example vs the emulator" example_runs runtask_musl "$out/runtask_musl"
check "linux-aarch64-musl: C example, fully static (zig cc -target aarch64-linux-musl)" \
    musl_static_example aarch64-unknown-linux-musl aarch64-linux-musl "$out/run_task_arm64_musl"
check "linux-aarch64-musl: C example vs the emulator (qemu-aarch64)" \
    example_runs run_task_arm64_musl qemu-aarch64 "$out/run_task_arm64_musl"

# ---- Windows x86_64, under wine
win=$(built x86_64-pc-windows-gnu)
winout=$out/windows
export WINEPREFIX=$out/wineprefix WINEDEBUG=-all
mkdir -p "$winout"
windows_builds() {
    # wine 8 has no bcryptprimitives.dll (Windows 10 and later do), where Rust's standard
    # library gets random bytes (ProcessPrng): a stand-in beside the programs, for the tests only.
    x86_64-w64-mingw32-gcc -shared -O2 -o "$winout/bcryptprimitives.dll" tests/windows/bcryptprimitives.c \
        tests/windows/bcryptprimitives.def -ladvapi32 || return 1
    cp "$win/altogic.dll" "$winout/"
    x86_64-w64-mingw32-gcc "${c_flags[@]}" examples/c/run_task.c -o "$winout/run_task_dll.exe" \
        -L"$win" -l:libaltogic.dll.a || return 1
    x86_64-w64-mingw32-gcc "${c_flags[@]}" -static examples/c/run_task.c -o "$winout/run_task_static.exe" \
        "$win/libaltogic.a" $(cat "$win/native-static-libs.txt") || return 1
    # The C suite (its POSIX-only cases left out on Windows, as it says), against the DLL and
    # statically; -static for MinGW's own runtime (winpthreads), so nothing else is needed.
    x86_64-w64-mingw32-gcc "${c_flags[@]}" -static tests/c/test_altogic.c -o "$winout/test_altogic_dll.exe" \
        -L"$win" -l:libaltogic.dll.a -lpthread || return 1
    x86_64-w64-mingw32-gcc "${c_flags[@]}" -static tests/c/test_altogic.c -o "$winout/test_altogic_static.exe" \
        "$win/libaltogic.a" $(cat "$win/native-static-libs.txt") -lpthread || return 1
}
check "windows-x86_64: C example and C suite (with altogic.dll, and static) compile (mingw-w64)" windows_builds
wine_ready() { timeout 300 wine cmd /c exit >/dev/null 2>&1 || timeout 300 wine cmd /c exit; }
check "windows-x86_64: wine starts" wine_ready
check "windows-x86_64: C suite, altogic.dll (wine)" timeout 900 wine "$winout/test_altogic_dll.exe" "$fixture_url"
check "windows-x86_64: C suite, libaltogic.a (wine)" timeout 900 wine "$winout/test_altogic_static.exe" "$fixture_url"
check "windows-x86_64: C example with altogic.dll vs the emulator (wine)" \
    example_runs run_task_dll timeout 120 wine "$winout/run_task_dll.exe"
# http://localhost:PORT under wine: 1.1's own connector hung there; reqwest's does not.
windows_localhost() {
    local port=${url##*:}
    timeout 120 wine "$winout/run_task_dll.exe" "http://localhost:$port" demo-client-key billOnDemand |
        tail -1 | grep -q '"status":"completed"'
}
check "windows-x86_64: http://localhost:PORT (wine)" windows_localhost
check "windows-x86_64: C example, static, vs the emulator (wine)" \
    example_runs run_task_static timeout 120 wine "$winout/run_task_static.exe"
check "windows-x86_64: Go example builds (GOOS=windows, the module's lib/windows-amd64)" \
    go_build windows amd64 x86_64-w64-mingw32-gcc "$winout/runtask.exe"
check "windows-x86_64: Go example vs the emulator (wine)" \
    example_runs runtask_windows timeout 120 wine "$winout/runtask.exe"
windows_cli() {
    cp "$win/altogic-task.exe" "$winout/" &&
        timeout 120 wine "$winout/altogic-task.exe" --env-url "$url" --client-key demo-client-key run billOnDemand --wait
}
check "windows-x86_64: altogic-task.exe vs the emulator (wine)" windows_cli
check "windows-x86_64: Go tests (go test -c for windows, wine)" \
    go_tests windows amd64 x86_64-w64-mingw32-gcc "$win/libaltogic.a" "$winout/altogic_go.test.exe" wine
rust_tests_windows() {
    # The library's unit tests and every integration test binary, built for Windows and run
    # under wine; the tests that are Linux-only say so (ignored, with the reason).
    platform_cargo x86_64-pc-windows-gnu test --release --no-run -p altogic --message-format=json \
        >"$out/windows-tests.json" 2>"$out/windows-tests-build.log" ||
        { tail -20 "$out/windows-tests-build.log"; return 1; }
    local name exe status=0
    while read -r name exe; do
        cp "$exe" "$winout/test-$name.exe"
        printf '%-12s ' "$name"
        (cd "$winout" && timeout 900 wine "./test-$name.exe" >"$out/windows-test-$name.log" 2>&1)
        grep -E '^test result' "$out/windows-test-$name.log" || { echo "no result"; status=1; }
        grep -q '^test result: ok' "$out/windows-test-$name.log" || { grep -E 'FAILED|panicked' "$out/windows-test-$name.log" | head; status=1; }
    done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if message.get("reason") == "compiler-artifact" and message.get("executable") and message["profile"]["test"]:
        print(message["target"]["name"], message["executable"])
' "$out/windows-tests.json")
    grep -h 'ignored, Linux only' "$out"/windows-test-*.log | sed 's/^/  /'
    return $status
}
check "windows-x86_64: the Rust unit and integration tests (wine)" rust_tests_windows

echo
echo "== test-platforms: $passed passed, $failed failed in $((SECONDS - started)) s"
for name in "${failures[@]}"; do echo "   FAILED: $name"; done
[ "$failed" = 0 ]
