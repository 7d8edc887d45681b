"""Today's GPU conventions (recipes.toml) chosen for simulated drivers, given as host report dicts."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import IndexServer, build_plain

from jupyter_pyvariant.host.properties import supported_properties
from jupyter_pyvariant.install import recipes
from jupyter_pyvariant.install.plan import Options, Session


def _report(*accelerators: dict[str, Any]) -> dict[str, Any]:
    return {
        "cpu": {"arch": "x86_64", "isa_level": "x86-64-v3", "features": []},
        "accelerators": list(accelerators),
    }


def _nvidia(cuda: str) -> dict[str, Any]:
    return {"vendor": "nvidia", "status": "ok", "cuda_driver_version": cuda, "devices": [{"sm": "sm_90"}]}


AMD = {"vendor": "amd", "status": "ok", "rocm_version": "6.4.1", "devices": [{"gfx_target": "gfx90a"}]}
NO_DRIVER = {"vendor": "nvidia", "status": "hardware-no-driver", "cuda_driver_version": None, "devices": []}

CASES = {
    "cuda-12.8": (
        _report(_nvidia("12.8")),
        {
            "torch": ("torch", "pytorch-cuda12.8", "https://download.pytorch.org/whl/cu128"),
            "cupy": ("cupy-cuda12x", "cupy-cuda12", None),
            "jax": ("jax[cuda12]", "jax-cuda12", None),
            "cudf==25.8": ("cudf-cu12==25.8", "rapids-cuda12", "https://pypi.nvidia.com"),
            "onnxruntime": ("onnxruntime-gpu", "onnxruntime-gpu", None),
            "numpy": ("numpy", None, None),
        },
    ),
    "cuda-13.0": (
        _report(_nvidia("13.0")),
        {
            "torchvision": ("torchvision", "pytorch-cuda13.0", "https://download.pytorch.org/whl/cu130"),
            "cupy": ("cupy-cuda13x", "cupy-cuda13", None),
            "jax>=0.7": ("jax[cuda13]>=0.7", "jax-cuda13", None),
            "cuml": ("cuml-cu13", "rapids-cuda13", "https://pypi.nvidia.com"),
        },
    ),
    "rocm-6.4": (
        _report(AMD),
        {
            "torchaudio": ("torchaudio", "pytorch-rocm6.4", "https://download.pytorch.org/whl/rocm6.4"),
            "cupy": ("cupy", None, None),
        },
    ),
    "gpu-without-driver": (
        _report(NO_DRIVER),
        {
            "torch": ("torch", "pytorch-cpu", "https://download.pytorch.org/whl/cpu"),
            "jax": ("jax", "jax-cpu", None),
            "onnxruntime": ("onnxruntime", "onnxruntime-cpu", None),
            "cupy": ("cupy", None, None),
        },
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_recipes_for_simulated_drivers(case: str) -> None:
    report, expected = CASES[case]
    supported = supported_properties(report)
    for requested, (requirement, rule, index) in expected.items():
        rewrite = recipes.apply(requested, supported)
        assert (rewrite.requirement, rewrite.rule) == (requirement, rule), requested
        assert rewrite.indexes == ((index,) if index else ())


def test_plan_records_the_recipe_and_routes_the_index(tmp_path: Path) -> None:
    options = Options(requirements=("torch>=2", "cupy"), report=_report(_nvidia("12.8")), cache_dir=tmp_path)
    session = Session(options)
    rewrites = session.rewrites()
    assert [(r.rule, r.requirement) for r in rewrites] == [
        ("pytorch-cuda12.8", "torch>=2"),
        ("cupy-cuda12", "cupy-cuda12x"),
    ]
    # the whole PyTorch family from the index the rule chose, so torchvision matches torch's CUDA
    cu128 = ("https://download.pytorch.org/whl/cu128",)
    assert session.routes == {"torch": cu128, "torchvision": cu128, "torchaudio": cu128}
    assert Session(
        Options(requirements=("cupy",), report=_report(_nvidia("12.8")), recipes=False)
    ).rewrites() == [recipes.Rewrite("cupy", "cupy")]


def test_what_the_host_supports_is_asked_only_when_a_rule_names_the_project() -> None:
    asked: list[str] = []

    def supported() -> recipes.Supported:
        asked.append("asked")
        return supported_properties(_report(_nvidia("12.8")))

    assert recipes.apply("numpy>=2", supported) == recipes.Rewrite("numpy>=2", "numpy>=2")
    assert asked == []
    assert recipes.apply("cupy", supported).requirement == "cupy-cuda12x"
    assert asked == ["asked"]


def test_a_session_works_out_what_the_host_supports_only_when_needed(tmp_path: Path) -> None:
    bad_report: dict[str, Any] = {"cpu": "not a mapping"}  # working it out would fail
    session = Session(Options(requirements=("numpy>=2",), report=bad_report, cache_dir=tmp_path))
    assert session.rewrites() == [recipes.Rewrite("numpy>=2", "numpy>=2")]


VARIANT_INDEX = "https://download.pytorch.org/whl/variant"


def _loopback_recipes(monkeypatch: pytest.MonkeyPatch, urls: dict[str, str]) -> None:
    """The packaged recipes with their index URLs replaced (``urls``: real prefix -> loopback URL)."""
    text = recipes.resources.files(recipes.__package__).joinpath("recipes.toml").read_text("utf-8")
    for real, loopback in urls.items():
        text = text.replace(f'"{real}"', f'"{loopback}"')
    rules = recipes.load_rules(text)
    monkeypatch.setattr(recipes, "load_rules", lambda text=None: rules)


@pytest.mark.parametrize("accelerators", [[_nvidia("12.8")], [AMD], []], ids=["cuda", "rocm", "cpu"])
def test_the_pytorch_variant_index_only_when_opted_in(accelerators: list[dict[str, Any]]) -> None:
    supported = supported_properties(_report(*accelerators))
    default = recipes.apply("torch", supported)
    assert default.rule != "pytorch-variants" and VARIANT_INDEX not in default.indexes
    chosen = recipes.apply("torch>=2.9", supported, opted_in=["torch-variant-index"])
    assert (chosen.rule, chosen.requirement, chosen.indexes) == (
        "pytorch-variants",
        "torch>=2.9",
        (VARIANT_INDEX,),
    )
    assert not chosen.exclusive  # projects the variant index lacks come from the usual indexes
    assert recipes.apply("cupy", supported, opted_in=["torch-variant-index"]).rule != "pytorch-variants"


def test_opting_in_through_the_verbs_routes_the_pytorch_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_pyvariant.verbs import find, parser_for
    from jupyter_pyvariant.verbs.install import TORCH_VARIANT_INDEX_ENV, _options

    verb, _ = find(["plan"])
    monkeypatch.delenv(TORCH_VARIANT_INDEX_ENV, raising=False)
    assert _options(parser_for(verb).parse_intermixed_args(["torch"])).opt_in == ()
    options = _options(parser_for(verb).parse_intermixed_args(["torch", "--torch-variant-index"]))
    assert options.opt_in == ("torch-variant-index",)
    monkeypatch.setenv(TORCH_VARIANT_INDEX_ENV, "1")
    assert _options(parser_for(verb).parse_intermixed_args(["torch"])).opt_in == ("torch-variant-index",)
    build_plain(tmp_path, "torch", "2.9.0")
    with closing(IndexServer(tmp_path).start()) as variant_index:
        _loopback_recipes(monkeypatch, {VARIANT_INDEX: variant_index.url})
        session = Session(
            Options(
                requirements=("torch",),
                index_url=variant_index.url,
                report=_report(),
                cache_dir=tmp_path / "cache",
                opt_in=options.opt_in,
            )
        )
        (rewrite,) = session.rewrites()
    assert rewrite.rule == "pytorch-variants" and session.warnings == []
    routed = (variant_index.url,)
    assert session.routes == {name: routed for name in ("torch", "torchaudio", "torchvision", "triton")}


def test_a_profile_for_another_machine_picks_that_machines_recipe(tmp_path: Path) -> None:
    profile = tmp_path / "gpu-node.toml"
    profile.write_text('[nvidia]\ncuda_version_lower_bound = ["13.0", "12.9"]\nsm_arch = ["100"]\n')
    options = Options(requirements=("cupy",), report=_report(), profile=str(profile), cache_dir=tmp_path)
    assert Session(options).rewrites()[0].requirement == "cupy-cuda13x"


def test_a_malformed_recipes_file_is_refused() -> None:
    with pytest.raises(recipes.RecipeError, match="unknown condition 'driver'"):
        recipes.load_rules('[[rule]]\nname = "x"\npackages = ["a"]\nwhen = { driver = ">=1" }\n')
    with pytest.raises(recipes.RecipeError, match="rule 'y': unknown condition 'driver'"):
        recipes.load_rules('[[rule]]\nname = "y"\npackages = ["a"]\nwhen = { opt-in = "z", driver = "1" }\n')
    with pytest.raises(recipes.RecipeError, match="rule 1 lacks or misspells 'packages'"):
        recipes.load_rules('[[rule]]\nname = "x"\n')
