"""The interpreter probe: the live interpreter's facts, build-flag parsing, the provisioning marker."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host._probe import Recorder
from jupyter_pyvariant.host.interpreter import MARKER_NAME, build_flags, isa_level, probe_interpreter
from jupyter_pyvariant.host.system import probe_capacity, probe_system

PBS_CONFIG_ARGS = (
    "'--build=x86_64-pc-linux-gnu' '--host=x86_64-unknown-linux-gnu' '--prefix=/install' '--with-lto' "
    "'--enable-optimizations' '--without-ensurepip' 'CFLAGS=-fPIC -I/tools/deps/include -march=x86-64-v3'"
)


def test_live_interpreter_facts() -> None:
    rec = Recorder()
    info = probe_interpreter(rec)
    assert info.version.startswith("{}.{}.{}".format(*sys.version_info[:3]))
    assert info.implementation == sys.implementation.name
    assert info.executable == sys.executable
    assert info.real_executable == os.path.realpath(sys.executable)
    assert info.free_threaded == bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    if not info.free_threaded:
        assert info.gil_enabled is True
    assert info.debug == hasattr(sys, "gettotalrefcount")
    assert info.compiler
    if sysconfig.get_config_var("CONFIG_ARGS") is not None:
        assert isinstance(info.pgo, bool) and isinstance(info.lto, bool)
    assert not [d for d in rec.diagnostics if d.error]
    data = info.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert isinstance(data["standalone"]["evidence"], list)


def test_python_build_standalone_flags() -> None:
    flags = build_flags(
        {"CONFIG_ARGS": PBS_CONFIG_ARGS, "CFLAGS": "-O3 -march=x86-64-v3", "prefix": "/install"}
    )
    assert (flags.pgo, flags.lto, flags.jit_built, flags.march) == (True, True, False, "x86-64-v3")
    assert isa_level(flags.march, "x86_64") == "x86-64-v3"


def test_distribution_build_without_optimisation_flags() -> None:
    flags = build_flags({"CONFIG_ARGS": "'--prefix=/usr' '--enable-shared'", "CFLAGS": "-O3 -Wall"})
    assert (flags.pgo, flags.lto, flags.jit_built, flags.march) == (False, False, False, None)
    assert isa_level(None, "x86_64") == "x86-64-v1"


@pytest.mark.parametrize(
    ("config", "pgo", "lto", "jit"),
    [
        ({"CONFIG_ARGS": "'--with-lto=no' '--enable-optimizations=no'"}, False, False, False),
        ({"CONFIG_ARGS": "'--with-lto=thin'", "PY_LDFLAGS_NODIST": "-flto=thin"}, False, True, False),
        ({"CONFIG_ARGS": "", "PY_CFLAGS_NODIST": "-fprofile-use -fprofile-correction"}, True, False, False),
        ({"CONFIG_ARGS": "'--enable-experimental-jit=yes-off'"}, False, False, True),
        ({}, None, None, None),
    ],
)
def test_flag_spellings(config: dict[str, str], pgo: bool | None, lto: bool | None, jit: bool | None) -> None:
    flags = build_flags(config)
    assert (flags.pgo, flags.lto, flags.jit_built) == (pgo, lto, jit)


def test_last_march_wins() -> None:
    flags = build_flags({"CONFIG_ARGS": "'CFLAGS=-march=x86-64'", "PY_CORE_CFLAGS": "-march=x86-64-v2 -O3"})
    assert flags.march == "x86-64-v2"


@pytest.mark.parametrize(
    ("march", "machine", "level"),
    [
        ("x86-64", "x86_64", "x86-64-v1"),
        ("x86-64-v4", "x86_64", "x86-64-v4"),
        (None, "AMD64", "x86-64-v1"),
        (None, "aarch64", "armv8.0-a"),
        ("armv8-a", "aarch64", "armv8.0-a"),
        ("armv8.2-a+crypto+fp16", "aarch64", "armv8.2-a"),
        ("native", "x86_64", None),
        ("haswell", "x86_64", None),
        (None, "riscv64", None),
    ],
)
def test_isa_level(march: str | None, machine: str, level: str | None) -> None:
    assert isa_level(march, machine) == level


def test_marker_and_python_json_are_evidence(tmp_path: Path) -> None:
    install = tmp_path / "python" / "install"
    install.mkdir(parents=True)
    (tmp_path / "python" / "PYTHON.json").write_text("{}")
    marker = {
        "triple": "x86_64_v3-unknown-linux-gnu",
        "flavour": "install_only_stripped",
        "release": "20261015",
        "version": "3.13.9",
        "url": "https://example.invalid/cpython.tar.gz",
        "sha256": "ab" * 32,
        "unknown_key": 1,
    }
    (install / MARKER_NAME).write_text(json.dumps(marker))
    standalone = probe_interpreter(Recorder(), base_prefix=install).to_dict()["standalone"]
    assert standalone["detected"] is True
    assert standalone["evidence"] == [
        f"{tmp_path / 'python' / 'PYTHON.json'} exists",
        f"{MARKER_NAME} marker",
    ]
    del marker["unknown_key"]
    assert standalone["marker"] == marker


@pytest.mark.parametrize("text", ["[1, 2]", '{"triple": 42}', "{not json"])
def test_bad_marker_is_none_with_reason(tmp_path: Path, text: str) -> None:
    (tmp_path / MARKER_NAME).write_text(text)
    rec = Recorder()
    standalone = probe_interpreter(rec, base_prefix=tmp_path).standalone
    assert standalone.marker is None
    assert standalone.detected is False
    (failure,) = [d for d in rec.diagnostics if d.error]
    assert failure.probe == "python.standalone"
    assert failure.source == str(tmp_path / MARKER_NAME)


def test_no_marker_no_evidence(tmp_path: Path) -> None:
    standalone = probe_interpreter(Recorder(), base_prefix=tmp_path).standalone
    assert standalone.marker is None
    if sysconfig.get_config_var("prefix") != "/install":
        assert standalone.to_dict() == {"detected": False, "evidence": [], "marker": None}


def _run_probes(prelude: str) -> dict[str, object]:
    """Run every probe of this wing in a fresh interpreter; report what it imported and found."""
    script = f"""
{prelude}
import json, sys
from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host._probe import Recorder
from jupyter_pyvariant.host.interpreter import probe_interpreter
from jupyter_pyvariant.host.system import probe_capacity, probe_system
rec = Recorder()
probe_system(Roots(), rec); probe_capacity(Roots(), rec)
python = probe_interpreter(rec).to_dict()
json.dump({{"numpy_imported": "numpy" in sys.modules, "numpy": python["numpy"]}}, sys.stdout)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_probes_never_import_numpy() -> None:
    assert _run_probes("") == {"numpy_imported": False, "numpy": None}


@pytest.mark.skipif(importlib.util.find_spec("numpy") is None, reason="numpy is not installed here")
def test_numpy_described_when_the_user_imported_it() -> None:
    numpy = _run_probes("import numpy")["numpy"]
    assert isinstance(numpy, dict)
    assert isinstance(numpy["simd_baseline"], list) and isinstance(numpy["simd_dispatch"], list)
    assert all(isinstance(name, str) for name in [*numpy["simd_baseline"], *numpy["simd_dispatch"]])
    assert numpy["blas"] is None or isinstance(numpy["blas"], str)


def test_probes_print_nothing(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rec = Recorder()
    for roots in (Roots(), Roots(procfs=tmp_path / "proc", sysfs=tmp_path / "sys")):
        probe_system(roots, rec, {})
        probe_capacity(roots, rec, {"MEM_LIMIT": "garbage"})
    probe_interpreter(rec, base_prefix=tmp_path)
    assert capfd.readouterr() == ("", "")
