"""AsyncClient calls under trio (and anyio on its trio backend): no thread per call.

Imported only when a call is made from a trio task (so trio stays optional). It works as
the asyncio side does (:mod:`._queue`): each trio run gets one ``AltogicQueue``, kept in a
:class:`trio.lowlevel.RunVar`, whose descriptor one system task of the run watches with
:func:`trio.lowlevel.wait_readable`; when it is readable, that task drains
``altogic_queue_next(queue, 0)`` until it answers NULL and reschedules the task of each
result's tag.

- A call blocks in :func:`trio.lowlevel.wait_task_rescheduled`. When its cancel scope is
  cancelled (trio's, or anyio's ``CancelScope``/``move_on_after``/``fail_after``), or on
  Ctrl-C, the abort callback triggers the call's cancellation token; the library ends the
  call within milliseconds, and the cancellation (``trio.Cancelled`` or KeyboardInterrupt)
  is raised once its result came out. The token is freed then.
- Until its result came out, a call also holds its client (:meth:`Core.acquire`).
- The queue is freed when the watcher ends: when the run's main task has returned (trio
  cancels system tasks then), so the run leaves nothing behind.
"""

from __future__ import annotations

import collections
import ctypes
import json
import os
import threading
import weakref
from typing import Any, Awaitable, Callable, Deque, Dict, Optional, Tuple, Union

import trio

from ._call import Core
from ._errors import AltogicError, error_from_json
from ._lib import LIB, CancelPtr, LibString, QueuePtr

__all__ = ["call_trio", "start_trio_stream"]

#: A ``_start`` function of the library: ``(client, *args, queue, tag, token) -> char *``.
Start = Callable[..., LibString]

_queue_new = LIB.altogic_queue_new
_queue_fd = LIB.altogic_queue_fd
_queue_next = LIB.altogic_queue_next
_queue_free = LIB.altogic_queue_free
_cancel_new = LIB.altogic_cancel_new
_cancel_trigger = LIB.altogic_cancel_trigger
_cancel_free = LIB.altogic_cancel_free
_reschedule = trio.lowlevel.reschedule
_abort_failed = trio.lowlevel.Abort.FAILED


class _Pending:
    """One call in flight: the task that waits for it, its token, its client, its result."""

    __slots__ = ("task", "token", "core", "answer", "ended", "raise_cancel")

    def __init__(self, task: trio.lowlevel.Task, token: CancelPtr, core: Core) -> None:
        self.task = task
        self.token = token
        self.core = core
        self.answer: Optional[bytes] = None
        self.ended = False
        self.raise_cancel: Optional[Callable[[], Any]] = None

    def end(self) -> None:
        """The result came out (or the queue is gone): the library no longer uses the
        token, and the call no longer needs the client."""
        self.ended = True
        _cancel_free(self.token)
        self.core.release()

    def abort(self, raise_cancel: Callable[[], Any]) -> trio.lowlevel.Abort:
        """Trio's abort callback: asks the library to end the call, whose result will
        still come out (so the task is rescheduled then, and raises the cancellation)."""
        self.raise_cancel = raise_cancel
        _cancel_trigger(self.token)
        return _abort_failed


