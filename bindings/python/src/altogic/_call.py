"""How calls reach the library: the client handle's lifetime, Ctrl-C, and asyncio.

- :class:`Core` owns one ``AltogicClient *``. Calls take it for their duration; ``close()``
  racing them frees it only once the last call in flight has returned.
- :func:`call_blocking` makes a call from synchronous code. In the main thread it makes
  Ctrl-C cancel the call in the library (see :class:`_SigintWatcher`).
- :func:`call_async` runs a call in the event loop's executor, and triggers the call's
  cancellation token when the awaiting task is cancelled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import weakref
from typing import Any, Callable, List, Optional, Tuple

from ._errors import ClosedError
from ._lib import LIB, CancelPtr, ClientPtr, LibString
from ._log import sync as _sync_log

__all__ = ["Core", "Call", "call_blocking", "call_interruptible", "call_async"]

#: A ``_cancellable`` function of the library: ``(client, *args, token) -> char *``.
Call = Callable[..., LibString]

_cancel_new = LIB.altogic_cancel_new
_cancel_trigger = LIB.altogic_cancel_trigger
_cancel_free = LIB.altogic_cancel_free


class Core:
    """One ``AltogicClient *`` and the calls in flight on it.

    ``weakref.finalize`` frees a client that was never closed when it is collected (not at
    interpreter exit: daemon threads may still be inside a call then, and the process is
    ending anyway).
    """

    __slots__ = ("_pointer", "_lock", "_in_flight", "_closed", "_finalizer", "__weakref__")

    def __init__(self, pointer: ClientPtr) -> None:
        self._pointer = pointer
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        self._finalizer = weakref.finalize(self, LIB.altogic_client_free, pointer)
        self._finalizer.atexit = False
        _cores.add(self)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def acquire(self) -> ClientPtr:
        """The client pointer, for one call; :meth:`release` must follow."""
        with self._lock:
            if self._closed:
                raise ClosedError._client_side(
                    "client_closed", "the client was closed; create a new one to make calls"
                )
            self._in_flight += 1
            return self._pointer

    def release(self) -> None:
        """Ends a call; frees the client if it was closed meanwhile and this was the last."""
        with self._lock:
            self._in_flight -= 1
            free = self._closed and self._in_flight == 0
        if free:
            self._finalizer()

    def close(self) -> None:
        """Refuses new calls, and frees the client now or when the last call returns.
        Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            free = self._in_flight == 0
        if free:
            self._finalizer()

    def _after_fork_in_child(self) -> None:
        # The threads that had calls in flight do not exist in the child; a lock they held
        # at the fork would stay held forever.
        self._lock = threading.Lock()
        self._in_flight = 0
        if self._closed:
            self._finalizer()


_cores: "weakref.WeakSet[Core]" = weakref.WeakSet()


