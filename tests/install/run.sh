#!/usr/bin/env bash
# `make install` as a C library user meets it: installs into a temporary prefix, then builds
# and runs against the emulator a C program with nothing but `pkg-config --cflags --libs
# altogic` (and once more with --static, the shared library hidden so only the archive and
# Libs.private can satisfy the link), and a C++ program whose CMake project only says
# find_package(altogic 1 REQUIRED), and the Go example with the binding's altogic_pkgconfig
# build tag. Checks the SONAME and links, a DESTDIR staging, and that `make uninstall` removes
# exactly what was installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/target/install-test
rm -rf "$out"
mkdir -p "$out"
prefix=$out/prefix

cargo build --release --quiet -p altogic-emulator
make --no-print-directory install PREFIX="$prefix" >"$out/install.log"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
major=${version%%.*}

fail() { echo "FAIL: $*" >&2; exit 1; }
echo "== SONAME and links"
soname=$(readelf -d "$prefix/lib/libaltogic.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libaltogic.so.$major" ] || fail "SONAME is '$soname'"
[ "$(readlink "$prefix/lib/libaltogic.so.$major")" = "libaltogic.so.$version" ] || fail "libaltogic.so.$major link"
[ "$(readlink "$prefix/lib/libaltogic.so")" = "libaltogic.so.$major" ] || fail "libaltogic.so link"
echo "SONAME $soname; libaltogic.so -> libaltogic.so.$major -> libaltogic.so.$version"

. scripts/servers.sh
start_emulator "$out"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig

echo "== C with pkg-config (shared)"
[ "$(pkg-config --modversion altogic)" = "$version" ] || fail "pkg-config --modversion"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror examples/c/run_task.c $(pkg-config --cflags --libs altogic) -o "$out/run_task_shared"
LD_LIBRARY_PATH=$prefix/lib ldd "$out/run_task_shared" | grep -q "libaltogic.so.$major => $prefix/lib/libaltogic.so.$major" \
    || fail "the program does not load libaltogic.so.$major from the prefix"
LD_LIBRARY_PATH=$prefix/lib "$out/run_task_shared" "$url" demo-client-key billOnDemand

echo "== C with pkg-config --static"
mkdir -p "$out/hidden"
mv "$prefix"/lib/libaltogic.so* "$out/hidden/"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror examples/c/run_task.c $(pkg-config --static --cflags --libs altogic) -o "$out/run_task_static"
mv "$out"/hidden/libaltogic.so* "$prefix/lib/"
if ldd "$out/run_task_static" | grep -q altogic; then fail "the static program needs libaltogic at run time"; fi
"$out/run_task_static" "$url" demo-client-key billOnDemand

echo "== C++ with CMake find_package(altogic 1 REQUIRED)"
cmake -S tests/install/cmake -B "$out/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >"$out/cmake.log"
cmake --build "$out/cmake-build" >>"$out/cmake.log"
LD_LIBRARY_PATH=$prefix/lib "$out/cmake-build/run_task_cpp" "$url" demo-client-key billOnDemand
mkdir -p "$out/cmake-v2"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(v2 C)\nfind_package(altogic 2 REQUIRED)\n' >"$out/cmake-v2/CMakeLists.txt"
if cmake -S "$out/cmake-v2" -B "$out/cmake-v2/build" -DCMAKE_PREFIX_PATH="$prefix" >"$out/cmake-v2.log" 2>&1; then
    fail "find_package(altogic 2) accepted version $version"
fi
echo "find_package(altogic 2) is refused, as it should be"

echo "== Go binding linked through pkg-config (build tag altogic_pkgconfig)"
if command -v go >/dev/null; then
    (cd bindings/go && go build -tags altogic_pkgconfig -o "$out/runtask_go_pc" ./examples/runtask)
    LD_LIBRARY_PATH=$prefix/lib ldd "$out/runtask_go_pc" | grep -q "libaltogic.so.$major => $prefix/lib/" \
        || fail "the Go program does not load the installed libaltogic.so.$major"
    LD_LIBRARY_PATH=$prefix/lib "$out/runtask_go_pc" "$url" demo-client-key billOnDemand
else
    echo "go is not installed: skipped"
fi

echo "== uninstall removes exactly what was installed"
touch "$prefix/lib/someone-elses-file"
make --no-print-directory uninstall PREFIX="$prefix" >"$out/uninstall.log"
left=$(cd "$prefix" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
[ "$left" = "./lib/someone-elses-file " ] || fail "left after uninstall: $left"

echo "== DESTDIR stages under it, with the final paths inside"
make --no-print-directory install DESTDIR="$out/stage" PREFIX=/opt/altogic >"$out/stage.log"
[ -f "$out/stage/opt/altogic/lib/libaltogic.so.$version" ] || fail "DESTDIR staging"
grep -q '^prefix=/opt/altogic$' "$out/stage/opt/altogic/lib/pkgconfig/altogic.pc" || fail "prefix in altogic.pc"
make --no-print-directory uninstall DESTDIR="$out/stage" PREFIX=/opt/altogic >>"$out/stage.log"
[ -z "$(find "$out/stage" \( -type f -o -type l \))" ] || fail "DESTDIR uninstall left files"
echo "install: all checks passed"
