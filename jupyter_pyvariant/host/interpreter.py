"""How the running Python was built, so the report can tell whether a faster interpreter would help.

The CPU may support x86-64-v4 while the interpreter was compiled for the 2003 baseline, without
profile-guided or link-time optimisation; these are the facts that make a python-build-standalone
kernel worth provisioning. Everything comes from the interpreter's own build configuration
(sysconfig) and runtime flags; numpy is described only when the user already imported it.
"""

from __future__ import annotations

__all__ = ["FLAG_VARS", "MARKER_NAME", "InterpreterInfo", "build_flags", "isa_level", "probe_interpreter"]

import json
import os
import re
import shlex
import sys
import sysconfig
from collections.abc import Mapping

from ._fs import read_text
from ._probe import UNKNOWN, Recorder
from ._runtime import python_build
from ._values import Record, shaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._fs import StrPath

# Written next to the interpreter by this project's provisioning: which archive it came from.
MARKER_NAME = "PYVARIANT-BUILD.json"

# Compiled on first use by re (and cached there), like every pattern of the host probes.
_MARCH = r"-march=([\w.+-]+)"
_X86_MARCH = r"x86-64(-v[1-4])?"
_ARM_MARCH = r"armv(\d+)(?:\.(\d+))?-a(?:\+[\w+]*)?"
# The ISA a compiler targets when no -march is given: the architecture's baseline.
_DEFAULT_LEVEL = {"x86_64": "x86-64-v1", "amd64": "x86-64-v1", "aarch64": "armv8.0-a"}
# Where the flags the interpreter was compiled with are recorded, configure's own arguments first
# (public: the pythons wing asks a freshly unpacked interpreter for the same variables).
FLAG_VARS = ("CONFIG_ARGS", "CFLAGS", "PY_CFLAGS", "PY_CFLAGS_NODIST", "PY_CORE_CFLAGS", "PY_LDFLAGS_NODIST")


