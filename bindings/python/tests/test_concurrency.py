"""Threads sharing a client, close() racing calls, fork, and memory over many calls."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, cast

import pytest

import altogic
from altogic import TaskStatus

from .conftest import CLIENT_KEY


def test_threads_sharing_a_client_run_concurrently(client: altogic.Client) -> None:
    # Four waits of ~200 ms each; one after the other they would take at least 800 ms.
    ids = [client.task.run_once("billOnDemand").task_id for _ in range(4)]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda task_id: client.task.wait(task_id, timeout=30), ids))
    assert all(info.status is TaskStatus.COMPLETED for info in results)
    # Also from threads: a slow wait does not hold up other calls (the GIL is released).
    slow = client.task.run_once("slowReport").task_id
    with ThreadPoolExecutor(2) as pool:
        waiting = pool.submit(client.task.wait, slow, 2.0)
        time.sleep(0.1)
        quick_started = time.monotonic()
        for _ in range(20):
            client.task.get_status(slow)
        quick = time.monotonic() - quick_started
        with pytest.raises(altogic.Timeout):
            waiting.result(timeout=30)
    assert quick < 1.5
    assert time.monotonic() - started < 30


def test_many_threads_many_calls(client: altogic.Client) -> None:
    errors: List[BaseException] = []

    def work() -> None:
        try:
            info = client.task.run_once("billOnDemand")
            for _ in range(50):
                assert client.task.get_status(info.task_id) is not None
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors


def test_close_waits_for_calls_in_flight(emulator_url: str) -> None:
    client = altogic.Client(emulator_url, CLIENT_KEY)
    task_id = client.task.run_once("billOnDemand").task_id
    outcome: List[object] = []
    thread = threading.Thread(target=lambda: outcome.append(client.task.wait(task_id, timeout=30)))
    thread.start()
    time.sleep(0.05)
    client.close()  # the wait is in flight: the library's client stays alive until it returns
    assert client._core._finalizer.alive
    with pytest.raises(altogic.ClosedError):
        client.task.get_status(task_id)
    thread.join(30)
    assert isinstance(outcome[0], altogic.TaskInfo) and outcome[0].status is TaskStatus.COMPLETED
    assert not client._core._finalizer.alive


def test_close_racing_calls(emulator_url: str) -> None:
    for _ in range(5):
        client = altogic.Client(emulator_url, CLIENT_KEY)
        task_id = client.task.run_once("billOnDemand").task_id
        stop = threading.Event()
        unexpected: List[BaseException] = []
        counts = {"ok": 0, "closed": 0}
        lock = threading.Lock()

        def work() -> None:
            while not stop.is_set():
                try:
                    client.task.get_status(task_id)
                    outcome = "ok"
                except altogic.ClosedError:
                    outcome = "closed"
                except BaseException as err:  # noqa: BLE001 - reported below
                    unexpected.append(err)
                    return
                with lock:
                    counts[outcome] += 1
                if outcome == "closed":
                    return

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # let calls get going before closing
            with lock:
                if counts["ok"] >= 2 * len(threads):
                    break
            time.sleep(0.01)
        client.close()
        for thread in threads:
            thread.join(30)
        stop.set()
        assert not unexpected
        assert counts["ok"] > 0 and counts["closed"] == len(threads)
        assert not client._core._finalizer.alive


def _child_run(client: altogic.Client, queue: "multiprocessing.Queue[object]") -> None:
    try:
        info = client.task.run_once("billOnDemand")
        done = client.task.wait(info.task_id, timeout=30)
        queue.put(("ok", done))
    except BaseException as err:  # noqa: BLE001 - sent to the parent
        queue.put(("error", repr(err)))


# Python 3.12+ warns on any fork of a process with threads; the library supports it.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_client_works_in_a_forked_child(client: altogic.Client) -> None:
    client.task.run_once("billOnDemand")  # the parent has used its runtime and pool
    context = multiprocessing.get_context("fork")
    queue: "multiprocessing.Queue[object]" = context.Queue()
    process = context.Process(target=_child_run, args=(client, queue))
    process.start()
    try:
        kind, value = cast("tuple[str, object]", queue.get(timeout=60))
    finally:
        process.join(30)
    assert kind == "ok", value
    assert isinstance(value, altogic.TaskInfo) and value.status is TaskStatus.COMPLETED
    assert process.exitcode == 0
    # And the parent's client still works.
    assert client.task.run_once("billOnDemand").status is TaskStatus.PENDING


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def test_memory_stays_flat_over_10000_calls(client: altogic.Client) -> None:
    task_id = client.task.run_once("billOnDemand").task_id
    client.task.wait(task_id, timeout=30)
    other: Optional[altogic.TaskInfo] = None
    for _ in range(2000):  # warm up: pools, caches, allocator arenas
        other = client.task.get_status(task_id)
    before = _rss_kib()
    for index in range(10_000):
        if index % 10 == 0:
            try:
                client.task.get_status("a\0b")
            except altogic.InvalidArgument:
                pass
            try:
                client.task.run_once("noSuchTask")
            except altogic.APIError:
                pass
        other = client.task.get_status(task_id)
    after = _rss_kib()
    assert other is not None and other.done
    # A leak of one result string per call would be over 3 MiB here.
    assert after - before < 1536, f"RSS grew by {after - before} KiB over 10,000 calls"
