"""The wheel carries the built UI (gitignored, so listed as a hatch artifact), and the build hook
refuses a wheel or sdist without it, saying to run `make ui`."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tripod.server.ui import STATIC_DIR

ROOT = Path(__file__).resolve().parents[3]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tripod_hatch_build", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hatch_config_packages_the_build_with_the_hook() -> None:
    hatch = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    for target in ("wheel", "sdist"):
        assert "src/tripod/server/ui/static/**" in hatch["targets"][target]["artifacts"]
        assert hatch["targets"][target]["hooks"]["custom"]["path"] == "hatch_build.py"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "src/tripod/server/ui/static/" in ignored


def test_hook_refuses_a_tree_without_the_build(tmp_path: Path) -> None:
    hook = _hook()
    with pytest.raises(hook.MissingUIBuildError, match=r"run `make ui`") as info:
        hook.check_ui_build(tmp_path)
    assert "index.html" in str(info.value)
    static = tmp_path / hook.STATIC
    static.mkdir(parents=True)
    for name in hook.REQUIRED:
        (static / name).write_text("x")
    with pytest.raises(hook.MissingUIBuildError, match=r"assets/\*\.js"):
        hook.check_ui_build(tmp_path)  # an index without its scripts is no build either
    (static / "assets").mkdir()
    (static / "assets" / "main-X.js").write_text("")
    hook.check_ui_build(tmp_path)


def test_a_failed_rebuild_leaves_no_module_from_the_last_build(tmp_path: Path) -> None:
    hook = _hook()
    source = tmp_path / "_mod.c"
    source.write_text(
        "#include <Python.h>\n"
        'static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "_mod", NULL, -1, NULL};\n'
        "PyMODINIT_FUNC PyInit__mod(void) { return PyModule_Create(&m); }\n"
    )
    built = hook.compile_extension(source, tmp_path)
    assert built is not None
    assert built.is_file()
    source.write_text("this is not C;\n")  # an edit that does not compile
    assert hook.compile_extension(source, tmp_path) is None
    assert not built.exists()  # else the old module would go on being imported


def test_wheel_carries_the_built_ui(tmp_path: Path) -> None:
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail(f"the web UI is not built ({STATIC_DIR} is missing): run `make ui`")
    out = tmp_path / "dist"
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
            "-w", str(out), str(ROOT)]  # fmt: skip
    done = subprocess.run(
        argv,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("tripod-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    prefix = "tripod/server/ui/static/"
    built = {str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert {n.removeprefix(prefix) for n in names if n.startswith(prefix)} == built
    assert f"{prefix}index.html" in names
    assert f"{prefix}THIRD_PARTY_LICENSES.txt" in names
    assert not any("node_modules" in n for n in names)
    # the compiled span decoder (hatch_build.py), and so a platform wheel
    assert any(n.startswith("tripod/server/ingest/_spans_c.") and n.endswith(".so") for n in names)
    assert not wheel.name.endswith("-none-any.whl")


def test_app_shell_stays_under_100_kb_gzip_and_the_editor_is_lazy() -> None:
    manifest_path = STATIC_DIR / "manifest.json"
    if not manifest_path.is_file():
        pytest.fail(f"the web UI is not built ({manifest_path} is missing): run `make ui`")
    manifest = json.loads(manifest_path.read_text())
    files = {f["file"]: f for f in manifest["files"]}
    shell: set[str] = set()
    todo = [manifest["entry"], manifest["css"]]
    while todo:  # the entry and everything it imports statically
        name = todo.pop()
        if name not in shell:
            shell.add(name)
            todo += files[name]["imports"]
    html_gzip = (STATIC_DIR / "index.html.gz").stat().st_size
    total = html_gzip + sum(files[name]["gzip"] for name in shell)
    assert total < 100 * 1024, f"app shell is {total} bytes gzip"
    # CodeMirror is in no chunk the shell loads, and only behind a dynamic import
    editor = [f for f in files if f.startswith("editor-")]
    assert len(editor) == 1
    assert not shell & set(editor)
    assert any(editor[0] in f["dynamic"] for f in files.values())
    assert b"cm-content" in (STATIC_DIR / "assets" / editor[0]).read_bytes()  # CodeMirror's view
    for name in shell:
        if name.endswith(".js"):
            assert b"cm-content" not in (STATIC_DIR / "assets" / name).read_bytes(), name
