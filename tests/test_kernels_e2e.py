"""A real interpreter, end to end: mirror → store → venv → kernelspec → a running kernel → removal.

The interpreter is Debian's CPython 3.11 repacked in the python-build-standalone layout and served
by a loopback mirror; ipykernel and its dependencies come from a wheelhouse repacked from this test
environment. Nothing here needs the network once the fixture is cached.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pbs_fixture import EXTRA_PACKAGE, World, sha256_of, world_or_skip

from jupyter_pyvariant.kernels import KernelError
from jupyter_pyvariant.kernels.manage import KernelOptions, install_kernel, list_kernels, remove_kernel
from jupyter_pyvariant.kernels.spec import SpecLocation, kernel_json, write_kernelspec
from jupyter_pyvariant.kernels.venv import VENV_MARKER, create_kernel_env
from jupyter_pyvariant.pythons.store import MARKER_NAME

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the fixture interpreter is Debian's CPython"),
]

NAME = "pyvariant-3.11-v1"
# A real x86-64-v4 machine's /proc/cpuinfo (Xeon Cascade Lake), from archspec's test data.
V4_CPUINFO = ("archspec", "json/tests/targets/linux-centos7-cascadelake")


@pytest.fixture(scope="module")
def installed(world: World) -> dict[str, Any]:
    """``pyvariant kernel install 3.11`` through the real command line, as a user would type it."""
    result = world.cli(
        "kernel", "install", "3.11", "--catalog", world.catalog, "--mirror", world.mirror.url, "--json"
    )
    info: dict[str, Any] = json.loads(result.stdout)
    return info


def _run_in_kernel(name: str, codes: list[str], cwd: Path) -> list[str]:
    """Start kernel ``name`` with jupyter_client, run each code, return each one's stdout."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name=name, startup_timeout=120, cwd=str(cwd))
    outputs = []
    try:
        for code in codes:
            chunks: list[str] = []

            def collect(msg: dict[str, Any], chunks: list[str] = chunks) -> None:
                if msg["msg_type"] == "stream":
                    chunks.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    chunks.append("ERROR " + msg["content"]["evalue"])

            reply = client.execute_interactive(code, timeout=120, output_hook=collect)
            assert reply["content"]["status"] == "ok", chunks
            outputs.append("".join(chunks))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return outputs


def test_kernelspec_names_an_absolute_interpreter_and_carries_the_build_facts(
    world: World, installed: dict[str, Any]
) -> None:
    spec_dir = world.data_dir / "kernels" / NAME
    spec = json.loads((spec_dir / "kernel.json").read_text())
    python = Path(spec["argv"][0])
    assert python.is_absolute() and python.exists()
    assert python == world.data_dir / "pyvariant" / "venvs" / NAME / "bin" / "python"
    assert spec["argv"][1:] == [
        "-m",
        "ipykernel_launcher",
        "--ext=jupyter_pyvariant",
        "-f",
        "{connection_file}",
    ]
    assert spec["display_name"] == "Python 3.11 · x86-64-v1"
    facts = spec["metadata"]["pyvariant"]
    assert facts["triple"] == "x86_64-unknown-linux-gnu"
    assert facts["sha256"] == sha256_of(world.archive)
    assert facts["url"].startswith(world.mirror.url)
    assert (spec_dir / "logo-64x64.png").is_file()
    assert installed["name"] == NAME and installed["usable"] is True


def test_the_venv_is_made_from_the_store_interpreters_real_path(
    world: World, installed: dict[str, Any]
) -> None:
    facts = installed["pyvariant"]
    prefix = Path(facts["prefix"])
    marker = json.loads((prefix / MARKER_NAME).read_text())
    assert marker["sha256"] == sha256_of(world.archive) and marker["triple"] == facts["triple"]
    assert prefix.parent == world.store
    venv = Path(facts["venvs"][0])
    config = dict(
        line.split(" = ", 1) for line in (venv / "pyvenv.cfg").read_text().splitlines() if " = " in line
    )
    assert Path(config["home"]) == (prefix / "bin").resolve()
    assert not Path(facts["interpreter"]).is_symlink()
    assert json.loads((venv / VENV_MARKER).read_text())["kernel"] == NAME


