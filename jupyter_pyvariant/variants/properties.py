"""Variant properties, labels and variant-wheel filenames (draft PEP 825).

A property is ``namespace :: feature :: value``; a wheel's label sits after its platform tag and
names a set of properties in the package's variant metadata. Spacing around ``::`` never matters.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from packaging.tags import Tag, parse_tag

from ..errors import VariantError

_NAME = re.compile(r"[a-z0-9_]+")
_VALUE = re.compile(r"[a-z0-9_.]+")
_LABEL = re.compile(r"[0-9a-z_.]+")
_SEPARATOR = re.compile(r"\s*::\s*")

NULL = "null"
"""The reserved label of the variant with zero properties, the always-compatible fallback."""


class VariantFormatError(VariantError, ValueError):
    """Text that is not a valid property, feature, label or variant-wheel filename."""


def check_name(kind: str, text: str) -> str:
    """``text`` when it is a valid namespace or feature name (``[a-z0-9_]+``)."""
    if not isinstance(text, str) or not _NAME.fullmatch(text):
        raise VariantFormatError(f"invalid variant {kind} {text!r}: use only a-z, 0-9 and _")
    return text


def check_value(text: str) -> str:
    """``text`` when it is a valid feature value (``[a-z0-9_.]+``)."""
    if not isinstance(text, str) or not _VALUE.fullmatch(text):
        raise VariantFormatError(f"invalid variant value {text!r}: use only a-z, 0-9, _ and .")
    return text


def _split(text: str, parts: int, kind: str) -> list[str]:
    pieces = _SEPARATOR.split(text.strip())
    if len(pieces) != parts:
        shape = " :: ".join(("namespace", "feature", "value")[:parts])
        raise VariantFormatError(f"invalid variant {kind} {text!r}: expected '{shape}'")
    return pieces


class _FeatureParts(NamedTuple):
    namespace: str
    feature: str


class VariantFeature(_FeatureParts):
    """``namespace :: feature``: the key a wheel needs at least one supported value for.

    A named tuple (hashing and ordering in C: the ordering looks these up for every label), validated
    when made.
    """

    __slots__ = ()

    def __new__(cls, namespace: str, feature: str) -> VariantFeature:
        check_name("namespace", namespace)
        check_name("feature name", feature)
        return super().__new__(cls, namespace, feature)

    @classmethod
    def parse(cls, text: str) -> VariantFeature:
        namespace, feature = _split(text, 2, "feature")
        return cls(namespace, feature)

    def __str__(self) -> str:
        return f"{self.namespace} :: {self.feature}"


class _PropertyParts(NamedTuple):
    namespace: str
    feature: str
    value: str


class VariantProperty(_PropertyParts):
    """``namespace :: feature :: value``, validated by the PEP's character rules.

    A named tuple, so it hashes, compares and sorts as ``(namespace, feature, value)`` and a plain
    tuple of the three strings finds it in a dict.
    """

    __slots__ = ()

    def __new__(cls, namespace: str, feature: str, value: str) -> VariantProperty:
        check_name("namespace", namespace)
        check_name("feature name", feature)
        check_value(value)
        return super().__new__(cls, namespace, feature, value)

    @classmethod
    def parse(cls, text: str) -> VariantProperty:
        namespace, feature, value = _split(text, 3, "property")
        return cls(namespace, feature, value)

    @property
    def key(self) -> VariantFeature:
        return VariantFeature(self.namespace, self.feature)

    def __str__(self) -> str:
        return f"{self.namespace} :: {self.feature} :: {self.value}"


class VariantLabel(str):
    """A validated variant label; a ``str``, so it keys dicts and compares like one."""

    __slots__ = ()

    def __new__(cls, text: str) -> VariantLabel:
        if isinstance(text, VariantLabel):
            return text
        if not isinstance(text, str) or not _LABEL.fullmatch(text):
            raise VariantFormatError(f"invalid variant label {text!r}: use only a-z, 0-9, _ and .")
        return super().__new__(cls, text)

    @property
    def is_null(self) -> bool:
        return self == NULL


NULL_LABEL = VariantLabel(NULL)


@lru_cache(maxsize=1 << 12)
def variant_label(text: str) -> VariantLabel:
    """``VariantLabel(text)``, validated once per distinct text: every package repeats its labels in
    its wheel names and its metadata, and many packages use the same ones."""
    return VariantLabel(text)


class WheelName(NamedTuple):
    """A wheel filename split into its parts, with the variant label (or None for a plain wheel).

    The parts keep their spelling from the filename, so :attr:`base_filename` names the very file an
    installer that knows nothing of variants expects. A named tuple: a plan splits thousands of them.
    """

    name: str
    version: str
    build: str | None
    python_tag: str
    abi_tag: str
    platform_tag: str
    label: VariantLabel | None = None

    @classmethod
    def parse(cls, filename: str) -> WheelName:
        """Split ``{name}-{ver}(-{build})?-{py}-{abi}-{plat}(-{label})?.whl``.

        Six parts are told apart as the PEP does: a build tag starts with a digit, a Python tag never does.
        """
        if not filename.endswith(".whl"):
            raise VariantFormatError(f"not a wheel filename: {filename!r}")
        parts = filename[: -len(".whl")].split("-")
        build: str | None = None
        label: str | None = None
        if len(parts) == 7:
            build, label = parts[2], parts[6]
            del parts[6], parts[2]
        elif len(parts) == 6 and parts[2][:1].isdigit():
            build = parts.pop(2)
        elif len(parts) == 6:
            label = parts.pop()
        if len(parts) != 5 or "" in parts or (build is not None and not build[:1].isdigit()):
            raise VariantFormatError(
                f"invalid wheel filename {filename!r}: expected "
                "{name}-{version}(-{build})?-{python}-{abi}-{platform}(-{label})?.whl"
            )
        if parts[2][:1].isdigit():
            raise VariantFormatError(
                f"invalid wheel filename {filename!r}: a Python tag cannot start with a digit"
            )
        try:
            variant = None if label is None else variant_label(label)
        except VariantFormatError as exc:
            raise VariantFormatError(f"invalid wheel filename {filename!r}: {exc}") from None
        return cls(parts[0], parts[1], build, parts[2], parts[3], parts[4], variant)

    @property
    def project(self) -> str:
        """The normalized project name (PEP 503), for matching against index pages."""
        return re.sub(r"[-_.]+", "-", self.name).lower()

    @property
    def tags(self) -> frozenset[Tag]:
        """Every tag of the compressed tag set, to match against ``packaging.tags.sys_tags()``."""
        return parse_tag(f"{self.python_tag}-{self.abi_tag}-{self.platform_tag}")

    @property
    def base_filename(self) -> str:
        """The filename without the variant label: what a variant-unaware installer accepts."""
        build = [] if self.build is None else [self.build]
        stem = "-".join([self.name, self.version, *build, self.python_tag, self.abi_tag, self.platform_tag])
        return f"{stem}.whl"

    @property
    def filename(self) -> str:
        if self.label is None:
            return self.base_filename
        return f"{self.base_filename[: -len('.whl')]}-{self.label}.whl"

    def with_label(self, label: str | None) -> WheelName:
        """The same wheel under another label (None: the plain wheel)."""
        return self._replace(label=None if label is None else VariantLabel(label))

    def __str__(self) -> str:
        return self.filename
