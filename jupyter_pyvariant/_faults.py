"""Named points where a test can stop the process, as a kill would, to prove recovery from there.

``PYVARIANT_FAULT_AT=<step>`` makes :func:`checkpoint` call ``os._exit`` at that step (no cleanup,
no ``finally``, no flushing), so a test can kill a run at one exact place instead of at random
times. Unset, a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

__all__ = ["FAULT_ENV", "FAULT_EXIT", "checkpoint"]

import os

FAULT_ENV = "PYVARIANT_FAULT_AT"
FAULT_EXIT = 86
"""The exit status of a process stopped at its fault step (distinct from errors and signals)."""


def checkpoint(step: str) -> None:
    """Stop here, at once, when the environment names ``step``."""
    if os.environ.get(FAULT_ENV) == step:
        os._exit(FAULT_EXIT)
