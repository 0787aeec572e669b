"""10,000 waits with a 1 s timeout at once from Python and from Go, with targets.

    python bench/waits/run.py [--waits N] [--clients python,aiohttp,gobinding,gonethttp]

Run by `make bench` (bench/run.sh) with the virtualenv's Python, after bench/queue (the same
from C). Starts target/release/altogic-emulator on a free loopback port with the app of
bindings/python/bench/bench_many_waits.py (task ``long`` lasts a minute, one worker, so the
executions stay pending), runs ``long`` N times, then for each client starts a fresh process
that waits for all N executions at once, each wait with a 1 s timeout:

- python: ``AsyncClient.task.wait(task_id, timeout=1)`` on one event loop (the waiter of
  bench_many_waits.py, in a child of this script that also counts the threads by name);
- aiohttp: the library's wait written with aiohttp (bench_many_waits.py), as information;
- gobinding: a goroutine per wait, ``client.Wait`` with a 1 s deadline (``gobench waits
  binding``, bench/go/waits.go);
- gonethttp: the same with net/http polling as the library does (``gobench waits nethttp``),
  as information.

Each child reports the wall time from the first wait to the last one ending, the OS threads
(before the first call and at most during the waits), the threads named ``altogic-runtime``
at most (the library's, from /proc/self/task/*/comm), and its resident memory (peak: VmHWM).

Targets, for the library's clients (python, gobinding), printed with PASS or MISS: all
results within 3 s (the timeout is 1 s); at most 4 library threads; peak resident memory
under 128 MiB. Library threads: for Python the process's thread count at most less the one
before the first call (as bench_many_waits.py counts); for Go the threads named
altogic-runtime, as Go's own scheduler starts threads of its own that are not the library's.
All traffic is to 127.0.0.1; every child has a time limit.
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
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GOBENCH = ROOT / "target" / "bench" / "bin" / "gobench"
sys.path.insert(0, str(ROOT / "bindings" / "python" / "bench"))

import bench_many_waits as many  # noqa: E402  (bindings/python/bench, with its _emulator)

WALL_LIMIT_S = 3.0
LIBRARY_THREADS = 4
PEAK_RSS_MIB = 128


def runtime_threads() -> int:
    """The threads of this process named altogic-runtime."""
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                count += comm.read().strip() == "altogic-runtime"
        except OSError:
            pass
    return count


async def child_main(name: str, url: str, ids: List[str]) -> Dict[str, Any]:
    threads_at_start = many._status("Threads")
    rss_at_start = many._status("VmRSS")
    wait, close = many.WAITERS[name](url)
    figures = {"max_threads": threads_at_start, "max_runtime_threads": 0}
    loop = asyncio.get_running_loop()

    def sample() -> None:
        figures["max_threads"] = max(figures["max_threads"], many._status("Threads"))
        figures["max_runtime_threads"] = max(figures["max_runtime_threads"], runtime_threads())

    def tick() -> None:
        sample()
        handle[0] = loop.call_later(0.01, tick)

    handle = [loop.call_later(0.01, tick)]
    started = time.monotonic()
    outcomes = await asyncio.gather(*(wait(task_id) for task_id in ids), return_exceptions=True)
    wall = time.monotonic() - started
    handle[0].cancel()
    sample()
    await close()
    errors = [o for o in outcomes if o is not True]
    return {
        "client": name,
        "waits": len(ids),
        "unexpected": len(errors),
        "first": repr(errors[0]) if errors else None,
        "wall": wall,
        "threads_at_start": threads_at_start,
        **figures,
        "start_rss_mib": rss_at_start / 1024,
        "rss_mib": many._status("VmRSS") / 1024,
        "peak_rss_mib": many._status("VmHWM") / 1024,
    }


def run_child(command: List[str], timeout: float) -> Dict[str, Any]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"failed": f"did not end within {timeout:g} s (stopped)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"failed": f"exit {done.returncode}: {done.stderr[-1500:]}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=10_000)
    parser.add_argument("--clients", default="python,aiohttp,gobinding,gonethttp")
    parser.add_argument("--child-timeout", type=float, default=60)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        ids = Path(args.ids).read_text().split()
        print(json.dumps(asyncio.run(child_main(args.child, args.url, ids))))
        return

    library = {"python": "Python AsyncClient", "gobinding": "Go binding"}
    labels = {**library, "aiohttp": "Python aiohttp", "gonethttp": "Go net/http"}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "many.toml"
        config.write_text(many.CONFIG)
        emulator, url = many.start_emulator("--config", str(config), "--workers", "1")
        try:
            started = time.monotonic()
            ids = asyncio.run(many.make_executions(url, args.waits))
            ids_file = Path(tmp) / "ids"
            ids_file.write_text("\n".join(ids))
            print(
                f"{args.waits:,} waits with a {many.TIMEOUT:g} s timeout at once on {url} "
                f"({len(ids):,} executions made in {time.monotonic() - started:.1f} s); "
                f"load average {open('/proc/loadavg').read().split()[0]}"
            )
            print(
                f"{'client':<20} {'wall':>7} {'threads (start -> max)':>23} {'altogic-runtime':>16} "
                f"{'RSS start':>10} {'RSS end':>9} {'peak RSS':>9}  unexpected"
            )
            results: Dict[str, Dict[str, Any]] = {}
            for name in args.clients.split(","):
                if name in ("python", "aiohttp"):
                    if name == "aiohttp":
                        try:
                            __import__("aiohttp")
                        except ImportError:
                            print(f"{labels[name]:<20} skipped: not installed (pip install aiohttp)")
                            continue
                    command = [sys.executable, __file__, "--child", "altogic" if name == "python" else name,
                               "--url", url, "--ids", str(ids_file)]
                else:
                    command = [str(GOBENCH), "waits", name[2:], url, str(ids_file)]
                figures = run_child(command, args.child_timeout)
                results[name] = figures
                if "failed" in figures:
                    print(f"{labels[name]:<20} failed: {figures['failed']}")
                    continue
                threads = f"{figures['threads_at_start']} -> {figures['max_threads']}"
                print(
                    f"{labels[name]:<20} {figures['wall']:>6.2f}s {threads:>23} {figures['max_runtime_threads']:>16} "
                    f"{figures['start_rss_mib']:>7.1f}MiB {figures['rss_mib']:>6.1f}MiB {figures['peak_rss_mib']:>6.1f}MiB"
                    f"  {figures['unexpected']}" + (f" (first: {figures['first']})" if figures.get("first") else "")
                )
        finally:
            emulator.terminate()
            emulator.wait(10)

    failed = False
    for name, label in library.items():
        figures = results.get(name)
        if figures is None:
            continue
        if "failed" in figures:
            print(f"target: {label}: MISS (no figures)")
            failed = True
            continue
        if name == "python":
            threads = figures["max_threads"] - figures["threads_at_start"]
            how = "threads at most less those before the first call"
        else:
            threads = figures["max_runtime_threads"]
            how = "threads named altogic-runtime"
        verdict = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
        print(
            f"target: {label}: {figures['waits']:,} waits within {WALL_LIMIT_S:g} s: "
            f"{figures['wall']:.2f} s {verdict(figures['wall'] <= WALL_LIMIT_S and not figures['unexpected'])}"
        )
        print(f"target: {label}: at most {LIBRARY_THREADS} library threads ({how}): {threads} {verdict(threads <= LIBRARY_THREADS)}")
        print(
            f"target: {label}: peak resident memory under {PEAK_RSS_MIB} MiB: {figures['peak_rss_mib']:.1f} MiB "
            f"{verdict(figures['peak_rss_mib'] < PEAK_RSS_MIB)}"
        )
        failed |= bool(figures["unexpected"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
