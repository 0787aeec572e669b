"""AsyncClient on the library's completion queue: many calls in flight, no thread each."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Tuple, cast

import pytest

import altogic
from altogic import TaskStatus, _queue

from .conftest import CLIENT_KEY


def _os_threads() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError("no Threads line")


def _state() -> "_queue._LoopQueue":
    state = _queue._states.get(asyncio.get_running_loop())
    assert state is not None, "the running loop has no queue"
    return state


class _RefusingExecutor(ThreadPoolExecutor):
    """A default executor that refuses work: a call that used it would fail."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future[Any]":
        raise AssertionError("AsyncClient used the loop's default executor")


def test_hundreds_of_waits_in_flight_hold_no_thread(emulator_url: str) -> None:
    async def main() -> Tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            infos = await asyncio.gather(*(client.task.run_once("billOnDemand") for _ in range(300)))
            threads_before = _os_threads()
            started = time.monotonic()
            waits = asyncio.gather(*(client.task.wait(i.task_id, timeout=60) for i in infos))
            await asyncio.sleep(0.05)
            assert len(_state()._calls) > 0, "the waits are not in flight"
            # The loop's default executor (also getaddrinfo's) stays free meanwhile.
            probe = time.monotonic()
            await asyncio.wait_for(loop.run_in_executor(None, lambda: None), 5)
            executor_latency = time.monotonic() - probe
            threads_during = _os_threads()
            done = await waits
            elapsed = time.monotonic() - started
            assert all(d.status is TaskStatus.COMPLETED for d in done)
            assert [d.task_id for d in done] == [i.task_id for i in infos]
            assert not _state()._calls
            return elapsed, executor_latency, threads_during - threads_before

    elapsed, executor_latency, more_threads = asyncio.run(main())
    # 300 executions of ~200 ms on the emulator's 32 workers take about 2 s; the same waits
    # in the default executor's threads (6 here) took 10 s and more.
    assert elapsed < 10, elapsed
    assert executor_latency < 0.5, executor_latency
    # The probe's executor thread is the only one Python adds; the library may add its one.
    assert more_threads <= 4, more_threads


def test_300_waits_with_a_1_s_timeout_end_together(emulator_url: str) -> None:
    async def main() -> float:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            started = time.monotonic()
            results = await asyncio.gather(
                *(client.task.wait(slow.task_id, timeout=1) for _ in range(300)), return_exceptions=True
            )
            elapsed = time.monotonic() - started
            for result in results:
                assert isinstance(result, altogic.Timeout), result
                assert result.last_info is not None and result.last_info.task_id == slow.task_id
            return elapsed

    elapsed = asyncio.run(main())
    # In the executor (6 threads) they took 50 s, 6 at a time.
    assert 0.9 < elapsed < 5, elapsed


def test_no_call_uses_the_default_executor(emulator_url: str) -> None:
    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(_RefusingExecutor())
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            assert (await client.task.get_status(info.task_id)) is not None
            assert (await client.task.wait(info.task_id, timeout=30)).status is TaskStatus.COMPLETED

    asyncio.run(main())


