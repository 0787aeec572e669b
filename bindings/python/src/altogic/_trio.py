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

What both sides share (the queue, its calls by tag, their start and the drain) is in
:mod:`._driver`; this module adds the rescheduled tasks, the watcher and the runs' queues.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import trio

from ._call import Core
from ._driver import PendingBase, QueueBase, Start, StreamBase, new_queue
from ._errors import AltogicError
from ._lib import LIB, CancelPtr, QueuePtr

__all__ = ["call_trio", "start_trio_stream"]

_cancel_trigger = LIB.altogic_cancel_trigger
_current_task = trio.lowlevel.current_task
_reschedule = trio.lowlevel.reschedule
_abort_failed = trio.lowlevel.Abort.FAILED


class _Pending(PendingBase):
    """One call in flight: the task that waits for it, its token, its client, its result."""

    __slots__ = ("task", "answer", "raise_cancel")

    def __init__(self, task: trio.lowlevel.Task, token: CancelPtr, core: Core) -> None:
        super().__init__(token, core)
        self.task = task
        self.answer: Optional[bytes] = None
        self.raise_cancel: Optional[Callable[[], Any]] = None

    def resolve(self, answer: bytes) -> None:
        self.answer = answer
        _reschedule(self.task)

    def wake(self) -> None:
        _reschedule(self.task)  # with no answer: raises internal_error in the call

    def abort(self, raise_cancel: Callable[[], Any]) -> trio.lowlevel.Abort:
        """Trio's abort callback: asks the library to end the call, whose result will
        still come out (so the task is rescheduled then, and raises the cancellation)."""
        self.raise_cancel = raise_cancel
        _cancel_trigger(self.token)
        return _abort_failed


class _TrioStream(StreamBase):
    """A watched wait in flight on a trio run's queue: its results as they come
    (:class:`StreamBase`), and the task waiting for the next one, if one does."""

    __slots__ = ("task", "raise_cancel")

    def __init__(self, token: CancelPtr, core: Core) -> None:
        super().__init__(token, core)
        self.task: Optional[trio.lowlevel.Task] = None
        self.raise_cancel: Optional[Callable[[], Any]] = None

    def wake(self) -> None:
        task, self.task = self.task, None
        if task is not None:  # rescheduled once, however many results came
            _reschedule(task)

    def _abort(self, raise_cancel: Callable[[], Any]) -> trio.lowlevel.Abort:
        self.raise_cancel = raise_cancel
        self.cancel()
        return _abort_failed

    async def _wait(self) -> None:
        self.task = _current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)

    async def next(self) -> Dict[str, Any]:
        """The next result. When the cancel scope is cancelled (or on Ctrl-C), the wait is
        cancelled and the cancellation raised once its final result came out."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self.results:
            if self.ended:  # the queue was freed under the watch
                raise AltogicError._client_side("internal_error", _RunQueue._FREED)
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


class _RunQueue(QueueBase):
    """The queue of one trio run, and the calls in flight on it (:class:`QueueBase`),
    whose descriptor a system task of the run watches."""

    __slots__ = ()

    _FREED = "the trio run's queue was freed"

    def __init__(self, queue: QueuePtr) -> None:
        super().__init__(queue)
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

    async def call(self, core: Core, start: Start, args: Tuple[Any, ...]) -> Optional[bytes]:
        """Starts ``start(client, *args, queue, tag, token)`` and returns its result; once
        the run is ending (its watcher gone), raises internal_error."""
        await trio.lowlevel.checkpoint_if_cancelled()
        pending = self._start(core, start, args, lambda token, core: _Pending(_current_task(), token, core))
        await trio.lowlevel.wait_task_rescheduled(pending.abort)
        if pending.raise_cancel is not None:
            pending.raise_cancel()  # trio.Cancelled, or KeyboardInterrupt
        if pending.answer is None:  # the queue was freed under the call
            raise AltogicError._client_side("internal_error", self._FREED)
        return pending.answer

    def start_stream(self, core: Core, start: Start, args: Tuple[Any, ...]) -> _TrioStream:
        """Starts ``start(client, *args, queue, tag, token)``, whose results come under one
        tag until the final one, and returns the stream they go to; once the run is ending
        (its watcher gone), raises internal_error."""
        return self._start(core, start, args, _TrioStream)

    def _unwatch(self) -> None:
        trio.lowlevel.notify_closing(self._fd)


_RUN_QUEUE: "trio.lowlevel.RunVar[_RunQueue]" = trio.lowlevel.RunVar("altogic_queue")
_live: "weakref.WeakSet[_RunQueue]" = weakref.WeakSet()


def _run_queue() -> _RunQueue:
    """The current run's queue, made (with its watcher) on the run's first call."""
    try:
        return _RUN_QUEUE.get()
    except LookupError:
        pass
    state = _RunQueue(new_queue())
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
