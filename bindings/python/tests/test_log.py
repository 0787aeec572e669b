"""The library's log records in the ``altogic`` logger: fields, levels kept in step with the
logger, no secrets, retries, reconnections and cancellations, exit and fork."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import textwrap
import threading
import time
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest

import altogic
from altogic import _log

from .conftest import CLIENT_KEY, PYTHON, altogic_records

LOGGER = logging.getLogger("altogic")
SECRETS = ("secret-client-key", "secret-api-key", "secret-session-token")


class _Records(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def fields(self, event: str) -> List[Dict[str, Any]]:
        return [r.altogic for r in list(self.records) if r.altogic["event"] == event]  # type: ignore[attr-defined]


@pytest.fixture
def records() -> Iterator[_Records]:
    """The altogic logger at DEBUG, its records kept; its level restored after."""
    handler = _Records()
    with altogic_records(handler):
        yield handler


class StubServer:
    """HTTP/1.1 on 127.0.0.1 answering the task manager's calls with canned TaskInfos
    (written with sockets, to control connections):

    - a GET of an execution whose id starts with ``reset-once`` has the connection of its
      first request closed unanswered (the client sees it closed: a GET is sent again);
    - an id holding ``close-after``: the connection is closed after the answer, which says
      nothing about closing (as servers that drop kept-alive connections do).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self.requests: List[Tuple[str, str, Dict[str, str]]] = []
        self._reset: Set[str] = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        buffer = b""
        with connection:
            while True:
                try:
                    while b"\r\n\r\n" not in buffer:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffer += data
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = lines[0].split(" ", 2)
                    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
                    length = int(headers.get("content-length", "0"))
                    while len(buffer) < length:
                        buffer += connection.recv(65536)
                    buffer = buffer[length:]
                    self.requests.append((method, path, headers))
                    task_id = path.rsplit("/", 1)[-1] if method == "GET" else "0123456789abcdef01234567"
                    if task_id.startswith("reset-once") and task_id not in self._reset:
                        self._reset.add(task_id)
                        return
                    info = {
                        "taskId": task_id,
                        "scheduledTaskId": "6237b1f17c2a9625f0b2119e",
                        "scheduledTaskName": "stub",
                        "status": "completed" if method == "GET" else "pending",
                        "triggeredAt": "2022-03-20T23:00:53.966Z",
                    }
                    body = json.dumps(info).encode()
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(body), body)
                    )
                    if "close-after" in path:
                        connection.shutdown(socket.SHUT_RDWR)
                        return
                except OSError:
                    return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    try:
        yield server
    finally:
        server.close()


def _secret_client(url: str) -> altogic.Client:
    return altogic.Client(url, SECRETS[0], api_key=SECRETS[1], session=SECRETS[2], timeout=5)


def _assert_no_secret(handler: _Records) -> None:
    assert handler.records
    for record in handler.records:
        text = record.getMessage() + json.dumps(record.altogic)  # type: ignore[attr-defined]
        for secret in SECRETS:
            assert secret not in text, (secret, text)


def test_records_carry_the_library_s_fields(records: _Records, client: altogic.Client) -> None:
    info = client.task.run_once("billOnDemand")
    assert _log.registered_level() == 4
    done = client.task.wait(info.task_id, timeout=30)
    assert done.status == "completed"
    requests = records.fields("request")
    post = requests[0]
    assert post["method"] == "POST" and post["path"] == "/_api/rest/v1/task" and post["status"] == 200
    assert post["client"] == client.id and post["attempt"] == 1 and isinstance(post["ms"], (int, float))
    assert post["level"] == "debug"
    polls = records.fields("poll")
    assert polls and all(p["taskId"] == info.task_id for p in polls)
    assert polls[-1]["status"] == "completed"
    first = next(r for r in records.records if r.altogic["event"] == "request")  # type: ignore[attr-defined]
    assert first.levelno == logging.DEBUG and first.name == "altogic"
    assert first.getMessage().startswith("POST /_api/rest/v1/task -> 200 in ")
    assert first.getMessage().endswith(" ms (new connection)") or first.getMessage().endswith(
        " ms (reused connection)"
    )
    for record in records.records:
        assert record.altogic["client"] == client.id or "client" not in record.altogic  # type: ignore[attr-defined]


