"""Real variant wheels and a real loopback package index, built by the tests themselves.

``simdinfo`` is a tiny C extension compiled with the system C compiler once per x86-64 level; its
``isa_macros()`` returns the ISA macros the compiler defined, so a test proves which binary landed.
``simdcalc`` is a second variant package that depends on ``simdinfo``. Wheels are written and zipped
directly (METADATA, WHEEL, RECORD with hashes, ``variant.json``): fast and without setuptools.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import socket
import subprocess
import sysconfig
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCHEMA_URLS = {
    "pep825": "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
    "pep850": "https://variants-schema.wheelnext.dev/peps/850/v0.2.0.json",
}

LEVEL_LABELS = {
    "x86-64": "x86_64_v1",
    "x86-64-v2": "x86_64_v2",
    "x86-64-v3": "x86_64_v3",
    "x86-64-v4": "x86_64_v4",
}
"""-march value -> variant label; the label's only property is ``x86_64 :: level :: vN``."""

MACROS = (
    "__SSE2__",
    "__SSE3__",
    "__SSSE3__",
    "__SSE4_1__",
    "__SSE4_2__",
    "__POPCNT__",
    "__AVX__",
    "__AVX2__",
    "__FMA__",
    "__BMI2__",
    "__AVX512F__",
    "__AVX512BW__",
    "__AVX512DQ__",
    "__AVX512VL__",
)

_C_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define N 4096
static float xs[N], ys[N];

static PyObject *isa_macros(PyObject *self, PyObject *unused) {
    static const char *const names[] = {
%(macro_rows)s
        NULL};
    PyObject *result = PyList_New(0);
    for (int i = 0; result && names[i]; i++) {
        if (names[i][0] == '-') continue;
        PyObject *name = PyUnicode_FromString(names[i]);
        if (!name || PyList_Append(result, name) < 0) { Py_XDECREF(name); Py_CLEAR(result); break; }
        Py_DECREF(name);
    }
    return result;
}

static PyObject *build(PyObject *self, PyObject *unused) { return PyUnicode_FromString(SIMDINFO_BUILD); }

/* A vectorizable loop: the payoff benchmark runs it from each variant. */
static PyObject *workload(PyObject *self, PyObject *arg) {
    long rounds = PyLong_AsLong(arg);
    if (rounds < 0 && PyErr_Occurred()) return NULL;
    for (int i = 0; i < N; i++) { xs[i] = (float)(i %% 7) * 0.25f; ys[i] = 1.0f; }
    Py_BEGIN_ALLOW_THREADS
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < N; i++) ys[i] = ys[i] * 0.999f + xs[i] * 0.5f;
    Py_END_ALLOW_THREADS
    double total = 0;
    for (int i = 0; i < N; i++) total += ys[i];
    return PyFloat_FromDouble(total);
}

