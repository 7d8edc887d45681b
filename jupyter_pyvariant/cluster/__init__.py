"""Installing on clusters: one lock, and on each node the variants that node fits.

``cluster.dask`` is the Dask worker plugin; it alone imports ``distributed``. The errors live here,
so that a face can name them where Dask is not installed; a cluster sync is a sync, so they are
install errors and a face reports them as it reports ``sync``'s.
"""

from __future__ import annotations

from ..errors import InstallError


class NoCluster(InstallError):
    """No cluster to work on: Dask is not installed, no client is at hand, or the scheduler does not
    answer; the message says what to do."""


class SyncFailed(InstallError):
    """``sync`` failed on a worker; the message names the worker and carries the sync's own error."""
