"""Sequential runOnce calls per second: this package vs requests.Session vs http.client.

    python bench/bench_run_once.py [--url URL] [--calls N] [--rounds R] [--raw] [--handoff]

Without --url it starts target/release/altogic-emulator on a free loopback port (and
stops it at the end). Every client makes the same call, ``POST /_api/rest/v1/task`` with
the headers X-Client, X-Client-Key and Content-Type: application/json and the body
``{"taskNameOrId": "billOnDemand"}``, over one kept-alive connection, and parses the JSON
answer. Rounds are interleaved (altogic, requests, http.client, then again) so that a
slower moment of the machine hits all three alike; the median round of each is reported.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from typing import Any, Callable, Dict, List
from urllib.parse import urlsplit

import altogic
from _emulator import start_emulator  # beside this file

CLIENT_KEY = "demo-client-key"
TASK = "billOnDemand"
BODY = json.dumps({"taskNameOrId": TASK}).encode()
HEADERS = {"X-Client": "altogic-c", "X-Client-Key": CLIENT_KEY, "Content-Type": "application/json"}


def altogic_loop(url: str) -> Callable[[int], None]:
    client = altogic.Client(url, CLIENT_KEY)

    def run(calls: int) -> None:
        run_once = client.task.run_once
        for _ in range(calls):
            run_once(TASK)

    return run


def raw_ctypes_loop(url: str) -> Callable[[int], None]:
    """For profiling only: the bare C call through ctypes, its string freed, not parsed."""
    from altogic import _lib

    client = altogic.Client(url, CLIENT_KEY)
    pointer = client._core.acquire()
    call = _lib.LIB.altogic_task_run_once
    name = TASK.encode()

    def run(calls: int) -> None:
        assert not client.closed  # keeps the client (and so its C client) alive
        for _ in range(calls):
            call(pointer, name).take()

    return run


def handoff_loop(url: str) -> Callable[[int], None]:
    """For comparison: the usual way to make a blocking call interruptible, each call handed
    to one reusable worker thread while the main thread waits in a lock (which Ctrl-C
    interrupts). This package uses a signal wakeup fd instead; this shows why."""
    client = altogic.Client(url, CLIENT_KEY)
    request, done = threading.Lock(), threading.Lock()
    request.acquire()
    done.acquire()

    def worker() -> None:
        while True:
            request.acquire()
            client.task.run_once(TASK)  # not the main thread: a direct call
            done.release()

    threading.Thread(target=worker, daemon=True).start()

    def run(calls: int) -> None:
        for _ in range(calls):
            request.release()
            done.acquire()

    return run


def requests_loop(url: str) -> Callable[[int], None]:
    import requests

    session = requests.Session()
    endpoint = f"{url}/_api/rest/v1/task"

    def run(calls: int) -> None:
        for _ in range(calls):
            answer = session.post(endpoint, data=BODY, headers=HEADERS)
            answer.raise_for_status()
            answer.json()

    return run


def http_client_loop(url: str) -> Callable[[int], None]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def run(calls: int) -> None:
        for _ in range(calls):
            connection.request("POST", "/_api/rest/v1/task", body=BODY, headers=HEADERS)
            answer = connection.getresponse()
            data = answer.read()
            if answer.status != 200:
                raise RuntimeError(f"HTTP {answer.status}: {data!r}")
            json.loads(data)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running emulator (default: start one)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per client per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--handoff", action="store_true", help="also time calls handed to a worker thread, for comparison"
    )
    parser.add_argument(
        "--raw", action="store_true", help="also time the bare C call (no token, no parsing), for profiling"
    )
    options = parser.parse_args()

    process = None
    url = options.url
    if url is None:
        process, url = start_emulator()
    try:
        loops: Dict[str, Callable[[int], None]] = {
            "altogic": altogic_loop(url),
            "requests.Session": requests_loop(url),
            "http.client": http_client_loop(url),
        }
        if options.raw:
            loops["(bare C call)"] = raw_ctypes_loop(url)
        if options.handoff:
            loops["(worker handoff)"] = handoff_loop(url)
        for run in loops.values():  # warm up: connections, imports, caches
            run(200)
        rates: Dict[str, List[float]] = {name: [] for name in loops}
        for round_number in range(options.rounds):
            line: List[str] = []
            for name, run in loops.items():
                started = time.perf_counter()
                run(options.calls)
                rate = options.calls / (time.perf_counter() - started)
                rates[name].append(rate)
                line.append(f"{name} {rate:,.0f}/s")
            print(f"round {round_number + 1}: " + ", ".join(line), flush=True)
        median: Dict[str, Any] = {name: statistics.median(values) for name, values in rates.items()}
        print()
        print(f"sequential runOnce calls per second (median of {options.rounds} rounds of {options.calls}):")
        for name, value in median.items():
            print(f"  {name:<18} {value:>9,.0f}")
        print(f"  altogic / requests.Session: {median['altogic'] / median['requests.Session']:.2f}x (target >= 5x)")
        print(f"  altogic / http.client:      {median['altogic'] / median['http.client']:.2f}x (target >= 1.1x)")
        if options.raw:
            share = 1 - median["altogic"] / median["(bare C call)"]
            print(f"  time spent in Python around the C call: {share:.0%} of an altogic call")
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