def test_a_retried_get_a_reconnection_and_no_secret(records: _Records, stub: StubServer) -> None:
    with _secret_client(stub.url) as client:
        info = client.task.get_status("reset-once-1")
        assert info is not None and info.task_id == "reset-once-1"
        retry = records.fields("retry")
        assert len(retry) == 1, records.records
        assert retry[0]["method"] == "GET" and retry[0]["attempt"] == 2 and retry[0]["client"] == client.id
        assert retry[0]["path"] == "/_api/rest/v1/task/reset-once-1" and retry[0]["reason"]
        retried = [r for r in records.records if r.altogic["event"] == "retry"][0]  # type: ignore[attr-defined]
        assert retried.levelno == logging.INFO
        assert retried.getMessage().startswith("GET /_api/rest/v1/task/reset-once-1: sending again")
        answered = records.fields("request")[-1]
        assert answered["status"] == 200 and answered["attempt"] == 2 and answered["connection"] == "new"
        # A server that closes after its answer: the next call opens a new connection.
        opened = len(records.fields("connection_opened"))
        assert client.task.get_status("close-after-1") is not None
        time.sleep(0.1)
        assert client.task.get_status("close-after-2") is not None
        assert len(records.fields("connection_opened")) == opened + 2, records.fields("connection_opened")
        assert [r["connection"] for r in records.fields("request")[-2:]] == ["new", "new"]
        # The server closed the first unannounced: seen when the second call opened another.
        closed = [r for r in records.fields("connection_closed") if r["reason"] == "closed_while_idle"]
        assert len(closed) == 1 and closed[0]["host"] == "127.0.0.1", records.fields("connection_closed")
        # As between the two GETs: a POST is never sent again, so it must not meet the
        # connection the server is closing (qemu, say, can be slow to see the close).
        time.sleep(0.1)
        assert client.task.run_once("billOnDemand").status == "pending"
    # The secrets went out, in headers, and never into a record.
    sent = json.dumps([headers for _, _, headers in stub.requests])
    assert all(secret in sent for secret in SECRETS)
    _assert_no_secret(records)


def test_a_cancelled_wait_is_recorded(records: _Records, client: altogic.Client) -> None:
    info = client.task.run_once("slowReport")
    for status in client.task.watch(info.task_id, timeout=30):
        assert status.status == "processing"
        break
    cancelled = records.fields("cancelled")
    assert len(cancelled) == 1 and cancelled[0]["call"] == "wait", cancelled
    record = [r for r in records.records if r.altogic["event"] == "cancelled"][0]  # type: ignore[attr-defined]
    assert record.levelno == logging.DEBUG and record.getMessage().startswith("wait cancelled after ")


def test_at_warning_nothing_is_built_or_delivered(client: altogic.Client) -> None:
    handler = _Records()
    LOGGER.addHandler(handler)
    level = LOGGER.level
    try:
        LOGGER.setLevel(logging.WARNING)
        before = _log.received
        done = client.task.wait(client.task.run_once("billOnDemand").task_id, timeout=30)
        assert done.status == "completed"
        assert _log.registered_level() == 2  # the library builds no debug or info record
        assert _log.received == before and not handler.records
        LOGGER.setLevel(logging.CRITICAL)
        client.task.get_status(done.task_id)
        assert _log.registered_level() == 0  # no callback at all
        LOGGER.setLevel(logging.INFO)
        client.task.get_status(done.task_id)
        assert _log.registered_level() == 3
        assert _log.received == before and not handler.records  # nothing at info happened
        logging.disable(logging.INFO)  # logging.disable counts too
        try:
            client.task.get_status(done.task_id)
            assert _log.registered_level() == 2
        finally:
            logging.disable(logging.NOTSET)
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
        _log.sync()


def test_the_async_client_keeps_the_level_in_step(records: _Records, emulator_url: str) -> None:
    import asyncio

    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            LOGGER.setLevel(logging.WARNING)
            await client.task.run_once("billOnDemand")
            assert _log.registered_level() == 2
            LOGGER.setLevel(logging.DEBUG)
            info = await client.task.run_once("billOnDemand")
            assert _log.registered_level() == 4
            await client.task.wait(info.task_id, timeout=30)
            assert {r["client"] for r in records.fields("request")} == {client.id}

    asyncio.run(main())
    assert records.fields("poll")


