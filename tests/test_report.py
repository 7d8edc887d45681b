"""The composed host report: contract, schema, robustness, recommendations and rendering."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gpu_support import add_pci
from test_host_gpu import add_kfd_node, kfd_properties

from jupyter_pyvariant.host import collect, report
from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.host.recommend import headroom, recommendations
from jupyter_pyvariant.host.render import to_html, to_text


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    text = resources.files("jupyter_pyvariant.host").joinpath("data", "host-report.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def test_live_report_follows_the_shipped_schema(schema: dict[str, Any]) -> None:
    data = collect().to_dict()
    jsonschema.validate(data, schema)
    assert data["scope"] == "kernel-host"
    assert {d["probe"] for d in data["diagnostics"]} >= {
        "cpu",
        "system",
        "capacity",
        "accelerators",
        "python",
    }


def test_server_scope_is_labelled(schema: dict[str, Any]) -> None:
    data = collect(scope="server-host").to_dict()
    jsonschema.validate(data, schema)
    assert data["scope"] == "server-host"


def test_report_is_cached_per_process_until_refreshed() -> None:
    first = report()
    assert report() is first
    assert report(refresh=True) is not first


def _hostile_tree(root: Path) -> Roots:
    proc, sys_ = root / "proc", root / "sys"
    (proc / "self").mkdir(parents=True)
    (sys_ / "fs" / "cgroup").mkdir(parents=True)
    (proc / "cpuinfo").write_bytes(b"\xff\xfe garbage\x00\nprocessor : x\nflags :\n")
    (proc / "meminfo").write_text("MemTotal: lots kB\n")
    (proc / "self" / "cgroup").write_text("0::/../../etc\n")
    (sys_ / "fs" / "cgroup" / "cpu.max").write_text("-5 0\n")
    (sys_ / "fs" / "cgroup" / "memory.max").write_text(str(2**63) + "\n")
    return Roots(procfs=proc, sysfs=sys_)


@pytest.mark.parametrize("kind", ["empty", "hostile"])
def test_bad_proc_and_sys_still_give_a_valid_report(
    tmp_path: Path, kind: str, schema: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    roots = (
        Roots(procfs=tmp_path / "none", sysfs=tmp_path / "none")
        if kind == "empty"
        else _hostile_tree(tmp_path)
    )
    data = collect(roots=roots, environ={}).to_dict()
    jsonschema.validate(data, schema)
    assert data["cpu"]["isa_level"] == "unknown"
    assert any(d["error"] for d in data["diagnostics"]), "the reasons must land in diagnostics"
    assert data["capacity"]["memory"].get("cgroup_limit_bytes") is None, "2^63 is no limit"
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_report_with_devices_follows_the_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    sysfs = tmp_path / "sys"
    add_pci(sysfs, "0000:00:02.0", "8086:56a0", driver="i915", card="card0")
    add_kfd_node(sysfs, 1, kfd_properties(simd_count=416, gfx_target_version=90010), banks={1: 2**30})
    data = collect(roots=Roots(procfs=tmp_path / "proc", sysfs=sysfs), environ={}).to_dict()
    jsonschema.validate(data, schema)
    devices = {a["vendor"]: a["devices"] for a in data["accelerators"] if a.get("devices")}
    assert {vendor: [d["name"] for d in found] for vendor, found in devices.items()} == {
        "amd": ["gfx90a"],
        "intel": ["Intel Arc A-series (Alchemist, DG2)"],
    }
    for vendor, field in (("amd", "name"), ("amd", "gfx_target"), ("intel", "pci_id")):
        broken = copy.deepcopy(data)
        del next(a for a in broken["accelerators"] if a["vendor"] == vendor)["devices"][0][field]
        with pytest.raises(jsonschema.ValidationError, match=repr(field)):
            jsonschema.validate(broken, schema)


def test_the_schema_requires_the_interpreter_s_path(schema: dict[str, Any]) -> None:
    data = report().to_dict()
    assert data["python"]["executable"]
    del data["python"]["executable"]
    with pytest.raises(jsonschema.ValidationError, match="'executable' is a required property"):
        jsonschema.validate(data, schema)


def test_procfs_root_is_read_from_the_environment(tmp_path: Path) -> None:
    roots = Roots.from_env({"PYVARIANT_PROCFS": str(tmp_path / "p"), "PYVARIANT_SYSFS": str(tmp_path / "s")})
    assert roots.proc("cpuinfo") == str(tmp_path / "p" / "cpuinfo")
    assert roots.sys("class") == str(tmp_path / "s" / "class")
    assert not roots.live and Roots.from_env({}).live


def test_roots_are_the_same_however_they_are_spelled(tmp_path: Path) -> None:
    assert Roots(tmp_path / "p", f"{tmp_path}/s/") == Roots(str(tmp_path / "p"), str(tmp_path / "s"))
    assert Roots("/proc/", "/sys").live and hash(Roots(Path("/proc"))) == hash(Roots())


@pytest.mark.parametrize(
    ("cpu_level", "py_level", "expected"),
    [
        ("x86-64-v4", "x86-64-v1", "This interpreter targets x86-64-v1; this CPU runs x86-64-v4."),
        ("x86-64-v3", "x86-64-v3", "This interpreter targets x86-64-v3, the best this CPU (x86-64-v3) runs."),
        ("unknown", "x86-64-v1", "The CPU's ISA level is unknown (see diagnostics)."),
        ("x86-64-v2", None, "This CPU runs x86-64-v2; the interpreter's target level is unknown."),
    ],
)
def test_headroom_line(cpu_level: str, py_level: str | None, expected: str) -> None:
    facts = HostFacts.from_dict({"cpu": {"isa_level": cpu_level}, "python": {"isa_level": py_level}})
    assert headroom(facts) == expected


def _sample(**overrides: Any) -> HostFacts:
    data: dict[str, Any] = {
        "cpu": {
            "arch": "x86_64",
            "isa_level": "x86-64-v3",
            "features": ["avx2", "fma"],
            "archspec": {"microarchitecture": "haswell", "refused": []},
        },
        "system": {"os": "Linux", "kernel": "6.1.0-18-amd64", "libc": {"family": "glibc", "version": "2.36"}},
        "capacity": {"logical_cpus": 64, "usable_cores": 4.0, "memory": {}},
        "accelerators": [
            {
                "vendor": "nvidia",
                "status": "ok",
                "cuda_driver_version": "12.8",
                "devices": [{"sm": "sm_90", "visible": True}],
            }
        ],
        "python": {"version": "3.12.4", "isa_level": "x86-64-v1", "debug": False},
    }
    data.update(overrides)
    return HostFacts.from_dict(data)


def test_recommendations_for_a_gpu_workstation_under_a_cgroup() -> None:
    advice = recommendations(_sample(), environ={})
    assert advice["interpreter"]["triple"] == "x86_64_v3-unknown-linux-gnu"
    assert advice["interpreter"]["uv_key"] == "cpython-3.12-linux-x86_64_v3-gnu"
    assert advice["conda_virtual_packages"] == {
        "__archspec": "1=haswell",
        "__glibc": "2.36",
        "__cuda": "12.8",
        "__linux": "6.1.0",
        "__unix": "0",
    }
    assert "x86_64 :: level :: v3" in advice["variant_properties"]
    assert "nvidia :: cuda_version_lower_bound :: 12.8" in advice["variant_properties"]
    assert any("OMP_NUM_THREADS=4" in w for w in advice["warnings"])


def test_a_thread_limit_silences_the_oversubscription_warning() -> None:
    advice = recommendations(_sample(), environ={"OMP_NUM_THREADS": "4"})
    assert not any("OMP_NUM_THREADS" in w for w in advice["warnings"])


def test_hidden_gpus_and_musl_are_reported() -> None:
    sample = _sample(
        system={"os": "Linux", "libc": {"family": "musl", "version": "1.2.4"}},
        accelerators=[
            {
                "vendor": "nvidia",
                "status": "ok",
                "cuda_driver_version": "13.0",
                "devices": [{"visible": False}],
            }
        ],
    )
    advice = recommendations(sample, environ={})
    assert advice["interpreter"]["triple"] == "x86_64_v3-unknown-linux-musl"
    assert any("CUDA_VISIBLE_DEVICES" in w for w in advice["warnings"])
    assert "__glibc" not in advice["conda_virtual_packages"]


def test_rendering_puts_headroom_and_warnings_first_and_escapes_html() -> None:
    data = collect().to_dict()
    data["system"]["hostname"] = "<script>alert(1)</script>"
    data["recommendations"]["warnings"] = ["careful & <b>"]
    text, page = to_text(data), to_html(data)
    assert text.splitlines()[2].startswith(">> ")
    assert "!! careful & <b>" in text
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "careful &amp; &lt;b&gt;" in page
    assert "Diagnostics" not in text and "Diagnostics" in to_text(data, verbose=True)


def test_records_are_immutable_values_with_ordered_fields() -> None:
    from jupyter_pyvariant.host.cpu_hwcaps import GlibcHwcaps
    from jupyter_pyvariant.host.system import Libc

    verdict = GlibcHwcaps(("x86-64-v3",), "x86-64-v3", agrees=True)
    assert verdict._fields == ("supported", "level", "agrees", "reason")
    assert verdict.reason is None, "defaults fill the fields not given"
    assert verdict == GlibcHwcaps(supported=("x86-64-v3",), level="x86-64-v3", agrees=True)
    assert hash(verdict) == hash(GlibcHwcaps(("x86-64-v3",), "x86-64-v3", True))
    assert verdict != Libc("glibc", "2.36") and verdict._replace(agrees=False).agrees is False
    with pytest.raises(AttributeError):
        verdict.level = "x86-64-v4"  # type: ignore[misc]
    for wrong in ({"bogus": 1}, {"supported": (), "level": None, "agrees": None, "reason": None, "x": 1}):
        with pytest.raises(TypeError):
            GlibcHwcaps(**wrong)
    with pytest.raises(TypeError):
        Libc("glibc")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="each once"):
        Libc("glibc", "2.36", family="musl")  # type: ignore[misc]
    with pytest.raises(TypeError, match="each once"):
        Libc("glibc", "2.36", "extra")  # type: ignore[call-arg]
    assert list(verdict.to_dict()) == list(verdict._fields)
