"""``python list|install|remove|gc``: python-build-standalone interpreters for this host."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..display import Output, PhaseProgress, table_html, table_text
from . import UsageError, Verb, reported

if TYPE_CHECKING:
    from ..host.facts import HostFacts
    from ..pythons.catalog import Catalog
    from ..pythons.store import InstalledPython, Store


def _python_failures() -> tuple[type[Exception], ...]:
    from ..errors import PythonsError

    return (PythonsError,)


def bad_request() -> tuple[type[Exception], ...]:
    """A version request that cannot be parsed is a usage error, for the python and kernel verbs alike."""
    from ..pythons.select import InvalidRequest

    return (InvalidRequest,)


_reported = reported(_python_failures, bad_request)


# -- shared options --------------------------------------------------------------------------------


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mirror", help="replaces the release download prefix (URL or file://; PYVARIANT_PYTHON_MIRROR)"
    )
    parser.add_argument(
        "--catalog",
        help="release index, SHA256SUMS, uv's download-metadata.json or pbs-installer's versions.json; "
        "URL or path (PYVARIANT_PYTHON_CATALOG; default: the release index, else the shipped snapshot)",
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the cached catalog or the shipped snapshot; no network"
    )
    _add_store_options(parser)
    parser.add_argument(
        "--host-report", metavar="FILE", help="choose for the host in this `pyvariant cpuinfo --json` file"
    )


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="interpreter store folder (default: PYVARIANT_PYTHON_STORE or Jupyter data)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _store(args: argparse.Namespace) -> Store:
    from ..pythons.store import Store, default_store

    return Store(args.store) if args.store else default_store()


def _host(args: argparse.Namespace) -> HostFacts:
    """This host's facts, or those of the ``--host-report`` file another machine printed."""
    if args.host_report:
        from ..host.facts import HostFacts, HostReportError

        try:
            data: object = json.loads(Path(args.host_report).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"--host-report {args.host_report}: cannot read a JSON host report ({exc})"
            ) from None
        if not isinstance(data, dict):
            raise UsageError(
                f"--host-report {args.host_report}: a host report is one JSON object "
                f"(pyvariant cpuinfo --json), not a {type(data).__name__}"
            )
        try:
            return HostFacts.from_dict(data)
        except HostReportError as exc:
            raise UsageError(f"--host-report {args.host_report}: not a usable host report ({exc})") from None
    from ..host import report

    return report().facts


def _catalog(args: argparse.Namespace, release: str | None = None) -> Catalog:
    from ..pythons.catalog import load_catalog

    return load_catalog(args.catalog, mirror=args.mirror, offline=args.offline, release=release)


# -- list ------------------------------------------------------------------------------------------

_LIST_HEADERS = ("version", "level", "flavour", "release", "installed")


def _configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--all", action="store_true", help="every build this host runs, not only the best per version"
    )
    _add_source_options(parser)


def _list(args: argparse.Namespace, out: Output) -> int:
    from html import escape

    from ..pythons.listing import best_per_version, pythons_listing
    from ..pythons.select import fitting_builds

    report = _host(args)
    catalog = _catalog(args)
    store = _store(args)
    if args.json:
        out.json(pythons_listing(catalog, report, store, None, every=args.all))
        return 0
    fitting = fitting_builds(catalog, report)
    shown = fitting if args.all else best_per_version(fitting, report)
    installed = store.installed()
    here = {p.build.sha256 for p in installed}
    for note in catalog.notes:
        out.error(f"note: {note}")
    rows = [
        (b.version, b.level or b.triple, b.flavour, b.release, "yes" if b.sha256 in here else "")
        for b in shown
    ]
    text = (
        "fits this host, best first:\n" + table_text(_LIST_HEADERS, rows)
        if rows
        else "no build fits this host"
    )
    text += f"\n{catalog.describe()}"
    html = table_html(_LIST_HEADERS, rows) + f"<p>{escape(catalog.describe())}</p>"
    if installed:
        headers = ("interpreter", "store", "path")
        own = [
            (p.build.describe(), "shared, read-only" if p.read_only else "own", str(p.root))
            for p in installed
        ]
        text += "\n\ninstalled:\n" + table_text(headers, own)
        html += "<h4>installed</h4>" + table_html(headers, own)
    out.rich(text, html)
    return 0


# -- install ---------------------------------------------------------------------------------------


