"""A variant wheel whose own ``variant.json`` disagrees with its index's ``variants.json`` is refused.

The wheels are real zip files with a complete dist-info, built by ``variant_wheels`` and served by its
loopback index; installs run through the real command line into a fresh venv, which must be left
exactly as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import (
    V3_PROFILE,
    build_labelled,
    freeze,
    fresh_venv,
    level_properties,
    serve,
    variant_metadata,
    write_profile,
    write_wheel,
)

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.variants.embedded import ExpectedVariant
from jupyter_pyvariant.variants.metadata import MetadataError
from jupyter_pyvariant.variants.properties import VariantProperty

WHEEL = "mislabel-1.0-py3-none-any-x86_64_v3.whl"
V3 = frozenset({VariantProperty("x86_64", "level", "v3")})


def _release(root: Path, wheel_says: dict[str, Any] | None) -> Path:
    """``mislabel`` 1.0 (v3 and null wheels, and their variants.json); the v3 wheel is then rebuilt
    with ``wheel_says`` as its variant.json (None: without one). Returns the v3 wheel."""
    root.mkdir(exist_ok=True)
    build_labelled(root, "mislabel", "1.0", {"x86_64_v3": level_properties("x86_64_v3"), "null": {}})
    files = {"mislabel/__init__.py": b'BUILD = "x86_64_v3"\n'}
    return write_wheel(
        root, "mislabel", "1.0", "py3-none-any", files, label="x86_64_v3", variant_json=wheel_says
    )


def _install(url: str, venv: Path, tmp_path: Path, *extra: str) -> int:
    profile = write_profile(tmp_path, V3_PROFILE)
    argv = ["install", "mislabel", "--index-url", url, "--python", str(venv), "--profile", profile]
    return main([*argv, "--timeout", "5", *extra])


@pytest.mark.parametrize(
    ("wheel_says", "why"),
    [
        (
            variant_metadata({"x86_64_v3": level_properties("x86_64_v4")}),
            "its variant.json gives label 'x86_64_v3' the properties {{x86_64 :: level :: v4}}, "
            "but the index {index} gives 'x86_64_v3' {{x86_64 :: level :: v3}} "
            "(in {files}/mislabel-1.0-variants.json)",
        ),
        (
            variant_metadata({"x86_64_v4": level_properties("x86_64_v4")}),
            "variant.json describes label 'x86_64_v4' but the filename carries 'x86_64_v3'",
        ),
        (None, "expected one *.dist-info/variant.json, found none"),
    ],
    ids=["other-properties", "other-label", "no-variant-json"],
)
def test_a_disagreeing_wheel_fails_the_install_before_anything_changes(
    venv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wheel_says: dict[str, Any] | None,
    why: str,
) -> None:
    _release(tmp_path / "index", wheel_says)
    before = freeze(venv)
    for index in serve(tmp_path / "index"):
        assert _install(index.url, venv, tmp_path) == 1
    assert freeze(venv) == before
    error = capsys.readouterr().err
    files = index.url.removesuffix("/simple") + "/files"
    assert f"mislabel: {WHEEL}" in error and f" from {files}/{WHEEL}: " in error, error
    assert why.format(index=index.url, files=files) in error, error


def test_an_agreeing_wheel_installs_with_its_variant_json(venv: Path, tmp_path: Path) -> None:
    """The same release with a truthful wheel: the check lets it through (the control)."""
    _release(tmp_path / "index", variant_metadata({"x86_64_v3": level_properties("x86_64_v3")}))
    for index in serve(tmp_path / "index"):
        assert _install(index.url, venv, tmp_path) == 0
    (installed,) = [line for line in freeze(venv) if "mislabel" in line]
    assert '"1.0"' in installed and "v3" in installed


def test_the_check_reads_the_wheel_under_its_upstream_name(tmp_path: Path) -> None:
    """The spool keeps a download under another local name: the label comes from ``filename``."""
    wheel = _release(tmp_path, variant_metadata({"x86_64_v3": level_properties("x86_64_v3")}))
    local = wheel.rename(tmp_path / ".0123456789abcdef-download.part")
    expected = ExpectedVariant("x86_64_v3", V3, "https://example.org/mislabel-1.0-variants.json")
    where = {"filename": WHEEL, "url": f"https://example.org/{WHEEL}", "index": "https://example.org"}
    expected.check(local, package="mislabel", **where)
    v4 = ExpectedVariant("x86_64_v3", frozenset({VariantProperty("x86_64", "level", "v4")}), "there")
    with pytest.raises(MetadataError, match=r"mislabel: mislabel-1\.0-py3-none-any-x86_64_v3\.whl from"):
        v4.check(local, package="mislabel", **where)


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_changed_claim_is_checked_again_despite_a_warm_installer_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], installer: str
) -> None:
    """The same wheel bytes under the same view address: first the index's claim matches the
    wheel's own variant.json (it installs, and the installer keeps the file); then the index claims
    other properties for the same label. The view's file URL names the claim too, so the installer
    cannot take its cached copy, and the variant.json check refuses the file."""
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "pyvariant-cache"))  # the view's port
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    monkeypatch.setenv("PIP_TRUSTED_HOST", "127.0.0.1")  # pip caches http:// files from these only
    root = tmp_path / "index"
    wheel = _release(root, variant_metadata({"x86_64_v3": level_properties("x86_64_v3")}))
    claim = root / "mislabel-1.0-variants.json"
    true_claim = claim.read_text()
    first, second = fresh_venv(tmp_path / "first"), fresh_venv(tmp_path / "second")
    for index in serve(root):
        assert _install(index.url, first, tmp_path, "--installer", installer) == 0
    assert any(f"/{wheel.name}" in path for _, path, _ in index.requests), "the view fetched the wheel"
    capsys.readouterr()

    v2 = level_properties("x86_64_v2")  # which the v3 profile supports, so the label is still chosen
    claim.write_text(json.dumps({**json.loads(true_claim), "variants": {"x86_64_v3": v2, "null": {}}}))
    before = freeze(second)
    for index in serve(root):
        assert _install(index.url, second, tmp_path, "--installer", installer) == 1
    assert freeze(second) == before
    error = capsys.readouterr().err
    assert "its variant.json gives label 'x86_64_v3' the properties {x86_64 :: level :: v3}" in error, error
    assert "the index" in error and "gives 'x86_64_v3' {x86_64 :: level :: v2}" in error, error
