"""The arguments an install, plan, lock or sync shares, and the :class:`Options` they make."""

from __future__ import annotations

__all__ = ["TORCH_VARIANT_INDEX_ENV", "options", "plan_options", "target_options"]

import argparse
import os
from typing import TYPE_CHECKING

from . import add_installer_option, add_trust_option

if TYPE_CHECKING:
    from ..install.plan import Options

TORCH_VARIANT_INDEX_ENV = "PYVARIANT_TORCH_VARIANT_INDEX"


def target_options(parser: argparse.ArgumentParser, python_help: str = "install into") -> None:
    parser.add_argument(
        "--python", metavar="PATH", help=f"{python_help} this interpreter's environment (default: this one)"
    )
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="the main index (default: the user's uv, then pip, settings, else PyPI)",
    )
    parser.add_argument(
        "--extra-index-url",
        metavar="URL",
        action="append",
        default=[],
        help="another index, tried first (repeatable)",
    )
    parser.add_argument(
        "--find-links",
        metavar="URL|DIR",
        action="append",
        default=[],
        help="also take files from this folder or page of links, as pip does (repeatable)",
    )
    add_installer_option(parser)
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="per-request network timeout"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def plan_options(
    parser: argparse.ArgumentParser, python_help: str = "install into", packages_help: str = ""
) -> None:
    parser.add_argument(
        "packages", nargs="*", metavar="REQUIREMENT", help=f'e.g. scipy "numpy>=2"{packages_help}'
    )
    parser.add_argument(
        "-r", "--requirement", action="append", default=[], metavar="FILE", help="requirements file"
    )
    parser.add_argument("--profile", metavar="FILE", help="choose for the machine this profile describes")
    parser.add_argument(
        "--no-recipes", action="store_true", help="do not apply the GPU packaging conventions"
    )
    parser.add_argument(
        "--torch-variant-index",
        action="store_true",
        help="take torch, torchvision, torchaudio from PyTorch's wheel-variant index (experimental; "
        f"or set {TORCH_VARIANT_INDEX_ENV}=1)",
    )
    parser.add_argument(
        "--strict-recipes",
        action="store_true",
        help="fail when an opt-in recipe's index does not answer, instead of falling back to the usual route",
    )
    parser.add_argument(
        "--no-gpu-check",
        action="store_true",
        help="install CUDA- or ROCm-only packages even where this host lacks the GPU stack they need",
    )
    add_trust_option(parser)
    parser.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="PROP",
        help="treat 'namespace :: feature :: value' as supported, most preferred (repeatable)",
    )
    parser.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="PROP",
        help="never use this 'namespace[ :: feature[ :: value]]' (repeatable)",
    )
    parser.add_argument(
        "--prefer",
        action="append",
        default=[],
        metavar="PROP",
        help="rank this 'namespace[ :: feature[ :: value]]' first (repeatable)",
    )
    parser.add_argument(
        "--enable-optional",
        action="append",
        default=[],
        metavar="NS",
        help="use the optional provider of this namespace (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="explain every ranking")
    target_options(parser, python_help)


def options(args: argparse.Namespace) -> Options:
    """The install options these arguments ask for."""
    from ..install.plan import Options

    return Options(
        requirements=tuple(getattr(args, "packages", ())),
        requirement_files=tuple(getattr(args, "requirement", ())),
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(args.find_links),
        python=args.python,
        profile=getattr(args, "profile", None),
        recipes=not getattr(args, "no_recipes", False),
        installer=args.installer,
        trusted_plugins=tuple(getattr(args, "trust_provider", ())),
        force=tuple(getattr(args, "force", ())),
        forbid=tuple(getattr(args, "forbid", ())),
        prefer=tuple(getattr(args, "prefer", ())),
        enable_optional=tuple(getattr(args, "enable_optional", ())),
        opt_in=("torch-variant-index",) if torch_variant_index(args) else (),
        strict_recipes=getattr(args, "strict_recipes", False),
        gpu_check=not getattr(args, "no_gpu_check", False),
        timeout=args.timeout,
    )


def torch_variant_index(args: argparse.Namespace) -> bool:
    """The flag, or the setting in the environment (for kernels and servers started elsewhere)."""
    setting = os.environ.get(TORCH_VARIANT_INDEX_ENV, "").strip().lower()
    return bool(getattr(args, "torch_variant_index", False)) or setting in ("1", "true", "yes", "on")
