"""AsyncClient under every async library it serves: asyncio, uvloop, trio, and anyio on
either backend; cancel scopes and task cancellation reaching the library; the error for
code that runs under none of them.

The bodies are written with anyio (task groups, move_on_after), which runs under each.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import textwrap
import time
from typing import Any, Callable, Coroutine, Dict, Iterator, List, Tuple, TypeVar

import anyio
import pytest
import sniffio
import trio
import uvloop

import altogic
from altogic import TaskStatus, _queue, _trio

from .conftest import CLIENT_KEY, PYTHON

T = TypeVar("T")

RUNNERS = ["asyncio", "uvloop", "trio", "anyio-asyncio", "anyio-trio"]


def run(runner: str, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``main()`` to completion under ``runner``."""
    if runner == "asyncio":
        return asyncio.run(main())
    if runner == "uvloop":
        loop = uvloop.new_event_loop()
        try:
            assert "uvloop" in type(loop).__module__
            return loop.run_until_complete(main())
        finally:
            loop.close()
    if runner == "trio":
        return trio.run(main)
    backend = runner.split("-", 1)[1]
    return anyio.run(main, backend=backend)


def in_flight() -> int:
    """How many calls are in flight on the running loop's or trio run's queue."""
    if _queue._in_trio_task():
        return len(_trio._RUN_QUEUE.get()._calls)
    state = _queue._states.get(asyncio.get_running_loop())
    assert state is not None, "the running loop has no queue"
    return len(state._calls)


@pytest.fixture
def triggered(monkeypatch: pytest.MonkeyPatch) -> Iterator[List[int]]:
    """Counts the cancellation tokens triggered by AsyncClient calls (either side)."""
    count: List[int] = []
    for module in (_queue, _trio):
        original = module._cancel_trigger

        def counting(token: Any, original: Any = original) -> None:
            count.append(1)
            original(token)

        monkeypatch.setattr(module, "_cancel_trigger", counting)
    yield count


@pytest.mark.parametrize("runner", RUNNERS)
def test_calls(runner: str, emulator_url: str) -> None:
    async def main() -> str:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            assert info.status is TaskStatus.PENDING
            now = await client.task.get_status(info.task_id)
            assert now is not None and now.task_id == info.task_id
            done = await client.task.wait(info.task_id, timeout=30)
            assert done.status is TaskStatus.COMPLETED
            assert (await client.task.wait(info.task_id, timeout=0)).status is TaskStatus.COMPLETED
            assert await client.task.get_status("0123456789abcdef01234567") is None
            with pytest.raises(altogic.ExecutionNotFound):
                await client.task.wait("0123456789abcdef01234567", timeout=5)
            with pytest.raises(altogic.APIError):
                await client.task.run_once("noSuchTask")
            with pytest.raises(altogic.InvalidArgument, match="^name_or_id is required"):
                await client.task.run_once(" ")
            slow = await client.task.run_once("slowReport")
            with pytest.raises(altogic.Timeout) as caught:
                await client.task.wait(slow.task_id, timeout=0.2)
            assert caught.value.last_info is not None
            assert in_flight() == 0
        with pytest.raises(altogic.ClosedError):
            await client.task.run_once("billOnDemand")
        return sniffio.current_async_library()

    assert run(runner, main) == ("trio" if "trio" in runner else "asyncio")


