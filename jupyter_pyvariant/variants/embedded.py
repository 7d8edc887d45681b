"""A variant wheel's own ``variant.json`` must agree with its index's ``variants.json`` about its label.

The chooser picks a wheel for the properties the index's ``variants.json`` gives its label; the
installer then keeps the wheel's embedded ``*.dist-info/variant.json``, which ``pyvariant list``,
locks and later plans read as the truth. A wheel that disagrees would be installed for properties
it does not claim, so it is refused before the installer sees it.
"""

from __future__ import annotations

__all__ = ["ExpectedVariant", "VariantMismatch", "read_wheel_variant_json"]

import os
import re
import zipfile
from dataclasses import dataclass
from os import PathLike
from typing import IO

from .metadata import MetadataError, VariantMetadata, file_basename, show_properties
from .properties import VariantFormatError, VariantProperty, WheelName
from .reader import parse_variants_json


class VariantMismatch(MetadataError):
    """A wheel's ``variant.json`` and its index's ``variants.json`` disagree about its label."""


@dataclass(frozen=True)
class ExpectedVariant:
    """What the index's ``variants.json`` says one label stands for."""

    label: str
    properties: frozenset[VariantProperty]
    source: str
    """The ``variants.json`` it was read from (its URL, without credentials)."""

    def check(self, wheel: str | PathLike[str], *, package: str, filename: str, url: str, index: str) -> None:
        """Raise :class:`MetadataError` unless the wheel (upstream ``filename``, from ``url`` on
        ``index``) embeds one ``variant.json`` giving this label exactly these properties."""
        embedded = read_wheel_variant_json(wheel, source=url, filename=filename)
        label, found = next(iter(embedded.variants.items()))
        if str(label) != self.label or found != self.properties:
            raise VariantMismatch(
                f"its variant.json gives label {str(label)!r} the properties {show_properties(found)}, "
                f"but the index {index} gives {self.label!r} {show_properties(self.properties)} "
                f"(in {self.source}); "
                "the file was not handed to the installer",
                package=package,
                file=filename,
                source=url,
            )


def read_wheel_variant_json(
    wheel: str | PathLike[str] | IO[bytes], *, source: str | None = None, filename: str | None = None
) -> VariantMetadata:
    """The ``*.dist-info/variant.json`` of a wheel; it must describe exactly the wheel's own label.

    ``filename``: the wheel's name where the local file is named otherwise (a download's spool copy).
    """
    name = os.fspath(wheel) if isinstance(wheel, str | os.PathLike) else str(getattr(wheel, "name", "wheel"))
    filename = filename or file_basename(name)
    source = source or name
    try:
        wheel_name: WheelName | None = WheelName.parse(filename)
    except VariantFormatError:
        wheel_name = None
    package = wheel_name.name if wheel_name else None
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/variant\.json", m)]
            if len(members) != 1:
                found = "none" if not members else ", ".join(members)
                raise MetadataError(
                    f"expected one *.dist-info/variant.json, found {found}",
                    package=package,
                    file=filename,
                    source=source,
                )
            raw = archive.read(members[0])
    except (OSError, zipfile.BadZipFile) as exc:
        raise MetadataError(
            f"cannot read the wheel: {exc}", package=package, file=filename, source=source
        ) from None
    where = f"{filename}!{members[0]}"
    metadata = parse_variants_json(raw, source, package=package, file=where)
    if len(metadata.variants) != 1:
        raise MetadataError(
            f"variant.json must describe exactly one variant, it describes {len(metadata.variants)}",
            package=package,
            file=where,
            source=source,
        )
    label = next(iter(metadata.variants))
    if wheel_name is not None and wheel_name.label not in (None, label):
        raise MetadataError(
            f"variant.json describes label {label!r} but the filename carries {wheel_name.label!r}",
            package=package,
            file=where,
            source=source,
        )
    return metadata
