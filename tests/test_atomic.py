"""Atomic writes: files meant to be shared follow the user's umask, caches stay private."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_pyvariant._atomic import write_bytes_atomic, write_text_atomic
from jupyter_pyvariant.cli import main


@pytest.fixture
def umask() -> Iterator[None]:
    """Umask 022 for the test (a process-wide setting: restored after)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_shared_files_follow_the_umask_and_private_ones_do_not(umask: None, tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "shared.toml", "a = 1\n", shared=True)
    write_text_atomic(tmp_path / "cache.json", "{}")
    assert _mode(tmp_path / "shared.toml") == 0o644
    assert _mode(tmp_path / "cache.json") == 0o600
    os.umask(0o077)
    write_text_atomic(tmp_path / "shared.toml", "a = 2\n", shared=True)
    assert _mode(tmp_path / "shared.toml") == 0o600
    assert (tmp_path / "shared.toml").read_text() == "a = 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json", "shared.toml"]  # no temporaries


def test_a_failed_shared_write_leaves_the_old_file_alone(umask: None, tmp_path: Path) -> None:
    target = tmp_path / "pylock.toml"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        write_bytes_atomic(target, "not bytes", shared=True)  # type: ignore[arg-type]  # fails mid-write
    assert target.read_text() == "old\n"
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "missing" / "x.toml", "", create_parents=False, shared=True)
    assert [p.name for p in tmp_path.iterdir()] == ["pylock.toml"]


def test_a_profile_file_is_written_for_sharing(
    umask: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gpu-node.toml"
    assert main(["profile", "-o", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    assert _mode(path) == 0o644
