"""``dask sync``: sync a pylock.toml on every Dask worker, present and future, each its own best fit."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..display import Output, table_html, table_text
from ..install import failures
from . import Verb, add_installer_option, reported

if TYPE_CHECKING:
    from types import ModuleType

    from ..cluster.dask import WorkerSync


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "lock", nargs="?", default="pylock.toml", help="the pylock.toml to sync on the workers"
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="restart each worker whose packages changed, so that it imports them",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="the Dask scheduler (default: this session's current client)"
    )
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="the index the lock came from, as the workers reach it (for credentials)",
    )
    add_installer_option(parser, " on the workers", "uv where installed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _dask() -> ModuleType:
    """The plugin's module, or a clear error where Dask is not installed."""
    from ..cluster import NoCluster

    try:
        from ..cluster import dask
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("distributed", "dask"):
            raise
        raise NoCluster("Dask is not installed here: install jupyter-pyvariant[dask]") from None
    return dask


def _run(args: argparse.Namespace, out: Output) -> int:
    from pathlib import Path

    from ..install.lock import read_lock

    read_lock(args.lock)  # a lock the workers cannot use is refused here, before any worker changes
    text = Path(args.lock).read_text(encoding="utf-8")
    dask = _dask()
    plugin = dask.PyvariantSync(
        text, index_url=args.index_url, installer=args.installer, restart=args.restart
    )
    client, owned = dask.connect(args.scheduler)
    try:
        progress = out.progress("pyvariant dask sync")
        workers: tuple[WorkerSync, ...] = dask.sync_workers(client, plugin)
        progress.close(f"{len(workers)} workers synced")
    finally:
        if owned:
            client.close()
    if args.json:
        out.json({"lock": args.lock, "restart": args.restart, "workers": [w.to_dict() for w in workers]})
        return 0
    _show(args.lock, workers, out)
    return 0


def _show(lock: str, workers: tuple[WorkerSync, ...], out: Output) -> None:
    headers = ("worker", "CPU", "installed variants", "changed")
    rows = [
        [
            w.name if w.name == w.address else f"{w.name} ({w.address})",
            w.cpu_level,
            ", ".join(f"{v.name} {v.version} ({v.label})" for v in w.variants) or "none",
            (", ".join(w.changed) or "nothing") + (" (restarting to load them)" if w.restarting else ""),
        ]
        for w in workers
    ]
    heading = (
        f"{lock} synced on {len(workers)} Dask workers; workers that join later sync it when they start."
    )
    stale = sorted({module for w in workers for module in w.stale})
    if stale:
        heading += (
            f" {', '.join(stale)} had already been imported on some workers, which keep the old code "
            f"until they restart ({out.command('dask sync --restart')})."
        )
    out.rich(f"{heading}\n\n{table_text(headers, rows)}", f"<p>{heading}</p>{table_html(headers, rows)}")


VERBS = (
    Verb(
        ("dask", "sync"),
        "sync a pylock.toml on every Dask worker (present and future), each its own best fit",
        _configure,
        reported(failures)(_run),
    ),
)
