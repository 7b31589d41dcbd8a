"""Builds act's Python extension with setuptools, for `pip install --no-build-isolation ./python`.

The C++ sources, headers and compiled instantiations are those of the CMake target act_python
(python/CMakeLists.txt): python/src/*.cpp, ../include and ../src/compiled_*.cpp (ACT_COMPILED). Build it from
a checkout of act: the headers are read from the folder next to python/. The extension depends on every
header, so a changed header rebuilds it. Build files go outside the source tree: ACT_PIP_BUILD_DIR, else
<temp>/act-pip-build-<user>.
"""

import getpass
import os
import pathlib
import re
import subprocess
import tempfile

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
INCLUDE = ROOT / "include"
if not (INCLUDE / "act" / "act.hpp").exists():
    raise SystemExit(f"act: {INCLUDE / 'act'} not found; build the Python module from a checkout of act "
                     "(pip install --no-build-isolation ./python in the repository)")


def version():
    text = (INCLUDE / "act" / "core" / "version.hpp").read_text()
    parts = [re.search(rf"#define ACT_VERSION_{p} (\d+)", text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


def eigen_include():
    try:
        flags = subprocess.run(["pkg-config", "--cflags-only-I", "eigen3"], capture_output=True, text=True, check=True)
        return [flag[2:] for flag in flags.stdout.split()]
    except (OSError, subprocess.CalledProcessError):
        return ["/usr/include/eigen3"]


# Sources relative to this folder (setuptools wants relative paths); ../src holds act::act_compiled's units.
SOURCES = sorted(str(p.relative_to(HERE)) for p in (HERE / "src").glob("*.cpp"))
SOURCES += [f"../src/compiled_{layer}.cpp" for layer in ("hooks", "io", "estimators")]
# Everything the sources include: a newer header than the built extension rebuilds it.
DEPENDS = sorted(str(p) for pattern in ("*.hpp", "*.inc") for p in (INCLUDE / "act").rglob(pattern))
DEPENDS += sorted(str(p) for p in (HERE / "src").glob("*.hpp"))

BUILD_DIR = pathlib.Path(os.environ.get("ACT_PIP_BUILD_DIR") or
                         pathlib.Path(tempfile.gettempdir()) / f"act-pip-build-{getpass.getuser()}")
BUILD_DIR.mkdir(parents=True, exist_ok=True)

ParallelCompile("ACT_BUILD_JOBS", default=2).install()

setup(
    version=version(),
    ext_modules=[
        Pybind11Extension(
            "act._act",
            SOURCES,
            depends=DEPENDS,
            include_dirs=[str(INCLUDE), *eigen_include()],
            libraries=["fmt"],
            define_macros=[("ACT_COMPILED", None)],
            cxx_std=17,
            extra_compile_args=["-O3"],
        )
    ],
    cmdclass={"build_ext": build_ext},
    options={"build": {"build_base": str(BUILD_DIR / "build")}, "egg_info": {"egg_base": str(BUILD_DIR)}},
)
