"""The two example services under examples/generate/, generated once per session."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tripod.codegen import Service, load_service, render, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "generate"
NAMES = ("shop", "worker")


@dataclasses.dataclass(frozen=True)
class Generated:
    svc: Service
    out: Path
    files: dict[str, bytes]


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generated]:
    result = {}
    for name in NAMES:
        svc = load_service(EXAMPLES / name)
        files = render(svc)
        out = tmp_path_factory.mktemp(name)
        write(files, out)
        result[name] = Generated(svc, out, files)
    return result


def needs(tool: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(tool) is None, reason=f"needs Debian's {tool}")
