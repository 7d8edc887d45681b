"""The kernels wing's parts, without an interpreter: names, kernelspec files, installers, servers."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_pyvariant._installer import Installer
from jupyter_pyvariant.host.recommend import KERNEL_CLAIM_ENV
from jupyter_pyvariant.kernels import KernelError
from jupyter_pyvariant.kernels.manage import KernelInfo, remove_kernel
from jupyter_pyvariant.kernels.per_node import NodeBuild, PerNodeRequest
from jupyter_pyvariant.kernels.provisioner import variant_env
from jupyter_pyvariant.kernels.spec import (
    SpecLocation,
    build_metadata,
    check_name,
    default_kernel_name,
    display_name,
    kernel_env,
    kernel_json,
    write_kernelspec,
)
from jupyter_pyvariant.kernels.switch import candidate_servers, kernel_id_of, switch_over_rest
from jupyter_pyvariant.kernels.venv import extension_requirements, find_installer
from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.names import parse_archive_name
from jupyter_pyvariant.pythons.select import Request
from jupyter_pyvariant.pythons.store import InstalledPython
from jupyter_pyvariant.pythons.verify import BuildFacts, Verification
from jupyter_pyvariant.server.listings import provision_result


def build(filename: str) -> Build:
    return Build.from_name(parse_archive_name(filename), f"https://example.org/{filename}", "0" * 64)


@pytest.mark.parametrize(
    ("filename", "display", "name"),
    [
        (
            "cpython-3.13.5+20250612-x86_64_v4-unknown-linux-gnu-install_only_stripped.tar.gz",
            "Python 3.13 · x86-64-v4 · PGO+LTO",
            "pyvariant-3.13-v4",
        ),
        (
            "cpython-3.14.0+20251014-x86_64_v3-unknown-linux-gnu-freethreaded+pgo+lto-full.tar.zst",
            "Python 3.14t · x86-64-v3 · PGO+LTO · free-threaded",
            "pyvariant-3.14t-v3",
        ),
        (
            "cpython-3.13.5+20250612-x86_64_v2-unknown-linux-gnu-debug-full.tar.zst",
            "Python 3.13 · x86-64-v2 · debug",
            "pyvariant-3.13-v2-debug",
        ),
        (
            "cpython-3.12.11+20250612-aarch64-apple-darwin-install_only_stripped.tar.gz",
            "Python 3.12 · PGO+LTO",
            "pyvariant-3.12",
        ),
    ],
)
def test_display_and_default_names_say_version_level_and_flavour(
    filename: str, display: str, name: str
) -> None:
    promised = BuildFacts.claimed_by(build(filename))
    assert display_name(promised) == display
    assert default_kernel_name(promised) == name


def test_a_kernel_named_otherwise_says_its_name_in_its_display_name() -> None:
    """Two kernels of one build, the second under its own name, must not look alike in the picker."""
    promised = BuildFacts.claimed_by(
        build("cpython-3.13.5+20250612-x86_64_v4-unknown-linux-gnu-install_only_stripped.tar.gz")
    )
    plain = "Python 3.13 · x86-64-v4 · PGO+LTO"
    assert display_name(promised, kernel_name="pyvariant-3.13-v4") == plain
    assert display_name(promised, kernel_name="Team-Env") == f"{plain} (team-env)"
    assert display_name(promised, "best level per node", kernel_name="cluster") == (
        "Python 3.13 · best level per node · PGO+LTO (cluster)"
    )


def _installed(filename: str, answer: dict[str, object] | None) -> InstalledPython:
    """A store entry as provisioning leaves it: the marker holds the interpreter's verification."""
    promised = build(filename)
    marker = {**promised.to_dict(), "verification": Verification.of(promised, answer).to_dict()}
    return InstalledPython(Path("/store/x"), Path("/store/x/bin/python3"), marker, promised)


def test_a_free_threaded_kernel_runs_with_the_gil_off_and_carries_its_archives_promise() -> None:
    """No free-threaded CPython is packaged for Debian 12 (no python3.13-nogil): the kernelspec is
    checked here, the running kernel only where such an interpreter exists."""
    filename = "cpython-3.14.0+20251014-x86_64_v3-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz"
    python = _installed(filename, None)
    env = kernel_env(python)
    assert env["PYTHON_GIL"] == "0"
    claim = json.loads(env[KERNEL_CLAIM_ENV])
    assert claim["archive"] == filename and claim["executable"] == "/store/x/bin/python3"
    assert (claim["isa_level"], claim["free_threaded"], claim["pgo"]) == ("x86-64-v3", True, True)
    spec = kernel_json(Path(sys.executable), "Python 3.14t", {}, env=env)
    assert spec["env"] == env
    assert "PYTHON_GIL" not in kernel_env(_installed(filename.replace("freethreaded-", ""), None))


