"""The job worker's events: what its parent, the server, shows of a job as it happens."""

from __future__ import annotations

import io
import json
import signal
import threading
from typing import Any

import pytest

from jupyter_pyvariant.server import worker


def _events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_bar_closed_as_done_while_a_cancel_unwinds_says_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "_cancelling", threading.Event())
    events = io.StringIO()
    out = worker.WorkerOutput(io.StringIO(), events)
    finished, interrupted = out.progress("extract", 10), out.progress("download", 100)
    finished.update(10)
    finished.close("done")
    interrupted.update(50)

    with pytest.raises(worker.Cancelled):
        try:
            worker._cancel(signal.SIGTERM, None)  # what SIGTERM runs in the worker's main thread
        finally:
            interrupted.close("done")  # a `finally` in the library, unaware of the cancel

    closes = [(e["label"], e["message"], e["ok"]) for e in _events(events) if e["event"] == "done"]
    assert closes == [("extract", "done", True), ("download", "stopped", False)]


def test_a_failed_step_keeps_its_own_words_during_a_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    cancelling = threading.Event()
    cancelling.set()
    monkeypatch.setattr(worker, "_cancelling", cancelling)
    events = io.StringIO()
    worker.WorkerOutput(io.StringIO(), events).progress("kernel").close("no kernel was made", ok=False)

    closed = {"event": "done", "label": "kernel", "message": "no kernel was made", "ok": False}
    assert _events(events)[-1] == closed
