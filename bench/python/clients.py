"""runOnce from Python: this repository's package (`import altogic`), `requests` and
`http.client`, sequentially or from N threads, each call's latency recorded.

    python clients.py altogic|requests|http.client URL SECONDS THREADS...
    (THREADS 0: sequential, on the main thread)

Mirrors bindings/python/bench/bench_run_once.py: every client makes the same call,
POST /_api/rest/v1/task with X-Client, X-Client-Key, Content-Type: application/json and the
body {"taskNameOrId": "billOnDemand"}, over kept-alive connections, and parses the answer.
Threads share one altogic.Client, or one requests.Session (its pool sized for 16); an
http.client.HTTPConnection cannot be shared, so each thread has its own connection.
Prints one JSON object per line, the fields bench/c/bench.c prints (cpu_us_per_call:
resource.getrusage(RUSAGE_SELF) user + system over the measured interval, per call; the
library's own threads are in this process and count too).
"""

from __future__ import annotations

import http.client
import json
import resource
import sys
import threading
import time
from typing import Callable, List
from urllib.parse import urlsplit

CLIENT_KEY = "demo-client-key"
TASK = "billOnDemand"
BODY = json.dumps({"taskNameOrId": TASK}).encode()
HEADERS = {"X-Client": "altogic-c", "X-Client-Key": CLIENT_KEY, "Content-Type": "application/json"}


def altogic_factory(url: str) -> Callable[[], Callable[[], str]]:
    import altogic

    client = altogic.Client(url, CLIENT_KEY)  # one client, shared by every thread

    def make() -> Callable[[], str]:
        run_once = client.task.run_once

        def call() -> str:
            return run_once(TASK).status.value

        return call

    return make


def requests_factory(url: str) -> Callable[[], Callable[[], str]]:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()  # one session, shared by every thread
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=16))
    endpoint = f"{url}/_api/rest/v1/task"

    def make() -> Callable[[], str]:
        def call() -> str:
            answer = session.post(endpoint, data=BODY, headers=HEADERS)
            answer.raise_for_status()
            return str(answer.json()["status"])

        return call

    return make


def http_client_factory(url: str) -> Callable[[], Callable[[], str]]:
    parts = urlsplit(url)

    def make() -> Callable[[], str]:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

        def call() -> str:
            connection.request("POST", "/_api/rest/v1/task", body=BODY, headers=HEADERS)
            answer = connection.getresponse()
            data = answer.read()
            if answer.status != 200:
                raise RuntimeError(f"HTTP {answer.status}: {data!r}")
            return str(json.loads(data)["status"])

        return call

    return make


def process_cpu_s() -> float:
    """User + system CPU time of the whole process (every thread), seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    def __init__(self, call: Callable[[], str]) -> None:
        self.call = call
        self.latency_ns: List[int] = []
        self.errors = 0
        self.first_error = ""

    def loop(self, deadline: int) -> None:
        call, latency, clock = self.call, self.latency_ns, time.perf_counter_ns
        while True:
            t0 = clock()
            if t0 >= deadline:
                return
            try:
                status = call()
                problem = "" if status == "pending" else f"status {status!r}"
            except Exception as error:  # noqa: BLE001 - counted and reported
                problem = f"{type(error).__name__}: {error}"
            latency.append(clock() - t0)
            if problem:
                if self.errors == 0:
                    self.first_error = problem
                self.errors += 1


def run_cell(make: Callable[[], Callable[[], str]], calls: List[Callable[[], str]], threads: int, seconds: float) -> dict:
    while len(calls) < max(threads, 1):  # one call function per thread, kept across cells
        calls.append(make())
    workers = [Worker(calls[i]) for i in range(max(threads, 1))]
    span = int(seconds * 1e9)
    if threads == 0:
        cpu0 = process_cpu_s()
        start = time.perf_counter_ns()
        workers[0].loop(start + span)
    else:
        gate = threading.Event()
        box: List[int] = []
        pool = [
            threading.Thread(target=lambda w=w: (gate.wait(), w.loop(box[0])), daemon=True) for w in workers
        ]
        for t in pool:
            t.start()
        cpu0 = process_cpu_s()
        start = time.perf_counter_ns()
        box.append(start + span)
        gate.set()
        for t in pool:
            t.join()
    elapsed = (time.perf_counter_ns() - start) / 1e9
    cpu_s = process_cpu_s() - cpu0
    latency = sorted(x for w in workers for x in w.latency_ns)

    def pct(p: float) -> float:
        return latency[round(p / 100 * (len(latency) - 1))] / 1000 if latency else 0.0

    first_error = next((w.first_error for w in workers if w.errors), "")
    return {
        "threads": threads,
        "calls": len(latency),
        "seconds": elapsed,
        "p50_us": pct(50),
        "p99_us": pct(99),
        "cpu_us_per_call": cpu_s * 1e6 / len(latency) if latency else 0.0,
        "errors": sum(w.errors for w in workers),
        "first_error": first_error,
    }


def main() -> None:
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    kind, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    factories = {"altogic": altogic_factory, "requests": requests_factory, "http.client": http_client_factory}
    make = factories[kind](url)
    calls: List[Callable[[], str]] = []
    for arg in sys.argv[4:]:
        threads = int(arg)
        run_cell(make, calls, threads, 0.2)
        print(json.dumps(run_cell(make, calls, threads, seconds)), flush=True)


if __name__ == "__main__":
    main()
