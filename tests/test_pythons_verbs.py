"""``pyvariant python list|install|remove|gc`` against a loopback mirror."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pbs_mirror import Mirror, host_report, make_archive

from jupyter_pyvariant import verbs
from jupyter_pyvariant.display import TerminalOutput

RELEASE = "20250612"
ARCHIVES = [
    make_archive("3.13.5", RELEASE, f"{arch}-unknown-linux-gnu", flavour)
    for arch in ("x86_64_v4", "x86_64_v3", "x86_64_v2", "x86_64")
    for flavour in ("install_only_stripped", "freethreaded+install_only_stripped")
] + [make_archive("3.12.11", RELEASE, "x86_64_v3-unknown-linux-gnu")]

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the synthetic interpreters are shell scripts"
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with Mirror() as mirror:
        mirror.publish(ARCHIVES)
        report = tmp_path / "host.json"
        report.write_text(json.dumps(host_report(level="x86-64-v3")))
        monkeypatch.setenv("PYVARIANT_PYTHON_CATALOG", f"{mirror.url}/index.ndjson")
        monkeypatch.setenv("PYVARIANT_PYTHON_MIRROR", mirror.url)
        monkeypatch.setenv("PYVARIANT_PYTHON_STORE", str(tmp_path / "store"))
        monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("JUPYTER_PATH", "")
        yield {"mirror": mirror, "report": str(report), "tmp": tmp_path}


def run(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = verbs.run(list(argv), TerminalOutput(stdout, stderr))
    return code, stdout.getvalue(), stderr.getvalue()


def test_list_best_per_version(env: dict[str, Any]) -> None:
    code, out, _ = run("python", "list", "--host-report", env["report"], "--json")
    assert code == 0
    data = json.loads(out)
    available = [(b["version"], b["level"], b["flavour"]) for b in data["available"]]
    assert available == [
        ("3.13.5", "x86-64-v3", "install_only_stripped"),
        ("3.13.5", "x86-64-v3", "freethreaded+install_only_stripped"),
        ("3.12.11", "x86-64-v3", "install_only_stripped"),
    ]
    assert data["installed"] == []
    _, every, _ = run("python", "list", "--all", "--host-report", env["report"], "--json")
    assert len(json.loads(every)["available"]) == 7, "v4 builds do not fit a v3 host"


def test_install_explain_then_install_then_list(env: dict[str, Any]) -> None:
    code, out, _ = run("python", "install", "3.13", "--explain", "--host-report", env["report"])
    assert code == 0 and "x86-64-v3, the highest this CPU runs" in out
    assert not (env["tmp"] / "store").exists(), "--explain installs nothing"
    code, out, err = run("python", "install", "3.13t", "--host-report", env["report"], "--json")
    assert code == 0, err
    installed = json.loads(out)
    assert installed["marker"]["flavour"] == "freethreaded+install_only_stripped"
    assert Path(installed["executable"]).name == "python3.13t"
    assert "download" in err, "progress goes to stderr"
    _, listing, _ = run("python", "list", "--host-report", env["report"])
    assert "installed:" in listing and "free-threaded" in listing


def test_install_levels_fills_a_shared_store(env: dict[str, Any]) -> None:
    code, out, err = run(
        "python", "install", "3.13", "--levels", "v1,v2,v3,v4", "--host-report", env["report"], "--json"
    )
    assert code == 0, err
    levels = sorted(p["marker"]["level"] for p in json.loads(out))
    assert levels == ["x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4"]
    v4 = next(p for p in json.loads(out) if p["marker"]["level"] == "x86-64-v4")
    assert v4["marker"]["smoke_test"]["ran"] is False, "a v3 host cannot smoke-test a v4 build"


def test_remove_and_gc_spare_what_kernels_use(env: dict[str, Any]) -> None:
    for version in ("3.13", "3.12"):
        assert run("python", "install", version, "--host-report", env["report"])[0] == 0
    _, out, _ = run("python", "list", "--host-report", env["report"], "--json")
    pythons = {p["marker"]["version"]: p for p in json.loads(out)["installed"]}
    spec_dir = env["tmp"] / "data" / "kernels" / "uses-313"
    spec_dir.mkdir(parents=True)
    argv = [pythons["3.13.5"]["executable"], "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "x", "language": "python"})
    )
    code, _, err = run("python", "remove", "3.13")
    assert code == 1 and "a kernelspec uses" in err
    code, out, _ = run("python", "gc", "--dry-run", "--json")
    assert [p["marker"]["version"] for p in json.loads(out)["removed"]] == ["3.12.11"]
    code, out, _ = run("python", "gc")
    assert code == 0 and "removed" in out
    _, out, _ = run("python", "list", "--host-report", env["report"], "--json")
    assert [p["marker"]["version"] for p in json.loads(out)["installed"]] == ["3.13.5"]
    code, _, err = run("python", "remove", "3.11")
    assert code == 1 and "no interpreter matching '3.11'" in err


def test_bad_input(env: dict[str, Any]) -> None:
    with pytest.raises(verbs.UsageError, match="cannot read the Python version request 'three'"):
        run("python", "install", "three", "--host-report", env["report"])
    with pytest.raises(verbs.UsageError, match="unknown level 'v7'"):
        run("python", "install", "3.13", "--level", "v7", "--host-report", env["report"])
    listed = env["tmp"] / "list.json"
    listed.write_text("[]")
    with pytest.raises(verbs.UsageError, match="a host report is one JSON object"):
        run("python", "list", "--host-report", str(listed))
    code, _, err = run("python", "install", "3.9", "--host-report", env["report"])
    assert code == 1 and "no CPython 3.9 build" in err and "3.13.5, 3.12.11" in err


def test_cli_entry_point_reports_a_down_mirror(env: dict[str, Any], tmp_path: Path) -> None:
    env["mirror"].stop()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_pyvariant",
            "python",
            "install",
            "3.13",
            "--host-report",
            env["report"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "error: cannot fetch the catalog: cannot connect to 127.0.0.1" in result.stderr
