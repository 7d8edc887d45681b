"""What the REST API accepts, checked before anything runs: names, versions, levels, body fields.

Every check fails with :class:`BadInput`, whose message names the field and the value and says what
would be accepted; the handlers answer it as 400. A request that passes is a frozen value the job
turns into the verb's arguments, always as ``--option=value`` so no value can pass for an option.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import UsageError

MAX_LIST = 50
MAX_DISPLAY_NAME = 200
MAX_TIMEOUT_S = 600.0


class BadInput(UsageError, ValueError):
    """The request cannot be used as it is; the message says which part and why."""


def kernel_name(text: str) -> str:
    """A kernel name as the kernels wing accepts it (:func:`..kernels.spec.check_name`)."""
    from ..kernels import KernelError
    from ..kernels.spec import check_name

    try:
        return check_name(text)
    except KernelError as exc:
        raise BadInput(str(exc)) from None


def version_request(text: str | None, *, freethreaded: bool = False) -> str | None:
    """A Python version request (``3.13``, ``3.13.5``, ``3.14t``, ``latest``) or None for the latest."""
    from ..pythons.select import InvalidRequest, Request

    if text is None or not text.strip():
        return None
    try:
        Request.parse(text, freethreaded=freethreaded)
    except InvalidRequest as exc:
        raise BadInput(f"version: {exc}") from None
    return text.strip()


def level(text: str) -> str:
    """``auto`` or an x86-64 level (``v1``..``v4``, also spelled ``x86-64-v3``)."""
    from ..pythons.select import InvalidRequest, normalize_level

    try:
        return normalize_level(text)
    except InvalidRequest as exc:
        raise BadInput(f"level: {exc}") from None


def timeout_seconds(text: str, default: float) -> float:
    """A positive, finite number of seconds up to :data:`MAX_TIMEOUT_S`."""
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"timeout: {text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT_S:
        raise BadInput(f"timeout: {text!r} must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds")
    return value


def _strings(values: list[Any], where: str, limit: int = MAX_LIST) -> tuple[str, ...]:
    if len(values) > limit:
        raise BadInput(f"{where}: at most {limit} entries, got {len(values)}")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise BadInput(f"{where}[{index}] must be a non-empty string, not {json.dumps(value)}")
    return tuple(value.strip() for value in values)


def _packages(values: list[Any]) -> tuple[str, ...]:
    """Package requirements (PEP 508): an option such as ``--index-url`` is not one."""
    from packaging.requirements import InvalidRequirement, Requirement

    packages = _strings(values, "packages")
    for index, package in enumerate(packages):
        try:
            Requirement(package)
        except InvalidRequirement as exc:
            raise BadInput(f"packages[{index}]: {package!r} is not a package requirement ({exc})") from None
    return packages


def location(text: str, where: str) -> str:
    """An http(s) or file URL, or an absolute folder: where a mirror or an index is."""
    from urllib.parse import urlsplit

    stripped = text.strip()
    parts = urlsplit(stripped)
    web = parts.scheme in ("http", "https") and bool(parts.netloc)
    local = parts.scheme == "file" and bool(parts.path)
    if not (web or local or stripped.startswith("/")) or any(char.isspace() for char in stripped):
        raise BadInput(f"{where}: {text!r} is not an http(s) or file URL or an absolute folder")
    return stripped


def _display_name(text: str) -> str:
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_DISPLAY_NAME:
        raise BadInput(f"display_name must have 1 to {MAX_DISPLAY_NAME} characters")
    if any(unicodedata.category(char).startswith("C") for char in stripped):
        raise BadInput(f"display_name {text!r} contains control characters")
    return stripped


# Body field → the JSON type it must have (bool is checked exactly: 0 and 1 are not booleans).
_KERNEL_FIELDS: Mapping[str, type] = {
    "version": str,
    "level": str,
    "freethreaded": bool,
    "packages": list,
    "name": str,
    "display_name": str,
    "mirror": str,
    "index_url": list,
    "trusted_providers": list,
}
_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list of strings"}


def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object."""
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise BadInput(f"the request body is not JSON: {exc}") from None
    except RecursionError:
        raise BadInput("the request body is not JSON a server reads: it is nested too deeply") from None
    if not isinstance(data, dict):
        raise BadInput(f"the request body must be a JSON object, not {type(data).__name__}")
    return data


def _checked_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The known fields, each of the right type; null counts as absent."""
    unknown = sorted(set(data) - set(_KERNEL_FIELDS))
    if unknown:
        raise BadInput(f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(_KERNEL_FIELDS)}")
    fields = {key: value for key, value in data.items() if value is not None}
    for key, value in fields.items():
        expected = _KERNEL_FIELDS[key]
        if type(value) is not expected:
            raise BadInput(f"{key} must be {_TYPE_NAMES[expected]}, not {json.dumps(value)}")
    return fields


@dataclass(frozen=True)
class KernelRequest:
    """A validated ``POST kernels`` body (``mirror``, ``index_url`` and ``trusted_providers`` are the
    lab extension's settings)."""

    version: str | None = None
    level: str = "auto"
    freethreaded: bool = False
    packages: tuple[str, ...] = ()
    name: str | None = None
    display_name: str | None = None
    mirror: str | None = None
    index_url: tuple[str, ...] = ()
    trusted_providers: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, body: bytes) -> KernelRequest:
        fields = _checked_fields(json_object(body))
        freethreaded = fields.get("freethreaded", False)
        return cls(
            version=version_request(fields.get("version"), freethreaded=freethreaded),
            level=level(fields.get("level", "auto")),
            freethreaded=freethreaded,
            packages=_packages(fields.get("packages", [])),
            name=kernel_name(fields["name"]) if "name" in fields else None,
            display_name=_display_name(fields["display_name"]) if "display_name" in fields else None,
            mirror=location(fields["mirror"], "mirror") if "mirror" in fields else None,
            index_url=tuple(
                location(url, f"index_url[{i}]")
                for i, url in enumerate(_strings(fields.get("index_url", []), "index_url"))
            ),
            trusted_providers=_strings(fields.get("trusted_providers", []), "trusted_providers"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()
        }

    def verb_args(self) -> list[str]:
        """``kernel install`` arguments for this request."""
        args = ["kernel", "install", *([self.version] if self.version else []), f"--level={self.level}"]
        args += ["--freethreaded"] if self.freethreaded else []
        args += [f"--name={self.name}"] if self.name else []
        args += [f"--display-name={self.display_name}"] if self.display_name else []
        args += [f"--mirror={self.mirror}"] if self.mirror else []
        args += [f"--with={package}" for package in self.packages]
        args += [f"--trust-provider={name}" for name in self.trusted_providers]
        return [*args, "--json"]

    def installer_env(self) -> dict[str, str]:
        """The package indexes, as uv and pip read them: the kernel's installs take them from there."""
        if not self.index_url:
            return {}
        env = {"UV_DEFAULT_INDEX": self.index_url[0], "PIP_INDEX_URL": self.index_url[0]}
        if len(self.index_url) > 1:
            extra = " ".join(self.index_url[1:])
            env.update(UV_INDEX=extra, PIP_EXTRA_INDEX_URL=extra)
        return env

    def notes(self) -> list[str]:
        """What the job should tell the user before it runs: which provider plugins' code will run."""
        if not self.trusted_providers or not self.packages:
            return []
        return [
            f"trusted_providers ({', '.join(self.trusted_providers)}): their plugins run, each in its own "
            "environment, to choose the variants of the kernel's packages"
        ]
