"""Provisioning, switching and picking kernels in a real JupyterLab, against a loopback mirror (the
harness is browser_support)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import (
    LAB_OPTIONS,
    PROVISION_ENTRY,
    UI_TIMEOUT_MS,
    Server,
    expect,
    kernel_name_in_toolbar,
    last_output,
    open_lab,
    run_cell,
    screenshot,
    start,
)
from pbs_fixture import World, level_archives, world_or_skip
from pbs_mirror import Archive

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Playwright's sync API owns this thread's event loop; pytest-jupyter's per-test loop would
    take it over and close it."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No jupyter_server runs in this process: the servers under test are subprocesses."""


PROVISION_SECONDS = 600
# The fixture interpreter (Debian's 3.11) is also published under the name of a 3.12 build: a
# download that can be held part-way to cancel it, and an interpreter the smoke test rejects.
IMPOSTOR_VERSION = "3.12.0"
IMPOSTOR_MINOR = "3.12"


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_or_skip(request, tmp_path_factory) as w:
        yield w


def _impostor(world: World) -> Archive:
    real = level_archives(world.archive, ["v1"])[0]
    version = real.filename.split("+")[0].removeprefix("cpython-")
    return Archive(
        real.filename.replace(f"cpython-{version}+", f"cpython-{IMPOSTOR_VERSION}+"), real.data, real.release
    )


