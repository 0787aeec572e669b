"""AsyncClient calls through the library's completion queue: no thread per call.

Each event loop gets one ``AltogicQueue`` (``altogic_queue_new``), whose descriptor the
loop watches with ``loop.add_reader``. A call starts in the library
(``altogic_task_*_start``) with a tag and returns at once; its coroutine awaits a future
kept under that tag. When the descriptor is readable, the reader callback (on the loop's
thread) drains ``altogic_queue_next(queue, 0)`` until it answers NULL and resolves each
tag's future with its result. Nothing waits in a thread: thousands of calls may be in
flight on one loop (the library runs them all on its one thread), and the loop's default
executor stays free.

- Cancelling the awaiting task triggers the call's cancellation token; the library ends
  the call within milliseconds, and CancelledError is raised once its result came out. The
  token is freed then, when nothing can trigger it any more.
- Until its result came out, a call also holds its client (:meth:`Core.acquire`), so
  ``close()`` with calls in flight behaves as it does for threads.
- A loop's queue is freed when the loop is garbage-collected, at interpreter exit, or when
  a queue is made for another loop after this one was closed (``asyncio.run`` twice).
- A loop that cannot watch a descriptor (Windows, whose Proactor loop has no
  ``add_reader``) is served by the executor path of :func:`._call.call_async` instead.
- A call from a trio task (trio, or anyio on its trio backend) goes to :mod:`._trio`,
  which does the same with one queue per trio run; trio is imported only by programs
  that use it. Anything else (no running loop, curio) raises RuntimeError naming what is
  supported.

What both sides share (the queue, its calls by tag, their start and the drain) is in
:mod:`._driver`; this module adds the futures, the loop's reader and the loops' queues.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import weakref
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from ._call import Call, Core, call_async
from ._driver import PendingBase, QueueBase, Start, StreamBase, begin_call, new_queue
from ._errors import AltogicError
from ._lib import LIB, CancelPtr, QueuePtr, StatusCallback
from ._log import sync as _sync_log

__all__ = ["call_queued", "start_stream", "Stream", "RUN_ONCE", "GET_STATUS", "WAIT", "WATCH"]

#: The ``_start`` function of each call, and the ``_cancellable`` one for the executor path.
RUN_ONCE: Tuple[Start, Call] = (LIB.altogic_task_run_once_start, LIB.altogic_task_run_once_cancellable)
GET_STATUS: Tuple[Start, Call] = (LIB.altogic_task_get_status_start, LIB.altogic_task_get_status_cancellable)
WAIT: Tuple[Start, Call] = (LIB.altogic_task_wait_start, LIB.altogic_task_wait_cancellable)
#: A watched wait: several results per tag, the last with ``"final": true``; where the loop
#: cannot watch a descriptor, ``altogic_task_wait_watch`` in the executor.
WATCH: Tuple[Start, Call] = (LIB.altogic_task_watch_start, LIB.altogic_task_wait_watch)

_queue_free = LIB.altogic_queue_free
_cancel_trigger = LIB.altogic_cancel_trigger


class _Pending(PendingBase):
    """One call in flight: the future its coroutine awaits, its token and its client."""

    __slots__ = ("future",)

    def __init__(self, future: "asyncio.Future[Optional[bytes]]", token: CancelPtr, core: Core) -> None:
        super().__init__(token, core)
        self.future = future

    def resolve(self, answer: bytes) -> None:
        if not self.future.done():  # done: its task was cancelled meanwhile
            self.future.set_result(answer)

    def wake(self) -> None:
        pass  # the queue is freed once its loop is gone: no one awaits the future


class _Stream(StreamBase):
    """A watched wait in flight on a loop: its results as they come (:class:`StreamBase`),
    and the future the task waiting for the next one awaits, if one does.

    Results arrive on the loop's thread (the reader callback, or ``call_soon_threadsafe``
    on the executor path).
    """

    __slots__ = ("_loop", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop, token: CancelPtr, core: Core) -> None:
        super().__init__(token, core)
        self._loop = loop
        self.waiter: Optional["asyncio.Future[None]"] = None

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # when the queue was freed, raises internal_error in next()

    async def next(self) -> Dict[str, Any]:
        """The next result. When the awaiting task is cancelled, the wait is cancelled and
        CancelledError raised once its final result came out."""
        while not self.results:
            if self.ended:  # the queue was freed under the watch
                raise AltogicError._client_side("internal_error", _LoopQueue._FREED)
            waiter = self.waiter = self._loop.create_future()
            try:
                await waiter
            except asyncio.CancelledError:
                self.cancel()
                while not self.ended:
                    self.waiter = self._loop.create_future()
                    try:
                        await self.waiter
                    except asyncio.CancelledError:
                        pass
                raise
        return self.results.popleft()

    async def close(self) -> None:
        """Cancels the wait if it still runs, and returns once its final result came out."""
        if self.ended:
            return
        self.cancel()
        while not self.ended:
            self.waiter = self._loop.create_future()
            await self.waiter


class _LoopQueue(QueueBase):
    """The queue of one event loop, and the calls in flight on it (:class:`QueueBase`),
    whose descriptor the loop watches with ``add_reader``.

    It keeps only a weak reference to the loop, so that the loop can be collected, which
    frees the queue (``weakref.finalize``); it is freed too once its loop was closed, or
    at interpreter exit.
    """

    __slots__ = ("_loop", "_finalizer")

    _FREED = "the event loop's queue was freed"

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: QueuePtr) -> None:
        """Watches the queue's descriptor on the loop; raises NotImplementedError (the
        queue freed) where the loop cannot (the Proactor loop)."""
        self._loop = weakref.ref(loop)
        super().__init__(queue)
        try:
            loop.add_reader(self._fd, self._drain)
        except NotImplementedError:
            self._queue = None
            _queue_free(queue)
            raise
        # Frees the queue when the loop is collected, or at interpreter exit.
        self._finalizer = weakref.finalize(loop, self.free)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        if loop is None:  # not reached: the loop is running this call
            raise AltogicError._client_side("internal_error", self._FREED)
        return loop

    def start_stream(self, core: Core, start: Start, args: Tuple[Any, ...]) -> _Stream:
        """Starts ``start(client, *args, queue, tag, token)``, whose results come under one
        tag until the final one, and returns the stream they go to."""
        loop = self._running_loop()
        return self._start(core, start, args, lambda token, core: _Stream(loop, token, core))

    async def call(self, core: Core, start: Start, args: Tuple[Any, ...]) -> Optional[bytes]:
        """Starts ``start(client, *args, queue, tag, token)`` and returns its result."""
        loop = self._running_loop()
        pending = self._start(core, start, args, lambda token, core: _Pending(loop.create_future(), token, core))
        try:
            return await pending.future
        except asyncio.CancelledError:
            if not pending.ended:
                _cancel_trigger(pending.token)
                # The token may be freed only once the result came out, within
                # milliseconds of the trigger; further cancellations wait for it too.
                while not pending.ended:
                    pending.future = loop.create_future()
                    try:
                        await pending.future
                    except asyncio.CancelledError:
                        pass
            raise

    def _unwatch(self) -> None:
        self._finalizer.detach()
        loop = self._loop()
        if loop is not None and not loop.is_closed():  # at exit, a loop never closed
            loop.remove_reader(self._fd)

    def forget(self) -> None:
        """In a forked child: frees the queue inherited from the parent and drops the
        parent's calls (:meth:`QueueBase.forget`). The loop is left alone: the child shares
        its epoll instance with the parent, whose registration of the descriptor must stay."""
        self._finalizer.detach()
        super().forget()


#: The loops' queues, or None for a loop that cannot watch a descriptor.
_states: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Optional[_LoopQueue]]" = (
    weakref.WeakKeyDictionary()
)
_states_lock = threading.Lock()
_USE_QUEUE = sys.platform != "win32"


def _state(loop: asyncio.AbstractEventLoop) -> Optional[_LoopQueue]:
    """The running loop's queue, made on its first call; None where it cannot be watched."""
    try:
        return _states[loop]
    except KeyError:
        pass
    with _states_lock:  # loops in other threads may make theirs at the same time
        if loop in _states:
            return _states[loop]
        # Queues of loops closed since (asyncio.run made them) are freed here rather
        # than when the collector gets to their loops.
        closed: List[_LoopQueue] = [s for l, s in list(_states.items()) if s is not None and l.is_closed()]
        for old in closed:
            old.free()
        state: Optional[_LoopQueue] = None
        if _USE_QUEUE:
            queue = new_queue()
            try:
                state = _LoopQueue(loop, queue)
            except NotImplementedError:
                state = None
        _states[loop] = state
        return state