def test_an_error_while_logging_never_reaches_the_library(
    records: _Records, client: altogic.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    def failing(record: logging.LogRecord) -> bool:
        raise RuntimeError("a filter that fails")

    LOGGER.addFilter(failing)
    try:
        assert client.task.run_once("billOnDemand").status == "pending"
    finally:
        LOGGER.removeFilter(failing)
    assert "a filter that fails" in capfd.readouterr().err
    assert client.task.run_once("billOnDemand").status == "pending"
    assert records.fields("request")


def test_records_at_exit_and_in_a_forked_child(emulator_url: str, python_env: Dict[str, str]) -> None:
    # Calls still running on daemon threads and on a queue when the interpreter exits: the
    # callback is removed first, and the process exits cleanly. A forked child logs too.
    script = textwrap.dedent(
        """
        import asyncio, logging, os, sys, threading
        import altogic

        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(process)d %(message)s")
        client = altogic.Client(sys.argv[1], sys.argv[2])
        task_id = client.task.run_once("slowReport").task_id
        pid = os.fork()
        if pid == 0:
            seen = []
            handler = logging.Handler()
            handler.emit = seen.append
            logging.getLogger("altogic").addHandler(handler)
            client.task.get_status(task_id)
            os._exit(0 if any(r.altogic["event"] == "request" for r in seen) else 3)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status), flush=True)
        def forever():
            while True:
                client.task.get_status(task_id)
        for _ in range(3):
            threading.Thread(target=forever, daemon=True).start()
        loop = asyncio.new_event_loop()
        async def start():
            async with altogic.AsyncClient(sys.argv[1], sys.argv[2]) as other:
                for _ in range(20):
                    asyncio.ensure_future(other.task.wait(task_id, timeout=None))
                await asyncio.sleep(0.3)
        loop.run_until_complete(start())
        print("exiting", flush=True)
        """
    )
    result = subprocess.run(
        [PYTHON, "-W", "ignore::DeprecationWarning", "-c", script, emulator_url, CLIENT_KEY],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=60,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-3000:])
    assert "child 0" in result.stdout, result.stdout[-3000:]
    assert "exiting" in result.stdout and " -> 200 in " in result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def test_altogic_log_in_the_environment_keeps_the_library_s_lines(
    emulator_url: str, python_env: Dict[str, str]
) -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        import altogic
        logging.basicConfig(level=logging.DEBUG)
        with altogic.Client(sys.argv[1], sys.argv[2]) as client:
            client.task.run_once("billOnDemand")
        """
    )
    env = dict(python_env, ALTOGIC_LOG="debug")
    result = subprocess.run(
        [PYTHON, "-c", script, emulator_url, CLIENT_KEY], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "altogic: POST /_api/rest/v1/task -> 200 in " in result.stderr, result.stderr
    assert "DEBUG:altogic" not in result.stderr


def test_describe_every_event() -> None:
    assert (
        _log.describe(
            {"event": "request", "method": "GET", "path": "/p", "code": "timeout", "ms": 3, "attempt": 2,
             "connection": None, "proxy": "http://proxy:3128"}
        )
        == "GET /p via proxy http://proxy:3128 -> timeout in 3.0 ms (attempt 2)"
    )
    assert _log.describe({"event": "connection_opened", "host": "h", "port": 443, "tls": True}) == (
        "connection opened to h:443 (TLS)"
    )
    assert _log.describe({"event": "connection_closed", "host": "h", "port": 80, "reason": "idle", "idleMs": 90000.0}) == (
        "connection to h:80 closed: idle (idle 90000.0 ms)"
    )
    assert _log.describe({"event": "poll", "poll": 2, "taskId": "t", "code": "network_error"}) == (
        "poll 2 of execution t: network_error"
    )
    assert "max_response_bytes (10 bytes; at least 20 seen)" in _log.describe(
        {"event": "response_too_large", "method": "GET", "path": "/p", "status": 200, "maxResponseBytes": 10,
         "seenBytes": 20}
    )
    assert _log.describe({"event": "error_items_dropped", "status": 400, "keptItems": 5, "droppedItems": 7}) == (
        "an error answer (400) had too many items: 5 kept, 7 dropped"
    )
    assert _log.describe({"event": "new_event", "level": "info", "x": 1}) == 'new_event {"x":1}'
