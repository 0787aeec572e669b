"""runOnce, getTaskStatus and wait against the emulator; TaskInfo; errors by kind."""

from __future__ import annotations

import asyncio
import pickle
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import altogic
from altogic import TaskInfo, TaskStatus

from .conftest import CLIENT_KEY, SESSION_KEY, SESSION_TOKEN


def test_run_once_answers_a_pending_execution(client: altogic.Client) -> None:
    info = client.task.run_once("billOnDemand")
    assert isinstance(info, TaskInfo)
    assert info.status is TaskStatus.PENDING
    assert isinstance(info.status, str) and info.status.value == "pending"
    assert str(info.status) == "pending" and f"{info.status}" == "pending"
    assert not info.done
    assert len(info.task_id) == 24
    assert info.scheduled_task_name == "billOnDemand"
    assert info.scheduled_task_id == "6237b1f17c2a9625f0b2119e"
    assert isinstance(info.triggered_at, datetime) and info.triggered_at.tzinfo is not None
    assert info.triggered_at.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - info.triggered_at).total_seconds()) < 60
    assert info.started_at is None and info.completed_at is None and info.errors is None
    assert info.raw["taskId"] == info.task_id and info.raw["status"] == "pending"


def test_run_once_by_id(client: altogic.Client) -> None:
    assert client.task.run_once("6237b1f17c2a9625f0b2119e").scheduled_task_name == "billOnDemand"


def test_get_status_then_wait_until_completed(client: altogic.Client) -> None:
    started = client.task.run_once("billOnDemand")
    now = client.task.get_status(started.task_id)
    assert now is not None and now.task_id == started.task_id
    assert now.status in (TaskStatus.PENDING, TaskStatus.PROCESSING, TaskStatus.COMPLETED)
    done = client.task.wait(started.task_id, timeout=30)
    assert done.status is TaskStatus.COMPLETED and done.done
    assert done.started_at is not None and done.completed_at is not None
    assert done.triggered_at is not None
    assert done.triggered_at <= done.started_at <= done.completed_at
    assert done.errors is None
    again = client.task.get_status(started.task_id)
    assert again == done


def test_a_failing_task_ends_in_errors_with_its_errors(client: altogic.Client) -> None:
    done = client.task.wait(client.task.run_once("failingTask").task_id, timeout=30)
    assert done.status is TaskStatus.ERRORS and done.done
    assert done.errors["code"] == "simulated_failure"
    assert done.raw["errors"] == done.errors


def test_wait_without_deadline(client: altogic.Client) -> None:
    info = client.task.run_once("billOnDemand")
    assert client.task.wait(info.task_id, timeout=None).status is TaskStatus.COMPLETED


def test_get_status_of_an_unknown_execution_is_none(client: altogic.Client) -> None:
    assert client.task.get_status("0123456789abcdef01234567") is None


def test_wait_for_an_unknown_execution_raises(client: altogic.Client) -> None:
    with pytest.raises(altogic.ExecutionNotFound) as caught:
        client.task.wait("0123456789abcdef01234567", timeout=5)
    assert isinstance(caught.value, LookupError)
    assert caught.value.status == 0 and caught.value.code == "execution_not_found"
    # The library decides it (since 1.2), and names the execution.
    assert caught.value.items[0]["details"] == {"taskId": "0123456789abcdef01234567"}
    assert "0123456789abcdef01234567" in caught.value.message


def test_unknown_task_is_an_api_error(client: altogic.Client) -> None:
    with pytest.raises(altogic.APIError) as caught:
        client.task.run_once("noSuchTask")
    error = caught.value
    assert error.status == 404 and error.status_text == "Not Found"
    assert error.code == "not_found"
    assert error.items[0]["origin"] == "client_error"
    assert "noSuchTask" in error.message and "not_found" in str(error) and "404" in str(error)


def test_wrong_client_key_is_401(emulator_url: str) -> None:
    with altogic.Client(emulator_url, "wrong-key") as client:
        with pytest.raises(altogic.APIError) as caught:
            client.task.run_once("billOnDemand")
    assert caught.value.status == 401 and caught.value.code == "invalid_client_key"


def test_session_enforced_key(emulator_url: str) -> None:
    with altogic.Client(emulator_url, SESSION_KEY) as client:
        assert client.session is None
        with pytest.raises(altogic.APIError) as caught:
            client.task.run_once("billOnDemand")
        assert caught.value.code == "missing_session_token"
        client.session = SESSION_TOKEN
        assert client.session == SESSION_TOKEN
        assert client.task.run_once("billOnDemand").status is TaskStatus.PENDING
        client.session = "not-the-token"
        with pytest.raises(altogic.APIError) as caught:
            client.task.run_once("billOnDemand")
        assert caught.value.code == "invalid_session_token"
        assert client.session is None  # the library dropped it
    with altogic.Client(emulator_url, SESSION_KEY, session=SESSION_TOKEN) as client:
        assert client.session == SESSION_TOKEN
        assert client.task.run_once("billOnDemand").status is TaskStatus.PENDING


