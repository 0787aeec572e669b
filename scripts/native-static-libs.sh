#!/usr/bin/env bash
# Prints what a static link of libaltogic.a needs besides the archive, as rustc reports it
# for this target (`--print native-static-libs`), without -lgcc_s: libgcc_s exists only as
# a shared library, so the list must not name it for `-Wl,-Bstatic` or a static-only link,
# and gcc and clang add libgcc (and libgcc_s where it is needed) to every link by themselves.
#
# The final crate is rebuilt once for this; the answer is kept in target/release until
# `cargo clean` or a change of Cargo.lock.
#
#   scripts/native-static-libs.sh              for this machine's release build
#   scripts/native-static-libs.sh --parse LOG  from the output of a `cargo rustc ... --
#                                              --print native-static-libs` for another
#                                              target (scripts/dist-platforms.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

# The last list rustc printed in the output on stdin.
printed() { sed -n 's/.*native-static-libs: //p' | tail -1; }
# A list without -lgcc_s, on one line.
without_gcc_s() { tr ' ' '\n' | grep -vx -- '-lgcc_s' | grep . | tr '\n' ' ' | sed 's/ $/\n/'; }

if [ "${1:-}" = --parse ]; then
    libs=$(printed <"${2:?usage: scripts/native-static-libs.sh --parse LOG}")
    [ -n "$libs" ] || { echo "no native-static-libs in $2" >&2; exit 1; }
    without_gcc_s <<<"$libs"
    exit 0
fi
file=target/release/native-static-libs.txt
stamp="$(sha256sum Cargo.lock | cut -c1-16) $(rustc --version)"
if [ ! -s "$file" ] || [ "$(head -1 "$file")" != "$stamp" ]; then
    cargo build --release --quiet -p altogic --lib
    libs=$(cargo rustc --release --quiet -p altogic --lib --crate-type staticlib -- --print native-static-libs 2>&1 |
        printed)
    [ -n "$libs" ] || { echo "rustc did not print native-static-libs" >&2; exit 1; }
    # Rebuild the ordinary way, so the library keeps cargo's usual fingerprint.
    cargo build --release --quiet -p altogic --lib
    mkdir -p "$(dirname "$file")"
    printf '%s\n%s\n' "$stamp" "$libs" >"$file"
fi
tail -1 "$file" | without_gcc_s
