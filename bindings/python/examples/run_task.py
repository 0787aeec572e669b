"""Runs a task now and follows its execution, printing each status change.

    python examples/run_task.py ENV_URL CLIENT_KEY TASK [SESSION]

Exit status: 0 when the execution completed, 1 when it ended in errors, 2 on a usage
error or when a call failed. Ctrl-C stops it at once.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import altogic


def follow(client: altogic.Client, task: str, timeout: float = 600.0) -> Optional[altogic.TaskInfo]:
    """Runs ``task`` and follows its execution, printing every new status, until it ends.

    Returns the final TaskInfo, or None if the service stopped keeping the execution.
    """
    info = client.task.run_once(task)
    print(f"{task}: execution {info.task_id} is {info.status}")
    status = info.status
    try:
        # The library polls (with its backoff) and yields each status as it changes.
        for current in client.task.watch(info.task_id, timeout=timeout):
            if current.status != status:
                status = current.status
                print(f"{task}: execution {info.task_id} is {status}")
    except altogic.ExecutionNotFound:
        return None
    return current


def main(argv: List[str]) -> int:
    if len(argv) not in (4, 5):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    env_url, client_key, task = argv[1:4]
    session = argv[4] if len(argv) == 5 else None
    try:
        with altogic.Client(env_url, client_key, session=session) as client:
            info = follow(client, task)
    except altogic.AltogicError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if info is None:
        print(f"{task}: the service no longer keeps the execution", file=sys.stderr)
        return 2
    if info.status is altogic.TaskStatus.ERRORS:
        print(f"{task}: ended in errors: {info.errors}", file=sys.stderr)
        return 1
    took = info.completed_at - info.triggered_at if info.completed_at and info.triggered_at else None
    print(f"{task}: completed" + (f" in {took.total_seconds():.3f} s" if took is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
