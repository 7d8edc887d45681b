"""The process a background job runs: a ``pyvariant`` verb whose progress its parent reads.

``python -m jupyter_pyvariant.server.worker kernel install 3.13 --json`` runs the same verb as the
command line, through the same library path, with two differences that make it a good child of the
server: progress and errors arrive as JSON lines on stderr (``display.JsonLinesOutput``), and
SIGTERM — the job's cancel — becomes an exception, so the wings' cleanup (staging folders, half-made
venvs) runs before the process ends instead of being skipped by a hard exit. When the server goes
away its end of the worker's stdin closes, and the worker cancels itself the same way: no job
outlives the server that started it. Its stdin must therefore be a pipe held by the parent.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

EXIT_CANCELLED = 130


class Cancelled(BaseException):
    """Raised in the worker's main thread by SIGTERM; a BaseException, so ``except Exception``
    handlers let it through while ``finally`` and ``except BaseException`` cleanups run."""


def _cancel(signum: int, frame: FrameType | None) -> None:
    raise Cancelled


def _cancel_when_parent_leaves() -> None:
    """Block on stdin; EOF means the server closed the pipe or died. Raw reads: a buffered reader's
    lock held by this daemon thread would abort the interpreter's shutdown."""
    while os.read(0, 1024):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; exit status 2 on a usage error, 1 on a reported failure, 130 when cancelled."""
    from ..display import JsonLinesOutput
    from ..verbs import UsageError, run

    signal.signal(signal.SIGTERM, _cancel)
    threading.Thread(target=_cancel_when_parent_leaves, daemon=True).start()
    out = JsonLinesOutput()
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
