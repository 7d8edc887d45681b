"""pylock.toml: written with hashes and variants-json, read back, synced exactly (also for other machines)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest
import variant_wheels
from variant_wheels import V3_PROFILE, IndexServer, freeze, probe, write_profile

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.install.lock import LockError, read_lock


def _lock(index: IndexServer, venv: Path, tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "pylock.toml"
    common = ["--index-url", index.url, "--python", str(venv), "--json"]
    assert main(["lock", "simdcalc", "-o", str(path), *common, *extra]) == 0
    return path


def _sync(index: IndexServer, venv: Path, lock: Path, *extra: str) -> int:
    return main(["sync", str(lock), "--index-url", index.url, "--python", str(venv), "--json", *extra])


def test_lock_for_another_machine_round_trips_and_syncs_exactly(
    simd_index: IndexServer, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install = ["install", "simdinfo", "--index-url", simd_index.url, "--python", str(venv)]
    assert main([*install, "--profile", write_profile(tmp_path, "")]) == 0  # a lock lists installed ones too
    path = _lock(simd_index, venv, tmp_path, "--profile", write_profile(tmp_path, V3_PROFILE))
    capsys.readouterr()
    data = tomllib.loads(path.read_text())
    assert data["lock-version"] == "1.0"
    packages = {p["name"]: p for p in data["packages"]}
    assert set(packages) == {"simdcalc", "simdinfo"}
    (wheel,) = packages["simdinfo"]["wheels"]
    assert wheel["name"].endswith("-x86_64_v3.whl")
    assert (
        wheel["hashes"]["sha256"]
        == hashlib.sha256((simd_index.root / wheel["name"]).read_bytes()).hexdigest()
    )
    variants = packages["simdinfo"]["variants-json"]
    assert variants["url"].endswith("/files/simdinfo-1.0.0-variants.json")
    expected = hashlib.sha256((simd_index.root / "simdinfo-1.0.0-variants.json").read_bytes()).hexdigest()
    assert variants["hashes"]["sha256"] == expected
    assert packages["simdinfo"]["tool"]["jupyter_pyvariant"]["properties"] == ["x86_64 :: level :: v3"]

    lock = read_lock(path)
    assert {(p.name, p.variant_label, p.files[0].filename) for p in lock.packages} == {
        (name, p["tool"]["jupyter_pyvariant"]["variant-label"], p["wheels"][0]["name"])
        for name, p in packages.items()
    }

    before = freeze(venv)
    assert _sync(simd_index, venv, path, "--dry-run") == 0
    assert freeze(venv) == before
    assert _sync(simd_index, venv, path) == 0
    assert probe(venv, "simdinfo.build()") == "x86_64_v3"  # this host is better, but the lock wins
    capsys.readouterr()
    assert _sync(simd_index, venv, path) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []


def test_sync_puts_back_the_locked_variant(
    simd_index: IndexServer, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _lock(simd_index, venv, tmp_path, "--profile", write_profile(tmp_path, V3_PROFILE))
    assert main(["install", "simdinfo", "--index-url", simd_index.url, "--python", str(venv), "--profile",
                 write_profile(tmp_path, "")]) == 0  # fmt: skip
    assert probe(venv, "simdinfo.build()") == "null"
    capsys.readouterr()
    assert _sync(simd_index, venv, path) == 0
    assert json.loads(capsys.readouterr().out)["reinstall"] == ["simdinfo"]
    assert probe(venv, "simdinfo.build()") == "x86_64_v3"


def test_a_tampered_lock_changes_nothing(
    simd_index: IndexServer, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _lock(simd_index, venv, tmp_path)
    text = path.read_text()
    simdinfo = next(p for p in tomllib.loads(text)["packages"] if p["name"] == "simdinfo")
    digest = simdinfo["wheels"][0]["hashes"]["sha256"]  # this host's choice
    path.write_text(text.replace(digest, "f" * 64))
    before = freeze(venv)
    capsys.readouterr()
    assert _sync(simd_index, venv, path) == 1
    error = json.loads(capsys.readouterr().out)["error"]  # --json: the failure is the one document
    assert "simdinfo: simdinfo-1.0.0-" in error and "promised ffff" in error
    assert freeze(venv) == before


def test_unusable_locks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "2.0"\n')
    with pytest.raises(LockError, match=r"pylock\.toml: lock-version '2\.0' is not supported"):
        read_lock(path)
    path.write_text('lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\n')
    with pytest.raises(LockError, match="package x: has neither a wheel nor an sdist"):
        read_lock(path)
    wheel = '[[packages.wheels]]\nurl = "http://x/x-1.whl"\nhashes = { sha256 = "aa" }\n'
    path.write_text('lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\n' + wheel)
    with pytest.raises(LockError, match=r"package x wheel: invalid wheel filename 'x-1\.whl'"):
        read_lock(path)


def test_lock_without_packages_locks_the_environment_as_it_is(
    simd_index: IndexServer, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import stat
    import subprocess

    assert main(["install", "simdcalc", "--index-url", simd_index.url, "--python", str(venv)]) == 0
    (tmp_path / "local").mkdir()
    local = variant_wheels.build_plain(tmp_path / "local", "localtool", "0.1")  # not on any index
    (wheel,) = local.wheels
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)  # fmt: skip
    capsys.readouterr()
    path = tmp_path / "pylock.toml"
    before = os.umask(0o022)
    try:
        assert (
            main(["lock", "-o", str(path), "--index-url", simd_index.url, "--python", str(venv), "--json"])
            == 0
        )
    finally:
        os.umask(before)
    report = json.loads(capsys.readouterr().out)
    assert report["unlocked"] == ["localtool"]  # pip freeze would show it as "localtool @ file://…"
    assert report["installed_as"] == {}  # installed for this host, locked for this host
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    data = tomllib.loads(path.read_text())
    installed = {json.loads(line)[0]: json.loads(line)[1] for line in freeze(venv)}
    locked = {p["name"]: p for p in data["packages"]}
    assert {name: p["version"] for name, p in locked.items()} == {
        name: version for name, version in installed.items() if name not in ("localtool", "pip")
    }
    for package in locked.values():
        for file in package["wheels"]:
            digest = hashlib.sha256((simd_index.root / file["name"]).read_bytes()).hexdigest()
            assert file["hashes"]["sha256"] == digest
    chosen = locked["simdinfo"]["wheels"][0]["name"]  # this host's choice comes first
    assert chosen.endswith(f"-{probe(venv, 'simdinfo.build()')}.whl")

    copy = variant_wheels.fresh_venv(tmp_path / "copy")
    assert _sync(simd_index, copy, path) == 0
    assert [line for line in freeze(copy) if "localtool" not in line] == [
        line for line in freeze(venv) if "localtool" not in line and not line.startswith('["pip"')
    ]
