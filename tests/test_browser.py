"""The lab extension in a real browser: JupyterLab 4 and Notebook 7 served by a real server, driven
by Playwright in the system's Chromium (never a downloaded one)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pbs_fixture import World, level_archives, world_or_skip
from pbs_mirror import Archive

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Locator, Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("PYVARIANT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
COMMAND_LABEL = "Show host report"
PROVISION_ENTRY = "Optimized Python for this machine"
# No news or update checks: the tests never reach the internet.
LAB_OPTIONS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
)
STARTUP_SECONDS = 120
UI_TIMEOUT_MS = 90_000


@dataclass(frozen=True)
class Server:
    """A running Jupyter server: where it listens and the token it wants."""

    url: str
    token: str

    def get_json(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


def _start(
    app_module: str, workdir: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run `python -m <app_module>` on 127.0.0.1 (an OS-chosen port) until the test is done;
    ``env`` adds to this process's environment."""
    token = secrets.token_hex(16)
    home, runtime, notebooks = workdir / "home", workdir / "runtime", workdir / "notebooks"
    home.mkdir()
    notebooks.mkdir()
    server_env = {
        **os.environ,
        **(env or {}),
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_PREFER_ENV_PATH": "1",
    }
    args = [
        sys.executable,
        "-m",
        app_module,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}",
        *options,
    ]
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(args, env=server_env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Server(_wait_until_serving(process, runtime, token, workdir / "server.log"), token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_serving(process: subprocess.Popen[bytes], runtime: Path, token: str, log: Path) -> str:
    """The server's URL once its runtime file exists and its API answers; fails if it exits first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            pass
        else:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        info = runtime / f"jpserver-{process.pid}.json"
        if not info.is_file():
            continue
        url = json.loads(info.read_text())["url"]
        try:
            Server(url, token).get_json("api/status")
        except (urllib.error.URLError, ConnectionError):
            continue
        return str(url)
    pytest.fail(f"the server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Playwright's sync API owns this thread's event loop; pytest-jupyter's per-test loop would
    take it over and close it."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No jupyter_server runs in this process: the servers under test are subprocesses."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (PyPI)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install the distribution's chromium package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("jupyterlab", tmp_path_factory.mktemp("lab"), *LAB_OPTIONS)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("notebook", tmp_path_factory.mktemp("notebook"))


@dataclass
class Console:
    """What the page logged; extension load failures land here."""

    messages: list[str]

    def problems(self) -> list[str]:
        return [m for m in self.messages if "Failed to load" in m or "pyvariant" in m.lower()]


def _open(browser: Browser, server: Server, path: str) -> tuple[Page, Console]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(UI_TIMEOUT_MS)
    console = Console([])

    def record(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.messages.append(f"{message.type}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: console.messages.append(f"pageerror: {error}"))
    page.goto(f"{server.url}{path}?token={server.token}")
    return page, console


def _run_from_palette(page: Page, label: str) -> None:
    """Find a command in the command palette by its label and run it, as a user would."""
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    search.fill(label)
    page.locator(".lm-CommandPalette-item", has_text=label).first.click()


def _dialog_isa_level(page: Page) -> str:
    dialog = page.locator(".jp-Dialog", has=page.locator(".jp-pyvariant-report"))
    row = dialog.locator(".jp-pyvariant-report-table tr", has=page.locator("th", has_text="ISA level"))
    return row.locator("td").inner_text()


def test_jupyterlab_shows_the_server_isa_level_and_the_host_report(browser: Browser, lab: Server) -> None:
    expected = lab.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = _open(browser, lab, "lab")
    try:
        # The splash screen goes once the layout is restored; shortcuts work from then on.
        page.locator("#jupyterlab-splash").wait_for(state="detached")
        status = page.locator(".jp-pyvariant-status[data-isa-level]")
        status.wait_for()
        assert status.inner_text() == f"ISA: {expected}"

        _run_from_palette(page, COMMAND_LABEL)
        assert _dialog_isa_level(page) == expected
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "jupyterlab-host-report.png")
        page.keyboard.press("Escape")

        # The settings schema puts the provisioning entry into the Kernel menu.
        page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
        expect(page.locator(".lm-Menu-itemLabel", has_text=PROVISION_ENTRY)).to_be_visible()
        assert console.problems() == []
    finally:
        page.close()


def test_notebook7_runs_the_host_report_command(browser: Browser, notebook: Server) -> None:
    expected = notebook.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = _open(browser, notebook, "tree")
    try:
        page.locator("#main-panel").wait_for()
        _run_from_palette(page, COMMAND_LABEL)
        assert _dialog_isa_level(page) == expected
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "notebook7-host-report.png")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Shift+C")
        page.locator(".lm-CommandPalette-input").fill(PROVISION_ENTRY)
        expect(page.locator(".lm-CommandPalette-item", has_text=PROVISION_ENTRY)).to_be_visible()
        assert console.problems() == []
    finally:
        page.close()


# -- provisioning, switching and the kernel status item, against a loopback mirror ------------------

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
    yield from _start(
        "jupyterlab",
        tmp_path_factory.mktemp("provisioning-lab"),
        *LAB_OPTIONS,
        env={"PYVARIANT_PYTHON_CATALOG": world.catalog},
    )


def _open_lab(browser: Browser, server: Server) -> tuple[Page, Console]:
    page, console = _open(browser, server, "lab")
    # The splash screen goes once the layout is restored; shortcuts work from then on.
    page.locator("#jupyterlab-splash").wait_for(state="detached")
    return page, console


def _provision_dialog(page: Page) -> Locator:
    """Open the provisioning dialog from the launcher card, as a user would."""
    page.locator(".jp-LauncherCard", has_text=PROVISION_ENTRY).first.click()
    form = page.locator(".jp-Dialog .jp-pyvariant-provision")
    form.wait_for()
    return form


def _request(page: Page, form: Locator, version: str) -> None:
    form.locator(".jp-pyvariant-version").fill(version)
    page.locator(".jp-Dialog-footer .jp-mod-accept", has_text="Create kernel").click()


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png")


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


def expect(target: Any) -> Any:
    """Playwright's retrying assertions (imported here: the module loads without playwright)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=UI_TIMEOUT_MS)
    return playwright_expect(target)


def _kernel_name_in_toolbar(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-jp-item-name='kernelName']")


def test_cancelling_a_provision_stops_it_and_keeps_nothing(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    impostor = _impostor(world)
    reached, release = world.mirror.block(impostor.path, after_bytes=len(impostor.data) // 3)
    page, console = _open_lab(browser, provisioning_lab)
    try:
        form = _provision_dialog(page)
        _request(page, form, IMPOSTOR_MINOR)
        assert reached.wait(timeout=PROVISION_SECONDS), "the download never started"
        expect(form).to_have_attribute("data-state", "running")
        _screenshot(page, "provision-running")
        form.locator(".jp-pyvariant-cancel").click()
        expect(form).to_have_attribute("data-state", "cancelled", timeout=UI_TIMEOUT_MS)
        expect(form.locator(".jp-pyvariant-error")).to_contain_text("cancelled")
        assert _provisioned_specs(provisioning_lab, IMPOSTOR_MINOR) == {}
        assert provisioning_lab.get_json("pyvariant/api/jobs")["jobs"][-1]["state"] == "cancelled"
        assert console.problems() == []
    finally:
        release.set()
        page.close()


def test_a_failed_provision_shows_the_error_in_the_dialog(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    page, _console = _open_lab(browser, provisioning_lab)
    try:
        form = _provision_dialog(page)
        _request(page, form, IMPOSTOR_MINOR)
        expect(form).to_have_attribute("data-state", "failed", timeout=PROVISION_SECONDS * 1000)
        error = form.locator(".jp-pyvariant-error")
        expect(error).not_to_be_empty()
        _screenshot(page, "provision-failed")
        # The dialog stays open with the request, ready to be corrected.
        expect(form.locator(".jp-pyvariant-version")).to_be_enabled()
        assert _provisioned_specs(provisioning_lab, IMPOSTOR_MINOR) == {}
    finally:
        page.close()


@pytest.mark.timeout(PROVISION_SECONDS + 300)
def test_provision_open_switch_and_pick_kernels_in_the_browser(
    browser: Browser, provisioning_lab: Server, world: World
) -> None:
    host = provisioning_lab.get_json("pyvariant/api/host")
    page, console = _open_lab(browser, provisioning_lab)
    try:
        expect(page.locator(".jp-LauncherCard", has_text=PROVISION_ENTRY)).to_be_visible()
        _screenshot(page, "launcher")
        form = _provision_dialog(page)
        # The level the server host runs is what "best" means, and the dialog says so.
        expect(form.locator(".jp-pyvariant-level option").first).to_contain_text(host["cpu"]["isa_level"])
        _request(page, form, "3.11")
        progress = form.locator(".jp-pyvariant-provision-progress")
        expect(progress).to_be_visible()
        expect(form.locator(".jp-pyvariant-progress-message")).not_to_be_empty()
        _screenshot(page, "provision-progress")

        # The dialog closes on success and a notebook opens on the new kernel.
        _wait_for_provisioning(form, provisioning_lab)
        (name, spec), *others = _provisioned_specs(provisioning_lab, "3.11").items()
        assert others == []
        display_name = spec["spec"]["display_name"]
        toolbar = _kernel_name_in_toolbar(page)
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
        _screenshot(page, "notebook-on-provisioned-kernel")

        # `%pyvariant kernel switch` in a cell: the kernel sends the request on the comm the
        # frontend opened to it (provisioned kernels load the extension at start).
        specs = provisioning_lab.get_json("api/kernelspecs")
        other = specs["default"]
        other_display = specs["kernelspecs"][other]["spec"]["display_name"]
        _run_cell(page, f"%pyvariant kernel switch {other}")
        expect(_last_output(page)).to_contain_text("comm: asked the frontend")
        expect(toolbar).to_have_text(other_display)
        assert _session_kernel(provisioning_lab)["name"] == other
        _screenshot(page, "switched-by-magic")

        # A kernel that loads the extension later opens the comm itself; the frontend serves it too.
        _run_cell(page, f"%load_ext jupyter_pyvariant\n%pyvariant kernel switch {name} --via comm")
        expect(_last_output(page)).to_contain_text("opened a comm")
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
        _screenshot(page, "kernel-picker")
        picker.select_option(label=other_display)
        page.locator(".jp-Dialog-footer .jp-mod-accept").click()
        expect(toolbar).to_have_text(other_display)
        assert _session_kernel(provisioning_lab)["name"] == other
        assert console.problems() == []
    finally:
        page.close()


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


def _run_cell(page: Page, code: str) -> None:
    """Type ``code`` into the notebook's last (empty) cell and run it."""
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content").last
    editor.click()
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")


def _last_output(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").last
