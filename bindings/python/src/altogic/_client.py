"""Client and AsyncClient: an Altogic app environment, and its task manager as ``.task``."""

from __future__ import annotations

import ctypes
import json
import math
import os
import types
from types import TracebackType
from typing import Any, Dict, Generator, Mapping, Optional, Type, TypeVar, Union

from ._call import Core, call_blocking, call_interruptible
from ._errors import AltogicError, Timeout, argument_error, error_from_json
from ._lib import LIB, WAIT_FOREVER, LibString
from ._log import sync as _sync_log
from ._queue import GET_STATUS, RUN_ONCE, WAIT, WATCH, Stream, call_queued, start_stream
from ._types import TaskInfo

__all__ = ["Client", "AsyncClient", "Tasks", "AsyncTasks", "AsyncTaskWatch"]

Seconds = Union[int, float]

_run_once = LIB.altogic_task_run_once_cancellable
_get_status = LIB.altogic_task_get_status_cancellable
_wait = LIB.altogic_task_wait_cancellable
_watch_start = LIB.altogic_task_watch_start
_queue_new = LIB.altogic_queue_new
_queue_next = LIB.altogic_queue_next
_queue_free = LIB.altogic_queue_free
_cancel_new = LIB.altogic_cancel_new
_cancel_trigger = LIB.altogic_cancel_trigger
_cancel_free = LIB.altogic_cancel_free
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
        raise argument_error(name, "contains a NUL character, which a C string cannot hold")
    return value.encode("utf-8", "surrogatepass")


def _milliseconds(seconds: object, name: str) -> int:
    """Seconds as the whole milliseconds the library takes (rounded up)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise argument_error(name, f"must be a finite, non-negative number of seconds, not {seconds!r}")
    return math.ceil(seconds * 1000)


def _text_option(value: object, name: str) -> str:
    """A str option, which goes to the library in its options JSON (where a NUL character
    is allowed, and refused by the library with its reason)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise argument_error(
            name, f"is not valid UTF-8 (a lone surrogate at index {error.start}); pass UTF-8 text"
        ) from None
    return value


def _options(
    timeout: object,
    connect_timeout: object,
    idle_timeout: object,
    max_response_bytes: object,
    api_key: object,
    session: object,
    ca_file: object,
    proxy: object,
) -> bytes:
    """The options JSON of ``altogic_client_new``, from the keyword arguments of a client.

    Types are checked here (TypeError); values are the library's to judge, except what
    its JSON cannot carry (a negative or non-finite number of seconds).
    """
    if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
        raise TypeError(f"max_response_bytes must be an int, not {type(max_response_bytes).__name__}")
    options: Dict[str, Any] = {
        "timeoutMs": _milliseconds(timeout, "timeout"),
        "connectTimeoutMs": _milliseconds(connect_timeout, "connect_timeout"),
        "idleTimeoutMs": _milliseconds(idle_timeout, "idle_timeout"),
        # Below 1 the library says what is wrong; above 2**64 - 1 is as unlimited as that.
        "maxResponseBytes": min(max(max_response_bytes, 0), 2**64 - 1),
    }
    if api_key is not None:
        options["apiKey"] = _text_option(api_key, "api_key")
    if session is not None:
        options["session"] = _text_option(session, "session")
    if ca_file is not None:
        if not isinstance(ca_file, (str, os.PathLike)):
            raise TypeError(f"ca_file must be a str, an os.PathLike or None, not {type(ca_file).__name__}")
        path = os.fspath(ca_file)
        if not isinstance(path, str):
            raise TypeError(f"ca_file must be a path as str, not {type(path).__name__}")
        options["caFile"] = _text_option(path, "ca_file")
    if proxy is not None:
        options["proxy"] = _text_option(proxy, "proxy")
    return json.dumps(options).encode("utf-8")


def _open(env_url: object, client_key: object, options: bytes) -> Core:
    """``altogic_client_new``: the library's client, or its error raised."""
    _sync_log()
    error = ctypes.c_void_p()
    pointer = LIB.altogic_client_new(
        _c_string(env_url, "env_url"), _c_string(client_key, "client_key"), options, ctypes.byref(error)
    )
    if not pointer:
        answer = LibString(error.value).take()
        if answer is None:
            raise AltogicError._client_side("internal_error", "altogic_client_new failed and gave no reason")
        raise error_from_json(_loads(answer))
    return Core(pointer)


