"""Creating and closing clients; bad input; the loaded library and its declarations."""

from __future__ import annotations

import ctypes
import gc
import math
import re
import socket
import subprocess
import threading
import typing
import weakref
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

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
            "altogic_set_log_callback",
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


# The bad input every language can pass is in test_bad_input.py (tests/data/bad_input.json
# of the repository); here is what only Python can pass.


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"env_url": "http://x\0y"}, "env_url"),
        ({"client_key": "k\0"}, "client_key"),
        ({"client_key": "\udc80"}, "client_key"),  # a lone surrogate: not UTF-8
        ({"env_url": "http://127.0.0.1:9/\ud800"}, "env_url"),
        ({"api_key": "a\udc80b"}, "api_key"),
        ({"session": "\ud800"}, "session"),
        ({"proxy": "http://\udcff"}, "proxy"),
        ({"ca_file": "/tmp/\udc80.pem"}, "ca_file"),
        ({"api_key": "a\0b"}, "api_key"),  # JSON carries it; the library refuses it
        ({"max_response_bytes": -1}, "max_response_bytes"),
    ],
)
def test_what_only_python_can_pass_raises_invalid_argument(kwargs: Dict[str, Any], name: str) -> None:
    arguments: Dict[str, Any] = {"env_url": "http://127.0.0.1:9", "client_key": CLIENT_KEY}
    arguments.update(kwargs)
    with pytest.raises(altogic.InvalidArgument) as caught:
        altogic.Client(**arguments)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == "invalid_argument" and error.status == 0 and error.status_text == "Client Error"
    assert error.message.startswith(f"{name} "), error.message
    assert "options_json" not in error.message and not error.message.endswith("."), error.message


@pytest.mark.parametrize("value", [-1, -0.5, math.nan, math.inf, -math.inf])
def test_bad_timeouts_raise_invalid_argument(value: float) -> None:
    with pytest.raises(altogic.InvalidArgument, match="^timeout must be a finite, non-negative number"):
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, timeout=value)
    with pytest.raises(altogic.InvalidArgument, match="^connect_timeout "):
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, connect_timeout=value)
    with pytest.raises(altogic.InvalidArgument, match="^idle_timeout "):
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, idle_timeout=value)


def test_a_zero_client_timeout_is_refused_a_tiny_one_is_a_millisecond() -> None:
    with pytest.raises(altogic.InvalidArgument, match="^timeout must be at least 1 millisecond"):
        altogic.Client("http://127.0.0.1:9", CLIENT_KEY, timeout=0)
    altogic.Client("http://127.0.0.1:9", CLIENT_KEY, timeout=0.0001).close()  # rounded up to 1 ms


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"env_url": b"http://x"}, "env_url must be a str, not bytes"),
        ({"env_url": None}, "env_url must be a str, not NoneType"),
        ({"client_key": None}, "client_key must be a str, not NoneType"),
        ({"timeout": "5"}, "timeout must be a number of seconds, not str"),
        ({"timeout": True}, "timeout must be a number of seconds, not bool"),
        ({"connect_timeout": None}, "connect_timeout must be a number of seconds, not NoneType"),
        ({"api_key": 5}, "api_key must be a str or None, not int"),
        ({"session": b"s"}, "session must be a str or None, not bytes"),
        ({"proxy": 1}, "proxy must be a str or None, not int"),
        ({"ca_file": 3}, "ca_file must be a str, an os.PathLike or None, not int"),
        ({"ca_file": b"/etc/ca.pem"}, "ca_file must be a str, an os.PathLike or None, not bytes"),
        ({"max_response_bytes": 1.5}, "max_response_bytes must be an int, not float"),
        ({"max_response_bytes": None}, "max_response_bytes must be an int, not NoneType"),
        ({"max_response_bytes": True}, "max_response_bytes must be an int, not bool"),
    ],
)
def test_wrong_types_raise_type_error(kwargs: Dict[str, Any], message: str) -> None:
    arguments: Dict[str, Any] = {"env_url": "http://127.0.0.1:9", "client_key": CLIENT_KEY}
    arguments.update(kwargs)
    for cls in (altogic.Client, altogic.AsyncClient):
        with pytest.raises(TypeError) as caught:
            cls(**arguments)
        assert str(caught.value) == message


def test_bad_arguments_of_task_calls(client: altogic.Client) -> None:
    for call, name in (
        (client.task.run_once, "name_or_id"),
        (client.task.get_status, "task_id"),
        (client.task.wait, "task_id"),
    ):
        with pytest.raises(altogic.InvalidArgument, match=f"^{name} contains a NUL character"):
            call("bill\0OnDemand")
        with pytest.raises(altogic.InvalidArgument, match=f"^{name} is not valid UTF-8"):
            call("\udc80")
        with pytest.raises(TypeError, match=f"^{name} must be a str, not int"):
            call(5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=f"^{name} must be a str, not NoneType"):
            call(None)  # type: ignore[arg-type]
    for timeout in (-1, math.nan, math.inf):
        with pytest.raises(altogic.InvalidArgument, match="^timeout must be a finite"):
            client.task.wait("0123456789abcdef01234567", timeout=timeout)
    with pytest.raises(altogic.InvalidArgument, match="^timeout is too large; pass None"):
        client.task.wait("0123456789abcdef01234567", timeout=2.0**80)
    with pytest.raises(TypeError):
        client.task.wait("0123456789abcdef01234567", timeout="1")  # type: ignore[arg-type]
    with pytest.raises(altogic.InvalidArgument, match="^session contains a NUL character"):
        client.session = "a\0b"
    with pytest.raises(TypeError, match="^session must be a str, not int"):
        client.session = 5  # type: ignore[assignment]


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


