"""Creating and closing clients; bad input; the loaded library and its declarations."""

from __future__ import annotations

import ctypes
import gc
import math
import re
import socket
import subprocess
import threading
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import altogic
from altogic import _call, _errors, _lib

from .conftest import CLIENT_KEY, PYTHON


def release_version() -> str:
    """The version set in the repository's Cargo.toml ([workspace.package])."""
    cargo_toml = (Path(__file__).resolve().parents[3] / "Cargo.toml").read_text()
    table = cargo_toml.split("[workspace.package]", 1)[1]
    match = re.search(r'^version = "([^"]+)"', table, re.MULTILINE)
    assert match, "no version in [workspace.package] of Cargo.toml"
    return match.group(1)


def test_version_matches_the_library() -> None:
    assert altogic.__version__ == release_version()
    assert altogic.library_version == release_version()
    assert Path(altogic.library_path()).name == "libaltogic.so"
    assert altogic.WAIT_FOREVER == 2**64 - 1


def test_every_foreign_function_is_declared() -> None:
    header = (Path(__file__).resolve().parents[3] / "include" / "altogic.h").read_text()
    declared = {name for name, _, _ in _lib._SIGNATURES}
    import re

    in_header = set(re.findall(r"\b(altogic_\w+)\(", header))
    assert declared == in_header
    for name in declared:
        function = getattr(_lib.LIB, name)
        assert function.argtypes is not None, name
        assert function.restype is not None or name in {
            "altogic_client_free",
            "altogic_cancel_trigger",
            "altogic_cancel_free",
            "altogic_string_free",
            "altogic_queue_free",
        }, name


def test_every_error_code_of_the_header_has_a_kind() -> None:
    header = (Path(__file__).resolve().parents[3] / "include" / "altogic.h").read_text()
    import re

    in_header = set(re.findall(r'#define ALTOGIC_CODE_\w+ "(\w+)"', header))
    assert "tls_error" in in_header
    assert set(_errors._BY_CODE) | _errors._GENERIC_CODES == in_header


def test_ctypes_refuses_a_handle_of_the_wrong_type() -> None:
    token = _lib.LIB.altogic_cancel_new()
    try:
        with pytest.raises(ctypes.ArgumentError):
            _lib.LIB.altogic_client_free(token)
        with pytest.raises(ctypes.ArgumentError):
            _lib.LIB.altogic_task_run_once(token, b"x")
    finally:
        _lib.LIB.altogic_cancel_free(token)


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"env_url": ""}, "missing_required_value"),
        ({"client_key": ""}, "missing_required_value"),
        ({"env_url": "ftp://example.com"}, "invalid_env_url"),
        ({"env_url": "not a url"}, "invalid_env_url"),
        ({"client_key": "a\nb"}, "invalid_argument"),
        ({"api_key": ""}, "missing_required_value"),
        ({"api_key": "a\rb"}, "invalid_argument"),
        ({"api_key": 5}, "invalid_argument"),  # a wrong JSON type: the library refuses it
        ({"session": "x\ny"}, "invalid_argument"),
        ({"timeout": 0}, "invalid_argument"),
        ({"timeout": 10 * 86400}, "invalid_argument"),
        ({"connect_timeout": 0}, "invalid_argument"),
        ({"idle_timeout": 0}, "invalid_argument"),
        ({"max_response_bytes": 0}, "invalid_argument"),
        ({"max_response_bytes": -1}, "invalid_argument"),
        ({"max_response_bytes": 1.5}, "invalid_argument"),
        ({"env_url": "http://x\0y"}, "invalid_argument"),
        ({"client_key": "k\0"}, "invalid_argument"),
        ({"client_key": "\udc80"}, "invalid_argument"),  # not UTF-8
    ],
)
def test_bad_input_raises_invalid_argument(kwargs: Dict[str, Any], code: str) -> None:
    arguments: Dict[str, Any] = {"env_url": "http://127.0.0.1:9", "client_key": CLIENT_KEY}
    arguments.update(kwargs)
    with pytest.raises(altogic.InvalidArgument) as caught:
        altogic.Client(**arguments)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == code and error.status == 0 and error.status_text == "Client Error"
    assert error.message and all(isinstance(item["message"], str) for item in error.items)


@pytest.mark.parametrize("value", [-1, -0.5, math.nan, math.inf, -math.inf])
def test_bad_timeouts_raise_invalid_argument(value: float) -> None:
    with pytest.raises(altogic.InvalidArgument, match="timeout"):
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, timeout=value)
    with pytest.raises(altogic.InvalidArgument, match="connect_timeout"):
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, connect_timeout=value)


