"""The verbs shared by the ``pyvariant`` CLI and the ``%pyvariant`` / ``%cpuinfo`` magics.

Each module in this package declares ``VERBS``: a tuple of :class:`Verb`. A verb is addressed by a
path of words (``("kernel", "install")``); the dispatcher takes the longest matching path, so
nested verbs need no argparse subparsers and every verb can use ``parse_intermixed_args`` (options
before or after positionals, as pip users type them). A verb whose first word names a module of this
package is declared in that module, so running it imports no other verb module.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Sequence
from functools import cache
from typing import NamedTuple

from ..display import Output
from ..errors import UsageError

__all__ = [
    "Handler",
    "UsageError",
    "Verb",
    "add_installer_option",
    "add_trust_option",
    "find",
    "in_face",
    "parser_for",
    "reported",
    "run",
    "usage",
]

Handler = Callable[[argparse.Namespace, Output], int]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so a magic never kills the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if status:
            raise UsageError(message or f"{self.prog}: error")
        raise _HelpShown(message or "")


class _HelpShown(Exception):
    """``--help`` was asked for: its text was already written to the parser's file."""


ErrorTypes = Callable[[], tuple[type[Exception], ...]]


def reported(failures: ErrorTypes, usage: ErrorTypes = tuple) -> Callable[[Handler], Handler]:
    """Wrap a handler: ``failures`` become one ``error:`` line and exit status 1, ``usage`` errors a
    :class:`UsageError`. Both are callables so that the wings' exception modules load only when a
    verb runs."""

    def wrap(run: Handler) -> Handler:
        def handler(args: argparse.Namespace, out: Output) -> int:
            try:
                return run(args, out)
            except usage() as exc:
                raise UsageError(str(exc)) from None
            except failures() as exc:
                out.error(f"error: {in_face(str(exc), out)}")
                return 1

        return handler

    return wrap


def add_installer_option(
    parser: argparse.ArgumentParser,
    whose: str = "",
    default: str = "$PYVARIANT_INSTALLER, else uv when installed",
) -> None:
    """``--installer uv|pip``: which installer runs (``whose``: `` of the kernel's packages``)."""
    help_text = f"the installer{whose} (default: {default})"
    parser.add_argument("--installer", choices=("uv", "pip"), help=help_text)


def add_trust_option(parser: argparse.ArgumentParser) -> None:
    """``--trust-provider NAME`` (repeatable): the provider plugins a variant-aware install may run."""
    parser.add_argument(
        "--trust-provider",
        "--trust-plugin",
        dest="trust_provider",
        action="append",
        default=[],
        metavar="NAME",
        help="allow this provider plugin (package, namespace or plugin API) to run, isolated (repeatable)",
    )


def in_face(message: str, out: Output) -> str:
    """``message`` with its hints in ``out``'s face: the wings spell a hint as the terminal command,
    ``(pyvariant kernel list)`` or ``: pyvariant kernel install 3.13``, up to a closing parenthesis."""
    import re

    return re.sub(r"(\(|: )pyvariant ([^)]+)", lambda m: m[1] + out.command(m[2].strip()), message)


class Verb(NamedTuple):
    """One command: its words, a one-line help, how to add its arguments, and what runs it.

    (A named tuple: a frozen dataclass would cost ``%cpuinfo`` dataclasses and inspect.)
    """

    path: tuple[str, ...]
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Handler


@cache
def all_verbs() -> tuple[Verb, ...]:
    """Every verb of every module in this package, in module order."""
    verbs: list[Verb] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        verbs.extend(getattr(module, "VERBS", ()))
    return tuple(verbs)


def usage(prog: str = "pyvariant", group: tuple[str, ...] = ()) -> str:
    """The help of every verb, or of the verbs in ``group`` (``("kernel",)``), each with its one line."""
    verbs = _group(group) if group else all_verbs()
    rows = [(" ".join(v.path), v.help) for v in verbs]
    width = max(len(name) for name, _ in rows)
    words = " ".join((prog, *group))
    lines = [f"usage: {words} <verb> [options]", "", "verbs:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in rows]
    lines += ["", f"Run '{prog} <verb> --help' for a verb's options."]
    return "\n".join(lines)


def _group(words: tuple[str, ...]) -> tuple[Verb, ...]:
    """The verbs whose path continues ``words`` (a group such as ``kernel``), from its module first."""
    n = len(words)
    found = tuple(v for v in _module_verbs(words[0]) if v.path[:n] == words and len(v.path) > n)
    return found or tuple(v for v in all_verbs() if v.path[:n] == words and len(v.path) > n)


def _is_group(words: tuple[str, ...]) -> bool:
    """Whether ``words`` begin verbs without naming one (``kernel``, not ``cpuinfo``)."""
    return bool(_group(words)) and not any(v.path == words for v in _module_verbs(words[0]) or all_verbs())


def _module_verbs(word: str) -> tuple[Verb, ...]:
    """The verbs of the module named ``word`` (none when no such module exists)."""
    if not word.isidentifier() or word not in {info.name for info in pkgutil.iter_modules(__path__)}:
        return ()
    verbs: tuple[Verb, ...] = getattr(importlib.import_module(f"{__name__}.{word}"), "VERBS", ())
    return verbs


def _longest(verbs: Sequence[Verb], argv: Sequence[str]) -> Verb | None:
    best: Verb | None = None
    for verb in verbs:
        n = len(verb.path)
        if tuple(argv[:n]) == verb.path and (best is None or n > len(best.path)):
            best = verb
    return best


def find(argv: Sequence[str]) -> tuple[Verb, list[str]]:
    """The verb named by the longest prefix of ``argv``, and the remaining arguments.

    The module named like the first word answers first; only other words import every verb module.
    """
    best = _longest(_module_verbs(argv[0]), argv) if argv else None
    best = best or _longest(all_verbs(), argv)
    if best is None:
        words = " ".join(argv[:2]) or "(none)"
        verbs = _group(tuple(argv[:1])) if argv else ()
        known = ", ".join(" ".join(v.path) for v in verbs or all_verbs())
        raise UsageError(f"unknown verb: {words}; known verbs: {known}")
    return best, list(argv[len(best.path) :])


def parser_for(verb: Verb, prog: str = "pyvariant") -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{prog} {' '.join(verb.path)}", description=verb.help)
    verb.configure(parser)
    return parser


def run(argv: Sequence[str], out: Output, prog: str = "pyvariant") -> int:
    """Parse ``argv`` and run its verb; usage errors raise :class:`UsageError`."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        out.text(usage(prog))
        return 0
    if argv[0] in ("-V", "--version"):
        from .._version import __version__

        out.text(f"jupyter_pyvariant {__version__}")
        return 0
    group = tuple(argv[:1])
    if (len(argv) == 1 or argv[1] in ("-h", "--help")) and _is_group(group):
        out.text(usage(prog, group))  # a group without its verb: `pyvariant kernel`
        return 0
    verb, rest = find(argv)
    parser = parser_for(verb, prog)
    if any(a in ("-h", "--help") for a in rest):
        out.text(parser.format_help())
        return 0
    try:
        args = parser.parse_intermixed_args(rest)
    except _HelpShown:
        return 0
    return verb.handler(args, out)
