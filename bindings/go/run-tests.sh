#!/usr/bin/env bash
# Tests of the Go binding (bindings/go), from a fresh checkout: builds the static library
# and the emulator, then runs gofmt, go vet, the tests with the race detector, the tests
# once with GOEXPERIMENT=cgocheck2, the CGO_ENABLED=0 checks, the pkg-config build mode,
# and the example against an emulator it starts. Exits non-zero on any failure.
#
#   bindings/go/run-tests.sh            (ALTOGIC_GO_BENCH=1 also runs the benchmarks)
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
root=$(cd ../.. && pwd)
export GOFLAGS=-buildvcs=false # no VCS stamping: works whoever owns the checkout
export CGO_ENABLED=1
work=$(mktemp -d)
emulator_pid=
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

for tool in go cargo gcc; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
go version

step "building libaltogic.a and the emulator (cargo, release)"
(cd "$root" && cargo build --release --quiet -p altogic --lib && cargo build --release --quiet -p altogic-emulator)
lib=$root/target/release/libaltogic.a
emulator=$root/target/release/altogic-emulator
[ -f "$lib" ] && [ -x "$emulator" ] || fail "cargo did not produce $lib and $emulator"
export ALTOGIC_EMULATOR=$emulator

step "gofmt"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || fail "not gofmt-ed: $unformatted"

step "go vet (cgo, static library)"
go vet ./...

# A pkg-config file for the repository's build, standing in for an installed altogic.pc.
mkdir -p "$work/pkgconfig"
cat >"$work/pkgconfig/altogic.pc" <<PC
Name: altogic
Description: Altogic task-manager client (test stand-in for an installed copy)
Version: 1.0.0
Cflags: -I$root/include
Libs: -L$root/target/release -laltogic
PC
have_pkg_config=1
if ! command -v pkg-config >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        step "installing pkg-config (Debian package pkgconf)"
        apt-get install -y -qq pkgconf >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq pkgconf >/dev/null 2>&1; } || true
    fi
    command -v pkg-config >/dev/null || have_pkg_config=0
fi
if [ "$have_pkg_config" = 1 ]; then
    step "go vet -tags altogic_pkgconfig (pkg-config mode)"
    PKG_CONFIG_PATH=$work/pkgconfig go vet -tags altogic_pkgconfig ./...
else
    echo "warning: pkg-config is not installed: the altogic_pkgconfig build mode is not checked" >&2
fi

step "go test -race"
go test -race -count=1 ./...

step "go test with GOEXPERIMENT=cgocheck2 (cgo pointer rules checked fully)"
GOEXPERIMENT=cgocheck2 go test -count=1 ./...

step "CGO_ENABLED=0: builds, vets, and every call says cgo is required"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 go vet ./...
CGO_ENABLED=0 go test -count=1 -v -run TestWithoutCgo . | grep -E '^(--- |ok|FAIL)'

step "the example: built against libaltogic.a, no libaltogic.so needed"
go build -o "$work/runtask" ./examples/runtask
if ldd "$work/runtask" | grep -q altogic; then
    ldd "$work/runtask"
    fail "the example depends on a shared libaltogic"
fi
echo "ldd: no libaltogic dependency"

if [ "$have_pkg_config" = 1 ]; then
    step "the example built in pkg-config mode (links libaltogic.so)"
    PKG_CONFIG_PATH=$work/pkgconfig go build -tags altogic_pkgconfig -o "$work/runtask-pc" ./examples/runtask
    # grep reads all of ldd's output (no -q): with pipefail, grep -q leaving early could
    # fail the pipeline through ldd's SIGPIPE (it did once on a loaded machine).
    ldd "$work/runtask-pc" | grep 'libaltogic\.so' >/dev/null || fail "the pkg-config build does not link libaltogic.so"
fi

step "the example against the emulator"
"$emulator" --listen 127.0.0.1:0 >"$work/emulator.out" 2>"$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 200); do
    grep -q "listening on" "$work/emulator.out" 2>/dev/null && break
    kill -0 "$emulator_pid" 2>/dev/null || break
    sleep 0.05
done
url=$(sed -n 's/^altogic-emulator listening on //p' "$work/emulator.out")
[ -n "$url" ] || { cat "$work/emulator.log" >&2; fail "the emulator did not start"; }
echo "emulator at $url"

run_example() { # expected-exit binary args...
    local want=$1 got=0
    shift
    timeout 60 "$@" >"$work/example.out" 2>&1 || got=$?
    cat "$work/example.out"
    [ "$got" = "$want" ] || fail "$* exited $got, want $want"
}
run_example 0 "$work/runtask" "$url" demo-client-key billOnDemand
grep -q '^billOnDemand: processing$' "$work/example.out" || fail "no status change printed"
grep -q '^billOnDemand: completed$' "$work/example.out" || fail "billOnDemand did not complete"
run_example 1 "$work/runtask" "$url" demo-client-key failingTask
grep -q '^failingTask: errors$' "$work/example.out" || fail "failingTask did not end in errors"
run_example 0 "$work/runtask" "$url" demo-session-key billOnDemand demo-session-token
run_example 2 "$work/runtask" "$url" demo-session-key billOnDemand
run_example 2 "$work/runtask" "$url" demo-client-key noSuchTask
if [ "$have_pkg_config" = 1 ]; then
    LD_LIBRARY_PATH=$root/target/release run_example 0 "$work/runtask-pc" "$url" demo-client-key billOnDemand
fi

if [ "${ALTOGIC_GO_BENCH:-0}" = 1 ]; then
    step "benchmarks"
    go test -run '^$' -bench . -benchtime 2s .
fi

printf '\nGo binding: all checks passed\n'
