"""What the user says about support (``--force``, ``--forbid``, ``--prefer``, ``--profile``,
``--enable-optional``), applied over what the providers say."""

from __future__ import annotations

__all__ = ["Overrides"]

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .profiles import load_profile
from .properties import VariantFormatError, VariantProperty, check_name, check_value
from .supported import Preferences, SupportedProperties, freeze_table


def _selector(text: str) -> tuple[str, ...]:
    """``ns``, ``ns :: feature`` or ``ns :: feature :: value``, validated, as a tuple of 1-3 parts."""
    parts = tuple(re.split(r"\s*::\s*", text.strip()))
    if not 1 <= len(parts) <= 3:
        raise VariantFormatError(f"invalid selector {text!r}: expected 'namespace[ :: feature[ :: value]]'")
    check_name("namespace", parts[0])
    if len(parts) > 1:
        check_name("feature name", parts[1])
    if len(parts) > 2:
        check_value(parts[2])
    return parts


@dataclass(frozen=True)
class Overrides:
    """What the user says about support, over what the providers say.

    ``force``: properties to treat as supported (most preferred first); ``forbid``: namespaces,
    features or properties never to use; ``prefer``: namespaces, features or properties to move to
    the front of their order; ``profile``: supported properties of another machine, replacing this
    host's built-in and plugin answers; ``enable_optional``: optional providers to use.
    """

    force: tuple[VariantProperty, ...] = ()
    forbid: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()
    profile: SupportedProperties | None = None
    enable_optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for text in (*self.forbid, *self.prefer):
            _selector(text)

    @classmethod
    def parse(
        cls,
        *,
        force: Iterable[str] = (),
        forbid: Iterable[str] = (),
        prefer: Iterable[str] = (),
        profile: str | os.PathLike[str] | None = None,
        enable_optional: Iterable[str] = (),
    ) -> Overrides:
        """Overrides from command-line strings; raises VariantFormatError / ProfileError on bad input."""
        return cls(
            force=tuple(VariantProperty.parse(text) for text in force),
            forbid=tuple(forbid),
            prefer=tuple(prefer),
            profile=None if profile is None else load_profile(profile),
            enable_optional=tuple(enable_optional),
        )

    def apply(self, supported: SupportedProperties) -> SupportedProperties:
        table = supported.to_dict()
        origins = dict(supported.origins)
        notes = dict(supported.notes)
        for prop in reversed(self.force):
            values = table.setdefault(prop.namespace, {}).setdefault(prop.feature, [])
            table[prop.namespace][prop.feature] = [prop.value, *(v for v in values if v != prop.value)]
            origins.setdefault(prop.namespace, "forced by the user")
        for text in self.forbid:
            parts = _selector(text)
            features = table.get(parts[0], {})
            if len(parts) == 1:
                table.pop(parts[0], None)
            elif len(parts) == 2:
                features.pop(parts[1], None)
            elif parts[1] in features:
                features[parts[1]] = [v for v in features[parts[1]] if v != parts[2]]
            notes[" :: ".join(parts)] = f"{' :: '.join(parts)} is forbidden by the user"
        preferences = self._preferences()
        return replace(
            supported, table=freeze_table(table), origins=origins, notes=notes, preferences=preferences
        )

    def _preferences(self) -> Preferences:
        namespaces: list[str] = []
        features: dict[str, list[str]] = {}
        values: dict[str, dict[str, list[str]]] = {}
        for parts in map(_selector, self.prefer):
            if len(parts) == 1:
                namespaces.append(parts[0])
            elif len(parts) == 2:
                features.setdefault(parts[0], []).append(parts[1])
            else:
                values.setdefault(parts[0], {}).setdefault(parts[1], []).append(parts[2])
        ordered = {ns: tuple(f) for ns, f in features.items()}
        return Preferences(tuple(namespaces), ordered, freeze_table(values))
