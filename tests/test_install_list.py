"""``pyvariant list`` over an environment whose installed ``variant.json`` files are garbage: every row
is listed, and a row whose file cannot be read says so instead of passing for a plain wheel."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from variant_wheels import level_properties, variant_metadata

from jupyter_pyvariant.cli import main

GARBAGE = {
    "notjson": b"{ this is not json",
    "latin1": b'{"variants": {"caf\xe9": {}}}',  # not UTF-8
    "array": b"[1, 2, 3]",
    "deep": b"[" * 100_000,
    "wrongtypes": b'{"default-priorities": 7, "variants": {"x86_64_v3": "v3"}}',
    "novariants": json.dumps(variant_metadata({})).encode(),
}


def _site_packages(python: Path) -> Path:
    script = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return Path(
        subprocess.run([python, "-c", script], check=True, capture_output=True, text=True).stdout.strip()
    )


def _dist_info(site: Path, name: str, variant_json: bytes) -> None:
    folder = site / f"{name}-1.0.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (folder / "RECORD").write_text("")
    (folder / "variant.json").write_bytes(variant_json)


@pytest.fixture
def garbled(venv: Path) -> Path:
    """The venv with one distribution per kind of garbage, and one good variant (the control)."""
    site = _site_packages(venv)
    for name, data in GARBAGE.items():
        _dist_info(site, name, data)
    good = variant_metadata({"x86_64_v3": level_properties("x86_64_v3")})
    _dist_info(site, "good", json.dumps(good).encode())
    return venv


def test_json_lists_every_row_and_names_each_unreadable_file(
    garbled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--python", str(garbled), "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["distributions"]}
    assert rows["good"]["variant_label"] == "x86_64_v3"
    assert (
        rows["good"]["properties"] == ["x86_64 :: level :: v3"] and "variant_json_error" not in rows["good"]
    )
    for name in GARBAGE:
        row = rows[name]
        assert row["variant_label"] is None and row["properties"] == [], row
        assert row["variant_json_error"].startswith(f"{name}: {name}-1.0.dist-info/variant.json: "), row


def test_text_says_so_on_the_row_and_variants_only_keeps_it(
    garbled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--python", str(garbled), "--variants-only"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in GARBAGE:
        (row,) = [line for line in lines if line.startswith(f"{name} ")]
        assert "unreadable variant.json" in row, row
    (good,) = [line for line in lines if line.startswith("good ")]
    assert "x86_64_v3" in good and "unreadable" not in good
