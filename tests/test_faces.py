"""The faces over the verbs: the CLI entry points and the magics, in IPython and in a real kernel."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_pyvariant.cli import main

BIN = Path(sys.executable).parent
HEAVY = (
    "httpx",
    "archspec",
    "pynvml",
    "numpy",
    "ipywidgets",
    "jupyter_server",
    "zstandard",
    "jupyter_pyvariant.host",
    "jupyter_pyvariant.kernels",
    "jupyter_pyvariant.verbs",
)


def _live_is_v4() -> bool:
    flags = Path("/proc/cpuinfo").read_text().split()
    return "avx512f" in flags and "avx512bw" in flags and "avx512vl" in flags


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "pyvariant"), "cpuinfo", "--json"],
        [sys.executable, "-m", "jupyter_pyvariant", "cpuinfo", "--json"],
        [str(BIN / "jupyter"), "pyvariant", "cpuinfo", "--json"],
    ],
    ids=["console-script", "python-m", "jupyter-subcommand"],
)
def test_every_entry_point_prints_one_json_report(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    data = json.loads(result.stdout)
    assert data["scope"] == "kernel-host"
    assert data["cpu"]["isa_level"] != ""


@pytest.mark.skipif(
    not _live_is_v4(), reason="needs an x86-64 host with AVX-512 (the project's reference machine)"
)
def test_this_avx512_host_is_v4_in_agreement_with_glibc() -> None:
    out = subprocess.run(
        [str(BIN / "pyvariant"), "cpuinfo", "--json"], capture_output=True, text=True, check=True
    )
    cpu = json.loads(out.stdout)["cpu"]
    assert cpu["isa_level"] == "x86-64-v4"
    assert cpu["glibc_hwcaps"]["level"] == "x86-64-v4"
    assert cpu["glibc_hwcaps"]["agrees"] is True


def test_cli_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cpuinfo", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["no-such-verb"]) == 2
    assert "unknown verb: no-such-verb" in capsys.readouterr().err


def test_help_lists_the_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "cpuinfo" in capsys.readouterr().out
    assert main(["cpuinfo", "--help"]) == 0
    assert "--verbose" in capsys.readouterr().out


def test_text_report_has_sections_and_verbose_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cpuinfo", "-v"]) == 0
    out = capsys.readouterr().out
    for section in ("CPU", "System", "Accelerators", "Python", "What to do next", "Diagnostics"):
        assert f"\n{section}\n" in out


def _fresh_python(code: str) -> list[str]:
    """The lines ``code`` prints in a new interpreter, whose modules are only those it imported."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.strip().splitlines()


def test_loading_the_extension_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        f"heavy = {HEAVY!r}\n"
        "before = {m for m in heavy if m in sys.modules}\n"
        "ip.run_line_magic('load_ext', 'jupyter_pyvariant')\n"
        "assert 'cpuinfo' in ip.magics_manager.magics['line']\n"
        "assert 'pyvariant' in ip.magics_manager.magics['line']\n"
        "print(sorted({m for m in heavy if m in sys.modules} - before))\n"
    )
    assert _fresh_python(code)[-1] == "[]"


def test_a_verb_named_by_a_module_imports_no_other_verb_module() -> None:
    code = (
        "import io, sys, contextlib\n"
        "from jupyter_pyvariant.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['cpuinfo', '--json']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('jupyter_pyvariant.verbs.')))\n"
        "print('dataclasses' in sys.modules)\n"
    )
    modules, dataclasses = _fresh_python(code)[-2:]
    assert modules == "['jupyter_pyvariant.verbs.cpuinfo']"
    assert dataclasses == "False"


def test_every_verb_whose_first_word_names_a_module_lives_there() -> None:
    import pkgutil

    from jupyter_pyvariant import verbs

    modules = {info.name for info in pkgutil.iter_modules(verbs.__path__)}
    for module in sorted(modules):
        for verb in getattr(importlib.import_module(f"jupyter_pyvariant.verbs.{module}"), "VERBS", ()):
            assert verb.path[0] not in modules - {module}, f"{verb.path} is declared in verbs/{module}.py"
    assert verbs.find(["kernel", "list", "--json"])[0].path == ("kernel", "list")
    assert verbs.find(["plan", "numpy"]) == (verbs.find(["plan"])[0], ["numpy"])
    with pytest.raises(verbs.UsageError, match="unknown verb"):
        verbs.find(["no-such-verb"])


