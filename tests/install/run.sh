#!/usr/bin/env bash
# `make install` as a C library user meets it: installs into a temporary prefix, then builds
# and runs against the emulator a C program with nothing but `pkg-config --cflags --libs
# altogic` (with the rpath the README gives, and with LD_LIBRARY_PATH), once more with
# --static (the shared library hidden so only the archive and Libs.private can satisfy the
# link), with altogic-static.pc (the archive linked whatever is beside it), a C++ program
# whose CMake project only says find_package(altogic 1 REQUIRED) (shared and static), the
# installed altogic-task, and the Go example with the binding's altogic_pkgconfig build tag.
# Also the in-repository C and C++ commands of docs/c-api.md, and the shell commands of the
# README's 30-second try, exactly as written. Checks the SONAME
# and links, a DESTDIR staging, and that `make uninstall` removes exactly what was installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/target/install-test
rm -rf "$out"
mkdir -p "$out"
prefix=$out/prefix

cargo build --release --quiet -p altogic-emulator
make --no-print-directory install PREFIX="$prefix" >"$out/install.log"
version=$(scripts/version.sh)
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

echo "== C with pkg-config (shared), with the rpath of the README"
[ "$(pkg-config --modversion altogic)" = "$version" ] || fail "pkg-config --modversion"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror examples/c/run_task.c $(pkg-config --cflags --libs altogic) \
    -Wl,-rpath,"$(pkg-config --variable=libdir altogic)" -o "$out/run_task_rpath"
ldd "$out/run_task_rpath" | grep -q "libaltogic.so.$major => $prefix/lib/libaltogic.so.$major" \
    || fail "the program with an rpath does not load libaltogic.so.$major from the prefix"
"$out/run_task_rpath" "$url" demo-client-key billOnDemand

echo "== C with pkg-config (shared), found through LD_LIBRARY_PATH"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror examples/c/run_task.c $(pkg-config --cflags --libs altogic) -o "$out/run_task_shared"
if env -u LD_LIBRARY_PATH "$out/run_task_shared" "$url" demo-client-key billOnDemand >/dev/null 2>&1; then
    fail "a program without an rpath found libaltogic in $prefix (the README says it cannot)"
fi
LD_LIBRARY_PATH=$prefix/lib ldd "$out/run_task_shared" | grep -q "libaltogic.so.$major => $prefix/lib/libaltogic.so.$major" \
    || fail "the program does not load libaltogic.so.$major from the prefix"
LD_LIBRARY_PATH=$prefix/lib "$out/run_task_shared" "$url" demo-client-key billOnDemand

echo "== C with pkg-config --static (only the archive visible)"
pkg-config --static --libs altogic | grep -q -- '-lgcc_s' && fail "Libs.private names -lgcc_s"
mkdir -p "$out/hidden"
mv "$prefix"/lib/libaltogic.so* "$out/hidden/"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror examples/c/run_task.c $(pkg-config --static --cflags --libs altogic) -o "$out/run_task_static"
mv "$out"/hidden/libaltogic.so* "$prefix/lib/"
if ldd "$out/run_task_static" | grep -q altogic; then fail "the static program needs libaltogic at run time"; fi
"$out/run_task_static" "$url" demo-client-key billOnDemand

echo "== C with altogic-static.pc (libaltogic.so beside the archive)"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror examples/c/run_task.c $(pkg-config --cflags --libs altogic-static) -o "$out/run_task_static_pc"
if ldd "$out/run_task_static_pc" | grep -q altogic; then fail "altogic-static.pc linked libaltogic.so"; fi
"$out/run_task_static_pc" "$url" demo-client-key billOnDemand

echo "== altogic-task, installed in bin/"
"$prefix/bin/altogic-task" --version | grep -qx "altogic-task $version" || fail "altogic-task --version"
if ldd "$prefix/bin/altogic-task" | grep -q altogic; then fail "altogic-task needs libaltogic at run time"; fi
"$prefix/bin/altogic-task" --env-url "$url" --client-key demo-client-key run billOnDemand --wait --timeout 20s

echo "== C++ with CMake find_package(altogic 1 REQUIRED), shared and static"
for linkage in shared static; do
    cmake -S tests/install/cmake -B "$out/cmake-$linkage" -DCMAKE_PREFIX_PATH="$prefix" \
        -DALTOGIC_TARGET="altogic::altogic$([ $linkage = static ] && echo _static)" >"$out/cmake-$linkage.log"
    cmake --build "$out/cmake-$linkage" >>"$out/cmake-$linkage.log"
done
LD_LIBRARY_PATH=$prefix/lib "$out/cmake-shared/run_task_cpp" "$url" demo-client-key billOnDemand
if ldd "$out/cmake-static/run_task_cpp" | grep -q altogic; then fail "altogic::altogic_static linked libaltogic.so"; fi
"$out/cmake-static/run_task_cpp" "$url" demo-client-key billOnDemand
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

echo "== the README's in-repository commands, exactly as written (from the repository root)"
readme_dir=$out/readme
mkdir -p "$readme_dir"
cp examples/c/run_task.c "$readme_dir/app.c"
cp examples/cpp/run_task.cpp "$readme_dir/app.cpp"
(
    cd "$root"
    app=$readme_dir/app
    gcc -Iinclude "$app.c" -Ltarget/release -laltogic -Wl,-rpath,$PWD/target/release -o "$app"
    "$app" "$url" demo-client-key billOnDemand
    gcc -Iinclude "$app.c" target/release/libaltogic.a -lpthread -ldl -lm -o "$app-static"
    "$app-static" "$url" demo-client-key billOnDemand
    g++ -std=c++17 -Iinclude "$app.cpp" -Ltarget/release -laltogic -Wl,-rpath,$PWD/target/release -o "$app-cpp"
    "$app-cpp" "$url" demo-client-key billOnDemand
)

echo "== README.md's 30-second try, every shell command as written (scripts/readme-commands.py)"
scripts/readme-commands.py "$url"

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
