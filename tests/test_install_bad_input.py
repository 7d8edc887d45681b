"""Bad input: each failure names the package, the file and the source, and the environment stays as it was."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from variant_wheels import V3_PROFILE, freeze, serve, write_profile

from jupyter_pyvariant.cli import main


@pytest.fixture
def installed(venv: Path, simd_wheels: Path, tmp_path: Path) -> Iterator[list[str]]:
    """The environment after a good install: what every failed attempt must leave untouched."""
    for index in serve(simd_wheels):
        assert (
            _run(index.url, venv, tmp_path, "simdinfo", "--profile", write_profile(tmp_path, V3_PROFILE)) == 0
        )
    before = freeze(venv)
    yield before
    assert freeze(venv) == before


def _run(url: str, venv: Path, tmp_path: Path, *args: str) -> int:
    return main(["install", *args, "--index-url", url, "--python", str(venv), "--timeout", "2"])


def _unanswered_index_url() -> str:
    """An index URL on a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/simple"


def _copy(simd_wheels: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(simd_wheels, root)
    return root


def test_a_hash_mismatch_is_named_and_installs_nothing(
    installed: list[str], simd_wheels: Path, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in serve(simd_wheels, mode="wrong-hash"):
        assert _run(index.url, venv, tmp_path, "simdcalc") == 1
    error = capsys.readouterr().err
    assert "simdcalc: simdcalc-2.0.0-py3-none-any-x86_64_v3.whl from http://127.0.0.1:" in error
    assert "but http://127.0.0.1:" in error and "promised 0000" in error


def test_an_index_that_is_down(
    installed: list[str], venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _unanswered_index_url()
    assert _run(url, venv, tmp_path, "simdcalc") == 1
    assert f"error: simdcalc: {url}/simdcalc/ did not answer" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["slow", "garbage"])
def test_a_slow_or_garbled_index(
    installed: list[str],
    simd_wheels: Path,
    venv: Path,
    tmp_path: Path,
    mode: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for index in serve(simd_wheels, mode=mode):
        assert _run(index.url, venv, tmp_path, "simdcalc") == 1
    error = capsys.readouterr().err
    expected = "did not answer (ReadTimeout" if mode == "slow" else "is not a simple-API page"
    assert f"error: simdcalc: {index.url}/simdcalc/ {expected}" in error


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{ not json", "not valid JSON"),
        (
            json.dumps({"$schema": "https://variants-schema.wheelnext.dev/v7.0.0.json", "variants": {}}),
            "schema",
        ),
        (
            json.dumps(
                {
                    "$schema": "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
                    "default-priorities": {"namespace": ["x86_64"]},
                    "variants": {"x86_64_v3": {"x86_64": {"level": ["V3!"]}}},
                }
            ),
            "invalid variant value",
        ),
    ],
    ids=["not-json", "unknown-major", "bad-property"],
)
def test_malformed_variant_metadata(
    installed: list[str],
    simd_wheels: Path,
    venv: Path,
    tmp_path: Path,
    document: str,
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _copy(simd_wheels, tmp_path)
    (root / "simdinfo-1.0.0-variants.json").write_text(document)
    for index in serve(root):
        assert _run(index.url, venv, tmp_path, "simdinfo") == 1
    error = capsys.readouterr().err
    assert "simdinfo: simdinfo-1.0.0-variants.json from http://127.0.0.1:" in error
    assert "/files/simdinfo-1.0.0-variants.json" in error and problem in error


def test_bad_metadata_of_a_dependency_is_named_too(
    installed: list[str], simd_wheels: Path, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(simd_wheels, tmp_path)
    (root / "simdinfo-1.0.0-variants.json").write_text("[]")
    for index in serve(root):
        assert _run(index.url, venv, tmp_path, "simdcalc", "--profile", write_profile(tmp_path, "")) == 1
    assert "simdinfo: simdinfo-1.0.0-variants.json from http://127.0.0.1:" in capsys.readouterr().err


def test_failures_are_named_in_an_empty_environment_too(
    simd_wheels: Path, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With nothing installed the installer starts while the requested pages are still read: the
    error is still the one that names the package, the file and the source."""
    before = freeze(venv)
    root = _copy(simd_wheels, tmp_path)
    (root / "simdinfo-1.0.0-variants.json").write_text("{ not json")
    for index in serve(root):
        assert _run(index.url, venv, tmp_path, "simdinfo") == 1
    error = capsys.readouterr().err
    assert "error: simdinfo: simdinfo-1.0.0-variants.json from http://127.0.0.1:" in error
    assert "not valid JSON" in error
    url = _unanswered_index_url()
    assert _run(url, venv, tmp_path, "simdcalc") == 1
    assert f"error: simdcalc: {url}/simdcalc/ did not answer" in capsys.readouterr().err
    assert freeze(venv) == before


def test_bad_requirements_and_files(venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "simd info!", "--python", str(venv)]) == 1
    assert "invalid requirement 'simd info!'" in capsys.readouterr().err
    listing = tmp_path / "requirements.txt"
    listing.write_text("simdinfo\n--find-links /somewhere\n")
    assert main(["plan", "-r", str(listing), "--python", str(venv)]) == 1
    assert "requirements.txt:2: option lines are not supported here" in capsys.readouterr().err
    assert main(["plan", "--python", str(venv), "--profile", str(tmp_path / "missing.toml"), "x"]) == 1
    assert "cannot read profile" in capsys.readouterr().err


def test_a_label_missing_from_variants_json_is_rejected_not_guessed(
    simd_wheels: Path, tmp_path: Path
) -> None:
    root = _copy(simd_wheels, tmp_path)
    document = json.loads((root / "simdinfo-1.0.0-variants.json").read_text())
    del document["variants"]["x86_64_v4"]
    (root / "simdinfo-1.0.0-variants.json").write_text(json.dumps(document))
    from jupyter_pyvariant.install.plan import Options
    from jupyter_pyvariant.install.session import Session

    for index in serve(root):
        options = Options(requirements=("simdinfo",), index_url=index.url, cache_dir=tmp_path / "cache")
        with Session(options) as session:
            choice = session.chooser.choose("simdinfo")
    assert choice is not None
    version = choice.version("1.0.0")
    assert version is not None
    assert version.label != "x86_64_v4"
    assert "not described by the variant metadata" in version.rejected["x86_64_v4"]


def test_an_unreadable_lock(tmp_path: Path, venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text("not toml [")
    assert main(["sync", str(lock), "--python", str(venv)]) == 1
    assert f"cannot read lock {lock}" in capsys.readouterr().err
