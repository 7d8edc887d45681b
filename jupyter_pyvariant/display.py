"""Where a verb's output goes: a terminal or a notebook.

Verbs write to an :class:`Output` and never print directly, so the CLI, the magics and the server
share one implementation: text and progress bars in a terminal, HTML and ipywidgets in a notebook.
"""

from __future__ import annotations

__all__ = [
    "MAGIC_PROG",
    "JsonLinesOutput",
    "NotebookOutput",
    "Output",
    "PhaseProgress",
    "Progress",
    "TerminalOutput",
    "output_for_shell",
    "table_html",
    "table_text",
]

import html
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    """A running task's progress; ``total`` may be unknown (None)."""

    def update(self, done: float, message: str = "") -> None: ...

    def close(self, message: str = "", ok: bool = True) -> None:
        """End the bar; ``ok=False`` marks the task as failed (a red bar in a notebook)."""


class Output(Protocol):
    """The sink a verb reports to."""

    def text(self, text: str) -> None: ...

    def json(self, data: Any) -> None: ...

    def rich(self, text: str, html_text: str) -> None:
        """Show ``html_text`` where HTML renders, ``text`` elsewhere."""

    def error(self, text: str) -> None: ...

    def progress(self, label: str, total: float | None = None) -> Progress: ...

    def command(self, words: str) -> str:
        """The verb ``words`` (``"kernel list"``) as a hint on this face: what the user types or
        clicks here (``pyvariant kernel list`` in a terminal, ``%pyvariant kernel list`` in IPython)."""


TERMINAL_PROG = "pyvariant"
MAGIC_PROG = "%pyvariant"

UI_NAMES = {"kernel install": "“Optimized Python for this machine…” in the launcher or the Kernel menu"}
"""Verbs the lab extension offers as a button or menu entry, by the verb's words."""


def dumps(data: Any) -> str:
    """The one JSON spelling every face uses (stable key order, readable)."""
    return json.dumps(data, indent=2, sort_keys=False, default=str)