def test_session_can_be_cleared_and_bad_tokens_are_refused(client: altogic.Client) -> None:
    client.session = "abc"
    assert client.session == "abc"
    client.session = None
    assert client.session is None
    with pytest.raises(altogic.InvalidArgument, match="^session is required"):
        client.session = ""
    assert client.session is None


def test_network_error(closed_port: int) -> None:
    with altogic.Client(f"http://127.0.0.1:{closed_port}", CLIENT_KEY, connect_timeout=2) as client:
        with pytest.raises(altogic.NetworkError) as caught:
            client.task.run_once("billOnDemand")
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.status == 0 and caught.value.code == "network_error"


def test_wait_timeout_carries_the_last_info(client: altogic.Client) -> None:
    info = client.task.run_once("slowReport")
    started = time.monotonic()
    with pytest.raises(altogic.Timeout) as caught:
        client.task.wait(info.task_id, timeout=0.2)
    assert time.monotonic() - started < 3
    error = caught.value
    assert isinstance(error, TimeoutError) and error.code == "timeout" and error.status == 0
    assert error.last_info is not None and error.last_info.task_id == info.task_id
    assert not error.last_info.done


def test_wait_timeout_zero_polls_once(client: altogic.Client) -> None:
    # 0 means "poll once, now", not "no deadline" (that is None).
    info = client.task.run_once("slowReport")
    started = time.monotonic()
    with pytest.raises(altogic.Timeout) as caught:
        client.task.wait(info.task_id, timeout=0)
    assert time.monotonic() - started < 1
    assert caught.value.last_info is not None and caught.value.last_info.task_id == info.task_id
    done = client.task.wait(client.task.run_once("billOnDemand").task_id, timeout=30)
    assert client.task.wait(done.task_id, timeout=0) == done


def test_errors_pickle(client: altogic.Client) -> None:
    info = client.task.run_once("slowReport")
    with pytest.raises(altogic.Timeout) as caught:
        client.task.wait(info.task_id, timeout=0.1)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is altogic.Timeout
    assert copy.code == "timeout" and copy.items == caught.value.items
    assert copy.last_info == caught.value.last_info
    assert pickle.loads(pickle.dumps(info)) == info


def test_task_info_is_frozen_and_hashable(client: altogic.Client) -> None:
    info = client.task.run_once("billOnDemand")
    with pytest.raises(AttributeError):
        info.status = TaskStatus.COMPLETED  # type: ignore[misc]
    assert hash(info) == hash(TaskInfo.from_json(dict(info.raw)))


def test_task_info_from_json_keeps_unknown_fields_and_statuses() -> None:
    raw = {
        "taskId": "t",
        "scheduledTaskId": "s",
        "scheduledTaskName": "n",
        "triggeredAt": "2022-03-20T23:00:53.966Z",
        "startedAt": "2022-03-20T23:00:54.000Z",
        "status": "paused",
        "extra": {"x": 1},
    }
    info = TaskInfo.from_json(raw)
    assert info.triggered_at == datetime(2022, 3, 20, 23, 0, 53, 966000, tzinfo=timezone.utc)
    assert info.started_at == datetime(2022, 3, 20, 23, 0, 54, tzinfo=timezone.utc)
    assert info.completed_at is None
    assert info.status == "paused" and isinstance(info.status, TaskStatus) and not info.done
    assert info.raw["extra"] == {"x": 1}
    assert TaskInfo.from_json({"taskId": "t", "status": "completed", "triggeredAt": "junk"}).triggered_at is None


def test_the_emulator_over_https(https_emulator: "tuple[str, Path]") -> None:
    url, ca = https_emulator
    with altogic.Client(url, CLIENT_KEY, ca_file=ca) as client:
        started = client.task.run_once("billOnDemand")
        assert client.task.wait(started.task_id, timeout=30).status == "completed"
    with altogic.Client(url, CLIENT_KEY) as untrusted:
        with pytest.raises(altogic.TLSError, match="not signed by a CA this machine trusts"):
            untrusted.task.run_once("billOnDemand")


def test_asyncio_over_https(https_emulator: "tuple[str, Path]") -> None:
    url, ca = https_emulator

    async def main() -> str:
        async with altogic.AsyncClient(url, CLIENT_KEY, ca_file=ca) as client:
            started = await client.task.run_once("billOnDemand")
            done = await client.task.wait(started.task_id, timeout=30)
            return done.status

    assert asyncio.run(main()) == "completed"
