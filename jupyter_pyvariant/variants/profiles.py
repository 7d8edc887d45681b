"""Profile files: what another machine supports, written as TOML ``[namespace]`` tables.

A profile stands in for a machine this process cannot ask (a cluster node, a GPU box): plans and
locks choose for it instead of this host. Examples for common machines ship in ``data/profiles``.
"""

from __future__ import annotations

__all__ = ["ProfileError", "example_profiles", "load_profile", "profile_text", "write_profile"]

import json
import os
from dataclasses import replace
from importlib import resources
from pathlib import Path

from .._data import loads_toml
from ..errors import HostError
from .properties import VariantFormatError
from .supported import SupportedProperties


class ProfileError(HostError, ValueError):
    """A profile file that cannot stand in for a machine, naming the file and what is wrong."""


def example_profiles() -> dict[str, Path]:
    """The profiles shipped for common machines (``--profile nvidia-cuda12``), by name."""
    folder = Path(str(resources.files(__package__) / "data" / "profiles"))
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def load_profile(path: str | os.PathLike[str]) -> SupportedProperties:
    """A TOML profile: ``[namespace]`` tables mapping each feature to its values, most preferred first.

    A name that is not a file but names a shipped example (:func:`example_profiles`) loads that.
    """
    if not Path(path).exists() and (shipped := example_profiles().get(os.fspath(path))) is not None:
        path = shipped
    try:
        data = loads_toml(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError, TOMLDecodeError
        raise ProfileError(f"cannot read profile {os.fspath(path)}: {exc}") from None
    except RecursionError:  # nested arrays and tables are read recursively
        raise ProfileError(f"cannot read profile {os.fspath(path)}: nested too deeply") from None
    where = os.fspath(path)
    notes: dict[str, str] = {}
    for namespace, features in data.items():
        if not isinstance(features, dict):
            raise ProfileError(f"profile {where}: {namespace!r} must be a [{namespace}] table")
        for feature, values in features.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ProfileError(f"profile {where}: [{namespace}] {feature} must be a list of strings")
            if not values:
                notes[f"{namespace} :: {feature}"] = f"the profile lists no {namespace} :: {feature} value"
        if not any(features.values()):
            notes[namespace] = f"the profile's [{namespace}] table is empty: that machine supports none of it"
    try:
        loaded = SupportedProperties.from_mapping(data, origin=f"profile {where}")
    except VariantFormatError as exc:
        raise ProfileError(f"profile {where}: {exc}") from None
    return replace(loaded, notes=notes)


def profile_text(supported: SupportedProperties, comment: str = "") -> str:
    """The TOML text of a profile (names and values need no escaping: the PEP's alphabet is safe)."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    for namespace, features in supported.table.items():
        lines += ["", f"[{namespace}]"]
        lines += [
            f"{feature} = [{', '.join(json.dumps(v) for v in values)}]"
            for feature, values in features.items()
        ]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_profile(supported: SupportedProperties, path: str | os.PathLike[str], comment: str = "") -> None:
    """Write a profile atomically (a reader never sees half a file), readable as the umask allows."""
    from .._atomic import write_text_atomic

    write_text_atomic(Path(path), profile_text(supported, comment), create_parents=False, shared=True)
