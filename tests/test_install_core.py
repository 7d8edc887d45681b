"""The install wing's core, unit by unit and without network: the variant chooser on hand-made pages,
the installer's command and environment, the parsing of uv's output, and requirement files.

uv's output samples under ``tests/data/uv/`` are real: uv 0.13.9 (the ``uv`` package on PyPI)
installing ``six`` 1.16.0 / 1.17.0 and ``packaging`` 26.4 from a local ``--find-links`` folder,
each file one run's merged stdout and stderr (``--dry-run``, install, ``--reinstall-package six``,
upgrade, and ``uv pip compile --no-header --no-annotate``).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, cast

import pytest
from packaging.specifiers import SpecifierSet

from jupyter_pyvariant import _installer
from jupyter_pyvariant.index.client import SimpleClient
from jupyter_pyvariant.index.models import FileLink, ProjectPage
from jupyter_pyvariant.install import runner
from jupyter_pyvariant.install.choose import VariantChooser
from jupyter_pyvariant.install.plan import PlanError
from jupyter_pyvariant.install.requirements import read_requirement_files
from jupyter_pyvariant.variants.metadata import VariantMetadata
from jupyter_pyvariant.variants.supported import SupportedProperties

UV_OUTPUT = Path(__file__).parent / "data" / "uv"
INDEX = "https://index.example/simple/"
TAGS = ("cp312-cp312-manylinux_2_28_x86_64", "cp312-abi3-manylinux_2_28_x86_64", "py3-none-any")
V3 = SupportedProperties.from_mapping({"x86_64": {"level": ["v3", "v2", "v1"]}})
DOCUMENT = {
    "$schema": "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
    "default-priorities": {"namespace": ["x86_64"]},
    "variants": {
        "null": {},
        "x86_64_v2": {"x86_64": {"level": ["v2"]}},
        "x86_64_v3": {"x86_64": {"level": ["v3"]}},
        "x86_64_v4": {"x86_64": {"level": ["v4"]}},
    },
}


# --------------------------------------------------------------------------------------------------
# The chooser


class FakeIndex:
    """Stands in for the simple-API client: pages and files from memory, each read counted."""

    def __init__(self, *pages: ProjectPage, blobs: dict[str, bytes] | None = None) -> None:
        self.pages = {page.name: page for page in pages}
        self.blobs = blobs or {}
        self.asked: list[str] = []
        self.read_urls: list[str] = []

    def project(self, name: str) -> ProjectPage | None:
        self.asked.append(name)
        return self.pages.get(name)

    def projects(self, names: list[str]) -> dict[str, ProjectPage | None]:
        return {name: self.project(name) for name in names}

    def read(self, link: FileLink, project: str) -> bytes:
        self.read_urls.append(link.url)
        return self.blobs[link.url]


def link(filename: str, **extra: Any) -> FileLink:
    return FileLink(filename, f"{INDEX}files/{filename}", INDEX, (("sha256", "0" * 64),), **extra)


def page(name: str, *filenames: str, **extra: Any) -> ProjectPage:
    return ProjectPage(name, INDEX, f"{INDEX}{name}/", tuple(link(f, **extra) for f in filenames))


def variants_blobs(*files: str, document: dict[str, Any] = DOCUMENT) -> dict[str, bytes]:
    return {f"{INDEX}files/{name}": json.dumps(document).encode() for name in files}


def chooser(
    index: FakeIndex, supported: SupportedProperties = V3, tags: tuple[str, ...] | None = TAGS
) -> tuple[VariantChooser, list[VariantMetadata]]:
    asked: list[VariantMetadata] = []

    def supported_for(metadata: VariantMetadata) -> SupportedProperties:
        asked.append(metadata)
        return supported

    client = cast(SimpleClient, index)
    return VariantChooser(lambda name: client, supported_for, lambda: tags), asked


def test_plain_wheels_are_presented_best_tag_first_and_unchanged() -> None:
    index = FakeIndex(
        page(
            "demo",
            "demo-1.0-py3-none-any.whl",
            "demo-1.0-cp312-cp312-win_amd64.whl",
            "demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
            "demo-1.0.tar.gz",
        )
    )
    choice = chooser(index)[0].choose("demo")
    assert choice is not None
    version = choice.versions["1.0"]
    assert not version.has_variants and version.label is None
    assert version.summary == "no variant wheels"
    assert [w.filename for w in version.wheels] == [  # the wheel the target cannot run comes last
        "demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        "demo-1.0-py3-none-any.whl",
        "demo-1.0-cp312-cp312-win_amd64.whl",
    ]
    assert [other.filename for other in choice.others] == ["demo-1.0.tar.gz"]
    assert choice.presented().shared  # no variants and no recipe: the same page for every host


def test_the_best_fit_variant_is_presented_under_its_plain_name_and_the_rest_are_explained() -> None:
    files = [f"simd-2.0-cp312-cp312-manylinux_2_28_x86_64-x86_64_v{n}.whl" for n in (2, 3, 4)]
    index = FakeIndex(
        page("simd", *files, "simd-2.0-cp312-cp312-manylinux_2_28_x86_64.whl", "simd-2.0-variants.json"),
        blobs=variants_blobs("simd-2.0-variants.json"),
    )
    choice = chooser(index)[0].choose("simd")
    assert choice is not None
    version = choice.versions["2.0"]
    assert version.has_variants and version.label == "x86_64_v3"
    assert version.properties == ("x86_64 :: level :: v3",)
    assert [w.filename for w in version.wheels] == ["simd-2.0-cp312-cp312-manylinux_2_28_x86_64.whl"]
    assert version.wheels[0].link.filename == files[1]  # the upstream file keeps its label
    assert version.wheels[0].expected is not None and version.wheels[0].expected.label == "x86_64_v3"
    assert version.ranked == ("x86_64_v3", "x86_64_v2", None)
    assert set(version.rejected) == {"x86_64_v4"}
    assert version.summary == "best of 3 compatible, 1 rejected"
    assert version.variants_json is not None and version.variants_json.filename == "simd-2.0-variants.json"
    assert version.why  # the ranking explains itself when asked
    assert not choice.presented().shared


def test_without_variants_json_only_the_plain_wheel_is_offered() -> None:
    index = FakeIndex(
        page(
            "simd",
            "simd-2.0-cp312-cp312-manylinux_2_28_x86_64-x86_64_v3.whl",
            "simd-2.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        )
    )
    version = chooser(index)[0].choose("simd").versions["2.0"]  # type: ignore[union-attr]
    assert version.label is None and version.summary == "plain wheel: no variant fits"
    assert version.rejected == {"x86_64_v3": f"simd-2.0-variants.json is not on {INDEX}"}
    assert index.read_urls == []


def test_compressed_tag_sets_are_expanded_and_a_label_no_tag_fits_is_rejected() -> None:
    index = FakeIndex(
        page(
            "simd",
            "simd-2.0-cp311.cp312-abi3.cp312-manylinux_2_17_x86_64.manylinux_2_28_x86_64-x86_64_v2.whl",
            "simd-2.0-cp312-cp312-win_amd64-x86_64_v3.whl",
            "simd-2.0-variants.json",
        ),
        blobs=variants_blobs("simd-2.0-variants.json"),
    )
    version = chooser(index)[0].choose("simd").versions["2.0"]  # type: ignore[union-attr]
    assert version.label == "x86_64_v2"
    assert version.rejected["x86_64_v3"] == "no wheel of this label has a tag the target interpreter runs"


def test_no_compatible_variant_and_no_plain_wheel_presents_nothing() -> None:
    index = FakeIndex(
        page(
            "simd",
            "simd-2.0-cp312-cp312-manylinux_2_28_x86_64-x86_64_v4.whl",
            "simd-2.0.tar.gz",
            "simd-2.0-variants.json",
        ),
        blobs=variants_blobs("simd-2.0-variants.json"),
    )
    choice = chooser(index)[0].choose("simd")
    assert choice is not None
    version = choice.versions["2.0"]
    assert (
        version.wheels == () and version.summary == "nothing fits: no compatible variant and no plain wheel"
    )
    assert version.why[-1] == "nothing fits: only source distributions are offered for this version"
    assert [f.filename for f in choice.presented().files] == ["simd-2.0.tar.gz"]


def test_releases_sharing_a_variants_json_are_ranked_against_one_support_answer() -> None:
    files = [f"simd-{v}-cp312-cp312-manylinux_2_28_x86_64-x86_64_v3.whl" for v in ("1.0", "2.0")]
    jsons = ["simd-1.0-variants.json", "simd-2.0-variants.json"]
    index = FakeIndex(page("simd", *files, *jsons), blobs=variants_blobs(*jsons))
    choose, asked = chooser(index)
    choice = choose.choose("simd")
    assert choice is not None and {v.label for v in choice.versions.values()} == {"x86_64_v3"}
    assert sorted(index.read_urls) == [f"{INDEX}files/{name}" for name in jsons]
    assert len(asked) == 1


def test_likely_is_the_newest_final_release_the_request_allows() -> None:
    wheel = "demo-{}-py3-none-any.whl"
    files = [wheel.format(v) for v in ("1.0", "1.5", "2.0", "3.0rc1")]
    yanked = link(wheel.format("2.5"), yanked="broken")
    demo = page("demo", *files)
    index = FakeIndex(ProjectPage(demo.name, demo.index, demo.url, (*demo.files, yanked)))
    choice = chooser(index)[0].choose("demo")
    assert choice is not None
    assert [f.filename for f in choice.presented().likely] == [wheel.format("2.0")]
    assert [f.filename for f in choice.presented(SpecifierSet("<2")).likely] == [wheel.format("1.5")]
    assert choice.version("1.5.0") is None and choice.version("1.5") is not None


def test_without_target_tags_every_wheel_is_runnable() -> None:
    index = FakeIndex(page("demo", "demo-1.0-cp312-cp312-win_amd64.whl"))
    version = chooser(index, tags=None)[0].choose("demo").versions["1.0"]  # type: ignore[union-attr]
    assert [w.filename for w in version.wheels] == ["demo-1.0-cp312-cp312-win_amd64.whl"]


def test_a_project_is_chosen_once_whichever_threads_ask() -> None:
    index = FakeIndex(page("demo", "demo-1.0-py3-none-any.whl"))
    choose = chooser(index)[0]
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(choose.choose("Demo"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert index.asked == ["demo"]
    assert len(results) == 8 and all(result is results[0] for result in results)
    assert choose.choose("unknown") is None and choose.presented("unknown") is None


def test_prefetched_pages_are_not_asked_again() -> None:
    index = FakeIndex(page("demo", "demo-1.0-py3-none-any.whl"))
    choose = chooser(index)[0]
    choose.prefetch(["Demo", "missing"])
    assert choose.choose("demo") is not None and choose.choose("missing") is None
    assert index.asked == ["demo", "missing"]


# --------------------------------------------------------------------------------------------------
# The installer's command and environment

UV = runner.TargetInstaller(_installer.Installer("uv", ("/bin/uv",)), "/env/bin/python")
PIP = runner.TargetInstaller(_installer.Installer("pip", ("/env/bin/python", "-m", "pip")), "/env/bin/python")
VIEW = "http://pyvariant:s3cret-token@127.0.0.1:8123/simple/"


def test_uv_command_per_option() -> None:
    assert UV.command(["simd>=2"]) == [
        "/bin/uv", "pip", "install", "--python", "/env/bin/python", "--no-config", "--", "simd>=2",
    ]  # fmt: skip
    command = UV.command(["-simd"], dry_run=True, no_deps=True, reinstall=["b", "a"], fresh=True)
    assert command[5:] == [
        "--no-config", "--reinstall-package", "a", "--reinstall-package", "b", "--dry-run", "--no-deps",
        "--", "-simd",
    ]  # fmt: skip


def test_pip_command_per_option(tmp_path: Path) -> None:
    assert PIP.command(["simd>=2"]) == [
        "/env/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
        "--progress-bar", "off", "--retries", "0", "simd>=2",
    ]  # fmt: skip
    report = tmp_path / "report.json"
    options = PIP.command(["simd"], dry_run=True, no_deps=True, reinstall=["a"], fresh=True, report=report)
    assert options[6:] == [
        "--progress-bar", "off", "--retries", "0", "--ignore-installed", "--force-reinstall",
        "--report", str(report), "--dry-run", "--no-deps", "simd",
    ]  # fmt: skip


@pytest.mark.parametrize("installer", [UV, PIP], ids=["uv", "pip"])
def test_the_views_secret_is_never_on_the_command_line(installer: runner.TargetInstaller) -> None:
    command = installer.command(["simd"], dry_run=True, reinstall=["simd"])
    environment = runner.installer_environment(installer.kind, VIEW, environ={})
    assert not any("s3cret" in word for word in command)
    assert VIEW in environment.values()


def test_uv_environment_scrubs_settings_that_bypass_the_view() -> None:
    outside = {
        "UV_INDEX_URL": "https://elsewhere/", "UV_FIND_LINKS": "/wheels", "VIRTUAL_ENV": "/other",
        "PIP_INDEX_URL": "https://elsewhere/", "FORCE_COLOR": "1", "CLICOLOR_FORCE": "1",
        "UV_CACHE_DIR": "/cache", "HOME": "/home/me",
    }  # fmt: skip
    env = runner.installer_environment("uv", VIEW, environ=outside)
    assert env == {
        "UV_DEFAULT_INDEX": VIEW, "UV_CACHE_DIR": "/cache", "HOME": "/home/me", "PYTHONIOENCODING": "utf-8",
        "NO_COLOR": "1", "UV_HTTP_RETRIES": "0",
    }  # fmt: skip


def test_uv_reads_the_upstreams_after_the_view_the_last_as_default() -> None:
    env = runner.installer_environment(
        "uv", VIEW, ["https://a.example/simple", "https://b.example/simple"], {}
    )
    assert env["UV_INDEX"] == f"{VIEW} https://a.example/simple"
    assert env["UV_DEFAULT_INDEX"] == "https://b.example/simple"
    one = runner.installer_environment("uv", VIEW, ["https://a.example/simple"], {})
    assert one["UV_INDEX"] == VIEW and one["UV_DEFAULT_INDEX"] == "https://a.example/simple"


def test_pip_environment_names_the_view_reads_no_config_and_trusts_the_loopback_host() -> None:
    outside = {"PIP_EXTRA_INDEX_URL": "https://elsewhere/", "PIP_CONFIG_FILE": "/etc/pip.conf",
               "PIP_TRUSTED_HOST": "mirror.example", "UV_DEFAULT_INDEX": "https://elsewhere/"}  # fmt: skip
    env = runner.installer_environment("pip", VIEW, ["https://ignored.example/simple"], outside)
    assert env["PIP_INDEX_URL"] == VIEW
    assert env["PIP_CONFIG_FILE"] == "/dev/null"
    assert env["PIP_TRUSTED_HOST"] == "mirror.example 127.0.0.1:8123"  # no secret in the host
    assert not {"PIP_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX"} & set(env)


# --------------------------------------------------------------------------------------------------
# uv's output


def _uv_lines(name: str) -> list[str]:
    return (UV_OUTPUT / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("sample", ["install-dry-run.txt", "install.txt"])
def test_uv_install_lines_name_what_it_installs(sample: str) -> None:
    lines = _uv_lines(sample)
    assert runner._pinned_lines(lines, prefix=runner._INSTALLED) == [("packaging", "26.4"), ("six", "1.17.0")]


@pytest.mark.parametrize("sample", ["upgrade.txt", "reinstall-dry-run.txt", "reinstall.txt"])
def test_uv_upgrade_and_reinstall_lines_name_the_new_version_only(sample: str) -> None:
    assert runner._pinned_lines(_uv_lines(sample), prefix=runner._INSTALLED) == [("six", "1.17.0")]


def test_uv_compile_lines_are_pins() -> None:
    assert runner._pinned_lines(_uv_lines("compile.txt"), prefix=runner._COMPILED) == [
        ("packaging", "26.4"),
        ("six", "1.17.0"),
    ]
    assert (
        runner._pinned_lines(["Resolved 2 packages in 4ms", "x==1 ; garbage"], prefix=runner._COMPILED) == []
    )


# --------------------------------------------------------------------------------------------------
# Requirement files


def test_requirement_files_nest_and_drop_comments_and_continuations(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("# only a comment\nscipy  # inline\n", encoding="utf-8")
    (tmp_path / "base.txt").write_text(
        "numpy>=2 \\\n  ,<3\n\n-r sub/more.txt\n--requirement sub/more.txt\nurl#frag\n", encoding="utf-8"
    )
    assert read_requirement_files([str(tmp_path / "base.txt")]) == [
        "numpy>=2   ,<3",
        "scipy",
        "scipy",
        "url#frag",
    ]


def test_requirement_files_that_include_each_other_fail_by_name(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("numpy\n-r a.txt\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"a\.txt: requirement files include each other"):
        read_requirement_files([str(tmp_path / "a.txt")])


def test_option_lines_and_missing_files_fail_by_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("numpy\n--index-url https://x.example/simple\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"r\.txt:2: option lines are not supported here \(--index-url"):
        read_requirement_files([str(tmp_path / "r.txt")])
    with pytest.raises(PlanError, match=r"cannot read requirement file .*absent\.txt: No such file"):
        read_requirement_files([str(tmp_path / "absent.txt")])