@pytest.fixture(scope="module")
def provisioning_lab(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab whose kernels, store and downloads all stay in the test's world."""
    world.mirror.publish([*level_archives(world.archive, ["v1"]), _impostor(world)])
    yield from start(
        "jupyterlab",
        tmp_path_factory.mktemp("provisioning-lab"),
        *LAB_OPTIONS,
        env={"PYVARIANT_PYTHON_CATALOG": world.catalog},
    )


def _provision_dialog(page: Page) -> Locator:
    """Open the provisioning dialog from the launcher card, as a user would."""
    page.locator(".jp-LauncherCard", has_text=PROVISION_ENTRY).first.click()
    form = page.locator(".jp-Dialog .jp-pyvariant-provision")
    form.wait_for()
    return form


def _request(page: Page, form: Locator, version: str) -> None:
    form.locator(".jp-pyvariant-version").fill(version)
    page.locator(".jp-Dialog-footer .jp-mod-accept", has_text="Create kernel").click()


def _provisioned_specs(server: Server, minor: str) -> dict[str, Any]:
    """The kernelspecs this project provisioned for Python ``minor``, as the server lists them."""
    specs = server.get_json("api/kernelspecs")["kernelspecs"]
    return {
        name: spec
        for name, spec in specs.items()
        if str((spec["spec"].get("metadata") or {}).get("pyvariant", {}).get("version", "")).startswith(
            minor + "."
        )
    }


def test_cancelling_a_provision_stops_it_and_keeps_nothing(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    impostor = _impostor(world)
    reached, release = world.mirror.block(impostor.path, after_bytes=len(impostor.data) // 3)
    page, console = open_lab(browser, provisioning_lab)
    try:
        form = _provision_dialog(page)
        _request(page, form, IMPOSTOR_MINOR)
        assert reached.wait(timeout=PROVISION_SECONDS), "the download never started"
        expect(form).to_have_attribute("data-state", "running")
        screenshot(page, "provision-running")
        form.locator(".jp-pyvariant-cancel").click()
        expect(form).to_have_attribute("data-state", "cancelled", timeout=UI_TIMEOUT_MS)
        expect(form.locator(".jp-pyvariant-error")).to_contain_text("cancelled")
        assert _provisioned_specs(provisioning_lab, IMPOSTOR_MINOR) == {}
        assert provisioning_lab.get_json("pyvariant/api/jobs")["jobs"][-1]["state"] == "cancelled"
        assert console.problems() == []
    finally:
        release.set()


def test_a_failed_provision_shows_the_error_in_the_dialog(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    page, _console = open_lab(browser, provisioning_lab)
    form = _provision_dialog(page)
    _request(page, form, IMPOSTOR_MINOR)
    expect(form).to_have_attribute("data-state", "failed", timeout=PROVISION_SECONDS * 1000)
    error = form.locator(".jp-pyvariant-error")
    expect(error).not_to_be_empty()
    screenshot(page, "provision-failed")
    # The dialog stays open with the request, ready to be corrected.
    expect(form.locator(".jp-pyvariant-version")).to_be_enabled()
    assert _provisioned_specs(provisioning_lab, IMPOSTOR_MINOR) == {}


@pytest.mark.timeout(PROVISION_SECONDS + 300)
def test_provision_open_switch_and_pick_kernels_in_the_browser(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    host = provisioning_lab.get_json("pyvariant/api/host")
    page, console = open_lab(browser, provisioning_lab)
    expect(page.locator(".jp-LauncherCard", has_text=PROVISION_ENTRY)).to_be_visible()
    screenshot(page, "launcher")
    form = _provision_dialog(page)
    # The level the server host runs is what "best" means, and the dialog says so.
    expect(form.locator(".jp-pyvariant-level option").first).to_contain_text(host["cpu"]["isa_level"])
    _request(page, form, "3.11")
    progress = form.locator(".jp-pyvariant-provision-progress")
    expect(progress).to_be_visible()
    expect(form.locator(".jp-pyvariant-progress-message")).not_to_be_empty()
    screenshot(page, "provision-progress")

    # The dialog closes on success and a notebook opens on the new kernel.
    _wait_for_provisioning(form, provisioning_lab)
    (name, spec), *others = _provisioned_specs(provisioning_lab, "3.11").items()
    assert others == []
    display_name = spec["spec"]["display_name"]
    toolbar = kernel_name_in_toolbar(page)
    expect(toolbar).to_have_text(display_name)

    # The status item shows the kernel's own report: the level its Python was built for and
    # its CPU's, with the hint when the CPU could run a higher level.
    status = page.locator(".jp-pyvariant-status[data-kernel-isa-level]")
    expect(status).to_be_visible()
    kernel_id = _session_kernel(provisioning_lab)["id"]
    report = provisioning_lab.get_json(f"pyvariant/api/host/kernel/{kernel_id}")
    built, cpu = report["python"]["isa_level"], report["cpu"]["isa_level"]
    expect(status).to_have_attribute("data-isa-level", cpu)
    expect(status).to_have_attribute("data-kernel-isa-level", built)
    expect(status).to_contain_text(f"Kernel {built}")
    better = report["recommendations"]["better_kernel"]
    assert better == (cpu if built != cpu else None), "the kernel's report decides the hint"
    if better:
        expect(status).to_have_attribute("data-better-level", better)
    screenshot(page, "notebook-on-provisioned-kernel")

    # `%pyvariant kernel switch` in a cell: the kernel sends the request on the comm the
    # frontend opened to it (provisioned kernels load the extension at start).
    specs = provisioning_lab.get_json("api/kernelspecs")
    other = specs["default"]
    other_display = specs["kernelspecs"][other]["spec"]["display_name"]
    run_cell(page, f"%pyvariant kernel switch {other}")
    expect(last_output(page)).to_contain_text("comm: asked the frontend")
    expect(toolbar).to_have_text(other_display)
    assert _session_kernel(provisioning_lab)["name"] == other
    screenshot(page, "switched-by-magic")

    # A kernel that loads the extension later opens the comm itself; the frontend serves it too.
    run_cell(page, f"%load_ext jupyter_pyvariant\n%pyvariant kernel switch {name} --via comm")
    expect(last_output(page)).to_contain_text("opened a comm")
    expect(toolbar).to_have_text(display_name)
    assert _session_kernel(provisioning_lab)["name"] == name

    # The kernel picker lists the provisioning entry and the kernel's build facts.
    toolbar.click()
    picker = page.locator(".jp-Dialog select")
    expect(picker.locator("option", has_text=PROVISION_ENTRY)).to_have_count(1)
    choice = picker.locator("option", has_text=display_name)
    expect(choice).to_have_attribute(
        "title", re.compile(re.escape(spec["spec"]["metadata"]["pyvariant"]["label"]))
    )
    screenshot(page, "kernel-picker")
    picker.select_option(label=other_display)
    page.locator(".jp-Dialog-footer .jp-mod-accept").click()
    expect(toolbar).to_have_text(other_display)
    assert _session_kernel(provisioning_lab)["name"] == other
    assert console.problems() == []


def _wait_for_provisioning(form: Locator, server: Server) -> None:
    """Until the dialog closes on success; a failure says what the server's job went through."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        form.wait_for(state="detached", timeout=PROVISION_SECONDS * 1000)
    except PlaywrightTimeout:
        jobs = server.get_json("pyvariant/api/jobs")["jobs"]
        pytest.fail(f"provisioning did not finish; the server's jobs: {json.dumps(jobs, indent=1)}")


def _session_kernel(server: Server) -> dict[str, Any]:
    (session,) = server.get_json("api/sessions")
    kernel: dict[str, Any] = session["kernel"]
    return kernel