@pytest.mark.parametrize("kwargs", [{"env_url": b"http://x"}, {"client_key": None}, {"timeout": "5"}, {"timeout": True}])
def test_wrong_types_raise_type_error(kwargs: Dict[str, Any]) -> None:
    arguments: Dict[str, Any] = {"env_url": "http://127.0.0.1:9", "client_key": CLIENT_KEY}
    arguments.update(kwargs)
    with pytest.raises(TypeError):
        altogic.Client(**arguments)


def test_bad_arguments_of_task_calls(client: altogic.Client) -> None:
    for call in (client.task.run_once, client.task.get_status, client.task.wait):
        with pytest.raises(altogic.InvalidArgument) as caught:
            call("")
        assert caught.value.code == "missing_required_value"
        with pytest.raises(altogic.InvalidArgument, match="NUL"):
            call("bill\0OnDemand")
        with pytest.raises(TypeError):
            call(5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            call(None)  # type: ignore[arg-type]
    with pytest.raises(altogic.InvalidArgument):
        client.task.get_status("..")
    for timeout in (-1, math.nan, math.inf, 2.0**80):
        with pytest.raises(altogic.InvalidArgument):
            client.task.wait("0123456789abcdef01234567", timeout=timeout)
    with pytest.raises(TypeError):
        client.task.wait("0123456789abcdef01234567", timeout="1")  # type: ignore[arg-type]


def test_close_is_idempotent_and_later_calls_raise(emulator_url: str) -> None:
    client = altogic.Client(emulator_url, CLIENT_KEY)
    assert not client.closed and "closed" not in repr(client)
    client.close()
    client.close()
    assert client.closed and "closed" in repr(client)
    for call in (lambda: client.task.run_once("billOnDemand"), lambda: client.session):
        with pytest.raises(altogic.ClosedError) as caught:
            call()
        assert isinstance(caught.value, RuntimeError) and caught.value.code == "client_closed"
    with pytest.raises(altogic.ClosedError):
        client.session = "x"


def test_context_manager_closes(emulator_url: str) -> None:
    with altogic.Client(emulator_url, CLIENT_KEY) as client:
        assert client.task.run_once("billOnDemand").status == "pending"
    assert client.closed
    with pytest.raises(altogic.ClosedError):
        client.task.run_once("billOnDemand")


def test_a_forgotten_client_is_freed(emulator_url: str) -> None:
    freed: List[int] = []
    real_free = _lib.LIB.altogic_client_free

    def free(pointer: Any) -> None:
        freed.append(1)
        real_free(pointer)

    client = altogic.Client(emulator_url, CLIENT_KEY)
    core = client._core
    core._finalizer.detach()
    finalizer = weakref.finalize(core, free, core._pointer)
    core._finalizer = finalizer
    del client, core
    gc.collect()
    assert freed == [1]


def test_library_not_found_names_every_place(tmp_path: Path) -> None:
    # A copy of the package without its library, outside any checkout.
    package = Path(altogic.__file__).resolve().parent
    copy = tmp_path / "altogic"
    copy.mkdir()
    for source in package.glob("*.py"):
        (copy / source.name).write_bytes(source.read_bytes())
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [PYTHON, "-c", "import altogic"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "ALTOGIC_LIB: not set" in result.stderr
    assert f"the package folder: {copy / 'libaltogic.so'} does not exist" in result.stderr
    assert "target/release" in result.stderr


def test_altogic_lib_overrides(tmp_path: Path, python_env: Dict[str, str]) -> None:
    env = dict(python_env, ALTOGIC_LIB=str(tmp_path / "nope.so"))
    result = subprocess.run([PYTHON, "-c", "import altogic"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "ALTOGIC_LIB" in result.stderr and "nope.so" in result.stderr
    env["ALTOGIC_LIB"] = altogic.library_path()
    result = subprocess.run(
        [PYTHON, "-c", "import altogic; print(altogic.library_path())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == altogic.library_path()


def test_core_counts_calls_in_flight(emulator_url: str) -> None:
    client = altogic.Client(emulator_url, CLIENT_KEY)
    core: _call.Core = client._core
    core.acquire()
    client.close()
    assert core._finalizer.alive  # a call is still in flight
    core.release()
    assert not core._finalizer.alive


def test_an_incompatible_library_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _lib._check_version()  # the same version on both sides
    major, minor, patch = (int(part) for part in release_version().split("-")[0].split("."))
    newer = (f"{major + 1}.0.0", f"{major}.{minor + 1}.0", f"{major}.{minor}.{patch + 1}")
    for version in newer:
        monkeypatch.setattr(_lib, "__version__", version)
        with pytest.raises(ImportError, match=f"needs .*{version}"):
            _lib._check_version()
    monkeypatch.setattr(_lib, "__version__", f"{major - 1}.9.0")
    with pytest.raises(ImportError):
        _lib._check_version()  # another major version


@pytest.mark.parametrize(
    "kwargs, python_name, c_name",
    [
        ({"timeout": 0}, "timeout", "timeoutMs"),
        ({"connect_timeout": 10 * 86400}, "connect_timeout", "connectTimeoutMs"),
        ({"idle_timeout": 0}, "idle_timeout", "idleTimeoutMs"),
        ({"max_response_bytes": 0}, "max_response_bytes", "maxResponseBytes"),
        ({"api_key": ""}, "api_key", "apiKey"),
        ({"ca_file": "/nonexistent/ca.pem"}, "ca_file", "caFile"),
        ({"proxy": "ftp://127.0.0.1:21"}, "proxy", "proxy"),
    ],
)
def test_argument_errors_speak_python(kwargs: Dict[str, Any], python_name: str, c_name: str) -> None:
    with pytest.raises(altogic.InvalidArgument) as caught:
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, **kwargs)
    message = caught.value.message
    assert message.startswith(python_name), message
    if c_name != python_name:
        assert c_name not in message, message
    assert "30000" not in message and "10485760" not in message, message


def test_task_call_argument_errors_speak_python(client: altogic.Client) -> None:
    with pytest.raises(altogic.InvalidArgument, match=r"^name_or_id is required"):
        client.task.run_once("   ")
    with pytest.raises(altogic.InvalidArgument, match=r"^task_id is required"):
        client.task.wait(" ")
    with pytest.raises(altogic.InvalidArgument, match="task_id is 5000 bytes long"):
        client.task.get_status("x" * 5000)


def test_a_password_in_the_url_is_refused_and_never_shown() -> None:
    with pytest.raises(altogic.InvalidArgument) as caught:
        altogic.Client("https://user:PASSWORD@app.example.com", CLIENT_KEY)
    error = caught.value
    assert error.code == "invalid_env_url"
    for text in (str(error), repr(error), repr(error.items)):
        assert "PASSWORD" not in text, text


#: A TaskInfo nested 50,000 deep: json.loads would raise RecursionError on it.
DEEP_TASK_INFO = b'{"taskId":"t","x":' + b"[" * 50_000 + b"1" + b"]" * 50_000 + b"}"


@pytest.fixture
def deep_answer_url() -> Iterator[str]:
    """A server on 127.0.0.1 that answers every request with DEEP_TASK_INFO."""

    class Deep(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(DEEP_TASK_INFO)))
            self.end_headers()
            self.wfile.write(DEEP_TASK_INFO)

        do_GET = do_POST = answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Deep)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_an_answer_nested_too_deep_is_an_altogic_error(deep_answer_url: str) -> None:
    with altogic.Client(deep_answer_url, CLIENT_KEY, timeout=5) as client:
        for call in (client.task.run_once, client.task.get_status):
            with pytest.raises(altogic.AltogicError) as caught:
                call("t")
            assert caught.value.code == "invalid_response"
            assert "nested deeper than 128 levels" in caught.value.message


def test_tls_failures_raise_tls_error(emulator_url: str) -> None:
    # The emulator speaks plain HTTP: a TLS handshake with it fails.
    https = emulator_url.replace("http://", "https://")
    with altogic.Client(https, CLIENT_KEY, timeout=5) as client:
        with pytest.raises(altogic.TLSError) as caught:
            client.task.run_once("billOnDemand")
    assert isinstance(caught.value, altogic.NetworkError)
    assert caught.value.code == "tls_error"


def test_ca_file_and_proxy_reach_the_library(tmp_path: Path, emulator_url: str) -> None:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("no certificate\n")
    with pytest.raises(altogic.InvalidArgument, match="holds no certificate") as caught:
        altogic.Client(emulator_url, CLIENT_KEY, ca_file=not_pem)
    assert str(not_pem) in caught.value.message
    # A proxy that refuses connections: the error names it and is a NetworkError.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with altogic.Client(emulator_url, CLIENT_KEY, proxy=f"http://u:SECRET@127.0.0.1:{port}") as client:
        with pytest.raises(altogic.NetworkError) as refused:
            client.task.run_once("billOnDemand")
    assert f"127.0.0.1:{port}" in str(refused.value) and "SECRET" not in str(refused.value)
    # "" means no proxy: the call goes straight to the emulator.
    with altogic.Client(emulator_url, CLIENT_KEY, proxy="") as client:
        assert client.task.run_once("billOnDemand").status == "pending"
