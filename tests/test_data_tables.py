"""The knowledge tables the package ships: each has a JSON Schema beside it and passes it, each is read
only through the one loader (``jupyter_pyvariant._data``), and the loader and the error tree keep the
cold path cold."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import jupyter_pyvariant
from jupyter_pyvariant import _data

PACKAGE = Path(jupyter_pyvariant.__file__).parent
CONTRACTS = {"host-report.schema.json"}
"""Schemas of documents the package writes (``cpuinfo --json``), not of tables it reads."""


def _tables() -> list[Path]:
    found = [*PACKAGE.glob("*/data/*.json"), *PACKAGE.glob("*/data/*.toml")]
    return sorted(p for p in found if not p.name.endswith(".schema.json"))


TABLES = _tables()


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _schema(table: Path) -> dict[str, Any]:
    path = table.with_name(f"{table.stem}.schema.json")
    assert path.is_file(), f"{_id(table)} has no schema ({path.name} beside it)"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _loaded(table: Path) -> Any:
    return _data.table(table.parent.parent.name, table.name)


def _errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_the_tables_of_every_wing_are_found() -> None:
    names = {_id(p) for p in TABLES}
    assert {
        "host/data/cpu_levels.json",
        "install/data/recipes.toml",
        "install/data/refusals.toml",
        "kernels/data/kernels.json",
        "pythons/data/pbs.json",
    } <= names
    assert not list(PACKAGE.glob("*/*.toml")), "a wing's tables belong in its data/ folder"


@pytest.mark.parametrize("table", TABLES, ids=_id)
def test_every_table_passes_its_schema(table: Path) -> None:
    assert _errors(_schema(table), _loaded(table)) == []


@pytest.mark.parametrize("table", TABLES, ids=_id)
def test_every_schema_rejects_an_unknown_key_and_a_missing_one(table: Path) -> None:
    """The schemas say something: a misspelt key or a lost one is caught, not waved through."""
    schema, document = _schema(table), _loaded(table)
    misspelt = {**document, "unknown_key": 1}
    assert any("unknown_key" in e for e in _errors(schema, misspelt))
    for key in schema["required"]:
        lacking = copy.deepcopy(document)
        del lacking[key]
        assert any(repr(key) in e for e in _errors(schema, lacking)), key


def test_every_schema_describes_a_table() -> None:
    schemas = {p for p in PACKAGE.glob("*/data/*.schema.json") if p.name not in CONTRACTS}
    described = {t.with_name(f"{t.stem}.schema.json") for t in TABLES}
    assert sorted(map(_id, schemas - described)) == []


def test_the_refusals_schema_knows_the_gpu_stacks() -> None:
    table = PACKAGE / "install" / "data" / "refusals.toml"
    document = copy.deepcopy(_loaded(table))
    document["refusal"][0]["needs"] = "gpu"
    assert any("'gpu' is not one of" in e for e in _errors(_schema(table), document))


def _readers(name: str) -> list[str]:
    """Every place in the package's code that names the table file ``name`` other than in a call
    of the loader (``table("wing", "name")``, or the host wing's ``data_table("name")``)."""
    loader = re.compile(r"""(?:\btable\(\s*"\w+",\s*|\bdata_table\(\s*)$""")
    found = []
    for module in PACKAGE.rglob("*.py"):
        if module.name == "_data.py":
            continue
        text = module.read_text(encoding="utf-8")
        for match in re.finditer(rf"""["']{re.escape(name)}["']""", text):
            if not loader.search(text[: match.start()]):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{module.relative_to(PACKAGE)}:{line}")
    return found


@pytest.mark.parametrize("table", TABLES, ids=_id)
def test_the_loader_is_the_only_reader(table: Path) -> None:
    assert _readers(table.name) == []


def test_a_table_is_parsed_once_and_bad_toml_is_a_value_error() -> None:
    assert _data.table("kernels", "kernels.json") is _data.table("kernels", "kernels.json")
    assert _data.loads_toml("a = { b = [1, 2] }\n") == {"a": {"b": [1, 2]}}
    with pytest.raises(ValueError, match="line 1"):
        _data.loads_toml("a = = 1\n")


def _imported_by(statement: str) -> set[str]:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(result.stdout.split())


def test_the_error_tree_imports_nothing() -> None:
    assert _imported_by("import jupyter_pyvariant.errors") <= {
        "jupyter_pyvariant",
        "jupyter_pyvariant._version",
        "jupyter_pyvariant.errors",
        "__future__",
    }


def test_reading_a_json_table_imports_no_toml_reader_no_typing_and_no_resources() -> None:
    imported = _imported_by("from jupyter_pyvariant import _data; _data.table('host', 'cpu_levels.json')")
    assert "jupyter_pyvariant._data" in imported
    assert not imported & {"typing", "tomllib", "tomli", "importlib.resources", "jsonschema"}
