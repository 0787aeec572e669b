"""Following an execution: ``client.task.watch`` yields each status as it changes and last
the final TaskInfo, sync and async (asyncio, uvloop, trio, anyio); errors raise as ``wait``
raises; leaving early cancels the wait in the library."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from typing import Any, Callable, List

import anyio
import pytest

import altogic
from altogic import TaskInfo, TaskStatus, _queue

from .conftest import CLIENT_KEY, altogic_records
from .test_async_libraries import RUNNERS, in_flight, run


def _assert_statuses(infos: List[TaskInfo], last: TaskStatus) -> None:
    statuses = [info.status for info in infos]
    assert len(statuses) >= 2, statuses
    assert statuses[-1] is last and infos[-1].done
    assert set(statuses[:-1]) <= {TaskStatus.PENDING, TaskStatus.PROCESSING}, statuses
    assert all(a != b for a, b in zip(statuses, statuses[1:])), f"a status repeated: {statuses}"
    assert len({info.task_id for info in infos}) == 1


class _Polls(logging.Handler):
    """Counts the library's polls of a wait (its ``poll`` records)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(record.altogic["event"])  # type: ignore[attr-defined]


@pytest.fixture
def polls() -> Any:
    handler = _Polls()
    with altogic_records(handler):
        yield handler


def test_watch_yields_each_status_then_the_final_one(client: altogic.Client, polls: _Polls) -> None:
    info = client.task.run_once("billOnDemand")
    infos = list(client.task.watch(info.task_id, timeout=30))
    _assert_statuses(infos, TaskStatus.COMPLETED)
    assert infos[-1] == client.task.get_status(info.task_id)
    # No request of its own: one poll per GET of the execution.
    gets = polls.events.count("poll")
    assert gets >= len(infos) and polls.events.count("request") == gets + 2  # + runOnce, get_status


def test_watch_of_a_failing_task_ends_with_its_errors(client: altogic.Client) -> None:
    info = client.task.run_once("failingTask")
    infos = list(client.task.watch(info.task_id, timeout=30))
    _assert_statuses(infos, TaskStatus.ERRORS)
    assert infos[-1].errors is not None and infos[-1].errors["code"] == "simulated_failure"


def test_watch_raises_as_wait_raises(client: altogic.Client) -> None:
    with pytest.raises(altogic.ExecutionNotFound):
        list(client.task.watch("0123456789abcdef01234567", timeout=5))
    info = client.task.run_once("slowReport")
    seen: List[TaskInfo] = []
    started = time.monotonic()
    with pytest.raises(altogic.Timeout) as caught:
        for status in client.task.watch(info.task_id, timeout=0.3):
            seen.append(status)
    assert time.monotonic() - started < 3
    assert [s.status for s in seen] == [TaskStatus.PROCESSING]
    assert caught.value.last_info is not None and caught.value.last_info.task_id == info.task_id
    with pytest.raises(altogic.InvalidArgument):
        client.task.watch("", timeout=1).__next__()
    with pytest.raises(TypeError):
        client.task.watch(42)  # type: ignore[arg-type]
    with pytest.raises(altogic.InvalidArgument):
        client.task.watch("x", timeout=-1)


def test_leaving_a_watch_early_cancels_the_wait(client: altogic.Client, polls: _Polls) -> None:
    info = client.task.run_once("slowReport")
    watch = client.task.watch(info.task_id, timeout=None)
    assert next(watch).status is TaskStatus.PROCESSING
    started = time.monotonic()
    watch.close()
    assert time.monotonic() - started < 0.5
    assert polls.events.count("cancelled") == 1
    # break does the same (the generator is closed as the loop drops it).
    for status in client.task.watch(info.task_id, timeout=None):
        break
    assert polls.events.count("cancelled") == 2
    count = polls.events.count("poll")
    time.sleep(0.5)
    assert polls.events.count("poll") == count, "the wait still polls"
    # A watch never started starts nothing.
    client.task.watch(info.task_id)
    assert client.task.get_status(info.task_id).status is TaskStatus.PROCESSING  # type: ignore[union-attr]


