"""The lab extension in a real browser: JupyterLab 4 and Notebook 7 served by a real server, driven
by Playwright in the system's Chromium (the harness is browser_support): what it says, how it looks
in the light and dark themes, and where it puts its entries."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import (
    ARTIFACTS,
    PROVISION_ENTRY,
    TEST_TIMEOUT_S,
    Server,
    expect,
    last_output,
    open_lab,
    open_page,
    run_cell,
    run_from_palette,
    screenshot,
    wait_for_app,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(TEST_TIMEOUT_S)]

COMMAND_LABEL = "Show host report"
HOST_REPORT_COMMAND = "pyvariant:show-host-report"
PROVISION_COMMAND = "pyvariant:provision-kernel"
DARK = "JupyterLab Dark"
LIGHT = "JupyterLab Light"
# WCAG 2.1 AA for normal text.
AA_CONTRAST = 4.5
PROVISIONED_DISPLAY_NAME = "Python 3.11 · x86-64-v2 · PGO+LTO"


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Playwright's sync API owns this thread's event loop; pytest-jupyter's per-test loop would
    take it over and close it."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No jupyter_server runs in this process: the servers under test are subprocesses."""


def _dialog_cpu_level(page: Page) -> str:
    dialog = page.locator(".jp-Dialog", has=page.locator(".jp-pyvariant-report"))
    row = dialog.locator(".jp-pyvariant-report-table tr", has=page.locator("th", has_text="CPU level"))
    return row.locator("td").inner_text()


def _status(page: Page) -> Locator:
    return page.locator(".jp-pyvariant-status:not(.lm-mod-hidden)")


def test_jupyterlab_shows_the_server_cpu_level_and_the_host_report(browser: Browser, lab: Server) -> None:
    expected = lab.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = open_lab(browser, lab)
    status = page.locator(".jp-pyvariant-status[data-isa-level]")
    expect(status).to_have_text(f"CPU {expected}")
    # Plain words at normal weight: no jargon, no bold.
    assert status.evaluate("node => getComputedStyle(node).fontWeight") == "400"

    run_from_palette(page, COMMAND_LABEL, HOST_REPORT_COMMAND)
    assert _dialog_cpu_level(page) == expected
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "jupyterlab-host-report.png")
    page.keyboard.press("Escape")

    # The settings schema puts the provisioning entry into the Kernel menu.
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    expect(page.locator(".lm-Menu-itemLabel", has_text=PROVISION_ENTRY)).to_be_visible()
    assert console.problems() == []


def test_notebook7_runs_the_host_report_command(browser: Browser, notebook: Server) -> None:
    expected = notebook.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = open_page(browser, notebook, "tree")
    page.locator("#main-panel").wait_for()
    run_from_palette(page, COMMAND_LABEL, HOST_REPORT_COMMAND)
    assert _dialog_cpu_level(page) == expected
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "notebook7-host-report.png")
    page.keyboard.press("Escape")
    run_from_palette(page, PROVISION_ENTRY, PROVISION_COMMAND)
    expect(page.locator(".jp-Dialog .jp-pyvariant-provision")).to_be_visible()
    assert console.problems() == []


# -- the kernel's machine: status bar in Lab, notebook toolbar in Notebook 7 ------------------------

_RECORD_STATUS_TEXTS = """() => {
    window.__pyvariantStatusTexts = [];
    const seen = () => {
        for (const node of document.querySelectorAll('.jp-pyvariant-status')) {
            if (!node.classList.contains('lm-mod-hidden') && node.textContent) {
                window.__pyvariantStatusTexts.push(node.textContent);
            }
        }
    };
    new MutationObserver(seen).observe(document.body, {
        subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class']
    });
}"""


def _new_notebook(page: Page, kernel: str = "python3") -> None:
    """A new notebook on ``kernel``, once the kernel is idle."""
    page.evaluate(
        "(kernelName) => { window.jupyterapp.commands.execute('notebook:create-new', {kernelName}); }",
        kernel,
    )
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").wait_for()
    _wait_for_idle_kernel(page)


def _wait_for_idle_kernel(page: Page) -> None:
    page.wait_for_function(
        """() => {
            const widget = window.jupyterapp.shell.currentWidget;
            const kernel = widget && widget.sessionContext && widget.sessionContext.session?.kernel;
            return !!kernel && kernel.status === 'idle';
        }""",
        polling=250,
    )


def test_lab_status_shows_the_kernel_build_only_once_known(browser: Browser, lab: Server) -> None:
    page, console = open_lab(browser, lab)
    page.evaluate(_RECORD_STATUS_TEXTS)
    _new_notebook(page)
    status = page.locator(".jp-pyvariant-status[data-kernel-isa-level]")
    expect(status).to_be_visible()
    built, cpu = status.get_attribute("data-kernel-isa-level"), status.get_attribute("data-isa-level")
    expect(status).to_contain_text(f"Kernel {built} · CPU {cpu}")
    texts: list[str] = page.evaluate("() => window.__pyvariantStatusTexts")
    # Never a placeholder or a stale level while the kernel starts: nothing until it answers.
    assert [t for t in texts if "…" in t or "ISA" in t or "↑" in t] == []
    if status.get_attribute("data-better-level"):
        expect(status).to_contain_text("faster kernel available")
    assert status.evaluate("node => getComputedStyle(node).fontWeight") == "400"
    assert console.problems() == []


