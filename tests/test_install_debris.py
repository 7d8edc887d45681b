"""The installer driver's scratch folders (pip's report, uv's requirements file) left by a killed run
are removed by the next install; those of a process still running are kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from variant_wheels import build_plain, freeze, serve

from jupyter_pyvariant._faults import FAULT_EXIT
from jupyter_pyvariant.cli import main
from jupyter_pyvariant.install.runner import SCRATCH_PREFIX

_KILLED_WITH_ITS_FOLDER = textwrap.dedent(
    f"""
    import os
    from jupyter_pyvariant._scratch import scratch_folder
    with scratch_folder({SCRATCH_PREFIX!r}) as folder:
        (folder / "report.json").write_text("{{}}")
        print(folder, flush=True)
        os._exit({FAULT_EXIT})  # as a kill: no finally runs
    """
)


def _ours() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{os.getpid()}-*"))


def test_a_killed_runs_folder_goes_with_the_next_install_and_a_running_ones_stays(
    venv: Path, tmp_path: Path
) -> None:
    killed = subprocess.run([sys.executable, "-c", _KILLED_WITH_ITS_FOLDER], capture_output=True, text=True)
    assert killed.returncode == FAULT_EXIT, killed.stderr
    left = Path(killed.stdout.strip())
    assert (left / "report.json").is_file(), "the killed run left its folder"
    running = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    kept = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{running.pid}-"))
    try:
        (tmp_path / "index").mkdir()
        build_plain(tmp_path / "index", "leftover", "1.0")
        for index in serve(tmp_path / "index"):
            assert main(["install", "leftover", "--index-url", index.url, "--python", str(venv)]) == 0
        assert any(line.startswith('["leftover", "1.0"') for line in freeze(venv))
        assert not left.exists(), "the dead process's folder was removed"
        assert kept.is_dir(), "a running process's folder is kept"
        assert _ours() == [], "the install removed its own folder"
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait()
        kept.rmdir()
