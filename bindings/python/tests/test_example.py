"""The example program, run as a user would."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict

from .conftest import CLIENT_KEY, PYTHON, SESSION_KEY, SESSION_TOKEN

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "run_task.py"


def run(env: Dict[str, str], *args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([PYTHON, str(EXAMPLE), *args], capture_output=True, text=True, env=env, timeout=60)


def test_example_completes(emulator_url: str, python_env: Dict[str, str]) -> None:
    result = run(python_env, emulator_url, CLIENT_KEY, "billOnDemand")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "is pending" in lines[0]
    assert lines[-2].endswith("is completed") and "billOnDemand: completed in" in lines[-1]


def test_example_with_a_session(emulator_url: str, python_env: Dict[str, str]) -> None:
    result = run(python_env, emulator_url, SESSION_KEY, "billOnDemand", SESSION_TOKEN)
    assert result.returncode == 0, result.stderr


def test_example_fails_when_the_task_ends_in_errors(emulator_url: str, python_env: Dict[str, str]) -> None:
    result = run(python_env, emulator_url, CLIENT_KEY, "failingTask")
    assert result.returncode == 1
    assert "is errors" in result.stdout and "simulated_failure" in result.stderr


def test_example_reports_errors_and_usage(emulator_url: str, python_env: Dict[str, str]) -> None:
    result = run(python_env, emulator_url, CLIENT_KEY, "noSuchTask")
    assert result.returncode == 2 and "not_found" in result.stderr
    assert run(python_env, emulator_url).returncode == 2
