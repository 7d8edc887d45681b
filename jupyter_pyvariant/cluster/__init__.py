"""Installing on clusters: one lock, and on each node the variants that node fits.

``cluster.dask`` is the Dask worker plugin; it alone imports ``distributed``. The errors live here,
so that a face can name them where Dask is not installed.
"""

from __future__ import annotations


class NoCluster(Exception):
    """No cluster to work on: Dask is not installed, no client is at hand, or the scheduler does not
    answer; the message says what to do."""


class SyncFailed(RuntimeError):
    """``sync`` failed on a worker; the message names the worker and carries the sync's own error."""


def failures() -> tuple[type[Exception], ...]:
    """The errors a cluster sync reports as one line (a lock's own errors included)."""
    from ..install import failures as install_failures

    return (NoCluster, SyncFailed, *install_failures())