def _configure_install(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", nargs="?", help="3.13, 3.13.5, 3.14t, latest (default: latest)")
    levels = parser.add_mutually_exclusive_group()
    levels.add_argument("--level", default="auto", help="x86-64 level: auto (default), v1, v2, v3, v4")
    levels.add_argument(
        "--levels", help="several levels, e.g. v1,v2,v3,v4: fill a store shared by different CPUs"
    )
    parser.add_argument("--freethreaded", action="store_true", help="a free-threaded (no GIL) build")
    parser.add_argument(
        "--debug", action="store_true", help="a debug build (published only as a full .tar.zst)"
    )
    parser.add_argument("--release", help="pin a python-build-standalone release tag (YYYYMMDD)")
    parser.add_argument(
        "--explain", action="store_true", help="show which build fits and why; install nothing"
    )
    _add_source_options(parser)


def _install(args: argparse.Namespace, out: Output) -> int:
    from ..pythons.fetch import provision
    from ..pythons.select import Request, normalize_level, select

    request = Request.parse(
        args.version, freethreaded=args.freethreaded, debug=args.debug, release=args.release
    )
    levels = (
        [normalize_level(v) for v in args.levels.split(",") if v.strip()] if args.levels else [args.level]
    )
    report = _host(args)
    catalog = _catalog(args, release=args.release)
    for note in catalog.notes:
        out.error(f"note: {note}")
    selections = [select(catalog, report, request, level=level) for level in levels]
    if args.explain:
        explained = [{"best": s.best.to_dict(), "explain": s.explain()} for s in selections]
        if args.json:
            out.json(explained if args.levels else explained[0])
        else:
            out.text("\n\n".join("\n".join(s.explain()) for s in selections))
        return 0
    store = _store(args)
    installed: list[InstalledPython] = []
    for selection in selections:
        with PhaseProgress(out, prefix=f"{selection.best.stem}: ") as progress:
            installed.append(provision(selection, store, progress=progress))
    if args.json:
        out.json([p.to_dict() for p in installed] if args.levels else installed[0].to_dict())
    else:
        out.text("\n".join(f"{p.build.describe()} → {p.executable}" for p in installed))
    return 0


# -- remove / gc -----------------------------------------------------------------------------------


def _configure_remove(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="folder name in the store, or a version such as 3.13 or 3.14t")
    parser.add_argument("--force", action="store_true", help="remove even when a kernelspec uses it")
    _add_store_options(parser)


def _matching(store: Store, name: str) -> list[InstalledPython]:
    from ..pythons.select import Request

    pythons = [p for p in store.installed() if not p.read_only]
    exact = [p for p in pythons if p.root.name == name]
    if exact:
        return exact
    request = Request.parse(name)
    return [p for p in pythons if request.matches(p.build) and p.build.freethreaded == request.freethreaded]


def _remove(args: argparse.Namespace, out: Output) -> int:
    from ..pythons.errors import PythonsError
    from ..pythons.store import kernelspec_references

    store = _store(args)
    found = _matching(store, args.name)
    if not found:
        raise PythonsError(
            f"no interpreter matching {args.name!r} in {store.root} (see: pyvariant python list)"
        )
    if len(found) > 1:
        names = ", ".join(p.root.name for p in found)
        raise PythonsError(f"{args.name!r} matches several interpreters: {names}; name one folder")
    python = found[0]
    if not args.force and python.root.resolve() in kernelspec_references():
        raise PythonsError(
            f"a kernelspec uses {python.root.name}: "
            "remove that kernel first (pyvariant kernel remove) or use --force"
        )
    store.remove(python)
    if args.json:
        out.json({"removed": [python.to_dict()]})
    else:
        out.text(f"removed {python.root}")
    return 0


def _configure_gc(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    _add_store_options(parser)


def _gc(args: argparse.Namespace, out: Output) -> int:
    from ..pythons.store import kernelspec_references

    removed = _store(args).gc(kernelspec_references, dry_run=args.dry_run)
    if args.json:
        out.json({"removed": [p.to_dict() for p in removed], "dry_run": args.dry_run})
    else:
        verb = "would remove" if args.dry_run else "removed"
        lines = [f"{verb} {p.root}" for p in removed] or [
            "nothing to remove: every interpreter is used by a kernel"
        ]
        out.text("\n".join(lines))
    return 0


VERBS = (
    Verb(
        ("python", "list"),
        "python-build-standalone builds that fit this host, and those installed",
        _configure_list,
        _reported(_list),
    ),
    Verb(
        ("python", "install"),
        "download the fastest interpreter this CPU runs into the store",
        _configure_install,
        _reported(_install),
    ),
    Verb(("python", "remove"), "delete an interpreter from the store", _configure_remove, _reported(_remove)),
    Verb(("python", "gc"), "delete interpreters no kernelspec uses", _configure_gc, _reported(_gc)),
)
