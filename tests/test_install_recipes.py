"""Today's GPU conventions (recipes.toml) chosen for simulated drivers, given as host report dicts
read as the session reads a remote kernel's report."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from recipe_indexes import loopback_recipes
from variant_wheels import IndexServer, build_plain

from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.host.properties import Supported, supported_properties
from jupyter_pyvariant.install import recipes
from jupyter_pyvariant.install.plan import Options, PlanError
from jupyter_pyvariant.install.session import Session


def _report(*accelerators: dict[str, Any]) -> HostFacts:
    return HostFacts.from_dict(
        {
            "cpu": {"arch": "x86_64", "isa_level": "x86-64-v3", "features": []},
            "accelerators": list(accelerators),
        }
    )


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
    options = Options(requirements=("torch>=2", "cupy"), host=_report(_nvidia("12.8")), cache_dir=tmp_path)
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
        Options(requirements=("cupy",), host=_report(_nvidia("12.8")), recipes=False)
    ).rewrites() == [recipes.Rewrite("cupy", "cupy")]


def test_what_the_host_supports_is_asked_only_when_a_rule_names_the_project() -> None:
    asked: list[str] = []

    def supported() -> Supported:
        asked.append("asked")
        return supported_properties(_report(_nvidia("12.8")))

    assert recipes.apply("numpy>=2", supported) == recipes.Rewrite("numpy>=2", "numpy>=2")
    assert asked == []
    assert recipes.apply("cupy", supported).requirement == "cupy-cuda12x"
    assert asked == ["asked"]


def test_a_session_works_out_what_the_host_supports_only_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_pyvariant.variants import providers

    def never(facts: HostFacts) -> providers.SupportedProperties:
        raise AssertionError("what the host supports was worked out")

    monkeypatch.setattr(providers, "host_profile", never)
    session = Session(Options(requirements=("numpy>=2",), host=_report(), cache_dir=tmp_path))
    assert session.rewrites() == [recipes.Rewrite("numpy>=2", "numpy>=2")]
    with pytest.raises(AssertionError, match="worked out"):
        Session(Options(requirements=("cupy",), host=_report(), cache_dir=tmp_path)).rewrites()


VARIANT_INDEX = "https://download.pytorch.org/whl/variant"


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
    from jupyter_pyvariant.verbs._install_options import TORCH_VARIANT_INDEX_ENV
    from jupyter_pyvariant.verbs._install_options import options as _options

    verb, _ = find(["plan"])
    monkeypatch.delenv(TORCH_VARIANT_INDEX_ENV, raising=False)
    assert _options(parser_for(verb).parse_intermixed_args(["torch"])).opt_in == ()
    options = _options(parser_for(verb).parse_intermixed_args(["torch", "--torch-variant-index"]))
    assert options.opt_in == ("torch-variant-index",)
    monkeypatch.setenv(TORCH_VARIANT_INDEX_ENV, "1")
    assert _options(parser_for(verb).parse_intermixed_args(["torch"])).opt_in == ("torch-variant-index",)
    build_plain(tmp_path, "torch", "2.9.0")
    with closing(IndexServer(tmp_path).start()) as variant_index:
        loopback_recipes(monkeypatch, {VARIANT_INDEX: variant_index.url})
        session = Session(
            Options(
                requirements=("torch",),
                index_url=variant_index.url,
                host=_report(),
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
    options = Options(requirements=("cupy",), host=_report(), profile=str(profile), cache_dir=tmp_path)
    assert Session(options).rewrites()[0].requirement == "cupy-cuda13x"


def test_a_malformed_recipes_file_is_refused() -> None:
    with pytest.raises(recipes.RecipeError, match="unknown condition 'driver'"):
        recipes.load_rules('[[rule]]\nname = "x"\npackages = ["a"]\nwhen = { driver = ">=1" }\n')
    with pytest.raises(recipes.RecipeError, match="rule 'y': unknown condition 'driver'"):
        recipes.load_rules('[[rule]]\nname = "y"\npackages = ["a"]\nwhen = { opt-in = "z", driver = "1" }\n')
    with pytest.raises(recipes.RecipeError, match="rule 1 lacks or misspells 'packages'"):
        recipes.load_rules('[[rule]]\nname = "x"\n')
    with pytest.raises(recipes.RecipeError, match="rule 1 has a field of the wrong shape"):
        recipes.load_rules('[[rule]]\nname = "x"\npackages = ["a"]\nwhen = "x"\n')
    with pytest.raises(recipes.RecipeError, match=r"\[\[rule\]\] must be an array of tables"):
        recipes.load_rules('rule = "x"\n')


# --------------------------------------------------------------------------------------------------
# Refusals, blame, fallbacks (refusals.toml; loopback indexes stand in for the recipes' URLs)


def test_a_cuda_only_package_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from dataclasses import replace

    options = Options(requirements=("cupy",), host=_report(NO_DRIVER), cache_dir=tmp_path)
    with pytest.raises(PlanError) as error:
        Session(options).rewrites()
    text = str(error.value)
    assert text.startswith(
        "cupy needs an NVIDIA GPU with its driver (CUDA 12 or 13), and this host has none "
        "(nvidia accelerator status is 'hardware-no-driver'): numpy"
    )
    assert "--profile NODE.toml, where cupy becomes cupy-cuda12x" in text
    assert text.endswith("nothing was installed (--no-gpu-check installs it anyway)")
    assert Session(replace(options, gpu_check=False)).rewrites() == [recipes.Rewrite("cupy", "cupy")]
    # the renamed CUDA build on a CUDA host is not refused; a ROCm-only package needs ROCm
    assert Session(replace(options, host=_report(_nvidia("12.8")))).rewrites()[0].requirement == (
        "cupy-cuda12x"
    )
    rocm_only = replace(options, requirements=("cupy-rocm-5-0",), host=_report(_nvidia("12.8")))
    with pytest.raises(PlanError, match="cupy-rocm-5-0 needs an AMD GPU with a ROCm stack, and this host"):
        Session(rocm_only).rewrites()
    assert Session(replace(rocm_only, host=_report(AMD))).rewrites()[0].rule is None
    with pytest.raises(PlanError, match="the host report lists no nvidia accelerator"):
        Session(replace(options, requirements=("cudf-cu12",), host=_report())).rewrites()


def test_with_a_profile_a_gpu_only_package_is_noted_not_refused(tmp_path: Path) -> None:
    options = Options(requirements=("cupy",), host=_report(), profile="x86-64-v3-laptop", cache_dir=tmp_path)
    (rewrite,) = Session(options).rewrites()
    assert (rewrite.requirement, rewrite.rule) == ("cupy", None)
    assert rewrite.note is not None
    assert rewrite.note.startswith("cupy needs an NVIDIA GPU with its driver (CUDA 12 or 13), and profile")
    assert "has no CUDA" in rewrite.note


def test_the_refusals_file_is_checked() -> None:
    with pytest.raises(recipes.RecipeError, match="needs must be 'cuda' or 'rocm'"):
        recipes.load_refusals('[[refusal]]\nname="x"\npackages=["a"]\nneeds="gpu"\nlacks="l"\ninstead="i"\n')
    with pytest.raises(recipes.RecipeError, match="entry 1 lacks or misspells 'instead'"):
        recipes.load_refusals('[[refusal]]\nname="x"\npackages=["a"]\nneeds="cuda"\nlacks="l"\n')
    names = {r.name for r in recipes.load_refusals()}
    assert {"cupy-needs-cuda", "rapids-needs-cuda", "rocm-only"} <= names


def _dead_url() -> str:
    """A loopback URL nobody answers (a server started and closed again)."""
    server = IndexServer(Path()).start()
    url = server.url
    server.close()
    return url


def _plan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    from jupyter_pyvariant.cli import main

    status = main(list(argv))
    return status, json.loads(capsys.readouterr().out)


def test_an_error_from_a_recipes_index_names_the_recipe_its_url_and_the_way_out(
    tmp_path: Path, venv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_pyvariant.install import support

    dead = _dead_url()
    loopback_recipes(monkeypatch, {"https://download.pytorch.org/whl/cpu": dead})
    monkeypatch.setattr(support, "_host_facts", lambda options: _report(NO_DRIVER))
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path))
    build_plain(tmp_path, "numpy", "2.3.0")
    with closing(IndexServer(tmp_path).start()) as usual:
        for verb in ("plan", "install"):
            argv = [verb, "torch", "numpy", "--index-url", usual.url, "--python", str(venv), "--json"]
            status, data = _plan_json(capsys, *argv)
            assert status == 1 and list(data) == ["error"], verb
            assert data["error"].startswith(f"torch: {dead}/torch/ did not answer"), verb
            assert data["error"].endswith(
                f"; recipe pytorch-cpu chose {dead} for torch (to turn it off: --no-recipes)"
            ), verb
    assert not any(path.startswith("/files/") for _, path, _ in usual.requests)  # nothing was fetched


def test_json_output_is_one_document_for_every_failure(capsys: pytest.CaptureFixture[str]) -> None:
    status, data = _plan_json(capsys, "plan", "not a requirement!", "--json")
    assert status == 1 and data["error"].startswith("invalid requirement 'not a requirement!'")


def test_the_pytorch_variant_index_falls_back_when_it_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    dead = _dead_url()
    loopback_recipes(monkeypatch, {VARIANT_INDEX: dead})
    options = Options(
        requirements=("torch",),
        index_url=dead,
        host=_report(),
        cache_dir=tmp_path,
        opt_in=("torch-variant-index",),
    )
    session = Session(options)
    (rewrite,) = session.rewrites()
    assert rewrite.rule == "pytorch-cpu"
    assert session.routes["torch"] == ("https://download.pytorch.org/whl/cpu",)
    (warning,) = session.warnings
    assert warning.startswith(f"torch: {dead}/torch/ did not answer")
    assert warning.endswith(
        "recipe pytorch-variants fell back to recipe pytorch-cpu (https://download.pytorch.org/whl/cpu)"
        " (--strict-recipes fails instead)"
    )
    with pytest.raises(PlanError) as error:
        Session(replace(options, strict_recipes=True)).rewrites()
    assert str(error.value).endswith(
        f"; recipe pytorch-variants chose {dead} for torch (to turn it off: leave out "
        "--torch-variant-index); --strict-recipes: no fallback"
    )
