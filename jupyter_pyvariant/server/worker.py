"""The process a background job runs: a ``pyvariant`` verb whose progress its parent reads.

``python -m jupyter_pyvariant.server.worker kernel install 3.13 --json`` runs the same verb as the
command line, through the same library path, with two differences that make it a good child of the
server: progress and errors arrive as JSON lines on stderr (``display.JsonLinesOutput``), and
SIGTERM — the job's cancel — becomes an exception, so the wings' cleanup (staging folders, half-made
venvs) runs before the process ends instead of being skipped by a hard exit. When the server goes
away its end of the worker's stdin closes, and the worker cancels itself the same way: no job
outlives the server that started it. Its stdin must therefore be a pipe held by the parent.

Two more events make the job's story true to what happened: a download retried (``{"event":
"retry", "message"}``, from the HTTP layer's retry log) as it happens, and, once a cancel is under
way, every progress bar the unwinding closes says it stopped rather than that it is done.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from ..display import JsonLinesOutput, Progress

EXIT_CANCELLED = 130
_cancelling = threading.Event()


class Cancelled(BaseException):
    """Raised in the worker's main thread by SIGTERM; a BaseException, so ``except Exception``
    handlers let it through while ``finally`` and ``except BaseException`` cleanups run."""


def _cancel(signum: int, frame: FrameType | None) -> None:
    _cancelling.set()
    raise Cancelled


class _StoppedBar:
    """A progress bar that, closed as done while a cancel unwinds, says it stopped instead."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar

    def update(self, done: float, message: str = "") -> None:
        self._bar.update(done, message)

    def close(self, message: str = "", ok: bool = True) -> None:
        if _cancelling.is_set() and ok:
            self._bar.close("stopped", ok=False)
        else:
            self._bar.close(message, ok)


class WorkerOutput(JsonLinesOutput):
    """The job's events: the JSON lines of :class:`JsonLinesOutput`, retries, and stopped bars."""

    def progress(self, label: str, total: float | None = None) -> Progress:
        return _StoppedBar(super().progress(label, total))

    def retried(self, message: str) -> None:
        self._emit({"event": "retry", "message": message})


class _RetryEvents(logging.Handler):
    """The HTTP layer's retry log as job events."""

    def __init__(self, out: WorkerOutput) -> None:
        super().__init__(logging.INFO)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        retry: Any = getattr(record, "retry", None)
        self._out.retried(retry.message() if retry is not None else record.getMessage())


def _cancel_when_parent_leaves() -> None:
    """Block on stdin; EOF means the server closed the pipe or died. Raw reads: a buffered reader's
    lock held by this daemon thread would abort the interpreter's shutdown."""
    while os.read(0, 1024):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; exit status 2 on a usage error, 1 on a reported failure, 130 when cancelled."""
    from .._http import RETRY_LOGGER
    from ..verbs import UsageError, run

    signal.signal(signal.SIGTERM, _cancel)
    threading.Thread(target=_cancel_when_parent_leaves, daemon=True).start()
    out = WorkerOutput()
    retries = logging.getLogger(RETRY_LOGGER)
    retries.addHandler(_RetryEvents(out))
    retries.setLevel(logging.INFO)
    retries.propagate = False  # the job shows them; nothing else should print them
    try:
        return run(list(sys.argv[1:] if argv is None else argv), out)
    except UsageError as exc:
        out.error(str(exc))
        return 2
    except Cancelled:
        out.error("cancelled")
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
