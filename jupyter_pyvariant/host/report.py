"""The host report: every probe composed into one value, plus what to do next.

``report()`` is cached per process (the hardware does not change under a running kernel);
``refresh=True`` probes again. Probes never raise, so neither does this.
"""

from __future__ import annotations

import gc
import os
import time
from _thread import allocate_lock
from collections.abc import Mapping
from types import MappingProxyType

from ._fs import Roots
from ._probe import Recorder
from ._values import Record
from .facts import HostFacts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    from .gpu_common import Accelerator

    Scope = Literal["kernel-host", "server-host"]

SCHEMA_VERSION = "1.1"


# What a section whose probe failed shows.
_NOTHING: Mapping[str, Any] = MappingProxyType({})
_UNKNOWN_CPU: dict[str, Any] = {
    "arch": "unknown",
    "vendor": "unknown",
    "model": "unknown",
    "isa_level": "unknown",
    "isa_level_missing": [],
    "isa_next_level": None,
    "features": [],
    "extensions": {},
}


class HostReport(Record):
    """What this machine is, as the JSON contract spells it (``to_dict``), and the typed facts the
    other wings decide by (``facts``)."""

    scope: Scope
    cpu: Mapping[str, Any]
    system: Mapping[str, Any]
    capacity: Mapping[str, Any]
    accelerators: tuple[Mapping[str, Any], ...]
    python: Mapping[str, Any]
    recommendations: Mapping[str, Any]
    diagnostics: tuple[Mapping[str, Any], ...]
    facts: HostFacts
    elapsed_ms: float = 0.0

    def __eq__(self, other: object) -> bool:
        """Reports of the same facts are equal however long each took to probe."""
        if not isinstance(other, HostReport):
            return NotImplemented
        return self._replace(elapsed_ms=0.0)._asdict() == other._replace(elapsed_ms=0.0)._asdict()

    def __hash__(self) -> int:
        return hash(tuple(self._replace(elapsed_ms=0.0)._asdict().values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "scope": self.scope,
            "cpu": dict(self.cpu),
            "system": dict(self.system),
            "capacity": dict(self.capacity),
            "accelerators": [dict(a) for a in self.accelerators],
            "python": dict(self.python),
            "recommendations": dict(self.recommendations),
            "diagnostics": [dict(d) for d in self.diagnostics],
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def collect(
    scope: Scope = "kernel-host", roots: Roots | None = None, environ: Mapping[str, str] | None = None
) -> HostReport:
    """Run every probe now (uncached).

    Automatic garbage collection waits meanwhile: the probes (and the modules they import) make
    thousands of short-lived objects, and in a kernel whose heap IPython filled, the collections
    they trigger cost a tenth of the first report.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _collect(scope, roots, environ)
    finally:
        if enabled:
            gc.enable()


def _collect(scope: Scope, roots: Roots | None, environ: Mapping[str, str] | None) -> HostReport:
    from .cpu import probe_cpu
    from .gpu import probe_accelerators
    from .interpreter import probe_interpreter
    from .recommend import recommendations
    from .system import probe_capacity, probe_system

    start = time.perf_counter()
    roots = roots or Roots.from_env(environ)
    env = os.environ if environ is None else environ
    rec = Recorder()
    # Each probe already contains its own failures; this outer net keeps a bug in one probe from
    # costing the whole report (its section then shows nothing, its facts are unknown).
    cpu = rec.run("cpu", "cpu", lambda: probe_cpu(roots, rec), None)
    system = rec.run("system", "system", lambda: probe_system(roots, rec, env), None)
    capacity = rec.run("capacity", "capacity", lambda: probe_capacity(roots, rec, env), None)
    none: tuple[Accelerator, ...] = ()
    accelerators = rec.run("accelerators", "gpu", lambda: tuple(probe_accelerators(roots, rec, env)), none)
    python = rec.run("python", "interpreter", lambda: probe_interpreter(rec), None)
    facts = HostFacts.of(scope, cpu, system, capacity, accelerators, python)
    advice = rec.run("recommendations", "report", lambda: recommendations(facts, env), _NOTHING)
    return HostReport(
        scope=scope,
        cpu=cpu.to_dict() if cpu else _UNKNOWN_CPU,
        system=system.to_dict() if system else _NOTHING,
        capacity=capacity.to_dict() if capacity else _NOTHING,
        accelerators=tuple(a.to_dict() for a in accelerators),
        python=python.to_dict() if python else _NOTHING,
        recommendations=advice,
        diagnostics=tuple(d.to_dict() for d in rec.diagnostics),
        facts=facts,
        elapsed_ms=(time.perf_counter() - start) * 1000,
    )


_cache: dict[tuple[str, Roots], HostReport] = {}
_lock = allocate_lock()  # threading.Lock, without importing threading


def report(scope: Scope = "kernel-host", refresh: bool = False) -> HostReport:
    """This process's host report, probed once and then served from memory."""
    roots = Roots.from_env()
    key = (scope, roots)
    with _lock:
        if refresh or key not in _cache:
            _cache[key] = collect(scope, roots)
        return _cache[key]
