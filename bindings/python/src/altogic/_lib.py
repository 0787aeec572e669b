"""Loading libaltogic and declaring its C functions for ctypes.

Every function gets ``argtypes`` and ``restype``. Strings the library returns and the
caller must free are declared with :class:`LibString` (a ``c_void_p``: a ``c_char_p``
restype would turn the pointer into bytes and lose it, so it could never be freed).
Opaque handles are distinct ``Structure`` subclasses behind ``POINTER``, so ctypes refuses
a token where a client is expected and the reverse.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ._version import __version__

__all__ = [
    "LIB",
    "LIB_ENV",
    "WAIT_FOREVER",
    "LibString",
    "ClientPtr",
    "CancelPtr",
    "QueuePtr",
    "LogCallback",
    "StatusCallback",
    "library_path",
]

#: The environment variable that names the shared library to load, overriding the others.
LIB_ENV = "ALTOGIC_LIB"

#: ``ALTOGIC_WAIT_FOREVER``: a wait with no deadline of its own.
WAIT_FOREVER = 2**64 - 1


class AltogicClient(ctypes.Structure):
    """The opaque ``AltogicClient`` (only ever used behind a pointer)."""


class AltogicCancel(ctypes.Structure):
    """The opaque ``AltogicCancel`` cancellation token (only ever used behind a pointer)."""


class AltogicQueue(ctypes.Structure):
    """The opaque ``AltogicQueue`` completion queue (only ever used behind a pointer)."""


if TYPE_CHECKING:
    ClientPtr = ctypes._Pointer[AltogicClient]
    CancelPtr = ctypes._Pointer[AltogicCancel]
    QueuePtr = ctypes._Pointer[AltogicQueue]
else:
    ClientPtr = ctypes.POINTER(AltogicClient)
    CancelPtr = ctypes.POINTER(AltogicCancel)
    QueuePtr = ctypes.POINTER(AltogicQueue)


#: ``AltogicLogCallback``: ``void (*)(int level, const char *record, void *userdata)``.
LogCallback = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

#: ``AltogicStatusCallback``: ``void (*)(const char *task_info, void *userdata)``.
StatusCallback = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)


class LibString(ctypes.c_void_p):
    """A ``char *`` that the library returned and that this side owns.

    :meth:`take` reads it and frees it with ``altogic_string_free``. Being a subclass of
    ``c_void_p``, ctypes hands it over as this object rather than a bare int, so a string
    that was never taken (an exception came in between) is still freed when it is
    collected.
    """

    def take(self) -> Optional[bytes]:
        """The string's bytes (None for NULL); frees it. Call it once."""
        address = self.value
        if address is None:
            return None
        self.value = None
        try:
            return ctypes.string_at(address)
        finally:
            _string_free(address)

    def __del__(self) -> None:
        address = self.value
        if address is not None:
            self.value = None
            _string_free(address)


def _library_filename() -> str:
    if sys.platform == "darwin":
        return "libaltogic.dylib"
    if sys.platform == "win32":
        return "altogic.dll"
    return "libaltogic.so"


def _candidates() -> List[Tuple[str, Optional[Path]]]:
    """The places to load the library from, in order, each with how to name it."""
    name = _library_filename()
    package_dir = Path(__file__).resolve().parent
    places: List[Tuple[str, Optional[Path]]] = [("the package folder", package_dir / name)]
    # In a checkout, this file is bindings/python/src/altogic/_lib.py.
    parents = package_dir.parents
    repo = parents[3] if len(parents) > 3 else None
    if repo is not None and (repo / "Cargo.toml").is_file():
        target = Path(os.environ.get("CARGO_TARGET_DIR") or repo / "target")
        places.append(("the repository's target/release", target / "release" / name))
    else:
        places.append(("the repository's target/release (not in a checkout)", None))
    return places


def _load() -> Tuple[ctypes.CDLL, str]:
    override = os.environ.get(LIB_ENV)
    if override:
        try:
            return ctypes.CDLL(override), override
        except OSError as err:
            raise ImportError(
                f"cannot load the Altogic library named by {LIB_ENV}={override!r}: {err}. "
                f"Fix the path, or unset {LIB_ENV} to use the library inside the package."
            ) from err
    tried = [f"{LIB_ENV}: not set"]
    for label, path in _candidates():
        if path is None:
            tried.append(f"{label}: skipped")
            continue
        if not path.is_file():
            tried.append(f"{label}: {path} does not exist")
            continue
        try:
            return ctypes.CDLL(str(path)), str(path)
        except OSError as err:
            tried.append(f"{label}: {path}: {err}")
    raise ImportError(
        "cannot load the Altogic library (libaltogic); tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nInstall a wheel of the altogic package, build the library with "
        f"`cargo build --release -p altogic --lib`, or point {LIB_ENV} at it."
    )