class Jit(Record):
    """Whether CPython's experimental JIT was built in, and whether it is running (None: unknowable)."""

    available: bool | None
    enabled: bool | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class BuildMarker(Record):
    """The provisioning marker: which python-build-standalone archive this interpreter came from."""

    triple: str | None = None
    flavour: str | None = None
    release: str | None = None
    version: str | None = None
    url: str | None = None
    sha256: str | None = None

    @classmethod
    def from_json(cls, text: str) -> BuildMarker:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"marker is a JSON {type(data).__name__}, not an object")
        values: dict[str, str | None] = {}
        for name in cls._fields:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"marker field {name!r} is {value!r}, not a string")
            values[name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class Standalone(Record):
    """Whether this is a python-build-standalone interpreter, and why we think so."""

    detected: bool
    evidence: tuple[str, ...]
    marker: BuildMarker | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class NumpyBuild(Record):
    """The already-imported numpy's SIMD baseline, the dispatch targets this CPU runs, and its BLAS."""

    simd_baseline: tuple[str, ...]
    simd_dispatch: tuple[str, ...]
    blas: str | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class InterpreterInfo(Record):
    """The contract's ``python`` object."""

    version: str
    implementation: str
    executable: str
    real_executable: str
    free_threaded: bool
    gil_enabled: bool | None
    debug: bool
    pgo: bool | None
    lto: bool | None
    jit: Jit
    march: str | None
    isa_level: str | None
    standalone: Standalone
    compiler: str
    numpy: NumpyBuild | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class BuildFlags(Record):
    """What the build configuration says about optimisation (None where the platform records nothing)."""

    pgo: bool | None
    lto: bool | None
    jit_built: bool | None
    march: str | None


def _configure_options(config_args: str) -> dict[str, str]:
    """``'--with-lto' '--enable-optimizations=no'`` → ``{"--with-lto": "yes", ...: "no"}``."""
    options: dict[str, str] = {}
    for argument in shlex.split(config_args):
        if argument.startswith("--"):
            name, _, value = argument.partition("=")
            options[name] = value or "yes"
    return options


def build_flags(config: Mapping[str, Any]) -> BuildFlags:
    """Read PGO, LTO, JIT and ``-march`` from sysconfig variables (configure arguments and compiler flags)."""
    config_args = config.get("CONFIG_ARGS")
    texts = [str(config[name]) for name in FLAG_VARS if config.get(name)]
    if config_args is None and not texts:
        return BuildFlags(pgo=None, lto=None, jit_built=None, march=None)
    options = _configure_options(str(config_args or ""))
    flags = " ".join(texts).split()
    marches = re.findall(_MARCH, " ".join(texts))
    return BuildFlags(
        pgo=options.get("--enable-optimizations", "no") != "no" or "-fprofile-use" in flags,
        lto=options.get("--with-lto", "no") != "no" or any(flag.startswith("-flto") for flag in flags),
        jit_built=options.get("--enable-experimental-jit", "no") != "no",
        march=marches[-1] if marches else None,
    )


def isa_level(march: str | None, machine: str) -> str | None:
    """The ISA level a ``-march`` value implies; no ``-march`` means the architecture's baseline.

    Named CPUs (``haswell``) and ``native`` are left to the reader: None.
    """
    if march is None:
        return _DEFAULT_LEVEL.get(machine.lower())
    if x86 := re.fullmatch(_X86_MARCH, march):
        return "x86-64" + (x86[1] or "-v1")
    if arm := re.fullmatch(_ARM_MARCH, march):
        return f"armv{arm[1]}.{arm[2] or 0}-a"
    return None


def _jit(jit_built: bool | None) -> Jit:
    """3.14+ answers through ``sys._jit``; before that only the build flag is known."""
    runtime = getattr(sys, "_jit", None)
    if runtime is not None:
        return Jit(available=bool(runtime.is_available()), enabled=bool(runtime.is_enabled()))
    if jit_built is False:
        return Jit(available=False, enabled=False)
    return Jit(available=jit_built, enabled=None)


def _gil_enabled(free_threaded: bool) -> bool | None:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_enabled is not None:
        return bool(is_enabled())
    return None if free_threaded else True


def _standalone(config: Mapping[str, Any], base_prefix: str, rec: Recorder) -> Standalone:
    """python-build-standalone keeps its build prefix ``/install`` and ships ``PYTHON.json``."""
    evidence: list[str] = []
    if config.get("prefix") == "/install":
        evidence.append("sysconfig prefix is /install")
    for folder in (base_prefix, os.path.dirname(base_prefix)):
        candidate = os.path.join(folder, "PYTHON.json")
        if os.path.isfile(candidate):
            evidence.append(f"{candidate} exists")
            break
    marker_path = os.path.join(base_prefix, MARKER_NAME)
    marker = None
    if os.path.isfile(marker_path):
        marker = rec.run(
            "python.standalone",
            str(marker_path),
            lambda: BuildMarker.from_json(read_text(marker_path)),
            None,
        )
        if marker is not None:
            evidence.append(f"{MARKER_NAME} marker")
    return Standalone(detected=bool(evidence), evidence=tuple(evidence), marker=marker)


def _numpy(rec: Recorder) -> NumpyBuild | None:
    """Describe numpy only when the user already imported it: importing it here would cost ~100 ms."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    umath = sys.modules.get("numpy._core._multiarray_umath") or sys.modules.get(
        "numpy.core._multiarray_umath"
    )
    runtime_features: Mapping[str, bool] = getattr(umath, "__cpu_features__", {})
    dispatch = [name for name in getattr(umath, "__cpu_dispatch__", ()) if runtime_features.get(name, True)]

    def blas() -> str | None:
        config = numpy.show_config(mode="dicts")
        name = config["Build Dependencies"]["blas"]["name"]
        return str(name) if name else None

    return NumpyBuild(
        simd_baseline=tuple(getattr(umath, "__cpu_baseline__", ())),
        simd_dispatch=tuple(dispatch),
        blas=rec.run("python.numpy", "numpy.show_config(mode='dicts')", blas, None),
    )


def probe_interpreter(rec: Recorder, *, base_prefix: StrPath | None = None) -> InterpreterInfo:
    """The contract's ``python`` object for the running interpreter; never raises.

    ``base_prefix`` (default ``sys.base_prefix``) is where the build marker and PYTHON.json are looked for.
    """
    config: Mapping[str, Any] = rec.run(
        "python.sysconfig", "sysconfig.get_config_vars()", sysconfig.get_config_vars, {}
    )
    flags = build_flags(config)
    free_threaded = bool(config.get("Py_GIL_DISABLED"))
    machine = sysconfig.get_platform().rsplit("-", 1)[-1]
    prefix = sys.base_prefix if base_prefix is None else os.fspath(base_prefix)
    version, compiler = python_build()
    return InterpreterInfo(
        version=version,
        implementation=sys.implementation.name,
        executable=sys.executable,
        real_executable=os.path.realpath(sys.executable) if sys.executable else "",
        free_threaded=free_threaded,
        gil_enabled=_gil_enabled(free_threaded),
        debug=bool(config.get("Py_DEBUG")) or hasattr(sys, "gettotalrefcount"),
        pgo=flags.pgo,
        lto=flags.lto,
        jit=_jit(flags.jit_built),
        march=flags.march,
        isa_level=isa_level(flags.march, machine),
        standalone=_standalone(config, prefix, rec),
        compiler=compiler or UNKNOWN,
        numpy=_numpy(rec),
    )
