"""The extension under a real JupyterHub: two users' servers behind configurable-http-proxy, kernels
from a shared read-only interpreter store plus each user's own, a per-node kernelspec installed once
for everyone, the spawner's limits in ``%cpuinfo``, and a browser session through the hub's login.

The deployment is ``hub_support``; the interpreter is the real relocatable CPython of ``pbs_fixture``
served by its loopback mirror.
"""

from __future__ import annotations

import json
import os
import platform
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import (
    LAB_OPTIONS,
    PROVISION_ENTRY,
    Server,
    expect,
    kernel_name_in_toolbar,
    last_output,
    open_page,
    run_cell,
)
from hub_support import PASSWORD, STARTUP_S, Hub, HubUnavailable, HubUser, proxy_command, running_hub
from pbs_fixture import RELEASE, World, level_archives, world_or_skip
from pbs_mirror import Archive

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# The first test also waits for the module's deployment: the interpreter, the shared store, the hub.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(STARTUP_S) * 2)]

USERS = ("alice", "bob")
BROWSER_USER = "carol"
"""Logs in through the form: the hub starts this user's server on login, as it does for people."""
LISTED_STORES = ("alice",)
"""Users whose stores are named in ``PYVARIANT_PYTHON_STORE`` (their own, then the shared one); the
others have the default: their Jupyter data folder's, then every ``JUPYTER_PATH`` folder's."""
LEVELS = ("v1", "v2")
NEWER_RELEASE = "20260201"
PER_NODE = "pyvariant-per-node"
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Playwright's sync API owns this thread's event loop; pytest-jupyter's per-test loop would
    take it over and close it."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No jupyter_server runs in this process: the servers under test are subprocesses."""


@dataclass(frozen=True)
class Shared:
    """What an administrator prepared once for every user, in one prefix laid out as a Jupyter data
    folder: a store and a per-node kernelspec (the layout of docs/cluster.md)."""

    prefix: Path

    @property
    def jupyter_path(self) -> Path:
        return self.prefix / "share" / "jupyter"

    @property
    def store(self) -> Path:
        return self.jupyter_path / "pyvariant" / "pythons"

    def snapshot(self) -> dict[str, tuple[int, int] | None]:
        """Every folder under the shared folders, and every file with its size and mtime: a write
        shows. Bytecode caches are left out: python-build-standalone archives ship them, the fixture's
        repacked Debian interpreter does not, and Python (which runs as root here, where read-only
        modes stop no one) adds them where it can; a user on a read-only store writes none."""
        return {
            str(path): None if path.is_dir() else (path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in sorted(self.prefix.rglob("*"))
            if "__pycache__" not in path.relative_to(self.prefix).parts
        }


def _newer(archive: Archive) -> Archive:
    """The same interpreter as a later release: a build the shared store does not hold."""
    name = archive.filename.replace(f"+{RELEASE}-", f"+{NEWER_RELEASE}-")
    return Archive(name, archive.data, NEWER_RELEASE)


def _read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~_WRITE_BITS)


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    try:
        proxy_command()
    except HubUnavailable as exc:
        pytest.skip(str(exc))
    with world_or_skip(request, tmp_path_factory, LEVELS) as w:
        yield w


