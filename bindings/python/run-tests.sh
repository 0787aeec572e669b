#!/usr/bin/env bash
# Tests of the Python binding, from a fresh machine (Debian, Python 3 with pip, Rust) or an
# already built one:
#   1. builds the library and the emulator with cargo (a no-op when up to date);
#   2. makes a virtualenv in target/python-venv with pytest, mypy, build, and trio, anyio
#      and uvloop (AsyncClient is tested under each);
#   3. `pip install ./bindings/python` into it (which builds the library into the package),
#      and again as the README says to offline: --no-build-isolation --no-index;
#   4. `python -m build`: checks the wheel is tagged for this platform, installs it into a
#      fresh virtualenv and imports it from another folder, with ALTOGIC_LIB unset and no
#      cargo on PATH;
#   5. mypy --strict on the package, the tests and the examples;
#   6. pytest (against the emulator, which the tests start on a free loopback port).
# Exits non-zero on any failure. PYTHON names the interpreter (default python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=$root/target
venv=$target/python-venv
wheel_venv=$target/python-wheel-venv
dist=$target/python-dist
python=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"

make_venv() {
    # Debian's own python3 needs python3-venv for this; install it when missing (as root).
    rm -rf "$1"
    if ! "$python" -m venv "$1" 2>/dev/null; then
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        fi
        rm -rf "$1"
        "$python" -m venv "$1"
    fi
}

step() {
    echo
    echo "==== $*"
}

step "cargo build: the library and the emulator"
(cd "$root" && cargo build --release -p altogic --lib && cargo build --release -p altogic-emulator)

step "virtualenv $venv"
"$venv/bin/python" -c "import sys" 2>/dev/null || make_venv "$venv"
# trio, anyio (with sniffio) and uvloop: AsyncClient is tested under each.
"$venv/bin/pip" install -q "pytest>=7" "mypy>=1.5" "build>=1" "trio>=0.22" "anyio>=4" "uvloop>=0.17"

step "pip install ./bindings/python"
rm -rf "$here/build"
(cd "$root" && "$venv/bin/pip" install -q --force-reinstall --no-deps ./bindings/python)
"$venv/bin/python" -c "import altogic; print('installed altogic', altogic.__version__, 'with', altogic.library_path())"

step "offline: pip install --no-build-isolation --no-index ./bindings/python (setuptools>=77 preinstalled)"
"$venv/bin/pip" install -q "setuptools>=77"
rm -rf "$here/build"
(cd "$root" && "$venv/bin/pip" install -q --force-reinstall --no-deps --no-build-isolation --no-index ./bindings/python)
"$venv/bin/python" -c "import altogic; print('installed offline: altogic', altogic.__version__)"

step "python -m build bindings/python: a platform wheel that works without Rust"
rm -rf "$dist" "$here/build"
# The wheel is built from the sdist, which carries the crate; ALTOGIC_SOURCE_ROOT points the
# build at this checkout instead, whose library is already built (make dist checks the
# sdist's own build).
ALTOGIC_SOURCE_ROOT=$root "$venv/bin/python" -m build -q --outdir "$dist" "$here" >"$target/python-build.log" 2>&1 || {
    cat "$target/python-build.log"
    exit 1
}
platform=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_platform().replace('-', '_').replace('.', '_'))")
wheel=$(ls "$dist"/*.whl)
echo "built $(basename "$wheel")"
case "$(basename "$wheel")" in
    altogic-*-py3-none-"$platform".whl) ;;
    *)
        echo "the wheel is not tagged py3-none-$platform" >&2
        exit 1
        ;;
esac
make_venv "$wheel_venv"
"$wheel_venv/bin/pip" install -q --no-index "$wheel"
(cd / && env -u ALTOGIC_LIB -u CARGO_TARGET_DIR PATH=/usr/bin:/bin "$wheel_venv/bin/python" -c '
import altogic, pathlib, sys
loaded = pathlib.Path(altogic.library_path())
assert loaded.parent == pathlib.Path(altogic.__file__).parent, loaded
assert altogic.library_version == altogic.__version__
print("the wheel works on its own: altogic", altogic.__version__, "loaded", loaded)
')

step "mypy --strict: package, tests, examples"
(cd "$here" && "$venv/bin/mypy" --strict src/altogic tests examples)

step "pytest"
cd "$here"
"$venv/bin/python" -m pytest -p no:cacheprovider tests