def test_cpuinfo_magic_in_terminal_ipython(ipython: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ipython.run_line_magic("cpuinfo", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["scope"] == "kernel-host"
    ipython.run_line_magic("pyvariant", "cpuinfo")
    assert "ISA level" in capsys.readouterr().out


def test_magic_usage_error_is_an_ipython_usage_error(ipython: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="unrecognized arguments"):
        ipython.run_line_magic("cpuinfo", "--nope")


def test_cpuinfo_in_a_real_kernel_shows_html() -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute_interactive(
            "%load_ext jupyter_pyvariant\n%cpuinfo", timeout=60, output_hook=_collect
        )
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    html = [
        m["content"]["data"]["text/html"] for m in _OUTPUTS if "text/html" in m["content"].get("data", {})
    ]
    assert html and "headroom" in html[0] and "<h4>CPU</h4>" in html[0]
    plain = [
        m["content"]["data"]["text/plain"] for m in _OUTPUTS if "text/plain" in m["content"].get("data", {})
    ]
    assert plain and ">> " in plain[0]


_OUTPUTS: list[dict[str, Any]] = []


def _collect(msg: dict[str, Any]) -> None:
    if msg["msg_type"] == "display_data":
        _OUTPUTS.append(msg)


def test_a_failed_task_ends_its_progress_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "empty.ndjson"
    catalog.write_text("")
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    assert main(["kernel", "install", "3.11", "--catalog", str(catalog)]) == 1
    err = capsys.readouterr().err
    assert "kernel failed: no kernel was made" in err
    assert "lists no CPython builds" in err


@pytest.mark.parametrize(
    "command",
    [[str(BIN / "pyvariant"), "--version"], [str(BIN / "jupyter"), "pyvariant", "--version"]],
    ids=["console-script", "jupyter-subcommand"],
)
def test_version_names_the_installed_package(command: list[str]) -> None:
    from jupyter_pyvariant import __version__

    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == f"jupyter_pyvariant {__version__}"


@pytest.mark.parametrize("argv", [["kernel"], ["python"], ["kernel", "--help"]])
def test_a_verb_group_alone_lists_its_verbs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_pyvariant import verbs

    assert main(argv) == 0
    out = capsys.readouterr().out
    group = [" ".join(v.path) for v in verbs.all_verbs() if v.path[0] == argv[0]]
    assert len(group) > 2 and all(name in out for name in group)
    assert f"usage: pyvariant {argv[0]} <verb>" in out and "cpuinfo" not in out


def test_an_unknown_verb_of_a_group_names_that_groups_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kernel", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "unknown verb: kernel bogus; known verbs: kernel install, kernel list" in err
    assert "cpuinfo" not in err


def test_hints_are_written_in_the_face_they_appear_in(
    ipython: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    assert main(["kernel", "remove", "nosuch"]) == 1
    assert "(see: pyvariant kernel list)" in capsys.readouterr().err
    ipython.run_line_magic("pyvariant", "kernel remove nosuch")
    assert "(see: %pyvariant kernel list)" in capsys.readouterr().err
    assert main(["kernel", "list"]) == 0
    assert "make one: pyvariant kernel install 3.13" in capsys.readouterr().out
    ipython.run_line_magic("pyvariant", "kernel list")
    assert "make one: %pyvariant kernel install 3.13" in capsys.readouterr().out


def test_the_reports_next_step_is_in_the_terminals_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_pyvariant.host import report

    command = (report().to_dict()["recommendations"].get("interpreter") or {}).get("command")
    if command is None:
        pytest.skip("no python-build-standalone build fits this host, so the report has no next step")
    assert command.startswith("%pyvariant kernel install ")  # the JSON keeps the magic's spelling
    assert main(["cpuinfo"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "next step" in line]
    assert line.split()[2:] == command.removeprefix("%").split()


def test_hints_in_the_lab_name_the_extensions_menu_entry() -> None:
    """The server's jobs speak to the lab extension's dialog: the label must be the one it shows."""
    from jupyter_pyvariant.display import JsonLinesOutput

    source = (Path(__file__).parents[1] / "labextension/src/kernelPicker.ts").read_text()
    out = JsonLinesOutput()
    assert "export const PROVISION_LABEL = 'Optimized Python for this machine…'" in source
    assert "Optimized Python for this machine…" in out.command("kernel install 3.13")
    assert out.command("kernel remove x") == "pyvariant kernel remove x in a terminal"


def test_text_and_json_reports_agree_on_the_executable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cpuinfo", "--json"]) == 0
    python = json.loads(capsys.readouterr().out)["python"]
    assert main(["cpuinfo"]) == 0
    rows = {
        line.split(None, 1)[0]: line.split(None, 1)[1]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  executable ")
    }
    assert rows["executable"].strip() == python["executable"] == sys.executable
