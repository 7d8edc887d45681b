"""A plan as the user reads it: one row per package, with the variant chosen, why, and what was not."""

from __future__ import annotations

__all__ = ["rejected_text", "show_plan"]

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..display import Output, table_html, table_text

if TYPE_CHECKING:
    from ..install.plan import Plan


def _rows(plan: Plan) -> list[list[str]]:
    from ..install.plan import NOT_FOUND

    rows = []
    for package in plan.packages:
        rejected = rejected_text(package.rejected)
        why = package.summary + (f" (recipe {package.recipe})" if package.recipe else "")
        label = package.variant_label or ("?" if package.summary == NOT_FOUND else "-")
        rows.append([package.name, package.version, label, ", ".join(package.properties), why, rejected])
    return rows


def rejected_text(rejected: Mapping[str, str]) -> str:
    """Labels rejected for one reason stated once: ``x8664v1-v4: the profile has no [x86_64] table``."""
    by_reason: dict[str, list[str]] = {}
    for label, reason in rejected.items():
        by_reason.setdefault(reason, []).append(label)
    return "; ".join(f"{_label_runs(labels)}: {reason}" for reason, labels in by_reason.items())


def _label_runs(labels: list[str]) -> str:
    """``x8664v1, x8664v2, x8664v3`` -> ``x8664v1-v3`` (a label has no hyphen, so this reads as a range)."""
    import re

    # (stem, letters before the number, number): labels that differ only in the number make a run
    parts = [
        (m[1] + m[2], m[2], int(m[3])) if (m := re.fullmatch(r"(.*?)([a-z_]*)(\d+)", x)) else None
        for x in labels
    ]
    runs: list[list[int]] = []
    for i, part in enumerate(parts):
        run = runs[-1] if runs else []
        if part and run and _continues([parts[j] for j in run], part):
            run.append(i)
        else:
            runs.append([i])
    texts = []
    for run in runs:
        last = parts[run[-1]]
        if len(run) > 2 and last:
            texts.append(f"{labels[run[0]]}-{last[1]}{last[2]}")
        else:
            texts += [labels[i] for i in run]
    return ", ".join(texts)


def _continues(run: list[tuple[str, str, int] | None], part: tuple[str, str, int]) -> bool:
    """Whether ``part`` extends ``run`` by one more step of the same direction (up or down by one)."""
    last = run[-1]
    if last is None or last[0] != part[0] or abs(step := part[2] - last[2]) != 1:
        return False
    before = run[-2] if len(run) > 1 else None
    return before is None or last[2] - before[2] == step


def show_plan(plan: Plan, out: Output, verbose: bool, heading: str) -> None:
    headers = ("package", "version", "variant", "properties", "why", "rejected")
    lines = [
        heading,
        f"target: {plan.target} ({plan.installer}); supported properties from {plan.supported_from}",
    ]
    lines += [f"indexes: {', '.join(plan.indexes)}"]
    lines += [f"recipe {r.rule}: {r.original} -> {r.requirement} ({r.note})" for r in plan.requests if r.rule]
    lines += [f"note on {r.original}: {r.note}" for r in plan.requests if r.note and not r.rule]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    if plan.reinstall:
        lines.append(f"reinstalled as another variant: {', '.join(plan.reinstall)}")
    if plan.repaired:
        lines.append(f"repaired (an interrupted install had left no RECORD): {', '.join(plan.repaired)}")
    rows = _rows(plan)
    body = table_text(headers, rows) if rows else "nothing to install: every requirement is already satisfied"
    details = []
    if verbose:
        for package in plan.packages:
            if package.why:
                details += [f"{package.name} {package.version}:", *(f"  {line}" for line in package.why)]
    text = "\n".join([*lines, "", body, *(["", *details] if details else [])])
    html_rows = table_html(headers, rows) if rows else f"<p>{body}</p>"
    out.rich(text, "".join(f"<p>{_escape(line)}</p>" for line in lines) + html_rows + _pre(details))


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _pre(lines: list[str]) -> str:
    return f"<pre>{_escape(chr(10).join(lines))}</pre>" if lines else ""
