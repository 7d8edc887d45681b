"""``kernel install|list|remove|switch|compare``: optimized kernels from the terminal or a notebook."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..display import Output, PhaseProgress, table_html, table_text
from . import UsageError, Verb, add_installer_option, add_trust_option, reported
from .python import bad_request

if TYPE_CHECKING:
    from ..kernels.manage import KernelInfo, KernelOptions


def _failures() -> tuple[type[Exception], ...]:
    """The errors a kernel verb reports as one line (exit status 1) instead of a traceback."""
    from ..errors import KernelError, PythonsError

    return (KernelError, PythonsError)


_reported = reported(_failures, bad_request)


# -- install -----------------------------------------------------------------------------------


def _configure_install(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", nargs="?", help="3.13, 3.13.5, 3.14t, latest (default: latest)")
    parser.add_argument("--level", default="auto", help="x86-64 level: auto (default), v1, v2, v3, v4")
    parser.add_argument("--freethreaded", action="store_true", help="a free-threaded (no GIL) build")
    parser.add_argument("--debug", action="store_true", help="a debug build (full archive, .tar.zst)")
    parser.add_argument("--name", help="kernel name (default: pyvariant-<version>-<level>)")
    parser.add_argument(
        "--display-name", help='name shown in the kernel picker (default: "Python 3.13 · x86-64-v4 · …")'
    )
    parser.add_argument(
        "--with",
        dest="packages",
        action="extend",
        nargs="+",
        default=[],
        metavar="PKG",
        help="packages to add",
    )
    add_installer_option(parser, " of the kernel's packages")
    add_trust_option(parser)
    parser.add_argument(
        "--mirror", help="replaces the python-build-standalone download prefix (also file://)"
    )
    parser.add_argument("--catalog", help="release index URL or path (NDJSON or SHA256SUMS)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="the user's kernels (default)")
    where.add_argument("--sys-prefix", action="store_true", help="this environment's share/jupyter/kernels")
    where.add_argument("--prefix", help="PREFIX/share/jupyter/kernels")
    parser.add_argument(
        "--per-node",
        action="store_true",
        help="choose the interpreter at each kernel start among the store's levels (clusters)",
    )
    parser.add_argument(
        "--store", help="interpreter store (default: PYVARIANT_PYTHON_STORE or the Jupyter data dir)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="show which build would be used and why; install nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _options(args: argparse.Namespace) -> KernelOptions:
    from ..kernels.manage import KernelOptions
    from ..kernels.spec import SpecLocation

    if args.prefix:
        location = SpecLocation.prefix(args.prefix)
    elif args.sys_prefix:
        location = SpecLocation.sys_prefix()
    else:
        location = SpecLocation.user()
    if args.per_node and args.mirror:
        raise UsageError(
            "--per-node uses the interpreters already in the store; fill it with `python install`"
        )
    return KernelOptions(
        version=args.version,
        level=args.level,
        freethreaded=args.freethreaded,
        debug=args.debug,
        name=args.name,
        display_name=args.display_name,
        packages=tuple(args.packages),
        trusted_plugins=tuple(args.trust_provider),
        mirror=args.mirror,
        catalog=args.catalog,
        location=location,
        per_node=args.per_node,
        store=args.store,
        installer=args.installer,
    )


def _install(args: argparse.Namespace, out: Output) -> int:
    from ..kernels.manage import install_kernel, plan_kernel

    options = _options(args)
    if args.explain:
        selection = plan_kernel(options)
        if args.json:
            out.json({"best": selection.best.to_dict(), "explain": selection.explain()})
        else:
            out.text("\n".join(selection.explain()))
        return 0
    steps = out.progress("kernel", None)
    download = PhaseProgress(out)

    def step(message: str) -> None:
        download.close()  # the interpreter is in place once the kernel's own steps begin
        steps.update(0, message)

    try:
        with download:
            info = install_kernel(options, on_step=step, download_progress=download)
    except BaseException:
        steps.close("no kernel was made", ok=False)
        raise
    steps.close(f"installed {info.name}")
    if args.json:
        out.json(info.to_dict())
    else:
        out.text(f'kernel {info.name} ("{info.display_name}") → {info.spec_dir}')
        _print_warnings([info], out)
    return 0


def _print_warnings(kernels: list[KernelInfo], out: Output) -> None:
    """The interpreter contradicts its archive's name: the kernel is named for the interpreter."""
    for info in kernels:
        for warning in info.warnings:
            out.text(f"warning: {info.name}: {warning}")


