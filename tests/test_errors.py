"""The one error tree: every error the package defines for its users hangs under ``PyvariantError``,
in the branch its wing names, and keeps the ``ValueError`` base its callers catch."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import jupyter_pyvariant
from jupyter_pyvariant import errors

CONTROL_FLOW = {
    "jupyter_pyvariant.server.handlers.ApiError",  # tornado's HTTPError, raised to answer a request
    "jupyter_pyvariant.server.worker.Cancelled",  # a BaseException that unwinds a cancelled job
}
"""Exceptions that steer the program and are never shown to a user as a failure."""


def _defined_errors() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(jupyter_pyvariant.__path__, "jupyter_pyvariant."):
        if info.name.rpartition(".")[2] in ("__main__", "_plugin_runner"):
            continue  # scripts: run as programs (the second in a plugin's own interpreter)
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


ERRORS = _defined_errors()


def test_every_public_error_is_in_the_tree() -> None:
    outside = [
        name
        for name, cls in ERRORS.items()
        if name not in CONTROL_FLOW and not issubclass(cls, errors.PyvariantError)
    ]
    assert outside == []
    assert len(ERRORS) > 30  # the walk found the wings' errors, not nothing


@pytest.mark.parametrize(
    ("name", "branch"),
    [
        ("jupyter_pyvariant.index.errors.IndexGarbage", errors.IndexProblem),
        ("jupyter_pyvariant.install.lock.LockError", errors.InstallError),
        ("jupyter_pyvariant.install.plan.PlanError", errors.InstallError),
        ("jupyter_pyvariant.install.recipes.RecipeError", errors.InstallError),
        ("jupyter_pyvariant.install.runner.InstallerError", errors.InstallError),
        ("jupyter_pyvariant.pythons.errors.IllegalInstruction", errors.PythonsError),
        ("jupyter_pyvariant.pythons.names.InvalidArchiveName", errors.PythonsError),
        ("jupyter_pyvariant.pythons.select.InvalidRequest", errors.PythonsError),
        ("jupyter_pyvariant.server.inputs.BadInput", errors.UsageError),
        ("jupyter_pyvariant.variants.plugins.ProviderError", errors.VariantError),
        ("jupyter_pyvariant.variants.properties.VariantFormatError", errors.VariantError),
        ("jupyter_pyvariant.variants.profiles.ProfileError", errors.HostError),
    ],
)
def test_each_wing_error_is_in_its_branch(name: str, branch: type[Exception]) -> None:
    assert issubclass(ERRORS[name], branch)


@pytest.mark.parametrize(
    "name",
    [
        "jupyter_pyvariant.install.lock.LockError",
        "jupyter_pyvariant.install.recipes.RecipeError",
        "jupyter_pyvariant.pythons.names.InvalidArchiveName",
        "jupyter_pyvariant.server.inputs.BadInput",
        "jupyter_pyvariant.variants.properties.VariantFormatError",
        "jupyter_pyvariant.variants.profiles.ProfileError",
    ],
)
def test_errors_that_callers_catch_as_value_errors_still_are(name: str) -> None:
    assert issubclass(ERRORS[name], ValueError)


def test_an_install_reports_its_three_branches_and_no_usage_error() -> None:
    from jupyter_pyvariant.install import failures

    assert failures() == (errors.IndexProblem, errors.VariantError, errors.InstallError)
    assert not issubclass(errors.UsageError, failures())  # usage keeps its exit status 2


def test_the_faces_usage_error_is_the_trees() -> None:
    from jupyter_pyvariant.verbs import UsageError

    assert UsageError is errors.UsageError
