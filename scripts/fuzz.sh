#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target (fuzz/fuzz_targets/) for FUZZ_SECONDS each
# (default 60), on the corpus kept in fuzz/corpus/ (new inputs that add coverage are kept
# there), and fails when a target finds a crash (saved in fuzz/artifacts/TARGET/).
# Longer: FUZZ_SECONDS=3600 make fuzz, or one target: scripts/fuzz.sh answer.
# Needs the nightly toolchain (rustup toolchain install nightly) and installs cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(answer options task_id c_arguments schedule emulator_config)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
cargo +nightly fuzz build -O
status=0
for target in "${targets[@]}"; do
    echo "== fuzz $target for $seconds s"
    mkdir -p "corpus/$target"
    if ! cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 2>"../target/fuzz-$target.log"; then
        status=1
        echo "FAIL: $target found a crash; see fuzz/artifacts/$target/ and target/fuzz-$target.log" >&2
    fi
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "../target/fuzz-$target.log" | sed "s/^/  $target: /" || true
done
exit $status