LIB, _path = _load()


def library_path() -> str:
    """The path of the shared library this package loaded."""
    return _path


_c_char_p, _c_void_p, _u64 = ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint64
_SIGNATURES: List[Tuple[str, List[Any], Any]] = [
    ("altogic_client_new", [_c_char_p, _c_char_p, _c_char_p, ctypes.POINTER(_c_void_p)], ClientPtr),
    ("altogic_client_free", [ClientPtr], None),
    ("altogic_task_run_once", [ClientPtr, _c_char_p], LibString),
    ("altogic_task_run_once_cancellable", [ClientPtr, _c_char_p, CancelPtr], LibString),
    ("altogic_task_get_status", [ClientPtr, _c_char_p], LibString),
    ("altogic_task_get_status_cancellable", [ClientPtr, _c_char_p, CancelPtr], LibString),
    ("altogic_task_wait", [ClientPtr, _c_char_p, _u64], LibString),
    ("altogic_task_wait_cancellable", [ClientPtr, _c_char_p, _u64, CancelPtr], LibString),
    ("altogic_task_wait_watch", [ClientPtr, _c_char_p, _u64, CancelPtr, StatusCallback, _c_void_p], LibString),
    ("altogic_client_id", [ClientPtr], _u64),
    ("altogic_client_set_session", [ClientPtr, _c_char_p], LibString),
    ("altogic_client_get_session", [ClientPtr], LibString),
    ("altogic_cancel_new", [], CancelPtr),
    ("altogic_cancel_trigger", [CancelPtr], None),
    ("altogic_cancel_is_triggered", [CancelPtr], ctypes.c_int32),
    ("altogic_cancel_free", [CancelPtr], None),
    ("altogic_json_get", [_c_char_p, _c_char_p], LibString),
    ("altogic_string_free", [_c_void_p], None),
    # Logging (_log.py): the callback is called on the library's threads.
    ("altogic_set_log_callback", [ctypes.c_int, LogCallback, _c_void_p], None),
    # The completion queue (AsyncClient, _queue.py).
    ("altogic_queue_new", [ctypes.POINTER(_c_void_p)], QueuePtr),
    ("altogic_queue_fd", [QueuePtr], ctypes.c_int),
    ("altogic_task_run_once_start", [ClientPtr, _c_char_p, QueuePtr, _u64, CancelPtr], LibString),
    ("altogic_task_get_status_start", [ClientPtr, _c_char_p, QueuePtr, _u64, CancelPtr], LibString),
    ("altogic_task_wait_start", [ClientPtr, _c_char_p, _u64, QueuePtr, _u64, CancelPtr], LibString),
    ("altogic_task_watch_start", [ClientPtr, _c_char_p, _u64, QueuePtr, _u64, CancelPtr], LibString),
    ("altogic_queue_next", [QueuePtr, _u64, ctypes.POINTER(_u64)], LibString),
    ("altogic_queue_free", [QueuePtr], None),
    # A static string, never freed: c_char_p (which copies it into bytes) is right here.
    ("altogic_version", [], _c_char_p),
]
for _name, _argtypes, _restype in _SIGNATURES:
    _function = getattr(LIB, _name)
    _function.argtypes = _argtypes
    _function.restype = _restype

_string_free = LIB.altogic_string_free


def _check_version() -> None:
    """The library must be semver-compatible with this package: same major version, and
    at least this package's version."""
    found = LIB.altogic_version().decode("ascii", "replace")

    def parts(version: str) -> Tuple[int, ...]:
        try:
            return tuple(int(p) for p in version.split("-")[0].split("+")[0].split("."))
        except ValueError:
            return ()

    have, want = parts(found), parts(__version__)
    if not have or have[0] != want[0] or have < want:
        raise ImportError(
            f"the Altogic library at {_path} is version {found}, but this package "
            f"(altogic {__version__}) needs {want[0]}.x at least {__version__}: rebuild or "
            f"reinstall the package, or point {LIB_ENV} at a matching library."
        )


_check_version()
