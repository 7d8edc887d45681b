"""The CPU probe against real machines: archspec's recorded /proc/cpuinfo and sysctl samples, this
host, and broken inputs. Expected levels are written here from the x86-64 psABI and the Arm
architecture versions, independently of the code's tables."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import stat
import struct
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host._probe import Recorder
from jupyter_pyvariant.host.cpu import CpuInfo, probe_cpu
from jupyter_pyvariant.host.cpu_archspec import match
from jupyter_pyvariant.host.cpu_facts import facts_from_cpuinfo, facts_from_sysctl, facts_from_windows
from jupyter_pyvariant.host.cpu_hwcaps import (
    LoaderListing,
    ask_loader,
    compare,
    glibc_hwcaps,
    parse_loader_help,
    program_interpreter,
)
from jupyter_pyvariant.host.cpu_levels import judge, ladders


def _archspec_samples() -> Path | None:
    spec = importlib.util.find_spec("archspec")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location, "json", "tests", "targets")
        if folder.is_dir():
            return folder
    return None


SAMPLES = _archspec_samples()
needs_samples = pytest.mark.skipif(
    SAMPLES is None, reason="archspec's json/tests/targets samples are not installed"
)

# name -> (uname -m, level, archspec target). Levels: x86-64 psABI; Arm: the highest -march=armvX.Y-a
# whose user-space instructions the CPU has (Neoverse N2/V2 carry BF16 and I8MM, every Armv8.6
# instruction, so code built for armv9.1-a runs there).
LINUX_SAMPLES: dict[str, tuple[str, str, str]] = {
    "linux-centos7-cascadelake": ("x86_64", "x86-64-v4", "cascadelake"),
    "linux-rhel6-piledriver": ("x86_64", "x86-64-v2", "piledriver"),
    "linux-rhel7-broadwell": ("x86_64", "x86-64-v3", "broadwell"),
    "linux-rhel7-haswell": ("x86_64", "x86-64-v3", "haswell"),
    "linux-rhel7-ivybridge": ("x86_64", "x86-64-v2", "ivybridge"),
    "linux-rhel7-skylake_avx512": ("x86_64", "x86-64-v4", "skylake_avx512"),
    "linux-rhel7-x86_64_v3": ("x86_64", "x86-64-v3", "x86_64_v3"),
    "linux-rhel7-zen": ("x86_64", "x86-64-v3", "zen"),
    "linux-rocky8.5-zen4": ("x86_64", "x86-64-v4", "zen4"),
    "linux-rocky9-zen5": ("x86_64", "x86-64-v4", "zen5"),
    "linux-rocky9-zen6": ("x86_64", "x86-64-v4", "zen6"),
    "linux-scientific7-k10": ("x86_64", "x86-64-v1", "k10"),
    "linux-scientific7-piledriver": ("x86_64", "x86-64-v2", "piledriver"),
    "linux-scientificfermi6-bulldozer": ("x86_64", "x86-64-v2", "bulldozer"),
    "linux-scientificfermi6-piledriver": ("x86_64", "x86-64-v2", "piledriver"),
    "linux-ubuntu18.04-broadwell": ("x86_64", "x86-64-v3", "broadwell"),
    "linux-ubuntu20.04-zen3": ("x86_64", "x86-64-v3", "zen3"),
    "linux-ubuntu24.04-alderlake": ("x86_64", "x86-64-v3", "alderlake"),
    "linux-ubuntu26.04-arrowlake_s": ("x86_64", "x86-64-v3", "arrowlake_s"),
    "linux-unknown-sapphirerapids": ("x86_64", "x86-64-v4", "sapphirerapids"),
    "linux-amazon-cortex_a72": ("aarch64", "armv8.0-a", "cortex_a72"),
    "linux-centos7-thunderx2": ("aarch64", "armv8.1-a", "thunderx2"),
    "linux-amazon-neoverse_n1": ("aarch64", "armv8.2-a", "neoverse_n1"),
    "linux-rocky8-a64fx": ("aarch64", "armv8.2-a", "a64fx"),
    "linux-amazon-neoverse_v1": ("aarch64", "armv8.4-a", "neoverse_v1"),
    "linux-rhel8-neoverse_v1": ("aarch64", "armv8.4-a", "neoverse_v1"),
    "linux-asahi-m1": ("aarch64", "armv8.5-a", "m1"),
    "linux-asahi-m2": ("aarch64", "armv8.6-a", "m2"),
    "linux-ubuntu22.04-ampere1": ("aarch64", "armv8.6-a", "ampere1"),
    "linux-ubuntu22.04-ampere1a": ("aarch64", "armv8.6-a", "ampere1a"),
    "linux-rhel9-neoverse_n2": ("aarch64", "armv9.1-a", "neoverse_n2"),
    "linux-ubuntu22.04-neoverse_n2": ("aarch64", "armv9.1-a", "neoverse_n2"),
    "linux-rhel9-neoverse_v2": ("aarch64", "armv9.1-a", "neoverse_v2"),
    "linux-ubuntu22.04-neoverse_v2": ("aarch64", "armv9.1-a", "neoverse_v2"),
    "linux-unknown-neoverse_v2": ("aarch64", "armv9.1-a", "neoverse_v2"),
    "linux-ubuntu24.04-neoverse_v3ae": ("aarch64", "armv9.2-a", "neoverse_v3ae"),
    "linux-ubuntu26.04-olympus": ("aarch64", "armv9.2-a", "olympus"),
    "bgq-rhel6-power7": ("ppc64", "power7", "power7"),
    "linux-centos7-power8le": ("ppc64le", "power8", "power8le"),
    "linux-rhel8-power9": ("ppc64le", "power9", "power9le"),
    "linux-unknown-power10": ("ppc64le", "power10", "power10le"),
    "linux-sifive-u74mc": ("riscv64", "unknown", "u74mc"),
    "linux-spacemit-x60": ("riscv64", "unknown", "x60"),
    "linux-debian13-x60": ("riscv64", "unknown", "x60"),
}

# macOS samples are sysctl dumps: name -> (platform.machine(), level, archspec target)
DARWIN_SAMPLES: dict[str, tuple[str, str, str]] = {
    "darwin-mojave-ivybridge": ("x86_64", "x86-64-v2", "ivybridge"),
    "darwin-mojave-haswell": ("x86_64", "x86-64-v3", "haswell"),
    "darwin-mojave-skylake": ("x86_64", "x86-64-v3", "skylake"),
    "darwin-monterey-m1": ("arm64", "armv8.5-a", "m1"),
    "darwin-monterey-m2": ("arm64", "armv8.6-a", "m2"),
    "darwin-sequoia-m3": ("arm64", "armv8.6-a", "m3"),
    # The M4 has SME but no SVE, so no Armv9 level: code built for armv9 may use SVE2.
    "darwin-sequoia-m4": ("arm64", "armv8.7-a", "m4"),
    # Big Sur exposes only the old hw.optional.armv8_* keys: no RDM, so only the baseline is provable.
    "darwin-bigsur-m1": ("arm64", "armv8.0-a", "m1"),
}

CPU_SCHEMA = json.loads(
    (Path(__file__).parents[1] / "jupyter_pyvariant/host/data/host-report.schema.json").read_text()
)["properties"]["cpu"]


def _sample(name: str) -> str:
    assert SAMPLES is not None
    return (SAMPLES / name).read_text()


def replay(tmp_path: Path, content: str | bytes, machine: str | None) -> tuple[CpuInfo, Recorder]:
    """Probe a recorded machine through a procfs root (``tmp_path/proc``), as PYVARIANT_PROCFS would.

    ``machine=None`` leaves the architecture to the recorded text, as a report of that root does.
    """
    proc = tmp_path / "proc"
    proc.mkdir(exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    (proc / "cpuinfo").write_bytes(data)
    rec = Recorder()
    return probe_cpu(Roots(procfs=proc, sysfs=tmp_path / "sys"), rec, machine=machine), rec


def without(text: str, *flags: str, key: str = "flags") -> str:
    """The cpuinfo text with ``flags`` removed from every processor's feature line."""
    lines = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            line = f"{name}: " + " ".join(f for f in value.split() if f not in flags)
        lines.append(line)
    return "\n".join(lines) + "\n"


