"""``pyvariant python list|install|remove|gc`` against a loopback mirror."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pbs_mirror import Mirror, host_report, make_archive

from jupyter_pyvariant import verbs
from jupyter_pyvariant.display import JsonLinesOutput, TerminalOutput

RELEASE = "20250612"
LEVELS = ("x86_64_v4", "x86_64_v3", "x86_64_v2", "x86_64")
ARCHIVES = [
    make_archive("3.13.5", RELEASE, f"{arch}-unknown-linux-gnu", flavour)
    for arch in LEVELS
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


# The keys of the pythons listing, for both faces (tests/test_server_api.py checks GET pythons).
LISTING_KEYS = {"host", "catalog", "builds", "best", "explain", "installed"}


def run(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = verbs.run(list(argv), TerminalOutput(stdout, stderr))
    return code, stdout.getvalue(), stderr.getvalue()


def test_list_best_per_version(env: dict[str, Any]) -> None:
    code, out, _ = run("python", "list", "--host-report", env["report"], "--json")
    assert code == 0
    data = json.loads(out)
    available = [(b["version"], b["level"], b["flavour"]) for b in data["builds"]]
    assert available == [
        ("3.13.5", "x86-64-v3", "install_only_stripped"),
        ("3.13.5", "x86-64-v3", "freethreaded+install_only_stripped"),
        ("3.12.11", "x86-64-v3", "install_only_stripped"),
    ]
    assert data["installed"] == [] and data["best"] is None, "no version asked, none chosen"
    assert set(data) == LISTING_KEYS, "the same shape as GET pythons"
    assert data["host"]["isa_level"] == "x86-64-v3"
    _, every, _ = run("python", "list", "--all", "--host-report", env["report"], "--json")
    assert len(json.loads(every)["builds"]) == 7, "v4 builds do not fit a v3 host"


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
    for way_out in ("--catalog", "PYVARIANT_PYTHON_CATALOG", "--mirror", "PYVARIANT_PYTHON_MIRROR"):
        assert way_out in result.stderr


def test_list_says_which_catalog_answered(env: dict[str, Any]) -> None:
    _, out, _ = run("python", "list", "--host-report", env["report"])
    assert f"catalog: network {env['mirror'].url}/index.ndjson (fetched just now" in out
    _, out, _ = run("python", "list", "--host-report", env["report"], "--json")
    assert json.loads(out)["catalog"]["origin"] == "cache", "the second run reads the fresh cached copy"


@pytest.fixture
def mirror_alone(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Only PYVARIANT_PYTHON_MIRROR is set: the snapshot shipped in the package is the catalog."""
    monkeypatch.delenv("PYVARIANT_PYTHON_CATALOG")
    return env


def test_a_mirror_alone_lists_and_explains_from_the_snapshot(mirror_alone: dict[str, Any]) -> None:
    env = mirror_alone
    code, out, _ = run("python", "list", "--host-report", env["report"], "--json")
    assert code == 0
    data = json.loads(out)
    assert data["catalog"]["origin"] == "snapshot" and not data["catalog"]["stale"]
    best = data["builds"][0]
    assert best["url"].startswith(env["mirror"].url + "/") and best["level"] == "x86-64-v3"
    code, out, _ = run(
        "python", "install", "3.13", "--freethreaded", "--explain", "--host-report", env["report"]
    )
    assert code == 0 and out.startswith("catalog: snapshot jupyter_pyvariant/pythons/data/")
    chosen = "cpython-3.13.15+20260814-x86_64_v3-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz"
    assert f"chosen: {chosen}" in out
    assert env["mirror"].requests == [], "nothing was asked of the network"


def test_kernel_install_explain_with_a_mirror_alone(mirror_alone: dict[str, Any]) -> None:
    from jupyter_pyvariant.host import report
    from jupyter_pyvariant.host.triples import runnable_targets

    if not runnable_targets(report().facts):
        pytest.skip("python-build-standalone publishes no build for this machine's platform")
    code, out, err = run("kernel", "install", "3.13", "--explain", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["explain"][0].startswith("catalog: snapshot")
    assert data["best"]["url"].startswith(mirror_alone["mirror"].url + "/")


def test_offline_without_a_cached_catalog_uses_the_snapshot(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYVARIANT_PYTHON_CATALOG")
    monkeypatch.delenv("PYVARIANT_PYTHON_MIRROR")
    code, out, err = run("python", "list", "--offline", "--host-report", env["report"])
    assert code == 0 and "catalog: snapshot" in out
    assert "offline and no cached copy" in err and "using the snapshot shipped in the package" in err


def _sigill_builds(mirror: Mirror) -> None:
    """Every 3.13 build dies of SIGILL in its smoke test."""
    mirror.publish(
        [make_archive("3.13.5", RELEASE, f"{arch}-unknown-linux-gnu", sigill=True) for arch in LEVELS]
    )


def _corrupt_downloads(mirror: Mirror) -> None:
    """Every archive comes back with other bytes than the catalog's sha256 names."""
    for archive in ARCHIVES:
        mirror.serve_instead(archive.path, archive.data[::-1])


def _failed_install(env: dict[str, Any], spoil: Callable[[Mirror], None], verb: str) -> list[Any]:
    """Run ``VERB install 3.13`` against the spoiled mirror; the bars it closed, in order."""
    from jupyter_pyvariant.host import report
    from jupyter_pyvariant.host.triples import runnable_targets

    if not runnable_targets(report().facts):
        pytest.skip("python-build-standalone publishes no build for this machine's platform")
    spoil(env["mirror"])
    stdout, events = io.StringIO(), io.StringIO()
    code = verbs.run([verb, "install", "3.13", "--json"], JsonLinesOutput(stdout, events))
    assert code == 1 and stdout.getvalue() == "", events.getvalue()
    return [e for e in map(json.loads, events.getvalue().splitlines()) if e["event"] == "done"]


@pytest.mark.parametrize(
    ("spoil", "phase"), [(_corrupt_downloads, "download"), (_sigill_builds, "smoke-test")]
)
def test_a_failed_kernel_install_ends_its_phase_as_unfinished(
    env: dict[str, Any], spoil: Callable[[Mirror], None], phase: str
) -> None:
    closed = _failed_install(env, spoil, "kernel")
    assert closed[-2:] == [
        {"event": "done", "label": phase, "message": "did not finish", "ok": False},
        {"event": "done", "label": "kernel", "message": "no kernel was made", "ok": False},
    ], closed


def test_a_failed_python_install_ends_its_phase_as_unfinished(env: dict[str, Any]) -> None:
    closed = _failed_install(env, _corrupt_downloads, "python")
    assert closed and closed[-1]["label"].endswith(": download"), closed
    assert (closed[-1]["message"], closed[-1]["ok"]) == ("did not finish", False), closed
    assert all(e["message"] != "done" for e in closed), closed
