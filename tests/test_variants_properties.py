"""Variant properties, labels and variant-wheel filenames: parsing vectors, round trips, refusals."""

from __future__ import annotations

import pytest

from jupyter_pyvariant.variants.properties import (
    NULL_LABEL,
    VariantFeature,
    VariantFormatError,
    VariantLabel,
    VariantProperty,
    WheelName,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x86_64 :: level :: v3", ("x86_64", "level", "v3")),
        ("x86_64::level::v3", ("x86_64", "level", "v3")),
        ("  nvidia  ::cuda_version_lower_bound::   12.8 ", ("nvidia", "cuda_version_lower_bound", "12.8")),
        ("nvidia\t::\tsm_arch\t::\t120_real", ("nvidia", "sm_arch", "120_real")),
        ("abi_dependency :: numpy :: 2.3", ("abi_dependency", "numpy", "2.3")),
        ("a :: b :: .", ("a", "b", ".")),
    ],
)
def test_property_parsing_ignores_whitespace_around_separators(
    text: str, expected: tuple[str, str, str]
) -> None:
    prop = VariantProperty.parse(text)
    assert (prop.namespace, prop.feature, prop.value) == expected
    assert str(prop) == " :: ".join(expected)
    assert VariantProperty.parse(str(prop)) == prop


@pytest.mark.parametrize(
    "text",
    [
        "x86_64 :: level",  # two parts
        "x86_64 :: level :: v3 :: extra",
        "X86_64 :: level :: v3",  # upper case
        "x86-64 :: level :: v3",  # dash in namespace
        "x86_64 :: le.vel :: v3",  # dot only allowed in values
        "x86_64 :: level :: V3",
        "x86_64 :: level :: v 3",
        " :: level :: v3",
        "x86_64 :: :: v3",
        "x86_64 :: level :: ",
        "x86_64 : level : v3",
        "nvidia :: sm_arch :: 90-real",
    ],
)
def test_invalid_properties_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(VariantFormatError) as error:
        VariantProperty.parse(text)
    assert "invalid variant" in str(error.value)


def test_constructed_properties_are_validated_too() -> None:
    with pytest.raises(VariantFormatError, match="namespace"):
        VariantProperty("Nvidia", "sm_arch", "90_real")
    with pytest.raises(VariantFormatError, match="value"):
        VariantProperty("nvidia", "sm_arch", "")


def test_features_parse_and_key_properties() -> None:
    feature = VariantFeature.parse("nvidia::sm_arch")
    assert feature == VariantProperty.parse("nvidia :: sm_arch :: 90_real").key
    assert str(feature) == "nvidia :: sm_arch"
    with pytest.raises(VariantFormatError):
        VariantFeature.parse("nvidia :: sm_arch :: 90_real")


def test_properties_sort_by_namespace_feature_value() -> None:
    props = [VariantProperty.parse(t) for t in ("b :: a :: 1", "a :: z :: 1", "a :: b :: 2", "a :: b :: 10")]
    assert [str(p) for p in sorted(props)] == ["a :: b :: 10", "a :: b :: 2", "a :: z :: 1", "b :: a :: 1"]


@pytest.mark.parametrize("text", ["null", "x86_64_v3", "cu12.8", "0", "a.b_c"])
def test_labels_are_strings_with_a_null_test(text: str) -> None:
    label = VariantLabel(text)
    assert label == text and isinstance(label, str)
    assert label.is_null == (text == "null")
    assert {label: 1}[text] == 1


@pytest.mark.parametrize("text", ["", "X86", "x86-64", "cu 12", "väriant"])
def test_invalid_labels_are_refused(text: str) -> None:
    with pytest.raises(VariantFormatError, match="label"):
        VariantLabel(text)


def test_null_label_constant() -> None:
    assert NULL_LABEL == "null" and NULL_LABEL.is_null


@pytest.mark.parametrize(
    ("filename", "parts", "label", "base"),
    [
        (
            "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl",
            ("numpy", "2.3.2", None, "cp313", "cp313t", "musllinux_1_2_x86_64"),
            None,
            "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl",
        ),
        (
            "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64-x86_64_v3.whl",
            ("numpy", "2.3.2", None, "cp313", "cp313t", "musllinux_1_2_x86_64"),
            "x86_64_v3",
            "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl",
        ),
        (
            "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64-null.whl",
            ("numpy", "2.3.2", None, "cp313", "cp313t", "musllinux_1_2_x86_64"),
            "null",
            "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl",
        ),
        (
            "torch-2.9.0-1-cp312-cp312-manylinux_2_28_x86_64.whl",
            ("torch", "2.9.0", "1", "cp312", "cp312", "manylinux_2_28_x86_64"),
            None,
            "torch-2.9.0-1-cp312-cp312-manylinux_2_28_x86_64.whl",
        ),
        (
            "torch-2.9.0-1-cp312-cp312-manylinux_2_28_x86_64-cu12.8.whl",
            ("torch", "2.9.0", "1", "cp312", "cp312", "manylinux_2_28_x86_64"),
            "cu12.8",
            "torch-2.9.0-1-cp312-cp312-manylinux_2_28_x86_64.whl",
        ),
        (
            "Simd_Lib-1.0-py2.py3-none-any-v3.whl",
            ("Simd_Lib", "1.0", None, "py2.py3", "none", "any"),
            "v3",
            "Simd_Lib-1.0-py2.py3-none-any.whl",
        ),
    ],
)
def test_wheel_filenames_parse_and_rebuild(
    filename: str, parts: tuple[str, ...], label: str | None, base: str
) -> None:
    wheel = WheelName.parse(filename)
    assert (
        wheel.name,
        wheel.version,
        wheel.build,
        wheel.python_tag,
        wheel.abi_tag,
        wheel.platform_tag,
    ) == parts
    assert wheel.label == label
    assert wheel.base_filename == base
    assert wheel.filename == filename == str(wheel)
    assert wheel.with_label(None).filename == base
    assert WheelName.parse(wheel.with_label("other").filename).label == "other"


def test_compressed_tags_expand() -> None:
    wheel = WheelName.parse("Simd_Lib-1.0-py2.py3-none-any-v3.whl")
    assert {str(t) for t in wheel.tags} == {"py2-none-any", "py3-none-any"}
    assert wheel.project == "simd-lib"


@pytest.mark.parametrize(
    "filename",
    [
        "numpy-2.3.2.tar.gz",
        "numpy-2.3.2-cp313-cp313.whl",  # too few parts
        "numpy-2.3.2-1-cp313-cp313-linux_x86_64-v3-extra.whl",  # too many
        "numpy-2.3.2-x1-cp313-cp313-linux_x86_64-v3.whl",  # build tag must start with a digit
        "numpy-2.3.2-cp313-cp313-linux_x86_64-X86_V3.whl",  # label alphabet
        "numpy-2.3.2-313-cp313-linux_x86_64.whl",  # python tag cannot start with a digit
        "numpy--cp313-cp313-linux_x86_64.whl",
    ],
)
def test_invalid_wheel_filenames_are_refused(filename: str) -> None:
    with pytest.raises(VariantFormatError) as error:
        WheelName.parse(filename)
    assert filename in str(error.value)