class _TrioStream:
    """A watched wait in flight on a trio run's queue: its results (parsed) as they come,
    until the final one; the task waiting for the next (if any); its token and client until
    the final one came out. :meth:`cancel` may come from any thread, hence the lock."""

    __slots__ = ("results", "task", "token", "core", "ended", "raise_cancel", "_lock", "__weakref__")

    def __init__(self, token: CancelPtr, core: Core) -> None:
        self.results: Deque[Dict[str, Any]] = collections.deque()
        self.task: Optional[trio.lowlevel.Task] = None
        self.token = token
        self.core = core
        self.ended = False
        self.raise_cancel: Optional[Callable[[], Any]] = None
        self._lock = threading.Lock()

    def deliver(self, answer: bytes) -> bool:
        """Takes one result (on the run's thread); returns whether it was the final one."""
        parsed: Dict[str, Any] = json.loads(answer)
        final = parsed.get("final") is True
        self.results.append(parsed)
        if final:
            self.end()
        self.wake()
        return final

    def wake(self) -> None:
        task, self.task = self.task, None
        if task is not None:  # rescheduled once, however many results came
            _reschedule(task)

    def end(self) -> None:
        with self._lock:
            if self.ended:
                return
            self.ended = True
            _cancel_free(self.token)
        self.core.release()

    def cancel(self) -> None:
        """Asks the library to end the wait; its final result still comes. Any thread."""
        with self._lock:
            if not self.ended:
                _cancel_trigger(self.token)

    def _abort(self, raise_cancel: Callable[[], Any]) -> trio.lowlevel.Abort:
        self.raise_cancel = raise_cancel
        self.cancel()
        return _abort_failed

    async def _wait(self) -> None:
        self.task = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)

    async def next(self) -> Dict[str, Any]:
        """The next result. When the cancel scope is cancelled (or on Ctrl-C), the wait is
        cancelled and the cancellation raised once its final result came out."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self.results:
            if self.ended:  # the queue was freed under the watch
                raise AltogicError._client_side("internal_error", "the trio run's queue was freed")
            await self._wait()
            if self.raise_cancel is not None:
                while not self.ended:
                    await self._wait()
                raise_cancel, self.raise_cancel = self.raise_cancel, None
                raise_cancel()
        return self.results.popleft()

    async def close(self) -> None:
        """Cancels the wait if it still runs, and returns once its final result came out."""
        if self.ended:
            return
        self.cancel()
        with trio.CancelScope(shield=True):
            while not self.ended:
                await self._wait()
        self.raise_cancel = None


class _RunQueue:
    """The queue of one trio run, and the calls in flight on it (used from the run's
    thread only, so nothing here is locked)."""

    __slots__ = ("_queue", "_fd", "_calls", "_next_tag", "_tag_out", "__weakref__")

    def __init__(self, queue: QueuePtr) -> None:
        self._queue: Optional[QueuePtr] = queue
        self._fd: int = _queue_fd(queue)
        self._calls: Dict[int, Union[_Pending, _TrioStream]] = {}
        self._next_tag = 1
        self._tag_out = ctypes.c_uint64()
        _live.add(self)

    async def watch(self) -> None:
        """The run's system task: drains the queue whenever its descriptor is readable,
        until the run ends (trio cancels it), then frees the queue."""
        try:
            while True:
                await trio.lowlevel.wait_readable(self._fd)
                self._drain()
        finally:
            self.free()

    def _drain(self) -> None:
        # Readiness is a hint: take results until the queue answers NULL.
        queue = self._queue
        if queue is None:
            return
        tag_out = self._tag_out
        tag_ref = ctypes.byref(tag_out)
        calls = self._calls
        while True:
            answer = _queue_next(queue, 0, tag_ref).take()
            if answer is None:
                return
            tag = tag_out.value
            pending = calls.get(tag)
            if pending is None:  # not reached: every tag came from a started call
                continue
            if isinstance(pending, _TrioStream):
                if pending.deliver(answer):
                    del calls[tag]
                continue
            del calls[tag]
            pending.answer = answer
            pending.end()
            _reschedule(pending.task)

    async def call(self, core: Core, start: Start, args: Tuple[Any, ...]) -> Optional[bytes]:
        """Starts ``start(client, *args, queue, tag, token)`` and returns its result."""
        await trio.lowlevel.checkpoint_if_cancelled()
        queue = self._queue
        if queue is None:  # the run is ending: its watcher is gone
            raise AltogicError._client_side("internal_error", "the trio run's queue was freed")
        pointer = core.acquire()
        token = _cancel_new()
        if not token:
            core.release()
            raise MemoryError("altogic_cancel_new: out of memory")
        tag = self._next_tag
        self._next_tag = tag + 1
        pending = _Pending(trio.lowlevel.current_task(), token, core)
        # Registered first, though the result can only be read by the watcher once this
        # task blocks.
        self._calls[tag] = pending
        try:
            refused = start(pointer, *args, queue, tag, token).take()
        except BaseException:  # not reached: the arguments were checked
            del self._calls[tag]
            pending.end()
            raise
        if refused is not None:  # nothing was started and nothing will come
            del self._calls[tag]
            pending.end()
            raise error_from_json(json.loads(refused))
        await trio.lowlevel.wait_task_rescheduled(pending.abort)
        if pending.raise_cancel is not None:
            pending.raise_cancel()  # trio.Cancelled, or KeyboardInterrupt
        if pending.answer is None:  # the queue was freed under the call
            raise AltogicError._client_side("internal_error", "the trio run's queue was freed")
        return pending.answer

    def start_stream(self, core: Core, start: Start, args: Tuple[Any, ...]) -> _TrioStream:
        """Starts ``start(client, *args, queue, tag, token)``, whose results come under one
        tag until the final one, and returns the stream they go to."""
        queue = self._queue
        if queue is None:  # the run is ending: its watcher is gone
            raise AltogicError._client_side("internal_error", "the trio run's queue was freed")
        pointer = core.acquire()
        token = _cancel_new()
        if not token:
            core.release()
            raise MemoryError("altogic_cancel_new: out of memory")
        tag = self._next_tag
        self._next_tag = tag + 1
        stream = _TrioStream(token, core)
        refused = start(pointer, *args, queue, tag, token).take()
        if refused is not None:  # nothing was started and nothing will come
            stream.end()
            raise error_from_json(json.loads(refused))
        self._calls[tag] = stream
        return stream

    def free(self) -> None:
        """Frees the queue (the library cancels the calls still running and drops their
        results), at the end of the run. Idempotent."""
        queue = self._queue
        if queue is None:
            return
        self._queue = None
        trio.lowlevel.notify_closing(self._fd)
        _queue_free(queue)
        calls, self._calls = self._calls, {}
        for pending in calls.values():  # not reached: the run's tasks have all returned
            pending.end()
            if isinstance(pending, _TrioStream):
                pending.wake()  # raises internal_error in the watch, if it waits
            else:
                _reschedule(pending.task)

    def forget(self) -> None:
        """In a forked child: frees the queue inherited from the parent, which waits for
        nothing there, and drops the parent's calls."""
        queue = self._queue
        self._queue = None
        self._calls = {}
        if queue is not None:
            _queue_free(queue)


