"""python/setup.py: the extension depends on every header its sources include (so a changed header rebuilds it
under pip), and pip's build files go outside the source tree. (The real pip round trip, header change
included, is the ctest case ACT_TEST_PIP_INSTALL.)"""

import pathlib
import re
import runpy
import sys

import pytest

setuptools = pytest.importorskip("setuptools")
pytest.importorskip("pybind11")


def setup_arguments(source_dir, monkeypatch, tmp_path):
    captured = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: captured.update(kwargs))
    monkeypatch.setenv("ACT_PIP_BUILD_DIR", str(tmp_path / "pip-build"))
    monkeypatch.chdir(source_dir / "python")
    monkeypatch.setattr(sys, "argv", ["setup.py"])
    runpy.run_path(str(source_dir / "python" / "setup.py"), run_name="__main__")
    return captured


def included_headers(source_dir):
    """Every act header and local binding header reachable from the extension's sources."""
    include = source_dir / "include"
    todo = list((source_dir / "python" / "src").glob("*.cpp"))
    todo += [source_dir / "src" / f"compiled_{layer}.cpp" for layer in ("hooks", "io", "estimators")]
    seen = set()
    while todo:
        path = todo.pop()
        for kind, name in re.findall(r'#\s*include\s*([<"])([^>"]+)[>"]', path.read_text()):
            candidates = [include / name] if kind == "<" else [path.parent / name, include / name]
            for candidate in candidates:
                if candidate.exists() and candidate.resolve() not in seen:
                    seen.add(candidate.resolve())
                    todo.append(candidate.resolve())
                    break
    return seen


def test_the_extension_depends_on_every_header_it_includes(source_dir, monkeypatch, tmp_path):
    arguments = setup_arguments(source_dir, monkeypatch, tmp_path)
    (extension,) = arguments["ext_modules"]
    depends = {pathlib.Path(p).resolve() for p in extension.depends}
    headers = included_headers(source_dir)
    assert len(headers) > 20
    missing = sorted(str(h) for h in headers - depends)
    assert not missing, f"headers the extension includes but does not depend on: {missing}"


def test_pip_builds_outside_the_source_tree(source_dir, monkeypatch, tmp_path):
    arguments = setup_arguments(source_dir, monkeypatch, tmp_path)
    options = arguments["options"]
    for where in (options["build"]["build_base"], options["egg_info"]["egg_base"]):
        assert where.startswith(str(tmp_path / "pip-build")), where
