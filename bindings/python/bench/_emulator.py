"""The repository's emulator on a free loopback port, for the benchmarks in this folder."""

import subprocess
import sys
from pathlib import Path
from typing import Tuple

REPO = Path(__file__).resolve().parents[3]


def start_emulator(*args: str) -> "Tuple[subprocess.Popen[str], str]":
    """Starts target/release/altogic-emulator (built with cargo if missing) with ARGS on
    127.0.0.1 and returns the process and the base URL it announced; exits when it does not
    start."""
    binary = REPO / "target" / "release" / "altogic-emulator"
    if not binary.is_file():
        subprocess.run(["cargo", "build", "--release", "-p", "altogic-emulator"], cwd=REPO, check=True)
    process = subprocess.Popen(
        [str(binary), "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("altogic-emulator listening on "):
        process.kill()
        sys.exit(f"the emulator did not start: {line!r}")
    return process, line.split()[-1]
