"""The store: shared read-only roots, debris of killed runs, what kernelspecs keep alive."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbs_mirror import Mirror, make_archive

from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.catalog import load_catalog
from jupyter_pyvariant.pythons.errors import StoreError
from jupyter_pyvariant.pythons.fetch import provision
from jupyter_pyvariant.pythons.store import Store, default_store, kernelspec_references

RELEASE = "20250612"

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the synthetic interpreters are shell scripts"),
    pytest.mark.usefixtures("private_catalog_cache"),
]


@pytest.fixture
def builds() -> Iterator[tuple[Mirror, list[Build]]]:
    archives = [
        make_archive("3.13.5", RELEASE, "x86_64_v3-unknown-linux-gnu"),
        make_archive("3.12.11", RELEASE, "x86_64_v3-unknown-linux-gnu"),
    ]
    with Mirror() as mirror:
        mirror.publish(archives)
        catalog = load_catalog(f"{mirror.url}/{RELEASE}/SHA256SUMS")
        yield mirror, sorted(catalog.builds, key=lambda b: b.version, reverse=True)


def test_shared_root_is_used_read_only(builds: tuple[Mirror, list[Build]], tmp_path: Path) -> None:
    mirror, (build, _) = builds
    shared = provision(build, Store(tmp_path / "shared"))
    mirror.stop()
    user = Store(tmp_path / "user", shared=[tmp_path / "shared"])
    found = provision(build, user)
    assert found.root == shared.root and found.read_only
    assert user.installed() == [found]
    with pytest.raises(StoreError, match="shared store"):
        user.remove(found)
    assert user.gc(keep=[]) == [], "gc never touches a shared root"
    assert shared.root.is_dir()


def test_debris_of_a_killed_extraction_is_ignored_then_cleared(
    builds: tuple[Mirror, list[Build]], tmp_path: Path
) -> None:
    _, (build, _) = builds
    store = Store(tmp_path)
    debris = store.root / ".tmp" / f"{build.stem}-deadbeef"
    (debris / "bin").mkdir(parents=True)
    (debris / "bin" / "python3.13").write_text("half written")
    assert store.installed() == [] and store.find(build) is None
    provision(build, store)
    assert not debris.exists()
    assert [p.build for p in store.installed()] == [build]


def test_a_folder_without_marker_at_the_build_name_is_replaced(
    builds: tuple[Mirror, list[Build]], tmp_path: Path
) -> None:
    _, (build, _) = builds
    store = Store(tmp_path)
    debris = store.path_for(build)
    (debris / "bin").mkdir(parents=True)
    (debris / "bin" / "python3.13").write_text("left by hand, no marker")
    installed = provision(build, store)
    assert installed.root == debris and installed.build == build
    assert (debris / "bin" / "python3.13").read_text() != "left by hand, no marker"


def test_an_interpreter_with_another_checksum_is_never_replaced(
    builds: tuple[Mirror, list[Build]], tmp_path: Path
) -> None:
    _, (build, _) = builds
    store = Store(tmp_path)
    installed = provision(build, store)
    marker_path = installed.root / "PYVARIANT-BUILD.json"
    marker = json.loads(marker_path.read_text())
    marker_path.write_text(json.dumps({**marker, "sha256": "f" * 64}))
    with pytest.raises(StoreError, match=f"already holds .* with sha256 {'f' * 64}"):
        provision(build, store)
    assert json.loads(marker_path.read_text())["sha256"] == "f" * 64, "the other build is kept"


def test_kernelspec_references(builds: tuple[Mirror, list[Build]], tmp_path: Path) -> None:
    _, (new, old) = builds
    store = Store(tmp_path / "store")
    newer, older = provision(new, store), provision(old, store)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(
        f"home = {newer.executable.parent}\ninclude-system-site-packages = false\n"
    )
    os.symlink(newer.executable, venv / "bin" / "python")
    kernels = tmp_path / "kernels"
    _write_spec(kernels / "venv-kernel", {"argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher"]})
    assert kernelspec_references([kernels]) == {newer.root.resolve()}
    variants = [{"build": old.to_dict(), "python": str(older.executable)}]
    _write_spec(
        kernels / "per-node",
        {"argv": ["/nonexistent/python"], "metadata": {"pyvariant": {"variants": variants}}},
    )
    assert kernelspec_references([kernels]) == {newer.root.resolve(), older.root.resolve()}
    assert store.gc(kernelspec_references([kernels])) == []


def test_a_store_named_by_a_kernelspec_is_kept_whole(
    builds: tuple[Mirror, list[Build]], tmp_path: Path
) -> None:
    _, pair = builds
    store = Store(tmp_path / "store")
    kept = {provision(b, store).root.resolve() for b in pair}
    kernels = tmp_path / "kernels"
    _write_spec(
        kernels / "cluster", {"argv": ["python"], "metadata": {"pyvariant": {"store": str(store.root)}}}
    )
    assert kernelspec_references([kernels]) >= kept


def test_default_store_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(
        "PYVARIANT_PYTHON_STORE", os.pathsep.join([str(tmp_path / "mine"), str(tmp_path / "site")])
    )
    store = default_store()
    assert store.root == tmp_path / "mine" and store.shared == (tmp_path / "site",)
    monkeypatch.delenv("PYVARIANT_PYTHON_STORE")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "cluster"))
    store = default_store()
    assert store.root == tmp_path / "data" / "pyvariant" / "pythons"
    assert tmp_path / "cluster" / "pyvariant" / "pythons" in store.shared


def test_unwritable_store_is_a_clear_error(builds: tuple[Mirror, list[Build]], tmp_path: Path) -> None:
    _, (build, _) = builds
    (tmp_path / "a-file").write_text("the store cannot be made under a file, not even by root")
    with pytest.raises(StoreError, match="cannot write to the python store"):
        provision(build, Store(tmp_path / "a-file" / "store"))


def _write_spec(folder: Path, spec: dict[str, object]) -> None:
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps({"display_name": folder.name, "language": "python", **spec})
    )