def test_notebook7_shows_the_kernel_build_in_the_notebook_toolbar(browser: Browser, notebook: Server) -> None:
    (notebook.notebooks / "facts.ipynb").write_text(json.dumps(_EMPTY_NOTEBOOK), encoding="utf-8")
    page, console = open_page(browser, notebook, "notebooks/facts.ipynb")
    wait_for_app(page)
    item = page.locator(".jp-NotebookPanel-toolbar .jp-pyvariant-status[data-kernel-isa-level]")
    expect(item).to_be_visible()
    built, cpu = item.get_attribute("data-kernel-isa-level"), item.get_attribute("data-isa-level")
    expect(item).to_contain_text(f"Kernel {built} · CPU {cpu}")
    assert "Click for the full report" in (item.get_attribute("title") or "")
    item.click()
    expect(page.locator(".jp-Dialog .jp-pyvariant-report")).to_be_visible()
    screenshot(page, "notebook7-toolbar-status")
    assert console.problems() == []


_EMPTY_NOTEBOOK = {
    "cells": [],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


# -- the look: themes, contrast, controls -----------------------------------------------------------

# Each element with its own text: its colour over its effective background (the first opaque
# background up its ancestors, translucent ones blended in), as a WCAG contrast ratio.
_CONTRASTS = """(roots) => {
    const parse = text => {
        const m = text.match(/^rgba?\\(([^)]+)\\)$/);
        if (!m) { return null; }
        const parts = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
        return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
    };
    const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
    const backdrop = node => {
        const layers = [];
        for (let n = node; n; n = n.parentElement) {
            const colour = parse(getComputedStyle(n).backgroundColor);
            if (colour === null) { return null; }
            if (colour[3] > 0) { layers.push(colour); }
            if (colour[3] >= 1) { break; }
        }
        return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
    };
    const luminance = c => {
        const [r, g, b] = c.slice(0, 3).map(v => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const results = [];
    for (const root of roots) {
        for (const node of [root, ...root.querySelectorAll('*')]) {
            const own = [...node.childNodes].some(c => c.nodeType === 3 && c.textContent.trim());
            if (!own || !node.getClientRects().length) { continue; }
            const style = getComputedStyle(node);
            const background = backdrop(node);
            const colour = parse(style.color);
            const text = node.textContent.trim().slice(0, 60);
            if (!background || !colour) {
                results.push({text, ratio: null, color: style.color, background: null});
                continue;
            }
            const fg = over(colour, background);
            const [light, dark] = [luminance(fg), luminance(background)].sort((a, b) => b - a);
            results.push({
                text, ratio: (light + 0.05) / (dark + 0.05), color: style.color,
                background: 'rgb(' + background.slice(0, 3).map(Math.round).join(', ') + ')'
            });
        }
    }
    return results;
}"""


def _low_contrast(page: Page, selector: str) -> list[dict[str, Any]]:
    """The text elements under ``selector`` below WCAG AA (or whose colours could not be read)."""
    roots = page.locator(selector)
    expect(roots.first).to_be_visible()
    results: list[dict[str, Any]] = roots.evaluate_all(_CONTRASTS)
    assert results, f"no text under {selector}"
    return [r for r in results if r["ratio"] is None or r["ratio"] < AA_CONTRAST]


def _set_theme(page: Page, theme: str) -> None:
    wait_for_app(page, "apputils:change-theme")
    page.evaluate(
        "(theme) => { window.jupyterapp.commands.execute('apputils:change-theme', {theme}); }", theme
    )
    light = "true" if theme == LIGHT else "false"
    page.wait_for_function(
        "(light) => document.body.dataset.jpThemeLight === light && document.body.dataset.jpThemeName",
        arg=light,
        polling=250,
    )
    page.locator("#jupyterlab-splash").wait_for(state="detached")


@pytest.fixture
def lab_page(browser: Browser, lab: Server) -> Iterator[Page]:
    """A JupyterLab page that ends the test in the light theme (the theme is a user setting the
    module's server keeps)."""
    page, _console = open_lab(browser, lab)
    yield page
    if not page.is_closed():
        _set_theme(page, LIGHT)


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_cpuinfo_and_host_report_text_meets_wcag_aa(lab_page: Page, theme: str) -> None:
    page = lab_page
    _set_theme(page, theme)
    _new_notebook(page)
    run_cell(page, "%load_ext jupyter_pyvariant\n%cpuinfo")
    expect(last_output(page).locator(".pyv .pyv-banner").first).to_be_visible()
    selector = ".jp-OutputArea-output .pyv"
    texts = ", ".join(f"{selector} {part}" for part in (".pyv-banner", "table", "h3", "h4"))
    assert _low_contrast(page, texts) == []
    # Labels sit beside their values: left-aligned cells, section tables of one width.
    tables = last_output(page).locator(".pyv table")
    boxes = tables.evaluate_all("ts => ts.map(t => t.getBoundingClientRect().width)")
    widths = {round(width) for width in boxes}
    assert len(widths) == 1, f"section tables of different widths: {widths}"
    aligns = tables.locator("td").evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
    assert set(aligns) == {"left"}
    screenshot(page, f"cpuinfo-{theme.split()[-1].lower()}")

    page.keyboard.press("Escape")
    run_from_palette(page, COMMAND_LABEL, HOST_REPORT_COMMAND)
    assert _low_contrast(page, ".jp-Dialog .jp-pyvariant-report-table") == []
    page.keyboard.press("Escape")
    assert _low_contrast(page, ".jp-pyvariant-status:not(.lm-mod-hidden)") == []


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_the_kernel_ready_choice_shows_which_is_checked(lab_page: Page, theme: str) -> None:
    page = lab_page
    _set_theme(page, theme)
    _new_notebook(page)
    # From a notebook the dialog offers to switch it to the new kernel or open a new notebook.
    page.evaluate(
        "(id) => { window.jupyterapp.commands.execute(id, {switchCurrent: true}); }", PROVISION_COMMAND
    )
    radios = page.locator(".jp-Dialog .jp-pyvariant-provision input[type='radio']")
    expect(radios).to_have_count(2)
    assert all(r.evaluate("r => getComputedStyle(r).appearance") != "none" for r in radios.all())
    checked = radios.and_(page.locator(":checked"))
    unchecked = radios.and_(page.locator(":not(:checked)"))
    expect(checked).to_have_count(1)
    # What the eye sees: the checked button's pixels differ from the unchecked one's, before and
    # after the choice moves to the other (the pointer kept off both, so no hover look).
    for _ in range(2):
        page.mouse.move(0, 0)
        assert checked.screenshot() != unchecked.screenshot(), "the checked radio looks like the other"
        chosen = unchecked.element_handle()
        chosen.click()
        expect(checked).to_have_count(1)
        assert chosen.evaluate("r => r.checked")
    page.locator(".jp-Dialog").screenshot(
        path=ARTIFACTS / f"provision-radios-{theme.split()[-1].lower()}.png"
    )
    page.keyboard.press("Escape")


# -- the launcher -----------------------------------------------------------------------------------


def _write_provisioned_kernelspec(server: Server) -> str:
    """A kernelspec as `kernel install` writes one (build facts under metadata.pyvariant), on this
    test's interpreter: the launcher reads only the spec."""
    assert server.home is not None
    name = "pyvariant-browser-launcher"
    folder = server.home / ".local" / "share" / "jupyter" / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": PROVISIONED_DISPLAY_NAME,
        "language": "python",
        "metadata": {
            "pyvariant": {
                "version": "3.11.7",
                "level": "x86-64-v2",
                "flavour": "PGO+LTO",
                "label": "CPython 3.11.7 · x86-64-v2 · PGO+LTO",
            }
        },
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return name


def _launcher_section(page: Page, title: str) -> Locator:
    return page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text=title))