_modules = sys.modules
_call_trio: Optional[Callable[[Core, Start, Tuple[Any, ...]], Awaitable[Optional[bytes]]]] = None


def _in_trio_task() -> bool:
    """Whether this runs in a trio task (trio is imported only by programs that use it).

    Checked before asyncio: in trio's guest mode an asyncio loop is running too, but the
    current task is trio's."""
    trio = _modules.get("trio")
    lowlevel = getattr(trio, "lowlevel", None)
    if lowlevel is None:
        return False
    in_trio_task = getattr(lowlevel, "in_trio_task", None)  # trio 0.23 and later
    if in_trio_task is not None:
        return bool(in_trio_task())
    try:
        lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _unsupported() -> RuntimeError:
    """The error for a call made under no async library that AsyncClient can serve."""
    found = "none of them runs this call"
    sniffio = _modules.get("sniffio")
    if sniffio is not None:
        try:
            found = f"this call runs under {sniffio.current_async_library()}"
        except Exception:  # sniffio.AsyncLibraryNotFoundError: none that it knows
            pass
    return RuntimeError(
        "AsyncClient runs its calls under asyncio (an event loop with add_reader, uvloop "
        "included, or else through the loop's default executor, as on Windows' Proactor "
        f"loop), trio, or anyio on either backend (asyncio or trio); {found}"
    )


