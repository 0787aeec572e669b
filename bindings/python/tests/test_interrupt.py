"""Ctrl-C during a blocking call in the main thread: KeyboardInterrupt, and the call ends."""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from typing import Dict

import pytest

from .conftest import CLIENT_KEY, PYTHON

CHILD = textwrap.dedent(
    """
    import sys, time
    import altogic

    client = altogic.Client(sys.argv[1], sys.argv[2])
    task_id = client.task.run_once("slowReport").task_id
    print("waiting", flush=True)
    try:
        {call}
    except KeyboardInterrupt:
        interrupted = time.monotonic()
        # The library's call ended: the client is free for the next one at once.
        info = client.task.get_status(task_id)
        print("interrupted", info.status, round(time.monotonic() - interrupted, 3), flush=True)
        raise
    print("not interrupted", flush=True)
    """
)


def _interrupt(emulator_url: str, env: Dict[str, str], call: str) -> None:
    process = subprocess.Popen(
        [PYTHON, "-c", CHILD.replace("{call}", call), emulator_url, CLIENT_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(0.5)  # inside the wait by now
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "KeyboardInterrupt" in stderr, stderr
    assert stdout.startswith("interrupted processing"), (stdout, stderr)
    assert process.returncode != 0
    # slowReport runs ~5 s: an interrupt that waited for the call would take seconds.
    assert elapsed < 1.0, elapsed


def test_ctrl_c_interrupts_a_long_wait(emulator_url: str, python_env: Dict[str, str]) -> None:
    _interrupt(emulator_url, python_env, "client.task.wait(task_id, timeout=None)")


def test_ctrl_c_interrupts_a_wait_with_a_deadline(emulator_url: str, python_env: Dict[str, str]) -> None:
    _interrupt(emulator_url, python_env, "client.task.wait(task_id, timeout=30)")


def test_ctrl_c_interrupts_a_watch(emulator_url: str, python_env: Dict[str, str]) -> None:
    # Between two statuses, in altogic_queue_next: Ctrl-C triggers the watch's own token.
    _interrupt(emulator_url, python_env, "for _ in client.task.watch(task_id, timeout=None): pass")


def test_other_signals_do_not_cancel_calls(emulator_url: str, python_env: Dict[str, str]) -> None:
    # A Python handler for another signal runs once the call returns; the call goes on.
    child = textwrap.dedent(
        """
        import signal, sys, os, threading
        import altogic

        seen = []
        signal.signal(signal.SIGUSR1, lambda *_: seen.append(1))
        client = altogic.Client(sys.argv[1], sys.argv[2])
        task_id = client.task.run_once("billOnDemand").task_id
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        info = client.task.wait(task_id, timeout=30)
        print(info.status, len(seen))
        """
    )
    result = subprocess.run(
        [PYTHON, "-c", child, emulator_url, CLIENT_KEY],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["completed", "1"]


@pytest.mark.parametrize("runner", ["asyncio.run(main())", "trio.run(main)"])
def test_ctrl_c_under_asyncio_run_and_trio_run(runner: str, emulator_url: str, python_env: Dict[str, str]) -> None:
    # asyncio.run turns SIGINT into cancelling the main task, trio.run into a
    # KeyboardInterrupt delivered to it; either way the call's token is triggered.
    child = textwrap.dedent(
        """
        import asyncio, sys
        import altogic

        async def main() -> None:
            async with altogic.AsyncClient(sys.argv[1], sys.argv[2]) as client:
                task_id = (await client.task.run_once("slowReport")).task_id
                print("waiting", flush=True)
                await client.task.wait(task_id, timeout=None)
                print("not interrupted", flush=True)

        """
    )
    if runner.startswith("trio"):
        child += "import trio\n"
    child += runner + "\n"
    process = subprocess.Popen(
        [PYTHON, "-c", child, emulator_url, CLIENT_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "KeyboardInterrupt" in stderr, stderr
    assert "not interrupted" not in stdout
    assert elapsed < 1.0, elapsed


def test_sigint_with_a_handler_that_does_not_raise_cancels_the_call(
    emulator_url: str, python_env: Dict[str, str]
) -> None:
    child = textwrap.dedent(
        """
        import signal, sys
        import altogic

        signal.signal(signal.SIGINT, lambda *_: None)
        client = altogic.Client(sys.argv[1], sys.argv[2])
        task_id = client.task.run_once("slowReport").task_id
        print("waiting", flush=True)
        try:
            client.task.wait(task_id, timeout=None)
        except altogic.Cancelled as error:
            print("cancelled", error.code, error.status, flush=True)
        """
    )
    process = subprocess.Popen(
        [PYTHON, "-c", child, emulator_url, CLIENT_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert stdout.strip() == "cancelled cancelled 0"
    assert elapsed < 1.0, elapsed
