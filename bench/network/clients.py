"""The "real network" shapes of bench/network from Python: this repository's binding (the sync
``altogic.Client``) or one ``requests.Session``, each call's latency recorded.

    python clients.py pool altogic|requests URL THREADS ROUNDS CA_FILE
        THREADS threads taking turns: in each round each makes one call, one after another
    python clients.py poller altogic|requests URL CALLS INTERVAL_S CA_FILE
        the main thread, one call every INTERVAL_S seconds

The binding trusts the CA through SSL_CERT_FILE (set by network.py), as a user would;
requests (which reads certifi's bundle, not SSL_CERT_FILE) is given CA_FILE as ``verify``.
Prints {"latency_us": [...], "errors": N, "first_error": "..."}.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Callable, List

CLIENT_KEY = "demo-client-key"
TASK = "billOnDemand"
BODY = json.dumps({"taskNameOrId": TASK}).encode()
HEADERS = {"X-Client": "altogic-python-requests", "X-Client-Key": CLIENT_KEY, "Content-Type": "application/json"}


def altogic_call(url: str, ca_file: str) -> Callable[[], str]:
    import altogic

    client = altogic.Client(url, CLIENT_KEY)  # one client, shared by every thread
    run_once = client.task.run_once
    return lambda: run_once(TASK).status.value


def requests_call(url: str, ca_file: str) -> Callable[[], str]:
    import requests

    session = requests.Session()  # one session, shared by every thread
    session.verify = ca_file
    endpoint = f"{url}/_api/rest/v1/task"

    def call() -> str:
        # verify here, not only on the session: with verify unset on the call, requests lets
        # REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE from the environment override session.verify.
        answer = session.post(endpoint, data=BODY, headers=HEADERS, timeout=30, verify=ca_file)
        answer.raise_for_status()
        return str(answer.json()["status"])

    return call


class Record:
    def __init__(self, call: Callable[[], str]) -> None:
        self.call = call
        self.latency_us: List[float] = []
        self.errors = 0
        self.first_error = ""

    def one(self) -> None:  # never concurrent: turns, or one thread
        t0 = time.perf_counter_ns()
        try:
            status = self.call()
            problem = "" if status == "pending" else f"status {status!r}"
        except Exception as error:  # noqa: BLE001 - counted and reported
            problem = f"{type(error).__name__}: {error}"
        self.latency_us.append((time.perf_counter_ns() - t0) / 1000)
        if problem:
            if self.errors == 0:
                self.first_error = problem
            self.errors += 1


def pool(record: Record, threads: int, rounds: int) -> None:
    turns = threads * rounds
    state = {"turn": 0}
    changed = threading.Condition()

    def worker(me: int) -> None:
        while True:
            with changed:
                changed.wait_for(lambda: state["turn"] >= turns or state["turn"] % threads == me)
                if state["turn"] >= turns:
                    return
            record.one()
            with changed:
                state["turn"] += 1
                changed.notify_all()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)


def poller(record: Record, calls: int, interval: float) -> None:
    start = time.monotonic()
    for i in range(calls):
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        record.one()


def main() -> None:
    if len(sys.argv) != 7 or sys.argv[1] not in ("pool", "poller") or sys.argv[2] not in ("altogic", "requests"):
        sys.exit(__doc__)
    shape, kind, url, count, param, ca_file = sys.argv[1:]
    record = Record((altogic_call if kind == "altogic" else requests_call)(url, ca_file))
    if shape == "pool":
        pool(record, int(count), int(param))
    else:
        poller(record, int(count), float(param))
    print(json.dumps({"latency_us": record.latency_us, "errors": record.errors, "first_error": record.first_error}))


if __name__ == "__main__":
    main()
