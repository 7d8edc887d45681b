"""``%cpuinfo`` and ``%pyvariant``: thin IPython faces over the shared verbs."""

from __future__ import annotations

__all__ = ["register"]

import shlex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _run_line(shell: Any, argv: list[str]) -> None:
    """Run a verb for a magic; usage errors become IPython's UsageError (no traceback)."""
    from IPython.core.error import UsageError as IPythonUsageError

    from .display import output_for_shell
    from .verbs import UsageError, run

    try:
        status = run(argv, output_for_shell(shell), prog="%pyvariant")
    except UsageError as exc:
        raise IPythonUsageError(str(exc)) from None
    if status not in (0, None):
        shell.user_ns["_pyvariant_exit_code"] = status


def register(shell: Any) -> None:
    """Register the line magics; the verb modules are imported on first use, not here."""

    def cpuinfo(line: str) -> None:
        """Show what this kernel's host really is. `%cpuinfo [--json] [-v]`"""
        _run_line(shell, ["cpuinfo", *shlex.split(line)])

    def pyvariant(line: str) -> None:
        """`%pyvariant <verb> ...`: the same verbs as the `pyvariant` command (`%pyvariant help`)."""
        _run_line(shell, shlex.split(line))

    shell.register_magic_function(cpuinfo, "line", "cpuinfo")
    shell.register_magic_function(pyvariant, "line", "pyvariant")