static PyMethodDef methods[] = {
    {"isa_macros", isa_macros, METH_NOARGS, "ISA macros defined when this binary was compiled."},
    {"build", build, METH_NOARGS, "The variant this binary was built as."},
    {"workload", workload, METH_O, "Run the vectorizable loop N rounds; returns a checksum."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_simd", NULL, -1, methods};

PyMODINIT_FUNC PyInit__simd(void) { return PyModule_Create(&module); }
"""


def _c_source() -> str:
    rows = "\n".join(f'#ifdef {m}\n        "{m}",\n#else\n        "-",\n#endif' for m in MACROS)
    return _C_SOURCE % {"macro_rows": rows}


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(
    out_dir: Path,
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, bytes],
    *,
    label: str | None = None,
    requires: Sequence[str] = (),
    variant_json: Mapping[str, Any] | None = None,
) -> Path:
    """Zip ``files`` plus a complete dist-info (RECORD with hashes) into a (variant) wheel."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    entries = dict(files)
    entries[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    entries[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: variant_wheels\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    if variant_json is not None:
        entries[f"{dist_info}/variant.json"] = json.dumps(variant_json, indent=2).encode()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in entries.items()]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{name}-{version}-{tag}" + (f"-{label}" if label else "") + ".whl"
    path = out_dir / filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in entries.items():
            archive.writestr(member, data)
    return path


PROVIDERS = {
    "x86_64": {"requires": ["x86-64-variant-provider"]},
    "aarch64": {"requires": ["aarch64-variant-provider"]},
    "nvidia": {
        "requires": ["nvidia-variant-provider"],
        "plugin-api": "nvidia_variant_provider.plugin:NvidiaVariantPlugin",
    },
}
"""PEP 850 providers that uv 0.13's built-in providers answer for (its NVIDIA one only by plugin-api),
and that our built-in providers stand for too: both installers decide without running plugin code."""

Labels = Mapping[str, Mapping[str, Mapping[str, Sequence[str]]]]
"""label -> namespace -> feature -> values."""


def variant_metadata(
    labels: Labels,
    dialect: str = "pep825",
    *,
    namespaces: Sequence[str] | None = None,
    providers: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A variants.json / variant.json document for ``labels`` in the given dialect.

    ``namespaces`` orders the namespaces (default: sorted); ``providers`` describes namespaces
    :data:`PROVIDERS` does not know, or describes them otherwise (PEP 850 only).
    """
    used = sorted({ns for props in labels.values() for ns in props}) or ["x86_64"]
    data: dict[str, Any] = {
        "$schema": SCHEMA_URLS[dialect],
        "default-priorities": {"namespace": list(namespaces or used)},
    }
    if dialect == "pep850":
        known = {**PROVIDERS, **(providers or {})}
        data["providers"] = {ns: dict(known[ns]) for ns in data["default-priorities"]["namespace"]}
    data["variants"] = {
        label: {ns: {f: list(v) for f, v in feats.items()} for ns, feats in props.items()}
        for label, props in labels.items()
    }
    return data


V3_PROFILE = "[x86_64]\nlevel = ['v3', 'v2', 'v1']\n"
"""A machine without AVX-512 (``--profile``)."""
EMPTY_PROFILE = "# a machine about which nothing is known\n"


def write_profile(folder: Path, text: str) -> str:
    path = folder / "profile.toml"
    path.write_text(text)
    return str(path)


def level_properties(label: str) -> dict[str, dict[str, list[str]]]:
    """``x86_64_v3`` -> {"x86_64": {"level": ["v3"]}}; ``null`` -> {}."""
    match = re.fullmatch(r"x86_64_(v[1-4])", label)
    return {"x86_64": {"level": [match.group(1)]}} if match else {}


def python_tag() -> str:
    """The cpXY-cpXY-linux_x86_64 tag of the interpreter running the tests (the venvs share it)."""
    version = sysconfig.get_config_var("py_version_nodot")
    return f"cp{version}-cp{version}-linux_x86_64"


def compile_extension(work: Path, march: str, build_label: str) -> bytes:
    """The ``_simd`` extension compiled at ``-march=<march>``, as bytes."""
    source = work / "_simd.c"
    if not source.exists():
        source.write_text(_c_source())
    output = work / f"_simd-{build_label}.so"
    command = [
        shutil.which("cc") or "cc",
        "-shared",
        "-fPIC",
        "-O2",
        "-ftree-vectorize",
        f"-march={march}",
        f'-DSIMDINFO_BUILD="{build_label}"',
        f"-I{sysconfig.get_paths()['include']}",
        str(source),
        "-o",
        str(output),
    ]
    subprocess.run(command, check=True, capture_output=True)
    return output.read_bytes()


SIMDINFO_INIT = b'''"""Which ISA this build of simdinfo was compiled for."""
from ._simd import build, isa_macros, workload

__all__ = ["build", "isa_macros", "workload"]
'''


@dataclass(frozen=True)
class BuiltRelease:
    """The wheels of one project version and its index-level metadata."""

    name: str
    version: str
    wheels: tuple[Path, ...]
    variants_json: Path | None


def build_simdinfo(
    out_dir: Path, work: Path, version: str = "1.0.0", dialect: str = "pep825", with_plain: bool = True
) -> BuiltRelease:
    """simdinfo at v1..v4, a null variant (baseline), and a plain wheel (baseline)."""
    work.mkdir(parents=True, exist_ok=True)
    ext_name = "simdinfo/_simd" + sysconfig.get_config_var("EXT_SUFFIX")
    wheels: list[Path] = []
    builds = [(march, label) for march, label in LEVEL_LABELS.items()] + [("x86-64", "null")]
    if with_plain:
        builds.append(("x86-64", "plain"))
    all_labels = {label: level_properties(label) for _, label in builds if label != "plain"}
    for march, label in builds:
        files = {"simdinfo/__init__.py": SIMDINFO_INIT, ext_name: compile_extension(work, march, label)}
        is_variant = label != "plain"
        variant = variant_metadata({label: all_labels[label]}, dialect) if is_variant else None
        wheels.append(
            write_wheel(
                out_dir,
                "simdinfo",
                version,
                python_tag(),
                files,
                label=label if is_variant else None,
                variant_json=variant,
            )
        )
    return BuiltRelease(
        "simdinfo",
        version,
        tuple(wheels),
        _write_variants_json(out_dir, "simdinfo", version, all_labels, dialect),
    )


def build_labelled(
    out_dir: Path,
    name: str,
    version: str,
    labels: Labels,
    dialect: str = "pep825",
    *,
    requires: Sequence[str] = (),
    namespaces: Sequence[str] | None = None,
    providers: Mapping[str, Mapping[str, Any]] | None = None,
) -> BuiltRelease:
    """A pure-Python variant package, one wheel per label; ``import name; name.BUILD`` says which landed.

    ``namespaces`` and ``providers`` shape the metadata as in :func:`variant_metadata`.
    """
    module = name.replace("-", "_")
    shape: dict[str, Any] = {"namespaces": namespaces, "providers": providers}
    wheels = []
    for label, props in labels.items():
        body = f'"""Built as the {label} variant."""\nBUILD = "{label}"\n'.encode()
        wheels.append(
            write_wheel(
                out_dir,
                name,
                version,
                "py3-none-any",
                {f"{module}/__init__.py": body},
                label=label,
                requires=requires,
                variant_json=variant_metadata({label: props}, dialect, **shape),
            )
        )
    return BuiltRelease(
        name,
        version,
        tuple(wheels),
        _write_variants_json(out_dir, name, version, labels, dialect, **shape),
    )


def build_simdcalc(out_dir: Path, version: str = "2.0.0", dialect: str = "pep825") -> BuiltRelease:
    """A pure-Python variant package (v3 and null) that depends on simdinfo."""
    labels = {"x86_64_v3": level_properties("x86_64_v3"), "null": {}}
    return build_labelled(out_dir, "simdcalc", version, labels, dialect, requires=["simdinfo>=1"])


def build_plain(out_dir: Path, name: str, version: str, requires: Sequence[str] = ()) -> BuiltRelease:
    """An ordinary pure-Python wheel (no variants), for pass-through tests."""
    module = name.replace("-", "_")
    wheel = write_wheel(
        out_dir, name, version, "py3-none-any", {f"{module}/__init__.py": b"VALUE = 1\n"}, requires=requires
    )
    return BuiltRelease(name, version, (wheel,), None)


def _write_variants_json(
    out_dir: Path,
    name: str,
    version: str,
    labels: Labels,
    dialect: str,
    **shape: Any,
) -> Path:
    path = out_dir / f"{name}-{version}-variants.json"
    path.write_text(json.dumps(variant_metadata(labels, dialect, **shape), indent=2))
    return path


# --------------------------------------------------------------------------------------------------
# The loopback index


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str:
    if filename.endswith("-variants.json"):
        return _normalize(filename.rsplit("-", 2)[0])
    return _normalize(filename.split("-", 1)[0])


class _Server(ThreadingHTTPServer):
    """Threads per request, daemon threads, and a listen backlog for installers that open many
    connections at once (the default of 5 drops the rest, and each waits a 1 s SYN retry)."""

    daemon_threads = True
    request_queue_size = 128


@dataclass
class IndexServer:
    """A PEP 691 / PEP 503 index on 127.0.0.1 serving every file of ``root``.

    ``mode`` makes it misbehave on purpose: ``"garbage"`` answers pages with junk, ``"slow"`` holds
    every request until :meth:`close`, ``"wrong-hash"`` advertises a hash that the bytes do not have.
    ``requests`` logs (method, path, status) so tests can see caching at work.
    """

    root: Path
    mode: str = "ok"
    credentials: tuple[str, str] | None = None
    html_only: bool = False
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    _server: _Server | None = None
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple"

    def start(self) -> IndexServer:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def close(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def files_of(self, project: str) -> list[Path]:
        return sorted(
            p for p in self.root.iterdir() if p.is_file() and _project_of(p.name) == _normalize(project)
        )

    def sha256(self, path: Path) -> str:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return ("0" * 64) if self.mode == "wrong-hash" and path.suffix == ".whl" else digest

    def page(self, project: str, as_json: bool) -> tuple[bytes, str]:
        files = self.files_of(project)
        if as_json:
            doc = {
                "meta": {"api-version": "1.1"},
                "name": _normalize(project),
                "files": [
                    {"filename": p.name, "url": f"../../files/{p.name}", "hashes": {"sha256": self.sha256(p)}}
                    for p in files
                ],
            }
            return json.dumps(doc).encode(), "application/vnd.pypi.simple.v1+json"
        links = "".join(
            f'<a href="../../files/{html.escape(p.name)}#sha256={self.sha256(p)}" '
            f'data-requires-python="&gt;=3.8">{html.escape(p.name)}</a><br>\n'
            for p in files
        )
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode(), "text/html"


def _handler_for(index: IndexServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            # headers and body are separate writes: without this, Nagle's algorithm and the client's
            # delayed ACK hold many responses back ~40 ms (uv, with its many small requests, suffers most)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: bytes = b"", content_type: str = "text/plain", **headers: str
        ) -> None:
            index.requests.append((self.command, self.path, status))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            if index.mode == "slow":
                index._release.wait(30)
                return
            if index.credentials is not None:
                expected = base64.b64encode(":".join(index.credentials).encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._send(401, b"unauthorized", WWW_Authenticate='Basic realm="index"')
                    return
            path = self.path.split("?", 1)[0]
            if path.startswith("/files/"):
                target = index.root / path.removeprefix("/files/")
                if not target.is_file():
                    self._send(404, b"no such file")
                    return
                # what PyPI's file host sends: files never change under their URL
                immutable = "max-age=365000000, immutable, public"
                self._send(200, target.read_bytes(), "application/octet-stream", Cache_Control=immutable)
                return
            match = re.fullmatch(r"/simple/([^/]+)/?", path)
            if not match:
                self._send(404, b"not found")
                return
            project = match.group(1)
            if not index.files_of(project):
                self._send(404, b"no such project")
                return
            if index.mode == "garbage":
                self._send(200, b"\x00\x01 this is not an index {", "application/vnd.pypi.simple.v1+json")
                return
            as_json = not index.html_only and "application/vnd.pypi.simple.v1+json" in self.headers.get(
                "Accept", ""
            )
            body, content_type = index.page(project, as_json)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", content_type, ETag=etag)  # a cache merges these headers in
                return
            self._send(200, body, content_type, ETag=etag)

        do_HEAD = do_GET

    return Handler


def serve(root: Path, **options: Any) -> Iterator[IndexServer]:
    """A started :class:`IndexServer` for a pytest fixture (``yield from serve(...)``)."""
    server = IndexServer(root, **options).start()
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------------------------------
# Fresh environments


def fresh_venv(path: Path) -> Path:
    """An empty virtual environment (no pip) of the interpreter running the tests; its python."""
    import sys

    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        subprocess.run(
            [uv, "venv", "-q", "--python", sys.executable, str(path)], check=True, capture_output=True
        )
    else:
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True
        )
    return path / "bin" / "python"


def freeze(python: Path) -> list[str]:
    """Every distribution in the environment with its version and variant.json (the whole state)."""
    script = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps(sorted([d.metadata['Name'], d.version, d.read_text('variant.json')]"
        " for d in m.distributions())))"
    )
    done = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True)
    return [json.dumps(item) for item in json.loads(done.stdout)]


def probe(python: Path, expression: str) -> Any:
    """Evaluate ``expression`` (JSON-serializable) in the environment, after ``import simdinfo``."""
    script = f"import json, simdinfo\nprint(json.dumps({expression}))"
    done = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


# --------------------------------------------------------------------------------------------------
# Fixtures (every test module has them: tests/conftest.py registers this module as a plugin)


@pytest.fixture(scope="session")
def simd_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """simdinfo (v1..v4, null, plain) and simdcalc (v3, null), built once per test run."""
    root = tmp_path_factory.mktemp("wheels")
    build_simdinfo(root, tmp_path_factory.mktemp("build"))
    build_simdcalc(root)
    return root


@pytest.fixture(scope="module")
def simd_index(simd_wheels: Path) -> Iterator[IndexServer]:
    yield from serve(simd_wheels)


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return fresh_venv(tmp_path / "venv")
