"""A variant wheel's own ``variant.json`` must agree with its index's ``variants.json`` about its label.

The chooser picks a wheel for the properties the index's ``variants.json`` gives its label; the
installer then keeps the wheel's embedded ``*.dist-info/variant.json``, which ``pyvariant list``,
locks and later plans read as the truth. A wheel that disagrees would be installed for properties
it does not claim, so it is refused before the installer sees it.
"""

from __future__ import annotations

__all__ = ["ExpectedVariant"]

from dataclasses import dataclass
from os import PathLike

from .metadata import MetadataError, _show, read_wheel_variant_json
from .properties import VariantProperty


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
                f"its variant.json gives label {str(label)!r} the properties {_show(found)}, but the "
                f"index {index} gives {self.label!r} {_show(self.properties)} (in {self.source}); "
                "the file was not handed to the installer",
                package=package,
                file=filename,
                source=url,
            )
