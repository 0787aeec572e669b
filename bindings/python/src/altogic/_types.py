"""TaskInfo and TaskStatus: the library's TaskInfo JSON as Python values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

__all__ = ["TaskStatus", "TaskInfo"]


class TaskStatus(str, enum.Enum):
    """The status of a task execution. A ``str``: ``TaskStatus.PENDING == "pending"``.

    A status this version does not know is still carried, as a member made on the fly
    (its ``value`` is what the service sent).
    """

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ERRORS = "errors"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> Optional["TaskStatus"]:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member

    @property
    def done(self) -> bool:
        """Whether the execution has ended (``completed`` or ``errors``)."""
        return self is TaskStatus.COMPLETED or self is TaskStatus.ERRORS


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _time(value: Any) -> Optional[datetime]:
    """An ISO 8601 time of the service (``2022-03-20T23:00:53.966Z``), timezone-aware.

    None when absent or unreadable (``TaskInfo.raw`` keeps what the service sent).
    """
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class TaskInfo:
    """One execution of a scheduled task, as the service describes it.

    Attributes:
        task_id: the execution's id (``taskId``).
        scheduled_task_id: the task's id (``scheduledTaskId``).
        scheduled_task_name: the task's name (``scheduledTaskName``).
        triggered_at: when the execution was triggered.
        started_at: when it began processing, None before.
        completed_at: when it ended, None before.
        status: where it is: pending, processing, completed or errors.
        errors: the execution's own errors object when it ended in ``errors``, else None.
        raw: the whole TaskInfo mapping as the service sent it, unknown fields included.
    """

    task_id: str
    scheduled_task_id: Optional[str]
    scheduled_task_name: Optional[str]
    triggered_at: Optional[datetime]
    started_at: Optional[datetime]
    completed_at: Optional[datetime]
    status: TaskStatus
    errors: Any = field(hash=False)
    raw: Mapping[str, Any] = field(hash=False, repr=False)

    @property
    def done(self) -> bool:
        """Whether the execution has ended (``completed`` or ``errors``)."""
        return self.status.done

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "TaskInfo":
        """A TaskInfo from the decoded JSON object the library returns as ``info``."""
        status = raw.get("status")
        info = _new_object(cls)
        # The fields set in one step rather than through the generated __init__ (which sets
        # them one by one past the frozen check): a third of the cost, on every call.
        info.__dict__.update(
            task_id=_text(raw.get("taskId")) or "",
            scheduled_task_id=_text(raw.get("scheduledTaskId")),
            scheduled_task_name=_text(raw.get("scheduledTaskName")),
            triggered_at=_time(raw.get("triggeredAt")),
            started_at=_time(raw.get("startedAt")),
            completed_at=_time(raw.get("completedAt")),
            status=_STATUSES.get(status) or TaskStatus(str(status)),  # type: ignore[arg-type]
            errors=raw.get("errors"),
            raw=raw,
        )
        return info


_new_object = object.__new__
_STATUSES = {member.value: member for member in TaskStatus}