_RUN_QUEUE: "trio.lowlevel.RunVar[_RunQueue]" = trio.lowlevel.RunVar("altogic_queue")
_live: "weakref.WeakSet[_RunQueue]" = weakref.WeakSet()


def _run_queue() -> _RunQueue:
    """The current run's queue, made (with its watcher) on the run's first call."""
    try:
        return _RUN_QUEUE.get()
    except LookupError:
        pass
    error = ctypes.c_void_p()
    queue = _queue_new(ctypes.byref(error))
    if not queue:
        answer = LibString(error.value).take()
        raise error_from_json(json.loads(answer or b"{}"))
    state = _RunQueue(queue)
    try:
        trio.lowlevel.spawn_system_task(state.watch, name="altogic completion queue")
    except BaseException:
        state.forget()
        raise
    _RUN_QUEUE.set(state)
    return state


def call_trio(core: Core, start: Start, args: Tuple[Any, ...]) -> Awaitable[Optional[bytes]]:
    """The call of an AsyncClient from a trio task, to be awaited at once."""
    return _run_queue().call(core, start, args)


def start_trio_stream(core: Core, start: Start, args: Tuple[Any, ...]) -> _TrioStream:
    """A watched wait from a trio task: its stream (see :func:`._queue.start_stream`)."""
    return _run_queue().start_stream(core, start, args)


def _after_fork_in_child() -> None:
    for state in list(_live):
        state.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
