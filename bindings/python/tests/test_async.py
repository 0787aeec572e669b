"""AsyncClient: the same API as coroutines, and cancellation that reaches the library."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import altogic
from altogic import TaskStatus

from .conftest import CLIENT_KEY


def test_async_run_once_get_status_wait(emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            assert info.status is TaskStatus.PENDING
            now = await client.task.get_status(info.task_id)
            assert now is not None and now.task_id == info.task_id
            done = await client.task.wait(info.task_id, timeout=30)
            assert done.status is TaskStatus.COMPLETED
            assert await client.task.get_status("0123456789abcdef01234567") is None
            with pytest.raises(altogic.APIError):
                await client.task.run_once("noSuchTask")
            with pytest.raises(altogic.InvalidArgument):
                await client.task.run_once("a\0b")
            slow = await client.task.run_once("slowReport")
            with pytest.raises(altogic.Timeout) as caught:
                await client.task.wait(slow.task_id, timeout=0.2)
            assert caught.value.last_info is not None
            client.session = "s"
            assert client.session == "s"
        assert client.closed
        with pytest.raises(altogic.ClosedError):
            await client.task.run_once("billOnDemand")
        await client.aclose()

    asyncio.run(main())


def test_async_calls_run_concurrently(emulator_url: str) -> None:
    async def main() -> float:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            infos = await asyncio.gather(*(client.task.run_once("billOnDemand") for _ in range(4)))
            started = time.monotonic()
            done = await asyncio.gather(*(client.task.wait(i.task_id, timeout=30) for i in infos))
            assert all(d.status is TaskStatus.COMPLETED for d in done)
            return time.monotonic() - started

    assert asyncio.run(main()) < 5


def test_cancelling_a_wait_ends_the_library_call(emulator_url: str) -> None:
    async def main() -> None:
        # One worker thread: if the cancelled wait kept it busy, the next call would queue
        # behind it for seconds.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            task = asyncio.ensure_future(client.task.wait(slow.task_id, timeout=None))
            await asyncio.sleep(0.3)
            assert not task.done()
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            cancelled_in = time.monotonic() - started
            assert cancelled_in < 0.5, cancelled_in
            started = time.monotonic()
            info = await client.task.get_status(slow.task_id)
            assert info is not None and info.status is TaskStatus.PROCESSING
            assert time.monotonic() - started < 1.0

    asyncio.run(main())


def test_wait_for_timeout_cancels(emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.task.wait(slow.task_id, timeout=None), 0.2)
            assert time.monotonic() - started < 0.9

    asyncio.run(main())


def test_cancelled_before_the_worker_started(emulator_url: str) -> None:
    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            first = asyncio.ensure_future(client.task.wait(slow.task_id, timeout=None))
            queued = asyncio.ensure_future(client.task.wait(slow.task_id, timeout=None))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            queued.cancel()
            first.cancel()
            results = await asyncio.gather(first, queued, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            assert time.monotonic() - started < 0.5
            assert (await client.task.run_once("billOnDemand")).status is TaskStatus.PENDING

    asyncio.run(main())
