"""Fixtures: the bundled emulator on a free loopback port, and clients of its demo app."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import altogic
from altogic import _log

REPO = Path(__file__).resolve().parents[3]
CLIENT_KEY = "demo-client-key"
SESSION_KEY = "demo-session-key"
SESSION_TOKEN = "demo-session-token"


def emulator_binary() -> Path:
    """target/release/altogic-emulator (ALTOGIC_EMULATOR overrides), built if missing."""
    override = os.environ.get("ALTOGIC_EMULATOR")
    if override:
        return Path(override)
    binary = REPO / "target" / "release" / "altogic-emulator"
    if not binary.is_file():
        subprocess.run(
            ["cargo", "build", "--release", "-p", "altogic-emulator"], cwd=REPO, check=True, timeout=1800
        )
    return binary


@contextlib.contextmanager
def running_emulator(*flags: str) -> Iterator[str]:
    """Starts the emulator on a free loopback port with `flags`; yields the URL it announces."""
    process = subprocess.Popen(
        [str(emulator_binary()), "--listen", "127.0.0.1:0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        prefix = "altogic-emulator listening on "
        if not line.startswith(prefix):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line[len(prefix) :].strip()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    """The URL of an emulator serving the demo app, for the whole test session."""
    # Enough workers that slowReport runs (~5 s each) never delay other executions.
    with running_emulator("--workers", "32") as url:
        yield url


@pytest.fixture
def client(emulator_url: str) -> Iterator[altogic.Client]:
    """A client of the demo app with the key that needs no session."""
    with altogic.Client(emulator_url, CLIENT_KEY) as client:
        yield client


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def python_env() -> "dict[str, str]":
    """The environment for a child Python that imports the same altogic as the tests."""
    env = dict(os.environ)
    package_parent = str(Path(altogic.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [package_parent, env.get("PYTHONPATH", "")] if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable


@pytest.fixture(scope="session")
def https_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator["tuple[str, Path]"]:
    """An emulator serving the demo app over HTTPS, with a certificate from a CA made for
    this test run (scripts/make-certs.sh), and the path of that CA's certificate."""
    certs = tmp_path_factory.mktemp("certs")
    subprocess.run([str(REPO / "scripts" / "make-certs.sh"), str(certs)], check=True, timeout=60)
    tls = ("--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"))
    with running_emulator(*tls) as url:
        assert url.startswith("https://"), url
        yield url, certs / "ca.pem"


@contextlib.contextmanager
def altogic_records(handler: logging.Handler) -> Iterator[None]:
    """The ``altogic`` logger at DEBUG into ``handler``; its level restored after, and the
    library told (the level it builds records for follows the logger)."""
    logger = logging.getLogger("altogic")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        _log.sync()