def test_metadata_follows_the_interpreter_and_keeps_the_catalogs_word() -> None:
    reply = {"version": "3.13.5", "platform": "linux-x86_64", "config": {"CONFIG_ARGS": "'--with-lto'"}}
    filename = "cpython-3.13.5+20250612-x86_64_v4-unknown-linux-gnu-install_only_stripped.tar.gz"
    facts = build_metadata(_installed(filename, reply), venvs=[])
    assert (facts["level"], facts["catalog_level"], facts["verified"]) == ("x86-64-v1", "x86-64-v4", True)
    assert facts["label"] == "CPython 3.13.5 · x86-64-v1 · LTO"
    assert len(facts["warnings"]) == 2  # the level and PGO
    summary = provision_result(
        {"name": "k", "display_name": "d", "python": "/p", "usable": True, "warnings": facts["warnings"]}
    )
    assert summary["kernel_name"] == "k" and summary["warnings"] == facts["warnings"]


def test_a_per_node_kernel_starts_each_level_with_that_levels_environment() -> None:
    archive = build("cpython-3.13.5+20250612-x86_64_v4-unknown-linux-gnu-install_only.tar.gz")
    per_node = PerNodeRequest(
        Request("3.13"),
        (
            NodeBuild(archive, Path("/v/v1/bin/python"), {"PYVARIANT_KERNEL_CLAIM": "v1"}),
            NodeBuild(archive, Path("/v/v4/bin/python"), {"PYVARIANT_KERNEL_CLAIM": "v4"}, ("a warning",)),
        ),
    )
    metadata = per_node.to_metadata()
    assert PerNodeRequest.from_metadata(json.loads(json.dumps(metadata))) == per_node, "written = read"
    assert variant_env(metadata, Path("/v/v4/bin/python")) == {"PYVARIANT_KERNEL_CLAIM": "v4"}
    assert variant_env(metadata, Path("/v/old/bin/python")) == {}
    with pytest.raises(KernelError, match="per-node request is malformed"):
        PerNodeRequest.from_metadata({"variants": [{"python": "/v/old/bin/python"}]})


@pytest.mark.parametrize("bad", ["has space", "slash/name", "ünïcode", "", "..", ".hidden", "-h", "_x"])
def test_invalid_kernel_names_are_refused(bad: str) -> None:
    with pytest.raises(KernelError, match="invalid kernel name"):
        check_name(bad)


def test_kernel_names_are_lower_cased_as_jupyter_client_does() -> None:
    assert check_name("My-Kernel_3.13") == "my-kernel_3.13"


def test_kernelspec_is_written_whole_and_never_over_another(tmp_path: Path) -> None:
    location = SpecLocation(tmp_path / "data")
    spec = kernel_json(Path(sys.executable), "Python here", {"level": "x86-64-v3"})
    spec_dir = write_kernelspec(location, "here", spec)
    assert json.loads((spec_dir / "kernel.json").read_text()) == spec
    assert spec_dir == location.kernels_dir / "here"
    assert list((location.data_dir / "pyvariant" / "partial").iterdir()) == []
    with pytest.raises(KernelError, match="already exists"):
        write_kernelspec(location, "here", spec)
    relative = kernel_json(Path("python3"), "Relative", {})
    with pytest.raises(KernelError, match="does not exist"):
        write_kernelspec(location, "relative", relative)
    assert sorted(p.name for p in location.kernels_dir.iterdir()) == ["here"]


def test_user_and_prefix_locations_follow_jupyter_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jd"))
    assert SpecLocation.user().kernels_dir == tmp_path / "jd" / "kernels"
    assert SpecLocation.user().venv_dir("k") == tmp_path / "jd" / "pyvariant" / "venvs" / "k"
    assert (
        SpecLocation.prefix(tmp_path / "env").kernels_dir
        == tmp_path / "env" / "share" / "jupyter" / "kernels"
    )
    assert SpecLocation.sys_prefix().data_dir == Path(sys.prefix).absolute() / "share" / "jupyter"


