#!/usr/bin/env bash
# `make install` and `make uninstall`: libaltogic as a C library is installed.
#
#   scripts/install.sh install|uninstall    (PREFIX, LIBDIR, INCLUDEDIR, DESTDIR from the environment)
#
# Installs lib/libaltogic.so.X.Y.Z with the links libaltogic.so.X (its SONAME) and
# libaltogic.so, lib/libaltogic.a, include/altogic.h and altogic.hpp, lib/pkgconfig/altogic.pc
# and lib/cmake/altogic/ (the imported targets altogic::altogic and altogic::altogic_static).
# DESTDIR stages the files for a package; the paths written inside them omit it.
# Uninstall removes exactly the files install writes, and the folders it made if empty.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
action=${1:?usage: scripts/install.sh install|uninstall}

PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DESTDIR=${DESTDIR:-}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
major=${version%%.*}

lib=$DESTDIR$LIBDIR
include=$DESTDIR$INCLUDEDIR
files=(
    "$lib/libaltogic.so.$version" "$lib/libaltogic.so.$major" "$lib/libaltogic.so"
    "$lib/libaltogic.a"
    "$include/altogic.h" "$include/altogic.hpp"
    "$lib/pkgconfig/altogic.pc"
    "$lib/cmake/altogic/altogicConfig.cmake" "$lib/cmake/altogic/altogicConfigVersion.cmake"
)

relative() { # the path $1 as seen from folder $2 (both absolute)
    python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$2"
}

if [ "$action" = uninstall ]; then
    for file in "${files[@]}"; do
        if [ -e "$file" ] || [ -L "$file" ]; then rm -f "$file" && echo "removed $file"; fi
    done
    for dir in "$lib/cmake/altogic" "$lib/cmake" "$lib/pkgconfig"; do
        [ -d "$dir" ] && rmdir --ignore-fail-on-non-empty "$dir"
    done
    exit 0
fi
[ "$action" = install ] || { echo "usage: scripts/install.sh install|uninstall" >&2; exit 2; }

echo "== building libaltogic (release)"
cargo build --release --quiet -p altogic --lib
# What a static link needs besides the archive, as rustc reports it for this target (the
# final crate is rebuilt once for this; the answer is kept in target/ until `cargo clean`).
native_libs_file=$root/target/release/native-static-libs.txt
if [ ! -s "$native_libs_file" ]; then
    cargo rustc --release --quiet -p altogic --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
        | sed -n 's/.*native-static-libs: //p' | tail -1 >"$native_libs_file.new"
    [ -s "$native_libs_file.new" ] || { echo "rustc did not print native-static-libs" >&2; exit 1; }
    mv "$native_libs_file.new" "$native_libs_file"
    # Rebuild the ordinary way, so the library keeps cargo's usual fingerprint.
    cargo build --release --quiet -p altogic --lib
fi
native_libs=$(cat "$native_libs_file")

echo "== installing libaltogic $version into ${DESTDIR}$PREFIX"
install -d "$lib" "$include" "$lib/pkgconfig" "$lib/cmake/altogic"
install -m 755 target/release/libaltogic.so "$lib/libaltogic.so.$version"
ln -sfn "libaltogic.so.$version" "$lib/libaltogic.so.$major"
ln -sfn "libaltogic.so.$major" "$lib/libaltogic.so"
install -m 644 target/release/libaltogic.a "$lib/libaltogic.a"
install -m 644 include/altogic.h include/altogic.hpp "$include/"

cmake_dir=$LIBDIR/cmake/altogic
fill() { # template -> file, with the placeholders of this install
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LIBDIR@|$LIBDIR|g" -e "s|@INCLUDEDIR@|$INCLUDEDIR|g" \
        -e "s|@VERSION@|$version|g" -e "s|@VERSION_MAJOR@|$major|g" \
        -e "s|@NATIVE_STATIC_LIBS@|$native_libs|g" \
        -e "s|@NATIVE_STATIC_LIBS_CMAKE@|$(echo "$native_libs" | sed 's/-l//g; s/ \+/;/g')|g" \
        -e "s|@PREFIX_FROM_CMAKE_DIR@|$(relative "$PREFIX" "$cmake_dir")|g" \
        -e "s|@LIBDIR_RELATIVE@|$(relative "$LIBDIR" "$PREFIX")|g" \
        -e "s|@INCLUDEDIR_RELATIVE@|$(relative "$INCLUDEDIR" "$PREFIX")|g" \
        "$1" >"$2"
    chmod 644 "$2"
}
fill packaging/altogic.pc.in "$lib/pkgconfig/altogic.pc"
fill packaging/altogicConfig.cmake.in "$lib/cmake/altogic/altogicConfig.cmake"
fill packaging/altogicConfigVersion.cmake.in "$lib/cmake/altogic/altogicConfigVersion.cmake"
printf 'installed %s\n' "${files[@]}"
