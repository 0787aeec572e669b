"""Client and AsyncClient: an Altogic app environment, and its task manager as ``.task``."""

from __future__ import annotations

import ctypes
import json
import math
import os
from types import TracebackType
from typing import Any, Dict, Mapping, Optional, Type, Union

from ._call import Core, call_blocking
from ._errors import AltogicError, ExecutionNotFound, InvalidArgument, Timeout, error_from_json
from ._lib import LIB, WAIT_FOREVER, LibString
from ._queue import GET_STATUS, RUN_ONCE, WAIT, call_queued
from ._types import TaskInfo

__all__ = ["Client", "AsyncClient", "Tasks", "AsyncTasks"]

Seconds = Union[int, float]

_run_once = LIB.altogic_task_run_once_cancellable
_get_status = LIB.altogic_task_get_status_cancellable
_wait = LIB.altogic_task_wait_cancellable
_loads = json.loads


def _c_string(value: object, name: str) -> bytes:
    """A str as the NUL-terminated UTF-8 the library takes.

    Only what ctypes needs is checked here; the library judges the value itself. A lone
    surrogate is passed on as the bytes it stands for, and the library refuses them as
    not UTF-8.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgument._client_side(
            "invalid_argument",
            f"{name} contains a NUL character, which a C string cannot hold.",
            {"argument": name},
        )
    return value.encode("utf-8", "surrogatepass")


def _milliseconds(seconds: object, name: str) -> int:
    """Seconds as the whole milliseconds the library takes (rounded up)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidArgument._client_side(
            "invalid_argument",
            f"{name} must be a finite, non-negative number of seconds, not {seconds!r}.",
            {"argument": name},
        )
    return math.ceil(seconds * 1000)


def _info(answer: Optional[bytes]) -> Optional[Mapping[str, Any]]:
    """The ``info`` of a task call's JSON answer; raises its ``errors`` when there are some."""
    result = _loads(answer or b"null") or {}
    info, errors = result.get("info"), result.get("errors")
    if errors is not None:
        error = error_from_json(errors)
        if isinstance(error, Timeout) and info is not None:
            error.last_info = TaskInfo.from_json(info)
        raise error
    return info


def _run_once_result(answer: Optional[bytes]) -> TaskInfo:
    info = _info(answer)
    if info is None:
        raise AltogicError._client_side(
            "invalid_response", "the service answered runOnce with no TaskInfo (null)."
        )
    return TaskInfo.from_json(info)


def _get_status_result(answer: Optional[bytes]) -> Optional[TaskInfo]:
    info = _info(answer)
    return None if info is None else TaskInfo.from_json(info)


def _wait_result(answer: Optional[bytes], task_id: str) -> TaskInfo:
    info = _info(answer)
    if info is None:
        raise ExecutionNotFound._client_side(
            "execution_not_found",
            f"the service does not keep an execution {task_id!r}: the id is unknown, or the "
            "execution is older than the service's retention.",
            {"taskId": task_id},
        )
    return TaskInfo.from_json(info)


def _wait_milliseconds(timeout: Optional[Seconds]) -> int:
    if timeout is None:
        return WAIT_FOREVER
    milliseconds = _milliseconds(timeout, "timeout")
    if milliseconds >= WAIT_FOREVER:
        raise InvalidArgument._client_side(
            "invalid_argument", "timeout is too large; pass None to wait with no deadline."
        )
    return milliseconds


class _BaseClient:
    """What Client and AsyncClient share: creation, the session, closing."""

    _core: Core

    def __init__(
        self,
        env_url: str,
        client_key: str,
        *,
        api_key: Optional[str] = None,
        session: Optional[str] = None,
        timeout: Seconds = 30.0,
        connect_timeout: Seconds = 10.0,
        idle_timeout: Seconds = 90.0,
        max_response_bytes: int = 10 * 2**20,
        ca_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        proxy: Optional[str] = None,
    ) -> None:
        options: Dict[str, Any] = {
            "timeoutMs": _milliseconds(timeout, "timeout"),
            "connectTimeoutMs": _milliseconds(connect_timeout, "connect_timeout"),
            "idleTimeoutMs": _milliseconds(idle_timeout, "idle_timeout"),
            "maxResponseBytes": max_response_bytes,
        }
        if api_key is not None:
            options["apiKey"] = api_key
        if session is not None:
            options["session"] = session
        if ca_file is not None:
            options["caFile"] = os.fspath(ca_file)
        if proxy is not None:
            options["proxy"] = proxy
        error = ctypes.c_void_p()
        pointer = LIB.altogic_client_new(
            _c_string(env_url, "env_url"),
            _c_string(client_key, "client_key"),
            json.dumps(options).encode("utf-8"),
            ctypes.byref(error),
        )
        if not pointer:
            answer = LibString(error.value).take()
            if answer is None:
                raise AltogicError._client_side(
                    "internal_error", "altogic_client_new failed and gave no reason."
                )
            raise error_from_json(_loads(answer))
        self._core = Core(pointer)
        self._env_url = env_url
        self._attach_tasks()

    def _attach_tasks(self) -> None:
        """Sets ``self.task`` to the task manager of this kind of client."""
        raise NotImplementedError

    @property
    def session(self) -> Optional[str]:
        """The session token sent in the ``Session`` header, or None.

        Set it to a token, or to None to clear it. The library also drops it by itself when
        the service answers ``invalid_session_token`` or ``missing_session_token``.
        """
        pointer = self._core.acquire()
        try:
            answer = LIB.altogic_client_get_session(pointer).take()
        finally:
            self._core.release()
        return None if answer is None else answer.decode("utf-8", "surrogateescape")

    @session.setter
    def session(self, token: Optional[str]) -> None:
        encoded = None if token is None else _c_string(token, "session")
        pointer = self._core.acquire()
        try:
            answer = LIB.altogic_client_set_session(pointer, encoded).take()
        finally:
            self._core.release()
        if answer is not None:
            raise error_from_json(_loads(answer))

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._core.closed

    def close(self) -> None:
        """Closes the client: later calls raise :class:`ClosedError`. Calls in flight on
        other threads finish first; the library's client is freed after the last one.
        Idempotent."""
        self._core.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<{type(self).__name__} {self._env_url!r}{state}>"


