"""The library's log records, sent to :mod:`logging` (the ``altogic`` logger).

The library calls one C callback for the whole process (``altogic_set_log_callback``) with
each record as one line of JSON. This module registers a ctypes callback that turns each
record into a :class:`logging.LogRecord` of the ``altogic`` logger: the Python level
matching the library's, a short human message, and the record's fields as
``record.altogic`` (a dict, with the library's own names).

- **Level.** The library builds no record below the level it was given, so that level
  follows the logger: :func:`sync` compares ``logger.getEffectiveLevel()`` (with
  ``logging.disable`` and ``logger.disabled``) with what was registered, and registers
  again when it changed. It runs when a client is made and before each call (some 0.3
  microseconds), so nothing is built or delivered while nobody listens, and the callback
  is removed altogether (NULL) when the logger is off.
- **Threads.** The callback runs on the library's threads and on threads inside library
  calls. ctypes takes the GIL for it; every library call is made through ``CDLL``, which
  releases the GIL, so no thread waits for a library thread while holding the GIL.
- **Lifetime.** The callback object lives in this module for the whole process. At
  interpreter exit (``atexit``, before Python finalizes) it is unregistered, and records
  already inside the callback are let through, so none runs into a finalized interpreter.
  In a forked child the callback's code is the parent's copy, valid there; the state here
  is reset and the child registers again on its first call.
- **Errors.** Nothing raised inside the callback leaves it: errors are reported as logging
  reports its handlers' errors (to stderr, when ``logging.raiseExceptions``) and the record
  is dropped. A KeyboardInterrupt raised there (a Ctrl-C handler run during a record on the
  main thread) is delivered again once the call returns.
- ``ALTOGIC_LOG`` in the environment keeps the library's own stderr lines, as in 1.2: then
  no callback is registered.
"""

from __future__ import annotations

import _thread
import atexit
import json
import logging
import os
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Optional

from ._lib import LIB, LogCallback

__all__ = ["logger", "sync"]

#: The logger the library's records go to.
logger = logging.getLogger("altogic")
logger.addHandler(logging.NullHandler())

_DEBUG, _INFO, _WARNING, _ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR

#: The library's levels (``ALTOGIC_LOG_*``) as Python's.
_PYTHON_LEVELS = {1: _ERROR, 2: _WARNING, 3: _INFO, 4: _DEBUG}

_set_log_callback = LIB.altogic_set_log_callback

#: The level registered with the library (0: none), -1 before the first :func:`sync`.
_registered = -1
_lock = threading.Lock()
#: Set at interpreter exit: nothing is registered any more.
_closed = False
#: One item per callback running its Python code (list.append and pop are atomic).
_inside: List[int] = []
#: Records the callback received (for tests: none arrive below the registered level).
received = 0
#: ``ALTOGIC_LOG`` set: the library writes its own lines to stderr, and no callback is set.
_environment = bool(os.environ.get("ALTOGIC_LOG", "").strip())


def _wanted() -> int:
    """The library's level that matches the ``altogic`` logger now (0: off)."""
    if logger.disabled:
        return 0
    level = logger.getEffectiveLevel()
    disabled_up_to = logger.manager.disable
    if level <= disabled_up_to:
        level = disabled_up_to + 1
    if level <= _DEBUG:
        return 4
    if level <= _INFO:
        return 3
    if level <= _WARNING:
        return 2
    if level <= _ERROR:
        return 1
    return 0


def sync() -> None:
    """Registers the callback again if the logger's level changed since (cheap otherwise)."""
    if _environment:
        return
    wanted = _wanted()
    if wanted != _registered:
        _register(wanted)


def _register(level: int) -> None:
    global _registered
    with _lock:
        if _closed or level == _registered:
            return
        if level > 0:
            _set_log_callback(level, _CALLBACK, None)
        else:
            _set_log_callback(0, _NO_CALLBACK, None)
        _registered = level


def registered_level() -> int:
    """The library's level the callback is registered at (0: none), for tests."""
    return max(_registered, 0)


def _text(fields: Dict[str, Any], key: str) -> str:
    value = fields.get(key)
    return "?" if value is None else str(value)


def _milliseconds(fields: Dict[str, Any]) -> str:
    value = fields.get("ms")
    return f"{value:.1f} ms" if isinstance(value, (int, float)) else "? ms"


