"""``install``, ``plan``, ``list``, ``lock``, ``sync``: best-fit variant wheels into the environment."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..display import Output
from ..install import failures as install_failures
from . import Handler, Verb, reported
from ._install_options import options, plan_options
from ._list import configure_list, list_installed
from ._lock import configure_lock, configure_sync, lock, sync
from ._plan_text import show_plan

if TYPE_CHECKING:
    from ..install.session import Session


def _configure_install(parser: argparse.ArgumentParser) -> None:
    plan_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="plan and show, change nothing")


def _configure_plan(parser: argparse.ArgumentParser) -> None:
    plan_options(parser, "plan for")


def _session(args: argparse.Namespace) -> Session:
    """The session of these arguments; the target interpreter is asked first, so that it answers
    while the planning modules are imported."""
    from ..install.target import ask_target

    target = ask_target(args.python)
    from ..install.session import Session

    return Session(options(args), target=target)


def _reported(run: Handler) -> Handler:
    """One ``error:`` line for a failure; with ``--json``, one JSON document on stdout all the same."""
    shown = reported(install_failures)(run)

    def handler(args: argparse.Namespace, out: Output) -> int:
        if not getattr(args, "json", False):
            return shown(args, out)
        try:
            return run(args, out)
        except install_failures() as exc:
            out.json({"error": str(exc)})
            return 1

    return handler


def _plan(args: argparse.Namespace, out: Output) -> int:
    with _session(args) as session:
        progress = out.progress("pyvariant plan")
        plan = session.plan(progress)
        progress.close(f"{len(plan.packages)} to install")
    if args.json:
        out.json(plan.to_json())
    else:
        show_plan(plan, out, args.verbose, "plan (nothing was changed):")
    return 0


def _install(args: argparse.Namespace, out: Output) -> int:
    from ..install import runner

    with _session(args) as session:
        progress = out.progress("pyvariant install")
        plan = session.plan(progress) if args.dry_run else session.install(progress)
        progress.close("dry run: nothing changed" if args.dry_run else f"{len(plan.packages)} installed")
        imported = (
            runner.imported_modules(p.name for p in plan.packages) if session.target.is_this_process else []
        )
    result: dict[str, Any] = {**plan.to_json(), "dry_run": args.dry_run, "restart_needed_for": imported}
    if args.json:
        out.json(result)
        return 0
    show_plan(plan, out, args.verbose, "would install:" if args.dry_run else "installed:")
    if imported and not args.dry_run:
        out.text(
            f"Note: {', '.join(imported)} {'was' if len(imported) == 1 else 'were'} already imported here; "
            "restart the kernel to use the installed version."
        )
    return 0


VERBS = (
    Verb(
        ("install",),
        "install the best-fit variant wheels (and their dependencies)",
        _configure_install,
        _reported(_install),
    ),
    Verb(
        ("plan",),
        "show which file each package would get, and why; change nothing",
        _configure_plan,
        _reported(_plan),
    ),
    Verb(("list",), "installed distributions with their variant", configure_list, _reported(list_installed)),
    Verb(
        ("lock",),
        "write one pylock.toml for this host and every --for node (each node's best fit)",
        configure_lock,
        _reported(lock),
    ),
    Verb(
        ("sync",),
        "install this node's best fit among the files of a pylock.toml",
        configure_sync,
        _reported(sync),
    ),
)
