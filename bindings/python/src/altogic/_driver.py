"""What both sides of AsyncClient share: :mod:`._queue` (asyncio) and :mod:`._trio`.

A side owns one ``AltogicQueue`` per event loop or trio run (:class:`QueueBase`): a call
starts in the library (``altogic_task_*_start``) under a new tag and is kept in the
queue's map by that tag until its last result came out; :meth:`QueueBase._drain` takes
the results (``altogic_queue_next(queue, 0)`` until it answers NULL) and hands each to
its call (:class:`PendingBase`, one result) or watched wait (:class:`StreamBase`, several
until the one with ``"final": true``). What differs is how a task waits for its result
and when the queue is watched and freed, which each side adds by subclassing.
"""

from __future__ import annotations

import collections
import ctypes
import json
import threading
from typing import Any, Callable, ClassVar, Deque, Dict, Optional, Tuple, TypeVar, Union

from ._call import Core
from ._errors import AltogicError, error_from_json
from ._lib import LIB, CancelPtr, ClientPtr, LibString, QueuePtr

__all__ = ["Start", "PendingBase", "StreamBase", "QueueBase", "new_queue", "begin_call"]

#: A ``_start`` function of the library: ``(client, *args, queue, tag, token) -> char *``.
Start = Callable[..., LibString]

_queue_new = LIB.altogic_queue_new
_queue_fd = LIB.altogic_queue_fd
_queue_next = LIB.altogic_queue_next
_queue_free = LIB.altogic_queue_free
_cancel_new = LIB.altogic_cancel_new
_cancel_trigger = LIB.altogic_cancel_trigger
_cancel_free = LIB.altogic_cancel_free


def new_queue() -> QueuePtr:
    """A new queue (``altogic_queue_new``); raises the library's error when it has none."""
    error = ctypes.c_void_p()
    queue: QueuePtr = _queue_new(ctypes.byref(error))
    if not queue:
        answer = LibString(error.value).take()
        raise error_from_json(json.loads(answer or b"{}"))
    return queue


def begin_call(core: Core) -> Tuple[ClientPtr, CancelPtr]:
    """What a call holds until its last result came out: its client (:meth:`Core.acquire`;
    :meth:`Core.release` must follow) and a new cancellation token."""
    pointer = core.acquire()
    token = _cancel_new()
    if not token:
        core.release()
        raise MemoryError("altogic_cancel_new: out of memory")
    return pointer, token


class PendingBase:
    """One call in flight, whose one result a task awaits: its token and its client. A
    side adds how the task waits (:meth:`resolve`, :meth:`wake`)."""

    __slots__ = ("token", "core", "ended")

    def __init__(self, token: CancelPtr, core: Core) -> None:
        self.token = token
        self.core = core
        self.ended = False

    def end(self) -> None:
        """The result came out (or the queue is gone): the library no longer uses the
        token, and the call no longer needs the client."""
        self.ended = True
        _cancel_free(self.token)
        self.core.release()

    def resolve(self, answer: bytes) -> None:
        """Hands the result (after :meth:`end`) to the task awaiting it."""
        raise NotImplementedError

    def wake(self) -> None:
        """The queue was freed under the call (after :meth:`end`): no result will come."""
        raise NotImplementedError


class StreamBase:
    """A watched wait in flight: its results (``{"info", "errors", "final"}``, parsed) as
    they come, until the final one; its token and its client until then. A side adds how a
    task waits for the next result (:meth:`wake`, and ``next``/``close``).

    Results arrive on the thread of the queue's loop or run. The token is freed once the
    final result came out; :meth:`cancel` may come from any thread (a watch collected
    elsewhere), hence the lock.
    """

    __slots__ = ("results", "token", "core", "ended", "_lock", "__weakref__")

    def __init__(self, token: CancelPtr, core: Core) -> None:
        self.results: Deque[Dict[str, Any]] = collections.deque()
        self.token = token
        self.core = core
        self.ended = False
        self._lock = threading.Lock()

    def deliver(self, result: Union[bytes, Dict[str, Any]]) -> bool:
        """Takes one result; returns whether it was the final one."""
        parsed: Dict[str, Any] = json.loads(result) if isinstance(result, bytes) else result
        final = parsed.get("final") is True
        self.results.append(parsed)
        if final:
            self.end()
        self.wake()
        return final

    def wake(self) -> None:
        """Wakes the task waiting for the next result, if one does: a result came, or the
        queue was freed under the wait (after :meth:`end`)."""
        raise NotImplementedError

    def end(self) -> None:
        """The final result came out (or the queue is gone): frees the token, releases the
        client. Idempotent."""
        with self._lock:
            if self.ended:
                return
            self.ended = True
            _cancel_free(self.token)
        self.core.release()

    def cancel(self) -> None:
        """Asks the library to end the wait (its final result, ``cancelled``, still comes).
        Any thread; idempotent."""
        with self._lock:
            if not self.ended:
                _cancel_trigger(self.token)


_InFlight = TypeVar("_InFlight", bound=Union[PendingBase, StreamBase])


class QueueBase:
    """A queue, and the calls in flight on it by tag. Used only from the thread of its
    loop or run (the drain and the tasks run there), so nothing here is locked. A side
    adds how the descriptor is watched (and :meth:`_unwatch`), and its calls."""

    __slots__ = ("_queue", "_fd", "_calls", "_next_tag", "_tag_out", "__weakref__")

    #: The message of the internal_error a call gets once the queue was freed.
    _FREED: ClassVar[str] = "the queue was freed"

    def __init__(self, queue: QueuePtr) -> None:
        self._queue: Optional[QueuePtr] = queue
        self._fd: int = _queue_fd(queue)
        self._calls: Dict[int, Union[PendingBase, StreamBase]] = {}
        self._next_tag = 1
        self._tag_out = ctypes.c_uint64()

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
            if isinstance(pending, StreamBase):
                if pending.deliver(answer):
                    del calls[tag]
                continue
            del calls[tag]
            pending.end()
            pending.resolve(answer)

    def _start(
        self, core: Core, start: Start, args: Tuple[Any, ...], make: Callable[[CancelPtr, Core], _InFlight]
    ) -> _InFlight:
        """Starts ``start(client, *args, queue, tag, token)`` on a new tag, whose results go
        to ``make(token, core)``, kept under the tag until its last result came out; when
        the library refuses it, raises its error with nothing left held."""
        queue = self._queue
        if queue is None:
            raise AltogicError._client_side("internal_error", self._FREED)
        pointer, token = begin_call(core)
        tag = self._next_tag
        self._next_tag = tag + 1
        pending = make(token, core)
        # Registered first, though its results can only be read by the next drain, on this
        # thread, after the calling task yields.
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
        return pending

    def _unwatch(self) -> None:
        """Stops watching the descriptor, just before the queue is freed."""
        raise NotImplementedError

    def free(self) -> None:
        """Frees the queue (the library cancels the calls still running and drops their
        results), and ends the calls left in the map. Idempotent."""
        queue = self._queue
        if queue is None:
            return
        self._queue = None
        self._unwatch()
        _queue_free(queue)
        calls, self._calls = self._calls, {}
        for pending in calls.values():  # their results will not come
            pending.end()
            pending.wake()

    def forget(self) -> None:
        """In a forked child: frees the queue inherited from the parent, which waits for
        nothing there (``altogic.h``), and drops the parent's calls."""
        queue = self._queue
        self._queue = None
        self._calls = {}
        if queue is not None:
            _queue_free(queue)
