"""10,000 waits with a 1 s timeout in flight at once: AsyncClient vs aiohttp vs httpx.

    python bench/bench_many_waits.py [--url URL] [--waits N] [--clients altogic,aiohttp,httpx]

Without --url it starts target/release/altogic-emulator on a free loopback port with an app
whose task ``long`` lasts a minute and one worker (so the executions stay pending), and
stops it at the end. It runs ``long`` N times, then, for each client, starts a fresh Python
process that waits for all N executions at once, each wait with a 1 s timeout, on one
event loop, and prints: the wall time from the first wait to the last one ending, the OS
threads of the process (at the start, and at most while the waits ran), its resident
memory at the end and its peak.

- altogic: ``AsyncClient.task.wait(task_id, timeout=1)``, ``Timeout`` expected.
- aiohttp and httpx (``pip install aiohttp httpx``; a client missing is skipped): the wait
  the library does, written with them: GET the status, pause 50 ms doubling up to 1 s,
  until the execution ends or 1 s passed, with at most 64 connections to the host, as the
  library (``ALTOGIC_MAX_CONNECTIONS_PER_HOST``).

The targets: each ends within 3 s, the library adds at most 4 threads, RSS under 128 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

from _emulator import start_emulator  # beside this file

CLIENT_KEY = "many-client-key"
CONFIG = """
[[client_keys]]
key = "many-client-key"

[[tasks]]
name = "long"
service = { type = "simulated", duration = "60s" }
"""
TIMEOUT = 1.0
CONNECTIONS = 64


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


async def make_executions(url: str, count: int) -> List[str]:
    import altogic

    async with altogic.AsyncClient(url, CLIENT_KEY) as client:
        infos = await asyncio.gather(*(client.task.run_once("long") for _ in range(count)))
    return [info.task_id for info in infos]


# The children: one client each, in a process of its own.


def altogic_waiter(url: str) -> "tuple[Callable[[str], Awaitable[bool]], Callable[[], Awaitable[None]]]":
    import altogic

    client = altogic.AsyncClient(url, CLIENT_KEY)

    async def wait(task_id: str) -> bool:
        try:
            await client.task.wait(task_id, timeout=TIMEOUT)
        except altogic.Timeout:
            return True
        return False

    async def close() -> None:
        await client.aclose()

    return wait, close


def polling_wait(get_status: Callable[[str, float], Awaitable[str]]) -> Callable[[str], Awaitable[bool]]:
    """The library's wait written in Python: True when it ended by its timeout."""

    async def wait(task_id: str) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        pause = 0.05
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return True
            try:
                status = await asyncio.wait_for(get_status(task_id, left), left)
            except asyncio.TimeoutError:
                return True
            if status in ("completed", "errors"):
                return False
            left = deadline - loop.time()
            if left <= 0:
                return True
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 1.0)

    return wait


def aiohttp_waiter(url: str) -> "tuple[Callable[[str], Awaitable[bool]], Callable[[], Awaitable[None]]]":
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS), headers={"X-Client-Key": CLIENT_KEY}
    )

    async def get_status(task_id: str, left: float) -> str:
        async with session.get(f"{url}/_api/rest/v1/task/{task_id}") as response:
            response.raise_for_status()
            info: Dict[str, Any] = await response.json()
            return str(info["status"])

    return polling_wait(get_status), session.close


def httpx_waiter(url: str) -> "tuple[Callable[[str], Awaitable[bool]], Callable[[], Awaitable[None]]]":
    import httpx

    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    client = httpx.AsyncClient(limits=limits, headers={"X-Client-Key": CLIENT_KEY}, timeout=30)

    async def get_status(task_id: str, left: float) -> str:
        response = await client.get(f"{url}/_api/rest/v1/task/{task_id}")
        response.raise_for_status()
        return str(response.json()["status"])

    return polling_wait(get_status), client.aclose


WAITERS = {"altogic": altogic_waiter, "aiohttp": aiohttp_waiter, "httpx": httpx_waiter}


async def child_main(name: str, url: str, ids: List[str]) -> Dict[str, Any]:
    threads_at_start = _status("Threads")
    wait, close = WAITERS[name](url)
    max_threads = threads_at_start
    loop = asyncio.get_running_loop()

    def sample() -> None:
        nonlocal max_threads
        max_threads = max(max_threads, _status("Threads"))
        handle[0] = loop.call_later(0.01, sample)

    handle = [loop.call_later(0.01, sample)]
    started = time.monotonic()
    outcomes = await asyncio.gather(*(wait(task_id) for task_id in ids), return_exceptions=True)
    wall = time.monotonic() - started
    handle[0].cancel()
    max_threads = max(max_threads, _status("Threads"))
    await close()
    errors = [o for o in outcomes if o is not True]
    return {
        "client": name,
        "waits": len(ids),
        "unexpected": len(errors),
        "first": repr(errors[0]) if errors else None,
        "wall": wall,
        "threads_at_start": threads_at_start,
        "max_threads": max_threads,
        "rss_mib": _status("VmRSS") / 1024,
        "peak_rss_mib": _status("VmHWM") / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an emulator serving the app above (default: start one)")
    parser.add_argument("--waits", type=int, default=10_000)
    parser.add_argument("--clients", default="altogic,aiohttp,httpx")
    parser.add_argument("--child-timeout", type=float, default=60, help="seconds a client may take")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        ids = Path(args.ids).read_text().split()
        print(json.dumps(asyncio.run(child_main(args.child, args.url, ids))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        emulator = None
        url = args.url
        if url is None:
            config = Path(tmp) / "many.toml"
            config.write_text(CONFIG)
            emulator, url = start_emulator("--config", str(config), "--workers", "1")
        try:
            ids = asyncio.run(make_executions(url, args.waits))
            ids_file = Path(tmp) / "ids"
            ids_file.write_text("\n".join(ids))
            print(f"{args.waits} waits with a {TIMEOUT:g} s timeout at once, one event loop, on {url}")
            print(f"{'client':<10} {'wall':>7} {'threads':>15} {'RSS':>10} {'peak RSS':>10}  unexpected")
            for name in args.clients.split(","):
                if name != "altogic":
                    try:
                        __import__(name)
                    except ImportError:
                        print(f"{name:<10} skipped: not installed (pip install {name})")
                        continue
                try:
                    result = subprocess.run(
                        [sys.executable, __file__, "--child", name, "--url", url, "--ids", str(ids_file)],
                        capture_output=True,
                        text=True,
                        env=dict(os.environ, PYTHONUNBUFFERED="1"),
                        timeout=args.child_timeout,
                    )
                except subprocess.TimeoutExpired:
                    print(f"{name:<10} did not end within {args.child_timeout:g} s (stopped)")
                    continue
                if result.returncode != 0:
                    print(f"{name:<10} failed:\n{result.stderr}")
                    continue
                figures = json.loads(result.stdout.strip().splitlines()[-1])
                threads = f"{figures['threads_at_start']} -> {figures['max_threads']}"
                print(
                    f"{name:<10} {figures['wall']:>6.2f}s {threads:>15} {figures['rss_mib']:>7.1f}MiB"
                    f" {figures['peak_rss_mib']:>7.1f}MiB  {figures['unexpected']}"
                    + (f" (first: {figures['first']})" if figures["first"] else "")
                )
        finally:
            if emulator is not None:
                emulator.terminate()
                emulator.wait(10)


if __name__ == "__main__":
    main()