class Tasks:
    """The task manager of a :class:`Client` (``client.task``)."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def run_once(self, name_or_id: str) -> TaskInfo:
        """Runs a scheduled task now, ahead of its schedule, without changing the schedule.

        Returns the new execution, in status ``pending``; follow it with
        :meth:`get_status` or :meth:`wait` using its ``task_id``.
        """
        encoded = _c_string(name_or_id, "name_or_id")
        return _run_once_result(call_blocking(self._core, _run_once, encoded))

    def get_status(self, task_id: str) -> Optional[TaskInfo]:
        """The execution's current TaskInfo, or None once the service no longer keeps it
        (unknown id, or older than the retention: seven days on Altogic)."""
        encoded = _c_string(task_id, "task_id")
        return _get_status_result(call_blocking(self._core, _get_status, encoded))

    def wait(self, task_id: str, timeout: Optional[Seconds] = 60.0) -> TaskInfo:
        """Waits for the execution to end (``completed`` or ``errors``) and returns it.

        The library polls its status with its backoff (see ``altogic_task_wait`` in
        altogic.h) and retries transient failures. ``timeout`` is in seconds; None waits with no
        deadline. When it passes, :class:`Timeout` is raised with ``last_info``. An
        execution the service does not keep raises :class:`ExecutionNotFound`.
        """
        encoded = _c_string(task_id, "task_id")
        milliseconds = _wait_milliseconds(timeout)
        return _wait_result(call_blocking(self._core, _wait, encoded, milliseconds), task_id)


class Client(_BaseClient):
    """A client of one Altogic app environment.

    Args:
        env_url: the environment URL, e.g. ``"https://myapp.c1-na.altogic.com"``.
        client_key: sent in ``X-Client-Key``.
        api_key: sent as-is in ``Authorization``.
        session: a session token, sent in ``Session``.
        timeout: seconds that one whole call may take (body included).
        connect_timeout: seconds that connecting may take.
        idle_timeout: seconds an idle kept-alive connection is kept for the next call (the
            process's connections are shared by every client and thread; a server that
            announces ``Keep-Alive: timeout=N`` is followed).
        max_response_bytes: the largest answer body accepted.
        ca_file: a PEM file of CA certificates trusted besides the system's (which the
            library reads as OpenSSL does: ``SSL_CERT_FILE``, ``SSL_CERT_DIR``, the system
            bundle).
        proxy: a proxy URL for every request (``http://user:password@proxy:3128``), or
            ``""`` for none; by default ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/
            ``NO_PROXY`` decide, and loopback is never proxied.

    Raises:
        InvalidArgument: a value the library refuses (missing, malformed, out of range).

    One client may be shared by many threads; their calls run at the same time (the GIL
    is released during calls). Use it as a context manager, or call :meth:`close`.
    """

    task: Tasks

    def _attach_tasks(self) -> None:
        self.task = Tasks(self._core)

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()


class AsyncTasks:
    """The task manager of an :class:`AsyncClient` (``client.task``): coroutines.

    Calls hold no thread while they wait: each starts in the library and its result comes
    out of the event loop's completion queue, which the loop watches (``add_reader``).
    Cancelling the awaiting task ends the call in the library within milliseconds. Where
    the loop cannot watch a descriptor (Windows), each call runs in a thread of the loop's
    default executor instead.
    """

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def run_once(self, name_or_id: str) -> TaskInfo:
        """As :meth:`Tasks.run_once`."""
        encoded = _c_string(name_or_id, "name_or_id")
        return _run_once_result(await call_queued(self._core, RUN_ONCE, encoded))

    async def get_status(self, task_id: str) -> Optional[TaskInfo]:
        """As :meth:`Tasks.get_status`."""
        encoded = _c_string(task_id, "task_id")
        return _get_status_result(await call_queued(self._core, GET_STATUS, encoded))

    async def wait(self, task_id: str, timeout: Optional[Seconds] = 60.0) -> TaskInfo:
        """As :meth:`Tasks.wait`."""
        encoded = _c_string(task_id, "task_id")
        milliseconds = _wait_milliseconds(timeout)
        return _wait_result(await call_queued(self._core, WAIT, encoded, milliseconds), task_id)


class AsyncClient(_BaseClient):
    """:class:`Client` for asyncio: the same arguments, ``async with``, and coroutines
    in ``client.task``. Creating it, ``session`` and :meth:`close` never block."""

    task: AsyncTasks

    def _attach_tasks(self) -> None:
        self.task = AsyncTasks(self._core)

    async def aclose(self) -> None:
        """:meth:`close`, as a coroutine."""
        self.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()
