#!/usr/bin/env python3
"""Writes the Go module of bindings/go as a module proxy serves it (GOPROXY protocol):

    OUT/<escaped module path>/@v/list
    OUT/<escaped module path>/@v/VERSION.info     {"Version": ..., "Time": ...}
    OUT/<escaped module path>/@v/VERSION.mod      the go.mod
    OUT/<escaped module path>/@v/VERSION.zip      the module: its Go files, the header in
                                                  include/, the static library per platform
                                                  in lib/<GOOS>-<GOARCH>/

so that `GOPROXY=file://OUT go get MODULE@VERSION` builds with cgo and no Rust toolchain, the
way wasmtime-go ships its archives. In the zip, link_static.go (which links the
repository's target/release/libaltogic.a) is replaced by one that links the archive of the
platform being built for; the altogic_pkgconfig build tag works as in the repository.

    scripts/goproxy.py --version v1.1.0 --module-dir bindings/go --header include/altogic.h \\
        --library linux-amd64=target/x86_64-unknown-linux-gnu/release/libaltogic.a \\
        --static-libs "-lutil -lrt -lpthread -lm -ldl" --out dist/goproxy
"""

import argparse
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

# Files of the module directory that make sense only inside the repository.
REPOSITORY_ONLY = {"run-tests.sh", "link_static.go"}

LINK_RELEASE = """//go:build cgo && !altogic_pkgconfig

package altogic

// This is the released module: it carries libaltogic.a for each platform it was released
// for, in lib/<GOOS>-<GOARCH>/, and the header in include/, so that `go get` builds it
// with a C compiler and no Rust toolchain, and programs link the library statically (they
// need no libaltogic.so at run time). On Alpine or another musl system, build with
// -tags altogic_musl (Go cannot tell musl from glibc by itself). On another platform the
// link fails: install the library there and build with -tags altogic_pkgconfig.
//
// Platforms: {platforms}.

// #cgo CFLAGS: -I${{SRCDIR}}/include
{ldflags}
import "C"
"""


def escape(path: str) -> str:
    """Module path escaping of the proxy protocol: an upper-case letter becomes '!' and
    its lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def module_path(go_mod: str) -> str:
    match = re.search(r"^module\s+(\S+)", go_mod, re.MULTILINE)
    if not match:
        sys.exit("go.mod has no module line")
    return match.group(1).strip('"')


def constraint(platform: str) -> str:
    """The #cgo build constraint of a lib/ folder: linux-arm64 is "linux,arm64" without the
    altogic_musl tag, linux-arm64-musl the same with it (musl cannot be told apart by GOOS)."""
    goos, goarch, *musl = platform.split("-")
    if goos != "linux":
        return f"{goos},{goarch}"
    return f"{goos},{goarch},{'altogic_musl' if musl else '!altogic_musl'}"


def commit_time(directory: Path) -> str:
    """The time of the checkout's last commit (UTC), else now: the .info Time."""
    try:
        stamp = subprocess.run(
            ["git", "-C", str(directory), "log", "-1", "--format=%ct"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        seconds = int(stamp)
    except (OSError, subprocess.CalledProcessError, ValueError):
        import time
        seconds = int(time.time())
    import datetime
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def module_files(module_dir: Path) -> list:
    """The module's own files: everything under its folder but hidden files, the files
    that only work in the repository, and nested modules."""
    files = []
    for dirpath, dirnames, filenames in os.walk(module_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not (Path(dirpath) / d / "go.mod").exists())
        for name in sorted(filenames):
            path = Path(dirpath) / name
            relative = path.relative_to(module_dir).as_posix()
            if name.startswith(".") or relative in REPOSITORY_ONLY:
                continue
            files.append((relative, path))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="the module version, e.g. v1.1.0")
    parser.add_argument("--module-dir", required=True, type=Path)
    parser.add_argument("--header", required=True, type=Path)
    parser.add_argument("--library", action="append", required=True, metavar="GOOS-GOARCH=PATH",
                        help="a static libaltogic.a for one platform (repeatable)")
    parser.add_argument("--static-libs", action="append", default=[], metavar="[GOOS-GOARCH=]LIBS",
                        help="system libraries a static link of the archive needs, for every "
                             "platform or for one (repeatable; default -lpthread -ldl -lm)")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    version = args.version
    if not re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
        sys.exit(f"not a semantic version with a v: {version}")
    go_mod = (args.module_dir / "go.mod").read_text()
    module = module_path(go_mod)
    major = int(version[1:].split(".")[0])
    if major >= 2 and not module.endswith(f"/v{major}"):
        sys.exit(f"version {version} needs a module path ending in /v{major}, not {module}")

    libraries = {}
    for spec in args.library:
        platform, _, path = spec.partition("=")
        if not re.fullmatch(r"[a-z0-9]+-[a-z0-9]+(-musl)?", platform) or not Path(path).is_file():
            sys.exit(f"bad --library {spec} (GOOS-GOARCH[-musl]=an existing file)")
        libraries[platform] = Path(path)
    static_libs = {}
    for spec in args.static_libs or ["-lpthread -ldl -lm"]:
        platform, separator, libs = spec.partition("=")
        if not (separator and re.fullmatch(r"[a-z0-9]+-[a-z0-9]+(-musl)?", platform)):
            platform, libs = "", spec
        # cgo links the C library itself (on musl, -lc is all rustc names).
        static_libs[platform] = " ".join(lib for lib in libs.split() if lib != "-lc")
    ldflags = "\n".join(
        f"// #cgo {constraint(platform)} LDFLAGS: ${{SRCDIR}}/lib/{platform}/libaltogic.a "
        f"{static_libs.get(platform, static_libs.get('', ''))}".rstrip()
        for platform in sorted(libraries)
    )
    link_release = LINK_RELEASE.format(platforms=", ".join(sorted(libraries)), ldflags=ldflags)

    at_v = args.out / escape(module) / "@v"
    at_v.mkdir(parents=True, exist_ok=True)
    prefix = f"{module}@{version}/"
    with zipfile.ZipFile(at_v / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, path in module_files(args.module_dir):
            archive.write(path, prefix + relative)
        archive.writestr(prefix + "link_static.go", link_release)
        archive.write(args.header, prefix + "include/altogic.h")
        for platform, path in sorted(libraries.items()):
            archive.write(path, prefix + f"lib/{platform}/libaltogic.a")
    (at_v / f"{version}.mod").write_text(go_mod)
    (at_v / f"{version}.info").write_text(json.dumps({"Version": version, "Time": commit_time(args.module_dir)}) + "\n")
    versions = set((at_v / "list").read_text().split()) if (at_v / "list").exists() else set()
    versions.add(version)
    (at_v / "list").write_text("".join(v + "\n" for v in sorted(versions)))
    print(f"{module} {version} -> {at_v}")


if __name__ == "__main__":
    main()
