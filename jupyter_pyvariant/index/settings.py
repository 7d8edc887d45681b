"""The index settings pip and uv users already have: flags, ``UV_*`` and ``PIP_*`` variables,
``uv.toml`` / ``[tool.uv]`` and ``pip.conf``.

Each setting (the main index, the extra indexes, find-links, trusted hosts, the CA bundle) comes
from the highest-ranked source that names it: flags, then ``UV_*`` variables, then uv's files, then
``PIP_*`` variables, then pip's files, then the default index. uv's settings rank first because uv is
the default installer. Within a family, files combine as that installer combines them: pip's later
files and ``[install]`` win key by key; uv's project file wins over the user's and the system's for
the main index, and their lists are joined, nearest first.
"""

from __future__ import annotations

__all__ = ["PYPI", "IndexSettings", "Setting", "environment_prefix", "pip_config_files"]

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._http import redact
from .errors import SettingsError

PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class Setting:
    """One value and where it came from (a flag, a variable, or a file named with its path)."""

    value: str
    origin: str


def _location(value: str, base: Path) -> str:
    """A URL as given; a local path (relative to ``base``) as a ``file://`` URL."""
    if "://" in value:
        return value.rstrip("/") if value.startswith(("http://", "https://")) else value
    return (base / Path(value).expanduser()).resolve().as_uri()


def _host(url_or_host: str) -> str:
    """``host`` or ``host:port`` of a URL, or of a trusted-host entry as written."""
    parts = urlsplit(url_or_host if "://" in url_or_host else f"//{url_or_host}")
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""


