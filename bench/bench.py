"""The benchmark run behind `make bench` (bench/run.sh builds and installs, then runs this).

Starts nginx (its own config under target/bench, on a free 127.0.0.1 port) answering runOnce
with a fixed TaskInfo, then measures every row of the table in interleaved rounds (round 1:
every row once, round 2: every row again, ...), takes the median of the rounds, computes the
ratios within each round (median of the per-round ratios), then measures the emulator.

The targets (issue #29: users call the cloud tens of ms away over TLS, so loopback calls per
second are information, never a target) are on CPU per call, which each client measures
itself (getrusage(RUSAGE_SELF) user + system over the measured interval, divided by the calls
made: the library's own runtime threads are in the process and count; nginx's CPU does not),
and on memory and the cost of clients. Calls per second and their ratios are printed as
information. Prints the tables and the targets, and writes bench/results.md and
bench/results.png (plus the raw figures in target/bench/results.json).

Environment: BENCH_SECONDS (per cell, default 1.0), BENCH_ROUNDS (3), BENCH_THREADS
("0,1,2,4,8"; 0 is sequential; wrk runs whole seconds, at least 1), BENCH_MILLION (executions for the emulator's memory,
1000000), BENCH_RSS_CALLS is fixed by the C program (10,000 and 100,000).
Everything listens on and connects to 127.0.0.1 only; every child has a time limit.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = ROOT / "target" / "bench"
BIN = WORK / "bin"
VENV_PY = WORK / "venv" / "bin" / "python"
EMULATOR = ROOT / "target" / "release" / "altogic-emulator"

SECONDS = float(os.environ.get("BENCH_SECONDS", "1.0"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = [int(x) for x in os.environ.get("BENCH_THREADS", "0,1,2,4,8").split(",")]
MILLION = int(os.environ.get("BENCH_MILLION", "1000000"))
CREATE_FREE_PAIRS = 100_000
CLIENTS_ALIVE = 1_000

children: List[subprocess.Popen] = []


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop_children() -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
    for child in reversed(children):
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
    children.clear()


def on_signal(number: int, _frame: Any) -> None:
    stop_children()
    sys.exit(128 + number)


# ---------------------------------------------------------------- servers


def start_nginx() -> Tuple[str, subprocess.Popen]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    folder = WORK / "nginx"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    port = free_port()
    conf = (HERE / "nginx.conf.in").read_text().replace("@PORT@", str(port)).replace("@DIR@", str(folder))
    conf = conf.replace("daemon on;", "daemon off;")  # a child of this process, stopped with it
    (folder / "nginx.conf").write_text(conf)
    process = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
        stdin=subprocess.DEVNULL,
    )
    children.append(process)
    wait_port(port)
    return f"http://127.0.0.1:{port}", process


def start_emulator(*extra: str) -> Tuple[str, subprocess.Popen]:
    process = subprocess.Popen(
        [str(EMULATOR), "--listen", "127.0.0.1:0", "--config", str(HERE / "emulator.toml"), *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # one line per request: not wanted here
        text=True,
    )
    children.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("altogic-emulator listening on "):
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return line.split()[-1], process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process in children:
        children.remove(process)


def vm(pid: int, key: str) -> int:
    """VmRSS or VmHWM of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def http_json(method: str, url: str, body: Optional[bytes] = None) -> Any:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("X-Client-Key", "demo-client-key")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


# ---------------------------------------------------------------- runners


def run_json_lines(command: List[str], timeout: float, env: Optional[Dict[str, str]] = None) -> List[dict]:
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        log(f"  ! timed out after {timeout:.0f} s: {' '.join(command)}")
        return []
    if done.returncode != 0:
        log(f"  ! exit {done.returncode}: {' '.join(command)}\n{done.stderr[-2000:]}")
    cells = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("WRKJSON "):
            line = line[len("WRKJSON ") :]
        if line.startswith("{"):
            cells.append(json.loads(line))
    for cell in cells:
        if cell.get("errors"):
            log(f"  ! {cell['errors']} errors in {' '.join(command[:2])}: {cell.get('first_error', '')[:300]}")
    if time.monotonic() - started > timeout * 0.9:
        log(f"  ! slow: {' '.join(command)}")
    return cells


def wrk(url: str, script: str, connections: int, seconds: float, env_extra: Optional[Dict[str, str]] = None) -> dict:
    env = dict(os.environ, BENCH_WRK_DIR=str(HERE / "wrk"), **(env_extra or {}))
    threads = min(connections, 2)
    whole = max(1, math.ceil(seconds - 1e-9))  # wrk takes whole seconds only
    cells = run_json_lines(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{whole}s", "-s", str(HERE / "wrk" / script), url],
        timeout=whole + 30,
        env=env,
    )
    return cells[0] if cells else {}