@pytest.fixture(scope="module")
def shared(world: World, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """One store with a build per level and a per-node kernel over it in a shared prefix, made
    read-only; then the mirror also publishes a newer build that only users' own stores get."""
    if platform.machine() != "x86_64":
        pytest.skip("the shared store holds one build per x86-64 level")
    shared = Shared(tmp_path_factory.mktemp("shared"))
    store = ("--store", str(shared.store))
    world.cli("python", "install", "3.11", "--levels", ",".join(LEVELS), "--catalog", world.catalog, *store)
    prefix = ("--prefix", str(shared.prefix))
    world.cli("kernel", "install", "3.11", "--per-node", "--name", PER_NODE, *store, *prefix)
    _read_only(shared.prefix)
    levels = level_archives(world.archive, LEVELS)
    world.mirror.publish([*levels, _newer(levels[0])])
    return shared


@pytest.fixture(scope="module")
def hub(world: World, shared: Shared, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    passed = ("UV_NO_INDEX", "UV_FIND_LINKS", "PIP_NO_INDEX", "PIP_FIND_LINKS", "UV_INDEX_URL")
    environment = {
        **{name: world.env[name] for name in passed},
        "PIP_CONFIG_FILE": os.devnull,
        "UV_NO_CONFIG": "1",
        "PYVARIANT_PYTHON_CATALOG": world.catalog,
        "PYVARIANT_PYTHON_MIRROR": world.mirror.url,
        # Each user's own store first (written), the shared one after it (read-only).
        "PYVARIANT_PYTHON_STORE": os.pathsep.join(["{home}/pythons", str(shared.store)]),
        "JUPYTER_PATH": str(shared.jupyter_path),
    }
    default_store = {"PYVARIANT_PYTHON_STORE": ""}
    others = {name: default_store for name in (*USERS, BROWSER_USER) if name not in LISTED_STORES}
    root = tmp_path_factory.mktemp("hub")
    with running_hub(
        root, (*USERS, BROWSER_USER), environment, user_environment=others, server_args=LAB_OPTIONS
    ) as running:
        yield running


@pytest.fixture(scope="module")
def users(hub: Hub) -> dict[str, HubUser]:
    return {name: hub.start_server(name) for name in USERS}


def _own_store(user: HubUser) -> Path:
    if user.name in LISTED_STORES:
        return user.home / "pythons"
    return user.home / ".local" / "share" / "jupyter" / "pyvariant" / "pythons"


def _own_interpreters(user: HubUser) -> list[str]:
    store = _own_store(user)
    return sorted(p.name for p in store.iterdir() if not p.name.startswith(".")) if store.is_dir() else []


def _provision(user: HubUser, request: dict[str, Any]) -> dict[str, Any]:
    """``POST pyvariant/api/kernels`` and follow the job (its ``Location``) until it ends."""
    answer = user.call("POST", "pyvariant/api/kernels", request)
    assert answer.status == 202, answer.body
    location = answer.headers["location"]
    assert location.startswith(f"/user/{user.name}/pyvariant/api/jobs/"), location
    deadline = time.monotonic() + STARTUP_S
    while True:
        job: dict[str, Any] = user.get(location.removeprefix(f"/user/{user.name}/"))
        if job["state"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            assert job["state"] == "succeeded", json.dumps(job, indent=1)
            result: dict[str, Any] = job["result"]
            return result
        time.sleep(0.5)  # polling interval of a state check, not a synchronisation


def _run(user: HubUser, kernel_name: str, code: str) -> str:
    """Start a kernel of ``kernel_name`` through the user's server, run ``code``, return its stdout."""
    outputs = _outputs(user, kernel_name, code)
    return "".join(o["text"] for o in outputs if o["msg_type"] == "stream" and o["name"] == "stdout")


def _outputs(user: HubUser, kernel_name: str, code: str) -> list[dict[str, Any]]:
    """Start a kernel of ``kernel_name`` through the user's server, run ``code``, return its outputs."""
    kernel = user.call("POST", "api/kernels", {"name": kernel_name})
    assert kernel.status == 201, kernel.body
    kernel_id = kernel.json()["id"]
    try:
        outputs = user.execute(kernel_id, code)
    finally:
        user.call("DELETE", f"api/kernels/{kernel_id}")
    errors = [o for o in outputs if o["msg_type"] == "error"]
    assert errors == [], errors
    return outputs


def _kernel_names(user: HubUser) -> set[str]:
    return {kernel["name"] for kernel in user.get("pyvariant/api/kernels")["kernels"]}


def _venv_base(python: str) -> Path:
    """The interpreter prefix a kernel venv was made from (its ``pyvenv.cfg`` ``home``)."""
    cfg = Path(python).parent.parent / "pyvenv.cfg"
    home = next(line for line in cfg.read_text().splitlines() if line.startswith("home"))
    return Path(home.partition("=")[2].strip()).parent


def test_the_rest_api_answers_under_each_users_prefix_to_that_user_only(users: dict[str, HubUser]) -> None:
    alice, bob = users["alice"], users["bob"]
    for user in (alice, bob):
        report = user.get("pyvariant/api/host")
        assert report["scope"] == "server-host"
        assert report["capacity"]["jupyterhub"]["cpu_limit"] == 1.5
        assert "builds" in user.get("pyvariant/api/pythons")
    assert alice.call("GET", "pyvariant/api/host", token=bob.token).status == 403
    assert alice.call("GET", "pyvariant/api/kernels", token="").status in (302, 403)


def test_cpuinfo_in_a_users_kernel_shows_the_spawners_limits(hub: Hub, users: dict[str, HubUser]) -> None:
    out = _run(users["bob"], "python3", "%load_ext jupyter_pyvariant\n%cpuinfo --json")
    declared = json.loads(out)["capacity"]["jupyterhub"]
    assert declared == {"mem_limit_bytes": hub.limits.mem_bytes, "cpu_limit": hub.limits.cpus}
    (shown,) = _outputs(users["bob"], "python3", "%load_ext jupyter_pyvariant\n%cpuinfo")
    assert re.search(r"JupyterHub limits +memory 3\.0 GiB, CPU 1\.5\n", shown["data"]["text/plain"])
    assert "<td>JupyterHub limits</td><td>memory 3.0 GiB, CPU 1.5</td>" in shown["data"]["text/html"]


def test_kernels_come_from_the_shared_store_or_the_users_own(
    world: World, shared: Shared, users: dict[str, HubUser]
) -> None:
    alice, bob = users["alice"], users["bob"]
    before = shared.snapshot()
    v2, newer = level_archives(world.archive, ["v2"])[0], _newer(level_archives(world.archive, ["v1"])[0])

    # A build the shared store holds: no download, nothing in the user's own store, whether the
    # stores are listed (alice) or found on JUPYTER_PATH (bob).
    for user in (alice, bob):
        kernel = _provision(user, {"version": "3.11", "level": "v2", "name": f"{user.name}-v2"})
        assert _venv_base(kernel["python"]).parent == shared.store
        assert len(world.mirror.requests_for(v2.path)) == 1, "downloaded again: only the shared store's fill"
        assert _own_interpreters(user) == []
        assert _run(user, f"{user.name}-v2", "import sys; print(sys.executable)").strip() == kernel["python"]

    # A build it does not hold: downloaded once, into the user's own store (the first root).
    kernel = _provision(bob, {"version": "3.11", "level": "v1", "name": "bob-newer"})
    assert _venv_base(kernel["python"]) == _own_store(bob) / newer.filename.split(".tar")[0]
    assert len(world.mirror.requests_for(newer.path)) == 1
    assert _run(bob, "bob-newer", "import sys; print(sys.executable)").strip() == kernel["python"]

    # Each user sees their own kernels, and the shared one.
    assert _kernel_names(alice) == {"alice-v2", PER_NODE}
    assert _kernel_names(bob) == {"bob-v2", "bob-newer", PER_NODE}
    assert shared.snapshot() == before, "a user's server wrote into the shared folders"


def test_a_per_node_kernelspec_installed_for_all_users_works_for_both(
    shared: Shared, users: dict[str, HubUser]
) -> None:
    spec = json.loads((shared.jupyter_path / "kernels" / PER_NODE / "kernel.json").read_text())
    venvs = {v["build"]["triple"]: v["python"] for v in spec["metadata"]["pyvariant"]["variants"]}
    assert len(venvs) == len(LEVELS)
    before = shared.snapshot()
    for user in users.values():
        host_level = user.get("pyvariant/api/host")["cpu"]["isa_level"]
        best = "x86_64-unknown-linux-gnu" if host_level == "x86-64-v1" else "x86_64_v2-unknown-linux-gnu"
        expected = venvs[best]
        listed = user.get("api/kernelspecs")["kernelspecs"][PER_NODE]["spec"]["metadata"]
        assert listed["kernel_provisioner"]["provisioner_name"] == "pyvariant-provisioner"
        ours = {k["name"]: k for k in user.get("pyvariant/api/kernels")["kernels"]}
        assert Path(ours[PER_NODE]["spec_dir"]) == shared.jupyter_path / "kernels" / PER_NODE
        code = "import os, sys; print(sys.executable, os.environ['JUPYTERHUB_USER'])"
        assert _run(user, PER_NODE, code).split() == [expected, user.name]
    assert shared.snapshot() == before


@pytest.mark.browser
def test_log_in_open_lab_provision_and_run_a_cell_through_the_proxy(browser: Browser, hub: Hub) -> None:
    page, console = open_page(browser, Server(hub.url, ""), "hub/login")
    page.locator("#username_input").fill(BROWSER_USER)
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()
    # The hub starts the server on login and sends the browser on to it.
    page.wait_for_url(re.compile(rf"/user/{BROWSER_USER}/lab"), timeout=STARTUP_S * 1000)
    page.locator("#jupyterlab-splash").wait_for(state="detached")

    page.locator(".jp-LauncherCard", has_text=PROVISION_ENTRY).first.click()
    form = page.locator(".jp-Dialog .jp-pyvariant-provision")
    # Typed once the dialog has the server's list of builds (it preselects a version then).
    expect(form.locator(".jp-pyvariant-provision-hint")).not_to_be_empty()
    form.locator(".jp-pyvariant-version").fill("3.11")
    # A name of its own: the shared per-node kernel is of the same version and level, and the
    # dialog offers to open it instead.
    form.locator(".jp-pyvariant-name").fill(f"{BROWSER_USER}-311")
    page.locator(".jp-Dialog-footer .jp-mod-accept", has_text="Create kernel").click()
    # The dialog closes on success and a notebook opens on the new kernel.
    form.wait_for(state="detached", timeout=STARTUP_S * 1000)
    expect(kernel_name_in_toolbar(page)).to_contain_text("Python 3.11")
    # The status item shows the kernel's own report, asked through /user/<name>/pyvariant/api/: the
    # kernel runs and answers (the fixture's interpreter is built for any x86-64).
    status = page.locator(".jp-pyvariant-status[data-kernel-isa-level]")
    expect(status).to_have_attribute("data-kernel-isa-level", "x86-64-v1")
    run_cell(page, "import sys; print(sys.version_info[:2], sys.prefix)")
    expect(last_output(page)).to_contain_text(f"(3, 11) {hub.home(BROWSER_USER)}")
    assert console.problems() == []
