"""A kernel provisioner that picks, at every kernel start, the interpreter for the node it runs on.

On a JupyterHub whose nodes have different CPUs, one kernelspec cannot name one interpreter: an
x86-64-v4 build dies with an illegal instruction on a v2 node, and a v1 build wastes a v4 node.
``pyvariant kernel install 3.13 --per-node`` makes one venv per level found in a shared store
(filled by ``pyvariant python install --levels v1,v2,v3,v4``) and records them in
``metadata.pyvariant.variants``; this provisioner reads this node's host report when the kernel
starts and puts the best of them first in the launch command, with that level's environment (the
archive's promise the kernel's report checks, ``PYTHON_GIL``). Everything else is jupyter_client's
local provisioner.
"""

from __future__ import annotations

__all__ = ["PyvariantProvisioner", "choose_python", "replace_interpreter", "variant_env"]

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from . import KernelError
from .per_node import PerNodeRequest
from .spec import METADATA_KEY

if TYPE_CHECKING:
    from ..host.facts import HostFacts


def choose_python(metadata: Mapping[str, Any], facts: HostFacts) -> tuple[Path, str]:
    """The venv interpreter of the best recorded build this host runs, and why."""
    from ..pythons.errors import NoMatchingBuild
    from ..pythons.select import select

    per_node = PerNodeRequest.from_metadata(metadata)
    present = {b.build: b.python for b in per_node.builds if b.python.exists()}
    try:
        selection = select(list(present), facts, per_node.request)
    except NoMatchingBuild as exc:
        missing = sorted(str(b.python) for b in per_node.builds if not b.python.exists())
        raise KernelError(
            f"no interpreter of this kernel runs on this node: {exc} (missing: {missing})"
        ) from None
    return present[selection.best], "; ".join(selection.explain())


def replace_interpreter(cmd: Sequence[str], python: Path) -> list[str]:
    """The launch command with ``python`` in place of the kernelspec's interpreter."""
    return [str(python), *cmd[1:]]


def variant_env(metadata: Mapping[str, Any], python: Path) -> dict[str, str]:
    """The environment recorded for the level whose venv interpreter is ``python``."""
    chosen = PerNodeRequest.from_metadata(metadata).for_python(python)
    return dict(chosen.env) if chosen else {}


class PyvariantProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the interpreter chosen for this node at each start."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        from ..host import report

        launch: dict[str, Any] = await super().pre_launch(**kwargs)
        metadata = self.kernel_spec.metadata.get(METADATA_KEY) or {}
        python, why = choose_python(metadata, report().facts)
        self.log.info("pyvariant: kernel %s starts on %s (%s)", self.kernel_id, python, why)
        launch["cmd"] = replace_interpreter(launch["cmd"], python)
        launch["env"] = {**launch.get("env", {}), **variant_env(metadata, python)}
        return launch