Row = Dict[str, Any]


def client_rows(url: str) -> List[Row]:
    """Every row measured against nginx: key, label, group, and a function of the thread list."""
    threads = [str(t) for t in THREADS]
    secs = str(SECONDS)
    budget = (SECONDS + 0.5) * len(THREADS) + 60
    py = str(VENV_PY)
    clients_py = str(HERE / "python" / "clients.py")

    def command_row(key: str, label: str, group: str, command: List[str], seq_only: bool = False) -> Row:
        def run() -> List[dict]:
            return run_json_lines(command + ([] if seq_only else threads), budget)

        return {"key": key, "label": label, "group": group, "run": run}

    def wrk_row() -> Row:
        def run() -> List[dict]:
            cells = []
            for t in THREADS:
                if t == 1:
                    continue  # wrk -c1 is the sequential column
                cell = wrk(url, "runonce.lua", max(t, 1), SECONDS)
                if cell:
                    cell["threads"] = t
                    cells.append(cell)
            return cells

        return {"key": "wrk", "label": "wrk (N connections)", "group": "limit", "run": run}

    return [
        wrk_row(),
        command_row("c", "libaltogic from C", "this library", [str(BIN / "c-bench"), "run", url, secs]),
        command_row("cpp", "libaltogic from C++ (altogic.hpp)", "this library", [str(BIN / "cpp-bench"), url, secs]),
        command_row("py", "Python binding (import altogic)", "this library", [py, clients_py, "altogic", url, secs]),
        command_row("go", "Go binding", "this library", [str(BIN / "gobench"), "binding", url, secs]),
        command_row(
            "js",
            "official JavaScript client (altogic 2.3.9)",
            "instead",
            ["node", str(HERE / "js" / "bench.mjs"), url, secs],
            seq_only=True,
        ),
        command_row("reqwest", "Rust reqwest::blocking loop", "instead", [str(BIN / "reqwest-bench"), url, secs]),
        command_row("requests", "Python requests.Session", "instead", [py, clients_py, "requests", url, secs]),
        command_row("httpclient", "Python http.client", "instead", [py, clients_py, "http.client", url, secs]),
        command_row("nethttp", "Go net/http", "instead", [str(BIN / "gobench"), "nethttp", url, secs]),
    ]


def rate(cell: dict) -> float:
    return cell["calls"] / cell["seconds"] if cell and cell.get("seconds") else 0.0


def cpu(cell: dict) -> float:
    """CPU per call of a cell, µs (user + system of the client process); 0 when not measured."""
    return float(cell.get("cpu_us_per_call") or 0.0) if cell and cell.get("calls") else 0.0


# ---------------------------------------------------------------- report


