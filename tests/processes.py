"""Child processes for the tests that need more than one process on one database (the app, the REST API, the CLI
and the replicas of a deployment are separate processes): Python children started from the repository's root,
waited for, their results collected, and killed when they outlive the test's patience, so no test hangs on a child
and none is left behind; and the servers a test runs beside it (redis-server), stopped and reaped the same way."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Fresh interpreters (not forks): a child imports what it needs, as a real second process would.
SPAWN = multiprocessing.get_context("spawn")
TIMEOUT_S = 120.0


def python(
    *argv: str, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`python argv…` (`"-c", code, args…` or `"-m", "core", …`) from the repository's root with `env` (None: this
    process's), run to its end; stdout and stderr as text. Killed after `timeout` (`subprocess.TimeoutExpired`)."""
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def python_child(*argv: str, env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """`python argv…` running beside the test, its stdin and stdout piped (text): killed and reaped when the block
    ends, whatever happened in it."""
    child = subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield child
    finally:
        child.kill()
        child.communicate(timeout=30)


def program(*argv: str) -> subprocess.Popen[bytes]:
    """`argv` (a server such as redis-server) running in the background, its output discarded. A test may stop it
    (`stop`) and start it again."""
    return subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(child: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Ask `child` to stop (SIGTERM: its own shutdown), SIGKILL it if it is still running `timeout` seconds on; reaped
    either way. A child that has already ended is only reaped."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=timeout)


def _report(target: Callable[..., Any], args: tuple[Any, ...], results: Any) -> None:
    """A spawned child's entry: run `target(*args)` and always report its result or its traceback, so the parent
    never waits in vain."""
    try:
        results.put(target(*args))
    except BaseException:
        results.put(_Failed(traceback.format_exc()))
        raise


class _Failed:
    def __init__(self, text: str) -> None:
        self.text = text


def run_together(target: Callable[..., Any], n: int, *args: Any, timeout: float = TIMEOUT_S) -> list[Any]:
    """Run `target(*args, start)` in `n` spawned interpreters, `start` a barrier of `n` they pass together once each
    is ready (`start.wait(60)`); their return values (picklable), in the order they finished. A child's exception
    fails the test with its traceback; a child still running `timeout` seconds on is killed."""
    start, results = SPAWN.Barrier(n), SPAWN.Queue()
    procs = [SPAWN.Process(target=_report, args=(target, (*args, start), results)) for _ in range(n)]
    for proc in procs:
        proc.start()
    try:
        out = [results.get(timeout=timeout) for _ in procs]
    finally:
        _reap(procs)
    failed = [o.text for o in out if isinstance(o, _Failed)]
    if failed:
        pytest.fail("a child process failed:\n" + "\n".join(failed))
    assert [0] * n == [proc.exitcode for proc in procs]
    return out


@contextmanager
def spawned(target: Callable[..., Any], *args: Any, timeout: float = TIMEOUT_S) -> Iterator[BaseProcess]:
    """`target(*args, ready)` in a spawned interpreter; the block runs once the child has set `ready` (an event),
    and the child is killed (SIGKILL: no cleanup of its own) and reaped when the block ends."""
    ready = SPAWN.Event()
    proc = SPAWN.Process(target=target, args=(*args, ready))
    proc.start()
    try:
        assert ready.wait(timeout), "the child process never got ready"
        yield proc
    finally:
        proc.kill()
        _reap([proc])


def _reap(procs: list[BaseProcess]) -> None:
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=10)