def table_text(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain aligned table for terminals."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table_html(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The same table for notebooks, escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table class='pyvariant-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _TextProgress:
    """A one-line progress bar on a terminal; plain lines when the stream is not a TTY."""

    def __init__(self, stream: TextIO, label: str, total: float | None) -> None:
        self._stream, self._label, self._total = stream, label, total
        self._tty = stream.isatty()
        self._last_percent = -1

    def update(self, done: float, message: str = "") -> None:
        if self._total:
            percent = int(100 * min(done, self._total) / self._total)
            if percent == self._last_percent and not message:
                return
            self._last_percent = percent
            bar = "#" * (percent // 5)
            line = f"{self._label} [{bar:<20}] {percent:3d}% {message}"
        else:
            line = f"{self._label} {message}".rstrip()
        if self._tty:
            self._stream.write("\r" + line[:120].ljust(120))
        elif message:
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self, message: str = "", ok: bool = True) -> None:
        end = f"{self._label} {'' if ok else 'failed: '}{message}".rstrip()
        self._stream.write(("\r" + end.ljust(120) + "\n") if self._tty else end + "\n")
        self._stream.flush()


class TerminalOutput:
    """Output for the CLI and terminal IPython."""

    def __init__(
        self, stream: TextIO | None = None, err: TextIO | None = None, prog: str = TERMINAL_PROG
    ) -> None:
        self._stream = stream or sys.stdout
        self._err = err or sys.stderr
        self._prog = prog

    def text(self, text: str) -> None:
        self._stream.write(text.rstrip("\n") + "\n")

    def json(self, data: Any) -> None:
        self.text(dumps(data))

    def rich(self, text: str, html_text: str) -> None:
        self.text(text)

    def error(self, text: str) -> None:
        self._err.write(text.rstrip("\n") + "\n")

    def progress(self, label: str, total: float | None = None) -> Progress:
        return _TextProgress(self._err, label, total)

    def command(self, words: str) -> str:
        return f"{self._prog} {words}"


class _WidgetProgress:
    """An ipywidgets progress bar with a status label; ``closed`` hears when it is closed."""

    def __init__(self, label: str, total: float | None, closed: Callable[[_WidgetProgress], None]) -> None:
        import ipywidgets
        from IPython.display import display

        # The label is shown whole ("pyvariant install", not "pyvariant …").
        self._bar = ipywidgets.FloatProgress(
            value=0, min=0, max=total or 1, description=label, style={"description_width": "initial"}
        )
        if total is None:
            self._bar.bar_style = "info"
            self._bar.value = 1
        self._status = ipywidgets.Label(value="")
        self._closed = closed
        display(ipywidgets.HBox([self._bar, self._status]))  # type: ignore[no-untyped-call]

    def update(self, done: float, message: str = "") -> None:
        if self._bar.max != 1 or self._bar.bar_style != "info":
            self._bar.value = min(done, self._bar.max)
        if message:
            self._status.value = message

    def close(self, message: str = "", ok: bool = True) -> None:
        if ok:
            self._bar.value = self._bar.max
        self._bar.bar_style = "success" if ok else "danger"
        self._status.value = message
        self._closed(self)


class NotebookOutput:
    """Output for a notebook kernel: HTML and widgets; falls back to text when widgets are absent.

    An error ends every bar still open in the error colour: a step that failed is not left looking
    busy (its verb may raise before it closes its bar)."""

    def __init__(self) -> None:
        self._text = TerminalOutput(prog=MAGIC_PROG)
        self._open: list[_WidgetProgress] = []

    def text(self, text: str) -> None:
        self._text.text(text)

    def json(self, data: Any) -> None:
        self._text.json(data)

    def rich(self, text: str, html_text: str) -> None:
        from IPython.display import display

        display({"text/html": html_text, "text/plain": text}, raw=True)  # type: ignore[no-untyped-call]

    def error(self, text: str) -> None:
        for bar in list(self._open):
            bar.close("did not finish", ok=False)
        self._text.error(text)

    def progress(self, label: str, total: float | None = None) -> Progress:
        try:
            bar = _WidgetProgress(label, total, self._forget)
        except ImportError:
            return self._text.progress(label, total)
        self._open.append(bar)
        return bar

    def command(self, words: str) -> str:
        return self._text.command(words)

    def _forget(self, bar: _WidgetProgress) -> None:
        if bar in self._open:
            self._open.remove(bar)


class PhaseProgress:
    """A provisioning progress callback drawing one bar per phase (download, extract, smoke-test).

    ``close(..., ok=False)``, or leaving a ``with`` block by an exception, ends the phase under way
    as failed: work that stopped is never called done."""

    def __init__(self, out: Output, prefix: str = "") -> None:
        self._out, self._prefix = out, prefix
        self._phase = ""
        self._bar: Progress | None = None

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase != self._phase:
            self.close()
            self._phase, self._bar = phase, self._out.progress(f"{self._prefix}{phase}", total)
        if self._bar is not None:
            self._bar.update(done)

    def close(self, message: str = "done", ok: bool = True) -> None:
        if self._bar is not None:
            self._bar.close(message, ok=ok)
            self._bar = None
        self._phase = ""

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """The phase under way is done when the work returns, and did not finish when it raised
        (a failure or a cancel)."""
        if kind is None:
            self.close()
        else:
            self.close("did not finish", ok=False)


class _EventProgress:
    """Progress as events for a parent process: at most one per percent, or per message when the total
    is unknown, so a download does not flood the pipe."""

    def __init__(self, emit: Callable[[dict[str, Any]], None], label: str, total: float | None) -> None:
        self._emit, self._label, self._total = emit, label, total
        self._last: tuple[int, str] | None = None

    def update(self, done: float, message: str = "") -> None:
        percent = int(100 * min(done, self._total) / self._total) if self._total else -1
        if (percent, message) == self._last or (self._last is not None and not self._total and not message):
            return
        self._last = (percent, message)
        self._emit(
            {
                "event": "progress",
                "label": self._label,
                "done": done,
                "total": self._total,
                "message": message,
            }
        )

    def close(self, message: str = "", ok: bool = True) -> None:
        self._emit({"event": "done", "label": self._label, "message": message, "ok": ok})


class JsonLinesOutput:
    """Output for a worker process whose parent shows its progress (the server's background jobs).

    Results (``text``, ``json``, ``rich``) go to ``stream`` as in a terminal; progress and errors go
    to ``events`` as one JSON object per line: ``{"event": "progress", "label", "done", "total",
    "message"}``, ``{"event": "done", "label", "message"}`` when a bar closes, and ``{"event":
    "error", "text"}``. Anything else on ``events`` (a traceback) is not JSON and is shown as is.
    """

    def __init__(self, stream: TextIO | None = None, events: TextIO | None = None) -> None:
        self._text = TerminalOutput(stream)
        self._events = events or sys.stderr

    def _emit(self, event: dict[str, Any]) -> None:
        self._events.write(json.dumps(event, default=str) + "\n")
        self._events.flush()

    def text(self, text: str) -> None:
        self._text.text(text)

    def json(self, data: Any) -> None:
        self._text.json(data)

    def rich(self, text: str, html_text: str) -> None:
        self._text.text(text)

    def error(self, text: str) -> None:
        self._emit({"event": "error", "text": text.rstrip("\n")})

    def progress(self, label: str, total: float | None = None) -> Progress:
        return _EventProgress(self._emit, label, total)

    def command(self, words: str) -> str:
        """The button or menu entry where the lab extension has one, else the terminal command."""
        verb = " ".join(words.split()[:2])
        return UI_NAMES.get(verb) or f"{self._text.command(words)} in a terminal"


def output_for_shell(shell: Any) -> Output:
    """Notebook output inside a kernel with a frontend, terminal output (with magic hints) in terminal
    IPython."""
    kernel = getattr(shell, "kernel", None)
    return NotebookOutput() if kernel is not None else TerminalOutput(prog=MAGIC_PROG)
