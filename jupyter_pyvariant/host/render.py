"""The host report for people: readable text for terminals, sectioned HTML for notebooks.

Both renderings walk the same list of (section, rows) so they never disagree.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Row = tuple[str, str]
Section = tuple[str, list[Row]]

_UNKNOWN = "unknown"


def _gib(value: Any) -> str:
    return f"{value / 2**30:.1f} GiB" if isinstance(value, int | float) else _UNKNOWN


def _join(items: Iterable[Any], limit: int = 0) -> str:
    items = [str(i) for i in items]
    if limit and len(items) > limit:
        return ", ".join(items[:limit]) + f", … (+{len(items) - limit})"
    return ", ".join(items) or "none"


def _cpu_rows(cpu: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = [
        (
            "model",
            f"{cpu.get('model', _UNKNOWN)} ({cpu.get('vendor', _UNKNOWN)}, {cpu.get('arch', _UNKNOWN)})",
        ),
        ("ISA level", str(cpu.get("isa_level", _UNKNOWN))),
    ]
    if cpu.get("isa_next_level"):
        rows.append((f"missing for {cpu['isa_next_level']}", _join(cpu.get("isa_level_missing", []))))
    hwcaps = cpu.get("glibc_hwcaps") or {}
    if hwcaps:
        verdict = hwcaps.get("level") or hwcaps.get("reason") or _UNKNOWN
        agreement: dict[Any, str] = {True: " (agrees)", False: " (DISAGREES)"}
        agree = agreement.get(hwcaps.get("agrees"), "")
        rows.append(("glibc-hwcaps", f"{verdict}{agree}"))
    spec = cpu.get("archspec") or {}
    if spec:
        rows.append(("microarchitecture", f"{spec.get('microarchitecture')} (generic {spec.get('generic')})"))
        flags = spec.get("compiler_flags") or {}
        if flags.get("gcc"):
            rows.append(("gcc flags", str(flags["gcc"])))
    for group, flags in (cpu.get("extensions") or {}).items():
        rows.append((group, _join(flags)))
    if cpu.get("sve_vector_length_bits"):
        rows.append(("SVE vector length", f"{cpu['sve_vector_length_bits']} bits"))
    return rows


def _system_rows(system: Mapping[str, Any], capacity: Mapping[str, Any]) -> list[Row]:
    libc = system.get("libc") or {}
    rows: list[Row] = [
        (
            "OS",
            f"{system.get('os_release') or system.get('os', _UNKNOWN)}"
            f" (kernel {system.get('kernel', _UNKNOWN)})",
        ),
        ("libc", f"{libc.get('family', _UNKNOWN)} {libc.get('version') or ''}".strip()),
        ("platform tags", _join(system.get("platform_tags", []), 3)),
    ]
    for key in ("container", "virtualization"):
        marker = system.get(key) or {}
        if marker.get("detected"):
            rows.append((key, f"{marker.get('kind') or 'yes'} ({_join(marker.get('evidence', []), 2)})"))
    rows.append(("hostname", str(system.get("hostname", _UNKNOWN))))
    cgroup = capacity.get("cgroup") or {}
    cores = capacity.get("usable_cores")
    rows.append(
        (
            "cores",
            f"{cores if cores is not None else _UNKNOWN} usable"
            f" of {capacity.get('logical_cpus', _UNKNOWN)} logical"
            + (f" (cgroup v{cgroup['version']})" if cgroup.get("version") else ""),
        )
    )
    memory = capacity.get("memory") or {}
    rows.append(
        (
            "memory",
            f"{_gib(memory.get('usable_bytes'))} usable of {_gib(memory.get('total_bytes'))}"
            + (
                f", cgroup limit {_gib(memory['cgroup_limit_bytes'])}"
                if memory.get("cgroup_limit_bytes")
                else ""
            ),
        )
    )
    hub = capacity.get("jupyterhub") or {}
    if hub.get("mem_limit_bytes") or hub.get("cpu_limit"):
        rows.append(
            ("JupyterHub limits", f"memory {_gib(hub.get('mem_limit_bytes'))}, CPU {hub.get('cpu_limit')}")
        )
    threads = capacity.get("thread_env") or {}
    if threads:
        rows.append(("thread variables", _join(f"{k}={v}" for k, v in threads.items())))
    return rows


def _accelerator_rows(accelerators: Sequence[Mapping[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for acc in accelerators:
        vendor, status = str(acc.get("vendor", "?")), str(acc.get("status", _UNKNOWN))
        if status == "absent":
            continue
        head = status + (f": {acc['reason']}" if acc.get("reason") and status != "ok" else "")
        if acc.get("driver_version"):
            head += f", driver {acc['driver_version']}"
        if acc.get("cuda_driver_version"):
            head += f", CUDA ≤ {acc['cuda_driver_version']}"
        if acc.get("rocm_version"):
            head += f", ROCm {acc['rocm_version']}"
        if acc.get("mps_available") is not None:
            head += f", MPS {'available' if acc['mps_available'] else 'unavailable'}"
        rows.append((vendor.upper(), head))
        for dev in acc.get("devices", []):
            facts = [
                dev.get("sm") or dev.get("gfx_target") or dev.get("driver"),
                _gib(dev.get("memory_total_bytes")),
            ]
            if dev.get("mig_enabled"):
                facts.append("MIG")
            if dev.get("visible") is False:
                facts.append("hidden by CUDA_VISIBLE_DEVICES")
            label = f"  {dev.get('index', dev.get('node', dev.get('card', '')))}"
            rows.append(
                (label, f"{dev.get('name', _UNKNOWN)} ({_join(f for f in facts if f and f != _UNKNOWN)})")
            )
    return rows or [("GPUs", "none found")]


def _python_rows(python: Mapping[str, Any]) -> list[Row]:
    flavour = [
        name
        for name, on in (
            ("PGO", python.get("pgo")),
            ("LTO", python.get("lto")),
            ("free-threaded", python.get("free_threaded")),
            ("debug", python.get("debug")),
            ("JIT", (python.get("jit") or {}).get("available")),
        )
        if on
    ]
    standalone = python.get("standalone") or {}
    rows: list[Row] = [
        ("version", f"{python.get('implementation', '')} {python.get('version', _UNKNOWN)}".strip()),
        ("executable", str(python.get("executable") or _UNKNOWN)),
        *_real_path(python),
        ("compiled for", str(python.get("isa_level") or python.get("march") or _UNKNOWN)),
        ("optimizations", _join(flavour)),
        ("python-build-standalone", "yes" if standalone.get("detected") else "no"),
    ]
    numpy = python.get("numpy")
    if numpy:
        rows.append(("numpy SIMD", f"baseline {_join(numpy.get('simd_baseline', []), 6)}"))
        if numpy.get("blas"):
            rows.append(("numpy BLAS", str(numpy["blas"])))
    return rows


def _real_path(python: Mapping[str, Any]) -> list[Row]:
    """The resolved interpreter, shown beside ``executable`` only where a link makes it differ."""
    real = python.get("real_executable")
    return [("real path", str(real))] if real and real != python.get("executable") else []


def _advice_rows(recommendations: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    interp = recommendations.get("interpreter")
    if interp:
        rows.append(("best Python build here", f"{interp['triple']} · {interp['flavour']}"))
        rows.append(("name for uv python install", str(interp["uv_key"])))
        rows.append(("next step", str(interp["command"])))
    props = recommendations.get("variant_properties") or []
    if props:
        rows.append(("variant properties", _join(props, 6)))
    conda = recommendations.get("conda_virtual_packages") or {}
    if conda:
        rows.append(("conda virtual packages", _join(f"{k}={v}" for k, v in conda.items())))
    return rows


def sections(data: Mapping[str, Any], verbose: bool = False) -> list[Section]:
    """The report as titled sections of (label, value) rows."""
    result: list[Section] = [
        ("CPU", _cpu_rows(data.get("cpu", {}))),
        ("System", _system_rows(data.get("system", {}), data.get("capacity", {}))),
        ("Accelerators", _accelerator_rows(data.get("accelerators", []))),
        ("Python", _python_rows(data.get("python", {}))),
        ("What to do next", _advice_rows(data.get("recommendations", {}))),
    ]
    if verbose:
        diag = [
            (
                f"{d['probe']} ({d['source']})",
                f"{d['ms']:.2f} ms" + (f" — {d['error']}" if d.get("error") else ""),
            )
            for d in data.get("diagnostics", [])
        ]
        result.append(("Diagnostics", diag))
    return result


def _title(data: Mapping[str, Any]) -> str:
    scope = "server host" if data.get("scope") == "server-host" else "kernel host"
    return f"jupyter_pyvariant · {scope}: {data.get('system', {}).get('hostname', _UNKNOWN)}"


def to_text(data: Mapping[str, Any], verbose: bool = False) -> str:
    recs = data.get("recommendations", {})
    lines = [_title(data), "", f">> {recs.get('headroom', '')}"]
    lines += [f"!! {w}" for w in recs.get("warnings", [])]
    for title, rows in sections(data, verbose):
        lines += ["", title]
        width = max((len(k) for k, _ in rows), default=0)
        lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)


# JupyterLab's own colours (--jp-*), so the light and dark themes both read well, with plain
# fallbacks for front ends without them. The table selectors outweigh JupyterLab's output-table
# rules (right-aligned cells, centred tables, zebra rows) by specificity.
_STYLE = (
    "<style>.pyv{font-family:var(--jp-ui-font-family,sans-serif);font-size:var(--jp-ui-font-size1,13px);"
    "color:var(--jp-ui-font-color0,inherit);max-width:60em}"
    ".pyv h3{margin:.2em 0}.pyv h4{margin:.8em 0 .2em;border-bottom:1px solid var(--jp-border-color2,#ccc)}"
    ".pyv table.pyv-rows{border-collapse:collapse;table-layout:fixed;width:100%;margin:0;color:inherit}"
    ".pyv table.pyv-rows tbody tr{background:none}"
    ".pyv table.pyv-rows tbody td{padding:1px 8px;vertical-align:top;text-align:left;overflow-wrap:anywhere}"
    ".pyv table.pyv-rows tbody td:first-child{width:14em;color:var(--jp-ui-font-color1,inherit)}"
    ".pyv .pyv-banner{color:var(--jp-ui-font-color0,inherit);background:var(--jp-layout-color2,#eee);"
    "border-left:4px solid;padding:4px 8px;margin:4px 0}"
    ".pyv .headroom{border-left-color:var(--jp-info-color1,#0097a7)}"
    ".pyv .warn{border-left-color:var(--jp-warn-color1,#f57c00)}</style>"
)


def to_html(data: Mapping[str, Any], verbose: bool = False) -> str:
    esc = html.escape
    recs = data.get("recommendations", {})
    parts = [_STYLE, "<div class='pyv'>", f"<h3>{esc(_title(data))}</h3>"]
    parts.append(f"<div class='pyv-banner headroom'><b>{esc(str(recs.get('headroom', '')))}</b></div>")
    parts += [f"<div class='pyv-banner warn'>⚠ {esc(str(w))}</div>" for w in recs.get("warnings", [])]
    for title, rows in sections(data, verbose):
        body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
        parts.append(f"<h4>{esc(title)}</h4><table class='pyv-rows'>{body}</table>")
    parts.append("</div>")
    return "".join(parts)
