#!/usr/bin/env bash
# Every test of the project: formatting and lints, the committed header, Rust unit,
# integration and property tests (library, schedule, emulator), the C and C++ suites
# natively, with sanitizers and under valgrind, the Python and Go bindings, the installed
# library, the release files of `make dist` (built and used away from the repository), the
# official JavaScript client against the emulator, and the demo.
# Ends with "suites: N passed, N failed"; exits non-zero when any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/ensure-tools.sh --tests || exit 1

passed=0
failed=0
failures=()
suite() {
    local name=$1
    shift
    echo
    echo "==== $name"
    local started=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "==== $name: ok ($((SECONDS - started)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "==== $name: FAILED ($((SECONDS - started)) s)"
    fi
}

header_is_fresh() {
    # build.rs regenerated include/altogic.h; the committed copy must be the same.
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$root" diff --exit-code -- include/altogic.h
    fi
}

suite "build (release)" cargo build --release --workspace --all-targets
suite "header is up to date" header_is_fresh
suite "one version (Cargo.toml, Python package, header)" scripts/version.sh --check
suite "cargo fmt" cargo fmt --all -- --check
suite "cargo clippy" cargo clippy --release --workspace --all-targets -- -D warnings
suite "Rust tests" cargo test --release --workspace
suite "C tests (native, sanitizers, valgrind)" tests/c/run.sh
suite "Python binding (pip install, wheel, mypy --strict, pytest)" bindings/python/run-tests.sh
suite "Go binding (vet, go test -race, cgocheck2, CGO_ENABLED=0, example)" bindings/go/run-tests.sh
suite "install (pkg-config, CMake, SONAME, altogic-task, uninstall)" tests/install/run.sh
suite "dist (manylinux wheel, sdist, C tarball, Go proxy tree; each used away from the repository)" \
    scripts/dist.sh
suite "soak (short: 15 s)" env SOAK_SECONDS=15 scripts/soak.sh
suite "official JavaScript client vs emulator" \
    env ALTOGIC_EMULATOR="$root/target/release/altogic-emulator" tests/js/run.sh
suite "demo (C, C++, Python, Go examples and altogic-task vs emulator)" scripts/demo.sh
nothing_to_build() {
    # The README's build command right after the demo reuses the demo's build.
    local log
    log=$(cargo build --release -p altogic 2>&1)
    if grep -q Compiling <<<"$log"; then
        echo "cargo build --release -p altogic after make demo compiled again:" >&2
        echo "$log" >&2
        return 1
    fi
}
suite "cargo build -p altogic after the demo builds nothing" nothing_to_build

echo
[ ${#failures[@]} -eq 0 ] || printf 'failed suite: %s\n' "${failures[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
