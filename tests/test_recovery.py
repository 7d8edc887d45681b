"""Recovery from a kill at each named step (``PYVARIANT_FAULT_AT``), and gc against a running install.

Each test stops a child process with ``os._exit`` at one checkpoint (no cleanup runs, as after a
kill), then shows that the next run of a verb that owns the debris clears it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbs_fixture import World
from pbs_mirror import Mirror, make_archive

from jupyter_pyvariant._faults import FAULT_ENV, FAULT_EXIT
from jupyter_pyvariant.kernels.manage import remove_orphan
from jupyter_pyvariant.kernels.spec import SpecLocation
from jupyter_pyvariant.kernels.venv import VENV_MARKER, is_kernel_venv
from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.catalog import load_catalog
from jupyter_pyvariant.pythons.errors import StoreError
from jupyter_pyvariant.pythons.fetch import provision
from jupyter_pyvariant.pythons.store import Store

RELEASE = "20250612"
pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the synthetic interpreters are shell scripts"),
    pytest.mark.usefixtures("private_catalog_cache"),
]


@pytest.fixture
def build() -> Iterator[Build]:
    with Mirror() as mirror:
        mirror.publish([make_archive("3.13.5", RELEASE, "x86_64_v3-unknown-linux-gnu")])
        yield load_catalog(f"{mirror.url}/{RELEASE}/SHA256SUMS").builds[0]


def _killed_at(step: str, script: str) -> None:
    """Run ``script`` in a child that stops at ``step``; fail unless it stopped there."""
    env = {**os.environ, FAULT_ENV: step}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True)
    assert result.returncode == FAULT_EXIT, result.stderr.decode()


def test_a_kill_while_deleting_leaves_trash_that_the_next_verb_clears(build: Build, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    python = provision(build, store)
    _killed_at(
        "store-trashed",
        f"""
        from jupyter_pyvariant.pythons.store import Store
        store = Store({str(store.root)!r})
        store.remove(store.installed()[0])
        """,
    )
    assert not python.root.exists() and list((store.root / ".trash").iterdir())
    provision(build, store)  # the next install owns the trash too
    assert list((store.root / ".trash").iterdir()) == []


def test_a_kill_after_the_store_commit_leaves_a_usable_interpreter(build: Build, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    _killed_at(
        "store-committed",
        f"""
        import json
        from jupyter_pyvariant.pythons.build import Build
        from jupyter_pyvariant.pythons.fetch import provision
        from jupyter_pyvariant.pythons.store import Store
        build = Build.from_dict(json.loads({json.dumps(json.dumps(build.to_dict()))}))
        provision(build, Store({str(store.root)!r}))
        """,
    )
    assert [p.build for p in store.installed()] == [build]
    assert provision(build, store).build == build


def test_gc_refuses_while_an_install_holds_the_store(build: Build, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    python = provision(build, store)
    with store.in_use(), pytest.raises(StoreError, match="in use by a kernel install"):
        store.gc(keep=[])
    assert python.root.is_dir()
    asked: list[bool] = []
    assert store.gc(lambda: asked.append(True) or [python.root]) == [] and asked == [True]
    assert [p.root for p in store.gc(keep=[])] == [python.root]


def _spec_script(location: SpecLocation, python: Path) -> str:
    return f"""
        from pathlib import Path
        from jupyter_pyvariant.kernels.spec import SpecLocation, write_kernelspec
        location = SpecLocation(Path({str(location.data_dir)!r}))
        venv = location.venv_dir("k")
        venv.mkdir(parents=True)
        (venv / {VENV_MARKER!r}).write_text("{{}}")
        write_kernelspec(location, "k", {{"argv": [{str(python)!r}], "display_name": "k"}})
        """


def test_a_kill_before_the_kernelspec_rename_leaves_a_venv_that_remove_clears(tmp_path: Path) -> None:
    location = SpecLocation(tmp_path / "data")
    _killed_at("kernelspec-staged", _spec_script(location, Path(sys.executable)))
    assert (location.venv_dir("k") / VENV_MARKER).is_file() and not (location.kernels_dir / "k").exists()
    assert remove_orphan("k", location) == location.venv_dir("k")
    assert not location.venv_dir("k").exists()
    assert remove_orphan("k", location) is None, "nothing left to clear"


def test_remove_orphan_never_touches_the_venvs_of_a_registered_kernel(tmp_path: Path) -> None:
    location = SpecLocation(tmp_path / "data")
    (location.kernels_dir / "k").mkdir(parents=True)
    location.venv_dir("k").mkdir(parents=True)
    assert remove_orphan("k", location) is None
    assert location.venv_dir("k").is_dir()


def _kernel_install(world: World, name: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A full ``kernel install`` through the real command line (real interpreter, venv, ipykernel)."""
    return world.cli(
        *("kernel", "install", "3.11", "--catalog", world.catalog, "--mirror", world.mirror.url),
        *("--name", name),
        check=False,
        env=env,
    )


def test_a_kill_after_the_venv_is_marked_leaves_an_orphan_that_remove_and_a_rerun_clear(
    world: World,
) -> None:
    """Killed once the venv is finished and marked, before its kernelspec: the venv looks like any
    kernel's, only the missing kernelspec says it is an orphan."""
    location = SpecLocation(world.data_dir)
    venvs = location.venv_dir("marked")
    for attempt in ("remove", "rerun"):
        killed = _kernel_install(world, "marked", **{FAULT_ENV: "venv-marked"})
        assert killed.returncode == FAULT_EXIT, killed.stderr
        assert is_kernel_venv(venvs) and not (location.kernels_dir / "marked").exists()
        if attempt == "remove":
            removed = world.cli("kernel", "remove", "marked", "--json")
            assert json.loads(removed.stdout) == {"name": "marked", "removed": [str(venvs)]}
            assert not venvs.exists()
    rerun = _kernel_install(world, "marked")
    assert rerun.returncode == 0, rerun.stderr
    assert f"removed {venvs}: left without a kernelspec by an interrupted install" in rerun.stderr, rerun
    (listed,) = json.loads(world.cli("kernel", "list", "--json").stdout)
    assert listed["name"] == "marked" and listed["usable"], listed
    world.cli("kernel", "remove", "marked")
    assert not venvs.exists() and not (location.kernels_dir / "marked").exists()