def call_queued(core: Core, functions: Tuple[Start, Call], *args: Any) -> Awaitable[Optional[bytes]]:
    """The call of an AsyncClient, to be awaited at once: on the queue of the running trio
    run or asyncio loop (the ``_start`` function of ``functions``), or, where an asyncio
    loop cannot watch a descriptor, the ``_cancellable`` one in the loop's executor. (A
    plain function returning the coroutine rather than a coroutine awaiting it: one
    coroutine less per call.)"""
    global _call_trio
    _sync_log()
    if "trio" in _modules and _in_trio_task():
        if _call_trio is None:
            from ._trio import call_trio

            _call_trio = call_trio
        return _call_trio(core, functions[0], args)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise _unsupported() from None
    state = _state(loop)
    if state is None:
        return call_async(core, functions[1], *args)
    return state.call(core, functions[0], args)


class _ExecutorStream(_Stream):
    """A watched wait where the loop cannot watch a descriptor: ``altogic_task_wait_watch``
    in a thread of the loop's executor, each status passed to the loop as it comes."""

    __slots__ = ()

    def run(self, pointer: Any, args: Tuple[Any, ...]) -> None:
        """In the executor: the whole wait, then its result delivered as the final one."""
        loop = self._loop

        def on_status(info: Optional[bytes], userdata: Optional[int]) -> None:
            try:
                result = {"info": json.loads(info or b"null"), "errors": None, "final": False}
                loop.call_soon_threadsafe(self.deliver, result)
            except BaseException:  # the loop closed: nobody follows the watch any more
                pass

        callback = StatusCallback(on_status)
        try:
            answer = WATCH[1](pointer, *args, self.token, callback, None).take()
            result = json.loads(answer or b"{}")
        except BaseException as error:  # not reached: the arguments were checked
            result = {"info": None, "errors": _internal(f"the watch failed: {error!r}"), "final": True}
        result["final"] = True
        try:
            loop.call_soon_threadsafe(self.deliver, result)
        except RuntimeError:  # the loop closed meanwhile
            self.end()


def _internal(message: str) -> Dict[str, Any]:
    items = [{"origin": "client_error", "code": "internal_error", "message": message, "details": None}]
    return {"status": 0, "statusText": "", "items": items}


#: The API of a watched wait's results, whichever side serves it (asyncio or trio).
Stream = Any


def start_stream(core: Core, functions: Tuple[Start, Call], *args: Any) -> Stream:
    """Starts a watched wait for the running trio run or asyncio loop, and returns its
    stream: ``await stream.next()`` gives each result, the last with ``"final": true``;
    ``stream.cancel()`` (any thread) ends it; ``await stream.close()`` ends it and waits."""
    _sync_log()
    if "trio" in _modules and _in_trio_task():
        from ._trio import start_trio_stream

        return start_trio_stream(core, functions[0], args)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise _unsupported() from None
    state = _state(loop)
    if state is not None:
        return state.start_stream(core, functions[0], args)
    pointer, token = begin_call(core)
    stream = _ExecutorStream(loop, token, core)
    future = loop.run_in_executor(None, stream.run, pointer, args)
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return stream


def _after_fork_in_child() -> None:
    global _states_lock
    _states_lock = threading.Lock()
    for state in list(_states.values()):
        if state is not None:
            state.forget()
    _states.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
