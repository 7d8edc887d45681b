"""Run probes so that they never raise and never print, and record what each one did.

A probe's failure is data: the caller gets the fallback value, and the report's diagnostics say
which source was read, how long it took and why it failed.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable

from ._values import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")


UNKNOWN = "unknown"


class Diagnostic(Record):
    """What one probe read, how long it took, and why it failed (None when it did not)."""

    probe: str
    source: str
    ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"probe": self.probe, "source": self.source, "ms": round(self.ms, 3), "error": self.error}


class Recorder:
    """Collects diagnostics while probes run; shared by every probe of one report."""

    __slots__ = ("diagnostics",)

    def __init__(self, diagnostics: list[Diagnostic] | None = None) -> None:
        self.diagnostics: list[Diagnostic] = [] if diagnostics is None else diagnostics

    def run(self, probe: str, source: str, fn: Callable[[], T], fallback: T) -> T:
        """Call ``fn``; on any exception record it and return ``fallback``. Output is swallowed."""
        start = time.perf_counter()
        error: str | None = None
        streams = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.StringIO()  # what contextlib.redirect_* do, without importing it
        try:
            result = fn()
        except Exception as exc:  # a probe must never raise: the reason becomes data
            error = f"{type(exc).__name__}: {exc}"
            result = fallback
        finally:
            sys.stdout, sys.stderr = streams
        self.diagnostics.append(Diagnostic(probe, source, (time.perf_counter() - start) * 1000, error))
        return result

    def note(self, probe: str, source: str, error: str | None, ms: float = 0.0) -> None:
        """Record a probe outcome decided without an exception (e.g. "file absent")."""
        self.diagnostics.append(Diagnostic(probe, source, ms, error))
