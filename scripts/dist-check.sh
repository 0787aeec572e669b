#!/usr/bin/env bash
# Checks what `make dist` built in dist/, the way users meet it: away from the repository
# (in a temporary folder under /tmp), with no cargo on PATH except where building from
# source is the point, each against the emulator on 127.0.0.1.
#
#   scripts/dist-check.sh [wheel] [sdist] [go] [tarball]     (default: all four)
#
# - wheel: installed into a fresh virtualenv, imported, runs a task;
# - sdist: `pip install altogic-VERSION.tar.gz` into a fresh virtualenv: cargo builds the
#   crate the sdist carries (with CARGO_TARGET_DIR=target/dist-sdist-cargo, seeded once
#   with a copy of target/release so that compiled dependencies are reused; the crate
#   itself always comes from the sdist), then it runs a task;
# - go: a program in its own module `go get`s the module through the file proxy tree
#   dist/goproxy, builds with no cargo on PATH, links statically, runs a task;
# - tarball: unpacked, a C program built with pkg-config (shared, with the rpath; static,
#   with altogic-static), a C++ program with CMake (shared and static), and bin/altogic-task.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(scripts/version.sh)
dist=$root/dist
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(wheel sdist go tarball)
export PIP_DISABLE_PIP_VERSION_CHECK=1
started=$SECONDS

step() { printf '\n== dist check: %s (%d s)\n' "$*" "$((SECONDS - started))"; }
fail() { echo "dist check FAILED: $*" >&2; exit 1; }

cargo build --release --quiet -p altogic-emulator
work=$(mktemp -d /tmp/altogic-dist-check.XXXXXX)
. scripts/servers.sh
cleanup() {
    stop_servers
    chmod -R u+w "$work" 2>/dev/null || true # the Go module cache is read-only
    rm -rf "$work"
}
start_emulator "$work"
trap cleanup EXIT
echo "emulator at $url; working in $work"
# A PATH of the tools the checks use, and nothing else: so no cargo or rustc reaches them,
# wherever the machine keeps its own (a Debian cargo package puts one in /usr/bin).
tools=$work/tools
mkdir -p "$tools"
for tool in sh bash env cat ls mkdir rm cp mv ln grep sed awk tr head tail sort uname dirname \
    basename readlink id tar gzip ldd file gcc cc g++ c++ cpp as ld ld.bfd ld.gold ar nm \
    objdump strip pkg-config pkgconf cmake make; do
    found=$(command -v "$tool" 2>/dev/null) && ln -sf "$found" "$tools/$tool"
done
no_cargo_path=$tools
for rust_tool in cargo rustc; do
    if found=$(PATH=$no_cargo_path command -v "$rust_tool"); then
        fail "$rust_tool is on the checks' PATH, at $found: the release files must work without it; remove it from $tools"
    fi
done

# A Python program that imports altogic from the given interpreter, checks where the library
# came from, runs billOnDemand and waits for it.
python_run_task() { # python
    (cd "$work" && env -u ALTOGIC_LIB -u PYTHONPATH PATH=$no_cargo_path "$1" - "$url" <<'PY'
import pathlib, sys
import altogic
loaded = pathlib.Path(altogic.library_path())
assert loaded.parent == pathlib.Path(altogic.__file__).parent, loaded
with altogic.Client(sys.argv[1], "demo-client-key") as client:
    info = client.task.run_once("billOnDemand")
    done = client.task.wait(info.task_id, timeout=30)
assert done.status == altogic.TaskStatus.COMPLETED, done
print("altogic", altogic.__version__, "from", loaded, "ran billOnDemand:", done.status.value)
PY
    )
}

check_wheel() {
    step "the wheel, in a fresh virtualenv"
    local wheel
    wheel=$(ls "$dist"/altogic-"$version"-py3-none-manylinux*.whl)
    python3 -m venv "$work/wheel-venv"
    (cd "$work" && "$work/wheel-venv/bin/pip" install -q --no-index "$wheel")
    python_run_task "$work/wheel-venv/bin/python"
}

check_sdist() {
    step "the sdist, built by pip in a fresh virtualenv (cargo builds the crate it carries)"
    mkdir -p "$work/elsewhere"
    cp "$dist/altogic-$version.tar.gz" "$work/elsewhere/"
    python3 -m venv "$work/sdist-venv"
    local cargo_target=$root/target/dist-sdist-cargo
    if [ ! -d "$cargo_target/release" ] && [ -d "$root/target/release/deps" ]; then
        # Seeded once with a copy of this checkout's release build: the dependencies compiled
        # with the same features are reused; the altogic crate is the sdist's, compiled anew.
        mkdir -p "$cargo_target"
        cp -r "$root/target/release" "$cargo_target/release"
    fi
    (cd "$work/elsewhere" && CARGO_TARGET_DIR=$cargo_target \
        "$work/sdist-venv/bin/pip" install -q "./altogic-$version.tar.gz" >"$work/sdist-install.log" 2>&1) ||
        { cat "$work/sdist-install.log"; fail "pip install of the sdist"; }
    python_run_task "$work/sdist-venv/bin/python"
}