def describe(fields: Dict[str, Any]) -> str:
    """The short human line of a record (its fields are in ``record.altogic``)."""
    event = fields.get("event")
    if event == "request":
        outcome = fields.get("status")
        if outcome is None:
            outcome = fields.get("code")
        proxy = fields.get("proxy")
        via = f" via proxy {proxy}" if proxy else ""
        line = f"{_text(fields, 'method')} {_text(fields, 'path')}{via} -> {outcome} in {_milliseconds(fields)}"
        notes = []
        connection = fields.get("connection")
        if connection:
            notes.append(f"{connection} connection")
        attempt = fields.get("attempt")
        if isinstance(attempt, int) and attempt > 1:
            notes.append(f"attempt {attempt}")
        return line + (f" ({', '.join(notes)})" if notes else "")
    if event == "retry":
        return (
            f"{_text(fields, 'method')} {_text(fields, 'path')}: sending again on a new connection "
            f"(attempt {_text(fields, 'attempt')}): {_text(fields, 'reason')}"
        )
    if event == "connection_opened":
        proxy = fields.get("proxy")
        return (
            f"connection opened to {_text(fields, 'host')}:{_text(fields, 'port')}"
            + (" (TLS)" if fields.get("tls") else "")
            + (f" via proxy {proxy}" if proxy else "")
        )
    if event == "connection_closed":
        idle = fields.get("idleMs")
        return (
            f"connection to {_text(fields, 'host')}:{_text(fields, 'port')} closed: {_text(fields, 'reason')}"
            + (f" (idle {idle} ms)" if idle is not None else "")
        )
    if event == "poll":
        outcome = fields.get("status")
        if outcome is None:
            outcome = fields.get("code")
        return f"poll {_text(fields, 'poll')} of execution {_text(fields, 'taskId')}: {outcome}"
    if event == "cancelled":
        return f"{_text(fields, 'call')} cancelled after {_milliseconds(fields)}"
    if event == "response_too_large":
        return (
            f"{_text(fields, 'method')} {_text(fields, 'path')} -> {_text(fields, 'status')}: the answer is larger "
            f"than max_response_bytes ({_text(fields, 'maxResponseBytes')} bytes; at least "
            f"{_text(fields, 'seenBytes')} seen)"
        )
    if event == "error_items_dropped":
        return (
            f"an error answer ({_text(fields, 'status')}) had too many items: {_text(fields, 'keptItems')} "
            f"kept, {_text(fields, 'droppedItems')} dropped"
        )
    rest = {key: value for key, value in fields.items() if key not in ("event", "level")}
    return f"{event} {json.dumps(rest, separators=(',', ':'))}"


def _on_record(level: int, record: Optional[bytes], userdata: Optional[int]) -> None:
    """The C callback: one record of the library, on any thread. Never raises."""
    global received
    _inside.append(1)
    try:
        received += 1
        python_level = _PYTHON_LEVELS.get(level, _DEBUG)
        if record is None or not logger.isEnabledFor(python_level):
            return
        fields = json.loads(record)
        if not isinstance(fields, dict):
            fields = {"event": "unknown", "record": fields}
        entry = logger.makeRecord(
            logger.name, python_level, __file__, 0, describe(fields), (), None, "altogic", {"altogic": fields}
        )
        logger.handle(entry)
    except KeyboardInterrupt:
        # A Ctrl-C handler ran here, on the main thread inside a library call: deliver the
        # interrupt again, once the call returned (it also cancels the call, as Ctrl-C does).
        try:
            _thread.interrupt_main()
        except BaseException:
            pass
    except BaseException:
        _report()
    finally:
        _inside.pop()


def _report() -> None:
    """An error while logging a record: reported as logging reports a handler's, dropped."""
    try:
        if logging.raiseExceptions and sys.stderr is not None:
            sys.stderr.write("--- altogic: a log record of the library was dropped:\n")
            traceback.print_exc(file=sys.stderr)
    except BaseException:
        pass


#: The C callback, alive for the whole process.
_CALLBACK = LogCallback(_on_record)
#: NULL, which removes the callback.
_NO_CALLBACK = LogCallback()


def _at_exit() -> None:
    """Unregisters the callback before Python finalizes, and lets through records already
    on their way into it."""
    global _closed, _registered
    with _lock:
        _closed = True
        if _registered <= 0:
            return
        _set_log_callback(0, _NO_CALLBACK, None)  # releases the GIL: waiting records get it
        _registered = 0
    # A library thread that took the callback just before may still be waiting for the
    # GIL, or running Python: let it finish (it releases the GIL while we sleep).
    deadline = time.monotonic() + 0.5
    time.sleep(0.001)
    while _inside and time.monotonic() < deadline:
        time.sleep(0.001)


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    # The threads that held the lock or ran callbacks at the fork are not in the child; the
    # library's registration (the parent's, pointing to code the child has too) is set
    # again on the child's first call.
    global _lock, _registered
    _lock = threading.Lock()
    _inside.clear()
    if not _closed:
        _registered = -1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