def test_the_kernel_runs_code_and_the_extension(world: World, installed: dict[str, Any]) -> None:
    prefix_out, module_out, uv_out, cpuinfo_out = _run_in_kernel(
        NAME,
        [
            "import sys; print(sys.prefix)",
            "import jupyter_pyvariant; print(jupyter_pyvariant.__file__)",
            "from jupyter_pyvariant._installer import find_uv; print(find_uv())",
            "%cpuinfo --json",
        ],
        cwd=world.root,
    )
    venv = world.data_dir / "pyvariant" / "venvs" / NAME
    assert prefix_out.strip() == str(venv)
    assert module_out.strip().startswith(str(venv / "pyvariant-extension"))
    # %pyvariant install in the kernel runs the uv the kernel was provisioned with, linked beside it
    from jupyter_pyvariant._installer import find_uv

    assert uv_out.strip() == str(venv / "bin" / "uv") and (venv / "bin" / "uv").resolve() == Path(
        find_uv() or ""
    )
    report = json.loads(cpuinfo_out)
    assert report["scope"] == "kernel-host"
    assert report["python"]["version"].startswith("3.11.2")
    assert report["cpu"]["isa_level"].startswith("x86-64-")


def test_list_shows_the_kernel_with_its_facts(world: World, installed: dict[str, Any]) -> None:
    listed = json.loads(world.cli("kernel", "list", "--json").stdout)
    assert [k["name"] for k in listed] == [NAME]
    assert listed[0]["pyvariant"]["level"] == "x86-64-v1" and listed[0]["usable"] is True
    assert "Python 3.11 · x86-64-v1" in world.cli("kernel", "list").stdout


def test_a_taken_name_fails_before_any_download(world: World, installed: dict[str, Any]) -> None:
    requests_before = len(world.mirror.requests)
    with pytest.raises(KernelError, match="already exists"):
        install_kernel(KernelOptions(version="3.11", catalog=world.catalog, name=NAME))
    archive_requests = [r for r in world.mirror.requests[requests_before:] if r.path.endswith(".tar.gz")]
    assert archive_requests == []


