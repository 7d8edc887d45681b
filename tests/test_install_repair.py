"""An install interrupted at the wrong moment leaves a distribution without its RECORD, which pip then
refuses to uninstall ("Cannot uninstall …, RECORD file not found") in every later run. The next
install notices it, installs that distribution whole again, and says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import IndexServer, fresh_venv, serve, write_wheel

from jupyter_pyvariant.cli import main


@pytest.fixture
def index(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "upstream"
    root.mkdir()
    write_wheel(root, "app", "1.0", "py3-none-any", {"app/__init__.py": b"VALUE = 1\n"}, requires=["lib>=1"])
    write_wheel(root, "lib", "1.0", "py3-none-any", {"lib/__init__.py": b""})
    yield from serve(root)


def _install(index: IndexServer, venv: Path, installer: str, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    argv = ["install", "app", "--index-url", index.url, "--python", str(venv), "--installer", installer]
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_distribution_left_without_record_is_installed_whole_again(
    index: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    installer: str,
) -> None:
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
    python = fresh_venv(tmp_path / "venv")
    assert _install(index, python, installer, capsys)["repaired"] == []
    (record,) = (tmp_path / "venv").glob("lib/python*/site-packages/lib-1.0.dist-info/RECORD")
    record.unlink()  # what a pip killed at its first write leaves behind

    result = _install(index, python, installer, capsys)
    assert result["repaired"] == ["lib 1.0"]
    assert record.is_file(), "lib was installed whole again"
    site = record.parent.parent
    assert not list(site.glob("*.pyvariant-incomplete")), "the incomplete folder set aside is gone"
    assert _install(index, python, installer, capsys)["repaired"] == [], "nothing left to repair"


def test_the_text_output_says_what_was_repaired(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
    python = fresh_venv(tmp_path / "venv")
    _install(index, python, "uv", capsys)
    (record,) = (tmp_path / "venv").glob("lib/python*/site-packages/app-1.0.dist-info/RECORD")
    record.unlink()
    assert main(["install", "app", "--index-url", index.url, "--python", str(python)]) == 0
    assert "repaired (an interrupted install had left no RECORD): app 1.0" in capsys.readouterr().out
