#!/usr/bin/env bash
# Prints what a static link of libaltogic.a needs besides the archive, as rustc reports it
# for this target (`--print native-static-libs`), without -lgcc_s: libgcc_s exists only as
# a shared library, so the list must not name it for `-Wl,-Bstatic` or a static-only link,
# and gcc and clang add libgcc (and libgcc_s where it is needed) to every link by themselves.
#
# The final crate is rebuilt once for this; the answer is kept in target/release until
# `cargo clean` or a change of Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
file=target/release/native-static-libs.txt
stamp="$(sha256sum Cargo.lock | cut -c1-16) $(rustc --version)"
if [ ! -s "$file" ] || [ "$(head -1 "$file")" != "$stamp" ]; then
    cargo build --release --quiet -p altogic --lib
    libs=$(cargo rustc --release --quiet -p altogic --lib --crate-type staticlib -- --print native-static-libs 2>&1 |
        sed -n 's/.*native-static-libs: //p' | tail -1)
    [ -n "$libs" ] || { echo "rustc did not print native-static-libs" >&2; exit 1; }
    # Rebuild the ordinary way, so the library keeps cargo's usual fingerprint.
    cargo build --release --quiet -p altogic --lib
    mkdir -p "$(dirname "$file")"
    printf '%s\n%s\n' "$stamp" "$libs" >"$file"
fi
tail -1 "$file" | tr ' ' '\n' | grep -vx -- '-lgcc_s' | grep . | tr '\n' ' ' | sed 's/ $/\n/'
