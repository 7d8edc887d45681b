"""The projects a wheel names as its dependencies, read from its core metadata.

The view reads them ahead of the installer (a guess: a file that cannot be read names none).
"""

from __future__ import annotations

__all__ = ["metadata_dependencies", "wheel_dependencies"]

from pathlib import Path

from packaging.utils import canonicalize_name


def wheel_dependencies(wheel: Path) -> list[str]:
    """:func:`metadata_dependencies` of the wheel's own METADATA (none when it cannot be read)."""
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            member = next(
                m for m in archive.namelist() if m.count("/") == 1 and m.endswith(".dist-info/METADATA")
            )
            return metadata_dependencies(archive.read(member))
    except (OSError, zipfile.BadZipFile, StopIteration):
        return []


def metadata_dependencies(metadata: bytes) -> list[str]:
    """Projects a core metadata's ``Requires-Dist`` names unconditionally or for its environment
    (not extras)."""
    from email.parser import BytesHeaderParser

    from packaging.requirements import InvalidRequirement, Requirement

    headers = BytesHeaderParser().parsebytes(metadata)
    names: list[str] = []
    for text in headers.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or "extra" not in str(requirement.marker):
            names.append(canonicalize_name(requirement.name))
    return names
