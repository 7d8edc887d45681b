"""``kernel install --trust-provider``: the provider plugins the user trusts reach the variant
selection of the kernel's packages, from the command line and from a REST request alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_pyvariant import verbs
from jupyter_pyvariant._installer import Installer
from jupyter_pyvariant.install import session as install_session
from jupyter_pyvariant.kernels import venv
from jupyter_pyvariant.server.inputs import KernelRequest
from jupyter_pyvariant.verbs import kernel as kernel_verbs


def _kernel_options(*argv: str) -> Any:
    verb, rest = verbs.find(["kernel", "install", *argv])
    args = verbs.parser_for(verb).parse_intermixed_args(rest)
    return kernel_verbs._options(args)


def test_the_option_reaches_the_kernel_options() -> None:
    options = _kernel_options("3.13", "--with", "accelpkg", "--trust-provider", "demo-accel-provider")
    assert options.packages == ("accelpkg",)
    assert options.trusted_plugins == ("demo-accel-provider",)
    assert _kernel_options("3.13").trusted_plugins == ()


def test_the_kernels_packages_are_planned_with_the_trusted_plugins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Any] = []

    class Recorded:
        def __init__(self, options: Any) -> None:
            seen.append(options)

        def __enter__(self) -> Recorded:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def install(self) -> None:
            return None

    monkeypatch.setattr(install_session, "Session", Recorded)
    python = tmp_path / "bin" / "python"
    venv.install_requested(python, ["accelpkg"], Installer("uv", ("uv",)), ["demo-accel-provider"])
    (options,) = seen
    assert options.requirements == ("accelpkg",)
    assert options.python == str(python)
    assert options.trusted_plugins == ("demo-accel-provider",)


def test_a_rest_request_hands_its_trusted_providers_to_kernel_install() -> None:
    request = KernelRequest.from_body(
        b'{"version": "3.13", "packages": ["accelpkg"], "trusted_providers": ["demo-accel-provider"]}'
    )
    args = request.verb_args()
    assert "--trust-provider=demo-accel-provider" in args
    options = _kernel_options(*args[2:])
    assert options.trusted_plugins == ("demo-accel-provider",)
    assert request.notes() == [
        "trusted_providers (demo-accel-provider): their plugins run, each in its own environment, to "
        "choose the variants of the kernel's packages"
    ]
    assert KernelRequest.from_body(b'{"trusted_providers": ["demo-accel-provider"]}').notes() == []
