"""Builds libaltogic with cargo and puts it inside the package; tags the wheel per platform.

Everything else is in pyproject.toml. The library is found in the repository two levels
up (this folder is bindings/python). A source distribution records where that repository
was, so that `python -m build` (sdist, then a wheel from it) still finds it;
ALTOGIC_SOURCE_ROOT names another checkout.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
RECORD = "altogic-source-root.txt"
LIBRARY = {"darwin": "libaltogic.dylib", "win32": "altogic.dll"}.get(sys.platform, "libaltogic.so")


def source_root() -> Path:
    """The altogic-ffi checkout whose library goes into the package."""
    candidates = []
    if os.environ.get("ALTOGIC_SOURCE_ROOT"):
        candidates.append(Path(os.environ["ALTOGIC_SOURCE_ROOT"]))
    candidates.append(HERE.parent.parent)
    if (HERE / RECORD).is_file():
        candidates.append(Path((HERE / RECORD).read_text().strip()))
    for root in candidates:
        if (root / "Cargo.toml").is_file() and (root / "include" / "altogic.h").is_file():
            return root.resolve()
    sys.exit(
        "cannot find the altogic-ffi repository (looked at: "
        + ", ".join(map(str, candidates))
        + "); set ALTOGIC_SOURCE_ROOT to its folder."
    )


def build_library() -> Path:
    """Runs `cargo build --release -p altogic --lib` and returns the built library."""
    root = source_root()
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
        return "py3", "none", platform


class SdistRecordingSource(sdist):
    """An sdist that records the checkout it came from (the library is not in it)."""

    def make_release_tree(self, base_dir: str, files: list) -> None:
        super().make_release_tree(base_dir, files)
        (Path(base_dir) / RECORD).write_text(f"{source_root()}\n")


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel, "sdist": SdistRecordingSource},
)
