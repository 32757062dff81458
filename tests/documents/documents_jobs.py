"""Jobs that misbehave on purpose, for the render pool tests.

They live in a plain module (not a test module) so a worker can import them by name;
conftest.py explains how the worker finds this directory.
"""

from __future__ import annotations

import os
import time

from server.documents import errors


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)  # keeps this worker busy, so a concurrent job gets the other one
    return os.getpid()


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def exit_abruptly() -> None:
    os._exit(1)


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def refuse_encrypted() -> None:
    raise errors.encrypted()


def fail(message: str) -> None:
    raise ValueError(message)


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickling replays cls(*args): one arg
        super().__init__(f"{a}/{b}")


def fail_unpicklably() -> None:
    raise Unpicklable(1, 2)