check_go() {
    step "the Go module through GOPROXY=file://$dist/goproxy, in a module of its own"
    local module app=$work/goapp
    module=$(sed -n 's/^module //p' bindings/go/go.mod)
    # go by itself, not its folder: that may be /usr/bin, beside a Debian cargo.
    ln -sf "$(command -v go)" "$tools/go"
    mkdir -p "$app"
    cat >"$app/main.go" <<'GO'
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

func main() {
	client, err := altogic.NewClient(os.Args[1], "demo-client-key")
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := client.RunOnce(ctx, "billOnDemand")
	if err != nil {
		panic(err)
	}
	done, err := client.Wait(ctx, info.TaskID)
	if err != nil {
		panic(err)
	}
	fmt.Println("library", altogic.Version(), "ran billOnDemand:", done.Status)
	if done.Status != altogic.StatusCompleted {
		os.Exit(1)
	}
}
GO
    (
        cd "$app"
        export PATH=$no_cargo_path GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=1 \
            GOPATH=$work/gopath GOMODCACHE=$work/gopath/pkg/mod GOCACHE=$work/gocache \
            GOPROXY=file://$dist/goproxy GONOSUMDB=$module GOPRIVATE= GONOPROXY=
        if found=$(command -v cargo); then fail "cargo is on the Go check's PATH, at $found"; fi
        go mod init example.com/goapp >/dev/null 2>&1
        go get "$module@v$version"
        go build -o goapp .
        if ldd ./goapp | grep -q altogic; then fail "the Go program needs libaltogic at run time"; fi
        ./goapp "$url"
    )
}

check_tarball() {
    step "the C tarball, unpacked elsewhere: pkg-config (shared, static), CMake, bin/altogic-task"
    local name=altogic-$version-linux-x86_64 prefix
    tar -C "$work" -xzf "$dist/$name.tar.gz"
    prefix=$work/$name
    readelf -d "$prefix/lib/libaltogic.so.$version" | grep -q "Library soname: \[libaltogic.so.${version%%.*}\]" ||
        fail "the tarball's library has no SONAME libaltogic.so.${version%%.*}"
    (
        export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
        [ "$(pkg-config --modversion altogic)" = "$version" ] || fail "pkg-config --modversion"
        [ "$(realpath "$(pkg-config --variable=libdir altogic)")" = "$prefix/lib" ] ||
            fail "altogic.pc does not find its own prefix: $(pkg-config --variable=libdir altogic)"
        cd "$work"
        # shellcheck disable=SC2046
        gcc -std=c11 -Wall -Werror "$root/examples/c/run_task.c" $(pkg-config --cflags --libs altogic) \
            -Wl,-rpath,"$(pkg-config --variable=libdir altogic)" -o run_task_shared
        ldd run_task_shared | grep -q "libaltogic.so.${version%%.*} => $prefix/lib/" || fail "shared: not the tarball's library"
        ./run_task_shared "$url" demo-client-key billOnDemand
        # shellcheck disable=SC2046
        gcc -std=c11 -Wall -Werror "$root/examples/c/run_task.c" $(pkg-config --cflags --libs altogic-static) -o run_task_static
        if ldd run_task_static | grep -q altogic; then fail "static: needs libaltogic at run time"; fi
        ./run_task_static "$url" demo-client-key billOnDemand
        for linkage in shared static; do
            cmake -S "$root/tests/install/cmake" -B "cmake-$linkage" -DCMAKE_PREFIX_PATH="$prefix" \
                -DALTOGIC_TARGET="altogic::altogic$([ $linkage = static ] && echo _static)" >"cmake-$linkage.log"
            cmake --build "cmake-$linkage" >>"cmake-$linkage.log"
        done
        LD_LIBRARY_PATH=$prefix/lib ./cmake-shared/run_task_cpp "$url" demo-client-key billOnDemand
        ./cmake-static/run_task_cpp "$url" demo-client-key billOnDemand
        PATH=$no_cargo_path "$prefix/bin/altogic-task" --env-url "$url" --client-key demo-client-key \
            run billOnDemand --wait --timeout 30s
    )
}

for check in "${checks[@]}"; do
    case "$check" in
        wheel | sdist | go | tarball) "check_$check" ;;
        *) fail "unknown check $check (wheel, sdist, go, tarball)" ;;
    esac
done
echo
echo "dist checks passed (${checks[*]}) in $((SECONDS - started)) s"
