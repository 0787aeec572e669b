"""Builds libaltogic with cargo and puts it inside the package; tags the wheel per platform.

Everything else is in pyproject.toml. The library's Rust crate is found, in order:

1. ``ALTOGIC_SOURCE_ROOT``, when set: a folder with the crate's Cargo.toml;
2. ``rust/`` beside this file: where a source distribution carries the crate (its
   Cargo.toml, Cargo.lock, build.rs, cbindgen.toml, src/ and include/), so that
   ``pip install altogic-X.Y.Z.tar.gz`` builds anywhere cargo is, with no checkout;
3. the repository two levels up (this folder is bindings/python in a checkout).

``ALTOGIC_PREBUILT_LIB`` names an already built library to put in the package instead of
running cargo (``make dist`` puts the one it built for glibc 2.17 into the wheel), and
``ALTOGIC_WHEEL_PLATFORM`` the wheel's platform tag (e.g.
``manylinux_2_17_x86_64.manylinux2014_x86_64``, which ``make dist`` then checks with
``auditwheel show``).

Why not setuptools-rust: with ``Binding.NoBinding`` it names the library after the Python
ABI (``libaltogic.cpython-311-x86_64-linux-gnu.so``) and tags the wheel per CPython
version, while this package loads ``libaltogic.so`` with ctypes and is one ``py3-none``
wheel for every Python 3.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
LIBRARY = {"darwin": "libaltogic.dylib", "win32": "altogic.dll"}.get(sys.platform, "libaltogic.so")
# What the crate needs to build, relative to its folder; the sdist carries exactly this.
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "src", "include/altogic.h", "include/altogic.hpp"]


def crate_dir() -> Path:
    """The folder of the altogic crate whose library goes into the package."""
    candidates = []
    if os.environ.get("ALTOGIC_SOURCE_ROOT"):
        candidates.append(Path(os.environ["ALTOGIC_SOURCE_ROOT"]))
    candidates += [HERE / "rust", HERE.parent.parent]
    for root in candidates:
        if (root / "Cargo.toml").is_file() and (root / "build.rs").is_file() and (root / "src").is_dir():
            return root.resolve()
    sys.exit(
        "cannot find the altogic crate (looked at: "
        + ", ".join(map(str, candidates))
        + "); set ALTOGIC_SOURCE_ROOT to the altogic-ffi repository."
    )


def build_library() -> Path:
    """Runs `cargo build --release -p altogic --lib` and returns the built library (or
    returns ALTOGIC_PREBUILT_LIB)."""
    prebuilt = os.environ.get("ALTOGIC_PREBUILT_LIB")
    if prebuilt:
        if not Path(prebuilt).is_file():
            sys.exit(f"ALTOGIC_PREBUILT_LIB={prebuilt} is not a file")
        print(f"using the prebuilt library {prebuilt}", flush=True)
        return Path(prebuilt)
    root = crate_dir()
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    command = [cargo, "build", "--release", "-p", "altogic", "--lib"]
    print(f"building the library: {' '.join(command)} (in {root})", flush=True)
    try:
        subprocess.run(command, cwd=root, check=True)
    except FileNotFoundError:
        sys.exit("cargo not found: install Rust (https://rustup.rs), or install a wheel of altogic.")
    except subprocess.CalledProcessError as err:
        sys.exit(f"cargo build failed (exit status {err.returncode})")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or root / "target")
    if not target.is_absolute():
        target = root / target
    library = target / "release" / LIBRARY
    if not library.is_file():
        sys.exit(f"cargo build succeeded but {library} does not exist")
    return library


def standalone_manifest(text: str) -> str:
    """The repository's Cargo.toml as the root of a workspace of its own package only: the
    [workspace] table keeps its settings but loses `members` and `exclude` (the emulator,
    the command line and the fuzz targets are not in the sdist); [workspace.package], the
    dependencies and [profile.release] (panic = "unwind") stay as they are."""
    out, table, skipping = [], None, False
    for line in text.splitlines(keepends=True):
        header = re.match(r"\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
        if header and not skipping:
            table = header.group(1).strip()
        if skipping:
            skipping = "]" not in line
            continue
        if table == "workspace" and re.match(r"\s*(members|exclude)\s*=", line):
            skipping = line.count("[") > line.count("]")
            continue
        out.append(line)
    return "".join(out)


class BuildPyWithLibrary(build_py):
    """build_py, then the freshly built library copied into the package."""

    def run(self) -> None:
        super().run()
        destination = Path(self.build_lib) / "altogic" / LIBRARY
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build_library(), destination)

    def get_outputs(self, include_bytecode: bool = True) -> list:
        return super().get_outputs(include_bytecode) + [str(Path(self.build_lib) / "altogic" / LIBRARY)]


class BinaryDistribution(Distribution):
    """A distribution with a native part (the library), installed like one with
    extension modules (in platlib)."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """A wheel for this platform (it holds a native library) that fits any Python 3:
    the package is pure ctypes, with no extension module, so py3-none-<platform>."""

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", os.environ.get("ALTOGIC_WHEEL_PLATFORM") or platform


class SdistWithCrate(sdist):
    """An sdist that carries the crate in rust/, so that it builds with no checkout."""

    def make_release_tree(self, base_dir: str, files: list) -> None:
        super().make_release_tree(base_dir, files)
        source, rust = crate_dir(), Path(base_dir) / "rust"
        if rust.exists():
            shutil.rmtree(rust)
        for name in CRATE_FILES:
            origin, copy = source / name, rust / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, copy, ignore=shutil.ignore_patterns("*.orig", "*.rej", "*~"))
            elif name == "Cargo.toml":
                copy.write_text(standalone_manifest(origin.read_text()))
            else:
                shutil.copyfile(origin, copy)
        # The lock of the whole workspace, pruned to this package's dependencies (offline:
        # the versions stay those of the lock; only unused entries go).
        cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
        try:
            subprocess.run(
                [cargo, "metadata", "--offline", "--format-version", "1", "--manifest-path", str(rust / "Cargo.toml")],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, subprocess.CalledProcessError) as err:
            print(f"warning: Cargo.lock not pruned ({err}); cargo prunes it at build time", flush=True)


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel, "sdist": SdistWithCrate},
)
