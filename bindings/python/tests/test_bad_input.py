"""The bad input shared by every suite (tests/data/bad_input.json), through the Python API.

Each case makes a client (``create``) or makes a call on a client of http://127.0.0.1:9
(``call``), and names the code the library answers and the C API's name of the argument.
Here the options become Client keyword arguments (durations in seconds), the error must
be the exception class of the code, its message must start with the Python name of the
argument, and ``never`` (a password the input held) must not appear in it. What only
Python can pass (None, a NUL character, lone surrogates, wrong types) is in test_client.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Type

import pytest

import altogic

TABLE = Path(__file__).resolve().parents[3] / "tests" / "data" / "bad_input.json"

#: The exception class of each code the table names.
CLASSES: Dict[str, Type[altogic.AltogicError]] = {
    "invalid_argument": altogic.InvalidArgument,
    "missing_required_value": altogic.InvalidArgument,
    "invalid_env_url": altogic.InvalidArgument,
}

#: The C API's names of arguments (details.argument) and this package's.
PYTHON_NAMES = {
    "env_url": "env_url",
    "client_key": "client_key",
    "apiKey": "api_key",
    "session": "session",
    "timeoutMs": "timeout",
    "connectTimeoutMs": "connect_timeout",
    "idleTimeoutMs": "idle_timeout",
    "maxResponseBytes": "max_response_bytes",
    "caFile": "ca_file",
    "proxy": "proxy",
    "task_name_or_id": "name_or_id",
    "task_id": "task_id",
    "session_token": "session",
}

#: The options of altogic_client_new as Client keyword arguments: name, and how the value
#: converts (milliseconds to seconds for the durations).
KEYWORDS = {
    "apiKey": ("api_key", None),
    "session": ("session", None),
    "timeoutMs": ("timeout", 1000),
    "connectTimeoutMs": ("connect_timeout", 1000),
    "idleTimeoutMs": ("idle_timeout", 1000),
    "maxResponseBytes": ("max_response_bytes", None),
    "caFile": ("ca_file", None),
    "proxy": ("proxy", None),
}


def _cases() -> List[Any]:
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    cases = []
    for case in table["cases"]:
        if "create" in case:
            label = f"create {case['argument']} {json.dumps(case['create'], ensure_ascii=False)}"
        else:
            label = f"{case['call']['name']}({case['call']['argument']!r})"
        cases.append(pytest.param(case, id=label))
    return cases


def _keywords(options: Dict[str, Any]) -> Dict[str, Any]:
    keywords: Dict[str, Any] = {}
    for option, value in options.items():
        name, divisor = KEYWORDS[option]  # a KeyError: an option this test does not map yet
        keywords[name] = value / divisor if divisor else value
    return keywords


def _provoke(case: Dict[str, Any]) -> None:
    """Makes the case's client or call, which must raise."""
    if "create" in case:
        create = case["create"]
        altogic.Client(create["env_url"], create["client_key"], **_keywords(create.get("options", {})))
        return
    name, argument = case["call"]["name"], case["call"]["argument"]
    with altogic.Client("http://127.0.0.1:9", "k") as client:
        if name == "run_once":
            client.task.run_once(argument)
        elif name == "get_status":
            client.task.get_status(argument)
        elif name == "wait":
            client.task.wait(argument)
        elif name == "set_session":
            client.session = argument
        else:
            raise AssertionError(f"a call this test does not know: {name}")


def test_the_table_is_there() -> None:
    assert len(_cases()) >= 30, TABLE


@pytest.mark.parametrize("case", _cases())
def test_bad_input(case: Dict[str, Any]) -> None:
    expected = CLASSES[case["code"]]
    with pytest.raises(altogic.AltogicError) as caught:
        _provoke(case)
    error = caught.value
    assert type(error) is expected, repr(error)
    assert error.code == case["code"], repr(error)
    assert error.status == 0 and error.status_text == "Client Error"
    details = error.items[0]["details"]
    assert details["argument"] == case["argument"], details
    name = PYTHON_NAMES[case["argument"]]
    assert error.message.startswith(f"{name} "), error.message
    # The message is the Python name and the library's reason, in the Python way.
    assert error.message == f"{name} {details['reason']}", error.message
    assert not error.message.endswith("."), error.message
    if name != case["argument"]:
        assert case["argument"] not in error.message, error.message
    never = case.get("never")
    if never:
        for text in (str(error), repr(error), repr(error.items)):
            assert never not in text, text
