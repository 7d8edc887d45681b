"""Provisioning, switching and picking kernels in a real JupyterLab, against a loopback mirror (the
harness is browser_support)."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import (
    LAB_OPTIONS,
    NOTEBOOK_OPTIONS,
    PROVISION_ENTRY,
    UI_TIMEOUT_MS,
    Server,
    expect,
    kernel_name_in_toolbar,
    last_output,
    open_lab,
    open_page,
    run_cell,
    screenshot,
    start,
    wait_for_app,
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


def _provisioning_server(
    app_module: str, options: tuple[str, ...], world: World, workdir: Path, **env: str
) -> Iterator[Server]:
    """``app_module`` provisioning from the test's mirror; ``env`` adds to the world's environment."""
    world.mirror.publish([*level_archives(world.archive, ["v1"]), _impostor(world)])
    yield from start(app_module, workdir, *options, env={"PYVARIANT_PYTHON_CATALOG": world.catalog, **env})


@pytest.fixture(scope="module")
def provisioning_lab(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab whose kernels, store and downloads all stay in the test's world."""
    yield from _provisioning_server(
        "jupyterlab", LAB_OPTIONS, world, tmp_path_factory.mktemp("provisioning-lab")
    )


@pytest.fixture(scope="module")
def provisioning_notebook(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Notebook 7 with kernels and a store of its own: the JupyterLab tests leave a 3.11 kernel and
    its interpreter in the world's, and a job here must download to be held part-way."""
    workdir = tmp_path_factory.mktemp("provisioning-notebook")
    yield from _provisioning_server(
        "notebook",
        NOTEBOOK_OPTIONS,
        world,
        workdir,
        JUPYTER_DATA_DIR=str(workdir / "data"),
        PYVARIANT_PYTHON_STORE=str(workdir / "store"),
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


@contextlib.contextmanager
def _held_download(page: Page, form: Locator, world: World, archive: Archive, version: str) -> Iterator[None]:
    """Request ``version`` in ``form`` and hold the download of ``archive`` a third of the way
    through: the job is running inside the block, and its download goes on once the block ends."""
    reached, release = world.mirror.block(archive.path, after_bytes=len(archive.data) // 3)
    try:
        _request(page, form, version)
        assert reached.wait(timeout=PROVISION_SECONDS), "the download never started"
        expect(form).to_have_attribute("data-state", "running")
        yield
    finally:
        release.set()


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
    page, console = open_lab(browser, provisioning_lab)
    form = _provision_dialog(page)
    with _held_download(page, form, world, _impostor(world), IMPOSTOR_MINOR):
        screenshot(page, "provision-running")
        form.locator(".jp-pyvariant-cancel").click()
        expect(form).to_have_attribute("data-state", "cancelled", timeout=UI_TIMEOUT_MS)
        expect(form.locator(".jp-pyvariant-error")).to_have_text("Cancelled: nothing was kept.")
        # The bar stopped (no moving bar with a stale step), "cancelled" is said once, and the
        # details never call the interrupted download done.
        expect(form.locator("progress")).to_be_hidden()
        expect(form.locator(".jp-pyvariant-progress-message")).to_be_empty()
        assert form.inner_text().lower().count("cancelled") == 1, form.inner_text()
        form.locator(".jp-pyvariant-provision-log summary").click()
        log = form.locator(".jp-pyvariant-provision-log pre").inner_text()
        assert "download: done" not in log and log.count("cancelled") == 1, log
        assert _provisioned_specs(provisioning_lab, IMPOSTOR_MINOR) == {}
        assert provisioning_lab.get_json("pyvariant/api/jobs")["jobs"][-1]["state"] == "cancelled"
        assert console.problems() == []


def test_a_failed_provision_shows_the_error_in_the_dialog(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    page, _console = open_lab(browser, provisioning_lab)
    form = _provision_dialog(page)
    _request(page, form, IMPOSTOR_MINOR)
    expect(form).to_have_attribute("data-state", "failed", timeout=PROVISION_SECONDS * 1000)
    error = form.locator(".jp-pyvariant-error")
    expect(error).to_contain_text("It did not work: ")
    expect(form.locator("progress")).to_be_hidden()
    expect(form.locator(".jp-pyvariant-cancel")).to_be_hidden()
    screenshot(page, "provision-failed")
    # The dialog stays open with the request, ready to be corrected and tried again.
    expect(form.locator(".jp-pyvariant-version")).to_be_enabled()
    expect(page.locator(".jp-Dialog-footer .jp-mod-accept", has_text="Create kernel")).to_be_enabled()
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


# -- a build that is already a kernel, the list of kernels, the picker, the comm, background jobs ---

JOB_POLL_S = 0.5


def _api(server: Server, method: str, path: str, body: Any = None) -> Any:
    """One call to the extension's REST API with the server's token (no XSRF needed for a token)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}pyvariant/api/{path}",
        data=data,
        method=method,
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
    return json.loads(text) if text else None


def _default_kernel(server: Server, minor: str) -> dict[str, Any]:
    """The kernel this server provisioned for ``minor`` under its own name, provisioned over REST
    (no UI) when an earlier test did not leave one."""

    def default_named() -> list[dict[str, Any]]:
        kernels = _api(server, "GET", "kernels")["kernels"]
        return [
            k
            for k in kernels
            if str(k["version"]).startswith(minor + ".") and k["name"].startswith("pyvariant-")
        ]

    if not default_named():
        job = _api(server, "POST", "kernels", {"version": minor})["job"]
        deadline = time.monotonic() + PROVISION_SECONDS
        while job["state"] in ("pending", "running"):
            assert time.monotonic() < deadline, f"provisioning {minor} did not end: {job}"
            time.sleep(JOB_POLL_S)  # the poll's interval; the deadline is the wait
            job = _api(server, "GET", f"jobs/{job['id']}")
        assert job["state"] == "succeeded", json.dumps(job, indent=1)
    (kernel, *_others) = default_named()
    return kernel


def _new_notebook(page: Page, server: Server, kernel_name: str) -> None:
    """A new notebook on ``kernel_name``, in front, once its toolbar names that kernel."""
    wait_for_app(page, "notebook:create-new")
    page.evaluate(
        "name => void window.jupyterapp.commands.execute('notebook:create-new', {kernelName: name})",
        kernel_name,
    )
    display = server.get_json("api/kernelspecs")["kernelspecs"][kernel_name]["spec"]["display_name"]
    expect(kernel_name_in_toolbar(page)).to_have_text(display)


def _provision_from_command(page: Page, *, switch_current: bool = False) -> Locator:
    """The provisioning dialog, opened by its command (the Kernel menu's and the palette's entry):
    the launcher card is not there once a layout with notebooks is restored. ``switch_current``: as
    from the notebook in front, which the dialog may then switch."""
    wait_for_app(page, "pyvariant:provision-kernel")
    page.evaluate(
        "args => void window.jupyterapp.commands.execute('pyvariant:provision-kernel', args)",
        {"switchCurrent": switch_current},
    )
    form = page.locator(".jp-Dialog .jp-pyvariant-provision")
    form.wait_for()
    return form


def _sessions_on(server: Server, kernel_name: str) -> list[dict[str, Any]]:
    return [s for s in server.get_json("api/sessions") if s["kernel"]["name"] == kernel_name]


@pytest.mark.timeout(PROVISION_SECONDS * 2 + 300)
def test_a_build_that_is_a_kernel_already_is_offered_to_open_switch_or_name_anew(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    existing = _default_kernel(provisioning_lab, "3.11")
    page, console = open_lab(browser, provisioning_lab)
    specs = provisioning_lab.get_json("api/kernelspecs")
    _new_notebook(page, provisioning_lab, specs["default"])
    form = _provision_from_command(page, switch_current=True)
    create = page.locator(".jp-Dialog-footer .jp-mod-accept", has_text="Create kernel")

    # A version that is not one says why, next to the field.
    form.locator(".jp-pyvariant-version").fill("3.x")
    expect(form.locator(".jp-pyvariant-field-problem").first).to_contain_text('"3.x" is not a Python version')
    expect(create).to_be_disabled()

    # The same build again: the dialog says which kernel it is before anything is pressed.
    form.locator(".jp-pyvariant-version").fill("3.11")
    notice = form.locator(".jp-pyvariant-existing")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(existing["display_name"])
    expect(form.locator(".jp-pyvariant-name")).to_have_value(existing["name"])
    expect(create).to_be_disabled()
    screenshot(page, "provision-existing")

    # "Switch": this notebook moves to the existing kernel; nothing is provisioned.
    jobs_before = len(provisioning_lab.get_json("pyvariant/api/jobs")["jobs"])
    notice.locator(".jp-pyvariant-existing-switch").click()
    expect(form).to_be_hidden()
    expect(kernel_name_in_toolbar(page)).to_have_text(existing["display_name"])
    assert len(_sessions_on(provisioning_lab, existing["name"])) == 1

    # "Open": a new notebook on it.
    form = _provision_from_command(page, switch_current=True)
    form.locator(".jp-pyvariant-version").fill("3.11")
    form.locator(".jp-pyvariant-existing-open").click()
    expect(form).to_be_hidden()
    _wait(lambda: len(_sessions_on(provisioning_lab, existing["name"])) == 2, "a second notebook on it")
    assert len(provisioning_lab.get_json("pyvariant/api/jobs")["jobs"]) == jobs_before

    # Another name: the notice goes, "Create kernel" makes a second kernel of that build.
    form = _provision_from_command(page, switch_current=True)
    form.locator(".jp-pyvariant-version").fill("3.11")
    expect(notice).to_be_visible()
    form.locator(".jp-pyvariant-name").fill("Bad Name!")
    expect(form.locator(".jp-pyvariant-field-problem").nth(1)).to_contain_text("letters, digits")
    expect(create).to_be_disabled()
    form.locator(".jp-pyvariant-name").fill(SECOND_NAME)
    expect(notice).to_be_hidden()
    expect(create).to_be_enabled()
    create.click()
    _wait_for_provisioning(form, provisioning_lab)
    assert SECOND_NAME in provisioning_lab.get_json("api/kernelspecs")["kernelspecs"]
    assert console.problems() == []


SECOND_NAME = "second-311"


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(JOB_POLL_S)  # the poll's interval; the deadline is the wait


@pytest.mark.timeout(PROVISION_SECONDS + 300)
def test_the_list_of_kernels_removes_one_after_asking(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    if SECOND_NAME not in provisioning_lab.get_json("api/kernelspecs")["kernelspecs"]:
        job = _api(provisioning_lab, "POST", "kernels", {"version": "3.11", "name": SECOND_NAME})["job"]
        _wait(
            lambda: _api(provisioning_lab, "GET", f"jobs/{job['id']}")["state"] == "succeeded", "the kernel"
        )
    listed = {k["name"]: k for k in _api(provisioning_lab, "GET", "kernels")["kernels"]}
    page, console = open_lab(browser, provisioning_lab)
    form = _provision_from_command(page)
    form.locator(".jp-pyvariant-manage-open").click()

    manager = page.locator(".jp-Dialog .jp-pyvariant-manage")
    row = manager.locator(f"tr[data-kernel-name='{SECOND_NAME}']")
    expect(row).to_contain_text(listed[SECOND_NAME]["display_name"])
    expect(row).to_contain_text(str(listed[SECOND_NAME]["version"]))
    expect(manager.locator("tbody tr")).to_have_count(len(listed))
    screenshot(page, "kernel-list")

    # Keeping it changes nothing.
    row.locator(".jp-pyvariant-remove").click()
    confirm = page.locator(".jp-Dialog", has_text=f'Remove kernel "{listed[SECOND_NAME]["display_name"]}"?')
    confirm.locator(".jp-Dialog-footer button", has_text="Keep it").click()
    expect(row).to_be_visible()
    assert SECOND_NAME in provisioning_lab.get_json("api/kernelspecs")["kernelspecs"]

    row.locator(".jp-pyvariant-remove").click()
    confirm.locator(".jp-Dialog-footer button", has_text="Remove").click()
    expect(manager.locator(".jp-pyvariant-manage-note")).to_contain_text("was removed")
    expect(row).to_have_count(0)
    assert SECOND_NAME not in provisioning_lab.get_json("api/kernelspecs")["kernelspecs"]
    assert SECOND_NAME not in {k["name"] for k in _api(provisioning_lab, "GET", "kernels")["kernels"]}

    # "Set up a new kernel…" goes back to the provisioning dialog.
    page.locator(".jp-Dialog-footer .jp-mod-accept", has_text="Set up a new kernel").click()
    expect(page.locator(".jp-Dialog .jp-pyvariant-provision")).to_be_visible()
    assert console.problems() == []


@pytest.mark.timeout(PROVISION_SECONDS + 300)
def test_a_switch_to_a_kernel_that_does_not_exist_says_so_in_the_cell(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    existing = _default_kernel(provisioning_lab, "3.11")
    page, _console = open_lab(browser, provisioning_lab)
    _new_notebook(page, provisioning_lab, existing["name"])
    # Over a comm the kernel opens itself: the frontend answers on it, the cell waits and says why.
    run_cell(page, "%pyvariant kernel switch no-such-kernel --via comm")
    output = last_output(page)
    expect(output).to_contain_text("the frontend did not switch to 'no-such-kernel'")
    expect(output).to_contain_text('no kernel named "no-such-kernel"')
    expect(kernel_name_in_toolbar(page)).to_have_text(existing["display_name"])
    screenshot(page, "switch-refused")


def test_arrow_keys_in_the_kernel_picker_move_past_the_entry_and_enter_opens_it(
    browser: Browser, provisioning_lab: Server
) -> None:
    page, console = open_lab(browser, provisioning_lab)
    _new_notebook(page, provisioning_lab, provisioning_lab.get_json("api/kernelspecs")["default"])
    kernel_name_in_toolbar(page).click()
    picker = page.locator(".jp-Dialog select.jp-pyvariant-kernel-select")
    picker.focus()
    provision = page.locator(".jp-Dialog .jp-pyvariant-provision")
    entry_value = picker.locator("option", has_text=PROVISION_ENTRY).get_attribute("value")
    options = picker.locator("option").count()
    picker.press("Home")
    passed = False
    for _ in range(options):
        picker.press("ArrowDown")
        passed = passed or picker.input_value() == entry_value
        assert provision.count() == 0, "an arrow key opened the provisioning dialog"
    assert passed, "the arrow keys never reached the entry"
    expect(picker).to_be_visible()  # the picker is still open

    while picker.input_value() != entry_value:
        picker.press("ArrowUp")
    expect(provision).to_have_count(0)
    picker.press("Enter")
    expect(provision).to_be_visible()
    assert console.problems() == []


def _leave_running(page: Page, form: Locator, minor: str) -> None:
    """Close the dialog on its running job: a progress notification shows the job, and reopening
    the dialog shows the running job, not an empty form."""
    page.locator(".jp-Dialog-footer button", has_text="Close").click()
    expect(form).to_have_count(0)
    running = page.locator(".jp-Notification-Toast-in-progress")
    expect(running).to_contain_text(f"Setting up Python {minor}")
    form = _provision_from_command(page)
    expect(form).to_have_attribute("data-state", "running")
    expect(form.locator(".jp-pyvariant-cancel")).to_be_visible()
    page.locator(".jp-Dialog-footer button", has_text="Close").click()
    expect(running).to_be_visible()


def _end_toast(page: Page, minor: str, words: str) -> None:
    """The progress notification of ``minor``'s job turned into its end, which says ``words``."""
    toasts = page.locator(".Toastify__toast")
    expect(toasts.filter(has_text=words)).to_be_visible(timeout=PROVISION_SECONDS * 1000)
    expect(toasts.filter(has_text=f"Setting up Python {minor}:")).to_have_count(0)


@pytest.mark.timeout(PROVISION_SECONDS + 300)
def test_a_job_left_running_shows_in_the_notifications_and_ends_in_a_toast(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    page, console = open_lab(browser, provisioning_lab)
    form = _provision_from_command(page)
    with _held_download(page, form, world, _impostor(world), IMPOSTOR_MINOR):
        _leave_running(page, form, IMPOSTOR_MINOR)
        screenshot(page, "provision-in-background")
    # The impostor fails its check once downloaded: the progress toast turns into the reason.
    _end_toast(page, IMPOSTOR_MINOR, "did not work")
    screenshot(page, "provision-failed-toast")
    assert console.problems() == []


@pytest.mark.timeout(PROVISION_SECONDS + 300)
def test_notebook7_a_job_left_running_ends_in_a_toast_saying_the_kernel_is_ready(
    browser: Browser, provisioning_notebook: Server, world: World
) -> None:
    page, console = open_page(browser, provisioning_notebook, "tree")
    form = _provision_from_command(page)
    real = level_archives(world.archive, ["v1"])[0]
    with _held_download(page, form, world, real, "3.11"):
        _leave_running(page, form, "3.11")
    _end_toast(page, "3.11", "is ready.")
    ((name, spec),) = _provisioned_specs(provisioning_notebook, "3.11").items()
    toast = page.locator(".Toastify__toast", has_text="is ready.")
    expect(toast).to_contain_text(f'Kernel "{spec["spec"]["display_name"]}" is ready.')
    expect(toast.locator("button", has_text="Open a notebook")).to_be_visible()
    screenshot(page, "notebook7-provisioned-toast")
    assert name.startswith("pyvariant-3.11")
    assert console.problems() == []


SETTINGS_PLUGIN = "jupyter-pyvariant:plugin"
SETTINGS_SCHEMA = Path(__file__).resolve().parents[1] / "labextension" / "schema" / "plugin.json"


def test_the_settings_editor_says_each_settings_description_once(
    browser: Browser, provisioning_lab: Server
) -> None:
    properties = json.loads(SETTINGS_SCHEMA.read_text(encoding="utf-8"))["properties"]
    page, console = open_lab(browser, provisioning_lab)
    wait_for_app(page, "settingeditor:open")
    page.evaluate("() => void window.jupyterapp.commands.execute('settingeditor:open')")
    page.locator(".jp-PluginList-entry", has_text="Python variants").click()
    form = page.locator(f"fieldset[id='jp-SettingsEditor-{SETTINGS_PLUGIN}']")
    expect(form.get_by_text(properties["mirror"]["title"], exact=True)).to_be_visible()
    screenshot(page, "settings-editor")
    for setting in properties.values():
        expect(form.get_by_text(setting["description"], exact=True).filter(visible=True)).to_have_count(1)
    assert console.problems() == []