def errors(rec: Recorder) -> list[str]:
    return [f"{d.probe}: {d.error}" for d in rec.diagnostics if d.error]


@needs_samples
@pytest.mark.parametrize("name", sorted(LINUX_SAMPLES))
def test_recorded_linux_machines_reach_their_level(tmp_path: Path, name: str) -> None:
    machine, level, target = LINUX_SAMPLES[name]
    info, _ = replay(tmp_path, _sample(name), machine)
    assert info.isa_level == level
    assert info.archspec is not None and info.archspec.microarchitecture == target
    assert "replayed" in (info.glibc_hwcaps.reason or "")
    jsonschema.validate(info.to_dict(), CPU_SCHEMA)


@needs_samples
def test_every_linux_sample_archspec_ships_has_an_expectation() -> None:
    assert SAMPLES is not None
    shipped = {p.name for p in SAMPLES.iterdir() if not p.name.startswith(("darwin-", "windows-"))}
    assert shipped <= set(LINUX_SAMPLES), f"add expectations for {sorted(shipped - set(LINUX_SAMPLES))}"


def _sysctl_values(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@needs_samples
@pytest.mark.parametrize("name", sorted(DARWIN_SAMPLES))
def test_recorded_macs_reach_their_level(name: str) -> None:
    machine, level, target = DARWIN_SAMPLES[name]
    facts = facts_from_sysctl(_sysctl_values(_sample(name)), machine)
    assert facts.arch == machine
    assert judge(facts.family, facts.features, facts.generation).level == level
    found = match(facts)
    assert found is not None and found.microarchitecture == target


def test_windows_features_never_claim_a_level() -> None:
    facts = facts_from_windows({13: True, 36: True, 39: True, 41: True}, "AMD64", "GenuineIntel", "Xeon")
    assert facts.family == "x86_64"
    assert {"pni", "ssse3", "avx", "avx512f"} <= facts.features
    verdict = judge(facts.family, facts.features, facts.generation, facts.level_blocker)
    assert verdict.level is None and "IsProcessorFeaturePresent" in (verdict.reason or "")


@needs_samples
def test_one_missing_avx512_flag_drops_the_level_and_is_named(tmp_path: Path) -> None:
    info, _ = replay(tmp_path, without(_sample("linux-rocky8.5-zen4"), "avx512bw"), "x86_64")
    assert info.isa_level == "x86-64-v3"
    assert info.isa_next_level == "x86-64-v4"
    assert info.isa_level_missing == ("avx512bw",)
    assert info.archspec is not None
    assert info.archspec.microarchitecture == "zen3"
    refused = {r.target: r.missing for r in info.archspec.refused}
    assert refused["zen4"] == ("avx512bw",)


@needs_samples
def test_a_hidden_niche_flag_keeps_the_level_but_says_why_zen4_was_refused(tmp_path: Path) -> None:
    info, _ = replay(tmp_path, without(_sample("linux-rocky8.5-zen4"), "pku"), "x86_64")
    assert info.isa_level == "x86-64-v4"
    assert info.archspec is not None
    assert info.archspec.microarchitecture == "x86_64_v4"
    assert info.archspec.compiler_flags["gcc"] == "-march=x86-64-v4 -mtune=generic"
    assert [(r.target, r.missing) for r in info.archspec.refused] == [("zen4", ("pku",))]


@needs_samples
def test_compiler_flags_come_from_the_matched_target(tmp_path: Path) -> None:
    info, _ = replay(tmp_path, _sample("linux-rocky8.5-zen4"), "x86_64")
    assert info.archspec is not None
    assert info.archspec.generic == "x86_64_v4"
    assert info.archspec.compiler_flags == {
        "gcc": "-march=znver4 -mtune=znver4",
        "clang": "-march=znver4 -mtune=znver4",
    }


@needs_samples
def test_a_flag_missing_on_one_cpu_is_missing_for_the_process(tmp_path: Path) -> None:
    one = _sample("linux-rocky8.5-zen4").strip()
    other = without(one.replace("processor\t: 0", "processor\t: 1"), "avx2")
    info, _ = replay(tmp_path, one + "\n\n" + other, "x86_64")
    assert info.isa_level == "x86-64-v2"
    assert info.isa_level_missing == ("avx2",)
    assert "avx2" not in info.features and "avx512f" in info.features


@needs_samples
def test_arm_without_sve2_falls_back_to_v8_and_archspec_names_the_refusal(tmp_path: Path) -> None:
    text = without(_sample("linux-unknown-neoverse_v2"), "sve2", key="Features")
    info, _ = replay(tmp_path, text, "aarch64")
    assert info.isa_level == "armv8.6-a"
    assert info.archspec is not None
    assert ("neoverse_v2", ("sve2",)) in [(r.target, r.missing) for r in info.archspec.refused]
    assert "sve2" not in info.extensions["sve"]


@needs_samples
def test_sve_vector_length_comes_from_procfs(tmp_path: Path) -> None:
    (tmp_path / "proc/sys/abi").mkdir(parents=True)
    (tmp_path / "proc/sys/abi/sve_default_vector_length").write_text("16\n")
    info, rec = replay(tmp_path, _sample("linux-unknown-neoverse_v2"), "aarch64")
    assert info.sve_vector_length_bits == 128
    assert {"sve", "sve2"} <= set(info.extensions["sve"])
    assert not errors(rec)


@needs_samples
@pytest.mark.parametrize("content", [None, "sixteen\n"])
def test_sve_vector_length_unknown_says_why(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "proc/sys/abi").mkdir(parents=True)
        (tmp_path / "proc/sys/abi/sve_default_vector_length").write_text(content)
    info, rec = replay(tmp_path, _sample("linux-unknown-neoverse_v2"), "aarch64")
    assert info.sve_vector_length_bits is None
    assert any(d.probe == "cpu.sve" and d.error for d in rec.diagnostics)


def test_s390x_level_comes_from_the_machine_type(tmp_path: Path) -> None:
    text = (
        "vendor_id       : IBM/S390\n# processors    : 2\n"
        "features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx vxd vxe gs vxe2 vxp\n"
        "processor 0: version = 00,  identification = 1A2B3C,  machine = 8561\n"
        "processor 1: version = 00,  identification = 1A2B3C,  machine = 8561\n"
    )
    info, _ = replay(tmp_path, text, "s390x")
    assert (info.arch, info.vendor, info.isa_level) == ("s390x", "IBM", "z15")
    assert (info.isa_next_level, info.isa_level_missing) == ("z16", ("z16",))
    assert info.extensions["vector"] == ("vx", "vxd", "vxe", "vxe2", "vxp")
    assert info.archspec is None  # archspec knows no s390x targets
    jsonschema.validate(info.to_dict(), CPU_SCHEMA)


BAD_INPUTS = {
    "empty": b"",
    "binary": bytes(range(256)) * 16,
    "malformed": b"this is not a cpuinfo file\nnor is this\n",
    "no flags": b"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t:\n",
}


@pytest.mark.parametrize("kind", [*BAD_INPUTS, "missing", "unreadable"])
def test_bad_cpuinfo_gives_unknown_with_a_reason_and_prints_nothing(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    if kind in BAD_INPUTS:
        (proc / "cpuinfo").write_bytes(BAD_INPUTS[kind])
    elif kind == "unreadable":
        (proc / "cpuinfo").mkdir()  # a directory where the file should be: unreadable even for root
    rec = Recorder()
    info = probe_cpu(Roots(procfs=proc, sysfs=tmp_path / "sys"), rec, machine="x86_64")
    assert info.isa_level == "unknown"
    assert info.features == ()
    assert errors(rec), "the reason must land in the diagnostics"
    jsonschema.validate(info.to_dict(), CPU_SCHEMA)
    assert capsys.readouterr() == ("", "")


def test_flags_below_the_baseline_name_what_is_missing(tmp_path: Path) -> None:
    info, rec = replay(tmp_path, "processor\t: 0\nflags\t\t: fpu sse sse2\n", "x86_64")
    assert info.isa_level == "unknown"
    assert info.isa_next_level == "x86-64-v1"
    assert info.isa_level_missing == ("cmov", "cx8", "fxsr", "mmx", "syscall")
    assert any("baseline" in e for e in errors(rec))


def test_an_architecture_without_rules_says_so(tmp_path: Path) -> None:
    info, rec = replay(tmp_path, "processor\t: 0\nmodel name\t: Loongson-3A5000\n", "loongarch64")
    assert (info.arch, info.isa_level, info.model) == ("loongarch64", "unknown", "Loongson-3A5000")
    assert any("no instruction-set level rules for loongarch64" in e for e in errors(rec))


def _features_text(flags: set[str]) -> str:
    return f"processor\t: 0\nflags\t\t: {' '.join(sorted(flags))}\n"


def _rank(family: str, features: set[str]) -> int:
    names = [level.name for level in ladders()[family].levels]
    level = judge(family, frozenset(features), None).level
    return names.index(level) if level else -1


LADDER_FLAGS = {
    family: sorted({flag for level in ladders()[family].levels for flag in level.requires} | {"aes", "pku"})
    for family in ("x86_64", "aarch64")
}


@pytest.mark.parametrize("family", sorted(LADDER_FLAGS))
@given(data=st.data())
def test_removing_features_never_raises_the_level(family: str, data: st.DataObject) -> None:
    features = data.draw(st.sets(st.sampled_from(LADDER_FLAGS[family])))
    fewer = data.draw(st.sets(st.sampled_from(sorted(features)))) if features else set()
    assert _rank(family, fewer) <= _rank(family, features)


@given(flags=st.sets(st.sampled_from(LADDER_FLAGS["x86_64"]), min_size=1))
def test_adding_the_missing_features_reaches_the_next_level(flags: set[str]) -> None:
    facts = facts_from_cpuinfo(_features_text(flags), "x86_64")
    verdict = judge(facts.family, facts.features, None)
    if verdict.next_level is None:
        assert verdict.level == "x86-64-v4" and verdict.missing == ()
        return
    assert verdict.missing and not set(verdict.missing) & flags
    names = [level.name for level in ladders()["x86_64"].levels]
    completed = set(facts.features | set(verdict.missing))
    assert _rank("x86_64", completed) >= names.index(verdict.next_level)  # may overshoot, never fall short


# ---- glibc's verdict -------------------------------------------------------------------------

LOADER_HELP = """\
Usage: /lib64/ld-linux-x86-64.so.2 [OPTION]... EXECUTABLE-FILE [ARGS-FOR-PROGRAM...]

This program interpreter self-identifies as: /lib64/ld-linux-x86-64.so.2

Subdirectories of glibc-hwcaps directories, in priority order:
  x86-64-v4
  x86-64-v3 (supported, searched)
  x86-64-v2 (supported, searched)

Legacy HWCAP subdirectories under library search path directories:
  x86_64 (AT_PLATFORM; supported, searched)
"""


def test_loader_help_is_parsed_in_priority_order() -> None:
    listing = parse_loader_help(LOADER_HELP)
    assert listing == LoaderListing(("x86-64-v4", "x86-64-v3", "x86-64-v2"), ("x86-64-v3", "x86-64-v2"))


def test_old_glibc_prints_no_hwcaps_section() -> None:
    assert parse_loader_help("Usage: ld.so [OPTION]... EXECUTABLE-FILE\n") is None


def test_disagreement_is_explained_and_blames_tunables_when_set() -> None:
    listing = LoaderListing(("x86-64-v4", "x86-64-v3", "x86-64-v2"), ("x86-64-v3", "x86-64-v2"))
    verdict = compare(listing, "x86-64-v4", {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"})
    assert (verdict.level, verdict.agrees) == ("x86-64-v3", False)
    assert verdict.reason is not None and "x86-64-v4" in verdict.reason and "GLIBC_TUNABLES" in verdict.reason
    assert compare(listing, "x86-64-v3", {}).agrees is True


def test_a_baseline_cpu_agrees_with_glibc_supporting_no_level() -> None:
    listing = LoaderListing(("x86-64-v4", "x86-64-v3", "x86-64-v2"), ())
    verdict = compare(listing, "x86-64-v1", {})
    assert (verdict.level, verdict.agrees) == (None, True)


def test_an_architecture_without_glibc_hwcaps_cannot_agree() -> None:
    verdict = compare(LoaderListing((), ()), "armv8.2-a", {})
    assert verdict.agrees is None and "no glibc-hwcaps" in (verdict.reason or "")


def _fake_loader(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "ld-fake.so"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_a_loader_is_run_as_a_quiet_subprocess(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    loader = _fake_loader(tmp_path, f"echo noise >&2\ncat <<'EOF'\n{LOADER_HELP}EOF\n")
    rec = Recorder()
    verdict = glibc_hwcaps("x86_64", "x86-64-v3", rec, environ={}, loader=loader)
    assert (verdict.supported, verdict.agrees) == (("x86-64-v3", "x86-64-v2"), True)
    assert capfd.readouterr() == ("", "")


def test_a_hanging_loader_is_cut_off(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    loader = _fake_loader(tmp_path, "exec sleep 30\n")
    rec = Recorder()
    verdict = glibc_hwcaps("x86_64", "x86-64-v3", rec, environ={}, loader=loader, timeout_s=0.3)
    assert verdict.agrees is None and "failed" in (verdict.reason or "")
    assert any("TimeoutError" in e for e in errors(rec))
    assert capfd.readouterr() == ("", "")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open descriptors in /proc/self/fd")
@pytest.mark.parametrize("body", [f"cat <<'EOF'\n{LOADER_HELP}EOF\n", "exec sleep 30\n", "exit 3\n"])
def test_a_loader_run_leaves_no_child_and_no_pipe_behind(tmp_path: Path, body: str) -> None:
    loader = _fake_loader(tmp_path, body)
    before = sorted(os.listdir("/proc/self/fd"))
    verdict = glibc_hwcaps("x86_64", "x86-64-v3", Recorder(), environ={}, loader=loader, timeout_s=0.3)
    assert sorted(os.listdir("/proc/self/fd")) == before
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the loader was reaped, whether it answered, hung or failed
    assert (verdict.agrees is True) == body.startswith("cat")


def test_the_verdict_waits_for_a_loader_started_before_the_level_was_known(tmp_path: Path) -> None:
    loader = _fake_loader(tmp_path, f"sleep 0.2\ncat <<'EOF'\n{LOADER_HELP}EOF\n")
    rec = Recorder()
    verdict = ask_loader("x86_64", rec, environ={}, loader=loader)
    assert verdict("x86-64-v4").agrees is False
    assert [d.source for d in rec.diagnostics] == [f"{loader} --help"] * 2 and not errors(rec)


def test_musl_loader_has_no_glibc_hwcaps() -> None:
    verdict = glibc_hwcaps("x86_64", "x86-64-v3", Recorder(), loader=Path("/lib/ld-musl-x86_64.so.1"))
    assert verdict.agrees is None and "musl" in (verdict.reason or "")


def _elf(wide: bool, order: str, interpreter: bytes) -> bytes:
    """An executable's headers as the ELF specification lays them out: a PT_LOAD, then PT_INTERP."""
    header_size, entry_size = (64, 56) if wide else (52, 32)
    table = header_size
    path_at = table + 2 * entry_size
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if order == "<" else 2, 1]) + bytes(9)
    fields = "HHI" + ("QQQ" if wide else "III") + "IHHHHHH"
    header = ident + struct.pack(
        order + fields, 2, 62, 1, 0, table, 0, 0, header_size, entry_size, 2, 0, 0, 0
    )
    size = len(interpreter) + 1
    if wide:  # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        entries = [
            struct.pack(order + "IIQQQQQQ", kind, 4, at, 0, 0, n, n, 1)
            for kind, at, n in ((1, 0, 0), (3, path_at, size))
        ]
    else:  # p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align
        entries = [
            struct.pack(order + "IIIIIIII", kind, at, 0, 0, n, n, 4, 1)
            for kind, at, n in ((1, 0, 0), (3, path_at, size))
        ]
    return header.ljust(header_size, b"\0") + b"".join(entries) + interpreter + b"\0" + bytes(64)


@pytest.mark.parametrize(
    ("wide", "order", "loader"),
    [
        (True, "<", b"/lib64/ld-linux-x86-64.so.2"),
        (True, ">", b"/lib64/ld64.so.1"),
        (False, "<", b"/lib/ld-linux-armhf.so.3"),
        (False, ">", b"/lib/ld.so.1"),
    ],
    ids=["elf64-little", "elf64-big", "elf32-little", "elf32-big"],
)
def test_program_interpreter_of_every_elf_class_and_byte_order(
    tmp_path: Path, wide: bool, order: str, loader: bytes
) -> None:
    executable = tmp_path / "program"
    executable.write_bytes(_elf(wide, order, loader))
    assert program_interpreter(executable) == loader.decode()


def test_program_interpreter_of_non_elf_and_truncated_files(tmp_path: Path) -> None:
    (tmp_path / "script").write_text("#!/bin/sh\n")
    (tmp_path / "truncated").write_bytes(b"\x7fELF\x02\x01\x01")
    assert program_interpreter(tmp_path / "script") is None
    assert program_interpreter(tmp_path / "truncated") is None


# ---- this machine ----------------------------------------------------------------------------


def _live_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return next(
        (set(line.partition(":")[2].split()) for line in text.splitlines() if line.startswith("flags")), set()
    )


LIVE_AVX512 = platform.machine() == "x86_64" and sys.platform == "linux" and "avx512f" in _live_flags()


@pytest.mark.skipif(sys.platform != "linux", reason="PT_INTERP is an ELF (Linux) notion")
def test_this_interpreter_names_its_dynamic_loader() -> None:
    interpreter = program_interpreter(Path(os.path.realpath(sys.executable)))
    assert interpreter is not None and Path(interpreter).exists() and "ld" in Path(interpreter).name


@pytest.mark.skipif(not LIVE_AVX512, reason="needs a live x86_64 Linux host whose CPU flags include avx512f")
def test_this_avx512_host_is_v4_and_glibc_agrees(capfd: pytest.CaptureFixture[str]) -> None:
    rec = Recorder()
    info = probe_cpu(Roots(), rec)
    assert info.arch == "x86_64"
    assert info.isa_level == "x86-64-v4"
    assert (info.isa_next_level, info.isa_level_missing) == (None, ())
    assert "avx512" in info.extensions
    assert info.glibc_hwcaps.level == "x86-64-v4"
    assert info.glibc_hwcaps.agrees is True, info.glibc_hwcaps.reason
    assert "x86-64-v4" in info.glibc_hwcaps.supported
    assert info.archspec is not None and info.archspec.generic == "x86_64_v4"
    assert not errors(rec)
    jsonschema.validate(info.to_dict(), CPU_SCHEMA)
    assert capfd.readouterr() == ("", "")


def test_the_live_probe_never_raises_and_reports_known_keys(capfd: pytest.CaptureFixture[str]) -> None:
    info = probe_cpu(Roots(), Recorder())
    shaped = info.to_dict()
    assert list(shaped) == [
        "arch",
        "vendor",
        "model",
        "isa_level",
        "isa_level_missing",
        "isa_next_level",
        "features",
        "extensions",
        "sve_vector_length_bits",
        "glibc_hwcaps",
        "archspec",
    ]
    json.dumps(shaped)
    jsonschema.validate(shaped, CPU_SCHEMA)
    assert capfd.readouterr() == ("", "")
