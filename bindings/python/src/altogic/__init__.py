"""Python binding of libaltogic, a client for Altogic's task manager.

Run a scheduled task ahead of its schedule, follow its execution, or wait for it to end::

    import altogic

    with altogic.Client("https://myapp.c1-na.altogic.com", "my-client-key") as client:
        info = client.task.run_once("billOnDemand")
        done = client.task.wait(info.task_id, timeout=60)
        print(done.status, done.completed_at)

The library (``libaltogic``, loaded through ctypes) does the work; this package turns its
JSON into :class:`TaskInfo` values and its errors into exceptions, and manages lifetimes.
"""

from ._client import AsyncClient, AsyncTasks, AsyncTaskWatch, Client, Tasks
from ._errors import (
    AltogicError,
    APIError,
    Cancelled,
    ClosedError,
    ExecutionNotFound,
    InvalidArgument,
    NetworkError,
    ProxyError,
    Timeout,
    TLSError,
)
from ._lib import LIB as _LIB
from ._lib import LIB_ENV, WAIT_FOREVER, library_path
from ._types import TaskInfo, TaskStatus
from ._version import __version__

#: The version of the loaded library (``altogic_version()``).
library_version: str = _LIB.altogic_version().decode("ascii")

__all__ = [
    "Client",
    "AsyncClient",
    "Tasks",
    "AsyncTasks",
    "AsyncTaskWatch",
    "TaskInfo",
    "TaskStatus",
    "AltogicError",
    "APIError",
    "Timeout",
    "NetworkError",
    "TLSError",
    "ProxyError",
    "InvalidArgument",
    "Cancelled",
    "ClosedError",
    "ExecutionNotFound",
    "WAIT_FOREVER",
    "LIB_ENV",
    "library_path",
    "library_version",
    "__version__",
]



def _make_public() -> None:
    """Public names show as ``altogic.Name`` (in tracebacks, reprs, help), not as the private
    module that defines them, as httpx does; pickling finds them here too. A class's
    annotations (strings, under ``from __future__ import annotations``) are resolved first
    in its own module, since ``typing.get_type_hints`` looks them up in ``__module__``."""
    import sys
    import typing

    for name in __all__:
        value = globals()[name]
        if isinstance(value, type):
            own = value.__dict__.get("__annotations__")
            if own:
                namespace = {**vars(sys.modules[value.__module__]), **globals()}
                hints = typing.get_type_hints(value, globalns=namespace, include_extras=True)
                value.__annotations__ = {key: hints[key] for key in own}
        if isinstance(value, type) or callable(value):
            value.__module__ = "altogic"


_make_public()
del _make_public
