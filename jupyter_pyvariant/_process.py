"""One way to run a tool in a subprocess: no stdin, output kept, the same tail of it on failure."""

from __future__ import annotations

__all__ = ["Finished", "ToolFailed", "run"]

import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .errors import PyvariantError

TAIL_LINES = 25
"""How much of a failed tool's output an error shows: enough for uv's or pip's whole complaint."""


@dataclass(frozen=True)
class Finished:
    """A tool that ran to its end: exit status and its output lines (blank lines dropped)."""

    returncode: int
    lines: tuple[str, ...]

    @property
    def tail(self) -> str:
        return "\n".join(self.lines[-TAIL_LINES:])


class ToolFailed(PyvariantError):
    """A tool could not start, ran past its time, or exited non-zero; the message says which,
    with the tail of its output."""

    def __init__(self, message: str, finished: Finished | None = None) -> None:
        super().__init__(message)
        self.finished = finished


def run(
    argv: Sequence[str],
    what: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    merge: bool = True,
    check: bool = True,
) -> Finished:
    """Run ``argv``; ``what`` names it in errors ("installing numpy with uv").

    ``merge``: stderr joins stdout and each line goes to ``on_line`` as it comes (progress);
    otherwise ``lines`` is stdout alone (a tool that answers in JSON) and a failure shows stderr.
    ``check``: a non-zero exit raises :class:`ToolFailed`; without it the caller reads ``returncode``.
    """
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=None if env is None else dict(env),
        )
    except OSError as exc:
        raise ToolFailed(f"{what} failed: cannot run {argv[0]}: {exc.strerror or exc}") from None
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        process.kill()

    timer = threading.Timer(timeout, kill) if timeout is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        if merge:
            assert process.stdout is not None
            lines = []
            for raw in process.stdout:
                if line := raw.rstrip():
                    lines.append(line)
                    if on_line is not None:
                        on_line(line)
            process.wait()
            shown = lines
        else:
            stdout, stderr = process.communicate()
            lines = [line for line in stdout.splitlines() if line.strip()]
            shown = [line for line in stderr.splitlines() if line.strip()] or lines
    finally:
        if timer is not None:
            timer.cancel()
    finished = Finished(process.returncode, tuple(lines))
    if expired.is_set():
        raise ToolFailed(f"{what} did not finish within {timeout:g} s", finished)
    if check and process.returncode != 0:
        tail = "\n".join(shown[-TAIL_LINES:])
        raise ToolFailed(f"{what} failed (exit status {process.returncode}):\n{tail}", finished)
    return finished
