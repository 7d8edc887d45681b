"""Profiles of other machines: ``profile --from-report`` and the shipped example profiles, each
planned against loopback indexes that stand in for PyPI and PyTorch's per-build indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import IndexServer

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.host.properties import supported_properties
from jupyter_pyvariant.variants.profiles import example_profiles, load_profile

EXPECTED = {
    # profile: requested -> (planned project, version, recipe)
    "nvidia-cuda12": {
        "torch": ("torch", "2.9.0+cu128", "pytorch-cuda12.8"),
        "cupy": ("cupy-cuda12x", "13.6.0", "cupy-cuda12"),
        "jax": ("jax", "0.7.0", "jax-cuda12"),
        "onnxruntime": ("onnxruntime-gpu", "1.22.0", "onnxruntime-gpu"),
        "cudf": ("cudf-cu12", "25.8.0", "rapids-cuda12"),
    },
    "nvidia-cuda13": {
        "torch": ("torch", "2.9.0+cu130", "pytorch-cuda13.0"),
        "cupy": ("cupy-cuda13x", "13.6.0", "cupy-cuda13"),
        "jax": ("jax", "0.7.0", "jax-cuda13"),
        "cudf": ("cudf-cu13", "25.8.0", "rapids-cuda13"),
    },
    "amd-rocm6": {
        "torch": ("torch", "2.9.0+rocm64", "pytorch-rocm6.4"),
        "onnxruntime": ("onnxruntime", "1.22.0", None),
    },
    "x86-64-v3-laptop": {
        "torch": ("torch", "2.9.0+cpu", "pytorch-cpu"),
        "jax": ("jax", "0.7.0", "jax-cpu"),
        "onnxruntime": ("onnxruntime", "1.22.0", "onnxruntime-cpu"),
    },
    "apple-silicon-laptop": {
        "torch": ("torch", "2.9.0+cpu", "pytorch-cpu"),
        "jax": ("jax", "0.7.0", "jax-cpu"),
    },
}


def test_every_example_profile_is_tested_and_loads() -> None:
    assert set(example_profiles()) == set(EXPECTED)
    assert "nvidia" in load_profile("nvidia-cuda12").namespaces
    assert "amd" in load_profile("amd-rocm6").namespaces
    assert load_profile("apple-silicon-laptop").namespaces == ("aarch64",)


@pytest.mark.parametrize("profile", EXPECTED)
def test_plans_for_each_example_profile(
    profile: str,
    indexes: dict[str, IndexServer],
    routed: None,
    venv: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = EXPECTED[profile]
    argv = ["plan", *expected, "--profile", profile, "--index-url", indexes["pypi"].url]
    assert main([*argv, "--python", str(venv), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    planned = {p["name"]: p for p in data["packages"]}
    by_request = {r["requested"]: r for r in data["requests"]}
    for requested, (project, version, recipe) in expected.items():
        assert (planned[project]["version"], planned[project]["recipe"]) == (version, recipe), requested
        assert by_request[requested]["recipe"] == recipe
        if recipe:
            assert by_request[requested]["turn_off"] == "--no-recipes"
    if "jax" in expected and expected["jax"][2] in ("jax-cuda12", "jax-cuda13"):
        assert by_request["jax"]["requirement"] == f"jax[{expected['jax'][2].removeprefix('jax-')}]"


def _gpu_node_report() -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "cpu": {"arch": "x86_64", "isa_level": "x86-64-v3", "features": ["avx2", "fma"]},
        "system": {"os": "Linux", "hostname": "gpu-node-7"},
        "accelerators": [
            {
                "vendor": "nvidia",
                "status": "ok",
                "cuda_driver_version": "12.8",
                "devices": [{"compute_capability": "9.0", "visible": True}],
            }
        ],
    }


def test_profile_from_report_writes_the_nodes_profile_gpus_included(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "node.json"
    report.write_text(json.dumps(_gpu_node_report()))
    out = tmp_path / "node.toml"
    assert main(["profile", "--from-report", str(report), "-o", str(out)]) == 0
    assert "# pyvariant profile of gpu-node-7 (x86-64-v3)" in out.read_text()
    assert load_profile(out).to_dict() == supported_properties(HostFacts.from_dict(_gpu_node_report()))
    assert load_profile(out).values("nvidia", "sm_arch")[0] == "90_real"
    # this host's own report, through a file, gives what 'profile' gives here
    capsys.readouterr()
    assert main(["cpuinfo", "--json"]) == 0
    report.write_text(capsys.readouterr().out)
    assert main(["profile", "--from-report", str(report), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main(["profile", "--json"]) == 0
    assert from_file == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read report"),
        ("[1, 2]", "is not a 'pyvariant cpuinfo --json' report"),
        ('{"cpu": {"arch": "x86_64"}, "accelerators": [3]}', "not a usable host report"),
        (
            '{"cpu": {}, "accelerators": [{"vendor": "amd", "status": "ok", '
            '"devices": [{"gfx_target": "gfx 9!"}]}]}',
            "not a usable host report",
        ),
    ],
)
def test_a_bad_report_is_named(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "bad.json"
    report.write_text(content)
    assert main(["profile", "--from-report", str(report)]) == 2
    assert message in capsys.readouterr().err