def _info(answer: Union[None, bytes, Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The ``info`` of a task call's JSON answer (or of that answer parsed); raises its
    ``errors`` when there are some."""
    result = answer if isinstance(answer, Mapping) else _loads(answer or b"null") or {}
    info, errors = result.get("info"), result.get("errors")
    if errors is not None:
        error = error_from_json(errors)
        if isinstance(error, Timeout) and info is not None:
            error.last_info = TaskInfo.from_json(info)
        raise error
    return info


def _task_info(answer: Union[None, bytes, Mapping[str, Any]], call: str) -> TaskInfo:
    """The TaskInfo of a runOnce or a wait, which the library answers with one or an error
    (a wait for an execution the service does not keep fails with ``execution_not_found``)."""
    info = _info(answer)
    if info is None:  # not reached: the library answers an error instead
        raise AltogicError._client_side("invalid_response", f"the library answered {call} with no TaskInfo (null)")
    return TaskInfo.from_json(info)


def _get_status_result(answer: Optional[bytes]) -> Optional[TaskInfo]:
    info = _info(answer)
    return None if info is None else TaskInfo.from_json(info)


def _wait_milliseconds(timeout: Optional[Seconds]) -> int:
    if timeout is None:
        return WAIT_FOREVER
    milliseconds = _milliseconds(timeout, "timeout")
    if milliseconds >= WAIT_FOREVER:
        raise argument_error("timeout", "is too large; pass None to wait with no deadline")
    return milliseconds


def _watch_result(result: Mapping[str, Any]) -> TaskInfo:
    """A TaskInfo of a watched wait's result: a status on the way, or the final one (whose
    errors are raised as ``wait`` raises them)."""
    if result.get("final") is True:
        return _task_info(result, "watch")
    return TaskInfo.from_json(result["info"])


def _watch_blocking(core: Core, task_id: bytes, milliseconds: int) -> Generator[TaskInfo, None, None]:
    """The generator of :meth:`Tasks.watch`: a watched wait on a queue of its own
    (``altogic_task_watch_start``), whose results it takes with ``altogic_queue_next``,
    the GIL released, Ctrl-C triggering its token (:func:`call_interruptible`). Closed
    before the final status (``break``, an exception, collected), it triggers the token
    and frees the queue, which ends the wait within milliseconds."""
    _sync_log()
    error = ctypes.c_void_p()
    queue = _queue_new(ctypes.byref(error))
    if not queue:
        answer = LibString(error.value).take()
        raise error_from_json(_loads(answer or b"{}"))
    token = _cancel_new()
    final = False
    try:
        if not token:
            raise MemoryError("altogic_cancel_new: out of memory")
        pointer = core.acquire()  # the started wait takes a reference of its own
        try:
            refused = _watch_start(pointer, task_id, milliseconds, queue, 1, token).take()
        finally:
            core.release()
        if refused is not None:
            raise error_from_json(_loads(refused))
        while not final:
            answer = call_interruptible(token, _queue_next, queue, WAIT_FOREVER, None)
            if answer is None:  # not reached: only a freed queue answers nothing
                raise AltogicError._client_side("internal_error", "the watch's queue answered nothing")
            result = _loads(answer)
            final = result.get("final") is True
            yield _watch_result(result)
    finally:
        if token and not final:
            _cancel_trigger(token)
        _queue_free(queue)  # ends a wait still running, within milliseconds
        if token:
            _cancel_free(token)


class AsyncTaskWatch:
    """The statuses of an execution as they change, for ``async for`` (what
    :meth:`AsyncTasks.watch` returns): each TaskInfo as the wait's polls find a new
    status, and last the final one; its errors raise as :meth:`AsyncTasks.wait` raises.

    The wait starts on the first ``__anext__``. Cancelling the task (or the cancel scope)
    that awaits it cancels the wait in the library. Leaving the loop early (``break``)
    ends the wait once the watch is collected (at once in CPython); :meth:`aclose` ends it
    and returns once the library has.
    """

    __slots__ = ("_core", "_args", "_stream", "_done")

    def __init__(self, core: Core, task_id: bytes, milliseconds: int) -> None:
        self._core = core
        self._args = (task_id, milliseconds)
        self._stream: Stream = None
        self._done = False

    def __aiter__(self) -> "AsyncTaskWatch":
        return self

    async def __anext__(self) -> TaskInfo:
        if self._done:
            raise StopAsyncIteration
        stream = self._stream
        if stream is None:
            try:
                stream = self._stream = start_stream(self._core, WATCH, *self._args)
            except BaseException:
                self._done = True
                raise
        try:
            result = await stream.next()
        except BaseException:
            self._done = True
            raise
        if result.get("final") is True:
            self._done = True
        return _watch_result(result)

    async def aclose(self) -> None:
        """Ends the wait if it still runs, and returns once the library has. Idempotent."""
        self._done = True
        stream = self._stream
        if stream is not None:
            await stream.close()

    def __del__(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream.cancel()

    def __repr__(self) -> str:
        state = "done" if self._done else "running" if self._stream is not None else "not started"
        return f"<AsyncTaskWatch {self._args[0].decode('utf-8', 'replace')!r} {state}>"


class _BaseClient:
    """What Client and AsyncClient share: the session, closing. Each has its own
    ``__init__``, and :func:`_own` gives each its own copy of these methods, so that what
    a user sees (a TypeError, a traceback) names the public class."""

    _core: Core
    _env_url: str

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

    @property
    def id(self) -> int:
        """The client's number in the library's log records (``record.altogic["client"]``):
        1 for the process's first client, then 2, and so on."""
        pointer = self._core.acquire()
        try:
            return int(LIB.altogic_client_id(pointer))
        finally:
            self._core.release()

    def close(self) -> None:
        """Closes the client: later calls raise :class:`ClosedError`. Calls in flight on
        other threads finish first; the library's client is freed after the last one.
        Idempotent."""
        self._core.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<{type(self).__name__} {self._env_url!r}{state}>"


_C = TypeVar("_C", bound=type)


def _own(cls: _C) -> _C:
    """Gives ``cls`` its own copy of each function and property it inherits from
    :class:`_BaseClient`, named after ``cls`` (``Client.close``, not ``_BaseClient.close``)."""

    def copy(function: Any) -> Any:
        if function is None:
            return None
        owned = types.FunctionType(
            function.__code__, function.__globals__, function.__name__, function.__defaults__, function.__closure__
        )
        owned.__kwdefaults__ = function.__kwdefaults__
        owned.__doc__ = function.__doc__
        owned.__qualname__ = f"{cls.__qualname__}.{function.__name__}"
        owned.__module__ = "altogic"
        return owned

    for name, value in vars(_BaseClient).items():
        if name in vars(cls):
            continue
        if isinstance(value, types.FunctionType):
            setattr(cls, name, copy(value))
        elif isinstance(value, property):
            setattr(cls, name, property(copy(value.fget), copy(value.fset), None, value.__doc__))
    return cls


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
        return _task_info(call_blocking(self._core, _run_once, encoded), "runOnce")

    def get_status(self, task_id: str) -> Optional[TaskInfo]:
        """The execution's current TaskInfo, or None once the service no longer keeps it
        (unknown id, or older than the retention: seven days on Altogic)."""
        encoded = _c_string(task_id, "task_id")
        return _get_status_result(call_blocking(self._core, _get_status, encoded))

    def wait(self, task_id: str, timeout: Optional[Seconds] = 60.0) -> TaskInfo:
        """Waits for the execution to end (``completed`` or ``errors``) and returns it.

        The library polls its status with its backoff (see ``altogic_task_wait`` in
        altogic.h) and retries transient failures.

        Args:
            task_id: the execution's id (``TaskInfo.task_id`` of :meth:`run_once`).
            timeout: seconds to wait at most. ``0`` polls once, now (it does not mean "no
                deadline"); ``None`` waits with no deadline.

        Raises:
            Timeout: the timeout passed first; ``last_info`` is the last TaskInfo seen.
            ExecutionNotFound: the service does not keep the execution.
        """
        encoded = _c_string(task_id, "task_id")
        milliseconds = _wait_milliseconds(timeout)
        return _task_info(call_blocking(self._core, _wait, encoded, milliseconds), "wait")

    def watch(self, task_id: str, timeout: Optional[Seconds] = 60.0) -> Generator[TaskInfo, None, None]:
        """:meth:`wait`, yielding each status of the execution as it changes, and last the
        final TaskInfo::

            for info in client.task.watch(task_id, timeout=60):
                print(info.status)

        The statuses are those the wait's own polls find (no request is added for them).
        The final one's errors raise as :meth:`wait` raises them (Timeout with
        ``last_info``, ExecutionNotFound...). The wait starts at the first ``next()``;
        leaving the loop early (``break``, an exception, ``close()``) cancels it in the
        library. Ctrl-C interrupts it as it does :meth:`wait`.
        """
        encoded = _c_string(task_id, "task_id")
        milliseconds = _wait_milliseconds(timeout)
        return _watch_blocking(self._core, encoded, milliseconds)


@_own
class Client(_BaseClient):
    """A client of one Altogic app environment.

    Args:
        env_url: the environment URL, e.g. ``"https://myapp.c1-na.altogic.com"``.
        client_key: sent in ``X-Client-Key``.
        api_key: sent as-is in ``Authorization``.
        session: a session token, sent in ``Session``.
        timeout: seconds that one whole call may take (body included), from 1 ms to one
            day; ``0`` is refused (:class:`InvalidArgument`): a call needs at least 1 ms.
            Sent as whole milliseconds, rounded up. (A wait has its own timeout.)
        connect_timeout: seconds that connecting may take (1 ms to one day).
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
        TypeError: an argument of the wrong type.

    One client may be shared by many threads; their calls run at the same time (the GIL
    is released during calls). Use it as a context manager, or call :meth:`close`.
    """

    task: Tasks

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
        options = _options(
            timeout, connect_timeout, idle_timeout, max_response_bytes, api_key, session, ca_file, proxy
        )
        self._core = _open(env_url, client_key, options)
        self._env_url = env_url
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
    out of a completion queue that the event loop watches (one queue per asyncio loop or
    trio run). Cancelling the awaiting task (asyncio) or its cancel scope (trio, anyio)
    ends the call in the library within milliseconds. Where an asyncio loop cannot watch a
    descriptor (Windows' Proactor loop), each call runs in a thread of the loop's default
    executor instead.
    """

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def run_once(self, name_or_id: str) -> TaskInfo:
        """As :meth:`Tasks.run_once`."""
        encoded = _c_string(name_or_id, "name_or_id")
        return _task_info(await call_queued(self._core, RUN_ONCE, encoded), "runOnce")

    async def get_status(self, task_id: str) -> Optional[TaskInfo]:
        """As :meth:`Tasks.get_status`."""
        encoded = _c_string(task_id, "task_id")
        return _get_status_result(await call_queued(self._core, GET_STATUS, encoded))

    async def wait(self, task_id: str, timeout: Optional[Seconds] = 60.0) -> TaskInfo:
        """As :meth:`Tasks.wait`: ``timeout=0`` polls once, now (not "no deadline");
        ``None`` waits with no deadline."""
        encoded = _c_string(task_id, "task_id")
        milliseconds = _wait_milliseconds(timeout)
        return _task_info(await call_queued(self._core, WAIT, encoded, milliseconds), "wait")

    def watch(self, task_id: str, timeout: Optional[Seconds] = 60.0) -> AsyncTaskWatch:
        """As :meth:`Tasks.watch`, for ``async for``::

            async for info in client.task.watch(task_id, timeout=60):
                print(info.status)

        On the event loop's (or trio run's) completion queue, as the other calls: one tag
        gives each status, then the final result. Cancelling the awaiting task or its
        cancel scope cancels the wait; so do ``break`` (once the watch is collected) and
        ``await watch.aclose()``.
        """
        encoded = _c_string(task_id, "task_id")
        milliseconds = _wait_milliseconds(timeout)
        return AsyncTaskWatch(self._core, encoded, milliseconds)


@_own
class AsyncClient(_BaseClient):
    """:class:`Client` for async code: the same arguments (``timeout=0`` is refused, a call
    needs at least 1 ms), ``async with``, and coroutines in ``client.task``.

    It runs under asyncio (any event loop, uvloop included), trio, and anyio on either
    backend. Creating it, ``session`` and :meth:`close` never block.
    """

    task: AsyncTasks

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
        options = _options(
            timeout, connect_timeout, idle_timeout, max_response_bytes, api_key, session, ca_file, proxy
        )
        self._core = _open(env_url, client_key, options)
        self._env_url = env_url
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