@dataclass(frozen=True)
class IndexSettings:
    """The indexes to read, most preferred first (the last is the main index), where each came
    from, and what reading them needs.

    The first index that knows a project answers for it (uv's default, safe against dependency
    confusion); extra indexes rank before the main one, as in uv. Files in ``find_links`` (folders
    or pages of links) join every project's page, as in pip.
    """

    urls: tuple[str, ...]
    origins: tuple[str, ...]
    find_links: tuple[Setting, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    """Hosts that may answer over plain HTTP or with a certificate that does not verify."""
    cert: Setting | None = None
    """The CA bundle that verifies HTTPS (None: the system's)."""

    @classmethod
    def from_options(
        cls,
        index_url: str | None = None,
        extra_index_urls: Sequence[str] = (),
        find_links: Sequence[str] = (),
        *,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        prefix: Path | None = None,
    ) -> IndexSettings:
        """Flags win, then the user's uv settings, then pip's, then PyPI (see the module).

        ``cwd`` is where uv looks for the project's ``uv.toml`` / ``pyproject.toml``; ``prefix`` is
        the target environment, whose ``pip.conf`` pip reads as the site file.
        """
        env = os.environ if environ is None else environ
        here = Path.cwd() if cwd is None else cwd
        flags = Layer(
            index=Setting(index_url, "--index-url") if index_url else None,
            extras=tuple(Setting(url, "--extra-index-url") for url in extra_index_urls),
            find_links=tuple(Setting(_location(f, here), "--find-links") for f in find_links),
        )
        sources: tuple[Callable[[], Layer], ...] = (
            lambda: flags,
            lambda: uv_environment(env, here),
            lambda: uv_files(env, here),
            lambda: pip_environment(env, here),
            lambda: pip_files(env, here, prefix),
        )
        return merge(layer() for layer in sources)

    def routed(self, urls: tuple[str, ...]) -> IndexSettings:
        """These settings for other indexes (a recipe's route), which the recipe names."""
        return replace(self, urls=urls, origins=("recipe",) * len(urls))

    def describe(self) -> list[str]:
        """Each index and find-links location with its origin, for ``plan``."""
        indexes = [f"{redact(url)} ({origin})" for url, origin in zip(self.urls, self.origins, strict=True)]
        return [*indexes, *(f"find-links {redact(f.value)} ({f.origin})" for f in self.find_links)]

    def installer_args(self) -> tuple[str, ...]:
        """The same settings as uv / pip flags (credentials kept: that installer must log in too)."""
        *extras, primary = self.urls
        args = ["--index-url", primary]
        args += [arg for url in extras for arg in ("--extra-index-url", url)]
        args += [arg for link in self.find_links for arg in ("--find-links", link.value)]
        args += [arg for host in self.trusted_hosts for arg in ("--trusted-host", host)]
        return tuple(args)

    def private_hosts(self) -> frozenset[str]:
        """Hosts (``host`` or ``host:port``) whose files an installer run without the user's
        configuration cannot fetch: trusted hosts, and the hosts of these indexes when they are
        verified with a CA bundle the installer does not inherit (``SSL_CERT_FILE`` it does)."""
        hosts = set(self.trusted_hosts)
        if self.cert is not None and self.cert.origin != "SSL_CERT_FILE":
            hosts.update(_host(url) for url in (*self.urls, *(f.value for f in self.find_links)))
        return frozenset(hosts)


# --------------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class Layer:
    """What one source says; an empty field leaves the setting to the next source."""

    index: Setting | None = None
    extras: tuple[Setting, ...] = ()
    find_links: tuple[Setting, ...] = ()
    trusted_hosts: tuple[Setting, ...] = ()
    cert: Setting | None = None


def merge(layers: Iterable[Layer]) -> IndexSettings:
    """Each setting from the first layer that has it (layers are read lazily: no file is opened
    once every setting is known)."""
    chosen: dict[str, Any] = {}
    names = [f.name for f in fields(Layer)]
    for layer in layers:
        for name in names:
            if name not in chosen and getattr(layer, name):
                chosen[name] = getattr(layer, name)
        if len(chosen) == len(names):
            break
    primary: Setting = chosen.get("index") or Setting(PYPI, "default")
    ordered: dict[str, str] = {}
    for item in chosen.get("extras", ()):
        ordered.setdefault(item.value.rstrip("/"), item.origin)
    ordered.pop(primary.value.rstrip("/"), None)
    ordered[primary.value.rstrip("/")] = primary.origin
    return IndexSettings(
        tuple(ordered),
        tuple(ordered.values()),
        find_links=tuple(chosen.get("find_links", ())),
        trusted_hosts=tuple(dict.fromkeys(_host(t.value) for t in chosen.get("trusted_hosts", ()))),
        cert=chosen.get("cert"),
    )


def _words(value: str | None, separator: str | None = None) -> list[str]:
    return [item.strip() for item in (value or "").split(separator) if item.strip()]


def _uv_index_url(entry: str) -> str:
    """``UV_INDEX`` entries may be ``name=url``."""
    name, sep, url = entry.partition("=")
    return url if sep and "://" not in name else entry


def uv_environment(env: Mapping[str, str], cwd: Path) -> Layer:
    """``UV_*`` variables (and ``SSL_CERT_FILE``, which uv honours)."""
    main = next((Setting(env[k], k) for k in ("UV_DEFAULT_INDEX", "UV_INDEX_URL") if env.get(k)), None)
    extras = [Setting(_location(_uv_index_url(u), cwd), "UV_INDEX") for u in _words(env.get("UV_INDEX"))]
    extras += [Setting(u, "UV_EXTRA_INDEX_URL") for u in _words(env.get("UV_EXTRA_INDEX_URL"))]
    return Layer(
        index=replace(main, value=_location(main.value, cwd)) if main else None,
        extras=tuple(extras),
        find_links=tuple(
            Setting(_location(f, cwd), "UV_FIND_LINKS") for f in _words(env.get("UV_FIND_LINKS"), ",")
        ),
        trusted_hosts=tuple(Setting(h, "UV_INSECURE_HOST") for h in _words(env.get("UV_INSECURE_HOST"))),
        cert=Setting(env["SSL_CERT_FILE"], "SSL_CERT_FILE") if env.get("SSL_CERT_FILE") else None,
    )


def pip_environment(env: Mapping[str, str], cwd: Path) -> Layer:
    """``PIP_*`` variables (pip splits list values on whitespace)."""

    def listed(key: str, located: bool = False) -> tuple[Setting, ...]:
        return tuple(Setting(_location(v, cwd) if located else v, key) for v in _words(env.get(key)))

    return Layer(
        index=Setting(_location(env["PIP_INDEX_URL"], cwd), "PIP_INDEX_URL")
        if env.get("PIP_INDEX_URL")
        else None,
        extras=listed("PIP_EXTRA_INDEX_URL", located=True),
        find_links=listed("PIP_FIND_LINKS", located=True),
        trusted_hosts=listed("PIP_TRUSTED_HOST"),
        cert=Setting(env["PIP_CERT"], "PIP_CERT") if env.get("PIP_CERT") else None,
    )


def environment_prefix(python: str | None) -> Path:
    """The prefix of the environment of interpreter ``python`` (None: this one), from its path
    alone (``<prefix>/bin/python``), so that the settings are known before the interpreter answers."""
    import sys

    return Path(sys.prefix) if python is None else Path(python).parent.parent


# -- pip's files -------------------------------------------------------------------------------------


def _home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def _xdg_config_dirs(env: Mapping[str, str]) -> list[Path]:
    return [Path(d) for d in (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep) if d]


def _xdg_config_home(env: Mapping[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else _home(env) / ".config"


def pip_config_files(env: Mapping[str, str], prefix: Path | None = None) -> list[Path]:
    """The files pip reads, in the order it reads them (a later file wins): global, user (unless
    ``PIP_CONFIG_FILE`` names an existing file), site (the target environment's), ``PIP_CONFIG_FILE``.
    ``PIP_CONFIG_FILE=/dev/null`` turns them all off, as in pip."""
    named = env.get("PIP_CONFIG_FILE")
    if named == os.devnull:
        return []
    files = [d / "pip" / "pip.conf" for d in _xdg_config_dirs(env)] + [Path("/etc/pip.conf")]
    if not (named and Path(named).exists()):
        files += [_home(env) / ".pip" / "pip.conf", _xdg_config_home(env) / "pip" / "pip.conf"]
    files += [prefix / "pip.conf"] if prefix is not None else []
    files += [Path(named)] if named else []
    return files


_PIP_KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "cert")


def _read_pip_file(path: Path) -> dict[tuple[str, str], str]:
    """(section, key) -> value of one pip configuration file; keys normalised as pip does."""
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not a pip configuration file ({exc})") from None
    return {
        (section, key.lower().replace("_", "-").removeprefix("--")): value
        for section in parser.sections()
        for key, value in parser.items(section)
    }


def pip_files(env: Mapping[str, str], cwd: Path, prefix: Path | None = None) -> Layer:
    """pip's files: per key, ``[install]`` over ``[global]``, and a later file over an earlier one."""
    found: dict[str, Setting] = {}
    for section in ("global", "install"):
        for path in pip_config_files(env, prefix):
            if not path.is_file():
                continue
            for (where, key), value in _read_pip_file(path).items():
                if where == section and key in _PIP_KEYS and value.strip():
                    found[key] = Setting(value.strip(), f"{path.name} ({path})")

    def listed(key: str, located: bool = False) -> tuple[Setting, ...]:
        item = found.get(key, Setting("", ""))
        return tuple(Setting(_location(v, cwd) if located else v, item.origin) for v in _words(item.value))

    index = found.get("index-url")
    return Layer(
        index=replace(index, value=_location(index.value, cwd)) if index else None,
        extras=listed("extra-index-url", located=True),
        find_links=listed("find-links", located=True),
        trusted_hosts=listed("trusted-host"),
        cert=found.get("cert"),
    )


# -- uv's files --------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    from .._data import loads_toml

    try:
        return loads_toml(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and TOMLDecodeError are ValueErrors
        raise SettingsError(f"{path}: not a readable TOML file ({exc})") from None


def _project_config(cwd: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``uv.toml``, or ``pyproject.toml`` with a ``[tool.uv]`` table, as uv finds it."""
    for folder in (cwd, *cwd.parents):
        if (folder / "uv.toml").is_file():
            return folder / "uv.toml", _read_toml(folder / "uv.toml")
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("uv")
            if isinstance(table, dict):
                return pyproject, table
    return None


def uv_config_files(env: Mapping[str, str], cwd: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The files uv reads, nearest first: the project's, the user's, the system's; only
    ``UV_CONFIG_FILE`` when it is set; none under ``UV_NO_CONFIG``."""
    if env.get("UV_NO_CONFIG", "").strip().lower() in ("1", "true", "yes", "on"):
        return
    if env.get("UV_CONFIG_FILE"):
        path = Path(env["UV_CONFIG_FILE"])
        yield path, _read_toml(path)
        return
    project = _project_config(cwd)
    if project is not None:
        yield project
    user = _xdg_config_home(env) / "uv" / "uv.toml"
    if user.is_file():
        yield user, _read_toml(user)
    system = [d / "uv" / "uv.toml" for d in _xdg_config_dirs(env)] + [Path("/etc/uv/uv.toml")]
    found = next((path for path in system if path.is_file()), None)
    if found is not None:
        yield found, _read_toml(found)


def _uv_file_layer(path: Path, table: Mapping[str, Any]) -> Layer:
    """One uv file; its ``[pip]`` table (what ``uv pip`` reads) wins over the top level, key by key."""
    origin = f"{path.name} [tool.uv] ({path})" if path.name == "pyproject.toml" else f"{path.name} ({path})"
    found_pip = table.get("pip")
    pip: Mapping[str, Any] = found_pip if isinstance(found_pip, dict) else {}

    def value(key: str) -> Any:
        return pip.get(key, table.get(key))

    def strings(key: str) -> list[str]:
        found = value(key)
        if isinstance(found, str):
            return [found]
        return [str(v) for v in found] if isinstance(found, list) else []

    def at(url: str) -> Setting:
        return Setting(_location(url, path.parent), origin)

    entries = [e for e in value("index") or [] if isinstance(e, dict) and isinstance(e.get("url"), str)]
    flat = [e for e in entries if e.get("format") == "flat"]
    simple = [e for e in entries if e not in flat and not e.get("explicit")]
    default = next((at(e["url"]) for e in simple if e.get("default")), None)
    main = default or (at(value("index-url")) if isinstance(value("index-url"), str) else None)
    return Layer(
        index=main,
        extras=tuple(at(e["url"]) for e in simple if not e.get("default"))
        + tuple(at(u) for u in strings("extra-index-url")),
        find_links=tuple(at(e["url"]) for e in flat) + tuple(at(u) for u in strings("find-links")),
        trusted_hosts=tuple(Setting(h, origin) for h in strings("allow-insecure-host")),
    )


def uv_files(env: Mapping[str, str], cwd: Path) -> Layer:
    """uv's files merged as uv merges them: the nearest main index wins, lists are joined."""
    layers = [_uv_file_layer(path, table) for path, table in uv_config_files(env, cwd)]
    return Layer(
        index=next((layer.index for layer in layers if layer.index), None),
        extras=tuple(item for layer in layers for item in layer.extras),
        find_links=tuple(item for layer in layers for item in layer.find_links),
        trusted_hosts=tuple(item for layer in layers for item in layer.trusted_hosts),
    )
