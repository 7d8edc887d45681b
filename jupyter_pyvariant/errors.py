"""Every failure the project explains to its user, as one tree (the httpx model).

A face catches a branch and shows ``str(exc)``: the message already names what was wrong and what to
do next. The wings keep their leaves beside the code that raises them and derive them from a branch
here; this module imports nothing, so that the cold path (``%load_ext``, ``%cpuinfo``) stays cold.

::

    PyvariantError                    the root: a failure the user can act on, never a bug
    ├── UsageError                    bad input from the user: exit status 2 on a command line
    │   └── server.inputs.BadInput    (and ValueError) a REST request that cannot be used: HTTP 400
    ├── HostError                     a host report or profile given from outside cannot stand in for
    │   │                             a machine
    │   ├── host.facts.HostReportError        (and ValueError)
    │   └── variants.profiles.ProfileError    (and ValueError)
    ├── IndexProblem                  a package index, page, file or index setting (index.errors)
    │   ├── IndexUnavailable, IndexGarbage, IndexTooLarge, HashMismatch, SettingsError, SpoolClosed
    ├── VariantError                  wheel-variant metadata, labels and providers
    │   ├── variants.metadata.MetadataError
    │   │   ├── variants.embedded.VariantMismatch
    │   │   └── variants.plugins.ProviderError
    │   └── variants.properties.VariantFormatError   (and ValueError)
    ├── InstallError                  an install, plan, lock or sync that cannot be done
    │   ├── install.plan.PlanError
    │   ├── install.recipes.RecipeError              (and ValueError)
    │   ├── install.runner.InstallerError            uv or pip, or the target interpreter, failed
    │   ├── install.lock.LockError                   (and ValueError)
    │   └── cluster: NoCluster, SyncFailed           a Dask cluster to sync cannot be reached or synced
    ├── PythonsError                  finding, fetching, checking and storing interpreters
    │   ├── pythons.errors: CatalogError (CatalogUnreachable, CatalogTimeout), NoMatchingBuild,
    │   │   DownloadError (ChecksumMismatch), UnsafeArchive, SmokeTestFailed (IllegalInstruction),
    │   │   StoreError
    │   ├── pythons.names.InvalidArchiveName         (and ValueError)
    │   └── pythons.select.InvalidRequest            (and ValueError)
    ├── KernelError                   a kernel that cannot be made, found, removed or switched
    ├── server.jobs.JobFinished       a job that already ended cannot be cancelled
    └── the shared layer's own, which the wings turn into their branch's leaves:
        _process.ToolFailed, _installer.NoInstaller, _http.TooLarge

An install reports :data:`INSTALL_BRANCHES`; the python and kernel verbs report
:class:`PythonsError` (and :class:`KernelError`); anything outside the tree is a bug and keeps its
traceback.
"""

__all__ = [
    "INSTALL_BRANCHES",
    "HostError",
    "IndexProblem",
    "InstallError",
    "KernelError",
    "PythonsError",
    "PyvariantError",
    "UsageError",
    "VariantError",
]


class PyvariantError(Exception):
    """The root: a failure whose message says what was wrong and what to do next."""


class UsageError(PyvariantError):
    """Bad input from the user: shown as one line; exit status 2 on a command line."""


class HostError(PyvariantError):
    """A host report or profile given from outside cannot stand in for a machine."""


class IndexProblem(PyvariantError):
    """An index could not answer usefully; the message names the project, the URL and the cause."""


class VariantError(PyvariantError):
    """Wheel-variant metadata, a variant label or a provider that cannot be used."""


class InstallError(PyvariantError):
    """An install, plan, lock or sync that cannot be done: its recipes, its plan or its installer."""


class PythonsError(PyvariantError):
    """A clear, user-facing failure of the pythons wing."""


class KernelError(PyvariantError):
    """A kernel could not be made, found, removed or switched; the message says what and why."""


INSTALL_BRANCHES: tuple[type[PyvariantError], ...] = (IndexProblem, VariantError, InstallError)
"""What an install can end with because of its input or its sources (indexes, variant metadata,
recipes, the installer, a lock): reported as one line."""