def test_the_launcher_shows_a_provisioned_kernel_once(browser: Browser, lab: Server) -> None:
    name = _write_provisioned_kernelspec(lab)
    page, console = open_lab(browser, lab)
    assert name in lab.get_json("api/kernelspecs")["kernelspecs"]
    cards = page.locator(".jp-LauncherCard", has_text=PROVISIONED_DISPLAY_NAME)
    notebook_section = _launcher_section(page, "Notebook")
    expect(notebook_section.locator(".jp-LauncherCard", has_text=PROVISIONED_DISPLAY_NAME)).to_have_count(1)
    expect(cards).to_have_count(1)
    expect(
        _launcher_section(page, "Console").locator(".jp-LauncherCard", has_text="Python 3")
    ).not_to_have_count(0)
    # The provisioning entry is a Notebook card with a short label, not a section of its own at the end.
    entry = notebook_section.locator(".jp-LauncherCard", has_text=PROVISION_ENTRY)
    expect(entry).to_have_count(1)
    expect(page.locator(".jp-Launcher-sectionTitle", has_text="Optimized Python")).to_have_count(0)
    label = entry.locator(".jp-LauncherCard-label")
    lines = label.evaluate(
        """n => {
            const tops = new Set();
            const texts = document.createTreeWalker(n, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            while (texts.nextNode()) {
                range.selectNodeContents(texts.currentNode);
                for (const line of range.getClientRects()) { tops.add(Math.round(line.top)); }
            }
            return tops.size;
        }"""
    )
    assert lines <= 2, f"the entry's label wraps over {lines} lines"
    screenshot(page, "launcher")
    assert console.problems() == []