def test_foreign_kernelspecs_are_neither_listed_nor_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jd"))
    foreign = tmp_path / "jd" / "kernels" / "other"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(json.dumps({"argv": [sys.executable], "display_name": "Other"}))
    assert KernelInfo.from_spec_dir(foreign) is None
    with pytest.raises(KernelError, match="was not made by pyvariant"):
        remove_kernel("other")
    assert foreign.exists()


def test_remove_never_deletes_a_folder_that_is_not_its_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """metadata.venvs is data anyone can edit: only folders carrying the venv marker go."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jd"))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    spec = kernel_json(Path(sys.executable), "Edited", {"venvs": [str(precious)]})
    write_kernelspec(SpecLocation.user(), "edited", spec)
    removed = remove_kernel("edited")
    assert not removed.spec_dir.exists()
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_extension_requirements_leave_out_server_and_extras() -> None:
    names = [
        line.split(">")[0].split("=")[0].split(";")[0].strip().lower() for line in extension_requirements()
    ]
    assert "archspec" in names and "httpx" in names
    assert "jupyter-server" not in names and "jupyter_server" not in names
    assert "uv" not in names, "a kernel runs the server environment's uv, linked beside its python"
    assert "pytest" not in names


def test_installers_target_another_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    target = Path("/envs/k/bin/python")
    assert Installer("uv", ("uv",)).install_argv(target, requirements=["ipykernel"]) == [
        "uv", "pip", "install", "--python", str(target), "--", "ipykernel"
    ]  # fmt: skip
    pip = Installer("pip", ("py", "-m", "pip"), pip_python_option=True)
    assert pip.install_argv(target, requirements=["ipykernel"])[:5] == [
        "py",
        "-m",
        "pip",
        "--python",
        str(target),
    ]
    monkeypatch.setenv("PYVARIANT_INSTALLER", "pip")
    chosen = find_installer(python=target)
    assert chosen.kind == "pip" and chosen.install_argv(target)[3:5] == ["--python", str(target)]
    with pytest.raises(KernelError, match="use uv, pip or auto"):
        find_installer("conda")


def test_kernel_id_comes_from_the_connection_file_name() -> None:
    kernel_id = "0b5f4c1e-8d3a-4b6e-9a51-7f3c2d1e0a9b"
    assert kernel_id_of(Path(f"/run/jupyter/kernel-{kernel_id}.json")) == kernel_id
    assert kernel_id_of(Path("/tmp/tmpab12cd.json")) is None


def test_candidate_servers_put_the_parent_first_and_read_hub_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    for pid, port in ((111, 8888), (222, 9999)):
        info = {"url": f"http://127.0.0.1:{port}/", "token": f"t{pid}", "pid": pid, "root_dir": "/home/u"}
        (runtime / f"jpserver-{pid}.json").write_text(json.dumps(info))
    (runtime / "jpserver-333.json").write_text("{not json")
    connection = runtime / "kernel-0b5f4c1e-8d3a.json"
    env = {
        "JPY_PARENT_PID": "222",
        "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8890/user/ada",
        "JUPYTERHUB_API_TOKEN": "hub",
    }
    servers = candidate_servers(connection, env)
    assert [s.url for s in servers] == [
        "http://127.0.0.1:9999/",
        "http://127.0.0.1:8890/user/ada/",
        "http://127.0.0.1:8888/",
    ]
    assert servers[0].headers() == {"Authorization": "token t222"}
    assert servers[1].headers() == {"Authorization": "token hub"}
    assert os.fspath(servers[2].root_dir or "") == "/home/u"


KERNEL_ID = "0b5f4c1e-8d3a-4b6e-9a51-7f3c2d1e0a9b"


class _LoginPageProxy(BaseHTTPRequestHandler):
    """Lists this kernel's session, but answers the kernelspec list with an HTML page (a proxy's)."""

    def do_GET(self) -> None:
        if self.path.endswith("/api/sessions"):
            body, kind = json.dumps([{"id": "s1", "kernel": {"id": KERNEL_ID}}]).encode(), "application/json"
        else:
            body, kind = b"<html>please log in</html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def login_page_proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoginPageProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_server_that_cannot_list_its_kernels_stops_the_switch_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login_page_proxy: str
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    info = {"url": login_page_proxy, "token": "t", "pid": 1, "root_dir": str(tmp_path)}
    (tmp_path / "jpserver-1.json").write_text(json.dumps(info))
    with pytest.raises(KernelError, match="did not list its kernels"):
        switch_over_rest("python3", tmp_path / f"kernel-{KERNEL_ID}.json", {}, timeout=10)