class _SigintWatcher:
    """Makes Ctrl-C cancel a library call made by the main thread.

    Python runs signal handlers in the main thread between bytecodes, so a long C call
    there would hold off KeyboardInterrupt until it returns. During such a call this
    package sets Python's wakeup fd (``signal.set_wakeup_fd``) to a socket that a daemon
    thread reads; Python's C-level handler writes the signal number there. On ``SIGINT``
    the thread triggers the call's cancellation token, the call returns within
    milliseconds, and the pending KeyboardInterrupt is raised as usual. Every byte is
    passed on to the wakeup fd that was set before, so asyncio and others still get
    their signals.

    The main thread's calls share one token, replaced only once Ctrl-C has triggered it
    (a token serves any number of calls until then). All this costs a few microseconds
    per call, where handing each call to a worker thread (and waiting in an interruptible
    lock) was measured to cost about 50 (``bench/bench_run_once.py --handoff``).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: CancelPtr = _cancel_new()
        # Tokens of their own that main-thread calls in flight gave (watches): triggered too.
        self.extra: List[CancelPtr] = []
        self.active = 0  # main-thread calls in flight (more than 1 only from signal handlers)
        self.triggered = False
        self.forward_fd = -1
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self.fd = self._writer.fileno()
        thread = threading.Thread(target=self._watch, name="altogic-sigint", daemon=True)
        thread.start()

    def _watch(self) -> None:
        reader = self._reader
        while True:
            try:
                data = reader.recv(512)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                if self.active and signal.SIGINT in data:
                    _cancel_trigger(self.token)
                    self.triggered = True
                    for token in self.extra:
                        _cancel_trigger(token)
                forward = self.forward_fd
            if forward >= 0:
                try:
                    os.write(forward, data)
                except OSError:
                    pass

    def enter(self, own: Optional[CancelPtr] = None) -> CancelPtr:
        """The token for a main-thread call that begins; :meth:`leave` must follow. A call
        with a token of its own (``own``) has Ctrl-C trigger that one too."""
        with self.lock:
            if self.triggered and not self.active:
                _cancel_free(self.token)
                self.token = _cancel_new()
                self.triggered = False
            self.active += 1
            if own is not None:
                self.extra.append(own)
            return self.token

    def leave(self, own: Optional[CancelPtr] = None) -> None:
        """Ends a main-thread call: Ctrl-C no longer triggers its token."""
        with self.lock:
            self.active -= 1
            if own is not None:
                self.extra.remove(own)

    def discard(self) -> None:
        """Closes the sockets (in a forked child, whose copy the parent's thread reads)."""
        try:
            current = signal.set_wakeup_fd(-1)
            if current != self.fd:
                signal.set_wakeup_fd(current)
        except ValueError:
            pass
        self._reader.close()
        self._writer.close()


_watcher: Optional[_SigintWatcher] = None
_watcher_lock = threading.Lock()


def _get_watcher() -> _SigintWatcher:
    global _watcher
    watcher = _watcher
    if watcher is None:
        with _watcher_lock:
            watcher = _watcher
            if watcher is None:
                watcher = _watcher = _SigintWatcher()
    return watcher


def _after_fork_in_child() -> None:
    global _watcher, _watcher_lock
    _watcher_lock = threading.Lock()
    if _watcher is not None:
        _watcher.discard()
        _watcher = None
    for core in list(_cores):
        core._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_main_thread = threading.main_thread
_current_thread = threading.current_thread


def call_blocking(core: Core, function: Call, *args: Any) -> Optional[bytes]:
    """Calls ``function(client, *args, token)`` and returns the string it answered.

    From the main thread, Ctrl-C cancels the call in the library and KeyboardInterrupt is
    raised. Other threads never receive signals, so they call with no token.
    """
    _sync_log()
    pointer = core.acquire()
    try:
        if _current_thread() is not _main_thread():
            return function(pointer, *args, None).take()
        watcher = _get_watcher()
        token = watcher.enter()
        try:
            try:
                previous_fd = signal.set_wakeup_fd(watcher.fd, warn_on_full_buffer=False)
            except ValueError:  # not the main interpreter: no signals to watch
                return function(pointer, *args, token).take()
            watcher.forward_fd = previous_fd
            try:
                return function(pointer, *args, token).take()
            finally:
                signal.set_wakeup_fd(previous_fd)
        finally:
            watcher.leave()
    finally:
        core.release()


def call_interruptible(token: CancelPtr, function: Callable[..., LibString], *args: Any) -> Optional[bytes]:
    """Calls ``function(*args)``, which blocks until ``token`` ends what it waits for, and
    returns the string it answered. From the main thread, Ctrl-C triggers ``token`` (and
    KeyboardInterrupt is raised once the call returned), as :func:`call_blocking` does."""
    if _current_thread() is not _main_thread():
        return function(*args).take()
    watcher = _get_watcher()
    watcher.enter(token)
    try:
        try:
            previous_fd = signal.set_wakeup_fd(watcher.fd, warn_on_full_buffer=False)
        except ValueError:  # not the main interpreter: no signals to watch
            return function(*args).take()
        watcher.forward_fd = previous_fd
        try:
            return function(*args).take()
        finally:
            signal.set_wakeup_fd(previous_fd)
    finally:
        watcher.leave(token)


class _CancelScope:
    """The cancellation token of one call that runs in an executor thread.

    The token lives only inside the worker (made before the call, freed after it
    returned); the coroutine may :meth:`cancel` at any time, before, during or after.
    """

    __slots__ = ("_lock", "_token", "_cancelled")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: Optional[CancelPtr] = None
        self._cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._token is not None:
                _cancel_trigger(self._token)

    def run(self, core: Core, function: Call, args: Tuple[Any, ...]) -> Optional[bytes]:
        pointer = core.acquire()
        token = _cancel_new()
        try:
            with self._lock:
                self._token = token
                if self._cancelled:
                    _cancel_trigger(token)
            try:
                return function(pointer, *args, token).take()
            finally:
                with self._lock:
                    self._token = None
        finally:
            _cancel_free(token)
            core.release()


async def call_async(core: Core, function: Call, *args: Any) -> Optional[bytes]:
    """Runs ``function(client, *args, token)`` in the running loop's default executor.

    When the awaiting task is cancelled, the token is triggered, the call ends in the
    library within milliseconds, and CancelledError is raised once it has: no worker
    thread is left busy.
    """
    scope = _CancelScope()
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, scope.run, core, function, args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        scope.cancel()
        while not future.done():
            try:
                await asyncio.wait([future])
            except asyncio.CancelledError:
                pass
        if not future.cancelled():
            future.exception()  # retrieved: its result is dropped with the cancellation
        raise
