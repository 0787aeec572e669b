"""The "real network" section of `make bench` (bench/network/run.sh builds, then runs this).

What users of Altogic's cloud feel is round trips and TLS handshakes, so every client here
calls runOnce over TLS through a proxy that adds a delay each way (NETWORK_RTT_MS, default
20 ms round trip) and counts the TCP connections it accepts. The server is the bundled
emulator serving HTTPS itself (--tls-cert, --tls-key; bench/emulator.toml: billOnDemand
completes at once) with a certificate for `localhost` signed by a CA made at run time;
clients connect to https://localhost:PORT (the proxy on 127.0.0.1) and trust that CA only for
themselves (SSL_CERT_FILE, or the client's CA-file option), never through the system store.

Two shapes, each run by every client, one fresh proxy (so one connection count) per run:

- worker pool: NETWORK_THREADS (8) threads or goroutines taking turns, NETWORK_ROUNDS (3)
  rounds, in each round each makes one call, one after another: one call at a time in the
  process, so an ideal client opens 1 connection;
- poller: one thread, NETWORK_POLL_CALLS (4) calls, one every NETWORK_POLL_SECONDS (5) s:
  an ideal client opens 1 connection and keeps it idle in between.

Prints the table and the targets (1 connection per shape for every client; the library's
median within 10% of Go net/http's), writes bench/results-network.md and the raw figures in
target/bench/network/results.json. NETWORK_CLIENTS=c,gonethttp,... runs some clients only.
All traffic is to 127.0.0.1; every child has a time limit and gets SIGTERM if this process dies.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import math
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = ROOT / "target" / "bench" / "network"
BIN = ROOT / "target" / "bench" / "bin"
EMULATOR = ROOT / "target" / "release" / "altogic-emulator"
LIBRARY = ROOT / "target" / "release" / "libaltogic.so"
PYTHON = ROOT / "target" / "bench" / "venv" / "bin" / "python"

RTT_MS = float(os.environ.get("NETWORK_RTT_MS", "20"))
THREADS = int(os.environ.get("NETWORK_THREADS", "8"))
ROUNDS = int(os.environ.get("NETWORK_ROUNDS", "3"))
POLL_CALLS = int(os.environ.get("NETWORK_POLL_CALLS", "4"))
POLL_SECONDS = float(os.environ.get("NETWORK_POLL_SECONDS", "5"))
TOLERANCE = 0.10  # the library's median within 10% of Go net/http's

# (key, label, is the library, command after the shape: {url} {a} {b} {ca} are filled in)
CLIENTS = [
    ("c", "libaltogic from C", True, [str(BIN / "network-c"), "{shape}", "{url}", "{a}", "{b}"]),
    ("python", "Python binding (altogic.Client)", True,
     [str(PYTHON), str(HERE / "clients.py"), "{shape}", "altogic", "{url}", "{a}", "{b}", "{ca}"]),
    ("gobinding", "Go binding", True, [str(BIN / "gobench"), "{shape}", "binding", "{url}", "{a}", "{b}"]),
    ("gonethttp", "Go net/http (one http.Client)", False,
     [str(BIN / "gobench"), "{shape}", "nethttp", "{url}", "{a}", "{b}"]),
    ("requests", "Python requests.Session", False,
     [str(PYTHON), str(HERE / "clients.py"), "{shape}", "requests", "{url}", "{a}", "{b}", "{ca}"]),
    ("reqwest", "Rust reqwest::blocking::Client", False,
     [str(BIN / "reqwest-network"), "{shape}", "{url}", "{a}", "{b}", "{ca}"]),
]
SHAPES = [
    ("pool", f"worker pool: {THREADS} threads x {ROUNDS} rounds, taking turns", THREADS, ROUNDS),
    ("poller", f"poller: {POLL_CALLS} calls, one every {POLL_SECONDS:g} s", POLL_CALLS, POLL_SECONDS),
]

children: List[subprocess.Popen] = []


def log(message: str) -> None:
    print(message, flush=True)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when this process dies, however it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start(command: List[str], env: Optional[Dict[str, str]] = None, stderr: Any = None) -> subprocess.Popen:
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                             env=env, text=True, preexec_fn=_die_with_parent)
    children.append(child)
    return child


def first_line(child: subprocess.Popen, seconds: float, what: str) -> str:
    ready, _, _ = select.select([child.stdout], [], [], seconds)
    line = child.stdout.readline().strip() if ready else ""
    if not line:
        raise RuntimeError(f"{what} printed nothing within {seconds:g} s (exit status {child.poll()})")
    return line


def stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


def stop_children() -> None:
    for child in reversed(children):
        stop(child)


def make_certs(directory: Path) -> Path:
    """A throw-away CA (its key deleted at once) and a certificate it signs for localhost,
    127.0.0.1 and ::1, both valid 2 days (the commands of scripts/make-certs.sh)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=altogic bench throw-away CA", "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "server.ext", "-out", "server.crt")
    (directory / "server.pem").write_text((directory / "server.crt").read_text() + (directory / "ca.pem").read_text())
    for name in ("ca.key", "ca.srl", "server.csr", "server.ext", "server.crt"):
        (directory / name).unlink(missing_ok=True)
    return directory


