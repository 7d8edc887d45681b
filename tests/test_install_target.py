"""Asking the target interpreter: its installed distributions read as ``importlib.metadata`` reads them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest
from variant_wheels import fresh_venv

from jupyter_pyvariant.install.runner import InstallerError
from jupyter_pyvariant.install.target import Installed, ask_target, inspect_target

_METADATA = (
    "Metadata-Version: 2.4\r\n"
    "Name: Folded_Pkg\r\n"
    "Version: 1.2\r\n"
    "License: first line\r\n"
    "        \r\n"  # a folded header's blank-looking line does not end the headers
    "        more license\r\n"
    "Requires-Dist: alpha>=1\r\n"
    "Requires-Dist: beta; extra == 'docs'\r\n"
    "\r\n"
    "Requires-Dist: not-a-header\r\n"
)
_IMPORTLIB = (
    "import importlib.metadata as m, json\n"
    "print(json.dumps(sorted([d.metadata['Name'], d.version, d.read_text('variant.json'), d.requires or []]"
    " for d in m.distributions() if d.metadata['Name'])))"
)


def _site_packages(python: Path) -> Path:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def _as_importlib_reads_them(python: Path) -> list[list[object]]:
    done = subprocess.run([str(python), "-c", _IMPORTLIB], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def _rows(distributions: tuple[Installed, ...]) -> list[list[object]]:
    return sorted([d.name, d.version, d.variant_json, list(d.requires)] for d in distributions)


@pytest.mark.parametrize("legacy", [False, True], ids=["dist-info", "with-egg-info"])
def test_the_target_reports_what_importlib_metadata_reports(tmp_path: Path, legacy: bool) -> None:
    python = fresh_venv(tmp_path / "venv")
    site = _site_packages(python)
    folder = site / "Folded_Pkg-1.2.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_bytes(_METADATA.encode())
    (folder / "variant.json").write_text('{"variants": {"x86_64_v3": {}}}')
    (site / "no_metadata-1.0.dist-info").mkdir()  # no METADATA: no distribution
    if legacy:  # egg-info requirements live in requires.txt, with sections for extras
        egg = site / "old_style.egg-info"
        egg.mkdir()
        (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: old-style\nVersion: 0.1\n")
        (egg / "requires.txt").write_text("gamma\n\n[docs]\ndelta\n")
    target = inspect_target(str(python))
    assert _rows(target.distributions) == _as_importlib_reads_them(python)
    found = target.installed("folded-pkg")
    assert found is not None and dataclasses.replace(found, folder=None) == Installed(
        "Folded_Pkg",
        "1.2",
        '{"variants": {"x86_64_v3": {}}}',
        ("alpha>=1", "beta; extra == 'docs'"),
        complete=False,  # no RECORD: what an interrupted install leaves
    )
    assert found.folder in (None, str(folder))  # None where importlib.metadata answered (egg-info)
    assert (target.installed("old-style") is not None) is legacy
    assert target.tags and target.version.count(".") == 2 and not target.has_pip


def test_an_interpreter_that_cannot_start_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-python"
    pending = ask_target(str(missing))
    with pytest.raises(InstallerError, match=f"cannot run the target interpreter {missing}"):
        pending.result()
    with pytest.raises(InstallerError):  # asked again: the same answer, no second start
        pending.result()
