"""Validating documents against the official DSP 2025-1 JSON schemas (reference material).

Every schema file is registered under its ``$id`` (``https://w3id.org/dspace/2025/1/…``), so
cross-file references resolve offline. Three transfer schemas write ``#definitions/…`` for
``#/definitions/…`` (see the reference README); the reference is repaired in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909
from shared_reference import DSP, require


def _repair(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                "#/" + item[1:]
                if key == "$ref" and isinstance(item, str) and item.startswith("#d")
                else _repair(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_repair(item) for item in value]
    return value


def _registry(root: Path) -> Registry:  # type: ignore[type-arg]
    resources = []
    for path in sorted(root.rglob("*.json")):
        schema = _repair(json.loads(path.read_text()))
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT201909)))
    return Registry().with_resources(resources)


def validator(relative: str) -> Draft201909Validator:
    """A validator for ``schemas/<relative>`` (e.g. ``catalog/catalog-schema.json``)."""
    root = require(DSP / "schemas")
    schema = _repair(json.loads((root / relative).read_text()))
    return Draft201909Validator(schema, registry=_registry(root))


def errors(relative: str, document: Any) -> list[str]:
    """The schema's complaints about ``document`` (empty when it is valid)."""
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator(relative).iter_errors(document)
    ]