def test_task_call_argument_errors_speak_python(client: altogic.Client) -> None:
    with pytest.raises(altogic.InvalidArgument, match="^task_id is 5000 bytes long"):
        client.task.get_status("x" * 5000)


def _argument_error(argument: object, reason: object, message: str = "the library's message.") -> Dict[str, Any]:
    details = {"argument": argument, "reason": reason}
    item = {"origin": "client_error", "code": "invalid_argument", "message": message, "details": details}
    return {"status": 0, "statusText": "Client Error", "items": [item]}


def test_argument_errors_are_composed_from_argument_and_reason() -> None:
    # The Python name and the library's reason, without a regular expression on its message.
    error = _errors.error_from_json(_argument_error("timeoutMs", "must be at least 1 millisecond"))
    assert isinstance(error, altogic.InvalidArgument)
    assert error.message == "timeout must be at least 1 millisecond"
    assert error.items[0]["details"] == {"argument": "timeoutMs", "reason": "must be at least 1 millisecond"}
    # A reason that repeats the C name is kept as it is (no rewriting inside it).
    error = _errors.error_from_json(_argument_error("apiKey", "differs from the apiKey of the app"))
    assert error.message == "api_key differs from the apiKey of the app"
    assert _errors.error_from_json(_argument_error("session_token", "x")).message == "session x"
    # No Python name (an environment variable, options_json), no reason, or no argument:
    # the library's message stays.
    for argument, reason in (("HTTPS_PROXY", "is not a URL"), ("options_json", "is bad"), ("apiKey", None),
                             (None, "is bad"), ("apiKey", "")):
        error = _errors.error_from_json(_argument_error(argument, reason))
        assert error.message == "the library's message.", (argument, reason)
    # Only argument errors are composed.
    not_found = _argument_error("task_id", "x")
    not_found["items"][0]["code"] = "not_found"
    not_found["status"] = 404
    assert _errors.error_from_json(not_found).message == "the library's message."
    assert "re" not in vars(_errors), "the message is composed, not rewritten"


PUBLIC_CLASSES = [name for name in altogic.__all__ if isinstance(getattr(altogic, name), type)]


@pytest.mark.parametrize("name", PUBLIC_CLASSES)
def test_public_names_belong_to_altogic(name: str) -> None:
    value = getattr(altogic, name)
    assert value.__module__ == "altogic"
    assert repr(value) in (f"<class 'altogic.{name}'>", f"<enum '{name}'>")
    for member in vars(value).values():
        function = member.fget if isinstance(member, property) else member
        if callable(function) and hasattr(function, "__qualname__"):
            assert "_Base" not in function.__qualname__, function.__qualname__
    assert altogic.library_path.__module__ == "altogic"
    # Annotations still resolve, though altogic's namespace is not the defining module's.
    hints = typing.get_type_hints(value)
    if name == "TaskInfo":
        assert hints["triggered_at"] == Optional[datetime] and hints["status"] is altogic.TaskStatus
    if name == "Timeout":
        assert hints["last_info"] == Optional[altogic.TaskInfo]


def test_a_traceback_names_altogic_not_its_modules(python_env: Dict[str, str]) -> None:
    script = "import altogic; altogic.Client('http://127.0.0.1:9', 'k', timeout=0)"
    result = subprocess.run([PYTHON, "-c", script], env=python_env, capture_output=True, text=True, timeout=60)
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "altogic.InvalidArgument: timeout must be at least 1 millisecond and at most one day "
        "(the default is 30 seconds) [invalid_argument]"
    ), result.stderr


@pytest.mark.parametrize("cls", [altogic.Client, altogic.AsyncClient])
def test_type_errors_name_the_public_class(cls: Any) -> None:
    name = cls.__name__
    with pytest.raises(TypeError) as caught:
        cls("http://127.0.0.1:9", CLIENT_KEY, timeout_ms=5)
    assert str(caught.value) == f"{name}.__init__() got an unexpected keyword argument 'timeout_ms'"
    with pytest.raises(TypeError) as caught:
        cls("http://127.0.0.1:9")
    assert str(caught.value).startswith(f"{name}.__init__() missing 1 required positional argument")
    with pytest.raises(TypeError) as caught:
        cls("http://127.0.0.1:9", CLIENT_KEY, 30)
    assert str(caught.value).startswith(f"{name}.__init__() takes 3 positional arguments")
    client = cls("http://127.0.0.1:9", CLIENT_KEY)
    with pytest.raises(TypeError) as caught:
        client.close(True)
    assert str(caught.value).startswith(f"{name}.close() takes 1 positional argument")
    client.close()
    assert type(client).session.__doc__ and type(client).close.__doc__


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
