"""Installing real variant wheels (compiled here at four x86-64 levels) into fresh environments.

The installed extension reports the ISA macros it was compiled with, so each test proves which
binary landed, not just which filename was chosen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from variant_wheels import (
    EMPTY_PROFILE,
    V3_PROFILE,
    IndexServer,
    freeze,
    probe,
    write_profile,
)

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.install.plan import Options
from jupyter_pyvariant.install.session import Session

pytestmark = pytest.mark.x86_64_linux(reason="the test package is compiled for x86-64 Linux")


def _host_level() -> str:
    from jupyter_pyvariant.host import report

    return str(report().to_dict()["cpu"]["isa_level"])


def _options(
    simd_index: IndexServer, venv: Path, tmp_path: Path, *requirements: str, **extra: object
) -> Options:
    return Options(
        requirements=requirements,
        index_url=simd_index.url,
        python=str(venv),
        cache_dir=tmp_path / "cache",
        **extra,
    )  # type: ignore[arg-type]


def _install(options: Options) -> dict[str, str | None]:
    with Session(options) as session:
        plan = session.install()
    return {p.name: p.variant_label for p in plan.packages}


@pytest.mark.skipif(_host_level() != "x86-64-v4", reason="needs an AVX-512 (x86-64-v4) host")
def test_this_avx512_host_gets_v4_and_the_dependency_its_best_fit(
    simd_index: IndexServer, venv: Path, tmp_path: Path
) -> None:
    chosen = _install(_options(simd_index, venv, tmp_path, "simdcalc"))
    assert chosen == {"simdcalc": "x86_64_v3", "simdinfo": "x86_64_v4"}
    assert probe(venv, "simdinfo.build()") == "x86_64_v4"
    assert "__AVX512F__" in probe(venv, "simdinfo.isa_macros()")
    dist_info = next((venv.parent.parent / "lib").glob("python3*/site-packages/simdinfo-1.0.0.dist-info"))
    recorded = json.loads((dist_info / "variant.json").read_text())
    assert list(recorded["variants"]) == ["x86_64_v4"]


def test_a_profile_without_avx512_gets_v3(simd_index: IndexServer, venv: Path, tmp_path: Path) -> None:
    chosen = _install(
        _options(simd_index, venv, tmp_path, "simdinfo", profile=write_profile(tmp_path, V3_PROFILE))
    )
    assert chosen == {"simdinfo": "x86_64_v3"}
    macros = probe(venv, "simdinfo.isa_macros()")
    assert "__AVX2__" in macros and "__FMA__" in macros and "__AVX512F__" not in macros


def test_nothing_fits_gives_the_null_variant(simd_index: IndexServer, venv: Path, tmp_path: Path) -> None:
    chosen = _install(
        _options(simd_index, venv, tmp_path, "simdcalc", profile=write_profile(tmp_path, EMPTY_PROFILE))
    )
    assert chosen == {"simdcalc": "null", "simdinfo": "null"}
    assert probe(venv, "[simdinfo.build(), simdinfo.isa_macros()]") == ["null", ["__SSE2__"]]


def test_pip_installs_the_chosen_variant_too(simd_index: IndexServer, venv: Path, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, V3_PROFILE)
    chosen = _install(_options(simd_index, venv, tmp_path, "simdinfo", profile=profile, installer="pip"))
    assert chosen == {"simdinfo": "x86_64_v3"}
    assert probe(venv, "simdinfo.build()") == "x86_64_v3"


def test_an_installed_other_variant_is_replaced(simd_index: IndexServer, venv: Path, tmp_path: Path) -> None:
    _install(_options(simd_index, venv, tmp_path, "simdcalc", profile=write_profile(tmp_path, EMPTY_PROFILE)))
    with Session(
        _options(simd_index, venv, tmp_path, "simdcalc", profile=write_profile(tmp_path, V3_PROFILE))
    ) as session:
        plan = session.install()
    assert set(plan.reinstall) == {"simdcalc", "simdinfo"}
    assert {p.name: p.variant_label for p in plan.packages} == {
        "simdcalc": "x86_64_v3",
        "simdinfo": "x86_64_v3",
    }
    assert probe(venv, "simdinfo.build()") == "x86_64_v3"


def test_dry_run_changes_nothing_and_plan_json_names_the_files(
    simd_index: IndexServer, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = freeze(venv)
    profile = write_profile(tmp_path, V3_PROFILE)
    common = ["--index-url", simd_index.url, "--python", str(venv), "--profile", profile, "--json"]
    assert main(["install", "simdcalc", "--dry-run", *common]) == 0
    installed = json.loads(capsys.readouterr().out)
    assert main(["plan", *common, "simdcalc"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert freeze(venv) == before
    assert installed["dry_run"] is True
    for data in (installed, planned):
        files = {p["name"]: p for p in data["packages"]}
        assert files["simdinfo"][
            "filename"
        ] == "simdinfo-1.0.0-cp311-cp311-linux_x86_64-x86_64_v3.whl".replace(
            "cp311", f"cp{sys.version_info[0]}{sys.version_info[1]}"
        )
        assert files["simdinfo"]["variant_label"] == "x86_64_v3"
        assert files["simdinfo"]["properties"] == ["x86_64 :: level :: v3"]
        assert files["simdinfo"]["version"] == "1.0.0"
        assert "x86_64_v4" in files["simdinfo"]["rejected"]


def test_list_shows_installed_variants(
    simd_index: IndexServer, venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(_options(simd_index, venv, tmp_path, "simdinfo", profile=write_profile(tmp_path, V3_PROFILE)))
    assert main(["list", "--python", str(venv), "--variants-only", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["distributions"]
    assert listed == [
        {
            "name": "simdinfo",
            "version": "1.0.0",
            "variant_label": "x86_64_v3",
            "properties": ["x86_64 :: level :: v3"],
        }
    ]