def machine() -> Dict[str, str]:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])

    def version(command: List[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10)
            out = (done.stdout + done.stderr).strip().splitlines()
            return out[0] if out else "?"
        except OSError:
            return "?"

    return {
        "load_start": Path("/proc/loadavg").read_text().split()[0],
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kib / 2**20:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "nginx": version(["nginx", "-v"]).replace("nginx version: nginx/", ""),
        "wrk": version(["wrk", "--version"]).split(" [")[0],
        "rustc": version(["rustc", "--version"]),
        "go": (version(["go", "version"]).split() + ["?"] * 3)[2],
        "node": version(["node", "--version"]),
        "python": platform.python_version(),
    }


def fmt_rate(value: Optional[float]) -> str:
    return "—" if not value else f"{value:,.0f}"


def fmt_cpu(value: Optional[float]) -> str:
    return "—" if not value else f"{value:.1f}"


def fmt_us(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")


def column_name(t: int, key: str = "") -> str:
    if key == "wrk":
        return {0: "-c1"}.get(t, f"-c{t}")
    return "seq" if t == 0 else str(t)


def main() -> None:
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    began = time.monotonic()
    info = machine()
    log(f"altogic benchmark: {info['date']}, {info['cpu']}, {info['cores']} cores, {info['os']}")
    log(f"{ROUNDS} rounds, {SECONDS} s per cell, threads {THREADS} (0: sequential)")

    results: Dict[str, Any] = {"machine": info, "seconds": SECONDS, "rounds": ROUNDS, "threads": THREADS}
    try:
        url, nginx = start_nginx()
        log(f"nginx (fixed TaskInfo) on {url}")
        rows = client_rows(url)
        # per row key -> per round -> {threads: cell}
        cells: Dict[str, List[Dict[int, dict]]] = {row["key"]: [] for row in rows}
        create_free: List[float] = []
        clients_alive: List[dict] = []
        for round_number in range(ROUNDS):
            # rotate the order each round, so that no row always runs first or last
            order = rows[round_number % len(rows) :] + rows[: round_number % len(rows)]
            log(f"round {round_number + 1}/{ROUNDS}")
            for row in order:
                started = time.monotonic()
                got = {cell["threads"]: cell for cell in row["run"]()}
                cells[row["key"]].append(got)
                summary = ", ".join(
                    f"{column_name(t, row['key'])} {rate(c):,.0f}/s" + (f" {cpu(c):.1f} µs CPU" if cpu(c) else "")
                    for t, c in sorted(got.items())
                )
                log(f"  {row['label']:<44} {summary}  ({time.monotonic() - started:.1f} s)")
            got_cf = run_json_lines([str(BIN / "c-bench"), "createfree", str(CREATE_FREE_PAIRS)], 60)
            if got_cf:
                create_free.append(got_cf[0]["ns_per_pair"])
                log(f"  C client create + free: {got_cf[0]['ns_per_pair'] / 1000:.2f} µs per pair")
            got_alive = run_json_lines([str(BIN / "c-bench"), "clients", url, str(CLIENTS_ALIVE)], 60)
            if got_alive:
                clients_alive.append(got_alive[0])
                log(
                    f"  C {CLIENTS_ALIVE:,} clients alive: VmRSS {got_alive[0]['rss_kib_before']:,} KiB -> "
                    f"{got_alive[0]['rss_kib_after']:,} KiB, {got_alive[0]['kib_per_client']:.2f} KiB per client"
                )

        log("C resident memory after 10,000 and 100,000 sequential calls ...")
        rss = run_json_lines([str(BIN / "c-bench"), "rss", url], 300)
        rss_cell = rss[0] if rss else {}
        if rss_cell:
            log(f"  VmRSS {rss_cell['rss_kib_10k']:,} KiB -> {rss_cell['rss_kib_100k']:,} KiB")
        log("C CPU per sequential call: no log callback, one at error level, one at debug level ...")
        logging_rounds = run_json_lines([str(BIN / "c-bench"), "log", url, str(max(SECONDS, 0.5))], 120)
        logging_cell = logging_summary(logging_rounds)
        if logging_cell:
            log(
                "  "
                + ", ".join(f"{name} {logging_cell[name]:.1f} µs" for name in ("none", "error", "debug"))
                + f" (error/none {logging_cell['error_ratio']:.3f}x, debug/none {logging_cell['debug_ratio']:.3f}x)"
            )
        stop(nginx)

        emulator = measure_emulator()
    finally:
        stop_children()

    # ------------------------------------------------------------ medians and ratios
    table: Dict[str, Dict[int, Dict[str, float]]] = {}
    for row in rows:
        per_threads: Dict[int, Dict[str, float]] = {}
        for t in THREADS:
            got = [r[t] for r in cells[row["key"]] if t in r and r[t].get("calls")]
            if not got:
                continue
            per_threads[t] = {
                "rate": statistics.median(rate(c) for c in got),
                "p50_us": statistics.median(c["p50_us"] for c in got),
                "p99_us": statistics.median(c["p99_us"] for c in got),
                "cpu_us": statistics.median(cpu(c) for c in got) if all(cpu(c) for c in got) else None,
                "errors": sum(c.get("errors", 0) for c in got),
                "rounds": len(got),
            }
        table[row["key"]] = per_threads

    def ratio(a: Tuple[str, int], b: Tuple[str, int], measure: Callable[[dict], float] = rate) -> Optional[float]:
        """The median over the rounds of measure(a) / measure(b), both taken in the same round."""
        values = []
        for ra, rb in zip(cells[a[0]], cells[b[0]]):
            if a[1] in ra and b[1] in rb and measure(ra[a[1]]) and measure(rb[b[1]]):
                values.append(measure(ra[a[1]]) / measure(rb[b[1]]))
        return statistics.median(values) if values else None

    targets: List[Tuple[str, Optional[float], str, bool]] = []
    # ratios printed as information, no verdict: (section, name, shown)
    information: List[Tuple[str, str, str]] = []

    def target(name: str, value: Optional[float], shown: str, ok: bool) -> None:
        targets.append((name, value, shown, ok))

    def shown_ratio(value: Optional[float], bound: Optional[float] = None) -> str:
        if value is None:
            return "—"
        digits = 2
        while bound is not None and digits < 4 and round(value, digits) == bound and value != bound:
            digits += 1  # 1.003 is not shown as 1.00 beside MISS
        return f"{value:.{digits}f}x"

    def cpu_target(name: str, a: Tuple[str, int], b: Tuple[str, int], at_most: float) -> None:
        value = ratio(a, b, cpu)
        shown = "—" if value is None else f"{shown_ratio(value, at_most)} (≤ {at_most}x)"
        target(name, value, shown, value is not None and value <= at_most)

    def cpu_information(name: str, a: Tuple[str, int], b: Tuple[str, int]) -> None:
        information.append(("CPU per call", name, shown_ratio(ratio(a, b, cpu))))

    def rate_information(name: str, a: Tuple[str, int], b: Tuple[str, int]) -> None:
        information.append(("calls per second", name, shown_ratio(ratio(a, b))))

    cpu_target("CPU per call: C sequential / Go net/http sequential", ("c", 0), ("nethttp", 0), 1.0)
    cpu_target("CPU per call: C 4 threads / Go net/http 4 goroutines", ("c", 4), ("nethttp", 4), 1.0)
    # The Go binding's figure is the library's plus its own (cgo, the queue's hand-over
    # through Go's poller, decoding the JSON): information, beside the library's targets.
    cpu_information("Go binding sequential / Go net/http sequential", ("go", 0), ("nethttp", 0))
    cpu_information("Go binding 4 goroutines / Go net/http 4 goroutines", ("go", 4), ("nethttp", 4))
    cpu_information("Rust reqwest::blocking sequential / Go net/http sequential", ("reqwest", 0), ("nethttp", 0))
    cpu_information("Rust reqwest::blocking 4 threads / Go net/http 4 goroutines", ("reqwest", 4), ("nethttp", 4))
    cpu_information("C sequential / Rust reqwest::blocking sequential", ("c", 0), ("reqwest", 0))
    cpu_information("C 4 threads / Rust reqwest::blocking 4 threads", ("c", 4), ("reqwest", 4))
    cpu_information("Python binding sequential / requests.Session sequential", ("py", 0), ("requests", 0))
    cpu_information("Python binding 4 threads / requests.Session 4 threads", ("py", 4), ("requests", 4))
    rate_information("C sequential / wrk -c1", ("c", 0), ("wrk", 0))
    rate_information("C sequential / Go net/http sequential", ("c", 0), ("nethttp", 0))
    rate_information("C 4 threads, one client / Go net/http 4 goroutines", ("c", 4), ("nethttp", 4))
    rate_information("Python binding / requests.Session (sequential)", ("py", 0), ("requests", 0))
    rate_information("Python binding / http.client (sequential)", ("py", 0), ("httpclient", 0))
    rate_information("Go binding / net/http (sequential)", ("go", 0), ("nethttp", 0))
    rate_information("Go binding / net/http (4 goroutines)", ("go", 4), ("nethttp", 4))
    rate_information("C sequential / official JavaScript client", ("c", 0), ("js", 0))
    if rss_cell:
        growth = rss_cell["rss_kib_100k"] - rss_cell["rss_kib_10k"]
        target(
            "C memory growth, 10,000 → 100,000 calls",
            growth,
            f"{growth:+,} KiB (< 1,024 KiB)",
            growth < 1024 and not rss_cell.get("errors"),
        )
    else:
        target("C memory growth, 10,000 → 100,000 calls", None, "—", False)
    cf = statistics.median(create_free) if create_free else None
    target(
        "C client create + free",
        cf,
        "—" if cf is None else f"{cf / 1000:.2f} µs (≤ 50 µs)",
        cf is not None and cf <= 50_000,
    )
    if logging_cell:
        target(
            "C logging off (a callback at error level) / no callback, CPU per call",
            logging_cell["error_ratio"],
            f"{logging_cell['error_ratio']:.3f}x (≤ 1.05x)",
            logging_cell["error_ratio"] <= 1.05,
        )
        information.append(
            ("CPU per call", "C with a log record per request (debug) / no callback", f"{logging_cell['debug_ratio']:.3f}x")
        )
    else:
        target("C logging off (a callback at error level) / no callback, CPU per call", None, "—", False)
    alive = statistics.median(c["kib_per_client"] for c in clients_alive) if clients_alive else None
    target(
        f"C resident memory per client, {CLIENTS_ALIVE:,} alive at once",
        alive,
        "—" if alive is None else f"{alive:.2f} KiB (≤ 4 KiB)",
        alive is not None and alive <= 4 and not any(c.get("errors") for c in clients_alive),
    )

    elapsed = time.monotonic() - began
    info["load_end"] = Path("/proc/loadavg").read_text().split()[0]
    results.update(
        {
            "cells": cells,
            "table": {k: {str(t): v for t, v in d.items()} for k, d in table.items()},
            "create_free_ns": create_free,
            "clients_alive": clients_alive,
            "information": [{"section": sec, "name": n, "shown": sh} for sec, n, sh in information],
            "rss": rss_cell,
            "logging": logging_cell,
            "emulator": emulator,
            "targets": [{"name": n, "value": v, "shown": s, "pass": ok} for n, v, s, ok in targets],
            "elapsed_seconds": elapsed,
        }
    )
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    markdown = render_markdown(
        info, rows, table, targets, information, rss_cell, cf, clients_alive, emulator, elapsed, logging_cell
    )
    (HERE / "results.md").write_text(markdown)
    log("")
    log(render_text(rows, table, targets, information, emulator))
    try:
        chart(info, rows, table, HERE / "results.png")
        log(f"wrote {HERE / 'results.md'} and {HERE / 'results.png'} ({elapsed / 60:.1f} min)")
    except Exception as error:  # noqa: BLE001 - the table is still written
        log(f"! no chart: {type(error).__name__}: {error}")
        log(f"wrote {HERE / 'results.md'} ({elapsed / 60:.1f} min)")


# ---------------------------------------------------------------- emulator


def settle(url: str, seconds: float = 20) -> None:
    """Waits until the emulator has no pending or processing execution (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # "total" counts every execution kept; the filtered list tells whether any is left
        pending = http_json("GET", f"{url}/_emulator/executions?limit=1&status=pending")["executions"]
        processing = http_json("GET", f"{url}/_emulator/executions?limit=1&status=processing")["executions"]
        if not pending and not processing:
            return
        time.sleep(0.2)


def measure_emulator() -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    data_dir = WORK / "emulator-data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    memory_url, memory = start_emulator()
    disk_url, disk = start_emulator("--data-dir", str(data_dir))
    log("emulator: runOnce and getTaskStatus from 4 connections (wrk -c4), in memory and with --data-dir")
    servers = {"in memory": memory_url, "--data-dir": disk_url}
    task_ids = {}
    for name, url in servers.items():
        task_ids[name] = http_json("POST", f"{url}/_api/rest/v1/task", b'{"taskNameOrId":"billOnDemand"}')["taskId"]
    measures: Dict[str, List[dict]] = {}
    for round_number in range(ROUNDS):
        for name, url in servers.items():
            for call, script in (("runOnce", "runonce.lua"), ("getTaskStatus", "status.lua")):
                cell = wrk(url, script, 4, SECONDS, {"BENCH_TASK_ID": task_ids[name]})
                measures.setdefault(f"{call}|{name}", []).append(cell)
                log(f"  round {round_number + 1}: {call:<14} {name:<10} {rate(cell):,.0f}/s")
                settle(url)
                if name == "--data-dir":
                    time.sleep(0.5)  # let the writer thread catch up before the next measurement
    out["throughput"] = {
        key: {
            "rate": statistics.median(rate(c) for c in got if c),
            "p50_us": statistics.median(c["p50_us"] for c in got if c),
            "p99_us": statistics.median(c["p99_us"] for c in got if c),
        }
        for key, got in measures.items()
        if any(got)
    }
    out["rss_kib_after_rounds"] = {"in memory": vm(memory.pid, "VmRSS"), "--data-dir": vm(disk.pid, "VmRSS")}
    stop(memory)
    stop(disk)

    log(f"emulator: memory after {MILLION:,} runOnce executions under --retention 2s ...")
    url, process = start_emulator("--retention", "2s")
    rss_start = vm(process.pid, "VmRSS")
    flood = run_json_lines([str(BIN / "gobench"), "flood", url, str(MILLION), "4"], 600)
    rss_after = vm(process.pid, "VmRSS")
    settle(url, 60)
    time.sleep(2.5)  # past the retention of the last ones
    deadline = time.monotonic() + 30
    kept = http_json("GET", f"{url}/_emulator/executions?limit=1")["total"]
    while kept > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        kept = http_json("GET", f"{url}/_emulator/executions?limit=1")["total"]
    out["million"] = {
        "executions": MILLION,
        "flood": flood[0] if flood else {},
        "rss_kib_start": rss_start,
        "rss_kib_after": rss_after,
        "rss_kib_after_retention": vm(process.pid, "VmRSS"),
        "hwm_kib": vm(process.pid, "VmHWM"),
        "kept_after_retention": kept,
    }
    m = out["million"]
    log(
        f"  {MILLION:,} runOnce in {m['flood'].get('seconds', 0):.1f} s; VmRSS {rss_start:,} KiB at start, "
        f"{rss_after:,} KiB after, {m['rss_kib_after_retention']:,} KiB once the retention passed "
        f"(peak {m['hwm_kib']:,} KiB, {kept} executions kept)"
    )
    stop(process)
    shutil.rmtree(data_dir, ignore_errors=True)
    return out


# ---------------------------------------------------------------- rendering


def render_text(
    rows: List[Row], table: Dict[str, Dict[int, Dict[str, float]]], targets: list, information: list, emulator: dict
) -> str:
    lines = []
    head = f"{'CPU per call (µs, user+system of the client process)':<52}" + "".join(
        f"{column_name(t):>9}" for t in THREADS
    )
    lines += [head, "-" * len(head)]
    for row in rows:
        if row["key"] == "wrk":
            continue
        cells = [fmt_cpu(table[row["key"]].get(t, {}).get("cpu_us")) for t in THREADS]
        lines.append(f"{row['label']:<52}" + "".join(f"{x:>9}" for x in cells))
    lines.append("")
    head = f"{'runOnce, calls/s (p50 / p99 µs), information':<44}" + "".join(f"{column_name(t):>22}" for t in THREADS)
    lines += [head, "-" * len(head)]
    for row in rows:
        cells = []
        for t in THREADS:
            c = table[row["key"]].get(t)
            cells.append(f"{fmt_rate(c['rate'])} ({fmt_us(c['p50_us'])}/{fmt_us(c['p99_us'])})" if c else "—")
        label = row["label"] + (" [-cN]" if row["key"] == "wrk" else "")
        lines.append(f"{label:<44}" + "".join(f"{x:>22}" for x in cells))
    lines.append("")
    for name, key in (("runOnce", "runOnce"), ("getTaskStatus", "getTaskStatus")):
        for where in ("in memory", "--data-dir"):
            e = emulator.get("throughput", {}).get(f"{key}|{where}")
            if e:
                lines.append(
                    f"emulator {name} {where}, wrk -c4: {e['rate']:,.0f}/s "
                    f"(p50 {fmt_us(e['p50_us'])} µs, p99 {fmt_us(e['p99_us'])} µs)"
                )
    m = emulator.get("million")
    if m:
        lines.append(
            f"emulator after {m['executions']:,} executions (--retention 2s): VmRSS {m['rss_kib_after'] / 1024:.1f} MiB, "
            f"{m['rss_kib_after_retention'] / 1024:.1f} MiB once the retention passed "
            f"(started at {m['rss_kib_start'] / 1024:.1f} MiB)"
        )
    lines.append("")
    for section in ("CPU per call", "calls per second"):
        lines.append(f"information, {section} (ratios within this run: median of the per-round ratios):")
        for sec, name, shown in information:
            if sec == section:
                lines.append(f"        {name:<66} {shown}")
    lines.append("")
    lines.append("targets (ratios within this run: median of the per-round ratios):")
    for name, _value, shown, ok in targets:
        lines.append(f"  {'PASS' if ok else 'MISS'}  {name:<66} {shown}")
    return "\n".join(lines)


def results_logging(logging: Optional[dict]) -> str:
    """The logging row's cell: the three medians in µs, or "" without figures."""
    if not logging:
        return ""
    return " / ".join(f"{logging[name]:.1f} µs" for name in ("none", "error", "debug"))


def logging_summary(rounds: List[dict]) -> dict:
    """Medians of c-bench log's rounds: CPU per call for each setting, and the per-round ratios
    of a callback at error level (nothing to log) and at debug level to no callback."""
    by_round: Dict[int, Dict[str, float]] = {}
    for line in rounds:
        if line.get("errors"):
            return {}
        by_round.setdefault(line["round"], {})[line["logging"]] = line["cpu_us_per_call"]
    complete = [r for r in by_round.values() if all(r.get(k) for k in ("none", "error", "debug"))]
    if not complete:
        return {}
    summary = {name: statistics.median(r[name] for r in complete) for name in ("none", "error", "debug")}
    summary["error_ratio"] = statistics.median(r["error"] / r["none"] for r in complete)
    summary["debug_ratio"] = statistics.median(r["debug"] / r["none"] for r in complete)
    summary["rounds"] = len(complete)
    return summary


def render_markdown(
    info: Dict[str, str],
    rows: List[Row],
    table: Dict[str, Dict[int, Dict[str, float]]],
    targets: list,
    information: list,
    rss_cell: dict,
    cf: Optional[float],
    clients_alive: List[dict],
    emulator: dict,
    elapsed: float,
    logging: Optional[dict] = None,
) -> str:
    out = []
    out.append("# Benchmark results")
    out.append("")
    out.append(
        f"Made by `make bench` on {info['date']}: {info['cpu']}, {info['cores']} cores, {info['memory']}, "
        f"{info['os']}; {info['rustc']}, {info['go']}, Node.js {info['node']}, Python {info['python']}, "
        f"nginx {info['nginx']}, {info['wrk']}. {ROUNDS} interleaved rounds of {SECONDS:g} s per cell, "
        f"median of the rounds; the whole run took {elapsed / 60:.1f} min. Load average (1 min) "
        f"{info['load_start']} at the start, {info['load_end']} at the end"
        + (
            f": the machine was busy with other work ({info['cores']} cores), so figures are noisy."
            if max(float(info["load_start"]), float(info["load_end"])) > float(info["cores"]) * 0.75
            else "."
        )
    )
    out.append("")
    out.append(
        "runOnce (`POST /_api/rest/v1/task`, JSON body, answer parsed) against nginx on 127.0.0.1 "
        "returning a fixed TaskInfo over keep-alive connections. Columns: `seq` is a loop on the "
        "calling thread; 1, 2, 4, 8 are threads (goroutines, Python threads) sharing one client; "
        "wrk's columns are connections (`-c1` in `seq`)."
    )
    out.append("")
    out.append("![runOnce: CPU per call and calls per second](results.png)")
    out.append("")
    out.append("### CPU per call (µs, user+system of the client process)")
    out.append("")
    out.append(
        "Measured by each client process itself (`getrusage(RUSAGE_SELF)`, Go's `syscall.Getrusage`, "
        "Python's `resource.getrusage`, Node's `process.cpuUsage()`) over the measured interval, divided "
        "by the calls made: the library's own runtime threads are in the process and count; nginx's CPU "
        "does not. Lower is better. These carry the targets."
    )
    out.append("")
    out.append("| client | " + " | ".join(column_name(t) for t in THREADS) + " |")
    out.append("|---|" + "---:|" * len(THREADS))
    for row in rows:
        if row["key"] == "wrk":
            continue
        cells = [fmt_cpu(table[row["key"]].get(t, {}).get("cpu_us")) for t in THREADS]
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("### Calls per second (information)")
    out.append("")
    out.append("| client | " + " | ".join(column_name(t) for t in THREADS) + " |")
    out.append("|---|" + "---:|" * len(THREADS))
    for row in rows:
        cells = [fmt_rate(table[row["key"]].get(t, {}).get("rate")) for t in THREADS]
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("### Latency per call, p50 / p99 (µs)")
    out.append("")
    out.append("| client | " + " | ".join(column_name(t) for t in THREADS) + " |")
    out.append("|---|" + "---:|" * len(THREADS))
    for row in rows:
        cells = []
        for t in THREADS:
            c = table[row["key"]].get(t)
            cells.append(f"{fmt_us(c['p50_us'])} / {fmt_us(c['p99_us'])}" if c else "—")
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    errors = {row["label"]: sum(c["errors"] for c in table[row["key"]].values()) for row in rows}
    if any(errors.values()):
        out.append("")
        out.append(
            "Errors during the run: "
            + ", ".join(f"{label} {n:,}" for label, n in errors.items() if n)
            + " (see `make bench` output)."
        )
    out.append("")
    out.append("### The C library alone")
    out.append("")
    out.append("| measure | value |")
    out.append("|---|---:|")
    if cf is not None:
        out.append(f"| client create + free (`altogic_client_new` + `altogic_client_free`) | {cf / 1000:.2f} µs per pair |")
    if clients_alive:
        per = statistics.median(c["kib_per_client"] for c in clients_alive)
        mid = sorted(clients_alive, key=lambda c: c["kib_per_client"])[len(clients_alive) // 2]
        out.append(
            f"| VmRSS growth for {mid['clients']:,} clients alive at once (same options, after one warm call) "
            f"| {per:.2f} KiB per client ({mid['rss_kib_before']:,} → {mid['rss_kib_after']:,} KiB) |"
        )
    if rss_cell:
        out.append(f"| VmRSS after 10,000 sequential runOnce | {rss_cell['rss_kib_10k']:,} KiB |")
        out.append(f"| VmRSS after 100,000 sequential runOnce | {rss_cell['rss_kib_100k']:,} KiB |")
    logging_cell = results_logging(logging)
    if logging_cell:
        out.append(
            "| CPU per sequential call: no log callback / a callback at error level (nothing to log) / "
            f"at debug level (a record per request) | {logging_cell} |"
        )
    out.append("")
    out.append("### The emulator (`altogic-emulator`, billOnDemand completing at once: `bench/emulator.toml`)")
    out.append("")
    out.append("| wrk -c4 | calls/s | p50 / p99 (µs) |")
    out.append("|---|---:|---:|")
    for key in ("runOnce", "getTaskStatus"):
        for where in ("in memory", "--data-dir"):
            e = emulator.get("throughput", {}).get(f"{key}|{where}")
            if e:
                out.append(f"| {key}, {where} | {e['rate']:,.0f} | {fmt_us(e['p50_us'])} / {fmt_us(e['p99_us'])} |")
    m = emulator.get("million")
    if m:
        flood = m.get("flood") or {}
        out.append("")
        out.append(
            f"Memory (VmRSS) under `--retention 2s`, in memory: {m['rss_kib_start'] / 1024:.1f} MiB at start, "
            f"{m['rss_kib_after'] / 1024:.1f} MiB right after {m['executions']:,} runOnce executions "
            f"({flood.get('seconds', 0):.0f} s from 4 connections, {flood.get('errors', 0)} errors), "
            f"{m['rss_kib_after_retention'] / 1024:.1f} MiB once the retention had passed "
            f"({m['kept_after_retention']} executions kept; peak {m['hwm_kib'] / 1024:.1f} MiB)."
        )
    out.append("")
    out.append("### Targets (ratios within this run: median of the per-round ratios)")
    out.append("")
    out.append("| target | this run | |")
    out.append("|---|---:|---|")
    for name, _value, shown, ok in targets:
        out.append(f"| {name} | {shown} | {'PASS' if ok else 'MISS'} |")
    out.append("")
    out.append("### Ratios printed as information (no target; median of the per-round ratios)")
    out.append("")
    out.append("| ratio | this run |")
    out.append("|---|---:|")
    for section, name, shown in information:
        out.append(f"| {section}: {name} | {shown} |")
    out.append("")
    return "\n".join(out)


def chart(info: Dict[str, str], rows: List[Row], table: Dict[str, Dict[int, Dict[str, float]]], path: Path) -> None:
    """Two panels: CPU per call (the targets; wrk has none) and calls per second (information)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    shown = [t for t in (0, 4) if t in THREADS]
    colors = {"limit": "#9e9e9e", "this library": "#1f77b4", "instead": "#ff7f0e"}
    fig, axes = plt.subplots(1, 2, figsize=(15, 0.55 * len(rows) + 1.8), dpi=110)
    height = 0.8 / max(len(shown), 1)
    panels = (
        (axes[0], [row for row in rows if row["key"] != "wrk"], "cpu_us", "CPU µs per call, user+system of the client (lower is better)", "{:.1f}"),
        (axes[1], rows, "rate", "runOnce calls per second (information)", "{:,.0f}"),
    )
    for ax, panel_rows, measure, xlabel, fmt in panels:
        for i, t in enumerate(shown):
            values = [table[row["key"]].get(t, {}).get(measure) or 0 for row in panel_rows]
            ys = [y + (i - (len(shown) - 1) / 2) * height for y in range(len(panel_rows))]
            bars = ax.barh(
                ys,
                values,
                height=height * 0.95,
                color=[colors[row["group"]] for row in panel_rows],
                alpha=1.0 if t == 0 else 0.55,
                hatch=None if t == 0 else "//",
                edgecolor="white",
            )
            for bar, value in zip(bars, values):
                if value:
                    ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + fmt.format(value), va="center", fontsize=7)
        ax.set_yticks(range(len(panel_rows)))
        ax.set_yticklabels([row["label"] for row in panel_rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    legend = [Patch(color=c, label=g) for g, c in colors.items()]
    if 4 in shown:
        legend += [
            Patch(facecolor="#777777", label="sequential (wrk -c1)"),
            Patch(facecolor="#777777", alpha=0.55, hatch="//", label="4 threads (wrk -c4)"),
        ]
    axes[1].legend(handles=legend, fontsize=7, loc="lower right")
    fig.suptitle(
        f"runOnce against nginx on loopback (fixed TaskInfo), median of {ROUNDS} rounds · "
        f"{info['date']} · {info['cpu']} · {info['cores']} cores",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