def test_results_reach_their_callers(emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            infos = await asyncio.gather(*(client.task.run_once("billOnDemand") for _ in range(50)))
            ids = [info.task_id for info in infos]
            unknown = [f"{n:024x}" for n in range(50)]

            async def one(kind: int, index: int) -> Tuple[int, int, object]:
                try:
                    if kind == 0:
                        return kind, index, await client.task.get_status(ids[index])
                    if kind == 1:
                        return kind, index, await client.task.get_status(unknown[index])
                    if kind == 2:
                        return kind, index, await client.task.run_once("noSuchTask")
                    return kind, index, await client.task.get_status("")  # refused by the library
                except altogic.AltogicError as error:
                    return kind, index, error

            calls = [one(kind, index) for index in range(50) for kind in range(4)]
            for kind, index, result in await asyncio.gather(*calls):
                if kind == 0:
                    assert isinstance(result, altogic.TaskInfo) and result.task_id == ids[index]
                elif kind == 1:
                    assert result is None
                elif kind == 2:
                    assert isinstance(result, altogic.APIError) and result.status == 404
                else:
                    assert isinstance(result, altogic.InvalidArgument)
                    assert result.code == "missing_required_value"
            assert not _state()._calls

    asyncio.run(main())


def test_cancelling_a_queued_wait_triggers_its_token(emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            waits = [asyncio.ensure_future(client.task.wait(slow.task_id, timeout=None)) for _ in range(20)]
            await asyncio.sleep(0.3)
            state = _state()
            assert len(state._calls) == 20 and not any(w.done() for w in waits)
            started = time.monotonic()
            for wait in waits:
                wait.cancel()
            results = await asyncio.gather(*waits, return_exceptions=True)
            elapsed = time.monotonic() - started
            assert all(isinstance(r, asyncio.CancelledError) for r in results), results
            # CancelledError came once the library ended each call (its result came out),
            # within milliseconds of the trigger, not after slowReport's 5 s.
            assert not state._calls
            assert elapsed < 0.5, elapsed
            info = await client.task.get_status(slow.task_id)
            assert info is not None and info.status is TaskStatus.PROCESSING

    asyncio.run(main())


def test_cancelled_twice_and_wait_for(emulator_url: str) -> None:
    async def main() -> None:
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            slow = await client.task.run_once("slowReport")
            wait = asyncio.ensure_future(client.task.wait(slow.task_id, timeout=None))
            await asyncio.sleep(0.1)
            wait.cancel()
            await asyncio.sleep(0)
            wait.cancel()  # again, while it waits for the library to end the call
            with pytest.raises(asyncio.CancelledError):
                await wait
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.task.wait(slow.task_id, timeout=None), 0.2)
            assert time.monotonic() - started < 0.9
            assert not _state()._calls

    asyncio.run(main())


def test_aclose_with_calls_in_flight(emulator_url: str) -> None:
    async def main() -> None:
        client = altogic.AsyncClient(emulator_url, CLIENT_KEY)
        infos = await asyncio.gather(*(client.task.run_once("billOnDemand") for _ in range(20)))
        waits = asyncio.gather(*(client.task.wait(i.task_id, timeout=30) for i in infos))
        await asyncio.sleep(0.02)
        await client.aclose()
        assert client.closed
        # In flight: the library's client stays alive until the last result came out.
        assert client._core._finalizer.alive
        with pytest.raises(altogic.ClosedError):
            await client.task.get_status(infos[0].task_id)
        done = await waits
        assert all(d.status is TaskStatus.COMPLETED for d in done)
        assert not client._core._finalizer.alive
        await client.aclose()  # idempotent

    asyncio.run(main())


def test_two_event_loops_in_sequence_and_in_threads(emulator_url: str) -> None:
    client = altogic.AsyncClient(emulator_url, CLIENT_KEY)
    states: "List[_queue._LoopQueue]" = []  # a state keeps no reference to its loop

    async def main() -> None:
        info = await client.task.run_once("billOnDemand")
        assert (await client.task.wait(info.task_id, timeout=30)).status is TaskStatus.COMPLETED
        states.append(_state())

    first = asyncio.new_event_loop()
    first.run_until_complete(main())
    first.close()  # still referenced here, so not collected: its queue stays until...
    assert states[0]._queue is not None
    asyncio.run(main())  # ...a new loop makes its own, and frees those of closed loops
    assert states[0]._queue is None, "the closed loop's queue was not freed"
    asyncio.run(main())  # (asyncio.run's loop is also freed when collected)
    assert len({id(state) for state in states}) == 3
    # Loops in other threads, at the same time, sharing the client.
    errors: List[BaseException] = []

    def in_thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=in_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    client.close()
    gc.collect()
    live = [s for s in _queue._states.values() if s is not None and s._queue is not None]
    assert len(live) <= 1, "queues of closed loops stay allocated"


def test_a_loop_without_add_reader_uses_the_executor(emulator_url: str) -> None:
    def no_add_reader(*args: Any) -> None:
        raise NotImplementedError  # as Windows' ProactorEventLoop

    used: List[Optional[str]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        original = loop.run_in_executor

        def recording(executor: Any, func: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
            used.append(getattr(func, "__name__", None))
            return original(executor, func, *args)

        setattr(loop, "run_in_executor", recording)
        async with altogic.AsyncClient(emulator_url, CLIENT_KEY) as client:
            info = await client.task.run_once("billOnDemand")
            assert (await client.task.wait(info.task_id, timeout=30)).status is TaskStatus.COMPLETED
        assert _queue._states[loop] is None

    loop = asyncio.SelectorEventLoop()
    setattr(loop, "add_reader", no_add_reader)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert used == ["run", "run"], used


async def _run_and_wait(url: str) -> str:
    async with altogic.AsyncClient(url, CLIENT_KEY) as client:
        info = await client.task.run_once("billOnDemand")
        return str((await client.task.wait(info.task_id, timeout=30)).status)


def _async_child(url: str, queue: "multiprocessing.Queue[object]") -> None:
    try:
        queue.put(("ok", asyncio.run(_run_and_wait(url))))
    except BaseException as err:  # noqa: BLE001 - sent to the parent
        queue.put(("error", repr(err)))


# Python 3.12+ warns on any fork of a process with threads; the library supports it.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_makes_its_own_queue(emulator_url: str) -> None:
    loop = asyncio.new_event_loop()  # open, with its queue, across the fork
    try:
        assert loop.run_until_complete(_run_and_wait(emulator_url)) == "completed"
        context = multiprocessing.get_context("fork")
        queue: "multiprocessing.Queue[object]" = context.Queue()
        process = context.Process(target=_async_child, args=(emulator_url, queue))
        process.start()
        try:
            kind, value = cast("tuple[str, object]", queue.get(timeout=60))
        finally:
            process.join(30)
        assert (kind, value) == ("ok", "completed")
        assert process.exitcode == 0
        # The child freed its copy of the queue without touching the parent's loop.
        assert loop.run_until_complete(_run_and_wait(emulator_url)) == "completed"
    finally:
        loop.close()