def test_watch_from_threads(client: altogic.Client) -> None:
    results: List[List[TaskInfo]] = []

    def follow() -> None:
        info = client.task.run_once("billOnDemand")
        results.append(list(client.task.watch(info.task_id, timeout=30)))

    threads = [threading.Thread(target=follow) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 4
    for infos in results:
        _assert_statuses(infos, TaskStatus.COMPLETED)


def test_a_closed_client_refuses_a_watch(emulator_url: str) -> None:
    client = altogic.Client(emulator_url, CLIENT_KEY)
    info = client.task.run_once("billOnDemand")
    watch = client.task.watch(info.task_id, timeout=30)
    first = next(watch)
    client.close()  # the started wait keeps its own reference to the library's client
    infos = [first, *watch]
    _assert_statuses(infos, TaskStatus.COMPLETED)
    with pytest.raises(altogic.ClosedError):
        next(client.task.watch(info.task_id))


@pytest.mark.parametrize("runner", RUNNERS)
def test_async_watch(runner: str, emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            infos = [status async for status in client.task.watch(info.task_id, timeout=30)]
            _assert_statuses(infos, TaskStatus.COMPLETED)
            failing = await client.task.run_once("failingTask")
            infos = [status async for status in client.task.watch(failing.task_id, timeout=30)]
            _assert_statuses(infos, TaskStatus.ERRORS)
            with pytest.raises(altogic.ExecutionNotFound):
                async for _ in client.task.watch("0123456789abcdef01234567", timeout=5):
                    pass
            slow = await client.task.run_once("slowReport")
            with pytest.raises(altogic.Timeout) as caught:
                async for _ in client.task.watch(slow.task_id, timeout=0.3):
                    pass
            assert caught.value.last_info is not None
            # Several at once on one queue, each under its tag.
            many = [await client.task.run_once("billOnDemand") for _ in range(10)]
            followed: List[List[TaskInfo]] = [[] for _ in many]

            async def follow(index: int) -> None:
                async for status in client.task.watch(many[index].task_id, timeout=30):
                    followed[index].append(status)

            async with anyio.create_task_group() as group:
                for index in range(len(many)):
                    group.start_soon(follow, index)
            for index, infos in enumerate(followed):
                _assert_statuses(infos, TaskStatus.COMPLETED)
                assert infos[0].task_id == many[index].task_id
            assert in_flight() == 0

    run(runner, main)


@pytest.mark.parametrize("runner", RUNNERS)
def test_async_watch_cancelled(runner: str, emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            seen: List[TaskInfo] = []
            started = time.monotonic()
            with anyio.move_on_after(0.3) as scope:
                async for status in client.task.watch(slow.task_id, timeout=None):
                    seen.append(status)
            elapsed = time.monotonic() - started
            assert scope.cancelled_caught and elapsed < 0.8, elapsed
            assert [s.status for s in seen] == [TaskStatus.PROCESSING]
            assert in_flight() == 0  # the library ended the wait before the scope exited
            # break, then aclose(): ended at once.
            watch = client.task.watch(slow.task_id, timeout=None)
            async for status in watch:
                break
            assert in_flight() == 1
            started = time.monotonic()
            await watch.aclose()
            assert time.monotonic() - started < 0.5 and in_flight() == 0
            with pytest.raises(StopAsyncIteration):
                await watch.__anext__()
            # break alone: the watch, collected, cancels the wait.
            async for status in client.task.watch(slow.task_id, timeout=None):
                break
            gc.collect()
            for _ in range(50):
                if in_flight() == 0:
                    break
                await anyio.sleep(0.01)
            assert in_flight() == 0
            info = await client.task.get_status(slow.task_id)
            assert info is not None and info.status is TaskStatus.PROCESSING

    run(runner, main)


def test_asyncio_task_cancellation_ends_the_watch(emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")

            async def follow() -> None:
                async for _ in client.task.watch(slow.task_id, timeout=None):
                    pass

            task = asyncio.ensure_future(follow())
            await asyncio.sleep(0.2)
            assert in_flight() == 1
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - started < 0.5 and in_flight() == 0

    asyncio.run(main())


def test_async_watch_on_a_loop_without_add_reader(emulator_url: str) -> None:
    def no_add_reader(*args: Any) -> None:
        raise NotImplementedError  # as Windows' ProactorEventLoop

    used: List[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        original = loop.run_in_executor

        def recording(executor: Any, func: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
            used.append(getattr(func, "__name__", "?"))
            return original(executor, func, *args)

        setattr(loop, "run_in_executor", recording)
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            infos = [status async for status in client.task.watch(info.task_id, timeout=30)]
            _assert_statuses(infos, TaskStatus.COMPLETED)
            slow = await client.task.run_once("slowReport")
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(_drain(client.task.watch(slow.task_id, timeout=None)), 0.3)
            assert time.monotonic() - started < 0.8
        assert _queue._states[loop] is None

    loop = asyncio.SelectorEventLoop()
    setattr(loop, "add_reader", no_add_reader)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert used == ["run", "run", "run", "run"], used


async def _drain(watch: altogic.AsyncTaskWatch) -> None:
    async for _ in watch:
        pass