# -- list / remove -------------------------------------------------------------------------------

_HEADERS = ("name", "display name", "level", "python", "ok")


def _row(info: KernelInfo) -> tuple[str, str, str, str, str]:
    meta = info.metadata
    return (
        info.name,
        info.display_name,
        str(meta.get("level") or "-"),
        str(meta.get("version", "?")),
        "yes" if info.usable else "MISSING",
    )


def _list(args: argparse.Namespace, out: Output) -> int:
    from ..kernels.manage import list_kernels

    kernels = list_kernels()
    if args.json:
        out.json([info.to_dict() for info in kernels])
    elif not kernels:
        out.text(f"no pyvariant kernels (make one: {out.command('kernel install 3.13')})")
    else:
        rows = [_row(info) for info in kernels]
        out.rich(table_text(_HEADERS, rows), table_html(_HEADERS, rows))
        _print_warnings(kernels, out)
    return 0


def _configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the kernels as JSON")


def _configure_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="kernel name (see: pyvariant kernel list)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _remove(args: argparse.Namespace, out: Output) -> int:
    from ..kernels.manage import remove_kernel, remove_orphan

    if (orphan := remove_orphan(args.name)) is not None:  # an interrupted install: venvs, no kernelspec
        message = f"removed {orphan}, left without a kernelspec by an interrupted install of {args.name}"
        out.json({"name": args.name, "removed": [str(orphan)]}) if args.json else out.text(message)
        return 0
    info = remove_kernel(args.name)
    if args.json:
        out.json(info.to_dict())
    else:
        out.text(
            f"removed kernel {info.name} and {len(info.venvs)} venv(s); interpreters stay until `python gc`"
        )
    return 0


# -- switch / compare ----------------------------------------------------------------------------


def _configure_switch(parser: argparse.ArgumentParser) -> None:
    _configure_name(parser)
    parser.add_argument(
        "--via", choices=("auto", "comm", "rest"), default="auto", help="how to ask (default: auto)"
    )


def _switch(args: argparse.Namespace, out: Output) -> int:
    from ..kernels.switch import switch_kernel

    result = switch_kernel(args.name, via=args.via)
    if args.json:
        out.json(result.to_dict())
    else:
        out.text(f"switching this notebook to {result.kernel_name} ({result.via}: {result.detail})")
    return 0


def _configure_compare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", help="a kernel name")
    parser.add_argument("second", help="another kernel name")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per kernel; each benchmark keeps its best"
    )
    parser.add_argument("--json", action="store_true", help="print the timings as JSON")


def _compare(args: argparse.Namespace, out: Output) -> int:
    from ..kernels.compare import compare_kernels

    if args.rounds < 1:
        raise UsageError("--rounds must be at least 1")
    bar = out.progress("compare", 2 * args.rounds)
    result = compare_kernels(
        args.first, args.second, rounds=args.rounds, on_round=lambda n, name: bar.update(n, name)
    )
    bar.close(result.summary())
    if args.json:
        out.json(result.to_dict())
    else:
        headers = ("benchmark", args.first, args.second, "ratio")
        rows = result.rows()
        out.rich(
            table_text(headers, rows) + "\n" + result.summary(),
            table_html(headers, rows) + f"<p>{result.summary()}</p>",
        )
    return 0


VERBS = (
    Verb(
        ("kernel", "install"),
        "provision the fastest interpreter for this machine as a kernel",
        _configure_install,
        _reported(_install),
    ),
    Verb(
        ("kernel", "list"),
        "the kernels made by pyvariant, with their build facts",
        _configure_list,
        _reported(_list),
    ),
    Verb(("kernel", "remove"), "remove a kernel's kernelspec and venv", _configure_name, _reported(_remove)),
    Verb(
        ("kernel", "switch"),
        "switch the current notebook to another kernel",
        _configure_switch,
        _reported(_switch),
    ),
    Verb(
        ("kernel", "compare"),
        "run a short workload in two kernels and show the speed ratio",
        _configure_compare,
        _reported(_compare),
    ),
)
