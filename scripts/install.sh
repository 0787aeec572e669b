#!/usr/bin/env bash
# `make install` and `make uninstall`: libaltogic as a C library, and altogic-task.
#
#   scripts/install.sh install|uninstall    (PREFIX, LIBDIR, INCLUDEDIR, BINDIR, DESTDIR from the environment)
#
# Installs lib/libaltogic.so.X.Y.Z with the links libaltogic.so.X (its SONAME) and
# libaltogic.so, lib/libaltogic.a, include/altogic.h and altogic.hpp, bin/altogic-task,
# lib/pkgconfig/altogic.pc and altogic-static.pc, and lib/cmake/altogic/ (the imported
# targets altogic::altogic and altogic::altogic_static).
# DESTDIR stages the files for a package; the paths written inside them omit it.
# Uninstall removes exactly the files install writes, and the folders it made if empty.
#
# For `make dist` (scripts/dist.sh): ALTOGIC_BUILT_DIR names a folder holding an already
# built libaltogic.so, libaltogic.a and altogic-task (nothing is built then), and
# RELOCATABLE=1 writes pkg-config files that find the prefix from their own place
# (${pcfiledir}), as the CMake files always do, so the tree works wherever it is unpacked.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?usage: scripts/install.sh install|uninstall}

PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
BINDIR=${BINDIR:-$PREFIX/bin}
DESTDIR=${DESTDIR:-}
RELOCATABLE=${RELOCATABLE:-0}
version=$(scripts/version.sh)
major=${version%%.*}

lib=$DESTDIR$LIBDIR
include=$DESTDIR$INCLUDEDIR
bin=$DESTDIR$BINDIR
files=(
    "$lib/libaltogic.so.$version" "$lib/libaltogic.so.$major" "$lib/libaltogic.so"
    "$lib/libaltogic.a"
    "$include/altogic.h" "$include/altogic.hpp"
    "$bin/altogic-task"
    "$lib/pkgconfig/altogic.pc" "$lib/pkgconfig/altogic-static.pc"
    "$lib/cmake/altogic/altogicConfig.cmake" "$lib/cmake/altogic/altogicConfigVersion.cmake"
)

relative() { # the path $1 as seen from folder $2 (both absolute)
    python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$2"
}

if [ "$action" = uninstall ]; then
    for file in "${files[@]}"; do
        if [ -e "$file" ] || [ -L "$file" ]; then rm -f "$file" && echo "removed $file"; fi
    done
    # The folders install made for itself; bin/ is the prefix's own, and stays.
    for dir in "$lib/cmake/altogic" "$lib/cmake" "$lib/pkgconfig"; do
        [ -d "$dir" ] && rmdir --ignore-fail-on-non-empty "$dir"
    done
    exit 0
fi
[ "$action" = install ] || { echo "usage: scripts/install.sh install|uninstall" >&2; exit 2; }

if [ -n "${ALTOGIC_BUILT_DIR:-}" ]; then
    built=$ALTOGIC_BUILT_DIR
else
    echo "== building libaltogic and altogic-task (release)"
    # Two invocations, as everywhere in this repository: `-p altogic` alone is the README's
    # command, and building it with other packages would unify other features into its
    # dependencies (a second build of them, and of the library, for the same code).
    cargo build --release --quiet -p altogic --lib
    cargo build --release --quiet -p altogic-task
    built=target/release
fi
# ALTOGIC_NATIVE_STATIC_LIBS: the list for another target (scripts/dist-platforms.sh).
native_libs=${ALTOGIC_NATIVE_STATIC_LIBS:-$(scripts/native-static-libs.sh)}

echo "== installing libaltogic $version into ${DESTDIR}$PREFIX"
install -d "$lib" "$include" "$bin" "$lib/pkgconfig" "$lib/cmake/altogic"
install -m 755 "$built/libaltogic.so" "$lib/libaltogic.so.$version"
ln -sfn "libaltogic.so.$version" "$lib/libaltogic.so.$major"
ln -sfn "libaltogic.so.$major" "$lib/libaltogic.so"
install -m 644 "$built/libaltogic.a" "$lib/libaltogic.a"
install -m 755 "$built/altogic-task" "$bin/altogic-task"
install -m 644 include/altogic.h include/altogic.hpp "$include/"

if [ "$RELOCATABLE" = 1 ]; then
    pc_prefix='${pcfiledir}/'$(relative "$PREFIX" "$LIBDIR/pkgconfig")
    pc_libdir='${prefix}/'$(relative "$LIBDIR" "$PREFIX")
    pc_includedir='${prefix}/'$(relative "$INCLUDEDIR" "$PREFIX")
else
    pc_prefix=$PREFIX pc_libdir=$LIBDIR pc_includedir=$INCLUDEDIR
fi
cmake_dir=$LIBDIR/cmake/altogic
fill() { # template -> file, with the placeholders of this install
    sed -e "s|@PREFIX@|$pc_prefix|g" -e "s|@LIBDIR@|$pc_libdir|g" -e "s|@INCLUDEDIR@|$pc_includedir|g" \
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
fill packaging/altogic-static.pc.in "$lib/pkgconfig/altogic-static.pc"
fill packaging/altogicConfig.cmake.in "$lib/cmake/altogic/altogicConfig.cmake"
fill packaging/altogicConfigVersion.cmake.in "$lib/cmake/altogic/altogicConfigVersion.cmake"
printf 'installed %s\n' "${files[@]}"
