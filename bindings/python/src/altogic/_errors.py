"""Exceptions: the library's APIError JSON, raised as Python exceptions by kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar

if TYPE_CHECKING:
    from ._types import TaskInfo

__all__ = [
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
]


_E = TypeVar("_E", bound="AltogicError")


class AltogicError(Exception):
    """Base of every error of this package; it carries the library's APIError object.

    Attributes:
        status: the HTTP status of the service's answer, or 0 when the failure happened on
            this side (no usable answer).
        status_text: the standard reason phrase of ``status`` (``"Client Error"`` for 0).
        items: the error items, each a mapping with string ``origin``, ``code`` and
            ``message`` and a ``details`` value (often None).
        code: the first item's code (e.g. ``"not_found"``, ``"timeout"``), or None.
    """

    status: int
    status_text: str
    items: List[Dict[str, Any]]
    code: Optional[str]

    def __init__(self, status: int, status_text: str, items: Sequence[Mapping[str, Any]]) -> None:
        self.status = status
        self.status_text = status_text
        self.items = [dict(item) for item in items]
        self.code = str(self.items[0].get("code")) if self.items else None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The first item's message (what went wrong and, often, what to do)."""
        if not self.items:
            return f"{self.status} {self.status_text}".strip()
        return str(self.items[0].get("message", ""))

    def __str__(self) -> str:
        text = self.message
        if self.code:
            text = f"{text} [{self.code}]"
        if self.status:
            text = f"{text} (HTTP {self.status} {self.status_text})"
        if len(self.items) > 1:
            text = f"{text} (and {len(self.items) - 1} more error(s) in .items)"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Exceptions pickle through self.args by default, which does not match __init__.
        return (type(self), (self.status, self.status_text, self.items), self.__dict__)

    @classmethod
    def _client_side(cls: Type[_E], code: str, message: str, details: Any = None) -> _E:
        """An error made by this package, shaped as the library shapes its client errors."""
        item = {"origin": "client_error", "code": code, "message": message, "details": details}
        return cls(0, "Client Error", [item])


class APIError(AltogicError):
    """An answer from the service that is an error (``status`` is its HTTP status)."""


class Timeout(AltogicError, TimeoutError):
    """A deadline passed: the client's ``timeout`` for one call, or the ``timeout`` of a
    ``wait``. For a wait, ``last_info`` is the last TaskInfo seen (or None)."""

    last_info: Optional["TaskInfo"] = None


class NetworkError(AltogicError, ConnectionError):
    """No answer from the service: the connection was refused, reset or closed, DNS failed,
    a proxy could not be reached; and, as subclasses, TLS and proxy refusals."""


class TLSError(NetworkError):
    """A certificate or TLS handshake failure (code ``tls_error``): an unknown issuer, an
    expired certificate, a wrong name, a refused handshake. The message says what failed
    and what to do, typically: pass the CA with ``ca_file=`` or ``SSL_CERT_FILE``."""


class ProxyError(NetworkError):
    """The proxy refused to carry the request (code ``proxy_error``): HTTP 407 (it wants
    credentials) or a refused tunnel. The message names the proxy, never its password."""


class InvalidArgument(AltogicError, ValueError):
    """An argument was refused: a missing or empty value, a bad option, a bad environment
    URL, or a string that cannot be passed to C (it holds a NUL character)."""


class Cancelled(AltogicError):
    """The call was cancelled through its cancellation token (code ``cancelled``)."""


class ClosedError(AltogicError, RuntimeError):
    """The client was closed: no call can be made with it any more."""


class ExecutionNotFound(AltogicError, LookupError):
    """``wait`` found no execution (code ``execution_not_found``): the service does not keep
    it (an unknown id, or one older than the retention). ``get_status`` answers None in
    that case instead."""


_BY_CODE: Dict[str, Type[AltogicError]] = {
    "timeout": Timeout,
    "network_error": NetworkError,
    "tls_error": TLSError,
    "proxy_error": ProxyError,
    "invalid_argument": InvalidArgument,
    "missing_required_value": InvalidArgument,
    "invalid_env_url": InvalidArgument,
    "cancelled": Cancelled,
    "execution_not_found": ExecutionNotFound,
}


#: The library's codes that have no exception class of their own: they are raised as
#: :class:`AltogicError` (``status`` 0) or :class:`APIError` (from the service). With
#: ``_BY_CODE`` they cover every ``ALTOGIC_CODE_*`` of the header (a test checks it).
_GENERIC_CODES = frozenset(
    {"invalid_response", "response_too_large", "redirect_not_followed", "internal_error",
     "error_items_dropped"}
)

#: The library's names for arguments (``details.argument`` of its errors: the C API's) and
#: this package's names for them. An argument missing here (``options_json``, an environment
#: variable such as ``HTTPS_PROXY``) keeps the library's message.
_PYTHON_NAMES: Dict[str, str] = {
    "env_url": "env_url",
    "client_key": "client_key",
    "apiKey": "api_key",
    "session": "session",
    "session_token": "session",
    "timeoutMs": "timeout",
    "connectTimeoutMs": "connect_timeout",
    "idleTimeoutMs": "idle_timeout",
    "maxResponseBytes": "max_response_bytes",
    "caFile": "ca_file",
    "proxy": "proxy",
    "task_name_or_id": "name_or_id",
    "task_id": "task_id",
}


def _in_python_terms(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """An argument error's item with its message composed in this package's words.

    The library names the argument (``details.argument``, the C API's name) and says what
    is wrong with it (``details.reason``, a phrase that follows the name, in no language's
    words); its own message is the C sentence ``"{argument} {reason}."``. Where both are
    there and the argument has a Python name, the message is ``"{python_name} {reason}"``;
    otherwise the library's message is kept.
    """
    details = item.get("details")
    if not isinstance(details, Mapping):
        return item
    argument, reason = details.get("argument"), details.get("reason")
    if not isinstance(argument, str) or not isinstance(reason, str) or not reason:
        return item
    name = _PYTHON_NAMES.get(argument)
    if name is None:
        return item
    composed = dict(item)
    composed["message"] = f"{name} {reason}"
    return composed


def argument_error(name: str, reason: str, code: str = "invalid_argument") -> "InvalidArgument":
    """An argument error made by this package, shaped as the library's: ``name`` is the
    Python name of the argument, ``reason`` what is wrong with it (a phrase that follows
    the name, without a final full stop)."""
    return InvalidArgument._client_side(code, f"{name} {reason}", {"argument": name, "reason": reason})


def error_from_json(api_error: Mapping[str, Any]) -> AltogicError:
    """The exception for an APIError object of the library.

    Answers from the service (``status`` not 0) are :class:`APIError`; failures on this
    side are chosen by their code, and codes without a class of their own
    (``invalid_response``, ``response_too_large``, ``internal_error``, ...) are
    :class:`AltogicError`.
    """
    status = int(api_error.get("status") or 0)
    status_text = str(api_error.get("statusText") or "")
    items = api_error.get("items") or []
    if status:
        cls: Type[AltogicError] = APIError
    else:
        code = items[0].get("code") if items else None
        cls = _BY_CODE.get(code, AltogicError) if isinstance(code, str) else AltogicError
        if cls is InvalidArgument:
            items = [_in_python_terms(item) for item in items]
    return cls(status, status_text, items)
