#!/usr/bin/env bash
# `make dist`: what users install without the repository, built into dist/ at the version
# of Cargo.toml, then checked away from the repository (scripts/dist-check.sh):
#
#   dist/altogic-VERSION-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
#   dist/altogic-VERSION.tar.gz                      the Python sdist, carrying the crate
#   dist/altogic-VERSION-linux-x86_64.tar.gz         the C release: lib/ include/ bin/ pkg-config, CMake
#   dist/goproxy/                                    the Go module as a GOPROXY serves it
#
# The library (and altogic-task) is built once, for glibc 2.17 (manylinux2014), with zig
# (PyPI package ziglang) and cargo-zigbuild, and that one build goes into the wheel, the C
# tarball and the Go module's archive. The tools are installed into a virtualenv under
# target/ (pinned versions, from PyPI, in scripts/platform-toolchain.sh); nothing else is
# downloaded.
#
#   scripts/dist.sh              build, then run every check
#   scripts/dist.sh --no-check   build only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(scripts/version.sh)
major=${version%%.*}
triple=x86_64-unknown-linux-gnu
glibc=2.17
built=$root/target/$triple/release
dist=$root/dist
work=$root/target/dist-work
tools=$root/target/dist-venv # = platform_venv
wheel_platform=manylinux_2_17_x86_64.manylinux2014_x86_64
export PIP_DISABLE_PIP_VERSION_CHECK=1
started=$SECONDS

step() { printf '\n== %s (%d s)\n' "$*" "$((SECONDS - started))"; }
fail() { echo "dist: $*" >&2; exit 1; }

step "tools: zig, cargo-zigbuild, auditwheel, build (virtualenv $tools)"
. scripts/platform-toolchain.sh
platform_venv_tools
export PATH=$tools/bin:$PATH

step "libaltogic and altogic-task for $triple, glibc $glibc (cargo zigbuild)"
cargo zigbuild --release --quiet --target "$triple.$glibc" -p altogic -p altogic-task
for file in libaltogic.so libaltogic.a altogic-task; do
    [ -f "$built/$file" ] || fail "cargo zigbuild did not make $built/$file"
done
max_glibc=$(objdump -T "$built/libaltogic.so" "$built/altogic-task" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "highest glibc symbol version needed: $max_glibc"
[ "$(printf '%s\n' "$max_glibc" "GLIBC_$glibc" | sort -V | tail -1)" = "GLIBC_$glibc" ] ||
    fail "the build needs $max_glibc, newer than glibc $glibc"

rm -rf "$dist" "$work"
mkdir -p "$dist" "$work"

step "the wheel (the zig-built library inside), checked by auditwheel"
python_src=$root/bindings/python
rm -rf "$python_src/build"
ALTOGIC_PREBUILT_LIB=$built/libaltogic.so ALTOGIC_WHEEL_PLATFORM=$wheel_platform \
    python -m build -q --wheel --outdir "$dist" "$python_src" >"$work/wheel.log" 2>&1 ||
    { cat "$work/wheel.log"; fail "the wheel did not build"; }
rm -rf "$python_src/build"
wheel=$dist/altogic-$version-py3-none-$wheel_platform.whl
[ -f "$wheel" ] || { ls "$dist"; fail "no $(basename "$wheel")"; }
auditwheel show "$wheel" | tee "$work/auditwheel.txt"
grep -q '"manylinux_2_17_x86_64"' "$work/auditwheel.txt" ||
    fail "auditwheel does not accept the wheel as manylinux_2_17_x86_64"

step "the sdist (carries the crate: Cargo.toml, Cargo.lock, build.rs, cbindgen.toml, src/, include/)"
python -m build -q --sdist --outdir "$dist" "$python_src" >"$work/sdist.log" 2>&1 ||
    { cat "$work/sdist.log"; fail "the sdist did not build"; }
sdist=$dist/altogic-$version.tar.gz
[ -f "$sdist" ] || fail "no $(basename "$sdist")"
listing=$(tar -tzf "$sdist")
for member in pyproject.toml setup.py src/altogic/_lib.py rust/Cargo.toml rust/Cargo.lock \
    rust/build.rs rust/cbindgen.toml rust/src/lib.rs rust/include/altogic.h; do
    grep -qx "altogic-$version/$member" <<<"$listing" || fail "the sdist lacks $member"
done
if tar -xzOf "$sdist" --wildcards '*/PKG-INFO' '*/setup.py' '*/rust/Cargo.toml' | grep -qF "$root"; then
    fail "the sdist records the path of this checkout"
fi

step "the C release tarball (make install's layout, relocatable, with bin/altogic-task)"
c_name=altogic-$version-linux-x86_64
ALTOGIC_BUILT_DIR=$built RELOCATABLE=1 PREFIX=/$c_name DESTDIR=$work/c \
    scripts/install.sh install >"$work/c-install.log"
tar -C "$work/c" -czf "$dist/$c_name.tar.gz" --owner=0 --group=0 --numeric-owner "$c_name"
tar -tzvf "$dist/$c_name.tar.gz"

step "the Go module proxy tree (the module with lib/linux-amd64/libaltogic.a and the header)"
python3 scripts/goproxy.py --version "v$version" --module-dir bindings/go --header include/altogic.h \
    --library linux-amd64="$built/libaltogic.a" --static-libs "$(scripts/native-static-libs.sh)" --out "$dist/goproxy"
find "$dist/goproxy" -type f | sort

step "built in $((SECONDS - started)) s"
ls -l "$dist"
if [ "${1:-}" != --no-check ]; then
    scripts/dist-check.sh
fi