def child_env(ca: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_dir",
                                "requests_ca_bundle", "curl_ca_bundle")}
    env.update({
        "SSL_CERT_FILE": str(ca),  # the library (C, Python, Go binding) and Go's crypto/x509 read it
        "NO_PROXY": "localhost,127.0.0.1",
        "PYTHONPATH": str(ROOT / "bindings" / "python" / "src"),
        "ALTOGIC_LIB": str(LIBRARY),  # bindings/python/src/altogic/_lib.py: LIB_ENV
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def percentile(values: List[float], p: float) -> float:
    """Nearest rank: p99 of 24 calls (or of 4) is the slowest call."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run_one(key: str, command: List[str], shape: str, a: Any, b: Any, upstream: int, ca: Path,
            env: Dict[str, str]) -> Dict[str, Any]:
    limit = 60 + (a * b if shape == "poller" else 0)
    events = open(WORK / "logs" / f"proxy-{shape}-{key}.log", "w")
    proxy = start([str(BIN / "netproxy"), "-upstream", f"127.0.0.1:{upstream}", "-delay", f"{RTT_MS / 2:g}ms",
                   "-max-seconds", f"{limit + 30:g}", "-events"], stderr=events)
    try:
        port = int(first_line(proxy, 10, "netproxy").rsplit(":", 1)[1])
        url = f"https://localhost:{port}"
        argv = [part.format(shape=shape, url=url, a=a, b=b, ca=ca) for part in command]
        t0 = time.monotonic()
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=limit,
                                  preexec_fn=_die_with_parent)
            failure = "" if done.returncode == 0 else f"exit status {done.returncode}: {done.stderr.strip()[-300:]}"
            out = done.stdout
        except subprocess.TimeoutExpired:
            failure, out = f"no answer within {limit:g} s", ""
        wall = time.monotonic() - t0
        proxy.stdin.close()  # the proxy prints its counts and exits
        summary = json.loads(proxy.stdout.read().strip().splitlines()[-1])
        proxy.wait(10)
    finally:
        stop(proxy)
        events.close()
    result: Dict[str, Any] = {"client": key, "shape": shape, "connections": summary["connections"],
                              "proxy": summary, "wall_s": round(wall, 2)}
    try:
        answer = json.loads(out.strip().splitlines()[-1])
        latency_ms = [x / 1000 for x in answer["latency_us"]]
        result.update(latency_ms=latency_ms, errors=answer["errors"], first_error=answer["first_error"],
                      first_ms=latency_ms[0], p50_ms=statistics.median(latency_ms),
                      p99_ms=percentile(latency_ms, 99))
    except (ValueError, IndexError, KeyError, TypeError):
        result.update(latency_ms=[], errors=None, first_error=failure or f"unreadable output: {out[-300:]!r}")
    if failure:
        result["first_error"] = failure
    return result


def machine() -> Dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "load_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def fmt(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1f}"


def report(results: List[Dict[str, Any]], info: Dict[str, str], keys: List[str]) -> str:
    labels = {key: label for key, label, _, _ in CLIENTS}
    library = {key for key, _, is_lib, _ in CLIENTS if is_lib}
    cell = {(r["client"], r["shape"]): r for r in results}
    lines: List[str] = []
    head = "| client |" + "".join(
        f" {name}: conns | first ms | p50 ms | p99 ms |" for name in ("pool", "poller"))
    lines += [head, "|---|" + "---:|" * 8]
    for key in keys:
        row = f"| {labels[key]} |"
        for shape, _, _, _ in SHAPES:
            r = cell.get((key, shape))
            if r is None:
                row += " — | — | — | — |"
                continue
            errors = f" ({r['errors']} errors)" if r.get("errors") else ""
            if r.get("errors") is None:
                errors = " (failed)"
            row += (f" {r['connections']}{errors} | {fmt(r.get('first_ms'))} | {fmt(r.get('p50_ms'))} |"
                    f" {fmt(r.get('p99_ms'))} |")
        lines.append(row)
    problems = [f"- {labels[r['client']]}, {r['shape']}: {r['first_error']}" for r in results if r.get("first_error")]
    targets: List[str] = []
    for shape, _, _, _ in SHAPES:
        for key in keys:
            r = cell.get((key, shape))
            if r is None:
                continue
            verdict = "PASS" if r["connections"] == 1 and not r.get("first_error") else "MISS"
            targets.append(f"- {verdict} {shape}: {labels[key]} opened {r['connections']} connection(s) (target 1)")
    for shape, _, _, _ in SHAPES:
        go = cell.get(("gonethttp", shape))
        for key in keys:
            r = cell.get((key, shape))
            if key not in library or r is None:
                continue
            if not go or go.get("p50_ms") is None or r.get("p50_ms") is None:
                targets.append(f"- MISS {shape}: {labels[key]} median vs Go net/http: not measured")
                continue
            ratio = r["p50_ms"] / go["p50_ms"]
            verdict = "PASS" if ratio <= 1 + TOLERANCE and not r.get("first_error") else "MISS"
            targets.append(f"- {verdict} {shape}: {labels[key]} median {r['p50_ms']:.1f} ms vs Go net/http "
                           f"{go['p50_ms']:.1f} ms ({ratio:.2f}x, target at most {1 + TOLERANCE:.2f}x)")
    setup = (
        f"runOnce (`POST /_api/rest/v1/task`, JSON body, answer checked) over TLS to the emulator "
        f"(`altogic-emulator --tls-cert`, bench/emulator.toml) through `bench/network/proxy` (netproxy), "
        f"which adds {RTT_MS / 2:g} ms each way ({RTT_MS:g} ms round trip; a new connection's first bytes "
        f"also wait one round trip for TCP's handshake) and counts the TCP connections it accepts; "
        f"clients call `https://localhost:PORT` and trust a CA made for the run. One fresh proxy, one "
        f"process per client and shape.\n\n"
        f"- **pool**: {THREADS} threads (goroutines) sharing one client, taking turns, {ROUNDS} rounds: "
        f"{THREADS * ROUNDS} calls, one at a time in the process; an ideal client opens 1 connection.\n"
        f"- **poller**: one thread, {POLL_CALLS} calls, one every {POLL_SECONDS:g} s; an ideal client opens "
        f"1 connection and keeps it idle in between.\n\n"
        f"`first ms` is the first call (a new connection: TCP + TLS + the request, about 3 round trips "
        f"with TLS 1.3); `p50` is the median of the calls; `p99` (nearest rank) of {THREADS * ROUNDS} "
        f"or {POLL_CALLS} calls is the slowest one. A reused connection costs one round trip "
        f"(~{RTT_MS:g} ms) plus the server."
    )
    return "\n".join([
        "# Benchmark results: the real network (TLS, 20 ms round trip)".replace("20", f"{RTT_MS:g}"),
        "",
        f"Made by `bench/network/run.sh` (part of `make bench`) on {info['date']}: {info['cpu']}, "
        f"{info['cores']} cores, {info['os']}. Load average (1, 5, 15 min) {info['load_start']} at the start, "
        f"{info['load_end']} at the end; the run took {info['minutes']} min.",
        "",
        setup,
        "",
        *lines,
        "",
        "Targets (printed, not enforced):",
        "",
        *targets,
        *(["", "Errors:", "", *problems] if problems else []),
        "",
        "Raw figures (every call's latency): `target/bench/network/results.json`.",
        "",
    ])


def main() -> int:
    started = time.monotonic()
    for needed in (EMULATOR, LIBRARY, BIN / "netproxy", BIN / "network-c", BIN / "gobench",
                   BIN / "reqwest-network", PYTHON):
        if not needed.exists():
            log(f"network bench: {needed} is missing (bench/network/run.sh builds it)")
            return 1
    keys = [key for key, _, _, _ in CLIENTS]
    if os.environ.get("NETWORK_CLIENTS"):
        wanted = os.environ["NETWORK_CLIENTS"].split(",")
        keys = [k for k in keys if k in wanted]
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    info = machine()
    certs = make_certs(WORK / "certs")
    ca = certs / "ca.pem"
    env = child_env(ca)
    emulator_log = open(WORK / "logs" / "emulator.log", "w")
    emulator = start([str(EMULATOR), "--listen", "127.0.0.1:0", "--config", str(ROOT / "bench" / "emulator.toml"),
                      "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"),
                      "--retention", "10m"], stderr=emulator_log)
    line = first_line(emulator, 20, "altogic-emulator")
    if not line.startswith("altogic-emulator listening on https://127.0.0.1:"):
        raise RuntimeError(f"altogic-emulator: unexpected first line {line!r}")
    upstream = int(line.rsplit(":", 1)[1])
    log(f"network bench: emulator at https://127.0.0.1:{upstream}, proxy delay {RTT_MS / 2:g} ms each way; "
        f"{info['cores']} cores, load average {info['load_start']}")
    commands = {key: command for key, _, _, command in CLIENTS}
    labels = {key: label for key, label, _, _ in CLIENTS}
    results: List[Dict[str, Any]] = []
    for shape, title, a, b in SHAPES:
        log(f"-- {title}")
        for key in keys:
            r = run_one(key, commands[key], shape, a, b, upstream, ca, env)
            results.append(r)
            log(f"   {labels[key]:34} {r['connections']:2} connection(s)  first {fmt(r.get('first_ms')):>6} ms"
                f"  p50 {fmt(r.get('p50_ms')):>6} ms  p99 {fmt(r.get('p99_ms')):>6} ms"
                + (f"  ERROR {r['first_error']}" if r.get("first_error") else ""))
    info["load_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    info["minutes"] = f"{(time.monotonic() - started) / 60:.1f}"
    markdown = report(results, info, keys)
    log("")
    log(markdown)
    (HERE.parent / "results-network.md").write_text(markdown)
    (WORK / "results.json").write_text(json.dumps({"machine": info, "rtt_ms": RTT_MS, "results": results}, indent=1))
    log(f"wrote {HERE.parent / 'results-network.md'} and {WORK / 'results.json'}")
    return 0


if __name__ == "__main__":
    def _terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    finally:
        stop_children()
