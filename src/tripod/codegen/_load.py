"""Find and read a service description: ``tripod.yaml`` or ``[tool.tripod.generate]``."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tripod.codegen._errors import GenerateError, bad
from tripod.codegen._model import Service, parse_service
from tripod.codegen._openslo import slos_from_openslo
from tripod.codegen._yamlio import load_strict
from tripod.config import ConfigError, load_settings

YAML_NAMES = ("tripod.yaml", "tripod.yml")


def find_description(path: Path) -> Path:
    """``path`` itself if it is a file, else ``tripod.yaml`` or a pyproject.toml with
    ``[tool.tripod.generate]`` inside the folder."""
    if path.is_file():
        return path
    if not path.is_dir():
        msg = f"{path} = not found: expected a tripod.yaml, a pyproject.toml or a folder with one"
        raise GenerateError(msg)
    for name in YAML_NAMES:
        if (path / name).is_file():
            return path / name
    pyproject = path / "pyproject.toml"
    if pyproject.is_file() and "generate" in _tool_tripod(pyproject):
        return pyproject
    msg = (
        f"{path} = no description: expected tripod.yaml or [tool.tripod.generate] in pyproject.toml"
    )
    raise GenerateError(msg)


def _tool_tripod(path: Path) -> Mapping[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path} = unreadable: expected valid TOML ({exc})"
        raise GenerateError(msg) from None
    section = data.get("tool", {}).get("tripod", {})
    if not isinstance(section, Mapping):
        msg = f"{path} [tool.tripod] = {section!r}: expected a table"
        raise GenerateError(msg)
    return section


def load_service(path: Path) -> Service:
    """Read and check the description at ``path`` (a file or a folder holding one)."""
    found = find_description(path)
    if found.suffix == ".toml":
        section = _tool_tripod(found)
        table = section.get("generate")
        if not isinstance(table, Mapping):
            msg = f"{found} [tool.tripod.generate] = {table!r}: expected a table"
            raise GenerateError(msg)
        try:
            settings = load_settings(environ={}, pyproject=found)
        except ConfigError as exc:
            raise GenerateError(str(exc)) from None
        defaults: dict[str, Any] = {"http_buckets": list(settings.http_buckets)}
        if "service_name" in section:
            defaults["service"] = settings.service_name
        table = _with_openslo(table, found, defaults.get("service"))
        source = f"{found.name} [tool.tripod.generate]"
        return parse_service(table, source=source, defaults=defaults)
    try:
        data = load_strict(found.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        msg = f"{found} = unreadable: expected YAML ({reason})"
        raise GenerateError(msg) from None
    if isinstance(data, Mapping):
        data = _with_openslo(data, found, None)
    return parse_service(data, source=found.name)


def _with_openslo(data: Mapping[str, Any], found: Path, service: Any) -> Mapping[str, Any]:
    """``data`` with the SLOs of its ``openslo`` files (paths relative to ``found``) appended
    to ``slos``, and the ``openslo`` key gone."""
    if "openslo" not in data:
        return data
    paths = data["openslo"]
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise bad("openslo", paths, "a list of OpenSLO file paths, relative to the description")
    name = data.get("service", service)
    if not isinstance(name, str):
        raise bad("service", name, "a non-empty string")
    slos = data.get("slos", [])
    if not isinstance(slos, list):
        raise bad("slos", slos, "a list of SLO tables")
    slos = list(slos)
    for i, rel in enumerate(paths):
        path = found.parent / rel
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise bad(f"openslo[{i}]", rel, f"a readable file ({exc.__class__.__name__})") from None
        job = data.get("job", name)
        slos += slos_from_openslo(text, rel, name, job if isinstance(job, str) else name)
    return {**{k: v for k, v in data.items() if k != "openslo"}, "slos": slos}
