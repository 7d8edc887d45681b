"""Run one variant provider plugin and write its supported configs as JSON.

This file is executed as a script by the interpreter of an isolated environment holding the plugin;
it is never imported by the library. It needs only the standard library, tolerates the plugin APIs
seen in the wild (class methods, instance methods, an unused ``known_properties`` argument, configs
without ``multi_value``) and keeps whatever the plugin prints away from the answer, which goes to a
file named on the command line.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import sys
from typing import Any


def load(reference: str) -> Any:
    module_name, _, attributes = reference.partition(":")
    plugin: Any = importlib.import_module(module_name.strip())
    for name in filter(None, attributes.strip().split(".")):
        plugin = getattr(plugin, name)
    return plugin


def supported_configs(plugin: Any) -> list[Any]:
    if inspect.isclass(plugin) and not isinstance(
        inspect.getattr_static(plugin, "get_supported_configs"), classmethod | staticmethod
    ):
        plugin = plugin()
    method = plugin.get_supported_configs
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [
        p
        for p in inspect.signature(method).parameters.values()
        if p.kind in positional and p.default is p.empty
    ]
    return list(method(*[None] * len(required)) or [])


def as_json(config: Any) -> dict[str, Any]:
    if isinstance(config, dict):
        name, values, multi = config["name"], config["values"], config.get("multi_value", False)
    else:
        name, values, multi = config.name, config.values, getattr(config, "multi_value", False)
    return {"name": str(name), "values": [str(v) for v in values], "multi_value": bool(multi)}


def main(reference: str, answer_path: str) -> int:
    with contextlib.redirect_stdout(sys.stderr):
        configs = [as_json(config) for config in supported_configs(load(reference))]
    with open(answer_path, "w", encoding="utf-8") as answer:
        json.dump({"configs": configs}, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