@pytest.mark.parametrize("runner", RUNNERS)
def test_many_waits_in_flight(runner: str, emulator_url: str) -> None:
    async def main() -> Tuple[float, List[object]]:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            results: List[object] = []

            async def wait() -> None:
                try:
                    results.append(await client.task.wait(slow.task_id, timeout=1))
                except altogic.Timeout as error:
                    results.append(error)

            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for _ in range(200):
                    group.start_soon(wait)
                await anyio.sleep(0.3)
                assert in_flight() == 200
            assert in_flight() == 0
            return time.monotonic() - started, results

    elapsed, results = run(runner, main)
    assert len(results) == 200
    for result in results:
        assert isinstance(result, altogic.Timeout) and result.last_info is not None, result
    # One at a time (or a few, in executor threads) they would take hundreds of seconds.
    assert 0.9 < elapsed < 5, elapsed


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_cancel_scope_ends_the_calls_in_the_library(
    runner: str, emulator_url: str, triggered: List[int]
) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            # A deadline: move_on_after (trio's own under trio, anyio's otherwise).
            started = time.monotonic()
            move_on_after = trio.move_on_after if runner == "trio" else anyio.move_on_after
            with move_on_after(0.2) as scope:
                await client.task.wait(slow.task_id, timeout=None)
            elapsed = time.monotonic() - started
            assert scope.cancelled_caught
            assert elapsed < 0.7, elapsed  # slowReport lasts ~5 s
            assert in_flight() == 0 and len(triggered) == 1
            # A task group's scope cancelled with 20 waits in flight.
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(client.task.wait, slow.task_id, None)
                await anyio.sleep(0.2)
                assert in_flight() == 20
                group.cancel_scope.cancel()
            assert time.monotonic() - started < 0.9
            assert in_flight() == 0 and len(triggered) == 21
            # A scope cancelled before the call: under trio nothing starts; under asyncio,
            # which cancels at the next await, the call starts and is ended at once.
            started = time.monotonic()
            with anyio.CancelScope() as cancelled:
                cancelled.cancel()
                await client.task.wait(slow.task_id, timeout=None)
            assert time.monotonic() - started < 0.5
            assert in_flight() == 0 and len(triggered) == (21 if "trio" in runner else 22)
            # The execution goes on; the client is free for the next call at once.
            info = await client.task.get_status(slow.task_id)
            assert info is not None and info.status is TaskStatus.PROCESSING

    run(runner, main)


@pytest.mark.parametrize("runner", ["asyncio", "uvloop", "anyio-asyncio"])
def test_cancelling_the_task_ends_the_call(runner: str, emulator_url: str, triggered: List[int]) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            task = asyncio.ensure_future(client.task.wait(slow.task_id, timeout=None))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - started < 0.5
            assert in_flight() == 0 and triggered == [1]

    run(runner, main)


def test_a_trio_run_frees_its_queue(emulator_url: str) -> None:
    states: List[Any] = []

    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            await client.task.run_once("billOnDemand")
            await client.task.run_once("billOnDemand")
            states.append(_trio._RUN_QUEUE.get())

    trio.run(main)
    trio.run(main)
    assert len(states) == 2 and states[0] is not states[1]  # one queue per run...
    assert all(state._queue is None for state in states)  # ...freed when the run ended


def test_trio_in_guest_mode_on_asyncio(emulator_url: str) -> None:
    # Trio's tasks run inside asyncio's loop: the calls of each go to its own library.
    async def trio_main() -> str:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            return str((await client.task.wait(info.task_id, timeout=30)).status)

    async def asyncio_main() -> Tuple[str, str]:
        loop = asyncio.get_running_loop()
        done: "asyncio.Future[str]" = loop.create_future()

        def finished(outcome: Any) -> None:
            done.set_result(outcome.unwrap())

        trio.lowlevel.start_guest_run(
            trio_main, run_sync_soon_threadsafe=loop.call_soon_threadsafe, done_callback=finished
        )
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            status = str((await client.task.wait(info.task_id, timeout=30)).status)
        return await done, status

    assert asyncio.run(asyncio_main()) == ("completed", "completed")


def test_a_call_under_no_supported_library_says_what_is_supported() -> None:
    client = altogic.AsyncClient("http://127.0.0.1:9", CLIENT_KEY)
    try:
        coroutine = client.task.run_once("billOnDemand")
        with pytest.raises(RuntimeError) as caught:
            coroutine.send(None)  # driven by hand: no event loop, no trio run
        message = str(caught.value)
        for supported in ("asyncio", "add_reader", "uvloop", "Proactor", "default executor", "trio", "anyio"):
            assert supported in message, message
        assert message.endswith("none of them runs this call"), message
        # A library that sniffio knows (curio, say) is named.
        context = contextvars.copy_context()
        context.run(sniffio.current_async_library_cvar.set, "curio")
        coroutine = client.task.wait("0123456789abcdef01234567")
        with pytest.raises(RuntimeError, match="this call runs under curio$"):
            context.run(coroutine.send, None)
    finally:
        client.close()


def test_trio_is_imported_only_by_programs_that_use_it(python_env: Dict[str, str], emulator_url: str) -> None:
    child = textwrap.dedent(
        """
        import asyncio, sys
        import altogic

        async def main() -> None:
            async with altogic.AsyncClient(sys.argv[1], sys.argv[2]) as client:
                await client.task.run_once("billOnDemand")

        asyncio.run(main())
        print(sorted(m for m in ("trio", "anyio", "sniffio", "altogic._trio") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [PYTHON, "-c", child, emulator_url, CLIENT_KEY], env=python_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