def test_with_packages_come_through_the_variant_aware_install(
    world: World, installed: dict[str, Any]
) -> None:
    info = install_kernel(
        KernelOptions(version="3.11", catalog=world.catalog, name="extra", packages=(EXTRA_PACKAGE,))
    )
    probe = "import kernelextra; print(kernelextra.VALUE)"
    result = subprocess.run(
        [str(info.python), "-c", probe], cwd=world.root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1"
    assert info.metadata["packages"] == [EXTRA_PACKAGE]
    remove_kernel("extra")


def test_debris_of_a_killed_install_is_replaced_not_reused(world: World, installed: dict[str, Any]) -> None:
    """A venv folder without the finished-venv marker (the run was killed) is no kernel's: start over."""
    debris = world.data_dir / "pyvariant" / "venvs" / "debris"
    (debris / "bin").mkdir(parents=True)
    (debris / "bin" / "python").write_text("half-made")
    info = install_kernel(KernelOptions(version="3.11", catalog=world.catalog, name="debris"))
    assert info.usable and (debris / VENV_MARKER).is_file()
    assert (debris / "bin" / "python").is_symlink()  # a real venv interpreter, not the leftover file
    remove_kernel("debris")


def test_a_failed_package_install_leaves_no_half_made_kernel(world: World, installed: dict[str, Any]) -> None:
    options = KernelOptions(
        version="3.11", catalog=world.catalog, name="broken", packages=("no-such-package-zz",)
    )
    with pytest.raises(KernelError, match="no-such-package-zz"):
        install_kernel(options)
    assert not (world.data_dir / "kernels" / "broken").exists()
    assert not (world.data_dir / "pyvariant" / "venvs" / "broken").exists()
    assert [k.name for k in list_kernels()] == [NAME]


def test_a_missing_interpreter_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(KernelError, match=r"interpreter not found: .*nowhere/bin/python3"):
        create_kernel_env(tmp_path / "nowhere" / "bin" / "python3", tmp_path / "venv")
    assert not (tmp_path / "venv").exists()
    location = SpecLocation(tmp_path / "data")
    with pytest.raises(KernelError, match="does not exist"):
        write_kernelspec(location, "ghost", kernel_json(tmp_path / "nowhere" / "python", "Ghost", {}))
    assert not location.kernels_dir.exists() or not any(location.kernels_dir.iterdir())


def test_pip_makes_a_working_kernel_venv_where_uv_is_not_used(
    world: World, installed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixture has no ensurepip: the venv is made --without-pip and filled by this env's pip,
    ``--with`` packages too (one installer for the whole kernel: ``kernel install --installer pip``
    reaches ``create_kernel_env`` as ``installer_choice``; ``$PYVARIANT_INSTALLER`` does the same)."""
    monkeypatch.setenv("PYVARIANT_INSTALLER", "uv")  # the option wins over the variable
    interpreter = installed["pyvariant"]["interpreter"]
    env = create_kernel_env(
        interpreter,
        tmp_path / "venv",
        kernel_name="pip-made",
        packages=(EXTRA_PACKAGE,),
        installer_choice="pip",
    )
    assert env.installer == "pip"
    assert not (env.site_packages / "pip").exists()
    (record,) = env.site_packages.glob("kernelextra-*.dist-info/INSTALLER")
    assert record.read_text().strip() == "pip"
    probe = "import ipykernel, jupyter_pyvariant, archspec; print(ipykernel.__file__)"
    result = subprocess.run(
        [str(env.python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith(str(env.site_packages))


def test_remove_takes_spec_and_venv_and_keeps_the_shared_interpreter(
    world: World, installed: dict[str, Any]
) -> None:
    prefix = Path(installed["pyvariant"]["prefix"])
    world.cli("kernel", "remove", NAME)
    assert not (world.data_dir / "kernels" / NAME).exists()
    assert not (world.data_dir / "pyvariant" / "venvs" / NAME).exists()
    assert (prefix / MARKER_NAME).is_file()
    assert json.loads(world.cli("kernel", "list", "--json").stdout) == []
    result = world.cli("kernel", "remove", NAME, check=False)
    assert result.returncode == 1 and f"no kernel named '{NAME}'" in result.stderr
    assert list((world.data_dir / "kernels").iterdir()) == []


# -- an archive whose name promises more than its interpreter holds ------------------------------------


@pytest.fixture(scope="module")
def v4_host(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``PYVARIANT_PROCFS`` of a recorded x86-64-v4 machine, so that a v4 build is chosen anywhere."""
    import importlib.resources

    package, path = V4_CPUINFO
    sample = importlib.resources.files(package).joinpath(path)
    if not sample.is_file():
        pytest.skip(f"{package}'s recorded machines ({path}) are not installed")
    procfs = tmp_path_factory.mktemp("v4-procfs")
    (procfs / "cpuinfo").write_bytes(sample.read_bytes())
    return {"PYVARIANT_PROCFS": str(procfs)}


@pytest.fixture(scope="module")
def mislabelled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, v4_host: dict[str, str]
) -> Iterator[tuple[World, subprocess.CompletedProcess[str]]]:
    """Debian's generic build published only as x86_64_v4, installed on a v4 host by the command line."""
    with world_or_skip(request, tmp_path_factory, ("v4",)) as w:
        yield w, w.cli("kernel", "install", "3.11", "--catalog", w.catalog, env=v4_host)


def test_install_names_the_kernel_for_its_interpreter_and_prints_the_disagreement(
    mislabelled: tuple[World, subprocess.CompletedProcess[str]],
) -> None:
    world, installed = mislabelled
    spec = json.loads((world.data_dir / "kernels" / NAME / "kernel.json").read_text())
    assert spec["display_name"] == "Python 3.11 · x86-64-v1"
    facts = spec["metadata"]["pyvariant"]
    assert facts["triple"] == "x86_64_v4-unknown-linux-gnu" and facts["catalog_level"] == "x86-64-v4"
    assert facts["level"] == "x86-64-v1" and facts["verified"] is True
    assert "published as x86-64-v4, but its interpreter was compiled for x86-64-v1" in installed.stdout
    assert spec["env"]["PYVARIANT_KERNEL_CLAIM"] and "PYTHON_GIL" not in spec["env"]


def test_list_shows_the_disagreement_in_text_and_json(
    mislabelled: tuple[World, subprocess.CompletedProcess[str]],
) -> None:
    world, _ = mislabelled
    listed = json.loads(world.cli("kernel", "list", "--json").stdout)
    assert any("published as x86-64-v4" in warning for warning in listed[0]["warnings"])
    text = world.cli("kernel", "list").stdout
    assert f"warning: {NAME}: " in text and "compiled for x86-64-v1" in text


def test_the_kernels_own_report_warns_about_its_archives_promise(
    mislabelled: tuple[World, subprocess.CompletedProcess[str]],
) -> None:
    world, _ = mislabelled
    (report_json,) = _run_in_kernel(NAME, ["%cpuinfo --json"], cwd=world.root)
    report = json.loads(report_json)
    assert report["python"]["isa_level"] == "x86-64-v1"
    warnings = report["recommendations"]["warnings"]
    assert any(
        "published as x86-64-v4, but its interpreter was compiled for x86-64-v1" in w for w in warnings
    )
